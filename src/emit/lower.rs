//! HIR -> Argo model: one document per pipeline.
//!
//! Each stage becomes a DAG task. A stage that uses a template without
//! changing its fields calls one Argo template shared by all such stages;
//! any other stage gets a template of its own. References become Argo
//! placeholders: `{{workflow.parameters.x}}` anywhere, and stage outputs as
//! inputs of the consuming template fed by `{{tasks.s.outputs...}}` in the
//! DAG. Values that reach a shell script travel in environment variables.

use std::collections::{BTreeMap, BTreeSet};

use crate::collections::{HashMap, HashSet, IndexMap};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, LocalObjectReference, PersistentVolumeClaimVolumeSource,
    ResourceRequirements, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

mod cache;
mod manifest;
mod when;

use super::argo::{self, *};
use super::kserve;
use super::mlflow::{self, env, Tracking};
use super::rbac;
use super::{Options, OutputKind};
use crate::plan::literal::{literal_json, literal_text, seconds_text};
use crate::plan::{Binding, Names, OutputInfo, TemplateChoice};
use crate::sema::argv;
use crate::sema::effective::merge_field;
use crate::sema::hir::{
    conjuncts, Cond, DepKind, Fields, Input, Output, Pipeline, Program, Ref, RunField, Spanned,
    Stage, StrPart, Value,
};
use crate::sema::schema::{self, StageKind, PARAM_ENV_PREFIX};
use crate::sema::text::plain_text;
use crate::sema::types::Ty;
use crate::syntax::ast::{BinOp, Text};

/// Where artifacts a stage reads are placed in its container.
const INPUTS_DIR: &str = "/tmp/inputs";
/// Where the generated steps write their output parameters.
const STEP_OUTPUTS: &str = "/tmp/outputs";

/// The document for one pipeline, whole (for tools and tests).
pub fn lower(
    program: &Program,
    pipeline: &Pipeline,
    options: &Options,
) -> Result<argo::Document, String> {
    let mut stage_templates = Vec::new();
    let mut doc = lower_into(program, pipeline, options, &mut |t| stage_templates.push(t))?;
    let templates = &mut spec_mut(&mut doc).templates;
    let tail = templates.split_off(1);
    templates.extend(stage_templates);
    templates.extend(tail);
    Ok(doc)
}

pub fn spec_mut(doc: &mut argo::Document) -> &mut WorkflowSpec {
    match doc {
        argo::Document::Workflow(w) => &mut w.spec,
        argo::Document::CronWorkflow(c) => &mut c.spec.workflow_spec,
    }
}

/// Lowers one pipeline, handing each stage's templates to `sink` as soon as
/// they are built (so they need not all be held at once). The returned
/// document's templates are the entry DAG, then the exit handler if any;
/// the stage templates belong between them.
pub fn lower_into(
    program: &Program,
    pipeline: &Pipeline,
    options: &Options,
    sink: &mut dyn FnMut(Template),
) -> Result<argo::Document, String> {
    let plan = Plan::new(program, pipeline);
    let mut out = Emitter {
        plan: &plan,
        sink,
        template_names: Names::default(),
        shared: HashMap::default(),
        folding: IndexMap::default(),
        key_args: Vec::new(),
        tasks: Vec::new(),
        failure: None,
    };
    let entry = out.template_names.fresh("main");
    for i in 0..pipeline.stages.len() {
        out.stage(i);
    }
    if let Some(e) = out.failure.take() {
        return Err(e);
    }
    let mut templates = vec![Template {
        name: entry.clone(),
        dag: Some(Dag {
            tasks: std::mem::take(&mut out.tasks),
        }),
        ..Default::default()
    }];
    let on_exit = plan.tracking.as_ref().filter(|_| plan.cleanup).map(|t| {
        let name = out.template_names.fresh("mlflow-cleanup");
        let container = t.step_container(
            &plan.programs,
            "main",
            mlflow::Step::Cleanup,
            vec![env("MLP_WORKFLOW_UID", "{{workflow.uid}}")],
        );
        let mut template = Template {
            name: name.clone(),
            container: Some(container),
            volumes: t.ca_volume().into_iter().collect(),
            ..Default::default()
        };
        plan.without_api_token(&mut template);
        templates.push(template);
        name
    });
    let mut arguments = workflow_arguments(pipeline);
    let programs = plan.programs.parameters();
    if !programs.is_empty() {
        arguments
            .get_or_insert_with(Default::default)
            .parameters
            .extend(programs);
    }
    let spec = WorkflowSpec {
        entrypoint: entry,
        arguments,
        service_account_name: plan.setting_text("service_account"),
        parallelism: plan.setting_int("parallelism"),
        active_deadline_seconds: plan.setting_secs("timeout"),
        ttl_strategy: plan
            .setting_secs("ttl_after_finished")
            .map(|s| TtlStrategy {
                seconds_after_completion: s,
            }),
        security_context: match pipeline
            .defaults
            .get("security")
            .map(|f| literal_text(&f.value))
        {
            Some(profile) if profile == "restricted" => Some(mlflow::restricted_pod()),
            _ => None,
        },
        image_pull_secrets: plan
            .setting_strings("image_pull_secrets")
            .into_iter()
            .map(|name| LocalObjectReference { name })
            .collect(),
        on_exit,
        templates,
    };
    let mut metadata = ObjectMeta {
        namespace: plan.setting_text("namespace"),
        ..Default::default()
    };
    if let Some(description) = plan.setting_text("description") {
        metadata.annotations = Some(BTreeMap::from([(
            "workflows.argoproj.io/description".to_string(),
            description,
        )]));
    }
    let schedules = plan.setting_strings("schedule");
    Ok(match options.kind {
        OutputKind::WorkflowTemplate => {
            metadata.name = Some(pipeline.dns_name.to_string());
            argo::Document::Workflow(Workflow {
                api_version: argo::API_VERSION,
                kind: "WorkflowTemplate",
                metadata,
                spec,
            })
        }
        OutputKind::Workflow if !schedules.is_empty() => {
            metadata.name = Some(pipeline.dns_name.to_string());
            argo::Document::CronWorkflow(CronWorkflow {
                api_version: argo::API_VERSION,
                kind: "CronWorkflow",
                metadata,
                spec: CronWorkflowSpec {
                    schedules,
                    timezone: plan.setting_text("timezone"),
                    concurrency_policy: plan.setting_text("concurrency_policy"),
                    starting_deadline_seconds: plan.setting_secs("starting_deadline"),
                    successful_jobs_history_limit: plan.history("successful"),
                    failed_jobs_history_limit: plan.history("failed"),
                    workflow_spec: spec,
                },
            })
        }
        OutputKind::Workflow => {
            metadata.generate_name = Some(format!("{}-", pipeline.dns_name));
            argo::Document::Workflow(Workflow {
                api_version: argo::API_VERSION,
                kind: "Workflow",
                metadata,
                spec,
            })
        }
    })
}

