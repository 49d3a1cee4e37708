//! A compiled workflow's DAG run under a scenario, following
//! `workflow/controller/dag.go`:
//!
//! - `executeDAG`: the target tasks are the leaves (`findLeafTaskNames`:
//!   tasks no other task depends on); each task is executed after its
//!   dependencies (`executeDAGTask` recurses into them first); the DAG's
//!   phase comes from `assessDAGPhase`.
//! - `executeDAGTask`, in order: (1) `depends` (see `depends`): an
//!   evaluation error makes the node `Error`, `false` makes it `Omitted`;
//!   (2) `resolveDependencyReferences`: the task is substituted with the
//!   global parameters and the outputs of its ancestors
//!   (`buildLocalScopeFromTask` / `common.GetTaskAncestry`: the transitive
//!   dependencies, nothing else), unresolved tags kept (an expression tag
//!   `{{=...}}` in the `when` is evaluated here, over the same values, and
//!   govaluate then reads its `true`/`false`; see `substitution`);
//!   `shouldExecute` on the substituted `when`: an error is the node's `Error` unless the task
//!   expands (`withItems`/`withParam`: its `when` may hold `{{item}}`);
//!   when it proceeds, each argument artifact `from` must resolve, else
//!   `Error`; (3) `expandTask`: `withParam` must parse as a JSON list
//!   (unless the `when` is false), each item is substituted by
//!   `processItem` with `allowUnresolved = false` (an unresolved tag is an
//!   error of the whole task; artifact references are left to artifact
//!   resolution, as `simple_template.go` does for `.outputs.artifacts.`),
//!   no items gives a `Skipped` node ("Skipped,
//!   empty params"), items give a TaskGroup; (4) per task (or item):
//!   `shouldExecute(when)`: error -> `Error`, false -> `Skipped`, true ->
//!   `executeTemplate`; (5) a TaskGroup is `Succeeded` unless a child is
//!   Failed/Error (the last such child's phase) - children that were all
//!   `Skipped` make a `Succeeded` group.
//! - `executeTemplate` of a pod template: `ProcessArgs` (a missing input is
//!   an `Error`), memoization (see `memoize`: an invalid key is an `Error`
//!   before the pod), then the pod's outcome from the scenario; of a DAG
//!   template: a nested run whose phase is the node's. Argo substitutes a
//!   nested DAG's inputs into its text first (`SubstituteParams`); the
//!   model instead adds `inputs.parameters.X` to the nested tasks' scope,
//!   which gives the same text for simple tags (an expression tag mixing
//!   `inputs` with `tasks` would resolve here and not in Argo; mlpc emits
//!   none).
//! - `assessDAGPhase` with failFast (the default: `dag.failFast` nil): each
//!   target's branch phase is its own when Completed (Succeeded, Failed,
//!   Error), else (Skipped, Omitted) the phase inherited from its parents,
//!   Failed/Error preferred; the DAG fails with the first failed target
//!   branch, else succeeds. The workflow's phase is the entry DAG's.
//!
//! Not modelled: retries (a scenario gives a task's final outcome; see
//! `retry`), `continueOn` beyond `depends` expansion, hooks, onExit,
//! parallelism (it orders pods, it does not change outcomes), aggregated
//! outputs of TaskGroups (mlpc never reads them), pod-level substitution.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::depends::{self, TaskResults};
use super::govaluate;
use super::memoize::{self, PassScope};
use super::substitution::{self, Scope};
use super::Phase;

/// A compiled document: a Workflow, WorkflowTemplate or CronWorkflow.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub spec: Value,
    pub entry: String,
    /// `spec.arguments.parameters`: name -> value.
    pub params: BTreeMap<String, String>,
}

impl Workflow {
    pub fn from_doc(doc: &Value) -> Workflow {
        let spec = doc["spec"]
            .get("workflowSpec")
            .unwrap_or(&doc["spec"])
            .clone();
        let entry = spec["entrypoint"].as_str().expect("entrypoint").to_string();
        let params = spec["arguments"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let v = match &p["value"] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (p["name"].as_str().unwrap().to_string(), v)
            })
            .collect();
        Workflow {
            spec,
            entry,
            params,
        }
    }

    pub fn template(&self, name: &str) -> Option<&Value> {
        self.spec["templates"]
            .as_array()?
            .iter()
            .find(|t| t["name"] == name)
    }

    /// The tasks of a DAG template.
    pub fn tasks(&self, template: &str) -> &[Value] {
        self.template(template)
            .and_then(|t| t["dag"]["tasks"].as_array())
            .map_or(&[], Vec::as_slice)
    }
}

