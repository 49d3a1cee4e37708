//! The pod surface of contract v2 §9.5 as Kubernetes objects: a stage's
//! volumes and mounts (claims, run volumes, ConfigMaps, Secrets, emptyDirs,
//! `shm`), `env_from`, user sidecars, node affinity and priority class;
//! and the run volumes of the workflow (`volumeClaimTemplates`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapVolumeSource, Container,
    ContainerPort, EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, NodeAffinity,
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PreferredSchedulingTerm,
    SecretEnvSource, SecretVolumeSource, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::manifest::value_safe_yaml;
use super::pod::{resources, Pod};
use super::Emitter;
use crate::emit::argo::{DagTask, ResourceTemplate, Template};
use crate::emit::mlflow::{self, env};
use crate::plan::literal::literal_text;
use crate::sema::hir::{Fields, KeySource, Pipeline, RunVolume, SecretRef, Spanned, Value};
use crate::sema::k8s::dns_name;

/// The memory-backed volume `shm` mounts at `/dev/shm`.
const SHM_VOLUME: &str = "mlp-shm";
const SHM_PATH: &str = "/dev/shm";

/// A stage's volumes (what its pod declares) and its main container's
/// mounts, from `volumes` and `shm`. Mounts of a run volume name its claim
/// template, whose volume Argo adds to the pod (`volumeClaimTemplates`); a
/// kept run volume's claim is named after the workflow (see
/// [`kept_claim_name`]).
pub(super) fn volumes(
    pod: &mut Pod,
    fields: &Fields,
    pipeline: &Pipeline,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let Some(Value::List(items)) = fields.get("volumes").map(|f| &f.value) {
        for (n, it) in items.iter().enumerate() {
            let Value::Map(m) = &it.value else { continue };
            let field = |k: &str| m.get(k).map(|v| &v.value);
            let read_only = matches!(field("read_only"), Some(Value::Bool(true)));
            let mut name = format!("volume-{}", n + 1);
            let mut volume = Volume {
                name: name.clone(),
                ..Default::default()
            };
            if let Some(claim) = field("claim") {
                volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: pod.text(claim),
                    read_only: read_only.then_some(true),
                });
            } else if let Some(v) = field("volume") {
                let Some(run) = run_volume(pipeline, &literal_text(v)) else {
                    continue; // the checker reports it
                };
                name = run.dns_name.to_string();
                if !run.keep {
                    // Argo adds the claim template's volume by this name.
                    mounts.push(mount(name, field, read_only, pod));
                    continue;
                }
                volume.name = name.clone();
                volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: kept_claim_name(run),
                    read_only: read_only.then_some(true),
                });
            } else if let Some(v) = field("config_map") {
                volume.config_map = Some(ConfigMapVolumeSource {
                    name: literal_text(v),
                    ..Default::default()
                });
            } else if let Some(v) = field("secret") {
                volume.secret = Some(SecretVolumeSource {
                    secret_name: Some(literal_text(v)),
                    ..Default::default()
                });
            } else if let Some(v) = field("empty_dir") {
                volume.empty_dir = Some(EmptyDirVolumeSource {
                    medium: matches!(field("memory"), Some(Value::Bool(true)))
                        .then(|| "Memory".to_string()),
                    size_limit: match v {
                        Value::Quantity(q) => Some(Quantity(q.to_string())),
                        _ => None,
                    },
                });
            } else {
                continue;
            }
            // A kept run volume mounted twice (two `sub_path`s) is one
            // volume of the pod.
            if !volumes.iter().any(|v: &Volume| v.name == volume.name) {
                volumes.push(volume);
            }
            mounts.push(mount(name, field, read_only, pod));
        }
    }
    if let Some(shm) = fields.get("shm") {
        volumes.push(Volume {
            name: SHM_VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity(literal_text(&shm.value))),
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: SHM_VOLUME.into(),
            mount_path: SHM_PATH.into(),
            ..Default::default()
        });
    }
    (volumes, mounts)
}

fn mount<'v>(
    name: String,
    field: impl Fn(&str) -> Option<&'v Value>,
    read_only: bool,
    pod: &mut Pod,
) -> VolumeMount {
    VolumeMount {
        name,
        mount_path: field("path").map(literal_text).unwrap_or_default(),
        read_only: read_only.then_some(true),
        sub_path: field("sub_path").map(|v| pod.text(v)),
        ..Default::default()
    }
}