/// `spec.arguments.parameters`: values are strings; a parameter without a
/// default is required at submit time.
fn workflow_arguments(pipeline: &Pipeline) -> Option<Arguments> {
    if pipeline.params.is_empty() {
        return None;
    }
    let parameters = pipeline
        .params
        .iter()
        .map(|p| Parameter {
            name: p.dns_name.to_string(),
            value: p.default.as_ref().map(|d| literal_text(&d.value)),
            // `when` reads a bool parameter as a govaluate boolean, which
            // only `true` and `false` are: Argo refuses other values at submit.
            allowed: if p.ty == Ty::Bool {
                vec!["true".into(), "false".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        })
        .collect();
    Some(Arguments {
        parameters,
        artifacts: Vec::new(),
    })
}

/// A fan-out with a concurrency limit, and what its own DAG needs to know.
struct LimitedFanOut {
    parallelism: i64,
    /// Per argument parameter of the task: whether it is the loop's item
    /// (stays on the inner task) or a value of the outer DAG (passed in).
    item_args: Vec<bool>,
    /// Whether `withParam` reads another task's outputs (passed in).
    items_from_tasks: bool,
    /// The conditions decided per item, inside.
    item_when: Option<String>,
    /// Other tasks' values those conditions read.
    lifted: Option<Vec<Lifted>>,
}

/// `after` targets: task -> the tasks of its ancestors (see `push_task`).
type Order = BTreeMap<String, BTreeSet<String>>;

/// What every part of the lowering may ask about the pipeline: the
/// target-neutral plan (through `Deref`), and what only Argo needs.
struct Plan<'p> {
    ir: crate::plan::Plan<'p>,
    tracking: Option<Tracking>,
    /// The account of Argo's executor in pods without API access, and the
    /// account of the deploy steps (see `rbac.rs`).
    executor_account: String,
    deploy_account: String,
    /// The programs the generated containers run, held once per workflow
    /// as workflow parameters.
    programs: mlflow::Programs,
}

impl<'p> std::ops::Deref for Plan<'p> {
    type Target = crate::plan::Plan<'p>;

    fn deref(&self) -> &Self::Target {
        &self.ir
    }
}

impl<'p> Plan<'p> {
    fn new(program: &'p Program, pipeline: &'p Pipeline) -> Self {
        let ir = crate::plan::plan(program, pipeline);
        let programs = mlflow::Programs::new(ir.mlflow_steps.clone(), ir.deploy_wait);
        Plan {
            ir,
            tracking: tracking(pipeline),
            executor_account: rbac::executor_account(pipeline),
            deploy_account: rbac::deploy_account(pipeline),
            programs,
        }
    }

    fn setting(&self, name: &str) -> Option<&Value> {
        self.pipeline.settings.get(name).map(|s| &s.value)
    }

    fn setting_text(&self, name: &str) -> Option<String> {
        self.setting(name).map(literal_text)
    }

    fn setting_int(&self, name: &str) -> Option<i64> {
        match self.setting(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    fn setting_secs(&self, name: &str) -> Option<i64> {
        match self.setting(name) {
            Some(Value::Duration { secs, .. }) => Some(secs.ceil() as i64),
            _ => None,
        }
    }

    /// `history { successful, failed }`: runs a CronWorkflow keeps.
    fn history(&self, which: &str) -> Option<i64> {
        match self.setting("history") {
            Some(Value::Map(m)) => match m.get(which).map(|v| &v.value) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        }
    }

    fn setting_strings(&self, name: &str) -> Vec<String> {
        match self.setting(name) {
            Some(Value::List(items)) => items.iter().map(|i| literal_text(&i.value)).collect(),
            _ => Vec::new(),
        }
    }

    /// A pod none of whose own containers calls the Kubernetes API gets no
    /// token; Argo's executor containers get the executor account's, which
    /// Argo mounts into them alone (workflowpod.go `newExecContainer`) and
    /// requires with `automountServiceAccountToken: false` (validate.go
    /// `validateLeaf`). Leaves a pod that needs its token as it is.
    fn without_api_token(&self, template: &mut Template) {
        if template.automount_service_account_token.is_none() {
            template.automount_service_account_token = Some(false);
            template.executor = Some(ExecutorConfig {
                service_account_name: self.executor_account.clone(),
            });
        }
    }

    /// The apply and wait steps of a deploy stage call the Kubernetes API
    /// with the deploy account's token, Argo's containers included (the
    /// apply's `main` is Argo's own `argoexec resource`).
    fn with_deploy_token(&self, template: &mut Template) {
        template.service_account_name = Some(self.deploy_account.clone());
        template.automount_service_account_token = Some(true);
    }
}

fn tracking(pipeline: &Pipeline) -> Option<Tracking> {
    let Some(Spanned {
        value: Value::Map(block),
        ..
    }) = pipeline.settings.get("mlflow")
    else {
        return None;
    };
    let text = |k: &str| block.get(k).map(|v| global_text(&v.value));
    Some(Tracking {
        tracking_uri: text("tracking_uri").unwrap_or_default(),
        experiment: text("experiment").unwrap_or_default(),
        artifact_store: text("artifact_store"),
        image: text("image").unwrap_or_else(|| mlflow::DEFAULT_IMAGE.to_string()),
        credentials: match block.get("credentials").map(|v| &v.value) {
            Some(Value::Secret(secret)) => Some(secret.name.to_string()),
            _ => None,
        },
        ca_bundle: match block.get("ca_bundle").map(|v| &v.value) {
            Some(Value::Secret(ca)) => Some(mlflow::CaBundle {
                source: ca.source,
                name: ca.name.to_string(),
                key: ca.key.as_deref().unwrap_or_default().to_string(),
            }),
            _ => None,
        },
    })
}

/// Pipeline-level text: parameters are the only references it may hold.
fn global_text(v: &Value) -> String {
    match v {
        Value::Str(parts) => parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.clone(),
                StrPart::Ref(Ref::Param(name)) => format!(
                    "{{{{workflow.parameters.{}}}}}",
                    crate::sema::dns_name(name)
                )
                .into(),
                StrPart::Ref(Ref::Run(f)) => run_placeholder(*f).into(),
                StrPart::Ref(_) => String::new().into(),
            })
            .collect(),
        Value::Ref(Ref::Param(name)) => format!(
            "{{{{workflow.parameters.{}}}}}",
            crate::sema::dns_name(name)
        ),
        other => literal_text(other),
    }
}

fn run_placeholder(f: RunField) -> &'static str {
    match f {
        RunField::Name => "{{workflow.name}}",
        RunField::Uid => "{{workflow.uid}}",
        RunField::Namespace => "{{workflow.namespace}}",
        RunField::Pod => "{{pod.name}}",
        RunField::ScheduledTime => "{{workflow.scheduledTime}}",
    }
}

// ----- rendering references ---------------------------------------------------

/// Placeholders a pod template uses, and what its task must pass for them.
struct Pod<'a, 'p> {
    plan: &'a Plan<'p>,
    /// The declared inputs of a shared template (empty for a stage's own).
    declared: &'a [Input],
    /// Implicit input parameters: name -> what the task passes.
    params: IndexMap<String, Arg>,
    /// Implicit input artifacts: name -> (task `from`, path in the container).
    artifacts: IndexMap<String, (String, String)>,
    /// Tasks the stage waits for because it reads their outputs.
    deps: BTreeSet<String>,
    /// Every parameter the pod's behaviour depends on, for the memoization
    /// key.
    key_parts: BTreeSet<KeyPart>,
    /// Inputs of a shared template that every use sets to the same global
    /// value.
    folded: IndexMap<String, Global>,
    /// What each `${MLP_V_n}` of a shell script holds (n - 1 is the index).
    shell_vars: Vec<Read>,
}

/// What a task passes for one of its template's implicit inputs.
#[derive(Clone)]
struct Arg {
    /// The text passed (`{{tasks.t.outputs.parameters.x}}`, `{{item}}`, ...).
    value: String,
    kind: ArgKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    /// A value of the DAG; `per_item` when it is (a key of) the loop's item,
    /// which only the loop's own DAG knows.
    Value { per_item: bool },
    /// The stage's name: each use of a shared template passes its own.
    StageName,
    /// The n-th memoization-key value: each use passes its own.
    CacheKey(usize),
}

impl Arg {
    fn value(value: String) -> Self {
        Arg {
            value,
            kind: ArgKind::Value { per_item: false },
        }
    }

    fn per_item(&self) -> bool {
        self.kind == ArgKind::Value { per_item: true }
    }
}

/// A parameter in a memoization key. Ordered as its text is
/// (`inputs.parameters['x']` before `workflow.parameters['x']`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Input(String),
    Workflow(String),
}

impl KeyPart {
    /// The part as an expr expression.
    fn expression(&self) -> String {
        match self {
            KeyPart::Input(name) => format!("inputs.parameters['{name}']"),
            KeyPart::Workflow(dns) => format!("workflow.parameters['{dns}']"),
        }
    }
}

/// A value that means the same in every task: a literal, or exactly one
/// workflow parameter (by its DNS-1123 name).
#[derive(Clone, PartialEq, Eq)]
enum Global {
    Literal(String),
    Param(String),
}

