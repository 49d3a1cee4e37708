//! The fast parser (`syntax::descent`) and the reference (pest with the
//! `from_pest` builders) must agree: on every input the fast path either
//! gives up, and then pest must find an error, or builds the very tree pest
//! builds, spans included. Where pest accepts a file without complaint, the
//! fast path must take it too, or large files would silently lose speed.

mod common;

use proptest::prelude::*;

use common::mutate::{apply, mutation, sources};
use common::{mlp_files, root};
use mlpc::syntax::{parse_fast, parse_with_pest};
use mlpc::{SourceFile, SourceId};

#[path = "../benches/shape.rs"]
#[allow(dead_code)]
mod shape;

/// Compares both parsers on `text`; an `Err` says how they differ.
fn agree(text: &str) -> Result<(), String> {
    let file = SourceFile {
        name: "input.mlp".into(),
        text: text.into(),
        path: None,
    };
    let fast = parse_fast(text, SourceId(0));
    let reference = parse_with_pest(&file, SourceId(0));
    match (fast, reference) {
        (Some(fast), Ok((tree, literal_errors))) if literal_errors.is_empty() => {
            let fast = serde_json::to_value(&fast).map_err(|e| e.to_string())?;
            let tree = serde_json::to_value(&tree).map_err(|e| e.to_string())?;
            if fast == tree {
                Ok(())
            } else {
                Err(format!(
                    "different trees\n--- fast\n{fast:#}\n--- pest\n{tree:#}"
                ))
            }
        }
        (Some(_), Ok(_)) => Err("the fast path missed an error in a literal".into()),
        (Some(_), Err(e)) => Err(format!("the fast path accepted a syntax error: {e}")),
        (None, Ok((_, literal_errors))) if literal_errors.is_empty() => {
            Err("the fast path gave up on a well-formed file".into())
        }
        (None, _) => Ok(()),
    }
}

#[track_caller]
fn assert_agree(text: &str) {
    if let Err(e) = agree(text) {
        panic!("on {text:?}: {e}");
    }
}

