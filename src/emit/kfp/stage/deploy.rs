//! `register` and `deploy` stages on Kubeflow Pipelines: the generated
//! steps Argo runs (register; resolve, apply, wait), as tasks of the
//! stage's DAG. The apply is a program (`scripts/kserve_apply.py`): the IR
//! has no resource template.

use super::tracking::{Block, Program, STEP_OUTPUTS};
use super::{Built, Component, Shared};
use crate::emit::kfp::ir::*;
use crate::emit::kserve;
use crate::emit::mlflow::Step;
use crate::plan::literal::literal_word;
use crate::plan::literal::seconds_text;
use crate::plan::DeployTasks;
use crate::sema::hir::{Ref, RunField, Spanned, Value};
use crate::sema::schema::{self, StageKind};

type Result<T> = std::result::Result<T, Vec<crate::diag::MlpError>>;

/// The pod fields a generated step keeps from its stage.
const STEP_POD_FIELDS: &[&str] = &["labels", "annotations", "tolerations", "node_selector"];

impl Component<'_, '_> {
    /// The stage's pod fields that a generated step keeps.
    fn step_pod(&mut self, pull_secrets: &[String]) {
        let fields: crate::sema::hir::Fields = self
            .plan
            .stage(self.stage)
            .fields
            .iter()
            .filter(|(k, _)| STEP_POD_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.platform_fields(&fields, pull_secrets);
    }

    /// Outputs the step writes to STEP_OUTPUTS, as strings.
    fn step_outputs(&mut self, kind: StageKind) {
        self.literal_env("MLP_OUTPUTS", STEP_OUTPUTS);
        for (name, _) in schema::builtin_outputs(kind, false) {
            self.value_output(
                name,
                ParameterType::String,
                format!("{STEP_OUTPUTS}/{name}"),
            );
        }
    }

    fn field(&self, key: &str) -> Option<Spanned<Value>> {
        self.plan.stage(self.stage).fields.get(key).cloned()
    }
}

/// A `register` stage: one task.
pub(super) fn register(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
) -> Result<Built> {
    let plan = c.plan;
    let stage = plan.pipeline.stage(c.stage);
    c.mlflow_client(block);
    if let Some(v) = c.field("name") {
        c.env_var("MLP_MODEL_NAME", &v);
    }
    // With the stage, names the task across its retries.
    let uid = c.run_value(RunField::Uid);
    c.export("MLP_WORKFLOW_UID", uid);
    c.literal_env("MLP_STAGE", stage.name.to_string());
    match c.field("model") {
        Some(Spanned {
            value:
                Value::Ref(Ref::Output {
                    stage: train,
                    output,
                    ..
                }),
            ..
        }) if output.as_str() == "model" => {
            let run = c
                .read(
                    &Ref::Output {
                        stage: train,
                        output: "run_id".into(),
                        fan_in: false,
                    },
                    None,
                )
                .unwrap_or_default();
            c.export("MLP_RUN_ID", run);
            c.literal_env("MLP_ARTIFACT_PATH", plan.model_path(train));
        }
        Some(other) => c.env_var("MLP_MODEL_SOURCE", &other),
        None => {}
    }
    if let Some(v) = c.field("alias") {
        c.env_var("MLP_ALIAS", &v);
    }
    if let Some(v) = c.field("description") {
        c.env_var("MLP_DESCRIPTION", &v);
    }
    if let Some(Spanned {
        value: Value::Map(tags),
        ..
    }) = c.field("tags")
    {
        c.literal_env("MLP_TAG_COUNT", tags.len().to_string());
        for (i, (k, v)) in tags.iter().enumerate() {
            c.literal_env(&format!("MLP_TAG_KEY_{i}"), k.to_string());
            c.env_var(&format!("MLP_TAG_VALUE_{i}"), v);
        }
    }
    match c.field("await_ready") {
        Some(Spanned {
            value: Value::Duration { secs, .. },
            ..
        }) => c.literal_env("MLP_AWAIT_READY_SECONDS", seconds_text(secs)),
        // A duration parameter holds whole seconds.
        Some(other) => c.env_var("MLP_AWAIT_READY_SECONDS", &other),
        None => {}
    }
    c.step_outputs(StageKind::Register);
    c.step_pod(&shared.pull_secrets);
    first_step(c, block, shared, Step::Register, stage.name.to_string())
}

/// The stage's first generated task (register, resolve): it has the
/// stage's condition and retries; the tasks after it wait for it.
fn first_step(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
    step: Step,
    display: String,
) -> Result<Built> {
    let condition = c.condition();
    let mut built = c.generated(shared, Program::Mlflow(step), &block.image, display);
    built.task.trigger_policy = condition.map(|condition| TriggerPolicy {
        condition: Some(condition),
        strategy: None,
    });
    built.task.retry_policy = c
        .field("retries")
        .and_then(|r| super::retry_policy(&r.value));
    c.done(built)
}

/// The model name a deploy stage reads from its register stage, and the
/// version or URI it deploys.
fn model_source(c: &mut Component<'_, '_>) {
    match c.field("model") {
        Some(Spanned {
            value: Value::Ref(Ref::Output {
                stage: reg, output, ..
            }),
            ..
        }) if output.as_str() == "version" => {
            if let Some(name) = c.plan.stage(reg).fields.get("name").cloned() {
                c.env_var("MLP_MODEL_NAME", &name);
            }
            let v = c
                .read(
                    &Ref::Output {
                        stage: reg,
                        output,
                        fan_in: false,
                    },
                    None,
                )
                .unwrap_or_default();
            c.export("MLP_VERSION", v);
        }
        Some(other) => c.env_var("MLP_MODEL_URI", &other),
        None => {}
    }
}

/// The resolve step of a deploy stage: the version's storage URI.
pub(super) fn resolve(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
) -> Result<Built> {
    let stage = c.plan.pipeline.stage(c.stage);
    c.mlflow_client(block);
    model_source(&mut c);
    if let Some(store) = block.artifact_store {
        c.env_var("MLP_ARTIFACT_STORE", store);
    }
    c.literal_env("MLP_OUTPUTS", STEP_OUTPUTS);
    for name in ["storage_uri", "version"] {
        c.value_output(
            name,
            ParameterType::String,
            format!("{STEP_OUTPUTS}/{name}"),
        );
    }
    c.step_pod(&shared.pull_secrets);
    first_step(
        c,
        block,
        shared,
        Step::Resolve,
        format!("{}-resolve", stage.name),
    )
}

/// A manifest's run-time strings: each is written into the manifest as a
/// marker no `.mlp` text holds (a NUL and its index), then replaced by
/// the JSON pointer where the apply step sets it.
struct RunTimeStrings {
    texts: Vec<String>,
}

impl RunTimeStrings {
    fn text(&mut self, c: &mut Component<'_, '_>, v: &Spanned<Value>) -> String {
        match literal_word(&v.value) {
            Some(t) => t,
            None => {
                let text = c.text(v);
                self.marker(text)
            }
        }
    }

