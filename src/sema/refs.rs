//! Reference resolution: parameters, inputs, stage outputs, metrics,
//! `item` and `run.*`.

use super::check::{Checker, PipelineCx, Scope};
use super::hir::{Dep, DepKind, Place, Ref, RunField};
use super::ids::{GroupId, NodeId, StageId};
use super::index::{DefKind, Definition, RefEntry};
use super::schema::StageKind;
use super::signature::StageSig;
use super::text::quoted_list;
use super::types::{ArtifactKind, Ty};
use crate::diag::{closest, did_you_mean, MlpError};
use crate::source::Span;
use crate::syntax::ast::{self, Text};

const RUN_FIELDS_HELP: &str = "the run has `run.name`, `run.uid`, `run.namespace`, `run.pod` and, in a scheduled pipeline, `run.scheduled_time`";

/// A resolved reference: what it names, its type, and the dependency it
/// gives the stage that holds it (a stage output or metric; `after`
/// entries are dependencies too, collected by `Checker::after`).
pub(super) struct Resolved {
    pub(super) reference: Ref,
    pub(super) ty: Ty,
    pub(super) dep: Option<Dep>,
    /// What it names, for the reference index.
    pub(super) def: Definition,
}

impl Resolved {
    fn of(reference: Ref, ty: Ty, def: Definition) -> Self {
        Resolved {
            reference,
            ty,
            dep: None,
            def,
        }
    }
}

fn def(span: Option<Span>, kind: DefKind, name: &str) -> Definition {
    Definition {
        span,
        kind,
        name: name.into(),
    }
}

