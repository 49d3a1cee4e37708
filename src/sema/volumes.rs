//! Run volumes (§9.5): `volume NAME { ... }` of a pipeline, and the checks
//! that need every stage's merged fields: the volumes a stage names exist,
//! no two mounts share a path, every run volume is mounted, and a
//! single-node volume is not mounted by pods that may run at once.

use crate::collections::{HashMap, IndexMap};

use super::check::{Checker, Node, Scope};
use super::effective::effective_fields;
use super::hir::{self, Fields, NodeId, Pipeline, Spanned, StageId, Value};
use super::k8s::dns_name;
use super::schema;
use super::text::plain_text;
use crate::diag::{did_you_mean, MlpError};
use crate::graph;
use crate::source::Span;
use crate::syntax::ast;

/// Where mlpc mounts the MLflow tracking files and the tracking server's
/// CA bundle in a tracked stage (`emit::mlflow::MOUNT`, `CA_DIR`), and
/// where Argo mounts its executor in every container (`var-run-argo`,
/// `workflowpod.go` `createWorkflowPod`).
const TAKEN_MOUNTS: &[(&str, &str)] = &[
    (
        "/mlflow",
        "mlpc mounts MLflow's files at `/mlflow` in a tracked stage",
    ),
    (
        "/mlflow-ca",
        "mlpc mounts the MLflow server's CA bundle at `/mlflow-ca` in a tracked stage",
    ),
    (
        "/var/run/argo",
        "Argo mounts its executor at `/var/run/argo` in every container",
    ),
];
/// Where `shm` mounts its memory-backed volume.
pub const SHM_PATH: &str = "/dev/shm";

