//! A distributed `train` stage (§9.6): an Argo `resource` step creates
//! its training job (a Kubeflow Trainer `TrainJob`, or a Training Operator
//! `PyTorchJob`) and waits for the job's success or failure condition
//! (`emit::trainer`). The job's nodes are pods the training operator
//! makes, so a tracked stage cannot wrap them as it wraps a container: its
//! task calls a DAG of three steps instead,
//!
//!   mlflow-start (creates the run) -> job (the resource step, its nodes
//!   given `MLFLOW_RUN_ID`) -> mlflow-end (ends the run by the job step's
//!   phase, and fails unless it succeeded),
//!
//! and the DAG's output `run_id` is the stage's, so gates, `model` and
//! `register` read it as from any tracked stage. The stage's `when`,
//! `for_each` and dependencies stay on the stage's one task.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, LocalObjectReference, PodSpec, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::generated::step_template;
use super::pod::{resources, retry_strategy, toleration, Pod};
use super::template::{declare_inputs, user_argv};
use super::{manifest, pod_surface, Built, Emitter, STEP_OUTPUTS};
use crate::collections::IndexMap;
use crate::emit::argo::{
    Backoff, Dag, DagTask, Parameter, ResourceTemplate, RetryStrategy, Template, ValueFrom,
};
use crate::emit::mlflow::{self, env, Tracking};
use crate::emit::trainer::{self, NodePod, PyTorchJob, TrainJob, Trainer};
use crate::plan::literal::literal_text;
use crate::plan::{Distributed, TrainingApi};
use crate::sema::distributed::{DEFAULT_JOB_SECONDS, STEP_MARGIN_SECONDS};
use crate::sema::hir::{Fields, Input, StageId, Value};
use crate::sema::schema::{self, PARAM_ENV_PREFIX};

/// The job step's input that carries the run id to the nodes.
const RUN_ID_INPUT: &str = "mlflow-run-id";
/// The tasks of a tracked distributed stage's DAG.
const START_TASK: &str = "mlflow-start";
const JOB_TASK: &str = "job";
const END_TASK: &str = "mlflow-end";

impl<'a, 'p> Emitter<'a, 'p> {
    /// The template a distributed stage's task calls (named `name`): the
    /// job step itself, or, when tracked, the DAG around it. Emits the
    /// templates it calls.
    pub(super) fn distributed_templates(
        &mut self,
        name: String,
        i: StageId,
        fields: &Fields,
        declared: &'a [Input],
        job: &Distributed,
    ) -> Built {
        let plan = self.plan;
        let stage = plan.pipeline.stage(i);
        let tracking = plan.tracking.clone().filter(|_| stage.tracked);
        let mut pod = Pod::new(plan, declared);
        let manifest = self.job_manifest(&mut pod, i, fields, job, tracking.as_ref());
        let job_name = match tracking {
            Some(_) => self.template_names.fresh(&format!("{name}-job")),
            None => name.clone(),
        };
        let mut job_template = self.job_step(job_name, &mut pod, fields, job, manifest);
        if tracking.is_some() {
            job_template.inputs.parameters.push(Parameter {
                name: RUN_ID_INPUT.into(),
                ..Default::default()
            });
        }
        declare_inputs(&mut job_template, declared);
        let Some(t) = tracking else {
            return Built {
                template: job_template,
                params: pod.params,
                artifacts: IndexMap::default(),
                deps: pod.deps,
            };
        };
        let mut start_pod = Pod::new(plan, declared);
        let mut start = self.start_step(&name, &mut start_pod, i, fields, &t);
        declare_inputs(&mut start, declared);
        let end = self.end_step(&name, &t);
        let mut wrapper = Template {
            name,
            ..Default::default()
        };
        let mut params = pod.params;
        for (k, v) in start_pod.params {
            params.entry(k).or_insert(v);
        }
        let mut deps = pod.deps;
        deps.extend(start_pod.deps);
        for p in params.keys() {
            wrapper.inputs.parameters.push(Parameter {
                name: p.clone(),
                ..Default::default()
            });
        }
        let run_id = format!("{{{{tasks.{START_TASK}.outputs.parameters.run_id}}}}");
        let mut job_args = passed_inputs(&job_template, &[RUN_ID_INPUT]);
        job_args.push(parameter(RUN_ID_INPUT, run_id.clone()));
        let tasks = vec![
            DagTask {
                name: START_TASK.into(),
                template: start.name.clone(),
                arguments: crate::emit::argo::Arguments {
                    parameters: passed_inputs(&start, &[]),
                    artifacts: Vec::new(),
                },
                ..Default::default()
            },
            DagTask {
                name: JOB_TASK.into(),
                template: job_template.name.clone(),
                depends: Some(START_TASK.into()),
                arguments: crate::emit::argo::Arguments {
                    parameters: job_args,
                    artifacts: Vec::new(),
                },
                ..Default::default()
            },
            // However the job step ended: its phase decides the run's end.
            DagTask {
                name: END_TASK.into(),
                template: end.name.clone(),
                depends: Some(format!(
                    "{START_TASK} && ({JOB_TASK}.Succeeded || {JOB_TASK}.Failed || {JOB_TASK}.Errored)"
                )),
                arguments: crate::emit::argo::Arguments {
                    parameters: vec![
                        parameter("run_id", run_id.clone()),
                        parameter("job-status", format!("{{{{tasks.{JOB_TASK}.status}}}}")),
                    ],
                    artifacts: Vec::new(),
                },
                ..Default::default()
            },
        ];
        wrapper.dag = Some(Dag { tasks });
        wrapper.outputs.parameters.push(Parameter {
            name: "run_id".into(),
            value_from: Some(ValueFrom {
                parameter: Some(run_id),
                ..Default::default()
            }),
            ..Default::default()
        });
        (self.sink)(start);
        (self.sink)(job_template);
        (self.sink)(end);
        Built {
            template: wrapper,
            params,
            artifacts: IndexMap::default(),
            deps,
        }
    }

