//! What the syntax tree leaves out: comments, and where `"""` strings lie.
//!
//! A comment is `#` or `//` up to the end of its line, anywhere outside a
//! string (grammar/mlp.pest, `COMMENT`). Strings are the only places where
//! `#`, `//` and line breaks are not what they seem: a `"..."` string runs to
//! its closing quote (a backslash escapes the next character) and never spans
//! lines; a `"""` string runs to the next `"""` (its only escape is `\$`, and
//! an interpolation `${...}` holds a reference, never a quote). The scan is
//! byte by byte: every byte it looks for is ASCII, and no byte of a multibyte
//! UTF-8 character is.

use std::ops::Range;

/// A comment's byte range: from its `#` or `//` up to, not including, the
/// line break (it may end with blanks or a `\r`, which [`Comment::text`]
/// leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
}

impl Comment {
    /// The comment as written, without the blanks at its end.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source[self.start..self.end].trim_end_matches([' ', '\t', '\r'])
    }
}

/// The comments of a file and the ranges of its `"""` strings (the only
/// literals that can hold a line break), both in source order.
#[derive(Debug, Default)]
pub struct Scan {
    pub comments: Vec<Comment>,
    pub ml_strings: Vec<Range<usize>>,
}

/// Scans `source` for comments and `"""` strings. Meant for text that parses;
/// on other text it still ends, with some answer.
pub fn scan(source: &str) -> Scan {
    let b = source.as_bytes();
    let mut out = Scan::default();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => i = comment(b, i, &mut out),
            b'/' if b.get(i + 1) == Some(&b'/') => i = comment(b, i, &mut out),
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                let end = find(b, i + 3, b"\"\"\"").map_or(b.len(), |at| at + 3);
                out.ml_strings.push(i..end);
                i = end;
            }
            b'"' => {
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => i += 1,
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn comment(b: &[u8], start: usize, out: &mut Scan) -> usize {
    let end = b[start..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |n| start + n);
    out.comments.push(Comment { start, end });
    end
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|n| from + n)
}

/// The texts of the comments of `source`, in order: what formatting must
/// keep (tests compare these before and after).
pub fn comment_texts(source: &str) -> Vec<&str> {
    scan(source)
        .comments
        .iter()
        .map(|c| c.text(source))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let src = "a = \"# no // no \\\" # no\" # yes\n// yes too\nb = \"\"\"\n# no\n\"\"\" // last\r\nc = \"${x}#\"";
        assert_eq!(comment_texts(src), ["# yes", "// yes too", "// last"]);
        assert_eq!(scan(src).ml_strings.len(), 1);
    }

    #[test]
    fn a_comment_at_the_end_of_the_file() {
        assert_eq!(comment_texts("x = 1 #end"), ["#end"]);
        assert_eq!(comment_texts("x = \"\"\"\"\"\" #e"), ["#e"]);
    }
}