/// What a reference reads inside a pod: each renders as one text, and
/// different ones as different texts (user text holds no `{{`: the checker
/// rejects it).
#[derive(Clone, PartialEq, Eq)]
enum Read {
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
    fn text(&self) -> String {
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
    fn new(plan: &'a Plan<'p>, declared: &'a [Input]) -> Self {
        Pod {
            plan,
            declared,
            params: IndexMap::default(),
            artifacts: IndexMap::default(),
            deps: BTreeSet::new(),
            key_parts: BTreeSet::new(),
            folded: IndexMap::default(),
            shell_vars: Vec::new(),
        }
    }

    /// An implicit input parameter, which the task passes; its placeholder.
    fn input_param(&mut self, name: String, arg: Arg, dep: Option<&str>) -> String {
        let read = self.input(name, arg, dep);
        read.text()
    }

    fn input(&mut self, name: String, arg: Arg, dep: Option<&str>) -> Read {
        if let Some(d) = dep {
            self.deps.insert(d.to_string());
        }
        self.key_parts.insert(KeyPart::Input(name.clone()));
        self.params.entry(name.clone()).or_insert(arg);
        Read::InputParam(name)
    }

    /// The text a reference stands for inside the pod.
    fn reference(&mut self, r: &Ref) -> String {
        self.read(r).text()
    }

    /// What a reference reads inside the pod.
    fn read(&mut self, r: &Ref) -> Read {
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
            Ref::Output { stage, output } => {
                let task = plan.done_task(*stage).to_string();
                let info = plan.stages[*stage]
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
                        self.input(
                            run.clone(),
                            Arg::value(format!("{{{{tasks.{task}.outputs.parameters.run_id}}}}")),
                            Some(&task),
                        );
                        Read::ModelUri {
                            run,
                            model_path: plan.model_path(*stage),
                        }
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
                        self.deps.insert(task.clone());
                        self.artifacts.entry(name).or_insert((
                            format!("{{{{tasks.{task}.outputs.artifacts.{output}}}}}"),
                            path.clone(),
                        ));
                        Read::File(path)
                    }
                    _ => self.input(
                        format!("{task}-{output}"),
                        Arg::value(format!("{{{{tasks.{task}.outputs.parameters.{output}}}}}")),
                        Some(&task),
                    ),
                }
            }
            Ref::Metric { stage, name } => {
                let gate = plan.gate_task(*stage).to_string();
                self.input(
                    format!("{}-metric-{name}", plan.stages[*stage].task),
                    Arg::value(format!("{{{{tasks.{gate}.outputs.parameters.{name}}}}}")),
                    Some(&gate),
                )
            }
            Ref::Item(key) => {
                let (name, value) = match key {
                    None => ("item".to_string(), "{{item}}".to_string()),
                    Some(key) => (format!("item-{key}"), format!("{{{{item.{key}}}}}")),
                };
                let arg = Arg {
                    value,
                    kind: ArgKind::Value { per_item: true },
                };
                self.input(name, arg, None)
            }
            Ref::Run(f) => Read::Run(*f),
        }
    }

    fn parts(&mut self, parts: &[StrPart]) -> String {
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
    fn text(&mut self, v: &Value) -> String {
        match v {
            Value::Str(parts) => self.parts(parts),
            Value::Ref(r) => self.reference(r),
            Value::List(_) | Value::Map(_) => self.json(v).to_string(),
            other => literal_text(other),
        }
    }

    /// A list or map with the references in it as their placeholders.
    fn json(&mut self, v: &Value) -> serde_json::Value {
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
    fn shell_text(&mut self, parts: &[StrPart], env_out: &mut Vec<EnvVar>) -> String {
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

/// References in DAG-task fields (arguments, when, withParam).
struct TaskCtx<'a, 'p> {
    plan: &'a Plan<'p>,
    /// A templated stage's input values, for `when`/`for_each` of its template.
    bindings: Option<&'a IndexMap<Text, Spanned<Value>>>,
    deps: BTreeSet<String>,
    /// For a condition evaluated inside a fan-out's own DAG, where other
    /// tasks are out of scope: their outputs become inputs of that DAG
    /// (`mlp-when-N`, N - 1 the index).
    lifted: Option<Vec<Lifted>>,
}

/// A value of another task that a fan-out's own DAG takes as an input.
struct Lifted {
    binding: Binding,
    /// The placeholder the outer task passes.
    value: String,
}

/// The name of the n-th (from 0) lifted input.
fn lifted_input(n: usize) -> String {
    format!("mlp-when-{}", n + 1)
}

impl<'a, 'p> TaskCtx<'a, 'p> {
    fn reference(&mut self, r: &Ref) -> String {
        let text = self.placeholder(r);
        match (&mut self.lifted, r) {
            (Some(lifted), Ref::Output { .. } | Ref::Metric { .. }) => {
                let binding = self.plan.binding(r);
                let n = match lifted.iter().position(|l| l.binding == binding) {
                    Some(n) => n,
                    None => {
                        lifted.push(Lifted {
                            binding,
                            value: text,
                        });
                        lifted.len() - 1
                    }
                };
                format!("{{{{inputs.parameters.{}}}}}", lifted_input(n))
            }
            _ => text,
        }
    }

    /// Whether `text` of `v` reads another task's outputs.
    fn reads_tasks(&self, v: &Value) -> bool {
        let reads = |r: &Ref| matches!(r, Ref::Output { .. } | Ref::Metric { .. });
        text_reads(v, &mut |r| match r {
            // `text` renders a bound value with no bindings of its own.
            Ref::Input(name) => self
                .bindings
                .and_then(|b| b.get(name.as_str()))
                .is_some_and(|b| text_reads(&b.value, &mut |r| reads(r))),
            r => reads(r),
        })
    }

    fn placeholder(&mut self, r: &Ref) -> String {
        let plan = self.plan;
        match r {
            Ref::Param(name) => format!("{{{{workflow.parameters.{}}}}}", plan.param_dns(name)),
            Ref::Input(name) => match self.bindings.and_then(|b| b.get(name.as_str())) {
                Some(v) => {
                    let saved = self.bindings.take();
                    let text = self.text(&v.value);
                    self.bindings = saved;
                    text
                }
                None => String::new(),
            },
            Ref::Output { stage, output } => {
                let task = plan.done_task(*stage).to_string();
                self.deps.insert(task.clone());
                let ty = plan.stages[*stage]
                    .outputs
                    .get(output.as_str())
                    .map_or(Ty::String, |o| o.ty.clone());
                match ty {
                    Ty::ModelUri => format!(
                        "runs:/{{{{tasks.{task}.outputs.parameters.run_id}}}}/{}",
                        plan.model_path(*stage)
                    ),
                    t if t.is_artifact() => {
                        format!("{{{{tasks.{task}.outputs.artifacts.{output}}}}}")
                    }
                    _ => format!("{{{{tasks.{task}.outputs.parameters.{output}}}}}"),
                }
            }
            Ref::Metric { stage, name } => {
                let gate = plan.gate_task(*stage).to_string();
                self.deps.insert(gate.clone());
                format!("{{{{tasks.{gate}.outputs.parameters.{name}}}}}")
            }
            Ref::Item(None) => "{{item}}".into(),
            Ref::Item(Some(k)) => format!("{{{{item.{k}}}}}"),
            Ref::Run(f) => run_placeholder(*f).to_string(),
        }
    }

    fn text(&mut self, v: &Value) -> String {
        match v {
            Value::Str(parts) => parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => t.clone(),
                    StrPart::Ref(r) => self.reference(r).into(),
                })
                .collect(),
            Value::Ref(r) => self.reference(r),
            other => literal_text(other),
        }
    }

    fn ref_ty(&self, r: &Ref) -> Ty {
        match r {
            Ref::Param(name) => self.plan.param_ty(name),
            Ref::Output { stage, output } => self.plan.stages[*stage]
                .outputs
                .get(output.as_str())
                .map_or(Ty::Any, |o| o.ty.clone()),
            Ref::Metric { .. } => Ty::Float,
            Ref::Run(_) => Ty::String,
            Ref::Item(_) => Ty::Any,
            Ref::Input(name) => match self
                .bindings
                .and_then(|b| b.get(name.as_str()))
                .map(|v| &v.value)
            {
                Some(Value::Ref(r)) => self.ref_ty(r),
                Some(Value::Str(_)) => Ty::String,
                Some(Value::Int(_)) => Ty::Int,
                Some(Value::Float(_)) => Ty::Float,
                Some(Value::Bool(_)) => Ty::Bool,
                _ => Ty::Any,
            },
        }
    }

    fn is_stringy(&self, c: &Cond) -> bool {
        match c {
            Cond::Lit(Value::Str(_)) => true,
            Cond::Ref(r) => matches!(self.ref_ty(r), Ty::String | Ty::ModelUri),
            _ => false,
        }
    }

    /// A `when` in Argo's expression syntax (govaluate): strings quoted,
    /// numbers and bools bare, every operand parenthesised.
    fn cond(&mut self, c: &Cond, quote: bool) -> String {
        match c {
            Cond::Lit(Value::Str(parts)) => {
                let text: String = parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => t.clone(),
                        StrPart::Ref(_) => String::new().into(),
                    })
                    .collect();
                quote_string(&text)
            }
            Cond::Lit(v) => literal_text(v),
            Cond::Ref(r) => {
                let text = self.reference(r);
                if quote {
                    quote_string(&text)
                } else {
                    text
                }
            }
            Cond::Unary { operand: inner, .. } => {
                format!("!({})", self.cond(inner, false))
            }
            Cond::Binary { op, lhs, rhs } => {
                let quote_operands = matches!(op, BinOp::Eq | BinOp::Ne)
                    && (self.is_stringy(lhs) || self.is_stringy(rhs));
                let l = self.cond(lhs, quote_operands);
                let r = self.cond(rhs, quote_operands);
                format!("({l}) {} ({r})", op.symbol())
            }
        }
    }
}

/// Conditions joined by `&&` (each parenthesised when there are several).
fn all_of(parts: Vec<String>) -> Option<String> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(
            parts
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" && "),
        ),
    }
}

/// Whether a condition reads `item` (directly, or through a template
/// input bound to a value that does).
fn cond_reads_item(c: &Cond, bindings: Option<&IndexMap<Text, Spanned<Value>>>) -> bool {
    let reads = |r: &Ref| match r {
        Ref::Item(_) => true,
        Ref::Input(name) => bindings
            .and_then(|b| b.get(name.as_str()))
            .is_some_and(|v| value_reads_item(&v.value)),
        _ => false,
    };
    match c {
        Cond::Lit(v) => value_reads_item(v),
        Cond::Ref(r) => reads(r),
        Cond::Unary { operand, .. } => cond_reads_item(operand, bindings),
        Cond::Binary { lhs, rhs, .. } => {
            cond_reads_item(lhs, bindings) || cond_reads_item(rhs, bindings)
        }
    }
}

fn value_reads_item(v: &Value) -> bool {
    text_reads(v, &mut |r| matches!(r, Ref::Item(_)))
}

/// Whether a reference that the text of `v` renders (a string's or a bare
/// reference; lists and maps become literal JSON) is one `f` accepts.
fn text_reads(v: &Value, f: &mut dyn FnMut(&Ref) -> bool) -> bool {
    match v {
        Value::Ref(r) => f(r),
        Value::Str(parts) => parts.iter().any(|p| match p {
            StrPart::Ref(r) => f(r),
            StrPart::Text(_) => false,
        }),
        _ => false,
    }
}

