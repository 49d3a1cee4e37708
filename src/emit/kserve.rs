//! The KServe `InferenceService` a deploy stage applies (serving.kserve.io/v1beta1).
//!
//! MLflow models are served by KServe's `kserve-mlserver` runtime, which
//! matches `modelFormat.name: mlflow` (no version: the runtime lists "1" and
//! "2") and speaks only the v2 (Open Inference) protocol.
//!
//! A deploy stage is three steps: resolve the storage URI, apply the
//! InferenceService (an Argo `resource` template with no success condition),
//! and wait for this run's rollout with the embedded program
//! `scripts/kserve_wait.py` ([`crate::emit::mlflow::Program::KserveWait`]). The
//! apply stamps the predictor with [`ROLLOUT_ANNOTATION`]; KServe copies the
//! predictor's annotations onto its pods (the Knative revision template in
//! Serverless mode, the Deployment's pod template in raw mode), which is how
//! the wait step tells this rollout's pods from earlier ones. Why Argo's own
//! resource conditions cannot do the wait is written at the top of
//! `scripts/kserve_wait.py`.

use std::collections::BTreeMap;

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
    /// Copied by KServe onto the predictor's pods.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
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

/// The predictor annotation that names the rollout: `{{workflow.uid}}-TASK`,
/// unique per deploy task run (a workflow uid is a UUID).
pub const ROLLOUT_ANNOTATION: &str = "mlpc.dev/rollout";

/// How long the wait step waits when the stage sets no `timeout`.
pub const DEFAULT_WAIT_SECONDS: &str = "900";

/// The apply step's deadline (Argo template `timeout`): `kubectl apply`
/// retries transient errors; a stuck API server must not hold the run.
pub const APPLY_TIMEOUT: &str = "5m";
/// The same deadline for the KFP apply step's program, in seconds.
pub const APPLY_TIMEOUT_SECONDS: &str = "300";

/// What a deploy stage's InferenceService says besides its fields: the
/// version and registered model it serves (annotations), the rollout that
/// stamps its predictor, and the storage URI the resolve step found.
pub struct Served {
    pub version: String,
    pub registered_model: Option<String>,
    pub rollout: String,
    pub storage_uri: String,
}

/// The InferenceService of a deploy stage with (merged) `fields`, each of
/// its values written by `text`, the backend's rendering of a value that
/// may be known only at run time. One rule for both targets.
pub fn inference_service(
    fields: &crate::sema::hir::Fields,
    served: Served,
    text: &mut dyn FnMut(&crate::sema::hir::Spanned<crate::sema::hir::Value>) -> String,
) -> InferenceService {
    use crate::sema::hir::Value;
    let get = |k: &str| fields.get(k);
    let int = |k: &str| match get(k).map(|v| &v.value) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    };
    let mut annotations =
        BTreeMap::from([("mlflow.org/model-version".to_string(), served.version)]);
    if let Some(name) = served.registered_model {
        annotations.insert("mlflow.org/registered-model".into(), name);
    }
    // Rendered in this order (Argo's inputs follow it).
    let name = get("service").map(&mut *text);
    let namespace = get("namespace").map(&mut *text);
    let account = get("service_account").map(&mut *text);
    let format = get("format").map_or_else(|| "mlflow".into(), &mut *text);
    let protocol = get("protocol").map_or_else(|| "v2".into(), &mut *text);
    let resources = match get("resources").map(|v| &v.value) {
        Some(Value::Map(res)) => crate::emit::resources::requirements(res, text).0,
        _ => None,
    };
    InferenceService {
        api_version: API_VERSION,
        kind: "InferenceService",
        metadata: ObjectMeta {
            name,
            namespace,
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: InferenceServiceSpec {
            predictor: Predictor {
                annotations: BTreeMap::from([(ROLLOUT_ANNOTATION.to_string(), served.rollout)]),
                service_account_name: account,
                min_replicas: int("min_replicas"),
                max_replicas: int("max_replicas"),
                canary_traffic_percent: int("canary"),
                model: ModelSpec {
                    model_format: ModelFormat { name: format },
                    protocol_version: protocol,
                    storage_uri: served.storage_uri,
                    resources,
                },
            },
        },
    }
}

/// The rollout id for the deploy task `task`.
pub fn rollout_id(task: &str) -> String {
    format!("{{{{workflow.uid}}}}-{task}")
}
