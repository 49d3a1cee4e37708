//! Stage signatures: what other stages can see of a stage (its kind,
//! outputs with their types, metrics, whether it fans out or is tracked)
//! before any stage body is checked, so that references may point forward.
//! They are kept in [`super::Analysis::signatures`], per pipeline, for tools
//! that need a stage's interface without its body (a language server's
//! completion and hover).

use crate::collections::IndexMap;
use serde::Serialize;

use super::check::Checker;
use super::hir::{Spanned, Value};
use super::ids::ModuleId;
use super::index::DefKind;
use super::schema::{self, StageKind};
use super::text::{has_field, literal_bool, literal_name_spans, literal_names, plain_text};
use super::types::Ty;
use crate::source::Span;
use crate::syntax::ast::{self, Entry, Text};

/// What other stages can see of a stage before its body is checked.
#[derive(Debug, Clone, Serialize)]
pub struct StageSig {
    /// The stage's name as written.
    pub name: Text,
    /// It fans out (`for_each` on the stage or its template): its outputs
    /// cannot be read (no fan-in yet).
    pub for_each: bool,
    /// `None` when the kind is unknown (reported as E0103).
    pub kind: Option<StageKind>,
    /// Every output a reference may name: the template's, the stage's own
    /// declarations, then the kind's built-in ones
    /// ([`schema::builtin_outputs`]).
    pub outputs: IndexMap<Text, Ty>,
    /// The metrics `STAGE.metrics.NAME` may read; empty unless tracked.
    pub metrics: Vec<Text>,
    /// MLflow tracks the stage (`track`, from the stage, its template, or
    /// the default: `train` stages are tracked).
    pub tracked: bool,
}

/// The signatures of one pipeline's stages, in source order.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineSigs {
    /// The pipeline's name as written.
    pub pipeline: Text,
    /// One per stage written in the pipeline, duplicates included, so the
    /// index of a stage here is its place in the source.
    pub stages: Vec<StageSig>,
}

/// Where what a [`StageSig`] lists is declared, for the reference index:
/// parallel to the signature's `outputs` and `metrics`.
pub(super) struct StageDefs {
    /// The stage's name.
    pub(super) name: Span,
    /// Per output of the signature, in its order: where it is declared (a
    /// built-in one, at the stage's name) and how.
    pub(super) outputs: Vec<(Span, DefKind)>,
    /// Per metric of the signature: the name in `metrics`, or the stage's
    /// name when it is not written as a literal.
    pub(super) metrics: Vec<Span>,
}

impl Checker<'_> {
    /// Everything other stages may see of `s`, computed before any body is
    /// checked so that references may point forward; and where each of it
    /// is declared.
    pub(super) fn stage_sig(&mut self, module: ModuleId, s: &ast::Stage) -> (StageSig, StageDefs) {
        let kind = self.stage_kind(&s.kind);
        let template = s
            .uses
            .as_ref()
            .and_then(|r| self.resolve_template(module, r))
            .map(|t| &self.templates[t.index()]);
        let mut outputs: IndexMap<Text, Ty> = IndexMap::default();
        let mut output_defs: Vec<(Span, DefKind)> = Vec::new();
        let define =
            |defs: &mut Vec<(Span, DefKind)>, index: usize, def: (Span, DefKind)| match defs
                .get_mut(index)
            {
                Some(d) => *d = def,
                None => defs.push(def),
            };
        if let Some(t) = template {
            for o in &t.outputs {
                let (i, _) = outputs.insert_full(o.name.clone(), o.ty.clone());
                define(&mut output_defs, i, (o.name_span, DefKind::Output));
            }
        }
        for e in &s.body.entries {
            if let Entry::Output(d) = e {
                if let Some(ty) = Ty::from_name(
                    &d.ty.name.name,
                    d.ty.arg
                        .as_ref()
                        .and_then(|a| Ty::from_name(&a.name.name, None)),
                ) {
                    let (i, _) = outputs.insert_full(d.name.name.clone(), ty);
                    define(&mut output_defs, i, (d.name.span, DefKind::Output));
                }
            }
        }
        // With a kind mismatch (reported later), tracking is not decidable.
        let kind_mismatch = matches!((kind, template), (Some(k), Some(t)) if t.kind != k);
        let own_track = literal_bool(&s.body, "track");
        let template_track = template.and_then(|t| match t.fields.get("track") {
            Some(Spanned {
                value: Value::Bool(b),
                ..
            }) => Some(*b),
            _ => None,
        });
        let tracked = own_track
            .or(template_track)
            .unwrap_or(kind == Some(StageKind::Train))
            && kind.is_some_and(StageKind::runs_user_container)
            && !kind_mismatch;
        let mut metrics = literal_names(&s.body, "metrics");
        let metrics_from_template = metrics.is_empty();
        if metrics.is_empty() {
            if let Some(Spanned {
                value: Value::List(items),
                ..
            }) = template.and_then(|t| t.fields.get("metrics"))
            {
                metrics = items
                    .iter()
                    .filter_map(|i| match &i.value {
                        Value::Str(parts) => plain_text(parts),
                        _ => None,
                    })
                    .collect();
            }
        }
        if let Some(kind) = kind {
            for (name, ty) in schema::builtin_outputs(kind, tracked) {
                let entry = outputs.entry((*name).into());
                if let indexmap::map::Entry::Vacant(_) = entry {
                    output_defs.push((s.name.span, DefKind::BuiltinOutput));
                }
                entry.or_insert_with(|| ty.clone());
            }
        }
        let metric_defs = if tracked {
            let written = if metrics_from_template {
                template.and_then(|t| match &t.fields.get("metrics")?.value {
                    Value::List(items) => Some(
                        items
                            .iter()
                            .filter_map(|i| match &i.value {
                                Value::Str(parts) => Some((plain_text(parts)?, i.span)),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
            } else {
                Some(literal_name_spans(&s.body, "metrics"))
            }
            .unwrap_or_default();
            metrics
                .iter()
                .map(|m| {
                    written
                        .iter()
                        .find(|(name, _)| name == m)
                        .map_or(s.name.span, |(_, span)| *span)
                })
                .collect()
        } else {
            Vec::new()
        };
        let defs = StageDefs {
            name: s.name.span,
            outputs: output_defs,
            metrics: metric_defs,
        };
        let sig = StageSig {
            name: s.name.name.clone(),
            for_each: has_field(&s.body, "for_each")
                || template.is_some_and(|t| t.fields.contains_key("for_each")),
            kind,
            outputs,
            metrics: if tracked {
                metrics.into_iter().map(Text::from).collect()
            } else {
                Vec::new()
            },
            tracked,
        };
        (sig, defs)
    }
}
