//! Reading a value made in another DAG: group DAG templates export their
//! members' outputs and import what their members read from outside.
//!
//! Argo scopes `tasks.NAME` to one DAG template: a task reads only its
//! siblings' outputs and its own template's inputs
//! (`workflow/controller/dag.go` `resolveDependencyReferences`, whose scope
//! holds the DAG template's `inputs` and the outputs of the task's
//! ancestors). So a value crossing a group's boundary is passed on at each
//! level: a member's output leaves its group as an output parameter of the
//! group's DAG template (`valueFrom.parameter`, or an output artifact
//! `from`), read in the parent as `tasks.GROUP.outputs...`; a value
//! entering a group is an input of its DAG template, passed by the task
//! that calls it, and read inside as `inputs...`. A looping group's task
//! aggregates each exported parameter into the JSON list of every item's
//! value (`operator.go` `processAggregateNodeOutputs`): the fan-in.
//!
//! Routes are recorded while stages are emitted (any order) and written
//! into the group templates and their calling tasks at the end.

use std::collections::{BTreeMap, BTreeSet};

use super::Plan;
use crate::collections::IndexMap;
use crate::plan::{index_loops, DagId};
use crate::sema::hir::{GroupId, NodeId, Ref, StageId};
use crate::sema::types::Ty;

/// Parameter or artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Parameter,
    Artifact,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Parameter => "parameters",
            Kind::Artifact => "artifacts",
        }
    }
}

/// Where a value is read from, in one DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// An output of a task of the DAG.
    Task {
        task: String,
        kind: Kind,
        name: String,
    },
    /// An input of the DAG's template.
    Input { kind: Kind, name: String },
    /// The current item of the loop on the task that calls the DAG (only
    /// on that task), or one key of it.
    Item(Option<String>),
}

impl Source {
    /// As Argo text: `{{tasks.t.outputs.parameters.x}}`.
    pub(super) fn placeholder(&self) -> String {
        match self {
            Source::Task { task, kind, name } => {
                format!("{{{{tasks.{task}.outputs.{}.{name}}}}}", kind.plural())
            }
            Source::Input { kind, name } => format!("{{{{inputs.{}.{name}}}}}", kind.plural()),
            Source::Item(None) => "{{item}}".into(),
            Source::Item(Some(k)) => format!("{{{{item.{k}}}}}"),
        }
    }

    /// As an expr operand of an expression tag: `tasks['t'].outputs...`.
    pub(super) fn expression(&self) -> String {
        match self {
            Source::Task { task, kind, name } => {
                format!("tasks['{task}'].outputs.{}['{name}']", kind.plural())
            }
            Source::Input { kind, name } => format!("inputs.{}['{name}']", kind.plural()),
            Source::Item(None) => "item".into(),
            Source::Item(Some(k)) => format!("item['{k}']"),
        }
    }
}

/// A value as the reading DAG sees it, and the task of that DAG it waits
/// for (none when it is an input of the DAG's template).
pub(super) struct Routed {
    pub(super) source: Source,
    pub(super) dep: Option<String>,
}

/// The key of an indexed loop's item that holds the item's index.
pub(super) const INDEX_KEY: &str = "mlp-index";

/// The field of Argo's `item` that holds a loop's item (`None`: the item
/// itself), or one key of it ([`INDEX_KEY`]: its index). The items of an
/// indexed loop (`Plan::indexed`) are maps of strings: `mlp-index`, the item
/// as text (`mlp-item`), and each key read inside (`mlp-key-KEY`); Argo
/// substitutes a map item's keys one by one (`{{item.KEY}}`), and has no
/// index of its own.
pub(super) fn item_field(indexed: bool, key: Option<&str>) -> Option<String> {
    match (indexed, key) {
        (false, key) => key.map(str::to_string),
        (true, None) => Some("mlp-item".into()),
        (true, Some(INDEX_KEY)) => Some(INDEX_KEY.into()),
        (true, Some(k)) => Some(format!("mlp-key-{k}")),
    }
}

