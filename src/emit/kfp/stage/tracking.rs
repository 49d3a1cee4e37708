//! MLflow tracking where a pod has no init container and no sidecar.
//!
//! A tracked stage is three tasks in its DAG (the design of
//! ../shared/reference/kfp-ir-samples/08_mlp_self_tracking, argued in
//! docs/compile.md):
//! - `<task>-mlflow-start` runs the init step (`scripts/mlflow_init.py`,
//!   the same program Argo's init container runs): it creates the run with
//!   the KFP run's identity as tags, logs `params`, and outputs `run_id`;
//! - the stage's own task reads that output, and its wrapper exports it as
//!   `MLFLOW_RUN_ID` (user images still need only `/bin/sh`) and writes it
//!   to the stage's `run_id` output when the command succeeds;
//! - `<task>-mlflow-end` runs after the stage's task however it ended
//!   (`ALL_UPSTREAM_TASKS_COMPLETED`, the task's `taskFinalStatus`) and ends
//!   the run FINISHED, FAILED or KILLED (`scripts/mlflow_end.py`).
//!
//! Each generated task runs a program that is a root input of the pipeline
//! (`mlpc-mlflow`, ...), checked against its SHA-256 by the loader in its
//! command, as on Argo.

use std::collections::BTreeSet;

use super::{Built, Component, Shared};
use crate::emit::kfp::dag::{self, At, DagKey, Kind};
use crate::emit::kfp::ir::*;
use crate::emit::kfp::wrap::{Copy, Export};
use crate::emit::mlflow::{self, Step};
use crate::plan::Plan;
use crate::sema::hir::{KeySource, Ref, RunField, Spanned, Value};

/// The root inputs that hold the generated tasks' programs. With a `-`,
/// which no `.mlp` parameter's name has.
pub const MLFLOW_INPUT: &str = "mlpc-mlflow";
pub const KSERVE_WAIT_INPUT: &str = "mlpc-kserve-wait";
pub const KSERVE_APPLY_INPUT: &str = "mlpc-kserve-apply";

/// Where the start task's init step writes the run id (and the files
/// Argo's sidecar would read): the container's own /tmp.
const MLFLOW_DIR: &str = "/tmp/mlflow";
/// Where the generated steps write their outputs (`MLP_OUTPUTS`).
pub const STEP_OUTPUTS: &str = "/tmp/outputs";
/// The variable the user's code reads its run from.
const RUN_ID_ENV: &str = "MLFLOW_RUN_ID";
/// The pod's name and namespace, from its own metadata.
const POD_ENV: &str = "MLP_K8S_POD";
const NAMESPACE_ENV: &str = "MLP_K8S_NAMESPACE";
const CA_DIR: &str = "/mlflow-ca";

/// A program one generated task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Mlflow(Step),
    KserveWait,
    KserveApply,
}

/// The programs of one pipeline's generated tasks, each held once, as a
/// root input whose default is its text.
pub struct Programs {
    mlflow: String,
    deploy: bool,
}

impl Programs {
    /// What the plan's tasks run: Argo's steps, with the end task in place
    /// of the sidecar.
    pub fn of(plan: &Plan<'_>) -> Programs {
        let mut steps: BTreeSet<Step> = plan.mlflow_steps.clone();
        if steps.remove(&Step::Finalize) {
            steps.insert(Step::End);
        }
        Programs {
            mlflow: if steps.is_empty() {
                String::new()
            } else {
                mlflow::mlflow_program(&steps)
            },
            deploy: plan.deploy_wait,
        }
    }

    fn input_and_text(&self, program: Program) -> (&'static str, &str) {
        match program {
            Program::Mlflow(_) => (MLFLOW_INPUT, &self.mlflow),
            Program::KserveWait => (KSERVE_WAIT_INPUT, mlflow::KSERVE_WAIT),
            Program::KserveApply => (KSERVE_APPLY_INPUT, mlflow::KSERVE_APPLY),
        }
    }

    /// The root inputs that hold the programs.
    pub fn root_inputs(&self, defs: &mut Definitions) {
        let mut held = Vec::new();
        if !self.mlflow.is_empty() {
            held.push(Program::Mlflow(Step::Init));
        }
        if self.deploy {
            held.extend([Program::KserveApply, Program::KserveWait]);
        }
        for program in held {
            let (name, text) = self.input_and_text(program);
            defs.parameters.insert(
                name.into(),
                ParameterSpec {
                    default_value: Some(serde_json::Value::String(text.into())),
                    description: Some(
                        "Written by mlpc: the program its generated steps run. They check its SHA-256: do not change it.".into(),
                    ),
                    is_optional: true,
                    ..ParameterSpec::of(ParameterType::String)
                },
            );
        }
    }
}

