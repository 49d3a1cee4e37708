//! The Kubeflow Pipelines v2 IR, as much of it as mlpc writes: the
//! `PipelineSpec` (kfp-pipeline-spec's `pipeline_spec.proto`) and the
//! `PlatformSpec` of kfp-kubernetes (`kubernetes_executor_config.proto`),
//! in protobuf's JSON spelling (lowerCamelCase). Maps are `BTreeMap`s, so
//! keys come out sorted as kfp writes them; optional fields are left out
//! when unset. Only non-deprecated fields are modelled
//! (../shared/reference/KFP-IR.md §2, §6).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The first document: one pipeline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    pub components: BTreeMap<String, ComponentSpec>,
    pub deployment_spec: DeploymentSpec,
    pub pipeline_info: PipelineInfo,
    pub root: ComponentSpec,
    pub schema_version: &'static str,
    pub sdk_version: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dag: Option<Dag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    #[serde(skip_serializing_if = "Definitions::is_empty")]
    pub input_definitions: Definitions,
    #[serde(skip_serializing_if = "Definitions::is_empty")]
    pub output_definitions: Definitions,
}

/// A component's inputs or outputs.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Definitions {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParameterSpec>,
}

impl Definitions {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_optional: bool,
    pub parameter_type: ParameterType,
}

impl ParameterSpec {
    pub fn of(parameter_type: ParameterType) -> Self {
        ParameterSpec {
            default_value: None,
            description: None,
            is_optional: false,
            parameter_type,
        }
    }
}

