//! A real editor drives `mlpc lsp`: `../shared/tools/nvim-lsp-probe/`
//! runs headless Neovim (its built-in LSP client) against the server, and
//! the diagnostics it receives equal `mlpc check --format json`'s (code,
//! line, column) on every example and every diagnostic fixture. Debian's
//! Neovim 0.7.2 speaks UTF-16; the pinned newer build (`.ci/run` installs
//! it) negotiates UTF-8: each client in `MLPC_NVIMS` (`:`-separated paths;
//! default `nvim`) runs every file. One file also takes the quick fix and
//! sees its diagnostic go.
//!
//! Without Neovim the test says so and passes, unless `MLPC_REQUIRE_NVIM`
//! is set (CI sets it), when a missing editor fails it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn probe_dir() -> PathBuf {
    root().join("../shared/tools/nvim-lsp-probe")
}

fn editors() -> Vec<String> {
    std::env::var("MLPC_NVIMS")
        .unwrap_or_else(|_| "nvim".into())
        .split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn available(nvim: &str) -> bool {
    Command::new(nvim)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The CLI's diagnostics of a file, in the root file, as the probe takes
/// them: `{code, line, column}` with 1-based character columns.
fn expected(rel: &Path) -> Value {
    let out = run_mlpc(&["check", "--format", "json", &rel.display().to_string()]);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = rel.display().to_string();
    Value::Array(
        all.as_array()
            .unwrap()
            .iter()
            .filter(|d| d["file"].as_str().is_none_or(|f| f == name))
            .map(|d| {
                json!({
                    "code": d["code"],
                    "line": d["start"]["line"].as_u64().unwrap_or(1),
                    "column": d["start"]["column"].as_u64().unwrap_or(1),
                })
            })
            .collect(),
    )
}

/// Runs the probe on `file` with `nvim`; its report.
fn probe(nvim: &str, file: &Path, steps: &str, expect: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(probe_dir().join("run.sh"))
        .arg(file)
        .env("NVIM", nvim)
        .env(
            "PROBE_SERVER_CMD",
            json!([env!("CARGO_BIN_EXE_mlpc"), "lsp"]).to_string(),
        )
        .env("PROBE_STEPS", steps)
        .env("PROBE_TIMEOUT_MS", "5000")
        .env("PROBE_COLUMN_UNIT", "char");
    if let Some(e) = expect {
        cmd.env("PROBE_EXPECT", e);
    }
    let out = cmd.output().expect("bash runs the probe");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

#[test]
fn a_real_editor_gets_the_clis_diagnostics() {
    let editors: Vec<String> = editors().into_iter().filter(|e| available(e)).collect();
    if editors.is_empty() {
        assert!(
            std::env::var_os("MLPC_REQUIRE_NVIM").is_none(),
            "MLPC_REQUIRE_NVIM is set and no Neovim runs ({:?})",
            std::env::var("MLPC_NVIMS")
        );
        eprintln!("no Neovim: the editor probe did not run (apt-get install neovim)");
        return;
    }
    assert!(
        probe_dir().join("run.sh").exists(),
        "../shared/tools/nvim-lsp-probe"
    );
    let mut files = mlp_files(&root().join("examples"));
    files.extend(mlp_files(&root().join("tests/fixtures/diagnostics")));
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut runs = 0;
    for path in &files {
        // Not UTF-8, or a NUL byte: an editor opens something else.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if text.contains('\0') {
            continue;
        }
        let rel = relative(path);
        let want = expected(&rel);
        // The probe waits for a first diagnostic: a clean file is the
        // in-process tests' (tests/lsp.rs).
        if want.as_array().is_none_or(|a| a.is_empty()) {
            continue;
        }
        let expect = scratch.path().join("expected.json");
        std::fs::write(&expect, want.to_string()).unwrap();
        for nvim in &editors {
            let (ok, report) = probe(nvim, path, "diagnostics", Some(&expect));
            runs += 1;
            if !ok {
                failures.push(format!("{nvim} {}:\n{report}", rel.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(runs >= 70, "{runs}");
}

/// The quick fix of a did-you-mean, applied by the editor, replaces the
/// name exactly and clears the diagnostic.
#[test]
fn a_real_editor_applies_the_quick_fix() {
    let editors: Vec<String> = editors().into_iter().filter(|e| available(e)).collect();
    if editors.is_empty() {
        assert!(std::env::var_os("MLPC_REQUIRE_NVIM").is_none());
        return;
    }
    let file = root().join("tests/fixtures/diagnostics/E0101_unknown_name.mlp");
    for nvim in &editors {
        // The probe's work dir is kept (KEEP=1) under a directory of ours.
        let scratch = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(probe_dir().join("run.sh"))
            .arg(&file)
            .env("NVIM", nvim)
            .env(
                "PROBE_SERVER_CMD",
                json!([env!("CARGO_BIN_EXE_mlpc"), "lsp"]).to_string(),
            )
            .env("PROBE_STEPS", "all")
            .env("PROBE_TIMEOUT_MS", "5000")
            .env("KEEP", "1")
            .env("TMPDIR", scratch.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let report = std::fs::read_dir(scratch.path())
            .unwrap()
            .map(|e| e.unwrap().path().join("out.json"))
            .find(|p| p.exists())
            .expect("the probe's out.json");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        let line = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .find(|l| l.contains("${learning_rat}"))
            .unwrap()
            .replace("${learning_rat}", "${learning_rate}");
        assert_eq!(
            report["applied"], "Change to `learning_rate`",
            "{nvim}: {report}"
        );
        assert_eq!(report["line_after_fix"], line.as_str(), "{nvim}: {report}");
        assert_eq!(
            report["diagnostics_after_fix"],
            json!([]),
            "{nvim}: {report}"
        );
    }
}
