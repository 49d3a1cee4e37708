//! Stage 4: HIR -> Argo model -> YAML.

pub mod argo;
pub mod kserve;
mod lower;
pub mod mlflow;
pub mod yaml;

use crate::sema::hir::Program;

/// What `--kind` asks for. A pipeline with `schedule` becomes a
/// CronWorkflow when the kind is `Workflow`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
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
        }
    }
}

/// The Argo documents for the program's pipelines, in source order.
pub fn lower_program(
    program: &Program,
    options: &Options,
) -> Result<Vec<argo::Document>, EmitError> {
    let selected: Vec<_> = match &options.pipeline {
        Some(name) => {
            let found: Vec<_> = program
                .pipelines
                .iter()
                .filter(|p| &p.name == name)
                .collect();
            if found.is_empty() {
                return Err(EmitError::UnknownPipeline {
                    name: name.clone(),
                    available: program.pipelines.iter().map(|p| p.name.clone()).collect(),
                });
            }
            found
        }
        None => program.pipelines.iter().collect(),
    };
    if selected.is_empty() {
        return Err(EmitError::NoPipeline);
    }
    Ok(selected
        .into_iter()
        .map(|p| lower::lower(program, p, options))
        .collect())
}

/// The YAML stream for the program: one document per pipeline.
pub fn emit(program: &Program, options: &Options) -> Result<String, EmitError> {
    let docs = lower_program(program, options)?;
    yaml::to_yaml_stream(&docs).map_err(EmitError::Yaml)
}
