//! What the lowering produces for each construct, read back from the YAML.

mod common;

use std::path::Path;

use common::*;
use mlpc::emit::{Options, OutputKind};
use serde_json::Value;

fn workflow(rel: &str) -> Value {
    compile_docs(Path::new(rel), &Options::default()).remove(0)
}

fn env_names(container: &Value) -> Vec<String> {
    container["env"].as_array().map_or_else(Vec::new, |e| {
        e.iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    })
}

fn env_value<'a>(container: &'a Value, name: &str) -> &'a Value {
    &container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"))["value"]
}

#[test]
fn tracked_stage_pod_has_the_mlflow_injection() {
    let doc = workflow("examples/terraform_optimization.mlp");
    let t = template(&doc, "optimizer");
    // The run is created before main starts and its id shared through the volume.
    let init = &t["initContainers"][0];
    assert_eq!(init["name"], "mlflow-init");
    assert_eq!(
        init["volumeMounts"],
        serde_json::json!([{"name": "mlflow", "mountPath": "/mlflow"}])
    );
    // The program is the workflow parameter `mlpc_mlflow`, run by a loader
    // that checks its SHA-256.
    assert_eq!(init["command"][0], "python3");
    assert!(init["command"][2]
        .as_str()
        .unwrap()
        .contains("hashlib.sha256("));
    assert_eq!(init["command"][3], "{{workflow.parameters.mlpc_mlflow}}");
    assert_eq!(init["command"][4], "mlflow-init");
    let program = spec(&doc)["arguments"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "mlpc_mlflow")
        .expect("the program is a workflow parameter")["value"]
        .as_str()
        .unwrap();
    for var in ["MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLP_RUN"] {
        assert!(
            env_names(init).contains(&var.to_string()),
            "init lacks {var}"
        );
    }
    assert_eq!(
        env_value(init, "MLP_RUN"),
        "pipeline=terraform_optimization stage=optimizer workflow={{workflow.name}} \
         uid={{workflow.uid}} namespace={{workflow.namespace}} pod={{pod.name}}"
    );
    // train params are logged by the init container and exported to main.
    assert_eq!(env_value(init, "MLP_PARAM_COUNT"), "2");
    assert_eq!(env_value(init, "MLP_PARAM_KEY_0"), "model");
    let main = &t["container"];
    // The wrapper, left in the volume by the init container, runs the
    // user's argv; its text is in the program, once per workflow.
    assert_eq!(main["command"][0], "sh");
    assert_eq!(main["command"][1], "/mlflow/mlflow-wrap");
    assert_eq!(
        main["command"][2], "python",
        "the user's argv follows the wrapper"
    );
    assert!(program.contains("export MLFLOW_RUN_ID"));
    // The node id is ARGO_NODE_ID, which Argo gives every container.
    assert!(!env_names(init).iter().any(|n| n.contains("NODE_ID")));
    assert!(program.contains("os.environ.get(\"ARGO_NODE_ID\""));
    for var in [
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "MLP_PARAM_MODEL",
        "MLP_PARAM_TARGET",
    ] {
        assert!(
            env_names(main).contains(&var.to_string()),
            "main lacks {var}"
        );
    }
    assert_eq!(main["volumeMounts"][0]["mountPath"], "/mlflow");
    let sidecar = &t["sidecars"][0];
    assert_eq!(sidecar["name"], "mlflow-finalize");
    assert_eq!(
        sidecar["volumeMounts"],
        serde_json::json!([{"name": "mlflow", "mountPath": "/mlflow"}])
    );
    // It runs the program the init container checked and left in the volume.
    assert_eq!(
        sidecar["command"],
        serde_json::json!(["python3", "/mlflow/mlflow-finalize"])
    );
    assert_eq!(t["volumes"][0]["name"], "mlflow");
    assert!(t["volumes"][0]["emptyDir"].is_object());
    let run_id = &t["outputs"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "run_id")
        .unwrap()["valueFrom"]["path"];
    assert_eq!(run_id, "/mlflow/run_id");
    // Injected containers are locked down; the GPU is a limit.
    for c in [init, sidecar] {
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"][0], "ALL");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        assert!(c["image"].as_str().unwrap().contains(':'), "pinned image");
    }
    assert_eq!(main["resources"]["limits"]["nvidia.com/gpu"], "1");
    // An exit handler closes runs of pods that never ran.
    let on_exit = spec(&doc)["onExit"].as_str().unwrap();
    let cleanup = &template(&doc, on_exit)["container"]["command"];
    assert_eq!(cleanup[3], "{{workflow.parameters.mlpc_mlflow}}");
    assert_eq!(cleanup[4], "mlflow-cleanup");
    assert!(program.contains("attributes.status = 'RUNNING'"));
}

