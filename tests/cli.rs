//! The binary as users and CI run it: exit codes, formats, explain.

mod common;

use std::process::{Command, Output};

use common::*;

fn mlpc(args: &[&str]) -> std::process::Output {
    run_mlpc(args)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn examples_exit_0() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let o = mlpc(&["check", rel.to_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}:\n{}", rel.display(), stderr(&o));
    }
}

#[test]
fn every_fixture_fails_with_exit_1_and_json_points_at_the_marked_line() {
    for path in mlp_files(&root().join("tests/fixtures/diagnostics")) {
        let rel = relative(&path);
        let name = path.file_name().unwrap().to_string_lossy();
        let code_short = name.split('_').next().unwrap();
        let expected_exit = match code_short {
            "E0006" => 2, // not UTF-8: an input problem, not a program error
            c if c.starts_with('W') => 0,
            _ => 1,
        };
        // W04xx are about the emitted YAML: `compile` raises them; E0403
        // only `rbac` does.
        let command = if code_short.starts_with("W04") {
            "compile"
        } else if code_short == "E0403" {
            "rbac"
        } else {
            "check"
        };
        // A fixture's first-line directive is a flag, as tests/common reads it.
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let kfp = text.starts_with("# mlpc: --target kfp");
        let command = if kfp { "compile" } else { command };
        let mut args = vec![command, "--format", "json", rel.to_str().unwrap()];
        if text.starts_with("# mlpc: --require-digests") {
            args.insert(0, "--require-digests");
        }
        if kfp {
            args.extend(["--target", "kfp"]);
        }
        let o = mlpc(&args);
        assert_eq!(
            code(&o),
            expected_exit,
            "{}:\n{}",
            rel.display(),
            stderr(&o)
        );
        // `check` writes machine formats to stdout; `compile` and `rbac`
        // (whose stdout is YAML) write diagnostics to stderr.
        let text = if command == "check" {
            stdout(&o)
        } else {
            stderr(&o)
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).expect("--format json prints JSON");
        let wanted = format!("mlp::{code_short}");
        let hit = json
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == wanted.as_str())
            .expect("the fixture's code");
        for label in hit["labels"].as_array().unwrap() {
            assert!(
                label["start"]["line"].as_u64().unwrap() >= 1
                    && label["start"]["column"].as_u64().unwrap() >= 1
            );
        }
        let line = hit["start"]["line"].as_u64().unwrap() as usize;
        let file = hit["file"].as_str().unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(root().join(file)).unwrap()).into_owned();
        assert!(
            text.lines()
                .nth(line - 1)
                .unwrap()
                .contains(&format!("<- {code_short}")),
            "{}: the JSON label points at line {line}, not the marked line",
            rel.display()
        );
    }
}

#[test]
fn deny_warnings_fails_on_warnings() {
    let o = mlpc(&["check", "examples/terraform_optimization.mlp"]);
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("W0201"));
    let o = mlpc(&[
        "--deny-warnings",
        "check",
        "examples/terraform_optimization.mlp",
    ]);
    assert_eq!(code(&o), 1);
}

