//! Volumes, configuration and the rest of the pod surface (contract v2
//! §9.5): the Kubernetes objects each construct lowers to, whole, written
//! from the program text of the fixtures in tests/fixtures/pod_surface/;
//! the diagnostics at their spans; the restricted Pod Security standard;
//! Argo's validator, deterministic output and `mlpc rbac`.
//!
//! Where a test relies on what Argo does with the output, the comment above
//! it names the rule in argoproj/argo-workflows it is written from.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlpc::emit::{Options, OutputKind};
use serde_json::{json, Value};

const FIXTURES: &str = "tests/fixtures/pod_surface";

/// What `{{workflow.name}}` is in these tests.
const WORKFLOW: &str = "wf-x7k2p";

fn fixtures() -> Vec<PathBuf> {
    common::mlp_files(&common::root().join(FIXTURES))
}

/// The workflow a fixture compiles to. Fixtures check clean: no error and
/// no warning.
fn fixture(name: &str) -> Value {
    let rel = Path::new(FIXTURES).join(name);
    let analysis = common::analyze_file(&rel);
    assert!(
        analysis.diagnostics.items.is_empty(),
        "{}",
        common::render_plain(&analysis)
    );
    common::compile_docs(&rel, &Options::default()).remove(0)
}

fn template<'a>(doc: &'a Value, name: &str) -> &'a Value {
    common::template(doc, name)
}

/// The tasks of a DAG template, whole.
fn tasks<'a>(doc: &'a Value, dag: &str) -> &'a Vec<Value> {
    template(doc, dag)["dag"]["tasks"].as_array().unwrap()
}

/// Every diagnostic of a program, as its code and the source text its
/// primary label points at.
fn diagnostics(source: &str) -> Vec<(String, String)> {
    let analysis = mlpc::analyze("t.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    analysis
        .diagnostics
        .items
        .iter()
        .map(|d| {
            let span = d.primary_label().expect("a span").span;
            (
                d.code_str(),
                source[span.start as usize..span.end as usize].to_string(),
            )
        })
        .collect()
}

fn as_strs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// The help of the only diagnostic of a program.
fn only_help(source: &str) -> Option<String> {
    let analysis = mlpc::analyze("t.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    assert_eq!(analysis.diagnostics.items.len(), 1, "{source}");
    analysis.diagnostics.items[0].help()
}

/// A value with Argo's global `{{workflow.name}}` substituted.
///
/// Argo substitutes globals in the JSON text of a whole template
/// (`workflow/common/util.go` `SubstituteParams`, called through
/// `ProcessArgs` from `operator.go` `executeTemplate`; then once more over
/// the whole pod in `workflowpod.go` `substitutePodParams`), so a template's
/// `volumes[].persistentVolumeClaim.claimName` gets the run's name.
fn with_workflow_name(v: &Value) -> Value {
    let text = serde_json::to_string(v)
        .unwrap()
        .replace("{{workflow.name}}", WORKFLOW);
    serde_json::from_str(&text).unwrap()
}

/// The volumes of the pod Argo makes from a container template, by Argo's
/// rules (`workflow/controller/workflowpod.go`):
///
/// - `createVolumes` starts from Argo's own `var-run-argo` and
///   `tmp-dir-argo`, then appends the template's `volumes`;
/// - `setupServiceAccount` adds `exec-sa-token` when the template names an
///   executor account (mlpc's always do);
/// - `addVolumeReferences` resolves each `volumeMount` of the main
///   container, the init containers and the sidecars by name: the
///   template's volumes first, then the workflow's `volumes`, then the
///   claims made from `volumeClaimTemplates` (`operator.go` `createPVCs`: a
///   volume named as the claim template, `claimName: <workflow
///   name>-<template name>`); a mount resolving to a volume the pod already
///   has adds nothing, one resolving to nothing fails the pod ("volume
///   '...' not found in workflow spec").
fn argo_pod_volumes(doc: &Value, template_name: &str) -> Result<Vec<Value>, String> {
    let spec = common::spec(doc);
    let t = template(doc, template_name);
    let empty_dir = |name: &str| json!({"name": name, "emptyDir": {}});
    let mut pod: Vec<Value> = vec![empty_dir("var-run-argo"), empty_dir("tmp-dir-argo")];
    let local: Vec<Value> = t["volumes"].as_array().cloned().unwrap_or_default();
    pod.extend(local.iter().cloned());
    if t["executor"]["serviceAccountName"].is_string() {
        pod.push(json!({"name": "exec-sa-token", "secret": {"secretName": "<token>"}}));
    }
    let global: Vec<Value> = spec["volumes"].as_array().cloned().unwrap_or_default();
    let claims: Vec<Value> = spec["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c["metadata"]["name"].as_str().unwrap();
            json!({"name": name, "persistentVolumeClaim": {"claimName": format!("{WORKFLOW}-{name}")}})
        })
        .collect();
    let mounts: Vec<&Value> = std::iter::once(&t["container"])
        .chain(t["initContainers"].as_array().into_iter().flatten())
        .chain(t["sidecars"].as_array().into_iter().flatten())
        .flat_map(|c| c["volumeMounts"].as_array().into_iter().flatten())
        .collect();
    for mount in mounts {
        let name = &mount["name"];
        let found = local
            .iter()
            .chain(&global)
            .chain(&claims)
            .find(|v| &v["name"] == name)
            .ok_or_else(|| format!("volume {name} not found in workflow spec"))?;
        if !pod.iter().any(|v| v["name"] == found["name"]) {
            pod.push(found.clone());
        }
    }
    Ok(with_workflow_name(&Value::Array(pod))
        .as_array()
        .unwrap()
        .clone())
}

// ----- volumes --------------------------------------------------------------

/// A run volume is a claim template, created for each run and deleted when
/// the run ends, however it ends.
///
/// Argo: `volumeClaimGC`'s default strategy is `OnWorkflowSuccess`
/// (`pkg/apis/workflow/v1alpha1/workflow_types.go` `GetVolumeClaimGC`,
/// `VolumeClaimGC.GetStrategy`), which keeps a failed run's claims
/// (`operator.go` `deletePVCs`), hence `OnWorkflowCompletion` written out.
#[test]
fn run_volumes_are_claim_templates_deleted_when_the_run_ends() {
    let doc = fixture("volumes.mlp");
    let spec = common::spec(&doc);
    assert_eq!(
        spec["volumeClaimTemplates"],
        json!([
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "cache"},
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "resources": {"requests": {"storage": "10Gi"}},
                    "storageClassName": "fast-ssd"
                }
            },
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "scratch"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "2Gi"}}
                }
            }
        ])
    );
    assert_eq!(
        spec["volumeClaimGC"],
        json!({"strategy": "OnWorkflowCompletion"})
    );
}

