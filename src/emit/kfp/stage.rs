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

mod platform;

use super::dag::{self, At, DagKey, Kind, Router};
use super::ir::*;
use super::values::{self, Routed};
use super::wrap::{self, Copy};
use super::{artifact_type, cel, parameter_type};
use crate::collections::IndexMap;
use crate::diag::MlpError;
use crate::plan::literal::literal_text;
use crate::plan::{Binding, Plan};
use crate::sema::argv;
use crate::sema::hir::{Cond, KeySource, Ref, RunField, Spanned, StageId, StrPart, Value};
use crate::sema::schema::PARAM_ENV_PREFIX;
use crate::sema::text::plain_text;
use crate::sema::types::Ty;
use crate::source::{SourceSet, Span};
use crate::syntax::ast::Text;

/// What one container stage becomes.
pub struct Built {
    pub inputs: Definitions,
    pub outputs: Definitions,
    pub container: Container,
    pub platform: ExecutorConfig,
    /// The task, without its `componentRef` (the caller names it).
    pub task: Task,
}

pub fn container(
    plan: &Plan<'_>,
    sources: &SourceSet,
    router: &mut Router,
    id: StageId,
    pull_secrets: &[String],
) -> Result<Built, Vec<MlpError>> {
    let mut c = Component {
        plan,
        sources,
        path: dag::stage_path(plan, id),
        router,
        stage: id,
        inputs: Definitions::default(),
        task_inputs: TaskInputs::default(),
        deps: BTreeSet::new(),
        exports: Vec::new(),
        shell_vars: Vec::new(),
        platform: ExecutorConfig::default(),
        errors: Vec::new(),
    };
    let built = c.build(pull_secrets);
    if c.errors.is_empty() {
        Ok(built)
    } else {
        Err(c.errors)
    }
}

struct Component<'a, 'p> {
    plan: &'a Plan<'p>,
    sources: &'a SourceSet,
    /// The DAGs the stage's task is in, outermost first.
    path: Vec<DagKey>,
    router: &'a mut Router,
    stage: StageId,
    inputs: Definitions,
    task_inputs: TaskInputs,
    /// Tasks whose outputs it reads.
    deps: BTreeSet<String>,
    /// Variables the wrapper exports: name and the text of its value.
    exports: Vec<(String, String)>,
    /// The values of a shell script's `${MLP_V_n}`, in order.
    shell_vars: Vec<String>,
    platform: ExecutorConfig,
    errors: Vec<MlpError>,
}

