//! The DAGs of a KFP pipeline and the values that cross them.
//!
//! A KFP task reads only its own DAG: the inputs of the DAG component it is
//! in, and the outputs of its sibling tasks (../shared/reference/KFP-IR.md
//! §2.4; the validator checks it). So a value made outside a group or loop
//! enters it as an input of each DAG component on the way down, named as
//! kfp names them (`pipelinechannel--NAME`), passed by the task that calls
//! the component; and a value made inside leaves it as an output of each
//! DAG on the way up (`dag.outputs`), a list when it leaves a loop (the
//! fan-in). Routes are recorded while tasks are built, in any order, and
//! written into the DAG components and their calling tasks at the end.

use std::collections::BTreeMap;

use super::ir::*;
use crate::plan::Plan;
use crate::sema::hir::{GroupId, NodeId, StageId};

/// A DAG component of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DagKey {
    /// The pipeline's root DAG.
    Root,
    /// The main run, as the exit handler's body, when there is `finally`.
    Main,
    /// `finally`'s stages: the exit task's DAG.
    Finally,
    Group(GroupId),
    /// The loop body of a `for_each` stage.
    Loop(StageId),
}

/// The DAGs a node's tasks are in, outermost first: `[Root, ...]`.
pub fn path_of(plan: &Plan<'_>, node: NodeId) -> Vec<DagKey> {
    let place = plan.pipeline.place(node);
    let mut out = vec![DagKey::Root];
    if place.finally {
        out.push(DagKey::Finally);
    } else if exit_handler(plan) {
        out.push(DagKey::Main);
    }
    let mut groups = plan.pipeline.enclosing(node);
    groups.reverse();
    out.extend(groups.into_iter().map(DagKey::Group));
    out
}

/// Whether the run is an exit handler's body and its exit task: with
/// `finally`, with MLflow tracking (the exit task ends the runs a failed
/// or stopped run left open), and with run volumes (it deletes their
/// claims).
pub fn exit_handler(plan: &Plan<'_>) -> bool {
    plan.has_finally() || plan.cleanup || !plan.pipeline.volumes.is_empty()
}

/// The DAGs a stage's own task is in: its node's, and its loop body when
/// it has `for_each`.
pub fn stage_path(plan: &Plan<'_>, stage: StageId) -> Vec<DagKey> {
    let mut out = path_of(plan, NodeId::Stage(stage));
    if plan.stage(stage).fan_out.is_some() {
        out.push(DagKey::Loop(stage));
    }
    out
}

/// The name of the task that runs a DAG component in its parent DAG, and
/// of the component.
pub fn dag_task(plan: &Plan<'_>, key: DagKey) -> String {
    match key {
        DagKey::Root => String::new(),
        // kfp's name for an exit handler's body, unless a stage has it.
        DagKey::Main => (1..)
            .map(|n| format!("exit-handler-{n}"))
            .find(|name| {
                !plan.stages.iter().any(|s| s.task == *name)
                    && !plan.groups.iter().any(|g| g.task == *name)
            })
            .unwrap_or_default(),
        DagKey::Finally => "finally".into(),
        DagKey::Group(g) => plan.groups[g.index()].task.clone(),
        DagKey::Loop(s) => plan.stage(s).task.clone(),
    }
}

pub fn component_name(plan: &Plan<'_>, key: DagKey) -> String {
    match key {
        DagKey::Loop(s) => format!("comp-for-loop-{}", plan.stage(s).task),
        other => format!("comp-{}", dag_task(plan, other)),
    }
}

/// Whether the DAG runs once per item: its outputs leave it as lists.
pub fn loops(plan: &Plan<'_>, key: DagKey) -> bool {
    match key {
        DagKey::Loop(_) => true,
        DagKey::Group(g) => plan.groups[g.index()].fan_out.is_some(),
        _ => false,
    }
}

/// Whether a loop's items carry their index (an artifact made inside is
/// collected outside, one entry per item named by its index): its items
/// are `{"mlp-index": "I", "mlp-item": ITEM}`, and `item` reads
/// `mlp-item`. Only a loop over a literal list can say so in the IR.
pub fn indexed(plan: &Plan<'_>, key: DagKey) -> bool {
    let node = match key {
        DagKey::Loop(s) => NodeId::Stage(s),
        DagKey::Group(g) => NodeId::Group(g),
        _ => return false,
    };
    plan.indexed.contains_key(&node)
        && matches!(
            for_each(plan, key).map(|v| &v.value),
            Some(crate::sema::hir::Value::List(_))
        )
}

