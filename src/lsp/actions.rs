//! Quick fixes, one for each diagnostic with a known fix:
//! - a help that says "did you mean `x`?" replaces the primary span by `x`;
//! - an unpinned image (W0202, E0230) is pinned by the digest its registry
//!   gives the tag now. That asks the network, so the action is offered
//!   without its edit: a client that resolves code actions asks for the edit
//!   when the action is chosen (`codeAction/resolve`); to any other, the
//!   action is the command `mlpc.pinImage`, whose edit the server sends back
//!   (`workspace/applyEdit`);
//! - a `deploy` without `mlflow.artifact_store` (W0201) gets the line added
//!   to the pipeline's `mlflow` block.
//!
//! The diagnostic is found again in the analysis (by code and start): a
//! client may send back a diagnostic's range rebuilt from its own copy
//! (Neovim 0.7 keeps only the start).

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    Diagnostic, Range, TextEdit, Url, WorkspaceEdit,
};
use serde::{Deserialize, Serialize};

use super::documents::{self, Documents};
use crate::diag::MlpError;
use crate::sema::Analysis;
use crate::syntax::ast;

/// The command a client without `codeAction/resolve` runs to pin an image.
pub const PIN_IMAGE: &str = "mlpc.pinImage";

/// What an unresolved "pin" action carries: where the image literal is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pin {
    pub uri: Url,
    pub range: Range,
    pub image: String,
}

/// The artifact store suggested when no other pipeline of the file names
/// one: the bucket MLflow's own docs and `mlflow server` examples use.
const CONVENTIONAL_STORE: &str = "s3://mlflow-artifacts";

pub fn code_actions(
    docs: &mut Documents,
    p: CodeActionParams,
    resolve: bool,
) -> Option<CodeActionResponse> {
    let uri = p.text_document.uri.clone();
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    let mut out = Vec::new();
    for sent in &p.context.diagnostics {
        let code = match &sent.code {
            Some(lsp_types::NumberOrString::String(c)) => c.clone(),
            _ => continue,
        };
        let ours = analysis.diagnostics.items.iter().find_map(|d| {
            let span = d.labels().into_iter().find(|l| l.primary)?.span;
            let range = documents::range(analysis, encoding, span);
            (d.code_str() == code
                && span.source == analysis.root
                && range.start == sent.range.start)
                .then_some((d, span, range))
        });
        let Some((d, span, range)) = ours else {
            continue;
        };
        let mut fixed = sent.clone();
        fixed.range = range;
        let text: &str = &analysis.sources.get(analysis.root).text;
        if let Some(suggestion) = d.help().as_deref().and_then(did_you_mean) {
            out.push(edit_action(
                format!("Change to `{suggestion}`"),
                &fixed,
                &uri,
                vec![TextEdit::new(range, suggestion)],
            ));
        }
        match d {
            MlpError::UnpinnedImage { image, .. } | MlpError::ImageWithoutDigest { image, .. }
                if literal_is(&text[span.start as usize..span.end as usize], image)
                    && crate::registry::parse(image).is_some() =>
            {
                let pin = Pin {
                    uri: uri.clone(),
                    range,
                    image: image.clone(),
                };
                out.push(pin_action(pin, fixed, resolve));
            }
            MlpError::DeployWithoutArtifactStore { .. } => {
                if let Some((title, edit)) = artifact_store_edit(analysis, encoding, span.start) {
                    out.push(edit_action(title, &fixed, &uri, vec![edit]));
                }
            }
            _ => {}
        }
    }
    Some(out)
}

fn edit_action(
    title: String,
    diagnostic: &Diagnostic,
    uri: &Url,
    edits: Vec<TextEdit>,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..Default::default()
        }),
        is_preferred: Some(true),
        ..Default::default()
    })
}

fn pin_action(pin: Pin, diagnostic: Diagnostic, resolve: bool) -> CodeActionOrCommand {
    let title = format!("Pin `{}` by its digest", pin.image);
    let data = serde_json::to_value(&pin).ok();
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic]),
        command: (!resolve).then(|| Command {
            title,
            command: PIN_IMAGE.into(),
            arguments: data.clone().map(|d| vec![d]),
        }),
        data: data.filter(|_| resolve),
        ..Default::default()
    })
}

