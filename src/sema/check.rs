//! The checker's state and the contexts its checks share. The checks
//! themselves live beside this module, one concern per file: names,
//! templates, pipelines, stages, fields, values, references, conditions.
//! Every problem is pushed and checking goes on, so one run reports them all.

use std::cell::RefCell;

use crate::collections::{HashMap, HashSet, IndexMap};

use super::hir::Place;
use super::hir::{self, Dep};
use super::ids::{GroupId, GroupTemplateId, ModuleId, NodeId, StageId, TemplateId};
use super::index::{RefEntry, RefIndex};
use super::signature::{PipelineSigs, StageDefs, StageSig};
use super::types::Ty;
use super::Module;
use crate::diag::{Diagnostics, MlpError, Src};
use crate::source::{SourceSet, Span};
use crate::syntax::ast::{self, Expr, Ident, Text};

pub(crate) struct Checked {
    /// Everything that checked; has errors when `diagnostics` has.
    pub program: hir::Program,
    /// Every reference that resolved.
    pub index: RefIndex,
    /// Per pipeline of the root file, in order: its stages' signatures.
    pub signatures: Vec<PipelineSigs>,
    pub diagnostics: Diagnostics,
}

/// What `(module, name)` finds in [`Checker::template_index`].
#[derive(Debug, Clone, Copy)]
pub(super) enum TemplateSlot {
    Checked(TemplateId),
    /// A group template (§9.3).
    Group(GroupTemplateId),
    /// Too broken to check uses against; its own errors are reported.
    Broken,
}

/// The stages the stage being checked depends on, in the order its
/// references and `after` entries are checked. `Checker::stage` owns it
/// and lends it to the body's checks through [`Scope`]; each resolved
/// reference hands its dependency over here (`Checker::reference`).
#[derive(Default)]
pub(super) struct Deps(RefCell<Vec<Dep>>);

impl Deps {
    pub(super) fn add(&self, dep: Dep) {
        self.0.borrow_mut().push(dep);
    }

    /// One dependency per stage depended on, at its first mention.
    pub(super) fn into_first_mentions(self) -> Vec<Dep> {
        let mut seen = HashSet::default();
        self.0
            .into_inner()
            .into_iter()
            .filter(|d| seen.insert(d.on))
            .collect()
    }
}

pub(crate) struct Checker<'a> {
    pub(super) sources: &'a SourceSet,
    pub(super) modules: &'a [Module],
    /// Module -> whether its file parsed (its templates can be looked up).
    pub(super) loaded: Vec<bool>,
    pub(super) diags: Diagnostics,
    pub(super) templates: Vec<hir::Template>,
    pub(super) group_templates: Vec<hir::GroupTemplate>,
    /// A group template's body is being checked (its groups cannot use
    /// group templates).
    pub(super) in_group_template: bool,
    /// `(module, name)` -> the checked template, or a mark for one too
    /// broken to check uses against (its own errors are already reported).
    pub(super) template_index: HashMap<(ModuleId, Text), TemplateSlot>,
    /// `(module, name)` of every pipeline, to tell a user who `uses` one.
    pub(super) pipeline_names: HashSet<(ModuleId, Text)>,
    /// Code spans already reported by E0229 (a template's, once).
    pub(super) reported_code_values: HashSet<Span>,
    /// Every reference resolved so far, for [`Checked::index`].
    pub(super) refs: Vec<RefEntry>,
    /// Where the `for_each` that `item` reads is written, in the body
    /// being checked.
    pub(super) item_def: Option<Span>,
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
        /// Where the stage being checked collects the stages it depends
        /// on; `None` in `defaults` and pipeline settings, where stage
        /// outputs cannot be read.
        deps: Option<&'s Deps>,
        for_each: bool,
        /// The keys of each literal `for_each` item (none for a scalar
        /// item); `None` when the items are not written in the program.
        item_keys: Option<&'s [Vec<Text>]>,
        /// Where the reading stage (or group, for its own fields: its
        /// parent's place) sits.
        place: Place,
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
    /// Where each of `params` is named, in its order.
    pub(super) param_spans: Vec<Span>,
    pub(super) stages: Vec<StageSig>,
    /// Where what each of `stages` shows is declared.
    pub(super) stage_defs: Vec<StageDefs>,
    pub(super) stage_index: HashMap<Text, StageId>,
    /// Where each of `stages` sits.
    pub(super) stage_places: Vec<Place>,
    /// Every group, in source order.
    pub(super) groups: Vec<GroupSig>,
    pub(super) group_index: HashMap<Text, GroupId>,
    /// In a group template's body: its inputs, and where each is named.
    pub(super) group_inputs: IndexMap<Text, (Ty, Span)>,
    /// Whether this is a group template's body (one DAG template shared
    /// by every use).
    pub(super) group_template: bool,
    /// The pipeline has a `schedule` (a CronWorkflow).
    pub(super) scheduled: bool,
}

