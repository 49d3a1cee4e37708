//! A reference as a value in a DAG: which input of the reading component
//! receives it, where the reader's DAG has it (routed through the DAGs
//! between), its type there, and the selector that picks one key of a
//! loop's item. Shared by container tasks and by the conditions and items
//! of group and loop tasks.

use super::dag::{self, At, DagKey, Kind, Router};
use super::ir::*;
use super::{artifact_type, parameter_type};
use crate::plan::{Binding, OutputRead, Plan};
use crate::sema::hir::{Ref, Spanned, Value};
use crate::sema::types::{ArtifactKind, Ty};

pub struct Routed {
    /// The name of the component input that receives it.
    pub input: String,
    /// Where the reader's DAG has it.
    pub at: At,
    pub value: dag::Value,
    pub selector: Option<String>,
    /// A model of a tracked stage: the value is the run id, and the
    /// reader writes `runs:/RUN_ID/MODEL_PATH`.
    pub model_path: Option<String>,
}

impl Routed {
    /// The value as an operand of a condition: an input of the task named
    /// as kfp names what a condition reads (`pipelinechannel--NAME`; a
    /// channel of the DAG keeps its name), and what the task passes for it.
    pub fn operand(self) -> (String, TaskParameter) {
        let name = match &self.at {
            At::Input(channel)
                if self.selector.is_none() && channel.starts_with("pipelinechannel--") =>
            {
                channel.clone()
            }
            _ => format!("pipelinechannel--{}", self.input),
        };
        let parameter = TaskParameter {
            source: dag::parameter_input(&self.at),
            parameter_expression_selector: self.selector,
        };
        (name, parameter)
    }
}

fn param(ty: &Ty) -> dag::Value {
    dag::Value {
        kind: Kind::Parameter,
        parameter: Some(ParameterSpec::of(parameter_type(ty))),
        artifact: None,
    }
}

/// `r` as read by a task whose DAGs are `path`; `own_loop`: the loop DAG
/// that `item` (not a group's) names. `Err` names what has no form here.
pub fn route(
    plan: &Plan<'_>,
    router: &mut Router,
    path: &[DagKey],
    own_loop: Option<DagKey>,
    r: &Ref,
) -> Result<Routed, String> {
    route_in(plan, router, path, path.len(), own_loop, r)
}

/// The argument the use of a group template passes for its input `name`,
/// read by a task whose DAGs are `path`: the innermost group of `path`
/// that uses a template holds the reader's copy of its members. Also the
/// depth of that group in `path`: an argument that is itself an input of
/// an enclosing template's use is found above it.
pub fn group_input<'p>(
    plan: &Plan<'p>,
    path: &[DagKey],
    name: &str,
) -> Option<(&'p Spanned<Value>, usize)> {
    path.iter()
        .enumerate()
        .rev()
        .find_map(|(depth, key)| match key {
            DagKey::Group(g) => plan
                .pipeline
                .group(*g)
                .uses
                .as_ref()
                .map(|u| u.args.get(name).map(|arg| (arg, depth))),
            _ => None,
        })?
}

