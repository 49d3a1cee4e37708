//! Stage 2: AST + imports -> HIR. Loads imported modules, resolves names,
//! checks fields and types, and collects every error of the program.

pub mod argv;
mod check;
mod conditions;
mod cron;
pub mod distributed;
pub mod effective;
pub mod field_table;
mod fields;
mod group_templates;
mod groups;
pub mod hir;
pub mod ids;
pub mod index;
pub mod k8s;
mod links;
mod maps;
mod members;
mod names;
mod pipeline;
mod pod_fields;
pub mod policy;
mod refs;
mod scalars;
pub mod schema;
mod secrets;
mod settings;
pub mod signature;
mod stages;
mod templates;
pub mod text;
pub mod types;
mod values;
mod volumes;

pub use k8s::dns_name;

use crate::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, MlpError};
use crate::source::{SourceFile, SourceId, SourceSet, Span};
use crate::stdlib;
use crate::syntax::{self, ast};
use ids::ModuleId;

/// Where imported files come from: the file system, or memory in tests.
pub trait FileLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// The path that identifies a file, so two spellings load it once.
    fn canonical(&self, path: &Path) -> std::io::Result<PathBuf>;
}

/// Reads imports from disk.
pub struct FsLoader;

impl FileLoader for FsLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn canonical(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// The result of analysing one file and everything it imports.
pub struct Analysis {
    pub sources: SourceSet,
    pub root: SourceId,
    /// The checked program; `None` when there are errors. Only this one
    /// is planned and emitted.
    pub program: Option<hir::Program>,
    /// When there are errors (and `program` is `None`): everything that
    /// checked, for tools that read a program being edited (a language
    /// server). Each stage written is there, at its index, marked
    /// [`hir::Stage::has_errors`] when it has any, without the fields
    /// that failed to check. Never to be emitted.
    pub partial: Option<hir::Program>,
    /// Every reference that resolved, with what it names and its type;
    /// built with or without errors.
    pub index: index::RefIndex,
    /// Per pipeline of the root file, in source order: what each stage
    /// shows other stages (kind, outputs and their types, metrics), known
    /// even when the program has errors.
    pub signatures: Vec<signature::PipelineSigs>,
    /// The root file's AST, when it parsed and `analyze_keeping_ast` was
    /// asked for it (`analyze` frees it as it goes).
    pub ast: Option<ast::File>,
    /// The root file parsed (its syntax errors, if any, are E0001-E0007).
    pub parsed: bool,
    pub diagnostics: Diagnostics,
}

impl Analysis {
    /// The program as far as it checked: `program` when it has no errors,
    /// else `partial`.
    pub fn best_program(&self) -> Option<&hir::Program> {
        self.program.as_ref().or(self.partial.as_ref())
    }
}

/// One loaded file.
pub(crate) struct Module {
    pub source: SourceId,
    pub file: Option<ast::File>,
    /// `alias -> module`, for every import that loaded.
    pub imports: Vec<ModuleImport>,
    /// Name used to qualify this module's templates in Kubernetes names.
    pub qualifier: Option<String>,
}

pub(crate) struct ModuleImport {
    pub alias: ast::Ident,
    pub module: ModuleId,
}

/// Checks the file `name` (read from `path`, if it is on disk) with its
/// imports. Never panics; every problem becomes a diagnostic.
pub fn analyze(name: &str, path: Option<&Path>, bytes: &[u8], loader: &dyn FileLoader) -> Analysis {
    analyze_with(name, path, bytes, loader, KeepAst::No)
}

/// `analyze`, also returning the root file's AST (`mlpc debug ast`).
pub fn analyze_keeping_ast(
    name: &str,
    path: Option<&Path>,
    bytes: &[u8],
    loader: &dyn FileLoader,
) -> Analysis {
    analyze_with(name, path, bytes, loader, KeepAst::Yes)
}

enum KeepAst {
    Yes,
    No,
}

fn analyze_with(
    name: &str,
    path: Option<&Path>,
    bytes: &[u8],
    loader: &dyn FileLoader,
    keep_ast: KeepAst,
) -> Analysis {
    let mut l = Loader {
        loader,
        sources: SourceSet::new(),
        modules: Vec::new(),
        by_key: HashMap::default(),
        stack: Vec::new(),
        diags: Diagnostics::default(),
    };
    let canonical = path.and_then(|p| loader.canonical(p).ok());
    let key = canonical.clone().map(ModuleKey::File);
    let root_module = l.load(
        name.to_string(),
        canonical.or(path.map(Path::to_path_buf)),
        bytes,
        key,
        None,
    );
    let root = l.modules[root_module.index()].source;
    let mut diagnostics = l.diags;
    // The checker consumes the root file's pipelines; keep a copy only for
    // a caller that wants the tree itself.
    let root_file = l.modules[root_module.index()].file.take();
    let ast = match keep_ast {
        KeepAst::Yes => root_file.clone(),
        KeepAst::No => None,
    };
    let parsed = root_file.is_some();
    let checked = check::Checker::new(&l.sources, &l.modules, root_module, parsed)
        .run(root_module, root_file);
    diagnostics.extend(checked.diagnostics);
    diagnostics.sort_by_position();
    let (program, partial) = if diagnostics.has_errors() {
        (None, Some(checked.program))
    } else {
        (Some(checked.program), None)
    };
    Analysis {
        sources: l.sources,
        root,
        program,
        partial,
        index: checked.index,
        signatures: checked.signatures,
        ast,
        parsed,
        diagnostics,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ModuleKey {
    File(PathBuf),
    Std(String),
}

struct Loader<'l> {
    loader: &'l dyn FileLoader,
    sources: SourceSet,
    modules: Vec<Module>,
    by_key: HashMap<ModuleKey, ModuleId>,
    /// Modules being loaded, outermost first: an import of one of them is a cycle.
    stack: Vec<ModuleId>,
    diags: Diagnostics,
}

impl Loader<'_> {
    fn load(
        &mut self,
        name: String,
        path: Option<PathBuf>,
        bytes: &[u8],
        key: Option<ModuleKey>,
        qualifier: Option<String>,
    ) -> ModuleId {
        let (text, utf8_error) = match std::str::from_utf8(bytes) {
            // Straight into the shared text: no intermediate copy.
            Ok(t) => (std::sync::Arc::<str>::from(t), None),
            Err(e) => (String::from_utf8_lossy(bytes).into(), Some(e.valid_up_to())),
        };
        let source = self.sources.add(SourceFile { name, text, path });
        let index = ModuleId(self.modules.len());
        self.modules.push(Module {
            source,
            file: None,
            imports: Vec::new(),
            qualifier,
        });
        if let Some(key) = key {
            self.by_key.insert(key, index);
        }
        let file = self.sources.get(source);
        if let Some(offset) = utf8_error {
            // The text shown is the lossy decoding: the invalid byte is one
            // U+FFFD there, three bytes long.
            self.diags.push(MlpError::NotUtf8 {
                src: file.named(),
                at: Span::new(source, offset, offset + '\u{FFFD}'.len_utf8()),
                offset,
            });
            return index;
        }
        let ast = match syntax::parse(file, source) {
            Ok((ast, literal_errors)) => {
                for e in literal_errors {
                    self.diags.push(e);
                }
                ast
            }
            Err(e) => {
                self.diags.push(e);
                return index;
            }
        };
        self.stack.push(index);
        let imports = self.imports(index, &ast);
        self.stack.pop();
        self.modules[index.index()].file = Some(ast);
        self.modules[index.index()].imports = imports;
        index
    }

    fn imports(&mut self, index: ModuleId, file: &ast::File) -> Vec<ModuleImport> {
        let source = self.modules[index.index()].source;
        let mut first_item: Option<Span> = None;
        let mut seen: HashMap<String, Span> = HashMap::default();
        let mut out = Vec::new();
        for item in &file.items {
            let ast::Item::Import(import) = item else {
                first_item.get_or_insert(item.span());
                continue;
            };
            if let Some(item_span) = first_item {
                self.diags.push(MlpError::ImportAfterItem {
                    src: self.sources.named(source),
                    at: import.span,
                    item: Span::new(
                        source,
                        item_span.start as usize,
                        item_span.start as usize + 1,
                    ),
                });
            }
            let Some(alias) = self.alias(source, import) else {
                continue;
            };
            if let Some(first) = seen.get(alias.name.as_str()) {
                self.diags.push(MlpError::Duplicate {
                    src: self.sources.named(source),
                    what: "import alias".into(),
                    name: alias.name.to_string(),
                    again: alias.span,
                    first: *first,
                });
                continue;
            }
            seen.insert(alias.name.to_string(), alias.span);
            if let Some(module) = self.import(index, import) {
                out.push(ModuleImport { alias, module });
            }
        }
        out
    }

    /// The name templates of the import are qualified with.
    fn alias(&mut self, source: SourceId, import: &ast::Import) -> Option<ast::Ident> {
        let alias = match (&import.alias, &import.target) {
            (Some(alias), _) => alias.clone(),
            (None, ast::ImportTarget::Module(segments)) => segments.last()?.clone(),
            (None, ast::ImportTarget::Path { path, span }) => {
                let stem = Path::new(path)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                if !is_identifier(stem) {
                    self.diags.push(MlpError::InvalidValue {
                        src: self.sources.named(source),
                        at: *span,
                        field: "import".into(),
                        reason: format!(
                            "the file name `{stem}` is not a name templates can be qualified with"
                        ),
                        help: Some("add `as NAME` to the import".into()),
                    });
                    return None;
                }
                ast::Ident {
                    name: stem.into(),
                    span: *span,
                }
            }
        };
        if crate::syntax::is_reserved(&alias.name) {
            self.diags.push(MlpError::ReservedName {
                src: self.sources.named(source),
                at: alias.span,
                name: alias.name.to_string(),
                what: "an import".into(),
            });
            return None;
        }
        Some(alias)
    }

    fn import(&mut self, importer: ModuleId, import: &ast::Import) -> Option<ModuleId> {
        let source = self.modules[importer.index()].source;
        match &import.target {
            ast::ImportTarget::Module(segments) => {
                let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
                let span = segments
                    .first()
                    .map(|f| f.span.to(segments[segments.len() - 1].span))
                    .unwrap_or(import.span);
                let module = match names.as_slice() {
                    ["std", module] => *module,
                    _ => {
                        let wanted = names.join(".");
                        let help = match names.as_slice() {
                            [one] if stdlib::module(one).is_some() => Some(format!("write `import std.{one}`")),
                            _ => Some(format!(
                                "standard modules are imported as `std.NAME` ({}); files as `import \"path.mlp\"`",
                                stdlib::names().map(|n| format!("std.{n}")).collect::<Vec<_>>().join(", ")
                            )),
                        };
                        self.diags.push(MlpError::UnknownModule {
                            src: self.sources.named(source),
                            at: span,
                            name: wanted,
                            help,
                        });
                        return None;
                    }
                };
                let Some(text) = stdlib::module(module) else {
                    self.diags.push(MlpError::UnknownModule {
                        src: self.sources.named(source),
                        at: span,
                        name: format!("std.{module}"),
                        help: crate::diag::closest(module, stdlib::names())
                            .map(|c| format!("did you mean `std.{c}`?"))
                            .or_else(|| {
                                Some(format!(
                                    "the standard library has {}",
                                    stdlib::names()
                                        .map(|n| format!("`std.{n}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ))
                            }),
                    });
                    return None;
                };
                let key = ModuleKey::Std(module.to_string());
                if let Some(found) = self.by_key.get(&key) {
                    return Some(*found);
                }
                Some(self.load(
                    stdlib::display_name(module),
                    None,
                    text.as_bytes(),
                    Some(key),
                    Some(module.to_string()),
                ))
            }
            ast::ImportTarget::Path { path, span } => {
                let not_found = |reason: String| MlpError::ImportNotFound {
                    src: self.sources.named(source),
                    at: *span,
                    path: path.clone(),
                    reason,
                };
                let Some(base) = self.sources.get(source).path.clone() else {
                    let reason = if self.sources.get(source).name.starts_with("<std>") {
                        "standard-library modules cannot import files".to_string()
                    } else {
                        "the importing file has no location on disk".to_string()
                    };
                    self.diags.push(not_found(reason));
                    return None;
                };
                let dir = base.parent().map(Path::to_path_buf).unwrap_or_default();
                let joined = dir.join(path);
                let canonical = match self.loader.canonical(&joined) {
                    Ok(c) => c,
                    Err(e) => {
                        self.diags.push(not_found(io_reason(&e)));
                        return None;
                    }
                };
                let key = ModuleKey::File(canonical.clone());
                if let Some(found) = self.by_key.get(&key).copied() {
                    if let Some(pos) = self.stack.iter().position(|m| *m == found) {
                        let mut chain: Vec<String> = self.stack[pos..]
                            .iter()
                            .map(|m| {
                                self.sources
                                    .get(self.modules[m.index()].source)
                                    .name
                                    .clone()
                            })
                            .collect();
                        chain.push(
                            self.sources
                                .get(self.modules[found.index()].source)
                                .name
                                .clone(),
                        );
                        self.diags.push(MlpError::ImportCycle {
                            src: self.sources.named(source),
                            at: *span,
                            cycle: chain.join(" -> "),
                        });
                        return None;
                    }
                    return Some(found);
                }
                let bytes = match self.loader.read(&canonical) {
                    Ok(b) => b,
                    Err(e) => {
                        self.diags.push(not_found(io_reason(&e)));
                        return None;
                    }
                };
                let name = display_path(path, self.sources.get(source).name.as_str());
                let qualifier = Path::new(path)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_string);
                Some(self.load(name, Some(canonical), &bytes, Some(key), qualifier))
            }
        }
    }
}

/// The name an imported file is shown by: relative to where the importer
/// is shown (`pipelines/../shared/x.mlp` is `shared/x.mlp`).
fn display_path(path: &str, importer_name: &str) -> String {
    let importer_dir = Path::new(importer_name).parent().unwrap_or(Path::new(""));
    plain_path(&importer_dir.join(path))
}

/// A file's name as diagnostics show it: `.` and `..` resolved as text,
/// so that a file reached as `./a.mlp`, `a.mlp` or `x/../a.mlp` has one
/// name, the one a repository (and a CI annotation) knows it by.
pub fn plain_path(path: &Path) -> String {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        return ".".into();
    }
    out.to_string_lossy().into_owned()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::display_path;
    use std::path::Path;

    #[test]
    fn an_imported_file_is_shown_by_its_plain_relative_name() {
        assert_eq!(
            display_path("../shared/lib.mlp", "pipelines/main.mlp"),
            "shared/lib.mlp"
        );
        assert_eq!(
            display_path("./lib.mlp", "pipelines/main.mlp"),
            "pipelines/lib.mlp"
        );
        assert_eq!(display_path("lib.mlp", "main.mlp"), "lib.mlp");
        // Above the importer's folder stays above it.
        assert_eq!(display_path("../../lib.mlp", "p/main.mlp"), "../lib.mlp");
        assert_eq!(display_path("../x/../lib.mlp", "main.mlp"), "../lib.mlp");
        assert_eq!(super::plain_path(Path::new("./p/./main.mlp")), "p/main.mlp");
        assert_eq!(super::plain_path(Path::new("/a/../b.mlp")), "/b.mlp");
    }
}
