//! Stage 4a: HIR -> plan, the target-neutral shape of one pipeline's run.
//!
//! The plan says *what* runs and in which order, in terms any workflow
//! engine has (tasks, dependencies, inputs, loops), and leaves *how* to a
//! backend: `emit` renders it as Argo Workflows; a Kubeflow Pipelines
//! backend would read the same plan. It is computed once per pipeline by
//! [`plan`], a pure function of the checked program, and holds no text in
//! any target's syntax.
//!
//! What it holds, per stage ([`StagePlan`]):
//! - **tasks**: the stage's own task (unique DNS-1123 name) and its helper
//!   tasks: a metric gate after a tracked `train` stage whose metrics are
//!   read ([`Gate`]), and for a `deploy` stage the resolve, apply (the
//!   stage's own task) and wait steps ([`DeployTasks`]); the workflow's
//!   clean-up (exit handler) when any stage is tracked ([`Plan::cleanup`]);
//! - **dependencies**: the stage graph ([`crate::graph::PipelineGraph`]),
//!   data (`Data`) and order (`after`) edges as sema recorded them, and which
//!   task a dependency on a stage waits for ([`Plan::done_task`]);
//! - **skip propagation**: whether the stage's tasks may end Skipped or
//!   Omitted (its own or its template's `when`, a fan-out, or such a stage
//!   upstream) ([`StagePlan::may_skip`]);
//! - **inputs**: each reference as a typed [`Binding`] (literal, workflow
//!   parameter, task output, metric, loop item, run field), never as text;
//! - **MLflow**: which generated steps the stage gets ([`MlflowStep`]) and
//!   the steps the workflow needs at all ([`Plan::mlflow_steps`]);
//! - **loops, retries, cache**: whether the stage fans out and with which
//!   limit ([`FanOut`]), whether it is retried and cached;
//! - **template sharing**: whether the stage calls one template shared by
//!   every plain use of its HIR template ([`TemplateChoice`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::collections::{HashSet, IndexMap};
use crate::graph::PipelineGraph;
pub use crate::sema::distributed::{Distributed, TrainingApi};
use crate::sema::effective::effective_fields;
use crate::sema::hir::{
    refs_in_cond, refs_in_value, DepKind, Fields, GroupId, GroupOutput, NodeId, Pipeline, Program,
    Ref, RunField, Spanned, Stage, StageId, TemplateId, Value,
};
use crate::sema::schema::{self, StageKind};
use crate::sema::types::Ty;

mod fan_in;
pub mod literal;

pub use fan_in::index_loops;
use fan_in::{indexed_loops, reads_collected_artifact, split_artifacts};

/// A step of the MLflow program: what one generated container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MlflowStep {
    /// Before a tracked stage's container: starts the run, logs `params`.
    Init,
    /// Beside a tracked stage's container: ends the run with its status.
    Finalize,
    /// The workflow's exit handler: ends runs a failed workflow left open.
    Cleanup,
    /// The metric gate: reads a finished run's metrics.
    Metrics,
    /// A `register` stage.
    Register,
    /// The first step of a `deploy` stage: the version's storage URI.
    Resolve,
    /// What `Finalize` is where a pod has no sidecar (Kubeflow Pipelines):
    /// a task run after the stage's task ends its run by the task's final
    /// status. The plan never asks for it; the KFP backend does.
    End,
    /// After a distributed stage's training job: ends the run FINISHED or
    /// FAILED by the job step's phase, and fails when the job did.
    JobEnd,
    /// `monitor`: reads a finished run's declared metrics for Prometheus;
    /// never fails.
    Report,
}

/// Fields that shape the task, not the pod: a stage that uses a template
/// and sets only these still shares the template.
pub const TASK_FIELDS: &[&str] = &["after", "for_each", "parallelism"];

