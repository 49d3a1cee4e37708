//! Fields: blocks and maps checked against their schema, and one checker
//! per field type.

use crate::collections::HashMap;

use super::check::{Checker, Item, Node, Scope};
use super::hir::{self, Fields, Spanned, StrPart, Value};
use super::schema::{self, FieldSpec, FieldTy};
use super::text::{plain_text, quoted_list};
use super::types::Ty;
use crate::diag::{closest, did_you_mean, MlpError};
use crate::source::Span;
use crate::syntax::ast::{self, Entry, Expr, ExprKind, Ident};

impl Checker<'_> {
    pub(super) fn unknown_field(&mut self, key: &Ident, place: &str, candidates: &[&str]) {
        // A stage field written on the pipeline: say where it goes.
        let at_pipeline = place.starts_with("pipeline ");
        let stage_field = (at_pipeline && schema::is_stage_field(&key.name)).then(|| {
            let mut help = format!(
                "`{}` is a stage field: set it on a stage, or in `defaults {{ ... }}` to give it to every stage",
                key.name
            );
            if key.name == "volumes" {
                help.push_str("; a volume made for each run is declared as `volume NAME { size = 10Gi }` and mounted with `{ volume = NAME, path = \"/data\" }`");
            }
            help
        });
        let help = stage_field
            .or_else(|| did_you_mean(&key.name, candidates.iter().copied()))
            .or_else(|| {
                (!schema::is_stage_field(&key.name) && candidates.len() <= 12).then(|| {
                    format!(
                        "the fields here are {}",
                        candidates
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            });
        self.push(MlpError::UnknownField {
            src: self.src(key.span),
            at: key.span,
            field: key.name.to_string(),
            context: place.to_string(),
            help,
        });
    }

    /// The entries of a block or a map literal.
    pub(super) fn record_items<'n>(
        &mut self,
        node: Node<'n>,
        place: &str,
    ) -> Option<Vec<Item<'n>>> {
        self.record_entries(node, place, false)
    }

    /// The same, leaving out `sidecar NAME { ... }` blocks (taken apart by
    /// the caller).
    pub(super) fn record_items_except_sidecars<'n>(
        &mut self,
        node: Node<'n>,
        place: &str,
    ) -> Option<Vec<Item<'n>>> {
        self.record_entries(node, place, true)
    }

    fn record_entries<'n>(
        &mut self,
        node: Node<'n>,
        place: &str,
        sidecars: bool,
    ) -> Option<Vec<Item<'n>>> {
        match node {
            Node::Block(body) => {
                let mut items = Vec::new();
                for entry in &body.entries {
                    match entry {
                        Entry::Field(f) => items.push(Item {
                            key: &f.name,
                            node: Node::Expr(&f.value),
                            span: f.span,
                        }),
                        Entry::Block(b) => items.push(Item {
                            key: &b.name,
                            node: Node::Block(&b.body),
                            span: b.span,
                        }),
                        Entry::Stage(s) if sidecars && s.kind.name == "sidecar" => {}
                        other => self.push(MlpError::EntryNotAllowed {
                            src: self.src(other.span()),
                            at: other.span(),
                            entry: other.describe(),
                            place: place.to_string(),
                            help: None,
                        }),
                    }
                }
                Some(items)
            }
            Node::Expr(Expr {
                kind: ExprKind::Map(entries),
                ..
            }) => Some(
                entries
                    .iter()
                    .map(|e| Item {
                        key: &e.key,
                        node: Node::Expr(&e.value),
                        span: e.span,
                    })
                    .collect(),
            ),
            Node::Expr(other) => {
                self.push(MlpError::TypeMismatch {
                    src: self.src(other.span),
                    at: other.span,
                    expected: format!("a block for {place}"),
                    found: other.kind.describe().into(),
                    help: Some("write `NAME { key = value, ... }`".into()),
                });
                None
            }
        }
    }

    /// A block checked against `specs`, as a map value.
    pub(super) fn record(
        &mut self,
        items: &[Item],
        specs: &[FieldSpec],
        scope: Scope,
        place: &str,
        place_span: Span,
    ) -> Fields {
        let mut fields = Fields::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "field") {
                continue;
            }
            match specs.iter().find(|s| s.name == it.key.name) {
                Some(spec) => {
                    if let Some(v) = self.field(spec, *it, scope) {
                        fields.insert(it.key.name.clone(), v);
                    }
                }
                None => {
                    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                    self.unknown_field(it.key, place, &names);
                }
            }
        }
        for spec in specs.iter().filter(|s| s.required) {
            if !seen.contains_key(spec.name) {
                self.push(MlpError::MissingField {
                    src: self.src(place_span),
                    at: place_span,
                    field: spec.name.to_string(),
                    context: place.to_string(),
                    help: Some(format!("add `{} = ...`", spec.name)),
                });
            }
        }
        fields
    }

    // ----- fields --------------------------------------------------------------

    pub(super) fn field(
        &mut self,
        spec: &FieldSpec,
        item: Item,
        scope: Scope,
    ) -> Option<Spanned<Value>> {
        let name = spec.name;
        let span = item.node.span();
        let value = match spec.ty {
            FieldTy::Block(specs) => {
                let sub_place = format!("`{name}`");
                let items = self.record_items(item.node, &sub_place)?;
                Value::Map(Box::new(
                    self.record(&items, specs, scope, &sub_place, item.key.span)
                        .into_iter()
                        .collect(),
                ))
            }
            FieldTy::Retries => match item.node {
                Node::Expr(Expr {
                    kind: ExprKind::Int(_) | ExprKind::Ref(_),
                    ..
                }) => self.int(item, 0, i64::MAX, scope)?,
                // `retries = 2x`: the literal's own error says it all.
                Node::Expr(Expr {
                    kind: ExprKind::Invalid,
                    ..
                }) => return None,
                Node::Expr(
                    e @ Expr {
                        kind:
                            ExprKind::Str(_)
                            | ExprKind::Float(_)
                            | ExprKind::Unit(_)
                            | ExprKind::Bool(_),
                        ..
                    },
                ) => {
                    self.mismatch(
                        e,
                        "a number of retries (`retries = 3`) or a block (`retries { limit = 3, backoff = 30s }`)",
                        None,
                    );
                    return None;
                }
                node => {
                    let items = self.record_items(node, "`retries`")?;
                    Value::Map(Box::new(
                        self.record(&items, schema::RETRIES, scope, "`retries`", item.key.span)
                            .into_iter()
                            .collect(),
                    ))
                }
            },
            FieldTy::Env => self.env(item, scope)?,
            FieldTy::NodeTerms => self.node_terms(item, name)?,
            FieldTy::StrMap(kind) => self.str_map(item, kind, scope)?,
            FieldTy::Params => self.params(item, scope)?,
            _ => {
                let Node::Expr(expr) = item.node else {
                    self.push(MlpError::TypeMismatch {
                        src: self.src(span),
                        at: span,
                        expected: expected_words(spec.ty),
                        found: "a block".into(),
                        help: Some(format!("write `{name} = ...`")),
                    });
                    return None;
                };
                self.expr_field(spec, expr, item, scope)?
            }
        };
        Some(Spanned { value, span })
    }

    pub(super) fn expr_field(
        &mut self,
        spec: &FieldSpec,
        expr: &Expr,
        item: Item,
        scope: Scope,
    ) -> Option<Value> {
        if matches!(expr.kind, ExprKind::Invalid) {
            return None;
        }
        let name = spec.name;
        if spec.fixed && holds_reference(expr) {
            self.compile_time_value(expr.span, name);
            return None;
        }
        match spec.ty {
            FieldTy::Str => self.string_value(expr, scope, name),
            FieldTy::Script => self.script(expr, scope),
            FieldTy::Int { min, max } => self.int(item, min, max, scope),
            FieldTy::Number { min } => {
                let v = match &expr.kind {
                    ExprKind::Int(i) => *i as f64,
                    ExprKind::Float(f) => *f,
                    _ => {
                        return self.typed_ref_or_mismatch(expr, &Ty::Float, scope, "a number");
                    }
                };
                if v < min {
                    self.push(MlpError::InvalidValue {
                        src: self.src(expr.span),
                        at: expr.span,
                        field: name.into(),
                        reason: format!("must be at least {min}"),
                        help: None,
                    });
                    return None;
                }
                Some(Value::Float(v))
            }
            FieldTy::Bool => match &expr.kind {
                ExprKind::Bool(b) => Some(Value::Bool(*b)),
                _ if name == "track" => {
                    self.mismatch(
                        expr,
                        "`true` or `false` (tracking is decided at compile time)",
                        None,
                    );
                    None
                }
                _ => self.typed_ref_or_mismatch(expr, &Ty::Bool, scope, "`true` or `false`"),
            },
            FieldTy::Duration => self.duration(expr, scope, name),
            FieldTy::Quantity => self.quantity(expr, scope, name),
            FieldTy::Args => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, "a list such as `[\"python\", \"train.py\"]`", None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for it in items {
                    // Lists and maps pass as compact JSON text, as Argo
                    // passes such parameters.
                    let Some((v, _)) = self.value_of(it, scope) else {
                        failed = true;
                        continue;
                    };
                    out.push(Spanned {
                        value: v,
                        span: it.span,
                    });
                }
                if failed {
                    return None;
                }
                Some(Value::List(out))
            }
            FieldTy::Names | FieldTy::StrList => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, "a list of strings", None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let mut seen: HashMap<String, Span> = HashMap::default();
                for it in items {
                    let text = match &it.kind {
                        ExprKind::Str(parts) => plain_text(parts),
                        _ => None,
                    };
                    let Some(text) = text else {
                        self.mismatch(it, "a literal string", None);
                        continue;
                    };
                    self.no_argo_braces(&text, it.span);
                    if text.is_empty() {
                        self.invalid(it.span, name, "an empty name", None);
                        continue;
                    }
                    if let Some(first) = seen.get(&text) {
                        self.push(MlpError::Duplicate {
                            src: self.src(it.span),
                            what: if matches!(spec.ty, FieldTy::Names) {
                                "metric"
                            } else {
                                "entry"
                            }
                            .into(),
                            name: text.clone(),
                            again: it.span,
                            first: *first,
                        });
                        continue;
                    }
                    seen.insert(text.clone(), it.span);
                    out.push(Spanned {
                        value: Value::Str(vec![StrPart::Text(text.into())]),
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            FieldTy::After => self.after(expr, scope),
            FieldTy::Cache => match &expr.kind {
                ExprKind::Bool(b) => Some(Value::Bool(*b)),
                // Argo can take the age from a parameter, but whether a
                // template is memoized at all is fixed in the workflow.
                ExprKind::Ref(r) => match self.reference(r, scope)? {
                    (_, Ty::Bool) => {
                        self.compile_time_value(expr.span, "cache = true|false");
                        None
                    }
                    _ => self.duration(expr, scope, name),
                },
                _ => self.duration(expr, scope, name),
            },
            FieldTy::ForEach => self.for_each(expr, scope),
            FieldTy::Records(specs) => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, &format!("a list of maps for `{name}`"), None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let place = format!("an entry of `{name}`");
                for it in items {
                    let Some(entries) = self.record_items(Node::Expr(it), &place) else {
                        continue;
                    };
                    let rec = self.record(&entries, specs, scope, &place, it.span);
                    out.push(Spanned {
                        value: Value::Map(Box::new(rec.into_iter().collect())),
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            FieldTy::Enum(allowed) => {
                let text = match &expr.kind {
                    ExprKind::Str(parts) => plain_text(parts),
                    _ => None,
                };
                let Some(text) = text else {
                    self.mismatch(expr, &format!("one of {}", quoted_list(allowed)), None);
                    return None;
                };
                if !allowed.contains(&text.as_str()) {
                    let help = closest(&text, allowed.iter().copied())
                        .map(|c| format!("did you mean \"{c}\"?"))
                        .or_else(|| Some(format!("use one of {}", quoted_list(allowed))));
                    self.invalid(
                        expr.span,
                        name,
                        &format!(
                            "\"{}\" is not one of {}",
                            text.escape_debug(),
                            quoted_list(allowed)
                        ),
                        help,
                    );
                    return None;
                }
                Some(Value::Str(vec![StrPart::Text(text.into())]))
            }
            FieldTy::RegisterModel => self.register_model(expr, scope),
            FieldTy::DeployModel => self.deploy_model(expr, scope),
            FieldTy::Credentials => {
                let secret = self.secret_call(expr, 1)?;
                Some(secret)
            }
            FieldTy::CaBundle => self.key_call(
                expr,
                2,
                &[hir::KeySource::ConfigMap, hir::KeySource::Secret],
            ),
            FieldTy::Cron => self.cron(expr),
            FieldTy::TrackingUri => self.tracking_uri(expr),
            FieldTy::Path => self
                .path_literal(expr)
                .map(|p| Value::Str(vec![StrPart::Text(p.into())])),
            FieldTy::Volumes => self.volumes(expr, scope),
            FieldTy::VolumeName => self.volume_name(expr),
            FieldTy::ObjectName => self.object_name(expr, name),
            FieldTy::EmptyDir => self.empty_dir(expr, scope),
            FieldTy::EnvFrom => self.env_from(expr),
            FieldTy::Ports => self.ports(expr),
            FieldTy::Sidecars => {
                self.mismatch(
                    expr,
                    "`sidecar NAME { image = ... }` blocks (a sidecar is written as a block, not as a field)",
                    None,
                );
                None
            }
            // Blocks and maps are handled by `field` before this is called.
            FieldTy::Block(_)
            | FieldTy::Retries
            | FieldTy::Env
            | FieldTy::NodeTerms
            | FieldTy::StrMap(_)
            | FieldTy::Params => None,
        }
    }

    /// E0226: a run-time value in a field that must be a literal.
    pub(super) fn compile_time_value(&mut self, span: Span, field: &str) {
        let why = match field {
            "cpu" | "memory" | "gpu" | "ephemeral_storage" => {
                "Kubernetes reads resources when the pod is created and Argo cannot substitute a quantity (argo-workflows#3058); write a literal such as `4`, `500m` or `16Gi`"
            }
            "min_replicas" | "max_replicas" | "canary" | "service" | "namespace" | "format" => {
                "the InferenceService is written at compile time so that no run-time value can change it; write a literal number"
            }
            "cache = true|false" => {
                "whether a step is cached is fixed in the workflow; a parameter may give its age (`cache = DURATION`)"
            }
            _ => "Argo reads this field as a number, where nothing can be substituted at run time; write a literal",
        };
        self.push(MlpError::CompileTimeValue {
            src: self.src(span),
            at: span,
            field: field.to_string(),
            help: Some(why.to_string()),
        });
    }
}

pub(super) fn expected_words(ty: FieldTy) -> String {
    match ty {
        FieldTy::Args => "a list".into(),
        FieldTy::Int { .. } => "an int".into(),
        FieldTy::Duration => "a duration".into(),
        FieldTy::Quantity => "a quantity".into(),
        FieldTy::Bool => "a bool".into(),
        _ => "a value".into(),
    }
}

/// Whether an expression's value is chosen at run time: a parameter, an
/// output or `item`. The run's own namespace (`run.namespace`, where a
/// deploy may put its service) is not anyone's choice.
pub(super) fn holds_reference(expr: &Expr) -> bool {
    let chosen = |r: &ast::Reference| !matches!(r.segments.as_slice(), [a, b] if a.name == "run" && b.name == "namespace");
    match &expr.kind {
        ExprKind::Ref(r) => chosen(r),
        ExprKind::Str(parts) => parts
            .iter()
            .any(|p| matches!(p, ast::StrPart::Interp(r) if chosen(r))),
        _ => false,
    }
}
