//! The containers mlpc injects for MLflow: the init container that creates a
//! run, the wrapper around the main command, the sidecar that ends the run,
//! and the generated steps (metric gate, register, resolve, cleanup).
//!
//! The programs are files in `scripts/`, embedded here. They read every
//! value from environment variables, so their text is the same for every
//! pipeline and nothing a pipeline author writes becomes code.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, EnvVarSource, ObjectFieldSelector, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The image of every injected container unless `mlflow.image` says
/// otherwise: it needs only `python3` (the programs use the standard library).
pub const DEFAULT_IMAGE: &str = "python:3.12.11-alpine3.22";

/// Where the run id and the exit status are shared inside a tracked pod.
pub const MOUNT: &str = "/mlflow";
pub const VOLUME: &str = "mlflow";
/// The user (nobody) injected containers run as: the default image has no
/// non-root user of its own.
const NON_ROOT_UID: i64 = 65534;

const COMMON: &str = include_str!("scripts/mlflow_common.py");
pub const INIT: &str = include_str!("scripts/mlflow_init.py");
pub const FINALIZE: &str = include_str!("scripts/mlflow_finalize.py");
pub const METRICS: &str = include_str!("scripts/mlflow_metrics.py");
pub const REGISTER: &str = include_str!("scripts/mlflow_register.py");
pub const RESOLVE: &str = include_str!("scripts/mlflow_resolve.py");
pub const CLEANUP: &str = include_str!("scripts/mlflow_cleanup.py");
pub const WRAP: &str = include_str!("scripts/mlflow_wrap.sh");

/// A program ready for `python3 -c`: the shared helpers, then the step.
pub fn program(step: &str) -> String {
    format!("{COMMON}\n{step}")
}

/// What the pipeline's `mlflow` block says, rendered for the output.
#[derive(Debug, Clone)]
pub struct Tracking {
    pub tracking_uri: String,
    /// May hold Argo placeholders (a parameter); it only ever reaches env.
    pub experiment: String,
    pub artifact_store: Option<String>,
    pub image: String,
    pub credentials: Option<String>,
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
        let mut out = vec![
            env("MLFLOW_TRACKING_URI", self.tracking_uri.clone()),
            env("MLFLOW_EXPERIMENT_NAME", self.experiment.clone()),
        ];
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

    /// A container running one of the embedded programs.
    pub fn step_container(
        &self,
        name: &str,
        kind: &str,
        step: &str,
        extra_env: Vec<EnvVar>,
    ) -> Container {
        let mut env_vars = self.client_env();
        env_vars.push(env("MLP_STEP_KIND", kind));
        env_vars.extend(extra_env);
        python_container(name, &self.image, program(step), env_vars)
    }

    /// The init container of a tracked stage.
    pub fn init_container(
        &self,
        pipeline: &str,
        stage: &str,
        params: &[(String, String)],
    ) -> Container {
        let mut extra = vec![
            env("MLP_PIPELINE", pipeline),
            env("MLP_STAGE", stage),
            env("MLP_RUN_NAME", stage),
            env("MLP_WORKFLOW_NAME", "{{workflow.name}}"),
            env("MLP_WORKFLOW_UID", "{{workflow.uid}}"),
            env("MLP_NAMESPACE", "{{workflow.namespace}}"),
            env("MLP_POD_NAME", "{{pod.name}}"),
            EnvVar {
                name: "MLP_NODE_ID".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.annotations['workflows.argoproj.io/node-id']".into(),
                        api_version: None,
                    }),
                    ..Default::default()
                }),
            },
        ];
        extra.extend(indexed_env("MLP_PARAM", params));
        self.step_container("mlflow-init", "mlflow-init", INIT, extra)
    }

    pub fn finalize_container(&self) -> Container {
        self.step_container("mlflow-finalize", "mlflow-finalize", FINALIZE, Vec::new())
    }
}

/// A generated container: `python3 -c PROGRAM` in `image`, locked down and
/// small; every value it needs is in `env_vars`.
pub fn python_container(
    name: &str,
    image: &str,
    program: String,
    env_vars: Vec<EnvVar>,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        command: Some(vec!["python3".into(), "-c".into(), program]),
        env: Some(env_vars),
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

/// The main container's command, wrapped: `sh -c WRAP mlflow-wrap ARGV...`.
pub fn wrapped_command(argv: Vec<String>) -> Vec<String> {
    let mut command = vec![
        "sh".into(),
        "-c".into(),
        WRAP.to_string(),
        "mlflow-wrap".into(),
    ];
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
        run_as_group: None,
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

/// The Kubernetes "restricted" Pod Security profile for one container.
pub fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(NON_ROOT_UID),
        run_as_group: Some(NON_ROOT_UID),
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

/// Requests and limits for the small injected programs, so they fit
/// namespaces with a ResourceQuota.
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

    #[test]
    fn programs_hold_no_argo_syntax() {
        // Argo substitutes `{{...}}` anywhere in a template; the embedded
        // programs must never contain it.
        for p in [
            INIT,
            FINALIZE,
            METRICS,
            REGISTER,
            RESOLVE,
            CLEANUP,
            WRAP,
            COMMON,
            crate::emit::kserve::WAIT,
        ] {
            assert!(!p.contains("{{"), "{p}");
        }
    }
}
