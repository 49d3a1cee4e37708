//! `mlpc build [PATH ...] --out-dir DIR [--target] [--kind] [--check]`:
//! every pipeline of every `.mlp` under the paths, compiled to
//! `DIR/<pipeline>.yaml`, for a repository whose compiled files are
//! committed (GitOps) or checked in CI. All files are checked first, and
//! nothing is written when any has an error; `--check` writes nothing and
//! says which files are stale, missing or made by no pipeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::{Cli, KindArg, TargetArg};
use super::{
    analyze_path, print_diagnostics, report_out_of_date, write_atomically, Outcome, Stream,
};
use crate::emit::Options;
use crate::sema::k8s;
use crate::MlpError;

/// One compiled pipeline: the file it comes from, its name and its text.
struct Made {
    source: PathBuf,
    pipeline: String,
    text: String,
}

pub(super) fn run(
    cli: &Cli,
    paths: &[PathBuf],
    out_dir: &Path,
    target: TargetArg,
    kind: KindArg,
    check: bool,
) -> Outcome {
    if matches!(target, TargetArg::Kfp) && kind != KindArg::Workflow {
        eprintln!("mlpc: `--kind` is for `--target argo`: a Kubeflow Pipelines IR file is a pipeline, which KFP runs or schedules itself");
        return Outcome::Failure;
    }
    let roots = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in &roots {
        match super::fmt::mlp_files(root) {
            Ok(found) => files.extend(found),
            Err(message) => {
                eprintln!("mlpc: {message}");
                return Outcome::Failure;
            }
        }
    }
    // One file met through two roots (`src ./src/a`) or a link is one file.
    files.sort();
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let mut outcome = Outcome::Clean;
    let mut made: BTreeMap<String, Made> = BTreeMap::new();
    // Every file's diagnostics, printed together (one JSON array).
    let mut analyses = Vec::new();
    let mut extras = Vec::new();
    for file in &files {
        match analyze_path(cli, file) {
            Ok(analysis) => {
                let (o, extra) = compile_file(cli, &analysis, file, target, kind, &mut made);
                outcome = outcome.worst(o);
                analyses.push(analysis);
                extras.push(extra);
            }
            Err(message) => {
                eprintln!("mlpc: {message}");
                outcome = outcome.worst(Outcome::Failure);
            }
        }
    }
    let all: Vec<&MlpError> = super::said_once(
        analyses
            .iter()
            .zip(&extras)
            .flat_map(|(a, extra)| a.diagnostics.items.iter().chain(extra.iter())),
    );
    for d in &all {
        outcome = outcome.worst(if d.is_io() {
            Outcome::Failure
        } else if d.is_error() {
            Outcome::Errors
        } else {
            Outcome::Warnings
        });
    }
    print_diagnostics(cli, &all, Stream::Stderr);
    if matches!(outcome, Outcome::Errors | Outcome::Failure) {
        eprintln!("mlpc: nothing written: fix the errors above first");
        return outcome;
    }
    if cli.deny_warnings && matches!(outcome, Outcome::Warnings) {
        return Outcome::Errors;
    }
    if check {
        return outcome.worst(compare(cli, out_dir, &made));
    }
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        eprintln!("mlpc: cannot make {}: {e}", out_dir.display());
        return Outcome::Failure;
    }
    for (name, m) in &made {
        let path = out_dir.join(format!("{name}.yaml"));
        if let Err(e) = write_atomically(&path, &[m.text.as_str()]) {
            eprintln!("mlpc: cannot write {}: {e}", path.display());
            return Outcome::Failure;
        }
    }
    outcome
}

