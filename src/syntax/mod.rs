//! Stage 1: text -> AST. pest parses; one builder per rule builds the tree.
//!
//! A file has at most one syntax error (pest stops at the first); literal
//! errors found while building (escapes, units) are reported the same way.

pub mod ast;
mod children;
mod descent;
mod errors;
mod from_pest;
mod literal;

use pest::Parser;

use crate::diag::MlpError;
use crate::source::{SourceFile, SourceId};

pub(crate) use literal::parse_duration;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/mlp.pest"]
pub struct MlpParser;

/// Words that begin a declaration, so never a stage's kind: the `stage`
/// rule's lookahead in grammar/mlp.pest, which the fast parser follows.
pub const DECLARATION_KEYWORDS: &[&str] = &[
    "param", "input", "output", "when", "import", "pipeline", "template",
];

/// Names a program cannot give to a stage, parameter, template, input,
/// output or alias: the declaration keywords, `as` and `uses`, the literals
/// `true` and `false`, and the reference roots `run` and `item`. Stage kinds
/// are keywords only where a kind is expected, so `train` can name a stage.
pub fn is_reserved(name: &str) -> bool {
    DECLARATION_KEYWORDS.contains(&name)
        || ["as", "uses", "true", "false", "run", "item"].contains(&name)
}

/// Words that contract v2 made keywords (§9.9): `group NAME { ... }`,
/// `finally { ... }`, `volume NAME { ... }`, `sidecar NAME { ... }`. They
/// parse as names (a group is a stage-shaped entry, `finally` a block);
/// the checker rejects them as names with a hint for v1 programs.
pub const V2_KEYWORDS: &[&str] = &["group", "finally", "volume", "sidecar"];

/// Brackets, braces and parentheses nest at most this deep; the limit keeps
/// every recursive pass far from the end of the stack.
pub const MAX_NESTING: usize = 128;
/// Operators in one `when` expression.
pub const MAX_EXPR_OPERATORS: usize = 256;

/// `text` as a `.mlp` string literal: quoted, with the escapes the string
/// rule reads back (`\"`, `\\`, `\n`, `\t`, `\$`), so that it parses to
/// exactly `text`. For tools and tests that write `.mlp` source.
pub fn quote_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses one file into its AST, with the errors found in its literals
/// (which leave `Invalid` nodes behind). A syntax error is fatal.
///
/// A well-formed file takes the fast path (`descent`); anything else is
/// parsed by pest, which explains what is wrong.
pub fn parse(file: &SourceFile, id: SourceId) -> Result<(ast::File, Vec<MlpError>), MlpError> {
    match parse_fast(&file.text, id) {
        Some(ast) => Ok((ast, Vec::new())),
        None => parse_with_pest(file, id),
    }
}

/// The fast path alone: the AST of a well-formed file, else `None`. For
/// tests and benchmarks; `parse` is what the compiler calls.
pub fn parse_fast(text: &str, id: SourceId) -> Option<ast::File> {
    descent::file(text, id)
}

/// The reference parser alone: pest and the `from_pest` builders, with the
/// pre-scan. For tests and benchmarks; `parse` is what the compiler calls.
pub fn parse_with_pest(
    file: &SourceFile,
    id: SourceId,
) -> Result<(ast::File, Vec<MlpError>), MlpError> {
    let scan = errors::prescan(file, id);
    if let Some(fatal) = scan.fatal {
        return Err(fatal);
    }
    let pairs = match MlpParser::parse(Rule::file, &file.text) {
        Ok(pairs) => pairs,
        Err(_) => {
            // Detailed attempts cost time, so they are collected only to
            // explain a failure. The flag is process-wide and stays on once
            // set, so concurrent parses never see it flip back.
            pest::set_error_detail(true);
            let err = match MlpParser::parse(Rule::file, &file.text) {
                Err(err) => err,
                Ok(_) => return Err(MlpError::ice("the parser failed once and then succeeded")),
            };
            return Err(errors::syntax_error(file, id, &err, scan.unterminated));
        }
    };
    let top = pairs
        .into_iter()
        .next()
        .ok_or_else(|| MlpError::ice("the parser returned no `file`"))?;
    let cx = from_pest::Cx {
        source: id,
        file,
        literal_errors: Default::default(),
    };
    let ast = from_pest::file(&cx, top)?;
    Ok((ast, cx.literal_errors.into_inner()))
}