#[test]
fn every_kind_of_volume_entry_is_a_pod_volume_and_a_mount() {
    let doc = fixture("volumes.mlp");
    assert_eq!(
        template(&doc, "load"),
        &json!({
            "name": "load",
            "container": {
                "command": ["ls", "/data"],
                "image": "busybox:1.37",
                "name": "main",
                "volumeMounts": [
                    {"mountPath": "/data", "name": "volume-1", "readOnly": true, "subPath": "2026"},
                    {"mountPath": "/cache", "name": "cache"},
                    {"mountPath": "/etc/load", "name": "volume-3", "readOnly": true},
                    {"mountPath": "/var/secrets/load/token", "name": "volume-4", "subPath": "token"},
                    {"mountPath": "/work", "name": "volume-5"},
                    {"mountPath": "/work/sized", "name": "volume-6"},
                    {"mountPath": "/ram", "name": "volume-7"},
                    {"mountPath": "/ram-sized", "name": "volume-8"},
                    {"mountPath": "/dev/shm", "name": "mlp-shm"}
                ]
            },
            "volumes": [
                {"name": "volume-1", "persistentVolumeClaim": {"claimName": "datasets", "readOnly": true}},
                {"name": "volume-3", "configMap": {"name": "load-settings"}},
                {"name": "volume-4", "secret": {"secretName": "load-token"}},
                {"name": "volume-5", "emptyDir": {}},
                {"name": "volume-6", "emptyDir": {"sizeLimit": "1Gi"}},
                {"name": "volume-7", "emptyDir": {"medium": "Memory"}},
                {"name": "volume-8", "emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}},
                {"name": "mlp-shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
            ],
            "automountServiceAccountToken": false,
            "executor": {"serviceAccountName": "volumes-executor"}
        })
    );
    assert_eq!(
        template(&doc, "index"),
        &json!({
            "name": "index",
            "container": {
                "command": ["ls", "/scratch"],
                "image": "busybox:1.37",
                "name": "main",
                "volumeMounts": [
                    {"mountPath": "/scratch", "name": "scratch", "subPath": "index"},
                    {"mountPath": "/cache", "name": "cache", "readOnly": true}
                ]
            },
            "automountServiceAccountToken": false,
            "executor": {"serviceAccountName": "volumes-executor"}
        })
    );
}

/// A mount named after a claim template gets the run's claim: Argo adds it
/// to the pod by name (`workflowpod.go` `addVolumeReferences`, the claims
/// from `operator.go` `createPVCs`), so the template declares no volume
/// for it (see `argo_pod_volumes`).
#[test]
fn argo_gives_the_pod_the_run_claim_a_mount_names() {
    let doc = fixture("volumes.mlp");
    let argo = |v: &[Value]| {
        let mut all = vec![
            json!({"name": "var-run-argo", "emptyDir": {}}),
            json!({"name": "tmp-dir-argo", "emptyDir": {}}),
        ];
        all.extend_from_slice(v);
        all
    };
    let token = json!({"name": "exec-sa-token", "secret": {"secretName": "<token>"}});
    assert_eq!(
        argo_pod_volumes(&doc, "index").unwrap(),
        argo(&[
            token.clone(),
            json!({"name": "scratch", "persistentVolumeClaim": {"claimName": "wf-x7k2p-scratch"}}),
            json!({"name": "cache", "persistentVolumeClaim": {"claimName": "wf-x7k2p-cache"}}),
        ])
    );
    let load = argo_pod_volumes(&doc, "load").unwrap();
    let names: Vec<&str> = load.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "var-run-argo",
            "tmp-dir-argo",
            "volume-1",
            "volume-3",
            "volume-4",
            "volume-5",
            "volume-6",
            "volume-7",
            "volume-8",
            "mlp-shm",
            "exec-sa-token",
            "cache"
        ]
    );
}

/// In every fixture, every pod Argo would make has each volume once, and
/// every mount finds its volume (Kubernetes refuses a pod with two volumes
/// of one name: `pkg/apis/core/validation` `ValidateVolumes`, "Duplicate
/// value").
#[test]
fn every_pod_has_each_volume_once_and_every_mount_finds_one() {
    for path in fixtures() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = fixture(&file);
        for t in common::spec(&doc)["templates"].as_array().unwrap() {
            if t.get("container").is_none() {
                continue;
            }
            let name = t["name"].as_str().unwrap();
            let volumes =
                argo_pod_volumes(&doc, name).unwrap_or_else(|e| panic!("{file}: {name}: {e}"));
            let mut names: Vec<&str> = volumes
                .iter()
                .map(|v| v["name"].as_str().unwrap())
                .collect();
            names.sort_unstable();
            let all = names.len();
            names.dedup();
            assert_eq!(names.len(), all, "{file}: {name}: {volumes:?}");
        }
    }
}

// ----- kept volumes -------------------------------------------------------------

