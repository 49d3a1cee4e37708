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
//!   before the pod), then the pod's outcome from the scenario (outputs by
//!   path, then echoed inputs, then by task name); of a DAG template: a
//!   nested run whose phase is the node's. Argo substitutes a nested DAG's
//!   inputs into its text first (`SubstituteParams`, unresolved tags kept);
//!   at DAG time the tasks' scope is `createScope(tmpl)` (`scope.go`: the
//!   DAG's own `inputs.parameters.X`) plus the ancestors' outputs, which the
//!   model gives them directly - so an expression tag mixing `inputs` with
//!   `tasks` resolves, in Argo as here.
//! - DAG template outputs (`executeDAG` → `getTemplateOutputsFromScope`,
//!   see [`dag_outputs`]): only once the DAG succeeded, over its inputs and
//!   all its tasks; an unresolvable `valueFrom.parameter` takes
//!   `valueFrom.default`, else the DAG node is `Error` (so a skipped
//!   producer errs the group); `outputs.artifacts[].from` must resolve
//!   unless `optional`.
//! - Aggregated outputs (`processAggregateNodeOutputs`, see [`aggregate`]):
//!   a TaskGroup's outputs are, per output name, the JSON list of the
//!   Succeeded items' values in item order (decoded when every value is a
//!   JSON list or object: v3.6+, PR #13513), and `outputs.parameters` the
//!   list of their maps; a name no item gave is absent (a reference to it
//!   does not resolve). Artifacts are not aggregated.
//! - `onExit` (`operate`): after the entry DAG, `workflow.status` (the entry
//!   phase: Succeeded/Skipped/Omitted → `Succeeded`, `Failed`, `Error`) and
//!   `workflow.failures` (`strconv.Quote` of the JSON list of Failed/Error
//!   nodes, `"null"` when none) join the globals and the `spec.onExit`
//!   template runs as node `onExit` (its DAG's tasks `onExit/<task>`); a
//!   Succeeded run whose handler failed takes the handler's phase.
//! - `assessDAGPhase` with failFast (the default: `dag.failFast` nil): each
//!   target's branch phase is its own when Completed (Succeeded, Failed,
//!   Error), else (Skipped, Omitted) the phase inherited from its parents,
//!   Failed/Error preferred; the DAG fails with the first failed target
//!   branch, else succeeds. The workflow's phase is the entry DAG's.
//!
//! Not modelled: retries (a scenario gives a task's final outcome; see
//! `retry`), `continueOn` beyond `depends` expansion, hooks (task `onExit`,
//! `hooks.exit`, lifecycle hooks), parallelism (it orders pods, it does not
//! change outcomes), `outputs.result` and its aggregation, v3.5's
//! aggregation (always a list of strings), the failures' `podName` and
//! `finishedAt` (and Argo's unordered list: the model sorts by path),
//! `Stop`/`Terminate` (a stopped run reaches the handler as `Failed`),
//! v4's back-filling of skipped outputs, pod-level substitution.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::depends::{self, TaskResults};
use super::expr::{self, EValue};
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
    /// task (name or path) -> output parameter -> the input parameter whose
    /// value the pod writes as that output (`auc` = `lr`, per item).
    pub echo: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            params: BTreeMap::new(),
            fail: BTreeSet::new(),
            outputs: BTreeMap::new(),
            default_output: "1".into(),
            pass: PassScope::GlobalsAndInputs,
            echo: BTreeMap::new(),
        }
    }
}

