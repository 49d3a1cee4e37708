//! The fast parser (`syntax::descent`) and the reference (pest with the
//! `from_pest` builders) must agree: on every input the fast path either
//! gives up, and then pest must find an error, or builds the very tree pest
//! builds, spans included. Where pest accepts a file without complaint, the
//! fast path must take it too, or large files would silently lose speed.

mod common;

use proptest::prelude::*;

use common::mutate::{apply, mutation, sources};
use common::{mlp_files, root};
use mlpc::syntax::ast::{BinOp, Entry, Expr, ExprKind, Item};
use mlpc::syntax::{parse_fast, parse_with_pest};
use mlpc::{MlpError, SourceFile, SourceId};

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
    files.extend(mlp_files(&root().join("tests/fixtures/syntax_v2")));
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
        // Calls are primaries (contract v2 §9.2): either operand, under `!`,
        // inside parentheses, with blanks and separators where `call` has them.
        "pipeline p { job a { when f(x) } }",
        "pipeline p { job a { when max(fit.metrics.auc) >= 0.9 } }",
        "pipeline p { job a { when len(s.x) > 0 && min(a.b) < 1 } }",
        "pipeline p { job a { when sum(fit.score) > 2 } }",
        "pipeline p { job a { when 0.9 <= max(a.b) || 1 == len(c) } }",
        "pipeline p { job a { when !len(x) } }",
        "pipeline p { job a { when ! max ( x ) } }",
        "pipeline p { job a { when ((max(a.b)) >= (0.9)) && (len(x) != 0) } }",
        "pipeline p { job a { when max(a.b, c, 1, \"s\", 2.5, 10m, true) == min(\n  a,\n  b,\n) } }",
        "pipeline p { job a { when len() == 0 && f( ) && g(,) } }",
        "pipeline p { job a { when max(min(a), len([1, 2]), { k = 1 }, secret(\"n\")) > 1 } }",
        "pipeline p { job a { when len(x)  # trailing\n } }",
        "pipeline p { job a { when len(x) >=\n  max(y) } }",
        "pipeline p { job a { when truex(1) || false_(2) || item(3) || run(4) } }",
        "pipeline p { job a { when config_map(\"c\", \"k\") == \"v\" } }",
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

/// Malformed calls in conditions: both parsers reject them, and pest's
/// verdict is a syntax error (E0001) whose message and help say what to do.
#[test]
fn malformed_calls_are_syntax_errors() {
    let cases: &[(&str, &str, &str)] = &[
        // (condition, expected, help)
        (
            "max(a b) > 1",
            "`,`",
            "separate a call's arguments with `,`",
        ),
        (
            "max(a.b >= 0.9",
            "`)`",
            "close the call before the operator",
        ),
        (
            "max(a.b) >= 0.9 || len(x",
            "`)`",
            "separate a call's arguments",
        ),
        ("max(a > 1) > 1", "`)`", "not conditions"),
        ("max(!a)", "a value", ""),
        ("max(a) >= ", "a call such as `len(x)`", ""),
        ("max a) > 1", "`(`", ""),
        ("max(a)) > 1", "`}`", ""),
        ("a.b(1) > 2", "`}`", ""),
        ("true(1)", "`}`", ""),
        ("len(x) (y)", "`}`", ""),
        ("(len(x) > 1", "`)`", "a `(` is not closed"),
    ];
    for (cond, expected, help) in cases {
        let text = format!("pipeline p {{\n  job a {{\n    when {cond}\n  }}\n}}\n");
        assert_agree(&text);
        assert!(
            parse_fast(&text, SourceId(0)).is_none(),
            "accepted: {text:?}"
        );
        let file = SourceFile {
            name: "input.mlp".into(),
            text: text.clone().into(),
            path: None,
        };
        match parse_with_pest(&file, SourceId(0)) {
            Err(MlpError::Syntax {
                expected: got,
                help: got_help,
                ..
            }) => {
                assert!(got.contains(expected), "{cond}: expected {got:?}");
                let got_help = got_help.unwrap_or_default();
                assert!(got_help.contains(help), "{cond}: help {got_help:?}");
            }
            other => panic!("{cond}: not a syntax error: {other:?}"),
        }
    }
    // At the end of the file, the open call is what is missing.
    let text = "pipeline p {\n  job a {\n    when max(a";
    let file = SourceFile {
        name: "input.mlp".into(),
        text: text.into(),
        path: None,
    };
    match parse_with_pest(&file, SourceId(0)) {
        Err(MlpError::Syntax { help, .. }) => {
            assert_eq!(
                help.as_deref(),
                Some("a `(` is not closed; add the missing `)`")
            )
        }
        other => panic!("not a syntax error: {other:?}"),
    }
}