/// A kept volume is applied by a `resource` step of its own, as the deploy
/// account, owned by the Workflow; the claim each pod names is the one the
/// step applies, once Argo has substituted `{{workflow.name}}` in both (the
/// manifest's `{{=...}}` tag is an expression over the same globals:
/// `util/template/expression_template.go`).
///
/// Argo: with `setOwnerReference: true` the controller adds
/// `metav1.NewControllerRef(woc.wf, ...)` to the manifest's
/// `ownerReferences` before running the step (`operator.go`
/// `executeResource`), so Kubernetes deletes the claim with the Workflow.
#[test]
fn a_kept_volume_is_applied_by_a_resource_step_owned_by_the_workflow() {
    let doc = fixture("kept_volume.mlp");
    let step = template(&doc, "results-volume");
    let manifest = step["resource"]["manifest"].as_str().unwrap();
    assert_eq!(
        step,
        &json!({
            "name": "results-volume",
            "resource": {
                "action": "apply",
                "manifest": manifest,
                "setOwnerReference": true
            },
            "serviceAccountName": "kept-deploy",
            "automountServiceAccountToken": true
        })
    );
    let values = BTreeMap::from([("workflow.name".to_string(), WORKFLOW.to_string())]);
    assert_eq!(
        common::argo_manifest(manifest, &values),
        json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "wf-x7k2p-results"},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "5Gi"}},
                "storageClassName": "standard"
            }
        })
    );
    // Every pod that mounts it names that claim: the main DAG's, a loop's
    // (read-only) and `finally`'s.
    let claim = |read_only: bool| {
        let mut pvc = json!({"claimName": "wf-x7k2p-results"});
        if read_only {
            pvc["readOnly"] = json!(true);
        }
        json!([{"name": "results", "persistentVolumeClaim": pvc}])
    };
    assert_eq!(
        with_workflow_name(&template(&doc, "prepare")["volumes"]),
        claim(false)
    );
    assert_eq!(
        with_workflow_name(&template(&doc, "fit")["volumes"]),
        claim(true)
    );
    assert_eq!(
        with_workflow_name(&template(&doc, "archive")["volumes"]),
        claim(false)
    );
    assert_eq!(
        template(&doc, "prepare")["container"]["volumeMounts"],
        json!([
            {"mountPath": "/results", "name": "results"},
            {"mountPath": "/scratch", "name": "scratch"}
        ])
    );
    // Only the volume that is not kept is a claim template.
    assert_eq!(
        common::spec(&doc)["volumeClaimTemplates"],
        json!([{
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "scratch"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        }])
    );
    assert_eq!(
        argo_pod_volumes(&doc, "prepare").unwrap()[2..],
        [
            json!({"name": "results", "persistentVolumeClaim": {"claimName": "wf-x7k2p-results"}}),
            json!({"name": "exec-sa-token", "secret": {"secretName": "<token>"}}),
            json!({"name": "scratch", "persistentVolumeClaim": {"claimName": "wf-x7k2p-scratch"}}),
        ]
    );
}

/// The step comes first: every task of the main DAG that waits for no
/// other task waits for it (a plain stage, one with `when`, a looping
/// group); the rest wait for it through those.
#[test]
fn every_root_task_of_main_waits_for_the_kept_volume() {
    let doc = fixture("kept_volume.mlp");
    let shape: Vec<(&str, Option<&str>)> = tasks(&doc, "main")
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["depends"].as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("results-volume", None),
            ("prepare", Some("results-volume")),
            ("announce", Some("results-volume")),
            ("sweep", Some("results-volume")),
            ("report", Some("(announce || announce.Omitted) && prepare")),
        ]
    );
    let step = &tasks(&doc, "main")[0];
    assert_eq!(
        step,
        &json!({"name": "results-volume", "template": "results-volume"})
    );
    // The loop and the condition stay on their tasks.
    let sweep = &tasks(&doc, "main")[3];
    assert_eq!(
        sweep,
        &json!({"name": "sweep", "template": "sweep", "depends": "results-volume", "withItems": [1, 2]})
    );
    assert!(tasks(&doc, "main")[2]["when"].is_string());
    // `finally` applies the claim again first (it changes nothing when the
    // main run made it): a `finally` pod never waits for a claim the main
    // run failed to make.
    assert_eq!(
        tasks(&doc, "finally"),
        &vec![
            json!({"name": "results-volume", "template": "results-volume"}),
            json!({"name": "archive", "template": "archive", "depends": "results-volume"}),
        ]
    );
}

/// `mlpc rbac` lets the deploy account apply claims (`kubectl apply`: get,
/// then create or patch) when a pipeline keeps a volume, and only then.
#[test]
fn rbac_grants_claims_only_for_a_kept_volume() {
    let roles = |rel: &str| -> BTreeMap<String, Value> {
        let out = common::run_mlpc(&["rbac", rel]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::yaml::parse_documents(&String::from_utf8(out.stdout).unwrap())
            .unwrap()
            .into_iter()
            .filter(|d| d["kind"] == "Role")
            .map(|d| (d["metadata"]["name"].as_str().unwrap().to_string(), d))
            .collect()
    };
    let kept = roles("tests/fixtures/pod_surface/kept_volume.mlp");
    assert_eq!(
        kept["kept-deploy"]["rules"],
        json!([
            {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["create", "get", "patch"]},
            // The claim's owner reference blocks the Workflow's deletion:
            // OwnerReferencesPermissionEnforcement asks for this.
            {"apiGroups": ["argoproj.io"], "resources": ["workflows/finalizers"], "verbs": ["update"]}
        ])
    );
    // Run volumes alone need no account: Argo's controller makes their
    // claims (`createPVCs`).
    let plain = roles("tests/fixtures/pod_surface/volumes.mlp");
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        ["volumes-executor"],
        "{plain:?}"
    );
    assert!(!serde_json::to_string(&plain)
        .unwrap()
        .contains("persistentvolumeclaims"));
}

// ----- configuration, sidecars, scheduling --------------------------------------

