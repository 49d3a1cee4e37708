//! Runs tests/kserve/test_wait.py: the deploy wait step, exactly as
//! `mlpc compile` emits it, against a fake Kubernetes API server that plays
//! KServe's status transitions. Needs only `python3` (standard library);
//! skips with a message without it, and fails in CI.

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A deploy stage whose `timeout` is short enough to run out in a test.
const SHORT_TIMEOUT: &str = r#"pipeline p {
  mlflow { tracking_uri = "http://mlflow:5000", experiment = "e", artifact_store = "s3://mlflow-artifacts" }
  deploy serve {
    model   = "models:/m/1"
    service = "short-lived"
    timeout = 3s
  }
}
"#;

fn skip_or_fail(why: &str) {
    assert!(
        std::env::var("CI").is_err(),
        "the KServe wait scenarios must run in CI: {why}"
    );
    eprintln!("SKIPPED: the KServe wait scenarios: {why}");
}

fn template<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

/// The wait container and the applied manifest of the deploy stage `serve`.
fn case(yaml: &str) -> Value {
    let doc = common::yaml::parse_documents(yaml).unwrap().remove(0);
    let wait = &template(&doc, "serve-wait")["container"];
    let manifest = template(&doc, "serve")["resource"]["manifest"]
        .as_str()
        .unwrap();
    let manifest = common::argo_manifest(manifest, &Default::default());
    // The wait step's program is a workflow parameter (`mlpc_kserve_wait`).
    let parameters: serde_json::Map<String, Value> = doc["spec"]["arguments"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["value"].clone()))
        .collect();
    json!({ "wait": wait, "manifest": manifest, "parameters": parameters })
}

fn compile_source(source: &str) -> String {
    let analysis = mlpc::analyze("short.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    let program = analysis.program.expect("the fixture checks clean");
    mlpc::yaml(&program, &Default::default()).unwrap()
}

#[test]
fn the_wait_step_judges_only_its_own_rollout() {
    let python_ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python_ok {
        return skip_or_fail("python3 is not installed");
    }
    let options = Default::default();
    let spec = json!({
        "cases": {
            "plain": case(&compile(std::path::Path::new("examples/fraud_champion.mlp"), &options)),
            "canary": case(&compile(std::path::Path::new("examples/churn_model.mlp"), &options)),
            "timeout": case(&compile_source(SHORT_TIMEOUT)),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let spec_file = dir.path().join("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let out = Command::new("python3")
        .arg("tests/kserve/test_wait.py")
        .current_dir(root())
        .env("MLPC_KSERVE_SPEC", &spec_file)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("{report}");
    assert!(out.status.success(), "the KServe wait scenarios failed");
    let skipped = report.contains("skipped");
    assert!(
        !skipped || std::env::var("CI").is_err(),
        "every scenario must run in CI"
    );
    assert!(report.contains("\nOK"), "{report}");
}
