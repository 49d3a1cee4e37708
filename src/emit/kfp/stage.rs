//! A container stage (`prep`, `train`, `job`) as a KFP component, its
//! executor, its Kubernetes config and the task that runs it.
//!
//! Every value the container reads that is not a literal becomes an input
//! of the component, fed by the task (`componentInputParameter` for a
//! pipeline parameter, `taskOutputParameter`/`taskOutputArtifact` for
//! another stage's output, `runtimeValue` for the run's identity), and is
//! read in the argv with a placeholder the driver or launcher resolves
//! (`{{$.inputs.parameters['x']}}`, `{{$.inputs.artifacts['x'].path}}`).

use std::collections::BTreeSet;

mod deploy;
mod fan_in;
mod platform;
mod run_fields;
pub mod tracking;

use super::dag::{self, At, DagKey, Kind, Router};
use super::ir::*;
use super::values::{self, Routed};
use super::wrap::{self, Copy, Export};
use super::{artifact_type, cel, parameter_type};
use crate::collections::IndexMap;
use crate::diag::MlpError;
use crate::plan::literal::{literal_text, literal_word};
use crate::plan::{Binding, Plan};
use crate::sema::argv;
use crate::sema::hir::{Cond, KeySource, Ref, RunField, Spanned, StageId, StrPart, Value};
use crate::sema::schema::{StageKind, PARAM_ENV_PREFIX};

use crate::sema::types::{ArtifactKind, Ty};
use crate::source::{SourceSet, Span};
use crate::syntax::ast::Text;
use tracking::{Block, Programs, TrackingTasks};

/// What one container stage becomes.
pub struct Built {
    pub inputs: Definitions,
    pub outputs: Definitions,
    pub container: Container,
    pub platform: ExecutorConfig,
    /// The task, without its `componentRef` (the caller names it).
    pub task: Task,
}

/// What every stage's tasks share: the pipeline's pull secrets, its
/// programs, its `mlflow` block, and each tracked stage's start and end
/// tasks (by stage index).
pub struct Shared<'p> {
    pub pull_secrets: Vec<String>,
    pub programs: Programs,
    pub block: Option<Block<'p>>,
    pub tracking: Vec<Option<TrackingTasks>>,
}

