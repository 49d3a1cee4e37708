//! What the server answers: hover, go-to-definition, references, document
//! symbols, completion, rename and formatting, read from the analysis
//! (the reference index, the program as far as it checked, the stages'
//! signatures) and from the same tables that check fields.

use std::collections::HashMap;

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse,
    DocumentFormattingParams, DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse,
    GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents, HoverParams, Location,
    MarkupContent, MarkupKind, ReferenceParams, RenameParams, SymbolKind, TextEdit, WorkspaceEdit,
};

use super::documents::{self, Documents};
use crate::sema::hir::{NodeId, Pipeline, Program, RunField};
use crate::sema::index::DefKind;
use crate::sema::Analysis;
use crate::sema::{field_table, schema};
use crate::source::{SourceId, Span};

/// The definition named at `offset`: a reference's, or the definition
/// itself when the cursor is on a declared name.
fn definition_at(
    analysis: &Analysis,
    id: SourceId,
    offset: usize,
) -> Option<(Option<Span>, DefKind, String)> {
    if let Some(r) = analysis.index.at(id, offset) {
        return Some((r.def.span, r.def.kind, r.def.name.to_string()));
    }
    analysis.index.entries().iter().find_map(|e| {
        let s = e.def.span?;
        (s.source == id && s.start as usize <= offset && offset <= s.end as usize)
            .then(|| (Some(s), e.def.kind, e.def.name.to_string()))
    })
}

fn kind_word(kind: DefKind) -> &'static str {
    match kind {
        DefKind::Param => "parameter",
        DefKind::Input => "template input",
        DefKind::Stage => "stage",
        DefKind::Output => "output",
        DefKind::BuiltinOutput => "built-in output",
        DefKind::Metric => "metric",
        DefKind::Item => "loop item",
        DefKind::Run => "run field",
        DefKind::Template => "template",
    }
}

pub fn hover(docs: &mut Documents, p: HoverParams) -> Option<Hover> {
    let uri = p.text_document_position_params.text_document.uri;
    let (id, offset) = docs.offset(&uri, p.text_document_position_params.position)?;
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    // A reference: what it names and its type.
    if let Some(r) = analysis.index.at(id, offset) {
        let mut text = format!("`{}`: {}", r.def.name, kind_word(r.def.kind));
        if let Some(ty) = &r.ty {
            text.push_str(&format!(" of type `{}`", ty.describe()));
        }
        if r.def.kind == DefKind::Stage {
            if let Some(s) = stage_named(analysis, &r.def.name) {
                text.push_str(&format!(" (`{}` stage", s.0));
                if let Some(t) = s.1 {
                    text.push_str(&format!(" using `{t}`"));
                }
                text.push(')');
            }
        }
        return Some(markdown(
            text,
            Some(documents::range(analysis, encoding, r.use_span)),
        ));
    }
    // A diagnostic: its code's explanation.
    for d in &analysis.diagnostics.items {
        let Some(primary) = d.labels().into_iter().find(|l| l.primary) else {
            continue;
        };
        let s = primary.span;
        if s.source == id && s.start as usize <= offset && offset <= s.end as usize {
            let info = crate::diag::codes::lookup(&d.code_str())?;
            let text = format!("**{}**: {}\n\n{}", info.code, info.title, info.explain);
            return Some(markdown(
                text,
                Some(documents::range(analysis, encoding, s)),
            ));
        }
    }
    // A field name: its documentation, from the table that checks it.
    let text: &str = &analysis.sources.get(id).text;
    let (start, word) = word_at(text, offset)?;
    let after = text[start + word.len()..].trim_start();
    if !(after.starts_with('=') || after.starts_with('{')) {
        return None;
    }
    let table = field_table::table_at_end(&text[..start])?;
    let spec = table.field(word)?;
    let mut value = format!("**`{}`**: {}", spec.name, spec.doc);
    if std::ptr::eq(table.specs, schema::STAGE) {
        value.push_str(&format!(
            "\n\nA field of {} stages.",
            schema::kinds_names(spec.kinds)
        ));
    }
    if spec.fixed {
        value.push_str("\n\nIts value must be known when the workflow is compiled.");
    }
    let span = Span::new(id, start, start + word.len());
    Some(markdown(
        value,
        Some(documents::range(analysis, encoding, span)),
    ))
}

fn markdown(value: String, range: Option<lsp_types::Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

/// The kind and template of the stage named `name` in any pipeline.
fn stage_named(analysis: &Analysis, name: &str) -> Option<(&'static str, Option<String>)> {
    let program = analysis.best_program()?;
    program
        .pipelines
        .iter()
        .flat_map(|p| &p.stages)
        .find(|s| s.name == name)
        .map(|s| {
            (
                s.kind.name(),
                s.uses
                    .as_ref()
                    .map(|u| program.template(u.template).name.to_string()),
            )
        })
}

/// The identifier around `offset`, and where it starts.
fn word_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let offset = offset.min(text.len());
    let start = text[..offset]
        .rfind(|c: char| !is_word(c))
        .map_or(0, |i| i + 1);
    let end = text[offset..]
        .find(|c: char| !is_word(c))
        .map_or(text.len(), |i| offset + i);
    (start < end).then(|| (start, &text[start..end]))
}

