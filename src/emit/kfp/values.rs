//! A reference as a value in a DAG: which input of the reading component
//! receives it, where the reader's DAG has it (routed through the DAGs
//! between), its type there, and the selector that picks one key of a
//! loop's item. Shared by container tasks and by the conditions and items
//! of group and loop tasks.

use super::dag::{self, At, DagKey, Kind, Router};
use super::ir::*;
use super::{artifact_type, parameter_type};
use crate::plan::{Binding, OutputRead, Plan};
use crate::sema::hir::{Ref, Value};
use crate::sema::types::{ArtifactKind, Ty};

pub struct Routed {
    /// The name of the component input that receives it.
    pub input: String,
    /// Where the reader's DAG has it.
    pub at: At,
    pub value: dag::Value,
    pub selector: Option<String>,
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
            })
        }
        Binding::Output {
            task, output, read, ..
        } => {
            let Ref::Output { stage, .. } = r else {
                return Err("an output".into());
            };
            let value = match read {
                OutputRead::Value(ty) => param(&ty),
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
                OutputRead::ModelUri { .. } => return Err("a model from MLflow tracking".into()),
            };
            let maker = dag::stage_path(plan, *stage);
            let (at, value) = router.route(
                plan,
                &value,
                At::Task {
                    task: task.clone(),
                    key: output.clone(),
                },
                &maker,
                path,
                &format!("pipelinechannel--{task}-{output}"),
            );
            Ok(Routed {
                input: format!("{task}-{output}"),
                at,
                value,
                selector: None,
            })
        }
        Binding::Item(key) => match own_loop {
            Some(lp) => item(plan, router, path, lp, key),
            None => Err("`item` here".into()),
        },
        Binding::GroupItem { group, key } => item(plan, router, path, DagKey::Group(group), key),
        Binding::Metric { .. } => Err("a metric gate".into()),
        Binding::Run(_) => Err("`run.*` here".into()),
        Binding::Input(_) | Binding::GroupInput(_) | Binding::GroupOutput { .. } => {
            Err("a group template".into())
        }
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
    let whole = ParameterSpec::of(dag::item_type(plan, &items.value));
    let ty = match (&key, &items.value) {
        (None, _) => whole.parameter_type,
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
    let (input, selector) = match key {
        None => ("mlp-item".to_string(), None),
        Some(k) => (
            format!("mlp-item-{k}"),
            Some(format!("parseJson(string_value)[\"{k}\"]")),
        ),
    };
    Ok(Routed {
        input,
        at,
        value: dag::Value {
            kind: Kind::Parameter,
            parameter: Some(ParameterSpec::of(ty)),
            artifact: None,
        },
        selector,
    })
}
