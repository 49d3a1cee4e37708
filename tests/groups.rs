//! Groups, fan-in and `finally` (contract v2 §9.1, 9.2, 9.4): the Argo
//! objects they lower to, field by field, and what they do when Argo runs
//! them (the controller model in `argo_model`, each rule written from
//! Argo's source: nested DAG scopes (`createScope`), aggregated outputs
//! (`processAggregateNodeOutputs`), DAG template outputs
//! (`getTemplateOutputsFromScope`), `onExit` with `workflow.status`).

mod argo_model;
mod common;

use argo_model::simulate::{self, Scenario, Workflow};
use argo_model::Phase;
use common::places::{compile_source, template};
use serde_json::{json, Value};

const MLFLOW: &str = r#"
  mlflow {
    tracking_uri = "http://mlflow.mlflow.svc.cluster.local:5000"
    experiment   = "groups"
  }
"#;

fn compile(body: &str) -> Value {
    let source = format!("pipeline p {{\n{MLFLOW}\n{body}\n}}\n");
    compile_source(&source).unwrap_or_else(|codes| panic!("{codes:?}\n{source}"))
}

fn codes(body: &str) -> Vec<String> {
    let source = format!("pipeline p {{\n{MLFLOW}\n{body}\n}}\n");
    compile_source(&source).err().unwrap_or_default()
}

fn task<'a>(doc: &'a Value, template_name: &str, name: &str) -> &'a Value {
    template(doc, template_name)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} in {template_name}"))
}

