//! Distributed training (§9.6): a `train` stage with `distributed { ... }`
//! runs as a Kubeflow Trainer `TrainJob` (or a Training Operator
//! `PyTorchJob`) that an Argo step creates. The job's nodes are pods the
//! training operator makes, not the step's: this module reads the block
//! (one rule for the checker and the plan) and checks what the job can
//! hold (DISTRIBUTED.md §1; the CRDs in ../shared/schemas/kubeflow-trainer).

use super::check::Checker;
use super::effective::effective_fields;
use super::hir::{
    refs_in_value, Fields, NodeId, Pipeline, Ref, RunField, Spanned, Stage, StageId, Value,
};
use super::schema::StageKind;
use super::signature::StageDefs;
use crate::diag::MlpError;
use crate::plan::literal::literal_text;
use crate::source::Span;

/// The runtime a TrainJob names unless the stage says otherwise: a
/// ClusterTrainingRuntime with one replicated job `node` (torchrun).
pub const DEFAULT_RUNTIME: &str = "torch-distributed";

/// Which training API a distributed stage's job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrainingApi {
    /// Kubeflow Trainer v2 (`trainer.kubeflow.org/v1alpha1`).
    TrainJob,
    /// Training Operator 1.9 (`kubeflow.org/v1`).
    PyTorchJob,
}

impl TrainingApi {
    /// The kind of the job's object.
    pub fn kind(self) -> &'static str {
        match self {
            TrainingApi::TrainJob => "TrainJob",
            TrainingApi::PyTorchJob => "PyTorchJob",
        }
    }
}

/// A stage's `distributed` block, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distributed {
    pub api: TrainingApi,
    pub nodes: i64,
    /// The TrainJob's runtime (`None` for a PyTorchJob).
    pub runtime: Option<String>,
}

/// The `distributed` block of a stage's merged fields, if it has one.
pub fn distributed(fields: &Fields) -> Option<Distributed> {
    let Some(Value::Map(block)) = fields.get("distributed").map(|f| &f.value) else {
        return None;
    };
    let get = |k: &str| block.get(k).map(|v| &v.value);
    let api = match get("api").map(literal_text).as_deref() {
        Some("pytorchjob") => TrainingApi::PyTorchJob,
        _ => TrainingApi::TrainJob,
    };
    let nodes = match get("nodes") {
        Some(Value::Int(n)) => *n,
        _ => 1,
    };
    let runtime = match api {
        TrainingApi::TrainJob => Some(
            get("runtime")
                .map(literal_text)
                .unwrap_or_else(|| DEFAULT_RUNTIME.to_string()),
        ),
        TrainingApi::PyTorchJob => None,
    };
    Some(Distributed {
        api,
        nodes,
        runtime,
    })
}

/// The longest TrainJob name JobSet accepts for `nodes` nodes: its longest
/// pod name, `NAME-node-0-<nodes-1>-xxxxx`, must be a DNS-1035 label of at
/// most 63 characters (jobset pkg/webhooks/jobset_webhook.go; DISTRIBUTED.md:
/// 48 for up to 10 nodes, 47 up to 100). A longer name is rejected, and the
/// TrainJob then never gets a condition (kubeflow/trainer#3671): the step
/// would wait until its deadline. A PyTorchJob's pods
/// (`NAME-worker-<i>`) fit in the same bound.
pub fn max_name_len(nodes: u64) -> usize {
    let digits = nodes.saturating_sub(1).to_string().len();
    63 - "-node-0-".len() - digits - "-xxxxx".len()
}

/// The longest `generateName` prefix for `nodes` nodes (the API server
/// adds five characters).
pub fn max_generate_name_len(nodes: u64) -> usize {
    max_name_len(nodes) - 5
}

/// Kubeflow Trainer's runtimes with several replicated jobs: the order of
/// their `status.jobsStatus` is not fixed, so no condition over fixed
/// paths says the job succeeded (DISTRIBUTED.md §1).
fn several_replicated_jobs(runtime: &str) -> bool {
    matches!(runtime, "deepspeed-distributed" | "mlx-distributed")
        || runtime.starts_with("torchtune-")
        // The data-cache overlay (`torch-distributed-with-cache`) adds a
        // `dataset-initializer` before `node`.
        || runtime.ends_with("-with-cache")
}

/// The variables torchrun reads, which the Torch runtime sets on every
/// node: its webhook rejects a TrainJob that sets them (with
/// `numProcPerNode`), or they are overwritten.
pub const TORCHRUN_ENV: &[&str] = &[
    "PET_NNODES",
    "PET_NPROC_PER_NODE",
    "PET_NODE_RANK",
    "PET_MASTER_ADDR",
    "PET_MASTER_PORT",
];

