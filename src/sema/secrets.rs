//! `secret(...)` and `config_map(...)`: Kubernetes objects a field reads a key of.

use super::check::Checker;
use super::hir::{self, Value};
use super::k8s::is_dns_subdomain;
use super::text::plain_text;
use crate::diag::MlpError;
use crate::syntax::ast::{Expr, ExprKind};

impl Checker<'_> {
    /// `secret("name", "key")` (`arity` 2) or `secret("name")` (`arity` 1).
    pub(super) fn secret_call(&mut self, expr: &Expr, arity: usize) -> Option<Value> {
        self.key_call(expr, arity, &[hir::KeySource::Secret])
    }

    /// A call naming a Kubernetes object and (with `arity` 2) one of its
    /// keys: `secret(...)` or `config_map(...)`, as `sources` allow.
    pub(super) fn key_call(
        &mut self,
        expr: &Expr,
        arity: usize,
        sources: &[hir::KeySource],
    ) -> Option<Value> {
        let form = |source: hir::KeySource| {
            let f = source.function();
            if arity == 1 {
                format!("`{f}(\"NAME\")`")
            } else {
                format!("`{f}(\"NAME\", \"KEY\")`")
            }
        };
        let ExprKind::Call(call) = &expr.kind else {
            let expected = sources
                .iter()
                .map(|s| form(*s))
                .collect::<Vec<_>>()
                .join(" or ");
            self.mismatch(expr, &expected, None);
            return None;
        };
        let (name, args) = (&call.name, &call.args);
        let Some(source) = sources.iter().copied().find(|s| s.function() == name.name) else {
            self.push(MlpError::UnknownFunction {
                src: self.src(name.span),
                at: name.span,
                name: name.name.to_string(),
            });
            return None;
        };
        let usage = match (source, arity) {
            (hir::KeySource::Secret, 1) => {
                "`credentials = secret(\"NAME\")` names a Secret with `username`/`password` or `token` keys".to_string()
            }
            (source, _) => format!("{} reads one key of a Kubernetes {}", form(source), source.kind()),
        };
        if args.len() != arity {
            self.push(MlpError::BadSecret {
                src: self.src(expr.span),
                at: expr.span,
                function: source.function(),
                reason: format!(
                    "expected {arity} argument{}, found {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
                help: Some(usage),
            });
            return None;
        }
        let mut texts = Vec::new();
        for a in args {
            let text = match &a.kind {
                ExprKind::Str(parts) => plain_text(parts),
                _ => None,
            };
            let Some(text) = text else {
                self.push(MlpError::BadSecret {
                    src: self.src(a.span),
                    at: a.span,
                    function: source.function(),
                    reason: "arguments must be literal strings".into(),
                    help: Some(usage),
                });
                return None;
            };
            texts.push((text, a.span));
        }
        let kind = source.kind();
        let (object_name, name_span) = texts[0].clone();
        if !is_dns_subdomain(&object_name) {
            self.push(MlpError::BadSecret {
                src: self.src(name_span),
                at: name_span,
                function: source.function(),
                reason: format!(
                    "\"{}\" is not a valid {kind} name",
                    object_name.escape_debug()
                ),
                help: Some(format!(
                    "{kind} names are lowercase letters, digits, `-` and `.`"
                )),
            });
            return None;
        }
        let key = texts.get(1).map(|(k, _)| k.clone());
        if let Some((k, span)) = texts.get(1) {
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.push(MlpError::BadSecret {
                    src: self.src(*span),
                    at: *span,
                    function: source.function(),
                    reason: format!("\"{}\" is not a valid {kind} key", k.escape_debug()),
                    help: Some(format!("{kind} keys are letters, digits, `-`, `_` and `.`")),
                });
                return None;
            }
        }
        Some(Value::Secret(Box::new(hir::SecretRef {
            source,
            name: object_name.into(),
            key: key.map(Into::into),
        })))
    }
}
