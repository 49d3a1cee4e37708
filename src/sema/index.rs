//! The reference index: where each name is used, what it names, and its
//! type. Built as references resolve (`Checker::reference`, `after`,
//! `uses`), kept even when the program has errors, for a language
//! server's hover and go-to-definition.

use serde::Serialize;

use super::types::Ty;
use crate::source::{SourceId, Span};
use crate::syntax::ast::Text;

/// What a definition declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DefKind {
    /// `param NAME: TYPE` of a pipeline.
    Param,
    /// `input NAME: TYPE` of a template.
    Input,
    /// A stage, named in `after`.
    Stage,
    /// `output NAME: TYPE = "path"`, of a stage or its template.
    Output,
    /// An output the stage's kind gives it (`model`, `run_id`, `version`,
    /// ...): defined by the stage itself.
    BuiltinOutput,
    /// A metric listed in a tracked `train` stage's `metrics`.
    Metric,
    /// `item`, or one key of it: the current `for_each` element.
    Item,
    /// `run.name`, `run.uid`, ...: built in, declared nowhere.
    Run,
    /// A template a stage `uses`.
    Template,
}

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definition {
    /// Where it is declared (the name, where one is written), in its own
    /// file: an imported file or a standard module keeps its `SourceId`.
    /// `None` for what no file declares (`run.*`).
    pub span: Option<Span>,
    pub kind: DefKind,
    /// As the reference names it: `data.rows`, `lr`, `terraform.plan`.
    pub name: Text,
}

/// One resolved reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefEntry {
    /// Where the reference is written.
    pub use_span: Span,
    pub def: Definition,
    /// Its type; `None` for names that are not values (a stage in
    /// `after`, a template in `uses`).
    pub ty: Option<Ty>,
}

/// Every reference that resolved, sorted by where it is written (file,
/// then offset), so a position finds its reference by binary search.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RefIndex {
    entries: Vec<RefEntry>,
}

impl RefIndex {
    /// Sorts the entries and drops a reference resolved twice.
    pub(super) fn new(mut entries: Vec<RefEntry>) -> Self {
        entries.sort_by_key(|e| key(e.use_span));
        entries.dedup_by_key(|e| key(e.use_span));
        RefIndex { entries }
    }

    /// Every entry, in order of where it is written.
    pub fn entries(&self) -> &[RefEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The reference written at byte `offset` of `source` (its span holds
    /// the offset, end included, so a cursor just after a name finds it).
    pub fn at(&self, source: SourceId, offset: usize) -> Option<&RefEntry> {
        let offset = u32::try_from(offset).ok()?;
        // The first entry that ends at or after the offset; spans do not
        // overlap, so it is the only candidate.
        let i = self
            .entries
            .partition_point(|e| (e.use_span.source, e.use_span.end) < (source, offset));
        self.entries
            .get(i)
            .filter(|e| e.use_span.source == source && e.use_span.start <= offset)
    }

    /// The references in `source`, in order.
    pub fn in_source(&self, source: SourceId) -> &[RefEntry] {
        let from = self.entries.partition_point(|e| e.use_span.source < source);
        let to = self
            .entries
            .partition_point(|e| e.use_span.source <= source);
        &self.entries[from..to]
    }
}

fn key(s: Span) -> (SourceId, u32, u32) {
    (s.source, s.start, s.end)
}