/// `ParameterType.ParameterTypeEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterType {
    String,
    NumberInteger,
    NumberDouble,
    Boolean,
    List,
    Struct,
    TaskFinalStatus,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    pub artifact_type: ArtifactType,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_artifact_list: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactType {
    pub schema_title: &'static str,
    pub schema_version: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dag {
    #[serde(skip_serializing_if = "DagOutputs::is_empty")]
    pub outputs: DagOutputs,
    pub tasks: BTreeMap<String, Task>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DagOutputs {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactSelectors>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ValueFromParameter>,
}

impl DagOutputs {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSelectors {
    pub artifact_selectors: Vec<ArtifactSelector>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSelector {
    pub output_artifact_key: String,
    pub producer_subtask: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFromParameter {
    pub value_from_parameter: ParameterSelector,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSelector {
    pub output_parameter_key: String,
    pub producer_subtask: String,
}

/// `PipelineTaskSpec`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// `None` only on DAG tasks, which kfp writes without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    pub component_ref: ComponentRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependent_tasks: Vec<String>,
    #[serde(skip_serializing_if = "TaskInputs::is_empty")]
    pub inputs: TaskInputs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterator_policy: Option<IteratorPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_iterator: Option<ParameterIterator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    pub task_info: TaskInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
}

impl Task {
    /// A container task named `display` with its inputs and upstream
    /// tasks, never cached; its component is named by who adds it.
    pub fn container(display: String, inputs: TaskInputs, dependent_tasks: Vec<String>) -> Task {
        Task {
            caching_options: Some(CachingOptions::default()),
            component_ref: ComponentRef {
                name: String::new(),
            },
            dependent_tasks,
            inputs,
            iterator_policy: None,
            parameter_iterator: None,
            retry_policy: None,
            task_info: TaskInfo { name: display },
            trigger_policy: None,
        }
    }
}

/// `{}` is "no caching"; kfp writes it on every container task.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CachingOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_cache: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentRef {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskInfo {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskInputs {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactInput>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, TaskParameter>,
}

/// A task's input parameter: where it comes from, and a CEL expression the
/// driver applies to it (`parseJson(string_value)["lr"]` for a key of a
/// loop's item).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskParameter {
    #[serde(flatten)]
    pub source: ParameterInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_expression_selector: Option<String>,
}

impl From<ParameterInput> for TaskParameter {
    fn from(source: ParameterInput) -> Self {
        TaskParameter {
            source,
            parameter_expression_selector: None,
        }
    }
}

impl TaskInputs {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// Where a task's input parameter comes from: exactly one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ParameterInput {
    ComponentInputParameter(String),
    TaskOutputParameter(TaskOutput),
    RuntimeValue(RuntimeValue),
    TaskFinalStatus(FinalStatus),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalStatus {
    pub producer_task: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeValue {
    pub constant: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutput {
    pub output_parameter_key: String,
    pub producer_task: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ArtifactInput {
    ComponentInputArtifact(String),
    TaskOutputArtifact(TaskOutputArtifact),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputArtifact {
    pub output_artifact_key: String,
    pub producer_task: String,
}

/// Protobuf `Duration`s are strings of seconds (`"30s"`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub backoff_duration: String,
    pub backoff_factor: f64,
    pub backoff_max_duration: String,
    pub max_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `ALL_UPSTREAM_TASKS_COMPLETED`: an exit task, run however its
    /// upstream task ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorPolicy {
    pub parallelism_limit: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterIterator {
    pub item_input: String,
    pub items: Items,
}

/// A loop's items: a JSON list written in the IR, or a task input.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Items {
    Raw(String),
    InputParameter(String),
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeploymentSpec {
    pub executors: BTreeMap<String, Executor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Executor {
    pub container: Container,
}

/// `PipelineDeploymentConfig.PipelineContainerSpec`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Container {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Literal values only: the driver copies them into the pod as they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    pub image: String,
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<Accelerator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_cpu_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_cpu_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_memory_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_memory_request: Option<String>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.accelerator.is_none()
            && self.resource_cpu_limit.is_none()
            && self.resource_cpu_request.is_none()
            && self.resource_memory_limit.is_none()
            && self.resource_memory_request.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accelerator {
    pub resource_count: String,
    pub resource_type: String,
}

/// The second document: `platforms.kubernetes`.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformSpec {
    pub platforms: Platforms,
}

#[derive(Debug, Clone, Serialize)]
pub struct Platforms {
    pub kubernetes: KubernetesPlatform,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesPlatform {
    pub deployment_spec: PlatformDeployment,
    #[serde(skip_serializing_if = "PipelineConfig::is_empty")]
    pub pipeline_config: PipelineConfig,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PlatformDeployment {
    pub executors: BTreeMap<String, ExecutorConfig>,
}

/// `PipelineConfig` (seconds as JSON numbers).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_ttl_on_completion: Option<i64>,
}

impl PipelineConfig {
    pub fn is_empty(&self) -> bool {
        self.active_deadline_seconds.is_none() && self.resource_ttl_on_completion.is_none()
    }
}

/// `KubernetesExecutorConfig`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorConfig {
    /// An int64: a JSON string in protobuf's JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_map_as_env: Vec<ConfigMapAsEnv>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_map_as_volume: Vec<ConfigMapAsVolume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty_dir_mounts: Vec<EmptyDirMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_shared_memory: Option<SharedMemory>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_path_as_env: Vec<FieldPathAsEnv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secret: Vec<NameParameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<NodeAffinityTerm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<NodeSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<PodMetadata>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pvc_mount: Vec<PvcMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_as_env: Vec<SecretAsEnv>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_as_volume: Vec<SecretAsVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

impl ExecutorConfig {
    pub fn is_empty(&self) -> bool {
        serde_json::to_value(self).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
    }
}

/// `{secretNameParameter: {runtimeValue: {constant: NAME}}}` and the like:
/// a task-input spec naming the object.
#[derive(Debug, Clone, Serialize)]
pub struct NameInput {
    #[serde(rename = "runtimeValue")]
    pub runtime_value: RuntimeValue,
}

impl NameInput {
    pub fn constant(name: &str) -> Self {
        NameInput {
            runtime_value: RuntimeValue {
                constant: Value::String(name.to_string()),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameParameter {
    pub secret_name_parameter: NameInput,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsEnv {
    pub key_to_env: Vec<SecretKeyToEnv>,
    pub optional: bool,
    pub secret_name_parameter: NameInput,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyToEnv {
    pub env_var: String,
    pub secret_key: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapAsEnv {
    pub config_map_name_parameter: NameInput,
    pub key_to_env: Vec<ConfigMapKeyToEnv>,
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyToEnv {
    pub config_map_key: String,
    pub env_var: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldPathAsEnv {
    pub field_path: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsVolume {
    pub mount_path: String,
    pub optional: bool,
    pub secret_name_parameter: NameInput,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapAsVolume {
    pub config_map_name_parameter: NameInput,
    pub mount_path: String,
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcMount {
    pub mount_path: String,
    /// A constant, or the claim a `createpvc` task made, as its DAG has it.
    pub pvc_name_parameter: ParameterInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirMount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    pub mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<String>,
    pub volume_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedMemory {
    pub size: String,
    pub volume_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeSelector {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinityTerm {
    pub match_expressions: Vec<SelectorRequirement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: &'static str,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodMetadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_non_root: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// An int64: a JSON string in protobuf's JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}