impl Checker<'_> {
    /// Resolves a reference in its scope and hands its dependency to the
    /// stage being checked (`scope`'s [`Deps`](super::check::Deps)).
    pub(super) fn reference(&mut self, r: &ast::Reference, scope: Scope) -> Option<(Ref, Ty)> {
        let Resolved {
            reference,
            ty,
            dep,
            def,
        } = self.resolve(r, scope)?;
        self.refs.push(RefEntry {
            use_span: r.span,
            def,
            ty: Some(ty.clone()),
        });
        if let (
            Some(dep),
            Scope::Pipeline {
                deps: Some(deps), ..
            },
        ) = (dep, scope)
        {
            deps.add(dep);
        }
        Some((reference, ty))
    }

    /// Resolves a reference in its scope: what it names, its type, and the
    /// stage it makes the current one depend on. Reports what it cannot
    /// resolve.
    pub(super) fn resolve(&mut self, r: &ast::Reference, scope: Scope) -> Option<Resolved> {
        let segs: Vec<&str> = r.segments.iter().map(|s| s.name.as_str()).collect();
        let first = &r.segments[0];
        match segs.as_slice() {
            ["item"] | ["item", _] if !scope.for_each() => {
                // Not the stage's own loop: the innermost loop group's.
                let innermost = match scope {
                    Scope::Pipeline { pcx, place, .. } => {
                        pcx.loops_holding(place).first().map(|&g| (pcx, g))
                    }
                    Scope::Template { .. } => None,
                };
                let Some((pcx, group)) = innermost else {
                    self.push(MlpError::ItemOutsideForEach {
                        src: self.src(r.span),
                        at: r.span,
                    });
                    return None;
                };
                if let (Some(key), Some(items)) =
                    (segs.get(1), &pcx.groups[group.index()].item_keys)
                {
                    self.item_key(r, key, items)?;
                }
                return Some(self.group_item(pcx, group, segs.get(1).copied()));
            }
            ["item"] | ["item", _] => {
                if !scope.for_each() {
                    self.push(MlpError::ItemOutsideForEach {
                        src: self.src(r.span),
                        at: r.span,
                    });
                    return None;
                }
                if let (
                    Some(key),
                    Scope::Pipeline {
                        item_keys: Some(items),
                        ..
                    },
                ) = (segs.get(1), scope)
                {
                    self.item_key(r, key, items)?;
                }
                let name = segs.get(1).copied().unwrap_or("item");
                return Some(Resolved::of(
                    Ref::Item(segs.get(1).map(|s| Text::from(*s))),
                    Ty::Any,
                    def(self.item_def, DefKind::Item, name),
                ));
            }
            ["run", field] => {
                let found = RunField::ALL.iter().find(|f| f.name() == *field);
                let f = match found.copied() {
                    Some(f @ (RunField::Status | RunField::Failures)) => {
                        if !matches!(scope, Scope::Pipeline { place, .. } if place.finally) {
                            self.push(MlpError::RunStatusOutsideFinally {
                                src: self.src(r.span),
                                at: r.span,
                                field: field.to_string(),
                            });
                            return None;
                        }
                        f
                    }
                    Some(RunField::ScheduledTime) => {
                        if !matches!(scope, Scope::Pipeline { pcx, .. } if pcx.scheduled) {
                            self.push(MlpError::UnknownName {
                                src: self.src(r.span),
                                at: r.span,
                                name: r.display(),
                                help: Some("`run.scheduled_time` (when a scheduled run was due) exists in the stages of a pipeline with `schedule = \"...\"`".into()),
                            });
                            return None;
                        }
                        RunField::ScheduledTime
                    }
                    Some(f) => f,
                    None => {
                        self.push(MlpError::UnknownName {
                            src: self.src(r.span),
                            at: r.span,
                            name: r.display(),
                            help: closest(field, RunField::ALL.iter().map(|f| f.name()))
                                .map(|c| format!("did you mean `run.{c}`?"))
                                .or_else(|| Some(RUN_FIELDS_HELP.into())),
                        });
                        return None;
                    }
                };
                return Some(Resolved::of(
                    Ref::Run(f),
                    Ty::String,
                    def(None, DefKind::Run, field),
                ));
            }
            ["run"] | ["run", ..] => {
                self.push(MlpError::UnknownName {
                    src: self.src(r.span),
                    at: r.span,
                    name: r.display(),
                    help: Some(RUN_FIELDS_HELP.into()),
                });
                return None;
            }
            _ => {}
        }
        match scope {
            Scope::Template { inputs, .. } => {
                if let Some(input) = inputs.iter().find(|i| i.name == first.name) {
                    if segs.len() > 1 {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(r.span),
                            at: r.span,
                            expected: "a name without fields".into(),
                            found: format!("`{}` ({})", first.name, input.ty.describe()),
                            help: Some(format!("write `{}`", first.name)),
                        });
                        return None;
                    }
                    return Some(Resolved::of(
                        Ref::Input(first.name.clone()),
                        input.ty.clone(),
                        def(Some(input.name_span), DefKind::Input, &first.name),
                    ));
                }
                let help = did_you_mean(&first.name, inputs.iter().map(|i| i.name.as_str()))
                    .or_else(|| {
                        Some(
                            "a template sees only its own inputs (`input NAME: TYPE`) and `run.*`"
                                .into(),
                        )
                    });
                self.push(MlpError::UnknownName {
                    src: self.src(first.span),
                    at: first.span,
                    name: first.name.to_string(),
                    help,
                });
                None
            }
            Scope::Pipeline {
                pcx, deps: current, ..
            } => {
                if let Some((ty, span)) = pcx.group_inputs.get(first.name.as_str()) {
                    if segs.len() > 1 {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(r.span),
                            at: r.span,
                            expected: "a name without fields".into(),
                            found: format!("the input `{}` ({})", first.name, ty.describe()),
                            help: Some(format!("write `{}`", first.name)),
                        });
                        return None;
                    }
                    return Some(Resolved::of(
                        Ref::GroupInput(first.name.clone()),
                        ty.clone(),
                        def(Some(*span), DefKind::Input, &first.name),
                    ));
                }
                if let Some((i, _, ty)) = pcx.params.get_full(first.name.as_str()) {
                    if segs.len() > 1 {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(r.span),
                            at: r.span,
                            expected: "a name without fields".into(),
                            found: format!("the parameter `{}` ({})", first.name, ty.describe()),
                            help: Some(format!("write `{}`", first.name)),
                        });
                        return None;
                    }
                    return Some(Resolved::of(
                        Ref::Param(first.name.clone()),
                        ty.clone(),
                        def(pcx.param_spans.get(i).copied(), DefKind::Param, &first.name),
                    ));
                }
                if let Some(&group) = pcx.group_index.get(first.name.as_str()) {
                    return self.group_reference(r, pcx, group, scope);
                }
                let Some(&target) = pcx.stage_index.get(first.name.as_str()) else {
                    let candidates = pcx
                        .params
                        .keys()
                        .map(Text::as_str)
                        .chain(pcx.stages.iter().map(|s| s.name.as_str()))
                        .chain(pcx.groups.iter().map(|g| g.name.as_str()));
                    self.push(MlpError::UnknownName {
                        src: self.src(first.span),
                        at: first.span,
                        name: first.name.to_string(),
                        help: did_you_mean(&first.name, candidates),
                    });
                    return None;
                };
                let sig = &pcx.stages[target.index()];
                let defs = &pcx.stage_defs[target.index()];
                if segs.len() == 1 {
                    let outputs: Vec<String> = sig
                        .outputs
                        .keys()
                        .map(|o| format!("`{}.{o}`", sig.name))
                        .collect();
                    let help = if outputs.is_empty() {
                        format!(
                            "`{}` has no outputs; to wait for it, add it to `after`",
                            sig.name
                        )
                    } else {
                        format!(
                            "use one of its outputs: {}; or list it in `after` to wait for it",
                            outputs.join(", ")
                        )
                    };
                    self.push(MlpError::StageAsValue {
                        src: self.src(r.span),
                        at: r.span,
                        name: first.name.to_string(),
                        help: Some(help),
                    });
                    return None;
                }
                if current.is_none() {
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(r.span),
                        at: r.span,
                        entry: format!("the stage output `{}`", r.display()),
                        place: "pipeline settings and `defaults`".into(),
                        help: Some("stage outputs can be used inside stages".into()),
                    });
                    return None;
                }
                let Scope::Pipeline { place, .. } = scope else {
                    return None;
                };
                if place.finally != pcx.stage_places[target.index()].finally {
                    self.across_finally(r.span, place.finally, &sig.name, "reads an output of");
                    return None;
                }
                let fan_in = self.fan_in(pcx, place, target);
                let result = if segs[1] == "metrics" && segs.len() == 3 {
                    self.metric_ref(r, sig, target, fan_in.is_some())
                        .map(|(reference, ty)| {
                            let metric = &r.segments[2].name;
                            let at = sig.metrics.iter().position(|m| m == metric);
                            let span = at.and_then(|i| defs.metrics.get(i)).copied();
                            let d = def(span.or(Some(defs.name)), DefKind::Metric, metric);
                            (reference, ty, d)
                        })
                } else if segs.len() == 2 {
                    match sig.outputs.get_full(segs[1]) {
                        Some((i, _, ty)) => {
                            let (span, kind) = defs
                                .outputs
                                .get(i)
                                .copied()
                                .unwrap_or((defs.name, DefKind::Output));
                            Some((
                                Ref::Output {
                                    stage: target,
                                    output: segs[1].into(),
                                    fan_in: fan_in.is_some(),
                                },
                                ty.clone(),
                                def(Some(span), kind, segs[1]),
                            ))
                        }
                        None => {
                            self.unknown_output(r, sig);
                            None
                        }
                    }
                } else {
                    self.unknown_output(r, sig);
                    None
                };
                let (reference, ty, def) = result?;
                let ty = match fan_in {
                    None => ty,
                    // A looping stage's metrics are read per run by one gate
                    // after the loop, which Argo cannot loop with it.
                    Some(_) if sig.for_each && matches!(reference, Ref::Metric { .. }) => {
                        self.push(MlpError::FanInNotSupported {
                            src: self.src(r.span),
                            at: r.span,
                            stage: sig.name.to_string(),
                            reference: r.display(),
                            reason: "the metrics of a `for_each` stage are not collected".into(),
                            help: Some(format!("put `{}` in a loop group (`group NAME {{ for_each = ...  train {} {{ ... }} }}`): each item's run then has its metrics read, and outside the group they are a list", sig.name, sig.name)),
                        });
                        return None;
                    }
                    Some(loops) => {
                        self.collected(r, sig.name.as_str(), ty, loops, pcx.group_template)?
                    }
                };
                Some(Resolved {
                    reference,
                    ty,
                    def,
                    dep: Some(Dep {
                        on: NodeId::Stage(target),
                        kind: DepKind::Data,
                        span: r.span,
                    }),
                })
            }
        }
    }

    /// `${f}` naming nothing in a string is most likely a shell variable:
    /// the unknown-name error just reported says how to write one.
    pub(super) fn shell_variable_help(&mut self, reported_from: usize, r: &ast::Reference) {
        if r.segments.len() != 1 {
            return;
        }
        let name = &r.segments[0].name;
        for d in &mut self.diags.items[reported_from..] {
            if let MlpError::UnknownName { help, .. } = d {
                let shell =
                    format!("for a shell variable, write `\\${{{name}}}` (`\\$` is a literal `$`)");
                *help = Some(match help.take() {
                    Some(h) => format!("{h}; {shell}"),
                    None => shell,
                });
            }
        }
    }

    /// E0227 unless every literal `for_each` item has `key`.
    pub(super) fn item_key(
        &mut self,
        r: &ast::Reference,
        key: &str,
        items: &[Vec<Text>],
    ) -> Option<()> {
        self.item_key_at(r, 1, key, items)
    }

    /// `item_key` for the key written as segment `at` of `r`
    /// (`item.KEY`: 1; `GROUP.item.KEY`: 2).
    pub(super) fn item_key_at(
        &mut self,
        r: &ast::Reference,
        at: usize,
        key: &str,
        items: &[Vec<Text>],
    ) -> Option<()> {
        let missing: Vec<usize> = (0..items.len())
            .filter(|&n| !items[n].iter().any(|k| k == key))
            .collect();
        if missing.is_empty() {
            return Some(());
        }
        let mut known: Vec<&str> = items.iter().flatten().map(Text::as_str).collect();
        known.sort_unstable();
        known.dedup();
        let (reason, help) = if known.is_empty() {
            (
                "the `for_each` items are not maps".to_string(),
                Some(
                    "use `item` for the whole item, or write the items as maps: `{ key = value }`"
                        .to_string(),
                ),
            )
        } else if missing.len() == items.len() {
            (
                "no `for_each` item has this key".to_string(),
                closest(key, known.iter().copied())
                    .map(|c| format!("did you mean `item.{c}`?"))
                    .or_else(|| Some(format!("the items have {}", quoted_list(&known)))),
            )
        } else {
            let numbers: Vec<String> = missing.iter().map(|n| (n + 1).to_string()).collect();
            (
                format!(
                    "item {} of {} has no such key",
                    numbers.join(", "),
                    items.len()
                ),
                Some(
                    "give every item the key: Argo fails the step of an item that lacks it"
                        .to_string(),
                ),
            )
        };
        let span = r.segments.get(at).map_or(r.span, |s| s.span);
        self.push(MlpError::UnknownItemKey {
            src: self.src(span),
            at: span,
            key: key.to_string(),
            reason,
            help,
        });
        None
    }

    pub(super) fn metric_ref(
        &mut self,
        r: &ast::Reference,
        sig: &StageSig,
        target: StageId,
        fan_in: bool,
    ) -> Option<(Ref, Ty)> {
        let metric = &r.segments[2];
        if sig.kind != Some(StageKind::Train) || !sig.tracked {
            let why = if sig.kind == Some(StageKind::Train) {
                format!(
                    "`{}` has `track = false`, so no metrics are recorded",
                    sig.name
                )
            } else {
                format!(
                    "only tracked `train` stages have metrics; `{}` is a `{}` stage",
                    sig.name,
                    sig.kind.map(StageKind::name).unwrap_or("?")
                )
            };
            self.push(MlpError::UnknownOutput {
                src: self.src(r.span),
                at: r.span,
                stage: sig.name.to_string(),
                output: format!("metrics.{}", metric.name),
                help: Some(why),
            });
            return None;
        }
        if !sig.metrics.contains(&metric.name) {
            let help =
                did_you_mean(&metric.name, sig.metrics.iter().map(Text::as_str)).or_else(|| {
                    Some(format!(
                        "add \"{}\" to `metrics` of `{}`",
                        metric.name, sig.name
                    ))
                });
            self.push(MlpError::UndeclaredMetric {
                src: self.src(metric.span),
                at: metric.span,
                stage: sig.name.to_string(),
                metric: metric.name.to_string(),
                help,
            });
            return None;
        }
        Some((
            Ref::Metric {
                stage: target,
                name: metric.name.clone(),
                fan_in,
            },
            Ty::Float,
        ))
    }

    pub(super) fn unknown_output(&mut self, r: &ast::Reference, sig: &StageSig) {
        let wanted = r.segments[1..]
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let help =
            did_you_mean(&r.segments[1].name, sig.outputs.keys().map(Text::as_str)).or_else(|| {
                if sig.kind == Some(StageKind::Train)
                    && !sig.tracked
                    && ["model", "run_id", "metrics"].contains(&r.segments[1].name.as_str())
                {
                    return Some(format!(
                        "`{}` has `track = false`, so it has no MLflow outputs",
                        sig.name
                    ));
                }
                if sig.outputs.is_empty() {
                    Some(format!(
                        "`{}` has no outputs; declare one with `output NAME: TYPE = \"/path\"`",
                        sig.name
                    ))
                } else {
                    Some(format!(
                        "its outputs are {}",
                        sig.outputs
                            .keys()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            });
        let span = r.segments[1].span.to(r.segments[r.segments.len() - 1].span);
        self.push(MlpError::UnknownOutput {
            src: self.src(span),
            at: span,
            stage: sig.name.to_string(),
            output: wanted,
            help,
        });
    }

    /// The loops a reader at `place` is outside of, of those that make
    /// `stage`'s outputs: `None` when it reads them per item (it is in
    /// every one of them, as a member of the same loop is), else how many.
    fn fan_in(&self, pcx: &PipelineCx, place: Place, stage: StageId) -> Option<usize> {
        let holding = pcx.loops_holding(place);
        let crossed = pcx
            .loops_of_stage(stage)
            .into_iter()
            .filter(|l| l.is_none_or(|g| !holding.contains(&g)))
            .count();
        (crossed > 0).then_some(crossed)
    }

    /// The type of an output read from outside `loops` loops that make it
    /// (§9.2): `list[T]` for a value of one loop, a `dir` for an artifact;
    /// E0225 for what cannot be collected. `shared`: the loop is inside a
    /// group template, whose DAG template every use shares.
    fn collected(
        &mut self,
        r: &ast::Reference,
        stage: &str,
        ty: Ty,
        loops: usize,
        shared: bool,
    ) -> Option<Ty> {
        let reason = if loops > 1 {
            Some((
                format!("it is made inside {loops} loops at once"),
                "collect one loop at a time: read it from a stage inside the outer loop, which sees the list of the inner loop's values, and give that stage an output",
            ))
        } else if ty == Ty::ModelUri {
            Some((
                "a model URI is not collected".to_string(),
                "read the loop's `run_id` (a list of MLflow run ids), or let a stage pick the best run and output its `runs:/...` URI",
            ))
        } else if ty.is_artifact() && shared {
            Some((
                "the artifacts of a loop inside a group template are not collected".to_string(),
                "every use of a group template runs one shared DAG template, so the items' artifacts would share one place; collect them in the pipeline (put the loop there), or pass a value output (a path or URI in shared storage)",
            ))
        } else {
            None
        };
        if let Some((reason, help)) = reason {
            self.push(MlpError::FanInNotSupported {
                src: self.src(r.span),
                at: r.span,
                stage: stage.to_string(),
                reference: r.display(),
                reason,
                help: Some(help.into()),
            });
            return None;
        }
        // Every item's artifact, one entry per item index (§9.2).
        if ty.is_artifact() {
            return Some(Ty::Artifact(ArtifactKind::Dir));
        }
        Some(Ty::List(Box::new(ty)))
    }

    /// E0116 for a reference or `after` entry between `finally` and the
    /// main run.
    pub(super) fn across_finally(&mut self, at: Span, from_finally: bool, other: &str, verb: &str) {
        let (reason, help) = if from_finally {
            (
                format!("a `finally` stage {verb} `{other}`, which is outside `finally`"),
                "`finally` runs however the run ended, so `{other}` may have failed or never run; pass what it needs through parameters or `run.*`, or read results from MLflow or storage",
            )
        } else {
            (
                format!("a stage outside `finally` {verb} `{other}`, which is in `finally`"),
                "`finally` runs after every other stage has ended; nothing can wait for it",
            )
        };
        self.push(MlpError::AcrossFinally {
            src: self.src(at),
            at,
            reason,
            help: Some(help.replace("{other}", other)),
        });
    }

    /// `GROUP...`: only `GROUP.item` (and `GROUP.item.KEY`) of a loop
    /// group that holds the reader.
    fn group_reference(
        &mut self,
        r: &ast::Reference,
        pcx: &PipelineCx,
        group: GroupId,
        scope: Scope,
    ) -> Option<Resolved> {
        let segs: Vec<&str> = r.segments.iter().map(|s| s.name.as_str()).collect();
        let sig = &pcx.groups[group.index()];
        let place = match scope {
            Scope::Pipeline { place, .. } => place,
            Scope::Template { .. } => Place::default(),
        };
        match segs.as_slice() {
            [_, "item"] | [_, "item", _] => {
                let holds = pcx.loops_holding(place).contains(&group);
                if !holds {
                    let help = if sig.for_each.is_none() {
                        format!("`{}` has no `for_each`, so it has no item", sig.name)
                    } else {
                        format!("only the stages and groups inside `{}` see its item; outside it, read the loop's outputs (the list of every item's value)", sig.name)
                    };
                    self.push(MlpError::ItemOfOtherLoop {
                        src: self.src(r.span),
                        at: r.span,
                        reference: r.display(),
                        help: Some(help),
                    });
                    return None;
                }
                if let (Some(key), Some(items)) = (segs.get(2), &sig.item_keys) {
                    self.item_key_at(r, 2, key, items)?;
                }
                Some(self.group_item(pcx, group, segs.get(2).copied()))
            }
            [_, output] if sig.outputs.contains_key(*output) => {
                let ty = sig.outputs[*output].clone();
                if place.finally != sig.place.finally {
                    self.across_finally(r.span, place.finally, &sig.name, "reads an output of");
                    return None;
                }
                // The group's own loop, and the loop groups holding it, that
                // do not hold the reader.
                let holding = pcx.loops_holding(place);
                let crossed = sig
                    .for_each
                    .map(|_| group)
                    .into_iter()
                    .chain(pcx.loops_holding(sig.place))
                    .filter(|g| !holding.contains(g))
                    .count();
                let ty = match crossed {
                    0 => ty,
                    // A template's artifacts are made in its shared DAG.
                    n => self.collected(r, &sig.name, ty, n, true)?,
                };
                Some(Resolved {
                    reference: Ref::GroupOutput {
                        group,
                        output: (*output).into(),
                        fan_in: crossed > 0,
                    },
                    ty,
                    dep: Some(Dep {
                        on: NodeId::Group(group),
                        kind: DepKind::Data,
                        span: r.span,
                    }),
                    def: def(Some(sig.name_span), DefKind::Output, output),
                })
            }
            [_] => {
                self.push(MlpError::StageAsValue {
                    src: self.src(r.span),
                    at: r.span,
                    name: sig.name.to_string(),
                    help: Some(format!(
                        "`{}` is a group: read its members' outputs by their own names, or list it in `after` to wait for all of it",
                        sig.name
                    )),
                });
                None
            }
            _ => {
                let span = r.segments[1].span.to(r.segments[r.segments.len() - 1].span);
                let help = if sig.outputs.is_empty() {
                    format!(
                        "`{}` is a group: its members' outputs are read by the members' names (`STAGE.OUTPUT`), and `{}.item` is its loop's item",
                        sig.name, sig.name
                    )
                } else {
                    format!(
                        "`{}` uses a group template, whose outputs are {}",
                        sig.name,
                        sig.outputs
                            .keys()
                            .map(|o| format!("`{}.{o}`", sig.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.push(MlpError::UnknownOutput {
                    src: self.src(span),
                    at: span,
                    stage: sig.name.to_string(),
                    output: segs[1..].join("."),
                    help: Some(help),
                });
                None
            }
        }
    }

    /// The item (or one key of it) of a loop group holding the reader.
    fn group_item(&self, pcx: &PipelineCx, group: GroupId, key: Option<&str>) -> Resolved {
        let sig = &pcx.groups[group.index()];
        Resolved::of(
            Ref::GroupItem {
                group,
                key: key.map(Text::from),
            },
            Ty::Any,
            def(
                sig.for_each.or(Some(sig.name_span)),
                DefKind::Item,
                key.unwrap_or("item"),
            ),
        )
    }
}
