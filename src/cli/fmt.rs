//! `mlpc fmt [PATH ...] [--check] [--diff]`: files are rewritten in place
//! (atomically, and only when they change); `--check` lists the files that
//! would change, `--diff` shows how, and neither writes; `-` formats
//! standard input to standard output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{print_diagnostics, Cli, Outcome, Stream};
use crate::diag::MlpError;
use crate::fmt::{self, FormatError};
use crate::source::{SourceFile, SourceId, Span};

pub(super) fn run(cli: &Cli, paths: &[PathBuf], check: bool, diff: bool) -> Outcome {
    if paths.iter().any(|p| p == Path::new("-")) {
        if paths.len() > 1 {
            eprintln!("mlpc: `-` (standard input) cannot be formatted with other paths");
            return Outcome::Failure;
        }
        return stdin(cli, check, diff);
    }
    let default = [PathBuf::from(".")];
    let roots = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut outcome = Outcome::Clean;
    for root in roots {
        let files = match mlp_files(root) {
            Ok(files) => files,
            Err(message) => {
                eprintln!("mlpc: {message}");
                outcome = outcome.worst(Outcome::Failure);
                continue;
            }
        };
        for file in files {
            outcome = outcome.worst(one_file(cli, &file, check, diff));
        }
    }
    outcome
}

/// `root` itself when it is a file; every `*.mlp` under it when it is a
/// folder, sorted (folders whose name starts with `.` are left out, and
/// links to folders are not followed).
pub(super) fn mlp_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(root)
        .map_err(|e| format!("cannot read {}: {}", root.display(), reason(&e)))?;
    if !meta.is_dir() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot read {}: {}", folder.display(), reason(&e)))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| format!("cannot read {}: {}", folder.display(), reason(&e)))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read {}: {}", path.display(), reason(&e)))?;
            if kind.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|x| x == "mlp")
                && (kind.is_file() || path.is_file())
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn one_file(cli: &Cli, path: &Path, check: bool, diff: bool) -> Outcome {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mlpc: cannot read {name}: {}", reason(&e));
            return Outcome::Failure;
        }
    };
    let (old, formatted) = match formatted(cli, &name, &bytes) {
        Ok(pair) => pair,
        Err(outcome) => return outcome,
    };
    if formatted == old {
        return Outcome::Clean;
    }
    if check || diff {
        report(&name, &old, &formatted, check, diff);
        return Outcome::Errors;
    }
    match super::write_atomically(path, &[formatted.as_str()]) {
        Ok(()) => Outcome::Clean,
        Err(e) => {
            eprintln!("mlpc: cannot write {name}: {e}");
            Outcome::Failure
        }
    }
}

fn stdin(cli: &Cli, check: bool, diff: bool) -> Outcome {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("mlpc: cannot read standard input: {e}");
        return Outcome::Failure;
    }
    let name = "<stdin>";
    let (old, formatted) = match formatted(cli, name, &bytes) {
        Ok(pair) => pair,
        Err(outcome) => return outcome,
    };
    if check || diff {
        if formatted == old {
            return Outcome::Clean;
        }
        report(name, &old, &formatted, check, diff);
        return Outcome::Errors;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(formatted.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("mlpc: cannot write to standard output: {e}");
            Outcome::Failure
        }
        _ => Outcome::Clean,
    }
}

/// The text and its formatting; or the diagnostics are printed and the
/// outcome returned.
fn formatted(cli: &Cli, name: &str, bytes: &[u8]) -> Result<(String, String), Outcome> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            let offset = e.valid_up_to();
            let file = SourceFile {
                name: name.to_string(),
                text: String::from_utf8_lossy(bytes).into(),
                path: None,
            };
            let d = MlpError::NotUtf8 {
                src: file.src(SourceId(0)),
                at: Span::new(SourceId(0), offset, offset + '\u{FFFD}'.len_utf8()),
                offset,
            };
            print_diagnostics(cli, &[&d], Stream::Stderr);
            // As in `check`: an input problem, not a program error.
            return Err(Outcome::Failure);
        }
    };
    match fmt::format_named(name, &text) {
        Ok(formatted) => Ok((text, formatted)),
        Err(FormatError::Syntax { diagnostics }) => {
            let all: Vec<&MlpError> = diagnostics.iter().collect();
            print_diagnostics(cli, &all, Stream::Stderr);
            eprintln!("mlpc: {name} is not formatted: fix its syntax first");
            Err(Outcome::Errors)
        }
        Err(e @ FormatError::Internal { .. }) => {
            eprintln!("mlpc: {name}: {e}; the file is left as it is (please report this)");
            Err(Outcome::Failure)
        }
    }
}

/// `--check`: `would reformat: NAME`; `--diff`: the unified diff. Both on
/// standard output.
fn report(name: &str, old: &str, new: &str, check: bool, diff: bool) {
    let mut text = String::new();
    if check {
        text.push_str(&format!("would reformat: {name}\n"));
    }
    if diff {
        text.push_str(&fmt::unified_diff(name, old, new));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
}
