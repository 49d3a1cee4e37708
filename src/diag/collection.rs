//! The diagnostics of one run.

use super::MlpError;
use crate::source::SourceId;

/// All diagnostics of one run, in the order they were found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<MlpError>,
}

impl Diagnostics {
    pub fn push(&mut self, e: MlpError) {
        self.items.push(e);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(MlpError::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|e| e.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.items.iter().any(|e| e.code_str() == code)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Orders diagnostics by file (in order of first appearance) and then by
    /// the position of their primary label, keeping the found order for ties.
    pub fn sort_by_position(&mut self) {
        let mut files: Vec<SourceId> = Vec::new();
        let keys: Vec<(usize, usize)> = self
            .items
            .iter()
            .map(|d| {
                let Some((id, offset)) = primary_position(d) else {
                    return (usize::MAX, 0);
                };
                let file = files.iter().position(|f| *f == id).unwrap_or_else(|| {
                    files.push(id);
                    files.len() - 1
                });
                (file, offset)
            })
            .collect();
        let mut indexed: Vec<(usize, MlpError)> = std::mem::take(&mut self.items)
            .into_iter()
            .enumerate()
            .collect();
        indexed.sort_by_key(|(i, _)| keys[*i]);
        self.items = indexed.into_iter().map(|(_, d)| d).collect();
    }
}

/// The file id and byte offset of a diagnostic's primary label.
fn primary_position(d: &MlpError) -> Option<(SourceId, usize)> {
    let label = d.primary_label()?;
    Some((d.source_id()?, label.span.start as usize))
}

impl From<MlpError> for Diagnostics {
    fn from(e: MlpError) -> Self {
        Diagnostics { items: vec![e] }
    }
}