#[test]
fn env_reads_config_maps_and_env_from_takes_every_key() {
    let doc = fixture("config.mlp");
    let main = &template(&doc, "integration")["container"];
    assert_eq!(
        main["env"],
        json!([
            {"name": "MODE", "value": "integration"},
            {"name": "BUCKET", "valueFrom": {"configMapKeyRef": {"name": "test-settings", "key": "bucket"}}},
            {"name": "DB_PASS", "valueFrom": {"secretKeyRef": {"name": "test-db", "key": "password"}}}
        ])
    );
    assert_eq!(
        main["envFrom"],
        json!([
            {"configMapRef": {"name": "test-env"}},
            {"secretRef": {"name": "test-secrets"}}
        ])
    );
}

/// Sidecars are containers of the template's `sidecars`; Argo stops them
/// once the main container has ended: the controller sees main terminated
/// (`operator.go` `podHasContainerNeedingTermination`), queues the pod
/// (`TerminateContainers`), and signals each running container
/// (`pod/controller` `signalContainers`: `argoexec kill 15 1` through
/// `/var/run/argo`, `workflow/signal/signal.go` `SignalContainer`), then
/// SIGKILL after `terminationGracePeriodSeconds` (30 s by default).
#[test]
fn sidecars_are_containers_beside_main() {
    let doc = fixture("config.mlp");
    assert_eq!(
        template(&doc, "integration")["sidecars"],
        json!([
            {
                "name": "postgres",
                "image": "postgres:16.6",
                "imagePullPolicy": "IfNotPresent",
                "command": ["docker-entrypoint.sh"],
                "args": ["postgres", "-c", "fsync=off"],
                "env": [
                    {"name": "PGDATA", "value": "/tmp/pgdata"},
                    {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "test-db", "key": "password"}}},
                    {"name": "POSTGRES_DB", "valueFrom": {"configMapKeyRef": {"name": "test-settings", "key": "database"}}}
                ],
                "ports": [{"containerPort": 5432}],
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}
            },
            {
                "name": "proxy",
                "image": "envoyproxy/envoy:v1.31.0",
                "ports": [{"containerPort": 9901}, {"containerPort": 10000}]
            }
        ])
    );
}

/// On a tracked stage the user's sidecar comes after MLflow's
/// `mlflow-finalize`, which keeps its own mounts; the user's mounts none of
/// the pod's volumes.
#[test]
fn user_sidecars_follow_the_mlflow_sidecar_on_a_tracked_stage() {
    let doc = fixture("config.mlp");
    let fit = template(&doc, "fit");
    let sidecars = fit["sidecars"].as_array().unwrap();
    assert_eq!(sidecars.len(), 2, "{sidecars:?}");
    assert_eq!(sidecars[0]["name"], "mlflow-finalize");
    assert_eq!(
        sidecars[0]["volumeMounts"],
        json!([{"mountPath": "/mlflow", "name": "mlflow"}])
    );
    assert_eq!(
        sidecars[1],
        json!({
            "name": "tensorboard",
            "image": "tensorflow/tensorboard:2.17.0",
            "args": ["--logdir", "/tmp/logs"],
            "ports": [{"containerPort": 6006}]
        })
    );
    let init: Vec<&Value> = fit["initContainers"].as_array().unwrap().iter().collect();
    assert_eq!(init.len(), 1);
    assert_eq!(init[0]["name"], "mlflow-init");
    assert_eq!(fit["priorityClassName"], "gpu-batch");
}

#[test]
fn affinity_is_node_affinity_and_priority_class_is_the_template_s() {
    let doc = fixture("config.mlp");
    let t = template(&doc, "integration");
    // Every `require` key in one term (all must hold); each `prefer` key a
    // term of its own, weight 1.
    assert_eq!(
        t["affinity"],
        json!({
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{
                        "matchExpressions": [
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m7i.xlarge"]}
                        ]
                    }]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [
                        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}
                    ]}},
                    {"weight": 1, "preference": {"matchExpressions": [
                        {"key": "example.com/pool", "operator": "In", "values": ["spot", "batch"]}
                    ]}}
                ]
            }
        })
    );
    assert_eq!(t["priorityClassName"], "ci-high");
}

// ----- merging through defaults and stage templates -----------------------------

/// defaults < template < stage: `env` merges key by key, sidecars by name
/// (a sidecar of the same name replaces the other whole), `affinity`'s
/// `require` and `prefer` each replace; `volumes` and `env_from` replace.
#[test]
fn defaults_template_and_stage_merge() {
    let doc = fixture("merge.mlp");
    assert_eq!(
        template(&doc, "tool"),
        &json!({
            "name": "tool",
            "container": {
                "command": ["ls"],
                "env": [
                    {"name": "TEAM", "valueFrom": {"configMapKeyRef": {"name": "defaults-settings", "key": "team"}}},
                    {"name": "LEVEL", "value": "from-template"},
                    {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "template-settings", "key": "region"}}},
                    {"name": "OWNER", "valueFrom": {"configMapKeyRef": {"name": "stage-settings", "key": "owner"}}}
                ],
                "envFrom": [{"configMapRef": {"name": "defaults-env"}}],
                "image": "busybox:1.37",
                "name": "main",
                "volumeMounts": [{"mountPath": "/etc/tooling", "name": "volume-1"}]
            },
            "sidecars": [
                {"name": "proxy", "image": "envoyproxy/envoy:v1.31.0", "ports": [{"containerPort": 9901}]},
                {"name": "logger", "image": "fluent/fluent-bit:3.0.0"},
                {"name": "cache", "image": "redis:7.4"}
            ],
            "volumes": [{"name": "volume-1", "configMap": {"name": "template-config"}}],
            "affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "example.com/pool", "operator": "In", "values": ["tooling"]}
                ]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [
                        {"key": "example.com/disk", "operator": "In", "values": ["ssd"]}
                    ]}}
                ]
            }},
            "priorityClassName": "template-class",
            "automountServiceAccountToken": false,
            "executor": {"serviceAccountName": "merge-executor"}
        })
    );
    // A stage without a template gets the defaults, and its own list.
    assert_eq!(
        template(&doc, "plain"),
        &json!({
            "name": "plain",
            "container": {
                "command": ["ls"],
                "env": [
                    {"name": "TEAM", "valueFrom": {"configMapKeyRef": {"name": "defaults-settings", "key": "team"}}},
                    {"name": "LEVEL", "value": "from-defaults"}
                ],
                "envFrom": [{"secretRef": {"name": "plain-env"}}],
                "image": "busybox:1.37",
                "name": "main",
                "volumeMounts": [{"mountPath": "/scratch", "name": "volume-1"}]
            },
            "sidecars": [
                {"name": "proxy", "image": "envoyproxy/envoy:v1.30.0"},
                {"name": "logger", "image": "fluent/fluent-bit:3.0.0"}
            ],
            "volumes": [{"name": "volume-1", "emptyDir": {}}],
            "affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                ]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [
                        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}
                    ]}}
                ]
            }},
            "priorityClassName": "defaults-class",
            "automountServiceAccountToken": false,
            "executor": {"serviceAccountName": "merge-executor"}
        })
    );
}

