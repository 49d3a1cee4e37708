//! Every place a user string lands in compiled output, and how to find it
//! again in the parsed YAML: programs built around one value, shared by
//! `tests/injection.rs` (adversarial text) and `tests/yaml11.rs` (text a
//! YAML 1.1 reader misreads).

use super::yaml;
use mlpc::emit::Options;
use mlpc::{analyze, FsLoader};
use serde_json::Value;

/// `text` as a `.mlp` string literal.
pub use mlpc::syntax::quote_string as literal;

/// A place a user string reaches: a program holding the value there, where
/// it is found in the first document, and the codes that may reject a
/// value there.
pub struct Place {
    pub name: &'static str,
    pub program: fn(&str) -> String,
    pub found: fn(&Value) -> Option<String>,
    pub may_reject: &'static [&'static str],
}

/// One program with `v` in many places at once (each listed in
/// `ALL_IN_ONE`), with MLflow tracking, a script stage and a register stage.
pub fn all_in_one(v: &str) -> String {
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

/// The YAML text `source` compiles to, or the codes of its errors (only
/// errors reject; warnings such as an unpinned image do not).
pub fn emit_source(source: &str) -> Result<String, Vec<String>> {
    let analysis = analyze("nasty.mlp", None, source.as_bytes(), &FsLoader);
    match analysis.program {
        Some(p) => Ok(mlpc::yaml(&p, &Options::default()).expect("emits")),
        None => Err(analysis
            .diagnostics
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code_str())
            .collect()),
    }
}

/// The first document `source` compiles to, read back with serde_yaml.
pub fn compile_source(source: &str) -> Result<Value, Vec<String>> {
    emit_source(source).map(|text| {
        yaml::parse_documents(&text)
            .expect("the output parses back")
            .remove(0)
    })
}

pub fn template<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
}

pub fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    &container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap()["value"]
}

/// A resource template's manifest: YAML text, parsed here, unless the
/// reader of the document already parsed it.
pub fn manifest(doc: &Value, template_name: &str) -> Value {
    match &template(doc, template_name)["resource"]["manifest"] {
        Value::String(text) => super::argo_manifest(text, &Default::default()),
        parsed => parsed.clone(),
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn fit(doc: &Value) -> &Value {
    template(doc, "fit")
}

/// Where `all_in_one(v)` puts `v`. The wrapped command is
/// `[..., "--", "python", COMMAND, ARGS]`.
pub const ALL_IN_ONE: &[Place] = &[
    Place {
        name: "description",
        program: all_in_one,
        found: |d| text(&d["metadata"]["annotations"]["workflows.argoproj.io/description"]),
        may_reject: &[],
    },
    Place {
        name: "param default",
        program: all_in_one,
        found: |d| text(&d["spec"]["arguments"]["parameters"][0]["value"]),
        may_reject: &[],
    },
    Place {
        name: "command",
        program: all_in_one,
        found: |d| text(&fit(d)["container"]["command"][3]),
        may_reject: &[],
    },
    Place {
        name: "args",
        program: all_in_one,
        found: |d| text(&fit(d)["container"]["command"][4]),
        may_reject: &[],
    },
    Place {
        name: "env",
        program: all_in_one,
        found: |d| text(env(&fit(d)["container"], "VALUE")),
        may_reject: &[],
    },
    Place {
        name: "experiment",
        program: all_in_one,
        found: |d| text(env(&fit(d)["container"], "MLFLOW_EXPERIMENT_NAME")),
        may_reject: &[],
    },
    Place {
        name: "train params",
        program: all_in_one,
        found: |d| text(env(&fit(d)["container"], "MLP_PARAM_VALUE")),
        may_reject: &[],
    },
    Place {
        name: "annotation",
        program: all_in_one,
        found: |d| text(&fit(d)["metadata"]["annotations"]["example.com/note"]),
        may_reject: &[],
    },
    Place {
        name: "register tag",
        program: all_in_one,
        found: |d| text(env(&template(d, "reg")["container"], "MLP_TAG_VALUE_0")),
        may_reject: &[],
    },
    Place {
        name: "register description",
        program: all_in_one,
        found: |d| text(env(&template(d, "reg")["container"], "MLP_DESCRIPTION")),
        may_reject: &[],
    },
];

const MLFLOW: &str =
    "mlflow { tracking_uri = \"http://m:5000\", experiment = \"e\", artifact_store = \"s3://a\" }";

/// The only key of a map, when it has one.
fn only_key(map: &Value) -> Option<String> {
    let map = map.as_object()?;
    (map.len() == 1)
        .then(|| map.keys().next().cloned())
        .flatten()
}

/// Places with a program of their own.
pub const PLACES: &[Place] = &[
    Place {
        name: "image",
        program: |v| format!("pipeline p {{\n  prep a {{ image = {} }}\n}}\n", literal(v)),
        found: |d| text(&template(d, "a")["container"]["image"]),
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
        found: |d| text(&template(d, "a")["container"]["command"][2]),
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
        found: |d| text(&template(d, "a")["metadata"]["labels"]["team"]),
        may_reject: &["mlp::E0402"],
    },
    Place {
        name: "label key",
        program: |v| {
            format!(
                "pipeline p {{\n  prep a {{ image = \"x:1\", labels = {{ {} = \"v\" }} }}\n}}\n",
                literal(v)
            )
        },
        found: |d| only_key(&template(d, "a")["metadata"]["labels"]),
        may_reject: &["mlp::E0402"],
    },
    Place {
        name: "annotation key",
        program: |v| {
            format!(
                "pipeline p {{\n  prep a {{ image = \"x:1\", annotations = {{ {} = \"v\" }} }}\n}}\n",
                literal(v)
            )
        },
        found: |d| only_key(&template(d, "a")["metadata"]["annotations"]),
        may_reject: &["mlp::E0402"],
    },
    Place {
        name: "registered model name",
        program: |v| {
            format!("pipeline p {{\n  {MLFLOW}\n  register r {{ model = \"models:/x/1\", name = {} }}\n}}\n", literal(v))
        },
        found: |d| text(env(&template(d, "r")["container"], "MLP_MODEL_NAME")),
        may_reject: &["mlp::E0216"],
    },
    Place {
        name: "service name",
        program: |v| {
            format!("pipeline p {{\n  {MLFLOW}\n  deploy d {{ model = \"models:/x/1\", service = {} }}\n}}\n", literal(v))
        },
        found: |d| text(&manifest(d, "d")["metadata"]["name"]),
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
        found: |d| text(&template(d, "a")["nodeSelector"]["pool"]),
        may_reject: &[],
    },
    Place {
        name: "for_each item",
        program: |v| {
            format!("pipeline p {{\n  prep a {{ image = \"x:1\", for_each = [{}], args = [item] }}\n}}\n", literal(v))
        },
        found: |d| {
            let tasks = d["spec"]["templates"][0]["dag"]["tasks"].as_array()?;
            let task = tasks.iter().find(|t| t["name"] == "a")?;
            text(&task["withItems"][0])
        },
        may_reject: &[],
    },
];
