//! The checker's state and the contexts its checks share. The checks
//! themselves live beside this module, one concern per file: names,
//! templates, pipelines, stages, fields, values, references, conditions.
//! Every problem is pushed and checking goes on, so one run reports them all.

use crate::collections::{HashMap, HashSet, IndexMap};

use super::hir::{self, Dep};
use super::signature::StageSig;
use super::types::Ty;
use super::Module;
use crate::diag::{Diagnostics, MlpError, Src};
use crate::source::{SourceSet, Span};
use crate::syntax::ast::{self, Expr, Ident, Text};

pub(crate) struct Checked {
    pub program: hir::Program,
    pub diagnostics: Diagnostics,
}

pub(crate) struct Checker<'a> {
    pub(super) sources: &'a SourceSet,
    pub(super) modules: &'a [Module],
    /// Module -> whether its file parsed (its templates can be looked up).
    pub(super) loaded: Vec<bool>,
    pub(super) diags: Diagnostics,
    pub(super) templates: Vec<hir::Template>,
    /// `(module, name)` -> template index; `None` marks a template too broken
    /// to check uses against (its own errors are already reported).
    pub(super) template_index: HashMap<(usize, Text), Option<usize>>,
    /// Dependencies found while checking the current stage.
    pub(super) deps: Vec<Dep>,
    /// `(module, name)` of every pipeline, to tell a user who `uses` one.
    pub(super) pipeline_names: HashSet<(usize, Text)>,
    /// Code spans already reported by E0229 (a template's, once).
    pub(super) reported_code_values: HashSet<Span>,
}

/// A reference to something a field can name, in one kind of body.
#[derive(Clone, Copy)]
pub(super) enum Scope<'s> {
    Template {
        inputs: &'s [hir::Input],
        for_each: bool,
    },
    Pipeline {
        pcx: &'s PipelineCx,
        /// The stage being checked; `None` in `defaults` and parameters.
        stage: Option<usize>,
        for_each: bool,
        /// The keys of each literal `for_each` item (none for a scalar
        /// item); `None` when the items are not written in the program.
        item_keys: Option<&'s [Vec<Text>]>,
    },
}

impl Scope<'_> {
    pub(super) fn for_each(&self) -> bool {
        match self {
            Scope::Template { for_each, .. } | Scope::Pipeline { for_each, .. } => *for_each,
        }
    }
}

/// The names a pipeline's stages and settings can refer to.
pub(super) struct PipelineCx {
    pub(super) params: IndexMap<Text, Ty>,
    pub(super) stages: Vec<StageSig>,
    pub(super) stage_index: HashMap<Text, usize>,
    /// The pipeline has a `schedule` (a CronWorkflow).
    pub(super) scheduled: bool,
}

/// An entry of a block or a map, as the field checks see it.
#[derive(Clone, Copy)]
pub(super) enum Node<'a> {
    Expr(&'a Expr),
    Block(&'a ast::Body),
}

#[derive(Clone, Copy)]
pub(super) struct Item<'a> {
    pub(super) key: &'a Ident,
    pub(super) node: Node<'a>,
    pub(super) span: Span,
}

impl Node<'_> {
    pub(super) fn span(&self) -> Span {
        match self {
            Node::Expr(e) => e.span,
            Node::Block(b) => b.span,
        }
    }
}

impl<'a> Checker<'a> {
    /// `root_parsed`: whether the root module's file parsed (its AST is
    /// handed to `run` rather than left in `modules`).
    pub fn new(
        sources: &'a SourceSet,
        modules: &'a [Module],
        root: usize,
        root_parsed: bool,
    ) -> Self {
        Checker {
            sources,
            modules,
            loaded: modules
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    if i == root {
                        root_parsed
                    } else {
                        m.file.is_some()
                    }
                })
                .collect(),
            diags: Diagnostics::default(),
            templates: Vec::new(),
            template_index: HashMap::default(),
            deps: Vec::new(),
            pipeline_names: HashSet::default(),
            reported_code_values: HashSet::default(),
        }
    }

    /// Checks the program whose root module's AST is `root_file` (taken
    /// out of `modules[root]`: its pipelines are consumed as they are
    /// checked).
    pub fn run(mut self, root: usize, root_file: Option<ast::File>) -> Checked {
        for (index, module) in self.modules.iter().enumerate() {
            let file = if index == root {
                root_file.as_ref()
            } else {
                module.file.as_ref()
            };
            if let Some(file) = file {
                self.module_templates(index, file);
            }
        }
        let mut pipelines = Vec::new();
        if let Some(file) = root_file {
            self.pipeline_names(&file);
            for item in file.items {
                if let ast::Item::Pipeline(p) = item {
                    pipelines.push(self.pipeline(root, p));
                }
            }
        }
        Checked {
            program: hir::Program {
                pipelines,
                templates: self.templates,
            },
            diagnostics: self.diags,
        }
    }

    pub(super) fn src(&self, span: Span) -> Src {
        self.sources.named(span.source)
    }

    pub(super) fn push(&mut self, e: MlpError) {
        self.diags.push(e);
    }
}
