//! Every example's output passes ../shared/tools/validate_argo.py: the Argo
//! v4 schema in strict mode, Argo's lint rules and the KServe CRD. The only
//! warning allowed is the one for a required pipeline parameter.

mod common;

use std::process::Command;

use common::*;
use mlpc::emit::{Options, OutputKind};

#[test]
fn examples_pass_the_argo_validator() {
    let Some((python, script)) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (kind, suffix) in [
            (OutputKind::Workflow, "workflow"),
            (OutputKind::WorkflowTemplate, "template"),
        ] {
            let out = dir.path().join(format!("{stem}.{suffix}.yaml"));
            std::fs::write(
                &out,
                compile(
                    &rel,
                    &Options {
                        kind,
                        pipeline: None,
                        ..Default::default()
                    },
                ),
            )
            .unwrap();
            files.push(out);
        }
    }
    let output = Command::new(&python)
        .arg(&script)
        .args(&files)
        .output()
        .expect("the validator runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "validate_argo.py found errors:\n{report}"
    );
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| !l.starts_with("OK "))
        .filter(|l| !(l.contains("warning:") && l.contains("has no value")))
        .collect();
    assert!(
        problems.is_empty(),
        "validate_argo.py reported:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("OK ")).count(),
        files.len(),
        "{report}"
    );
}

/// The pod surface examples do not use: a private CA for MLflow from a
/// ConfigMap and from a Secret, next to a user's volume.
#[test]
fn mlflow_ca_bundles_pass_the_argo_validator() {
    let Some((python, script)) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (n, source) in [
        r#"config_map("corp-ca", "ca.pem")"#,
        r#"secret("corp-ca", "bundle")"#,
    ]
    .iter()
    .enumerate()
    {
        let program = format!(
            r#"pipeline p {{
  mlflow {{
    tracking_uri = "https://mlflow.example.com"
    experiment   = "e"
    artifact_store = "s3://models"
    ca_bundle    = {source}
  }}
  train fit {{
    image   = "ghcr.io/acme/t:1"
    command = ["python", "train.py"]
    volumes = [{{ claim = "data", path = "/data" }}]
  }}
  register reg {{ model = fit.model; name = "m" }}
  deploy serve {{ model = reg.version; service = "m" }}
}}
"#
        );
        let input = dir.path().join(format!("ca{n}.mlp"));
        let output = dir.path().join(format!("ca{n}.yaml"));
        std::fs::write(&input, program).unwrap();
        let out = run_mlpc(&[
            "compile",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        files.push(output);
    }
    let output = Command::new(&python)
        .arg(&script)
        .args(&files)
        .output()
        .expect("the validator runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert!(
        report.lines().all(|l| l.starts_with("OK ")),
        "validate_argo.py reported:\n{report}"
    );
}
