//! The Argo Workflows objects mlpc emits (`argoproj.io/v1alpha1`).
//!
//! k8s-openapi has no Argo types, so these are our own serde structs, shaped
//! after Argo's v4 JSON schema; Kubernetes parts (containers, env, volumes,
//! tolerations, metadata) are k8s-openapi's typed objects. Fields Argo types
//! as IntOrString are strings here, as the v4 schema says.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, LocalObjectReference, PersistentVolumeClaim, PodSecurityContext,
    Toleration, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

pub const API_VERSION: &str = "argoproj.io/v1alpha1";

/// One emitted document.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Document {
    Workflow(Workflow),
    CronWorkflow(CronWorkflow),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub api_version: &'static str,
    /// `Workflow` or `WorkflowTemplate` (same spec).
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: WorkflowSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronWorkflow {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: CronWorkflowSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronWorkflowSpec {
    pub schedules: Vec<String>,
    /// An IANA zone; the controller's zone (usually UTC) when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `Allow`, `Forbid` or `Replace`: what happens when a run is due while
    /// the last one still runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<i64>,
    pub workflow_spec: WorkflowSpec,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec {
    pub entrypoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Arguments>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_strategy: Option<TtlStrategy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_exit: Option<String>,
    /// Run volumes: a claim per run, deleted when it ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    #[serde(rename = "volumeClaimGC", skip_serializing_if = "Option::is_none")]
    pub volume_claim_gc: Option<VolumeClaimGc>,
    /// Prometheus metrics of the whole run (`monitor = true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    pub templates: Vec<Template>,
}

/// Argo's custom Prometheus metrics (`Metrics`, workflow_types.go).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub prometheus: Vec<Prometheus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prometheus {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<MetricLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gauge: Option<Gauge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<Counter>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricLabel {
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gauge {
    pub value: String,
    /// Required by Argo's full CRD (`required: [realtime, value]`).
    pub realtime: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    pub value: String,
    pub buckets: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counter {
    pub value: String,
}

/// When Argo deletes the claims of `volumeClaimTemplates`.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeClaimGc {
    pub strategy: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlStrategy {
    pub seconds_after_completion: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arguments {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

impl Arguments {
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.artifacts.is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
    /// The values Argo accepts at submission.
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFrom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// A DAG template's output: a parameter of one of its tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The value when `parameter` cannot be read (its task was skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A key-only location: the rest comes from the workflow's artifact
    /// repository, whatever its kind (`ArtifactLocation.Relocate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<KeyOnly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveStrategy>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyOnly {
    pub key: String,
}

/// `archive: {none: {}}`: stored as it is, a file or a directory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArchiveStrategy {
    pub none: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

impl Inputs {
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.artifacts.is_empty()
    }
}

pub type Outputs = Inputs;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    #[serde(skip_serializing_if = "Inputs::is_empty")]
    pub inputs: Inputs,
    #[serde(skip_serializing_if = "Inputs::is_empty")]
    pub outputs: Outputs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dag: Option<Dag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceTemplate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// `false` for a pod none of whose own containers calls the Kubernetes
    /// API; Argo then requires `executor` (validate.go `validateLeaf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// The account whose token Argo mounts into its own containers only
    /// (workflowpod.go `newExecContainer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// IntOrString in Argo's schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<String>,
    /// The node's whole time from its start, Pending included (a string
    /// duration such as `600s`); `activeDeadlineSeconds` counts only the
    /// pod's running time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memoize: Option<Memoize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorConfig {
    pub service_account_name: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dag {
    pub tasks: Vec<DagTask>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DagTask {
    pub name: String,
    pub template: String,
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// `a.Succeeded && b`: a task whose outputs are read must have
    /// succeeded (a skipped one has none); `after` only orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_items: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_param: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    pub action: &'static str,
    /// Empty for a `delete` by `flags` (a label selector).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The object is deleted with the Workflow object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_owner_reference: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_condition: Option<String>,
    /// Arguments kubectl gets after the action's own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// IntOrString in Argo's schema.
    pub limit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// When false after an attempt, no more attempts (expr, over
    /// `lastRetry.*`; operator.go `processNodeRetries`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// IntOrString in Argo's schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<String>,
    /// The longest wait between two attempts (Argo 3.7+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Memoize {
    pub key: String,
    pub max_age: String,
    pub cache: MemoizeCache,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoizeCache {
    pub config_map: LocalObjectReference,
}
