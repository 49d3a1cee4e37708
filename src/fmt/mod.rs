//! `mlpc fmt`: the canonical layout of a `.mlp` file.
//!
//! [`format`] parses the text with the compiler's parser, walks the syntax
//! tree and writes it out in one layout (`printer.rs`; the rules are in
//! docs/fmt.md), taking every literal, reference and name from the source
//! through its span, so that a string, number, quantity or duration is
//! written exactly as it was. Comments are not in the tree: `scan.rs` finds
//! them in the text, and the printer writes each where it was (before the
//! entry it preceded, at the end of the line it ended, before the `}` of
//! its block).
//!
//! The result is checked before it is returned: every comment is written
//! exactly once, and the text parses to the same tree as the source, spans
//! aside ([`same_program`]). A file that does not parse, or that has
//! an invalid literal, is not formatted: its diagnostics are returned.

mod printer;
mod same;
pub mod scan;

use crate::diag::MlpError;
use crate::source::{SourceFile, SourceId};
use crate::syntax::{self, ast};

pub use printer::WIDTH;

/// Why a text was not formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The text has a syntax error or an invalid literal: nothing is
    /// formatted until it is fixed.
    #[error("the file has syntax errors; it is not formatted")]
    Syntax { diagnostics: Vec<MlpError> },
    /// The formatter's own checks failed (a bug in mlpc): the text is left
    /// as it was.
    #[error("internal formatter error: {message}")]
    Internal { message: String },
}

/// The canonical layout of `source`. Diagnostics name the file `<input>`;
/// [`format_named`] takes the name to show.
pub fn format(source: &str) -> Result<String, FormatError> {
    format_named("<input>", source)
}

/// [`format`], with `name` as the file's name in diagnostics.
pub fn format_named(name: &str, source: &str) -> Result<String, FormatError> {
    let tree = parse(name, source)?;
    let scanned = scan::scan(source);
    let mut p = printer::Printer::new(source, &scanned);
    p.file(&tree).map_err(internal)?;
    if let Some(i) = p.written.iter().position(|n| *n != 1) {
        let c = scanned.comments[i];
        return Err(internal(format!(
            "the comment at byte {} ({:?}) was written {} times",
            c.start,
            c.text(source),
            p.written[i]
        )));
    }
    let out = p.out;
    let again = parse(name, &out).map_err(|e| {
        internal(match e {
            FormatError::Syntax { diagnostics } => format!(
                "the formatted text does not parse: {}",
                diagnostics
                    .first()
                    .map_or_else(String::new, ToString::to_string)
            ),
            FormatError::Internal { message } => message,
        })
    })?;
    if !same_program(&tree, &again) {
        return Err(internal("the formatted text means something else".into()));
    }
    Ok(out)
}

fn internal(message: String) -> FormatError {
    FormatError::Internal { message }
}

/// The syntax tree of `source`, or its syntax and literal diagnostics.
fn parse(name: &str, source: &str) -> Result<ast::File, FormatError> {
    let file = SourceFile {
        name: name.to_string(),
        text: source.into(),
        path: None,
    };
    match syntax::parse(&file, SourceId(0)) {
        Ok((tree, literal_errors)) if literal_errors.is_empty() => Ok(tree),
        Ok((_, diagnostics)) => Err(FormatError::Syntax { diagnostics }),
        Err(e) => Err(FormatError::Syntax {
            diagnostics: vec![e],
        }),
    }
}

/// Whether two syntax trees are equal but for their spans: the same
/// program, however laid out.
pub fn same_program(a: &ast::File, b: &ast::File) -> bool {
    same::Same::same(a, b)
}

/// A syntax tree as JSON with every `span` left out: two texts mean the
/// same program when their trees are equal this way ([`same_program`]
/// says so without building the JSON).
pub fn ast_without_spans(file: &ast::File) -> serde_json::Value {
    let mut value = serde_json::to_value(file).unwrap_or(serde_json::Value::Null);
    strip_spans(&mut value);
    value
}

fn strip_spans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// A unified diff of `old` and `new` (three lines of context), headed
/// `--- NAME` and `+++ NAME`; empty when they are equal.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> ast::File {
        parse("t.mlp", text).expect("parses")
    }

    #[test]
    fn same_program_ignores_layout_only() {
        let a = tree("pipeline p { a = [1, 2]; when x && (y || !z) }");
        let b = tree("pipeline p {\n  a = [\n    1,\n    2,\n  ]\n  when x && (y || !z)\n}\n");
        assert!(same_program(&a, &b));
        assert_eq!(ast_without_spans(&a), ast_without_spans(&b));
        for other in [
            "pipeline p { a = [1, 3]; when x && (y || !z) }",
            "pipeline p { a = [1, 2]; when (x && y) || !z }",
            "pipeline p { a = [1, 2.0]; when x && (y || !z) }",
            "pipeline q { a = [1, 2]; when x && (y || !z) }",
        ] {
            let c = tree(other);
            assert!(!same_program(&a, &c), "{other}");
            assert_ne!(ast_without_spans(&a), ast_without_spans(&c), "{other}");
        }
    }
}
