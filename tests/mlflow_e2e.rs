//! Runs tests/mlflow (pytest): the injected MLflow steps, exactly as
//! `mlpc compile` emits them for examples/ (and tests/mlflow/*.mlp: a loop
//! group and `finally`), against a real MLflow server in an Argo pod
//! emulator. Needs the server from `tests/mlflow/server.py start`
//! (.ci/run starts it) and root (each container gets a mount namespace).
//! Skips with a message elsewhere; under CI it must run.

mod common;

use std::process::Command;

use common::*;

fn skip_or_fail(why: &str) {
    assert!(
        std::env::var("CI").is_err(),
        "the MLflow end-to-end scenarios must run in CI: {why}"
    );
    eprintln!("SKIPPED: the MLflow end-to-end scenarios: {why}");
}

#[test]
fn injected_steps_work_against_a_real_mlflow_server() {
    let state = root().join("target/mlflow-e2e/server.json");
    let Ok(text) = std::fs::read_to_string(&state) else {
        return skip_or_fail(
            "no server is running (start one with `python3 tests/mlflow/server.py start`)",
        );
    };
    let server: serde_json::Value = serde_json::from_str(&text).expect("server.json is JSON");
    let venv =
        std::env::var("MLPC_MLFLOW_VENV").map_or_else(|_| root().join(".venv-mlflow"), Into::into);
    let python = venv.join("bin/python");
    if !python.exists() {
        return skip_or_fail(&format!(
            "{} is missing (run `python3 tests/mlflow/server.py install`)",
            python.display()
        ));
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        return skip_or_fail("the pod emulator needs root for its mount namespaces");
    }
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/mlflow",
    ])
    .current_dir(root())
    .env("MLPC_BIN", mlpc_bin())
    .env("MLPC_MLFLOW_URI", server["uri"].as_str().unwrap())
    .env(
        "MLPC_MLFLOW_ARTIFACTS",
        server["artifacts"].as_str().unwrap(),
    );
    if let Some(py) = validator_python() {
        cmd.env("MLPC_VALIDATOR_PYTHON", py);
    }
    let out = cmd.output().expect("pytest runs");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "the MLflow scenarios failed:\n{report}"
    );
    assert!(
        report.contains(" passed") && !report.contains(" skipped"),
        "every scenario must run:\n{report}"
    );
}
