//! `monitor = true` (§9.7, src/emit/monitor.rs): each emitted metric's
//! name, labels and value template, read back from the compiled YAML, as
//! the contract says them; Argo's rules for them (workflow/validate/
//! validate.go `validateMetrics`, workflow/metrics/util.go
//! `IsValidMetricName`); the metric `when` as Argo's `shouldExecute`
//! evaluates it; and what `monitor` changes nothing else about.

mod argo_model;
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use argo_model::govaluate::should_execute;
use common::*;
use mlpc::emit::monitor;
use serde_json::{json, Value};

const EXAMPLE: &str = "examples/distributed_finetune.mlp";
const FIXTURE: &str = "tests/fixtures/monitor/monitored.mlp";

/// `(name, labels as key=value, value)` of each metric of a template.
fn metrics(t: &Value) -> Vec<(String, Vec<String>, String)> {
    t["metrics"]["prometheus"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    let labels = m["labels"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| {
                            format!(
                                "{}={}",
                                l["key"].as_str().unwrap(),
                                l["value"].as_str().unwrap()
                            )
                        })
                        .collect();
                    let value = ["histogram", "counter", "gauge"]
                        .iter()
                        .find_map(|k| m[*k]["value"].as_str())
                        .unwrap()
                        .to_string();
                    (m["name"].as_str().unwrap().to_string(), labels, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn stage_metrics(pipeline: &str, stage: &str) -> Vec<(String, Vec<String>, String)> {
    let labels = vec![
        format!("pipeline={pipeline}"),
        format!("stage={stage}"),
        "status={{status}}".to_string(),
    ];
    vec![
        (
            "mlp_stage_duration_seconds".into(),
            labels.clone(),
            "{{duration}}".into(),
        ),
        ("mlp_stage_results_total".into(), labels, "1".into()),
    ]
}

/// The template a task of the entry DAG calls.
fn called<'a>(d: &'a Value, task_name: &str) -> &'a Value {
    template(d, task(d, task_name)["template"].as_str().unwrap())
}

#[test]
fn every_stage_reports_duration_and_results_and_the_model_its_metrics() {
    let d = compile_docs(Path::new(EXAMPLE), &Default::default()).remove(0);
    let p = "distributed_finetune";
    // Each stage on the template whose node is the stage's end: a
    // container, the distributed stage's DAG, register, the deploy's wait.
    for (stage, done_task) in [
        ("tokenize", "tokenize"),
        ("finetune", "finetune"),
        ("assistant", "assistant"),
        ("serve", "serve-wait"),
    ] {
        assert_eq!(
            metrics(called(&d, done_task)),
            stage_metrics(p, stage),
            "{stage}"
        );
    }
    // The deploy's other steps and the gate report nothing.
    for t in ["serve-resolve", "serve", "finetune-metrics"] {
        assert!(called(&d, t).get("metrics").is_none(), "{t}");
    }
    // Every declared metric of the tracked train stage, from MLflow, by a
    // step after it that reads the stage's run.
    let report = task(&d, "finetune-report");
    assert_eq!(report["depends"], "finetune");
    // Its program never fails; its pod is retried (Argo refuses
    // `continueOn` beside `depends`, validate.go `validateDAG`).
    assert_eq!(
        called(&d, "finetune-report")["retryStrategy"],
        json!({"limit": "2", "retryPolicy": "Always"})
    );
    assert_eq!(
        report["arguments"]["parameters"][0]["value"],
        "{{tasks.finetune.outputs.parameters.run_id}}"
    );
    let gate = called(&d, "finetune-report");
    assert_eq!(gate["container"]["command"][4], "mlflow-report");
    let want: Vec<_> = ["eval_accuracy", "eval_loss"]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                "mlp_model_metric".to_string(),
                vec![
                    format!("pipeline={p}"),
                    "stage=finetune".to_string(),
                    format!("metric={m}"),
                ],
                format!("{{{{outputs.parameters.{}}}}}", monitor::report_output(i)),
            )
        })
        .collect();
    assert_eq!(metrics(gate), want);
    for (m, name) in gate["metrics"]["prometheus"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["metric-0", "metric-1"])
    {
        assert_eq!(m["gauge"]["realtime"], false);
        assert_eq!(
            m["when"],
            format!("{{{{status}}}} == Succeeded && {{{{outputs.parameters.{name}}}}} != missing")
        );
    }
    // The gauges read what the step writes.
    let outputs: Vec<&str> = gate["outputs"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["metric-0", "metric-1"]);
    assert_eq!(
        gate["container"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "MLP_METRICS")
            .unwrap()["value"],
        r#"["eval_accuracy","eval_loss"]"#
    );
    // The run as a whole.
    let run = json!({"metrics": spec(&d)["metrics"]});
    let labels = vec![
        format!("pipeline={p}"),
        "status={{workflow.status}}".to_string(),
    ];
    assert_eq!(
        metrics(&run),
        vec![
            (
                "mlp_pipeline_duration_seconds".to_string(),
                labels.clone(),
                "{{workflow.duration}}".to_string()
            ),
            (
                "mlp_pipeline_results_total".to_string(),
                labels,
                "1".to_string()
            ),
        ]
    );
}

