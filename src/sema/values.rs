//! Value expressions: literals, lists, maps and interpolated strings,
//! with their types.

use crate::collections::{HashMap, IndexMap};

use super::check::{Checker, Scope};
use super::hir::{Spanned, StrPart, Value};
use super::settings::url_with_credentials;
use super::types::Ty;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, Expr, ExprKind};

impl Checker<'_> {
    /// A literal of a declared type (parameter and input defaults).
    pub(super) fn literal_of_type(
        &mut self,
        expr: &Expr,
        ty: &Ty,
        what: &str,
    ) -> Option<Spanned<Value>> {
        if let ExprKind::Ref(_) = expr.kind {
            self.mismatch(
                expr,
                &format!("a literal for {what}"),
                Some(
                    "defaults are fixed values; references are resolved when the stage runs".into(),
                ),
            );
            return None;
        }
        if ty.is_artifact() {
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(expr.span),
                at: expr.span,
                found: expr.kind.describe().into(),
                expected: ty.describe(),
                help: Some(
                    "an artifact input cannot have a default; it is supplied by a stage's output"
                        .into(),
                ),
            });
            return None;
        }
        let no_refs = Scope::Template {
            inputs: &[],
            for_each: false,
        };
        let value = self.assign(expr, ty, no_refs, what)?;
        Some(Spanned {
            value,
            span: expr.span,
        })
    }

    /// A value for a slot of declared type `ty` (template inputs, defaults).
    pub(super) fn assign(
        &mut self,
        expr: &Expr,
        ty: &Ty,
        scope: Scope,
        _what: &str,
    ) -> Option<Value> {
        match (&expr.kind, ty) {
            (ExprKind::Unit(_) | ExprKind::Int(_) | ExprKind::Str(_), Ty::Duration) => {
                self.duration(expr, scope, "duration")
            }
            (ExprKind::Unit(_) | ExprKind::Str(_), Ty::Quantity) => {
                self.quantity(expr, scope, "quantity")
            }
            (ExprKind::List(items), Ty::List(elem)) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(Spanned {
                        value: self.assign(it, elem, scope, _what)?,
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            _ => {
                let (value, found) = self.value_of(expr, scope)?;
                self.check_ty(expr.span, &found, ty).then_some(value)
            }
        }
    }

    /// Any value expression, with its type. References are resolved.
    pub(super) fn value_of(&mut self, expr: &Expr, scope: Scope) -> Option<(Value, Ty)> {
        Some(match &expr.kind {
            ExprKind::Str(parts) => {
                // Every part is checked, so that all its errors are reported.
                let mut out = Vec::with_capacity(parts.len());
                let mut failed = false;
                for p in parts {
                    match p {
                        ast::StrPart::Text(t) => {
                            self.no_argo_braces(t, expr.span);
                            if url_with_credentials(t) {
                                self.push(MlpError::CredentialsInUrl {
                                    src: self.src(expr.span),
                                    at: expr.span,
                                });
                            }
                            out.push(StrPart::Text(t.clone()));
                        }
                        ast::StrPart::Interp(r) => {
                            let before = self.diags.items.len();
                            // A list or map is written as compact JSON.
                            let Some((reference, _)) = self.reference(r, scope) else {
                                self.shell_variable_help(before, r);
                                failed = true;
                                continue;
                            };
                            out.push(StrPart::Ref(reference));
                        }
                    }
                }
                if failed {
                    return None;
                }
                (Value::Str(out), Ty::String)
            }
            ExprKind::Int(i) => (Value::Int(*i), Ty::Int),
            ExprKind::Float(f) => (Value::Float(*f), Ty::Float),
            ExprKind::Bool(b) => (Value::Bool(*b), Ty::Bool),
            ExprKind::Unit(u) => match (&u.quantity, u.duration_secs) {
                (Some(q), _) => (Value::Quantity(q.clone()), Ty::Quantity),
                (None, Some(secs)) => (
                    Value::Duration {
                        secs,
                        text: u.text.clone(),
                    },
                    Ty::Duration,
                ),
                (None, None) => return None,
            },
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut elem: Option<Ty> = None;
                let mut failed = false;
                for it in items {
                    let Some((v, ty)) = self.value_of(it, scope) else {
                        failed = true;
                        continue;
                    };
                    elem = match elem {
                        None => Some(ty),
                        Some(e) if e == ty => Some(e),
                        Some(_) => Some(Ty::Any),
                    };
                    out.push(Spanned {
                        value: v,
                        span: it.span,
                    });
                }
                if failed {
                    return None;
                }
                (
                    Value::List(out),
                    Ty::List(Box::new(elem.unwrap_or(Ty::Any))),
                )
            }
            ExprKind::Map(entries) => {
                let mut out = IndexMap::default();
                let mut seen: HashMap<&str, Span> = HashMap::default();
                let mut failed = false;
                for e in entries {
                    if !self.first_time(&mut seen, &e.key, "map key") {
                        continue;
                    }
                    self.no_argo_braces(&e.key.name, e.key.span);
                    let Some((v, _)) = self.value_of(&e.value, scope) else {
                        failed = true;
                        continue;
                    };
                    out.insert(
                        e.key.name.clone(),
                        Spanned {
                            value: v,
                            span: e.value.span,
                        },
                    );
                }
                if failed {
                    return None;
                }
                out.shrink_to_fit();
                (Value::Map(Box::new(out)), Ty::Map)
            }
            ExprKind::Call(call) => {
                let name = &call.name;
                if name.name == "secret" {
                    self.push(MlpError::BadSecret {
                        src: self.src(expr.span),
                        at: expr.span,
                        function: "secret",
                        reason: "`secret(...)` is only allowed in `env`, `mlflow.credentials` and `mlflow.ca_bundle`".into(),
                        help: Some("read the secret into an environment variable: `env { TOKEN = secret(\"NAME\", \"KEY\") }`".into()),
                    });
                } else if name.name == "config_map" {
                    self.push(MlpError::BadSecret {
                        src: self.src(expr.span),
                        at: expr.span,
                        function: "config_map",
                        reason: "`config_map(...)` is only allowed in `mlflow.ca_bundle`".into(),
                        help: Some("`mlflow { ca_bundle = config_map(\"NAME\", \"KEY\") }` mounts a private CA for the MLflow clients".into()),
                    });
                } else {
                    self.push(MlpError::UnknownFunction {
                        src: self.src(name.span),
                        at: name.span,
                        name: name.name.to_string(),
                    });
                }
                return None;
            }
            ExprKind::Ref(r) => {
                let (reference, ty) = self.reference(r, scope)?;
                (Value::Ref(reference), ty)
            }
            ExprKind::Unary { .. } | ExprKind::Binary { .. } => {
                self.mismatch(
                    expr,
                    "a value",
                    Some("operators are only allowed in `when` conditions".into()),
                );
                return None;
            }
            ExprKind::Invalid => return None,
        })
    }

    pub(super) fn no_argo_braces(&mut self, text: &str, span: Span) {
        if text.contains("{{") {
            self.push(MlpError::ArgoPlaceholder {
                src: self.src(span),
                at: span,
            });
        }
    }
}
