//! References inside a pod template: what each reads ([`Read`]), the
//! implicit inputs its task must pass ([`Arg`]), the memoization-key parts,
//! and the pod fields built from values (resources, retries, tolerations).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements, Toleration};

use super::route::{item_field, Kind, Source};
use super::{run_placeholder, Plan, INPUTS_DIR};
use crate::collections::IndexMap;
use crate::emit::argo::{Backoff, RetryStrategy};
use crate::emit::mlflow::env;
use crate::plan::literal::{literal_json, literal_text, seconds_text};
use crate::plan::OutputInfo;
use crate::sema::hir::{Input, NodeId, Ref, RunField, Spanned, StrPart, Value};

use crate::sema::types::Ty;
use crate::syntax::ast::Text;

/// Placeholders a pod template uses, and what its task must pass for them.
pub(super) struct Pod<'a, 'p> {
    pub(super) plan: &'a Plan<'p>,
    /// The declared inputs of a shared template (empty for a stage's own).
    pub(super) declared: &'a [Input],
    /// Implicit input parameters: name -> what the task passes.
    pub(super) params: IndexMap<String, Arg>,
    /// Implicit input artifacts: name -> (where from, path in the container).
    pub(super) artifacts: IndexMap<String, (ArtifactFrom, String)>,
    /// Tasks the stage waits for because it reads their outputs.
    pub(super) deps: BTreeSet<String>,
    /// Every parameter the pod's behaviour depends on, for the memoization
    /// key.
    pub(super) key_parts: BTreeSet<KeyPart>,
    /// Inputs of a shared template that every use sets to the same global
    /// value.
    pub(super) folded: IndexMap<String, Global>,
    /// What each `${MLP_V_n}` of a shell script holds (n - 1 is the index).
    pub(super) shell_vars: Vec<Read>,
    /// Whether the stage's own loop is indexed (see `route::item_field`).
    pub(super) item_indexed: bool,
}

/// Where an input artifact of a pod comes from.
#[derive(Clone)]
pub(super) enum ArtifactFrom {
    /// Passed by the task, `from` this placeholder.
    Task(String),
    /// Read by the pod from the artifact repository at this key: the
    /// directory of a loop's collected artifacts.
    Key(String),
}

/// What a task passes for one of its template's implicit inputs.
#[derive(Clone)]
pub(super) struct Arg {
    /// The text passed (`{{tasks.t.outputs.parameters.x}}`, `{{item}}`, ...).
    pub(super) value: String,
    pub(super) kind: ArgKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ArgKind {
    /// A value of the DAG; `per_item` when it is (a key of) the loop's item,
    /// which only the loop's own DAG knows.
    Value { per_item: bool },
    /// The stage's name: each use of a shared template passes its own.
    StageName,
    /// The n-th memoization-key value: each use passes its own.
    CacheKey(usize),
}

impl Arg {
    pub(super) fn value(value: String) -> Self {
        Arg {
            value,
            kind: ArgKind::Value { per_item: false },
        }
    }

    pub(super) fn per_item(&self) -> bool {
        self.kind == ArgKind::Value { per_item: true }
    }
}

/// A parameter in a memoization key. Ordered as its text is
/// (`inputs.parameters['x']` before `workflow.parameters['x']`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum KeyPart {
    Input(String),
    Workflow(String),
}

impl KeyPart {
    /// The part as an expr expression.
    pub(super) fn expression(&self) -> String {
        match self {
            KeyPart::Input(name) => format!("inputs.parameters['{name}']"),
            KeyPart::Workflow(dns) => format!("workflow.parameters['{dns}']"),
        }
    }
}

/// A value that means the same in every task: a literal, or exactly one
/// workflow parameter (by its DNS-1123 name).
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Global {
    Literal(String),
    Param(String),
}

/// What a reference reads inside a pod: each renders as one text, and
/// different ones as different texts (user text holds no `{{`: the checker
/// rejects it).
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Read {
    WorkflowParam(String),
    InputParam(String),
    /// An input artifact, at this path.
    File(String),
    /// `runs:/RUN_ID/MODEL_PATH`, the run id an input parameter.
    ModelUri {
        run: String,
        model_path: String,
    },
    Literal(String),
    Run(RunField),
}

