//! Our block-YAML writer against serde_yaml, the reference it replaced:
//! the same bytes for every example's documents and for generated values
//! full of characters that need quoting, and text that reads back as the
//! value in every case (including the two where serde_yaml is wrong). The
//! one difference allowed in the bytes: a scalar that only a YAML 1.1
//! reader misreads is `'X'` where serde_yaml writes `X`.

mod common;

use proptest::prelude::*;
use serde_json::{json, Value};

use common::yaml::{parse_documents, serde_yaml_text};
use common::{mlp_files, root};
use mlpc::emit::yaml::{push_sequence_item, quoted_only_for_yaml11, to_yaml};
use mlpc::{analyze, FsLoader};

/// serde_yaml folds U+2028/U+2029 (libyaml reads them as line breaks) and
/// reads a one-entry map whose key starts with `!` as a tag; there the
/// writer differs on purpose and only the round trip is checked.
fn serde_yaml_is_right_about(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.contains(['\u{2028}', '\u{2029}']),
        Value::Array(items) => items.iter().all(serde_yaml_is_right_about),
        Value::Object(map) => {
            !(map.len() == 1 && map.keys().any(|k| k.starts_with('!')))
                && map.iter().all(|(k, v)| {
                    serde_yaml_is_right_about(&json!(k)) && serde_yaml_is_right_about(v)
                })
        }
        _ => true,
    }
}

/// `ours` is `reference` except that some scalars serde_yaml writes plain,
/// `X`, are single-quoted, `'X'`, and each of them is text that only a
/// YAML 1.1 reader misreads (`quoted_only_for_yaml11`). Any other
/// difference is a failure, with the first place where the texts part.
fn same_but_yaml11_quotes(ours: &str, reference: &str) -> Result<(), String> {
    let (o, r) = (ours.as_bytes(), reference.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < o.len() || j < r.len() {
        if i < o.len() && j < r.len() && o[i] == r[j] {
            i += 1;
            j += 1;
            continue;
        }
        let starts_token = i == 0 || matches!(o[i - 1], b' ' | b'\n');
        let quoted = Some(&ours[i..])
            .filter(|_| starts_token)
            .and_then(|rest| rest.strip_prefix('\''))
            .and_then(|rest| rest.find('\'').map(|end| &rest[..end]));
        match quoted {
            Some(text)
                if quoted_only_for_yaml11(text)
                    && reference[j..].starts_with(text)
                    && matches!(r.get(j + text.len()), None | Some(b'\n' | b':')) =>
            {
                i += text.len() + 2;
                j += text.len();
            }
            _ => {
                return Err(format!(
                    "--- ours\n{ours}--- serde_yaml\n{reference}--- they part at\n{:?}\n{:?}",
                    &ours[i..],
                    &reference[j..]
                ))
            }
        }
    }
    Ok(())
}

fn indented(text: &str, base: usize) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{}{l}\n", " ".repeat(base))
            }
        })
        .collect()
}

fn check(value: &Value, base: usize) -> Result<(), String> {
    let ours = to_yaml(value)?;
    let back = parse_documents(&ours)?;
    if back.len() != 1 || &back[0] != value {
        return Err(format!("does not read back:\n{ours}\n{back:?}"));
    }
    let mut item = String::new();
    push_sequence_item(&mut item, value, base)?;
    if serde_yaml_is_right_about(value) {
        same_but_yaml11_quotes(&ours, &serde_yaml_text(value)?)?;
        same_but_yaml11_quotes(&item, &indented(&serde_yaml_text(&[value])?, base))?;
    }
    let wrapped = format!("list:\n{}", item);
    let back = parse_documents(&wrapped)?;
    if back.len() != 1 || back[0]["list"] != json!([value]) {
        return Err(format!("the list item does not read back:\n{wrapped}"));
    }
    Ok(())
}

#[test]
fn every_example_document_is_written_as_serde_yaml_writes_it_but_for_yaml11_quotes() {
    let mut count = 0;
    for path in mlp_files(&root().join("examples")) {
        let bytes = std::fs::read(&path).expect("readable");
        let analysis = analyze("example.mlp", Some(&path), &bytes, &FsLoader);
        let Some(program) = analysis.program.as_ref() else {
            continue;
        };
        for kind in [
            mlpc::emit::OutputKind::Workflow,
            mlpc::emit::OutputKind::WorkflowTemplate,
        ] {
            let options = mlpc::emit::Options {
                kind,
                ..Default::default()
            };
            for doc in mlpc::argo_documents(program, &options).expect("lowers") {
                if let Err(e) =
                    same_but_yaml11_quotes(&to_yaml(&doc).unwrap(), &serde_yaml_text(&doc).unwrap())
                {
                    panic!("{}: {e}", path.display());
                }
                count += 1;
            }
        }
    }
    assert!(count >= 10, "only {count} documents");
}

