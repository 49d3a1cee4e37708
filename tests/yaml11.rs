//! kubectl, the argo CLI and the Argo controller read mlpc's output with
//! go-yaml v2, a YAML 1.1 reader, and Python tools with PyYAML, another:
//! to them a plain `yes`, `y`, `on`, `1_000`, `12:30` or `2024-01-01` is a
//! bool, number or timestamp, and a plain `=` or `<<` is an error. A corpus
//! of such text goes into every place a user string lands
//! (`common::places`), and must come back as the same string from PyYAML
//! (`yaml.safe_load_all`) and from serde_yaml (YAML 1.2), or be rejected
//! with a diagnostic where the place allows it. Text that no reader
//! misreads stays plain.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use common::places::{emit_source, Place, ALL_IN_ONE, PLACES};
use common::pyyaml_python;
use common::yaml::parse_documents;
use mlpc::emit::yaml::to_yaml;
use serde_json::{json, Value};

/// Every spelling of `word` in upper and lower case.
fn every_case(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    (0..1u32 << chars.len())
        .map(|mask| {
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << i) == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect()
        })
        .collect()
}

/// Strings a YAML 1.1 or 1.2 reader may take for something else, and
/// strings around them that must survive too.
fn corpus() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Bools (go-yaml v2 adds y/n to PyYAML's words) and nulls.
    for word in ["y", "n", "yes", "no", "on", "off", "true", "false", "null"] {
        out.extend(every_case(word));
    }
    out.extend(["~", "", "=", "<<"].map(String::from));
    // Ints and floats in every YAML 1.1 form, bare and signed.
    let numbers = [
        "0",
        "00",
        "012",
        "0755",
        "09",
        "1",
        "12",
        "1_000",
        "1__0",
        "1_",
        "_1",
        "0b101",
        "0b1_0",
        "0B11",
        "0b_",
        "0o17",
        "0O17",
        "0x1F",
        "0X1f",
        "0x_1F",
        "0x_",
        "1:20",
        "12:30",
        "1:20:30",
        "190:20:30",
        "190:20:30.15",
        "0:30.5",
        "12:60",
        "9223372036854775808",
        "0.0",
        ".5",
        "1.",
        "1.0",
        "1e5",
        "1E5",
        "1e+5",
        "1.5e-3",
        "1.e5",
        ".5e5",
        "1_000.5",
        "1.5_5",
        "6.8523015e+5",
        "1e_5",
        "1e999",
        ".inf",
        ".Inf",
        ".INF",
        ".nan",
        ".NaN",
        ".NAN",
        "inf",
        "nan",
    ];
    for n in numbers {
        for sign in ["", "+", "-"] {
            out.push(format!("{sign}{n}"));
        }
    }
    // Dates and timestamps (YAML 1.1's examples and go-yaml v2's forms).
    out.extend(
        [
            "2024-01-01",
            "2024-1-1",
            "2002-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14T21:59:43.10Z",
            "2001-12-15T02:59:43.1Z",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-14 21:59:43.10",
            "2001-12-14  21:59:43.10 Z",
            "2024-13-45",
            "2024-01-01 notes",
        ]
        .map(String::from),
    );
    // Indicators at the start, alone and before text.
    for c in "-?:,[]{}#&*!|>'\"%@`".chars() {
        out.extend([format!("{c}"), format!("{c}x"), format!("{c} x")]);
    }
    out.extend(
        [
            " ",
            " x",
            "x ",
            "  lead",
            "trail  ",
            "a b",
            "a\nb",
            "a\n",
            "\n",
            "\ttab",
            "tab\t",
            "a\tb",
            "x #y",
            "a: b",
            "é",
            "naïve café",
            "🚀",
            "\u{a0}",
            "\u{2028}",
            "---",
            "...",
        ]
        .map(String::from),
    );
    // Ordinary text.
    out.extend(
        [
            "yesterday",
            "online",
            "no-cache",
            "n/a",
            "3.0.1",
            "v1.2",
            "127.0.0.1:8080",
            "trainer:1.0",
            "s3://bucket/path",
            "http://mlflow:5000",
            "a=b",
            "_x",
        ]
        .map(String::from),
    );
    out
}

/// Reads each YAML stream as PyYAML's `safe_load_all` does and prints it as
/// JSON: maps, lists and strings as they are, anything else (bools, numbers,
/// dates, null) as `{"!python": "<type> <repr>"}`, a resource template's
/// manifest read as YAML too, and a stream PyYAML refuses as
/// `{"error": ...}`.
const PYYAML_READER: &str = r#"
import codecs, json, re, sys, yaml

def plain(x):
    if isinstance(x, dict):
        return {(k if isinstance(k, str) else "!key " + type(k).__name__ + " " + repr(k)): plain(v)
                for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    if isinstance(x, str):
        return x
    return {"!python": type(x).__name__ + " " + repr(x)}

TAG = re.compile(r"\{\{=toJson\((.*?)\)\}\}")
TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.)*)'|([^\s+]+))\s*\+?")

def concat(expr):
    # What Argo's expr gives for mlpc's `'lit' + name` tags (names left as
    # their placeholder text), as in tests/common/mod.rs `argo_manifest`.
    out = []
    for lit, name in TOKEN.findall(expr):
        if name:
            out.append("{{" + name.replace("['", ".").replace("']", "") + "}}")
        else:
            out.append(codecs.decode(lit, "unicode_escape"))
    return "".join(out)

