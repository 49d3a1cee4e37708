//! The shape of a deploy stage: resolve -> apply -> wait. The apply step is an
//! Argo `resource` template with no success condition (Argo's conditions
//! would read the previous rollout's status: see src/emit/scripts/
//! kserve_wait.py); the wait step runs the embedded program and owns `url`.
//! What the wait step does at run time is tested in tests/kserve_e2e.rs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

fn env_map(container: &Value) -> BTreeMap<String, Value> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e.get("value").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn manifest(apply: &Value) -> Value {
    common::argo_manifest(
        apply["resource"]["manifest"].as_str().unwrap(),
        &Default::default(),
    )
}

fn compile_source(source: &str) -> Value {
    common::compile_clean(source)
}

#[test]
fn deploy_is_resolve_then_apply_then_wait() {
    let doc = compile_docs(Path::new("examples/churn_model.mlp"), &Default::default()).remove(0);
    assert_eq!(task(&doc, "serve")["depends"], "serve-resolve.Succeeded");
    let wait_task = task(&doc, "serve-wait");
    assert_eq!(wait_task["template"], "serve-wait");
    assert_eq!(
        wait_task["depends"], "serve.Succeeded",
        "a skipped apply must skip the wait"
    );

    // The apply: applied and done; a deadline of its own, no output.
    let apply = template(&doc, "serve");
    assert_eq!(apply["resource"]["action"], "apply");
    for absent in ["successCondition", "failureCondition"] {
        assert!(apply["resource"].get(absent).is_none(), "{absent}");
    }
    assert!(apply.get("outputs").is_none());
    assert_eq!(apply["timeout"], "5m");
    assert!(apply.get("activeDeadlineSeconds").is_none());
    assert_eq!(
        apply["retryStrategy"]["limit"], "2",
        "`retries` still applies"
    );
    let isvc = manifest(apply);
    let predictor = &isvc["spec"]["predictor"];
    assert_eq!(
        predictor["annotations"]["mlpc.dev/rollout"], "{{workflow.uid}}-serve",
        "a rollout id unique per deploy task run, on the predictor's pods"
    );
    assert_eq!(predictor["canaryTrafficPercent"], 10);
    assert_eq!(
        predictor["serviceAccountName"], "kserve-s3",
        "`service_account` is still the predictor's"
    );

    // The wait: the embedded program, told everything through env.
    let wait = template(&doc, "serve-wait");
    let container = &wait["container"];
    // The program is the workflow parameter `mlpc_kserve_wait`, run by a
    // loader that checks its SHA-256.
    // Its text is three files: its settings, the cluster client (shared
    // with the KFP apply step) and the wait.
    let program: String = [
        "kserve_wait_settings.py",
        "kube_client.py",
        "kserve_wait.py",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root().join("src/emit/scripts").join(f)).unwrap())
    .collect();
    let command = container["command"].as_array().unwrap();
    assert_eq!(command[..2], [Value::from("python3"), Value::from("-c")]);
    assert!(command[2].as_str().unwrap().contains("hashlib.sha256("));
    assert_eq!(command[3], "{{workflow.parameters.mlpc_kserve_wait}}");
    assert_eq!(command.len(), 4);
    let parameter = doc["spec"]["arguments"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "mlpc_kserve_wait")
        .unwrap();
    assert_eq!(parameter["value"], program.as_str());
    assert!(!program.contains("{{"), "Argo would substitute it");
    assert_eq!(container["image"], "python:3.12.11-alpine3.22@sha256:efcdfa6a6b2fd2afb9c7dfa9a5b288a6f68338b5cfdebe6b637d986067d85757");
    let env = env_map(container);
    let expected: BTreeMap<String, Value> = [
        ("MLP_NAMESPACE", "serving"),
        ("MLP_SERVICE", "churn-classifier"),
        ("MLP_ROLLOUT", "{{workflow.uid}}-serve"),
        ("MLP_TIMEOUT_SECONDS", "900"),
        ("MLP_CANARY", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::from(v)))
    .collect();
    assert_eq!(
        env, expected,
        "no MLflow credentials, no test overrides (MLP_KUBE_*)"
    );
    assert_eq!(
        env["MLP_ROLLOUT"], predictor["annotations"]["mlpc.dev/rollout"],
        "the wait looks for the rollout the apply stamped"
    );
    let url = &wait["outputs"]["parameters"][0];
    assert_eq!(url["name"], "url");
    assert_eq!(url["valueFrom"]["path"], "/tmp/outputs/url");
    let sc = &container["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    // The deploy account makes the API calls of both steps, with its
    // token mounted (`mlpc rbac` grants it; see tests/rbac.rs).
    for t in [apply, wait] {
        assert_eq!(
            t["serviceAccountName"], "churn-model-deploy",
            "{}",
            t["name"]
        );
        assert_eq!(t["automountServiceAccountToken"], true, "{}", t["name"]);
        assert!(t.get("executor").is_none(), "{}", t["name"]);
    }
    // The verdict is final, and the stage's timeout is the program's.
    assert!(wait.get("retryStrategy").is_none());
    assert!(wait.get("activeDeadlineSeconds").is_none() && wait.get("timeout").is_none());
}