impl Checker<'_> {
    /// A pipeline's `volume NAME { ... }` entries.
    pub(super) fn run_volumes(
        &mut self,
        decls: &[&ast::Stage],
        scope: Scope,
    ) -> Vec<hir::RunVolume> {
        let mut out = Vec::with_capacity(decls.len());
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for d in decls {
            if let Some(u) = &d.uses {
                self.push(MlpError::EntryNotAllowed {
                    src: self.src(u.span),
                    at: u.span,
                    entry: "`uses` on a volume".into(),
                    place: format!("volume `{}`", d.name.name),
                    help: Some("write the volume's fields in its block".into()),
                });
            }
            if !self.first_time(&mut seen, &d.name, "volume")
                || !self.declare_name(&d.name, "a volume")
            {
                continue;
            }
            // A volume with a bad name is still declared (reported once,
            // not again where a stage mounts it).
            let dns = self
                .lowercase_label(&d.name)
                .unwrap_or_else(|| dns_name(&d.name.name));
            if is_pod_volume_name(&dns) {
                self.push(MlpError::InvalidK8sName {
                    src: self.src(d.name.span),
                    at: d.name.span,
                    name: d.name.name.to_string(),
                    lowered: dns.clone(),
                    reason: "mlpc or Argo gives this name to a volume of its own in the pods"
                        .into(),
                    help: Some(format!(
                        "these names are taken: {}, `volume-N` and `mlp-...`; rename the volume",
                        TAKEN_VOLUME_NAMES
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                });
            }
            let place = format!("volume `{}`", d.name.name);
            let Some(items) = self.record_items(Node::Block(&d.body), &place) else {
                continue;
            };
            let fields = self.record(&items, schema::RUN_VOLUME, scope, &place, d.name.span);
            let text = |k: &str| fields.get(k).and_then(|f| text_of(&f.value));
            let Some(size) = text("size") else {
                continue; // missing: reported
            };
            out.push(hir::RunVolume {
                name: d.name.name.clone(),
                dns_name: dns.into(),
                size: size.into(),
                storage_class: text("storage_class").map(Into::into),
                access: text("access")
                    .unwrap_or_else(|| "ReadWriteOnce".into())
                    .into(),
                keep: matches!(
                    fields.get("keep").map(|f| &f.value),
                    Some(Value::Bool(true))
                ),
                span: d.span,
                name_span: d.name.span,
            });
        }
        out
    }

    /// The checks of §9.5 that need the whole pipeline, on each stage's
    /// merged fields (defaults < template < stage).
    pub(super) fn pod_surface(&mut self, pipeline: &Pipeline) {
        let mut unknown_named = false;
        // A stage with errors may be the one meant to mount a volume.
        let any_errors = pipeline.stages.iter().any(|s| s.has_errors);
        // Per mounting stage: whether its own `for_each` runs items at once.
        let mut own_loop: HashMap<StageId, bool> = HashMap::default();
        // Per distributed stage on several nodes: how many (its pods run
        // at once, on different nodes).
        let mut multi_node: HashMap<StageId, i64> = HashMap::default();
        let mut mounted_by: IndexMap<&str, Vec<StageId>> = pipeline
            .volumes
            .iter()
            .map(|v| (v.name.as_str(), Vec::new()))
            .collect();
        for (id, stage) in pipeline.stages_with_ids() {
            if stage.has_errors {
                continue;
            }
            // Most stages mount nothing: no merged copy of their fields.
            let template = stage
                .uses
                .as_ref()
                .map(|u| &self.templates[u.template.index()].fields);
            let mounts = |f: &Fields| f.contains_key("volumes") || f.contains_key("shm");
            if !mounts(&stage.fields)
                && !mounts(&pipeline.defaults)
                && !template.is_some_and(mounts)
            {
                continue;
            }
            let fields = effective_fields(&self.templates, &pipeline.defaults, stage);
            let parallel = fields.contains_key("for_each")
                && !matches!(
                    fields.get("parallelism").map(|p| &p.value),
                    Some(Value::Int(1))
                );
            own_loop.insert(id, parallel);
            let nodes = super::distributed::distributed(&fields).map_or(1, |d| d.nodes);
            if nodes > 1 {
                multi_node.insert(id, nodes);
            }
            let fields = fields.into_owned();
            let (names, unknown) = self.mounts(&fields, pipeline);
            unknown_named |= unknown;
            for name in names {
                if let Some(stages) = mounted_by.get_mut(name.as_str()) {
                    if !stages.contains(&id) {
                        stages.push(id);
                    }
                }
            }
        }
        for v in &pipeline.volumes {
            let stages = &mounted_by[v.name.as_str()];
            // A stage naming a volume the pipeline lacks (reported) may
            // have meant this one.
            if stages.is_empty() && !unknown_named && !any_errors {
                self.push(MlpError::UnusedVolume {
                    src: self.src(v.name_span),
                    at: v.name_span,
                    name: v.name.to_string(),
                });
                continue;
            }
            if matches!(v.access.as_str(), "ReadWriteOnce" | "ReadWriteOncePod") {
                let spread = stages
                    .iter()
                    .find_map(|s| multi_node.get(s).map(|n| (*s, *n)));
                let reason = match spread {
                    Some((s, n)) => Some(format!(
                        "`{}` trains on {n} nodes at once, each of whose pods needs the volume attached to its node. Use `access = \"ReadWriteMany\"` with a storage class that supports it",
                        pipeline.stage(s).name
                    )),
                    None => at_once(pipeline, stages, &own_loop),
                };
                if let Some(reason) = reason {
                    self.push(MlpError::VolumeSharedAtOnce {
                        src: self.src(v.name_span),
                        at: v.name_span,
                        name: v.name.to_string(),
                        access: v.access.to_string(),
                        reason,
                    });
                }
            }
        }
    }

    /// A stage's mounts: each path once, none where mlpc mounts its own;
    /// the run volumes it names (E0234 for one the pipeline lacks, and then
    /// `true`).
    fn mounts(&mut self, fields: &Fields, pipeline: &Pipeline) -> (Vec<String>, bool) {
        let mut unknown = false;
        let mut paths: HashMap<String, Span> = HashMap::default();
        if let Some(shm) = fields.get("shm") {
            paths.insert(SHM_PATH.into(), shm.span);
        }
        let mut names = Vec::new();
        let Some(Value::List(entries)) = fields.get("volumes").map(|f| &f.value) else {
            return (names, unknown);
        };
        for entry in entries {
            let Value::Map(m) = &entry.value else {
                continue;
            };
            if let Some(Spanned {
                value: Value::Str(parts),
                span,
            }) = m.get("volume")
            {
                let name = plain_text(parts).unwrap_or_default().to_string();
                if pipeline.volumes.iter().any(|v| v.name == name) {
                    names.push(name);
                } else {
                    let help = did_you_mean(&name, pipeline.volumes.iter().map(|v| v.name.as_str()))
                        .or_else(|| Some(format!("declare it in the pipeline: `volume {name} {{ size = 10Gi }}`; to mount a claim that exists already, write `claim = \"{name}\"`")));
                    unknown = true;
                    self.push(MlpError::UnknownVolume {
                        src: self.src(*span),
                        at: *span,
                        name,
                        help,
                    });
                }
            }
            let Some(path) = m.get("path") else {
                continue;
            };
            let text = text_of(&path.value).unwrap_or_default();
            let normal = text.trim_end_matches('/');
            let normal = if normal.is_empty() { "/" } else { normal };
            let under = |dir: &str| normal == dir || normal.starts_with(&format!("{dir}/"));
            let reserved = TAKEN_MOUNTS
                .iter()
                .find(|(d, _)| under(d))
                .map(|(_, why)| why.to_string());
            let taken = paths.get(normal).copied();
            if reserved.is_some() || taken.is_some() {
                let reason = reserved.unwrap_or_else(|| match normal {
                    SHM_PATH => "`shm` mounts its memory-backed volume there".into(),
                    _ => "each volume needs a path of its own".into(),
                });
                self.push(MlpError::MountPathTaken {
                    src: self.src(path.span),
                    at: path.span,
                    path: normal.to_string(),
                    first: taken,
                    reason,
                    help: Some("mount it at another path".into()),
                });
                continue;
            }
            paths.insert(normal.to_string(), path.span);
        }
        (names, unknown)
    }
}

/// The text of a literal string or quantity.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => plain_text(parts),
        Value::Quantity(q) => Some(q.to_string()),
        _ => None,
    }
}