#[test]
fn io_and_usage_errors_exit_2() {
    let o = mlpc(&["check", "no/such/file.mlp"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("cannot read no/such/file.mlp: no such file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&mlpc(&["check"])),
        2,
        "a missing argument is a usage error"
    );
    assert_eq!(code(&mlpc(&["frobnicate"])), 2);
    assert_eq!(code(&mlpc(&["check", "--format", "xml", "x.mlp"])), 2);
    // A readable file and a missing one: the run is an I/O failure.
    let o = mlpc(&["check", "examples/churn_model.mlp", "missing.mlp"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn formats() {
    let f = "tests/fixtures/diagnostics/E0101_unknown_name.mlp";
    let short = stdout(&mlpc(&["check", "--format", "short", f]));
    assert_eq!(
        short.trim(),
        "tests/fixtures/diagnostics/E0101_unknown_name.mlp:6:33: error mlp::E0101: unknown name `learning_rat`"
    );
    let github = stdout(&mlpc(&["check", "--format", "github", f]));
    assert!(
        github.starts_with("::error file=tests/fixtures/diagnostics/E0101_unknown_name.mlp,line=6,col=33,endLine=6,endColumn=45,title=mlpc (mlp%3A%3AE0101)::unknown name `learning_rat`%0Ahelp: did you mean `learning_rate`?"),
        "{github}"
    );
    let human = stderr(&mlpc(&["check", f]));
    assert!(human.contains("mlp::E0101") && human.contains("did you mean `learning_rate`?"));
    assert!(
        !human.contains('\u{1b}'),
        "no colour when NO_COLOR is set or stderr is not a terminal"
    );
    let coloured = stderr(&mlpc(&["check", "--color", "always", f]));
    assert!(coloured.contains('\u{1b}'));
    let env_format = Command::new(mlpc_bin())
        .args(["check", f])
        .current_dir(root())
        .env("MLPC_FORMAT", "short")
        .output()
        .unwrap();
    assert!(stdout(&env_format).starts_with("tests/fixtures/diagnostics/E0101"));
    // Human diagnostics stay on stderr; `compile` keeps every format there.
    let human_out = mlpc(&["check", f]);
    assert!(stdout(&human_out).is_empty());
    let compiled = mlpc(&["compile", "--format", "json", f]);
    assert!(stdout(&compiled).is_empty());
    assert!(stderr(&compiled).contains("mlp::E0101"));
}

#[test]
fn clean_json_is_an_empty_array() {
    let o = mlpc(&["check", "--format", "json", "examples/churn_model.mlp"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o).trim(), "[]");
}

#[test]
fn stdin_is_read_with_dash() {
    use std::io::Write;
    let mut child = Command::new(mlpc_bin())
        .args(["check", "--format", "short", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"pipeline p {\n  prep a { imag = \"x:1\" }\n}\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).starts_with("<stdin>:2:12: error mlp::E0201"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn explain() {
    let o = mlpc(&["explain", "E0301"]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("mlp::E0301: dependency cycle"), "{out}");
    assert_eq!(code(&mlpc(&["explain", "mlp::e0101"])), 0);
    let o = mlpc(&["explain", "E0302"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown code"));
    let all = mlpc(&["explain"]);
    assert_eq!(code(&all), 0);
    let listed = String::from_utf8_lossy(&all.stdout).lines().count();
    assert_eq!(listed, mlpc::diag::codes::CODES.len());
    for c in mlpc::diag::codes::CODES {
        assert_eq!(code(&mlpc(&["explain", c.code])), 0, "{}", c.code);
    }
}

#[test]
fn version_and_help() {
    let v = mlpc(&["--version"]);
    assert_eq!(code(&v), 0);
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("mlpc "));
    let h = mlpc(&["--help"]);
    assert_eq!(code(&h), 0);
    let help = String::from_utf8_lossy(&h.stdout);
    assert!(
        help.contains("Examples:")
            && help.contains("mlpc check examples/terraform_optimization.mlp")
    );
}

#[test]
fn compile_writes_yaml_to_stdout_or_a_file() {
    let o = mlpc(&["compile", "examples/churn_model.mlp"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout)
        .starts_with("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wf.yaml");
    let o = mlpc(&[
        "compile",
        "examples/churn_model.mlp",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("kind: Workflow"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left behind: {leftovers:?}"
    );
}

#[test]
fn compile_with_errors_exits_1_and_leaves_the_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wf.yaml");
    std::fs::write(&out, "previous content\n").unwrap();
    let o = mlpc(&[
        "compile",
        "tests/fixtures/diagnostics/E0101_unknown_name.mlp",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous content\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn compile_usage_and_io_errors_exit_2() {
    let o = mlpc(&[
        "compile",
        "examples/churn_model.mlp",
        "-o",
        "/nonexistent-dir/wf.yaml",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("cannot write /nonexistent-dir/wf.yaml"),
        "{}",
        stderr(&o)
    );
    let o = mlpc(&["compile", "examples/churn_model.mlp", "--pipeline", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no pipeline named `nope`; the file has: churn_model"));
    let o = mlpc(&["compile", "examples/lib/shared_steps.mlp"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no pipeline to compile"));
    assert_eq!(
        code(&mlpc(&[
            "compile",
            "examples/churn_model.mlp",
            "--kind",
            "pod"
        ])),
        2
    );
}

#[test]
fn oversized_workflow_warns_and_deny_warnings_writes_nothing() {
    let f = "tests/fixtures/diagnostics/W0401_workflow_too_large.mlp";
    let o = mlpc(&["compile", "--format", "short", f]);
    assert_eq!(code(&o), 0);
    assert!(o.stdout.len() > 1024 * 1024);
    assert!(
        stderr(&o).contains("warning mlp::W0401: the workflow for `big_sweep` is"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wf.yaml");
    let o = mlpc(&["--deny-warnings", "compile", f, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(!out.exists());
}

#[test]
fn deny_warnings_stops_compile() {
    let o = mlpc(&[
        "--deny-warnings",
        "compile",
        "examples/terraform_optimization.mlp",
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
}

/// `compile -o OUT --check`: exit 0 when OUT is what the compilation gives,
/// 1 (with a diff and the command that updates it) when it is stale or
/// missing, 2 when it cannot be read or there is no `-o`; never writes.
#[test]
fn compile_check_compares_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flagship.yaml");
    let out_s = out.display().to_string();
    let src = "examples/terraform_optimization.mlp";
    let check = |extra: &[&str]| {
        let mut args = vec!["compile", src, "-o", out_s.as_str(), "--check"];
        args.extend_from_slice(extra);
        mlpc(&args)
    };
    // Missing: 1, and still missing.
    let o = check(&[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("is missing"), "{}", stderr(&o));
    assert!(!out.exists());
    // Up to date: 0, untouched.
    assert_eq!(code(&mlpc(&["compile", src, "-o", &out_s])), 0);
    let written = std::fs::read(&out).unwrap();
    let modified = std::fs::metadata(&out).unwrap().modified().unwrap();
    let o = check(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), written);
    assert_eq!(
        std::fs::metadata(&out).unwrap().modified().unwrap(),
        modified
    );
    // Stale: 1, a diff with line numbers, the command, the file as it was.
    let stale =
        String::from_utf8(written.clone())
            .unwrap()
            .replacen("cost_optimization", "cost", 1);
    std::fs::write(&out, &stale).unwrap();
    let o = check(&[]);
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("is stale"), "{err}");
    assert!(
        err.contains("@@ -") && err.contains("-      value: cost\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!("to update it: mlpc compile {src} -o {out_s}\n")),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), stale);
    // The KFP target compares its own output.
    let o = check(&["--target", "kfp"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        code(&mlpc(&["compile", src, "-o", &out_s, "--target", "kfp"])),
        0
    );
    assert_eq!(code(&check(&["--target", "kfp"])), 0);
    // Unreadable (a directory): 2. No `-o`: 2.
    let o = mlpc(&[
        "compile",
        src,
        "-o",
        dir.path().to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(code(&mlpc(&["compile", src, "--check"])), 2);
    // Errors in the input: 1, and nothing compared or written.
    let o = mlpc(&[
        "compile",
        "tests/fixtures/diagnostics/E0101_unknown_name.mlp",
        "-o",
        &out_s,
        "--check",
    ]);
    assert_eq!(code(&o), 1);
    assert!(!stderr(&o).contains("stale"), "{}", stderr(&o));
}

/// The GitHub Actions recipe checks every tracked `.mlp`, so a library is
/// checked alone and through the file importing it: its error is one
/// annotation, on the path the repository knows (`shared/lib.mlp`, not
/// `pipelines/../shared/lib.mlp`).
#[test]
fn an_imported_files_error_is_one_annotation_on_its_own_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::create_dir_all(dir.path().join("shared")).unwrap();
    std::fs::write(
        dir.path().join("shared/lib.mlp"),
        "template job t {\n  image = \"busybox:1.37\"\n  command = [\"true\"]\n  bogus = 1\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pipelines/main.mlp"),
        "import \"../shared/lib.mlp\"\n\npipeline p {\n  job a uses lib.t {\n  }\n}\n",
    )
    .unwrap();
    // As `git ls-files` names them, as `find .` does, and `build --check`.
    for args in [
        &["check", "pipelines/main.mlp", "shared/lib.mlp"][..],
        &["check", "./pipelines/main.mlp", "./shared/lib.mlp"],
        &["build", "--check", ".", "--out-dir", "compiled"],
    ] {
        let o = Command::new(mlpc_bin())
            .args(args)
            .args(["--format", "github"])
            .current_dir(dir.path())
            .env("GITHUB_ACTIONS", "true")
            .output()
            .unwrap();
        assert_eq!(code(&o), 1);
        let text = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
        let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(annotations.len(), 1, "{args:?}: {text}");
        assert!(
            annotations[0].starts_with("::error file=shared/lib.mlp,line=4,col=3"),
            "{args:?}: {text}"
        );
    }
}