impl Scenario {
    /// The pod of `task` (a name, or a path such as `g/g(0:a)/fit` for one
    /// item) writes `value` as its output `name`; a path wins over a name.
    pub fn output(mut self, task: &str, name: &str, value: &str) -> Self {
        self.outputs
            .entry(task.into())
            .or_default()
            .insert(name.into(), value.into());
        self
    }
    /// The pod of `task` writes its input parameter `input` as output `name`.
    pub fn echo(mut self, task: &str, name: &str, input: &str) -> Self {
        self.echo
            .entry(task.into())
            .or_default()
            .insert(name.into(), input.into());
        self
    }
    /// The pods of `task` (a name or a path) fail.
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
    /// Output parameters: a pod's, a DAG template's (`outputs.parameters`
    /// resolved from its tasks), or, for a TaskGroup, the aggregated JSON
    /// list per name (`processAggregateNodeOutputs`).
    pub outputs: BTreeMap<String, String>,
    /// A TaskGroup's `outputs.parameters`: the JSON list of each
    /// contributing item's `{name: value}` map.
    pub parameters_json: Option<String>,
    pub artifacts: BTreeSet<String>,
    /// The template the node ran (empty when none did).
    pub template: String,
    /// The template's input parameters as it ran (`ProcessArgs`): what its
    /// `{{inputs.parameters.X}}` tags (an artifact's `s3.key`, ...) read.
    pub inputs: BTreeMap<String, String>,
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
            parameters_json: None,
            artifacts: BTreeSet::new(),
            template: String::new(),
            inputs: BTreeMap::new(),
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
    /// The `spec.onExit` handler's node (its DAG's tasks are the nodes
    /// `onExit/<task>`), when the workflow has one.
    pub exit: Option<Node>,
    /// `workflow.status` and `workflow.failures` as the handler saw them.
    pub status: String,
    pub failures: String,
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
    let (entry, top) = sim.dag(&wf.entry, "", &globals, &BTreeSet::new());
    let status = workflow_status(entry).to_string();
    let failures = go_quote(&failures_json(&sim.nodes, entry, &wf.entry));
    let mut phase = entry;
    let mut exit = None;
    if let Some(handler) = wf.spec["onExit"].as_str() {
        sim.globals.insert("workflow.status".into(), status.clone());
        sim.globals
            .insert("workflow.failures".into(), failures.clone());
        let task = serde_json::json!({"name": "onExit", "template": handler});
        let node = sim.template(&task, "onExit", "onExit", &TaskText::default());
        sim.nodes.insert("onExit".into(), node.clone());
        // operate(): a Succeeded run whose handler fails takes its phase.
        if entry == Phase::Succeeded && node.phase.failed_or_error() {
            phase = node.phase;
        }
        exit = Some(node);
    }
    Run {
        phase,
        nodes: sim.nodes,
        top,
        exit,
        status,
        failures,
    }
}

/// `operate`: `workflow.status` from the entry node's phase.
fn workflow_status(entry: Phase) -> &'static str {
    match entry {
        Phase::Succeeded | Phase::Skipped | Phase::Omitted => "Succeeded",
        Phase::Failed => "Failed",
        Phase::Error => "Error",
        Phase::Pending => "Pending",
        Phase::Running => "Running",
    }
}

/// `operate`: the JSON list of every Failed or Error node (the entry node
/// included), `null` when there is none. Argo walks a map (no order) and
/// also writes `podName` and `finishedAt`; the model sorts by path and
/// writes `displayName`, `message`, `phase`, `templateName`.
fn failures_json(nodes: &BTreeMap<String, Node>, entry: Phase, entry_template: &str) -> String {
    let mut list: Vec<EValue> = Vec::new();
    let mut add = |display: &str, n: &Node| {
        let mut m = BTreeMap::new();
        m.insert("displayName".to_string(), EValue::Str(display.to_string()));
        m.insert("message".to_string(), EValue::Str(n.message.clone()));
        m.insert("phase".to_string(), EValue::Str(format!("{:?}", n.phase)));
        m.insert("templateName".to_string(), EValue::Str(n.template.clone()));
        list.push(EValue::Map(m));
    };
    if entry.failed_or_error() {
        let mut n = Node::bare(entry, "");
        n.template = entry_template.to_string();
        add("wf-abc12", &n);
    }
    for (path, n) in nodes {
        if n.phase.failed_or_error() {
            add(path.rsplit('/').next().unwrap_or(path), n);
        }
    }
    if list.is_empty() {
        return "null".into();
    }
    expr::go_json(&EValue::List(list)).unwrap_or_default()
}

/// Go's `strconv.Quote` of ASCII-or-printable text (as `operate` wraps
/// `workflow.failures`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `aggregatedJSONValueList` (v3.6+, PR #13513): the decoded values when
/// every one is a JSON list or object, else the JSON list of the strings.
pub fn aggregated_json_value_list(values: &[String]) -> String {
    let decoded: Option<Vec<EValue>> = values
        .iter()
        .map(|v| match expr::from_json(v) {
            Ok(x @ (EValue::List(_) | EValue::Map(_))) => Some(x),
            _ => None,
        })
        .collect();
    let list = decoded.unwrap_or_else(|| values.iter().cloned().map(EValue::Str).collect());
    expr::go_json(&EValue::List(list)).unwrap_or_default()
}