fn task_names(doc: &Value, template_name: &str) -> Vec<String> {
    template(doc, template_name)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

const SWEEP: &str = r#"
  prep prepare {
    image   = "ghcr.io/acme/prep:1.0.0"
    command = ["python", "prep.py"]
    output data: dataset = "/out/data"
    output rows: int = "/out/rows"
  }
  group sweep {
    for_each = [0.1, 0.01, 0.001]
    prep fit {
      image   = "ghcr.io/acme/train:1.4.0"
      command = ["python", "train.py", "--data", prepare.data, "--lr", "${item}"]
      output score: float = "/tmp/score"
    }
    prep evaluate {
      image   = "ghcr.io/acme/eval:1.4.0"
      command = ["python", "eval.py", "--score", fit.score]
    }
  }
  prep report {
    image   = "ghcr.io/acme/report:1.0.0"
    command = ["python", "report.py", "--scores", fit.score]
  }
"#;

#[test]
fn a_group_is_one_task_calling_a_dag_template() {
    let doc = compile(SWEEP);
    assert_eq!(task_names(&doc, "main"), ["prepare", "sweep", "report"]);
    let call = task(&doc, "main", "sweep");
    assert_eq!(call["template"], "sweep");
    // The loop, the condition and the dependencies are on the calling task.
    assert_eq!(call["withItems"], json!([0.1, 0.01, 0.001]));
    assert_eq!(call["depends"], "prepare");
    // What the members read from outside enters as arguments: the item
    // (per item) and the artifact.
    assert_eq!(
        call["arguments"],
        json!({
            "parameters": [{"name": "sweep-item", "value": "{{item}}"}],
            "artifacts": [{"name": "prepare-data", "from": "{{tasks.prepare.outputs.artifacts.data}}"}]
        })
    );
    let group = template(&doc, "sweep");
    assert_eq!(
        group["inputs"],
        json!({"parameters": [{"name": "sweep-item"}], "artifacts": [{"name": "prepare-data"}]})
    );
    assert_eq!(task_names(&doc, "sweep"), ["fit", "evaluate"]);
    // Members read the group's inputs and each other's outputs.
    let fit = task(&doc, "sweep", "fit");
    assert_eq!(
        fit["arguments"]["parameters"],
        json!([{"name": "sweep-item", "value": "{{inputs.parameters.sweep-item}}"}])
    );
    assert_eq!(
        fit["arguments"]["artifacts"],
        json!([{"name": "prepare-data", "from": "{{inputs.artifacts.prepare-data}}"}])
    );
    assert_eq!(task(&doc, "sweep", "evaluate")["depends"], "fit");
    // What is read of a member outside leaves as an output of the group.
    assert_eq!(
        group["outputs"],
        json!({"parameters": [{"name": "fit-score", "valueFrom": {"parameter": "{{tasks.fit.outputs.parameters.score}}"}}]})
    );
    // Outside, the looping group's task aggregates it: the fan-in.
    let report = task(&doc, "main", "report");
    assert_eq!(report["depends"], "sweep.Succeeded");
    assert_eq!(
        report["arguments"]["parameters"],
        json!([{"name": "fit-score", "value": "{{tasks.sweep.outputs.parameters.fit-score}}"}])
    );
}

#[test]
fn fan_in_reads_every_items_value_in_item_order() {
    let doc = compile(SWEEP);
    let wf = Workflow::from_doc(&doc);
    let scenario = Scenario::default()
        .output("prepare", "rows", "10")
        .echo("fit", "score", "sweep-item")
        .echo("report", "scores", "fit-score");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(
        run.node("sweep").outputs["fit-score"],
        r#"["0.1","0.01","0.001"]"#
    );
}

#[test]
fn a_condition_on_a_collected_loop_is_decided_once() {
    // Argo decides a loop task's `when` per item; a loop whose items were
    // all skipped is Succeeded with no outputs, and its readers would fail
    // to read them. So the loop runs in a DAG of its own, whose calling
    // task carries the condition.
    let doc = compile(&SWEEP.replace(
        "for_each = [0.1, 0.01, 0.001]",
        "for_each = [0.1, 0.01, 0.001]\n    when prepare.rows > 0",
    ));
    let call = task(&doc, "main", "sweep");
    assert_eq!(call["template"], "sweep-fan-out");
    assert_eq!(
        call["when"],
        "{{=(asFloat(tasks['prepare'].outputs.parameters['rows'])) > (0)}}"
    );
    let inner = task(&doc, "sweep-fan-out", "sweep");
    assert!(inner.get("when").is_none());
    assert_eq!(inner["withItems"], json!([0.1, 0.01, 0.001]));
    let wf = Workflow::from_doc(&doc);
    let scenario =
        Scenario::default()
            .output("prepare", "rows", "10")
            .echo("fit", "score", "sweep-item");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(
        run.node("sweep").outputs["fit-score"],
        r#"["0.1","0.01","0.001"]"#
    );
    // No rows: the group is skipped, and the reader of its outputs with it.
    let run = simulate::run(&wf, &Scenario::default().output("prepare", "rows", "0"));
    assert_eq!(run.phase("sweep"), Phase::Skipped, "{}", run.summary());
    assert_eq!(run.phase("report"), Phase::Omitted);
    assert_eq!(run.phase, Phase::Succeeded);
}

#[test]
fn a_failed_item_fails_the_group_and_its_readers_do_not_run() {
    let doc = compile(SWEEP);
    let wf = Workflow::from_doc(&doc);
    let scenario = Scenario::default()
        .output("prepare", "rows", "10")
        .failing("sweep/sweep(1:0.01)/fit");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase("sweep"), Phase::Failed, "{}", run.summary());
    assert_eq!(run.phase("report"), Phase::Omitted);
    assert_eq!(run.phase, Phase::Failed);
}

#[test]
fn after_a_group_waits_for_all_of_it() {
    let doc = compile(
        r#"
  group g {
    prep a { image = "x:1.0.0", command = ["a"] }
    prep b { image = "x:1.0.0", command = ["b"], after = [a] }
  }
  prep c { image = "x:1.0.0", command = ["c"], after = [g] }
"#,
    );
    assert_eq!(task(&doc, "main", "c")["depends"], "g");
    assert_eq!(task(&doc, "g", "b")["depends"], "a");
    // A member waiting for a stage outside: its group waits.
    let doc = compile(
        r#"
  prep first { image = "x:1.0.0", command = ["a"] }
  group g {
    prep a { image = "x:1.0.0", command = ["a"], after = [first] }
  }
"#,
    );
    assert_eq!(task(&doc, "main", "g")["depends"], "first");
    assert!(task(&doc, "g", "a").get("depends").is_none());
}

