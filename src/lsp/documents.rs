//! The open documents, their analyses, and positions: LSP line/character
//! pairs (in the negotiated encoding) to byte offsets and back, through the
//! one line index of `source::Lines`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Position, PublishDiagnosticsParams, Range, Url,
};

use crate::diag::{MlpError, Severity};
use crate::sema::{Analysis, FileLoader};
use crate::source::{SourceId, Span};

/// How the client counts a position's character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// One open document.
struct Document {
    text: String,
    version: i32,
    /// The analysis of `text`, until it changes.
    analysis: Option<Analysis>,
    /// Its diagnostics are published for this text.
    published: bool,
}

pub struct Documents {
    pub encoding: Encoding,
    open: BTreeMap<Url, Document>,
}

/// Reads imports from the open documents first, then from disk: a file
/// importing one being edited sees the edits.
struct Overlay<'a> {
    open: &'a BTreeMap<Url, Document>,
}

impl FileLoader for Overlay<'_> {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match Url::from_file_path(path)
            .ok()
            .and_then(|u| self.open.get(&u))
        {
            Some(doc) => Ok(doc.text.clone().into_bytes()),
            None => std::fs::read(path),
        }
    }

    fn canonical(&self, path: &Path) -> std::io::Result<PathBuf> {
        // An open file that is not saved yet has no canonical path on disk.
        std::fs::canonicalize(path).or_else(|e| match Url::from_file_path(path) {
            Ok(u) if self.open.contains_key(&u) => Ok(path.to_path_buf()),
            _ => Err(e),
        })
    }
}

impl Documents {
    pub fn new(encoding: Encoding) -> Self {
        Documents {
            encoding,
            open: BTreeMap::new(),
        }
    }

    pub fn open(&mut self, uri: Url, text: String, version: i32) {
        self.open.insert(
            uri,
            Document {
                text,
                version,
                analysis: None,
                published: false,
            },
        );
        self.invalidate_all();
    }

    pub fn change(&mut self, uri: Url, text: String, version: i32) {
        if let Some(doc) = self.open.get_mut(&uri) {
            doc.text = text;
            doc.version = version;
        }
        // Every open file may import this one.
        self.invalidate_all();
    }

    pub fn touch(&mut self, _uri: &Url) {
        self.invalidate_all();
    }

    pub fn close(&mut self, uri: &Url) {
        self.open.remove(uri);
        self.invalidate_all();
    }

    fn invalidate_all(&mut self) {
        for doc in self.open.values_mut() {
            doc.analysis = None;
            doc.published = false;
        }
    }

    /// An open document's current text.
    pub fn text(&self, uri: &Url) -> Option<&str> {
        self.open.get(uri).map(|d| d.text.as_str())
    }

    /// The analysis of an open document's current text.
    pub fn analysis(&mut self, uri: &Url) -> Option<&Analysis> {
        if self.open.get(uri)?.analysis.is_none() {
            let analysis = self.check(uri, &self.open[uri].text);
            self.open.get_mut(uri)?.analysis = Some(analysis);
        }
        self.open.get(uri)?.analysis.as_ref()
    }

    /// The analysis an open document would have with `text`, which is not
    /// kept: for completion in a document that does not parse (with a
    /// placeholder at the cursor).
    pub fn analysis_of(&self, uri: &Url, text: &str) -> Option<Analysis> {
        self.open.contains_key(uri).then(|| self.check(uri, text))
    }

    fn check(&self, uri: &Url, text: &str) -> Analysis {
        let path = uri.to_file_path().ok();
        let name = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| uri.to_string());
        crate::check(
            &name,
            path.as_deref(),
            text.as_bytes(),
            &Overlay { open: &self.open },
            crate::Policies::default(),
        )
    }

    /// The diagnostics of every document not yet published for its text:
    /// its own, and those in files it imports that are not open (an open
    /// one publishes its own).
    pub fn stale_diagnostics(&mut self) -> Vec<PublishDiagnosticsParams> {
        let stale: Vec<Url> = self
            .open
            .iter()
            .filter(|(_, d)| !d.published)
            .map(|(u, _)| u.clone())
            .collect();
        let mut out = Vec::new();
        for uri in stale {
            let version = self.open[&uri].version;
            let encoding = self.encoding;
            let open: Vec<Url> = self.open.keys().cloned().collect();
            let Some(analysis) = self.analysis(&uri) else {
                continue;
            };
            let mut by_file: BTreeMap<Url, Vec<Diagnostic>> = BTreeMap::new();
            by_file.insert(uri.clone(), Vec::new());
            for d in &analysis.diagnostics.items {
                let file = match d.source_id() {
                    Some(id) if id == analysis.root => uri.clone(),
                    Some(id) => match file_url(analysis, id) {
                        Some(u) if !open.contains(&u) => u,
                        _ => continue,
                    },
                    None => uri.clone(),
                };
                by_file
                    .entry(file)
                    .or_default()
                    .push(diagnostic(analysis, &uri, encoding, d));
            }
            for (file, diagnostics) in by_file {
                let version = (file == uri).then_some(version);
                out.push(PublishDiagnosticsParams {
                    uri: file,
                    diagnostics,
                    version,
                });
            }
            if let Some(doc) = self.open.get_mut(&uri) {
                doc.published = true;
            }
        }
        out
    }

    /// The byte offset of a position in an open document's root file.
    pub fn offset(&mut self, uri: &Url, at: Position) -> Option<(SourceId, usize)> {
        let utf16 = self.encoding == Encoding::Utf16;
        let analysis = self.analysis(uri)?;
        let root = analysis.root;
        let lines = analysis.sources.get(root).lines();
        Some((root, lines.offset(at.line, at.character, utf16)))
    }
}