/// `processAggregateNodeOutputs`: a TaskGroup's outputs from its items (in
/// item order): only Succeeded items with outputs contribute; each output
/// name seen gets its JSON list; `outputs.parameters` is the list of the
/// contributing items' maps.
fn aggregate(group: &mut Node, items: &[Node]) {
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut maps: Vec<EValue> = Vec::new();
    for item in items {
        if item.phase != Phase::Succeeded || item.outputs.is_empty() {
            continue;
        }
        let mut m = BTreeMap::new();
        for (k, v) in &item.outputs {
            lists.entry(k.clone()).or_default().push(v.clone());
            m.insert(k.clone(), EValue::Str(v.clone()));
        }
        maps.push(EValue::Map(m));
    }
    group.parameters_json = Some(expr::go_json(&EValue::List(maps)).unwrap_or_default());
    for (k, values) in lists {
        group.outputs.insert(k, aggregated_json_value_list(&values));
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
            add_task_to_scope(&mut scope, &a, n);
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
        let mut item_nodes = Vec::new();
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
            self.nodes.insert(item_path, node.clone());
            item_nodes.push(node);
        }
        aggregate(&mut group, &item_nodes);
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
            // createScope(tmpl): the DAG's own inputs are in its tasks' scope.
            let input_scope: Scope = inputs
                .iter()
                .map(|(k, v)| (format!("inputs.parameters.{k}"), v.clone()))
                .collect();
            let mut base = self.globals.clone();
            base.extend(input_scope.clone());
            let (phase, inner) = self.dag(&tname, path, &base, &given);
            let pods = inner.values().map(|n| n.pods).sum();
            let mut node = Node::bare(phase, "");
            node.kind = NodeKind::Dag;
            node.pods = pods;
            node.template = tname;
            node.inputs = inputs;
            // executeDAG sets the outputs only once the DAG has succeeded.
            if phase == Phase::Succeeded {
                match dag_outputs(&tmpl, &input_scope, &inner, &given) {
                    Ok((outputs, artifacts)) => {
                        node.outputs = outputs;
                        node.artifacts = artifacts;
                    }
                    Err(e) => {
                        node.phase = Phase::Error;
                        node.message = e;
                    }
                }
            }
            return node;
        }
        if let Err(e) = memoize::memoized_key(&tmpl, &args, &self.globals, self.scenario.pass) {
            return Node::bare(Phase::Error, e);
        }
        // The pod.
        let mut node = Node::bare(Phase::Succeeded, "");
        node.kind = NodeKind::Pod;
        node.pods = 1;
        node.template = tname;
        node.inputs = inputs.clone();
        if self.scenario.fail.contains(name) || self.scenario.fail.contains(path) {
            node.phase = Phase::Failed;
            node.message = "Error (exit code 1)".into();
            return node;
        }
        let sc = self.scenario;
        let by_path = sc.outputs.get(path);
        let by_name = sc.outputs.get(name);
        let echo = sc.echo.get(path).or_else(|| sc.echo.get(name));
        for o in tmpl["outputs"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let n = str_of(&o["name"]);
            let v = by_path
                .and_then(|w| w.get(&n).cloned())
                .or_else(|| {
                    echo.and_then(|e| e.get(&n))
                        .and_then(|i| inputs.get(i).cloned())
                })
                .or_else(|| by_name.and_then(|w| w.get(&n).cloned()))
                .unwrap_or_else(|| sc.default_output.clone());
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

/// `buildLocalScope` / `processAggregateNodeOutputs`: what a finished task
/// puts in the scope of the tasks after it (a TaskGroup's outputs are its
/// aggregated lists, plus `outputs.parameters` as a whole).
fn add_task_to_scope(scope: &mut Scope, task: &str, n: &Node) {
    for (k, v) in &n.outputs {
        scope.insert(format!("tasks.{task}.outputs.parameters.{k}"), v.clone());
    }
    if let Some(all) = &n.parameters_json {
        scope.insert(format!("tasks.{task}.outputs.parameters"), all.clone());
    }
}

/// `executeDAG` → `getTemplateOutputsFromScope`: a succeeded DAG template's
/// `outputs`, resolved over `createScope(tmpl)` (its inputs, no globals) and
/// every task of the DAG. `valueFrom.parameter` is `template.ResolveVar` (a
/// simple tag looked up, an expression tag evaluated; missing or `nil` is
/// `Unable to resolve`), `valueFrom.expression` an expression; an error takes
/// `valueFrom.default` when there is one, else it is the DAG's error.
/// `outputs.artifacts[].from` must resolve unless the artifact is `optional`.
fn dag_outputs(
    tmpl: &Value,
    inputs: &Scope,
    tasks: &BTreeMap<String, Node>,
    input_artifacts: &BTreeSet<String>,
) -> Result<(BTreeMap<String, String>, BTreeSet<String>), String> {
    let mut scope = inputs.clone();
    let mut artifact_scope: BTreeSet<String> = input_artifacts
        .iter()
        .map(|a| format!("inputs.artifacts.{a}"))
        .collect();
    for (name, n) in tasks {
        add_task_to_scope(&mut scope, name, n);
        if n.kind != NodeKind::TaskGroup {
            for art in &n.artifacts {
                artifact_scope.insert(format!("tasks.{name}.outputs.artifacts.{art}"));
            }
        }
    }
    let tag_of = |s: &str| {
        s.trim()
            .trim_start_matches("{{")
            .trim_end_matches("}}")
            .to_string()
    };
    let evaluate = |e: &str| match expr::eval(e, &expr::env(&scope)) {
        Ok(EValue::Nil) | Err(_) => Err(format!("Unable to resolve: {e:?}")),
        Ok(v) => Ok(v.go_v()),
    };
    let mut outputs = BTreeMap::new();
    for o in tmpl["outputs"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = str_of(&o["name"]);
        let vf = &o["valueFrom"];
        let resolved = if let Some(p) = vf["parameter"].as_str() {
            let tag = tag_of(p);
            match tag.strip_prefix('=') {
                Some(e) => evaluate(e),
                None => scope
                    .get(tag.trim())
                    .cloned()
                    .ok_or_else(|| format!("Unable to resolve: {tag:?}")),
            }
        } else if let Some(e) = vf["expression"].as_str() {
            evaluate(e)
        } else {
            Err(format!("output parameter {name} has no valueFrom"))
        };
        let value = match (resolved, vf.get("default")) {
            (Ok(v), _) => v,
            (Err(_), Some(d)) if !d.is_null() => str_of(d),
            (Err(e), _) => return Err(e),
        };
        outputs.insert(name, value);
    }
    let mut artifacts = BTreeSet::new();
    for a in tmpl["outputs"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = str_of(&a["name"]);
        let from = str_of(&a["from"]);
        if artifact_scope.contains(&tag_of(&from)) {
            artifacts.insert(name);
        } else if a["optional"] != true {
            return Err(format!("Unable to resolve: {from:?} (artifact {name})"));
        }
    }
    Ok((outputs, artifacts))
}

/// `processItem`'s replace map and the item's part of the node name.
///
/// A map item's `item.KEY` is its value formatted by `wfv1.Item`
/// (`fmt.Sprintf("%v", itemVal)` over the item's map in v3's
/// `processItem`, `v.String()` in v4's, whose comment says it keeps the
/// pre-v4 formatting): see [`item_string`] - a string value keeps its JSON
/// escapes (argo-workflows issue #16061, open on v4.0.5; PR #4814 tried to
/// unescape and was reverted by PR #5076). A plain string item is its text
/// as is (`GetStrVal`, argo-workflows PR #14864, v4; before it, `%v` of the
/// item escaped it like a map value - issue #13718 - which the model does
/// not follow). A map item's `item` is `json.Marshal` of its map.
pub fn item_scope(item: &Value) -> (Scope, String) {
    let mut s = Scope::new();
    match item {
        Value::Object(m) => {
            let mut vals = Vec::new();
            for (k, v) in m {
                let text = item_string(v);
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

/// `wfv1.Item.String()` (pkg/apis/workflow/v1alpha1/item.go): the item's
/// JSON (`json.Marshal`, which writes a raw value compacted and escapes
/// `<`, `>`, `&` in strings as `\u003c`...), then, for a string, the outer
/// quotes cut off - its escapes (`\"`, `\\`, `\n`, `\u0001`, ...) stay -
/// and `util/json/fix.go` `Fix` turning `\u003c`, `\u003e`, `\u0026` back
/// into `<`, `>`, `&`. A number keeps the text it had in the JSON; the model
/// reads items with serde_json, which keeps integers and shortest floats
/// but not other spellings (`1e8`, `1.50`).
pub fn item_string(v: &Value) -> String {
    let json = match v {
        Value::String(text) => {
            let quoted = expr::go_json(&EValue::Str(text.clone())).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_string()
        }
        other => expr::go_json(&expr::of_json(other)).unwrap_or_default(),
    };
    json.replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&")
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::argo_model::simulate;

    fn pod(name: &str, inputs: &[&str], outputs: &[&str]) -> Value {
        json!({
            "name": name,
            "inputs": {"parameters": inputs.iter().map(|i| json!({"name": i})).collect::<Vec<_>>()},
            "container": {"image": "alpine"},
            "outputs": {"parameters": outputs.iter()
                .map(|o| json!({"name": o, "valueFrom": {"path": format!("/tmp/{o}")}}))
                .collect::<Vec<_>>()},
        })
    }

    fn workflow(templates: Vec<Value>, on_exit: Option<&str>) -> Workflow {
        let mut spec = json!({"entrypoint": "main", "templates": templates});
        if let Some(h) = on_exit {
            spec["onExit"] = json!(h);
        }
        Workflow::from_doc(&json!({"spec": spec}))
    }

    /// A group template: `fit` (echoes `lr` as `auc`) under a `when`, and
    /// the output `auc` read from it.
    fn group(when: &str, default: Option<&str>) -> Value {
        let mut vf = json!({"parameter": "{{tasks.fit.outputs.parameters.auc}}"});
        if let Some(d) = default {
            vf["default"] = json!(d);
        }
        json!({
            "name": "train-and-check",
            "inputs": {"parameters": [{"name": "lr"}]},
            "dag": {"tasks": [{
                "name": "fit", "template": "fit", "when": when,
                "arguments": {"parameters": [{"name": "lr", "value": "{{inputs.parameters.lr}}"}]},
            }]},
            "outputs": {"parameters": [{"name": "auc", "valueFrom": vf}]},
        })
    }

    const MAX_AUC: &str =
        "max(map(fromJSON(tasks['sweep'].outputs.parameters['auc']), {asFloat(#)}))";

    fn sweep(items: Value, group_when: &str, gate: &str) -> Workflow {
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "sweep", "template": "train-and-check", "withItems": items,
             "arguments": {"parameters": [{"name": "lr", "value": "{{item}}"}]}},
            {"name": "gate", "template": "fit", "depends": "sweep", "when": gate,
             "arguments": {"parameters": [{"name": "lr", "value": "1"}]}},
        ]}});
        workflow(
            vec![main, group(group_when, None), pod("fit", &["lr"], &["auc"])],
            None,
        )
    }

    /// Every pod template here is `fit`; these tasks write `lr` as `auc`.
    fn echo() -> Scenario {
        ["fit", "prep", "notify", "cleanup"]
            .iter()
            .fold(Scenario::default(), |s, t| s.echo(t, "auc", "lr"))
    }

    #[test]
    fn looped_group_fans_in_in_item_order() {
        let gate = format!("{{{{={MAX_AUC} >= 0.05}}}}");
        let w = sweep(json!([0.1, 0.01]), "", &gate);
        let run = simulate::run(&w, &echo());
        assert_eq!(run.node("sweep").outputs["auc"], r#"["0.1","0.01"]"#);
        assert_eq!(run.node("sweep/sweep(1:0.01)").outputs["auc"], "0.01");
        assert_eq!(run.node("sweep/sweep(1:0.01)/fit").phase, Phase::Succeeded);
        assert_eq!(run.phase("gate"), Phase::Succeeded, "{}", run.summary());
        let high = format!("{{{{={MAX_AUC} >= 0.5}}}}");
        let run = simulate::run(&sweep(json!([0.1, 0.01]), "", &high), &echo());
        assert_eq!(run.phase("gate"), Phase::Skipped, "{}", run.summary());
    }

    #[test]
    fn a_skipped_producer_errs_its_group_template() {
        // The inner `when` mixes the group's input with a literal.
        let w = sweep(
            json!([0.1, 0.01]),
            "{{=asFloat(inputs.parameters.lr) > 0.05}}",
            "",
        );
        let run = simulate::run(&w, &echo());
        // The item whose fit was skipped has no output to give: its DAG errs.
        assert_eq!(run.node("sweep/sweep(1:0.01)/fit").phase, Phase::Skipped);
        assert_eq!(run.node("sweep/sweep(1:0.01)").phase, Phase::Error);
        assert_eq!(run.phase("sweep"), Phase::Error);
    }

    #[test]
    fn a_default_covers_a_skipped_producer_and_skipped_items_drop_out() {
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "sweep", "template": "train-and-check", "withItems": [0.1, 0.01, 0.2],
             "when": "{{item}} != 0.01",
             "arguments": {"parameters": [{"name": "lr", "value": "{{item}}"}]}},
        ]}});
        let w = workflow(
            vec![
                main,
                group("{{inputs.parameters.lr}} < 0.15", Some("0")),
                pod("fit", &["lr"], &["auc"]),
            ],
            None,
        );
        let run = simulate::run(&w, &echo());
        assert_eq!(run.node("sweep/sweep(1:0.01)").phase, Phase::Skipped);
        assert_eq!(run.node("sweep/sweep(2:0.2)").outputs["auc"], "0");
        assert_eq!(run.node("sweep").outputs["auc"], r#"["0.1","0"]"#);
        assert_eq!(run.phase("sweep"), Phase::Succeeded);
    }

    #[test]
    fn no_contributing_item_leaves_the_fan_in_unresolved() {
        let gate = format!("{{{{={MAX_AUC} >= 0.05}}}}");
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "sweep", "template": "train-and-check", "withItems": [0.1],
             "when": "{{item}} > 1",
             "arguments": {"parameters": [{"name": "lr", "value": "{{item}}"}]}},
            {"name": "gate", "template": "fit", "depends": "sweep", "when": gate,
             "arguments": {"parameters": [{"name": "lr", "value": "1"}]}},
        ]}});
        let w = workflow(
            vec![main, group("", None), pod("fit", &["lr"], &["auc"])],
            None,
        );
        let run = simulate::run(&w, &echo());
        assert_eq!(run.phase("sweep"), Phase::Succeeded, "all items skipped");
        assert!(run.node("sweep").outputs.is_empty());
        assert_eq!(run.node("sweep").parameters_json.as_deref(), Some("[]"));
        assert_eq!(run.phase("gate"), Phase::Error, "{}", run.summary());
    }

    #[test]
    fn an_empty_loop_is_skipped() {
        let gate = format!("{{{{={MAX_AUC} >= 0.05}}}}");
        let mut w = sweep(json!([]), "", &gate);
        w.spec["templates"][0]["dag"]["tasks"][0]
            .as_object_mut()
            .unwrap()
            .remove("withItems");
        w.spec["templates"][0]["dag"]["tasks"][0]["withParam"] = json!("[]");
        let run = simulate::run(&w, &echo());
        assert_eq!(run.phase("sweep"), Phase::Skipped);
        assert_eq!(run.node("sweep").message, "Skipped, empty params");
        assert_eq!(run.phase("gate"), Phase::Error, "{}", run.summary());
    }

    #[test]
    fn a_nested_when_mixes_inputs_and_task_outputs() {
        let inner = json!({
            "name": "inner",
            "inputs": {"parameters": [{"name": "lr"}]},
            "dag": {"tasks": [
                {"name": "prep", "template": "fit",
                 "arguments": {"parameters": [{"name": "lr", "value": "3"}]}},
                {"name": "fit", "template": "fit", "depends": "prep",
                 "when": "{{=asFloat(inputs.parameters['lr']) > 0.05 && asFloat(tasks['prep'].outputs.parameters['auc']) > 2}}",
                 "arguments": {"parameters": [{"name": "lr", "value": "{{inputs.parameters.lr}}"}]}},
            ]},
        });
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "g", "template": "inner", "withItems": [0.1, 0.01],
             "arguments": {"parameters": [{"name": "lr", "value": "{{item}}"}]}},
        ]}});
        let w = workflow(vec![main, inner, pod("fit", &["lr"], &["auc"])], None);
        let run = simulate::run(&w, &echo());
        assert_eq!(
            run.node("g/g(0:0.1)/fit").phase,
            Phase::Succeeded,
            "{:?}",
            run.nodes.keys()
        );
        assert_eq!(run.node("g/g(1:0.01)/fit").phase, Phase::Skipped);
    }

    #[test]
    fn nested_loops_aggregate_lists_of_lists() {
        let inner = json!({
            "name": "inner",
            "inputs": {"parameters": [{"name": "lr"}]},
            "dag": {"tasks": [
                {"name": "fit", "template": "fit", "withItems": ["a", "b"],
                 "arguments": {"parameters": [{"name": "lr", "value": "{{inputs.parameters.lr}}{{item}}"}]}},
            ]},
            "outputs": {"parameters": [{"name": "auc",
                "valueFrom": {"parameter": "{{tasks.fit.outputs.parameters.auc}}"}}]},
        });
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "g", "template": "inner", "withItems": [1, 2],
             "arguments": {"parameters": [{"name": "lr", "value": "{{item}}"}]}},
        ]}});
        let w = workflow(vec![main, inner, pod("fit", &["lr"], &["auc"])], None);
        let run = simulate::run(&w, &echo());
        assert_eq!(run.node("g/g(0:1)").outputs["auc"], r#"["1a","1b"]"#);
        assert_eq!(run.node("g").outputs["auc"], r#"[["1a","1b"],["2a","2b"]]"#);
    }

    #[test]
    fn aggregated_values_decode_only_when_all_are_json_lists_or_objects() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            aggregated_json_value_list(&s(&["[1]", r#"{"a":"x"}"#])),
            r#"[[1],{"a":"x"}]"#
        );
        assert_eq!(
            aggregated_json_value_list(&s(&["[1]", "2"])),
            r#"["[1]","2"]"#
        );
        assert_eq!(aggregated_json_value_list(&s(&["0.9"])), r#"["0.9"]"#);
    }

    fn with_exit(fail: bool, cleanup_fails: bool) -> Run {
        let main = json!({"name": "main", "dag": {"tasks": [
            {"name": "train", "template": "fit",
             "arguments": {"parameters": [{"name": "lr", "value": "1"}]}},
        ]}});
        let finally = json!({"name": "finally", "dag": {"tasks": [
            {"name": "notify", "template": "fit",
             "arguments": {"parameters": [{"name": "lr", "value": "{{workflow.status}}"}]}},
            {"name": "cleanup", "template": "fit", "when": "{{=workflow.status != 'Succeeded'}}",
             "arguments": {"parameters": [{"name": "lr", "value": "{{workflow.parameters.p}}"}]}},
            {"name": "mlflow-cleanup", "template": "fit",
             "arguments": {"parameters": [{"name": "lr", "value": "x"}]}},
        ]}});
        let mut w = workflow(
            vec![main, finally, pod("fit", &["lr"], &["auc"])],
            Some("finally"),
        );
        w.params.insert("p".into(), "v".into());
        let mut sc = echo();
        if fail {
            sc = sc.failing("train");
        }
        if cleanup_fails {
            sc = sc.failing("onExit/mlflow-cleanup");
        }
        simulate::run(&w, &sc)
    }

    #[test]
    fn on_exit_sees_status_and_failures() {
        let run = with_exit(true, false);
        assert_eq!(run.status, "Failed");
        assert_eq!(run.phase, Phase::Failed);
        assert_eq!(run.exit.as_ref().map(|n| n.phase), Some(Phase::Succeeded));
        assert_eq!(run.node("onExit/notify").outputs["auc"], "Failed");
        assert_eq!(run.node("onExit/cleanup").phase, Phase::Succeeded);
        assert_eq!(run.node("onExit/cleanup").outputs["auc"], "v");
        // A Go-quoted JSON list: decode twice to get the list.
        let once: String = serde_json::from_str(&run.failures).unwrap();
        let list: Vec<Value> = serde_json::from_str(&once).unwrap();
        assert!(list
            .iter()
            .any(|f| f["displayName"] == "train" && f["phase"] == "Failed"));

        let run = with_exit(false, false);
        assert_eq!(
            (run.status.as_str(), run.phase),
            ("Succeeded", Phase::Succeeded)
        );
        assert_eq!(run.failures, r#""null""#);
        assert_eq!(run.node("onExit/cleanup").phase, Phase::Skipped);
    }

    #[test]
    fn a_failing_exit_handler_fails_a_succeeded_run_only() {
        assert_eq!(with_exit(false, true).phase, Phase::Failed);
        assert_eq!(with_exit(true, true).phase, Phase::Failed);
        assert_eq!(with_exit(false, true).status, "Succeeded");
    }
}