/// What the cluster does: per task name (of any DAG, items included), the
/// pods' outcome and the output parameters they write.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Overrides of `spec.arguments.parameters` at submit time.
    pub params: BTreeMap<String, String>,
    /// Tasks whose pods fail (final outcome, after retries).
    pub fail: BTreeSet<String>,
    /// task -> output parameter -> the value its pod writes.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The value of any other output parameter.
    pub default_output: String,
    pub pass: PassScope,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            params: BTreeMap::new(),
            fail: BTreeSet::new(),
            outputs: BTreeMap::new(),
            default_output: "1".into(),
            pass: PassScope::GlobalsAndInputs,
        }
    }
}

impl Scenario {
    pub fn output(mut self, task: &str, name: &str, value: &str) -> Self {
        self.outputs
            .entry(task.into())
            .or_default()
            .insert(name.into(), value.into());
        self
    }
    pub fn failing(mut self, task: &str) -> Self {
        self.fail.insert(task.into());
        self
    }
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Pod,
    /// Skipped / Omitted / errored before a template ran (`NodeTypeSkipped`).
    Skipped,
    TaskGroup,
    Dag,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub phase: Phase,
    pub kind: NodeKind,
    pub message: String,
    /// Pods that ran under this node (itself, items, nested DAG tasks).
    pub pods: usize,
    /// Phases of a TaskGroup's children.
    pub children: Vec<Phase>,
    pub outputs: BTreeMap<String, String>,
    pub artifacts: BTreeSet<String>,
}

impl Node {
    fn bare(phase: Phase, message: impl Into<String>) -> Node {
        Node {
            phase,
            kind: NodeKind::Skipped,
            message: message.into(),
            pods: 0,
            children: Vec::new(),
            outputs: BTreeMap::new(),
            artifacts: BTreeSet::new(),
        }
    }
}

/// The result of a run: every node by its path (`task`, `outer/inner`,
/// `outer/inner(0:a)`), the entry DAG's task nodes, and the workflow's
/// phase.
#[derive(Clone, Debug)]
pub struct Run {
    pub phase: Phase,
    pub nodes: BTreeMap<String, Node>,
    pub top: BTreeMap<String, Node>,
}

impl Run {
    /// A node by path; panics with the known paths when absent.
    pub fn node(&self, path: &str) -> &Node {
        self.nodes.get(path).unwrap_or_else(|| {
            panic!(
                "no node {path}; nodes: {:?}",
                self.nodes.keys().collect::<Vec<_>>()
            )
        })
    }

