//! # mlpc: the `.mlp` pipeline compiler
//!
//! | stage  | module   | input -> output                                   |
//! |--------|----------|---------------------------------------------------|
//! | syntax | `syntax` | text -> AST (pest, one builder per grammar rule;   |
//! |        |          | a hand-written fast path for well-formed files)   |
//! | sema   | `sema`   | AST + imports -> HIR (names, types, fields)        |
//! | graph  | `graph`  | HIR -> dependency graph (petgraph), cycle checks   |
//! | plan   | `plan`   | HIR -> plan: tasks, dependencies, bindings, skips  |
//! |        |          | (target-neutral; see the module's docs)           |
//! | emit   | `emit`   | plan -> Argo model (k8s-openapi types) -> YAML     |
//! |        |          | (serde_yaml's bytes, plus YAML 1.1 quoting)       |
//!
//! `docs/performance.md` explains the fast paths and how they are kept
//! honest. Every stage is a pure function over its input IR. Diagnostics from every
//! stage share one enum, [`diag::MlpError`], with codes from one registry.
//!
//! The command line (and the language server) run the stages through
//! [`check`] (syntax and sema for a file, then the [`Policies`]), then
//! [`compile`] or [`rbac`] for a checked program; `cli` only reads files,
//! prints and chooses exit codes.

pub mod cli;
pub mod collections;
pub mod diag;
pub mod emit;
pub mod graph;
pub mod plan;
pub mod sema;
pub mod source;
pub mod stdlib;
pub mod syntax;

pub use diag::{Diagnostics, MlpError};
pub use sema::{analyze, analyze_keeping_ast, Analysis, FileLoader, FsLoader};
pub use source::{SourceFile, SourceId, SourceSet, Span};

// ----- the pipeline as functions (the CLI and the language server call these) --

/// Checks the user opts into on the command line, applied to a checked
/// program (`--require-digests`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policies {
    /// Every image pinned by digest (E0230 otherwise).
    pub require_digests: bool,
}

/// Syntax and sema for one file (with its imports), then the policies:
/// the checked program, or the diagnostics that say why there is none.
pub fn check(
    name: &str,
    path: Option<&std::path::Path>,
    bytes: &[u8],
    loader: &dyn FileLoader,
    policies: Policies,
) -> Analysis {
    let mut analysis = analyze(name, path, bytes, loader);
    if policies.require_digests {
        sema::policy::require_digests(&mut analysis);
    }
    analysis
}

/// Something to tell about a compilation that is not a diagnostic of the
/// program (printed as `mlpc: note: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// `--kind workflow-template` drops the pipelines' `schedule`.
    ScheduleLeftOut,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::ScheduleLeftOut => write!(
                f,
                "`schedule` does not apply to a WorkflowTemplate; it is left out"
            ),
        }
    }
}

/// A checked program compiled for one target.
pub struct Compilation<'a> {
    pub analysis: &'a Analysis,
    pub notes: Vec<Note>,
    /// The YAML, or why the options select nothing to write (a usage error).
    pub output: Result<Compiled<'a>, emit::EmitError>,
}

/// The YAML documents, one per selected pipeline, and the warnings about
/// them (W0401: size).
pub struct Compiled<'a> {
    pub documents: Vec<emit::Document<'a>>,
    pub warnings: Vec<MlpError>,
}

impl Compilation<'_> {
    /// Everything to report, in order: the analysis's diagnostics, then the
    /// documents' warnings.
    pub fn diagnostics(&self) -> Vec<&MlpError> {
        let documents = self.output.iter().flat_map(|o| o.warnings.iter());
        self.analysis
            .diagnostics
            .items
            .iter()
            .chain(documents)
            .collect()
    }
}

/// Plan and emit a checked program; `None` when the analysis has no
/// program (its diagnostics say why).
pub fn compile<'a>(analysis: &'a Analysis, options: &emit::Options) -> Option<Compilation<'a>> {
    let program = analysis.program.as_ref()?;
    let mut notes = Vec::new();
    if options.kind == emit::OutputKind::WorkflowTemplate
        && program
            .pipelines
            .iter()
            .any(|p| p.settings.contains_key("schedule"))
    {
        notes.push(Note::ScheduleLeftOut);
    }
    // The plan stage (#13) goes here: HIR -> plan, which the target's
    // emitter then renders.
    let output = emit::emit_documents(program, options).map(|documents| Compiled {
        warnings: emit::document_warnings(&analysis.sources, &documents),
        documents,
    });
    Some(Compilation {
        analysis,
        notes,
        output,
    })
}

/// The accounts and grants a checked program's pipelines need.
pub struct RbacCompilation<'a> {
    pub analysis: &'a Analysis,
    pub output: Result<emit::rbac::Rbac, emit::EmitError>,
}

impl RbacCompilation<'_> {
    /// Everything to report, in order: the analysis's diagnostics, then the
    /// namespaces `rbac` cannot name (E0403).
    pub fn diagnostics(&self) -> Vec<&MlpError> {
        let rbac = self.output.iter().flat_map(|o| o.errors.iter());
        self.analysis.diagnostics.items.iter().chain(rbac).collect()
    }
}

/// `mlpc rbac`'s compilation; `None` when the analysis has no program.
pub fn rbac<'a>(analysis: &'a Analysis, options: &emit::Options) -> Option<RbacCompilation<'a>> {
    let program = analysis.program.as_ref()?;
    Some(RbacCompilation {
        analysis,
        output: emit::rbac::emit(program, &analysis.sources, options),
    })
}
