//! The literal text of AST and HIR values, and of fields written in a body.

use super::hir::StrPart;
use crate::source::Span;
use crate::syntax::ast::{self, Entry, ExprKind};

pub(super) fn has_field(body: &ast::Body, name: &str) -> bool {
    body.entries.iter().any(|e| match e {
        Entry::Field(f) => f.name.name == name,
        Entry::Block(b) => b.name.name == name,
        _ => false,
    })
}

pub(super) fn literal_bool(body: &ast::Body, name: &str) -> Option<bool> {
    body.entries.iter().find_map(|e| match e {
        Entry::Field(f) if f.name.name == name => match f.value.kind {
            ExprKind::Bool(b) => Some(b),
            _ => None,
        },
        _ => None,
    })
}

/// The names in the literal list `name = ["a", "b"]` of a body, with their
/// spans.
pub(super) fn literal_name_spans(body: &ast::Body, name: &str) -> Vec<(String, Span)> {
    body.entries
        .iter()
        .find_map(|e| match e {
            Entry::Field(f) if f.name.name == name => match &f.value.kind {
                ExprKind::List(items) => Some(
                    items
                        .iter()
                        .filter_map(|i| match &i.kind {
                            ExprKind::Str(parts) => Some((plain_text(parts)?, i.span)),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_default()
}

/// The names in the literal list `name = ["a", "b"]` of a body.
pub(super) fn literal_names(body: &ast::Body, name: &str) -> Vec<String> {
    literal_name_spans(body, name)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// The text of a string with no interpolation (`None` when a part is a
/// reference), for AST and HIR strings alike. The lowering's
/// `rbac::literal` and `plan::literal::literal_word` read HIR text the same way.
pub fn plain_text<P: PlainPart>(parts: &[P]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        out.push_str(p.text()?);
    }
    Some(out)
}

/// A part of a string: literal text, or something else.
pub trait PlainPart {
    /// The part's text, when it is literal.
    fn text(&self) -> Option<&str>;
}

impl PlainPart for ast::StrPart {
    fn text(&self) -> Option<&str> {
        match self {
            ast::StrPart::Text(t) => Some(t),
            ast::StrPart::Interp(_) => None,
        }
    }
}

impl PlainPart for StrPart {
    fn text(&self) -> Option<&str> {
        match self {
            StrPart::Text(t) => Some(t),
            StrPart::Ref(_) => None,
        }
    }
}

pub(super) fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