/// The plan of one pipeline.
pub struct Plan<'p> {
    pub program: &'p Program,
    pub pipeline: &'p Pipeline,
    /// The dependency graph, built once.
    pub graph: PipelineGraph,
    /// One per stage, in source order ([`Plan::stage`] finds one by id).
    pub stages: Vec<StagePlan<'p>>,
    /// Every task that may end Skipped or Omitted (a stage's and its
    /// helpers'), by name.
    pub skippable: HashSet<String>,
    /// The MLflow steps some task of the workflow runs.
    pub mlflow_steps: BTreeSet<MlflowStep>,
    /// Whether the workflow needs the MLflow clean-up exit handler: the
    /// pipeline has an `mlflow` block and a tracked stage.
    pub cleanup: bool,
    /// Whether a `deploy` stage waits for its rollout (the wait program).
    pub deploy_wait: bool,
    /// One per group, in source order.
    pub groups: Vec<GroupPlan>,
    /// Per node (indexed as [`PipelineGraph::index`]): the siblings it
    /// waits for through `after`, lifted as the graph lifts them.
    pub order_waits: Vec<Vec<NodeId>>,
    /// The MLflow clean-up's task in `finally`'s DAG.
    pub cleanup_task: String,
    /// Per kept run volume (`keep = true`), by index in
    /// `Pipeline::volumes`: the task of the main DAG that makes its claim
    /// before anything else runs.
    pub volume_tasks: Vec<(usize, String)>,
    /// Outputs read from outside a loop that makes them (fan-in), by
    /// stage, sorted.
    pub collected: BTreeMap<StageId, BTreeSet<String>>,
    /// The same for groups that use a template (their declared outputs).
    pub collected_groups: BTreeMap<GroupId, BTreeSet<String>>,
    /// Artifact outputs read from outside the loop that makes them: each
    /// item writes its artifact under one per-run prefix, keyed by its
    /// index, and readers read the prefix as a directory (§9.2).
    pub collected_artifacts: BTreeMap<StageId, BTreeSet<String>>,
    /// The loops (a `for_each` stage or a loop group) whose items carry
    /// their index, because an artifact made inside is collected; with the
    /// keys of the item that are read inside.
    pub indexed: BTreeMap<NodeId, BTreeSet<String>>,
    /// The training APIs the run's distributed stages create jobs of.
    pub training_apis: BTreeSet<TrainingApi>,
    /// The pipeline's `monitor`: metrics of the whole run.
    pub monitored: bool,
    /// The exit handler's task that deletes the run's training jobs (a
    /// stopped step leaves its job running), when there are any.
    pub training_cleanup_task: Option<String>,
}

/// What the plan decides for one group: the task that runs its DAG in its
/// parent's DAG.
pub struct GroupPlan {
    pub task: String,
    /// Whether the task may end Skipped or Omitted.
    pub may_skip: bool,
    /// `for_each` (and `parallelism`), if it loops.
    pub fan_out: Option<FanOut>,
}

/// A DAG of the run: the main one, `finally`'s, or a group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DagId {
    Main,
    Finally,
    Group(GroupId),
}

/// What the plan decides for one stage.
pub struct StagePlan<'p> {
    /// The stage's own task (a deploy stage's: the apply step).
    pub task: String,
    pub kind: StageKind,
    /// The metric gate after a tracked train stage whose metrics are read.
    pub gate: Option<Gate>,
    /// The helper tasks of a deploy stage.
    pub deploy: Option<DeployTasks>,
    /// Whether its tasks may end Skipped or Omitted.
    pub may_skip: bool,
    /// Its fields merged: defaults < template < stage (borrowed when the
    /// stage's own are all there is, as they mostly are).
    pub fields: Cow<'p, Fields>,
    /// Every output (declared, template's and built-in) and its type.
    pub outputs: IndexMap<String, OutputInfo>,
    /// Own pod template, or the one shared by its HIR template's plain uses.
    pub template: TemplateChoice,
    /// `for_each` (and `parallelism`), if it fans out.
    pub fan_out: Option<FanOut>,
    /// The MLflow steps this stage's tasks run, in the order they run.
    pub mlflow_steps: Vec<MlflowStep>,
    /// Whether `retries` is set.
    pub retried: bool,
    /// Whether `cache` is set (to anything; `false` disables memoization).
    pub cache: bool,
    /// `monitor`: Prometheus metrics of the stage (§9.7).
    pub monitored: bool,
    /// The step reporting a monitored tracked train stage's metrics.
    pub report: Option<Report>,
    /// A `train` stage's `distributed` block: the stage is a training job
    /// created by a step, not a pod of the workflow (§9.6).
    pub distributed: Option<Distributed>,
}

