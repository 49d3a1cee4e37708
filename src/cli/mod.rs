//! The command line: `mlpc check`, `mlpc compile`, `mlpc rbac`, `mlpc explain`, `mlpc debug`,
//! `mlpc graph`, `mlpc fmt`, `mlpc lsp`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

mod args;
mod build;
mod fmt;

pub use args::{Cli, ColorChoice, Command, DebugWhat, FormatArg, KindArg, TargetArg};

use crate::diag::codes;
use crate::diag::render::{self, Format, HumanOptions};
use crate::diag::MlpError;
use crate::emit::{Options, OutputKind};
use crate::sema::{Analysis, FsLoader};

/// The outcome of a run, mapped to the exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Warnings,
    Errors,
    /// Usage, I/O or internal error.
    Failure,
}

impl Outcome {
    pub fn exit_code(self, deny_warnings: bool) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Warnings if deny_warnings => 1,
            Outcome::Warnings => 0,
            Outcome::Errors => 1,
            Outcome::Failure => 2,
        }
    }

    fn worst(self, other: Outcome) -> Outcome {
        let rank = |o: Outcome| match o {
            Outcome::Clean => 0,
            Outcome::Warnings => 1,
            Outcome::Errors => 2,
            Outcome::Failure => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

pub fn run(cli: &Cli) -> Outcome {
    let draws = matches!(cli.command, Command::Graph { .. });
    if matches!(cli.format, FormatArg::Mermaid | FormatArg::Dot) && !draws {
        eprintln!("mlpc: `--format mermaid` and `--format dot` are for `mlpc graph`");
        return Outcome::Failure;
    }
    match &cli.command {
        Command::Check { files } => check(cli, files),
        Command::Compile {
            file,
            output,
            kind,
            pipeline,
            target: TargetArg::Kfp,
            check,
        } => compile_kfp(
            cli,
            file,
            Destination::of(output.as_deref(), *check),
            *kind,
            &Options {
                kind: OutputKind::Workflow,
                pipeline: pipeline.clone(),
                stamp: cli.stamp,
            },
        ),
        Command::Compile {
            file,
            output,
            kind,
            pipeline,
            target: TargetArg::Argo,
            check,
        } => compile(
            cli,
            file,
            Destination::of(output.as_deref(), *check),
            &Options {
                kind: (*kind).into(),
                pipeline: pipeline.clone(),
                stamp: cli.stamp,
            },
        ),
        Command::Build {
            paths,
            out_dir,
            target,
            kind,
            check,
        } => build::run(cli, paths, out_dir, *target, *kind, *check),
        Command::Rbac { file, pipeline } => rbac(
            cli,
            file,
            &Options {
                kind: OutputKind::Workflow,
                pipeline: pipeline.clone(),
                stamp: cli.stamp,
            },
        ),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Debug { what, file } => debug(cli, *what, file),
        Command::Graph { file, pipeline } => graph(cli, file, pipeline.as_deref()),
        Command::Fmt { paths, check, diff } => fmt::run(cli, paths, *check, *diff),
        Command::Lsp => match crate::lsp::run_stdio() {
            Ok(()) => Outcome::Clean,
            Err(message) => {
                eprintln!("mlpc lsp: {message}");
                Outcome::Failure
            }
        },
    }
}

/// Reads a file (or standard input for `-`), with the name diagnostics show.
fn read_input(path: &Path) -> Result<(String, Option<PathBuf>, Vec<u8>), String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(("<stdin>".to_string(), None, bytes));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => e.to_string(),
        };
        format!("cannot read {}: {reason}", path.display())
    })?;
    Ok((
        crate::sema::plain_path(path),
        Some(path.to_path_buf()),
        bytes,
    ))
}

fn analyze_path(cli: &Cli, path: &Path) -> Result<Analysis, String> {
    let (name, disk_path, bytes) = read_input(path)?;
    let policies = crate::Policies {
        require_digests: cli.require_digests,
    };
    Ok(crate::check(
        &name,
        disk_path.as_deref(),
        &bytes,
        &FsLoader,
        policies,
    ))
}