fn quote_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

// ----- emitting stages -------------------------------------------------------------

struct Emitter<'a, 'p> {
    plan: &'a Plan<'p>,
    /// Where finished templates go (collected, or serialized at once).
    sink: &'a mut dyn FnMut(Template),
    template_names: Names,
    /// HIR template index -> the shared Argo template and its implicit inputs.
    shared: HashMap<usize, SharedTemplate>,
    /// Folded inputs for the template `pod_template` is building.
    folding: IndexMap<String, Global>,
    /// The `mlp-key-N` values (its artifacts' producers) for that template.
    key_args: Vec<cache::KeyArg>,
    tasks: Vec<DagTask>,
    /// The first error in writing a manifest; the document is not written.
    failure: Option<String>,
}

#[derive(Clone)]
struct SharedTemplate {
    name: String,
    /// Implicit inputs the template needs beyond its declared ones (`item`).
    implicit: IndexMap<String, Arg>,
    /// Declared inputs folded into the template: its tasks do not pass them.
    folded: HashSet<String>,
}

/// A pod template built for a stage, and what its task must supply.
struct Built {
    template: Template,
    params: IndexMap<String, Arg>,
    artifacts: IndexMap<String, (String, String)>,
    deps: BTreeSet<String>,
}

impl<'a, 'p> Emitter<'a, 'p> {
    fn stage(&mut self, i: usize) {
        let plan = self.plan;
        let stage = &plan.stages[i];
        // A deploy stage, and only one, has the deploy tasks.
        match (&stage.deploy, stage.kind) {
            (Some(tasks), _) => self.deploy(i, tasks),
            (None, StageKind::Register) => self.register(i),
            (None, _) => self.container_stage(i),
        }
        if let Some(gate) = &stage.gate {
            self.gate(i, &gate.task, &gate.metrics);
        }
    }

    /// `after` and the stage's data dependencies, as task names.
    ///
    /// Each comes with the tasks of its own ancestors: an `after` target
    /// that was Omitted because one of them failed must block, not pass.
    fn order_deps(&self, i: usize) -> Order {
        let plan = self.plan;
        plan.pipeline.stages[i]
            .deps
            .iter()
            .filter(|d| d.kind == DepKind::Order)
            .map(|d| {
                let upstream = plan
                    .ancestor_stages(d.stage)
                    .into_iter()
                    .flat_map(|a| plan.stage_tasks(a))
                    .collect();
                (plan.done_task(d.stage).to_string(), upstream)
            })
            .collect()
    }

    /// Adds a task; `data` are tasks whose outputs it reads (they must have
    /// succeeded), `order` those it only waits for (`after`).
    ///
    /// Argo expands a bare `t` to `t.Succeeded || t.Skipped || t.Daemoned`
    /// (workflow/common/ancestry.go, `expandDependency`): an Omitted `t` (its
    /// own `depends` failed) would omit this task too. For `after` a skipped
    /// or omitted stage does not block, so such a `t` also accepts Omitted.
    ///
    /// An Omitted `t` may also come from a failure above it: then Argo's
    /// `assessDAGPhase` would count the failure as handled by this task and
    /// report the run Succeeded. So `t.Omitted` passes only when none of
    /// `t`'s ancestors Failed or Errored.
    fn push_task(&mut self, mut task: DagTask, data: BTreeSet<String>, order: Order) {
        enum Wait {
            Finished(BTreeSet<String>),
            Succeeded,
        }
        let mut terms: BTreeMap<String, Wait> = BTreeMap::new();
        for (d, upstream) in order {
            terms.insert(d, Wait::Finished(upstream));
        }
        for d in data {
            terms.insert(d, Wait::Succeeded);
        }
        terms.remove(&task.name);
        let skippable = &self.plan.skippable;
        let depends: Vec<String> = terms
            .into_iter()
            .map(|(t, wait)| match (wait, skippable.contains(&t)) {
                // Reading outputs of a task that cannot be skipped needs no
                // `.Succeeded`: a failure stops the DAG anyway.
                (_, false) => t,
                (Wait::Succeeded, true) => format!("{t}.Succeeded"),
                (Wait::Finished(upstream), true) if upstream.is_empty() => {
                    format!("({t} || {t}.Omitted)")
                }
                (Wait::Finished(upstream), true) => {
                    let failed: Vec<String> = upstream
                        .iter()
                        .flat_map(|a| [format!("{a}.Failed"), format!("{a}.Errored")])
                        .collect();
                    format!("({t} || ({t}.Omitted && !({})))", failed.join(" || "))
                }
            })
            .collect();
        task.depends = (!depends.is_empty()).then(|| depends.join(" && "));
        self.tasks.push(task);
    }

    fn container_stage(&mut self, i: usize) {
        let plan = self.plan;
        let stage = &plan.pipeline.stages[i];
        let task_name = plan.stages[i].task.clone();
        let uses = stage.uses.as_ref();
        let declared: &'a [Input] = uses
            .map(|u| plan.program.templates[u.template].inputs.as_slice())
            .unwrap_or(&[]);
        let mut task = DagTask {
            name: task_name.clone(),
            ..Default::default()
        };
        let mut deps = BTreeSet::new();
        let mut folded = HashSet::default();
        // One per `task.arguments.parameters`: whether it is the loop's item.
        let mut item_args = Vec::new();
        let implicit: IndexMap<String, Arg> = match plan.stages[i].template {
            TemplateChoice::Shared(index) => {
                let shared = self.shared_template(index, stage.tracked);
                task.template = shared.name.clone();
                folded = shared.folded;
                shared.implicit
            }
            TemplateChoice::Own => {
                let fields = &plan.stages[i].fields;
                if plan.stages[i].cache {
                    self.key_args = cache::key_arguments(plan, &cache::artifact_producers(plan, i));
                }
                let outputs = stage_declared_outputs(plan.program, stage);
                let name = self.template_names.fresh(&task_name);
                let mut built = self.pod_template(
                    name,
                    stage.kind,
                    fields,
                    declared,
                    &outputs,
                    stage.tracked,
                    Some(&stage.name),
                );
                declare_inputs(&mut built.template, declared);
                task.template = built.template.name.clone();
                for (name, (from, _)) in &built.artifacts {
                    task.arguments.artifacts.push(Artifact {
                        name: name.clone(),
                        from: Some(from.clone()),
                        ..Default::default()
                    });
                }
                deps.extend(built.deps.iter().cloned());
                (self.sink)(built.template);
                built.params
            }
        };
        // The template's declared inputs take the stage's arguments.
        if let Some(u) = uses {
            let mut ctx = TaskCtx {
                plan,
                bindings: None,
                deps: BTreeSet::new(),
                lifted: None,
            };
            for input in declared
                .iter()
                .filter(|i| !folded.contains(i.name.as_str()))
            {
                let Some(v) = u.args.get(&input.name) else {
                    continue;
                };
                if input.ty.is_artifact() {
                    task.arguments.artifacts.push(Artifact {
                        name: input.name.to_string(),
                        from: Some(ctx.text(&v.value)),
                        ..Default::default()
                    });
                } else {
                    task.arguments.parameters.push(Parameter {
                        name: input.name.to_string(),
                        value: Some(ctx.text(&v.value)),
                        ..Default::default()
                    });
                    item_args.push(value_reads_item(&v.value));
                }
            }
            deps.extend(ctx.deps);
        }
        let own_keys = if implicit
            .values()
            .any(|a| matches!(a.kind, ArgKind::CacheKey(_)))
        {
            cache::key_arguments(plan, &cache::artifact_producers(plan, i))
        } else {
            Vec::new()
        };
        for (name, arg) in &implicit {
            let (value, per_item) = match arg.kind {
                ArgKind::StageName => (stage.name.to_string(), false),
                ArgKind::CacheKey(n) => own_keys
                    .get(n)
                    .map_or((String::new(), false), |k| (k.value.clone(), k.per_item)),
                ArgKind::Value { per_item } => (arg.value.clone(), per_item),
            };
            task.arguments.parameters.push(Parameter {
                name: name.clone(),
                value: Some(value),
                ..Default::default()
            });
            item_args.push(per_item);
        }
        let bindings = uses.map(|u| &u.args);
        let order = self.order_deps(i);
        self.finish_task(i, task, item_args, deps, order, bindings);
    }