/// The edit that pins an image: its literal, with `@sha256:...` added.
/// Asks the registry; fails when it cannot be reached or the document
/// changed since the action was offered.
pub fn pin_edit(docs: &mut Documents, pin: &Pin) -> Result<WorkspaceEdit, String> {
    let encoding = docs.encoding;
    let analysis = docs
        .analysis(&pin.uri)
        .ok_or_else(|| format!("{} is not open", pin.uri))?;
    let root = analysis.root;
    let lines = analysis.sources.get(root).lines();
    let utf16 = encoding == documents::Encoding::Utf16;
    let start = lines.offset(pin.range.start.line, pin.range.start.character, utf16);
    let end = lines.offset(pin.range.end.line, pin.range.end.character, utf16);
    let text: &str = &analysis.sources.get(root).text;
    if !literal_is(&text[start..end.max(start)], &pin.image) {
        return Err("the image changed since the fix was offered".into());
    }
    let digest = crate::registry::digest(&pin.image)?;
    let edit = TextEdit::new(pin.range, format!("\"{}@{digest}\"", pin.image));
    Ok(WorkspaceEdit {
        changes: Some(HashMap::from([(pin.uri.clone(), vec![edit])])),
        ..Default::default()
    })
}

/// Resolves an action offered by [`pin_action`]: the same, with its edit.
pub fn resolve(docs: &mut Documents, mut action: CodeAction) -> Result<CodeAction, String> {
    let pin: Pin = action
        .data
        .take()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or("mlpc resolves only its own actions")?;
    action.edit = Some(pin_edit(docs, &pin)?);
    Ok(action)
}

/// Whether a source literal is exactly `"IMAGE"` (no escapes or `${}` that
/// a rewrite would lose).
fn literal_is(literal: &str, image: &str) -> bool {
    literal
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .is_some_and(|l| l == image)
}

/// A line `artifact_store = "..."` at the end of the `mlflow` block of the
/// pipeline holding `at`, with the value another pipeline of the file
/// uses, or the conventional one.
fn artifact_store_edit(
    analysis: &Analysis,
    encoding: documents::Encoding,
    at: u32,
) -> Option<(String, TextEdit)> {
    let root = analysis.root;
    let text: &str = &analysis.sources.get(root).text;
    let file = crate::syntax::parse_fast(text, root)?;
    let pipelines: Vec<&ast::Pipeline> = file
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Pipeline(p) => Some(p),
            _ => None,
        })
        .collect();
    let mlflow_of = |p: &ast::Pipeline| {
        p.body.entries.iter().find_map(|e| match e {
            ast::Entry::Block(b) if b.name.name == "mlflow" => Some(b.body.clone()),
            _ => None,
        })
    };
    let store = pipelines
        .iter()
        .filter_map(|p| mlflow_of(p))
        .find_map(|body| {
            body.entries.iter().find_map(|e| match e {
                ast::Entry::Field(f) if f.name.name == "artifact_store" => {
                    let s = &text[f.value.span.start as usize..f.value.span.end as usize];
                    s.starts_with('"').then(|| s.to_string())
                }
                _ => None,
            })
        });
    let pipeline = pipelines
        .iter()
        .find(|p| p.span.start <= at && at <= p.span.end)?;
    let body = mlflow_of(pipeline)?;
    let last = body.entries.last()?.span();
    let line_start = text[..last.start as usize].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..last.start as usize];
    let value = store.unwrap_or_else(|| format!("\"{CONVENTIONAL_STORE}\""));
    // One entry per line: a new line at the same indentation; entries on
    // the block's line: `, artifact_store = ...` after the last.
    let insert = if before.trim().is_empty() {
        format!("\n{before}artifact_store = {value}")
    } else {
        format!(", artifact_store = {value}")
    };
    let end = documents::position(analysis, encoding, root, last.end as usize);
    let title = format!(
        "Add `artifact_store = {value}` to `mlflow` (the tracking server's --artifacts-destination)"
    );
    Some((title, TextEdit::new(Range::new(end, end), insert)))
}

/// The suggestion of a "did you mean `x`?" help.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.split("did you mean `").nth(1)?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}