    /// Top-level tasks under which at least one pod ran.
    pub fn ran(&self) -> BTreeSet<String> {
        self.top
            .iter()
            .filter(|(_, n)| n.pods > 0)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The phase of a top-level task.
    pub fn phase(&self, task: &str) -> Phase {
        self.node(task).phase
    }

    /// `task: Phase message` of every top-level node, for messages.
    pub fn summary(&self) -> String {
        self.top
            .iter()
            .map(|(k, n)| format!("{k}: {:?} {}", n.phase, n.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs the workflow's entry DAG.
pub fn run(wf: &Workflow, scenario: &Scenario) -> Run {
    let mut params = wf.params.clone();
    params.extend(scenario.params.clone());
    let globals = substitution::global_scope(&params);
    let mut sim = Sim {
        wf,
        scenario,
        globals: globals.clone(),
        nodes: BTreeMap::new(),
    };
    let (phase, top) = sim.dag(&wf.entry, "", &globals, &BTreeSet::new());
    Run {
        phase,
        nodes: sim.nodes,
        top,
    }
}

struct Sim<'a> {
    wf: &'a Workflow,
    scenario: &'a Scenario,
    globals: Scope,
    nodes: BTreeMap<String, Node>,
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The strings of a task that substitution touches, kept in a flat form.
#[derive(Clone, Debug, Default)]
struct TaskText {
    when: String,
    with_param: Option<String>,
    params: Vec<(String, String)>,
    artifacts: Vec<(String, String)>,
}

impl TaskText {
    fn of(task: &Value) -> TaskText {
        let list = |key: &str, field: &str| -> Vec<(String, String)> {
            task["arguments"][key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (str_of(&p["name"]), str_of(&p[field])))
                .collect()
        };
        TaskText {
            when: str_of(&task["when"]),
            with_param: task["withParam"].as_str().map(String::from),
            params: list("parameters", "value"),
            artifacts: list("artifacts", "from"),
        }
    }

    fn map(&self, f: &dyn Fn(&str) -> Result<String, String>) -> Result<TaskText, String> {
        Ok(TaskText {
            when: f(&self.when)?,
            with_param: self.with_param.as_deref().map(f).transpose()?,
            params: self
                .params
                .iter()
                .map(|(n, v)| Ok((n.clone(), f(v)?)))
                .collect::<Result<_, String>>()?,
            artifacts: self
                .artifacts
                .iter()
                .map(|(n, v)| Ok((n.clone(), f(v)?)))
                .collect::<Result<_, String>>()?,
        })
    }
}

impl Sim<'_> {
    /// `executeDAG`: runs a DAG template; returns its phase and task nodes.
    fn dag(
        &mut self,
        template: &str,
        prefix: &str,
        base: &Scope,
        input_artifacts: &BTreeSet<String>,
    ) -> (Phase, BTreeMap<String, Node>) {
        let tasks: Vec<Value> = self.wf.tasks(template).to_vec();
        let by_name: BTreeMap<String, &Value> =
            tasks.iter().map(|t| (str_of(&t["name"]), t)).collect();
        let deps: BTreeMap<String, BTreeSet<String>> = tasks
            .iter()
            .map(|t| {
                let mut d = depends::dependencies(&str_of(&t["depends"]));
                for x in t["dependencies"].as_array().into_iter().flatten() {
                    d.insert(str_of(x));
                }
                (str_of(&t["name"]), d)
            })
            .collect();
        let continue_on = |name: &str| -> depends::ContinueOn {
            by_name.get(name).map_or((false, false), |t| {
                (
                    t["continueOn"]["error"] == true,
                    t["continueOn"]["failed"] == true,
                )
            })
        };
        let path = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            }
        };
        // Dependencies first (executeDAGTask recurses into them).
        let mut done: BTreeMap<String, Node> = BTreeMap::new();
        while done.len() < tasks.len() {
            let next = tasks
                .iter()
                .map(|t| str_of(&t["name"]))
                .find(|n| !done.contains_key(n) && deps[n].iter().all(|d| done.contains_key(d)));
            let Some(name) = next else {
                panic!("dependency cycle or unknown dependency in {template}: {deps:?}")
            };
            let task = by_name[&name];
            let node = self.task(
                task,
                &name,
                &path(&name),
                &deps,
                &done,
                base,
                input_artifacts,
                &continue_on,
            );
            self.nodes.insert(path(&name), node.clone());
            done.insert(name, node);
        }
        // assessDAGPhase.
        let dependants: BTreeSet<&String> = deps.values().flatten().collect();
        let targets: Vec<&String> = deps.keys().filter(|n| !dependants.contains(n)).collect();
        let mut memo: BTreeMap<String, BTreeSet<Phase>> = BTreeMap::new();
        for t in targets {
            let branch = branch_phases(t, &deps, &done, &mut memo);
            if let Some(p) = [Phase::Failed, Phase::Error]
                .into_iter()
                .find(|p| branch.contains(p))
            {
                return (p, done);
            }
        }
        (Phase::Succeeded, done)
    }

    #[allow(clippy::too_many_arguments)]
    fn task(
        &mut self,
        task: &Value,
        name: &str,
        path: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        done: &BTreeMap<String, Node>,
        base: &Scope,
        input_artifacts: &BTreeSet<String>,
        continue_on: &dyn Fn(&str) -> depends::ContinueOn,
    ) -> Node {
        // (1) depends.
        let depends_text = str_of(&task["depends"]);
        if !depends_text.is_empty() {
            let results: BTreeMap<String, TaskResults> = deps[name]
                .iter()
                .map(|d| {
                    let n = &done[d];
                    let kids = (n.kind == NodeKind::TaskGroup).then_some(n.children.as_slice());
                    (d.clone(), TaskResults::of(n.phase, kids))
                })
                .collect();
            match depends::evaluate(&depends_text, continue_on, &results) {
                Err(e) => return Node::bare(Phase::Error, e),
                Ok(false) => {
                    return Node::bare(Phase::Omitted, "omitted: depends condition not met")
                }
                Ok(true) => {}
            }
        }
        // (2) resolveDependencyReferences, over the ancestors' outputs.
        let mut scope = base.clone();
        let mut artifact_scope: BTreeSet<String> = input_artifacts
            .iter()
            .map(|a| format!("inputs.artifacts.{a}"))
            .collect();
        for a in ancestors(name, deps) {
            let n = &done[&a];
            for (k, v) in &n.outputs {
                scope.insert(format!("tasks.{a}.outputs.parameters.{k}"), v.clone());
            }
            for art in &n.artifacts {
                artifact_scope.insert(format!("tasks.{a}.outputs.artifacts.{art}"));
            }
        }
        let text = TaskText::of(task);
        let resolved = match text.map(&|s| substitution::replace(s, &scope, true)) {
            Ok(t) => t,
            Err(e) => return Node::bare(Phase::Error, e),
        };
        let expands = task.get("withItems").is_some() || task.get("withParam").is_some();
        let proceed = match govaluate::should_execute(&resolved.when) {
            Ok(p) => p,
            Err(_) if expands => true,
            Err(e) => return Node::bare(Phase::Error, e),
        };
        if proceed {
            for (art, from) in &resolved.artifacts {
                let key = from
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim();
                if !artifact_scope.contains(key) {
                    return Node::bare(
                        Phase::Error,
                        format!("Unable to resolve: {from} (artifact {art})"),
                    );
                }
            }
        }
        // (3) expandTask.
        if !expands {
            return match govaluate::should_execute(&resolved.when) {
                Err(e) => Node::bare(Phase::Error, e),
                Ok(false) => Node::bare(
                    Phase::Skipped,
                    format!("when '{}' evaluated false", resolved.when),
                ),
                Ok(true) => self.template(task, name, path, &resolved),
            };
        }
        let items: Vec<Value> = if let Some(items) = task["withItems"].as_array() {
            items.clone()
        } else {
            let raw = resolved.with_param.clone().unwrap_or_default();
            match serde_json::from_str::<Vec<Value>>(&raw) {
                Ok(items) => items,
                Err(e) => match govaluate::should_execute(&resolved.when) {
                    Ok(false) => Vec::new(),
                    _ => {
                        return Node::bare(
                            Phase::Error,
                            format!(
                                "withParam value could not be parsed as a JSON list: {raw}: {e}"
                            ),
                        )
                    }
                },
            }
        };
        let mut expanded = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let (item_scope, label) = item_scope(item);
            // processItem: every tag must resolve, except artifact references
            // (simpleReplaceStrict leaves `.outputs.artifacts.` to artifact
            // resolution, which already ran when the task proceeds).
            let artifacts = resolved.artifacts.clone();
            let without = TaskText {
                artifacts: Vec::new(),
                ..resolved.clone()
            };
            match without.map(&|s| substitution::replace(s, &item_scope, false)) {
                Ok(t) => {
                    expanded.push((format!("{name}({i}:{label})"), TaskText { artifacts, ..t }))
                }
                Err(e) => return Node::bare(Phase::Error, e),
            }
        }
        if expanded.is_empty() {
            return Node::bare(Phase::Skipped, "Skipped, empty params");
        }
        let mut group = Node::bare(Phase::Succeeded, "");
        group.kind = NodeKind::TaskGroup;
        for (item_name, t) in expanded {
            let item_path = format!("{path}/{item_name}");
            let node = match govaluate::should_execute(&t.when) {
                Err(e) => Node::bare(Phase::Error, e),
                Ok(false) => {
                    Node::bare(Phase::Skipped, format!("when '{}' evaluated false", t.when))
                }
                Ok(true) => self.template(task, name, &item_path, &t),
            };
            if node.phase.failed_or_error() {
                group.phase = node.phase;
            }
            group.pods += node.pods;
            group.children.push(node.phase);
            self.nodes.insert(item_path, node);
        }
        group
    }

    /// `executeTemplate` for a task (or item) whose `when` let it run.
    fn template(&mut self, task: &Value, name: &str, path: &str, t: &TaskText) -> Node {
        let tname = str_of(&task["template"]);
        let Some(tmpl) = self.wf.template(&tname).cloned() else {
            return Node::bare(Phase::Error, format!("template {tname} not found"));
        };
        let args: BTreeMap<String, String> = t.params.iter().cloned().collect();
        let inputs = match memoize::input_values(&tmpl, &args) {
            Ok(i) => i,
            Err(e) => return Node::bare(Phase::Error, e),
        };
        let given: BTreeSet<String> = t.artifacts.iter().map(|(n, _)| n.clone()).collect();
        for a in tmpl["inputs"]["artifacts"].as_array().into_iter().flatten() {
            let n = str_of(&a["name"]);
            let located =
                a.get("s3").is_some() || a.get("http").is_some() || a.get("raw").is_some();
            if !given.contains(&n) && a["optional"] != true && !located {
                return Node::bare(
                    Phase::Error,
                    format!("inputs.artifacts.{n} was not supplied"),
                );
            }
        }
        if tmpl.get("dag").is_some() {
            let mut base = self.globals.clone();
            for (k, v) in &inputs {
                base.insert(format!("inputs.parameters.{k}"), v.clone());
            }
            let (phase, inner) = self.dag(&tname, path, &base, &given);
            let pods = inner.values().map(|n| n.pods).sum();
            let mut node = Node::bare(phase, "");
            node.kind = NodeKind::Dag;
            node.pods = pods;
            return node;
        }
        if let Err(e) = memoize::memoized_key(&tmpl, &args, &self.globals, self.scenario.pass) {
            return Node::bare(Phase::Error, e);
        }
        // The pod.
        let mut node = Node::bare(Phase::Succeeded, "");
        node.kind = NodeKind::Pod;
        node.pods = 1;
        if self.scenario.fail.contains(name) || self.scenario.fail.contains(path) {
            node.phase = Phase::Failed;
            node.message = "Error (exit code 1)".into();
            return node;
        }
        let written = self.scenario.outputs.get(name);
        for o in tmpl["outputs"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let n = str_of(&o["name"]);
            let v = written
                .and_then(|w| w.get(&n).cloned())
                .unwrap_or_else(|| self.scenario.default_output.clone());
            node.outputs.insert(n, v);
        }
        for a in tmpl["outputs"]["artifacts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            node.artifacts.insert(str_of(&a["name"]));
        }
        node
    }
}

/// `processItem`'s replace map and the item's part of the node name.
fn item_scope(item: &Value) -> (Scope, String) {
    let mut s = Scope::new();
    match item {
        Value::Object(m) => {
            let mut vals = Vec::new();
            for (k, v) in m {
                let text = str_of(v);
                s.insert(format!("item.{k}"), text.clone());
                vals.push(format!("{k}:{text}"));
            }
            vals.sort();
            s.insert("item".into(), item.to_string());
            (s, vals.join(","))
        }
        other => {
            let text = str_of(other);
            s.insert("item".into(), text.clone());
            (s, text)
        }
    }
}

/// `common.GetTaskAncestry`: every transitive dependency.
fn ancestors(name: &str, deps: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&String> = deps[name].iter().collect();
    while let Some(d) = stack.pop() {
        if out.insert(d.clone()) {
            stack.extend(deps[d].iter());
        }
    }
    out
}

/// The phases a node passes on to its children in `assessDAGPhase`'s walk:
/// its own when Completed, else what it inherited (roots inherit
/// Succeeded from the boundary).
fn branch_phases(
    name: &str,
    deps: &BTreeMap<String, BTreeSet<String>>,
    nodes: &BTreeMap<String, Node>,
    memo: &mut BTreeMap<String, BTreeSet<Phase>>,
) -> BTreeSet<Phase> {
    if let Some(p) = memo.get(name) {
        return p.clone();
    }
    let node = &nodes[name];
    let out = if node.phase.completed() {
        BTreeSet::from([node.phase])
    } else if deps[name].is_empty() {
        BTreeSet::from([Phase::Succeeded])
    } else {
        let mut s = BTreeSet::new();
        for d in &deps[name] {
            s.extend(branch_phases(d, deps, nodes, memo));
        }
        s
    };
    memo.insert(name.to_string(), out.clone());
    out
}
