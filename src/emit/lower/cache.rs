//! Memoization (`cache`): a key that changes whenever what the step computes
//! could change, and one cache ConfigMap per template.
//!
//! The key is `TEMPLATE-sha256(toJson([DEFINITION, inputs...]))`:
//! - DEFINITION: a hash of the rendered template (image, command, args, env,
//!   resources, injected steps...), fixed at compile time;
//! - every parameter the pod reads, as `inputs.parameters[...]` (workflow
//!   parameters arrive as inputs `mlp-param-NAME`: see `globals_as_inputs`),
//!   joined by `toJson` so that no two lists of values give the same text;
//! - for an artifact the pod reads, the producing stage's key: its definition
//!   and the run-time values it read, and so on up the chain of artifacts.
//!   These arrive as inputs `mlp-key-0` (the definitions, hashed at compile
//!   time) and `mlp-key-1..N` (the values, passed by the task), so one shared
//!   template serves uses whose artifacts come from different producers.
//!
//! Argo expands the key with expr (`util/template/expression_template.go`,
//! `expressionReplace`): an expression that contains both `?` and `:` is
//! read as a ternary, and one that reads a missing name keeps its `{{=...}}`
//! text, which fails Argo's key check (`workflow/controller/cache/cache.go`,
//! `^[a-zA-Z0-9][-a-zA-Z0-9]*$`) and errors the node before its pod runs. So
//! the expression holds only hex text and parameter names that exist.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::LocalObjectReference;
use sha2::{Digest, Sha256};

use super::pod::{Arg, KeyPart, Pod};
use super::task::{value_reads_item, TaskCtx};
use super::Plan;
use crate::emit::argo::{Memoize, MemoizeCache, Template};
use crate::plan::literal::seconds_text;
use crate::sema::hir::{refs_in_cond, refs_in_value};
use crate::sema::hir::{Ref, StageId, Value};

/// The input that carries the producers' definitions; `mlp-key-1..` carry
/// the run-time values they read.
pub(super) const KEY_INPUT: &str = "mlp-key";

pub(super) fn key_input(n: usize) -> String {
    format!("{KEY_INPUT}-{n}")
}