/// Volumes of every pod: mlpc's (`emit::mlflow`) and Argo's own
/// (`workflowpod.go` `createVolumes`, `setupServiceAccount`, the artifact
/// and kubeconfig volumes). A mount of a run volume finds its volume by
/// name, the pod's first.
const TAKEN_VOLUME_NAMES: &[&str] = &[
    "mlflow",
    "mlflow-ca",
    "var-run-argo",
    "tmp-dir-argo",
    "exec-sa-token",
    "input-artifacts",
    "argo-staging",
    "argo-env-config",
    "kubeconfig",
];

/// Names mlpc or Argo gives the volumes of their own in a pod.
fn is_pod_volume_name(dns: &str) -> bool {
    TAKEN_VOLUME_NAMES.contains(&dns)
        || dns.starts_with("mlp-")
        || dns
            .strip_prefix("volume-")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Why pods of `stages` may run at the same time, if they may: a stage in
/// a loop whose items run in parallel, or two stages that no dependency
/// orders.
fn at_once(
    pipeline: &Pipeline,
    stages: &[StageId],
    own_loop: &HashMap<StageId, bool>,
) -> Option<String> {
    for &s in stages {
        if let Some(l) = parallel_loop(pipeline, s, own_loop.get(&s) == Some(&true)) {
            return Some(format!(
                "`{}` runs in {l}, whose items run at the same time; each pod needs the volume attached to its node. Set `parallelism = 1` on the loop, or use `access = \"ReadWriteMany\"`",
                pipeline.stage(s).name
            ));
        }
    }
    for (i, &a) in stages.iter().enumerate() {
        for &b in &stages[i + 1..] {
            let (na, nb) = (NodeId::Stage(a), NodeId::Stage(b));
            let Some((la, lb)) = graph::lift(
                &pipeline.groups,
                (na, pipeline.place(na)),
                (nb, pipeline.place(nb)),
            ) else {
                continue; // one is in `finally`, which runs after the rest
            };
            let ordered = pipeline.graph.ancestors(la).contains(&lb)
                || pipeline.graph.ancestors(lb).contains(&la);
            if !ordered {
                return Some(format!(
                    "`{}` and `{}` do not wait for each other, so they may run at once on different nodes, and the second waits until the first ends (or never starts, with ReadWriteOncePod). Order them with `after`, or use `access = \"ReadWriteMany\"`",
                    pipeline.stage(a).name,
                    pipeline.stage(b).name
                ));
            }
        }
    }
    None
}

/// The loop a stage runs in whose items may run at once: its own
/// `for_each` (`own`: one not limited to one item at a time) or an
/// enclosing loop group without `parallelism = 1`.
fn parallel_loop(pipeline: &Pipeline, stage: StageId, own: bool) -> Option<String> {
    if own {
        return Some("its own `for_each`".to_string());
    }
    pipeline
        .enclosing(NodeId::Stage(stage))
        .into_iter()
        .map(|g| pipeline.group(g))
        .find(|g| g.for_each.is_some() && g.parallelism.as_ref().is_none_or(|p| p.value != 1))
        .map(|g| format!("loop group `{}`", g.name))
}
