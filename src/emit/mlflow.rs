//! The containers mlpc injects for MLflow: the init container that creates a
//! run, the wrapper around the main command, the sidecar that ends the run,
//! and the generated steps (metric gate, register, resolve, cleanup).
//!
//! The programs are files in `scripts/`, embedded here and written once per
//! workflow as workflow parameters ([`Programs`]). They read every value from
//! environment variables, so their text is the same for every pipeline and
//! nothing a pipeline author writes becomes code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, KeyToPath,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sha2::{Digest, Sha256};

use super::argo::Parameter;
use crate::sema::schema;

/// The image of every injected container unless `mlflow.image` says
/// otherwise: it needs only `python3` (the programs use the standard library).
/// Pinned by the digest of the tag's multi-platform index, so that the
/// containers holding the MLflow credentials run the same bytes on every
/// node and on every retry, whatever the tag is moved to.
pub const DEFAULT_IMAGE: &str = "python:3.12.11-alpine3.22@sha256:efcdfa6a6b2fd2afb9c7dfa9a5b288a6f68338b5cfdebe6b637d986067d85757";

/// Where the run id and the exit status are shared inside a tracked pod.
pub const MOUNT: &str = "/mlflow";
pub const VOLUME: &str = "mlflow";
/// The user (nobody) injected containers run as: the default image has no
/// non-root user of its own.
const NON_ROOT_UID: i64 = 65534;

/// A step of the MLflow program: what one container runs (the plan
/// decides which; this module knows their programs).
pub use crate::plan::MlflowStep as Step;

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Init,
        Step::Finalize,
        Step::Cleanup,
        Step::Metrics,
        Step::Register,
        Step::Resolve,
        Step::End,
        Step::JobEnd,
        Step::Report,
    ];

    /// The step's name: the last argument of its command line, and the
    /// prefix of its log lines.
    pub fn name(self) -> &'static str {
        match self {
            Step::Init => "mlflow-init",
            Step::Finalize => "mlflow-finalize",
            Step::Cleanup => "mlflow-cleanup",
            Step::Metrics => "mlflow-metrics",
            Step::Register => "mlflow-register",
            Step::Resolve => "mlflow-resolve",
            Step::End => "mlflow-end",
            Step::JobEnd => "mlflow-job-end",
            Step::Report => "mlflow-report",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Step::Init => include_str!("scripts/mlflow_init.py"),
            Step::Finalize => include_str!("scripts/mlflow_finalize.py"),
            Step::Cleanup => include_str!("scripts/mlflow_cleanup.py"),
            Step::Metrics => include_str!("scripts/mlflow_metrics.py"),
            Step::Register => include_str!("scripts/mlflow_register.py"),
            Step::Resolve => include_str!("scripts/mlflow_resolve.py"),
            Step::End => include_str!("scripts/mlflow_end.py"),
            Step::JobEnd => include_str!("scripts/mlflow_job_end.py"),
            Step::Report => include_str!("scripts/mlflow_report.py"),
        }
    }
}

/// The helpers every step runs after, and what runs the step named on the
/// command line.
pub const COMMON: &str = include_str!("scripts/mlflow_common.py");
const MAIN: &str = include_str!("scripts/mlflow_main.py");
/// The deploy wait step's program (standard library only, no helpers): its
/// settings, the in-cluster API client, the wait. The client is a file of
/// its own because the KFP apply step's program uses it too; no file of
/// these begins with a comment, since the wait program's text (and hash)
/// is in every compiled deploy stage.
pub const KSERVE_WAIT: &str = concat!(
    include_str!("scripts/kserve_wait_settings.py"),
    include_str!("scripts/kube_client.py"),
    include_str!("scripts/kserve_wait.py"),
);
/// The KFP deploy stage's apply step (the IR has no resource template):
/// its settings, the same client, the server-side apply.
pub const KSERVE_APPLY: &str = concat!(
    include_str!("scripts/kserve_apply_settings.py"),
    include_str!("scripts/kube_client.py"),
    include_str!("scripts/kserve_apply.py"),
);

/// The workflow parameter that holds the MLflow program, and the one that
/// holds the deploy wait program. With a `_`, which no pipeline parameter's
/// Argo name has (`_` becomes `-`), so neither can clash with one.
pub const MLFLOW_PARAMETER: &str = "mlpc_mlflow";
pub const KSERVE_WAIT_PARAMETER: &str = "mlpc_kserve_wait";