#[test]
fn scalars_that_need_care() {
    let cases = [
        "",
        " ",
        "  x",
        "x ",
        "a b",
        "-",
        "- x",
        "-x",
        "--",
        "---",
        "--- x",
        "...",
        "?",
        "? x",
        "?x",
        ":",
        ": x",
        "a:",
        "a: b",
        "a:b",
        "#",
        "#x",
        "x #y",
        "x#y",
        "!",
        "&a",
        "*a",
        "|",
        ">",
        "'",
        "\"",
        "%",
        "@",
        "`",
        ",",
        "[",
        "]",
        "{",
        "}",
        "{}",
        "[]",
        "it's",
        "say \"hi\"",
        "back\\slash",
        "tab\there",
        "cr\rhere",
        "\n",
        "\n\n",
        "a\n",
        "a\n\n",
        "a\nb",
        "a\nb\n",
        " a\nb",
        "\na",
        "a \nb",
        "a\n b",
        "a\n\n\nb",
        "a\n ",
        "é",
        "naïve café",
        "🚀",
        "\u{85}",
        "\u{a0}",
        "\u{feff}x",
        "\u{7f}",
        "\u{1b}[0m",
        "\u{0}",
        "\u{2028}",
        "a\u{2029}b",
        "true",
        "True",
        "TRUE",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "Null",
        "~",
        "NULL",
        "0",
        "00",
        "007",
        "-0",
        "+1",
        "1",
        "-1",
        "1.5",
        "1e5",
        "1E5",
        "-1.5e-3",
        ".5",
        "5.",
        ".inf",
        "-.inf",
        ".nan",
        ".NaN",
        "inf",
        "nan",
        "0x1F",
        "0o17",
        "0b101",
        "-0x1F",
        "0xZZ",
        "1_000",
        "1,000",
        "12:30",
        "1:20:30",
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "y",
        "N",
        "ON",
        "=",
        "<<",
        "0X1F",
        "+12",
        "3.0.1",
        "v1.2",
        "${x}",
        "$(x)",
        "{{x}}",
        "a: {b: c}",
        "{{inputs.parameters.x}}",
        "s3://bucket/path",
        "http://x:5000",
    ];
    for case in cases {
        for value in [json!(case), json!({ case: case }), json!([case, [case]])] {
            if let Err(e) = check(&value, 0) {
                panic!("{case:?}: {e}");
            }
        }
    }
}

#[test]
fn shapes_that_need_care() {
    let long_key = "k".repeat(129);
    let cases = [
        json!({}),
        json!([]),
        json!({"a": {}, "b": [], "c": [[]], "d": [{}], "e": null}),
        json!([[1, 2], [[3]], {"a": [1, {"b": [2]}]}]),
        json!({"a": {"b": {"c": [{"d": "e\nf", "g": ["h\n"]}]}}}),
        json!({ (long_key.as_str()): "value", "x": 1 }),
        json!({ (long_key.as_str()): [1, 2], "y": {"z": 1} }),
        json!({ (long_key.as_str()): {"a": 1} }),
        json!({ "multi\nline": "key", "x": [] }),
        json!({ "multi\nline": {"a": [1]} }),
        json!([1, -2, 3.5, 1e300, true, null, "s"]),
        json!({"!tag": 1}),
        json!({"!tag": 1, "b": 2}),
    ];
    for value in cases {
        for base in [0, 2, 6] {
            if let Err(e) = check(&value, base) {
                panic!("{value}: {e}");
            }
        }
    }
}

/// Characters that change how YAML reads a scalar.
const ALPHABET: &[char] = &[
    'a', 'b', 'x', '0', '1', '9', ' ', ' ', '\n', '\n', '\t', '\r', '-', ':', '?', '#', ',', '[',
    ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '.', '\\', '$', '~', '+',
    'e', 'y', 'n', 'o', '_', '=', '<', 'é', '🚀', '\u{85}', '\u{a0}', '\u{feff}', '\u{2028}',
    '\u{0}', '\u{7f}',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..12)
        .prop_map(|chars| chars.into_iter().collect())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(|i| json!(i)),
        1 => any::<bool>().prop_map(|b| json!(b)),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_values_are_written_as_serde_yaml_writes_them_but_for_yaml11_quotes(value in value(), base in 0usize..5) {
        if let Err(e) = check(&value, base) {
            return Err(TestCaseError::fail(format!("{value}: {e}")));
        }
    }
}