/// The diagnostics of several files' analyses, each said once: a file
/// given and also imported by another given file has its diagnostics in
/// both analyses.
fn said_once<'d>(diagnostics: impl Iterator<Item = &'d MlpError>) -> Vec<&'d MlpError> {
    let mut said = std::collections::HashSet::new();
    diagnostics
        .filter(|d| {
            let at = d.primary_label().map(|l| (l.span.start, l.span.end));
            let file = d.src().map(|s| s.name.clone());
            said.insert((file, at, d.code_str(), d.to_string()))
        })
        .collect()
}

fn check(cli: &Cli, files: &[PathBuf]) -> Outcome {
    let mut outcome = Outcome::Clean;
    let mut analyses = Vec::new();
    for path in files {
        match analyze_path(cli, path) {
            Ok(a) => analyses.push(a),
            Err(message) => {
                eprintln!("mlpc: {message}");
                outcome = Outcome::Failure;
            }
        }
    }
    let all = said_once(analyses.iter().flat_map(|a| a.diagnostics.items.iter()));
    for d in &all {
        let o = if d.is_io() {
            Outcome::Failure
        } else if d.is_error() {
            Outcome::Errors
        } else {
            Outcome::Warnings
        };
        outcome = outcome.worst(o);
    }
    print_diagnostics(cli, &all, Stream::MachineToStdout);
    // As in `compile`: the process ends next, and freeing the syntax trees
    // and programs node by node would cost a sixth of a large file's check.
    drop(all);
    std::mem::forget(analyses);
    outcome
}

/// The analysis of a file that checked clean; otherwise its diagnostics
/// are printed (on stderr, as `compile` and `rbac` write their output to
/// stdout) and the outcome returned.
fn checked(cli: &Cli, file: &Path) -> Result<Analysis, Outcome> {
    let analysis = analyze_path(cli, file).map_err(|message| {
        eprintln!("mlpc: {message}");
        Outcome::Failure
    })?;
    if analysis.program.is_none() {
        let all: Vec<&MlpError> = analysis.diagnostics.items.iter().collect();
        print_diagnostics(cli, &all, Stream::Stderr);
        return Err(if all.iter().any(|d| d.is_io()) {
            Outcome::Failure
        } else {
            Outcome::Errors
        });
    }
    Ok(analysis)
}

/// `compile --target kfp`: one pipeline's KFP v2 IR.
fn compile_kfp(
    cli: &Cli,
    file: &Path,
    output: Destination<'_>,
    kind: KindArg,
    options: &Options,
) -> Outcome {
    if kind != KindArg::Workflow {
        eprintln!("mlpc: `--kind` is for `--target argo`: a Kubeflow Pipelines IR file is a pipeline, which KFP runs or schedules itself");
        return Outcome::Failure;
    }
    let analysis = match checked(cli, file) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let Some(result) = crate::kfp_document(&analysis, options) else {
        return Outcome::Errors;
    };
    let mut all: Vec<&crate::MlpError> = analysis.diagnostics.items.iter().collect();
    let document = match &result {
        Err(e) => {
            print_diagnostics(cli, &all, Stream::Stderr);
            eprintln!("mlpc: {e}");
            return Outcome::Failure;
        }
        Ok(Err(errors)) => {
            all.extend(errors.iter());
            print_diagnostics(cli, &all, Stream::Stderr);
            return Outcome::Errors;
        }
        Ok(Ok(document)) => document,
    };
    print_diagnostics(cli, &all, Stream::Stderr);
    if cli.deny_warnings && !all.is_empty() {
        return Outcome::Errors;
    }
    let text = match document.to_yaml() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mlpc: internal error: {e}");
            return Outcome::Failure;
        }
    };
    if let Err(outcome) = output.deliver(cli, &[text.as_str()]) {
        return outcome;
    }
    if all.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Warnings
    }
}

