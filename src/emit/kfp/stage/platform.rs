//! A container stage's Kubernetes settings: resources in the executor, and
//! the rest in its kfp-kubernetes `KubernetesExecutorConfig` (node
//! selection, tolerations, affinity, volumes, pod metadata, pull policy and
//! secrets, security context, the pod's deadline).

use std::collections::BTreeMap;

use super::Component;
use crate::collections::IndexMap;
use crate::emit::kfp::dag;
use crate::emit::kfp::ir::*;
use crate::plan::literal::literal_text;
use crate::sema::hir::{Spanned, Value};
use crate::sema::schema;
use crate::syntax::ast::Text;

impl Component<'_, '_> {
    /// The claim of run volume `name` where this task is: the `name`
    /// output of the task that made it, routed from the main DAG.
    fn run_volume(&mut self, name: &str) -> Option<dag::At> {
        let index = self
            .plan
            .pipeline
            .volumes
            .iter()
            .position(|v| v.name == name)?;
        let task = self.router.volume_tasks.get(index)?.clone();
        let (at, _) = self.router.route(
            self.plan,
            &dag::Value {
                kind: dag::Kind::Parameter,
                parameter: Some(ParameterSpec::of(ParameterType::String)),
                artifact: None,
            },
            dag::At::Task {
                task: task.clone(),
                key: "name".into(),
            },
            &[dag::DagKey::Root, dag::DagKey::Main],
            &self.path,
            &format!("pipelinechannel--{task}-name"),
        );
        if let Some(p) = dag::producer(&at) {
            self.deps.insert(p.to_string());
        }
        Some(at)
    }

    pub(super) fn resources(&mut self, fields: &IndexMap<Text, Spanned<Value>>) -> Resources {
        let mut out = Resources::default();
        let Some(Value::Map(res)) = fields.get("resources").map(|v| &v.value) else {
            return out;
        };
        let text =
            |k: &str, m: &IndexMap<Text, Spanned<Value>>| m.get(k).map(|v| literal_text(&v.value));
        out.resource_cpu_request = text("cpu", res);
        out.resource_memory_request = text("memory", res);
        if let Some(Value::Map(limits)) = res.get("limits").map(|v| &v.value) {
            out.resource_cpu_limit = text("cpu", limits);
            out.resource_memory_limit = text("memory", limits);
        }
        let gpus = res.get("gpu").map(|v| literal_text(&v.value));
        if let Some(n) = gpus.filter(|n| n != "0") {
            out.accelerator = Some(Accelerator {
                resource_count: n,
                resource_type: "nvidia.com/gpu".into(),
            });
        }
        if let Some(t) = text("gpu_type", res) {
            let label = schema::gpu_node_label(&t).unwrap_or("nvidia.com/gpu.product");
            self.node_labels().insert(label.into(), t);
        }
        out
    }

    fn node_labels(&mut self) -> &mut BTreeMap<String, String> {
        &mut self
            .platform
            .node_selector
            .get_or_insert_with(|| NodeSelector {
                labels: BTreeMap::new(),
            })
            .labels
    }

