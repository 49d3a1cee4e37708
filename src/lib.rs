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