fn compile(cli: &Cli, file: &Path, output: Destination<'_>, options: &Options) -> Outcome {
    let analysis = match checked(cli, file) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let Some(compilation) = crate::compile(&analysis, options) else {
        return Outcome::Errors; // `checked` reported them
    };
    for note in &compilation.notes {
        eprintln!("mlpc: note: {note}");
    }
    let all = compilation.diagnostics();
    let compiled = match &compilation.output {
        Ok(compiled) => compiled,
        Err(e) => {
            print_diagnostics(cli, &all, Stream::Stderr);
            eprintln!("mlpc: {e}");
            return Outcome::Failure;
        }
    };
    print_diagnostics(cli, &all, Stream::Stderr);
    if cli.deny_warnings && !all.is_empty() {
        return Outcome::Errors;
    }
    // Written piece by piece: joining would hold the whole stream twice.
    let pieces = crate::emit::stream_pieces(&compiled.documents);
    if let Err(outcome) = output.deliver(cli, &pieces) {
        return outcome;
    }
    let outcome = if all.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Warnings
    };
    // The process ends next; the OS takes the memory back at once, while
    // freeing the program piece by piece costs a tenth of the run.
    std::mem::forget(pieces);
    std::mem::forget(all);
    std::mem::forget(compilation);
    std::mem::forget(analysis);
    outcome
}

/// `mlpc rbac`: as `compile`, but the output is the accounts and grants the
/// pipelines need (`crate::emit::rbac`).
fn rbac(cli: &Cli, file: &Path, options: &Options) -> Outcome {
    let analysis = match checked(cli, file) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let Some(compilation) = crate::rbac(&analysis, options) else {
        return Outcome::Errors; // `checked` reported them
    };
    let all = compilation.diagnostics();
    let out = match &compilation.output {
        Ok(out) => out,
        Err(e) => {
            print_diagnostics(cli, &all, Stream::Stderr);
            eprintln!("mlpc: {e}");
            return Outcome::Failure;
        }
    };
    print_diagnostics(cli, &all, Stream::Stderr);
    if !out.errors.is_empty() || (cli.deny_warnings && !all.is_empty()) {
        return Outcome::Errors;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.yaml.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("mlpc: cannot write to standard output: {e}");
            return Outcome::Failure;
        }
    }
    if all.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Warnings
    }
}

/// Writes `pieces`, one after the other, to `path` through a temporary file
/// in the same directory and a rename, so that `path` holds either its old
/// content or the whole new content, never part of it.
/// Where `compile` puts its output: standard output, a file (written
/// atomically), or nowhere, only compared with the file (`--check`).
enum Destination<'a> {
    Stdout,
    File(&'a Path),
    Check(&'a Path),
}

impl<'a> Destination<'a> {
    fn of(output: Option<&'a Path>, check: bool) -> Self {
        match (output, check) {
            (Some(path), true) => Destination::Check(path),
            (Some(path), false) => Destination::File(path),
            // clap requires `-o` with `--check`.
            (None, _) => Destination::Stdout,
        }
    }

    /// Puts the output there; `Err` with the outcome when that failed, or
    /// when `--check` found the file missing (1), stale (1) or unreadable
    /// (2).
    fn deliver(&self, cli: &Cli, pieces: &[&str]) -> Result<(), Outcome> {
        match self {
            Destination::Stdout => {
                let mut stdout = std::io::stdout().lock();
                let written = pieces
                    .iter()
                    .try_for_each(|piece| stdout.write_all(piece.as_bytes()))
                    .and_then(|_| stdout.flush());
                match written {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        eprintln!("mlpc: cannot write to standard output: {e}");
                        Err(Outcome::Failure)
                    }
                    _ => Ok(()),
                }
            }
            Destination::File(path) => write_atomically(path, pieces).map_err(|e| {
                eprintln!("mlpc: cannot write {}: {e}", path.display());
                Outcome::Failure
            }),
            Destination::Check(path) => up_to_date(cli, path, &pieces.concat()),
        }
    }
}