/// The names of a tracked stage's start and end tasks.
#[derive(Debug, Clone)]
pub struct TrackingTasks {
    pub start: String,
    pub end: String,
}

/// What the pipeline's `mlflow` block says.
pub struct Block<'p> {
    pub tracking_uri: Option<&'p Spanned<Value>>,
    pub experiment: Option<&'p Spanned<Value>>,
    pub artifact_store: Option<&'p Spanned<Value>>,
    pub image: String,
    pub credentials: Option<String>,
    /// The ConfigMap or Secret and the key of a private CA's bundle.
    pub ca_bundle: Option<(KeySource, String, String)>,
}

impl<'p> Block<'p> {
    pub fn of(plan: &Plan<'p>) -> Option<Block<'p>> {
        let Some(Value::Map(block)) = plan.pipeline.settings.get("mlflow").map(|v| &v.value) else {
            return None;
        };
        Some(Block {
            tracking_uri: block.get("tracking_uri"),
            experiment: block.get("experiment"),
            artifact_store: block.get("artifact_store"),
            image: block.get("image").map_or_else(
                || mlflow::DEFAULT_IMAGE.to_string(),
                |v| crate::plan::literal::literal_text(&v.value),
            ),
            credentials: match block.get("credentials").map(|v| &v.value) {
                Some(Value::Secret(s)) => Some(s.name.to_string()),
                _ => None,
            },
            ca_bundle: match block.get("ca_bundle").map(|v| &v.value) {
                Some(Value::Secret(ca)) => Some((
                    ca.source,
                    ca.name.to_string(),
                    ca.key.as_deref().unwrap_or_default().to_string(),
                )),
                _ => None,
            },
        })
    }
}

impl Component<'_, '_> {
    /// The command that runs `program`: the loader, the program (this
    /// task's input, routed from the root input), and the step's name.
    pub(super) fn program_command(&mut self, programs: &Programs, program: Program) -> Vec<String> {
        let (input, text) = programs.input_and_text(program);
        let (at, _) = self.router.route(
            self.plan,
            &dag::Value {
                kind: Kind::Parameter,
                parameter: Some(ParameterSpec::of(ParameterType::String)),
                artifact: None,
            },
            At::Input(input.into()),
            &[DagKey::Root],
            &self.path,
            &format!("pipelinechannel--{input}"),
        );
        let held = self.param_input(
            input,
            ParameterSpec::of(ParameterType::String),
            dag::parameter_input(&at),
        );
        let mut command = vec![
            "python3".to_string(),
            "-c".into(),
            mlflow::loader(input, text),
            held,
        ];
        if let Program::Mlflow(step) = program {
            command.push(step.name().into());
        }
        command
    }

    /// What the MLflow client reads: the server, the experiment, a private
    /// CA, and the credentials (each key optional, as on Argo).
    pub(super) fn mlflow_client(&mut self, block: &Block<'_>) {
        let &[_run_id, uri, experiment] = crate::sema::schema::TRACKING_ENV else {
            unreachable!("TRACKING_ENV: the run id, tracking URI and experiment")
        };
        if let Some(v) = block.tracking_uri {
            self.env_var(uri, v);
        }
        if let Some(v) = block.experiment {
            self.env_var(experiment, v);
        }
        if let Some((source, name, key)) = &block.ca_bundle {
            // KFP mounts every key of the ConfigMap or Secret.
            self.literal_env(
                "MLFLOW_TRACKING_SERVER_CERT_PATH",
                format!("{CA_DIR}/{key}"),
            );
            match source {
                KeySource::Secret => self.platform.secret_as_volume.push(SecretAsVolume {
                    mount_path: CA_DIR.into(),
                    optional: false,
                    secret_name_parameter: NameInput::constant(name),
                }),
                KeySource::ConfigMap => {
                    self.platform.config_map_as_volume.push(ConfigMapAsVolume {
                        config_map_name_parameter: NameInput::constant(name),
                        mount_path: CA_DIR.into(),
                        optional: false,
                    })
                }
            }
        }
        if let Some(secret) = &block.credentials {
            self.platform.secret_as_env.push(SecretAsEnv {
                key_to_env: [
                    ("username", "MLFLOW_TRACKING_USERNAME"),
                    ("password", "MLFLOW_TRACKING_PASSWORD"),
                    ("token", "MLFLOW_TRACKING_TOKEN"),
                ]
                .into_iter()
                .map(|(key, env)| SecretKeyToEnv {
                    env_var: env.into(),
                    secret_key: key.into(),
                })
                .collect(),
                optional: true,
                secret_name_parameter: NameInput::constant(secret),
            });
        }
    }

