//! Random edits of real `.mlp` files, for property tests.

use proptest::prelude::*;

use super::{mlp_files, root};

/// Pieces a mutation may splice in: tokens, keywords and nasty characters.
pub const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "\"\"\"",
    "=",
    ",",
    ";",
    ":",
    ".",
    "\n",
    "#",
    "//",
    "\\",
    "${",
    "$",
    "{{",
    "train",
    "prep",
    "register",
    "deploy",
    "job",
    "when",
    "uses",
    "after",
    "param",
    "input",
    "output",
    "import",
    "pipeline",
    "template",
    "item",
    "run",
    "secret(",
    "64Gi",
    "10m",
    "-1",
    "1e999",
    "0.5",
    "true",
    "!",
    "&&",
    "||",
    ">=",
    "==",
    "\u{0}",
    "\u{FEFF}",
    "é",
    "🚀",
    "x.y.z",
    "metrics.auc",
    "std.terraform",
    "\"lib/x.mlp\"",
    // Contract v2 (LANGUAGE.md §9): keywords, built-in functions, shapes.
    "group",
    "finally",
    "volume",
    "sidecar",
    "group g {",
    "finally {",
    "template group",
    "len(",
    "max(",
    "min(",
    "sum(",
    "config_map(",
    "when max(a.b) >= 0.9",
    "GROUP.item",
];

#[derive(Debug, Clone)]
pub enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, piece: usize },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Truncate { at: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Mutation::Insert { at, piece }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

pub fn apply(text: &str, m: &Mutation) -> String {
    let boundary = |at: usize| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match m {
        Mutation::Delete { at, len } => {
            let start = boundary(*at);
            let end = boundary((start + len).min(text.len()));
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert { at, piece } => {
            let at = boundary(*at);
            format!("{}{}{}", &text[..at], PIECES[*piece], &text[at..])
        }
        Mutation::DuplicateLine { line } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = line % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
        Mutation::Truncate { at } => text[..boundary(*at)].to_string(),
    }
}

/// The examples, the stdlib modules and the v2 syntax fixtures (groups,
/// `finally`, group templates, calls in `when`), with their paths.
pub fn sources() -> Vec<(std::path::PathBuf, String)> {
    let mut files = mlp_files(&root().join("examples"));
    files.extend(mlp_files(&root().join("stdlib")));
    files.extend(mlp_files(&root().join("tests/fixtures/syntax_v2")));
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}
