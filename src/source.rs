//! Source files and spans.
//!
//! Every file the compiler reads (the user's, the files it imports and the
//! embedded standard library) gets a [`SourceId`] in one [`SourceSet`], so a
//! diagnostic can point into any of them.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
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

impl From<Span> for SourceSpan {
    fn from(span: Span) -> Self {
        SourceSpan::new((span.start as usize).into(), span.len())
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
    pub fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(self.name.clone(), self.text.clone())
    }

    /// 1-based line and column (columns count characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        line_col(&self.text, offset)
    }
}

/// A 1-based line/column position, with the byte offset it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

/// 1-based line and column of a byte offset; columns count characters.
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    LineCol {
        line: before.bytes().filter(|b| *b == b'\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        offset,
    }
}

/// All files of one compilation: the embedded standard library first, then
/// the user's files in the order they were loaded.
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    files: Vec<SourceFile>,
}

impl SourceSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.get(span.source).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    pub fn named(&self, id: SourceId) -> NamedSource<Arc<str>> {
        self.get(id).named()
    }

    pub fn find_path(&self, path: &std::path::Path) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.path.as_deref() == Some(path))
            .map(|i| SourceId(i as u32))
    }

    pub fn find_name(&self, name: &str) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| SourceId(i as u32))
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

    #[test]
    fn line_col_counts_chars_and_lines() {
        let text = "ab\nçd\n";
        assert_eq!(line_col(text, 0).line, 1);
        assert_eq!(
            line_col(text, 3),
            LineCol {
                line: 2,
                column: 1,
                offset: 3
            }
        );
        // `ç` is two bytes: the `d` after it is the second character.
        assert_eq!(line_col(text, 5).column, 2);
        // An offset inside a character snaps back to its start.
        assert_eq!(line_col(text, 4).column, 1);
    }
}