#[test]
fn readers_of_url_and_after_wait_for_the_rollout() {
    let doc = compile_source(
        r#"pipeline p {
  mlflow { tracking_uri = "http://mlflow:5000", experiment = "e", artifact_store = "s3://mlflow-artifacts" }
  param ship: bool = true
  deploy d {
    model   = "models:/m/1"
    service = "svc"
    timeout = 10m
    when ship
  }
  job announce { image = "busybox:1.37", command = ["echo", d.url] }
  job later { image = "busybox:1.37", command = ["true"], after = [d] }
}
"#,
    );
    // `when` sits on the first task; the others are skipped with it.
    assert_eq!(
        task(&doc, "d-resolve")["when"],
        "{{=((lower(workflow.parameters['ship']) == 'true') || ((lower(workflow.parameters['ship']) != 'false') && (asInt('not-true-or-false') == 0)))}}"
    );
    assert_eq!(task(&doc, "d")["depends"], "d-resolve.Succeeded");
    assert_eq!(task(&doc, "d-wait")["depends"], "d.Succeeded");
    for t in ["d", "d-wait"] {
        assert!(task(&doc, t).get("when").is_none(), "{t}");
    }
    let announce = task(&doc, "announce");
    assert_eq!(announce["depends"], "d-wait.Succeeded");
    let args = announce["arguments"]["parameters"].as_array().unwrap();
    assert!(
        args.iter()
            .any(|p| p["value"] == "{{tasks.d-wait.outputs.parameters.url}}"),
        "{args:?}"
    );
    // A skipped deploy (its `when`) omits d-wait: `after` still runs.
    assert_eq!(task(&doc, "later")["depends"], "(d-wait || d-wait.Omitted)");
    // `timeout` bounds the wait; the apply keeps its own deadline.
    let env = env_map(&template(&doc, "d-wait")["container"]);
    assert_eq!(env["MLP_TIMEOUT_SECONDS"], "600");
    assert_eq!(env["MLP_NAMESPACE"], "{{workflow.namespace}}");
    assert!(!env.contains_key("MLP_CANARY"));
    assert_eq!(template(&doc, "d")["timeout"], "5m");
    assert!(template(&doc, "d").get("activeDeadlineSeconds").is_none());
}

#[test]
fn a_deploy_stage_does_not_fan_out() {
    // Its three tasks would each fan out on their own, and the apply and
    // wait tasks would read `{{item}}` outside any loop.
    let codes = common::places::compile_source(
        r#"
pipeline p {
  mlflow { tracking_uri = "http://mlflow:5000", experiment = "e", artifact_store = "s3://a" }
  deploy d {
    model = "models:/m/1"
    service = "svc"
    for_each = ["eu", "us"]
  }
}
"#,
    )
    .expect_err("rejected");
    assert_eq!(codes, ["mlp::E0216"]);
}

/// Argo substitutes a resource manifest as text: a storage URI or version
/// from the registry holding quotes, newlines, `---` or YAML keys must not
/// change the InferenceService. With the value in a `toJson` tag it stays
/// one string; the old form (`storageUri: '{{...}}'`) let it add keys.
#[test]
fn hostile_registry_values_leave_the_manifest_unchanged() {
    let doc = common::compile_docs(
        std::path::Path::new("examples/churn_model.mlp"),
        &Default::default(),
    )
    .remove(0);
    let text = template(&doc, "serve")["resource"]["manifest"]
        .as_str()
        .unwrap()
        .to_string();
    let shape = |v: &Value| -> Vec<String> {
        fn walk(v: &Value, path: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m
                    .iter()
                    .for_each(|(k, v)| walk(v, format!("{path}/{k}"), out)),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| walk(v, format!("{path}/{i}"), out)),
                _ => out.push(path),
            }
        }
        let mut out = Vec::new();
        walk(v, String::new(), &mut out);
        out
    };
    let clean = common::argo_manifest(&text, &Default::default());
    for hostile in [
        "s3://b/m/'\n  image: evil:latest\n---\nkind: Pod",
        "s3://b/m\"\nspec: {}",
        "x: y",
        "{{workflow.uid}}",
        "a'b\"c\\d\u{2028}e",
    ] {
        let values = [
            (
                "inputs.parameters.storage_uri".to_string(),
                hostile.to_string(),
            ),
            ("inputs.parameters.version".to_string(), hostile.to_string()),
        ]
        .into();
        let isvc = common::argo_manifest(&text, &values);
        assert_eq!(shape(&isvc), shape(&clean), "{hostile:?}");
        assert_eq!(isvc["spec"]["predictor"]["model"]["storageUri"], hostile);
        assert_eq!(
            isvc["metadata"]["annotations"]["mlflow.org/model-version"],
            hostile
        );
    }
    // The old form, substituted as text, takes the value as YAML.
    let old = "spec:\n  storageUri: '{{inputs.parameters.storage_uri}}'\n".replace(
        "{{inputs.parameters.storage_uri}}",
        "s3://b/'\n  image: 'evil",
    );
    let parsed = common::yaml::parse_documents(&old).unwrap().remove(0);
    assert_eq!(parsed["spec"]["image"], "evil");
}
