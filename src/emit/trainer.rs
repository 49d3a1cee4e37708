//! Kubeflow Trainer: the rules a distributed `train` stage's job follows
//! (contract §9.6; ../shared/reference/DISTRIBUTED.md). The job is a
//! Trainer v2 `TrainJob` (pinned: Trainer v2.3.0, `trainer.kubeflow.org/
//! v1alpha1`) or, for clusters still on Training Operator 1.9, a v1
//! `PyTorchJob`, created by an Argo `resource` step that waits for these
//! conditions.
//!
//! Argo reads a resource step's conditions as Kubernetes label selectors
//! over gjson paths (workflow/executor/resource.go, `matchConditions`):
//! no query by a condition's type, only fixed indexes; failure
//! requirements are OR-ed and checked first, success requirements AND-ed.
//! tests/trainer.rs evaluates these strings that way on the reference's
//! status fixtures.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, PodSecurityContext, PodTemplateSpec,
    ResourceRequirements, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::sema::distributed::TrainingApi;

/// The Trainer v2 API.
pub const TRAINJOB_API_VERSION: &str = "trainer.kubeflow.org/v1alpha1";
/// The Training Operator v1 API.
pub const PYTORCHJOB_API_VERSION: &str = "kubeflow.org/v1";

pub use crate::sema::distributed::{max_generate_name_len, max_name_len, DEFAULT_RUNTIME};

/// A TrainJob succeeded: its one replicated job's JobSet child completed.
/// Not `status.conditions.0.type == Complete`: under Kueue the first
/// condition is `Suspended` (False once resumed), so that would wait
/// forever. `jobsStatus` has one entry per replicated job, so this holds
/// only for runtimes with one (DISTRIBUTED.md §1, "waiting"); the entry
/// must be the trainer's `node`, so that a custom runtime with an
/// initializer (whose entry may come first: JobSet lists them from a Go
/// map) never succeeds before `node` has (it may wait until its deadline).
pub const TRAINJOB_SUCCESS: &str =
    "status.jobsStatus.0.name == node, status.jobsStatus.0.succeeded > 0";

/// A TrainJob failed: any of its (at most three: `Suspended`, `Complete`,
/// `Failed`) conditions is `Failed`, which the controller writes only when
/// true (deadline exceeded included).
pub const TRAINJOB_FAILURE: &str = "status.conditions.0.type == Failed, status.conditions.1.type == Failed, status.conditions.2.type == Failed";

/// A PyTorchJob ended: `completionTime` is set. It is set on failure too,
/// which is why the failure condition, checked first, must come with it.
pub const PYTORCHJOB_SUCCESS: &str = "status.completionTime";

/// A PyTorchJob failed: any of its conditions (at most five types, each
/// once: Created, Running/Restarting, Succeeded, Failed, Suspended) is
/// `Failed`.
pub const PYTORCHJOB_FAILURE: &str = "status.conditions.0.type == Failed, status.conditions.1.type == Failed, status.conditions.2.type == Failed, status.conditions.3.type == Failed, status.conditions.4.type == Failed";

/// The replicated job (and its container) of the default runtime that
/// `spec.trainer` configures and mlpc's runtime patch targets.
pub const NODE: &str = "node";
/// The manager of mlpc's runtime patch (TrainJob `runtimePatches[].manager`).
pub const PATCH_MANAGER: &str = "mlpc.dev/compiler";

/// A Trainer v2 `TrainJob` (v2.3.0 CRD; ../shared/schemas/kubeflow-trainer).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainJob {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: TrainJobSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainJobSpec {
    /// The job fails (`Failed`/`DeadlineExceeded`) after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    pub runtime_ref: RuntimeRef,
    pub trainer: Trainer,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_patches: Vec<RuntimePatch>,
}

/// A (Cluster)TrainingRuntime by name (kind defaults to the cluster's).
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeRef {
    pub name: String,
}

/// What every node runs: merged into the runtime's container `node`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trainer {
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    pub num_nodes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources_per_node: Option<ResourceRequirements>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