impl Read {
    pub(super) fn text(&self) -> String {
        match self {
            Read::WorkflowParam(dns) => format!("{{{{workflow.parameters.{dns}}}}}"),
            Read::InputParam(name) => format!("{{{{inputs.parameters.{name}}}}}"),
            Read::File(path) | Read::Literal(path) => path.clone(),
            Read::ModelUri { run, model_path } => {
                format!("runs:/{{{{inputs.parameters.{run}}}}}/{model_path}")
            }
            Read::Run(f) => run_placeholder(*f).to_string(),
        }
    }
}

impl<'a, 'p> Pod<'a, 'p> {
    pub(super) fn new(plan: &'a Plan<'p>, declared: &'a [Input]) -> Self {
        Pod {
            plan,
            declared,
            params: IndexMap::default(),
            artifacts: IndexMap::default(),
            deps: BTreeSet::new(),
            key_parts: BTreeSet::new(),
            folded: IndexMap::default(),
            shell_vars: Vec::new(),
            item_indexed: false,
        }
    }

    /// An implicit input parameter, which the task passes; its placeholder.
    pub(super) fn input_param(&mut self, name: String, arg: Arg, dep: Option<&str>) -> String {
        let read = self.input(name, arg, dep);
        read.text()
    }

    pub(super) fn input(&mut self, name: String, arg: Arg, dep: Option<&str>) -> Read {
        if let Some(d) = dep {
            self.deps.insert(d.to_string());
        }
        self.key_parts.insert(KeyPart::Input(name.clone()));
        self.params.entry(name.clone()).or_insert(arg);
        Read::InputParam(name)
    }

    /// The text a reference stands for inside the pod.
    pub(super) fn reference(&mut self, r: &Ref) -> String {
        self.read(r).text()
    }

