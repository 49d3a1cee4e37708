//! The standard library: `.mlp` modules embedded in the binary.
//!
//! `import std.NAME` loads `stdlib/NAME.mlp` from this table; diagnostics
//! show it as `<std>/NAME.mlp`.

/// Module name and source of every embedded module, sorted by name.
pub const STDLIB: &[(&str, &str)] = &[("terraform", include_str!("../stdlib/terraform.mlp"))];

pub fn module(name: &str) -> Option<&'static str> {
    STDLIB.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    STDLIB.iter().map(|(n, _)| *n)
}

/// The name diagnostics use for a standard-library file.
pub fn display_name(module: &str) -> String {
    format!("<std>/{module}.mlp")
}