/// The raw items of an indexed loop over `items`.
pub fn indexed_items(items: &[crate::sema::hir::Spanned<crate::sema::hir::Value>]) -> String {
    let list: Vec<serde_json::Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::json!({
                "mlp-index": i.to_string(),
                "mlp-item": crate::plan::literal::literal_json(&item.value),
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The type of a loop DAG's item input.
pub fn channel_type(plan: &Plan<'_>, key: DagKey) -> Option<ParameterType> {
    let items = for_each(plan, key)?;
    Some(if indexed(plan, key) {
        ParameterType::Struct
    } else {
        item_type(plan, &items.value)
    })
}

/// A parameter or an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Parameter,
    Artifact,
}

/// A value where it is read: in one DAG.
#[derive(Debug, Clone, PartialEq)]
pub enum At {
    /// An input of the DAG component (or the root's parameter).
    Input(String),
    /// An output of a task of the DAG.
    Task { task: String, key: String },
}

/// One input of a DAG component: its spec, and what the calling task in
/// the parent DAG passes for it.
#[derive(Debug, Clone)]
pub struct Import {
    pub kind: Kind,
    pub parameter: Option<ParameterSpec>,
    pub artifact: Option<ArtifactSpec>,
    pub from: At,
}

/// One output of a DAG component: its spec, and the task of the DAG that
/// makes it.
#[derive(Debug, Clone)]
pub struct Export {
    pub kind: Kind,
    pub parameter: Option<ParameterSpec>,
    pub artifact: Option<ArtifactSpec>,
    pub task: String,
    pub key: String,
}

#[derive(Default)]
pub struct Router {
    pub imports: BTreeMap<DagKey, BTreeMap<String, Import>>,
    pub exports: BTreeMap<DagKey, BTreeMap<String, Export>>,
    /// A task of `finally` reads `run.status`: the exit task then passes
    /// the main run's final status to its DAG as [`STATUS`].
    pub status_read: bool,
    /// The task of the main DAG that makes each run volume's claim (by
    /// index in `Pipeline::volumes`).
    pub volume_tasks: Vec<String>,
    /// Every task name taken: the plan's, then those of the tasks this
    /// backend adds (tracking, volumes, gathers), each clear of the rest.
    pub names: crate::plan::Names,
}

/// The input of `finally`'s DAG that holds the main run's final status
/// (`PipelineTaskFinalStatus`: `{state, pipelineTaskName, error, ...}`).
pub const STATUS: &str = "pipelinechannel--status";

/// KFP's final state as `.mlp`'s `run.status` spells it (Argo's
/// `workflow.status`): `Succeeded`, `Failed`, or `Error` for the rest
/// (`CANCELED`, `SKIPPED`). Drivers that keep state in ML Metadata (KFP
/// 2.4 to 2.x) say `COMPLETE` or `CACHED` for a success, later ones
/// `SUCCEEDED` (the task's RuntimeState). The driver passes the status as the JSON text
/// of a `PipelineTaskFinalStatus` (kubeflow/pipelines
/// backend/src/v2/driver/resolver/parameters.go, `resolveTaskFinalStatus`:
/// `protojson.Marshal`), so the selector parses `string_value`, as kfp's
/// own selectors on loop items do.
pub const STATUS_SELECTOR: &str = "parseJson(string_value)[\"state\"] in [\"SUCCEEDED\", \"COMPLETE\", \"CACHED\"] ? \"Succeeded\" : (parseJson(string_value)[\"state\"] == \"FAILED\" ? \"Failed\" : \"Error\")";

/// What a value is and how it is typed at each DAG level.
#[derive(Debug, Clone)]
pub struct Value {
    pub kind: Kind,
    /// Its spec where it is made.
    pub parameter: Option<ParameterSpec>,
    pub artifact: Option<ArtifactSpec>,
}

impl Value {
    /// The same value collected over a loop's items.
    fn listed(&self) -> Value {
        Value {
            kind: self.kind,
            parameter: self
                .parameter
                .as_ref()
                .map(|_| ParameterSpec::of(ParameterType::List)),
            artifact: self.artifact.as_ref().map(|a| ArtifactSpec {
                artifact_type: a.artifact_type.clone(),
                is_artifact_list: true,
            }),
        }
    }
}

impl Router {
    /// `value`, made in DAG `origin` (`path[..=origin]` of the maker) as
    /// `at`, read in the DAG at the end of `reader`: what the reader's DAG
    /// has it as, and its type there. `maker` is the maker's path when it
    /// is a task's output (it may lie in DAGs the reader is not in).
    pub fn route(
        &mut self,
        plan: &Plan<'_>,
        value: &Value,
        at: At,
        maker: &[DagKey],
        reader: &[DagKey],
        channel: &str,
    ) -> (At, Value) {
        let common = maker.iter().zip(reader).take_while(|(a, b)| a == b).count();
        // Up: out of each DAG the maker is in and the reader is not.
        let mut at = at;
        let mut value = value.clone();
        for i in (common..maker.len()).rev() {
            let dag = maker[i];
            let At::Task { task, key } = at else {
                break;
            };
            if loops(plan, dag) {
                value = value.listed();
            }
            self.exports.entry(dag).or_default().insert(
                channel.to_string(),
                Export {
                    kind: value.kind,
                    parameter: value.parameter.clone(),
                    artifact: value.artifact.clone(),
                    task,
                    key,
                },
            );
            at = At::Task {
                task: dag_task(plan, dag),
                key: channel.to_string(),
            };
        }
        // Down: into each DAG the reader is in and the maker is not.
        for &dag in &reader[common..] {
            self.imports.entry(dag).or_default().insert(
                channel.to_string(),
                Import {
                    kind: value.kind,
                    parameter: value.parameter.clone(),
                    artifact: value.artifact.clone(),
                    from: at,
                },
            );
            at = At::Input(channel.to_string());
        }
        (at, value)
    }
}

/// A task input for a value as its DAG has it.
pub fn parameter_input(at: &At) -> ParameterInput {
    match at {
        At::Input(name) => ParameterInput::ComponentInputParameter(name.clone()),
        At::Task { task, key } => ParameterInput::TaskOutputParameter(TaskOutput {
            output_parameter_key: key.clone(),
            producer_task: task.clone(),
        }),
    }
}

pub fn artifact_input(at: &At) -> ArtifactInput {
    match at {
        At::Input(name) => ArtifactInput::ComponentInputArtifact(name.clone()),
        At::Task { task, key } => ArtifactInput::TaskOutputArtifact(TaskOutputArtifact {
            output_artifact_key: key.clone(),
            producer_task: task.clone(),
        }),
    }
}

/// The sibling task a value read as `at` makes its reader wait for.
pub fn producer(at: &At) -> Option<&str> {
    match at {
        At::Task { task, .. } => Some(task),
        At::Input(_) => None,
    }
}

/// The input of a loop's DAG that holds the current item.
pub fn item_channel(plan: &Plan<'_>, key: DagKey) -> String {
    format!("pipelinechannel--{}-loop-item", dag_task(plan, key))
}

/// The `for_each` of a loop DAG.
pub fn for_each<'a>(
    plan: &'a Plan<'_>,
    key: DagKey,
) -> Option<&'a crate::sema::hir::Spanned<crate::sema::hir::Value>> {
    match key {
        // The merged fields: a template's `for_each` too.
        DagKey::Loop(s) => plan.stage(s).fields.get("for_each"),
        DagKey::Group(g) => plan.pipeline.group(g).for_each.as_ref(),
        _ => None,
    }
}

/// The type of a loop's item: of the first literal item, or the element
/// type of the list a reference reads (a string when unknown).
pub fn item_type(plan: &Plan<'_>, items: &crate::sema::hir::Value) -> ParameterType {
    use crate::sema::hir::Value as V;
    use crate::sema::types::Ty;
    let ty = match items {
        V::List(list) => match list.first().map(|i| &i.value) {
            Some(V::Int(_)) => Ty::Int,
            Some(V::Float(_)) => Ty::Float,
            Some(V::Bool(_)) => Ty::Bool,
            Some(V::Map(_)) => Ty::Map,
            Some(V::List(_)) => Ty::List(Box::new(Ty::Any)),
            _ => Ty::String,
        },
        V::Ref(r) => match plan.binding(r) {
            crate::plan::Binding::Param {
                ty: Ty::List(e), ..
            } => *e,
            crate::plan::Binding::Output {
                read: crate::plan::OutputRead::Value(Ty::List(e)),
                ..
            } => *e,
            _ => Ty::Any,
        },
        _ => Ty::Any,
    };
    super::parameter_type(&ty)
}