/// A compiled file `--check` found out of date (`what`: "is stale (from
/// X)", "is missing", ...): a line for people, and with `--format github`
/// an annotation on the file, so that a CI run shows it where the
/// diagnostics are.
pub(super) fn report_out_of_date(cli: &Cli, file: &Path, what: &str) {
    let shown = file.display();
    eprintln!("mlpc: {shown} {what}");
    if matches!(cli.format, FormatArg::Github) {
        let message = format!("{shown} {what}; to update it: {}", update_command());
        eprint!(
            "{}",
            render::github_file_error(&shown.to_string(), "mlpc --check", &message)
        );
    }
}

/// The most lines of a stale file's diff `--check` prints.
const CHECK_DIFF_LINES: usize = 40;

/// `compile --check`: whether `path` holds exactly `text`.
fn up_to_date(cli: &Cli, path: &Path, text: &str) -> Result<(), Outcome> {
    let shown = path.display();
    let old = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report_out_of_date(
                cli,
                path,
                "is missing: compile without `--check` to write it",
            );
            return Err(Outcome::Errors);
        }
        Err(e) => {
            eprintln!("mlpc: cannot read {shown}: {e}");
            return Err(Outcome::Failure);
        }
    };
    if old == text.as_bytes() {
        return Ok(());
    }
    let old = String::from_utf8_lossy(&old);
    let diff = crate::fmt::unified_diff(&shown.to_string(), &old, text);
    let lines: Vec<&str> = diff.lines().collect();
    report_out_of_date(
        cli,
        path,
        "is stale: it differs from what this compilation gives",
    );
    for line in lines.iter().take(CHECK_DIFF_LINES) {
        eprintln!("{line}");
    }
    if lines.len() > CHECK_DIFF_LINES {
        eprintln!("... ({} more diff lines)", lines.len() - CHECK_DIFF_LINES);
    }
    eprintln!("mlpc: to update it: {}", update_command());
    Err(Outcome::Errors)
}