#[test]
fn metric_gate_register_and_deploy_are_real_steps() {
    let doc = workflow("examples/terraform_optimization.mlp");
    // The gate reads the run's metrics after the train stage.
    let gate = task(&doc, "optimizer-metrics");
    assert_eq!(gate["depends"], "optimizer");
    assert_eq!(
        gate["arguments"]["parameters"][0]["value"],
        "{{tasks.optimizer.outputs.parameters.run_id}}"
    );
    let gate_t = template(&doc, "optimizer-metrics");
    assert_eq!(
        env_value(&gate_t["container"], "MLP_METRICS"),
        r#"["cost_reduction"]"#
    );
    assert_eq!(gate_t["outputs"]["parameters"][0]["name"], "cost_reduction");
    // register runs only when the gate's metric passes, and outputs version and model_uri.
    let reg = task(&doc, "terraform-optimizer");
    // An expression tag: the metric is data to expr (asFloat reads `1e-05`,
    // `nan` and `inf`), never text spliced into govaluate's input.
    assert_eq!(
        reg["when"],
        "{{=(asFloat(tasks['optimizer-metrics'].outputs.parameters['cost_reduction'])) >= (0.1)}}"
    );
    let reg_t = template(&doc, "terraform-optimizer");
    assert_eq!(
        env_value(&reg_t["container"], "MLP_MODEL_NAME"),
        "terraform-optimizer"
    );
    assert_eq!(env_value(&reg_t["container"], "MLP_ALIAS"), "champion");
    assert_eq!(env_value(&reg_t["container"], "MLP_ARTIFACT_PATH"), "model");
    let outs: Vec<&str> = reg_t["outputs"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(outs, ["version", "model_uri"]);
    // deploy: resolve the storage URI, apply the InferenceService, wait.
    let resolve = task(&doc, "serve-resolve");
    assert_eq!(
        resolve["depends"], "terraform-optimizer.Succeeded",
        "a skipped register skips the deploy"
    );
    let apply = template(&doc, "serve");
    assert_eq!(apply["resource"]["action"], "apply");
    let manifest = argo_manifest(
        apply["resource"]["manifest"].as_str().unwrap(),
        &Default::default(),
    );
    assert_eq!(manifest["kind"], "InferenceService");
    assert_eq!(
        manifest["spec"]["predictor"]["model"]["modelFormat"]["name"],
        "mlflow"
    );
    assert!(manifest["spec"]["predictor"]["model"]["modelFormat"]
        .get("version")
        .is_none());
    assert_eq!(
        manifest["spec"]["predictor"]["model"]["protocolVersion"],
        "v2"
    );
    assert_eq!(
        manifest["spec"]["predictor"]["model"]["storageUri"],
        "{{inputs.parameters.storage_uri}}"
    );
    // The apply does not judge the rollout; `serve-wait` does (tests/deploy.rs).
    assert!(apply["resource"].get("successCondition").is_none());
    assert_eq!(task(&doc, "serve-wait")["depends"], "serve.Succeeded");
}

#[test]
fn shared_template_folds_inputs_every_use_sets_alike() {
    let text = "template job step {\n  input data: string\n  input shard: string\n  image = \"x:1\"\n  command = [\"run\", data, shard]\n}\npipeline p {\n  param dataset: string = \"s3://b/d\"\n  job a uses step { data = dataset, shard = \"1\" }\n  job b uses step { data = dataset, shard = \"2\" }\n}\n";
    let analysis = mlpc::analyze("fold.mlp", None, text.as_bytes(), &mlpc::FsLoader);
    let yaml = mlpc::yaml(analysis.program.as_ref().unwrap(), &Options::default()).unwrap();
    let doc = common::yaml::parse_documents(&yaml).unwrap().remove(0);
    let t = template(&doc, "step");
    assert_eq!(
        t["container"]["command"][1], "{{workflow.parameters.dataset}}",
        "the common value is written in"
    );
    assert_eq!(t["inputs"]["parameters"].as_array().unwrap().len(), 1);
    let a = task(&doc, "a");
    assert_eq!(a["arguments"]["parameters"].as_array().unwrap().len(), 1);
    assert_eq!(a["arguments"]["parameters"][0]["name"], "shard");
}

#[test]
fn shared_template_is_emitted_once() {
    let doc = workflow("examples/terraform_optimization.mlp");
    assert_eq!(task(&doc, "plan")["template"], "terraform-plan");
    let plan = template(&doc, "terraform-plan");
    // Inputs reach the script through the environment, never its text.
    assert_eq!(
        env_value(&plan["container"], "TF_REPO"),
        "{{inputs.parameters.repo}}"
    );
    assert!(!plan["container"]["command"][2]
        .as_str()
        .unwrap()
        .contains("{{"));
    assert_eq!(
        task(&doc, "plan")["arguments"]["parameters"][0]["value"],
        "{{workflow.parameters.infra-repo}}"
    );
}

#[test]
fn script_references_travel_in_the_environment() {
    let doc = workflow("examples/nightly_retrain.mlp");
    let t = template(&doc, "nightly");
    let argv: Vec<&str> = t["container"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let script = argv.last().unwrap();
    assert!(script.contains("\"${MLP_V_1}\""), "{script}");
    assert!(
        !script.contains("{{"),
        "no Argo placeholder in script text: {script}"
    );
    assert!(
        script.contains("($HOSTNAME)"),
        "`\\$` is a literal dollar: {script}"
    );
    assert_eq!(argv[2], "bash", "`shell` runs the script");
}

#[test]
fn cron_workflow_for_a_schedule() {
    let doc = workflow("examples/nightly_retrain.mlp");
    assert_eq!(doc["kind"], "CronWorkflow");
    assert_eq!(doc["metadata"]["name"], "nightly-retrain");
    assert_eq!(doc["spec"]["schedules"][0], "30 2 * * *");
    let wt = compile_docs(
        Path::new("examples/nightly_retrain.mlp"),
        &Options {
            kind: OutputKind::WorkflowTemplate,
            pipeline: None,
            ..Default::default()
        },
    )
    .remove(0);
    assert_eq!(wt["kind"], "WorkflowTemplate");
    assert!(wt["spec"].get("schedules").is_none());
}

#[test]
fn fan_out_with_parallelism_and_params() {
    let doc = workflow("examples/hyperparameter_sweep.mlp");
    let grid = task(&doc, "grid");
    let wrapper = template(&doc, grid["template"].as_str().unwrap());
    assert_eq!(wrapper["parallelism"], 2);
    let inner = &wrapper["dag"]["tasks"][0];
    assert_eq!(inner["withItems"].as_array().unwrap().len(), 3);
    assert_eq!(inner["withItems"][0]["lr"], 0.1);
    assert_eq!(inner["arguments"]["parameters"][0]["value"], "{{item.lr}}");
    let scan = task(&doc, "depth-scan");
    assert_eq!(scan["withParam"], "{{workflow.parameters.depths}}");
    assert!(scan["when"]
        .as_str()
        .unwrap()
        .contains("(workflow.parameters['mode']) == ('full')"));
    let summary = task(&doc, "summary");
    assert_eq!(
        summary["depends"],
        "(depth-scan || (depth-scan.Omitted && !(download.Failed || download.Errored))) && (grid || (grid.Omitted && !(download.Failed || download.Errored)))",
        "`after` orders without requiring success of a skipped or omitted stage"
    );
}

#[test]
fn pipeline_settings_and_stage_fields() {
    let doc = workflow("examples/churn_model.mlp");
    let s = spec(&doc);
    assert_eq!(doc["metadata"]["namespace"], "ml-prod");
    assert_eq!(s["serviceAccountName"], "pipeline-runner");
    assert_eq!(s["parallelism"], 4);
    assert_eq!(s["activeDeadlineSeconds"], 21600);
    assert_eq!(s["ttlStrategy"]["secondsAfterCompletion"], 86400);
    assert_eq!(s["imagePullSecrets"][0]["name"], "registry-credentials");
    let params: Vec<(&str, &str)> = s["arguments"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert!(
        params.contains(&("max-depth", "8"))
            && params.contains(&("train-timeout", "10800"))
            && params.contains(&("promote", "true"))
    );
    let features = template(&doc, "features");
    let c = &features["container"];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent", "from defaults");
    let secret = &c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "WAREHOUSE_DSN")
        .unwrap()["valueFrom"]["secretKeyRef"];
    assert_eq!(
        (secret["name"].as_str(), secret["key"].as_str()),
        (Some("warehouse"), Some("dsn"))
    );
    assert_eq!(c["resources"]["requests"]["ephemeral-storage"], "20Gi");
    assert_eq!(
        features["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "feature-cache"
    );
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/cache");
    assert_eq!(features["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(features["metadata"]["labels"]["team"], "growth");
    assert_eq!(features["retryStrategy"]["limit"], "2");
    let memo = &features["memoize"];
    assert_eq!(memo["maxAge"], "43200s");
    assert!(memo["key"]
        .as_str()
        .unwrap()
        .starts_with("features-{{=sprig.sha256sum("));
    assert!(memo["key"]
        .as_str()
        .unwrap()
        .contains("inputs.parameters['mlp-param-snapshot-date']"));
    let model = template(&doc, "model");
    let rs = &model["retryStrategy"];
    assert_eq!(
        (rs["limit"].as_str(), rs["retryPolicy"].as_str()),
        (Some("3"), Some("OnFailure"))
    );
    assert_eq!(rs["backoff"]["duration"], "30s");
    assert_eq!(rs["backoff"]["factor"], "2");
    // `max` caps the wait between attempts; it is not a window that ends
    // retrying (Argo's maxDuration counts from the first attempt's start).
    assert_eq!(rs["backoff"]["cap"], "600s");
    assert!(rs["backoff"].get("maxDuration").is_none());
    assert_eq!(
        model["activeDeadlineSeconds"],
        "{{workflow.parameters.train-timeout}}"
    );
    // The node's deadline counts Pending time too; a duration parameter
    // holds whole seconds.
    assert_eq!(model["timeout"], "{{workflow.parameters.train-timeout}}s");
    assert_eq!(model["tolerations"][0]["key"], "nvidia.com/gpu");
    assert_eq!(
        model["nodeSelector"]["cloud.google.com/gke-accelerator"],
        "nvidia-tesla-t4"
    );
    let limits = &model["container"]["resources"]["limits"];
    assert_eq!(
        (
            limits["cpu"].as_str(),
            limits["memory"].as_str(),
            limits["nvidia.com/gpu"].as_str()
        ),
        (Some("8"), Some("48Gi"), Some("1"))
    );
    // Credentials come from the Secret, never inline.
    let init = &model["initContainers"][0];
    let token = &init["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "MLFLOW_TRACKING_TOKEN")
        .unwrap()["valueFrom"]["secretKeyRef"];
    assert_eq!(
        (token["name"].as_str(), token["optional"].as_bool()),
        (Some("mlflow-credentials"), Some(true))
    );
    // Deploy options reach the InferenceService.
    let apply = template(&doc, "serve");
    let isvc = argo_manifest(
        apply["resource"]["manifest"].as_str().unwrap(),
        &Default::default(),
    );
    let p = &isvc["spec"]["predictor"];
    assert_eq!(
        (
            p["minReplicas"].as_i64(),
            p["maxReplicas"].as_i64(),
            p["canaryTrafficPercent"].as_i64()
        ),
        (Some(1), Some(4), Some(10))
    );
    assert_eq!(p["serviceAccountName"], "kserve-s3");
    assert_eq!(isvc["metadata"]["namespace"], "serving");
    let resolve = template(&doc, "serve-resolve");
    assert_eq!(
        env_value(&resolve["container"], "MLP_ARTIFACT_STORE"),
        "s3://mlflow-artifacts"
    );
}

#[test]
fn pipeline_selection() {
    let two = "pipeline a { prep x { image = \"busybox:1.37\" } }\npipeline b { prep y { image = \"busybox:1.37\" } }\n";
    let analysis = mlpc::analyze("two.mlp", None, two.as_bytes(), &mlpc::FsLoader);
    let program = analysis.program.unwrap();
    let all = mlpc::yaml(&program, &Options::default()).unwrap();
    assert_eq!(common::yaml::parse_documents(&all).unwrap().len(), 2);
    let b = mlpc::yaml(
        &program,
        &Options {
            kind: OutputKind::Workflow,
            pipeline: Some("b".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(b.contains("generateName: b-") && !b.contains("generateName: a-"));
    let err = mlpc::yaml(
        &program,
        &Options {
            kind: OutputKind::Workflow,
            pipeline: Some("c".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "no pipeline named `c`; the file has: a, b");
}

/// With `defaults { security = "restricted" }` every pod meets the
/// Kubernetes Pod Security "restricted" standard, as far as the workflow
/// decides it: non-root, no privilege escalation, all capabilities dropped,
/// the RuntimeDefault seccomp profile, and only allowed volume types.
#[test]
fn restricted_security_meets_the_pod_security_standard() {
    let doc = workflow("examples/churn_model.mlp");
    let s = spec(&doc);
    assert_eq!(s["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        s["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(
        s.get("hostNetwork").is_none() && s.get("hostPID").is_none() && s.get("hostIPC").is_none()
    );
    let mut checked = 0;
    for t in s["templates"].as_array().unwrap() {
        for v in t["volumes"].as_array().into_iter().flatten() {
            let kinds: Vec<&String> = v
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "name")
                .collect();
            assert!(
                kinds.iter().all(|k| [
                    "emptyDir",
                    "persistentVolumeClaim",
                    "configMap",
                    "secret",
                    "projected",
                    "downwardAPI",
                    "ephemeral",
                    "csi"
                ]
                .contains(&k.as_str())),
                "{}: volume types {kinds:?}",
                t["name"]
            );
        }
        let containers = ["initContainers", "sidecars"]
            .iter()
            .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
            .chain(t.get("container").cloned());
        for c in containers {
            let sc = &c["securityContext"];
            let what = format!("{}/{}", t["name"], c["name"]);
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{what}"
            );
            assert!(sc["capabilities"].get("add").is_none(), "{what}");
            assert!(sc.get("privileged").is_none_or(|p| p == false), "{what}");
            // Non-root: set on the container, or inherited from the pod.
            let non_root =
                sc["runAsNonRoot"] == true || s["securityContext"]["runAsNonRoot"] == true;
            assert!(non_root && sc["runAsUser"] != 0, "{what}");
            let seccomp = sc["seccompProfile"]["type"]
                .as_str()
                .or(s["securityContext"]["seccompProfile"]["type"].as_str());
            assert!(
                matches!(seccomp, Some("RuntimeDefault" | "Localhost")),
                "{what}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "user, injected and generated containers: {checked}"
    );
}

/// A tracked stage with the user's volume and a private CA: the injected
/// containers mount `/mlflow` and the CA, never the user's volume; every
/// container and step that talks to MLflow gets the CA and the variable the
/// MLflow client reads (MLFLOW_TRACKING_SERVER_CERT_PATH).
const CA_PROGRAM: &str = r#"
pipeline p {
  mlflow {
    tracking_uri   = "https://mlflow.example.com"
    experiment     = "e"
    artifact_store = "s3://models"
    ca_bundle      = SOURCE
  }
  train fit {
    image   = "ghcr.io/acme/t:1"
    command = ["python", "train.py"]
    metrics = ["auc"]
    volumes = [{ claim = "data", path = "/data" }]
  }
  register reg {
    model = fit.model
    name  = "m"
    when fit.metrics.auc >= 0.5
  }
  deploy serve {
    model   = reg.version
    service = "m"
  }
}
"#;

#[test]
fn injected_containers_mount_only_mlflow_and_the_ca() {
    for (source, volume) in [
        (
            r#"config_map("corp-ca", "ca.pem")"#,
            serde_json::json!({"name": "mlflow-ca", "configMap": {"name": "corp-ca", "items": [{"key": "ca.pem", "path": "ca.crt"}]}}),
        ),
        (
            r#"secret("corp-ca", "bundle")"#,
            serde_json::json!({"name": "mlflow-ca", "secret": {"secretName": "corp-ca", "items": [{"key": "bundle", "path": "ca.crt"}]}}),
        ),
    ] {
        let doc = compile_clean(&CA_PROGRAM.replace("SOURCE", source));
        let ca_mount =
            serde_json::json!({"name": "mlflow-ca", "mountPath": "/mlflow-ca", "readOnly": true});
        let fit = template(&doc, "fit");
        for key in ["initContainers", "sidecars"] {
            let c = &fit[key][0];
            assert_eq!(
                c["volumeMounts"],
                serde_json::json!([{"name": "mlflow", "mountPath": "/mlflow"}, ca_mount]),
                "{key}"
            );
            assert_eq!(
                env_value(c, "MLFLOW_TRACKING_SERVER_CERT_PATH"),
                "/mlflow-ca/ca.crt"
            );
        }
        let main = &fit["container"];
        let mounts: Vec<&Value> = main["volumeMounts"].as_array().unwrap().iter().collect();
        assert!(mounts.contains(&&ca_mount), "{mounts:?}");
        assert!(mounts.iter().any(|m| m["mountPath"] == "/data"));
        assert_eq!(
            env_value(main, "MLFLOW_TRACKING_SERVER_CERT_PATH"),
            "/mlflow-ca/ca.crt"
        );
        assert!(fit["volumes"].as_array().unwrap().contains(&volume));
        // Every generated step that talks to MLflow: gate, register,
        // resolve and the exit handler.
        let mut steps = 0;
        for t in spec(&doc)["templates"].as_array().unwrap() {
            let Some(c) = t.get("container") else {
                continue;
            };
            if t["name"] == "fit" || !env_names(c).contains(&"MLFLOW_TRACKING_URI".into()) {
                continue;
            }
            steps += 1;
            assert_eq!(
                c["volumeMounts"],
                serde_json::json!([ca_mount]),
                "{}",
                t["name"]
            );
            assert_eq!(t["volumes"], serde_json::json!([volume]), "{}", t["name"]);
        }
        assert_eq!(steps, 4, "gate, register, resolve, cleanup");
    }
}

#[test]
fn without_a_ca_bundle_nothing_is_mounted_for_it() {
    let source = CA_PROGRAM.replace("    ca_bundle      = SOURCE\n", "");
    let doc = compile_clean(&source);
    // The templates, not the programs (whose client reads the variable).
    let templates = serde_json::to_string(&spec(&doc)["templates"]).unwrap();
    assert!(!templates.contains("mlflow-ca") && !templates.contains("CERT_PATH"));
}

/// The image mlpc chooses for the containers holding the MLflow credentials
/// is pinned by digest: a moved tag changes nothing that runs.
#[test]
fn injected_image_is_pinned_by_digest() {
    let image = mlpc::emit::mlflow::DEFAULT_IMAGE;
    let (_, digest) = image.split_once("@sha256:").expect("a digest");
    assert!(
        digest.len() == 64
            && digest
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let mut seen = 0;
    for path in mlp_files(&root().join("examples")) {
        let doc = workflow(relative(&path).to_str().unwrap());
        for t in spec(&doc)["templates"].as_array().unwrap() {
            let containers = ["initContainers", "sidecars"]
                .iter()
                .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
                .chain(t.get("container").cloned());
            for c in containers {
                if c["image"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("python:"))
                {
                    assert_eq!(c["image"], image, "{}/{}", t["name"], c["name"]);
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 10, "the examples run injected steps ({seen})");
}
