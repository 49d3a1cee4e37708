//! I/O failures give exit 2, a clear message, and never a partial or
//! stray output file. A full disk and a read-only filesystem are made with
//! a tmpfs inside a private mount namespace (root only; skipped elsewhere,
//! required under CI).

mod common;

use std::process::Command;

use common::*;

fn mlpc_in_namespace(
    mount_options: &str,
    dir: &std::path::Path,
    setup: &str,
    args: &str,
) -> (i32, String, String) {
    // One shell inside its own mount namespace: mount, prepare, run mlpc, list.
    let script = format!(
        "mount -t tmpfs -o {mount_options} tmpfs '{d}' || exit 99\n{setup}\n'{bin}' {args} 2>'{d}.err'; echo \"rc=$?\"; ls -A '{d}'; cat '{d}/wf.yaml' 2>/dev/null | head -c 40",
        d = dir.display(),
        bin = mlpc_bin(),
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ])
        .current_dir(root())
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = std::fs::read_to_string(format!("{}.err", dir.display())).unwrap_or_default();
    let rc = stdout
        .lines()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(if out.status.code() == Some(99) {
            99
        } else {
            -1
        });
    (rc, stdout, stderr)
}

fn can_mount() -> bool {
    let ok = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "mount -t tmpfs tmpfs /mnt",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "the I/O failure tests need mount namespaces in CI (run as root)"
        );
        eprintln!("SKIPPED: no mount namespace here (not root?)");
    }
    ok
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_old_output() {
    if !can_mount() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("full");
    std::fs::create_dir(&dir).unwrap();
    // 16 KiB: room for the old file, not for the new workflow (~40 KiB).
    let (rc, listing, err) = mlpc_in_namespace(
        "size=16k",
        &dir,
        &format!("printf 'old content\\n' > '{}/wf.yaml'", dir.display()),
        &format!(
            "compile examples/churn_model.mlp -o '{}/wf.yaml'",
            dir.display()
        ),
    );
    assert_eq!(rc, 2, "{listing}\n{err}");
    assert!(
        err.contains("cannot write") && err.contains("No space left on device"),
        "{err}"
    );
    // The temporary file is mlpc's business, not the user's.
    assert!(!err.contains(".mlpc-"), "{err}");
    let files: Vec<&str> = listing.lines().filter(|l| !l.starts_with("rc=")).collect();
    assert_eq!(
        files,
        ["wf.yaml", "old content"],
        "the old file is intact and no temporary file is left"
    );
}

#[test]
fn a_read_only_filesystem_fails_cleanly() {
    if !can_mount() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let (rc, listing, err) = mlpc_in_namespace(
        "ro,size=1m",
        &dir,
        "",
        &format!(
            "compile examples/churn_model.mlp -o '{}/wf.yaml'",
            dir.display()
        ),
    );
    assert_eq!(rc, 2, "{listing}\n{err}");
    assert!(
        err.contains("cannot write") && err.contains("Read-only file system"),
        "{err}"
    );
    assert_eq!(
        listing.lines().filter(|l| !l.starts_with("rc=")).count(),
        0,
        "nothing written: {listing}"
    );
}

#[test]
fn unreadable_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(mlpc_bin())
        .args(["check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("it is a directory"));
    let o = Command::new(mlpc_bin())
        .args(["compile", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// `-o` into a folder that does not exist: exit 2, naming the file asked
/// for and the OS's reason, not the temporary file mlpc writes first.
#[cfg(unix)]
#[test]
fn an_output_in_a_missing_folder_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no-such-folder/flagship.yaml");
    let o = Command::new(mlpc_bin())
        .args(["compile", "examples/terraform_optimization.mlp", "-o"])
        .arg(&out)
        .current_dir(common::root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot write {}: No such file or directory",
            out.display()
        )),
        "{err}"
    );
    assert!(!err.contains(".mlpc-"), "{err}");
}