pub fn definition(docs: &mut Documents, p: GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let uri = p.text_document_position_params.text_document.uri;
    let (id, offset) = docs.offset(&uri, p.text_document_position_params.position)?;
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    let r = analysis.index.at(id, offset)?;
    let location = documents::location(analysis, &uri, encoding, r.def.span?)?;
    Some(GotoDefinitionResponse::Scalar(location))
}

/// Every use of what is named at the cursor (and its declaration, when
/// asked), in the document and the files it imports.
fn uses_of(analysis: &Analysis, def: &(Option<Span>, DefKind, String)) -> Vec<Span> {
    analysis
        .index
        .entries()
        .iter()
        .filter(|e| match def.0 {
            Some(span) => e.def.span == Some(span),
            None => e.def.kind == def.1 && e.def.name == def.2,
        })
        .map(|e| e.use_span)
        .collect()
}

pub fn references(docs: &mut Documents, p: ReferenceParams) -> Option<Vec<Location>> {
    let uri = p.text_document_position.text_document.uri;
    let (id, offset) = docs.offset(&uri, p.text_document_position.position)?;
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    let def = definition_at(analysis, id, offset)?;
    let mut spans = uses_of(analysis, &def);
    if p.context.include_declaration {
        spans.extend(def.0);
    }
    spans.sort_by_key(|s| (s.source.0, s.start));
    spans.dedup();
    Some(
        spans
            .into_iter()
            .filter_map(|s| documents::location(analysis, &uri, encoding, s))
            .collect(),
    )
}

/// Renames a parameter, stage or template input in the document: its
/// declaration and every use (only the name's part of `stage.output`).
pub fn rename(docs: &mut Documents, p: RenameParams) -> Option<WorkspaceEdit> {
    let uri = p.text_document_position.text_document.uri;
    let (id, offset) = docs.offset(&uri, p.text_document_position.position)?;
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    if !crate::sema::is_identifier(&p.new_name) {
        return None;
    }
    let spans = rename_spans(analysis, id, offset)?;
    let mut edits: Vec<TextEdit> = spans
        .into_iter()
        .map(|s| TextEdit::new(documents::range(analysis, encoding, s), p.new_name.clone()))
        .collect();
    edits.sort_by_key(|e| (e.range.start.line, e.range.start.character));
    edits.dedup();
    Some(WorkspaceEdit {
        changes: Some(HashMap::from([(uri, edits)])),
        ..Default::default()
    })
}

/// The spans of a name to rename at `offset`, in the root file: a
/// parameter's or input's (declaration and uses), or a stage's (its name
/// and the first segment of every `STAGE...` and `after` entry naming it).
fn rename_spans(analysis: &Analysis, id: SourceId, offset: usize) -> Option<Vec<Span>> {
    let text: &str = &analysis.sources.get(id).text;
    let first_segment = |s: Span| {
        let t = &text[s.start as usize..s.end as usize];
        let len = t.find('.').unwrap_or(t.len());
        Span::new(s.source, s.start as usize, s.start as usize + len)
    };
    let on = |s: Span| s.source == id && s.start as usize <= offset && offset <= s.end as usize;
    let stage_kinds = [
        DefKind::Stage,
        DefKind::Output,
        DefKind::BuiltinOutput,
        DefKind::Metric,
    ];
    // The stage named by a reference's first segment, or declared here.
    let stage = match analysis.index.at(id, offset) {
        Some(r) if on(first_segment(r.use_span)) && stage_kinds.contains(&r.def.kind) => Some(
            text[first_segment(r.use_span).start as usize..first_segment(r.use_span).end as usize]
                .to_string(),
        ),
        Some(r) if matches!(r.def.kind, DefKind::Param | DefKind::Input) => {
            let def = r.def.span?;
            return Some(value_name_spans(analysis, def, id));
        }
        Some(_) => return None,
        None => None,
    };
    let stage = stage.or_else(|| {
        stage_declarations(analysis, id)
            .into_iter()
            .find(|(_, s)| on(*s))
            .map(|(name, _)| name)
    });
    if let Some(name) = stage {
        let mut out: Vec<Span> = stage_declarations(analysis, id)
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, s)| s)
            .collect();
        out.extend(
            analysis
                .index
                .in_source(id)
                .iter()
                .filter(|e| stage_kinds.contains(&e.def.kind))
                .map(|e| first_segment(e.use_span))
                .filter(|s| text[s.start as usize..s.end as usize] == name),
        );
        return Some(out);
    }
    // A parameter's or input's declaration.
    let def = analysis
        .index
        .entries()
        .iter()
        .filter(|e| matches!(e.def.kind, DefKind::Param | DefKind::Input))
        .find_map(|e| e.def.span.filter(|s| on(*s)))?;
    Some(value_name_spans(analysis, def, id))
}

