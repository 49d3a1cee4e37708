//! Memoization keys (`cache`): they must change whenever what the step
//! computes could change, and Argo must be able to expand them.
//!
//! Argo rules relied on, from its source:
//! - `util/template/expression_template.go` `expressionReplace`: a `{{=...}}`
//!   whose expression reads a missing name, or contains both `?` and `:`
//!   (taken as a ternary), is left unexpanded;
//! - `workflow/controller/cache/cache.go` `cacheKeyRegex`
//!   (`^[a-zA-Z0-9][-a-zA-Z0-9]*$`): such a key errors the node before its
//!   pod runs.

mod common;

use common::places::{compile_source, template};
use serde_json::Value;

const BASE: &str = r#"
template prep clean {
  input data: dataset
  input mode: string = "fast"
  image = "cleaner:1.0.0"
  command = ["clean", data, mode]
  cache = true
  output out: dataset = "/tmp/out.parquet"
}
pipeline p {
  param day: string = "2024-01-01"
  prep load {
    image = "loader:1.0.0"
    command = ["load", day]
    output raw: dataset = "/tmp/raw.parquet"
  }
  prep a uses clean { data = load.raw }
  prep own {
    image = "x:1.0.0"
    command = ["use", a.out, "--day", day]
    cache = 1h
  }
}
"#;

fn doc(source: &str) -> Value {
    compile_source(source).unwrap_or_else(|codes| panic!("{codes:?}"))
}

fn key(doc: &Value, name: &str) -> String {
    template(doc, name)["memoize"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not memoized"))
        .to_string()
}

fn task_args(doc: &Value, task: &str) -> Vec<(String, String)> {
    template(doc, "main")["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == task)
        .unwrap()["arguments"]["parameters"]
        .as_array()
        .map_or_else(Vec::new, |ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
}

/// What the key and the task's `mlp-key-*` arguments say together.
fn identity(doc: &Value, task: &str, template_name: &str) -> String {
    let mut out = key(doc, template_name);
    for (name, value) in task_args(doc, task) {
        if name.starts_with("mlp-key") {
            out.push_str(&format!("|{name}={value}"));
        }
    }
    out
}

#[test]
fn every_name_in_a_key_exists_and_nothing_reads_as_a_ternary() {
    let d = doc(BASE);
    for name in ["clean", "own"] {
        let k = key(&d, name);
        let expr = k
            .split_once("{{=")
            .and_then(|(_, rest)| rest.strip_suffix("}}"))
            .expect("one expression");
        assert!(
            !(expr.contains('?') && expr.contains(':')),
            "{name}: Argo would read {expr} as a ternary"
        );
        let declared: Vec<&str> = template(&d, name)["inputs"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for part in expr.split("inputs.parameters['").skip(1) {
            let input = part.split('\'').next().unwrap();
            assert!(
                declared.contains(&input),
                "{name}: the key reads inputs.parameters['{input}'], which is not a parameter input (artifact inputs have none)"
            );
        }
        // Argo v3 expands a key's workflow parameters and its inputs in two
        // separate passes (workflow/common/util.go SubstituteParams): a key
        // that reads both never resolves. Parameters arrive as inputs.
        assert!(!expr.contains("workflow."), "{name}: {expr}");
        let prefix = k.split("{{=").next().unwrap();
        assert!(prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}

#[test]
fn the_key_changes_with_the_steps_definition() {
    let before = doc(BASE);
    for (what, changed) in [
        ("image", BASE.replace("x:1.0.0", "x:1.0.1")),
        ("command", BASE.replace("\"use\", a.out", "\"use2\", a.out")),
        (
            "env",
            BASE.replace("cache = 1h", "cache = 1h\n    env { MODE = \"b\" }"),
        ),
    ] {
        let after = doc(&changed);
        assert_ne!(
            key(&before, "own"),
            key(&after, "own"),
            "changing the {what} must change the key"
        );
    }
}

#[test]
fn the_executor_account_is_not_part_of_the_key() {
    // It changes who reports the step's outputs, not what the step computes.
    let before = doc(BASE);
    let after = doc(&BASE.replace(
        "pipeline p {",
        "pipeline p {\n  executor_service_account = \"argo-executor\"",
    ));
    assert_eq!(
        template(&after, "own")["executor"]["serviceAccountName"],
        "argo-executor"
    );
    assert_eq!(key(&before, "own"), key(&after, "own"));
}

#[test]
fn the_key_follows_artifacts_to_their_producers() {
    let before = doc(BASE);
    // The producer two steps up changes its command: the same run-time
    // inputs must not reuse the old result.
    let changed = doc(&BASE.replace("[\"load\", day]", "[\"load\", \"--v2\", day]"));
    assert_ne!(
        identity(&before, "own", "own"),
        identity(&changed, "own", "own")
    );
    assert_ne!(
        identity(&before, "a", "clean"),
        identity(&changed, "a", "clean")
    );
    // And the run-time values a producer read reach the consumer's key.
    let args = task_args(&before, "own");
    assert!(
        args.iter()
            .any(|(n, v)| n.starts_with("mlp-key-") && v == "{{workflow.parameters.day}}"),
        "{args:?}"
    );
}

#[test]
fn uses_of_one_template_with_different_producers_have_different_keys() {
    let source = BASE.replace(
        "  prep own {",
        "  prep load2 {\n    image = \"loader:1.0.0\"\n    command = [\"load2\"]\n    output raw: dataset = \"/tmp/raw\"\n  }\n  prep b uses clean { data = load2.raw }\n  prep own {",
    );
    let d = doc(&source);
    assert_eq!(key(&d, "clean").matches("mlp-key").count(), 2);
    assert_ne!(identity(&d, "a", "clean"), identity(&d, "b", "clean"));
}

#[test]
fn each_template_has_its_own_cache() {
    let d = doc(BASE);
    let map = |t: &str| template(&d, t)["memoize"]["cache"]["configMap"]["name"].clone();
    assert_eq!(map("clean"), "p-clean-cache");
    assert_eq!(map("own"), "p-own-cache");
}

#[test]
fn parameters_in_cache_and_retries_are_substituted_at_run_time() {
    let d = doc(r#"
pipeline p {
  param age: duration = 2h
  param n: int = 3
  param wait: duration = 30s
  prep s {
    image = "x:1.0.0"
    command = ["run"]
    cache = age
    retries { limit = n, backoff = wait, max = wait }
    timeout = wait
  }
}
"#);
    let t = template(&d, "s");
    assert_eq!(t["memoize"]["maxAge"], "{{workflow.parameters.age}}s");
    assert_eq!(t["retryStrategy"]["limit"], "{{workflow.parameters.n}}");
    assert_eq!(
        t["retryStrategy"]["backoff"]["duration"],
        "{{workflow.parameters.wait}}"
    );
    assert_eq!(
        t["retryStrategy"]["backoff"]["cap"],
        "{{workflow.parameters.wait}}"
    );
    assert_eq!(t["timeout"], "{{workflow.parameters.wait}}s");
    assert_eq!(t["activeDeadlineSeconds"], "{{workflow.parameters.wait}}");
}
