//! A stage's `resources` as Kubernetes `ResourceRequirements`: one rule
//! for every container a backend writes them into (Argo's pods, KServe's
//! predictor on either target).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::collections::IndexMap;
use crate::plan::literal::literal_text;
use crate::sema::hir::{Spanned, Value};
use crate::syntax::ast::Text;

/// The requirements of `res`, each quantity written by `text` (which
/// renders a run-time value the backend's way), and its `gpu_type`.
/// `gpu` is a limit (Kubernetes takes extended resources as limits).
pub fn requirements(
    res: &IndexMap<Text, Spanned<Value>>,
    text: &mut dyn FnMut(&Spanned<Value>) -> String,
) -> (Option<ResourceRequirements>, Option<String>) {
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    let name = |k: &str| match k {
        "ephemeral_storage" => "ephemeral-storage".to_string(),
        "gpu" => "nvidia.com/gpu".to_string(),
        other => other.to_string(),
    };
    let mut gpu_type = None;
    for (k, v) in res {
        match (k.as_str(), &v.value) {
            ("limits", Value::Map(l)) => {
                for (lk, lv) in l.iter() {
                    limits.insert(name(lk), Quantity(text(lv)));
                }
            }
            ("gpu", g) => {
                limits
                    .entry(name("gpu"))
                    .or_insert_with(|| Quantity(literal_text(g)));
            }
            ("gpu_type", _) => gpu_type = Some(text(v)),
            (k, _) => {
                requests.insert(name(k), Quantity(text(v)));
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return (None, gpu_type);
    }
    (
        Some(ResourceRequirements {
            requests: (!requests.is_empty()).then_some(requests),
            limits: (!limits.is_empty()).then_some(limits),
            claims: None,
        }),
        gpu_type,
    )
}