/// A parameter's or input's declared name and its uses in file `id`.
fn value_name_spans(analysis: &Analysis, def: Span, id: SourceId) -> Vec<Span> {
    let text: &str = &analysis.sources.get(id).text;
    let old = &text[def.start as usize..def.end as usize];
    let mut out = vec![def];
    for e in analysis
        .index
        .in_source(id)
        .iter()
        .filter(|e| e.def.span == Some(def))
    {
        if text[e.use_span.start as usize..].starts_with(old) {
            out.push(Span::new(
                id,
                e.use_span.start as usize,
                e.use_span.start as usize + old.len(),
            ));
        }
    }
    out
}

/// Every stage declared in file `id`: its name and the span of the name.
fn stage_declarations(analysis: &Analysis, id: SourceId) -> Vec<(String, Span)> {
    let text: &str = &analysis.sources.get(id).text;
    let Some(program) = analysis.best_program() else {
        return Vec::new();
    };
    program
        .pipelines
        .iter()
        .flat_map(|p| &p.stages)
        .filter(|s| s.span.source == id)
        .filter_map(|s| {
            // `KIND NAME ...`: the name is the second word of the stage.
            let from = s.span.start as usize;
            let rest = &text[from..s.span.end as usize];
            let after_kind = rest.find(char::is_whitespace)?;
            let name_at = after_kind + rest[after_kind..].find(|c: char| !c.is_whitespace())?;
            rest[name_at..].starts_with(s.name.as_str()).then(|| {
                (
                    s.name.to_string(),
                    Span::new(id, from + name_at, from + name_at + s.name.len()),
                )
            })
        })
        .collect()
}

pub fn symbols(docs: &mut Documents, p: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let uri = p.text_document.uri;
    let encoding = docs.encoding;
    let analysis = docs.analysis(&uri)?;
    let program = analysis.best_program()?;
    let root = analysis.root;
    let symbols = program
        .pipelines
        .iter()
        .filter(|p| p.span.source == root)
        .map(|p| {
            let children = p
                .main
                .iter()
                .chain(&p.finally)
                .map(|n| node_symbol(analysis, encoding, p, *n))
                .collect();
            symbol(
                analysis,
                encoding,
                &p.name,
                "pipeline",
                SymbolKind::MODULE,
                p.span,
                p.name_span,
                children,
            )
        })
        .collect();
    Some(DocumentSymbolResponse::Nested(symbols))
}

