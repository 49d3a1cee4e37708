//! `mlpc compile --target kfp`: Kubeflow Pipelines v2 IR.
//!
//! - tests/kfp/*.mlp are twins of ../shared/reference/kfp-ir-samples (the
//!   parts `.mlp` says): each compiles, is snapshotted, is the same twice,
//!   passes ../shared/tools/validate_kfp_ir.py with no error and no warning
//!   (`--strict`), loads in the real kfp SDK as a component that keeps
//!   every task, input, output, executor and platform config
//!   (tests/kfp/roundtrip.py), and has the same DAG and triggers as kfp's
//!   own compilation (tests/kfp/compare.py);
//! - each example compiles or is refused with the codes listed here.
//!
//! The Python checks need kfp and kfp-kubernetes: `.venv-kfp` (made by
//! .ci/run) or `MLPC_KFP_PYTHON`. In CI they must run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A Python with kfp, kfp-kubernetes and PyYAML, or `None` (a skip, which
/// CI does not allow).
fn kfp_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("MLPC_KFP_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([root().join(".venv-kfp/bin/python")]);
    for py in candidates {
        let ok = Command::new(&py)
            .args(["-c", "import kfp, kfp.kubernetes, yaml"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(py);
        }
    }
    assert!(
        std::env::var("CI").is_err(),
        "the KFP checks must run in CI: no Python with kfp (.venv-kfp or MLPC_KFP_PYTHON)"
    );
    eprintln!("SKIPPED: the KFP checks: no Python with kfp (.venv-kfp or MLPC_KFP_PYTHON)");
    None
}

/// The IR of a file's one pipeline, or the codes of its errors.
fn compile(path: &Path) -> Result<String, Vec<String>> {
    let rel = relative(path);
    let analysis = analyze_file(&rel);
    let result = mlpc::kfp_document(&analysis, &Default::default());
    let mut codes: Vec<String> = analysis
        .diagnostics
        .items
        .iter()
        .filter(|d| d.severity() == mlpc::diag::Severity::Error)
        .map(|d| d.code_str())
        .collect();
    match result {
        Some(Ok(Ok(doc))) if codes.is_empty() => Ok(doc.to_yaml().expect("writes YAML")),
        Some(Ok(Err(errors))) => {
            codes.extend(errors.iter().map(|e| e.code_str()));
            codes.sort();
            codes.dedup();
            Err(codes)
        }
        Some(Err(e)) => panic!("{}: {e}", rel.display()),
        _ => {
            codes.sort();
            codes.dedup();
            Err(codes)
        }
    }
}

fn run_python(python: &Path, script: &str, args: &[String]) {
    let out = Command::new(python)
        .arg(root().join(script))
        .args(args)
        .output()
        .expect("python runs");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}:\n{report}");
}

/// kfp's task names for the samples' tasks that the twins name otherwise
/// (`null`: a task the twin leaves out on purpose).
const SAMPLES: &[(&str, &str)] = &[
    ("01_artifacts_dag", "{}"),
    (
        "02_conditions",
        r#"{"step": "register", "step-2": "deploy-to-prod", "step-3": "compare", "step-4": "reject", "step-5": "verdict"}"#,
    ),
    ("05_resources_retry_cache", "{}"),
    (
        "06_kubernetes_platform",
        r#"{"createpvc": null, "deletepvc": null}"#,
    ),
];

/// Files of tests/kfp that are not twins: checked as the twins are, but
/// not compared with a kfp compilation.
const OWN: &[&str] = &["loops_and_groups"];

#[test]
fn twins_of_the_kfp_samples() {
    let _guard = suite("kfp").bind_to_scope();
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    let names = SAMPLES.iter().map(|(n, _)| *n).chain(OWN.iter().copied());
    for name in names {
        let path = root().join(format!("tests/kfp/{name}.mlp"));
        let ir = compile(&path).unwrap_or_else(|codes| panic!("{name}: {codes:?}"));
        assert_eq!(compile(&path).unwrap(), ir, "{name}: not deterministic");
        insta::assert_snapshot!(format!("{name}.yaml"), ir);
        let out = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&out, &ir).unwrap();
        written.push(out);
    }
    let Some(python) = kfp_python() else { return };
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let mut validate = vec!["--strict".to_string()];
    validate.extend(files.iter().cloned());
    run_python(&python, "../shared/tools/validate_kfp_ir.py", &validate);
    run_python(&python, "tests/kfp/roundtrip.py", &files);
    // The twins come first in `files`, in the order of SAMPLES.
    for ((name, mapping), file) in SAMPLES.iter().zip(&files) {
        let sample = root()
            .join(format!("../shared/reference/kfp-ir-samples/{name}.yaml"))
            .display()
            .to_string();
        run_python(
            &python,
            "tests/kfp/compare.py",
            &[file.clone(), sample, mapping.to_string()],
        );
    }
}

/// What each example gives with `--target kfp` today: the IR, or the
/// codes that refuse it (listed in README.md's "Kubeflow Pipelines").
#[test]
fn examples_compile_or_are_refused_with_codes() {
    let expected: &[(&str, &[&str])] = &[
        ("champion_challenger", &["mlp::E0502"]),
        ("churn_model", &["mlp::E0501", "mlp::E0502"]),
        ("fraud_champion", &["mlp::E0502"]),
        ("hyperparameter_sweep", &["mlp::E0502"]),
        ("nightly_retrain", &["mlp::E0501", "mlp::E0502"]),
        ("shared_volume", &["mlp::E0501", "mlp::E0502"]),
        ("sweep_and_promote", &["mlp::E0502"]),
        ("terraform_optimization", &["mlp::E0502"]),
    ];
    let files = mlp_files(&root().join("examples"));
    assert_eq!(files.len(), expected.len(), "an example is missing here");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let want = expected
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is not listed"))
            .1;
        match compile(&path) {
            Ok(_) => assert!(want.is_empty(), "{name} compiled; expected {want:?}"),
            Err(codes) => assert_eq!(codes, want, "{name}"),
        }
    }
}

/// `mlpc compile --target kfp`: the IR on standard output, a usage error
/// for a file of several pipelines, exit 1 with coded diagnostics.
#[test]
fn the_command_line() {
    let ok = run_mlpc(&[
        "compile",
        "--target",
        "kfp",
        "tests/kfp/01_artifacts_dag.mlp",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("schemaVersion: 2.1.0"));
    let refused = run_mlpc(&[
        "compile",
        "--target",
        "kfp",
        "--format",
        "short",
        "examples/nightly_retrain.mlp",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("mlp::E0501") && stderr.contains("`schedule`"),
        "{stderr}"
    );
    let kind = run_mlpc(&[
        "compile",
        "--target",
        "kfp",
        "--kind",
        "workflow-template",
        "tests/kfp/01_artifacts_dag.mlp",
    ]);
    assert_eq!(kind.status.code(), Some(2));
}
