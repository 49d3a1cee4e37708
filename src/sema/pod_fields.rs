//! The pod surface of contract v2 §9.5, field by field: `volumes` entries
//! of every kind, `env_from`, `affinity`, `ports`, Kubernetes object names
//! and a stage's `sidecar NAME { ... }` blocks. What needs the whole
//! pipeline (run volumes by name, mount paths after merging) is in
//! `volumes.rs`.

use crate::collections::{HashMap, IndexMap};

use super::check::{Checker, Item, Node, Scope};
use super::hir::{self, Fields, Spanned, StrPart, Value};
use super::k8s::{is_dns_subdomain, validate_label_value, validate_qualified_name};
use super::schema::{self, VOLUME_KINDS};
use super::text::plain_text;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, Expr, ExprKind};

/// Containers mlpc and Argo put in a pod: a sidecar cannot take their names.
pub const TAKEN_CONTAINER_NAMES: &[&str] =
    &["main", "wait", "init", "mlflow-init", "mlflow-finalize"];

impl Checker<'_> {
    /// `volumes = [{ KIND = ..., path = "/..." }, ...]`: each entry checked
    /// against [`schema::VOLUME`], and of exactly one kind.
    pub(super) fn volumes(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        let ExprKind::List(items) = &expr.kind else {
            self.mismatch(expr, "a list of maps for `volumes`", None);
            return None;
        };
        let place = "an entry of `volumes`";
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let Some(entries) = self.record_items(Node::Expr(it), place) else {
                continue;
            };
            let rec = self.record(&entries, schema::VOLUME, scope, place, it.span);
            if !self.one_volume_kind(&rec, &entries, it.span) || !self.volume_texts(&rec) {
                continue;
            }
            out.push(Spanned {
                value: Value::Map(Box::new(rec.into_iter().collect())),
                span: it.span,
            });
        }
        Some(Value::List(out))
    }

    /// E0233 unless a `volumes` entry has exactly one kind (and `memory`
    /// only with `empty_dir`).
    fn one_volume_kind(&mut self, rec: &Fields, entries: &[Item], span: Span) -> bool {
        let written: Vec<&Item> = entries
            .iter()
            .filter(|i| VOLUME_KINDS.contains(&i.key.name.as_str()))
            .collect();
        let kinds = VOLUME_KINDS
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let (at, reason) = match written.as_slice() {
            [] => (span, format!("it mounts nothing: give it one of {kinds}")),
            [_] if rec.contains_key("memory") && !rec.contains_key("empty_dir") => (
                rec["memory"].span,
                "`memory` is for an `empty_dir` (a tmpfs volume)".to_string(),
            ),
            [_] => return true,
            [first, second, ..] => (
                second.key.span,
                format!(
                    "it is both `{}` and `{}`: one entry mounts one volume",
                    first.key.name, second.key.name
                ),
            ),
        };
        self.push(MlpError::VolumeKind {
            src: self.src(at),
            at,
            reason,
            help: Some(
                "write one entry per volume, e.g. `{ config_map = \"settings\", path = \"/etc/app\" }`"
                    .into(),
            ),
        });
        false
    }

    /// What Kubernetes checks of an entry's texts, where they are literal:
    /// a `claim` is an object name (E0401), a `sub_path` a relative path
    /// that stays inside the volume (E0216).
    fn volume_texts(&mut self, rec: &Fields) -> bool {
        let literal = |k: &str| match rec.get(k) {
            Some(Spanned {
                value: Value::Str(parts),
                span,
            }) => plain_text(parts).map(|t| (t.to_string(), *span)),
            _ => None,
        };
        if let Some((claim, span)) = literal("claim") {
            if !is_dns_subdomain(&claim) {
                self.push(MlpError::InvalidK8sName {
                    src: self.src(span),
                    at: span,
                    name: claim.clone(),
                    lowered: claim,
                    reason: "a PersistentVolumeClaim's name is lowercase letters, digits, `-` and `.`, each part starting and ending with a letter or digit".into(),
                    help: Some("write the claim's name as `kubectl get pvc` shows it".into()),
                });
                return false;
            }
        }
        if let Some((sub, span)) = literal("sub_path") {
            let reason = if sub.starts_with('/') {
                Some("it is absolute; it names a path inside the volume")
            } else if sub.split('/').any(|part| part == "..") {
                Some("it leaves the volume (`..`)")
            } else if sub.is_empty() {
                Some("it is empty; leave `sub_path` out to mount the whole volume")
            } else {
                None
            };
            if let Some(reason) = reason {
                self.invalid(
                    span,
                    "sub_path",
                    reason,
                    Some(
                        "write a relative path inside the volume, e.g. `sub_path = \"shard-1\"`"
                            .into(),
                    ),
                );
                return false;
            }
        }
        true
    }

    /// `volume = NAME` (or `"NAME"`): the run volume's name; the pipeline
    /// checks that it declares it (`volumes.rs`).
    pub(super) fn volume_name(&mut self, expr: &Expr) -> Option<Value> {
        let name = match &expr.kind {
            ExprKind::Ref(r) if r.segments.len() == 1 => Some(r.segments[0].name.to_string()),
            ExprKind::Str(parts) => plain_text(parts),
            _ => None,
        };
        let Some(name) = name else {
            self.mismatch(
                expr,
                "the name of a run volume (`volume NAME { ... }` in the pipeline)",
                None,
            );
            return None;
        };
        Some(Value::Str(vec![StrPart::Text(name.into())]))
    }

    /// A name that lowers to a DNS-1123 label without changing case, so
    /// that no two names written differently become one (`Db` and `db`).
    pub(super) fn lowercase_label(&mut self, name: &ast::Ident) -> Option<String> {
        let errors = self.diags.items.len();
        let lowered = self.dns_label(name, 63);
        if self.errors_since(errors) {
            return None;
        }
        if name.name.chars().any(|c| c.is_ascii_uppercase()) {
            self.push(MlpError::InvalidK8sName {
                src: self.src(name.span),
                at: name.span,
                name: name.name.to_string(),
                lowered,
                reason: "it has uppercase letters: Kubernetes names are lowercase, and two names that differ only in case would become one".into(),
                help: Some("write it in lowercase".into()),
            });
            return None;
        }
        Some(lowered)
    }

    /// A literal name of a Kubernetes object: a DNS-1123 subdomain.
    pub(super) fn object_name(&mut self, expr: &Expr, field: &str) -> Option<Value> {
        let name = self.literal_string(expr, field)?;
        if !is_dns_subdomain(&name) {
            self.push(MlpError::InvalidK8sName {
                src: self.src(expr.span),
                at: expr.span,
                name: name.clone(),
                lowered: name.clone(),
                reason: "Kubernetes object names are lowercase letters, digits, `-` and `.`, at most 253 characters, each part starting and ending with a letter or digit".into(),
                help: Some(format!("`{field}` names an object that exists in the cluster; write its name as `kubectl get` shows it")),
            });
            return None;
        }
        Some(Value::Str(vec![StrPart::Text(name.into())]))
    }

    /// A string written as a literal (a value known to Kubernetes before
    /// any run).
    fn literal_string(&mut self, expr: &Expr, field: &str) -> Option<String> {
        match &expr.kind {
            ExprKind::Str(parts) => match plain_text(parts) {
                Some(t) => Some(t.to_string()),
                None => {
                    self.compile_time_value(expr.span, field);
                    None
                }
            },
            ExprKind::Ref(_) => {
                self.compile_time_value(expr.span, field);
                None
            }
            _ => {
                self.mismatch(expr, "a string", None);
                None
            }
        }
    }

    /// `empty_dir = true` or `empty_dir = SIZE` (its size limit).
    pub(super) fn empty_dir(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        match &expr.kind {
            ExprKind::Bool(true) => Some(Value::Bool(true)),
            ExprKind::Bool(false) => {
                self.invalid(
                    expr.span,
                    "empty_dir",
                    "`false` mounts nothing",
                    Some("remove the entry, or write `true` or a size limit such as `2Gi`".into()),
                );
                None
            }
            ExprKind::Ref(_) => {
                self.compile_time_value(expr.span, "empty_dir");
                None
            }
            _ => self.quantity(expr, scope, "empty_dir"),
        }
    }

    /// `env_from = [config_map("name"), secret("name")]`.
    pub(super) fn env_from(&mut self, expr: &Expr) -> Option<Value> {
        let ExprKind::List(items) = &expr.kind else {
            self.mismatch(
                expr,
                "a list such as `[config_map(\"settings\"), secret(\"tokens\")]`",
                None,
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen: HashMap<(&'static str, String), Span> = HashMap::default();
        for it in items {
            let Some(Value::Secret(s)) =
                self.key_call(it, 1, &[hir::KeySource::ConfigMap, hir::KeySource::Secret])
            else {
                continue;
            };
            let key = (s.source.function(), s.name.to_string());
            if let Some(first) = seen.get(&key) {
                self.push(MlpError::Duplicate {
                    src: self.src(it.span),
                    what: "entry".into(),
                    name: format!("{}(\"{}\")", s.source.function(), s.name),
                    again: it.span,
                    first: *first,
                });
                continue;
            }
            seen.insert(key, it.span);
            out.push(Spanned {
                value: Value::Secret(s),
                span: it.span,
            });
        }
        Some(Value::List(out))
    }

    /// `require`/`prefer` of `affinity`: `{ LABEL = ["value", ...] }`.
    pub(super) fn node_terms(&mut self, item: Item, field: &str) -> Option<Value> {
        let place = format!("`{field}`");
        let items = self.record_items(item.node, &place)?;
        let mut out: IndexMap<ast::Text, Spanned<Value>> = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in &items {
            if !self.first_time(&mut seen, it.key, "label") {
                continue;
            }
            if let Err(reason) = validate_qualified_name(&it.key.name) {
                self.push(MlpError::InvalidMetadata {
                    src: self.src(it.key.span),
                    at: it.key.span,
                    what: "node label".into(),
                    value: it.key.name.to_string(),
                    reason,
                });
                continue;
            }
            let Node::Expr(
                list @ Expr {
                    kind: ExprKind::List(values),
                    ..
                },
            ) = it.node
            else {
                self.mismatch_block(it.span, "a list of label values such as `[\"a100\"]`");
                continue;
            };
            if values.is_empty() {
                self.invalid(
                    list.span,
                    field,
                    "an empty list matches no node",
                    Some("list the label values a node may have".into()),
                );
                continue;
            }
            let mut texts = Vec::with_capacity(values.len());
            for v in values {
                let Some(text) = self.literal_string(v, field) else {
                    continue;
                };
                if let Err(reason) = validate_label_value(&text) {
                    self.push(MlpError::InvalidMetadata {
                        src: self.src(v.span),
                        at: v.span,
                        what: "node label value".into(),
                        value: text,
                        reason,
                    });
                    continue;
                }
                texts.push(Spanned {
                    value: Value::Str(vec![StrPart::Text(text.into())]),
                    span: v.span,
                });
            }
            out.insert(
                it.key.name.clone(),
                Spanned {
                    value: Value::List(texts),
                    span: it.span,
                },
            );
        }
        Some(Value::Map(Box::new(out)))
    }

    /// `ports = [5432, 8080]`: container ports, each once.
    pub(super) fn ports(&mut self, expr: &Expr) -> Option<Value> {
        let ExprKind::List(items) = &expr.kind else {
            self.mismatch(expr, "a list of port numbers such as `[5432]`", None);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen: HashMap<i64, Span> = HashMap::default();
        for it in items {
            let ExprKind::Int(port) = it.kind else {
                self.mismatch(it, "a port number", None);
                continue;
            };
            if !(1..=65535).contains(&port) {
                self.invalid(
                    it.span,
                    "ports",
                    &format!("{port} is outside 1..65535"),
                    None,
                );
                continue;
            }
            if let Some(first) = seen.get(&port) {
                self.push(MlpError::Duplicate {
                    src: self.src(it.span),
                    what: "port".into(),
                    name: port.to_string(),
                    again: it.span,
                    first: *first,
                });
                continue;
            }
            seen.insert(port, it.span);
            out.push(Spanned {
                value: Value::Int(port),
                span: it.span,
            });
        }
        Some(Value::List(out))
    }

    /// A stage's (or template's, or `defaults`') `sidecar NAME { ... }`
    /// blocks, as the `sidecars` field: a map from name to its fields.
    pub(super) fn sidecars(
        &mut self,
        blocks: &[&ast::Stage],
        scope: Scope,
        place: &str,
    ) -> Option<Spanned<Value>> {
        let first = blocks.first()?;
        let mut out: IndexMap<ast::Text, Spanned<Value>> = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let mut span = first.span;
        for s in blocks {
            span = span.to(s.span);
            if let Some(u) = &s.uses {
                self.push(MlpError::EntryNotAllowed {
                    src: self.src(u.span),
                    at: u.span,
                    entry: "`uses` on a sidecar".into(),
                    place: format!("sidecar `{}`", s.name.name),
                    help: Some("write the sidecar's fields in its block".into()),
                });
            }
            if !self.first_time(&mut seen, &s.name, "sidecar") {
                continue;
            }
            if !self.sidecar_name(&s.name) {
                continue;
            }
            let items = self.record_items(Node::Block(&s.body), place)?;
            let sub_place = format!("sidecar `{}`", s.name.name);
            let fields = self.record(&items, schema::SIDECAR, scope, &sub_place, s.name.span);
            out.insert(
                s.name.name.clone(),
                Spanned {
                    value: Value::Map(Box::new(fields.into_iter().collect())),
                    span: s.span,
                },
            );
        }
        Some(Spanned {
            value: Value::Map(Box::new(out)),
            span,
        })
    }

    /// A sidecar's name, lowered as a stage's is, names its container: a
    /// DNS-1123 label (E0401) that no other container of the pod has
    /// (E0236).
    fn sidecar_name(&mut self, name: &ast::Ident) -> bool {
        let Some(lowered) = self.lowercase_label(name) else {
            return false;
        };
        if TAKEN_CONTAINER_NAMES.contains(&lowered.as_str()) {
            self.push(MlpError::ContainerNameTaken {
                src: self.src(name.span),
                at: name.span,
                name: lowered,
                help: Some(format!(
                    "the pod has containers named {} already; choose another name",
                    TAKEN_CONTAINER_NAMES
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
            return false;
        }
        true
    }
}