/// This command line without `--check`, as a shell reads it.
pub(super) fn update_command() -> String {
    let quote = |a: String| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c));
        if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    std::iter::once("mlpc".to_string())
        .chain(
            std::env::args()
                .skip(1)
                .filter(|a| a != "--check")
                .map(quote),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `pieces` to `path` through a temporary file in its folder, so
/// that no reader ever sees half a file. Through a symbolic link to its
/// target; an existing file keeps its permissions, a new one gets what
/// the umask gives (as a shell's `>` would), not the temporary's 0600.
pub fn write_atomically(path: &Path, pieces: &[&str]) -> std::io::Result<()> {
    let (target, kept) = match std::fs::canonicalize(path) {
        Ok(target) => {
            let permissions = std::fs::metadata(&target)?.permissions();
            (target, Some(permissions))
        }
        Err(_) => (path.to_path_buf(), None),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mlpc-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // The temporary's name is ours, not the user's: tempfile adds
    // ` at path "..."` to the OS's reason (on creating it and on writing
    // to it); say the reason only.
    let reason_only = |e: std::io::Error| {
        let text = e.to_string();
        let reason = text.split(" at path ").next().unwrap_or(&text);
        std::io::Error::new(e.kind(), reason.to_string())
    };
    let mut tmp = builder.tempfile_in(&dir).map_err(reason_only)?;
    for piece in pieces {
        tmp.write_all(piece.as_bytes()).map_err(reason_only)?;
    }
    if let Some(permissions) = kept {
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(reason_only)?;
    }
    tmp.as_file().sync_all().map_err(reason_only)?;
    tmp.persist(&target).map_err(|e| reason_only(e.error))?;
    Ok(())
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

/// Where diagnostics go: `check` writes its machine formats (json, github,
/// short) to standard output, as ruff and eslint do, so `mlpc check
/// --format json f.mlp | jq` works; `compile`, whose standard output is
/// YAML, and every human rendering write to standard error.
#[derive(Clone, Copy, PartialEq)]
pub enum Stream {
    MachineToStdout,
    Stderr,
}

pub fn print_diagnostics(cli: &Cli, diags: &[&MlpError], stream: Stream) {
    let format = Format::from(cli.format);
    let text = match format {
        Format::Human => {
            let mut text = render::human(
                diags,
                HumanOptions {
                    color: use_color(cli.color),
                    width: terminal_width(),
                },
            );
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            if errors + warnings > 0 {
                text.push_str(&format!(
                    "mlpc: {errors} error{}, {warnings} warning{}\n",
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
                ));
            }
            text
        }
        Format::Short => render::short(diags),
        Format::Json => render::json(diags) + "\n",
        Format::Github => render::github(diags),
    };
    if stream == Stream::MachineToStdout && format != Format::Human {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush());
    } else {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
    }
}

fn explain(code: Option<&str>) -> Outcome {
    let Some(code) = code else {
        let mut out = String::new();
        for info in codes::CODES {
            let status = match info.status {
                codes::Status::Active => String::new(),
                codes::Status::Retired { since } => format!(" (retired in {since})"),
            };
            out.push_str(&format!("{}  {}{status}\n", info.code, info.title));
        }
        print!("{out}");
        return Outcome::Clean;
    };
    match codes::lookup(code) {
        Some(info) => {
            print!("{}", info.text());
            Outcome::Clean
        }
        None => {
            let known: Vec<&str> = codes::CODES
                .iter()
                .map(|c| c.code.trim_start_matches("mlp::"))
                .collect();
            let hint =
                crate::diag::closest(code.trim_start_matches("mlp::"), known.iter().copied())
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
            eprintln!("mlpc: unknown code `{code}`{hint}; `mlpc explain` lists them all");
            Outcome::Failure
        }
    }
}

fn graph(cli: &Cli, file: &Path, pipeline: Option<&str>) -> Outcome {
    let analysis = match checked(cli, file) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let Some(program) = analysis.program.as_ref() else {
        return Outcome::Errors;
    };
    let options = Options {
        pipeline: pipeline.map(str::to_string),
        ..Default::default()
    };
    let selected = match crate::emit::select(program, &options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mlpc: {e}");
            return Outcome::Failure;
        }
    };
    let [one] = selected.as_slice() else {
        let names: Vec<&str> = selected.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "mlpc: the file has {} pipelines ({}); draw one with --pipeline NAME",
            names.len(),
            names.join(", ")
        );
        return Outcome::Failure;
    };
    let format = match cli.format {
        FormatArg::Dot => crate::emit::graph::GraphFormat::Dot,
        _ => crate::emit::graph::GraphFormat::Mermaid,
    };
    print!(
        "{}",
        crate::emit::graph::render(one, &analysis.sources, format)
    );
    Outcome::Clean
}

fn debug(cli: &Cli, what: DebugWhat, file: &Path) -> Outcome {
    let analysis = match read_input(file).map(|(name, disk_path, bytes)| {
        crate::sema::analyze_keeping_ast(&name, disk_path.as_deref(), &bytes, &FsLoader)
    }) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("mlpc: {message}");
            return Outcome::Failure;
        }
    };
    let json = match what {
        DebugWhat::Ast => analysis.ast.as_ref().map(serde_json::to_string_pretty),
        DebugWhat::Hir => analysis.program.as_ref().map(serde_json::to_string_pretty),
    };
    let all: Vec<&MlpError> = analysis.diagnostics.items.iter().collect();
    print_diagnostics(cli, &all, Stream::Stderr);
    match json {
        Some(Ok(text)) => {
            println!("{text}");
            if analysis.diagnostics.has_errors() {
                Outcome::Errors
            } else {
                Outcome::Clean
            }
        }
        Some(Err(e)) => {
            eprintln!("mlpc: cannot serialise: {e}");
            Outcome::Failure
        }
        None => Outcome::Errors,
    }
}