/// [`route`], finding a group template's inputs in `path[..scope]`.
pub fn route_in(
    plan: &Plan<'_>,
    router: &mut Router,
    path: &[DagKey],
    scope: usize,
    own_loop: Option<DagKey>,
    r: &Ref,
) -> Result<Routed, String> {
    match plan.binding(r) {
        Binding::Param { ty, .. } => {
            let Ref::Param(name) = r else {
                return Err("a parameter".into());
            };
            let (at, value) = router.route(
                plan,
                &param(&ty),
                At::Input(name.to_string()),
                &[DagKey::Root],
                path,
                &format!("pipelinechannel--{name}"),
            );
            Ok(Routed {
                input: name.to_string(),
                at,
                value,
                selector: None,
                model_path: None,
            })
        }
        Binding::Output {
            task,
            output,
            read,
            fan_in,
        } => {
            let Ref::Output { stage, .. } = r else {
                return Err("an output".into());
            };
            let value = match &read {
                OutputRead::Value(ty) => param(ty),
                OutputRead::Artifact { .. } => {
                    let kind = match plan.output_ty(*stage, output.as_str()) {
                        Some(Ty::Artifact(k)) => *k,
                        _ => ArtifactKind::Artifact,
                    };
                    dag::Value {
                        kind: Kind::Artifact,
                        parameter: None,
                        artifact: Some(ArtifactSpec {
                            artifact_type: artifact_type(kind),
                            is_artifact_list: false,
                        }),
                    }
                }
                OutputRead::ModelUri { .. } if fan_in => {
                    return Err("the models of a loop's runs, collected".into())
                }
                OutputRead::ModelUri { .. } => param(&Ty::String),
            };
            let (output, model_path) = match read {
                OutputRead::ModelUri { model_path } => ("run_id".to_string(), Some(model_path)),
                _ => (output, None),
            };
            let maker = dag::stage_path(plan, *stage);
            // An artifact read out of its loop: the copy of it the maker
            // keeps under its item's index (see [`collected_key`]).
            let key = match value.kind {
                Kind::Artifact if fan_in => collected_key(plan, &maker, path, &output)?,
                _ => output.clone(),
            };
            let (at, value) = router.route(
                plan,
                &value,
                At::Task {
                    task: task.clone(),
                    key: key.clone(),
                },
                &maker,
                path,
                &format!("pipelinechannel--{task}-{key}"),
            );
            Ok(Routed {
                input: format!("{task}-{output}"),
                at,
                value,
                selector: None,
                model_path,
            })
        }
        Binding::Item(key) => match own_loop {
            Some(lp) => item(plan, router, path, lp, key),
            None => Err("`item` here".into()),
        },
        Binding::GroupItem { group, key } => item(plan, router, path, DagKey::Group(group), key),
        Binding::Metric { gate, name, .. } => {
            let Ref::Metric { stage, .. } = r else {
                return Err("a metric".into());
            };
            let (at, value) = router.route(
                plan,
                &param(&Ty::Float),
                At::Task {
                    task: gate.clone(),
                    key: name.clone(),
                },
                &dag::stage_path(plan, *stage),
                path,
                &format!("pipelinechannel--{gate}-{name}"),
            );
            Ok(Routed {
                input: format!("{gate}-{name}"),
                at,
                value,
                selector: None,
                model_path: None,
            })
        }
        Binding::Run(_) => Err("`run.*` here".into()),
        Binding::GroupInput(name) => {
            let (arg, depth) =
                group_input(plan, &path[..scope], &name).ok_or("a group template's input")?;
            match &arg.value {
                Value::Ref(inner) => route_in(plan, router, path, depth, own_loop, inner),
                _ => Err("a group template's input written as text".into()),
            }
        }
        // This use's copy of the members makes it: route that member's
        // output (or metric) out of the group.
        Binding::GroupOutput { output, .. } => {
            let Ref::GroupOutput { group, .. } = r else {
                return Err("a group's output".into());
            };
            let source = plan
                .pipeline
                .group(*group)
                .uses
                .as_ref()
                .and_then(|u| u.outputs.iter().find(|o| o.name == output))
                .map(|o| o.source.clone())
                .ok_or("a group's output")?;
            route_in(plan, router, path, scope, own_loop, &source)
        }
        Binding::Input(_) => Err("a template input here".into()),
    }
}

/// The output that holds an artifact `output` made in DAGs `maker` for a
/// reader in DAGs `reader` outside its loop: `mlp-indexed-OUTPUT`, a
/// directory with one entry named by the item's index, which the maker
/// writes beside the artifact itself. KFP collects it out of the loop as
/// a list of artifacts (`isArtifactList`), which a gather task merges
/// into one directory. One loop only: the IR has no list of lists of
/// artifacts.
pub fn collected_key(
    plan: &Plan<'_>,
    maker: &[DagKey],
    reader: &[DagKey],
    output: &str,
) -> Result<String, String> {
    let common = maker.iter().zip(reader).take_while(|(a, b)| a == b).count();
    let loops: Vec<DagKey> = maker[common..]
        .iter()
        .copied()
        .filter(|k| dag::loops(plan, *k))
        .collect();
    match loops.as_slice() {
        [lp] if dag::indexed(plan, *lp) => Ok(indexed_output(output)),
        [_] => Err("artifact fan-in out of a loop over a run-time list".into()),
        _ => Err("an artifact collected out of nested loops".into()),
    }
}