/// A call in a condition is `ExprKind::Call`, with its name and arguments
/// and the spans of each.
#[test]
fn calls_in_conditions_build_call_nodes() {
    let text = "pipeline p { job a { when !max(fit.metrics.auc, 1) >= len( x ) } }";
    assert_agree(text);
    let file = parse_fast(text, SourceId(0)).expect("parses");
    let Item::Pipeline(p) = &file.items[0] else {
        panic!("a pipeline")
    };
    let Entry::Stage(stage) = &p.body.entries[0] else {
        panic!("a stage")
    };
    let Entry::When(when) = &stage.body.entries[0] else {
        panic!("a when")
    };
    let slice = |e: &Expr| &text[e.span.start as usize..e.span.end as usize];
    let ExprKind::Binary { op, lhs, rhs } = &when.cond.kind else {
        panic!("a comparison: {:?}", when.cond)
    };
    assert_eq!(*op, BinOp::Ge);
    assert_eq!(slice(lhs), "!max(fit.metrics.auc, 1)");
    assert_eq!(slice(rhs), "len( x )");
    let ExprKind::Unary { operand, .. } = &lhs.kind else {
        panic!("a negation")
    };
    let ExprKind::Call(call) = &operand.kind else {
        panic!("a call")
    };
    assert_eq!(call.name.name, "max");
    assert_eq!(
        &text[call.name.span.start as usize..call.name.span.end as usize],
        "max"
    );
    assert_eq!(call.args.len(), 2);
    assert_eq!(slice(&call.args[0]), "fit.metrics.auc");
    assert!(matches!(call.args[1].kind, ExprKind::Int(1)));
    let ExprKind::Call(call) = &rhs.kind else {
        panic!("a call")
    };
    assert_eq!(call.name.name, "len");
    assert_eq!(slice(&call.args[0]), "x");
}

/// Contract v2 (LANGUAGE.md §9.1-9.4) needs no new node: groups are stages
/// of kind `group`, `finally` is a block holding stages, a group template is
/// a template of kind `group`. Both parsers take every construct alike.
#[test]
fn v2_constructs_parse_the_same() {
    let accepted = [
        // Groups nested several levels, with every group field.
        "pipeline p {\n  group g1 {\n    for_each = [1, 2]\n    parallelism = 2\n    when a.b > 0\n    after = [x]\n    group g2 {\n      for_each = g1.item; parallelism = 1\n      group g3 {\n        when len(g2.item) > 0 && max(x.y) >= 0.9\n        group g4 { job j { image = \"x\" }\n          prep q { after = [j] } }\n      }\n    }\n  }\n}\n",
        "pipeline p { group g {}; group h { group i {} } }",
        "pipeline p { group a uses lib.t { data = prepare.data, lr = 0.1 } }",
        "pipeline p { group b uses t { data = x, when prepare.rows > 0 } }",
        "pipeline p { group b uses lib.t {\n  for_each = [1]\n  parallelism = 1\n  when max(a.auc) > 0.5\n  after = [a]\n} }",
        // `finally` with stages and groups inside.
        "pipeline p {\n  finally {\n    job notify { command = [\"curl\", \"${run.status}\", webhook] }\n    job cleanup { when run.status != \"Succeeded\" }\n    group g { when len(run.failures) > 0\n      job j {} }\n  }\n}\n",
        "pipeline p { job a {}; finally { } }",
        // Group templates: inputs, outputs naming member outputs, members.
        "template group train_and_check {\n  input data: dataset\n  input lr: float = 0.01\n  output auc: float = check.auc\n  output model: model = fit.model\n\n  train fit { params = { lr = lr } }\n  prep  check { output auc: float = \"/tmp/auc\" }\n  group more { job j uses lib.fetch { url = \"u\" } }\n}\n",
        "template group t { input x: list[float]; output m: float = a.metrics.auc; job a {} }",
        // The new keywords as the kind or name of a stage still parse; the
        // checker says what is wrong with them (§9.9).
        "pipeline p { volume v { }; sidecar s { }; job group { }; group finally { } }",
        // A group without a name is a block named `group`: syntax allows it.
        "pipeline p { group { job a {} } }",
    ];
    for case in accepted {
        assert_agree(case);
        assert!(
            parse_fast(case, SourceId(0)).is_some(),
            "rejected: {case:?}"
        );
    }
    let rejected = [
        "pipeline p { group g uses { } }",
        "pipeline p { finally { job a } }",
        "pipeline p { finally = { job a {} } }",
        "template group { input x: int }",
        "template group t { output a: int = }",
    ];
    for case in rejected {
        assert_agree(case);
        assert!(
            parse_fast(case, SourceId(0)).is_none(),
            "accepted: {case:?}"
        );
    }
}

