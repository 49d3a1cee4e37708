//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod lsp_client;
pub mod mutate;
pub mod places;
pub mod yaml;

use std::path::{Path, PathBuf};

use mlpc::diag::render::{self, HumanOptions};
use mlpc::{analyze, Analysis, FsLoader, MlpError};

/// Snapshot settings for one suite: files under the top-level `snapshots/<suite>/`.
pub fn suite(name: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(name));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Analyses a file by its path relative to the crate root, as the CLI would.
pub fn analyze_file(relative: &Path) -> Analysis {
    let bytes = std::fs::read(root().join(relative)).expect("fixture is readable");
    let name = relative.to_string_lossy().replace('\\', "/");
    analyze(&name, Some(&root().join(relative)), &bytes, &FsLoader)
}

pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(root()).unwrap_or(path).to_path_buf()
}

pub fn diags(a: &Analysis) -> Vec<&MlpError> {
    a.diagnostics.items.iter().collect()
}

/// The human rendering, without colour, at a fixed width: stable for snapshots.
pub fn render_plain(a: &Analysis) -> String {
    render::human(
        &diags(a),
        HumanOptions {
            color: false,
            width: 80,
        },
    )
}

pub fn render_json(a: &Analysis) -> String {
    render::json(&diags(a))
}

/// `.mlp` files directly in a folder, sorted.
pub fn mlp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("folder exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlp"))
        .collect();
    files.sort();
    files
}

pub fn mlpc_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mlpc")
}

/// Compiles a file (relative to the crate root) that must check clean.
pub fn compile(relative: &Path, options: &mlpc::emit::Options) -> String {
    let analysis = analyze_file(relative);
    let program = analysis.program.as_ref().unwrap_or_else(|| {
        panic!(
            "{} has errors:\n{}",
            relative.display(),
            render_plain(&analysis)
        )
    });
    mlpc::yaml(program, options).expect("emits")
}

/// The YAML documents of a compiled file, as JSON values.
pub fn compile_docs(relative: &Path, options: &mlpc::emit::Options) -> Vec<serde_json::Value> {
    yaml::parse_documents(&compile(relative, options)).expect("the output parses back")
}

/// A Python that can `import {modules}`: the repository's `.venv` first,
/// then `python3`.
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let candidates = [root().join(".venv/bin/python"), PathBuf::from("python3")];
    candidates.into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", &format!("import {modules}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A Python with jsonschema and PyYAML for ../shared/tools/validate_argo.py.
pub fn validator_python() -> Option<PathBuf> {
    python_with("jsonschema, yaml")
}

/// A Python with PyYAML, or `None` (with a message saying what is skipped)
/// when there is none; in CI that is a failure, not a skip.
pub fn pyyaml_python(what: &str) -> Option<PathBuf> {
    let python = python_with("yaml");
    if python.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "{what} must run in CI: no Python with pyyaml (looked for .venv/bin/python and python3)"
        );
        eprintln!(
            "SKIPPED: {what}: no Python with pyyaml (looked for .venv/bin/python and python3)"
        );
    }
    python
}

/// `None` (with a message) when the validator cannot run here; in CI that
/// is a failure, not a skip.
pub fn validator() -> Option<(PathBuf, PathBuf)> {
    let script = root().join("../shared/tools/validate_argo.py");
    let python = validator_python();
    match (script.exists(), python) {
        (true, Some(py)) => Some((py, script)),
        (exists, py) => {
            let why = if !exists {
                "../shared/tools/validate_argo.py is not beside this checkout".to_string()
            } else {
                format!("no Python with jsonschema and pyyaml (looked for .venv/bin/python and python3; got {py:?})")
            };
            assert!(
                std::env::var("CI").is_err(),
                "the Argo validator must run in CI: {why}"
            );
            eprintln!("SKIPPED: the Argo conformance check: {why}");
            None
        }
    }
}

