//! Scalar fields and the type checks they share: ints, durations,
//! quantities, strings.

use super::check::{Checker, Item, Node, Scope};
use super::hir::{StrPart, Value};
use super::k8s::{is_dns_label, is_dns_subdomain, is_quantity, unpinned};
use super::schema::{self};
use super::text::plain_text;
use super::types::{assignable, Ty};
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind};

impl Checker<'_> {
    pub(super) fn mismatch(&mut self, expr: &Expr, expected: &str, help: Option<String>) {
        if matches!(expr.kind, ExprKind::Invalid) {
            return; // reported when it was read
        }
        self.push(MlpError::TypeMismatch {
            src: self.src(expr.span),
            at: expr.span,
            expected: expected.to_string(),
            found: expr.kind.describe().to_string(),
            help,
        });
    }

    pub(super) fn invalid(&mut self, span: Span, field: &str, reason: &str, help: Option<String>) {
        self.push(MlpError::InvalidValue {
            src: self.src(span),
            at: span,
            field: field.to_string(),
            reason: reason.to_string(),
            help,
        });
    }

    /// A reference whose type must fit `ty`; anything else is a mismatch.
    pub(super) fn typed_ref_or_mismatch(
        &mut self,
        expr: &Expr,
        ty: &Ty,
        scope: Scope,
        words: &str,
    ) -> Option<Value> {
        if let ExprKind::Ref(r) = &expr.kind {
            let (reference, found) = self.reference(r, scope)?;
            return self
                .check_ty(expr.span, &found, ty)
                .then_some(Value::Ref(reference));
        }
        self.mismatch(expr, words, None);
        None
    }

    /// Reports a type mismatch between a found and an expected type.
    pub(super) fn check_ty(&mut self, span: Span, found: &Ty, expected: &Ty) -> bool {
        if assignable(found, expected) {
            return true;
        }
        if found.is_artifact() != expected.is_artifact() {
            let help = if found.is_artifact() {
                Some("an artifact is a file or folder; pass it in `command`, `args`, `env` or `script`, where it becomes the path to it".to_string())
            } else {
                Some("an artifact comes from a stage's `output` of an artifact type (dataset, model, file, dir, artifact)".to_string())
            };
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(span),
                at: span,
                found: found.describe(),
                expected: expected.describe(),
                help,
            });
        } else {
            self.push(MlpError::TypeMismatch {
                src: self.src(span),
                at: span,
                expected: expected.describe(),
                found: found.describe(),
                help: None,
            });
        }
        false
    }

    pub(super) fn int(&mut self, item: Item, min: i64, max: i64, scope: Scope) -> Option<Value> {
        let Node::Expr(expr) = item.node else {
            return None;
        };
        let name = &item.key.name;
        match &expr.kind {
            ExprKind::Int(i) => {
                if *i < min || *i > max {
                    let reason = if max == i64::MAX {
                        format!("{i} is less than {min}")
                    } else {
                        format!("{i} is outside {min}..{max}")
                    };
                    self.invalid(expr.span, name, &reason, None);
                    return None;
                }
                Some(Value::Int(*i))
            }
            ExprKind::Ref(_) => self.typed_ref_or_mismatch(expr, &Ty::Int, scope, "an int"),
            _ => {
                self.mismatch(expr, "an int", None);
                None
            }
        }
    }

    pub(super) fn duration(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let (secs, text) = match &expr.kind {
            ExprKind::Unit(u) => match u.duration_secs {
                Some(s) => (s, u.text.clone()),
                None => {
                    self.push(MlpError::WrongUnit {
                        src: self.src(expr.span),
                        at: expr.span,
                        expected: "duration".into(),
                        found: u.text.to_string(),
                        help: Some(format!(
                            "`{field}` takes a duration such as `30s`, `10m`, `2h` or `1d`"
                        )),
                    });
                    return None;
                }
            },
            ExprKind::Str(parts) => match plain_text(parts)
                .and_then(|t| crate::syntax::parse_duration(&t).map(|s| (s, t.into())))
            {
                Some(found) => found,
                None => {
                    self.mismatch(expr, "a duration such as `30s` or `2h`", None);
                    return None;
                }
            },
            ExprKind::Int(i) => {
                self.push(MlpError::WrongUnit {
                    src: self.src(expr.span),
                    at: expr.span,
                    expected: "duration".into(),
                    found: i.to_string(),
                    help: Some(format!(
                        "add a unit: `{i}s` for seconds, `{i}m` for minutes"
                    )),
                });
                return None;
            }
            ExprKind::Ref(_) => {
                return self.typed_ref_or_mismatch(expr, &Ty::Duration, scope, "a duration")
            }
            _ => {
                self.mismatch(expr, "a duration such as `30s` or `2h`", None);
                return None;
            }
        };
        if secs <= 0.0 {
            self.invalid(expr.span, field, "a duration must be positive", None);
            return None;
        }
        Some(Value::Duration { secs, text })
    }

    pub(super) fn quantity(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let text = match &expr.kind {
            ExprKind::Unit(u) => match &u.quantity {
                Some(q) => q.clone(),
                None => {
                    self.push(MlpError::WrongUnit {
                        src: self.src(expr.span),
                        at: expr.span,
                        expected: "quantity".into(),
                        found: u.text.to_string(),
                        help: Some(format!(
                            "`{field}` takes a quantity such as `500m`, `2`, `64Gi` or `1.5G`"
                        )),
                    });
                    return None;
                }
            },
            ExprKind::Int(i) => i.to_string().into(),
            ExprKind::Float(f) => f.to_string().into(),
            ExprKind::Str(parts) => match plain_text(parts).filter(|t| is_quantity(t)) {
                Some(t) => t,
                None => {
                    self.mismatch(expr, "a quantity such as `500m` or `64Gi`", None);
                    return None;
                }
            }
            .into(),
            ExprKind::Ref(_) => {
                return self.typed_ref_or_mismatch(expr, &Ty::Quantity, scope, "a quantity")
            }
            _ => {
                self.mismatch(expr, "a quantity such as `500m` or `64Gi`", None);
                return None;
            }
        };
        if text.starts_with('-') {
            self.invalid(expr.span, field, "a quantity cannot be negative", None);
            return None;
        }
        Some(Value::Quantity(text))
    }

    pub(super) fn string_value(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let (value, ty) = self.value_of(expr, scope)?;
        if ty.is_artifact() {
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(expr.span),
                at: expr.span,
                found: ty.describe(),
                expected: format!("a string for `{field}`"),
                help: Some("artifacts can be passed in `command`, `args`, `env` and `script`, where they become a path".into()),
            });
            return None;
        }
        if !ty.is_scalar() {
            self.mismatch(expr, "a string", None);
            return None;
        }
        if field == "name" {
            // The MLflow Model Registry refuses these (mlflow.utils.validation).
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    if text.trim().is_empty() || text.contains(['/', ':']) {
                        self.invalid(expr.span, field, "registered model names cannot be empty or contain `/` or `:`", Some("MLflow rejects such names when the version is created; use e.g. \"fraud-detector\"".into()));
                        return None;
                    }
                }
            }
        }
        if field == "service" || field == "namespace" {
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    let dns1035 = field == "service";
                    let ok = is_dns_label(&text)
                        && (!dns1035 || text.starts_with(|c: char| c.is_ascii_lowercase()));
                    if !ok {
                        let what = if dns1035 {
                            "an InferenceService name"
                        } else {
                            "a namespace"
                        };
                        self.invalid(expr.span, field, &format!("\"{}\" is not {what}", text.escape_debug()), Some("use at most 63 lowercase letters, digits and `-`, starting with a letter and ending with a letter or digit".into()));
                        return None;
                    }
                }
            }
        }
        if field == "executor_service_account" || field == "deploy_service_account" {
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    // Argo finds the executor's token in the Secret
                    // `NAME.service-account-token`, itself at most 253 long.
                    if !is_dns_subdomain(&text) || text.len() > 253 - ".service-account-token".len()
                    {
                        self.invalid(expr.span, field, &format!("\"{}\" is not a service account name", text.escape_debug()), Some("use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 231 characters".into()));
                        return None;
                    }
                }
            }
        }
        if field == "image" {
            if let Some(text) = match &value {
                Value::Str(parts) => plain_text(parts),
                _ => None,
            } {
                if let Some(reason) = unpinned(&text) {
                    let name = text
                        .split('@')
                        .next()
                        .unwrap_or(&text)
                        .trim_end_matches(":latest")
                        .to_string();
                    self.push(MlpError::UnpinnedImage {
                        src: self.src(expr.span),
                        at: expr.span,
                        image: text.clone(),
                        name,
                        reason: reason.into(),
                    });
                }
            }
            if let Value::Str(parts) = &value {
                if plain_text(parts)
                    .is_some_and(|t| t.trim().is_empty() || t.chars().any(char::is_whitespace))
                {
                    self.invalid(
                        expr.span,
                        field,
                        "an image reference cannot be empty or contain spaces",
                        Some("write e.g. \"registry.example.com/team/trainer:1.4.2\"".into()),
                    );
                    return None;
                }
            }
        }
        // Code and identity chosen by whoever submits the workflow.
        if matches!(field, "image" | "service_account" | "claim") {
            let chosen_at_run_time = match &value {
                Value::Ref(_) => true,
                Value::Str(parts) => parts.iter().any(|p| matches!(p, StrPart::Ref(_))),
                _ => false,
            };
            if chosen_at_run_time {
                self.push(MlpError::RunTimeIdentity {
                    src: self.src(expr.span),
                    at: expr.span,
                    field: field.to_string(),
                });
            }
        }
        if field == "gpu_type" {
            let text = match &value {
                Value::Str(parts) => plain_text(parts),
                _ => None,
            };
            if let Some(text) = text.filter(|t| schema::gpu_node_label(t).is_none()) {
                let lower = text.to_ascii_lowercase();
                self.push(MlpError::UnknownGpuType {
                    src: self.src(expr.span),
                    at: expr.span,
                    value: text.clone(),
                    help: Some(format!(
                        "write the label your GPU nodes carry: on GKE the accelerator name (e.g. \"nvidia-tesla-{l}\", selected by `cloud.google.com/gke-accelerator`), with NVIDIA GPU Feature Discovery the product name (e.g. \"Tesla-{u}\" or \"NVIDIA-{u}\", selected by `nvidia.com/gpu.product`)",
                        l = lower.trim_start_matches("nvidia-").trim_start_matches("tesla-"),
                        u = text.to_ascii_uppercase().trim_start_matches("NVIDIA-").trim_start_matches("TESLA-"),
                    )),
                });
            }
        }
        Some(value)
    }

    pub(super) fn script(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        if !matches!(expr.kind, ExprKind::Str(_)) {
            self.mismatch(expr, "a string (usually a `\"\"\"` block)", None);
            return None;
        }
        self.value_of(expr, scope).map(|(v, _)| v)
    }
}
