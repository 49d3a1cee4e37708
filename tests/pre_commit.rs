//! The hooks of .pre-commit-hooks.yaml, run by the real `pre-commit`
//! (PyPI; .ci/run installs 4.7.0 in .venv-pre-commit) in a temporary git
//! repository whose .pre-commit-config.yaml names this repository as the
//! hooks' source, as the README shows: pre-commit builds mlpc from it with
//! `cargo install` (`language: rust`) and runs the hooks on `git commit`.
//!
//! The hooks come from this repository's HEAD commit (pre-commit checks
//! out a `rev`): commit a change to the hooks before running this.
//! Skips with a message without pre-commit; under CI it must run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn pre_commit() -> Option<PathBuf> {
    let path = std::env::var("MLPC_PRE_COMMIT").map_or_else(
        |_| root().join(".venv-pre-commit/bin/pre-commit"),
        Into::into,
    );
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "pre-commit must run in CI: {} is missing",
        path.display()
    );
    eprintln!(
        "SKIPPED: the pre-commit hooks: {} is missing",
        path.display()
    );
    None
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "mlpc tests")
        .env("GIT_AUTHOR_EMAIL", "tests@mlpc.invalid")
        .env("GIT_COMMITTER_NAME", "mlpc tests")
        .env("GIT_COMMITTER_EMAIL", "tests@mlpc.invalid")
        // pre-commit builds mlpc once per run of this test's cache: a
        // quick release build, its dependencies kept under target/.
        .env("PRE_COMMIT_HOME", root().join("target/pre-commit/home"))
        .env("CARGO_TARGET_DIR", root().join("target/pre-commit/build"))
        .env("CARGO_PROFILE_RELEASE_LTO", "off")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .output()
        .expect("git runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `git commit` of everything in `dir`; its output and whether it went in.
fn commit(dir: &Path, message: &str) -> (bool, String) {
    let add = git(dir, &["add", "-A"]);
    assert!(add.status.success(), "{}", text(&add));
    let out = git(dir, &["commit", "-q", "-m", message]);
    (out.status.success(), text(&out))
}

#[test]
fn the_hooks_pass_good_files_and_stop_bad_stale_and_unformatted_ones() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let head = git(&root(), &["rev-parse", "HEAD"]);
    assert!(head.status.success(), "{}", text(&head));
    let rev = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    assert!(git(repo, &["init", "-q"]).status.success());
    std::fs::create_dir_all(repo.join("pipelines")).unwrap();
    let (good, changed) = sweep_and_changed_sweep();
    std::fs::write(repo.join("pipelines/sweep.mlp"), &good).unwrap();
    let built = Command::new(mlpc_bin())
        .args(["build", "pipelines", "--out-dir", "compiled"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: mlpc-check\n      - id: mlpc-fmt\n      - id: mlpc-build-check\n        args: [pipelines, --out-dir, compiled]\n",
            root().display()
        ),
    )
    .unwrap();
    let install = Command::new(&pre_commit)
        .arg("install")
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));

    // A good pipeline with its compiled YAML up to date goes in (the first
    // commit builds mlpc).
    let (ok, out) = commit(repo, "a pipeline");
    assert!(ok, "the good commit was refused:\n{out}");
    assert!(
        out.contains("mlpc check") && out.contains("Passed"),
        "{out}"
    );

    // A file with an error: the commit stops, with the diagnostic.
    std::fs::write(repo.join("pipelines/bad.mlp"), BAD_PIPELINE).unwrap();
    let (ok, out) = commit(repo, "a bad pipeline");
    assert!(!ok, "a file with an error was committed:\n{out}");
    assert!(out.contains("mlp::E0101"), "no diagnostic in:\n{out}");
    std::fs::remove_file(repo.join("pipelines/bad.mlp")).unwrap();

    // A change to a pipeline without recompiling: its YAML is stale.
    std::fs::write(repo.join("pipelines/sweep.mlp"), &changed).unwrap();
    let (ok, out) = commit(repo, "a stale compiled file");
    assert!(!ok, "a stale compiled file was committed:\n{out}");
    assert!(out.contains("compiled/sweep.yaml is stale"), "{out}");
    assert!(
        out.contains("mlpc build pipelines --out-dir compiled"),
        "{out}"
    );
    let rebuilt = Command::new(mlpc_bin())
        .args(["build", "pipelines", "--out-dir", "compiled"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(rebuilt.status.success(), "{}", text(&rebuilt));
    let (ok, out) = commit(repo, "recompiled");
    assert!(ok, "the recompiled change was refused:\n{out}");

    // A library in a layout other than mlpc's: fmt rewrites it, the
    // commit stops until it is staged again.
    let messy = "template job   tidy {\n image = \"busybox:1.37\"\n    command = [\"true\"]\n}\n";
    std::fs::write(repo.join("pipelines/lib.mlp"), messy).unwrap();
    let (ok, out) = commit(repo, "an unformatted library");
    assert!(!ok, "an unformatted file was committed:\n{out}");
    assert!(out.contains("files were modified by this hook"), "{out}");
    let formatted = std::fs::read_to_string(repo.join("pipelines/lib.mlp")).unwrap();
    assert_ne!(formatted, messy);
    let (ok, out) = commit(repo, "formatted");
    assert!(ok, "the formatted file was refused:\n{out}");

    // A commit that only deletes a pipeline: pre-commit passes no file,
    // and the hook still runs (`always_run`) and finds the orphan.
    std::fs::remove_file(repo.join("pipelines/sweep.mlp")).unwrap();
    let (ok, out) = commit(repo, "a pipeline deleted, its YAML left");
    assert!(!ok, "an orphan compiled file was committed:\n{out}");
    assert!(
        out.contains("compiled/sweep.yaml is made by no pipeline"),
        "{out}"
    );
}