/// The shapes the checker reads (src/sema): `Entry::Stage` with kind
/// `group`, `Entry::Block` named `finally`, `Template` with kind `group`.
#[test]
fn v2_constructs_keep_the_v1_shapes() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/syntax_v2/sweep.mlp"))
        .expect("readable");
    let file = parse_fast(&text, SourceId(0)).expect("parses");
    let Some(Item::Pipeline(p)) = file.items.get(1) else {
        panic!("the import, then the pipeline")
    };
    let stage = |e: &Entry| match e {
        Entry::Stage(s) => Some((s.kind.name.to_string(), s.name.name.to_string())),
        _ => None,
    };
    let kinds: Vec<_> = p.body.entries.iter().filter_map(stage).collect();
    assert!(kinds.contains(&("group".into(), "sweep".into())));
    // sweep > seeds > inner > fit: four levels.
    let Some(Entry::Stage(sweep)) = p
        .body
        .entries
        .iter()
        .find(|e| stage(e).is_some_and(|(_, n)| n == "sweep"))
    else {
        panic!("the group")
    };
    let mut level = sweep.as_ref();
    for name in ["seeds", "inner", "fit"] {
        level = level
            .body
            .entries
            .iter()
            .find_map(|e| match e {
                Entry::Stage(s) if s.name.name == name => Some(s.as_ref()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name} inside {}", level.name.name));
    }
    assert_eq!(level.kind.name, "train");
    let uses: Vec<_> = p
        .body
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Stage(s) if s.kind.name == "group" => s.uses.as_ref().map(|u| u.display()),
            _ => None,
        })
        .collect();
    assert_eq!(uses, ["lib.train_and_check", "lib.train_and_check"]);
    let Some(Entry::Block(finally)) = p.body.entries.last() else {
        panic!("`finally` is a block")
    };
    assert_eq!(finally.name.name, "finally");
    let inside: Vec<_> = finally.body.entries.iter().filter_map(stage).collect();
    assert_eq!(
        inside,
        [
            ("job".to_string(), "notify".to_string()),
            ("job".into(), "cleanup".into()),
            ("group".into(), "report".into())
        ]
    );

    let text =
        std::fs::read_to_string(root().join("tests/fixtures/syntax_v2/lib.mlp")).expect("readable");
    let file = parse_fast(&text, SourceId(0)).expect("parses");
    let Some(Item::Template(t)) = file.items.get(1) else {
        panic!("the group template")
    };
    assert_eq!(
        (t.kind.name.as_str(), t.name.name.as_str()),
        ("group", "train_and_check")
    );
    let outputs: Vec<_> = t
        .body
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Output(d) => match &d.value.as_ref()?.kind {
                ExprKind::Ref(r) => Some(r.display()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(outputs, ["check.auc", "fit.model", "fit.run_id"]);
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
        // Calls nest like parentheses, in conditions and in values.
        let text = format!(
            "pipeline p {{ job a {{ when {}x{} > 1 }} }}",
            "f(".repeat(parens),
            ")".repeat(parens)
        );
        assert_agree(&text);
        let text = format!(
            "pipeline p {{ a = {}x{} }}",
            "max(".repeat(depth - 1),
            ")".repeat(depth - 1)
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

/// Generated well-formed programs in the v2 syntax: groups nested several
/// levels with `for_each`/`parallelism`/`when`/`after`, `uses`, `finally`
/// with groups, group templates, and conditions mixing calls, `!`,
/// parentheses and every operator. Both parsers must build the same tree,
/// and the fast path must take every one of them.
mod v2 {
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "x",
        "a.b",
        "fit.metrics.auc",
        "sweep.item",
        "item",
        "item.k",
        "run.status",
        "prepare.rows",
        "trueish",
        "len",
        "sum",
    ];
    const LITERALS: &[&str] = &[
        "0",
        "-1",
        "0.9",
        "1e-3",
        "10m",
        "64Gi",
        "true",
        "false",
        "\"s\"",
        "\"${a.b}\"",
        "\"\"\"t\"\"\"",
    ];
    const FUNCTIONS: &[&str] = &["len", "max", "min", "sum", "config_map", "secret", "f"];
    const OPERATORS: &[&str] = &["||", "&&", "==", "!=", "<", "<=", ">", ">="];
    const SEPARATORS: &[&str] = &[", ", ",", ",\n  ", "; ", "\n"];

    fn pick(table: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        prop::sample::select(table)
    }

    /// A value as a call argument: a name, a literal, a list or a call.
    fn value() -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            pick(NAMES).prop_map(String::from),
            pick(LITERALS).prop_map(String::from)
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                call(inner),
            ]
        })
        .boxed()
    }

    fn call(arg: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
        (
            pick(FUNCTIONS),
            prop::bool::ANY,
            prop::collection::vec(arg, 0..4),
            pick(SEPARATORS),
            prop::bool::ANY,
        )
            .prop_map(|(name, blank, args, sep, trailing)| {
                let trailing = if trailing && !args.is_empty() {
                    sep
                } else {
                    ""
                };
                let space = if blank { " " } else { "" };
                format!("{name}{space}({}{trailing})", args.join(sep))
            })
            .boxed()
    }

    /// A `when` expression.
    pub fn cond() -> impl Strategy<Value = String> {
        let operand = prop_oneof![
            2 => pick(NAMES).prop_map(String::from),
            1 => pick(LITERALS).prop_map(String::from),
            3 => call(value()),
        ];
        operand.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| format!("!{e}")),
                inner.clone().prop_map(|e| format!("({e})")),
                (inner.clone(), pick(OPERATORS), prop::bool::ANY, inner).prop_map(
                    |(a, op, newline, b)| {
                        let gap = if newline { "\n      " } else { " " };
                        format!("{a} {op}{gap}{b}")
                    }
                ),
            ]
        })
    }

    #[derive(Debug, Clone)]
    pub enum Member {
        Stage {
            kind: &'static str,
            when: Option<String>,
        },
        Group {
            fields: Vec<String>,
            uses: Option<&'static str>,
            members: Vec<Member>,
        },
    }

    fn group_field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("for_each = [0.1, 0.01]".to_string()),
            Just("for_each = prepare.items".to_string()),
            (1u8..5).prop_map(|n| format!("parallelism = {n}")),
            cond().prop_map(|c| format!("when {c}")),
            Just("after = [prepare, a]".to_string()),
            Just("data = prepare.data".to_string()),
        ]
    }

    pub fn member() -> impl Strategy<Value = Member> {
        let stage = (
            pick(&["job", "prep", "train", "register", "deploy"]),
            prop::option::of(cond()),
        )
            .prop_map(|(kind, when)| Member::Stage { kind, when });
        stage.prop_recursive(5, 24, 4, |inner| {
            (
                prop::collection::vec(group_field(), 0..4),
                prop::option::of(pick(&["t", "lib.t"])),
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(fields, uses, members)| Member::Group {
                    fields,
                    uses,
                    members,
                })
        })
    }

    pub fn render(out: &mut String, m: &Member, depth: usize, counter: &mut usize) {
        let pad = "  ".repeat(depth);
        *counter += 1;
        match m {
            Member::Stage { kind, when } => {
                out.push_str(&format!(
                    "{pad}{kind} s{counter} {{\n{pad}  image = \"x\"\n"
                ));
                if let Some(c) = when {
                    out.push_str(&format!("{pad}  when {c}\n"));
                }
            }
            Member::Group {
                fields,
                uses,
                members,
            } => {
                let uses = uses.map(|u| format!(" uses {u}")).unwrap_or_default();
                out.push_str(&format!("{pad}group g{counter}{uses} {{\n"));
                for f in fields {
                    out.push_str(&format!("{pad}  {f}\n"));
                }
                for m in members {
                    render(out, m, depth + 1, counter);
                }
            }
        }
        out.push_str(&format!("{pad}}}\n"));
    }

    /// A file: maybe a group template, then a pipeline with members and
    /// maybe a `finally` block.
    pub fn program() -> impl Strategy<Value = String> {
        (
            prop::option::of(prop::collection::vec(member(), 0..3)),
            prop::collection::vec(member(), 0..4),
            prop::option::of(prop::collection::vec(member(), 0..3)),
        )
            .prop_map(|(template, members, finally)| {
                let mut out = String::new();
                let mut counter = 0;
                if let Some(members) = template {
                    out.push_str("template group t {\n  input data: dataset\n  input lr: float = 0.01\n  output auc: float = s1.auc\n  output model: model = s1.model\n");
                    for m in &members {
                        render(&mut out, m, 1, &mut counter);
                    }
                    out.push_str("}\n");
                }
                out.push_str("pipeline p {\n  param threshold: float = 0.9\n");
                for m in &members {
                    render(&mut out, m, 1, &mut counter);
                }
                if let Some(members) = finally {
                    out.push_str("  finally {\n");
                    for m in &members {
                        render(&mut out, m, 2, &mut counter);
                    }
                    out.push_str("  }\n");
                }
                out.push_str("}\n");
                out
            })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_v2_programs_parse_the_same(text in v2::program()) {
        if let Err(e) = agree(&text) {
            return Err(TestCaseError::fail(format!("on {text:?}: {e}")));
        }
        prop_assert!(parse_fast(&text, SourceId(0)).is_some(), "rejected: {text:?}");
    }

    #[test]
    fn generated_conditions_parse_the_same(cond in v2::cond()) {
        let text = format!("pipeline p {{\n  job a {{\n    when {cond}\n  }}\n}}\n");
        if let Err(e) = agree(&text) {
            return Err(TestCaseError::fail(format!("on {text:?}: {e}")));
        }
        prop_assert!(parse_fast(&text, SourceId(0)).is_some(), "rejected: {text:?}");
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