#[test]
fn nested_loops_pass_the_outer_item_down() {
    let doc = compile(
        r#"
  group outer {
    for_each = ["a", "b"]
    group inner {
      for_each = [1, 2]
      prep p {
        image = "x:1.0.0"
        command = ["run", "${outer.item}", "${item}"]
      }
    }
  }
"#,
    );
    let inner_call = task(&doc, "outer", "inner");
    assert_eq!(inner_call["withItems"], json!([1, 2]));
    assert_eq!(
        inner_call["arguments"]["parameters"],
        json!([
            {"name": "outer-item", "value": "{{inputs.parameters.outer-item}}"},
            {"name": "inner-item", "value": "{{item}}"}
        ])
    );
    let p = template(&doc, "p");
    assert_eq!(
        p["container"]["args"]
            .as_array()
            .or(p["container"]["command"].as_array())
            .unwrap()[1..],
        [
            json!("{{inputs.parameters.outer-item}}"),
            json!("{{inputs.parameters.inner-item}}")
        ]
    );
    let wf = Workflow::from_doc(&doc);
    let run = simulate::run(&wf, &Scenario::default());
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(run.node("outer").children.len(), 2);
}

#[test]
fn parallelism_limits_the_items_in_flight_and_keeps_the_fan_in() {
    let doc = compile(&SWEEP.replace(
        "for_each = [0.1, 0.01, 0.001]",
        "for_each = [0.1, 0.01, 0.001]\n    parallelism = 2",
    ));
    let call = task(&doc, "main", "sweep");
    assert_eq!(call["template"], "sweep-fan-out");
    let wrapper = template(&doc, "sweep-fan-out");
    assert_eq!(wrapper["parallelism"], 2);
    assert_eq!(
        wrapper["outputs"]["parameters"],
        json!([{"name": "fit-score", "valueFrom": {"parameter": "{{tasks.sweep.outputs.parameters.fit-score}}"}}])
    );
    let wf = Workflow::from_doc(&doc);
    let scenario =
        Scenario::default()
            .output("prepare", "rows", "10")
            .echo("fit", "score", "sweep-item");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(
        run.node("sweep").outputs["fit-score"],
        r#"["0.1","0.01","0.001"]"#
    );
}

#[test]
fn finally_is_the_exit_dag_with_the_mlflow_clean_up_last() {
    let doc = compile(
        r#"
  train fit { image = "x:1.0.0", command = ["train"] }
  finally {
    job notify {
      image   = "curlimages/curl:8.11.1"
      command = ["curl", "-d", "${run.status}", "http://hooks.example.com"]
    }
  }
"#,
    );
    assert_eq!(doc["spec"]["onExit"], "finally");
    assert_eq!(task_names(&doc, "finally"), ["notify", "mlflow-cleanup"]);
    assert_eq!(
        task(&doc, "finally", "mlflow-cleanup")["depends"],
        "(notify || notify.Failed || notify.Errored || notify.Omitted)"
    );
    let notify = template(&doc, "notify");
    let argv = notify["container"]["command"].as_array().unwrap();
    assert!(argv.contains(&json!("{{workflow.status}}")), "{argv:?}");
    let wf = Workflow::from_doc(&doc);
    for (failing, status) in [(false, "Succeeded"), (true, "Failed")] {
        let mut scenario = Scenario::default();
        if failing {
            scenario = scenario.failing("fit");
        }
        let run = simulate::run(&wf, &scenario);
        assert_eq!(run.status, status);
        let exit = run.exit.as_ref().expect("the exit handler ran");
        assert_eq!(exit.phase, Phase::Succeeded, "{}", run.summary());
        assert_eq!(run.node("onExit/notify").phase, Phase::Succeeded);
        assert_eq!(run.node("onExit/mlflow-cleanup").phase, Phase::Succeeded);
    }
    // The clean-up runs even when a `finally` stage fails.
    let run = simulate::run(&wf, &Scenario::default().failing("notify"));
    assert_eq!(run.node("onExit/mlflow-cleanup").phase, Phase::Succeeded);
}