/// The programs of one workflow's generated containers. Their text is not
/// written into each container: the workflow holds it once, as a workflow
/// parameter, and a container receives it as the argument of a short loader
/// that runs it only if its SHA-256 is the one compiled into the command
/// ([`Programs::command`]). A submitter who overrides the parameter
/// (`argo submit -p`) gets a failed step, not their code run with the
/// MLflow credentials.
///
/// The MLflow program is the helpers, then each step this workflow uses as
/// a string, then `scripts/mlflow_main.py`, which runs the step named by the
/// last argument as if its text followed the helpers.
#[derive(Debug, Clone)]
pub struct Programs {
    steps: BTreeSet<Step>,
    mlflow: String,
    mlflow_loader: String,
    kserve_wait: bool,
}

impl Programs {
    /// The programs for a workflow whose containers run `steps` (and the
    /// deploy wait, if `kserve_wait`).
    pub fn new(steps: BTreeSet<Step>, kserve_wait: bool) -> Programs {
        let mlflow = if steps.is_empty() {
            String::new()
        } else {
            mlflow_program(&steps)
        };
        let mlflow_loader = loader(MLFLOW_PARAMETER, &mlflow);
        Programs {
            steps,
            mlflow,
            mlflow_loader,
            kserve_wait,
        }
    }

    /// The command of a container that runs `step`:
    /// `python3 -c LOADER PROGRAM STEP`.
    pub fn command(&self, step: Step) -> Vec<String> {
        assert!(
            self.steps.contains(&step),
            "{step:?} is not in this workflow's MLflow program"
        );
        vec![
            "python3".into(),
            "-c".into(),
            self.mlflow_loader.clone(),
            parameter_ref(MLFLOW_PARAMETER),
            step.name().into(),
        ]
    }

    /// The command of the deploy wait step: `python3 -c LOADER PROGRAM`.
    pub fn kserve_wait_command(&self) -> Vec<String> {
        assert!(self.kserve_wait, "the deploy wait is not in this workflow");
        static LOADER: OnceLock<String> = OnceLock::new();
        vec![
            "python3".into(),
            "-c".into(),
            LOADER
                .get_or_init(|| loader(KSERVE_WAIT_PARAMETER, KSERVE_WAIT))
                .clone(),
            parameter_ref(KSERVE_WAIT_PARAMETER),
        ]
    }

    /// The MLflow program's text (empty when no container runs it).
    pub fn mlflow(&self) -> &str {
        &self.mlflow
    }

    /// The workflow parameters that hold the programs.
    pub fn parameters(&self) -> Vec<Parameter> {
        let mut out = Vec::new();
        if !self.steps.is_empty() {
            out.push(program_parameter(MLFLOW_PARAMETER, self.mlflow.clone()));
        }
        if self.kserve_wait {
            out.push(program_parameter(KSERVE_WAIT_PARAMETER, KSERVE_WAIT.into()));
        }
        out
    }
}

fn parameter_ref(name: &str) -> String {
    format!("{{{{workflow.parameters.{name}}}}}")
}

/// The helpers, the steps as strings, and what runs one of them. A step's
/// text is written verbatim in a raw string (`r'''...'''`): it holds no
/// `'''` and ends with a newline (a test checks both).
pub fn mlflow_program(steps: &BTreeSet<Step>) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(COMMON);
    if steps.contains(&Step::Init) {
        // The init container leaves the wrapper in the volume for main.
        out.push_str("\n\nWRAP = r'''");
        out.push_str(WRAP);
        out.push_str("'''");
    }
    out.push_str("\n\nSTEPS = {}\n");
    for step in steps {
        out.push_str("STEPS[\"");
        out.push_str(step.name());
        out.push_str("\"] = r'''\n");
        out.push_str(step.text());
        out.push_str("'''\n");
    }
    out.push('\n');
    out.push_str(MAIN);
    out
}

/// `python3 -c` code that runs its first argument, the value of the
/// workflow parameter `parameter`, if and only if the argument is `program`:
/// its SHA-256 must begin with the same 128 bits (32 hex digits; making
/// another text that does takes about 2^128 hashes). No `assert`:
/// `python -O` would skip it.
pub fn loader(parameter: &str, program: &str) -> String {
    let digest: String = Sha256::digest(program.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "import hashlib,sys;p=sys.argv[1];hashlib.sha256(p.encode()).hexdigest()[:32]==\"{digest}\"or sys.exit(\"mlpc: {parameter} was changed\");exec(p)"
    )
}

fn program_parameter(name: &str, value: String) -> Parameter {
    Parameter {
        name: name.to_string(),
        value: Some(value),
        description: Some(PARAMETER_DESCRIPTION.to_string()),
        ..Default::default()
    }
}