// ----- restricted Pod Security ----------------------------------------------

/// With `defaults { security = "restricted" }`, user sidecars and every
/// kind of volume, every pod meets the Kubernetes Pod Security "restricted"
/// standard as far as the workflow decides it: non-root, no privilege
/// escalation, all capabilities dropped, the RuntimeDefault seccomp profile,
/// and only the volume types the standard allows (claim templates become
/// `persistentVolumeClaim` volumes).
#[test]
fn restricted_security_covers_sidecars_and_every_volume() {
    let doc = fixture("restricted.mlp");
    let s = common::spec(&doc);
    assert_eq!(
        s["securityContext"],
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert!(
        s.get("hostNetwork").is_none() && s.get("hostPID").is_none() && s.get("hostIPC").is_none()
    );
    const ALLOWED: [&str; 8] = [
        "emptyDir",
        "persistentVolumeClaim",
        "configMap",
        "secret",
        "projected",
        "downwardAPI",
        "ephemeral",
        "csi",
    ];
    let mut kinds_seen = std::collections::BTreeSet::new();
    let mut checked = 0;
    for t in s["templates"].as_array().unwrap() {
        for v in t["volumes"].as_array().into_iter().flatten() {
            let kinds: Vec<&String> = v
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "name")
                .collect();
            assert!(
                kinds.len() == 1 && ALLOWED.contains(&kinds[0].as_str()),
                "{}: volume types {kinds:?}",
                t["name"]
            );
            kinds_seen.insert(kinds[0].clone());
        }
        let containers = ["initContainers", "sidecars"]
            .iter()
            .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
            .chain(t.get("container").cloned());
        for c in containers {
            let sc = &c["securityContext"];
            let what = format!("{}/{}", t["name"], c["name"]);
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
            assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}), "{what}");
            assert!(sc.get("privileged").is_none_or(|p| p == false), "{what}");
            let non_root =
                sc["runAsNonRoot"] == true || s["securityContext"]["runAsNonRoot"] == true;
            assert!(non_root && sc["runAsUser"] != 0, "{what}");
            let seccomp = sc["seccompProfile"]["type"]
                .as_str()
                .or(s["securityContext"]["seccompProfile"]["type"].as_str());
            assert!(
                matches!(seccomp, Some("RuntimeDefault" | "Localhost")),
                "{what}"
            );
            checked += 1;
        }
    }
    // load: main and `cache`; fit: main, mlflow-init, mlflow-finalize and
    // `exporter`; the MLflow clean-up.
    assert_eq!(checked, 7);
    assert_eq!(
        kinds_seen.into_iter().collect::<Vec<_>>(),
        ["configMap", "emptyDir", "persistentVolumeClaim", "secret"]
    );
    assert!(s["volumeClaimTemplates"].is_array());
    // The user's sidecars get the main container's context, whole.
    let restricted = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"}
    });
    for (t, sidecar) in [("load", "cache"), ("fit", "exporter")] {
        let t = template(&doc, t);
        assert_eq!(t["container"]["securityContext"], restricted);
        let c = t["sidecars"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == sidecar)
            .unwrap();
        assert_eq!(c["securityContext"], restricted, "{sidecar}");
    }
}

// ----- diagnostics ------------------------------------------------------------

const STAGE: &str = r#"image = "busybox:1.37", command = ["ls"]"#;

fn program(body: &str) -> String {
    format!("pipeline p {{\n  mlflow {{ tracking_uri = \"http://mlflow:5000\", experiment = \"e\" }}\n{body}\n}}\n")
}

