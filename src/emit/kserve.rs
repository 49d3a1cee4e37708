//! The KServe `InferenceService` a deploy stage applies (serving.kserve.io/v1beta1).
//!
//! MLflow models are served by KServe's `kserve-mlserver` runtime, which
//! matches `modelFormat.name: mlflow` (no version: the runtime lists "1" and
//! "2") and speaks only the v2 (Open Inference) protocol.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceService {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: InferenceServiceSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceServiceSpec {
    pub predictor: Predictor,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Predictor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_traffic_percent: Option<i64>,
    pub model: ModelSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    pub model_format: ModelFormat,
    pub protocol_version: String,
    pub storage_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelFormat {
    pub name: String,
}

pub const API_VERSION: &str = "serving.kserve.io/v1beta1";
/// The deploy step succeeds when the model is loaded and fails when KServe
/// gives up loading it.
pub const SUCCESS_CONDITION: &str = "status.modelStatus.states.activeModelState == Loaded";
pub const FAILURE_CONDITION: &str = "status.modelStatus.states.targetModelState == FailedToLoad";