const PARAMETER_DESCRIPTION: &str =
    "Written by mlpc: the program its generated steps run. They check its SHA-256: do not change it.";

/// The shell wrapper of a tracked stage's main command.
pub const WRAP: &str = include_str!("scripts/mlflow_wrap.sh");

/// What the pipeline's `mlflow` block says, rendered for the output.
#[derive(Debug, Clone)]
pub struct Tracking {
    pub tracking_uri: String,
    /// May hold Argo placeholders (a parameter); it only ever reaches env.
    pub experiment: String,
    pub artifact_store: Option<String>,
    pub image: String,
    pub credentials: Option<String>,
    /// `ca_bundle`: the PEM file of a private CA, mounted into every
    /// container that talks to the server.
    pub ca_bundle: Option<CaBundle>,
}

/// One key of a ConfigMap or Secret holding CA certificates (PEM).
#[derive(Debug, Clone)]
pub struct CaBundle {
    pub source: crate::sema::hir::KeySource,
    pub name: String,
    pub key: String,
}

/// Where the CA bundle is mounted: outside `/mlflow`, read-only.
const CA_VOLUME: &str = "mlflow-ca";
const CA_DIR: &str = "/mlflow-ca";
const CA_FILE: &str = "ca.crt";
/// The variable the MLflow Python client reads for a CA bundle
/// (`mlflow/environment_variables.py`); the injected client reads it too.
const CA_ENV: &str = "MLFLOW_TRACKING_SERVER_CERT_PATH";

/// `MLP_METRICS` of a step that reads a run's metrics: a JSON array of
/// the MLflow keys, which may hold spaces (mlflow_metrics.py and
/// mlflow_report.py read it).
pub fn metric_names_env<'m>(metrics: impl IntoIterator<Item = &'m String>) -> String {
    let names: Vec<&String> = metrics.into_iter().collect();
    serde_json::to_string(&names).expect("a list of strings is JSON")
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn secret_env(name: &str, secret: &str, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: optional.then_some(true),
            }),
            ..Default::default()
        }),
    }
}

/// `secret("name", "key")` in a user's `env`.
pub fn user_secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    secret_env(name, secret, key, false)
}

impl Tracking {
    /// The tracking server, the experiment and the credentials, as the
    /// MLflow client reads them. Credentials come from the Secret, each key
    /// optional so that a Secret may hold a token or a username/password.
    pub fn client_env(&self) -> Vec<EnvVar> {
        // The names the checker reserves in a tracked stage's `env`.
        let &[_run_id, uri, experiment] = schema::TRACKING_ENV else {
            unreachable!("TRACKING_ENV: the run id, tracking URI and experiment")
        };
        let mut out = vec![
            env(uri, self.tracking_uri.clone()),
            env(experiment, self.experiment.clone()),
        ];
        if self.ca_bundle.is_some() {
            out.push(env(CA_ENV, format!("{CA_DIR}/{CA_FILE}")));
        }
        if let Some(secret) = &self.credentials {
            out.push(secret_env(
                "MLFLOW_TRACKING_USERNAME",
                secret,
                "username",
                true,
            ));
            out.push(secret_env(
                "MLFLOW_TRACKING_PASSWORD",
                secret,
                "password",
                true,
            ));
            out.push(secret_env("MLFLOW_TRACKING_TOKEN", secret, "token", true));
        }
        out
    }

    /// A container running a step of the MLflow program.
    pub fn step_container(
        &self,
        programs: &Programs,
        name: &str,
        step: Step,
        extra_env: Vec<EnvVar>,
    ) -> Container {
        let mut env_vars = self.client_env();
        env_vars.extend(extra_env);
        let mut container = python_container(name, &self.image, programs.command(step), env_vars);
        container.volume_mounts = self.ca_mount().map(|m| vec![m]);
        container
    }

    /// The mount of the CA bundle, for each container given [`client_env`].
    ///
    /// [`client_env`]: Tracking::client_env
    pub fn ca_mount(&self) -> Option<VolumeMount> {
        self.ca_bundle.as_ref().map(|_| VolumeMount {
            name: CA_VOLUME.into(),
            mount_path: CA_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        })
    }