/// Stage fields a job of `api` has no place for, and what to do instead.
fn unmapped(api: TrainingApi) -> &'static [(&'static str, &'static str)] {
    const BOTH: [(&str, &str); 2] = [
        ("sidecars", "a sidecar that never exits keeps a node Running and the job would never complete; run the helper as a stage of its own, or in the training image"),
        ("cache", "Argo memoizes a step's pod, not a training job; remove `cache`"),
    ];
    match api {
        TrainingApi::TrainJob => &[
            ("env_from", "set each variable in `env` (`NAME = secret(\"NAME\", \"KEY\")`), or use `api = \"pytorchjob\"`"),
            ("image_pull_policy", "remove it (the runtime's pull policy applies), or use `api = \"pytorchjob\"`"),
            ("priority_class", "set it in the training runtime, or use `api = \"pytorchjob\"`"),
            BOTH[0],
            BOTH[1],
        ],
        TrainingApi::PyTorchJob => &BOTH,
    }
}

/// Fields whose values reach the nodes.
const NODE_FIELDS: &[&str] = &["image", "command", "args", "script", "env", "params"];

impl Checker<'_> {
    /// Every distributed stage of a pipeline: what its job can hold.
    pub(super) fn distributed_stages(&mut self, pipeline: &Pipeline, defs: &[StageDefs]) {
        for (id, stage) in pipeline.stages_with_ids() {
            if stage.has_errors || stage.kind != StageKind::Train {
                continue;
            }
            // Most stages are not distributed: no merged copy of their fields.
            let template = stage
                .uses
                .as_ref()
                .map(|u| &self.templates[u.template.index()].fields);
            let has = |f: &Fields| f.contains_key("distributed");
            if !has(&stage.fields) && !has(&pipeline.defaults) && !template.is_some_and(has) {
                continue;
            }
            let fields = effective_fields(&self.templates, &pipeline.defaults, stage).into_owned();
            let Some(job) = distributed(&fields) else {
                continue;
            };
            let block = &fields["distributed"];
            let name_span = defs.get(id.index()).map_or(stage.span, |d| d.name);
            self.job_fields(stage, &fields, &job, block);
            self.node_values(pipeline, id, stage, &fields);
            let limit = max_generate_name_len(job.nodes.max(1) as u64) - 1;
            if stage.dns_name.len() > limit {
                self.push(MlpError::TrainingNameTooLong {
                    src: self.src(name_span),
                    at: name_span,
                    name: stage.dns_name.to_string(),
                    nodes: job.nodes,
                    limit,
                });
            }
            if let Some(t) = fields
                .get("timeout")
                .filter(|t| !matches!(t.value, Value::Duration { .. }))
            {
                self.push(MlpError::CompileTimeValue {
                    src: self.src(t.span),
                    at: t.span,
                    field: "timeout".into(),
                    help: Some("a distributed stage's `timeout` is the job's `activeDeadlineSeconds`, a number in the job's manifest where nothing is substituted at run time; write a duration (`timeout = 12h`)".into()),
                });
            }
            if !fields.contains_key("timeout") {
                self.push(MlpError::DistributedWithoutTimeout {
                    src: self.src(name_span),
                    at: name_span,
                    stage: stage.name.to_string(),
                    job_secs: DEFAULT_JOB_SECONDS,
                });
            }
        }
    }

    /// E0237, E0239, E0240: fields and outputs the job has no form for.
    fn job_fields(
        &mut self,
        stage: &Stage,
        fields: &Fields,
        job: &Distributed,
        block: &Spanned<Value>,
    ) {
        let api = job.api.kind();
        for (field, help) in unmapped(job.api) {
            if let Some(v) = fields.get(*field) {
                self.push(MlpError::NotDistributable {
                    src: self.src(v.span),
                    at: v.span,
                    what: format!("`{field}`"),
                    api: api.into(),
                    help: Some((*help).into()),
                });
            }
        }
        let Value::Map(b) = &block.value else { return };
        match (job.api, b.get("runtime")) {
            (TrainingApi::PyTorchJob, Some(r)) => self.push(MlpError::NotDistributable {
                src: self.src(r.span),
                at: r.span,
                what: "`runtime`".into(),
                api: api.into(),
                help: Some("a PyTorchJob has no runtime (Training Operator 1.9 has none); remove `runtime`, or drop `api = \"pytorchjob\"` to run a TrainJob on it".into()),
            }),
            (TrainingApi::TrainJob, Some(r)) if several_replicated_jobs(&literal_text(&r.value)) => {
                self.push(MlpError::UnwaitableRuntime {
                    src: self.src(r.span),
                    at: r.span,
                    runtime: literal_text(&r.value),
                })
            }
            _ => {}
        }
        let template_outputs = stage
            .uses
            .as_ref()
            .map(|u| self.templates[u.template.index()].outputs.clone())
            .unwrap_or_default();
        for o in template_outputs.iter().chain(&stage.outputs) {
            self.push(MlpError::NotDistributable {
                src: self.src(o.span),
                at: o.span,
                what: format!("output `{}`", o.name),
                api: api.into(),
                help: Some("the nodes share no file with the workflow: log the value to MLflow (rank 0) and read `STAGE.metrics.NAME` or `STAGE.model`, or write it to storage and pass its URI".into()),
            });
        }
        if let Some(Value::Map(env)) = fields.get("env").map(|f| &f.value) {
            for (name, v) in env.iter() {
                if TORCHRUN_ENV.contains(&name.as_str()) {
                    self.push(MlpError::ReservedTrainingEnv {
                        src: self.src(v.span),
                        at: v.span,
                        name: name.to_string(),
                    });
                }
            }
        }
    }

    /// E0238: artifacts, `run.pod` and run volumes Argo names, which the
    /// job's nodes cannot receive.
    fn node_values(&mut self, pipeline: &Pipeline, id: StageId, stage: &Stage, fields: &Fields) {
        let mut found: Vec<(Span, String)> = Vec::new();
        for name in NODE_FIELDS {
            if let Some(v) = fields.get(*name) {
                spanned_refs(v, &mut |r, span| {
                    if let Some(what) = self.unreachable(pipeline, id, stage, r) {
                        found.push((span, what));
                    }
                });
            }
        }
        // An artifact input of the stage's template is copied into the
        // step's pod even when no field reads it.
        if let Some(u) = &stage.uses {
            for input in &self.templates[u.template.index()].inputs {
                if input.ty.is_artifact() {
                    let span = u.args.get(&input.name).map_or(input.span, |a| a.span);
                    found.push((span, format!("artifact input `{}`", input.name)));
                }
            }
        }
        if let Some(Value::List(entries)) = fields.get("volumes").map(|f| &f.value) {
            for entry in entries {
                let Value::Map(m) = &entry.value else {
                    continue;
                };
                let Some(v) = m.get("volume") else { continue };
                let name = literal_text(&v.value);
                if pipeline
                    .volumes
                    .iter()
                    .any(|rv| rv.name == name && !rv.keep)
                {
                    found.push((v.span, format!("run volume `{name}` without `keep = true`")));
                }
            }
        }
        found.sort_by_key(|(span, _)| span.start);
        found.dedup();
        for (span, what) in found {
            self.push(MlpError::NodesCannotReceive {
                src: self.src(span),
                at: span,
                what,
                help: Some("pass a location the nodes can read (an `s3://...` URI, a path in a claim every node mounts); a node's identity is `RANK` / `PET_NODE_RANK`; a run volume the nodes mount needs `keep = true`".into()),
            });
        }
    }

    /// What a reference reads that the nodes cannot receive, if it does.
    fn unreachable(
        &self,
        pipeline: &Pipeline,
        id: StageId,
        stage: &Stage,
        r: &Ref,
    ) -> Option<String> {
        let artifact = match r {
            Ref::Run(RunField::Pod) => return Some("`run.pod`".into()),
            Ref::Output {
                stage: from,
                output,
                ..
            } => {
                let producer = pipeline.stage(*from);
                let declared = producer
                    .uses
                    .as_ref()
                    .map(|u| self.templates[u.template.index()].outputs.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .chain(&producer.outputs)
                    .find(|o| o.name == *output);
                declared.is_some_and(|o| o.ty.is_artifact())
            }
            Ref::Input(name) => stage.uses.as_ref().is_some_and(|u| {
                self.templates[u.template.index()]
                    .inputs
                    .iter()
                    .any(|i| i.name == *name && i.ty.is_artifact())
            }),
            Ref::GroupInput(name) => pipeline
                .enclosing(NodeId::Stage(id))
                .into_iter()
                .find_map(|g| pipeline.group(g).uses.as_ref())
                .is_some_and(|u| {
                    self.group_templates[u.template.index()]
                        .inputs
                        .iter()
                        .any(|i| i.name == *name && i.ty.is_artifact())
                }),
            _ => false,
        };
        artifact.then(|| "an artifact (a file Argo copies into a step's pod)".to_string())
    }
}

/// A distributed stage's job deadline without `timeout`, and the step's
/// margin over it (DISTRIBUTED.md: 82800 s and 86400 s).
pub const DEFAULT_JOB_SECONDS: i64 = 82_800;
pub const STEP_MARGIN_SECONDS: i64 = 3_600;

/// Calls `f` on each reference in a value, with the span of the innermost
/// list item or map entry holding it.
fn spanned_refs(v: &Spanned<Value>, f: &mut impl FnMut(&Ref, Span)) {
    match &v.value {
        Value::List(items) => items.iter().for_each(|i| spanned_refs(i, f)),
        Value::Map(m) => m.values().for_each(|i| spanned_refs(i, f)),
        other => refs_in_value(other, &mut |r| f(r, v.span)),
    }
}
