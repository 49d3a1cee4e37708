//! Adversarial strings in every place a user string reaches: each must
//! appear exactly as written when the YAML is parsed back, or be rejected
//! with a diagnostic. The injected programs' text never changes with them.

mod common;

use common::places::{all_in_one, compile_source as compile, env, template, ALL_IN_ONE, PLACES};
use serde_json::Value;

const NASTY: &[&str] = &[
    "yes",
    "no",
    "null",
    "~",
    "true",
    "0755",
    "1e3",
    "0x1F",
    ".inf",
    "-",
    "- item",
    ": #",
    "a: b",
    "key: value # c",
    "[",
    "]",
    "{",
    "}",
    "*ref",
    "&anchor",
    "!tag",
    "%YAML",
    "@at",
    "`tick`",
    "'single'",
    "\"double\"",
    "back\\slash",
    "line1\nline2",
    "trailing\n",
    "\ttab",
    "  lead",
    "trail  ",
    "$(rm -rf /)",
    "`id`",
    "a; b",
    "a && b",
    "$HOME",
    "${HOME}",
    "ünïcödé 🚀",
    "#comment",
    "?",
    "|",
    ">",
    "=",
    ",",
    "a,b",
    "",
];

fn long_value() -> String {
    "x".repeat(10_000)
}

/// Every injected program, to compare across values: the programs the
/// workflow holds as parameters (`mlpc_*`), each `python3` container's
/// command (the loader and what it runs) and the wrapper.
fn injected_programs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in doc["spec"]["arguments"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if p["name"].as_str().is_some_and(|n| n.starts_with("mlpc_")) {
            out.push(p["value"].as_str().unwrap().to_string());
        }
    }
    for t in doc["spec"]["templates"].as_array().unwrap() {
        let containers = ["initContainers", "sidecars"]
            .iter()
            .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
            .chain(t.get("container").cloned());
        for c in containers {
            let cmd = c["command"].as_array().cloned().unwrap_or_default();
            // The wrapper's text is in the program (above); its command
            // holds only the user's argv after it.
            if cmd.first().and_then(Value::as_str) == Some("python3") {
                out.push(Value::from(cmd).to_string());
            }
        }
    }
    out
}

#[test]
fn every_value_arrives_exactly_or_is_rejected() {
    let baseline = compile(&all_in_one("plain")).expect("the plain program compiles");
    let programs = injected_programs(&baseline);
    assert!(
        programs.len() >= 5,
        "the MLflow program (with the wrapper), init, sidecar, register, cleanup"
    );
    let long = long_value();
    let mut values: Vec<&str> = NASTY.to_vec();
    values.push(&long);
    for v in values {
        let doc = match compile(&all_in_one(v)) {
            Ok(doc) => doc,
            Err(codes) => {
                panic!("{v:?} was rejected ({codes:?}); it is a valid value everywhere it is used")
            }
        };
        for place in ALL_IN_ONE {
            assert_eq!(
                (place.found)(&doc).as_deref(),
                Some(v),
                "{} for {v:?}",
                place.name
            );
        }
        // Values reach scripts only through the environment.
        assert_eq!(
            injected_programs(&doc),
            programs,
            "the injected programs changed for {v:?}"
        );
        let shell = &template(&doc, "shell")["container"];
        assert_eq!(shell["command"][2], "echo ${MLP_V_1}");
        assert_eq!(env(shell, "MLP_V_1"), "{{workflow.parameters.p}}");
    }
}

#[test]
fn argo_syntax_and_invalid_kubernetes_values_are_rejected() {
    for (bad, code) in [
        ("{{workflow.name}}", "mlp::E0215"),
        ("a {{ b", "mlp::E0215"),
    ] {
        let codes = compile(&all_in_one(bad)).unwrap_err();
        assert!(codes.contains(&code.to_string()), "{bad:?}: {codes:?}");
    }
    let label =
        "pipeline p {\n  prep a { image = \"x:1\", labels = { team = \"growth team\" } }\n}\n";
    assert_eq!(compile(label).unwrap_err(), ["mlp::E0402"]);
    let image = "pipeline p {\n  prep a { image = \"x:1 --privileged\" }\n}\n";
    assert_eq!(compile(image).unwrap_err(), ["mlp::E0216"]);
    let service = "pipeline p {\n  mlflow { tracking_uri = \"http://m:5000\", experiment = \"e\", artifact_store = \"s3://a\" }\n  deploy d { model = \"models:/m/1\", service = \"Bad Name\" }\n}\n";
    assert_eq!(compile(service).unwrap_err(), ["mlp::E0216"]);
}

#[test]
fn every_place_round_trips_or_is_rejected() {
    let long = long_value();
    let mut values: Vec<&str> = NASTY.to_vec();
    values.push(&long);
    for place in PLACES {
        let mut arrived = 0;
        for v in &values {
            match compile(&(place.program)(v)) {
                Ok(doc) => {
                    assert_eq!(
                        (place.found)(&doc).as_deref(),
                        Some(*v),
                        "{}: {v:?}",
                        place.name
                    );
                    arrived += 1;
                }
                Err(codes) => assert!(
                    !codes.is_empty()
                        && codes.iter().all(|c| place.may_reject.contains(&c.as_str())),
                    "{}: {v:?} was rejected with {codes:?}",
                    place.name
                ),
            }
        }
        assert!(arrived > 0, "{}: every value was rejected", place.name);
    }
}