fn run_volume<'p>(pipeline: &'p Pipeline, name: &str) -> Option<&'p RunVolume> {
    pipeline.volumes.iter().find(|v| v.name == name)
}

/// The claim of a kept run volume: made by the run's first step, named
/// after the workflow so that every pod knows it.
pub fn kept_claim_name(volume: &RunVolume) -> String {
    format!("{{{{workflow.name}}}}-{}", volume.dns_name)
}

/// A run volume's claim, as a claim template and as the manifest the
/// first step of a run creates for a kept one.
pub fn claim(volume: &RunVolume, name: String) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![volume.access.to_string()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(volume.size.to_string()),
                )])),
                ..Default::default()
            }),
            storage_class_name: volume.storage_class.as_ref().map(|s| s.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An environment variable read from one key of a Secret or a ConfigMap.
pub(super) fn key_env(name: &str, source: &SecretRef) -> EnvVar {
    let key = source.key.as_deref().unwrap_or_default();
    match source.source {
        KeySource::Secret => mlflow::user_secret_env(name, &source.name, key),
        KeySource::ConfigMap => EnvVar {
            name: name.to_string(),
            value_from: Some(EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: source.name.to_string(),
                    key: key.to_string(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// `env_from = [config_map("n"), secret("n")]`: every key as a variable.
pub(super) fn env_from(fields: &Fields) -> Option<Vec<EnvFromSource>> {
    let Some(Value::List(items)) = fields.get("env_from").map(|f| &f.value) else {
        return None;
    };
    let out: Vec<EnvFromSource> = items
        .iter()
        .filter_map(|it| match &it.value {
            Value::Secret(s) => Some(match s.source {
                KeySource::ConfigMap => EnvFromSource {
                    config_map_ref: Some(ConfigMapEnvSource {
                        name: s.name.to_string(),
                        optional: None,
                    }),
                    ..Default::default()
                },
                KeySource::Secret => EnvFromSource {
                    secret_ref: Some(SecretEnvSource {
                        name: s.name.to_string(),
                        optional: None,
                    }),
                    ..Default::default()
                },
            }),
            _ => None,
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The stage's `env`: values, and keys of Secrets and ConfigMaps.
pub(super) fn env_vars(pod: &mut Pod, fields: &Fields, key: &str) -> Vec<EnvVar> {
    let Some(Value::Map(entries)) = fields.get(key).map(|f| &f.value) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|(k, v)| match &v.value {
            Value::Secret(source) => key_env(k, source),
            other => env(k, pod.text(other)),
        })
        .collect()
}

/// The user's `sidecar NAME { ... }` containers, beside the main one (and
/// MLflow's). `restricted`: the stage's Pod Security profile, which every
/// container of the pod must meet.
pub(super) fn sidecars(pod: &mut Pod, fields: &Fields, restricted: bool) -> Vec<Container> {
    let Some(Value::Map(sidecars)) = fields.get("sidecars").map(|f| &f.value) else {
        return Vec::new();
    };
    sidecars
        .iter()
        .filter_map(|(name, s)| {
            let Value::Map(m) = &s.value else {
                return None;
            };
            let fields: Fields = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let get = |k: &str| fields.get(k).map(|f| &f.value);
            let list = |pod: &mut Pod, k: &str| match get(k) {
                Some(Value::List(items)) => {
                    Some(items.iter().map(|i| pod.text(&i.value)).collect())
                }
                _ => None,
            };
            let env = env_vars(pod, &fields, "env");
            let ports: Vec<ContainerPort> = match get("ports") {
                Some(Value::List(ports)) => ports
                    .iter()
                    .filter_map(|p| match p.value {
                        Value::Int(n) => Some(ContainerPort {
                            container_port: n as i32,
                            ..Default::default()
                        }),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some(Container {
                name: dns_name(name),
                image: get("image").map(|v| pod.text(v)),
                image_pull_policy: get("image_pull_policy").map(literal_text),
                command: list(pod, "command"),
                args: list(pod, "args"),
                env: (!env.is_empty()).then_some(env),
                ports: (!ports.is_empty()).then_some(ports),
                resources: match get("resources") {
                    Some(Value::Map(res)) => resources(pod, res).0,
                    _ => None,
                },
                security_context: restricted.then(mlflow::restricted_user_container),
                ..Default::default()
            })
        })
        .collect()
}

/// `affinity { require = {...}, prefer = {...} }` as node affinity: every
/// required label in one term (all must hold), each preferred label a term
/// of weight 1 (each that holds counts).
pub(super) fn affinity(fields: &Fields) -> Option<Affinity> {
    let Some(Value::Map(block)) = fields.get("affinity").map(|f| &f.value) else {
        return None;
    };
    let terms = |k: &str| -> Vec<NodeSelectorRequirement> {
        match block.get(k).map(|v| &v.value) {
            Some(Value::Map(labels)) => labels
                .iter()
                .map(|(key, values)| requirement(key, values))
                .collect(),
            _ => Vec::new(),
        }
    };
    let required = terms("require");
    let preferred = terms("prefer");
    if required.is_empty() && preferred.is_empty() {
        return None;
    }
    Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: (!required.is_empty()).then(
                || NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(required),
                        ..Default::default()
                    }],
                },
            ),
            preferred_during_scheduling_ignored_during_execution: (!preferred.is_empty()).then(
                || {
                    preferred
                        .into_iter()
                        .map(|r| PreferredSchedulingTerm {
                            weight: 1,
                            preference: NodeSelectorTerm {
                                match_expressions: Some(vec![r]),
                                ..Default::default()
                            },
                        })
                        .collect()
                },
            ),
        }),
        ..Default::default()
    })
}

fn requirement(key: &str, values: &Spanned<Value>) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.to_string(),
        operator: "In".into(),
        values: match &values.value {
            Value::List(items) => Some(items.iter().map(|v| literal_text(&v.value)).collect()),
            _ => None,
        },
    }
}

impl Emitter<'_, '_> {
    /// The steps that make the claims of kept run volumes (`keep = true`),
    /// one template each. Argo deletes all claims of `volumeClaimTemplates`
    /// when the run ends (`volumeClaimGC`: `OnWorkflowSuccess` and
    /// `OnWorkflowCompletion` both delete a succeeded run's, `operator.go`
    /// `deletePVCs`), so a kept claim is made by a `resource` step instead,
    /// owned by the Workflow object: it outlives the run and goes with the
    /// Workflow (its `ttl_after_finished`, or `argo delete`). The step runs
    /// as the deploy account, which `mlpc rbac` lets apply claims.
    pub(super) fn kept_volume_templates(&mut self) -> Vec<Template> {
        let plan = self.plan;
        let mut templates = Vec::new();
        for (i, task) in &plan.volume_tasks {
            let volume = &plan.pipeline.volumes[*i];
            let manifest = match value_safe_yaml(&claim(volume, kept_claim_name(volume))) {
                Ok(m) => m,
                Err(e) => {
                    self.failure.get_or_insert(e);
                    String::new()
                }
            };
            let mut template = Template {
                name: self.template_names.fresh(task),
                resource: Some(ResourceTemplate {
                    action: "apply",
                    manifest,
                    set_owner_reference: Some(true),
                    success_condition: None,
                    failure_condition: None,
                    flags: Vec::new(),
                }),
                ..Default::default()
            };
            plan.with_deploy_token(&mut template);
            templates.push(template);
        }
        templates
    }
}

/// A DAG's tasks with the kept volumes' steps (`(task, template)`) first,
/// and every task that waited for nothing waiting for them: the claims
/// exist before any pod mounts them. `finally`'s DAG gets them too:
/// applying a claim that exists changes nothing, and a `finally` stage is
/// never left waiting for a claim the main run failed to make (its pod
/// would stay Pending).
pub(super) fn after_kept_volumes(tasks: Vec<DagTask>, steps: &[(String, String)]) -> Vec<DagTask> {
    if steps.is_empty() {
        return tasks;
    }
    let all = steps
        .iter()
        .map(|(task, _)| task.as_str())
        .collect::<Vec<_>>()
        .join(" && ");
    let mut out: Vec<DagTask> = steps
        .iter()
        .map(|(task, template)| DagTask {
            name: task.clone(),
            template: template.clone(),
            ..Default::default()
        })
        .collect();
    for mut t in tasks {
        if t.depends.is_none() {
            t.depends = Some(all.clone());
        }
        out.push(t);
    }
    out
}
