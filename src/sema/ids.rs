//! Typed indices, so that a module, a template and a stage cannot be
//! mistaken for one another. The HIR, the graph and the plan hold them
//! (`TemplateUse::template`, `Ref::Output::stage`, `Dep::stage`,
//! `Value::Stage`, ...); [`Program::template`](super::hir::Program::template)
//! and [`Pipeline::stage`](super::hir::Pipeline::stage) look them up.
//!
//! Each serializes as its plain number, as the `usize` it replaced did
//! (`mlpc debug hir`).

use serde::Serialize;

/// A loaded file: an index into the loader's (and the checker's) modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ModuleId(pub(crate) usize);

/// A checked template: an index into [`super::hir::Program::templates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TemplateId(pub(crate) usize);

/// A stage of a pipeline, by its place in the source: an index into
/// [`super::hir::Pipeline::stages`] (and the plan's stages, and the
/// pipeline's signatures while it is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StageId(pub(crate) usize);

/// A group of a pipeline (§9.1), by its place in the source: an index into
/// [`super::hir::Pipeline::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct GroupId(pub(crate) usize);

/// A node of a pipeline's graph: a stage or a group. Dependencies and
/// `after` entries name one; a group stands for all of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum NodeId {
    Stage(StageId),
    Group(GroupId),
}

impl From<StageId> for NodeId {
    fn from(s: StageId) -> Self {
        NodeId::Stage(s)
    }
}

impl From<GroupId> for NodeId {
    fn from(g: GroupId) -> Self {
        NodeId::Group(g)
    }
}

/// A checked group template (§9.3): an index into
/// [`super::hir::Program::group_templates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct GroupTemplateId(pub(crate) usize);

impl GroupTemplateId {
    pub fn index(self) -> usize {
        self.0
    }
}

impl GroupId {
    pub fn new(index: usize) -> Self {
        GroupId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }
}

impl ModuleId {
    pub fn new(index: usize) -> Self {
        ModuleId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }
}

impl TemplateId {
    pub fn new(index: usize) -> Self {
        TemplateId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }
}

impl StageId {
    pub fn new(index: usize) -> Self {
        StageId(index)
    }

    pub fn index(self) -> usize {
        self.0
    }

    /// The ids of `n` stages, in source order.
    pub fn all(n: usize) -> impl Iterator<Item = StageId> + Clone {
        (0..n).map(StageId)
    }
}
