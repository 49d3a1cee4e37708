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
const OWN: &[&str] = &["loops_and_groups", "run_shell", "fan_in", "run_volumes"];

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

/// The conditions and selectors mlpc writes mean, in CEL, what the
/// `.mlp` says: evaluated with cel-python (KFP's driver runs cel-go with
/// `parseJson` added; tests/kfp/cel_eval.py).
#[test]
fn conditions_and_selectors_evaluate_as_the_program_says() {
    let ir = |name: &str| -> serde_json::Value {
        let text = compile(&root().join(format!("tests/kfp/{name}.mlp"))).unwrap();
        serde_yaml::from_str(text.split("\n---\n").next().unwrap()).unwrap()
    };
    let groups = ir("loops_and_groups");
    let promote = groups["root"]["dag"]["tasks"]["promote"]["triggerPolicy"]["condition"]
        .as_str()
        .unwrap()
        .to_string();
    let exit = ir("04_exit_handler");
    let selector = exit["components"]["comp-finally"]["dag"]["tasks"]["cleanup"]["inputs"]
        ["parameters"]["mlp-run-status"]["parameterExpressionSelector"]
        .as_str()
        .unwrap()
        .to_string();
    let conditions = ir("02_conditions");
    let compare = conditions["root"]["dag"]["tasks"]["compare"]["triggerPolicy"]["condition"]
        .as_str()
        .unwrap()
        .to_string();
    let scores = |v: serde_json::Value| serde_json::json!({"inputs": {"parameter_values": {"pipelinechannel--fit-score": v}}});
    let status = |state: &str| serde_json::json!({"string_value": serde_json::json!({"state": state, "pipelineTaskName": "exit-handler-1"}).to_string()});
    let cost = |c: f64, t: f64| {
        serde_json::json!({"inputs": {"parameter_values": {
            "pipelinechannel--evaluate-cost_reduction": c, "pipelinechannel--threshold": t}}})
    };
    let cases = serde_json::json!([
        // `max(fit.score) >= 0.5 && len(fit.score) > 1`
        {"expr": promote, "vars": scores(serde_json::json!([0.2, 0.7])), "expect": true},
        {"expr": promote, "vars": scores(serde_json::json!([0.2, 0.3])), "expect": false},
        {"expr": promote, "vars": scores(serde_json::json!([0.7])), "expect": false},
        // `run.status`
        // (KFP 2.4 to 2.x drivers read ML Metadata: COMPLETE, CACHED.)
        {"expr": selector, "vars": status("SUCCEEDED"), "expect": "Succeeded"},
        {"expr": selector, "vars": status("COMPLETE"), "expect": "Succeeded"},
        {"expr": selector, "vars": status("CACHED"), "expect": "Succeeded"},
        {"expr": selector, "vars": status("FAILED"), "expect": "Failed"},
        {"expr": selector, "vars": status("SKIPPED"), "expect": "Error"},
        {"expr": selector, "vars": status("CANCELED"), "expect": "Error"},
        // `!(c >= 0.10) && c >= threshold`
        {"expr": compare, "vars": cost(0.05, 0.01), "expect": true},
        {"expr": compare, "vars": cost(0.2, 0.01), "expect": false},
        {"expr": compare, "vars": cost(0.05, 0.08), "expect": false},
    ]);
    let Some(python) = kfp_python() else { return };
    let has_cel = Command::new(&python)
        .args(["-c", "import celpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_cel || std::env::var("CI").is_err(),
        "cel-python must be in the KFP venv in CI"
    );
    if has_cel {
        run_python(&python, "tests/kfp/cel_eval.py", &[cases.to_string()]);
    }
}

/// A file of tests/kfp compiled and run as KFP runs it (tests/kfp/run.py),
/// once per set of parameters; `None` (a skip, which CI does not allow)
/// without kfp's Python, busybox or unshare.
struct KfpRun {
    python: PathBuf,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl KfpRun {
    fn of(name: &str) -> Option<KfpRun> {
        let python = kfp_python()?;
        if !which("busybox") || !which("unshare") {
            assert!(
                std::env::var("CI").is_err(),
                "busybox and unshare are needed in CI"
            );
            eprintln!("SKIPPED: no busybox or unshare");
            return None;
        }
        let ir = compile(&root().join(format!("tests/kfp/{name}.mlp"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, ir).unwrap();
        Some(KfpRun {
            python,
            file,
            _dir: dir,
        })
    }

    /// Each task's report, by its path (`loop[1]/task`).
    fn run(&self, params: &str) -> serde_json::Value {
        let out = Command::new(&self.python)
            .arg(root().join("tests/kfp/run.py"))
            .arg(&self.file)
            .arg(params)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["tasks"].clone()
    }
}

/// tests/kfp/run_shell.mlp run as KFP runs it (tests/kfp/run.py: the
/// driver's input resolution, conditions, loops, exit tasks; each
/// container a local process with busybox's `sh` and a private /tmp): the
/// values, files and lists arrive as the program says, and `finally` sees
/// how the run ended.
#[test]
fn a_pipeline_runs_as_kfp_runs_it() {
    let Some(kfp) = KfpRun::of("run_shell") else {
        return;
    };
    let run = |params: &str| kfp.run(params);
    let t = run("{}");
    let state =
        |t: &serde_json::Value, path: &str| t[path]["state"].as_str().unwrap_or("").to_string();
    assert_eq!(t["exit-handler-1/double"]["outputs"]["doubled"], 6, "{t}");
    assert_eq!(
        t["exit-handler-1/per-name[1]/per-name"]["outputs"]["line"],
        "b c:6"
    );
    // The file passed by path: the producer's bytes.
    assert_eq!(t["exit-handler-1/per-name[0]/per-name"]["log"], "one\ntwo");
    assert_eq!(t["exit-handler-1/gather"]["log"], "[\"a:6\",\"b c:6\"]\n");
    assert_eq!(state(&t, "exit-handler-1/never"), "SKIPPED");
    assert_eq!(t["finally/report"]["log"], "status Succeeded\n");
    // A failing stage: the run fails, and `finally` still runs and says so.
    let t = run(r#"{"fail": true, "names": ["x"]}"#);
    assert_eq!(state(&t, "exit-handler-1/maybe-fail"), "FAILED");
    // One name: `len(per_name.line) == 2` is false.
    assert_eq!(state(&t, "exit-handler-1/gather"), "SKIPPED");
    assert_eq!(t["finally/report"]["log"], "status Failed\n");
}

/// tests/kfp/fan_in.mlp run as KFP runs it: each item that made the
/// artifact is one entry of the reader's directory, named by its index
/// (the skipped item is missing, the others keep theirs), for a file and
/// for a directory; the gather task reads the list from the executor
/// input, as a container can.
#[test]
fn an_artifact_collected_out_of_a_loop_is_a_directory_by_index() {
    let Some(kfp) = KfpRun::of("fan_in") else {
        return;
    };
    let run = |params: &str| kfp.run(params);
    let t = run("{}");
    assert_eq!(t["split[2]/split"]["state"], "SKIPPED", "{t}");
    assert_eq!(t["join"]["log"], "0=a;1=b c;x", "{t}");
    // Every item makes it: three entries.
    let t = run(r#"{"skip": "none"}"#);
    assert_eq!(t["join"]["log"], "0=a;1=b c;2=d;x", "{t}");
}

/// Names kfp gives DAG components (`exit-handler-1`, `for-loop-X`) may be
/// a stage's too: every component keeps a name of its own.
#[test]
fn generated_names_never_collide_with_stages() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "pipeline p {\n  job exit_handler_1 {\n    image = \"busybox:1.37\"\n    command = [\"true\"]\n  }\n\n  finally {\n    job done {\n      image = \"busybox:1.37\"\n      command = [\"echo\", run.status]\n    }\n  }\n}\n",
        "pipeline p {\n  job x {\n    image = \"busybox:1.37\"\n    for_each = [1, 2]\n    command = [\"echo\", item]\n  }\n\n  job for_loop_x {\n    image = \"busybox:1.37\"\n    command = [\"true\"]\n  }\n}\n",
    ];
    let mut files = Vec::new();
    for (i, text) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.mlp"));
        std::fs::write(&path, text).unwrap();
        let analysis = mlpc::check(
            "case.mlp",
            Some(&path),
            text.as_bytes(),
            &mlpc::FsLoader,
            Default::default(),
        );
        let doc = match mlpc::kfp_document(&analysis, &Default::default()) {
            Some(Ok(Ok(doc))) => doc,
            _ => panic!("case {i} does not compile"),
        };
        let yaml = doc.to_yaml().unwrap();
        let spec: serde_json::Value =
            serde_yaml::from_str(yaml.split("\n---\n").next().unwrap()).unwrap();
        // Every task of every DAG runs a component of its own kind.
        assert_eq!(check_ir(&spec), Ok(()), "case {i}");
        let comps = spec["components"].as_object().unwrap();
        let dag_comps = comps.values().filter(|c| c.get("dag").is_some()).count();
        let exec_comps = comps
            .values()
            .filter(|c| c.get("executorLabel").is_some())
            .count();
        assert_eq!(
            exec_comps,
            spec["deploymentSpec"]["executors"]
                .as_object()
                .unwrap()
                .len()
        );
        assert!(dag_comps >= 1, "case {i}: {comps:?}");
        let out = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&out, yaml).unwrap();
        files.push(out.display().to_string());
    }
    let Some(python) = kfp_python() else { return };
    let mut args = vec!["--strict".to_string()];
    args.extend(files);
    run_python(&python, "../shared/tools/validate_kfp_ir.py", &args);
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// What each example gives with `--target kfp` today: the IR, or the
/// codes that refuse it (listed in README.md's "Kubeflow Pipelines").
#[test]
fn examples_compile_or_are_refused_with_codes() {
    let expected: &[(&str, &[&str])] = &[
        ("champion_challenger", &[]),
        ("churn_model", &["mlp::E0501"]),
        ("distributed_finetune", &["mlp::E0501", "mlp::E0502"]),
        ("fraud_champion", &["mlp::E0501"]),
        ("hyperparameter_sweep", &[]),
        ("nightly_retrain", &["mlp::E0501"]),
        ("shared_volume", &["mlp::E0501"]),
        ("sweep_and_promote", &[]),
        ("terraform_optimization", &[]),
    ];
    let _guard = suite("kfp").bind_to_scope();
    let dir = tempfile::tempdir().unwrap();
    let mut compiled = Vec::new();
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
            Ok(ir) => {
                assert!(want.is_empty(), "{name} compiled; expected {want:?}");
                assert_eq!(compile(&path).unwrap(), ir, "{name}: not deterministic");
                insta::assert_snapshot!(format!("example-{name}.yaml"), ir);
                let out = dir.path().join(format!("{name}.yaml"));
                std::fs::write(&out, &ir).unwrap();
                compiled.push(out.display().to_string());
            }
            Err(codes) => assert_eq!(codes, want, "{name}"),
        }
    }
    // What compiles is valid IR (no error, no warning) that the kfp SDK
    // loads, keeping every task, input and output.
    let Some(python) = kfp_python() else { return };
    let mut validate = vec!["--strict".to_string()];
    validate.extend(compiled.iter().cloned());
    run_python(&python, "../shared/tools/validate_kfp_ir.py", &validate);
    run_python(&python, "tests/kfp/roundtrip.py", &compiled);
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
    // `after` on a stage that may be skipped would skip the stage on KFP.
    let dir = tempfile::tempdir().unwrap();
    let after = dir.path().join("after.mlp");
    std::fs::write(
        &after,
        "pipeline p {\n  param go: bool = false\n\n  job a {\n    image = \"busybox:1.37\"\n    command = [\"true\"]\n    when go\n  }\n\n  job b {\n    image = \"busybox:1.37\"\n    command = [\"true\"]\n    after = [a]\n  }\n}\n",
    )
    .unwrap();
    let o = run_mlpc(&[
        "compile",
        "--target",
        "kfp",
        "--format",
        "short",
        after.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(":13:") && stderr.contains("`after` on `a`"),
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

/// What must hold of any IR mlpc writes (a part of what the validator
/// checks, cheap enough for a property test): every component a task
/// names exists; a task waits only for siblings, with no cycle; a task
/// reads only its own DAG (an input of the enclosing component, or a
/// sibling's output); a loop's item input is declared by its component.
fn check_ir(spec: &serde_json::Value) -> Result<(), String> {
    let components = spec["components"].as_object().cloned().unwrap_or_default();
    let mut dags = vec![("root".to_string(), spec["root"].clone())];
    dags.extend(
        components
            .iter()
            .filter(|(_, c)| c.get("dag").is_some())
            .map(|(n, c)| (n.clone(), c.clone())),
    );
    for (name, comp) in &dags {
        let tasks = comp["dag"]["tasks"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let inputs = &comp["inputDefinitions"];
        for (t, task) in &tasks {
            let callee = task["componentRef"]["name"].as_str().unwrap_or("");
            let Some(callee_spec) = components.get(callee) else {
                return Err(format!("{name}/{t}: no component {callee}"));
            };
            for d in task["dependentTasks"].as_array().into_iter().flatten() {
                let d = d.as_str().unwrap_or("");
                if !tasks.contains_key(d) {
                    return Err(format!("{name}/{t}: waits for {d}, not a sibling"));
                }
            }
            for (k, v) in task["inputs"]["parameters"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if let Some(src) = v["componentInputParameter"].as_str() {
                    if inputs["parameters"].get(src).is_none() {
                        return Err(format!("{name}/{t}.{k}: {src} is not an input of {name}"));
                    }
                }
                if let Some(p) = v["taskOutputParameter"]["producerTask"].as_str() {
                    if !tasks.contains_key(p) {
                        return Err(format!("{name}/{t}.{k}: {p} is not a sibling"));
                    }
                }
            }
            if let Some(item) = task["parameterIterator"]["itemInput"].as_str() {
                if callee_spec["inputDefinitions"]["parameters"]
                    .get(item)
                    .is_none()
                {
                    return Err(format!("{name}/{t}: {callee} does not declare {item}"));
                }
            }
        }
        // No cycle among the DAG's tasks.
        let mut state: std::collections::HashMap<&str, u8> = Default::default();
        fn visit<'a>(
            t: &'a str,
            tasks: &'a serde_json::Map<String, serde_json::Value>,
            state: &mut std::collections::HashMap<&'a str, u8>,
        ) -> bool {
            match state.get(t) {
                Some(1) => return false,
                Some(2) => return true,
                _ => {}
            }
            state.insert(t, 1);
            for d in tasks[t]["dependentTasks"].as_array().into_iter().flatten() {
                if !visit(d.as_str().unwrap_or(""), tasks, state) {
                    return false;
                }
            }
            state.insert(t, 2);
            true
        }
        for t in tasks.keys() {
            if !visit(t, &tasks, &mut state) {
                return Err(format!("{name}: a cycle through {t}"));
            }
        }
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

    /// Mutated examples and KFP pipelines never panic the KFP backend, and
    /// what it writes keeps the IR's structure.
    #[test]
    fn mutated_programs_compile_for_kfp_without_panics(which in proptest::prelude::any::<usize>(), mutations in proptest::collection::vec(common::mutate::mutation(), 1..6)) {
        let mut all = common::mutate::sources();
        all.extend(mlp_files(&root().join("tests/kfp")).into_iter().map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        }));
        let (path, text) = &all[which % all.len()];
        let mutated = mutations.iter().fold(text.clone(), |t, m| common::mutate::apply(&t, m));
        let analysis = mlpc::analyze("mutated.mlp", Some(path), mutated.as_bytes(), &mlpc::FsLoader);
        let Some(program) = analysis.program.as_ref() else { return Ok(()) };
        for p in &program.pipelines {
            let options = mlpc::emit::Options { pipeline: Some(p.name.to_string()), ..Default::default() };
            if let Some(Ok(Ok(doc))) = mlpc::kfp_document(&analysis, &options) {
                let yaml = doc.to_yaml().expect("writes YAML");
                let first = yaml.split("\n---\n").next().unwrap();
                let spec: serde_json::Value = serde_yaml::from_str(first).expect("parses back");
                proptest::prop_assert!(check_ir(&spec).is_ok(), "{:?}\n{}", check_ir(&spec), mutated);
            }
        }
    }
}

#[test]
fn the_structure_check_finds_what_it_looks_for() {
    // So the property test above can fail: a broken IR is caught.
    let path = root().join("tests/kfp/loops_and_groups.mlp");
    let ir = compile(&path).unwrap();
    let first = ir.split("\n---\n").next().unwrap();
    let spec: serde_json::Value = serde_yaml::from_str(first).unwrap();
    assert_eq!(check_ir(&spec), Ok(()));
    let mut broken = spec.clone();
    broken["root"]["dag"]["tasks"]["report"]["dependentTasks"] = serde_json::json!(["echo"]);
    assert!(check_ir(&broken).unwrap_err().contains("not a sibling"));
    let mut broken = spec;
    broken["components"]["comp-per-region"]["inputDefinitions"]["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("pipelinechannel--data-n");
    assert!(check_ir(&broken).unwrap_err().contains("is not an input"));
}
