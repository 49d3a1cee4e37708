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