/// The metric gate after a tracked train stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub task: String,
    /// The metrics other stages read, sorted.
    pub metrics: BTreeSet<String>,
}

/// `monitor` on a tracked train stage with declared metrics: a step after
/// it reads every declared metric from MLflow for Prometheus. It never
/// fails the run (a metric the run lacks is not reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub task: String,
    /// The declared metrics, sorted.
    pub metrics: BTreeSet<String>,
}

/// The tasks of a deploy stage besides its own (the apply step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployTasks {
    /// Resolves the model version to a storage URI.
    pub resolve: String,
    /// Waits for the rollout: the stage is done (and its `url` known) when
    /// this task is.
    pub wait: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateChoice {
    /// A template of the stage's own.
    Own,
    /// The template shared by every plain use of this HIR template.
    Shared(TemplateId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    /// At most this many items at once.
    pub parallelism: Option<i64>,
    /// The items are the value of a reference (run-time), not a list.
    pub from_reference: bool,
}

#[derive(Debug, Clone)]
pub struct OutputInfo {
    pub ty: Ty,
    /// Where the producing container writes it (declared outputs only).
    pub path: Option<String>,
}

/// What a reference reads, typed: a backend renders each kind its way.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// A pipeline parameter, by its DNS-1123 name.
    Param { dns: String, ty: Ty },
    /// An input of the template being instantiated.
    Input(String),
    /// An output of another stage's done task; `fan_in`: read outside a
    /// loop that makes it, the list of every item's value.
    Output {
        task: String,
        output: String,
        read: OutputRead,
        fan_in: bool,
    },
    /// A metric, from the producing stage's gate (`fan_in` as for outputs).
    Metric {
        gate: String,
        name: String,
        fan_in: bool,
    },
    /// The current loop item, or one key of it.
    Item(Option<String>),
    /// The item of an enclosing loop group, or one key of it.
    GroupItem { group: GroupId, key: Option<String> },
    /// An input of the group template whose copy holds the reader.
    GroupInput(String),
    /// A declared output of a group that uses a template, read from the
    /// task that runs it.
    GroupOutput {
        task: String,
        output: String,
        fan_in: bool,
    },
    /// A field of the run.
    Run(RunField),
}

/// How an output is passed on.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputRead {
    /// A small value (parameter).
    Value(Ty),
    /// A file (artifact); `file` is its name in the consumer's input dir.
    Artifact { file: String },
    /// `runs:/RUN_ID/MODEL_PATH`: the run id is the output read.
    ModelUri { model_path: String },
}

/// Unique names in one namespace (tasks, templates), first come first served.
#[derive(Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    pub fn fresh(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        name
    }
}