    /// The resource step: creates the job, waits for its verdict, and
    /// gives up an hour after the job's own deadline would have failed it
    /// (a job the cluster never starts gets no condition at all).
    fn job_step(
        &mut self,
        name: String,
        pod: &mut Pod,
        fields: &Fields,
        job: &Distributed,
        manifest: String,
    ) -> Template {
        let (success, failure) = match job.api {
            TrainingApi::TrainJob => (trainer::TRAINJOB_SUCCESS, trainer::TRAINJOB_FAILURE),
            TrainingApi::PyTorchJob => (trainer::PYTORCHJOB_SUCCESS, trainer::PYTORCHJOB_FAILURE),
        };
        let step_secs = job_seconds(fields).saturating_add(STEP_MARGIN_SECONDS);
        let mut template = Template {
            name,
            resource: Some(ResourceTemplate {
                // Never `apply`: a TrainJob's trainer is immutable, and a
                // retry must make a new job (generateName).
                action: "create",
                manifest,
                set_owner_reference: Some(true),
                success_condition: Some(success.into()),
                failure_condition: Some(failure.into()),
                flags: Vec::new(),
            }),
            active_deadline_seconds: Some(step_secs.to_string()),
            timeout: Some(format!("{step_secs}s")),
            retry_strategy: fields
                .get("retries")
                .and_then(|r| retry_strategy(pod, &r.value))
                .map(|r| not_after_the_deadline(r, step_secs)),
            ..Default::default()
        };
        template.outputs.parameters.push(Parameter {
            name: "job-name".into(),
            value_from: Some(ValueFrom {
                json_path: Some("{.metadata.name}".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        // The stage's labels go to the job and its nodes, not to this
        // step's pod: a Kueue queue label here would queue the step too.
        // kubectl creates, reads and (on exit) deletes jobs as the deploy
        // account (`mlpc rbac`).
        self.plan.with_deploy_token(&mut template);
        for p in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: p.clone(),
                ..Default::default()
            });
        }
        template
    }

    /// The job's manifest, value-safe: every run-time value is one JSON
    /// string (`manifest::value_safe_yaml`), numbers are literals.
    fn job_manifest(
        &mut self,
        pod: &mut Pod,
        i: StageId,
        fields: &Fields,
        job: &Distributed,
        tracking: Option<&Tracking>,
    ) -> String {
        let plan = self.plan;
        let stage = plan.pipeline.stage(i);
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let mut env_vars: Vec<EnvVar> = Vec::new();
        if let Some(t) = tracking {
            env_vars.extend(t.client_env());
            let &[run_id, ..] = schema::TRACKING_ENV else {
                unreachable!("TRACKING_ENV starts with the run id")
            };
            env_vars.push(env(
                run_id,
                format!("{{{{inputs.parameters.{RUN_ID_INPUT}}}}}"),
            ));
        }
        let (command, args) = user_argv(pod, fields, &mut env_vars);
        env_vars.extend(pod_surface::env_vars(pod, fields, "env"));
        if let Some(Value::Map(params)) = get("params") {
            for (k, v) in params.iter() {
                env_vars.push(env(
                    &format!("{PARAM_ENV_PREFIX}{}", k.to_ascii_uppercase()),
                    pod.text(&v.value),
                ));
            }
        }
        let mut node_selector = BTreeMap::new();
        let mut requirements = None;
        if let Some(Value::Map(res)) = get("resources") {
            let (r, gpu_type) = resources(pod, res);
            requirements = r;
            if let Some(t) = gpu_type {
                let label = schema::gpu_node_label(&t).unwrap_or("nvidia.com/gpu.product");
                node_selector.insert(label.to_string(), t);
            }
        }
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                node_selector.insert(k.to_string(), pod.text(&v.value));
            }
        }
        let (mut volumes, mut mounts) = pod_surface::volumes(pod, fields, plan.pipeline);
        if let Some(t) = tracking {
            volumes.extend(t.ca_volume());
            mounts.extend(t.ca_mount());
        }
        let restricted = get("security").map(literal_text).as_deref() == Some("restricted");
        let tolerations = match get("tolerations") {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|it| match &it.value {
                    Value::Map(m) => Some(toleration(pod, m)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let user_labels = meta_map(pod, fields, "labels");
        let annotations = meta_map(pod, fields, "annotations");
        // The job's labels: the user's (a Kueue queue is a label), and the
        // run's, by which the exit handler deletes the run's jobs.
        let mut labels = user_labels.clone();
        labels.insert(
            trainer::PIPELINE_LABEL.into(),
            plan.pipeline.dns_name.to_string(),
        );
        labels.insert(trainer::STAGE_LABEL.into(), stage.dns_name.to_string());
        labels.insert(
            trainer::WORKFLOW_UID_LABEL.into(),
            "{{workflow.uid}}".into(),
        );
        // Pods labelled with the workflow's name are the ones `argo logs`
        // finds for a resource step.
        let mut pod_labels = user_labels;
        pod_labels.insert(
            "workflows.argoproj.io/workflow".into(),
            "{{workflow.name}}".into(),
        );
        let service_account = get("service_account").map(|v| pod.text(v));
        let pull_secrets = plan.setting_strings("image_pull_secrets");
        let image = get("image").map(|v| pod.text(v)).unwrap_or_default();
        let generate_name = format!("{}-", stage.dns_name);
        let deadline = Some(job_seconds(fields));
        let result = match job.api {
            TrainingApi::TrainJob => {
                let trainer = Trainer {
                    image,
                    command,
                    args,
                    num_nodes: job.nodes,
                    resources_per_node: requirements,
                    env: env_vars,
                };
                let node = NodePod {
                    labels: pod_labels,
                    annotations,
                    node_selector,
                    tolerations,
                    affinity: pod_surface::affinity(fields),
                    volumes,
                    mounts,
                    service_account,
                    pull_secrets,
                    security_context: restricted.then(mlflow::restricted_pod),
                    container_security: restricted.then(mlflow::restricted_user_container),
                };
                let runtime = job.runtime.clone().unwrap_or_default();
                let object = TrainJob::new(generate_name, labels, runtime, trainer, node, deadline);
                manifest::value_safe_yaml(&object)
            }
            TrainingApi::PyTorchJob => {
                let procs = processes_per_node(requirements.as_ref());
                let container = Container {
                    name: trainer::PYTORCH_CONTAINER.into(),
                    image: Some(image),
                    command: (!command.is_empty()).then_some(command),
                    args: (!args.is_empty()).then_some(args),
                    env: (!env_vars.is_empty()).then_some(env_vars),
                    env_from: pod_surface::env_from(fields),
                    image_pull_policy: get("image_pull_policy").map(literal_text),
                    resources: requirements,
                    volume_mounts: (!mounts.is_empty()).then_some(mounts),
                    security_context: restricted.then(mlflow::restricted_user_container),
                    ..Default::default()
                };
                let template = PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(pod_labels),
                        annotations: (!annotations.is_empty()).then_some(annotations),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![container],
                        volumes: (!volumes.is_empty()).then_some(volumes),
                        node_selector: (!node_selector.is_empty()).then_some(node_selector),
                        tolerations: (!tolerations.is_empty()).then_some(tolerations),
                        affinity: pod_surface::affinity(fields),
                        service_account_name: service_account,
                        // The nodes run the user's code: no API token.
                        automount_service_account_token: Some(false),
                        priority_class_name: get("priority_class").map(literal_text),
                        image_pull_secrets: (!pull_secrets.is_empty()).then(|| {
                            pull_secrets
                                .into_iter()
                                .map(|name| LocalObjectReference { name })
                                .collect()
                        }),
                        security_context: restricted.then(mlflow::restricted_pod),
                        ..Default::default()
                    }),
                };
                let object = PyTorchJob::new(
                    generate_name,
                    labels,
                    job.nodes,
                    Some(procs),
                    template,
                    deadline,
                );
                manifest::value_safe_yaml(&object)
            }
        };
        result.unwrap_or_else(|e| {
            self.failure.get_or_insert(e);
            String::new()
        })
    }