fn node_symbol(
    analysis: &Analysis,
    encoding: documents::Encoding,
    p: &Pipeline,
    node: NodeId,
) -> DocumentSymbol {
    match node {
        NodeId::Stage(s) => {
            let s = p.stage(s);
            symbol(
                analysis,
                encoding,
                &s.name,
                s.kind.name(),
                SymbolKind::FUNCTION,
                s.span,
                s.span,
                Vec::new(),
            )
        }
        NodeId::Group(g) => {
            let g = p.group(g);
            let children = g
                .members
                .iter()
                .map(|n| node_symbol(analysis, encoding, p, *n))
                .collect();
            symbol(
                analysis,
                encoding,
                &g.name,
                "group",
                SymbolKind::NAMESPACE,
                g.span,
                g.name_span,
                children,
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn symbol(
    analysis: &Analysis,
    encoding: documents::Encoding,
    name: &str,
    detail: &str,
    kind: SymbolKind,
    span: Span,
    name_span: Span,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    let range = documents::range(analysis, encoding, span);
    let mut selection = documents::range(analysis, encoding, name_span);
    // The selection must lie in the range.
    if selection.start < range.start || selection.end > range.end {
        selection = range;
    }
    #[allow(deprecated)]
    DocumentSymbol {
        name: name.to_string(),
        detail: Some(detail.to_string()),
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

/// A name no program has, put at the cursor when the text does not parse.
const PLACEHOLDER: &str = "mlp_completion_here";

pub fn completion(docs: &mut Documents, p: CompletionParams) -> Option<CompletionResponse> {
    let uri = p.text_document_position.text_document.uri;
    let (id, offset) = docs.offset(&uri, p.text_document_position.position)?;
    // While a name is being typed the text often does not parse; then the
    // program (templates, names, stage outputs) is read from the text with
    // a name at the cursor, which completes `uses ` and `x = ` at least.
    let current = docs.analysis(&uri)?;
    let fallback = if current.parsed {
        None
    } else {
        let text = &current.sources.get(id).text;
        let patched = format!("{}{PLACEHOLDER}{}", &text[..offset], &text[offset..]);
        docs.analysis_of(&uri, &patched)
    };
    let analysis = docs.analysis(&uri)?;
    let program_of = fallback.as_ref().unwrap_or(analysis);
    let text = &analysis.sources.get(id).text;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let item = |label: &str, kind: CompletionItemKind, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        ..Default::default()
    };
    let trimmed = before.trim_start();
    // `import std.` -> the standard library's modules.
    if trimmed.starts_with("import std.") {
        return Some(CompletionResponse::Array(
            crate::stdlib::names()
                .map(|m| item(m, CompletionItemKind::MODULE, "standard library"))
                .collect(),
        ));
    }
    // `uses ` -> templates.
    if let Some(program) = program_of
        .best_program()
        .filter(|_| ends_after_word(before, "uses"))
    {
        return Some(CompletionResponse::Array(
            program
                .templates
                .iter()
                .map(|t| item(&t.name, CompletionItemKind::CLASS, t.kind.name()))
                .chain(
                    program
                        .group_templates
                        .iter()
                        .map(|t| item(&t.name, CompletionItemKind::CLASS, "group")),
                )
                .collect(),
        ));
    }
    // `STAGE.` -> its outputs and metrics; `run.` -> the run's fields.
    let word_before_dot = before.strip_suffix('.').map(|b| {
        b.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
    });
    if let Some(name) = word_before_dot.filter(|w| !w.is_empty()) {
        if name == "run" {
            return Some(CompletionResponse::Array(
                RunField::ALL
                    .iter()
                    .map(|f| item(f.name(), CompletionItemKind::PROPERTY, "run"))
                    .collect(),
            ));
        }
        let sig = program_of
            .signatures
            .iter()
            .flat_map(|p| &p.stages)
            .find(|s| s.name == name)?;
        let mut items: Vec<CompletionItem> = sig
            .outputs
            .iter()
            .map(|(o, ty)| item(o, CompletionItemKind::FIELD, &ty.describe()))
            .collect();
        if !sig.metrics.is_empty() {
            items.push(item(
                "metrics",
                CompletionItemKind::FIELD,
                "the stage's metrics",
            ));
        }
        return Some(CompletionResponse::Array(items));
    }
    // Elsewhere: the fields of the enclosing stage's kind, and the names
    // in scope (parameters, stages).
    let table = field_table::table_at_end(&text[..offset]);
    let mut items: Vec<CompletionItem> = table
        .map(|t| t.names())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| {
            let spec = table?.field(f)?;
            Some(CompletionItem {
                documentation: Some(lsp_types::Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: spec.doc.to_string(),
                })),
                ..item(f, CompletionItemKind::PROPERTY, "field")
            })
        })
        .collect();
    if let Some(program) = program_of.best_program() {
        items.extend(names_in_scope(program));
    }
    Some(CompletionResponse::Array(items))
}

fn names_in_scope(program: &Program) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    for p in &program.pipelines {
        for param in &p.params {
            out.push(CompletionItem {
                label: param.name.to_string(),
                kind: Some(CompletionItemKind::VARIABLE),
                detail: Some(format!("parameter: {}", param.ty.describe())),
                ..Default::default()
            });
        }
        for s in &p.stages {
            out.push(CompletionItem {
                label: s.name.to_string(),
                kind: Some(CompletionItemKind::FUNCTION),
                detail: Some(format!("{} stage", s.kind.name())),
                ..Default::default()
            });
        }
    }
    out
}

/// Whether `text` ends with `word` followed by blanks and maybe the start
/// of a name (`uses `, `uses lib.tr`).
fn ends_after_word(text: &str, word: &str) -> bool {
    let rest = text.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let rest = rest.trim_end();
    rest.len() < text.len()
        && rest.ends_with(word)
        && rest[..rest.len() - word.len()].ends_with([' ', '\t', '}'])
}

/// `mlpc fmt` as one edit of the whole text; none when the text is laid
/// out already or does not parse (its diagnostics say why).
pub fn formatting(docs: &mut Documents, p: DocumentFormattingParams) -> Option<Vec<TextEdit>> {
    let text = docs.text(&p.text_document.uri)?;
    let formatted = crate::fmt::format(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let lines = crate::source::Lines::new(text);
    let end = match docs.encoding {
        documents::Encoding::Utf8 => lines.utf8_position(text.len()),
        documents::Encoding::Utf16 => lines.utf16_position(text.len()),
    };
    let range = lsp_types::Range::new(
        lsp_types::Position::new(0, 0),
        lsp_types::Position::new(end.line, end.character),
    );
    Some(vec![TextEdit::new(range, formatted)])
}