/// Runs ../shared/tools/validate_argo.py (`python`, `script`: from
/// [`validator`]) on `files` and asserts that it accepts every one.
pub fn assert_validator_accepts(python: &Path, script: &Path, files: &[PathBuf]) {
    let output = std::process::Command::new(python)
        .arg(script)
        .args(files)
        .output()
        .expect("the validator runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    let ok = report.lines().filter(|l| l.starts_with("OK ")).count();
    assert!(
        ok == files.len() && report.lines().all(|l| l.starts_with("OK ")),
        "validate_argo.py reported:\n{report}"
    );
}

/// Every diagnostic `mlpc compile` or `mlpc rbac` would print for a file:
/// the checker's, then (when it checks clean) those about the emitted
/// documents, then those of `rbac` (E0403).
///
/// A fixture whose first line is `# mlpc: --require-digests` is checked
/// with that policy, as the CLI flag does; one whose first line is
/// `# mlpc: --target kfp` is compiled for Kubeflow Pipelines instead.
pub fn compile_diagnostics(relative: &Path) -> (Analysis, Vec<MlpError>) {
    let mut analysis = analyze_file(relative);
    let text = std::fs::read_to_string(root().join(relative)).unwrap_or_default();
    if text.starts_with("# mlpc: --require-digests") {
        mlpc::sema::policy::require_digests(&mut analysis);
    }
    if text.starts_with("# mlpc: --target kfp") {
        let extra = match mlpc::kfp_document(&analysis, &Default::default()) {
            Some(Ok(Err(errors))) => errors,
            _ => Vec::new(),
        };
        return (analysis, extra);
    }
    let extra = match analysis.program.as_ref() {
        Some(program) => {
            let docs = mlpc::documents(program, &Default::default()).expect("emits");
            let mut extra = mlpc::emit::document_warnings(&analysis.sources, &docs);
            extra.extend(
                mlpc::emit::rbac::emit(program, &analysis.sources, &Default::default())
                    .expect("emits")
                    .errors,
            );
            extra
        }
        None => Vec::new(),
    };
    (analysis, extra)
}

pub fn all_of<'a>(analysis: &'a Analysis, extra: &'a [MlpError]) -> Vec<&'a MlpError> {
    analysis
        .diagnostics
        .items
        .iter()
        .chain(extra.iter())
        .collect()
}

/// A resource manifest as Argo substitutes it, then parsed: each
/// `{{=toJson(EXPR)}}` tag (see src/emit/lower/manifest.rs) is evaluated
/// the way expr does for what mlpc writes there — string literals and
/// names joined by `+` — over `values` (keys as Argo names them:
/// `inputs.parameters.storage_uri`, `workflow.uid`), and `toJson` writes
/// the result as a JSON string. A name without a value stays as its
/// placeholder text (`{{inputs.parameters.storage_uri}}`), so tests can
/// read what the manifest would take.
pub fn argo_manifest(
    text: &str,
    values: &std::collections::BTreeMap<String, String>,
) -> serde_json::Value {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{=toJson(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{=toJson(".len()..];
        let end = after.find(")}}").expect("closed tag");
        out.push_str(&serde_json::to_string(&eval_concat(&after[..end], values)).unwrap());
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    yaml::parse_documents(&out)
        .unwrap_or_else(|e| panic!("{e}:\n{out}"))
        .remove(0)
}

/// `'lit' + name + ...` with expr's string escapes.
fn eval_concat(expr: &str, values: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '+' => {}
            '\'' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\'' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('u' | 'U')) => {
                                let n = if e == 'u' { 4 } else { 8 };
                                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                                let code = u32::from_str_radix(&hex, 16).unwrap();
                                out.push(char::from_u32(code).unwrap());
                            }
                            Some(other) => out.push(other),
                            None => {}
                        },
                        other => out.push(other),
                    }
                }
            }
            first => {
                let mut name = String::from(first);
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                // `inputs.parameters['x']` is Argo's `inputs.parameters.x`.
                let key = name.replace("['", ".").replace("']", "");
                match values.get(&key) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&format!("{{{{{key}}}}}")),
                }
            }
        }
    }
    out
}