    /// The step that creates the stage's run before the job: the init
    /// step of a tracked container, writing `run_id` as a step output.
    fn start_step(
        &mut self,
        name: &str,
        pod: &mut Pod,
        i: StageId,
        fields: &Fields,
        t: &Tracking,
    ) -> Template {
        let plan = self.plan;
        let stage = plan.pipeline.stage(i);
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(Value::Map(p)) = fields.get("params").map(|f| &f.value) {
            for (k, v) in p.iter() {
                params.push((k.to_string(), pod.text(&v.value)));
            }
        }
        let items: Vec<(String, String)> = plan
            .loops_of(i)
            .into_iter()
            .map(|(loop_name, item)| (loop_name, pod.text(&Value::Ref(item))))
            .collect();
        let mut extra = vec![env("MLP_MLFLOW_DIR", STEP_OUTPUTS)];
        extra.extend(mlflow::run_env(
            &plan.pipeline.name,
            &stage.name,
            &params,
            &items,
        ));
        let container = t.step_container(&plan.programs, "main", mlflow::Step::Init, extra);
        let template_name = self.template_names.fresh(&format!("{name}-{START_TASK}"));
        let mut template = step_template(template_name, container, ["run_id"]);
        template.volumes.extend(t.ca_volume());
        for p in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: p.clone(),
                ..Default::default()
            });
        }
        plan.without_api_token(&mut template);
        template
    }

    /// The step that ends the run by the job step's phase.
    fn end_step(&mut self, name: &str, t: &Tracking) -> Template {
        let plan = self.plan;
        let container = t.step_container(
            &plan.programs,
            "main",
            mlflow::Step::JobEnd,
            vec![
                env("MLP_RUN_ID", "{{inputs.parameters.run_id}}"),
                env("MLP_JOB_STATUS", "{{inputs.parameters.job-status}}"),
            ],
        );
        let template_name = self.template_names.fresh(&format!("{name}-{END_TASK}"));
        let mut template = step_template(template_name, container, []);
        template.volumes.extend(t.ca_volume());
        for p in ["run_id", "job-status"] {
            template.inputs.parameters.push(Parameter {
                name: p.into(),
                ..Default::default()
            });
        }
        plan.without_api_token(&mut template);
        template
    }

    /// The exit handler's step that deletes every training job of the run
    /// (by the workflow's uid): stopping a workflow stops its steps, not
    /// the jobs they created (argo-workflows#8364).
    pub(super) fn training_cleanup_template(&mut self) -> Option<Template> {
        let plan = self.plan;
        let task = plan.training_cleanup_task.as_ref()?;
        let resources: Vec<String> = plan
            .training_apis
            .iter()
            .map(|api| trainer::kubectl_resource(*api))
            .collect();
        let mut template = Template {
            name: self.template_names.fresh(task),
            resource: Some(ResourceTemplate {
                action: "delete",
                manifest: String::new(),
                set_owner_reference: None,
                success_condition: None,
                failure_condition: None,
                flags: vec![
                    resources.join(","),
                    "--selector".into(),
                    format!("{}={{{{workflow.uid}}}}", trainer::WORKFLOW_UID_LABEL),
                    "--wait=false".into(),
                ],
            }),
            // One refused call must not leave a failed run's jobs holding
            // their GPUs; deleting by selector is safe to repeat. (Argo
            // retries nothing once a workflow is stopped: operator.go
            // `processNodeRetries`.)
            retry_strategy: Some(RetryStrategy {
                limit: "3".into(),
                retry_policy: Some("Always".into()),
                backoff: Some(Backoff {
                    duration: Some("10s".into()),
                    factor: Some("2".into()),
                    cap: None,
                }),
                expression: None,
            }),
            ..Default::default()
        };
        plan.with_deploy_token(&mut template);
        Some(template)
    }
}