    /// `when`, `for_each` and `parallelism` of a stage's task; `item_args`
    /// tells, per argument parameter, whether it is the loop's item.
    fn finish_task(
        &mut self,
        i: usize,
        mut task: DagTask,
        item_args: Vec<bool>,
        mut deps: BTreeSet<String>,
        order: Order,
        bindings: Option<&IndexMap<Text, Spanned<Value>>>,
    ) {
        let plan = self.plan;
        let stage = &plan.pipeline.stages[i];
        let template_when = stage
            .uses
            .as_ref()
            .and_then(|u| plan.program.templates[u.template].when.as_ref());
        let merged = &plan.stages[i].fields;
        let fans_out = matches!(
            merged.get("for_each").map(|f| &f.value),
            Some(Value::List(_) | Value::Ref(_))
        );
        let parallelism = match merged.get("parallelism").map(|f| &f.value) {
            Some(Value::Int(n)) if fans_out => Some(*n),
            _ => None,
        };
        // Each `&&` conjunct on its own: one that reads only DAG values is an
        // expression tag over them (see `when`); one that reads `item` stays
        // in Argo's text form, since Argo writes items into the task's text.
        let conjuncts: Vec<&Cond> = [template_when, stage.when.as_ref()]
            .into_iter()
            .flatten()
            .flat_map(|w| conjuncts(&w.value))
            .collect();
        let (on_item, on_dag): (Vec<&Cond>, Vec<&Cond>) = conjuncts
            .into_iter()
            .partition(|c| !when::reads_only_dag_values(c) || cond_reads_item(c, bindings));
        let mut ctx = TaskCtx {
            plan,
            bindings,
            deps: BTreeSet::new(),
            lifted: None,
        };
        let dag_when = (!on_dag.is_empty()).then(|| ctx.when_expr(&on_dag));
        // With a limit the loop runs in a DAG of its own, where the item
        // conditions are decided, per item; other tasks are out of scope
        // there, so what they read enters as inputs.
        ctx.lifted = parallelism.is_some().then(Vec::new);
        let item_when = all_of(on_item.iter().map(|c| ctx.cond(c, false)).collect());
        task.when = match parallelism {
            Some(_) => dag_when.clone(),
            None => all_of(dag_when.iter().chain(&item_when).cloned().collect()),
        };
        let lifted = ctx.lifted.take();
        let mut items_from_tasks = false;
        match merged.get("for_each").map(|f| &f.value) {
            Some(Value::List(items)) => {
                task.with_items = Some(
                    items
                        .iter()
                        .map(|it| task_json(&mut ctx, &it.value))
                        .collect(),
                );
            }
            Some(v @ Value::Ref(_)) => {
                items_from_tasks = ctx.reads_tasks(v);
                task.with_param = Some(ctx.text(v));
            }
            _ => {}
        }
        deps.extend(ctx.deps);
        match parallelism {
            Some(n) => {
                let fan_out = LimitedFanOut {
                    parallelism: n,
                    item_args,
                    items_from_tasks,
                    item_when,
                    lifted,
                };
                self.fan_out_with_limit(task, deps, order, fan_out)
            }
            None => self.push_task(task, deps, order),
        }
    }

    /// A fan-out whose concurrency is limited: Argo limits parallelism per
    /// DAG template, so the loop gets a DAG of its own, fed by pass-through
    /// inputs.
    fn fan_out_with_limit(
        &mut self,
        task: DagTask,
        deps: BTreeSet<String>,
        order: Order,
        fan_out: LimitedFanOut,
    ) {
        let LimitedFanOut {
            parallelism,
            item_args,
            items_from_tasks,
            item_when,
            lifted,
        } = fan_out;
        let name = self.template_names.fresh(&format!("{}-fan-out", task.name));
        let mut outer = DagTask {
            name: task.name.clone(),
            template: name.clone(),
            ..Default::default()
        };
        let mut inner = task.clone();
        let mut inputs = Inputs::default();
        inner.arguments = Arguments::default();
        for (p, per_item) in task.arguments.parameters.iter().zip(item_args) {
            if per_item {
                inner.arguments.parameters.push(p.clone());
            } else {
                inputs.parameters.push(Parameter {
                    name: p.name.clone(),
                    ..Default::default()
                });
                outer.arguments.parameters.push(p.clone());
                inner.arguments.parameters.push(Parameter {
                    name: p.name.clone(),
                    value: Some(format!("{{{{inputs.parameters.{}}}}}", p.name)),
                    ..Default::default()
                });
            }
        }
        for a in &task.arguments.artifacts {
            inputs.artifacts.push(Artifact {
                name: a.name.clone(),
                ..Default::default()
            });
            outer.arguments.artifacts.push(a.clone());
            inner.arguments.artifacts.push(Artifact {
                name: a.name.clone(),
                from: Some(format!("{{{{inputs.artifacts.{}}}}}", a.name)),
                ..Default::default()
            });
        }
        if let Some(param) = task.with_param.clone().filter(|_| items_from_tasks) {
            inputs.parameters.push(Parameter {
                name: "mlp-items".into(),
                ..Default::default()
            });
            outer.arguments.parameters.push(Parameter {
                name: "mlp-items".into(),
                value: Some(param),
                ..Default::default()
            });
            inner.with_param = Some("{{inputs.parameters.mlp-items}}".into());
        }
        // The item conditions are decided per item, inside; the other
        // tasks' outputs they read come in as inputs. The rest is decided
        // once, on the outer task.
        outer.when = task.when.clone();
        inner.when = item_when;
        for (n, Lifted { value, .. }) in lifted.into_iter().flatten().enumerate() {
            let name = lifted_input(n);
            inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
            outer.arguments.parameters.push(Parameter {
                name,
                value: Some(value),
                ..Default::default()
            });
        }
        inner.depends = None;
        (self.sink)(Template {
            name,
            inputs,
            dag: Some(Dag { tasks: vec![inner] }),
            parallelism: Some(parallelism),
            ..Default::default()
        });
        self.push_task(outer, deps, order);
    }

    /// One Argo template for every plain use of a template.
    fn shared_template(&mut self, index: usize, tracked: bool) -> SharedTemplate {
        if let Some(s) = self.shared.get(&index) {
            return s.clone();
        }
        let plan = self.plan;
        let hir = &plan.program.templates[index];
        let mut fields = Fields::default();
        for (name, field) in plan.pipeline.defaults.iter() {
            if matches!(schema::stage_field(name, Some(hir.kind)), Some(Ok(_))) {
                fields.insert(name.clone(), field.clone());
            }
        }
        for (name, field) in &hir.fields {
            merge_field(&mut fields, name, field);
        }
        // An input every sharing stage sets to the same global value (a
        // literal or one workflow parameter) is written into the template.
        let mut folded: IndexMap<String, Global> = IndexMap::default();
        let users: Vec<(usize, &Stage)> = plan
            .pipeline
            .stages
            .iter()
            .enumerate()
            .filter(|(i, _)| plan.stages[*i].template == TemplateChoice::Shared(index))
            .collect();
        // With one use nothing is saved, and the task's arguments are clearer.
        let inputs_to_fold = if users.len() >= 2 {
            hir.inputs.as_slice()
        } else {
            &[]
        };
        for input in inputs_to_fold.iter().filter(|i| !i.ty.is_artifact()) {
            let mut values = users.iter().map(|(_, s)| {
                s.uses
                    .as_ref()
                    .and_then(|u| u.args.get(&input.name))
                    .and_then(|v| global_value(plan, &v.value))
            });
            let Some(Some(first)) = values.next() else {
                continue;
            };
            if values.all(|v| v.as_ref() == Some(&first)) {
                folded.insert(input.name.to_string(), first);
            }
        }
        let folded_names: HashSet<String> = folded.keys().cloned().collect();
        self.folding = folded;
        if fields.contains_key("cache") {
            // As many `mlp-key-N` inputs as the use with the most; each task
            // passes its own values.
            let width = users
                .iter()
                .map(|(i, _)| {
                    cache::key_arguments(plan, &cache::artifact_producers(plan, *i)).len()
                })
                .max()
                .unwrap_or(0);
            self.key_args = vec![cache::KeyArg::default(); width];
        }
        let name = self.template_names.fresh(&hir.dns_name);
        let mut built = self.pod_template(
            name.clone(),
            hir.kind,
            &fields,
            &hir.inputs,
            &hir.outputs,
            tracked,
            None,
        );
        let mut implicit = IndexMap::default();
        for (p, value) in &built.params {
            if !hir.inputs.iter().any(|i| i.name == p) {
                implicit.insert(p.clone(), value.clone());
            }
        }
        let kept: Vec<Input> = hir
            .inputs
            .iter()
            .filter(|i| !folded_names.contains(i.name.as_str()))
            .cloned()
            .collect();
        declare_inputs(&mut built.template, &kept);
        (self.sink)(built.template);
        let shared = SharedTemplate {
            name,
            implicit,
            folded: folded_names,
        };
        self.shared.insert(index, shared.clone());
        shared
    }