/// A compiled document's workflow spec (a CronWorkflow's `workflowSpec`).
pub fn spec(doc: &serde_json::Value) -> &serde_json::Value {
    doc["spec"].get("workflowSpec").unwrap_or(&doc["spec"])
}

/// The template `name` of a compiled document.
pub fn template<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    spec(doc)["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

/// The task `name` of a compiled document's entry DAG.
pub fn task<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let entry = spec(doc)["entrypoint"].as_str().unwrap();
    template(doc, entry)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name}"))
}

/// The first document a program without errors compiles to; its
/// diagnostics, rendered, when it has errors.
pub fn compile_clean(source: &str) -> serde_json::Value {
    let analysis = analyze("test.mlp", None, source.as_bytes(), &FsLoader);
    let program = analysis
        .program
        .as_ref()
        .unwrap_or_else(|| panic!("{}", render_plain(&analysis)));
    let yaml = mlpc::yaml(program, &Default::default()).unwrap();
    yaml::parse_documents(&yaml).unwrap().remove(0)
}

/// Runs the `mlpc` binary in the repository root, with plain, default
/// formatting whatever the caller's environment says.
pub fn run_mlpc(args: &[&str]) -> std::process::Output {
    std::process::Command::new(mlpc_bin())
        .args(args)
        .current_dir(root())
        .env_remove("MLPC_FORMAT")
        .env("NO_COLOR", "1")
        .output()
        .expect("mlpc runs")
}

/// A pipeline with an error (an unknown name, E0101, at line 4 column 24),
/// for the tests of the CI recipes (pre-commit, GitHub Actions).
pub const BAD_PIPELINE: &str = "pipeline bad {\n  prep p {\n    image = \"busybox:1.37\"\n    command = [\"echo\", missing]\n  }\n}\n";

/// examples/hyperparameter_sweep.mlp (pipeline `sweep`), and the same with
/// one parameter's default changed: it compiles to other bytes.
pub fn sweep_and_changed_sweep() -> (String, String) {
    let good = std::fs::read_to_string(root().join("examples/hyperparameter_sweep.mlp")).unwrap();
    let changed = good.replacen(
        "param mode: string = \"full\"",
        "param mode: string = \"quick\"",
        1,
    );
    assert_ne!(good, changed);
    (good, changed)
}

/// The documented outcome of a TrainJob step on each status fixture of
/// ../shared/reference/trainer-examples/status-fixtures/ (DISTRIBUTED.md
/// §1): tests/trainer.rs judges mlpc's conditions, tests/distributed.rs
/// the ones read back from the compiled YAML.
pub const TRAINJOB_VERDICTS: [(&str, &str); 9] = [
    ("tj-complete.json", "succeeded"),
    ("tj-created.json", "waiting"),
    ("tj-deadline.json", "failed"),
    ("tj-failed.json", "failed"),
    // Kueue: `[Suspended(False), Complete]` once resumed.
    ("tj-kq-complete.json", "succeeded"),
    ("tj-kq-failed.json", "failed"),
    ("tj-kq-running.json", "waiting"),
    ("tj-kq-suspended.json", "waiting"),
    ("tj-running.json", "waiting"),
];

/// The same for a PyTorchJob step.
pub const PYTORCHJOB_VERDICTS: [(&str, &str); 6] = [
    ("pt-created.json", "waiting"),
    // `completionTime` is set on failure too: the failure condition,
    // checked first, decides.
    ("pt-deadline.json", "failed"),
    ("pt-failed.json", "failed"),
    ("pt-restarting.json", "waiting"),
    ("pt-running.json", "waiting"),
    ("pt-succeeded.json", "succeeded"),
];
