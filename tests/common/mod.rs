//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mlpc::diag::render::{self, HumanOptions};
use mlpc::{analyze, Analysis, FsLoader, MlpError};

/// Snapshot settings for one suite: files under the top-level `snapshots/<suite>/`.
pub fn suite(name: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(name));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Analyses a file by its path relative to the crate root, as the CLI would.
pub fn analyze_file(relative: &Path) -> Analysis {
    let bytes = std::fs::read(root().join(relative)).expect("fixture is readable");
    let name = relative.to_string_lossy().replace('\\', "/");
    analyze(&name, Some(&root().join(relative)), &bytes, &FsLoader)
}

pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(root()).unwrap_or(path).to_path_buf()
}

pub fn diags(a: &Analysis) -> Vec<&MlpError> {
    a.diagnostics.items.iter().collect()
}

/// The human rendering, without colour, at a fixed width: stable for snapshots.
pub fn render_plain(a: &Analysis) -> String {
    render::human(
        &diags(a),
        HumanOptions {
            color: false,
            width: 80,
        },
    )
}

pub fn render_json(a: &Analysis) -> String {
    render::json(&diags(a))
}

/// `.mlp` files directly in a folder, sorted.
pub fn mlp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("folder exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mlp"))
        .collect();
    files.sort();
    files
}

pub fn mlpc_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mlpc")
}