/// What references can see of a group before any body is checked.
pub(super) struct GroupSig {
    pub(super) name: Text,
    pub(super) name_span: Span,
    pub(super) place: Place,
    /// Where its `for_each` is written, if it loops.
    pub(super) for_each: Option<Span>,
    /// The outputs of the group template it uses, with their types.
    pub(super) outputs: IndexMap<Text, Ty>,
    /// The keys of each literal `for_each` item (as for a stage).
    pub(super) item_keys: Option<Vec<Vec<Text>>>,
}

impl PipelineCx {
    /// Where a stage or group sits.
    pub(super) fn place(&self, node: NodeId) -> Place {
        match node {
            NodeId::Stage(s) => self.stage_places[s.index()],
            NodeId::Group(g) => self.groups[g.index()].place,
        }
    }

    /// The loop groups that hold a place, innermost first.
    pub(super) fn loops_holding(&self, place: Place) -> Vec<GroupId> {
        let mut out = Vec::new();
        let mut at = place.group;
        while let Some(g) = at {
            let sig = &self.groups[g.index()];
            if sig.for_each.is_some() {
                out.push(g);
            }
            at = sig.place.group;
        }
        out
    }

    /// The loops a stage's outputs are made in: the loop groups holding
    /// it, and the stage itself when it fans out (`None` stands for it).
    pub(super) fn loops_of_stage(&self, stage: StageId) -> Vec<Option<GroupId>> {
        let own = self.stages[stage.index()].for_each.then_some(None);
        own.into_iter()
            .chain(
                self.loops_holding(self.stage_places[stage.index()])
                    .into_iter()
                    .map(Some),
            )
            .collect()
    }
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
        root: ModuleId,
        root_parsed: bool,
    ) -> Self {
        Checker {
            sources,
            modules,
            loaded: modules
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    if i == root.index() {
                        root_parsed
                    } else {
                        m.file.is_some()
                    }
                })
                .collect(),
            diags: Diagnostics::default(),
            templates: Vec::new(),
            group_templates: Vec::new(),
            in_group_template: false,
            template_index: HashMap::default(),
            pipeline_names: HashSet::default(),
            reported_code_values: HashSet::default(),
            refs: Vec::new(),
            item_def: None,
        }
    }

    /// Checks the program whose root module's AST is `root_file` (taken
    /// out of `modules[root]`: its pipelines are consumed as they are
    /// checked).
    pub fn run(mut self, root: ModuleId, root_file: Option<ast::File>) -> Checked {
        // Group templates last: their members may use any stage template.
        let passes: [fn(&mut Self, ModuleId, &ast::File); 2] =
            [Self::module_templates, Self::module_group_templates];
        for pass in passes {
            for (index, module) in self.modules.iter().enumerate() {
                let index = ModuleId(index);
                let file = if index == root {
                    root_file.as_ref()
                } else {
                    module.file.as_ref()
                };
                if let Some(file) = file {
                    pass(&mut self, index, file);
                }
            }
        }
        let mut pipelines = Vec::new();
        let mut signatures = Vec::new();
        if let Some(file) = root_file {
            self.pipeline_names(&file);
            for item in file.items {
                if let ast::Item::Pipeline(p) = item {
                    let (pipeline, sigs) = self.pipeline(root, p);
                    pipelines.push(pipeline);
                    signatures.push(sigs);
                }
            }
        }
        Checked {
            program: hir::Program {
                pipelines,
                templates: self.templates,
                group_templates: self.group_templates,
            },
            signatures,
            index: RefIndex::new(self.refs),
            diagnostics: self.diags,
        }
    }

    pub(super) fn src(&self, span: Span) -> Src {
        self.sources.named(span.source)
    }

    pub(super) fn push(&mut self, e: MlpError) {
        self.diags.push(e);
    }

    /// Whether an error was reported since the diagnostics numbered `from`.
    pub(super) fn errors_since(&self, from: usize) -> bool {
        self.diags.items[from..].iter().any(MlpError::is_error)
    }
}