    pub(super) fn literal_env(&mut self, name: &str, value: impl Into<String>) {
        self.env.push(EnvVar {
            name: name.into(),
            value: value.into(),
        });
    }

    /// The placeholder of a field of the run (its uid, its name).
    pub(super) fn run_value(&mut self, field: RunField) -> String {
        let span = self.plan.pipeline.stage(self.stage).span;
        self.run_field(field, span).unwrap_or_default()
    }

    /// The item of each loop the stage runs in, innermost first, as the
    /// init step tags the run: `MLP_ITEM_*`.
    fn loop_items(&mut self) {
        let loops = self.plan.loops_of(self.stage);
        if loops.is_empty() {
            return;
        }
        self.literal_env("MLP_ITEM_COUNT", loops.len().to_string());
        for (i, (name, item)) in loops.iter().enumerate() {
            self.literal_env(&format!("MLP_ITEM_KEY_{i}"), name.clone());
            let text = self.read(item, None).unwrap_or_default();
            self.export(&format!("MLP_ITEM_VALUE_{i}"), text);
        }
    }

    /// The stage's own task, tracked: the run id from the start task,
    /// exported for the user's code and written to the `run_id` output.
    pub(super) fn tracked_stage(&mut self, block: &Block<'_>, tasks: &TrackingTasks) {
        self.mlflow_client(block);
        let run_id = self.param_input(
            "mlpc-run-id",
            ParameterSpec::of(ParameterType::String),
            dag::parameter_input(&At::Task {
                task: tasks.start.clone(),
                key: "run_id".into(),
            }),
        );
        self.deps.insert(tasks.start.clone());
        self.export(RUN_ID_ENV, run_id);
        self.outputs
            .parameters
            .insert("run_id".into(), ParameterSpec::of(ParameterType::String));
        self.copies.push((
            Copy::Variable(RUN_ID_ENV),
            vec!["{{$.outputs.parameters['run_id'].output_file}}".into()],
        ));
    }