/// The value a use passes for one `mlp-key-N` input.
#[derive(Clone, Default)]
pub(super) struct KeyArg {
    pub(super) value: String,
    /// Whether it is (a key of) the loop's item.
    pub(super) per_item: bool,
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How long an entry serves (`memoize.maxAge`); `None` for `cache = false`.
pub(super) fn max_age(cache: &Value, pod: &mut Pod) -> Option<String> {
    Some(match cache {
        Value::Bool(false) => return None,
        // `cache = true` never expires; Argo requires an age, so ten years.
        Value::Bool(true) => "87600h".to_string(),
        Value::Duration { secs, .. } => format!("{}s", seconds_text(*secs)),
        // A duration parameter holds whole seconds; maxAge needs a unit.
        other => format!("{}s", pod.text(other)),
    })
}

/// Argo v3 expands a memoize key in two passes, the workflow's parameters
/// first and the template's inputs second, each alone
/// (`workflow/common/util.go` `SubstituteParams`): an expression that reads
/// both resolves in neither. So the workflow parameters a cached pod reads
/// reach its key as inputs (`mlp-param-NAME`), passed by the task.
pub(super) fn globals_as_inputs(pod: &mut Pod) {
    let globals: Vec<String> = pod
        .key_parts
        .iter()
        .filter_map(|p| match p {
            KeyPart::Workflow(dns) => Some(dns.clone()),
            KeyPart::Input(_) => None,
        })
        .collect();
    for dns in globals {
        let value = format!("{{{{workflow.parameters.{dns}}}}}");
        pod.key_parts.remove(&KeyPart::Workflow(dns.clone()));
        pod.input_param(format!("mlp-param-{dns}"), Arg::value(value), None);
    }
}

/// `memoize` for a built template whose pod has read every input.
pub(super) fn memoize(template: &Template, max_age: String, pod: &Pod, pipeline: &str) -> Memoize {
    // The executor's account and the pod's token do not change what the
    // step computes (its containers have no token either way): renaming
    // the account, or mlpc starting to set them, keeps the cache.
    let mut identity_free = template.clone();
    identity_free.automount_service_account_token = None;
    identity_free.executor = None;
    let definition = serde_json::to_vec(&identity_free).unwrap_or_default();
    let mut parts = vec![format!(
        "'{}'",
        hex_sha256(&[b"mlpc-cache-v1\n".as_slice(), &definition].concat())
    )];
    parts.extend(pod.key_parts.iter().map(KeyPart::expression));
    Memoize {
        key: format!(
            "{}-{{{{=sprig.sha256sum(toJson([{}]))}}}}",
            template.name,
            parts.join(", ")
        ),
        max_age,
        cache: MemoizeCache {
            // One ConfigMap per template: a busy fan-out fills its own
            // (ConfigMaps hold at most 1 MiB) without breaking the others.
            config_map: LocalObjectReference {
                name: format!("{pipeline}-{}-cache", template.name),
            },
        },
    }
}

/// The stages whose artifacts a stage reads (its own fields, `when` and
/// template arguments).
pub(super) fn artifact_producers(plan: &Plan, stage: StageId) -> BTreeSet<StageId> {
    let mut out = BTreeSet::new();
    each_ref(plan, stage, &mut |r| {
        if let Some(p) = artifact_producer(plan, r) {
            out.insert(p);
        }
    });
    out
}

/// The `mlp-key-N` values for a use whose artifacts come from `producers`:
/// `[hash of the producers' definitions, run-time values they read...]`.
pub(super) fn key_arguments(plan: &Plan, producers: &BTreeSet<StageId>) -> Vec<KeyArg> {
    if producers.is_empty() {
        return Vec::new();
    }
    let mut todo: Vec<StageId> = producers.iter().copied().collect();
    let mut seen: BTreeSet<StageId> = BTreeSet::new();
    let mut definitions = String::from("mlpc-cache-v1\n");
    let mut values: Vec<KeyArg> = Vec::new();
    // Task arguments may name any ancestor's outputs: no new dependency.
    let mut ctx = TaskCtx {
        plan,
        bindings: None,
        deps: BTreeSet::new(),
        lifted: None,
        item_indexed: false,
    };
    while let Some(p) = todo.pop() {
        if !seen.insert(p) {
            continue;
        }
        definitions.push_str(&fingerprint(plan, p));
        definitions.push('\n');
        let stage = plan.pipeline.stage(p);
        ctx.bindings = stage.uses.as_ref().map(|u| &u.args);
        each_ref(plan, p, &mut |r| match r {
            _ if artifact_producer(plan, r).is_some() => {
                todo.extend(artifact_producer(plan, r));
            }
            // The run's identity differs in every run, and template inputs
            // are read through the arguments they are bound to.
            Ref::Run(_) | Ref::Input(_) => {}
            other => {
                let value = Value::Ref(other.clone());
                values.push(KeyArg {
                    value: ctx.text(&value),
                    per_item: value_reads_item(&value),
                })
            }
        });
    }
    values.sort_by(|a, b| a.value.cmp(&b.value));
    values.dedup_by(|a, b| a.value == b.value);
    for v in &values {
        definitions.push_str(&v.value);
        definitions.push('\n');
    }
    let mut out = vec![KeyArg {
        value: hex_sha256(definitions.as_bytes()),
        per_item: false,
    }];
    out.extend(values);
    out
}

/// The stage an artifact reference comes from.
fn artifact_producer(plan: &Plan, r: &Ref) -> Option<StageId> {
    match r {
        Ref::Output { stage, output, .. } => plan
            .stage(*stage)
            .outputs
            .get(output.as_str())
            .filter(|o| o.ty.is_artifact())
            .map(|_| *stage),
        _ => None,
    }
}

/// What a stage computes, as text without source positions: its kind,
/// tracking, effective fields, template, arguments, outputs and condition.
fn fingerprint(plan: &Plan, stage: StageId) -> String {
    let s = plan.pipeline.stage(stage);
    let template = s.uses.as_ref().map(|u| plan.program.template(u.template));
    let mut value = serde_json::json!({
        "kind": s.kind,
        "tracked": s.tracked,
        "fields": &*plan.stage(stage).fields,
        "template": template.map(|t| (&t.fields, &t.inputs, &t.outputs, &t.when)),
        "args": s.uses.as_ref().map(|u| &u.args),
        "outputs": &s.outputs,
        "when": &s.when,
    });
    strip_spans(&mut value);
    value.to_string()
}

fn strip_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("span");
            m.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Every reference in a stage's effective fields, `when` and template
/// arguments.
fn each_ref(plan: &Plan, stage: StageId, f: &mut impl FnMut(&Ref)) {
    let s = plan.pipeline.stage(stage);
    plan.stage(stage)
        .fields
        .values()
        .for_each(|v| refs_in_value(&v.value, f));
    if let Some(w) = &s.when {
        refs_in_cond(&w.value, f);
    }
    if let Some(u) = &s.uses {
        u.args.values().for_each(|v| refs_in_value(&v.value, f));
    }
}