/// A PyTorchJob's processes per node: its GPUs, else its whole CPUs (at
/// least 1), as Trainer's `auto` counts them; 1 when neither is a literal.
/// The operator's own `auto` counts the host's cores, not the pod's
/// (torchrun's `os.cpu_count()`).
fn processes_per_node(
    requirements: Option<&k8s_openapi::api::core::v1::ResourceRequirements>,
) -> String {
    let get = |which: Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
               key: &str| which.and_then(|m| m.get(key)).map(|q| q.0.clone());
    let gpus = requirements.and_then(|r| get(r.limits.as_ref(), "nvidia.com/gpu"));
    if let Some(n) = gpus.as_deref().and_then(|g| g.parse::<u64>().ok()) {
        return n.max(1).to_string();
    }
    let cpus = requirements
        .and_then(|r| get(r.requests.as_ref(), "cpu").or_else(|| get(r.limits.as_ref(), "cpu")));
    let whole = cpus.as_deref().and_then(|c| match c.strip_suffix('m') {
        Some(milli) => milli.parse::<u64>().ok().map(|m| m / 1000),
        None => c.parse::<f64>().ok().map(|f| f.floor() as u64),
    });
    whole.unwrap_or(1).max(1).to_string()
}

/// How long the job may run: the stage's `timeout` (a literal: the checker
/// asks for one), or the default when it has none (W0210).
fn job_seconds(fields: &Fields) -> i64 {
    match fields.get("timeout").map(|f| &f.value) {
        Some(Value::Duration { secs, .. }) => secs.ceil() as i64,
        _ => DEFAULT_JOB_SECONDS,
    }
}