#[test]
fn e0233_a_volume_entry_is_one_volume() {
    let two = program(&format!(
        "  prep t {{ {STAGE}, volumes = [{{ config_map = \"settings\", secret = \"tokens\", path = \"/etc/app\" }}] }}"
    ));
    assert_eq!(as_strs(&diagnostics(&two)), [("mlp::E0233", "secret")]);
    let none = program(&format!(
        "  prep t {{ {STAGE}, volumes = [{{ path = \"/data\", read_only = true }}] }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&none)),
        [("mlp::E0233", "{ path = \"/data\", read_only = true }")]
    );
    let memory = program(&format!(
        "  prep t {{ {STAGE}, volumes = [{{ config_map = \"settings\", memory = true, path = \"/etc/app\" }}] }}"
    ));
    // (At the value of `memory`.)
    assert_eq!(as_strs(&diagnostics(&memory)), [("mlp::E0233", "true")]);
}

#[test]
fn e0234_an_unknown_run_volume_says_what_was_meant() {
    let source = program(&format!(
        "  volume dataset {{ size = 1Gi }}\n  prep t {{ {STAGE}, volumes = [{{ volume = datasets, path = \"/data\" }}] }}"
    ));
    // (And no W0208 beside it for `dataset`, which nothing mounts now.)
    assert_eq!(as_strs(&diagnostics(&source)), [("mlp::E0234", "datasets")]);
    assert_eq!(
        only_help(&source).as_deref(),
        Some("did you mean `dataset`?")
    );
}

#[test]
fn e0235_two_mounts_at_one_path() {
    let cases: [(&str, &str); 7] = [
        // A trailing `/` names the same directory.
        (
            "  prep t { STAGE, volumes = [{ empty_dir = true, path = \"/data\" }, { config_map = \"c\", path = \"/data/\" }] }",
            "\"/data/\"",
        ),
        // Under `/mlflow` on a tracked stage: its tracking files.
        (
            "  train t { STAGE, metrics = [\"auc\"], volumes = [{ empty_dir = true, path = \"/mlflow/x\" }] }",
            "\"/mlflow/x\"",
        ),
        // `/mlflow` itself, even on a stage that is not tracked.
        (
            "  prep t { STAGE, volumes = [{ empty_dir = true, path = \"/mlflow\" }] }",
            "\"/mlflow\"",
        ),
        // `/dev/shm` when `shm` is set.
        (
            "  prep t { STAGE, shm = 1Gi, volumes = [{ empty_dir = true, path = \"/dev/shm\" }] }",
            "\"/dev/shm\"",
        ),
        // ... after merging: `shm` from `defaults`.
        (
            "  defaults { shm = 1Gi }\n  prep t { STAGE, volumes = [{ empty_dir = true, path = \"/dev/shm\" }] }",
            "\"/dev/shm\"",
        ),
        // ... or the mount from `defaults`, pointed at there.
        (
            "  defaults { volumes = [{ empty_dir = true, path = \"/dev/shm\" }] }\n  prep t { STAGE, shm = 1Gi }",
            "\"/dev/shm\"",
        ),
        // A run volume and a claim at one path.
        (
            "  volume v { size = 1Gi }\n  prep t { STAGE, volumes = [{ volume = v, path = \"/v\" }, { claim = \"c\", path = \"/v\" }] }",
            "\"/v\"",
        ),
    ];
    for (body, at) in cases {
        let source = program(&body.replace("STAGE", STAGE));
        assert_eq!(
            as_strs(&diagnostics(&source)),
            [("mlp::E0235", at)],
            "{source}"
        );
    }
    // Where nothing else mounts: none.
    for body in [
        "  train t { STAGE, metrics = [\"auc\"], volumes = [{ empty_dir = true, path = \"/mlflowx\" }] }",
        "  prep t { STAGE, volumes = [{ empty_dir = true, path = \"/dev/shm\" }] }",
        "  prep t { STAGE, volumes = [{ empty_dir = true, path = \"/data\" }, { empty_dir = true, path = \"/data/x\" }] }",
    ] {
        let source = program(&body.replace("STAGE", STAGE));
        assert_eq!(diagnostics(&source), [], "{source}");
    }
}

/// The names Argo and mlpc give the pod's own containers (Argo's `main`,
/// `wait` and `init`: `workflow/common/common.go`; mlpc's MLflow pair),
/// after the name becomes a Kubernetes name.
#[test]
fn e0236_a_sidecar_named_like_a_pod_container() {
    for name in ["main", "wait", "init", "mlflow_init", "mlflow_finalize"] {
        let source = program(&format!(
            "  prep t {{ {STAGE}\n    sidecar {name} {{ image = \"redis:7.4\" }}\n  }}"
        ));
        assert_eq!(
            as_strs(&diagnostics(&source)),
            [("mlp::E0236", name)],
            "{source}"
        );
    }
}

/// Every name is checked as Kubernetes checks it, at its span: a container
/// name is a DNS label (63 characters); ConfigMap, Secret, claim, storage
/// and priority class names are DNS subdomains.
#[test]
fn e0401_names_kubernetes_would_refuse() {
    let long = "a".repeat(64);
    let sidecar = program(&format!(
        "  prep t {{ {STAGE}\n    sidecar {long} {{ image = \"redis:7.4\" }}\n  }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&sidecar)),
        [("mlp::E0401", long.as_str())]
    );
    let volume = program(&format!(
        "  volume {long} {{ size = 1Gi }}\n  prep t {{ {STAGE}, volumes = [{{ volume = {long}, path = \"/v\" }}] }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&volume)),
        [("mlp::E0401", long.as_str())]
    );
    let class = program(&format!(
        "  volume v {{ size = 1Gi, storage_class = \"Fast_SSD\" }}\n  prep t {{ {STAGE}, volumes = [{{ volume = v, path = \"/v\" }}] }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&class)),
        [("mlp::E0401", "\"Fast_SSD\"")]
    );
    let names = program(&format!(
        "  prep t {{ {STAGE}, priority_class = \"High.\", volumes = [\n    {{ config_map = \"Settings\", path = \"/c\" }},\n    {{ secret = \"to ken\", path = \"/s\" }},\n  ] }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&names)),
        [
            ("mlp::E0401", "\"High.\""),
            ("mlp::E0401", "\"Settings\""),
            ("mlp::E0401", "\"to ken\""),
        ]
    );
}

#[test]
fn w0208_a_run_volume_nobody_mounts() {
    let source = program(&format!(
        "  volume scratch {{ size = 5Gi }}\n  prep t {{ {STAGE} }}"
    ));
    assert_eq!(as_strs(&diagnostics(&source)), [("mlp::W0208", "scratch")]);
}

/// Programs sharing a run volume `shared`, and whether W0209 warns that pods
/// which may run at once mount a single-node volume. (Each compiles, and
/// `every_program_passes_the_argo_validator` validates it.)
const SHARING: &[(&str, &str, &str, bool)] = &[
    (
        "a loop without parallelism = 1",
        "",
        "  prep a { STAGE, for_each = [1, 2], volumes = [MOUNT] }",
        true,
    ),
    (
        "a loop with parallelism = 1",
        "",
        "  prep a { STAGE, for_each = [1, 2], parallelism = 1, volumes = [MOUNT] }",
        false,
    ),
    (
        "a member of a looping group",
        "",
        "  group g {\n    for_each = [1, 2]\n    prep a { STAGE, volumes = [MOUNT] }\n  }",
        true,
    ),
    (
        "a member of a group looping one item at a time",
        "",
        "  group g {\n    for_each = [1, 2]\n    parallelism = 1\n    prep a { STAGE, volumes = [MOUNT] }\n  }",
        false,
    ),
    (
        "two stages that do not wait for each other",
        "",
        "  prep a { STAGE, volumes = [MOUNT] }\n  prep b { STAGE, volumes = [MOUNT] }",
        true,
    ),
    (
        "two stages ordered with `after`",
        "",
        "  prep a { STAGE, volumes = [MOUNT] }\n  prep b { STAGE, after = [a], volumes = [MOUNT] }",
        false,
    ),
    (
        "two stages ordered through a third",
        "",
        "  prep a { STAGE, volumes = [MOUNT] }\n  prep m { STAGE, after = [a] }\n  prep b { STAGE, after = [m], volumes = [MOUNT] }",
        false,
    ),
    (
        "two stages ordered by an output one reads",
        "",
        "  prep a { STAGE, output o: string = \"/tmp/o\", volumes = [MOUNT] }\n  prep b { image = \"busybox:1.37\", command = [\"echo\", a.o], volumes = [MOUNT] }",
        false,
    ),
    (
        "a main stage and a `finally` stage",
        "",
        "  prep a { STAGE, volumes = [MOUNT] }\n  finally {\n    prep f { STAGE, volumes = [MOUNT] }\n  }",
        false,
    ),
    (
        "two `finally` stages",
        "",
        "  prep a { STAGE }\n  finally {\n    prep f { STAGE, volumes = [MOUNT] }\n    prep g { STAGE, volumes = [MOUNT] }\n  }",
        true,
    ),
    (
        "a loop on a ReadWriteMany volume",
        ", access = \"ReadWriteMany\"",
        "  prep a { STAGE, for_each = [1, 2], volumes = [MOUNT] }",
        false,
    ),
    (
        "a loop on a ReadOnlyMany volume",
        ", access = \"ReadOnlyMany\"",
        "  prep a { STAGE, for_each = [1, 2], volumes = [MOUNT] }",
        false,
    ),
    (
        "a loop on a ReadWriteOncePod volume",
        ", access = \"ReadWriteOncePod\"",
        "  prep a { STAGE, for_each = [1, 2], volumes = [MOUNT] }",
        true,
    ),
    (
        "two stages that do not wait for each other, on a kept volume",
        ", keep = true",
        "  prep a { STAGE, volumes = [MOUNT] }\n  prep b { STAGE, volumes = [MOUNT] }",
        true,
    ),
];

fn sharing_program(access: &str, body: &str) -> String {
    let body = body
        .replace("STAGE", STAGE)
        .replace("MOUNT", "{ volume = shared, path = \"/shared\" }");
    program(&format!("  volume shared {{ size = 1Gi{access} }}\n{body}"))
}

#[test]
fn w0209_only_when_pods_may_run_at_once_on_a_single_node_volume() {
    for (what, access, body, warns) in SHARING {
        let source = sharing_program(access, body);
        let expected: &[(&str, &str)] = if *warns {
            &[("mlp::W0209", "shared")]
        } else {
            &[]
        };
        assert_eq!(
            as_strs(&diagnostics(&source)),
            expected,
            "{what}:\n{source}"
        );
    }
    // The help names the two stages.
    let (_, access, body, _) = SHARING[4];
    assert_eq!(
        only_help(&sharing_program(access, body)).as_deref(),
        Some(
            "`a` and `b` do not wait for each other, so they may run at once on different \
             nodes, and the second waits until the first ends (or never starts, with \
             ReadWriteOncePod). Order them with `after`, or use `access = \"ReadWriteMany\"`"
        )
    );
}

// ----- validator, determinism -------------------------------------------------

/// Every fixture, as a Workflow and as a WorkflowTemplate, and every
/// program of `SHARING`, passes ../shared/tools/validate_argo.py.
#[test]
fn every_program_passes_the_argo_validator() {
    let Some((python, script)) = common::validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in fixtures() {
        let rel = common::relative(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (kind, suffix) in [
            (OutputKind::Workflow, "workflow"),
            (OutputKind::WorkflowTemplate, "template"),
        ] {
            let out = dir.path().join(format!("{stem}.{suffix}.yaml"));
            let options = Options {
                kind,
                pipeline: None,
                ..Default::default()
            };
            std::fs::write(&out, common::compile(&rel, &options)).unwrap();
            files.push(out);
        }
    }
    assert_eq!(files.len(), 5 * 2);
    for (n, (_, access, body, _)) in SHARING.iter().enumerate() {
        let out = dir.path().join(format!("sharing{n}.yaml"));
        let text = common::places::emit_source(&sharing_program(access, body))
            .unwrap_or_else(|codes| panic!("{codes:?}"));
        std::fs::write(&out, text).unwrap();
        files.push(out);
    }
    common::assert_validator_accepts(&python, &script, &files);
}

/// The same file compiles to the same bytes, twice through the library and
/// twice through `mlpc compile`.
#[test]
fn every_fixture_compiles_byte_identically_twice() {
    for path in fixtures() {
        let rel = common::relative(&path);
        let first = common::compile(&rel, &Options::default());
        let second = common::compile(&rel, &Options::default());
        assert_eq!(first, second, "{}", rel.display());
        let rel_text = rel.to_str().unwrap();
        let cli = |_: u8| {
            let out = common::run_mlpc(&["compile", rel_text]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(cli(1), first, "{}", rel.display());
        assert_eq!(cli(2), first, "{}", rel.display());
    }
}

// ----- findings: programs that compile but that Kubernetes or Argo refuse -------
//
// Each of these checks clean today and should not. Remove the `ignore` once
// the checker rejects the program (with whichever code fits).

fn errors(source: &str) -> Vec<String> {
    common::places::emit_source(source)
        .err()
        .unwrap_or_default()
}

/// Two sidecars whose names become one Kubernetes name give the pod two
/// containers of one name, which the API server refuses ("Duplicate
/// value"), as stages get E0104 for it.
#[test]
fn sidecars_named_alike_in_kubernetes_are_an_error() {
    let source = program(&format!(
        "  prep t {{ {STAGE}\n    sidecar Db {{ image = \"redis:7.2\" }}\n    sidecar db {{ image = \"redis:7.4\" }}\n  }}"
    ));
    assert_ne!(errors(&source), Vec::<String>::new());
}

/// Two run volumes whose names become one give two claim templates of one
/// name: Argo's `createPVCs` creates the first, finds the second "already
/// exists" with this workflow as owner and reuses it, so both mounts get
/// the first claim (and the second's size and class are ignored).
#[test]
fn run_volumes_named_alike_in_kubernetes_are_an_error() {
    let source = program(&format!(
        "  volume Data {{ size = 1Gi }}\n  volume data {{ size = 2Gi }}\n  prep t {{ {STAGE}, volumes = [{{ volume = Data, path = \"/a\" }}, {{ volume = data, path = \"/b\" }}] }}"
    ));
    assert_ne!(errors(&source), Vec::<String>::new());
}

/// Argo mounts `/var/run/argo` in every container but `wait`
/// (`workflowpod.go` `createWorkflowPod`: `volumeMountVarArgo`), so a user
/// mount there gives a container two mounts at one path, which the API
/// server refuses ("must be unique").
#[test]
fn a_mount_at_var_run_argo_is_an_error() {
    let source = program(&format!(
        "  prep t {{ {STAGE}, volumes = [{{ empty_dir = true, path = \"/var/run/argo\" }}] }}"
    ));
    assert_ne!(errors(&source), Vec::<String>::new());
}

/// Kubernetes refuses a `subPath` that is absolute or holds `..`
/// (`pkg/apis/core/validation` `validateLocalDescendingPath`, from
/// `ValidateVolumeMounts`).
#[test]
fn a_sub_path_outside_the_volume_is_an_error() {
    for sub_path in ["/etc", "../up", "a/../../b"] {
        let source = program(&format!(
            "  prep t {{ {STAGE}, volumes = [{{ empty_dir = true, path = \"/a\", sub_path = \"{sub_path}\" }}] }}"
        ));
        assert_ne!(errors(&source), Vec::<String>::new(), "{sub_path}");
    }
}

/// A run volume named like a volume Argo gives every pod resolves to
/// Argo's volume, not the claim (`addVolumeReferences` finds the pod's
/// volume first): the stage writes into Argo's scratch space, or, for
/// `exec-sa-token`, gets the executor's token mounted.
#[test]
fn run_volumes_named_like_argo_s_pod_volumes_are_an_error() {
    for name in ["var_run_argo", "tmp_dir_argo", "exec_sa_token"] {
        let source = program(&format!(
            "  volume {name} {{ size = 1Gi }}\n  prep t {{ {STAGE}, volumes = [{{ volume = {name}, path = \"/v\" }}] }}"
        ));
        assert_ne!(errors(&source), Vec::<String>::new(), "{name}");
    }
}

/// A claim's name is a PersistentVolumeClaim name (a DNS subdomain). The
/// API server refuses a pod whose `claimName` is empty; one naming no
/// valid claim stays Pending ("persistentvolumeclaim not found").
#[test]
fn claim_names_kubernetes_would_refuse_are_an_error() {
    for claim in ["", "-data", "Data", "a_b"] {
        let source = program(&format!(
            "  prep t {{ {STAGE}, volumes = [{{ claim = \"{claim}\", path = \"/d\" }}] }}"
        ));
        assert_eq!(
            as_strs(&diagnostics(&source))
                .iter()
                .map(|d| d.0)
                .collect::<Vec<_>>(),
            ["mlp::E0401"],
            "{claim:?}"
        );
    }
}

/// A stage with an error of its own still mounts its run volumes: W0208
/// beside the error says something false.
#[test]
fn a_stage_with_an_error_still_mounts_its_run_volumes() {
    let source = program(&format!(
        "  volume v {{ size = 1Gi }}\n  prep t {{ {STAGE}, priority_class = \"High.\", volumes = [{{ volume = v, path = \"/v\" }}] }}"
    ));
    assert_eq!(
        as_strs(&diagnostics(&source)),
        [("mlp::E0401", "\"High.\"")]
    );
}

/// A kept volume mounted twice by one stage (two `sub_path`s of one disk)
/// gives the template two volumes of one name, so the pod has them twice
/// and the API server refuses it ("Duplicate value").
#[test]
fn a_kept_volume_mounted_twice_is_one_pod_volume() {
    let source = program(&format!(
        "  volume r {{ size = 1Gi, keep = true }}\n  prep t {{ {STAGE}, volumes = [{{ volume = r, path = \"/a\", sub_path = \"a\" }}, {{ volume = r, path = \"/b\", sub_path = \"b\", read_only = true }}] }}"
    ));
    let doc = common::compile_clean(&source);
    let volumes = argo_pod_volumes(&doc, "t").unwrap();
    let named_r: Vec<&Value> = volumes.iter().filter(|v| v["name"] == "r").collect();
    assert_eq!(
        named_r,
        [&json!({"name": "r", "persistentVolumeClaim": {"claimName": "wf-x7k2p-r"}})]
    );
}