/// The plan of one pipeline of a checked program.
pub fn plan<'p>(program: &'p Program, pipeline: &'p Pipeline) -> Plan<'p> {
    let stages = &pipeline.stages;
    let graph = pipeline.graph.clone();
    let mut tasks = Names::default();
    let task_of: Vec<String> = stages.iter().map(|s| tasks.fresh(&s.dns_name)).collect();
    let mut gate_metrics: BTreeMap<StageId, BTreeSet<String>> = BTreeMap::new();
    let mut collected: BTreeMap<StageId, BTreeSet<String>> = BTreeMap::new();
    let mut collected_groups: BTreeMap<GroupId, BTreeSet<String>> = BTreeMap::new();
    let mut note = |r: &Ref| match r {
        Ref::GroupOutput {
            group,
            output,
            fan_in: true,
        } => {
            collected_groups
                .entry(*group)
                .or_default()
                .insert(output.to_string());
        }
        Ref::Metric { stage, name, .. } => {
            gate_metrics
                .entry(*stage)
                .or_default()
                .insert(name.to_string());
        }
        Ref::Output {
            stage,
            output,
            fan_in: true,
        } => {
            collected
                .entry(*stage)
                .or_default()
                .insert(output.to_string());
        }
        _ => {}
    };
    for s in stages {
        visit_refs(s, &mut note);
    }
    for g in &pipeline.groups {
        if let Some(w) = &g.when {
            refs_in_cond(&w.value, &mut note);
        }
        if let Some(f) = &g.for_each {
            refs_in_value(&f.value, &mut note);
        }
        // A group template's outputs read their members (in every copy;
        // the first is lowered): a metric needs its gate, a loop's output
        // its fan-in.
        if let Some(u) = &g.uses {
            u.args
                .values()
                .for_each(|v| refs_in_value(&v.value, &mut note));
            u.outputs.iter().for_each(|o| note(&o.source));
        }
    }
    let monitor_run = matches!(
        pipeline.settings.get("monitor").map(|m| &m.value),
        Some(Value::Bool(true))
    );
    let monitored: Vec<bool> = stages
        .iter()
        .map(|s| {
            match effective_fields(&program.templates, &pipeline.defaults, s)
                .get("monitor")
                .map(|m| &m.value)
            {
                Some(Value::Bool(b)) => *b,
                _ => monitor_run,
            }
        })
        .collect();
    let mut gates: Vec<Option<Gate>> = vec![None; stages.len()];
    for (stage, metrics) in gate_metrics {
        let task = tasks.fresh(&format!("{}-metrics", task_of[stage.index()]));
        gates[stage.index()] = Some(Gate { task, metrics });
    }
    let tracking_block = matches!(
        pipeline.settings.get("mlflow").map(|m| &m.value),
        Some(Value::Map(_))
    );
    let mut reports: Vec<Option<Report>> = vec![None; stages.len()];
    for (id, s) in pipeline.stages_with_ids() {
        if !(monitored[id.index()] && s.tracked && tracking_block && s.kind == StageKind::Train) {
            continue;
        }
        let fields = effective_fields(&program.templates, &pipeline.defaults, s);
        // A stage's own loop has one task for all its items' runs.
        if fields.contains_key("for_each") {
            continue;
        }
        let metrics: BTreeSet<String> = match fields.get("metrics").map(|m| &m.value) {
            Some(Value::List(items)) => items
                .iter()
                .map(|i| literal::literal_text(&i.value))
                .collect(),
            _ => BTreeSet::new(),
        };
        if !metrics.is_empty() {
            let task = tasks.fresh(&format!("{}-report", task_of[id.index()]));
            reports[id.index()] = Some(Report { task, metrics });
        }
    }
    // Names are handed out in this order (all resolvers, then all waits),
    // so that a stage's name never depends on a later stage's helpers.
    let is_deploy = |i: usize| stages[i].kind == StageKind::Deploy;
    let resolvers: Vec<Option<String>> = (0..stages.len())
        .map(|i| is_deploy(i).then(|| tasks.fresh(&format!("{}-resolve", task_of[i]))))
        .collect();
    let waits: Vec<Option<String>> = (0..stages.len())
        .map(|i| is_deploy(i).then(|| tasks.fresh(&format!("{}-wait", task_of[i]))))
        .collect();
    let group_tasks: Vec<String> = pipeline
        .groups
        .iter()
        .map(|g| tasks.fresh(&g.dns_name))
        .collect();
    let cleanup_task = tasks.fresh("mlflow-cleanup");
    let volume_tasks: Vec<(usize, String)> = pipeline
        .volumes
        .iter()
        .enumerate()
        .filter(|(_, v)| v.keep)
        .map(|(i, v)| (i, tasks.fresh(&format!("{}-volume", v.dns_name))))
        .collect();
    let own_skip = pipeline
        .stages_with_ids()
        .filter(|(_, s)| {
            let template = s.uses.as_ref().map(|u| program.template(u.template));
            s.when.is_some()
                || template.is_some_and(|t| t.when.is_some() || t.fields.contains_key("for_each"))
                || s.fields.contains_key("for_each")
        })
        .map(|(id, _)| NodeId::Stage(id));
    // A group's task is skipped by its `when`, or by a loop over no items.
    let own_group_skip = pipeline
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.when.is_some() || g.for_each.is_some())
        .map(|(i, _)| NodeId::Group(GroupId::new(i)));
    // Downstream of such a node is every sibling that waits for it.
    let may_skip = graph.downstream_of(own_skip.chain(own_group_skip));
    let tracking = matches!(
        pipeline.settings.get("mlflow"),
        Some(Spanned {
            value: Value::Map(_),
            ..
        })
    );
    let mut out = Vec::with_capacity(stages.len());
    let mut waits = waits.into_iter();
    let mut resolvers = resolvers.into_iter();
    let mut gates = gates.into_iter();
    for (i, s) in stages.iter().enumerate() {
        let fields = effective_fields(&program.templates, &pipeline.defaults, s);
        let deploy = match (resolvers.next().flatten(), waits.next().flatten()) {
            (Some(resolve), Some(wait)) => Some(DeployTasks { resolve, wait }),
            _ => None,
        };
        let gate = gates.next().flatten();
        let fan_out = match fields.get("for_each").map(|f| &f.value) {
            Some(v @ (Value::List(_) | Value::Ref(_))) => Some(FanOut {
                parallelism: match fields.get("parallelism").map(|f| &f.value) {
                    Some(Value::Int(n)) => Some(*n),
                    _ => None,
                },
                from_reference: matches!(v, Value::Ref(_)),
            }),
            _ => None,
        };
        let distributed = match s.kind {
            StageKind::Train => crate::sema::distributed::distributed(&fields),
            _ => None,
        };
        let mut mlflow_steps = Vec::new();
        match s.kind {
            StageKind::Register => mlflow_steps.push(MlflowStep::Register),
            StageKind::Deploy => mlflow_steps.push(MlflowStep::Resolve),
            // The nodes are not the step's pod: a step before the job
            // creates the run, one after it ends the run.
            _ if s.tracked && tracking && distributed.is_some() => {
                mlflow_steps.extend([MlflowStep::Init, MlflowStep::JobEnd])
            }
            _ if s.tracked && tracking => {
                mlflow_steps.extend([MlflowStep::Init, MlflowStep::Finalize])
            }
            _ => {}
        }
        if gate.is_some() {
            mlflow_steps.push(MlflowStep::Metrics);
        }
        out.push(StagePlan {
            task: task_of[i].clone(),
            kind: s.kind,
            gate,
            deploy,
            may_skip: may_skip[i],
            retried: fields.contains_key("retries"),
            cache: fields.contains_key("cache"),
            monitored: monitored[i],
            report: reports[i].take(),
            outputs: stage_outputs(program, s),
            // A monitored stage's metrics name it: a template of its own.
            template: match &s.uses {
                Some(u) if shares_template(s) && distributed.is_none() && !monitored[i] => {
                    TemplateChoice::Shared(u.template)
                }
                _ => TemplateChoice::Own,
            },
            fan_out,
            mlflow_steps,
            fields,
            distributed,
        });
    }
    let groups: Vec<GroupPlan> = pipeline
        .groups
        .iter()
        .zip(group_tasks)
        .enumerate()
        .map(|(i, (g, task))| GroupPlan {
            task,
            may_skip: may_skip[graph.index(NodeId::Group(GroupId::new(i)))],
            fan_out: g.for_each.as_ref().map(|f| FanOut {
                parallelism: g.parallelism.as_ref().map(|p| p.value),
                from_reference: matches!(f.value, Value::Ref(_)),
            }),
        })
        .collect();
    let order_waits = order_waits(pipeline, &graph);
    let collected_artifacts = split_artifacts(&mut collected, &out);
    let indexed = indexed_loops(pipeline, &collected_artifacts, &out);
    // A producer's artifacts go to this run's prefix, and a reader's
    // directory is this run's items: a cache hit would write or read
    // another run's. Such stages run every time, on their own templates.
    let readers: Vec<bool> = match collected_artifacts.is_empty() {
        true => vec![false; stages.len()],
        false => stages
            .iter()
            .map(|s| reads_collected_artifact(s, &collected_artifacts))
            .collect(),
    };
    for (i, s) in out.iter_mut().enumerate() {
        let id = StageId::new(i);
        if collected_artifacts.contains_key(&id) || readers[i] {
            s.cache = false;
        }
        if collected_artifacts.contains_key(&id) {
            s.template = TemplateChoice::Own;
        }
    }
    let mut skippable = HashSet::default();
    for g in groups.iter().filter(|g| g.may_skip) {
        skippable.insert(g.task.clone());
    }
    for s in out.iter().filter(|s| s.may_skip) {
        skippable.insert(s.task.clone());
        skippable.extend(s.gate.as_ref().map(|g| g.task.clone()));
        skippable.extend(s.report.as_ref().map(|r| r.task.clone()));
        if let Some(d) = &s.deploy {
            skippable.insert(d.resolve.clone());
            skippable.insert(d.wait.clone());
        }
    }
    let any_tracked = stages.iter().any(|s| s.tracked);
    let cleanup = tracking && any_tracked;
    let mut mlflow_steps: BTreeSet<MlflowStep> = out
        .iter()
        .flat_map(|s| s.mlflow_steps.iter().copied())
        .collect();
    if cleanup {
        mlflow_steps.insert(MlflowStep::Cleanup);
    }
    if out.iter().any(|s| s.gate.is_some()) {
        mlflow_steps.insert(MlflowStep::Metrics);
    }
    if out.iter().any(|s| s.report.is_some()) {
        mlflow_steps.insert(MlflowStep::Report);
    }
    let has = |kind| stages.iter().any(|s| s.kind == kind);
    if has(StageKind::Register) {
        mlflow_steps.insert(MlflowStep::Register);
    }
    if has(StageKind::Deploy) {
        mlflow_steps.insert(MlflowStep::Resolve);
    }
    let training_apis: BTreeSet<TrainingApi> = out
        .iter()
        .filter_map(|s| s.distributed.as_ref().map(|d| d.api))
        .collect();
    let training_cleanup_task =
        (!training_apis.is_empty()).then(|| tasks.fresh("delete-training-jobs"));
    Plan {
        program,
        pipeline,
        graph,
        stages: out,
        training_apis,
        training_cleanup_task,
        monitored: monitor_run,
        skippable,
        mlflow_steps,
        cleanup,
        deploy_wait: has(StageKind::Deploy),
        groups,
        order_waits,
        cleanup_task,
        volume_tasks,
        collected,
        collected_groups,
        collected_artifacts,
        indexed,
    }
}