fn meta_map(pod: &mut Pod, fields: &Fields, key: &str) -> BTreeMap<String, String> {
    match fields.get(key).map(|f| &f.value) {
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| (k.to_string(), pod.text(&v.value)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn parameter(name: &str, value: String) -> Parameter {
    Parameter {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    }
}

/// Arguments passing each input of `template` from the calling DAG's own
/// input of the same name, but those in `except`.
fn passed_inputs(template: &Template, except: &[&str]) -> Vec<Parameter> {
    template
        .inputs
        .parameters
        .iter()
        .filter(|p| !except.contains(&p.name.as_str()))
        .map(|p| parameter(&p.name, format!("{{{{inputs.parameters.{}}}}}", p.name)))
        .collect()
}

/// How far under the step's deadline an attempt may end and still have
/// been ended by it.
const DEADLINE_SLACK_SECONDS: i64 = 60;

/// An attempt the step's deadline ended may have left its job running
/// (time in Kueue's queue counts for the step, not for the job): a retry
/// would create a second job beside it. Argo gives the expression the
/// attempt's duration in seconds as text (operator.go
/// `buildRetryStrategyLocalScope`), from timestamps in whole seconds and a
/// pod deadline rounded down, so it may read a little under the deadline:
/// a minute's margin (the job's own deadline is an hour earlier). With an
/// expression and no policy Argo retries `Always` (`RetryPolicyActual`),
/// so the policy is written.
fn not_after_the_deadline(mut retry: RetryStrategy, step_secs: i64) -> RetryStrategy {
    let near_the_deadline = step_secs.saturating_sub(DEADLINE_SLACK_SECONDS);
    retry.expression = Some(format!("asFloat(lastRetry.duration) < {near_the_deadline}"));
    retry.retry_policy.get_or_insert_with(|| "OnFailure".into());
    retry
}
