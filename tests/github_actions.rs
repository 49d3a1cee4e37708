//! README.md's GitHub Actions recipe ("In CI and in production"), run as
//! the runner would: each `run:` line of the workflow but the install, by
//! `sh -e` in a repository of pipelines, with `GITHUB_ACTIONS=true` and
//! mlpc on the PATH; the annotations (workflow commands, `::error
//! file=...`) are what GitHub would show on the files.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// The `run:` lines of the README's workflow, without the install.
fn recipe() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("```yaml\n")
        .find(|b| b.starts_with("# .github/workflows/"))
        .and_then(|b| b.split("```").next())
        .expect("README.md has the GitHub Actions workflow");
    let workflow: serde_yaml::Value = serde_yaml::from_str(block).unwrap();
    let steps = workflow["jobs"]["mlpc"]["steps"].as_sequence().unwrap();
    let runs: Vec<String> = steps
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect();
    assert!(runs[0].starts_with("cargo install"), "{runs:?}");
    runs[1..].to_vec()
}

fn run_step(repo: &Path, step: &str) -> Output {
    let bin_dir = Path::new(mlpc_bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .args(["-e", "-c", step])
        .current_dir(repo)
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env_remove("MLPC_FORMAT")
        .output()
        .expect("sh runs")
}

fn annotations(o: &Output) -> Vec<String> {
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    text.lines()
        .filter(|l| l.starts_with("::"))
        .map(str::to_string)
        .collect()
}

fn git(repo: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_readme_recipe_annotates_errors_and_stale_files() {
    let steps = recipe();
    assert_eq!(steps.len(), 2, "{steps:?}");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("pipelines")).unwrap();
    let (good, changed) = sweep_and_changed_sweep();
    std::fs::write(repo.join("pipelines/sweep.mlp"), &good).unwrap();
    let built = Command::new(mlpc_bin())
        .args(["build", "pipelines", "--out-dir", "compiled"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(built.status.success());
    git(repo, &["add", "-A"]);

    // Up to date and clean: both steps pass, nothing to annotate.
    for step in &steps {
        let o = run_step(repo, step);
        assert!(o.status.success(), "{step}: {o:?}");
        assert!(annotations(&o).is_empty(), "{step}: {:?}", annotations(&o));
    }

    // An error: the check step fails with an annotation at the reference.
    std::fs::write(repo.join("pipelines/bad.mlp"), BAD_PIPELINE).unwrap();
    git(repo, &["add", "-A"]);
    let o = run_step(repo, &steps[0]);
    // Any failure fails the step (xargs reports mlpc's 1 as 123).
    assert!(!o.status.success(), "{o:?}");
    let got = annotations(&o);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("::error file=pipelines/bad.mlp,line=4,col=24,")
            && got[0].contains("title=mlpc (mlp%3A%3AE0101)::"),
        "{}",
        got[0]
    );
    // The build step stops on it too, writing nothing.
    let o = run_step(repo, &steps[1]);
    assert_eq!(o.status.code(), Some(1));
    assert!(annotations(&o).iter().any(|a| a.contains("E0101")));
    std::fs::remove_file(repo.join("pipelines/bad.mlp")).unwrap();
    git(repo, &["add", "-A"]);

    // A pipeline changed without recompiling, and a compiled file no
    // pipeline makes: one annotation on each file.
    std::fs::write(repo.join("pipelines/sweep.mlp"), &changed).unwrap();
    std::fs::write(repo.join("compiled/old.yaml"), "kind: Workflow\n").unwrap();
    let o = run_step(repo, &steps[1]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let got = annotations(&o);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("::error file=compiled/sweep.yaml,title=mlpc --check::compiled/sweep.yaml is stale (from pipelines/sweep.mlp); to update it: mlpc build --format github pipelines --out-dir compiled"),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("::error file=compiled/old.yaml,title=mlpc --check::compiled/old.yaml is made by no pipeline"),
        "{}",
        got[1]
    );
    // The check step still passes: the files check.
    assert!(run_step(repo, &steps[0]).status.success());
}
