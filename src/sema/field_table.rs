//! Which table of fields (`schema`) a position in a file is in: for the
//! language server's hover and completion, on text being edited that may
//! not parse. The blocks map to tables as the checker reads them: a
//! pipeline's entries are `PIPELINE`'s (`mlflow` nested), a stage's and
//! `defaults`' are `STAGE`'s for its kind, a nested block or a list of
//! records is its field's table (`FieldTy::Block`, `Retries`, `Records`,
//! `Volumes`), `volume NAME` is `RUN_VOLUME` and `sidecar NAME` is
//! `SIDECAR`.

use super::schema::{self, FieldSpec, FieldTy, StageKind};

/// The fields valid at a position.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub specs: &'static [FieldSpec],
    /// For `STAGE`: the stage's kind (`None`: `defaults`, a group, a
    /// template of an unknown kind).
    pub kind: Option<StageKind>,
}

impl Table {
    const fn of(specs: &'static [FieldSpec]) -> Table {
        Table { specs, kind: None }
    }

    fn stage(kind: Option<StageKind>) -> Table {
        Table {
            specs: schema::STAGE,
            kind,
        }
    }

    /// The spec of field `name` here.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        if std::ptr::eq(self.specs, schema::STAGE) {
            return schema::stage_field(name, self.kind)?.ok();
        }
        self.specs.iter().find(|s| s.name == name)
    }

    /// The names of the fields valid here, in table order, once each.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = if std::ptr::eq(self.specs, schema::STAGE) {
            schema::stage_field_names(self.kind)
        } else {
            self.specs.iter().map(|s| s.name).collect()
        };
        let mut seen = std::collections::HashSet::new();
        out.retain(|n| seen.insert(*n));
        out
    }
}

/// The table inside `KIND NAME { ... }`.
fn stage_shaped(kind: &str) -> Table {
    match kind {
        "volume" => Table::of(schema::RUN_VOLUME),
        "sidecar" => Table::of(schema::SIDECAR),
        // A group's own fields (`for_each`, `after`, ...) are stage fields.
        "group" => Table::stage(None),
        kind => Table::stage(StageKind::from_name(kind)),
    }
}

/// The table inside `NAME { ... }` (or `NAME = { ... }`) in `parent`.
fn named_block(parent: Table, name: &str) -> Option<Table> {
    match name {
        "defaults" if std::ptr::eq(parent.specs, schema::PIPELINE) => Some(Table::stage(None)),
        // `finally` holds stages, as the pipeline does.
        "finally" => Some(parent),
        _ => nested(&parent.field(name)?.ty),
    }
}

/// The table of a field whose value is a block or records.
fn nested(ty: &FieldTy) -> Option<Table> {
    Some(Table::of(match ty {
        FieldTy::Block(specs) | FieldTy::Records(specs) => specs,
        FieldTy::Retries => schema::RETRIES,
        FieldTy::Volumes => schema::VOLUME,
        _ => return None,
    }))
}

/// The table at the end of `text`, a file being edited that may not parse:
/// the blocks still open there, read from their headers (`pipeline p {`,
/// `train fit {`, `resources {`, `volumes = [{`). Strings and comments are
/// skipped.
pub fn table_at_end(text: &str) -> Option<Table> {
    // The open brackets, each with the words before it on its line.
    let mut open: Vec<(u8, Vec<&str>)> = Vec::new();
    let bytes = text.as_bytes();
    let mut line_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line_start = i + 1,
            b'"' if text[i..].starts_with("\"\"\"") => {
                i = text[i + 3..]
                    .find("\"\"\"")
                    .map_or(bytes.len(), |j| i + 3 + j + 2);
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => i = text[i..].find('\n').map_or(bytes.len(), |j| i + j - 1),
            b'/' if text[i..].starts_with("//") => {
                i = text[i..].find('\n').map_or(bytes.len(), |j| i + j - 1)
            }
            b @ (b'{' | b'[') => {
                let from = text[..i]
                    .rfind(['{', '[', ',', ';'])
                    .map_or(line_start, |j| j + 1);
                let words = text[from.max(line_start)..i].split_whitespace().collect();
                open.push((b, words));
            }
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    let mut table: Option<Table> = None;
    for (bracket, words) in &open {
        let words: Vec<&str> = words.iter().copied().filter(|w| *w != "=").collect();
        table = match (table, words.as_slice()) {
            (None, ["pipeline", ..]) => Some(Table::of(schema::PIPELINE)),
            (None, ["template", kind, ..]) => Some(Table::stage(StageKind::from_name(kind))),
            (None, _) => return None,
            // An item of a list of records: the list's table.
            (Some(t), []) => Some(t),
            (Some(t), [name]) => named_block(t, name).or(Some(t).filter(|_| *bracket == b'[')),
            (Some(_), [kind, _name, ..]) => Some(stage_shaped(kind)),
        };
    }
    table
}