#[test]
fn a_skipped_member_leaves_its_groups_output_empty_not_an_error() {
    let doc = compile(
        r#"
  param go: bool = false
  group g {
    prep a {
      image = "x:1.0.0"
      command = ["a"]
      when go
      output v: string = "/tmp/v"
    }
  }
  prep b { image = "x:1.0.0", command = ["b", a.v] }
"#,
    );
    assert_eq!(
        template(&doc, "g")["outputs"]["parameters"][0]["valueFrom"],
        json!({"parameter": "{{tasks.a.outputs.parameters.v}}", "default": ""})
    );
    let run = simulate::run(&Workflow::from_doc(&doc), &Scenario::default());
    assert_eq!(run.phase("g"), Phase::Succeeded, "{}", run.summary());
    assert_eq!(run.phase, Phase::Succeeded);
}

#[test]
fn the_checker_refuses_what_cannot_run() {
    // An item of a loop that does not hold the reader.
    assert_eq!(
        codes(
            r#"
  group g {
    for_each = [1, 2]
    prep a { image = "x:1.0.0", command = ["a", "${item}"] }
  }
  prep b { image = "x:1.0.0", command = ["b", "${g.item}"] }
"#
        ),
        ["mlp::E0114"]
    );
    // A member waiting for its own group.
    assert_eq!(
        codes(
            r#"
  group g {
    prep a { image = "x:1.0.0", command = ["a"], after = [g] }
  }
"#
        ),
        ["mlp::E0301"]
    );
    // `finally` reading the main run, and the main run waiting for `finally`.
    assert_eq!(
        codes(
            r#"
  prep a { image = "x:1.0.0", command = ["a"], after = [n] }
  finally {
    job n { image = "x:1.0.0", command = ["n"] }
  }
"#
        ),
        ["mlp::E0116"]
    );
    // Two loops at once, and a model URI, are not collected.
    assert_eq!(
        codes(
            r#"
  group o {
    for_each = [1, 2]
    group i {
      for_each = [3, 4]
      prep a { image = "x:1.0.0", command = ["a"], output v: string = "/tmp/v" }
    }
  }
  prep b { image = "x:1.0.0", command = ["b", a.v] }
"#
        ),
        ["mlp::E0225"]
    );
    // An empty group, and a group nested 9 deep.
    assert_eq!(codes("  group g { }"), ["mlp::E0216"]);
    // `run.status` outside `finally`.
    assert_eq!(
        codes(r#"  prep a { image = "x:1.0.0", command = ["a", "${run.status}"] }"#),
        ["mlp::E0115"]
    );
}

#[test]
fn a_tracked_stage_in_a_loop_tags_its_run_with_the_item() {
    let doc = compile(
        r#"
  group sweep {
    for_each = [0.1, 0.01]
    train fit { image = "x:1.0.0", command = ["train"] }
  }
"#,
    );
    let fit = template(&doc, "fit");
    let init = &fit["initContainers"][0];
    let env = |name: &str| {
        init["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))["value"]
            .clone()
    };
    assert_eq!(env("MLP_ITEM_COUNT"), "1");
    assert_eq!(env("MLP_ITEM_KEY_0"), "sweep");
    assert_eq!(env("MLP_ITEM_VALUE_0"), "{{inputs.parameters.sweep-item}}");
}

#[test]
fn fan_in_functions_in_when_read_the_aggregated_list_as_argo_evaluates_it() {
    let doc = compile(
        r#"
  param threshold: float = 0.05
  group sweep {
    for_each = [0.1, 0.01, 0.001]
    prep fit {
      image = "x:1.0.0"
      command = ["train", "${item}"]
      output score: float = "/tmp/score"
    }
  }
  prep best { image = "x:1.0.0", command = ["best"], when max(fit.score) >= threshold }
  prep many { image = "x:1.0.0", command = ["many"], when len(fit.score) > 2 }
  prep total { image = "x:1.0.0", command = ["total"], when sum(fit.score) > 0.2 }
  prep least { image = "x:1.0.0", command = ["least"], when min(fit.score) < 0.005 }
"#,
    );
    let wf = Workflow::from_doc(&doc);
    let scenario = Scenario::default().echo("fit", "score", "sweep-item");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(run.phase("best"), Phase::Succeeded, "max 0.1 >= 0.05");
    assert_eq!(run.phase("many"), Phase::Succeeded, "3 items");
    assert_eq!(run.phase("total"), Phase::Skipped, "0.111 is not > 0.2");
    assert_eq!(run.phase("least"), Phase::Succeeded, "min 0.001");
    let run = simulate::run(&wf, &scenario.clone().param("threshold", "0.5"));
    assert_eq!(run.phase("best"), Phase::Skipped, "max 0.1 < 0.5");
    // An item that failed contributes nothing (and fails the group, so the
    // readers do not run): Argo aggregates only succeeded items.
    let run = simulate::run(&wf, &scenario.failing("sweep/sweep(2:0.001)/fit"));
    assert_eq!(run.phase("least"), Phase::Omitted);
}

const TEMPLATE: &str = r#"
template group train_and_check {
  input data: file
  input lr: float = 0.01
  output auc: float = check.auc
  output trained: string = fit.run_id

  group tries {
    for_each = [1, 2]
    prep attempt {
      image = "x:1.0.0"
      command = ["try", data, "${lr}", "${item}"]
    }
  }
  prep fit {
    image = "x:1.0.0"
    command = ["fit", data, "--lr", "${lr}"]
    output run_id: string = "/tmp/run"
    after = [tries]
  }
  prep check {
    image = "x:1.0.0"
    command = ["check", fit.run_id, "${lr}"]
    output auc: float = "/tmp/auc"
  }
}
"#;

fn compile_with_template(body: &str) -> Value {
    let source = format!("{TEMPLATE}\npipeline p {{\n{body}\n}}\n");
    compile_source(&source).unwrap_or_else(|codes| panic!("{codes:?}\n{source}"))
}

const TWO_USES: &str = r#"
  prep prepare {
    image = "x:1.0.0"
    command = ["prepare"]
    output data: file = "/tmp/data.csv"
  }
  group a uses train_and_check { data = prepare.data, lr = 0.1 }
  group b uses train_and_check { data = prepare.data }
  prep pick {
    image = "x:1.0.0"
    command = ["pick", a.trained, b.trained]
    when a.auc > b.auc
  }
"#;

#[test]
fn every_use_of_a_group_template_calls_one_dag_template() {
    let doc = compile_with_template(TWO_USES);
    assert_eq!(task_names(&doc, "main"), ["prepare", "a", "b", "pick"]);
    for (task_name, lr) in [("a", "0.1"), ("b", "0.01")] {
        let call = task(&doc, "main", task_name);
        assert_eq!(call["template"], "train-and-check");
        assert_eq!(call["depends"], "prepare");
        assert_eq!(
            call["arguments"],
            json!({
                "parameters": [{"name": "lr", "value": lr}],
                "artifacts": [{"name": "data", "from": "{{tasks.prepare.outputs.artifacts.data}}"}]
            })
        );
    }
    let shared = template(&doc, "train-and-check");
    assert_eq!(
        shared["inputs"],
        json!({"parameters": [{"name": "lr"}], "artifacts": [{"name": "data"}]})
    );
    assert_eq!(
        shared["outputs"],
        json!({"parameters": [
            {"name": "auc", "valueFrom": {"parameter": "{{tasks.check.outputs.parameters.auc}}", "default": ""}},
            {"name": "trained", "valueFrom": {"parameter": "{{tasks.fit.outputs.parameters.run_id}}", "default": ""}}
        ]})
    );
    assert_eq!(
        task_names(&doc, "train-and-check"),
        ["tries", "fit", "check"]
    );
    // A group inside the template gets the template's inputs it reads.
    assert_eq!(
        task(&doc, "train-and-check", "tries")["arguments"],
        json!({
            "parameters": [
                {"name": "lr", "value": "{{inputs.parameters.lr}}"},
                {"name": "tries-item", "value": "{{item}}"}
            ],
            "artifacts": [{"name": "data", "from": "{{inputs.artifacts.data}}"}]
        })
    );
    // One template of each member, however many uses.
    let names: Vec<&str> = doc["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for member in ["fit", "check", "attempt", "tries", "train-and-check"] {
        assert_eq!(
            names.iter().filter(|n| **n == member).count(),
            1,
            "{names:?}"
        );
    }
    assert_eq!(
        task(&doc, "main", "pick")["when"],
        "{{=(asFloat(tasks['a'].outputs.parameters['auc'])) > (asFloat(tasks['b'].outputs.parameters['auc']))}}"
    );
}

#[test]
fn group_template_outputs_reach_their_readers_per_use() {
    let doc = compile_with_template(TWO_USES);
    let wf = Workflow::from_doc(&doc);
    let scenario = Scenario::default()
        .output("a/check", "auc", "0.9")
        .output("b/check", "auc", "0.8")
        .output("a/fit", "run_id", "run-a")
        .output("b/fit", "run_id", "run-b");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(run.node("a").outputs["auc"], "0.9");
    assert_eq!(run.node("b").outputs["trained"], "run-b");
    assert_eq!(run.phase("pick"), Phase::Succeeded, "0.9 > 0.8");
    let swapped = Scenario::default()
        .output("a/check", "auc", "0.7")
        .output("b/check", "auc", "0.8");
    assert_eq!(simulate::run(&wf, &swapped).phase("pick"), Phase::Skipped);
}

#[test]
fn a_looping_use_fans_in_its_outputs() {
    let doc = compile_with_template(
        r#"
  prep prepare {
    image = "x:1.0.0"
    command = ["prepare"]
    output data: file = "/tmp/data.csv"
  }
  group sweep uses train_and_check {
    for_each = [0.1, 0.01]
    data = prepare.data
    lr = item
  }
  prep best { image = "x:1.0.0", command = ["best", sweep.auc], when max(sweep.auc) > 0.85 }
"#,
    );
    let call = task(&doc, "main", "sweep");
    assert_eq!(call["withItems"], json!([0.1, 0.01]));
    assert_eq!(
        call["arguments"]["parameters"],
        json!([{"name": "lr", "value": "{{item}}"}])
    );
    let wf = Workflow::from_doc(&doc);
    let scenario = Scenario::default().echo("check", "auc", "lr");
    let run = simulate::run(&wf, &scenario);
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    assert_eq!(run.node("sweep").outputs["auc"], r#"["0.1","0.01"]"#);
    assert_eq!(run.phase("best"), Phase::Skipped, "max 0.1 is not > 0.85");
}

#[test]
fn the_checker_keeps_a_group_templates_members_inside() {
    let codes = |body: &str| {
        compile_source(&format!("{TEMPLATE}\npipeline p {{\n{body}\n}}\n"))
            .err()
            .unwrap_or_default()
    };
    // The members are not names of the pipeline.
    assert_eq!(
        codes(
            r#"
  prep prepare { image = "x:1.0.0", command = ["p"], output data: file = "/tmp/d" }
  group a uses train_and_check { data = prepare.data }
  prep r { image = "x:1.0.0", command = ["r", check.auc] }
"#
        ),
        ["mlp::E0101"]
    );
    // A required input; stages inside a use; an output the template lacks.
    assert_eq!(codes("  group a uses train_and_check { }"), ["mlp::E0208"]);
    assert_eq!(
        codes(
            r#"
  prep prepare { image = "x:1.0.0", command = ["p"], output data: file = "/tmp/d" }
  group a uses train_and_check {
    data = prepare.data
    prep extra { image = "x:1.0.0", command = ["x"] }
  }
"#
        ),
        ["mlp::E0209"]
    );
    assert_eq!(
        codes(
            r#"
  prep prepare { image = "x:1.0.0", command = ["p"], output data: file = "/tmp/d" }
  group a uses train_and_check { data = prepare.data }
  prep r { image = "x:1.0.0", command = ["r", a.nope] }
"#
        ),
        ["mlp::E0109"]
    );
    // A stage cannot use a group template.
    assert_eq!(
        codes(r#"  prep x uses train_and_check { image = "x:1.0.0" }"#),
        ["mlp::E0207"]
    );
}

#[test]
fn a_loop_groups_item_keys_are_checked_as_a_stages_are() {
    assert_eq!(
        codes(
            r#"
  group g {
    for_each = [{ lr = 0.1 }, { lr = 0.2 }]
    prep a { image = "x:1.0.0", command = ["a", "${item.lr}", "${g.item.lr}"] }
    prep b { image = "x:1.0.0", command = ["b", "${item.lrr}"] }
  }
"#
        ),
        ["mlp::E0227"]
    );
}

/// Found by a hostile-input campaign: each compiled to YAML that Argo
/// rejects; now each is a coded error (the programs that should compile are
/// fixtures in tests/fixtures/groups/, validated by tests/dag.rs).
#[test]
fn programs_argo_would_reject_are_errors() {
    let check = |source: &str| compile_source(source).err().unwrap_or_default();
    // An empty group template, a pipeline without a main stage.
    assert_eq!(
        check("template group t {\n}\npipeline p {\n  group g uses t {}\n}\n"),
        ["mlp::E0216"]
    );
    assert_eq!(check("pipeline p {\n}\n"), ["mlp::E0216"]);
    assert_eq!(
        check("pipeline p {\n  finally {\n    prep a { image = \"x:1.0.0\", command = [\"a\"] }\n  }\n}\n"),
        ["mlp::E0216"]
    );
    // A scheduled pipeline's parameter without a default.
    assert_eq!(
        check("pipeline p {\n  param n: string\n  schedule = \"0 * * * *\"\n  prep a { image = \"x:1.0.0\", command = [\"a\", n] }\n}\n"),
        ["mlp::E0216"]
    );
    // `run.pod` in a condition.
    assert_eq!(
        check("pipeline p {\n  prep a { image = \"x:1.0.0\", command = [\"a\"], when run.pod == \"\" }\n}\n"),
        ["mlp::E0221"]
    );
}

#[test]
fn a_second_when_on_a_group_is_reported_even_after_one_that_failed() {
    // The first condition has an error of its own (E0101); the second is
    // still the duplicate, pointed at with the first.
    let source = format!(
        "pipeline p {{\n{MLFLOW}\n  group g {{\n    when nope > 1\n    when true\n    prep a {{ image = \"x:1.0.0\", command = [\"a\"] }}\n  }}\n}}\n"
    );
    let analysis = mlpc::analyze("g.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    let codes: Vec<String> = analysis
        .diagnostics
        .items
        .iter()
        .map(|d| d.code_str())
        .collect();
    assert_eq!(codes, ["mlp::E0101", "mlp::E0103"]);
    let duplicate = &analysis.diagnostics.items[1];
    let spans: Vec<usize> = duplicate
        .labels()
        .iter()
        .map(|l| l.span.start as usize)
        .collect();
    let first = source.find("when nope").unwrap();
    let second = source.find("when true").unwrap();
    assert!(
        spans.contains(&first) && spans.contains(&second),
        "{spans:?}"
    );
}
