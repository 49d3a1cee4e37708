//! The DAG components of a pipeline's IR: the tasks that run them (a loop's
//! task with its iterator, a group's with its `when`, the exit handler's
//! two), and, once every task is built, each component with the inputs and
//! outputs the [`Router`] recorded and the tasks it holds.

use std::collections::BTreeMap;

use super::dag::{self, DagKey, Router};
use super::ir::*;
use super::{cel, values};
use crate::diag::MlpError;
use crate::plan::Plan;
use crate::sema::hir::{NodeId, Value};
use crate::source::SourceSet;

/// The tasks that run DAG components, each with the DAG it is in and the
/// component it runs.
pub fn calling_tasks(
    plan: &Plan<'_>,
    router: &mut Router,
    errors: &mut Vec<MlpError>,
    sources: &SourceSet,
) -> Vec<(DagKey, DagKey, Task)> {
    // The tasks that run DAG components: loops of stages, groups, and the
    // exit handler's two when there is `finally`.
    let mut dag_tasks: Vec<(DagKey, DagKey, Task)> = Vec::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let id = crate::sema::hir::StageId(i);
        if s.fan_out.is_some() {
            let key = DagKey::Loop(id);
            let parent = *dag::path_of(plan, NodeId::Stage(id))
                .last()
                .unwrap_or(&DagKey::Root);
            let mut task = calling_task(&plan.pipeline.stage(id).name);
            task.dependent_tasks = order_deps(plan, NodeId::Stage(id));
            loop_items(
                plan,
                router,
                key,
                s.fan_out.and_then(|f| f.parallelism),
                &mut task,
                errors,
                sources,
            );
            dag_tasks.push((parent, key, task));
        }
    }
    for (i, g) in plan.groups.iter().enumerate() {
        let gid = crate::sema::hir::GroupId(i);
        let key = DagKey::Group(gid);
        let group = plan.pipeline.group(gid);
        let path = dag::path_of(plan, NodeId::Group(gid));
        let parent = *path.last().unwrap_or(&DagKey::Root);
        let mut task = calling_task(&group.name);
        task.dependent_tasks = order_deps(plan, NodeId::Group(gid));
        if let Some(w) = &group.when {
            let mut operands = DagOperands {
                plan,
                router,
                path: &path,
                task: &mut task,
            };
            match cel::condition(&w.value, &mut operands) {
                Ok(c) => {
                    task.trigger_policy = Some(TriggerPolicy {
                        condition: Some(c),
                        strategy: None,
                    })
                }
                Err(what) => errors.push(MlpError::KfpNotYet {
                    src: sources.named(w.span.source),
                    at: w.span,
                    what,
                }),
            }
        }
        if g.fan_out.is_some() {
            loop_items(
                plan,
                router,
                key,
                g.fan_out.and_then(|f| f.parallelism),
                &mut task,
                errors,
                sources,
            );
        }
        dag_tasks.push((parent, key, task));
    }
    if dag::exit_handler(plan) {
        let main = calling_task(&dag::dag_task(plan, DagKey::Main));
        dag_tasks.push((DagKey::Root, DagKey::Main, main));
        let mut exit = calling_task("finally");
        exit.dependent_tasks = vec![dag::dag_task(plan, DagKey::Main)];
        exit.trigger_policy = Some(TriggerPolicy {
            condition: None,
            strategy: Some("ALL_UPSTREAM_TASKS_COMPLETED"),
        });
        if router.status_read {
            exit.inputs.parameters.insert(
                dag::STATUS.into(),
                ParameterInput::TaskFinalStatus(FinalStatus {
                    producer_task: dag::dag_task(plan, DagKey::Main),
                })
                .into(),
            );
        }
        dag_tasks.push((DagKey::Root, DagKey::Finally, exit));
    }
    dag_tasks
}

