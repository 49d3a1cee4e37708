//! One renderer per output format, all over the same diagnostics.
//!
//! - `human`: miette's graphical report (colour optional), through the
//!   adapter in `render/miette.rs`;
//! - `short`: `file:line:col: severity code: message`, one per line;
//! - `json`: an array of objects, documented in `docs/diagnostics.md`;
//! - `github`: workflow commands that become annotations in GitHub Actions.
//!
//! Lines and columns are 1-based; columns count characters.

use serde::Serialize;

use super::{MlpError, Severity};
use std::collections::HashMap;

use crate::source::{LineCol, Span};

mod miette;

/// The output formats (the command line's `--format` maps onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Short,
    Json,
    Github,
}

#[derive(Debug, Clone, Copy)]
pub struct HumanOptions {
    pub color: bool,
    pub width: usize,
}

/// Where a label points, resolved to a file and line/column positions.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub file: String,
    pub start: LineCol,
    pub end: LineCol,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    pub message: Option<String>,
    pub primary: bool,
    #[serde(flatten)]
    pub location: Location,
}

/// The JSON form of one diagnostic.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: String,
    pub severity: &'static str,
    pub message: String,
    pub file: Option<String>,
    /// The primary label's position.
    pub start: Option<LineCol>,
    pub end: Option<LineCol>,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
}

fn severity_word(d: &MlpError) -> &'static str {
    match d.severity() {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// Resolves spans to line/column positions through each diagnostic's file
/// (its [`Src`](super::Src): id, name and line index). The index is built
/// once per file; diagnostics whose sources were made apart for one text
/// (the parser's) share the first one's.
#[derive(Default)]
pub struct Locator {
    /// By the address of the text, which every source of one file shares.
    files: HashMap<*const u8, super::Src>,
}

impl Locator {
    fn locate(&mut self, d: &MlpError, span: Span) -> Option<Location> {
        let src = d.src()?;
        let lines = self
            .files
            .entry(src.text.as_ptr())
            .or_insert_with(|| src.clone())
            .lines();
        Some(Location {
            file: src.name.clone(),
            start: lines.position(span.start as usize),
            end: lines.position(span.end as usize),
        })
    }
}

/// The labels of a diagnostic, primary first.
fn labels(d: &MlpError, locator: &mut Locator) -> Vec<JsonLabel> {
    let mut out: Vec<JsonLabel> = d
        .labels()
        .into_iter()
        .filter_map(|l| {
            let location = locator.locate(d, l.span)?;
            Some(JsonLabel {
                message: Some(l.text).filter(|m| !m.is_empty()),
                primary: l.primary,
                location,
            })
        })
        .collect();
    if !out.iter().any(|l| l.primary) {
        if let Some(first) = out.first_mut() {
            first.primary = true;
        }
    }
    out.sort_by_key(|l| !l.primary);
    out
}

pub fn to_json_diagnostic(d: &MlpError) -> JsonDiagnostic {
    located(d, &mut Locator::default())
}

fn located(d: &MlpError, locator: &mut Locator) -> JsonDiagnostic {
    let labels = labels(d, locator);
    let primary = labels.first();
    JsonDiagnostic {
        code: d.code_str(),
        severity: severity_word(d),
        message: d.to_string(),
        file: primary.map(|l| l.location.file.clone()),
        start: primary.map(|l| l.location.start),
        end: primary.map(|l| l.location.end),
        help: d.help(),
        labels,
    }
}

pub fn json(diags: &[&MlpError]) -> String {
    let mut locator = Locator::default();
    let all: Vec<JsonDiagnostic> = diags.iter().map(|d| located(d, &mut locator)).collect();
    serde_json::to_string_pretty(&all).unwrap_or_else(|e| format!("[{{\"error\": \"{e}\"}}]"))
}

pub fn human(diags: &[&MlpError], options: HumanOptions) -> String {
    miette::graphical(diags, options)
}

pub fn short(diags: &[&MlpError]) -> String {
    let mut out = String::new();
    let mut locator = Locator::default();
    for d in diags {
        let j = located(d, &mut locator);
        match (&j.file, j.start) {
            (Some(file), Some(start)) => out.push_str(&format!(
                "{file}:{}:{}: {} {}: {}\n",
                start.line, start.column, j.severity, j.code, j.message
            )),
            _ => out.push_str(&format!("{} {}: {}\n", j.severity, j.code, j.message)),
        }
    }
    out
}

/// GitHub Actions workflow commands (`::error file=...::message`).
pub fn github(diags: &[&MlpError]) -> String {
    let mut out = String::new();
    let mut locator = Locator::default();
    for d in diags {
        let j = located(d, &mut locator);
        let mut props = Vec::new();
        if let (Some(file), Some(start), Some(end)) = (&j.file, j.start, j.end) {
            props.push(format!("file={}", escape_property(file)));
            props.push(format!("line={}", start.line));
            if start.line == end.line {
                props.push(format!("col={}", start.column));
            }
            props.push(format!("endLine={}", end.line));
            if start.line == end.line {
                props.push(format!("endColumn={}", end.column));
            }
        }
        let mut message = j.message.clone();
        if let Some(help) = &j.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&annotation(
            j.severity,
            props,
            &format!("mlpc ({})", j.code),
            &message,
        ));
    }
    out
}

/// A GitHub Actions annotation on a whole file (a compiled file `--check`
/// found stale, missing or made by no pipeline).
pub fn github_file_error(file: &str, title: &str, message: &str) -> String {
    annotation(
        "error",
        vec![format!("file={}", escape_property(file))],
        title,
        message,
    )
}

/// `::SEVERITY PROPS,title=TITLE::MESSAGE`, escaped as the runner reads it.
fn annotation(severity: &str, mut props: Vec<String>, title: &str, message: &str) -> String {
    props.push(format!("title={}", escape_property(title)));
    format!(
        "::{severity} {}::{}\n",
        props.join(","),
        escape_data(message)
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(
            escape_property("mlpc (mlp::E0001),x"),
            "mlpc (mlp%3A%3AE0001)%2Cx"
        );
    }
}