    /// The Kubernetes settings of the pod (kfp-kubernetes).
    pub(super) fn platform_fields(
        &mut self,
        fields: &IndexMap<Text, Spanned<Value>>,
        pull_secrets: &[String],
    ) {
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                self.node_labels()
                    .insert(k.to_string(), literal_text(&v.value));
            }
        }
        if let Some(Value::List(items)) = get("tolerations") {
            for t in items {
                let Value::Map(m) = &t.value else { continue };
                let text = |k: &str| m.get(k).map(|v| literal_text(&v.value));
                self.platform.tolerations.push(Toleration {
                    effect: text("effect"),
                    key: text("key"),
                    operator: text("operator"),
                    toleration_seconds: text("toleration_seconds"),
                    value: text("value"),
                });
            }
        }
        if let Some(Value::List(items)) = get("volumes") {
            for (n, v) in items.iter().enumerate() {
                let Value::Map(m) = &v.value else { continue };
                let text = |k: &str| m.get(k).map(|v| literal_text(&v.value));
                let path = text("path").unwrap_or_default();
                if let Some(claim) = text("claim") {
                    self.platform.pvc_mount.push(PvcMount {
                        mount_path: path,
                        pvc_name_parameter: ParameterInput::RuntimeValue(RuntimeValue {
                            constant: serde_json::Value::String(claim),
                        }),
                        sub_path: text("sub_path"),
                    });
                } else if let Some(name) = text("volume") {
                    let Some(at) = self.run_volume(&name) else {
                        continue; // the checker reports it
                    };
                    self.platform.pvc_mount.push(PvcMount {
                        mount_path: path,
                        pvc_name_parameter: dag::parameter_input(&at),
                        sub_path: text("sub_path"),
                    });
                } else if let Some(secret) = text("secret") {
                    self.platform.secret_as_volume.push(SecretAsVolume {
                        mount_path: path,
                        optional: false,
                        secret_name_parameter: NameInput::constant(&secret),
                    });
                } else if let Some(cm) = text("config_map") {
                    self.platform.config_map_as_volume.push(ConfigMapAsVolume {
                        config_map_name_parameter: NameInput::constant(&cm),
                        mount_path: path,
                        optional: false,
                    });
                } else if let Some(e) = m.get("empty_dir") {
                    let memory =
                        matches!(m.get("memory").map(|v| &v.value), Some(Value::Bool(true)));
                    self.platform.empty_dir_mounts.push(EmptyDirMount {
                        medium: memory.then(|| "Memory".into()),
                        mount_path: path,
                        size_limit: match &e.value {
                            Value::Quantity(q) => Some(q.to_string()),
                            _ => None,
                        },
                        volume_name: format!("mlp-empty-dir-{}", n + 1),
                    });
                }
            }
        }
        if let Some(Value::Quantity(size)) = get("shm") {
            self.platform.enabled_shared_memory = Some(SharedMemory {
                size: size.to_string(),
                volume_name: "mlp-shm".into(),
            });
        }
        if let Some(Value::Map(aff)) = get("affinity") {
            for (key, weight) in [("require", None), ("prefer", Some(1))] {
                let Some(Value::Map(terms)) = aff.get(key).map(|v| &v.value) else {
                    continue;
                };
                let match_expressions = terms
                    .iter()
                    .map(|(k, v)| SelectorRequirement {
                        key: k.to_string(),
                        operator: "In",
                        values: match &v.value {
                            Value::List(vs) => vs.iter().map(|x| literal_text(&x.value)).collect(),
                            other => vec![literal_text(other)],
                        },
                    })
                    .collect();
                self.platform.node_affinity.push(NodeAffinityTerm {
                    match_expressions,
                    weight,
                });
            }
        }
        let map = |k: &str| match get(k) {
            Some(Value::Map(m)) => m
                .iter()
                .map(|(k, v)| (k.to_string(), literal_text(&v.value)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let (labels, annotations) = (map("labels"), map("annotations"));
        if !labels.is_empty() || !annotations.is_empty() {
            self.platform.pod_metadata = Some(PodMetadata {
                annotations,
                labels,
            });
        }
        self.platform.image_pull_policy = get("image_pull_policy").map(literal_text);
        if get("security").map(literal_text).as_deref() == Some("restricted") {
            self.platform.security_context = Some(SecurityContext {
                run_as_non_root: true,
            });
        }
        if let Some(Value::Duration { secs, .. }) = get("timeout") {
            self.platform.active_deadline_seconds = Some((secs.ceil() as i64).to_string());
        }
        self.pull_secrets(pull_secrets);
    }

    /// The pipeline's `image_pull_secrets`, on every executor.
    pub(super) fn pull_secrets(&mut self, secrets: &[String]) {
        self.platform.image_pull_secret = secrets
            .iter()
            .map(|s| NameParameter {
                secret_name_parameter: NameInput::constant(s),
            })
            .collect();
    }
}
