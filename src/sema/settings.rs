//! Pipeline settings with a grammar of their own: `schedule`, `timezone`,
//! the MLflow tracking URI and its credentials.

use super::check::Checker;
use super::cron::validate_cron;
use super::hir::{Fields, Spanned, StrPart, Value};
use super::text::plain_text;
use crate::diag::MlpError;
use crate::syntax::ast::{Expr, ExprKind};

impl Checker<'_> {
    /// W0206: credentials sent over plain http to a host outside the cluster.
    pub(super) fn plain_http_credentials(&mut self, settings: &Fields) {
        let Some(Spanned {
            value: Value::Map(mlflow),
            ..
        }) = settings.get("mlflow")
        else {
            return;
        };
        let Some(uri) = mlflow.get("tracking_uri") else {
            return;
        };
        let Value::Str(parts) = &uri.value else {
            return;
        };
        let Some(text) = plain_text(parts) else {
            return;
        };
        let Some(rest) = text.strip_prefix("http://") else {
            return;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        if mlflow.contains_key("credentials") && !in_cluster_host(host) {
            self.push(MlpError::PlainHttpCredentials {
                src: self.src(uri.span),
                at: uri.span,
                host: host.to_string(),
            });
        }
    }

    pub(super) fn cron(&mut self, expr: &Expr) -> Option<Value> {
        let items: Vec<&Expr> = match &expr.kind {
            ExprKind::List(items) if !items.is_empty() => items.iter().collect(),
            _ => vec![expr],
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let text = match &it.kind {
                ExprKind::Str(parts) => plain_text(parts),
                _ => None,
            };
            let Some(text) = text else {
                self.mismatch(it, "a cron schedule string such as \"0 3 * * *\"", None);
                return None;
            };
            if let Err(reason) = validate_cron(&text) {
                self.push(MlpError::InvalidCron {
                    src: self.src(it.span),
                    at: it.span,
                    reason,
                });
                return None;
            }
            out.push(Spanned {
                value: Value::Str(vec![StrPart::Text(text.into())]),
                span: it.span,
            });
        }
        Some(Value::List(out))
    }

    pub(super) fn tracking_uri(&mut self, expr: &Expr) -> Option<Value> {
        let text = match &expr.kind {
            ExprKind::Str(parts) => plain_text(parts),
            _ => None,
        };
        let Some(text) = text else {
            self.mismatch(
                expr,
                "a literal URL such as \"http://mlflow.mlflow.svc:5000\"",
                None,
            );
            return None;
        };
        let fail = |this: &mut Self, reason: &str, help: Option<&str>| {
            this.push(MlpError::BadTrackingUri {
                src: this.src(expr.span),
                at: expr.span,
                reason: reason.into(),
                help: help.map(str::to_string),
            });
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            fail(
                self,
                "it is not an http(s) URL",
                Some("write e.g. \"http://mlflow.mlflow.svc.cluster.local:5000\""),
            );
            return None;
        };
        if scheme != "http" && scheme != "https" {
            fail(
                self,
                &format!("the scheme `{scheme}` is not http or https"),
                Some("the injected steps talk to the tracking server's REST API over http(s)"),
            );
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            fail(self, "it carries credentials (`user:password@`), which would be written into the workflow in clear text", Some("remove them and add `credentials = secret(\"NAME\")`, a Secret with `username`/`password` or `token` keys"));
            return None;
        }
        if authority.is_empty() || authority.chars().any(|c| c.is_whitespace()) {
            fail(self, "it has no host", None);
            return None;
        }
        Some(Value::Str(vec![StrPart::Text(text.into())]))
    }
}

/// A host a pod reaches inside the cluster: a Service name (`mlflow`,
/// `mlflow.ns`, `mlflow.ns.svc`, `....svc.cluster.local`) or the pod
/// itself. Anything else (a public name, an address) is outside.
pub(super) fn in_cluster_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || host.starts_with("127.")
        || host.ends_with(".svc")
        || host.ends_with(".svc.cluster.local")
        || host.ends_with(".cluster.local")
        || (!host.contains(':')
            && host.split('.').count() <= 2
            && !host.chars().all(|c| c.is_ascii_digit() || c == '.')
            && !host.rsplit('.').next().is_some_and(|tld| {
                ["com", "net", "org", "io", "ai", "dev", "cloud", "app"].contains(&tld)
            }))
}

/// A URL with `user:password@` (or `user@`) before its host.
pub(super) fn url_with_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(i, _)| {
        let rest = &text[i + 3..];
        let authority = rest
            .split(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        authority
            .split_once('@')
            .is_some_and(|(user, host)| user.contains(':') && !user.is_empty() && !host.is_empty())
    })
}

/// The shape of an IANA time zone name (`UTC`, `Europe/Berlin`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+5`): whether the zone exists
/// is the controller's to say, from its time zone database.
pub(super) fn is_time_zone_name(z: &str) -> bool {
    !z.is_empty()
        && z.len() <= 64
        && z.split('/').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
        })
}