/// What each group's DAG template exports and imports, and what the task
/// calling it waits for because of its imports.
#[derive(Default)]
pub(super) struct Routes {
    pub(super) exports: BTreeMap<GroupId, IndexMap<String, Source>>,
    /// Name -> what the calling task passes (in the parent's DAG).
    pub(super) imports: BTreeMap<GroupId, IndexMap<String, Source>>,
    pub(super) deps: BTreeMap<GroupId, BTreeSet<String>>,
}

impl Plan<'_> {
    /// Output `name` of `task` (a task of `from`) as the DAG being emitted
    /// reads it.
    pub(super) fn routed_output(&self, from: DagId, task: &str, kind: Kind, name: &str) -> Routed {
        let at = self.at.get();
        let source = Source::Task {
            task: task.to_string(),
            kind,
            name: name.to_string(),
        };
        if at == from {
            return Routed {
                source,
                dep: Some(task.to_string()),
            };
        }
        let (out_of, into) = self.crossings(at, from);
        let key = format!("{task}-{name}");
        let mut routes = self.routes.borrow_mut();
        let mut source = source;
        let mut dep = task.to_string();
        for g in out_of {
            routes
                .exports
                .entry(g)
                .or_default()
                .entry(key.clone())
                .or_insert(source);
            dep = self.groups[g.index()].task.clone();
            source = Source::Task {
                task: dep.clone(),
                kind,
                name: key.clone(),
            };
        }
        if into.is_empty() {
            return Routed {
                source,
                dep: Some(dep),
            };
        }
        routes.deps.entry(into[0]).or_default().insert(dep);
        for g in into {
            routes
                .imports
                .entry(g)
                .or_default()
                .entry(key.clone())
                .or_insert(source);
            source = Source::Input {
                kind,
                name: key.clone(),
            };
        }
        Routed { source, dep: None }
    }

    /// The item (or one key of it, or its index: [`INDEX_KEY`]) of loop
    /// group `group`, which holds the DAG being emitted.
    pub(super) fn routed_item(&self, group: GroupId, key: Option<&str>) -> Source {
        let name = match key {
            None => format!("{}-item", self.groups[group.index()].task),
            Some(k) => format!("{}-item-{k}", self.groups[group.index()].task),
        };
        let item = Source::Item(item_field(
            self.indexed.contains_key(&NodeId::Group(group)),
            key,
        ));
        let chain = self.dag_chain(self.at.get());
        let Some(pos) = chain.iter().position(|g| *g == group) else {
            return item;
        };
        let mut routes = self.routes.borrow_mut();
        let mut source = item;
        for &g in chain[..=pos].iter().rev() {
            routes
                .imports
                .entry(g)
                .or_default()
                .entry(name.clone())
                .or_insert(source);
            source = Source::Input {
                kind: Kind::Parameter,
                name: name.clone(),
            };
        }
        source
    }

    /// An input of the group template whose copy holds the DAG being
    /// emitted: an input of the using group's DAG template, passed on into
    /// the groups inside it. Its kind, as the template declares it.
    pub(super) fn routed_group_input(&self, name: &str) -> (Source, Kind) {
        let chain = self.dag_chain(self.at.get());
        let holder = chain
            .iter()
            .position(|g| self.pipeline.group(*g).uses.is_some());
        let kind = holder
            .and_then(|pos| self.pipeline.group(chain[pos]).uses.as_ref())
            .and_then(|u| {
                self.program
                    .group_template(u.template)
                    .inputs
                    .iter()
                    .find(|i| i.name == name)
            })
            .map_or(Kind::Parameter, |i| {
                if i.ty.is_artifact() {
                    Kind::Artifact
                } else {
                    Kind::Parameter
                }
            });
        let mut source = Source::Input {
            kind,
            name: name.to_string(),
        };
        if let Some(pos) = holder {
            let mut routes = self.routes.borrow_mut();
            for &g in chain[..pos].iter().rev() {
                routes
                    .imports
                    .entry(g)
                    .or_default()
                    .entry(name.to_string())
                    .or_insert(source.clone());
                source = Source::Input {
                    kind,
                    name: name.to_string(),
                };
            }
        }
        (source, kind)
    }

    /// A declared output of a group that uses a template, as the DAG
    /// being emitted reads it; its type; and, for a model, where the model
    /// lies in its run (the output passes the run id).
    pub(super) fn routed_group_output(
        &self,
        group: GroupId,
        output: &str,
    ) -> (Routed, Ty, Option<String>) {
        let declared = self.group_output(group, output);
        let ty = declared.map_or(Ty::String, |o| o.ty.clone());
        let model_path = match declared.map(|o| &o.source) {
            Some(Ref::Output { stage, .. }) if ty == Ty::ModelUri => Some(self.model_path(*stage)),
            _ => None,
        };
        let kind = if ty.is_artifact() {
            Kind::Artifact
        } else {
            Kind::Parameter
        };
        let task = self.groups[group.index()].task.clone();
        let routed = self.routed_output(self.dag_of(NodeId::Group(group)), &task, kind, output);
        (routed, ty, model_path)
    }

    /// The task of the DAG being emitted to wait for, so that `task` (of
    /// `from`) has ended: `task` itself, or the group holding it at this
    /// level. `None` when the wait is on the task calling the group being
    /// emitted, which records it.
    pub(super) fn routed_wait(&self, from: DagId, task: &str) -> Option<String> {
        let (out_of, into) = self.crossings(self.at.get(), from);
        let dep = out_of
            .last()
            .map_or_else(|| task.to_string(), |g| self.groups[g.index()].task.clone());
        match into.first() {
            None => Some(dep),
            Some(g) => {
                self.routes
                    .borrow_mut()
                    .deps
                    .entry(*g)
                    .or_default()
                    .insert(dep);
                None
            }
        }
    }

    /// Where the items of `stage`'s loop write its collected artifact
    /// `output`, under `indices` (texts): one prefix per run and output,
    /// then one segment per index (see [`Plan::shared_indices`]).
    pub(super) fn collected_key(&self, stage: StageId, output: &str, indices: &[String]) -> String {
        let mut key = format!(
            "mlp/{{{{workflow.uid}}}}/{}-{output}",
            self.stage(stage).task
        );
        for i in indices {
            key.push('/');
            key.push_str(i);
        }
        key
    }

    /// The indices of the loops making `stage`'s collected artifacts that
    /// also hold their readers (all but the innermost), outermost first: as
    /// (input name, source) in the DAG being emitted.
    pub(super) fn shared_indices(&self, stage: StageId) -> Vec<(String, Source)> {
        let mut loops = index_loops(self.pipeline, &self.stages, stage);
        loops.pop();
        loops.into_iter().map(|l| self.index_of(l)).collect()
    }

    /// The indices of every loop making `stage`'s collected artifacts,
    /// outermost first, as [`Plan::shared_indices`] gives them.
    pub(super) fn all_indices(&self, stage: StageId) -> Vec<(String, Source)> {
        index_loops(self.pipeline, &self.stages, stage)
            .into_iter()
            .map(|l| self.index_of(l))
            .collect()
    }

    /// The current index of a loop, as the DAG being emitted reads it.
    fn index_of(&self, node: NodeId) -> (String, Source) {
        match node {
            NodeId::Stage(_) => (INDEX_KEY.into(), Source::Item(Some(INDEX_KEY.into()))),
            NodeId::Group(g) => (
                format!("{}-index", self.groups[g.index()].task),
                self.routed_item(g, Some(INDEX_KEY)),
            ),
        }
    }

    /// The groups a value leaves (from `from`, innermost first) and enters
    /// (to `at`, outermost first) on its way.
    fn crossings(&self, at: DagId, from: DagId) -> (Vec<GroupId>, Vec<GroupId>) {
        let a = self.dag_chain(at);
        let f = self.dag_chain(from);
        let common = a
            .iter()
            .rev()
            .zip(f.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let out_of = f[..f.len() - common].to_vec();
        let mut into = a[..a.len() - common].to_vec();
        into.reverse();
        (out_of, into)
    }
}