/// Puts each DAG component, with its routed inputs and outputs, into the
/// spec, each calling task into its parent DAG, and the root's tasks into
/// the root.
pub fn assemble(
    plan: &Plan<'_>,
    router: &Router,
    dag_tasks: Vec<(DagKey, DagKey, Task)>,
    mut dags: BTreeMap<DagKey, Dag>,
    spec: &mut PipelineSpec,
) {
    // Each DAG component's name: kfp's, with a suffix when a stage's
    // component already has it (a stage named `for_loop_x` beside a loop
    // stage `x`).
    let mut names: BTreeMap<DagKey, String> = BTreeMap::new();
    let mut taken: std::collections::BTreeSet<String> = spec.components.keys().cloned().collect();
    for (_, key, _) in &dag_tasks {
        let base = dag::component_name(plan, *key);
        let name = std::iter::once(base.clone())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .find(|n| !taken.contains(n))
            .unwrap_or(base);
        taken.insert(name.clone());
        names.insert(*key, name);
    }
    // The routes: what each DAG component takes and gives, and what the
    // task that calls it passes.
    let mut components: BTreeMap<DagKey, ComponentSpec> = BTreeMap::new();
    for (parent, key, mut task) in dag_tasks {
        let mut comp = ComponentSpec {
            dag: Some(dags.remove(&key).unwrap_or_default()),
            ..Default::default()
        };
        for (name, import) in router.imports.get(&key).into_iter().flatten() {
            match import.kind {
                dag::Kind::Parameter => {
                    if let Some(spec) = &import.parameter {
                        comp.input_definitions
                            .parameters
                            .insert(name.clone(), spec.clone());
                    }
                    task.inputs
                        .parameters
                        .insert(name.clone(), dag::parameter_input(&import.from).into());
                }
                dag::Kind::Artifact => {
                    if let Some(spec) = &import.artifact {
                        comp.input_definitions
                            .artifacts
                            .insert(name.clone(), spec.clone());
                    }
                    task.inputs
                        .artifacts
                        .insert(name.clone(), dag::artifact_input(&import.from));
                }
            }
            if let Some(p) = dag::producer(&import.from) {
                task.dependent_tasks.push(p.to_string());
            }
        }
        for (name, export) in router.exports.get(&key).into_iter().flatten() {
            let outputs = &mut comp.dag.get_or_insert_with(Dag::default).outputs;
            match export.kind {
                dag::Kind::Parameter => {
                    if let Some(spec) = &export.parameter {
                        comp.output_definitions
                            .parameters
                            .insert(name.clone(), spec.clone());
                    }
                    outputs.parameters.insert(
                        name.clone(),
                        ValueFromParameter {
                            value_from_parameter: ParameterSelector {
                                output_parameter_key: export.key.clone(),
                                producer_subtask: export.task.clone(),
                            },
                        },
                    );
                }
                dag::Kind::Artifact => {
                    if let Some(spec) = &export.artifact {
                        comp.output_definitions
                            .artifacts
                            .insert(name.clone(), spec.clone());
                    }
                    outputs.artifacts.insert(
                        name.clone(),
                        ArtifactSelectors {
                            artifact_selectors: vec![ArtifactSelector {
                                output_artifact_key: export.key.clone(),
                                producer_subtask: export.task.clone(),
                            }],
                        },
                    );
                }
            }
        }
        if key == DagKey::Finally && router.status_read {
            comp.input_definitions.parameters.insert(
                dag::STATUS.into(),
                ParameterSpec {
                    is_optional: true,
                    ..ParameterSpec::of(ParameterType::TaskFinalStatus)
                },
            );
        }
        // A loop's component declares its item and the list it runs over.
        if let Some(it) = &task.parameter_iterator {
            if let Some(ty) = dag::channel_type(plan, key) {
                comp.input_definitions
                    .parameters
                    .insert(it.item_input.clone(), ParameterSpec::of(ty));
            }
            if let Items::InputParameter(list) = &it.items {
                comp.input_definitions
                    .parameters
                    .insert(list.clone(), ParameterSpec::of(ParameterType::List));
            }
        }
        task.dependent_tasks.sort();
        task.dependent_tasks.dedup();
        let name = dag::dag_task(plan, key);
        task.component_ref = ComponentRef {
            name: names[&key].clone(),
        };
        components.insert(key, comp);
        dags.entry(parent).or_default().tasks.insert(name, task);
    }
    // Parents are filled after their children were taken out: put the
    // (now complete) task lists back into the components.
    for (key, comp) in components {
        let tasks = dags.remove(&key).map(|d| d.tasks).unwrap_or_default();
        let mut comp = comp;
        if let Some(dag) = comp.dag.as_mut() {
            dag.tasks.extend(tasks);
        }
        spec.components.insert(names[&key].clone(), comp);
    }
    if let Some(root) = dags.remove(&DagKey::Root) {
        spec.root.dag = Some(root);
    }
}