    fn marker(&mut self, text: String) -> String {
        self.texts.push(text);
        format!("\0{}", self.texts.len() - 1)
    }

    /// The manifest without markers, and each marker's pointer and text.
    fn extract(self, manifest: &mut serde_json::Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        walk(manifest, String::new(), &mut |pointer, s: &mut String| {
            if let Some(i) = s.strip_prefix('\0').and_then(|n| n.parse::<usize>().ok()) {
                out.push((pointer.to_string(), self.texts[i].clone()));
                s.clear();
            }
        });
        out.sort();
        out
    }
}

fn walk(v: &mut serde_json::Value, at: String, f: &mut impl FnMut(&str, &mut String)) {
    match v {
        serde_json::Value::String(s) => f(&at, s),
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let key = k.replace('~', "~0").replace('/', "~1");
                walk(x, format!("{at}/{key}"), f);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                walk(x, format!("{at}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// The apply step of a deploy stage: the InferenceService, server-side
/// applied with the run's service account.
pub(super) fn apply(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
    tasks: &DeployTasks,
) -> Result<Built> {
    let plan = c.plan;
    let sp = plan.stage(c.stage);
    let stage = plan.pipeline.stage(c.stage);
    let mut strings = RunTimeStrings { texts: Vec::new() };
    let resolved = |c: &mut Component<'_, '_>, key: &str| {
        c.param_input(
            &format!("{}-{key}", tasks.resolve),
            ParameterSpec::of(ParameterType::String),
            crate::emit::kfp::dag::parameter_input(&crate::emit::kfp::dag::At::Task {
                task: tasks.resolve.clone(),
                key: key.into(),
            }),
        )
    };
    let storage = resolved(&mut c, "storage_uri");
    let version = resolved(&mut c, "version");
    c.deps.insert(tasks.resolve.clone());
    let namespace = c.field("namespace");
    let registered_model = match c.field("model").map(|v| v.value) {
        Some(Value::Ref(Ref::Output { stage: reg, .. })) => {
            plan.stage(reg).fields.get("name").cloned()
        }
        _ => None,
    }
    .map(|name| strings.text(&mut c, &name));
    let uid = c.run_value(RunField::Uid);
    let served = kserve::Served {
        version: strings.marker(version),
        registered_model,
        rollout: strings.marker(format!("{uid}-{}", sp.task)),
        storage_uri: strings.marker(storage),
    };
    let isvc = kserve::inference_service(&sp.fields, served, &mut |v| strings.text(&mut c, v));
    let mut manifest = serde_json::to_value(&isvc).unwrap_or_default();
    let sets = strings.extract(&mut manifest);
    c.literal_env("MLP_MANIFEST", manifest.to_string());
    c.literal_env("MLP_SET_COUNT", sets.len().to_string());
    for (i, (pointer, text)) in sets.into_iter().enumerate() {
        c.literal_env(&format!("MLP_SET_KEY_{i}"), pointer);
        c.export(&format!("MLP_SET_VALUE_{i}"), text);
    }
    namespace_env(&mut c, namespace.as_ref());
    c.literal_env(
        "MLP_TIMEOUT_SECONDS",
        kserve::APPLY_TIMEOUT_SECONDS.to_string(),
    );
    c.step_pod(&shared.pull_secrets);
    let mut built = c.generated(
        shared,
        Program::KserveApply,
        &block.image,
        stage.name.to_string(),
    );
    built.task.retry_policy = c
        .field("retries")
        .and_then(|r| super::retry_policy(&r.value));
    c.done(built)
}

/// `MLP_NAMESPACE`: the stage's `namespace`, or the pod's own.
fn namespace_env(c: &mut Component<'_, '_>, namespace: Option<&Spanned<Value>>) {
    match namespace {
        Some(v) => c.env_var("MLP_NAMESPACE", v),
        None => c.platform.field_path_as_env.push(FieldPathAsEnv {
            field_path: "metadata.namespace".into(),
            name: "MLP_NAMESPACE".into(),
        }),
    }
}

/// The wait step of a deploy stage: this run's rollout serves.
pub(super) fn wait(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
) -> Result<Built> {
    let plan = c.plan;
    let sp = plan.stage(c.stage);
    let stage = plan.pipeline.stage(c.stage);
    let namespace = c.field("namespace");
    namespace_env(&mut c, namespace.as_ref());
    if let Some(v) = c.field("service") {
        c.env_var("MLP_SERVICE", &v);
    }
    let uid = c.run_value(RunField::Uid);
    c.export("MLP_ROLLOUT", format!("{uid}-{}", sp.task));
    match c.field("timeout") {
        Some(Spanned {
            value: Value::Duration { secs, .. },
            ..
        }) => c.literal_env("MLP_TIMEOUT_SECONDS", seconds_text(secs)),
        Some(other) => c.env_var("MLP_TIMEOUT_SECONDS", &other),
        None => c.literal_env("MLP_TIMEOUT_SECONDS", kserve::DEFAULT_WAIT_SECONDS),
    }
    if let Some(Value::Int(n)) = c.field("canary").map(|v| v.value) {
        c.literal_env("MLP_CANARY", n.to_string());
    }
    c.step_outputs(StageKind::Deploy);
    c.step_pod(&shared.pull_secrets);
    let mut built = c.generated(
        shared,
        Program::KserveWait,
        &block.image,
        format!("{}-wait", stage.name),
    );
    // The verdict is final: no retries (API errors are retried inside
    // until the deadline).
    built.task.dependent_tasks = vec![sp.task.clone()];
    c.done(built)
}