    /// A generated task's component: `program` in the tracking image, with
    /// what the caller gathered; never cached.
    pub(super) fn generated(
        &mut self,
        shared: &Shared<'_>,
        program: Program,
        image: &str,
        display: String,
    ) -> Built {
        let command = self.program_command(&shared.programs, program);
        self.pull_secrets(&shared.pull_secrets);
        self.finish(image.to_string(), command, Vec::new(), display)
    }
}

/// The start task of a tracked stage: waits for what the stage waits for
/// and has its condition, so that a run is created only for a stage that
/// is about to run.
pub(super) fn start(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
    stage_task: &Task,
) -> Result<Built, Vec<crate::diag::MlpError>> {
    let plan = c.plan;
    let stage = plan.pipeline.stage(c.stage);
    c.mlflow_client(block);
    c.literal_env("MLP_MLFLOW_DIR", MLFLOW_DIR);
    c.literal_env("MLP_USER", "kubeflow-pipelines");
    let uid = c.run_value(RunField::Uid);
    let workflow = c.run_resource_name();
    // "key=value" words: the pipeline and stage are identifiers, a KFP
    // run's uuid and resource name hold no space, nor do a pod's name and
    // namespace (which only the pod knows: the shell adds them).
    c.exports.push((
        Export {
            name: "MLP_RUN".into(),
            suffix: " namespace=${MLP_K8S_NAMESPACE} pod=${MLP_K8S_POD}",
        },
        format!(
            "pipeline={} stage={} workflow={workflow} uid={uid}",
            plan.pipeline.name, stage.name
        ),
    ));
    c.pod_identity();
    if let Some(Value::Map(params)) = plan.stage(c.stage).fields.get("params").map(|v| &v.value) {
        let params = params.clone();
        c.literal_env("MLP_PARAM_COUNT", params.len().to_string());
        for (i, (k, v)) in params.iter().enumerate() {
            c.literal_env(&format!("MLP_PARAM_KEY_{i}"), k.to_string());
            c.env_var(&format!("MLP_PARAM_VALUE_{i}"), v);
        }
    }
    c.loop_items();
    c.value_output(
        "run_id",
        ParameterType::String,
        format!("{MLFLOW_DIR}/run_id"),
    );
    let mut built = c.generated(
        shared,
        Program::Mlflow(Step::Init),
        &block.image,
        format!("{}-mlflow-start", stage.name),
    );
    // The stage's condition, with the inputs it reads, and what the stage
    // waits for.
    built.task.trigger_policy = stage_task.trigger_policy.clone();
    for (name, input) in &stage_task.inputs.parameters {
        if name.starts_with("pipelinechannel--") {
            built
                .task
                .inputs
                .parameters
                .insert(name.clone(), input.clone());
        }
    }
    built.task.dependent_tasks = stage_task.dependent_tasks.clone();
    c.done(built)
}

/// The end task of a tracked stage: after its task, however it ended.
pub(super) fn end(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
    stage_task: &str,
) -> Result<Built, Vec<crate::diag::MlpError>> {
    let stage = c.plan.pipeline.stage(c.stage);
    c.mlflow_client(block);
    c.literal_env("MLP_STAGE", stage.name.to_string());
    let uid = c.run_value(RunField::Uid);
    c.export("MLP_WORKFLOW_UID", uid);
    let status = c.param_input(
        "status",
        ParameterSpec {
            is_optional: true,
            ..ParameterSpec::of(ParameterType::TaskFinalStatus)
        },
        ParameterInput::TaskFinalStatus(FinalStatus {
            producer_task: stage_task.to_string(),
        }),
    );
    c.export("MLP_FINAL_STATUS", status);
    c.loop_items();
    let mut built = c.generated(
        shared,
        Program::Mlflow(Step::End),
        &block.image,
        format!("{}-mlflow-end", stage.name),
    );
    // Exactly one upstream task: KFP passes the final status of one.
    built.task.dependent_tasks = vec![stage_task.to_string()];
    built.task.trigger_policy = Some(TriggerPolicy {
        condition: None,
        strategy: Some("ALL_UPSTREAM_TASKS_COMPLETED"),
    });
    c.done(built)
}

/// The metric gate after a tracked stage: reads the run's metrics that
/// other stages compare, as numbers.
pub(super) fn gate(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
    gate: &crate::plan::Gate,
) -> Result<Built, Vec<crate::diag::MlpError>> {
    let stage_id = c.stage;
    let stage = c.plan.pipeline.stage(stage_id);
    c.mlflow_client(block);
    let run = c
        .read(
            &Ref::Output {
                stage: stage_id,
                output: "run_id".into(),
                fan_in: false,
            },
            None,
        )
        .unwrap_or_default();
    c.export("MLP_RUN_ID", run);
    let names: Vec<&str> = gate.metrics.iter().map(String::as_str).collect();
    c.literal_env(
        "MLP_METRICS",
        crate::emit::mlflow::metric_names_env(&gate.metrics),
    );
    c.literal_env("MLP_OUTPUTS", STEP_OUTPUTS);
    for m in &names {
        c.value_output(
            m,
            ParameterType::NumberDouble,
            format!("{STEP_OUTPUTS}/{m}"),
        );
    }
    let built = c.generated(
        shared,
        Program::Mlflow(Step::Metrics),
        &block.image,
        format!("{}-metrics", stage.name),
    );
    c.done(built)
}

/// The clean-up in `finally`: ends every run of this KFP run still
/// RUNNING as KILLED (a stage whose pod never ran, an end task that
/// failed). `any_stage` only anchors diagnostics: it reads nothing of it.
pub(super) fn cleanup(
    mut c: Component<'_, '_>,
    block: &Block<'_>,
    shared: &Shared<'_>,
) -> Result<Built, Vec<crate::diag::MlpError>> {
    c.mlflow_client(block);
    let uid = c.run_value(RunField::Uid);
    c.export("MLP_WORKFLOW_UID", uid);
    let built = c.generated(
        shared,
        Program::Mlflow(Step::Cleanup),
        &block.image,
        "mlflow-cleanup".into(),
    );
    c.done(built)
}

impl Component<'_, '_> {
    /// `{{$.pipeline_job_resource_name}}` (the Argo workflow's name; the
    /// display name may hold spaces) as an input of the task.
    fn run_resource_name(&mut self) -> String {
        self.runtime_input("mlp-run-resource-name", "{{$.pipeline_job_resource_name}}")
    }

    /// The pod's name and namespace, from its metadata.
    pub(super) fn pod_identity(&mut self) {
        for (name, path) in [
            (POD_ENV, "metadata.name"),
            (NAMESPACE_ENV, "metadata.namespace"),
        ] {
            self.platform.field_path_as_env.push(FieldPathAsEnv {
                field_path: path.into(),
                name: name.into(),
            });
        }
    }
}