    /// The volume behind [`Tracking::ca_mount`], for each pod that has one:
    /// only the named key, as `ca.crt`.
    pub fn ca_volume(&self) -> Option<Volume> {
        let ca = self.ca_bundle.as_ref()?;
        let items = Some(vec![KeyToPath {
            key: ca.key.clone(),
            path: CA_FILE.into(),
            mode: None,
        }]);
        Some(match ca.source {
            crate::sema::hir::KeySource::ConfigMap => Volume {
                name: CA_VOLUME.into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: ca.name.clone(),
                    items,
                    ..Default::default()
                }),
                ..Default::default()
            },
            crate::sema::hir::KeySource::Secret => Volume {
                name: CA_VOLUME.into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(ca.name.clone()),
                    items,
                    ..Default::default()
                }),
                ..Default::default()
            },
        })
    }

    /// The init container of a tracked stage. The run's identity (the
    /// tags it is created with) travels in one variable, `MLP_RUN`, as
    /// `key=value` words: pipeline and stage names are identifiers, and
    /// Argo's names and uids hold no space. The node id is `ARGO_NODE_ID`,
    /// which Argo's controller gives every container of the pod, init
    /// containers included (workflow/controller/workflowpod.go,
    /// `createWorkflowPod`).
    pub fn init_container(
        &self,
        programs: &Programs,
        pipeline: &str,
        stage: &str,
        params: &[(String, String)],
        items: &[(String, String)],
    ) -> Container {
        let extra = run_env(pipeline, stage, params, items);
        let mut init = self.step_container(programs, "mlflow-init", Step::Init, extra);
        init.volume_mounts = Some(self.pod_mounts());
        injected(init)
    }

    /// What an injected container of a tracked stage mounts: the shared
    /// `/mlflow` volume and the CA bundle, never the user's volumes.
    fn pod_mounts(&self) -> Vec<VolumeMount> {
        std::iter::once(mount()).chain(self.ca_mount()).collect()
    }

    /// The sidecar of a tracked stage. It runs the MLflow program the init
    /// container checked and left in the volume ([`SIDECAR_PROGRAM`]), with
    /// the server's address the init container left there too: its own
    /// environment holds only the credentials.
    pub fn finalize_container(&self) -> Container {
        let env_vars = self
            .client_env()
            .into_iter()
            .filter(|e| e.value_from.is_some() || e.name == CA_ENV)
            .collect();
        let mut sidecar = python_container(
            "mlflow-finalize",
            &self.image,
            vec!["python3".into(), SIDECAR_PROGRAM.into()],
            env_vars,
        );
        sidecar.volume_mounts = Some(self.pod_mounts());
        injected(sidecar)
    }
}

/// What the init step creates a stage's run from: its identity (`MLP_RUN`,
/// `key=value` words), its `params` and its loops' items.
pub fn run_env(
    pipeline: &str,
    stage: &str,
    params: &[(String, String)],
    items: &[(String, String)],
) -> Vec<EnvVar> {
    let run = format!(
        "pipeline={pipeline} stage={stage} workflow={{{{workflow.name}}}} uid={{{{workflow.uid}}}} namespace={{{{workflow.namespace}}}} pod={{{{pod.name}}}}"
    );
    let mut out = vec![env("MLP_RUN", run)];
    out.extend(indexed_env("MLP_PARAM", params));
    if !items.is_empty() {
        out.extend(indexed_env("MLP_ITEM", items));
    }
    out
}

/// A container injected into a tracked stage's pod: restricted, and with
/// no resources of its own (each tracked stage carries two; the restricted
/// standard asks for none). In a namespace whose ResourceQuota covers cpu
/// or memory, the namespace's LimitRange gives them its defaults.
fn injected(container: Container) -> Container {
    Container {
        resources: None,
        ..container
    }
}

/// Where the init container leaves the MLflow program for the sidecar: the
/// program runs the step its file is named after.
pub const SIDECAR_PROGRAM: &str = "/mlflow/mlflow-finalize";

/// A generated container: `command` in `image`, locked down and small;
/// every value it needs is in `env_vars`.
pub fn python_container(
    name: &str,
    image: &str,
    command: Vec<String>,
    env_vars: Vec<EnvVar>,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        command: Some(command),
        env: (!env_vars.is_empty()).then_some(env_vars),
        resources: Some(small_resources()),
        security_context: Some(restricted()),
        ..Default::default()
    }
}

/// Key/value pairs as PREFIX_COUNT, PREFIX_KEY_<i>, PREFIX_VALUE_<i>: keys
/// may be any text, and no value is ever spliced into a program.
pub fn indexed_env(prefix: &str, pairs: &[(String, String)]) -> Vec<EnvVar> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let mut out = vec![env(&format!("{prefix}_COUNT"), pairs.len().to_string())];
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(env(&format!("{prefix}_KEY_{i}"), k.clone()));
        out.push(env(&format!("{prefix}_VALUE_{i}"), v.clone()));
    }
    out
}