    /// What a reference reads inside the pod.
    pub(super) fn read(&mut self, r: &Ref) -> Read {
        let plan = self.plan;
        match r {
            Ref::Param(name) => {
                let dns = plan.param_dns(name);
                self.key_parts.insert(KeyPart::Workflow(dns.clone()));
                Read::WorkflowParam(dns)
            }
            Ref::Input(name) if self.folded.contains_key(name.as_str()) => {
                match self.folded[name.as_str()].clone() {
                    Global::Param(dns) => {
                        self.key_parts.insert(KeyPart::Workflow(dns.clone()));
                        Read::WorkflowParam(dns)
                    }
                    // A literal is part of the template, which the key hashes.
                    Global::Literal(text) => Read::Literal(text),
                }
            }
            Ref::Input(name) => match self.declared.iter().find(|i| i.name == name) {
                // Keyed by its producer (`mlp-key-N`): there is no
                // parameter of that name.
                Some(i) if i.ty.is_artifact() => Read::File(format!("{INPUTS_DIR}/{name}")),
                _ => {
                    self.key_parts.insert(KeyPart::Input(name.to_string()));
                    Read::InputParam(name.to_string())
                }
            },
            Ref::Output {
                stage,
                output,
                fan_in,
            } => {
                let task = plan.done_task(*stage).to_string();
                let info = plan
                    .stage(*stage)
                    .outputs
                    .get(output.as_str())
                    .cloned()
                    .unwrap_or(OutputInfo {
                        ty: Ty::String,
                        path: None,
                    });
                match info.ty {
                    Ty::ModelUri => {
                        let run = format!("{task}-run_id");
                        let routed = plan.stage_output(*stage, &task, Kind::Parameter, "run_id");
                        self.input(
                            run.clone(),
                            Arg::value(routed.source.placeholder()),
                            routed.dep.as_deref(),
                        );
                        Read::ModelUri {
                            run,
                            model_path: plan.model_path(*stage),
                        }
                    }
                    ty if ty.is_artifact() && *fan_in => {
                        // Every item's artifact under the loop's prefix.
                        let name = format!("{task}-{output}");
                        let path = format!("{INPUTS_DIR}/{name}/{output}");
                        let segments: Vec<String> = plan
                            .shared_indices(*stage)
                            .into_iter()
                            .map(|(input, source)| {
                                let arg = Arg::value(source.placeholder());
                                self.input_param(input, arg, None)
                            })
                            .collect();
                        let key = plan.collected_key(*stage, output, &segments);
                        self.deps
                            .extend(plan.routed_wait(plan.dag_of(NodeId::Stage(*stage)), &task));
                        self.artifacts
                            .entry(name)
                            .or_insert((ArtifactFrom::Key(key), path.clone()));
                        Read::File(path)
                    }
                    ty if ty.is_artifact() => {
                        let name = format!("{task}-{output}");
                        let file = info
                            .path
                            .as_deref()
                            .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
                            .filter(|f| !f.is_empty())
                            .unwrap_or(output.as_str())
                            .to_string();
                        let path = format!("{INPUTS_DIR}/{name}/{file}");
                        let routed = plan.stage_output(*stage, &task, Kind::Artifact, output);
                        self.deps.extend(routed.dep);
                        self.artifacts.entry(name).or_insert((
                            ArtifactFrom::Task(routed.source.placeholder()),
                            path.clone(),
                        ));
                        Read::File(path)
                    }
                    _ => {
                        let routed = plan.stage_output(*stage, &task, Kind::Parameter, output);
                        self.input(
                            format!("{task}-{output}"),
                            Arg::value(routed.source.placeholder()),
                            routed.dep.as_deref(),
                        )
                    }
                }
            }
            Ref::Metric { stage, name, .. } => {
                let gate = plan.gate_task(*stage).to_string();
                let routed = plan.stage_output(*stage, &gate, Kind::Parameter, name);
                self.input(
                    format!("{}-metric-{name}", plan.stage(*stage).task),
                    Arg::value(routed.source.placeholder()),
                    routed.dep.as_deref(),
                )
            }
            Ref::GroupInput(name) => {
                let (source, kind) = plan.routed_group_input(name);
                match kind {
                    Kind::Artifact => {
                        let path = format!("{INPUTS_DIR}/{name}/{name}");
                        self.artifacts
                            .entry(name.to_string())
                            .or_insert((ArtifactFrom::Task(source.placeholder()), path.clone()));
                        Read::File(path)
                    }
                    Kind::Parameter => {
                        self.input(name.to_string(), Arg::value(source.placeholder()), None)
                    }
                }
            }
            Ref::GroupOutput { group, output, .. } => {
                let (routed, ty, model_path) = plan.routed_group_output(*group, output);
                let name = format!("{}-{output}", plan.groups[group.index()].task);
                self.deps.extend(routed.dep.clone());
                match (ty, model_path) {
                    (Ty::ModelUri, Some(model_path)) => {
                        self.input(name.clone(), Arg::value(routed.source.placeholder()), None);
                        Read::ModelUri {
                            run: name,
                            model_path,
                        }
                    }
                    (ty, _) if ty.is_artifact() => {
                        let path = format!("{INPUTS_DIR}/{name}/{output}");
                        self.artifacts.entry(name).or_insert((
                            ArtifactFrom::Task(routed.source.placeholder()),
                            path.clone(),
                        ));
                        Read::File(path)
                    }
                    _ => self.input(name, Arg::value(routed.source.placeholder()), None),
                }
            }
            Ref::GroupItem { group, key } => {
                let source = plan.routed_item(*group, key.as_deref());
                let name = match key {
                    None => format!("{}-item", plan.groups[group.index()].task),
                    Some(k) => format!("{}-item-{k}", plan.groups[group.index()].task),
                };
                self.input(name, Arg::value(source.placeholder()), None)
            }
            Ref::Item(key) => {
                let name = match key {
                    None => "item".to_string(),
                    Some(key) => format!("item-{key}"),
                };
                let arg = Arg {
                    value: Source::Item(item_field(self.item_indexed, key.as_deref()))
                        .placeholder(),
                    kind: ArgKind::Value { per_item: true },
                };
                self.input(name, arg, None)
            }
            Ref::Run(f) => Read::Run(*f),
        }
    }