/// The name of the copy of `output` under its item's index.
pub fn indexed_output(output: &str) -> String {
    format!("mlp-indexed-{output}")
}

/// The index of the current item of indexed loop `lp`, as text (`"0"`).
pub fn loop_index(
    plan: &Plan<'_>,
    router: &mut Router,
    path: &[DagKey],
    lp: DagKey,
) -> Result<Routed, String> {
    let depth = path
        .iter()
        .position(|k| *k == lp)
        .ok_or("an index outside its loop")?;
    let channel = dag::item_channel(plan, lp);
    let (at, _) = router.route(
        plan,
        &param_spec(ParameterType::Struct),
        At::Input(channel.clone()),
        &path[..=depth],
        path,
        &channel,
    );
    Ok(Routed {
        input: "mlp-index".into(),
        at,
        value: param_spec(ParameterType::String),
        selector: Some("parseJson(string_value)[\"mlp-index\"]".into()),
        model_path: None,
    })
}

fn param_spec(ty: ParameterType) -> dag::Value {
    dag::Value {
        kind: Kind::Parameter,
        parameter: Some(ParameterSpec::of(ty)),
        artifact: None,
    }
}

/// The current item of loop `lp` (or one key of it).
fn item(
    plan: &Plan<'_>,
    router: &mut Router,
    path: &[DagKey],
    lp: DagKey,
    key: Option<String>,
) -> Result<Routed, String> {
    let depth = path
        .iter()
        .position(|k| *k == lp)
        .ok_or("`item` outside its loop")?;
    let items = dag::for_each(plan, lp).ok_or("a loop without items")?;
    let whole = ParameterSpec::of(dag::channel_type(plan, lp).unwrap_or(ParameterType::String));
    let indexed = dag::indexed(plan, lp);
    let ty = match (&key, &items.value) {
        // The item itself (an indexed loop's `mlp-item`), typed as KFP's
        // driver checks it once the selector has picked it.
        (None, _) => dag::item_type(plan, &items.value),
        // A key's type: that of its value in the first literal item.
        (Some(k), Value::List(list)) => match list.first().map(|i| &i.value) {
            Some(Value::Map(m)) => match m.get(k.as_str()).map(|v| &v.value) {
                Some(Value::Int(_)) => ParameterType::NumberInteger,
                Some(Value::Float(_)) => ParameterType::NumberDouble,
                Some(Value::Bool(_)) => ParameterType::Boolean,
                Some(Value::List(_)) => ParameterType::List,
                Some(Value::Map(_)) => ParameterType::Struct,
                _ => ParameterType::String,
            },
            _ => ParameterType::String,
        },
        (Some(_), _) => ParameterType::String,
    };
    let channel = dag::item_channel(plan, lp);
    let (at, _) = router.route(
        plan,
        &dag::Value {
            kind: Kind::Parameter,
            parameter: Some(whole),
            artifact: None,
        },
        At::Input(channel.clone()),
        &path[..=depth],
        path,
        &channel,
    );
    // An indexed loop's item is its `mlp-item`.
    let item = if indexed {
        "parseJson(string_value)[\"mlp-item\"]"
    } else {
        "parseJson(string_value)"
    };
    let (input, selector) = match key {
        None => ("mlp-item".to_string(), indexed.then(|| item.to_string())),
        Some(k) => (format!("mlp-item-{k}"), Some(format!("{item}[\"{k}\"]"))),
    };
    Ok(Routed {
        input,
        model_path: None,
        at,
        value: dag::Value {
            kind: Kind::Parameter,
            parameter: Some(ParameterSpec::of(ty)),
            artifact: None,
        },
        selector,
    })
}
