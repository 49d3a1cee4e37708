//! Groups (§9.1): a group is a DAG template of its members' tasks, run by
//! one task in its parent's DAG that carries the loop, the condition and
//! the dependencies; `finally` (§9.4) is the exit handler's DAG.
//!
//! What members read from outside enters the group's template as inputs,
//! and what is read of them outside leaves it as outputs ([`super::route`]).

use std::collections::BTreeSet;

use super::route::{Kind, Source};
use super::task::{value_reads_item, TaskCall, TaskCtx};
use super::Emitter;
use crate::emit::argo::{
    Arguments, Artifact, Dag, DagTask, Inputs, Parameter, Template, ValueFrom,
};
use crate::plan::DagId;
use crate::sema::hir::{GroupId, NodeId, Ref};
use crate::sema::types::Ty;

impl Emitter<'_, '_> {
    /// The task that runs group `g`, in its parent's DAG: the values its
    /// members read from outside as arguments, its loop and condition.
    pub(super) fn group_task(&mut self, g: GroupId, template: &str) {
        let plan = self.plan;
        let group = plan.pipeline.group(g);
        let node = NodeId::Group(g);
        plan.at.set(plan.dag_of(node));
        self.order_key = group.span.start as usize;
        let (imports, deps) = {
            let routes = plan.routes.borrow();
            (
                routes.imports.get(&g).cloned().unwrap_or_default(),
                routes.deps.get(&g).cloned().unwrap_or_default(),
            )
        };
        let mut arguments = Arguments::default();
        let mut item_args = Vec::new();
        let mut deps = deps;
        // A use of a group template passes the template's inputs, each read
        // in the group's parent (its own loop's `item` included).
        if let Some(uses) = &group.uses {
            let template = plan.program.group_template(uses.template);
            let mut ctx = TaskCtx {
                plan,
                bindings: None,
                deps: BTreeSet::new(),
                lifted: None,
                item_indexed: false,
            };
            for input in &template.inputs {
                let Some(value) = uses.args.get(&input.name) else {
                    continue;
                };
                if input.ty.is_artifact() {
                    arguments
                        .artifacts
                        .push(ctx.artifact_arg(&input.name, &value.value));
                } else {
                    item_args.push(value_reads_item(&value.value));
                    arguments.parameters.push(Parameter {
                        name: input.name.to_string(),
                        value: Some(ctx.text(&value.value)),
                        ..Default::default()
                    });
                }
            }
            deps.extend(ctx.deps);
        }
        for (name, source) in &imports {
            match source {
                Source::Task {
                    kind: Kind::Artifact,
                    ..
                }
                | Source::Input {
                    kind: Kind::Artifact,
                    ..
                } => arguments.artifacts.push(Artifact {
                    name: name.clone(),
                    from: Some(source.placeholder()),
                    ..Default::default()
                }),
                _ => {
                    item_args.push(matches!(source, Source::Item(_)));
                    arguments.parameters.push(Parameter {
                        name: name.clone(),
                        value: Some(source.placeholder()),
                        ..Default::default()
                    });
                }
            }
        }
        let task = DagTask {
            name: plan.groups[g.index()].task.clone(),
            template: template.to_string(),
            arguments,
            ..Default::default()
        };
        let mut collected: Vec<String> = plan
            .routes
            .borrow()
            .exports
            .get(&g)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        collected.extend(plan.collected_groups.get(&g).into_iter().flatten().cloned());
        let call = TaskCall {
            conditions: group.when.iter().map(|w| &w.value).collect(),
            for_each: group.for_each.as_ref().map(|f| &f.value),
            parallelism: group.parallelism.as_ref().map(|p| p.value),
            item_args,
            bindings: None,
            collected,
            indexed: plan.indexed.get(&node),
        };
        let order = self.order_deps(node);
        self.finish(task, call, deps, order);
    }