/// The siblings a node waits for through `after`: their done tasks.
pub fn order_deps(plan: &Plan<'_>, node: NodeId) -> Vec<String> {
    plan.order_waits[plan.graph.index(node)]
        .iter()
        .map(|t| plan.node_done_task(*t).to_string())
        .collect()
}

/// A task that runs a DAG component (its `componentRef` is set later).
fn calling_task(display: &str) -> Task {
    Task {
        caching_options: None,
        component_ref: ComponentRef {
            name: String::new(),
        },
        dependent_tasks: Vec::new(),
        inputs: TaskInputs::default(),
        iterator_policy: None,
        parameter_iterator: None,
        retry_policy: None,
        task_info: TaskInfo {
            name: display.to_string(),
        },
        trigger_policy: None,
    }
}

/// A loop task's iterator: over the literal items, or over a list its
/// parent DAG has (a parameter, another task's output).
fn loop_items(
    plan: &Plan<'_>,
    router: &mut Router,
    key: DagKey,
    parallelism: Option<i64>,
    task: &mut Task,
    errors: &mut Vec<MlpError>,
    sources: &SourceSet,
) {
    let Some(items) = dag::for_each(plan, key) else {
        return;
    };
    let item_input = dag::item_channel(plan, key);
    let items_spec = match &items.value {
        Value::List(list) if dag::indexed(plan, key) => Items::Raw(dag::indexed_items(list)),
        Value::List(_) => Items::Raw(crate::plan::literal::literal_json(&items.value).to_string()),
        Value::Ref(r) => {
            let path = match key {
                DagKey::Loop(s) => dag::path_of(plan, NodeId::Stage(s)),
                DagKey::Group(g) => dag::path_of(plan, NodeId::Group(g)),
                _ => vec![DagKey::Root],
            };
            match values::route(plan, router, &path, None, r) {
                Ok(routed) => {
                    let name = format!("{item_input}-items");
                    if let Some(p) = dag::producer(&routed.at) {
                        task.dependent_tasks.push(p.to_string());
                    }
                    task.inputs.parameters.insert(
                        name.clone(),
                        TaskParameter {
                            source: dag::parameter_input(&routed.at),
                            parameter_expression_selector: routed.selector,
                        },
                    );
                    Items::InputParameter(name)
                }
                Err(what) => {
                    errors.push(MlpError::KfpNotYet {
                        src: sources.named(items.span.source),
                        at: items.span,
                        what,
                    });
                    return;
                }
            }
        }
        _ => return,
    };
    task.parameter_iterator = Some(ParameterIterator {
        item_input,
        items: items_spec,
    });
    task.iterator_policy = parallelism.map(|n| IteratorPolicy {
        parallelism_limit: n,
    });
}

/// The operands of a group's `when`: inputs of the task that runs the
/// group, in its parent DAG.
struct DagOperands<'a, 'p> {
    plan: &'a Plan<'p>,
    router: &'a mut Router,
    path: &'a [DagKey],
    task: &'a mut Task,
}

impl cel::Operands for DagOperands<'_, '_> {
    fn operand(&mut self, r: &crate::sema::hir::Ref) -> Result<String, String> {
        let routed = values::route(self.plan, self.router, self.path, None, r)?;
        if routed.model_path.is_some() {
            return Err("a model's URI in a condition".into());
        }
        if let Some(p) = dag::producer(&routed.at) {
            self.task.dependent_tasks.push(p.to_string());
        }
        let (input, parameter) = routed.operand();
        self.task.inputs.parameters.insert(input.clone(), parameter);
        Ok(input)
    }
}
