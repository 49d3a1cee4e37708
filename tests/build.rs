//! `mlpc build`: every pipeline under the paths to `DIR/<pipeline>.yaml`,
//! libraries checked and not compiled, nothing written when a file has
//! an error; `--check` writes nothing and reports stale, missing and
//! orphan files.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn build(args: &[&str]) -> Output {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    run_mlpc(&all)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const JOB: &str = "  job a {\n    image = \"busybox:1.37\"\n    command = [\"true\"]\n  }\n";

fn pipeline(name: &str) -> String {
    format!("pipeline {name} {{\n{JOB}}}\n")
}

/// A temporary project: sources under `src`, output folder `out` (not
/// made), and both as arguments.
struct Project {
    _dir: tempfile::TempDir,
    src: std::path::PathBuf,
    out: std::path::PathBuf,
    s: String,
    o: String,
}

fn project(files: &[(&str, &str)]) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let out = dir.path().join("out");
    for (file, text) in files {
        write(&src.join(file), text);
    }
    let (s, o) = (src.display().to_string(), out.display().to_string());
    Project {
        _dir: dir,
        src,
        out,
        s,
        o,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_pipeline_of_nested_folders_and_libraries_only_checked() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let out = dir.path().join("out");
    write(&src.join("a.mlp"), &pipeline("alpha"));
    write(
        &src.join("deep/er/b.mlp"),
        &format!("{}\n{}", pipeline("beta"), pipeline("gamma")),
    );
    // A library: a template, no pipeline.
    write(
        &src.join("lib/steps.mlp"),
        "template job t {\n  image = \"busybox:1.37\"\n  command = [\"true\"]\n}\n",
    );
    let (s, o) = (src.display().to_string(), out.display().to_string());
    let r = build(&[&s, "--out-dir", &o]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(names(&out), ["alpha.yaml", "beta.yaml", "gamma.yaml"]);
    // Each file is what `compile --pipeline` writes.
    let one = run_mlpc(&[
        "compile",
        &src.join("deep/er/b.mlp").display().to_string(),
        "--pipeline",
        "gamma",
    ]);
    assert_eq!(std::fs::read(out.join("gamma.yaml")).unwrap(), one.stdout);
    // Up to date: 0; then stale, missing and orphan files: 1, nothing written.
    assert_eq!(
        build(&[&s, "--out-dir", &o, "--check"]).status.code(),
        Some(0)
    );
    std::fs::write(out.join("alpha.yaml"), "stale\n").unwrap();
    std::fs::remove_file(out.join("beta.yaml")).unwrap();
    std::fs::write(out.join("old.yaml"), "left over\n").unwrap();
    let r = build(&[&s, "--out-dir", &o, "--check"]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("alpha.yaml is stale"), "{err}");
    assert!(err.contains("beta.yaml is missing"), "{err}");
    assert!(err.contains("old.yaml is made by no pipeline"), "{err}");
    assert!(err.contains("to update them: mlpc build"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("alpha.yaml")).unwrap(),
        "stale\n"
    );
    assert!(!out.join("beta.yaml").exists());
    // KFP: one IR file per pipeline.
    let kfp = dir.path().join("kfp");
    let k = kfp.display().to_string();
    let r = build(&[&s, "--out-dir", &k, "--target", "kfp"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(names(&kfp), ["alpha.yaml", "beta.yaml", "gamma.yaml"]);
    assert!(std::fs::read_to_string(kfp.join("beta.yaml"))
        .unwrap()
        .contains("schemaVersion: 2.1.0"));
}

#[test]
fn an_error_anywhere_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let out = dir.path().join("out");
    write(&src.join("a.mlp"), &pipeline("alpha"));
    write(
        &src.join("b.mlp"),
        "pipeline beta {\n  job a {\n    image = nope\n  }\n}\n",
    );
    let (s, o) = (src.display().to_string(), out.display().to_string());
    let r = build(&[&s, "--out-dir", &o]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mlp::E") && err.contains("nothing written"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `files` (name, pipeline) under `src` build to an error naming `want`
/// and both files, and nothing is written.
fn duplicates_fail(files: [(&str, &str); 2], want: &str) {
    let texts = files.map(|(f, name)| (f, pipeline(name)));
    let p = project(&texts.each_ref().map(|(f, t)| (*f, t.as_str())));
    let (out, s, o) = (&p.out, &p.s, &p.o);
    let r = build(&[s, "--out-dir", o]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains(want) && files.iter().all(|(f, _)| err.contains(f)),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn two_pipelines_with_one_name_are_an_error_naming_both_files() {
    duplicates_fail(
        [("a.mlp", "same"), ("b/c.mlp", "same")],
        "two pipelines are named `same`",
    );
    // `Churn` and `churn` are one object to Argo CD (the name is lowered)
    // and one file on a case-insensitive file system.
    duplicates_fail(
        [("a.mlp", "Churn"), ("b.mlp", "churn")],
        "pipelines `Churn` and `churn` are both `churn` in Kubernetes",
    );
}

/// A file met through two overlapping roots is one file, not a duplicate.
#[test]
fn a_file_under_two_roots_counts_once() {
    let p = project(&[
        ("a.mlp", &pipeline("alpha")),
        ("x/one.mlp", &pipeline("one")),
    ]);
    let (out, s, o) = (&p.out, &p.s, &p.o);
    // Not `src/./x`: Path's own comparison already takes that for `src/x`.
    let overlapping = format!("{s}/../src/x");
    let r = build(&[s, &overlapping, "--out-dir", o]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(names(out), ["alpha.yaml", "one.yaml"]);
}

/// `--check` names an orphan (`.yaml` or `.yml`) and says to delete it:
/// `build` never deletes, so "run build" would not clear it.
#[test]
fn an_orphan_is_for_the_user_to_delete() {
    let p = project(&[("a.mlp", &pipeline("alpha"))]);
    let (out, s, o) = (&p.out, p.s.as_str(), p.o.as_str());
    assert_eq!(build(&[s, "--out-dir", o]).status.code(), Some(0));
    std::fs::write(out.join("old.yml"), "left over\n").unwrap();
    let r = build(&[s, "--out-dir", o, "--check"]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("old.yml is made by no pipeline: delete it"),
        "{err}"
    );
    assert!(!err.contains("to update them"), "{err}");
}

/// Written files get the permissions a shell's `>` would give (the
/// umask's), not the temporary file's 0600; a rewritten file keeps its own.
#[cfg(unix)]
#[test]
fn written_files_have_the_umasks_permissions_or_their_own() {
    use std::os::unix::fs::PermissionsExt;
    let p = project(&[("a.mlp", &pipeline("alpha"))]);
    let (src, out, s, o) = (&p.src, &p.out, p.s.as_str(), p.o.as_str());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Under a known umask (set by a shell for mlpc alone), each new file
    // gets 0666 less the umask, whatever this process's umask is.
    for (umask, want) in [("022", 0o644), ("027", 0o640)] {
        let _ = std::fs::remove_dir_all(out);
        let status = std::process::Command::new("/bin/sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .args([mlpc_bin(), "build", s, "--out-dir", o])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(mode(&out.join("alpha.yaml")), want, "umask {umask}");
    }
    // An existing file's own permissions survive a rewrite, by build and
    // by compile -o.
    let file = out.join("alpha.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    write(
        &src.join("a.mlp"),
        &pipeline("alpha").replace("true", "false"),
    );
    assert_eq!(build(&[s, "--out-dir", o]).status.code(), Some(0));
    assert_eq!(mode(&file), 0o604);
    let f = file.display().to_string();
    let src_file = src.join("a.mlp").display().to_string();
    assert_eq!(
        run_mlpc(&["compile", &src_file, "-o", &f]).status.code(),
        Some(0)
    );
    assert_eq!(mode(&file), 0o604);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out").display().to_string();
    let r = build(&["no/such/folder", "--out-dir", &o]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let r = build(&[
        "examples",
        "--out-dir",
        &o,
        "--target",
        "kfp",
        "--kind",
        "workflow-template",
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    // No --out-dir.
    assert_eq!(build(&["examples"]).status.code(), Some(2));
}

/// The same sources give the same bytes whatever the working directory
/// and wherever the checkout lies (no path, time or host in the output),
/// so Argo CD sees no drift between CI machines.
#[test]
fn output_is_the_same_from_any_folder_and_checkout_path() {
    fn copy(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else if path.extension().is_some_and(|x| x == "mlp") {
                write(&target, &std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let examples = root().join("examples");
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    copy(&examples, &a.path().join("examples"));
    copy(&examples, &b.path().join("some/deeper/checkout/examples"));
    // KFP refuses four examples (E0501): it builds the others.
    let kfp = [
        "champion_challenger",
        "hyperparameter_sweep",
        "sweep_and_promote",
        "terraform_optimization",
    ];
    for target in ["argo", "kfp"] {
        let sources = |base: &str| -> Vec<String> {
            match target {
                "kfp" => kfp.iter().map(|n| format!("{base}/{n}.mlp")).collect(),
                _ => vec![base.to_string()],
            }
        };
        // Relative paths, from the copy's own folder.
        let r = std::process::Command::new(mlpc_bin())
            .arg("build")
            .args(sources("examples"))
            .args(["--out-dir", "out", "--target", target])
            .current_dir(a.path())
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
        // Absolute paths, from elsewhere.
        let out_b = b.path().join("out");
        let base = b.path().join("some/deeper/checkout/examples");
        let mut args = vec!["build".to_string()];
        args.extend(sources(&base.display().to_string()));
        args.extend(["--out-dir".into(), out_b.display().to_string()]);
        args.extend(["--target".into(), target.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r2 = run_mlpc(&args);
        assert_eq!(r2.status.code(), Some(0), "{}", stderr(&r2));
        let (da, db) = (a.path().join("out"), out_b);
        assert_eq!(names(&da), names(&db));
        assert!(names(&da).len() >= 4, "{target}: {:?}", names(&da));
        for n in names(&da) {
            assert_eq!(
                std::fs::read(da.join(&n)).unwrap(),
                std::fs::read(db.join(&n)).unwrap(),
                "{target} {n}"
            );
        }
        let _ = std::fs::remove_dir_all(&da);
        let _ = std::fs::remove_dir_all(db);
    }
}

/// No mlpc version in any output unless `--stamp` asks for it: a new
/// release alone must not change committed files (#19, GitOps).
#[test]
fn the_version_is_written_only_with_stamp() {
    let version = env!("CARGO_PKG_VERSION");
    let dir = tempfile::tempdir().unwrap();
    for target in ["argo", "kfp"] {
        let out = dir.path().join(target);
        let o = run_mlpc(&[
            "build",
            "examples",
            "--target",
            target,
            "--out-dir",
            out.to_str().unwrap(),
        ]);
        // `--target kfp` refuses some examples: build then writes nothing.
        let examples = if o.status.success() {
            out.clone()
        } else {
            let one = dir.path().join(format!("{target}-one"));
            let o = run_mlpc(&[
                "build",
                "examples/terraform_optimization.mlp",
                "--target",
                target,
                "--out-dir",
                one.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            one
        };
        for entry in std::fs::read_dir(&examples).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(
                !text.contains(&format!("mlpc-{version}"))
                    && !text.contains(&format!("mlpc/{version}"))
            );
        }
    }
    let o = run_mlpc(&[
        "compile",
        "--stamp",
        "--target",
        "kfp",
        "examples/terraform_optimization.mlp",
    ]);
    assert!(o.status.success());
    let stamped = String::from_utf8_lossy(&o.stdout);
    assert!(
        stamped.contains(&format!("sdkVersion: mlpc-{version}")),
        "{stamped}"
    );
    let o = run_mlpc(&[
        "compile",
        "--target",
        "kfp",
        "examples/terraform_optimization.mlp",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("sdkVersion: mlpc\n"));
}
