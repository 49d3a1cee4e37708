//! The command line's shape: clap types only. The library's own enums
//! (`diag::render::Format`, `emit::OutputKind`) carry no clap derive; the
//! `*Arg` enums here map onto them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::render::Format;
use crate::emit::OutputKind;

const EXAMPLES: &str = "\
Examples:
  mlpc check examples/terraform_optimization.mlp
  mlpc compile examples/terraform_optimization.mlp -o workflow.yaml
  mlpc compile examples/terraform_optimization.mlp -o workflow.yaml --check   # exit 1 if stale
  mlpc build pipelines/ --out-dir compiled/ --kind workflow-template         # every pipeline
  mlpc build pipelines/ --out-dir compiled/ --check                          # in CI: up to date?
  mlpc compile pipelines/nightly.mlp --kind workflow-template | kubectl apply -f -
  mlpc rbac examples/churn_model.mlp | kubectl apply -f -
  mlpc check --format json pipelines/*.mlp
  mlpc check --format github pipelines/*.mlp     # annotations in GitHub Actions
  mlpc explain E0101
  mlpc fmt --check examples/                     # exit 1 if a file is not formatted

Exit codes: 0 clean (or warnings only), 1 errors in the input, 2 usage or I/O error.";

#[derive(Debug, Parser)]
#[command(
    name = "mlpc",
    version,
    about = "Compiler for .mlp ML pipeline files",
    long_about = "mlpc checks .mlp pipeline files and reports every problem with a stable code, \
                  a source location and help.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// How diagnostics are printed (to standard error); for `mlpc graph`,
    /// how the graph is drawn (`mermaid`, the default, or `dot`).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "MLPC_FORMAT"
    )]
    pub format: FormatArg,
    /// Colour in human output; `auto` colours only a terminal without NO_COLOR.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Exit with 1 when there are warnings, as for errors.
    #[arg(long, global = true)]
    pub deny_warnings: bool,
    /// Write mlpc's version into compiled output (the KFP IR's
    /// `sdkVersion`); without it nothing in the output changes between
    /// mlpc releases, so committed files show no drift.
    #[arg(long, global = true)]
    pub stamp: bool,
    /// Every image must be pinned by digest (`NAME@sha256:...`): E0230 otherwise.
    #[arg(long, global = true, env = "MLPC_REQUIRE_DIGESTS")]
    pub require_digests: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// `--format`; the library's [`Format`] without clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Short,
    Json,
    Github,
    /// `mlpc graph` only.
    Mermaid,
    /// `mlpc graph` only.
    Dot,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Short => Format::Short,
            FormatArg::Json => Format::Json,
            FormatArg::Github => Format::Github,
            // A graph's diagnostics (there are none when it is drawn).
            FormatArg::Mermaid | FormatArg::Dot => Format::Human,
        }
    }
}

/// `--target`: which engine the output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Argo,
    Kfp,
}

/// `--kind`; the library's [`OutputKind`] without clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Workflow,
    WorkflowTemplate,
}

impl From<KindArg> for OutputKind {
    fn from(k: KindArg) -> OutputKind {
        match k {
            KindArg::Workflow => OutputKind::Workflow,
            KindArg::WorkflowTemplate => OutputKind::WorkflowTemplate,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check files; `-` reads standard input.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Compile a file to Argo Workflows YAML (to standard output, or `-o FILE`).
    Compile {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Write the YAML here (atomically); nothing is written when there are errors.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// `workflow` (a CronWorkflow when the pipeline has `schedule`) or `workflow-template`.
        #[arg(long, value_enum, default_value = "workflow")]
        kind: KindArg,
        /// Compile only this pipeline of the file.
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
        /// `argo` (Argo Workflows YAML) or `kfp` (Kubeflow Pipelines v2 IR, one pipeline per file).
        #[arg(long, value_enum, default_value = "argo")]
        target: TargetArg,
        /// Write nothing: exit 1, with a diff, when OUT (`-o`) is missing or not what this
        /// compilation gives; 0 when it is up to date.
        #[arg(long, requires = "output")]
        check: bool,
    },
    /// Compile every pipeline of every `.mlp` under the paths to
    /// `DIR/<pipeline>.yaml`; files without a pipeline (libraries) are only
    /// checked. Nothing is written when any file has an error.
    Build {
        /// Files and folders (default: the current folder), searched recursively.
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        /// Where the compiled files go (made if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
        /// `argo` or `kfp` (see `compile`).
        #[arg(long, value_enum, default_value = "argo")]
        target: TargetArg,
        /// `workflow` or `workflow-template` (`--target argo`).
        #[arg(long, value_enum, default_value = "workflow")]
        kind: KindArg,
        /// Write nothing: exit 1 when a compiled file is stale or missing, or
        /// DIR holds a `.yaml` no pipeline makes.
        #[arg(long)]
        check: bool,
    },
    /// Print the ServiceAccounts, Roles and RoleBindings the compiled pipelines need, as YAML.
    Rbac {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only this pipeline of the file.
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
    },
    /// Explain a diagnostic code, e.g. `mlpc explain E0101`; without a code, list them all.
    Explain { code: Option<String> },
    /// Print the compiler's internal representations as JSON (format may change).
    Debug {
        #[arg(value_enum)]
        what: DebugWhat,
        file: PathBuf,
    },
    /// Draw a pipeline's stages, groups and dependencies (Mermaid, which
    /// GitHub renders in Markdown, or Graphviz DOT) on standard output.
    /// `--format mermaid` (the default) or `--format dot`.
    Graph {
        file: PathBuf,
        /// The pipeline to draw (needed when the file has several).
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
    },
    /// Format files in the canonical layout (docs/fmt.md), in place; every
    /// `*.mlp` under a folder; `-` formats standard input to standard output.
    /// A file with syntax errors is reported and left as it is.
    Fmt {
        /// Files and folders (default: the current folder), or `-`.
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        /// Write nothing; list the files that would change and exit with 1 if any would.
        #[arg(long)]
        check: bool,
        /// Write nothing; print a unified diff of each file that would change
        /// and exit with 1 if any would.
        #[arg(long)]
        diff: bool,
    },
    /// Serve the Language Server Protocol on standard input and output
    /// (diagnostics, hover, definitions, references, symbols, completion,
    /// rename, quick fixes), for an editor to start.
    Lsp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DebugWhat {
    /// The syntax tree.
    Ast,
    /// The checked program.
    Hir,
}