impl Component<'_, '_> {
    fn build(&mut self, pull_secrets: &[String]) -> Built {
        let plan = self.plan;
        let sp = plan.stage(self.stage);
        let stage = plan.pipeline.stage(self.stage);
        let fields = sp.fields.clone();
        let get = |k: &str| fields.get(k);

        let (command, args) = self.argv(&fields);
        let image = get("image").map(|v| self.text(v)).unwrap_or_default();

        // Environment: literal values in the executor, Secrets and
        // ConfigMaps through the platform config, the rest exported.
        let mut env = Vec::new();
        if let Some(Value::Map(vars)) = get("env").map(|v| &v.value) {
            for (name, v) in vars.iter() {
                self.env_var(name, v, &mut env);
            }
        }
        if let Some(Value::Map(params)) = get("params").map(|v| &v.value) {
            for (k, v) in params.iter() {
                let name = format!("{PARAM_ENV_PREFIX}{}", k.to_ascii_uppercase());
                self.env_var(&name, v, &mut env);
            }
        }

        // Outputs at fixed paths: declared, and copied by the wrapper.
        let mut outputs = Definitions::default();
        let mut copies: Vec<(Copy, String, String)> = Vec::new();
        for (name, info) in &sp.outputs {
            let Some(path) = &info.path else { continue };
            match &info.ty {
                Ty::Artifact(kind) => {
                    outputs.artifacts.insert(
                        name.clone(),
                        ArtifactSpec {
                            artifact_type: artifact_type(*kind),
                            is_artifact_list: false,
                        },
                    );
                    copies.push((
                        Copy::Artifact,
                        path.clone(),
                        format!("{{{{$.outputs.artifacts['{name}'].path}}}}"),
                    ));
                }
                ty => {
                    outputs
                        .parameters
                        .insert(name.clone(), ParameterSpec::of(parameter_type(ty)));
                    copies.push((
                        Copy::Value,
                        path.clone(),
                        format!("{{{{$.outputs.parameters['{name}'].output_file}}}}"),
                    ));
                }
            }
        }

        let (command, args) = if self.exports.is_empty() && copies.is_empty() {
            (command, args)
        } else {
            if command.is_empty() && args.is_empty() {
                self.no_form(
                    stage.span,
                    format!("stage `{}` without `command` or `script`", stage.name),
                    "KFP runs its outputs and run-time environment through a wrapper around the command: spell the command out (`command = [\"python\", \"train.py\"]`)",
                );
            }
            let names: Vec<String> = self.exports.iter().map(|(n, _)| n.clone()).collect();
            let kinds: Vec<Copy> = copies.iter().map(|c| c.0).collect();
            let mut all = vec![wrap::NAME.to_string()];
            all.extend(self.exports.iter().map(|(_, v)| v.clone()));
            for (_, path, kfp) in &copies {
                all.push(path.clone());
                all.push(kfp.clone());
            }
            all.extend(command);
            all.extend(args);
            (
                vec!["sh".into(), "-c".into(), wrap::script(&names, &kinds)],
                all,
            )
        };

        let resources = self.resources(&fields);
        self.platform_fields(&fields, pull_secrets);
        let condition = self.condition();

        let task = Task {
            caching_options: Some(CachingOptions {
                enable_cache: matches!(get("cache").map(|v| &v.value), Some(Value::Bool(true))),
            }),
            component_ref: ComponentRef {
                name: String::new(),
            },
            dependent_tasks: self.deps.iter().cloned().collect(),
            inputs: std::mem::take(&mut self.task_inputs),
            iterator_policy: None,
            parameter_iterator: None,
            retry_policy: get("retries").and_then(|r| retry_policy(&r.value)),
            task_info: TaskInfo {
                name: stage.name.to_string(),
            },
            trigger_policy: condition.map(|condition| TriggerPolicy {
                condition: Some(condition),
                strategy: None,
            }),
        };
        Built {
            inputs: std::mem::take(&mut self.inputs),
            outputs,
            container: Container {
                args,
                command,
                env,
                image,
                resources,
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
                            self.exports.push((format!("MLP_V_{n}"), value));
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
        let Routed {
            input,
            at,
            value,
            selector,
        } = self.routed(r, span)?;
        if let Some(p) = dag::producer(&at) {
            self.deps.insert(p.to_string());
        }
        match value.kind {
            Kind::Parameter => {
                let spec = value
                    .parameter
                    .unwrap_or(ParameterSpec::of(ParameterType::String));
                self.inputs.parameters.insert(input.clone(), spec);
                self.task_inputs.parameters.insert(
                    input.clone(),
                    TaskParameter {
                        source: dag::parameter_input(&at),
                        parameter_expression_selector: selector,
                    },
                );
                Some(param_placeholder(&input))
            }
            Kind::Artifact => {
                let spec = value.artifact?;
                if spec.is_artifact_list {
                    self.not_yet(span, "artifact fan-in");
                    return None;
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
        match values::route(self.plan, self.router, &self.path, Some(own), r) {
            Ok(routed) => Some(routed),
            Err(what) => {
                self.not_yet(span, &what);
                None
            }
        }
    }

    /// `run.status` in `finally`: the exit task's final status of the main
    /// run, as `.mlp` spells its states.
    fn run_status(&mut self) -> Option<String> {
        let depth = self.path.iter().position(|k| *k == DagKey::Finally)?;
        let (at, _) = self.router.route(
            self.plan,
            &dag::Value {
                kind: Kind::Parameter,
                parameter: Some(ParameterSpec {
                    is_optional: true,
                    ..ParameterSpec::of(ParameterType::TaskFinalStatus)
                }),
                artifact: None,
            },
            At::Input(dag::STATUS.into()),
            &self.path[..=depth],
            &self.path,
            dag::STATUS,
        );
        self.router.status_read = true;
        let input = "mlp-run-status";
        self.inputs
            .parameters
            .insert(input.into(), ParameterSpec::of(ParameterType::String));
        self.task_inputs.parameters.insert(
            input.into(),
            TaskParameter {
                source: dag::parameter_input(&at),
                parameter_expression_selector: Some(dag::STATUS_SELECTOR.into()),
            },
        );
        Some(param_placeholder(input))
    }

    fn run_field(&mut self, field: RunField, at: Span) -> Option<String> {
        let (input, constant) = match field {
            RunField::Uid => ("mlp-run-uid", "{{$.pipeline_job_uuid}}"),
            RunField::Name => ("mlp-run-name", "{{$.pipeline_job_name}}"),
            RunField::ScheduledTime => {
                ("mlp-scheduled-time", "{{$.pipeline_job_schedule_time_utc}}")
            }
            RunField::Pod | RunField::Namespace => {
                self.no_form(
                    at,
                    format!("`run.{}` outside `env`", field.name()),
                    "KFP gives a pod its name and namespace as environment variables only: set one in `env` (e.g. `env { POD = run.pod }`) and read it there",
                );
                return None;
            }
            RunField::Status => return self.run_status(),
            RunField::Failures => {
                self.no_form(
                    at,
                    "`run.failures`".into(),
                    "KFP's final status of a run carries only its state and one error message: read `run.status`",
                );
                return None;
            }
        };
        self.inputs
            .parameters
            .insert(input.to_string(), ParameterSpec::of(ParameterType::String));
        self.task_inputs.parameters.insert(
            input.to_string(),
            ParameterInput::RuntimeValue(RuntimeValue {
                constant: serde_json::Value::String(constant.into()),
            })
            .into(),
        );
        Some(param_placeholder(input))
    }

    fn env_var(&mut self, name: &str, v: &Spanned<Value>, env: &mut Vec<EnvVar>) {
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
                Some(text) => env.push(EnvVar {
                    name: name.into(),
                    value: text,
                }),
                None => {
                    let text = self.text(v);
                    self.exports.push((name.to_string(), text));
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
        let own = DagKey::Loop(self.stage);
        let routed = values::route(plan, self.router, &self.path, Some(own), r)
            .map_err(|_| "this value in a condition".to_string())?;
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

/// A value's text when it is known at compile time (no references).
fn literal_word(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => plain_text(parts),
        Value::Ref(_) | Value::Secret(_) | Value::Node(_) => None,
        other => Some(literal_text(other)),
    }
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
