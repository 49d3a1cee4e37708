//! Adversarial strings in every place a user string reaches: each must
//! appear exactly as written when the YAML is parsed back, or be rejected
//! with a diagnostic. The injected programs' text never changes with them.

mod common;

use mlpc::emit::{yaml, Options};
use mlpc::{analyze, FsLoader};
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

/// `text` as a `.mlp` string literal.
use mlpc::syntax::quote_string as literal;

fn long_value() -> String {
    "x".repeat(10_000)
}

fn program(v: &str) -> String {
    let s = literal(v);
    format!(
        r#"pipeline nasty {{
  description = {s}
  param p: string = {s}
  mlflow {{
    tracking_uri = "http://mlflow.mlflow.svc:5000"
    experiment = {s}
  }}
  train fit {{
    image = "trainer:1.0"
    command = ["python", {s}]
    args = [{s}]
    env {{ VALUE = {s}, FROM_PARAM = p }}
    params = {{ value = {s} }}
    metrics = ["auc"]
    annotations = {{ "example.com/note" = {s} }}
  }}
  prep shell {{
    image = "busybox:1.37"
    script = "echo ${{p}}"
  }}
  register reg {{
    model = fit.model
    name = "model"
    tags = {{ note = {s} }}
    description = {s}
  }}
}}
"#
    )
}

fn compile(source: &str) -> Result<Value, Vec<String>> {
    let analysis = analyze("nasty.mlp", None, source.as_bytes(), &FsLoader);
    match analysis.program {
        Some(p) => {
            let text = mlpc::emit::emit(&p, &Options::default()).expect("emits");
            Ok(yaml::parse_documents(&text)
                .expect("the output parses back")
                .remove(0))
        }
        // Only errors reject; warnings (an unpinned image) do not.
        None => Err(analysis
            .diagnostics
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code_str())
            .collect()),
    }
}

fn template<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
}

fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    &container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap()["value"]
}