#[test]
fn every_file_in_the_repository_parses_the_same() {
    let mut files = mlp_files(&root().join("examples"));
    files.extend(mlp_files(&root().join("stdlib")));
    files.extend(mlp_files(&root().join("tests/fixtures")));
    files.extend(mlp_files(&root().join("tests/fixtures/diagnostics")));
    assert!(files.len() > 50, "the corpus was not found");
    for path in files {
        let bytes = std::fs::read(&path).expect("readable");
        // E0006's fixture is not UTF-8: neither parser sees it.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if let Err(e) = agree(&text) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn benchmark_pipelines_parse_the_same() {
    for variant in [
        shape::Variant::Inline,
        shape::Variant::Uses,
        shape::Variant::Tracked,
    ] {
        assert_agree(&shape::pipeline(12, variant));
    }
}

/// Corners of the grammar: implicit whitespace inside spans, separators,
/// literals, expressions, and inputs both must reject.
#[test]
fn grammar_corners_parse_the_same() {
    let accepted = [
        // Stage kinds are keywords only where a kind is expected.
        "template prep train { image = \"x\" }\npipeline p {\n  train train { a = 1 }\n  prep deploy uses train { }\n  job job { after = [train, deploy] }\n  param register: int = 1\n}\n",
        // Blanks and comments that pest keeps inside a span.
        "pipeline p {\n  param x: int   # c\n  param y: list [ int ]  // d\n}\n",
        "import std.terraform   \npipeline p {}",
        "import std.terraform as tf # alias\n",
        "import \"lib/x.mlp\" as x\nimport \"a b.mlp\"\n",
        "pipeline p { job a { when x  # trailing\n } }",
        "pipeline p { job a { when x == y  # trailing\n } }",
        "pipeline p { job a { when !(a || b) && c >= 1 || d != \"e\" } }",
        "pipeline p { job a { when ! ! a < b <= c > d == e } }",
        "pipeline p { job a { when a ||\n\n   b &&  # why\n c } }",
        "pipeline p { job a { when (a) } }",
        "pipeline p { job a { when a == b < c && d || e != f > g && !h } }",
        "pipeline p { job a { when a || b && c == d >= e } }",
        "pipeline p { job a { when ((a == 1) || (b.c.d <= 2.5)) } }",
        "pipeline p { job a { when true == false } }",
        "pipeline p { job a { when \"\"\"x\"\"\" == 10m } }",
        // Separators of every kind, doubled, leading and trailing.
        "\u{FEFF}\n\n;pipeline p {;;\n a = 1,, b = 2; \n\n c = [1,2,\n3,],\n}\n;",
        "pipeline p {\r\n  a = 1\r\n  b = [\r\n 1 ,\r\n 2\r\n ]\r\n}\r\n",
        "pipeline a {} pipeline b {}\ntemplate job t { image = \"x\" }",
        "pipeline p { job a uses t { }; job b uses m.t {} }",
        "pipeline p { params x { }\n param = 1\n when = 2\n output { a = 1 } }",
        "pipeline p { job uses { } }",
        // Literals.
        "pipeline p { a = -1, b = 1.5, c = 2e10, d = 1.5e-3, e = -0.0 }",
        "pipeline p { a = 500m, b = 64Gi, c = 1h30m, d = -2.5Ki, e = 1.5h, f = 10ms }",
        "pipeline p { a = true, b = false, c = trueish, d = true_ }",
        "pipeline p { a = \"x\\\"y\\\\z\\n\\t\\$\", b = \"${a.b}-${ c }\", c = \"$x $ {\" }",
        "pipeline p { a = \"\", b = \"é🚀\", c = \"a\rb\" }",
        // A NUL byte inside a string is the loader's to reject (E0007).
        "pipeline p { a = \"x\0\" }",
        "pipeline p { a = \"\"\"\n    line 1\n      ${x.y} \\$ \\n\n    \"\"\" }",
        "pipeline p { a = \"\"\"\"\"\", b = \"\"\"one\"\"\" }",
        "pipeline p { a = { x = 1, \"y z\" = [], w = {} }, b = secret(\"n\", \"k\") }",
        "pipeline p { a = f ( ), b = g(\n1,\n2\n), c = h(a.b, [1]) }",
        "pipeline p { a = x.y.z, b = item, c = run.uid }",
    ];
    for case in accepted {
        assert_agree(case);
        assert!(
            parse_fast(case, SourceId(0)).is_some(),
            "rejected: {case:?}"
        );
    }
    // Errors: both must reject.
    let rejected = [
        "pipeline p { a = 1 b = 2 }",
        "pipeline p { a = 1e }",
        "pipeline p { a = 1E5 }",
        "pipeline p { a = 1.5.3 }",
        "pipeline p { a = 1. }",
        "pipeline p { a = 10GB }",
        "pipeline p { a = 99999999999999999999 }",
        "pipeline p { a = \"\\q\" }",
        "pipeline p { a = \"open\n\" }",
        "pipeline p { a = \"\"\"open }",
        "pipeline p { a = { \"${x}\" = 1 } }",
        "import \"${x}.mlp\"\n",
        "pipeline p { a = true.x }",
        "pipeline p { a = x. }",
        "pipeline p { a = a.b(1) }",
        "pipeline p { when == 1 }",
        "pipeline p { job a { when a = b } }",
        "pipeline p { job a { when != b } }",
        "pipeline p { job a { when f(x) } }",
        "pipeline p { job a uses { } }",
        "pipeline p { job a uses t.u.v { } }",
        "pipeline p { import x }",
        "pipeline p { param x }",
        "pipeline p { output x: int }",
        "pipeline p { a = 1 } }",
        "imports x",
        "import std.",
        "pipeline p { a = [1 2] }",
        "pipeline p { a = (1) }",
    ];
    for case in rejected {
        assert_agree(case);
        assert!(
            parse_fast(case, SourceId(0)).is_none(),
            "accepted: {case:?}"
        );
    }
    for case in ["", "# only a comment", "\n\n"] {
        assert_agree(case);
    }
}

#[test]
fn nesting_at_and_past_the_limit() {
    let limit = mlpc::syntax::MAX_NESTING;
    for depth in [limit - 2, limit - 1, limit, limit + 1] {
        // `pipeline p {` is one level; lists make up the rest.
        let lists = depth - 1;
        let text = format!(
            "pipeline p {{ a = {}1{} }}",
            "[".repeat(lists),
            "]".repeat(lists)
        );
        assert_agree(&text);
        let parens = depth - 3;
        let text = format!(
            "pipeline p {{ job a {{ when {}x{} }} }}",
            "(".repeat(parens),
            ")".repeat(parens)
        );
        assert_agree(&text);
    }
}

#[test]
fn operators_at_and_past_the_limit() {
    let limit = mlpc::syntax::MAX_EXPR_OPERATORS;
    for count in [limit - 1, limit, limit + 1] {
        let text = format!(
            "pipeline p {{ job a {{ when x{} }} }}",
            " && x".repeat(count)
        );
        assert_agree(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_parse_the_same(which in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let all = sources();
        let (_, text) = &all[which % all.len()];
        let mutated = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
        if let Err(e) = agree(&mutated) {
            return Err(TestCaseError::fail(format!("on {mutated:?}: {e}")));
        }
    }
}