def manifests(x):
    if isinstance(x, dict):
        resource = x.get("resource")
        if isinstance(resource, dict) and isinstance(resource.get("manifest"), str):
            text = TAG.sub(lambda m: json.dumps(concat(m.group(1))), resource["manifest"])
            resource["manifest"] = yaml.safe_load(text)
        for v in x.values():
            manifests(v)
    elif isinstance(x, list):
        for v in x:
            manifests(v)

# `safe_load_all` with libyaml's parser when PyYAML has it (several times
# faster on these 10 MB); the resolver, which decides what is a string, and
# the constructors are the same.
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

def read(text):
    try:
        docs = list(yaml.load_all(text, Loader=loader))
        manifests(docs)
        return {"docs": plain(docs)}
    except Exception as e:
        return {"error": type(e).__name__ + ": " + str(e)}

json.dump([read(t) for t in json.load(sys.stdin)], sys.stdout)
"#;

/// Every stream read by one PyYAML process.
fn read_with_pyyaml(python: &std::path::Path, texts: &[&str]) -> Vec<Value> {
    let mut child = Command::new(python)
        .args(["-c", PYYAML_READER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let input = serde_json::to_vec(texts).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&input)
        .expect("python reads the texts");
    let output = child.wait_with_output().expect("python runs");
    assert!(
        output.status.success(),
        "the PyYAML reader failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON from python");
    assert_eq!(read.len(), texts.len());
    read
}

#[test]
fn every_string_reads_back_as_itself_in_yaml_1_1_and_1_2_from_every_place() {
    let Some(python) = pyyaml_python("the YAML 1.1 read-back check") else {
        return;
    };
    let corpus = corpus();
    let places: Vec<&Place> = ALL_IN_ONE.iter().chain(PLACES).collect();
    // Places that share a program share its compile.
    let mut outputs: HashMap<String, Result<String, Vec<String>>> = HashMap::new();
    let cases: Vec<(&str, &Place, String)> = corpus
        .iter()
        .flat_map(|v| places.iter().map(move |p| (v.as_str(), *p, (p.program)(v))))
        .collect();
    for (_, _, program) in &cases {
        if !outputs.contains_key(program) {
            outputs.insert(program.clone(), emit_source(program));
        }
    }
    let texts: Vec<&str> = outputs.values().filter_map(|o| o.as_deref().ok()).collect();
    let by_pyyaml: HashMap<&str, Value> = texts
        .iter()
        .copied()
        .zip(read_with_pyyaml(&python, &texts))
        .collect();
    let by_serde_yaml: HashMap<&str, Value> = texts
        .iter()
        .map(|t| {
            let docs = parse_documents(t).expect("serde_yaml reads the output");
            (*t, docs.into_iter().next().expect("a document"))
        })
        .collect();

    let mut failures = Vec::new();
    let mut arrived: HashMap<&str, usize> = HashMap::new();
    for (v, place, program) in &cases {
        let text = match &outputs[program] {
            Ok(text) => text,
            Err(codes) => {
                if codes.is_empty() || !codes.iter().all(|c| place.may_reject.contains(&c.as_str()))
                {
                    failures.push(format!("{}: {v:?} was rejected with {codes:?}", place.name));
                }
                continue;
            }
        };
        *arrived.entry(place.name).or_default() += 1;
        let found = (place.found)(&by_serde_yaml[text.as_str()]);
        if found.as_deref() != Some(*v) {
            failures.push(format!(
                "{}: {v:?} reads as {found:?} in YAML 1.2",
                place.name
            ));
        }
        match &by_pyyaml[text.as_str()] {
            Value::Object(o) if o.contains_key("error") => failures.push(format!(
                "{}: PyYAML cannot read the output for {v:?}: {}",
                place.name, o["error"]
            )),
            read => {
                let found = (place.found)(&read["docs"][0]);
                if found.as_deref() != Some(*v) {
                    failures.push(format!(
                        "{}: {v:?} reads as {found:?} in PyYAML (YAML 1.1; None: not a string)",
                        place.name
                    ));
                }
            }
        }
    }
    for place in &places {
        if !arrived.contains_key(place.name) {
            failures.push(format!("{}: every value was rejected", place.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn text_only_a_yaml_1_1_reader_misreads_is_quoted_and_ordinary_text_is_not() {
    for v in [
        "yes",
        "Y",
        "off",
        "1_000",
        "0b101",
        "+12",
        "12:30",
        "190:20:30.15",
        "1e5",
        "2024-01-01",
        "=",
        "<<",
    ] {
        assert_eq!(to_yaml(&json!(v)).unwrap(), format!("'{v}'\n"), "{v:?}");
        assert_eq!(
            to_yaml(&json!({ v: [v] })).unwrap(),
            format!("'{v}':\n- '{v}'\n"),
            "{v:?} as a key and an item"
        );
    }
    for v in [
        "yesterday",
        "online",
        "no-cache",
        "n/a",
        "nan",
        "inf",
        "_1",
        "0xZZ",
        "3.0.1",
        "v1.2",
        "12:60",
        "127.0.0.1:8080",
        "2024-01-01T",
        "trainer:1.0",
        "s3://bucket/path",
        "http://mlflow:5000",
        "a=b",
        "x-{{inputs.parameters.x}}",
    ] {
        assert_eq!(to_yaml(&json!(v)).unwrap(), format!("{v}\n"), "{v:?}");
    }
}
