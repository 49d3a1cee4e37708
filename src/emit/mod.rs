//! Stage 4b, the Argo backend: plan -> Argo model -> YAML.
//!
//! It renders a [`Plan`] that the library made ([`crate::plans`]), one
//! pipeline at a time, and reads the HIR only for the field values the plan
//! does not interpret. [`select`] says which pipelines `--pipeline` picks.

pub mod argo;
mod block_yaml;
pub mod graph;
pub mod kfp;
pub mod kserve;
mod lower;
pub mod mlflow;
pub mod monitor;
pub mod rbac;
pub mod resources;
pub mod trainer;
pub mod yaml;

use crate::plan::Plan;
use crate::sema::hir::Program;

/// What `--kind` asks for. A pipeline with `schedule` becomes a
/// CronWorkflow when the kind is `Workflow`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputKind {
    #[default]
    Workflow,
    WorkflowTemplate,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub kind: OutputKind,
    /// Compile only this pipeline (by its name in the file).
    pub pipeline: Option<String>,
    /// Write mlpc's version into the output (`--stamp`): off by default,
    /// so that a new mlpc release alone never changes a committed file
    /// (GitOps: Argo CD would show drift).
    pub stamp: bool,
}

/// Why a checked program produced no YAML: usage problems, not input errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitError {
    NoPipeline,
    UnknownPipeline {
        name: String,
        available: Vec<String>,
    },
    Yaml(String),
    /// `--target kfp` with several pipelines selected: an IR file holds one.
    SeveralPipelines {
        names: Vec<String>,
    },
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::NoPipeline => write!(f, "the file has no pipeline to compile"),
            EmitError::UnknownPipeline { name, available } => {
                write!(
                    f,
                    "no pipeline named `{name}`; the file has: {}",
                    available.join(", ")
                )
            }
            EmitError::Yaml(e) => write!(f, "{e}"),
            EmitError::SeveralPipelines { names } => write!(
                f,
                "a Kubeflow Pipelines IR file holds one pipeline, and the file has {}: pass `--pipeline NAME` ({})",
                names.len(),
                names.join(", ")
            ),
        }
    }
}

/// The Argo document for one pipeline's plan, whole (for tools and tests;
/// [`document`] writes it without holding it whole).
pub fn lower(plan: Plan<'_>, options: &Options) -> Result<argo::Document, EmitError> {
    lower::lower(plan, options).map_err(EmitError::Yaml)
}

/// Argo stores workflows in etcd (about 1.5 MiB per object); past this a
/// document gets a warning.
pub const SIZE_WARNING_BYTES: usize = 1024 * 1024;

/// One pipeline's YAML document, in pieces to write one after the other
/// (so the long template list is never copied to put the head before it).
#[derive(Debug, Clone)]
pub struct Document<'p> {
    pub pipeline: &'p crate::sema::hir::Pipeline,
    pub pieces: Vec<String>,
}

impl Document<'_> {
    /// Bytes of YAML.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(String::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole text (for tests and tools; the CLI writes the pieces).
    pub fn text(&self) -> String {
        self.pieces.concat()
    }
}

/// The YAML document of one pipeline's plan.
pub fn document<'p>(plan: Plan<'p>, options: &Options) -> Result<Document<'p>, EmitError> {
    let pipeline = plan.pipeline;
    emit_pipeline(plan, options)
        .map(|pieces| Document { pipeline, pieces })
        .map_err(EmitError::Yaml)
}

/// Warnings about the emitted documents themselves (their size).
pub fn document_warnings(sources: &crate::SourceSet, docs: &[Document]) -> Vec<crate::MlpError> {
    docs.iter()
        .filter(|doc| doc.len() > SIZE_WARNING_BYTES)
        .map(|doc| crate::MlpError::WorkflowTooLarge {
            src: sources.named(doc.pipeline.name_span.source),
            at: doc.pipeline.name_span,
            pipeline: doc.pipeline.name.to_string(),
            size_kib: doc.len().div_ceil(1024),
        })
        .collect()
}

/// Documents of a YAML stream, separated by `---` lines.
pub fn join_documents(docs: &[Document]) -> String {
    stream_pieces(docs).concat()
}

/// The pieces of the YAML stream, in order: the documents' pieces and the
/// `---` lines between documents, to write out without joining them first.
pub fn stream_pieces<'d>(docs: &'d [Document]) -> Vec<&'d str> {
    let mut pieces = Vec::with_capacity(docs.len() * 3);
    for (n, doc) in docs.iter().enumerate() {
        if n > 0 {
            pieces.push("---\n");
        }
        pieces.extend(doc.pieces.iter().map(String::as_str));
    }
    pieces
}

/// Templates written before the list's final size is estimated.
const SIZE_SAMPLE: usize = 16;

/// How far `templates:` sits in a Workflow or WorkflowTemplate (under
/// `spec:`); a CronWorkflow's sits deeper, and its list is re-indented.
const TEMPLATES_INDENT: usize = 2;

fn emit_pipeline(plan: Plan<'_>, options: &Options) -> Result<Vec<String>, String> {
    // Each stage's templates are written as soon as they are built and then
    // dropped, so the Argo model of a large pipeline is never held whole.
    let stages = plan.stages.len();
    let mut list = String::new();
    let mut failure = None;
    let mut written = 0;
    let mut sink = |t: argo::Template| {
        if failure.is_none() {
            if let Err(e) = yaml::push_sequence_item(&mut list, &t, TEMPLATES_INDENT) {
                failure = Some(e);
            }
        }
        written += 1;
        // Once a few templates show their size, make room for one per
        // remaining stage: a long list then grows once instead of doubling
        // (each doubling copies it and briefly holds it twice).
        if written == SIZE_SAMPLE {
            let remaining = stages.saturating_sub(written);
            list.reserve(list.len() / written * remaining * 11 / 10);
        }
    };
    let mut doc = lower::lower_into(plan, options, &mut sink)?;
    if let Some(e) = failure {
        return Err(e);
    }
    // The entry template comes first, the pipeline's other own templates
    // (exit handler, shared steps) after the stages'.
    let mut own = std::mem::take(&mut lower::spec_mut(&mut doc).templates).into_iter();
    let skeleton = yaml::to_yaml(&doc)?;
    let indent = yaml::last_list_indent(&skeleton, "templates")?;
    let mut head = String::new();
    if let Some(entry) = own.next() {
        yaml::push_sequence_item(&mut head, &entry, indent)?;
    }
    for t in own {
        yaml::push_sequence_item(&mut list, &t, TEMPLATES_INDENT)?;
    }
    Ok(yaml::splice_last_list(&skeleton, "templates", &head, list, TEMPLATES_INDENT)?.into())
}

/// The pipelines `options` selects (all, or the one `--pipeline` names),
/// in source order.
pub fn select<'p>(
    program: &'p Program,
    options: &Options,
) -> Result<Vec<&'p crate::sema::hir::Pipeline>, EmitError> {
    let selected: Vec<_> = match &options.pipeline {
        Some(name) => {
            let found: Vec<_> = program
                .pipelines
                .iter()
                .filter(|p| p.name == name)
                .collect();
            if found.is_empty() {
                return Err(EmitError::UnknownPipeline {
                    name: name.clone(),
                    available: program
                        .pipelines
                        .iter()
                        .map(|p| p.name.to_string())
                        .collect(),
                });
            }
            found
        }
        None => program.pipelines.iter().collect(),
    };
    if selected.is_empty() {
        return Err(EmitError::NoPipeline);
    }
    Ok(selected)
}
