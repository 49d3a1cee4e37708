//! The conditions a distributed stage's Argo step waits with
//! (src/emit/trainer.rs), evaluated as Argo evaluates them
//! (tests/argo_model/resource.rs, from workflow/executor/resource.go) on
//! the reference's status fixtures
//! (../shared/reference/trainer-examples/status-fixtures/): first the
//! model against the results the reference got with the real
//! label-selector parser and gjson (RESULTS.txt), then mlpc's conditions.

mod argo_model;
mod common;

use argo_model::resource::{verdict, Verdict};
use common::root;
use mlpc::emit::trainer;

fn fixtures() -> std::path::PathBuf {
    root().join("../shared/reference/trainer-examples/status-fixtures")
}

fn fixture(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("a status fixture");
    serde_json::from_str(&text).expect("JSON")
}

/// One recipe of RESULTS.txt (`## success: S`, `## failure: F`) and its
/// rows (`FILE VERDICT`).
struct Recipe {
    success: String,
    failure: String,
    rows: Vec<(String, String)>,
}

fn reference_results() -> Vec<Recipe> {
    let text = std::fs::read_to_string(fixtures().join("RESULTS.txt")).expect("RESULTS.txt");
    let mut out: Vec<Recipe> = Vec::new();
    let mut success = None;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("## success:") {
            success = Some(s.trim().to_string());
        } else if let Some(f) = line.strip_prefix("## failure:") {
            let s = success.take().expect("success before failure");
            out.push(Recipe {
                success: s,
                failure: f.trim().to_string(),
                rows: Vec::new(),
            });
        } else if let (Some(row), Some(last)) = (line.strip_prefix("  "), out.last_mut()) {
            let (file, result) = row.split_once(char::is_whitespace).expect("FILE VERDICT");
            last.rows
                .push((file.to_string(), result.trim().to_string()));
        }
    }
    out
}

fn spelled(v: &Verdict) -> String {
    match v {
        Verdict::Succeeded => "succeeded".into(),
        Verdict::Failed => "failed".into(),
        Verdict::Waiting => "waiting".into(),
        Verdict::ParseError(which) => format!("PARSE-ERROR({which})"),
    }
}

#[test]
fn the_model_gives_the_references_results() {
    let results = reference_results();
    assert!(results.len() >= 6, "RESULTS.txt has its recipes");
    let mut rows = 0;
    for Recipe {
        success,
        failure,
        rows: fixtures,
    } in &results
    {
        for (file, want) in fixtures {
            let got = spelled(&verdict(success, failure, &fixture(file)));
            assert!(
                want.starts_with(&got),
                "{file} with success {success:?}, failure {failure:?}: the model says {got}, the reference {want}"
            );
            rows += 1;
        }
    }
    assert!(rows >= 30, "{rows} rows");
}

/// The verdict of each fixture of a kind (`tj-` or `pt-`) under the
/// conditions mlpc writes.
fn outcomes(prefix: &str, success: &str, failure: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = spelled(&verdict(success, failure, &fixture(&n)));
            (n, v)
        })
        .collect()
}