/// Compiles each pipeline of a checked file into `made`; the diagnostics
/// its compilation adds (documents' warnings, what KFP cannot say).
fn compile_file(
    cli: &Cli,
    analysis: &crate::Analysis,
    file: &Path,
    target: TargetArg,
    kind: KindArg,
    made: &mut BTreeMap<String, Made>,
) -> (Outcome, Vec<MlpError>) {
    let mut outcome = Outcome::Clean;
    let mut extra = Vec::new();
    // A file that did not check has no program; its diagnostics say why.
    let Some(program) = analysis.program.as_ref() else {
        return (outcome, extra);
    };
    for pipeline in &program.pipelines {
        let options = Options {
            kind: kind.into(),
            pipeline: Some(pipeline.name.to_string()),
            stamp: cli.stamp,
        };
        let text = match target {
            TargetArg::Argo => match crate::compile(analysis, &options).map(|c| c.output) {
                Some(Ok(compiled)) => {
                    extra.extend(compiled.warnings);
                    Some(crate::emit::stream_pieces(&compiled.documents).concat())
                }
                Some(Err(e)) => {
                    eprintln!("mlpc: {}: {e}", file.display());
                    outcome = outcome.worst(Outcome::Failure);
                    None
                }
                None => None,
            },
            TargetArg::Kfp => match crate::kfp_document(analysis, &options) {
                Some(Ok(Ok(document))) => match document.to_yaml() {
                    Ok(text) => Some(text),
                    Err(e) => {
                        eprintln!("mlpc: internal error: {e}");
                        outcome = outcome.worst(Outcome::Failure);
                        None
                    }
                },
                Some(Ok(Err(errors))) => {
                    extra.extend(errors);
                    None
                }
                Some(Err(e)) => {
                    eprintln!("mlpc: {}: {e}", file.display());
                    outcome = outcome.worst(Outcome::Failure);
                    None
                }
                None => None,
            },
        };
        let Some(text) = text else { continue };
        let name = pipeline.name.to_string();
        // Keyed by the Kubernetes name: `Churn` and `churn` are one object
        // to Argo CD, and one file on a case-insensitive file system.
        if let Some(other) = made
            .values()
            .find(|m| k8s::dns_name(&m.pipeline) == pipeline.dns_name)
        {
            let both = if other.pipeline == name {
                format!("two pipelines are named `{name}`")
            } else {
                format!(
                    "pipelines `{}` and `{name}` are both `{}` in Kubernetes",
                    other.pipeline, pipeline.dns_name
                )
            };
            eprintln!(
                "mlpc: {both}: in {} and in {}; each needs a name of its own in the output folder",
                other.source.display(),
                file.display()
            );
            outcome = outcome.worst(Outcome::Errors);
            continue;
        }
        made.insert(
            name.clone(),
            Made {
                source: file.to_path_buf(),
                pipeline: name,
                text,
            },
        );
    }
    (outcome, extra)
}

/// `--check`: every compiled file up to date, and no `.yaml` in `dir`
/// that no pipeline makes.
fn compare(cli: &Cli, dir: &Path, made: &BTreeMap<String, Made>) -> Outcome {
    let mut outcome = Outcome::Clean;
    for (name, m) in made {
        let path = dir.join(format!("{name}.yaml"));
        match std::fs::read(&path) {
            Ok(bytes) if bytes == m.text.as_bytes() => {}
            Ok(_) => {
                let what = format!("is stale (from {})", m.source.display());
                report_out_of_date(cli, &path, &what);
                outcome = outcome.worst(Outcome::Errors);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let what = format!("is missing (from {})", m.source.display());
                report_out_of_date(cli, &path, &what);
                outcome = outcome.worst(Outcome::Errors);
            }
            Err(e) => {
                eprintln!("mlpc: cannot read {}: {e}", path.display());
                outcome = outcome.worst(Outcome::Failure);
            }
        }
    }
    if matches!(outcome, Outcome::Errors) {
        eprintln!("mlpc: to update them: {}", super::update_command());
    }
    // `build` never deletes: an orphan is for the user to remove.
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut orphans: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "yml")
                    || p.file_stem()
                        .is_some_and(|s| !made.contains_key(s.to_string_lossy().as_ref()))
            })
            .collect();
        orphans.sort();
        for p in orphans {
            report_out_of_date(cli, &p, "is made by no pipeline: delete it (git rm)");
            outcome = outcome.worst(Outcome::Errors);
        }
    }
    outcome
}
