//! Typed indices the checker uses internally, so that a module, a template
//! and a stage cannot be mistaken for one another. The HIR keeps plain
//! `usize` indices (`TemplateUse::template`, `Ref::Output::stage`,
//! `Dep::stage`, `Value::Stage`), which `index` converts to.

/// A loaded file: an index into the loader's (and the checker's) modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ModuleId(pub(crate) usize);

/// A checked template: an index into [`super::hir::Program::templates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TemplateId(pub(crate) usize);

/// A stage of the pipeline being checked, by its place in the source: an
/// index into [`super::hir::Pipeline::stages`] and the pipeline's
/// signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StageId(pub(crate) usize);

impl ModuleId {
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

impl TemplateId {
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

impl StageId {
    pub(crate) fn index(self) -> usize {
        self.0
    }
}