    /// Group `g`'s DAG template: its members' tasks, what they read from
    /// outside as inputs, and what is read of them outside as outputs.
    pub(super) fn group_template(
        &mut self,
        g: GroupId,
        name: String,
        declared: Option<Inputs>,
    ) -> Template {
        let routes = self.plan.routes.borrow();
        let mut inputs = Inputs::default();
        // A group template's inputs, every one (each use passes them all).
        if let Some(uses) = &self.plan.pipeline.group(g).uses {
            for input in &self.plan.program.group_template(uses.template).inputs {
                if input.ty.is_artifact() {
                    inputs.artifacts.push(Artifact {
                        name: input.name.to_string(),
                        ..Default::default()
                    });
                } else {
                    inputs.parameters.push(Parameter {
                        name: input.name.to_string(),
                        ..Default::default()
                    });
                }
            }
        }
        for (input, source) in routes.imports.get(&g).into_iter().flatten() {
            if is_artifact(source) {
                inputs.artifacts.push(Artifact {
                    name: input.clone(),
                    ..Default::default()
                });
            } else {
                inputs.parameters.push(Parameter {
                    name: input.clone(),
                    ..Default::default()
                });
            }
        }
        let mut outputs = declared.unwrap_or_default();
        for (output, source) in routes.exports.get(&g).into_iter().flatten() {
            if is_artifact(source) {
                outputs.artifacts.push(Artifact {
                    name: output.clone(),
                    from: Some(source.placeholder()),
                    ..Default::default()
                });
            } else {
                // Argo computes a DAG's outputs only when it succeeded, and
                // fails the group when one cannot be read
                // (`operator.go` `resolveExportedOutputs`): the output of a
                // member that was skipped is then the empty text.
                let skippable = matches!(source, Source::Task { task, .. } if self.plan.skippable.contains(task));
                outputs.parameters.push(Parameter {
                    name: output.clone(),
                    value_from: Some(ValueFrom {
                        parameter: Some(source.placeholder()),
                        default: skippable.then(String::new),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
        drop(routes);
        Template {
            name,
            inputs,
            outputs,
            dag: Some(Dag {
                tasks: self.take_tasks(DagId::Group(g)),
            }),
            ..Default::default()
        }
    }

    /// The outputs a group template's shared DAG template declares, read
    /// from the first use's copy of the members (a model passes its run
    /// id: readers write the `runs:/` URI around it).
    pub(super) fn template_outputs(&mut self, g: GroupId) -> Inputs {
        let plan = self.plan;
        let mut out = Inputs::default();
        let Some(uses) = &plan.pipeline.group(g).uses else {
            return out;
        };
        plan.at.set(DagId::Group(g));
        for o in &uses.outputs {
            let routed = match &o.source {
                Ref::Output { stage, output, .. } => {
                    let task = plan.done_task(*stage).to_string();
                    let (kind, name) = match &o.ty {
                        Ty::ModelUri => (Kind::Parameter, "run_id"),
                        t if t.is_artifact() => (Kind::Artifact, output.as_str()),
                        _ => (Kind::Parameter, output.as_str()),
                    };
                    plan.stage_output(*stage, &task, kind, name)
                }
                Ref::Metric { stage, name, .. } => {
                    let gate = plan.gate_task(*stage).to_string();
                    plan.stage_output(*stage, &gate, Kind::Parameter, name)
                }
                _ => continue,
            };
            if o.ty.is_artifact() {
                out.artifacts.push(Artifact {
                    name: o.name.to_string(),
                    from: Some(routed.source.placeholder()),
                    ..Default::default()
                });
            } else {
                let skippable = matches!(&routed.source, Source::Task { task, .. } if plan.skippable.contains(task));
                out.parameters.push(Parameter {
                    name: o.name.to_string(),
                    value_from: Some(ValueFrom {
                        parameter: Some(routed.source.placeholder()),
                        default: skippable.then(String::new),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
        out
    }

    /// A DAG's tasks, in source order.
    pub(super) fn take_tasks(&mut self, dag: DagId) -> Vec<DagTask> {
        let mut tasks = self.tasks.remove(&dag).unwrap_or_default();
        tasks.sort_by_key(|(key, _)| *key);
        tasks.into_iter().map(|(_, t)| t).collect()
    }

    /// `finally`'s DAG: its stages and groups, then the MLflow clean-up
    /// (ending runs a failed or stopped workflow left open) once all of
    /// them have ended, however they ended; and at once the deletion of
    /// the run's training jobs (`training`).
    pub(super) fn finally_template(
        &mut self,
        name: String,
        cleanup: Option<&str>,
        training: Option<&str>,
    ) -> Template {
        let plan = self.plan;
        let mut tasks = self.take_tasks(DagId::Finally);
        if let (Some(template), Some(task)) = (training, &plan.training_cleanup_task) {
            tasks.push(DagTask {
                name: task.clone(),
                template: template.to_string(),
                ..Default::default()
            });
        }
        if let Some(cleanup) = cleanup {
            let ended: Vec<String> = plan
                .pipeline
                .finally
                .iter()
                .flat_map(|&n| plan.node_tasks(n))
                .collect::<BTreeSet<String>>()
                .into_iter()
                .map(|t| format!("({t} || {t}.Failed || {t}.Errored || {t}.Omitted)"))
                .collect();
            tasks.push(DagTask {
                name: plan.cleanup_task.clone(),
                template: cleanup.to_string(),
                depends: (!ended.is_empty()).then(|| ended.join(" && ")),
                ..Default::default()
            });
        }
        Template {
            name,
            dag: Some(Dag { tasks }),
            ..Default::default()
        }
    }
}

fn is_artifact(source: &Source) -> bool {
    matches!(
        source,
        Source::Task {
            kind: Kind::Artifact,
            ..
        } | Source::Input {
            kind: Kind::Artifact,
            ..
        }
    )
}
