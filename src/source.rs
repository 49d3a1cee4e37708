//! Source files and spans.
//!
//! Every file the compiler reads (the user's, the files it imports and the
//! embedded standard library) gets a [`SourceId`] in one [`SourceSet`], so a
//! diagnostic can point into any of them.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

/// Index of a file in a [`SourceSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceId(pub u32);

/// A byte range in one source file. Every AST and HIR node carries one;
/// nodes the compiler synthesises get the span of what they came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Self {
            source,
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }

    /// The smallest span covering both (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}-{}", self.source.0, self.start, self.end)
    }
}

/// One file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Shown in diagnostics: the path as the user gave it, or `<std>/NAME.mlp`.
    pub name: String,
    pub text: Arc<str>,
    /// Where the file lives on disk, for resolving relative imports.
    pub path: Option<std::path::PathBuf>,
}

impl SourceFile {
    /// This file as the source of a diagnostic, for a file not reached
    /// through a [`SourceSet`] (the parser is handed the bare file). The
    /// index of its lines is then its own; renderers share one per text.
    pub fn src(&self, id: SourceId) -> SourceRef {
        SourceRef::new(id, self.clone())
    }
}

/// A 1-based line/column position (columns count characters), with the
/// byte offset it came from. This is what diagnostics show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

/// A 0-based line and UTF-16 column: a position as the Language Server
/// Protocol counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Utf16Position {
    pub line: u32,
    pub character: u32,
}

/// The line/column rule, the one place positions are computed: an index of
/// one text's line starts and non-ASCII characters (rust-analyzer's
/// `line-index`), built once per file.
///
/// An offset past the end counts as the end; an offset inside a character
/// counts as that character's start.
#[derive(Debug, Clone)]
pub struct Lines {
    index: line_index::LineIndex,
}

impl Lines {
    pub fn new(text: &str) -> Self {
        // `line-index` counts in u32, as spans do: a longer text is indexed
        // up to the last character boundary that fits.
        let mut end = text.len().min(u32::MAX as usize - 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            index: line_index::LineIndex::new(&text[..end]),
        }
    }

    /// 1-based line and column (columns count characters) of a byte offset.
    /// The offset reported is the one given, clamped to the text.
    pub fn position(&self, offset: usize) -> LineCol {
        let len = u32::from(self.index.len()) as usize;
        let offset = offset.min(len);
        let at = self.utf8(offset);
        let chars = self.wide(line_index::WideEncoding::Utf32, at);
        LineCol {
            line: at.line as usize + 1,
            column: chars as usize + 1,
            offset,
        }
    }

    /// 0-based line and UTF-16 column of a byte offset (LSP positions).
    pub fn utf16_position(&self, offset: usize) -> Utf16Position {
        let at = self.utf8(offset);
        Utf16Position {
            line: at.line,
            character: self.wide(line_index::WideEncoding::Utf16, at),
        }
    }

    /// 0-based line and UTF-8 column (bytes) of a byte offset: an LSP
    /// position in the UTF-8 encoding.
    pub fn utf8_position(&self, offset: usize) -> Utf16Position {
        let at = self.utf8(offset);
        Utf16Position {
            line: at.line,
            character: at.col,
        }
    }

    /// The byte offset of a 0-based line and column counted in UTF-16 code
    /// units (`utf16`) or bytes: the inverse of the two positions above. A
    /// line past the end is the end; a column past its line's end is the
    /// line's end (before its line break), as the LSP asks.
    pub fn offset(&self, line: u32, column: u32, utf16: bool) -> usize {
        let len = u32::from(self.index.len());
        let Some(start) = self.index.offset(line_index::LineCol { line, col: 0 }) else {
            return len as usize;
        };
        // The next line's start, when there is one: this line's break
        // (`\n`) is the byte before it, and no column reaches past it.
        let next = self
            .index
            .offset(line_index::LineCol {
                line: line + 1,
                col: 0,
            })
            .map(u32::from);
        let line_len = match next {
            Some(n) => n - u32::from(start) - 1,
            None => len - u32::from(start),
        };
        let col = if utf16 {
            let wide = line_index::WideLineCol { line, col: column };
            self.index
                .to_utf8(line_index::WideEncoding::Utf16, wide)
                .map_or(line_len, |at| at.col)
        } else {
            column
        };
        let mut offset = u32::from(start) + col.min(line_len);
        // Not inside a character.
        while offset > u32::from(start) && self.index.try_line_col(offset.into()).is_none() {
            offset -= 1;
        }
        offset as usize
    }

    /// Line and UTF-8 column, the offset clamped to the text and moved back
    /// to the start of the character it falls in.
    fn utf8(&self, offset: usize) -> line_index::LineCol {
        let mut offset = u32::try_from(offset)
            .unwrap_or(u32::MAX)
            .min(u32::from(self.index.len()));
        loop {
            if let Some(at) = self.index.try_line_col(offset.into()) {
                return at;
            }
            // Inside a character: at most three steps back to its start.
            offset -= 1;
        }
    }

    fn wide(&self, encoding: line_index::WideEncoding, at: line_index::LineCol) -> u32 {
        self.index
            .to_wide(encoding, at)
            .map_or(at.col, |wide| wide.col)
    }
}

/// A file of a [`SourceSet`]: its id, and a shared handle to its name, text
/// and line index. Diagnostics hold one as their source, so they know the
/// file by id; `Deref` gives the [`SourceFile`].
#[derive(Clone)]
pub struct SourceRef {
    id: SourceId,
    shared: Arc<Shared>,
}

