//! Map-valued fields: `env`, `params`, `labels` and `annotations`.

use crate::collections::{HashMap, IndexMap};

use super::check::{Checker, Item, Node, Scope};
use super::hir::{self, Spanned, Value};
use super::is_identifier;
use super::k8s::{is_env_name, validate_label_value, validate_qualified_name};
use super::schema::{self, MapKind};
use super::text::plain_text;
use super::types::Ty;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::ExprKind;

impl Checker<'_> {
    pub(super) fn env(&mut self, item: Item, scope: Scope) -> Option<Value> {
        let items = self.record_items(item.node, "`env`")?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "environment variable") {
                continue;
            }
            if !is_env_name(&it.key.name) {
                self.invalid(
                    it.key.span,
                    "env",
                    &format!(
                        "`{}` is not a valid environment variable name",
                        it.key.name.escape_debug()
                    ),
                    Some("use letters, digits, `_`, `-` and `.`, not starting with a digit".into()),
                );
                continue;
            }
            if schema::TRACKING_ENV.contains(&it.key.name.as_str())
                || it.key.name.starts_with(schema::PARAM_ENV_PREFIX)
            {
                self.invalid(
                    it.key.span,
                    "env",
                    &format!("`{}` is set by mlpc's MLflow tracking", it.key.name),
                    Some("configure tracking in the pipeline's `mlflow` block".into()),
                );
                continue;
            }
            let Node::Expr(expr) = it.node else {
                self.push(MlpError::TypeMismatch {
                    src: self.src(it.span),
                    at: it.span,
                    expected:
                        "a value, `secret(\"name\", \"key\")` or `config_map(\"name\", \"key\")`"
                            .into(),
                    found: "a block".into(),
                    help: None,
                });
                continue;
            };
            let value = match &expr.kind {
                ExprKind::Call(_) => self.key_call(
                    expr,
                    2,
                    &[hir::KeySource::Secret, hir::KeySource::ConfigMap],
                ),
                // Lists and maps reach the container as compact JSON.
                _ => self.value_of(expr, scope).map(|(v, _)| v),
            };
            if let Some(v) = value {
                out.insert(
                    it.key.name.clone(),
                    Spanned {
                        value: v,
                        span: expr.span,
                    },
                );
            }
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }

    pub(super) fn params(&mut self, item: Item, scope: Scope) -> Option<Value> {
        let items = self.record_items(item.node, "`params`")?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "param") {
                continue;
            }
            let Node::Expr(expr) = it.node else {
                self.mismatch_block(it.span, "a value");
                continue;
            };
            if !is_identifier(&it.key.name) {
                self.invalid(
                    it.key.span,
                    "params",
                    &format!(
                        "`{}` cannot become the environment variable {}<NAME>",
                        it.key.name.escape_debug(),
                        schema::PARAM_ENV_PREFIX
                    ),
                    Some("use letters, digits and `_`".into()),
                );
                continue;
            }
            let Some((v, ty)) = self.value_of(expr, scope) else {
                continue;
            };
            if ty.is_artifact() {
                self.check_ty(expr.span, &ty, &Ty::String);
                continue;
            }
            if !ty.is_scalar() {
                self.mismatch(
                    expr,
                    "a string, number or bool (MLflow params are text)",
                    None,
                );
                continue;
            }
            out.insert(
                it.key.name.clone(),
                Spanned {
                    value: v,
                    span: expr.span,
                },
            );
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }

    pub(super) fn mismatch_block(&mut self, span: Span, expected: &str) {
        self.push(MlpError::TypeMismatch {
            src: self.src(span),
            at: span,
            expected: expected.to_string(),
            found: "a block".into(),
            help: None,
        });
    }

    pub(super) fn str_map(&mut self, item: Item, kind: MapKind, scope: Scope) -> Option<Value> {
        let place = format!("`{}`", item.key.name);
        let items = self.record_items(item.node, &place)?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let what = match kind {
            MapKind::Labels => "label",
            MapKind::Annotations => "annotation",
            MapKind::Plain => "key",
        };
        for it in items {
            if !self.first_time(&mut seen, it.key, what) {
                continue;
            }
            self.no_argo_braces(&it.key.name, it.key.span);
            if kind != MapKind::Plain {
                if let Err(reason) = validate_qualified_name(&it.key.name) {
                    self.push(MlpError::InvalidMetadata {
                        src: self.src(it.key.span),
                        at: it.key.span,
                        what: format!("{what} key"),
                        value: it.key.name.to_string(),
                        reason,
                    });
                    continue;
                }
            }
            let Node::Expr(expr) = it.node else {
                self.mismatch_block(it.span, "a string");
                continue;
            };
            let Some(v) = self.string_value(expr, scope, &it.key.name) else {
                continue;
            };
            if kind == MapKind::Labels {
                if let Value::Str(parts) = &v {
                    if let Some(text) = plain_text(parts) {
                        if let Err(reason) = validate_label_value(&text) {
                            self.push(MlpError::InvalidMetadata {
                                src: self.src(expr.span),
                                at: expr.span,
                                what: "label value".into(),
                                value: text,
                                reason,
                            });
                            continue;
                        }
                    }
                }
            }
            out.insert(
                it.key.name.clone(),
                Spanned {
                    value: v,
                    span: expr.span,
                },
            );
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }
}