/// The file a source id names, as a URL. A standard-library module has no
/// file: it is materialized, read-only, under the temporary directory
/// (`mlpc-std-VERSION/NAME.mlp`), so that an editor can open it.
pub fn file_url(analysis: &Analysis, id: SourceId) -> Option<Url> {
    let file = analysis.sources.get(id);
    let path = match &file.path {
        Some(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
        None => materialized("std", file.name.strip_prefix("<std>/")?, &file.text)?,
    };
    Url::from_file_path(path).ok()
}

/// Where a diagnostic code's explanation (`mlpc explain CODE`) is, as a
/// file the editor can open: `mlpc-explain-VERSION/E0101.md` under the
/// temporary directory, written the first time it is linked.
pub fn explanation_url(code: &str) -> Option<Url> {
    let info = crate::diag::codes::lookup(code)?;
    let name = format!("{}.md", info.code.trim_start_matches("mlp::"));
    Url::from_file_path(materialized("explain", &name, &info.text())?).ok()
}

/// `text` written once, read-only, as `mlpc-KIND-VERSION/NAME` under the
/// temporary directory (again when it differs).
fn materialized(kind: &str, name: &str, text: &str) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mlpc-{kind}-{}", env!("CARGO_PKG_VERSION")));
    let path = dir.join(name);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(&dir).ok()?;
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text).ok()?;
        if let Ok(meta) = std::fs::metadata(&path) {
            let mut perms = meta.permissions();
            perms.set_readonly(true);
            let _ = std::fs::set_permissions(&path, perms);
        }
    }
    Some(path)
}

/// A position as the client counts it.
pub fn position(analysis: &Analysis, encoding: Encoding, id: SourceId, offset: usize) -> Position {
    let lines = analysis.sources.get(id).lines();
    let p = match encoding {
        Encoding::Utf8 => lines.utf8_position(offset),
        Encoding::Utf16 => lines.utf16_position(offset),
    };
    Position::new(p.line, p.character)
}

pub fn range(analysis: &Analysis, encoding: Encoding, span: Span) -> Range {
    Range::new(
        position(analysis, encoding, span.source, span.start as usize),
        position(analysis, encoding, span.source, span.end as usize),
    )
}

/// Where a span is, for the client: in the root document (`root`) or the
/// file it is in.
pub fn location(
    analysis: &Analysis,
    root: &Url,
    encoding: Encoding,
    span: Span,
) -> Option<Location> {
    let uri = if span.source == analysis.root {
        root.clone()
    } else {
        file_url(analysis, span.source)?
    };
    Some(Location::new(uri, range(analysis, encoding, span)))
}

/// One diagnostic as the protocol has it: the primary label's range, the
/// code, the help after the message, and the secondary labels as related
/// information.
fn diagnostic(analysis: &Analysis, root: &Url, encoding: Encoding, d: &MlpError) -> Diagnostic {
    let labels = d.labels();
    let primary = labels
        .iter()
        .find(|l| l.primary)
        .or(labels.first())
        .map(|l| l.span);
    let related: Vec<DiagnosticRelatedInformation> = labels
        .iter()
        .filter(|l| Some(l.span) != primary)
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: location(analysis, root, encoding, l.span)?,
                message: if l.text.is_empty() {
                    "here".into()
                } else {
                    l.text.clone()
                },
            })
        })
        .collect();
    let mut message = d.to_string();
    if let Some(help) = d.help() {
        message.push_str("\nhelp: ");
        message.push_str(&help);
    }
    Diagnostic {
        range: primary.map_or_else(Range::default, |s| range(analysis, encoding, s)),
        severity: Some(match d.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code_str())),
        code_description: explanation_url(&d.code_str()).map(|href| CodeDescription { href }),
        source: Some("mlpc".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}