/// The tasks of one stage, each with its name: its own (a container, a
/// register step, a deploy's apply) and its helpers.
pub fn tasks(
    plan: &Plan<'_>,
    sources: &SourceSet,
    router: &mut Router,
    id: StageId,
    shared: &Shared<'_>,
) -> Result<Vec<(String, Built)>, Vec<MlpError>> {
    let sp = plan.stage(id);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut keep = |name: &str, r: Result<Built, Vec<MlpError>>| match r {
        Ok(b) => out.push((name.to_string(), b)),
        Err(mut e) => errors.append(&mut e),
    };
    // Each task is built by a component of its own, reading as the stage.
    macro_rules! new {
        () => {
            Component::new(plan, sources, router, id)
        };
    }
    // Register and deploy stages exist only with an `mlflow` block (sema).
    let block = shared.block.as_ref();
    match (sp.kind, block, &sp.deploy) {
        (StageKind::Register, Some(block), _) => {
            keep(&sp.task, deploy::register(new!(), block, shared));
        }
        (StageKind::Deploy, Some(block), Some(d)) => {
            keep(&d.resolve, deploy::resolve(new!(), block, shared));
            keep(&sp.task, deploy::apply(new!(), block, shared, d));
            keep(&d.wait, deploy::wait(new!(), block, shared));
        }
        // Without it (the checker's E0210) there is nothing to write.
        (StageKind::Register | StageKind::Deploy, _, _) => {}
        _ => {
            let tracked = shared.tracking[id.index()].as_ref().zip(block);
            let mut c = new!();
            let built = c.build(&shared.pull_secrets, tracked);
            let gathers = std::mem::take(&mut c.gathers);
            let built = c.done(built);
            for (name, g) in gathers {
                keep(&name, Ok(g));
            }
            if let (Ok(stage), Some((tasks, block))) = (&built, tracked) {
                // The start task waits for what the stage waits for.
                let mut upstream = stage.task.clone();
                upstream.dependent_tasks.retain(|t| *t != tasks.start);
                keep(
                    &tasks.start,
                    tracking::start(new!(), block, shared, &upstream),
                );
                keep(&tasks.end, tracking::end(new!(), block, shared, &sp.task));
            }
            keep(&sp.task, built);
            if let (Some(gate), Some(block)) = (&sp.gate, block) {
                keep(&gate.task, tracking::gate(new!(), block, shared, gate));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The MLflow clean-up task of `finally`'s DAG.
pub fn cleanup(
    plan: &Plan<'_>,
    sources: &SourceSet,
    router: &mut Router,
    block: &Block<'_>,
    shared: &Shared<'_>,
) -> Result<Built, Vec<MlpError>> {
    // It reads no stage: a tracked one only anchors its diagnostics.
    let anchor = (0..plan.stages.len())
        .map(StageId)
        .find(|s| shared.tracking[s.index()].is_some())
        .unwrap_or(StageId(0));
    let mut c = Component::new(plan, sources, router, anchor);
    c.path = vec![DagKey::Root, DagKey::Finally];
    tracking::cleanup(c, block, shared)
}

struct Component<'a, 'p> {
    plan: &'a Plan<'p>,
    sources: &'a SourceSet,
    /// The DAGs the stage's task is in, outermost first.
    path: Vec<DagKey>,
    /// How much of `path` holds the group template's use whose inputs the
    /// reference being read means (less while reading an argument).
    scope: usize,
    router: &'a mut Router,
    stage: StageId,
    inputs: Definitions,
    task_inputs: TaskInputs,
    /// Tasks whose outputs it reads.
    deps: BTreeSet<String>,
    /// The executor's environment: values known at compile time.
    env: Vec<EnvVar>,
    /// Variables the wrapper exports, and the text of each one's value.
    exports: Vec<(Export, String)>,
    /// Outputs the wrapper copies: how, and its arguments.
    copies: Vec<(Copy, Vec<String>)>,
    outputs: Definitions,
    /// The values of a shell script's `${MLP_V_n}`, in order.
    shell_vars: Vec<String>,
    platform: ExecutorConfig,
    /// Tasks that merge a collected artifact for this task, by name.
    gathers: Vec<(String, Built)>,
    errors: Vec<MlpError>,
}

impl<'a, 'p> Component<'a, 'p> {
    fn new(
        plan: &'a Plan<'p>,
        sources: &'a SourceSet,
        router: &'a mut Router,
        stage: StageId,
    ) -> Self {
        Component {
            plan,
            sources,
            path: dag::stage_path(plan, stage),
            scope: usize::MAX,
            router,
            stage,
            inputs: Definitions::default(),
            task_inputs: TaskInputs::default(),
            deps: BTreeSet::new(),
            env: Vec::new(),
            exports: Vec::new(),
            copies: Vec::new(),
            outputs: Definitions::default(),
            shell_vars: Vec::new(),
            platform: ExecutorConfig::default(),
            gathers: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn done(self, built: Built) -> Result<Built, Vec<MlpError>> {
        if self.errors.is_empty() {
            Ok(built)
        } else {
            Err(self.errors)
        }
    }
}

impl Component<'_, '_> {
    fn build(
        &mut self,
        pull_secrets: &[String],
        tracked: Option<(&TrackingTasks, &Block<'_>)>,
    ) -> Built {
        let plan = self.plan;
        let sp = plan.stage(self.stage);
        let stage = plan.pipeline.stage(self.stage);
        let fields = sp.fields.clone();
        let get = |k: &str| fields.get(k);

        let (command, args) = self.argv(&fields);
        let image = get("image").map(|v| self.text(v)).unwrap_or_default();

        // Environment: literal values in the executor, Secrets and
        // ConfigMaps through the platform config, the rest exported.
        if let Some(Value::Map(vars)) = get("env").map(|v| &v.value) {
            for (name, v) in vars.iter() {
                self.env_var(name, v);
            }
        }
        if let Some(Value::Map(params)) = get("params").map(|v| &v.value) {
            for (k, v) in params.iter() {
                let name = format!("{PARAM_ENV_PREFIX}{}", k.to_ascii_uppercase());
                self.env_var(&name, v);
            }
        }

        // Outputs at fixed paths: declared, and copied by the wrapper.
        for (name, info) in &sp.outputs {
            let Some(path) = &info.path else { continue };
            match &info.ty {
                Ty::Artifact(kind) => self.artifact_output(name, *kind, path.clone(), ""),
                ty => self.value_output(name, parameter_type(ty), path.clone()),
            }
        }
        self.indexed_copies();
        if let Some((tasks, block)) = tracked {
            self.tracked_stage(block, tasks);
        }

        if (!self.exports.is_empty() || !self.copies.is_empty())
            && command.is_empty()
            && args.is_empty()
        {
            self.no_form(
                stage.span,
                format!("stage `{}` without `command` or `script`", stage.name),
                "KFP runs its outputs and run-time environment through a wrapper around the command: spell the command out (`command = [\"python\", \"train.py\"]`)",
            );
        }
        let resources = self.resources(&fields);
        self.platform_fields(&fields, pull_secrets);
        let condition = self.condition();
        let mut built = self.finish(image, command, args, stage.name.to_string());
        built.container.resources = resources;
        built.task.caching_options = Some(CachingOptions {
            enable_cache: matches!(get("cache").map(|v| &v.value), Some(Value::Bool(true))),
        });
        built.task.retry_policy = get("retries").and_then(|r| retry_policy(&r.value));
        built.task.trigger_policy = condition.map(|condition| TriggerPolicy {
            condition: Some(condition),
            strategy: None,
        });
        built
    }

    /// An artifact output the command writes at `path`, copied by the
    /// wrapper to KFP's path for it followed by `under`.
    fn artifact_output(&mut self, name: &str, kind: ArtifactKind, path: String, under: &str) {
        self.outputs.artifacts.insert(
            name.to_string(),
            ArtifactSpec {
                artifact_type: artifact_type(kind),
                is_artifact_list: false,
            },
        );
        self.copies.push((
            Copy::Artifact,
            vec![
                path,
                format!("{{{{$.outputs.artifacts['{name}'].path}}}}{under}"),
            ],
        ));
    }

    /// A value output the command writes at `path`, copied by the wrapper.
    fn value_output(&mut self, name: &str, ty: ParameterType, path: String) {
        self.outputs
            .parameters
            .insert(name.to_string(), ParameterSpec::of(ty));
        self.copies.push((
            Copy::Value,
            vec![
                path,
                format!("{{{{$.outputs.parameters['{name}'].output_file}}}}"),
            ],
        ));
    }

    /// An input parameter `name` of the component, `spec`, fed by the task
    /// from `source`; its placeholder.
    fn param_input(
        &mut self,
        name: &str,
        spec: ParameterSpec,
        source: impl Into<TaskParameter>,
    ) -> String {
        self.inputs.parameters.insert(name.to_string(), spec);
        self.task_inputs
            .parameters
            .insert(name.to_string(), source.into());
        param_placeholder(name)
    }

    /// A string input holding a run-time value of KFP's driver
    /// (`{{$.pipeline_job_uuid}}`, ...), which it resolves only as the whole
    /// constant of a task input; its placeholder.
    fn runtime_input(&mut self, name: &str, constant: &str) -> String {
        self.param_input(
            name,
            ParameterSpec::of(ParameterType::String),
            ParameterInput::RuntimeValue(RuntimeValue {
                constant: serde_json::Value::String(constant.into()),
            }),
        )
    }

    /// Exports `name` with the value `text` (which may hold placeholders).
    fn export(&mut self, name: &str, text: String) {
        self.exports.push((name.into(), text));
    }

    /// The component, executor and task of what was gathered: `command`
    /// and `args` wrapped when a value must be exported or an output
    /// copied. The task runs without cache and has no condition, retries
    /// or resources until the caller sets them.
    fn finish(
        &mut self,
        image: String,
        command: Vec<String>,
        args: Vec<String>,
        display: String,
    ) -> Built {
        let (command, args) = if self.exports.is_empty() && self.copies.is_empty() {
            (command, args)
        } else {
            let exports: Vec<Export> = self.exports.iter().map(|(e, _)| e.clone()).collect();
            let kinds: Vec<Copy> = self.copies.iter().map(|c| c.0).collect();
            let mut all = vec![wrap::NAME.to_string()];
            all.extend(self.exports.iter().map(|(_, v)| v.clone()));
            for (_, paths) in &self.copies {
                all.extend(paths.iter().cloned());
            }
            all.extend(command);
            all.extend(args);
            (
                vec!["sh".into(), "-c".into(), wrap::script(&exports, &kinds)],
                all,
            )
        };
        let task = Task::container(
            display,
            std::mem::take(&mut self.task_inputs),
            self.deps.iter().cloned().collect(),
        );
        Built {
            inputs: std::mem::take(&mut self.inputs),
            outputs: std::mem::take(&mut self.outputs),
            container: Container {
                args,
                command,
                env: std::mem::take(&mut self.env),
                image,
                resources: Resources::default(),
            },
            platform: std::mem::take(&mut self.platform),
            task,
        }
    }

    fn no_form(&mut self, at: Span, what: String, instead: &str) {
        self.errors.push(MlpError::KfpNoForm {
            src: self.sources.named(at.source),
            at,
            what,
            instead: instead.into(),
        });
    }

    fn not_yet(&mut self, at: Span, what: &str) {
        self.errors.push(MlpError::KfpNotYet {
            src: self.sources.named(at.source),
            at,
            what: what.into(),
        });
    }

    /// `command` and `args` as texts, or `[shell, -c, script]`. A shell's
    /// code reads values through `${MLP_V_n}` variables the wrapper exports.
    fn argv(&mut self, fields: &IndexMap<Text, Spanned<Value>>) -> (Vec<String>, Vec<String>) {
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        if let Some(Value::Str(parts)) = get("script") {
            let shell = get("shell")
                .map(literal_text)
                .unwrap_or_else(|| "sh".into());
            let script = if argv::is_shell(&shell) {
                self.shell_text(parts)
            } else {
                self.parts(parts)
            };
            return (vec![shell, "-c".into(), script], Vec::new());
        }
        let list = |k: &str| match get(k) {
            Some(Value::List(items)) => items.clone(),
            _ => Vec::new(),
        };
        let (command, rest) = (list("command"), list("args"));
        let words: Vec<Option<String>> = command
            .iter()
            .chain(&rest)
            .map(|i| literal_word(&i.value))
            .collect();
        let words: Vec<Option<&str>> = words.iter().map(Option::as_deref).collect();
        let shell_code = match argv::code_argument(&words) {
            Some((i, argv::Code::Shell)) => Some(i),
            _ => None,
        };
        let mut out = (Vec::new(), Vec::new());
        for (i, item) in command.iter().chain(&rest).enumerate() {
            let text = match &item.value {
                Value::Str(parts) if shell_code == Some(i) => self.shell_text(parts),
                _ => self.text(item),
            };
            if i < command.len() {
                out.0.push(text);
            } else {
                out.1.push(text);
            }
        }
        out
    }

    /// A shell's code with each value as `${MLP_V_n}`, exported by the
    /// wrapper: no value becomes part of the code.
    fn shell_text(&mut self, parts: &[StrPart]) -> String {
        let mut out = String::new();
        for p in parts {
            match p {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Ref(r) => {
                    let value = self.read(r, None).unwrap_or_default();
                    let n = match self.shell_vars.iter().position(|v| *v == value) {
                        Some(n) => n + 1,
                        None => {
                            self.shell_vars.push(value.clone());
                            let n = self.shell_vars.len();
                            self.export(&format!("MLP_V_{n}"), value);
                            n
                        }
                    };
                    out.push_str(&format!("${{MLP_V_{n}}}"));
                }
            }
        }
        out
    }

    /// A string's text, each reference as its placeholder.
    fn parts(&mut self, parts: &[StrPart]) -> String {
        let mut out = String::new();
        for p in parts {
            match p {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Ref(r) => out.push_str(&self.read(r, None).unwrap_or_default()),
            }
        }
        out
    }

    /// A value's text in the argv (or the image).
    fn text(&mut self, v: &Spanned<Value>) -> String {
        match &v.value {
            Value::Str(parts) => self.parts(parts),
            Value::Ref(r) => self.read(r, Some(v.span)).unwrap_or_default(),
            other => literal_text(other),
        }
    }

    /// The placeholder of what a reference reads, adding the input that
    /// carries it; `None` (with a diagnostic) when KFP has no form for it.
    fn read(&mut self, r: &Ref, at: Option<Span>) -> Option<String> {
        let plan = self.plan;
        let span = at.unwrap_or(plan.pipeline.stage(self.stage).span);
        if let Binding::Input(name) = plan.binding(r) {
            let stage = plan.pipeline.stage(self.stage);
            let arg = stage.uses.as_ref()?.args.get(name.as_str())?.clone();
            return Some(self.text(&arg));
        }
        if let Binding::Run(field) = plan.binding(r) {
            return self.run_field(field, span);
        }
        if let Binding::GroupInput(name) = plan.binding(r) {
            let scope = self.scope.min(self.path.len());
            let Some((arg, depth)) = values::group_input(plan, &self.path[..scope], &name) else {
                self.not_yet(span, "a group template's input here");
                return None;
            };
            let saved = std::mem::replace(&mut self.scope, depth);
            let text = self.text(arg);
            self.scope = saved;
            return Some(text);
        }
        let Routed {
            input,
            at,
            value,
            selector,
            model_path,
        } = self.routed(r, span)?;
        if let Some(p) = dag::producer(&at) {
            self.deps.insert(p.to_string());
        }
        match value.kind {
            Kind::Parameter => {
                let spec = value
                    .parameter
                    .unwrap_or(ParameterSpec::of(ParameterType::String));
                let source = TaskParameter {
                    source: dag::parameter_input(&at),
                    parameter_expression_selector: selector,
                };
                let text = self.param_input(&input, spec, source);
                Some(match model_path {
                    Some(path) => format!("runs:/{text}/{path}"),
                    None => text,
                })
            }
            Kind::Artifact => {
                let mut spec = value.artifact?;
                let mut at = at;
                if spec.is_artifact_list {
                    let gather = self.gather(&input, &at, &spec);
                    self.deps.insert(gather.clone());
                    at = At::Task {
                        task: gather,
                        key: "dir".into(),
                    };
                    spec = ArtifactSpec {
                        artifact_type: artifact_type(ArtifactKind::Dir),
                        is_artifact_list: false,
                    };
                }
                self.inputs.artifacts.insert(input.clone(), spec);
                self.task_inputs
                    .artifacts
                    .insert(input.clone(), dag::artifact_input(&at));
                Some(format!("{{{{$.inputs.artifacts['{input}'].path}}}}"))
            }
        }
    }

    /// A reference routed to the stage's DAG; a diagnostic when KFP (or
    /// this backend) has no form for it.
    fn routed(&mut self, r: &Ref, span: Span) -> Option<Routed> {
        let own = DagKey::Loop(self.stage);
        let scope = self.scope.min(self.path.len());
        match values::route_in(self.plan, self.router, &self.path, scope, Some(own), r) {
            Ok(routed) => Some(routed),
            Err(what) => {
                self.not_yet(span, &what);
                None
            }
        }
    }

    fn env_var(&mut self, name: &str, v: &Spanned<Value>) {
        match &v.value {
            Value::Secret(s) => {
                let key = s.key.as_deref().unwrap_or_default().to_string();
                match s.source {
                    KeySource::Secret => self.platform.secret_as_env.push(SecretAsEnv {
                        key_to_env: vec![SecretKeyToEnv {
                            env_var: name.into(),
                            secret_key: key,
                        }],
                        optional: false,
                        secret_name_parameter: NameInput::constant(&s.name),
                    }),
                    KeySource::ConfigMap => self.platform.config_map_as_env.push(ConfigMapAsEnv {
                        config_map_name_parameter: NameInput::constant(&s.name),
                        key_to_env: vec![ConfigMapKeyToEnv {
                            config_map_key: key,
                            env_var: name.into(),
                        }],
                        optional: false,
                    }),
                }
            }
            Value::Ref(Ref::Run(f @ (RunField::Pod | RunField::Namespace))) => {
                self.platform.field_path_as_env.push(FieldPathAsEnv {
                    field_path: match f {
                        RunField::Pod => "metadata.name",
                        _ => "metadata.namespace",
                    }
                    .into(),
                    name: name.into(),
                });
            }
            other => match literal_word(other) {
                Some(text) => self.env.push(EnvVar {
                    name: name.into(),
                    value: text,
                }),
                None => {
                    let text = self.text(v);
                    self.export(name, text);
                }
            },
        }
    }

    /// The stage's `when` (and its template's), as CEL over inputs of the
    /// task.
    fn condition(&mut self) -> Option<String> {
        let plan = self.plan;
        let stage = plan.pipeline.stage(self.stage);
        let template_when = stage
            .uses
            .as_ref()
            .and_then(|u| plan.program.template(u.template).when.as_ref());
        let conds: Vec<&Spanned<Cond>> = [template_when, stage.when.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let mut texts = Vec::new();
        for c in &conds {
            match cel::condition(&c.value, self) {
                Ok(t) => texts.push(t),
                Err(what) => self.not_yet(c.span, &what),
            }
        }
        match texts.len() {
            0 => None,
            1 => texts.pop(),
            _ => Some(
                texts
                    .iter()
                    .map(|t| format!("({t})"))
                    .collect::<Vec<_>>()
                    .join(" && "),
            ),
        }
    }
}

impl cel::Operands for Component<'_, '_> {
    /// A condition's operand: an input of the task named as kfp names the
    /// values a condition reads (`pipelinechannel--NAME`). The driver
    /// evaluates the condition before the container runs, so the component
    /// does not declare it (../shared/reference/KFP-IR.md §2.6).
    fn operand(&mut self, r: &Ref) -> Result<String, String> {
        let plan = self.plan;
        if let Binding::Input(name) = plan.binding(r) {
            let stage = plan.pipeline.stage(self.stage);
            let arg = stage
                .uses
                .as_ref()
                .and_then(|u| u.args.get(name.as_str()))
                .ok_or("a template input")?;
            return match &arg.value {
                Value::Ref(inner) => self.operand(inner),
                v => {
                    let input = format!("pipelinechannel--input-{name}");
                    let constant = crate::plan::literal::literal_json(v);
                    self.task_inputs.parameters.insert(
                        input.clone(),
                        ParameterInput::RuntimeValue(RuntimeValue { constant }).into(),
                    );
                    Ok(input)
                }
            };
        }
        if matches!(plan.binding(r), Binding::Run(_)) {
            return Err("`run.*` in a condition".into());
        }
        let scope = self.scope.min(self.path.len());
        if let Binding::GroupInput(name) = plan.binding(r) {
            let (arg, depth) = values::group_input(plan, &self.path[..scope], &name)
                .ok_or("a group template's input")?;
            return match &arg.value {
                Value::Ref(inner) => {
                    let saved = std::mem::replace(&mut self.scope, depth);
                    let out = self.operand(inner);
                    self.scope = saved;
                    out
                }
                v => {
                    let input = format!("pipelinechannel--group-input-{name}");
                    let constant = crate::plan::literal::literal_json(v);
                    self.task_inputs.parameters.insert(
                        input.clone(),
                        ParameterInput::RuntimeValue(RuntimeValue { constant }).into(),
                    );
                    Ok(input)
                }
            };
        }
        let own = DagKey::Loop(self.stage);
        let routed = values::route_in(plan, self.router, &self.path, scope, Some(own), r)
            .map_err(|_| "this value in a condition".to_string())?;
        if routed.model_path.is_some() {
            return Err("a model's URI in a condition".into());
        }
        if let Some(p) = dag::producer(&routed.at) {
            self.deps.insert(p.to_string());
        }
        let (input, parameter) = routed.operand();
        self.task_inputs.parameters.insert(input.clone(), parameter);
        Ok(input)
    }
}

fn param_placeholder(input: &str) -> String {
    format!("{{{{$.inputs.parameters['{input}']}}}}")
}

/// `retries = N` or `retries { limit backoff factor max }`, with kfp's
/// defaults for what is not set (no wait, factor 2, at most an hour).
fn retry_policy(v: &Value) -> Option<RetryPolicy> {
    let secs = |v: Option<&Spanned<Value>>, default: &str| match v.map(|v| &v.value) {
        Some(Value::Duration { secs, .. }) => format!("{}s", secs.ceil() as i64),
        _ => default.to_string(),
    };
    match v {
        Value::Int(n) => Some(RetryPolicy {
            backoff_duration: "0s".into(),
            backoff_factor: 2.0,
            backoff_max_duration: "3600s".into(),
            max_retry_count: *n,
        }),
        Value::Map(m) => {
            let limit = match m.get("limit").map(|v| &v.value) {
                Some(Value::Int(n)) => *n,
                _ => return None,
            };
            let factor = match m.get("factor").map(|v| &v.value) {
                Some(Value::Int(f)) => *f as f64,
                Some(Value::Float(f)) => *f,
                _ => 2.0,
            };
            Some(RetryPolicy {
                backoff_duration: secs(m.get("backoff"), "0s"),
                backoff_factor: factor,
                backoff_max_duration: secs(m.get("max"), "3600s"),
                max_retry_count: limit,
            })
        }
        _ => None,
    }
}