/// Every `python3 -c` program and the wrapper, to compare across values.
fn injected_programs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in doc["spec"]["templates"].as_array().unwrap() {
        let containers = ["initContainers", "sidecars"]
            .iter()
            .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
            .chain(t.get("container").cloned());
        for c in containers {
            let cmd = c["command"].as_array().cloned().unwrap_or_default();
            if cmd.first().and_then(Value::as_str) == Some("python3")
                || cmd.get(3).and_then(Value::as_str) == Some("mlflow-wrap")
            {
                out.push(cmd[2].as_str().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn every_value_arrives_exactly_or_is_rejected() {
    let baseline = compile(&program("plain")).expect("the plain program compiles");
    let programs = injected_programs(&baseline);
    assert!(
        programs.len() >= 5,
        "init, wrapper, sidecar, register, cleanup"
    );
    let long = long_value();
    let mut values: Vec<&str> = NASTY.to_vec();
    values.push(&long);
    for v in values {
        let doc = match compile(&program(v)) {
            Ok(doc) => doc,
            Err(codes) => {
                panic!("{v:?} was rejected ({codes:?}); it is a valid value everywhere it is used")
            }
        };
        let fit = template(&doc, "fit");
        let main = &fit["container"];
        let at =
            |what: &str, found: &Value| assert_eq!(found.as_str(), Some(v), "{what} for {v:?}");
        at(
            "description",
            &doc["metadata"]["annotations"]["workflows.argoproj.io/description"],
        );
        at(
            "param default",
            &doc["spec"]["arguments"]["parameters"][0]["value"],
        );
        let wrapped_argv = main["command"].as_array().unwrap();
        at("command", &wrapped_argv[5]);
        at("args", &wrapped_argv[6]);
        at("env", env(main, "VALUE"));
        at("experiment", env(main, "MLFLOW_EXPERIMENT_NAME"));
        at("train params", env(main, "MLP_PARAM_VALUE"));
        at(
            "annotation",
            &fit["metadata"]["annotations"]["example.com/note"],
        );
        let reg = &template(&doc, "reg")["container"];
        at("register tag", env(reg, "MLP_TAG_VALUE_0"));
        at("register description", env(reg, "MLP_DESCRIPTION"));
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
        let codes = compile(&program(bad)).unwrap_err();
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

/// A place a user string reaches, and the codes that may reject a value there.
struct Place {
    name: &'static str,
    program: fn(&str) -> String,
    found: fn(&Value) -> Option<String>,
    may_reject: &'static [&'static str],
}

const MLFLOW: &str =
    "mlflow { tracking_uri = \"http://m:5000\", experiment = \"e\", artifact_store = \"s3://a\" }";

fn manifest(doc: &Value, template_name: &str) -> Value {
    yaml::parse_documents(
        template(doc, template_name)["resource"]["manifest"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .remove(0)
}

const PLACES: &[Place] = &[
    Place {
        name: "image",
        program: |v| format!("pipeline p {{\n  prep a {{ image = {} }}\n}}\n", literal(v)),
        found: |d| {
            template(d, "a")["container"]["image"]
                .as_str()
                .map(str::to_string)
        },
        may_reject: &["mlp::E0216"],
    },
    Place {
        name: "script",
        program: |v| {
            format!(
                "pipeline p {{\n  prep a {{ image = \"x:1\", script = {} }}\n}}\n",
                literal(v)
            )
        },
        found: |d| {
            template(d, "a")["container"]["command"][2]
                .as_str()
                .map(str::to_string)
        },
        may_reject: &[],
    },
    Place {
        name: "label value",
        program: |v| {
            format!(
                "pipeline p {{\n  prep a {{ image = \"x:1\", labels = {{ team = {} }} }}\n}}\n",
                literal(v)
            )
        },
        found: |d| {
            template(d, "a")["metadata"]["labels"]["team"]
                .as_str()
                .map(str::to_string)
        },
        may_reject: &["mlp::E0402"],
    },
    Place {
        name: "registered model name",
        program: |v| {
            format!("pipeline p {{\n  {MLFLOW}\n  register r {{ model = \"models:/x/1\", name = {} }}\n}}\n", literal(v))
        },
        found: |d| {
            env(&template(d, "r")["container"], "MLP_MODEL_NAME")
                .as_str()
                .map(str::to_string)
        },
        may_reject: &["mlp::E0216"],
    },
    Place {
        name: "service name",
        program: |v| {
            format!("pipeline p {{\n  {MLFLOW}\n  deploy d {{ model = \"models:/x/1\", service = {} }}\n}}\n", literal(v))
        },
        found: |d| {
            manifest(d, "d")["metadata"]["name"]
                .as_str()
                .map(str::to_string)
        },
        may_reject: &["mlp::E0216"],
    },
    Place {
        name: "deploy model URI",
        program: |v| {
            format!(
                "pipeline p {{\n  {MLFLOW}\n  deploy d {{ model = {}, service = \"svc\" }}\n}}\n",
                literal(&format!("models:/{v}"))
            )
        },
        found: |d| {
            env(&template(d, "d-resolve")["container"], "MLP_MODEL_URI")
                .as_str()
                .map(|u| u.trim_start_matches("models:/").to_string())
        },
        may_reject: &[],
    },
    Place {
        name: "node selector value",
        program: |v| {
            format!("pipeline p {{\n  prep a {{ image = \"x:1\", node_selector = {{ pool = {} }} }}\n}}\n", literal(v))
        },
        found: |d| {
            template(d, "a")["nodeSelector"]["pool"]
                .as_str()
                .map(str::to_string)
        },
        may_reject: &[],
    },
    Place {
        name: "for_each item",
        program: |v| {
            format!("pipeline p {{\n  prep a {{ image = \"x:1\", for_each = [{}], args = [item] }}\n}}\n", literal(v))
        },
        found: |d| {
            let main = d["spec"]["templates"][0]["dag"]["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == "a")
                .unwrap()
                .clone();
            main["withItems"][0].as_str().map(str::to_string)
        },
        may_reject: &[],
    },
];

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