    pub(super) fn parts(&mut self, parts: &[StrPart]) -> String {
        parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.clone(),
                StrPart::Ref(r) => self.reference(r).into(),
            })
            .collect()
    }

    /// A value as one string (for args, env, labels, ...); lists and maps
    /// as compact JSON, as Argo passes such parameters.
    pub(super) fn text(&mut self, v: &Value) -> String {
        match v {
            Value::Str(parts) => self.parts(parts),
            Value::Ref(r) => self.reference(r),
            Value::List(_) | Value::Map(_) => self.json(v).to_string(),
            other => literal_text(other),
        }
    }

    /// A list or map with the references in it as their placeholders.
    pub(super) fn json(&mut self, v: &Value) -> serde_json::Value {
        match v {
            Value::List(items) => items.iter().map(|i| self.json(&i.value)).collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (k.to_string(), self.json(&v.value)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Value::Str(_) | Value::Ref(_) => self.text(v).into(),
            other => literal_json(other),
        }
    }

    /// Text that a shell will run: each reference becomes a shell variable
    /// (`${MLP_V_n}`) whose value travels in the environment, so no value can
    /// change the script.
    pub(super) fn shell_text(&mut self, parts: &[StrPart], env_out: &mut Vec<EnvVar>) -> String {
        let mut out = String::new();
        for p in parts {
            match p {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Ref(r) => {
                    let read = self.read(r);
                    let n = match self.shell_vars.iter().position(|v| *v == read) {
                        Some(n) => n + 1,
                        None => {
                            env_out.push(env(
                                &format!("MLP_V_{}", self.shell_vars.len() + 1),
                                read.text(),
                            ));
                            self.shell_vars.push(read);
                            self.shell_vars.len()
                        }
                    };
                    out.push_str(&format!("${{MLP_V_{n}}}"));
                }
            }
        }
        out
    }
}

pub(super) fn resources(
    pod: &mut Pod,
    res: &IndexMap<Text, Spanned<Value>>,
) -> (Option<ResourceRequirements>, Option<String>) {
    crate::emit::resources::requirements(res, &mut |v| pod.text(&v.value))
}

/// `retries`: Argo reads `limit` and `factor` as IntOrString and the backoff
/// durations as strings, so a parameter is substituted at run time (duration
/// parameters hold whole seconds, Argo's default unit). `max` is the longest
/// wait between attempts (`backoff.cap`), not `maxDuration`, which would end
/// all retrying a fixed time after the first attempt started.
pub(super) fn retry_strategy(pod: &mut Pod, v: &Value) -> Option<RetryStrategy> {
    match v {
        Value::Int(_) | Value::Ref(_) => Some(RetryStrategy {
            limit: pod.text(v),
            ..Default::default()
        }),
        Value::Map(m) => {
            let mut get = |k: &str| m.get(k).map(|f| duration_text(pod, &f.value));
            let backoff = Backoff {
                duration: get("backoff"),
                factor: get("factor"),
                cap: get("max"),
            };
            let has_backoff =
                backoff.duration.is_some() || backoff.factor.is_some() || backoff.cap.is_some();
            Some(RetryStrategy {
                limit: get("limit").unwrap_or_else(|| "0".into()),
                retry_policy: get("policy"),
                backoff: has_backoff.then_some(backoff),
                expression: None,
            })
        }
        _ => None,
    }
}

/// A value as Argo's duration strings take it: `600s` for a literal, the
/// parameter's whole seconds otherwise; other values as text.
pub(super) fn duration_text(pod: &mut Pod, v: &Value) -> String {
    match v {
        Value::Duration { secs, .. } => format!("{}s", seconds_text(*secs)),
        other => pod.text(other),
    }
}

pub(super) fn toleration(pod: &mut Pod, m: &IndexMap<Text, Spanned<Value>>) -> Toleration {
    let text = |pod: &mut Pod, k: &str| m.get(k).map(|v| pod.text(&v.value));
    Toleration {
        key: text(pod, "key"),
        operator: text(pod, "operator"),
        value: text(pod, "value"),
        effect: text(pod, "effect"),
        toleration_seconds: match m.get("toleration_seconds").map(|v| &v.value) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        },
    }
}