/// Where the init container leaves the wrapper ([`WRAP`]) for main.
pub const WRAP_PROGRAM: &str = "/mlflow/mlflow-wrap";

/// The main container's command, wrapped: `sh /mlflow/mlflow-wrap ARGV...`.
/// The wrapper's text travels once, in the MLflow program, not in each
/// tracked stage.
pub fn wrapped_command(argv: Vec<String>) -> Vec<String> {
    let mut command = vec!["sh".into(), WRAP_PROGRAM.into()];
    command.extend(argv);
    command
}

pub fn mount() -> VolumeMount {
    VolumeMount {
        name: VOLUME.into(),
        mount_path: MOUNT.into(),
        ..Default::default()
    }
}

/// The "restricted" Pod Security settings for a user's container: the
/// image's own user must not be root (no user is imposed on it).
pub fn restricted_user_container() -> SecurityContext {
    SecurityContext {
        run_as_user: None,
        ..restricted()
    }
}

/// The pod-level part of the "restricted" standard.
pub fn restricted_pod() -> k8s_openapi::api::core::v1::PodSecurityContext {
    k8s_openapi::api::core::v1::PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

/// The Kubernetes "restricted" Pod Security profile for one container, as
/// user 65534 (the restricted standard asks for no group; the default
/// image's `nobody` has group 65534).
pub fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(NON_ROOT_UID),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

/// Requests and limits for the generated steps' small programs, so they
/// fit namespaces with a ResourceQuota.
fn small_resources() -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_string());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), q("10m")),
            ("memory".into(), q("32Mi")),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".into(), q("500m")),
            ("memory".into(), q("128Mi")),
        ])),
        claims: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text that ends up in a program, and the wrapper.
    fn texts() -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&str, &str)> = Step::ALL.iter().map(|s| (s.name(), s.text())).collect();
        out.extend([
            ("common", COMMON),
            ("main", MAIN),
            ("kserve-wait", KSERVE_WAIT),
            ("kserve-apply", KSERVE_APPLY),
            ("wrap", WRAP),
        ]);
        out
    }

    #[test]
    fn programs_hold_no_argo_syntax() {
        // Argo substitutes `{{...}}` anywhere in a template, and again in
        // the text a parameter put there; the embedded programs must never
        // contain it.
        for (name, text) in texts() {
            assert!(!text.contains("{{"), "{name}");
        }
    }

    #[test]
    fn programs_survive_argo_substitution_unchanged() {
        // Argo writes a parameter's value into the template's JSON escaped
        // with Go's strconv.Quote (util/template/simple_template.go) and
        // then requires valid JSON: printable ASCII and newlines come
        // through as themselves; other control characters would not.
        for (name, text) in texts() {
            let bad = text
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_graphic() || *c == ' ' || *c == '\n'));
            assert_eq!(bad, None, "{name}");
        }
    }

    #[test]
    fn steps_fit_in_raw_strings() {
        // Each step is written as r'''TEXT''' in the MLflow program.
        for step in Step::ALL {
            assert!(!step.text().contains("'''"), "{step:?}");
            assert!(step.text().ends_with('\n'), "{step:?}");
        }
    }

    #[test]
    fn the_program_holds_the_steps_used_and_runs_the_one_named() {
        let programs = Programs::new(BTreeSet::from([Step::Init, Step::Cleanup]), false);
        let text = programs.mlflow();
        assert!(text.starts_with(COMMON) && text.ends_with(MAIN));
        assert!(text.contains(&format!(
            "STEPS[\"mlflow-init\"] = r'''\n{}'''\n",
            Step::Init.text()
        )));
        assert!(text.contains("STEPS[\"mlflow-cleanup\"]"));
        assert!(!text.contains("STEPS[\"mlflow-register\"]"));
        let command = programs.command(Step::Cleanup);
        assert_eq!(command[..2], ["python3", "-c"]);
        assert_eq!(
            command[3..],
            ["{{workflow.parameters.mlpc_mlflow}}", "mlflow-cleanup"]
        );
        let loader = &command[2];
        let digest: String = Sha256::digest(text.as_bytes())[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(loader.contains(&digest), "{loader}");
        assert!(
            loader.ends_with(";exec(p)") && !loader.contains("assert"),
            "{loader}"
        );
        let params = programs.parameters();
        assert_eq!(params.len(), 1);
        assert_eq!(params[0].value.as_deref(), Some(text));
    }
}