/// Per node: the siblings it waits for through `after` (every `after`
/// entry of the node or of what it holds, lifted to its level).
fn order_waits(pipeline: &Pipeline, graph: &PipelineGraph) -> Vec<Vec<NodeId>> {
    let mut out = vec![Vec::new(); pipeline.stages.len() + pipeline.groups.len()];
    let stage_deps = pipeline
        .stages_with_ids()
        .map(|(id, s)| (NodeId::Stage(id), &s.deps));
    let group_deps = pipeline
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| (NodeId::Group(GroupId::new(g)), &group.deps));
    for (from, deps) in stage_deps.chain(group_deps) {
        for d in deps.iter().filter(|d| d.kind == DepKind::Order) {
            let lifted = crate::graph::lift(
                &pipeline.groups,
                (from, pipeline.place(from)),
                (d.on, pipeline.place(d.on)),
            );
            if let Some((a, b)) = lifted.filter(|(a, b)| a != b) {
                out[graph.index(a)].push(b);
            }
        }
    }
    // A stage may wait for thousands: no search per entry.
    for waits in &mut out {
        waits.sort_unstable();
        waits.dedup();
    }
    out
}

impl<'p> Plan<'p> {
    /// What the plan decides for a stage.
    pub fn stage(&self, id: StageId) -> &StagePlan<'p> {
        &self.stages[id.index()]
    }

    /// The task whose end is the stage's end: what `after` waits for and
    /// whose outputs references read (a deploy stage's wait step).
    pub fn done_task(&self, stage: StageId) -> &str {
        let s = self.stage(stage);
        s.deploy.as_ref().map_or(&s.task, |d| &d.wait)
    }

    /// Every task of a stage: its own and its helpers (metric gate,
    /// resolve, wait).
    pub fn stage_tasks(&self, stage: StageId) -> Vec<String> {
        let s = self.stage(stage);
        let mut out = vec![s.task.clone()];
        out.extend(s.gate.as_ref().map(|g| g.task.clone()));
        out.extend(s.report.as_ref().map(|r| r.task.clone()));
        if let Some(d) = &s.deploy {
            out.push(d.resolve.clone());
            out.push(d.wait.clone());
        }
        out
    }

    /// The loops a stage runs in, innermost first: its own `for_each`
    /// (named after the stage) and the loop groups holding it, each with
    /// the reference to its current item.
    pub fn loops_of(&self, stage: StageId) -> Vec<(String, Ref)> {
        let s = self.pipeline.stage(stage);
        let own = self
            .stage(stage)
            .fan_out
            .map(|_| (s.name.to_string(), Ref::Item(None)));
        // A template's members see the loops inside the template only:
        // its DAG template is shared by uses inside and outside loops.
        let groups = self
            .pipeline
            .enclosing(NodeId::Stage(stage))
            .into_iter()
            .take_while(|g| self.pipeline.group(*g).uses.is_none())
            .filter(|g| self.pipeline.group(*g).for_each.is_some())
            .map(|g| {
                (
                    self.pipeline.group(g).name.to_string(),
                    Ref::GroupItem {
                        group: g,
                        key: None,
                    },
                )
            });
        own.into_iter().chain(groups).collect()
    }

    /// A stage's outputs read from outside a loop that makes them.
    pub fn collected_outputs(&self, stage: StageId) -> Vec<String> {
        self.collected
            .get(&stage)
            .map(|o| o.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The task of the metric gate after `stage` (every stage whose metric
    /// is read has one).
    pub fn gate_task(&self, stage: StageId) -> &str {
        self.stage(stage).gate.as_ref().map_or("", |g| &g.task)
    }

    /// The siblings a node waits for, directly or not.
    pub fn ancestors(&self, node: NodeId) -> BTreeSet<NodeId> {
        self.graph.ancestors(node)
    }

    /// The task whose end is a node's end: a stage's done task, or the
    /// task that runs a group.
    pub fn node_done_task(&self, node: NodeId) -> &str {
        match node {
            NodeId::Stage(s) => self.done_task(s),
            NodeId::Group(g) => &self.groups[g.index()].task,
        }
    }

    /// Every task of a node in its DAG.
    pub fn node_tasks(&self, node: NodeId) -> Vec<String> {
        match node {
            NodeId::Stage(s) => self.stage_tasks(s),
            NodeId::Group(g) => vec![self.groups[g.index()].task.clone()],
        }
    }

    /// The DAG a node's tasks are in.
    pub fn dag_of(&self, node: NodeId) -> DagId {
        let place = self.pipeline.place(node);
        match place.group {
            Some(g) => DagId::Group(g),
            None if place.finally => DagId::Finally,
            None => DagId::Main,
        }
    }

    /// The groups whose DAGs hold `dag`, innermost first (`dag` itself
    /// first when it is a group's).
    pub fn dag_chain(&self, dag: DagId) -> Vec<GroupId> {
        match dag {
            DagId::Group(g) => {
                let mut out = vec![g];
                out.extend(self.pipeline.enclosing(NodeId::Group(g)));
                out
            }
            DagId::Main | DagId::Finally => Vec::new(),
        }
    }

    /// Whether a node belongs to a copy of a group template's members that
    /// is not lowered: every use after the first calls the first one's
    /// DAG template.
    pub fn in_shared_copy(&self, node: NodeId) -> bool {
        self.pipeline.enclosing(node).into_iter().any(|g| {
            self.pipeline
                .group(g)
                .uses
                .as_ref()
                .is_some_and(|u| u.first != g)
        })
    }

    /// The group that uses a template and holds `dag` (it runs a copy of
    /// the template's members).
    pub fn template_use_holding(&self, dag: DagId) -> Option<GroupId> {
        self.dag_chain(dag)
            .into_iter()
            .find(|g| self.pipeline.group(*g).uses.is_some())
    }

    /// A group template's output, as the shared DAG template gives it: in
    /// the first use's copy of the members.
    pub fn group_output(&self, group: GroupId, output: &str) -> Option<&GroupOutput> {
        let uses = self.pipeline.group(group).uses.as_ref()?;
        let first = self.pipeline.group(uses.first).uses.as_ref()?;
        first.outputs.iter().find(|o| o.name == output)
    }

    /// Whether the run has a `finally` (an exit DAG).
    pub fn has_finally(&self) -> bool {
        !self.pipeline.finally.is_empty()
    }

    pub fn param_dns(&self, name: &str) -> String {
        self.pipeline
            .params
            .iter()
            .find(|p| p.name == name)
            .map_or_else(|| crate::sema::dns_name(name), |p| p.dns_name.to_string())
    }

    pub fn param_ty(&self, name: &str) -> Ty {
        self.pipeline
            .params
            .iter()
            .find(|p| p.name == name)
            .map_or(Ty::Any, |p| p.ty.clone())
    }

    /// Where a stage's model lies in its run's artifacts.
    pub fn model_path(&self, stage: StageId) -> String {
        match self.stage(stage).fields.get("model_path").map(|f| &f.value) {
            Some(v) => literal::literal_text(v),
            None => "model".to_string(),
        }
    }

    /// The type of an output of a stage (a string when it is not declared).
    pub fn output_ty(&self, stage: StageId, output: &str) -> Option<&Ty> {
        self.stage(stage).outputs.get(output).map(|o| &o.ty)
    }

    /// What a reference reads.
    pub fn binding(&self, r: &Ref) -> Binding {
        match r {
            Ref::Param(name) => Binding::Param {
                dns: self.param_dns(name),
                ty: self.param_ty(name),
            },
            Ref::Input(name) => Binding::Input(name.to_string()),
            Ref::Output {
                stage,
                output,
                fan_in,
            } => {
                let task = self.done_task(*stage).to_string();
                let info = self.stage(*stage).outputs.get(output.as_str());
                let ty = info.map_or(Ty::String, |o| o.ty.clone());
                let read = match ty {
                    Ty::ModelUri => OutputRead::ModelUri {
                        model_path: self.model_path(*stage),
                    },
                    ty if ty.is_artifact() => OutputRead::Artifact {
                        file: info
                            .and_then(|o| o.path.as_deref())
                            .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
                            .filter(|f| !f.is_empty())
                            .unwrap_or(output.as_str())
                            .to_string(),
                    },
                    ty => OutputRead::Value(ty),
                };
                Binding::Output {
                    task,
                    output: output.to_string(),
                    read,
                    fan_in: *fan_in,
                }
            }
            Ref::Metric {
                stage,
                name,
                fan_in,
            } => Binding::Metric {
                gate: self.gate_task(*stage).to_string(),
                name: name.to_string(),
                fan_in: *fan_in,
            },
            Ref::Item(key) => Binding::Item(key.as_ref().map(|k| k.to_string())),
            Ref::GroupItem { group, key } => Binding::GroupItem {
                group: *group,
                key: key.as_ref().map(|k| k.to_string()),
            },
            Ref::GroupInput(name) => Binding::GroupInput(name.to_string()),
            Ref::GroupOutput {
                group,
                output,
                fan_in,
            } => Binding::GroupOutput {
                task: self.groups[group.index()].task.clone(),
                output: output.to_string(),
                fan_in: *fan_in,
            },
            Ref::Run(f) => Binding::Run(*f),
        }
    }
}

/// Whether a stage calls its template's shared template: it uses a
/// template and sets only task-level fields.
pub fn shares_template(stage: &Stage) -> bool {
    stage.uses.is_some()
        && stage.outputs.is_empty()
        && stage
            .fields
            .keys()
            .all(|k| TASK_FIELDS.contains(&k.as_str()))
}

fn stage_outputs(program: &Program, stage: &Stage) -> IndexMap<String, OutputInfo> {
    let mut out = IndexMap::default();
    let declared = stage
        .uses
        .as_ref()
        .map(|u| program.template(u.template).outputs.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(stage.outputs.iter());
    for o in declared {
        out.insert(
            o.name.to_string(),
            OutputInfo {
                ty: o.ty.clone(),
                path: Some(o.path.to_string()),
            },
        );
    }
    for (name, ty) in schema::builtin_outputs(stage.kind, stage.tracked) {
        out.insert(
            (*name).into(),
            OutputInfo {
                ty: ty.clone(),
                path: None,
            },
        );
    }
    out
}

/// Calls `f` on every reference a stage makes (own fields, when, args).
pub fn visit_refs(stage: &Stage, f: &mut impl FnMut(&Ref)) {
    stage
        .fields
        .values()
        .for_each(|v| refs_in_value(&v.value, f));
    if let Some(w) = &stage.when {
        refs_in_cond(&w.value, f);
    }
    if let Some(u) = &stage.uses {
        u.args.values().for_each(|v| refs_in_value(&v.value, f));
    }
}
