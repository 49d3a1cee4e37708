//! # mlpc: the `.mlp` pipeline compiler
//!
//! | stage  | module   | input -> output                                   |
//! |--------|----------|---------------------------------------------------|
//! | syntax | `syntax` | text -> AST (pest, one builder per grammar rule;   |
//! |        |          | a hand-written fast path for well-formed files)   |
//! | sema   | `sema`   | AST + imports -> HIR (names, types, fields)        |
//! | graph  | `graph`  | HIR -> dependency graph (petgraph), cycle checks   |
//! | plan   | `plan`   | HIR -> plan per pipeline: tasks, dependencies,     |
//! |        |          | bindings, skips (target-neutral; [`plans`])       |
//! | emit   | `emit`   | plan -> Argo model (k8s-openapi types) -> YAML     |
//! |        |          | (our writer: serde_yaml's bytes, YAML 1.1 quoting) |
//!
//! `docs/performance.md` explains the fast paths and how they are kept
//! honest. Every stage is a pure function over its input IR. Diagnostics from every
//! stage share one enum, [`diag::MlpError`], with codes from one registry.
//!
//! The library runs the passes; each takes the IR the one before it made.
//! The command line (and the language server) call [`check`] (syntax and
//! sema for a file, then the [`Policies`]), then [`compile`] or [`rbac`]
//! for a checked program; `cli` only reads files, prints and chooses exit
//! codes. [`compile`] makes the plan of each selected pipeline ([`plans`])
//! and hands it to the backend, which renders it ([`documents`]; [`yaml`]
//! and [`argo_documents`] for tools and tests). `rbac` reads the HIR: the
//! accounts and grants depend on settings and fields, not on the plan.

pub mod cli;
pub mod collections;
pub mod diag;
pub mod emit;
pub mod fmt;
pub mod graph;
pub mod lsp;
pub mod plan;
pub mod registry;
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

/// Plan and emit a checked program ([`documents`]); `None` when the
/// analysis has no program (its diagnostics say why).
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
    let output = documents(program, options).map(|documents| Compiled {
        warnings: emit::document_warnings(&analysis.sources, &documents),
        documents,
    });
    Some(Compilation {
        analysis,
        notes,
        output,
    })
}

/// The plan of each pipeline `options` selects, in source order: HIR ->
/// [`plan::Plan`], the target-neutral pass every backend reads. Planned
/// as they are read, so a backend holds one pipeline's plan at a time.
pub fn plans<'p>(
    program: &'p sema::hir::Program,
    options: &emit::Options,
) -> Result<impl Iterator<Item = plan::Plan<'p>>, emit::EmitError> {
    let pipelines = emit::select(program, options)?;
    Ok(pipelines
        .into_iter()
        .map(move |pipeline| plan::plan(program, pipeline)))
}

/// [`plans`], then the Argo backend renders each plan: one YAML document
/// per selected pipeline, in source order.
pub fn documents<'p>(
    program: &'p sema::hir::Program,
    options: &emit::Options,
) -> Result<Vec<emit::Document<'p>>, emit::EmitError> {
    plans(program, options)?
        .map(|plan| emit::document(plan, options))
        .collect()
}

/// [`documents`] as one YAML stream (documents separated by `---` lines).
pub fn yaml(
    program: &sema::hir::Program,
    options: &emit::Options,
) -> Result<String, emit::EmitError> {
    Ok(emit::join_documents(&documents(program, options)?))
}

/// [`plans`], then each plan's Argo document, whole (for tools and tests;
/// [`documents`] writes a large pipeline without holding its model).
pub fn argo_documents(
    program: &sema::hir::Program,
    options: &emit::Options,
) -> Result<Vec<emit::argo::Document>, emit::EmitError> {
    plans(program, options)?
        .map(|plan| emit::lower(plan, options))
        .collect()
}

/// [`plans`], then the Kubeflow Pipelines backend renders the one
/// selected pipeline as KFP v2 IR (an IR file holds one pipeline). `Err`:
/// a usage problem (no pipeline, several, an unknown name); `Ok(Err)`:
/// what the IR cannot say, as diagnostics.
pub fn kfp_document(
    analysis: &Analysis,
    options: &emit::Options,
) -> Option<Result<Result<emit::kfp::KfpDocument, Vec<MlpError>>, emit::EmitError>> {
    let program = analysis.program.as_ref()?;
    let mut plans = match plans(program, options) {
        Ok(p) => p.collect::<Vec<_>>(),
        Err(e) => return Some(Err(e)),
    };
    if plans.len() > 1 {
        return Some(Err(emit::EmitError::SeveralPipelines {
            names: plans.iter().map(|p| p.pipeline.name.to_string()).collect(),
        }));
    }
    let plan = plans.pop()?;
    Some(Ok(emit::kfp::document(
        &plan,
        &analysis.sources,
        options.stamp,
    )))
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