/// Argo's lint rules, and the controller's: one help text and one type
/// per name across every workflow, the same buckets for every histogram
/// of a name, `realtime` only on gauges, valid names and label keys.
#[test]
fn what_is_emitted_follows_argos_metric_rules() {
    let mut seen: BTreeMap<String, (String, String, Value)> = BTreeMap::new();
    let mut count = 0;
    for rel in [EXAMPLE, FIXTURE] {
        let d = compile_docs(Path::new(rel), &Default::default()).remove(0);
        let mut all: Vec<&Value> = spec(&d)["metrics"]["prometheus"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        for t in spec(&d)["templates"].as_array().unwrap() {
            all.extend(t["metrics"]["prometheus"].as_array().into_iter().flatten());
        }
        for m in all {
            count += 1;
            let name = m["name"].as_str().unwrap();
            assert!(monitor::is_valid_metric_name(name), "{name}");
            let help = m["help"].as_str().unwrap();
            assert!(!help.is_empty());
            let kinds: Vec<&str> = ["gauge", "histogram", "counter"]
                .into_iter()
                .filter(|k| m.get(*k).is_some())
                .collect();
            assert_eq!(kinds.len(), 1, "{m}");
            let kind = kinds[0];
            assert!(!m[kind]["value"].as_str().unwrap().is_empty());
            for l in m["labels"].as_array().unwrap() {
                let key = l["key"].as_str().unwrap();
                assert!(
                    monitor::is_valid_metric_name(key) && key != "le" && !key.starts_with("__")
                );
            }
            // `realtime` only on gauges, and required there.
            if kind == "gauge" {
                assert!(m["gauge"]["realtime"].is_boolean());
            }
            assert!(m.get("realtime").is_none());
            let buckets = m["histogram"]["buckets"].clone();
            let entry = seen
                .entry(name.to_string())
                .or_insert_with(|| (help.to_string(), kind.to_string(), buckets.clone()));
            assert_eq!(
                entry,
                &(help.to_string(), kind.to_string(), buckets),
                "{name}"
            );
        }
    }
    assert!(count >= 10, "{count} metrics");
    // Names and help texts are the module's table.
    for (name, (help, _, _)) in &seen {
        assert!(
            monitor::ALL.contains(&(name.as_str(), help.as_str())),
            "{name}"
        );
    }
}

/// The gauges' `when`, after Argo puts the node's phase and the step's
/// output in, as `shouldExecute` (govaluate, bare words as strings)
/// evaluates it: set for a number the report step wrote (as the gate
/// writes them: fixed point, maybe negative), not for `missing` or a
/// failed step.
#[test]
fn a_gauge_is_set_only_for_a_value_the_run_has() {
    let d = compile_docs(Path::new(EXAMPLE), &Default::default()).remove(0);
    let when = called(&d, "finetune-report")["metrics"]["prometheus"][0]["when"]
        .as_str()
        .unwrap()
        .to_string();
    for (phase, value, want) in [
        ("Succeeded", "0.9312", true),
        ("Succeeded", "-0.25", true),
        ("Succeeded", "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", true),
        ("Succeeded", "missing", false),
        ("Failed", "0.9312", false),
        ("Error", "missing", false),
    ] {
        let text = when
            .replace("{{status}}", phase)
            .replace("{{outputs.parameters.metric-0}}", value);
        assert_eq!(should_execute(&text), Ok(want), "{text}");
    }
}

#[test]
fn defaults_and_stages_choose_and_the_gate_stays_as_it_was() {
    let d = compile_docs(Path::new(FIXTURE), &Default::default()).remove(0);
    // Not the pipeline's `monitor`: no run metrics.
    assert!(spec(&d).get("metrics").is_none());
    // `defaults { monitor = true }`, but `monitor = false` on `report`.
    assert_eq!(
        metrics(called(&d, "prepare")),
        stage_metrics("nightly", "prepare")
    );
    assert!(called(&d, "report").get("metrics").is_none());
    // Two stages using one template each get their own (their names differ).
    assert_eq!(
        metrics(called(&d, "fit-a")),
        stage_metrics("nightly", "fit_a")
    );
    assert_eq!(
        metrics(called(&d, "fit-b")),
        stage_metrics("nightly", "fit_b")
    );
    assert_ne!(task(&d, "fit-a")["template"], task(&d, "fit-b")["template"]);
    // Each monitored tracked train stage reports its declared metrics;
    // the gate of fit_b's `auc` (read by `promote`) is as without monitor.
    for t in ["fit-a-report", "fit-b-report"] {
        let names: Vec<String> = metrics(called(&d, t))
            .into_iter()
            .map(|m| m.1[2].clone())
            .collect();
        assert_eq!(names, ["metric=auc", "metric=logloss"], "{t}");
    }
    // MLflow keys that no Argo parameter name can hold are labels only:
    // the step's outputs are positional, and Argo accepts the workflow.
    let fit_c = called(&d, "fit-c-report");
    let labels: Vec<String> = metrics(fit_c).into_iter().map(|m| m.1[2].clone()).collect();
    assert_eq!(
        labels,
        ["metric=eval.loss", "metric=train loss", "metric=val/acc"]
    );
    let outputs: Vec<&str> = fit_c["outputs"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["metric-0", "metric-1", "metric-2"]);
    if let Some((python, script)) = validator() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("monitored.yaml");
        std::fs::write(&file, compile(Path::new(FIXTURE), &Default::default())).unwrap();
        assert_validator_accepts(&python, &script, &[file]);
    }
    assert!(spec(&d)["templates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "fit-a-metrics"));
    let gate = called(&d, "fit-b-metrics");
    assert!(gate.get("metrics").is_none());
    assert_eq!(gate["outputs"]["parameters"].as_array().unwrap().len(), 1);
}

#[test]
fn without_monitor_nothing_changes() {
    let source = std::fs::read_to_string(root().join(EXAMPLE)).unwrap();
    let without = source.replace("  monitor = true\n", "");
    assert_ne!(source, without);
    let d = compile_clean(&without);
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("\"metrics\":{\"prometheus\""));
    assert!(!text.contains("mlflow-report"));
    // The metric step reads only what the gate compares.
    let gate = called(&d, "finetune-metrics");
    assert_eq!(gate["outputs"]["parameters"].as_array().unwrap().len(), 1);
}

#[test]
fn kubeflow_pipelines_has_no_form_for_it() {
    let out = run_mlpc(&["compile", "--target", "kfp", FIXTURE]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("mlp::E0501") && stderr.contains("`monitor`"),
        "{stderr}"
    );
}
