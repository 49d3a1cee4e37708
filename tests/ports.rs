//! What stopped real ports (issue #11): every error of a list, stage kinds as
//! names, template inputs named like another kind's fields, lists and maps
//! passed to containers.

mod common;

use common::places::compile_source;
use mlpc::{analyze, FsLoader};

/// `(code, line:column)` of every diagnostic of `source`.
fn codes_at(source: &str) -> Vec<(String, String)> {
    let a = analyze("port.mlp", None, source.as_bytes(), &FsLoader);
    a.diagnostics
        .items
        .iter()
        .map(|d| {
            let json = mlpc::diag::render::to_json_diagnostic(d);
            let at = json
                .start
                .map(|s| format!("{}:{}", s.line, s.column))
                .unwrap_or_default();
            (d.code_str(), at)
        })
        .collect()
}

#[test]
fn every_error_of_a_list_and_a_string_is_reported() {
    let found = codes_at(
        r#"pipeline p {
  prep a {
    image = "x:1.0.0"
    command = ["echo", epochs, lrr, "${bogus} ${bogus2}"]
    env { A = "${nope1}-${nope2}", B = [nope3, { k = nope4 }] }
  }
}
"#,
    );
    let unknown: Vec<&str> = found
        .iter()
        .filter(|(c, _)| c == "mlp::E0101")
        .map(|(_, at)| at.as_str())
        .collect();
    assert_eq!(
        unknown,
        ["4:24", "4:32", "4:40", "4:49", "5:18", "5:27", "5:41", "5:54"],
        "{found:?}"
    );
}

#[test]
fn stage_kinds_name_stages_parameters_and_templates() {
    let doc = compile_source(
        r#"
template prep train {
  image = "x:1.0.0"
  command = ["t"]
}
pipeline p {
  param deploy: string = "yes"
  prep prep { image = "x:1.0.0", command = ["p", deploy], output out: string = "/tmp/o" }
  prep train uses train { }
  job job { image = "x:1.0.0", command = ["j", prep.out], after = [train] }
}
"#,
    )
    .unwrap_or_else(|codes| panic!("{codes:?}"));
    let tasks: Vec<&str> = doc["spec"]["templates"][0]["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["prep", "train", "job"]);
    // What must stay reserved still is.
    for name in ["run", "item", "true", "when", "uses"] {
        let found = codes_at(&format!(
            "pipeline p {{\n  prep {name} {{ image = \"x:1.0.0\", command = [\"a\"] }}\n}}\n"
        ));
        assert!(
            found
                .iter()
                .any(|(c, _)| c == "mlp::E0102" || c == "mlp::E0001"),
            "{name}: {found:?}"
        );
    }
}

#[test]
fn template_inputs_are_checked_against_their_own_kind_only() {
    // `format`, `name`, `namespace` and `model` are fields of other kinds.
    let ok = codes_at(
        r#"
template job convert {
  input format: string
  input name: string
  input namespace: string = "default"
  input model: string = "m"
  image = "x:1.0.0"
  command = ["convert", format, name, namespace, model]
}
pipeline p {
  job c uses convert { format = "csv", name = "n" }
}
"#,
    );
    assert!(ok.is_empty(), "{ok:?}");
    // A real clash is reported once, without a cascade for its uses.
    let clash = codes_at(
        r#"
template job convert {
  input image: string
  image = "x:1.0.0"
  command = ["convert", image]
}
pipeline p {
  job c uses convert { image = "y:1.0.0" }
}
"#,
    );
    let codes: Vec<&str> = clash.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["mlp::E0223"], "{clash:?}");
}

#[test]
fn lists_and_maps_reach_containers_as_compact_json() {
    let doc = compile_source(
        r#"
pipeline p {
  param tags: list[string] = ["a", "b"]
  param cfg: map = { k = "v" }
  prep a {
    image = "x:1.0.0"
    command = ["run", tags, "--cfg=${cfg}", [1, 2], { k = "v" }]
    env { T = tags }
  }
}
"#,
    )
    .unwrap_or_else(|codes| panic!("{codes:?}"));
    let a = common::places::template(&doc, "a");
    let command: Vec<&str> = a["container"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        [
            "run",
            "{{workflow.parameters.tags}}",
            "--cfg={{workflow.parameters.cfg}}",
            "[1,2]",
            "{\"k\":\"v\"}"
        ]
    );
    // Argo holds the parameters themselves as JSON text.
    assert_eq!(
        doc["spec"]["arguments"]["parameters"][0]["value"],
        "[\"a\",\"b\"]"
    );
    assert_eq!(
        common::places::env(&a["container"], "T"),
        "{{workflow.parameters.tags}}"
    );
}

#[test]
fn schedule_settings_and_the_scheduled_time() {
    let doc = compile_source(
        r#"
pipeline nightly {
  schedule = "0 3 * * *"
  timezone = "America/New_York"
  concurrency_policy = "Replace"
  starting_deadline = 10m
  history { successful = 1, failed = 5 }
  prep a { image = "x:1.0.0", command = ["run", "--due", "${run.scheduled_time}"] }
}
"#,
    )
    .unwrap_or_else(|codes| panic!("{codes:?}"));
    let spec = &doc["spec"];
    assert_eq!(spec["timezone"], "America/New_York");
    assert_eq!(spec["concurrencyPolicy"], "Replace");
    assert_eq!(spec["startingDeadlineSeconds"], 600);
    assert_eq!(spec["successfulJobsHistoryLimit"], 1);
    assert_eq!(spec["failedJobsHistoryLimit"], 5);
    let command = &spec["workflowSpec"]["templates"][1]["container"]["command"];
    assert_eq!(command[2], "{{workflow.scheduledTime}}");

    // Without a schedule these settings and `run.scheduled_time` mean nothing.
    let unscheduled = codes_at(
        r#"pipeline p {
  timezone = "UTC"
  history { successful = 1 }
  prep a { image = "x:1.0.0", command = ["run", "${run.scheduled_time}"] }
}
"#,
    );
    assert_eq!(
        unscheduled,
        [
            ("mlp::E0216".to_string(), "2:3".to_string()),
            ("mlp::E0216".to_string(), "3:3".to_string()),
            ("mlp::E0101".to_string(), "4:52".to_string()),
        ]
    );
    let bad_zone = codes_at(
        "pipeline p {\n  schedule = \"0 3 * * *\"\n  timezone = \"Berlin time\"\n  prep a { image = \"x:1.0.0\", command = [\"run\"] }\n}\n",
    );
    assert_eq!(bad_zone, [("mlp::E0216".to_string(), "3:14".to_string())]);
}