/// The pod settings `spec.trainer` has no field for, patched into the
/// runtime's replicated job `node`.
#[derive(Debug, Clone, Default)]
pub struct NodePod {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
    pub service_account: Option<String>,
    pub pull_secrets: Vec<String>,
    pub security_context: Option<PodSecurityContext>,
    /// The training container's (`restricted`).
    pub container_security: Option<SecurityContext>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePatch {
    pub manager: &'static str,
    /// `{template: {spec: {replicatedJobs}}}`: the JobSet template.
    pub training_runtime_spec: Template<Spec<ReplicatedJobs>>,
}

/// `{template: ...}`.
#[derive(Debug, Clone, Serialize)]
pub struct Template<T> {
    pub template: T,
}

#[derive(Debug, Clone, Serialize)]
pub struct Spec<T> {
    pub spec: T,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedJobs {
    pub replicated_jobs: Vec<ReplicatedJob>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicatedJob {
    pub name: &'static str,
    /// The Job template: `{spec: {template: POD}}`.
    pub template: Spec<Template<PodPatch>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMeta>,
    pub spec: PodSpecPatch,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodMeta {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerPatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPatch {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

impl TrainJob {
    /// A TrainJob named `generate_name` + five characters, running
    /// `trainer` on `runtime`, with `pod` patched into every node's pod
    /// (no patch when there is nothing to patch).
    pub fn new(
        generate_name: String,
        labels: BTreeMap<String, String>,
        runtime: String,
        trainer: Trainer,
        pod: NodePod,
        deadline_seconds: Option<i64>,
    ) -> TrainJob {
        let meta = (!pod.labels.is_empty() || !pod.annotations.is_empty()).then_some(PodMeta {
            labels: pod.labels,
            annotations: pod.annotations,
        });
        let spec = PodSpecPatch {
            affinity: pod.affinity,
            containers: match pod.mounts.is_empty() && pod.container_security.is_none() {
                true => Vec::new(),
                false => vec![ContainerPatch {
                    name: NODE,
                    security_context: pod.container_security,
                    volume_mounts: pod.mounts,
                }],
            },
            image_pull_secrets: pod
                .pull_secrets
                .into_iter()
                .map(|name| LocalObjectReference { name })
                .collect(),
            node_selector: pod.node_selector,
            security_context: pod.security_context,
            service_account_name: pod.service_account,
            tolerations: pod.tolerations,
            volumes: pod.volumes,
        };
        let empty = meta.is_none()
            && spec.affinity.is_none()
            && spec.containers.is_empty()
            && spec.image_pull_secrets.is_empty()
            && spec.node_selector.is_empty()
            && spec.security_context.is_none()
            && spec.service_account_name.is_none()
            && spec.tolerations.is_empty()
            && spec.volumes.is_empty();
        let patch = RuntimePatch {
            manager: PATCH_MANAGER,
            training_runtime_spec: Template {
                template: Spec {
                    spec: ReplicatedJobs {
                        replicated_jobs: vec![ReplicatedJob {
                            name: NODE,
                            template: Spec {
                                spec: Template {
                                    template: PodPatch {
                                        metadata: meta,
                                        spec,
                                    },
                                },
                            },
                        }],
                    },
                },
            },
        };
        TrainJob {
            api_version: TRAINJOB_API_VERSION,
            kind: "TrainJob",
            metadata: ObjectMeta {
                generate_name: Some(generate_name),
                labels: (!labels.is_empty()).then_some(labels),
                ..Default::default()
            },
            spec: TrainJobSpec {
                active_deadline_seconds: deadline_seconds,
                runtime_ref: RuntimeRef { name: runtime },
                trainer,
                runtime_patches: if empty { Vec::new() } else { vec![patch] },
            },
        }
    }
}

/// The container of a PyTorchJob's replicas: Training Operator finds the
/// one to configure (ports, `PET_*`) by this name.
pub const PYTORCH_CONTAINER: &str = "pytorch";

/// A Training Operator v1 `PyTorchJob` (1.9 CRD): a `Master` and
/// `nodes - 1` `Worker`s of one pod template.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PyTorchJob {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: PyTorchJobSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PyTorchJobSpec {
    /// Processes per node: the GPUs per node when known (a string in v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nproc_per_node: Option<String>,
    pub run_policy: RunPolicy,
    pub pytorch_replica_specs: BTreeMap<&'static str, ReplicaSpec>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPolicy {
    /// `Running`: a failed job's workers still running are deleted, so
    /// they give back their GPUs.
    pub clean_pod_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSpec {
    pub replicas: i64,
    /// `Never`: a failed pod fails the job (its `Restarting` is not an end).
    pub restart_policy: &'static str,
    pub template: PodTemplateSpec,
}

impl PyTorchJob {
    /// A PyTorchJob of `nodes` pods of `template` (a Master, the rest
    /// Workers).
    pub fn new(
        generate_name: String,
        labels: BTreeMap<String, String>,
        nodes: i64,
        nproc_per_node: Option<String>,
        template: PodTemplateSpec,
        deadline_seconds: Option<i64>,
    ) -> PyTorchJob {
        let replica = |replicas| ReplicaSpec {
            replicas,
            restart_policy: "Never",
            template: template.clone(),
        };
        let mut replicas = BTreeMap::from([("Master", replica(1))]);
        if nodes > 1 {
            replicas.insert("Worker", replica(nodes - 1));
        }
        PyTorchJob {
            api_version: PYTORCHJOB_API_VERSION,
            kind: "PyTorchJob",
            metadata: ObjectMeta {
                generate_name: Some(generate_name),
                labels: (!labels.is_empty()).then_some(labels),
                ..Default::default()
            },
            spec: PyTorchJobSpec {
                nproc_per_node,
                run_policy: RunPolicy {
                    clean_pod_policy: "Running",
                    active_deadline_seconds: deadline_seconds,
                },
                pytorch_replica_specs: replicas,
            },
        }
    }
}

/// The labels every training job of a run carries: the exit handler
/// deletes the run's jobs by the uid (unique, unlike a workflow's name).
pub const WORKFLOW_UID_LABEL: &str = "mlpc.dev/workflow-uid";
pub const PIPELINE_LABEL: &str = "mlpc.dev/pipeline";
pub const STAGE_LABEL: &str = "mlpc.dev/stage";

/// The API group and resource of each API's jobs.
pub fn api_resource(api: TrainingApi) -> (&'static str, &'static str) {
    match api {
        TrainingApi::TrainJob => ("trainer.kubeflow.org", "trainjobs"),
        TrainingApi::PyTorchJob => ("kubeflow.org", "pytorchjobs"),
    }
}

/// The resource as kubectl names it (`trainjobs.trainer.kubeflow.org`).
pub fn kubectl_resource(api: TrainingApi) -> String {
    let (group, resource) = api_resource(api);
    format!("{resource}.{group}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_limits_are_the_references() {
        // DISTRIBUTED.md: <= 48 for <= 10 nodes, <= 47 for <= 100, a
        // generateName prefix <= 43.
        assert_eq!(max_name_len(1), 48);
        assert_eq!(max_name_len(10), 48);
        assert_eq!(max_name_len(11), 47);
        assert_eq!(max_name_len(100), 47);
        assert_eq!(max_name_len(101), 46);
        assert_eq!(max_generate_name_len(4), 43);
    }
}