    /// The pod of a container stage: the user's container, plus MLflow's
    /// init container, wrapper and sidecar when tracked.
    #[allow(clippy::too_many_arguments)]
    fn pod_template(
        &mut self,
        name: String,
        kind: StageKind,
        fields: &Fields,
        declared: &'a [Input],
        outputs: &[Output],
        tracked: bool,
        stage_name: Option<&str>,
    ) -> Built {
        let plan = self.plan;
        let mut pod = Pod::new(plan, declared);
        pod.folded = std::mem::take(&mut self.folding);
        let mut env_vars: Vec<EnvVar> = Vec::new();
        let get = |k: &str| fields.get(k).map(|f| &f.value);

        // The argv: command + args, or `shell -c script`.
        let mut argv: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(Value::Str(parts)) = get("script") {
            let shell = get("shell")
                .map(|v| pod.text(v))
                .unwrap_or_else(|| "sh".into());
            // Another interpreter's script holds no values (the checker
            // rejects them): only a shell reads `${MLP_V_n}`.
            let script = if argv::is_shell(&shell) {
                pod.shell_text(parts, &mut env_vars)
            } else {
                pod.parts(parts)
            };
            argv.extend([shell, "-c".into(), script]);
        } else {
            let list = |k: &str| match get(k) {
                Some(Value::List(items)) => items.as_slice(),
                _ => &[],
            };
            let (command, rest) = (list("command"), list("args"));
            let words: Vec<Option<String>> = command
                .iter()
                .chain(rest)
                .map(|i| literal_word(&i.value))
                .collect();
            let words: Vec<Option<&str>> = words.iter().map(Option::as_deref).collect();
            let shell_script = match argv::code_argument(&words) {
                Some((i, argv::Code::Shell)) => Some(i),
                _ => None,
            };
            for (i, item) in command.iter().chain(rest).enumerate() {
                let text = match &item.value {
                    Value::Str(parts) if shell_script == Some(i) => {
                        pod.shell_text(parts, &mut env_vars)
                    }
                    other => pod.text(other),
                };
                if i < command.len() {
                    argv.push(text);
                } else {
                    args.push(text);
                }
            }
        }
        if let Some(Value::Map(entries)) = get("env") {
            for (k, v) in entries.iter() {
                env_vars.push(match &v.value {
                    Value::Secret(secret) => mlflow::user_secret_env(
                        k,
                        &secret.name,
                        secret.key.as_deref().unwrap_or_default(),
                    ),
                    other => env(k, pod.text(other)),
                });
            }
        }
        if kind == StageKind::Train {
            if let Some(Value::Map(params)) = get("params") {
                for (k, v) in params.iter() {
                    env_vars.push(env(
                        &format!("{PARAM_ENV_PREFIX}{}", k.to_ascii_uppercase()),
                        pod.text(&v.value),
                    ));
                }
            }
        }
        let image = get("image").map(|v| pod.text(v));
        let restricted = get("security").map(literal_text).as_deref() == Some("restricted");
        let mut container = Container {
            name: "main".into(),
            image,
            image_pull_policy: get("image_pull_policy").map(literal_text),
            security_context: restricted.then(mlflow::restricted_user_container),
            ..Default::default()
        };
        let mut node_selector: BTreeMap<String, String> = BTreeMap::new();
        if let Some(Value::Map(res)) = get("resources") {
            let (requirements, gpu_type) = resources(&mut pod, res);
            container.resources = requirements;
            if let Some(t) = gpu_type {
                let label = schema::gpu_node_label(&t).unwrap_or("nvidia.com/gpu.product");
                node_selector.insert(label.into(), t);
            }
        }
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                node_selector.insert(k.to_string(), pod.text(&v.value));
            }
        }
        let mut volumes: Vec<Volume> = Vec::new();
        let mut mounts: Vec<VolumeMount> = Vec::new();
        if let Some(Value::List(items)) = get("volumes") {
            for (n, it) in items.iter().enumerate() {
                let Value::Map(m) = &it.value else { continue };
                let field = |k: &str| m.get(k).map(|v| &v.value);
                let volume = format!("volume-{}", n + 1);
                let read_only = matches!(field("read_only"), Some(Value::Bool(true)));
                volumes.push(Volume {
                    name: volume.clone(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: field("claim").map(|v| pod.text(v)).unwrap_or_default(),
                        read_only: read_only.then_some(true),
                    }),
                    ..Default::default()
                });
                mounts.push(VolumeMount {
                    name: volume,
                    mount_path: field("path").map(literal_text).unwrap_or_default(),
                    read_only: read_only.then_some(true),
                    sub_path: field("sub_path").map(|v| pod.text(v)),
                    ..Default::default()
                });
            }
        }

        let mut template = Template {
            name,
            ..Default::default()
        };
        for o in outputs {
            if o.ty.is_artifact() {
                template.outputs.artifacts.push(Artifact {
                    name: o.name.to_string(),
                    path: Some(o.path.to_string()),
                    ..Default::default()
                });
            } else {
                template.outputs.parameters.push(Parameter {
                    name: o.name.to_string(),
                    value_from: Some(ValueFrom {
                        path: Some(o.path.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }

        let tracking = plan.tracking.clone().filter(|_| tracked);
        match &tracking {
            Some(t) => {
                // The stage name of a shared template arrives as an input.
                let stage_label = match stage_name {
                    Some(s) => s.to_string(),
                    None => {
                        let arg = Arg {
                            value: String::new(),
                            kind: ArgKind::StageName,
                        };
                        pod.input_param("mlp-stage".into(), arg, None)
                    }
                };
                let mut params: Vec<(String, String)> = Vec::new();
                if kind == StageKind::Train {
                    if let Some(Value::Map(p)) = get("params") {
                        for (k, v) in p.iter() {
                            params.push((k.to_string(), pod.text(&v.value)));
                        }
                    }
                }
                let init =
                    t.init_container(&plan.programs, &plan.pipeline.name, &stage_label, &params);
                // Injected containers mount `/mlflow` (and the CA bundle),
                // not the user's volumes.
                template.init_containers.push(init);
                template.sidecars.push(t.finalize_container());
                let mut all_env = t.client_env();
                all_env.extend(env_vars);
                env_vars = all_env;
                let mut user_argv = argv;
                user_argv.extend(args);
                container.command = Some(mlflow::wrapped_command(user_argv));
                mounts.push(mlflow::mount());
                mounts.extend(t.ca_mount());
                template.volumes.push(Volume {
                    name: mlflow::VOLUME.into(),
                    empty_dir: Some(Default::default()),
                    ..Default::default()
                });
                template.volumes.extend(t.ca_volume());
                // The run's built-in values (`run_id`) the wrapper writes;
                // `model` is read through the run id.
                for (output, _) in schema::builtin_outputs(kind, true)
                    .iter()
                    .filter(|(_, ty)| *ty != Ty::ModelUri)
                {
                    template.outputs.parameters.push(Parameter {
                        name: (*output).into(),
                        value_from: Some(ValueFrom {
                            path: Some(format!("{}/{output}", mlflow::MOUNT)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
            None => {
                if !argv.is_empty() {
                    container.command = Some(argv);
                }
                if !args.is_empty() {
                    container.args = Some(args);
                }
            }
        }
        container.env = (!env_vars.is_empty()).then_some(env_vars);
        container.volume_mounts = (!mounts.is_empty()).then_some(mounts);
        template.volumes.extend(volumes);
        template.container = Some(container);
        template.node_selector = node_selector;
        self.common_pod_fields(&mut template, &mut pod, fields);
        if let Some(max_age) = get("cache").and_then(|c| cache::max_age(c, &mut pod)) {
            for (n, key) in std::mem::take(&mut self.key_args).into_iter().enumerate() {
                let arg = Arg {
                    value: key.value,
                    kind: ArgKind::CacheKey(n),
                };
                pod.input_param(cache::key_input(n), arg, None);
            }
            cache::globals_as_inputs(&mut pod);
            let memo = cache::memoize(&template, max_age, &pod, &plan.pipeline.dns_name);
            template.memoize = Some(memo);
        }
        // Input artifacts land at their paths; implicit parameters are declared.
        for (name, (_, path)) in &pod.artifacts {
            template.inputs.artifacts.push(Artifact {
                name: name.clone(),
                path: Some(path.clone()),
                ..Default::default()
            });
        }
        for name in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
        }
        Built {
            template,
            params: pod.params,
            artifacts: pod.artifacts,
            deps: pod.deps,
        }
    }

    /// Fields every pod template takes: retries, timeout, tolerations,
    /// labels, annotations, service account.
    fn common_pod_fields(&self, template: &mut Template, pod: &mut Pod, fields: &Fields) {
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        template.retry_strategy = get("retries").and_then(|r| retry_strategy(pod, r));
        // `activeDeadlineSeconds` bounds the running pod; `timeout` the
        // node from its start, so a pod that can never schedule fails too.
        if let Some(t) = get("timeout") {
            template.active_deadline_seconds = Some(match t {
                Value::Duration { secs, .. } => seconds_text(*secs),
                other => pod.text(other),
            });
            template.timeout = Some(match t {
                Value::Duration { .. } => duration_text(pod, t),
                other => format!("{}s", pod.text(other)),
            });
        }
        if let Some(Value::List(items)) = get("tolerations") {
            template.tolerations = items
                .iter()
                .filter_map(|it| match &it.value {
                    Value::Map(m) => Some(toleration(pod, m)),
                    _ => None,
                })
                .collect();
        }
        let map = |pod: &mut Pod, k: &str| -> BTreeMap<String, String> {
            match get(k) {
                Some(Value::Map(m)) => m
                    .iter()
                    .map(|(k, v)| (k.to_string(), pod.text(&v.value)))
                    .collect(),
                _ => BTreeMap::new(),
            }
        };
        let labels = map(pod, "labels");
        let annotations = map(pod, "annotations");
        if !labels.is_empty() || !annotations.is_empty() {
            template.metadata = Some(PodMetadata {
                labels,
                annotations,
            });
        }
        if let Some(account) = get("service_account") {
            template.service_account_name = Some(pod.text(account));
        }
        self.plan.without_api_token(template);
    }

    fn tracking(&self) -> Tracking {
        self.plan.tracking.clone().unwrap_or_else(|| Tracking {
            tracking_uri: String::new(),
            experiment: String::new(),
            artifact_store: None,
            image: mlflow::DEFAULT_IMAGE.to_string(),
            credentials: None,
            ca_bundle: None,
        })
    }

    /// The metric gate after a tracked train stage.
    fn gate(&mut self, stage: usize, gate: &str, metrics: &BTreeSet<String>) {
        let plan = self.plan;
        let train = plan.stages[stage].task.clone();
        let name = self.template_names.fresh(gate);
        let container = self.tracking().step_container(
            &plan.programs,
            "main",
            mlflow::Step::Metrics,
            vec![
                env("MLP_RUN_ID", "{{inputs.parameters.run_id}}"),
                env(
                    "MLP_METRICS",
                    metrics.iter().cloned().collect::<Vec<_>>().join(" "),
                ),
            ],
        );
        let mut template =
            step_template(name.clone(), container, metrics.iter().map(String::as_str));
        template.volumes.extend(self.tracking().ca_volume());
        template.inputs.parameters.push(Parameter {
            name: "run_id".into(),
            ..Default::default()
        });
        plan.without_api_token(&mut template);
        (self.sink)(template);
        self.push_task(
            DagTask {
                name: gate.to_string(),
                template: name,
                arguments: Arguments {
                    parameters: vec![Parameter {
                        name: "run_id".into(),
                        value: Some(format!("{{{{tasks.{train}.outputs.parameters.run_id}}}}")),
                        ..Default::default()
                    }],
                    artifacts: Vec::new(),
                },
                ..Default::default()
            },
            BTreeSet::from([train]),
            Order::new(),
        );
    }

    fn register(&mut self, i: usize) {
        let plan = self.plan;
        let fields = plan.stages[i].fields.clone();
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let mut pod = Pod::new(plan, &[]);
        let mut extra = vec![
            env(
                "MLP_MODEL_NAME",
                get("name").map(|v| pod.text(v)).unwrap_or_default(),
            ),
            // With the stage, names the task across its retries.
            env("MLP_WORKFLOW_UID", "{{workflow.uid}}"),
            env("MLP_STAGE", plan.pipeline.stages[i].name.to_string()),
        ];
        match get("model") {
            Some(Value::Ref(Ref::Output {
                stage: train,
                output,
            })) if output == "model" => {
                let task = plan.stages[*train].task.clone();
                let run = pod.input_param(
                    format!("{task}-run_id"),
                    Arg::value(format!("{{{{tasks.{task}.outputs.parameters.run_id}}}}")),
                    Some(&task),
                );
                extra.push(env("MLP_RUN_ID", run));
                extra.push(env("MLP_ARTIFACT_PATH", plan.model_path(*train)));
            }
            Some(other) => extra.push(env("MLP_MODEL_SOURCE", pod.text(other))),
            None => {}
        }
        if let Some(alias) = get("alias") {
            extra.push(env("MLP_ALIAS", pod.text(alias)));
        }
        if let Some(d) = get("description") {
            extra.push(env("MLP_DESCRIPTION", pod.text(d)));
        }
        if let Some(Value::Map(tags)) = get("tags") {
            let pairs: Vec<(String, String)> = tags
                .iter()
                .map(|(k, v)| (k.to_string(), pod.text(&v.value)))
                .collect();
            extra.extend(mlflow::indexed_env("MLP_TAG", &pairs));
        }
        match get("await_ready") {
            Some(Value::Duration { secs, .. }) => {
                extra.push(env("MLP_AWAIT_READY_SECONDS", seconds_text(*secs)));
            }
            // A duration parameter holds whole seconds.
            Some(other) => extra.push(env("MLP_AWAIT_READY_SECONDS", pod.text(other))),
            None => {}
        }
        let container =
            self.tracking()
                .step_container(&plan.programs, "main", mlflow::Step::Register, extra);
        let name = self.template_names.fresh(&plan.stages[i].task);
        let mut template =
            step_template(name, container, builtin_output_names(StageKind::Register));
        template.volumes.extend(self.tracking().ca_volume());
        self.finish_generated(i, template, pod, &fields, None);
    }

    fn deploy(&mut self, i: usize, tasks: &crate::plan::DeployTasks) {
        let plan = self.plan;
        let fields = plan.stages[i].fields.clone();
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let tracking = self.tracking();

        // Part 1: resolve the version to a storage URI.
        let mut pod = Pod::new(plan, &[]);
        let mut extra = Vec::new();
        let mut model_name = String::new();
        match get("model") {
            Some(Value::Ref(Ref::Output { stage: reg, output })) if output == "version" => {
                let reg_fields = &plan.stages[*reg].fields;
                model_name = reg_fields
                    .get("name")
                    .map(|v| pod.text(&v.value))
                    .unwrap_or_default();
                extra.push(env("MLP_MODEL_NAME", model_name.clone()));
                let v = pod.reference(&Ref::Output {
                    stage: *reg,
                    output: output.clone(),
                });
                extra.push(env("MLP_VERSION", v));
            }
            Some(other) => extra.push(env("MLP_MODEL_URI", pod.text(other))),
            None => {}
        }
        if let Some(store) = &tracking.artifact_store {
            extra.push(env("MLP_ARTIFACT_STORE", store.clone()));
        }
        let container =
            tracking.step_container(&plan.programs, "main", mlflow::Step::Resolve, extra);
        let resolve_task = tasks.resolve.clone();
        let resolve_name = self.template_names.fresh(&resolve_task);
        let mut resolve = step_template(resolve_name, container, ["storage_uri", "version"]);
        resolve.volumes.extend(tracking.ca_volume());
        let mut resolve_fields = fields.clone().into_owned();
        resolve_fields.shift_remove("resources");
        resolve_fields.shift_remove("service_account");
        resolve_fields.shift_remove("timeout");
        self.finish_generated(i, resolve, pod, &resolve_fields, Some(resolve_task.clone()));

        // Part 2: apply the InferenceService, its predictor stamped with this
        // run's rollout id. No success condition: Argo would judge the
        // previous rollout's status (see kserve.rs); the wait step judges.
        let mut pod = Pod::new(plan, &[]);
        let storage = pod.input_param(
            "storage_uri".into(),
            Arg::value(format!(
                "{{{{tasks.{resolve_task}.outputs.parameters.storage_uri}}}}"
            )),
            Some(&resolve_task),
        );
        let version = pod.input_param(
            "version".into(),
            Arg::value(format!(
                "{{{{tasks.{resolve_task}.outputs.parameters.version}}}}"
            )),
            None,
        );
        let int = |k: &str| match get(k) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        let mut annotations = BTreeMap::from([("mlflow.org/model-version".to_string(), version)]);
        if !model_name.is_empty() {
            annotations.insert("mlflow.org/registered-model".into(), model_name);
        }
        let apply_task = plan.stages[i].task.clone();
        let rollout = kserve::rollout_id(&apply_task);
        let canary = int("canary");
        let isvc = kserve::InferenceService {
            api_version: kserve::API_VERSION,
            kind: "InferenceService",
            metadata: ObjectMeta {
                name: get("service").map(|v| pod.text(v)),
                namespace: get("namespace").map(|v| pod.text(v)),
                annotations: Some(annotations),
                ..Default::default()
            },
            spec: kserve::InferenceServiceSpec {
                predictor: kserve::Predictor {
                    annotations: BTreeMap::from([(
                        kserve::ROLLOUT_ANNOTATION.to_string(),
                        rollout.clone(),
                    )]),
                    service_account_name: get("service_account").map(|v| pod.text(v)),
                    min_replicas: int("min_replicas"),
                    max_replicas: int("max_replicas"),
                    canary_traffic_percent: canary,
                    model: kserve::ModelSpec {
                        model_format: kserve::ModelFormat {
                            name: get("format")
                                .map(|v| pod.text(v))
                                .unwrap_or_else(|| "mlflow".into()),
                        },
                        protocol_version: get("protocol")
                            .map(|v| pod.text(v))
                            .unwrap_or_else(|| "v2".into()),
                        storage_uri: storage,
                        resources: match get("resources") {
                            Some(Value::Map(res)) => resources(&mut pod, res).0,
                            _ => None,
                        },
                    },
                },
            },
        };
        let manifest = match manifest::value_safe_yaml(&isvc) {
            Ok(m) => m,
            Err(e) => {
                self.failure.get_or_insert(e);
                String::new()
            }
        };
        let mut template = Template {
            name: self.template_names.fresh(&apply_task),
            resource: Some(ResourceTemplate {
                action: "apply",
                manifest,
                success_condition: None,
                failure_condition: None,
            }),
            timeout: Some(kserve::APPLY_TIMEOUT.into()),
            ..Default::default()
        };
        plan.with_deploy_token(&mut template);
        let apply_fields = subset(&fields, &["retries", "labels", "annotations"]);
        let (task, deps) = self.generated_task(template, pod, &apply_fields, apply_task.clone());
        self.push_task(task.dag, deps, Order::new());

        // Part 3: wait for this rollout to serve (and promote a canary).
        let mut pod = Pod::new(plan, &[]);
        let mut extra = vec![
            env(
                "MLP_NAMESPACE",
                get("namespace").map_or_else(
                    || run_placeholder(RunField::Namespace).into(),
                    |v| pod.text(v),
                ),
            ),
            env(
                "MLP_SERVICE",
                get("service").map(|v| pod.text(v)).unwrap_or_default(),
            ),
            env("MLP_ROLLOUT", rollout),
            env(
                "MLP_TIMEOUT_SECONDS",
                match get("timeout") {
                    Some(Value::Duration { secs, .. }) => seconds_text(*secs),
                    Some(other) => pod.text(other),
                    None => kserve::DEFAULT_WAIT_SECONDS.into(),
                },
            ),
        ];
        if let Some(percent) = canary {
            extra.push(env("MLP_CANARY", percent.to_string()));
        }
        let container = mlflow::python_container(
            "main",
            &tracking.image,
            plan.programs.kserve_wait_command(),
            extra,
        );
        let wait_task = tasks.wait.clone();
        let mut template = step_template(
            self.template_names.fresh(&wait_task),
            container,
            builtin_output_names(StageKind::Deploy),
        );
        plan.with_deploy_token(&mut template);
        // The verdict is final: no `retries` (API errors are retried inside
        // until the deadline), and `timeout` is the program's own deadline.
        let wait_fields = subset(
            &fields,
            &["labels", "annotations", "tolerations", "node_selector"],
        );
        let (task, mut deps) = self.generated_task(template, pod, &wait_fields, wait_task);
        deps.insert(apply_task);
        self.push_task(task.dag, deps, Order::new());
    }

    /// The task of a generated step (register, resolve), with the stage's
    /// pod fields, condition and fan-out.
    fn finish_generated(
        &mut self,
        i: usize,
        template: Template,
        pod: Pod,
        fields: &Fields,
        task_name: Option<String>,
    ) {
        let name = task_name.unwrap_or_else(|| self.plan.stages[i].task.clone());
        let (task, deps) = self.generated_task(template, pod, fields, name);
        let order = self.order_deps(i);
        self.finish_task(i, task.dag, task.item_args, deps, order, None);
    }

    /// Emits a generated step's template with the stage's pod fields, and
    /// returns its task (called with the template's implicit inputs) and the
    /// tasks whose outputs it reads.
    fn generated_task(
        &mut self,
        mut template: Template,
        mut pod: Pod,
        fields: &Fields,
        task_name: String,
    ) -> (GeneratedTask, BTreeSet<String>) {
        self.common_pod_fields(&mut template, &mut pod, fields);
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                template
                    .node_selector
                    .insert(k.to_string(), pod.text(&v.value));
            }
        }
        if let (Some(Value::Map(res)), Some(container)) =
            (get("resources"), template.container.as_mut())
        {
            if let (Some(r), _) = resources(&mut pod, res) {
                container.resources = Some(r);
            }
        }
        for name in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
        }
        let mut task = DagTask {
            name: task_name,
            template: template.name.clone(),
            ..Default::default()
        };
        let mut item_args = Vec::new();
        for (name, arg) in &pod.params {
            task.arguments.parameters.push(Parameter {
                name: name.clone(),
                value: Some(arg.value.clone()),
                ..Default::default()
            });
            item_args.push(arg.per_item());
        }
        (self.sink)(template);
        let task = GeneratedTask {
            dag: task,
            item_args,
        };
        (task, pod.deps)
    }
}

/// The task of a generated step, and which of its argument parameters are
/// the loop's item.
struct GeneratedTask {
    dag: DagTask,
    item_args: Vec<bool>,
}

/// A generated step: one container whose outputs are files in STEP_OUTPUTS.
fn step_template<'o>(
    name: String,
    container: Container,
    outputs: impl IntoIterator<Item = &'o str>,
) -> Template {
    let mut template = Template {
        name,
        container: Some(container),
        ..Default::default()
    };
    for output in outputs {
        template.outputs.parameters.push(Parameter {
            name: output.into(),
            value_from: Some(ValueFrom {
                path: Some(format!("{STEP_OUTPUTS}/{output}")),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    template
}

/// The outputs a generated step of `kind` writes: its built-in outputs.
fn builtin_output_names(kind: StageKind) -> impl Iterator<Item = &'static str> {
    schema::builtin_outputs(kind, false).iter().map(|(n, _)| *n)
}

/// The named fields of `fields`, in their order.
fn subset(fields: &Fields, names: &[&str]) -> Fields {
    fields
        .iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A value that means the same in every task: a literal, or exactly one
/// workflow parameter.
fn global_value(plan: &Plan, v: &Value) -> Option<Global> {
    match v {
        Value::Ref(Ref::Param(p)) => Some(Global::Param(plan.param_dns(p))),
        Value::Str(parts) => match parts.as_slice() {
            [StrPart::Ref(Ref::Param(p))] => Some(Global::Param(plan.param_dns(p))),
            _ => plain_text(parts).map(Global::Literal),
        },
        Value::Int(_)
        | Value::Float(_)
        | Value::Bool(_)
        | Value::Duration { .. }
        | Value::Quantity(_) => Some(Global::Literal(literal_text(v))),
        _ => None,
    }
}

/// Puts a template's declared inputs first among the Argo template's inputs
/// (artifacts at the path where the body finds them).
fn declare_inputs(template: &mut Template, declared: &[Input]) {
    let mut parameters = Vec::new();
    let mut artifacts = Vec::new();
    for input in declared {
        if input.ty.is_artifact() {
            artifacts.push(Artifact {
                name: input.name.to_string(),
                path: Some(format!("{INPUTS_DIR}/{}", input.name)),
                ..Default::default()
            });
        } else {
            parameters.push(Parameter {
                name: input.name.to_string(),
                ..Default::default()
            });
        }
    }
    let declared_names: HashSet<&str> = declared.iter().map(|i| i.name.as_str()).collect();
    parameters.extend(
        template
            .inputs
            .parameters
            .drain(..)
            .filter(|p| !declared_names.contains(p.name.as_str())),
    );
    artifacts.extend(
        template
            .inputs
            .artifacts
            .drain(..)
            .filter(|a| !declared_names.contains(a.name.as_str())),
    );
    template.inputs.parameters = parameters;
    template.inputs.artifacts = artifacts;
}

fn stage_declared_outputs(program: &Program, stage: &Stage) -> Vec<Output> {
    let mut out: Vec<Output> = stage
        .uses
        .as_ref()
        .map(|u| program.templates[u.template].outputs.clone())
        .unwrap_or_default();
    out.extend(stage.outputs.iter().cloned());
    out
}

/// A value's text when it is known at compile time (no references).
fn literal_word(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => plain_text(parts),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Quantity(_) => {
            Some(literal_text(v))
        }
        _ => None,
    }
}

fn resources(
    pod: &mut Pod,
    res: &IndexMap<Text, Spanned<Value>>,
) -> (Option<ResourceRequirements>, Option<String>) {
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    let name = |k: &str| match k {
        "ephemeral_storage" => "ephemeral-storage".to_string(),
        "gpu" => "nvidia.com/gpu".to_string(),
        other => other.to_string(),
    };
    let mut gpu_type = None;
    for (k, v) in res {
        match (k.as_str(), &v.value) {
            ("limits", Value::Map(l)) => {
                for (lk, lv) in l.iter() {
                    limits.insert(name(lk), Quantity(pod.text(&lv.value)));
                }
            }
            ("gpu", v) => {
                limits
                    .entry(name("gpu"))
                    .or_insert_with(|| Quantity(literal_text(v)));
            }
            ("gpu_type", v) => gpu_type = Some(pod.text(v)),
            (k, v) => {
                requests.insert(name(k), Quantity(pod.text(v)));
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return (None, gpu_type);
    }
    (
        Some(ResourceRequirements {
            requests: (!requests.is_empty()).then_some(requests),
            limits: (!limits.is_empty()).then_some(limits),
            claims: None,
        }),
        gpu_type,
    )
}

/// `retries`: Argo reads `limit` and `factor` as IntOrString and the backoff
/// durations as strings, so a parameter is substituted at run time (duration
/// parameters hold whole seconds, Argo's default unit). `max` is the longest
/// wait between attempts (`backoff.cap`), not `maxDuration`, which would end
/// all retrying a fixed time after the first attempt started.
fn retry_strategy(pod: &mut Pod, v: &Value) -> Option<RetryStrategy> {
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
            })
        }
        _ => None,
    }
}

/// A value as Argo's duration strings take it: `600s` for a literal, the
/// parameter's whole seconds otherwise; other values as text.
fn duration_text(pod: &mut Pod, v: &Value) -> String {
    match v {
        Value::Duration { secs, .. } => format!("{}s", seconds_text(*secs)),
        other => pod.text(other),
    }
}

fn toleration(pod: &mut Pod, m: &IndexMap<Text, Spanned<Value>>) -> Toleration {
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

/// A `withItems` entry: literals as JSON, text with placeholders as strings.
fn task_json(ctx: &mut TaskCtx, v: &Value) -> serde_json::Value {
    match v {
        Value::Int(i) => (*i).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::Bool(b) => (*b).into(),
        Value::List(items) => items.iter().map(|i| task_json(ctx, &i.value)).collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.to_string(), task_json(ctx, &v.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => ctx.text(other).into(),
    }
}
