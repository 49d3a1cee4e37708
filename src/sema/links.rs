//! Fields that point at other stages: `after`, `for_each`, and the model
//! a `register` or `deploy` stage takes.

use super::check::{Checker, Scope};
use super::hir::{Dep, DepKind, NodeId, Ref, Spanned, Value};
use super::index::{DefKind, Definition, RefEntry};
use super::schema::StageKind;
use super::text::plain_text;
use super::types::Ty;
use crate::diag::{did_you_mean, MlpError, Src};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind};

impl Checker<'_> {
    pub(super) fn after(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        let ExprKind::List(items) = &expr.kind else {
            self.mismatch(expr, "a list of stage names such as `[prep, train]`", None);
            return None;
        };
        let Scope::Pipeline {
            pcx, deps, place, ..
        } = scope
        else {
            self.push(MlpError::EntryNotAllowed {
                src: self.src(expr.span),
                at: expr.span,
                entry: "the field `after`".into(),
                place: "a template".into(),
                help: Some("set `after` on the stage that uses the template".into()),
            });
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let ExprKind::Ref(r) = &it.kind else {
                self.mismatch(it, "a stage name", None);
                continue;
            };
            let [name] = r.segments.as_slice() else {
                self.mismatch(
                    it,
                    "a stage name (not an output)",
                    Some(format!("write `{}`", r.segments[0].name)),
                );
                continue;
            };
            let found = match pcx.stage_index.get(name.name.as_str()) {
                Some(&s) => Some((NodeId::Stage(s), pcx.stage_defs[s.index()].name)),
                None => pcx
                    .group_index
                    .get(name.name.as_str())
                    .map(|&g| (NodeId::Group(g), pcx.groups[g.index()].name_span)),
            };
            match found {
                Some((target, def_span)) => {
                    self.refs.push(RefEntry {
                        use_span: name.span,
                        def: Definition {
                            span: Some(def_span),
                            kind: DefKind::Stage,
                            name: name.name.clone(),
                        },
                        ty: None,
                    });
                    if pcx.place(target).finally != place.finally {
                        self.across_finally(it.span, place.finally, &name.name, "waits for");
                        continue;
                    }
                    if let Some(deps) = deps {
                        deps.add(Dep {
                            on: target,
                            kind: DepKind::Order,
                            span: it.span,
                        });
                    }
                    out.push(Spanned {
                        value: Value::Node(target),
                        span: it.span,
                    });
                }
                None => {
                    let help = did_you_mean(
                        &name.name,
                        pcx.stages
                            .iter()
                            .map(|s| s.name.as_str())
                            .chain(pcx.groups.iter().map(|g| g.name.as_str())),
                    )
                    .or_else(|| {
                        pcx.params.contains_key(name.name.as_str()).then(|| {
                            format!("`{}` is a parameter; `after` lists stages", name.name)
                        })
                    });
                    self.push(MlpError::UnknownName {
                        src: self.src(name.span),
                        at: name.span,
                        name: name.name.to_string(),
                        help,
                    });
                }
            }
        }
        Some(Value::List(out))
    }

    pub(super) fn for_each(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        match &expr.kind {
            ExprKind::List(items) if items.is_empty() => {
                self.invalid(
                    expr.span,
                    "for_each",
                    "the list is empty, so the stage would never run",
                    None,
                );
                None
            }
            ExprKind::List(_) => self.value_of(expr, scope).map(|(v, _)| v),
            ExprKind::Ref(r) => {
                let (reference, ty) = self.reference(r, scope)?;
                match ty {
                    Ty::List(_) | Ty::String | Ty::Any => Some(Value::Ref(reference)),
                    other => {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(expr.span),
                            at: expr.span,
                            expected: "a list (or a string holding a JSON list)".into(),
                            found: other.describe(),
                            help: None,
                        });
                        None
                    }
                }
            }
            // `range(3)` and friends: E0220 names the function.
            ExprKind::Call(_) => self.value_of(expr, scope).map(|(v, _)| v),
            _ => {
                self.mismatch(expr, "a list or a reference to one", None);
                None
            }
        }
    }

    /// `register`'s `model`: a model URI (`runs:/...`, `s3://...`), a
    /// train stage's `model_uri`, or a string parameter, input or item.
    pub(super) fn register_model(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        self.model_source(
            expr,
            scope,
            |text| text.contains(":/"),
            |reference, ty, _| {
                matches!(
                    (reference, ty),
                    (Ref::Output { .. } | Ref::GroupOutput { .. }, Ty::ModelUri)
                        | (
                            Ref::Param(_)
                                | Ref::Input(_)
                                | Ref::GroupInput(_)
                                | Ref::Output { .. }
                                | Ref::GroupOutput { .. },
                            Ty::String
                        )
                        | (Ref::Item(_) | Ref::GroupItem { .. }, _)
                )
            },
            |src, at, found| MlpError::RegisterModelSource { src, at, found },
        )
    }

    /// `deploy`'s `model`: `models:/NAME/VERSION` or `models:/NAME@ALIAS`, a
    /// register stage's `version` or `model_uri`, or a string parameter,
    /// input or item.
    pub(super) fn deploy_model(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        self.model_source(
            expr,
            scope,
            |text| text.starts_with("models:/"),
            |reference, ty, scope| match (reference, scope) {
                (
                    Ref::Output {
                        stage,
                        output,
                        fan_in: false,
                    },
                    Scope::Pipeline { pcx, .. },
                ) => {
                    pcx.stages[stage.index()].kind == Some(StageKind::Register)
                        && (output == "version" || output == "model_uri")
                }
                (
                    Ref::Param(_)
                    | Ref::Input(_)
                    | Ref::GroupInput(_)
                    | Ref::GroupOutput { fan_in: false, .. },
                    _,
                ) => *ty == Ty::String,
                (Ref::Item(_) | Ref::GroupItem { .. }, _) => true,
                _ => false,
            },
            |src, at, found| MlpError::DeployModelSource { src, at, found },
        )
    }

    /// A stage's `model`: a literal `literal_ok` accepts, or a reference
    /// `reference_ok` accepts; anything else is the error `error` builds.
    fn model_source(
        &mut self,
        expr: &Expr,
        scope: Scope,
        literal_ok: fn(&str) -> bool,
        reference_ok: impl Fn(&Ref, &Ty, &Scope) -> bool,
        error: fn(Src, Span, String) -> MlpError,
    ) -> Option<Value> {
        let found = match &expr.kind {
            ExprKind::Str(parts) => match plain_text(parts) {
                Some(text) if !literal_ok(&text) => {
                    format!("the string \"{}\"", text.escape_debug())
                }
                _ => return self.value_of(expr, scope).map(|(v, _)| v),
            },
            ExprKind::Ref(r) => {
                let (reference, ty) = self.reference(r, scope)?;
                if reference_ok(&reference, &ty, &scope) {
                    return Some(Value::Ref(reference));
                }
                format!("`{}` ({})", r.display(), ty.describe())
            }
            other => other.describe().into(),
        };
        self.push(error(self.src(expr.span), expr.span, found));
        None
    }
}