struct Shared {
    file: SourceFile,
    lines: OnceLock<Lines>,
}

impl SourceRef {
    fn new(id: SourceId, file: SourceFile) -> Self {
        Self {
            id,
            shared: Arc::new(Shared {
                file,
                lines: OnceLock::new(),
            }),
        }
    }

    pub fn id(&self) -> SourceId {
        self.id
    }

    /// The source of a diagnostic that points into this file.
    pub fn named(&self) -> SourceRef {
        self.clone()
    }

    /// The file's line index, built on first use.
    pub fn lines(&self) -> &Lines {
        self.shared.lines.get_or_init(|| Lines::new(&self.text))
    }

    /// 1-based line and column (columns count characters) of a byte offset.
    pub fn position(&self, offset: usize) -> LineCol {
        self.lines().position(offset)
    }

    /// 0-based line and UTF-16 column of a byte offset (LSP positions).
    pub fn utf16_position(&self, offset: usize) -> Utf16Position {
        self.lines().utf16_position(offset)
    }

    /// Whether both hold the same text (the same allocation).
    pub fn same_text(&self, other: &SourceRef) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }
}

impl Deref for SourceRef {
    type Target = SourceFile;

    fn deref(&self) -> &SourceFile {
        &self.shared.file
    }
}

impl std::fmt::Debug for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRef")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// All files of one compilation: the embedded standard library first, then
/// the user's files in the order they were loaded.
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    files: Vec<SourceRef>,
}

impl SourceSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, file: SourceFile) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceRef::new(id, file));
        id
    }

    pub fn get(&self, id: SourceId) -> &SourceRef {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.get(span.source).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    /// The source of a diagnostic that points into file `id`.
    pub fn named(&self, id: SourceId) -> SourceRef {
        self.get(id).clone()
    }

    /// 1-based line and column (columns count characters) of a byte offset.
    pub fn position(&self, id: SourceId, offset: usize) -> LineCol {
        self.get(id).position(offset)
    }

    /// 0-based line and UTF-16 column of a byte offset (LSP positions).
    pub fn utf16_position(&self, id: SourceId, offset: usize) -> Utf16Position {
        self.get(id).utf16_position(offset)
    }

    pub fn find_path(&self, path: &std::path::Path) -> Option<SourceId> {
        self.files
            .iter()
            .find(|f| f.path.as_deref() == Some(path))
            .map(SourceRef::id)
    }

    pub fn find_name(&self, name: &str) -> Option<SourceId> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .map(SourceRef::id)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, offset: usize) -> (usize, usize, usize) {
        let p = Lines::new(text).position(offset);
        (p.line, p.column, p.offset)
    }

    fn utf16(text: &str, offset: usize) -> (u32, u32) {
        let p = Lines::new(text).utf16_position(offset);
        (p.line, p.character)
    }

    #[test]
    fn positions_count_chars_and_lines() {
        let text = "ab\nçd\n";
        assert_eq!(at(text, 0), (1, 1, 0));
        assert_eq!(at(text, 3), (2, 1, 3));
        // `ç` is two bytes: the `d` after it is the second character.
        assert_eq!(at(text, 5), (2, 2, 5));
        // An offset inside a character counts as its start, and is reported as given.
        assert_eq!(at(text, 4), (2, 1, 4));
        // Past the end: the end.
        assert_eq!(at(text, 99), (3, 1, 7));
    }

    #[test]
    fn non_ascii_columns_in_chars_and_utf16() {
        // é: 2 bytes, 1 char, 1 UTF-16 unit; 😀: 4 bytes, 1 char, 2 UTF-16 units.
        let text = "é😀x\n😀é";
        let x = "é😀".len();
        assert_eq!(at(text, x), (1, 3, x));
        assert_eq!(utf16(text, x), (0, 3));
        let e = text.rfind('é').unwrap_or_default();
        assert_eq!(at(text, e), (2, 2, e));
        assert_eq!(utf16(text, e), (1, 2));
        // Inside the emoji: its start.
        assert_eq!(at(text, 3), (1, 2, 3));
        assert_eq!(utf16(text, 3), (0, 1));
    }

    #[test]
    fn crlf_lines_end_at_the_newline() {
        // Lines break at `\n` only; a `\r` before it is the line's last character.
        let text = "a\r\nbé\r\nc";
        assert_eq!(at(text, 1), (1, 2, 1));
        assert_eq!(at(text, 3), (2, 1, 3));
        assert_eq!(at(text, 6), (2, 3, 6));
        assert_eq!(utf16(text, 6), (1, 2));
        assert_eq!(at(text, 8), (3, 1, 8));
    }

    #[test]
    fn a_set_knows_its_files_by_id() {
        let mut set = SourceSet::new();
        let a = set.add(SourceFile {
            name: "a.mlp".into(),
            text: "x\ny".into(),
            path: None,
        });
        let b = set.add(SourceFile {
            name: "b.mlp".into(),
            text: "😀z".into(),
            path: None,
        });
        assert_eq!(set.named(b).id(), b);
        assert_eq!(set.get(a).name, "a.mlp");
        assert_eq!(set.position(a, 2).line, 2);
        assert_eq!(set.utf16_position(b, 4).character, 2);
        assert!(set.named(b).same_text(set.get(b)));
        assert!(!set.named(a).same_text(set.get(b)));
    }
}