fn table(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_trainjob_step_ends_as_its_job_with_and_without_kueue() {
    let got = outcomes("tj-", trainer::TRAINJOB_SUCCESS, trainer::TRAINJOB_FAILURE);
    let want = table(&common::TRAINJOB_VERDICTS);
    assert_eq!(got, want);
}

#[test]
fn a_pytorchjob_step_ends_as_its_job() {
    let got = outcomes(
        "pt-",
        trainer::PYTORCHJOB_SUCCESS,
        trainer::PYTORCHJOB_FAILURE,
    );
    let want = table(&common::PYTORCHJOB_VERDICTS);
    assert_eq!(got, want);
}

#[test]
fn the_reference_checked_mlpcs_conditions_too() {
    // The recipes mlpc uses are among those the reference evaluated with
    // the real parser, so the model is checked on exactly these strings.
    // mlpc's TrainJob success adds one requirement (the entry is `node`):
    // success requirements are AND-ed, so it only narrows the recipe, and
    // the verdicts above are the reference's on every fixture.
    let results = reference_results();
    let requirements = |c: &str| -> Vec<String> { c.split(", ").map(str::to_string).collect() };
    for (s, f) in [
        (trainer::TRAINJOB_SUCCESS, trainer::TRAINJOB_FAILURE),
        (trainer::PYTORCHJOB_SUCCESS, trainer::PYTORCHJOB_FAILURE),
    ] {
        assert!(
            results.iter().any(|r| r.failure == f
                && requirements(&r.success)
                    .iter()
                    .all(|req| requirements(s).contains(req))),
            "{s} / {f} does not hold a recipe of RESULTS.txt"
        );
    }
    assert_eq!(
        requirements(trainer::TRAINJOB_SUCCESS),
        [
            "status.jobsStatus.0.name == node",
            "status.jobsStatus.0.succeeded > 0"
        ]
    );
}

/// A runtime of one's own with an initializer, whose status JobSet may
/// list first (it builds `jobsStatus` from a Go map): the step must not
/// succeed when the initializer is done and `node` has not run.
#[test]
fn an_initializer_listed_first_does_not_end_the_step() {
    let status = |first: &str| {
        serde_json::json!({"status": {"jobsStatus": [
            {"name": first, "succeeded": 1, "active": 0, "failed": 0},
            {"name": if first == "node" { "dataset-initializer" } else { "node" }, "succeeded": 0, "active": 2, "failed": 0}
        ]}})
    };
    let v = |doc| {
        spelled(&verdict(
            trainer::TRAINJOB_SUCCESS,
            trainer::TRAINJOB_FAILURE,
            &doc,
        ))
    };
    assert_eq!(v(status("dataset-initializer")), "waiting");
    // The control: the same status read by the reference's recipe alone.
    assert_eq!(
        spelled(&verdict(
            "status.jobsStatus.0.succeeded > 0",
            trainer::TRAINJOB_FAILURE,
            &status("dataset-initializer")
        )),
        "succeeded"
    );
    assert_eq!(v(status("node")), "succeeded");
}

#[test]
fn negative_controls() {
    // The obvious condition waits forever under Kueue.
    let kq = fixture("tj-kq-complete.json");
    assert_eq!(
        verdict(
            "status.conditions.0.type == Complete",
            trainer::TRAINJOB_FAILURE,
            &kq
        ),
        Verdict::Waiting
    );
    // `!=` matches a missing key: never in a failure condition.
    let created = fixture("tj-created.json");
    assert_eq!(
        verdict(
            trainer::TRAINJOB_SUCCESS,
            "status.conditions.0.type != Complete",
            &created
        ),
        Verdict::Failed
    );
    // No success requirement succeeds at once.
    assert_eq!(
        verdict("", trainer::TRAINJOB_FAILURE, &created),
        Verdict::Succeeded
    );
    // A query by type does not parse.
    assert_eq!(
        verdict(
            "status.conditions.#(type==\"Complete\").status == True",
            "",
            &created
        ),
        Verdict::ParseError("success")
    );
}

/// A TrainJob with every pod setting mlpc maps, in the resource step that
/// creates it, passes ../shared/tools/validate_argo.py (the Trainer v2.3.0
/// CRD's structural schema, the JobSet name limit, both conditions, the
/// deadlines) with no error and no warning; and the runtime patch reaches
/// the pod of the runtime's replicated job `node`.
#[test]
fn a_trainjob_with_every_pod_setting_fits_the_crd() {
    use k8s_openapi::api::core::v1::{
        EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSecurityContext, ResourceRequirements,
        SecretKeySelector, Toleration, Volume, VolumeMount,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    let q = |s: &str| Quantity(s.into());
    let nodes = 4;
    let prefix = format!("{}-", "f".repeat(trainer::max_generate_name_len(nodes) - 1));
    let job = trainer::TrainJob::new(
        prefix,
        BTreeMap::from([("mlpc.dev/stage".into(), "fit".into())]),
        trainer::DEFAULT_RUNTIME.into(),
        trainer::Trainer {
            image: "ghcr.io/acme/train:2.0.0".into(),
            command: vec!["torchrun".into(), "train.py".into()],
            args: vec!["--epochs".into(), "3".into()],
            num_nodes: nodes as i64,
            resources_per_node: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".into(), q("8")),
                    ("memory".into(), q("64Gi")),
                ])),
                limits: Some(BTreeMap::from([("nvidia.com/gpu".into(), q("8"))])),
                claims: None,
            }),
            env: vec![
                EnvVar {
                    name: "MLFLOW_RUN_ID".into(),
                    value: Some("{{inputs.parameters.mlflow-run-id}}".into()),
                    value_from: None,
                },
                EnvVar {
                    name: "HF_TOKEN".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: "hf".into(),
                            key: "token".into(),
                            optional: None,
                        }),
                        ..Default::default()
                    }),
                },
            ],
        },
        trainer::NodePod {
            labels: BTreeMap::from([(
                "workflows.argoproj.io/workflow".into(),
                "{{workflow.name}}".into(),
            )]),
            node_selector: BTreeMap::from([("nvidia.com/gpu.product".into(), "H100".into())]),
            tolerations: vec![Toleration {
                key: Some("nvidia.com/gpu".into()),
                operator: Some("Exists".into()),
                effect: Some("NoSchedule".into()),
                ..Default::default()
            }],
            volumes: vec![Volume {
                name: "mlp-shm".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: Some("Memory".into()),
                    size_limit: Some(q("16Gi")),
                }),
                ..Default::default()
            }],
            mounts: vec![VolumeMount {
                name: "mlp-shm".into(),
                mount_path: "/dev/shm".into(),
                ..Default::default()
            }],
            service_account: Some("trainer".into()),
            pull_secrets: vec!["ghcr".into()],
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
        Some(43200),
    );
    let manifest = serde_json::to_value(&job).unwrap();
    let pod = &manifest["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
        ["replicatedJobs"][0];
    assert_eq!(pod["name"], "node");
    assert_eq!(
        pod["template"]["spec"]["template"]["spec"]["containers"][0]["name"],
        "node"
    );
    let workflow = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "fit-"},
        "spec": {
            "entrypoint": "job",
            "templates": [{
                "name": "job",
                "inputs": {"parameters": [{"name": "mlflow-run-id", "value": "0123abcd"}]},
                "activeDeadlineSeconds": 46800,
                "resource": {
                    "action": "create",
                    "setOwnerReference": true,
                    "successCondition": trainer::TRAINJOB_SUCCESS,
                    "failureCondition": trainer::TRAINJOB_FAILURE,
                    "manifest": manifest.to_string(),
                },
            }],
        },
    });
    let Some((python, script)) = common::validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trainjob.yaml");
    std::fs::write(&file, serde_yaml::to_string(&workflow).unwrap()).unwrap();
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .expect("the validator runs");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(
        report.lines().all(|l| l.starts_with("OK ")),
        "validate_argo.py reported:\n{report}"
    );
    // A negative control: one character more than the limit is refused.
    let mut long = workflow.clone();
    let mut longer = manifest.clone();
    longer["metadata"]["generateName"] =
        format!("{}-", "f".repeat(trainer::max_generate_name_len(nodes))).into();
    long["spec"]["templates"][0]["resource"]["manifest"] = longer.to_string().into();
    std::fs::write(&file, serde_yaml::to_string(&long).unwrap()).unwrap();
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .expect("the validator runs");
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stdout).contains("longer than"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
