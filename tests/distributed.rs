//! Distributed training (§9.6, src/emit/lower/distributed.rs): what a
//! `train` stage with `distributed { ... }` compiles to, read back from
//! the YAML: the job step and its manifest (TrainJob and PyTorchJob), the
//! tracked DAG around it, the exit handler's deletion, the validator's
//! verdict, the conditions evaluated as Argo evaluates them on the
//! reference's status fixtures, and the diagnostics.

mod argo_model;
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use argo_model::resource::{verdict, Verdict};
use common::*;
use serde_json::Value;

const EXAMPLE: &str = "examples/distributed_finetune.mlp";
const PYTORCHJOB: &str = "tests/fixtures/distributed/pytorchjob.mlp";
const UNTRACKED: &str = "tests/fixtures/distributed/untracked.mlp";

fn doc(rel: &str) -> Value {
    compile_docs(Path::new(rel), &Default::default()).remove(0)
}

/// The job's object as Argo would create it, with the run's values.
fn job_object(template: &Value) -> Value {
    let values = BTreeMap::from([
        ("workflow.uid".to_string(), "3f1b-uid".to_string()),
        ("workflow.name".to_string(), "wf-abc12".to_string()),
        (
            "inputs.parameters.mlflow-run-id".to_string(),
            "0123456789abcdef0123456789abcdef".to_string(),
        ),
    ]);
    argo_manifest(template["resource"]["manifest"].as_str().unwrap(), &values)
}

fn env_names(env: &Value) -> Vec<&str> {
    env.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

fn env_of<'a>(env: &'a Value, name: &str) -> &'a Value {
    env.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {env}"))
}

#[test]
fn a_tracked_stage_is_start_job_end_and_its_run_id_feeds_gate_and_register() {
    let d = doc(EXAMPLE);
    // The stage's one task (with its dependency) calls the DAG.
    let stage = task(&d, "finetune");
    assert_eq!(stage["depends"], "tokenize");
    let wrapper = template(&d, stage["template"].as_str().unwrap());
    let tasks = wrapper["dag"]["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["mlflow-start", "job", "mlflow-end"]);
    assert_eq!(tasks[1]["depends"], "mlflow-start");
    // The end runs however the job step ended, and is told how.
    assert_eq!(
        tasks[2]["depends"],
        "mlflow-start && (job.Succeeded || job.Failed || job.Errored)"
    );
    let args = &tasks[2]["arguments"]["parameters"];
    assert_eq!(args[1]["value"], "{{tasks.job.status}}");
    assert_eq!(
        wrapper["outputs"]["parameters"][0]["valueFrom"]["parameter"],
        "{{tasks.mlflow-start.outputs.parameters.run_id}}"
    );
    // The run id reaches the job; the job's other inputs come through.
    let job_args = &tasks[1]["arguments"]["parameters"];
    assert!(job_args
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "mlflow-run-id"
            && a["value"] == "{{tasks.mlflow-start.outputs.parameters.run_id}}"));
    assert!(job_args
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "tokenize-tokens_uri"
            && a["value"] == "{{inputs.parameters.tokenize-tokens_uri}}"));
    // The start step is the init program, its run id a step output.
    let start = template(&d, tasks[0]["template"].as_str().unwrap());
    let c = &start["container"];
    assert_eq!(c["command"][4], "mlflow-init");
    assert_eq!(env_of(&c["env"], "MLP_MLFLOW_DIR")["value"], "/tmp/outputs");
    assert_eq!(
        start["outputs"]["parameters"][0]["valueFrom"]["path"],
        "/tmp/outputs/run_id"
    );
    let end = template(&d, tasks[2]["template"].as_str().unwrap());
    assert_eq!(end["container"]["command"][4], "mlflow-job-end");
    // Neither MLflow step gets a token or the GPU nodes' placement.
    for t in [start, end] {
        assert_eq!(t["automountServiceAccountToken"], false);
        assert!(t.get("tolerations").is_none() && t.get("nodeSelector").is_none());
    }
    // Gate and register read the stage's run id as from any tracked stage.
    assert_eq!(
        task(&d, "finetune-metrics")["arguments"]["parameters"][0]["value"],
        "{{tasks.finetune.outputs.parameters.run_id}}"
    );
    assert_eq!(
        task(&d, "assistant")["arguments"]["parameters"][0]["value"],
        "{{tasks.finetune.outputs.parameters.run_id}}"
    );
}

#[test]
fn the_trainjob_holds_the_stage_and_every_node_gets_the_run() {
    let d = doc(EXAMPLE);
    let step = template(&d, "finetune-job");
    let r = &step["resource"];
    assert_eq!(r["action"], "create");
    assert_eq!(r["setOwnerReference"], true);
    // timeout = 12h: the job fails then; the step waits an hour more.
    assert_eq!(step["activeDeadlineSeconds"], "46800");
    assert_eq!(step["timeout"], "46800s");
    assert_eq!(step["retryStrategy"]["limit"], "1");
    // An attempt the step's deadline ended (queued in Kueue for over an
    // hour) may leave its job running: no second job beside it. Argo
    // gives `lastRetry.duration` as seconds in text (operator.go
    // `buildRetryStrategyLocalScope`); an expression without a policy
    // would retry `Always` (types.go `RetryPolicyActual`).
    assert_eq!(
        step["retryStrategy"]["expression"],
        "asFloat(lastRetry.duration) < 46740"
    );
    assert_eq!(step["retryStrategy"]["retryPolicy"], "OnFailure");
    let retried = |duration: &str| {
        let scope = BTreeMap::from([("lastRetry.duration".to_string(), duration.to_string())]);
        argo_model::expr::eval(
            step["retryStrategy"]["expression"].as_str().unwrap(),
            &argo_model::expr::env(&scope),
        )
    };
    // The job failed within its own deadline: retried. The step's deadline
    // ended it (Go's `fmt.Sprint` of the seconds): not retried.
    assert_eq!(retried("6120.25"), Ok(argo_model::expr::EValue::Bool(true)));
    assert_eq!(
        retried("46800.003"),
        Ok(argo_model::expr::EValue::Bool(false))
    );
    // Whole-second timestamps and a deadline rounded down: a little under.
    for under in ["46799", "46741"] {
        assert_eq!(retried(under), Ok(argo_model::expr::EValue::Bool(false)));
    }
    assert_eq!(retried("46739.5"), Ok(argo_model::expr::EValue::Bool(true)));
    assert_eq!(step["serviceAccountName"], "distributed-finetune-deploy");
    assert_eq!(
        step["outputs"]["parameters"][0]["valueFrom"]["jsonPath"],
        "{.metadata.name}"
    );
    // No user label on the step's own pod: a Kueue queue label would
    // queue the step.
    assert!(step.get("metadata").is_none());
    let job = job_object(step);
    assert_eq!(job["apiVersion"], "trainer.kubeflow.org/v1alpha1");
    assert_eq!(job["kind"], "TrainJob");
    let prefix = job["metadata"]["generateName"].as_str().unwrap();
    assert_eq!(prefix, "finetune-");
    assert!(prefix.len() <= mlpc::emit::trainer::max_generate_name_len(4));
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["mlpc.dev/workflow-uid"], "3f1b-uid");
    assert_eq!(labels["kueue.x-k8s.io/queue-name"], "gpu-training");
    let spec = &job["spec"];
    assert_eq!(spec["activeDeadlineSeconds"], 43200);
    assert_eq!(spec["runtimeRef"]["name"], "torch-distributed");
    let trainer = &spec["trainer"];
    assert_eq!(trainer["numNodes"], 4);
    assert_eq!(
        trainer["command"],
        serde_json::json!(["torchrun", "finetune.py"])
    );
    assert_eq!(
        trainer["args"][3],
        "{{inputs.parameters.tokenize-tokens_uri}}"
    );
    assert_eq!(trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"], "8");
    let env = &trainer["env"];
    assert_eq!(
        env_names(env),
        [
            "MLFLOW_TRACKING_URI",
            "MLFLOW_EXPERIMENT_NAME",
            "MLFLOW_TRACKING_USERNAME",
            "MLFLOW_TRACKING_PASSWORD",
            "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_RUN_ID",
            "HF_TOKEN",
            "NCCL_DEBUG",
            "MLP_PARAM_BASE_MODEL",
            "MLP_PARAM_LR",
        ]
    );
    assert_eq!(
        env_of(env, "MLFLOW_RUN_ID")["value"],
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        env_of(env, "MLFLOW_TRACKING_TOKEN")["valueFrom"]["secretKeyRef"]["name"],
        "mlflow-credentials"
    );
    // No torchrun rendezvous variable: the runtime sets those.
    assert!(!env_names(env).iter().any(|n| n.starts_with("PET_")));
    // Pod settings reach the runtime's replicated job `node`.
    let patch = &spec["runtimePatches"][0];
    assert_eq!(patch["manager"], "mlpc.dev/compiler");
    let rjob = &patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0];
    assert_eq!(rjob["name"], "node");
    let pod = &rjob["template"]["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["workflows.argoproj.io/workflow"],
        "wf-abc12"
    );
    let pod_spec = &pod["spec"];
    assert_eq!(
        pod_spec["nodeSelector"]["nvidia.com/gpu.product"],
        "NVIDIA-A100-SXM4-80GB"
    );
    assert_eq!(pod_spec["tolerations"][0]["key"], "nvidia.com/gpu");
    assert_eq!(pod_spec["containers"][0]["name"], "node");
    assert_eq!(
        pod_spec["containers"][0]["volumeMounts"][0]["mountPath"],
        "/dev/shm"
    );
    assert_eq!(pod_spec["volumes"][0]["emptyDir"]["sizeLimit"], "32Gi");
}

#[test]
fn a_pytorchjob_has_a_master_and_workers_of_one_pod() {
    let d = doc(PYTORCHJOB);
    let step = template(&d, "fit-job");
    let job = job_object(step);
    assert_eq!(job["apiVersion"], "kubeflow.org/v1");
    assert_eq!(job["kind"], "PyTorchJob");
    let spec = &job["spec"];
    assert_eq!(spec["nprocPerNode"], "2");
    assert_eq!(spec["runPolicy"]["cleanPodPolicy"], "Running");
    assert_eq!(spec["runPolicy"]["activeDeadlineSeconds"], 10800);
    let replicas = &spec["pytorchReplicaSpecs"];
    assert_eq!(replicas["Master"]["replicas"], 1);
    assert_eq!(replicas["Worker"]["replicas"], 2);
    assert_eq!(replicas["Master"], {
        let mut w = replicas["Worker"].clone();
        w["replicas"] = 1.into();
        w
    });
    let pod = &replicas["Master"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["priorityClassName"], "training");
    assert_eq!(pod["imagePullSecrets"][0]["name"], "ghcr");
    let c = &pod["containers"][0];
    assert_eq!(c["name"], "pytorch");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["envFrom"][0]["configMapRef"]["name"], "train-settings");
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    // The kept volume's claim, named after the run; the CA bundle.
    let claim = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "corpus")
        .unwrap();
    assert_eq!(
        claim["persistentVolumeClaim"]["claimName"],
        "wf-abc12-corpus"
    );
    assert!(pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["configMap"]["name"] == "mlflow-ca"));
    assert_eq!(
        env_of(&c["env"], "MLFLOW_TRACKING_SERVER_CERT_PATH")["value"],
        "/mlflow-ca/ca.crt"
    );
    // The loop's item reaches the script through the environment.
    assert_eq!(
        env_of(&c["env"], "MLP_V_2")["value"],
        "{{inputs.parameters.sweep-item}}"
    );
    assert_eq!(
        step["resource"]["successCondition"],
        mlpc::emit::trainer::PYTORCHJOB_SUCCESS
    );
}

#[test]
fn an_untracked_stage_is_the_job_step_and_the_exit_deletes_the_runs_jobs() {
    let d = doc(UNTRACKED);
    let stage = task(&d, "pretrain");
    let step = template(&d, stage["template"].as_str().unwrap());
    assert!(
        step.get("resource").is_some(),
        "the task calls the job step"
    );
    let job = job_object(step);
    assert_eq!(job["spec"]["runtimeRef"]["name"], "torch-h100");
    assert_eq!(job["spec"]["trainer"]["numNodes"], 16);
    let env = &job["spec"]["trainer"].get("env");
    assert!(
        env.is_none_or(|e| !env_names(e).contains(&"MLFLOW_RUN_ID")),
        "an untracked job gets no run"
    );
    let pod = &job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
        ["replicatedJobs"][0]["template"]["spec"]["template"];
    assert_eq!(pod["spec"]["serviceAccountName"], "trainer");
    assert_eq!(
        pod["metadata"]["annotations"]["example.com/owner"],
        "ml-platform"
    );
    assert!(pod["spec"]["affinity"]["nodeAffinity"].is_object());
    // 20h: the job's deadline, and the step's an hour later.
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 72000);
    assert_eq!(step["activeDeadlineSeconds"], "75600");
    // `finally` holds the deletion beside its stages, waiting for none.
    let exit = spec(&d)["onExit"].as_str().unwrap();
    let tasks = template(&d, exit)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .clone();
    let delete = tasks
        .iter()
        .find(|t| t["name"] == "delete-training-jobs")
        .expect("the deletion is in finally");
    assert!(delete.get("depends").is_none());
    let t = template(&d, delete["template"].as_str().unwrap());
    assert_eq!(t["resource"]["action"], "delete");
    assert!(t["resource"].get("manifest").is_none());
    assert_eq!(
        t["resource"]["flags"],
        serde_json::json!([
            "trainjobs.trainer.kubeflow.org",
            "--selector",
            "mlpc.dev/workflow-uid={{workflow.uid}}",
            "--wait=false"
        ])
    );
    assert_eq!(t["automountServiceAccountToken"], true);
    // The selector is the label every job of the run carries.
    assert_eq!(
        job["metadata"]["labels"]["mlpc.dev/workflow-uid"],
        "3f1b-uid"
    );
}

#[test]
fn without_finally_the_exit_handler_is_clean_up_and_deletion() {
    let d = doc(EXAMPLE);
    let exit = spec(&d)["onExit"].as_str().unwrap();
    let names: Vec<String> = template(&d, exit)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["delete-training-jobs", "mlflow-cleanup"]);
    // One refused API call must not leave a stopped run's jobs running.
    let delete = template(&d, "delete-training-jobs");
    assert_eq!(delete["resource"]["action"], "delete");
    assert_eq!(delete["retryStrategy"]["retryPolicy"], "Always");
    assert_eq!(delete["retryStrategy"]["limit"], "3");
    // A pipeline that is neither tracked nor has `finally`: the deletion
    // is the exit handler itself.
    let d = compile_clean(
        r#"pipeline p {
  train fit {
    image = "ghcr.io/acme/train:2.0.0"
    command = ["torchrun", "train.py"]
    track = false
    timeout = 1h
    distributed { nodes = 2 }
  }
}"#,
    );
    let exit = spec(&d)["onExit"].as_str().unwrap();
    assert_eq!(template(&d, exit)["resource"]["action"], "delete");
}

#[test]
fn every_variant_passes_the_validator_with_no_warning() {
    let Some((python, script)) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, rel) in [EXAMPLE, PYTORCHJOB, UNTRACKED].iter().enumerate() {
        let file = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&file, compile(Path::new(rel), &Default::default())).unwrap();
        files.push(file);
    }
    assert_validator_accepts(&python, &script, &files);
    // Negative control: a TrainJob field the CRD lacks is an error.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let broken = text.replacen("numNodes: 4", "numNodes: 4\n            nodes: 4", 1);
    assert_ne!(broken, text);
    std::fs::write(&files[0], broken).unwrap();
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(&files[0])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the validator accepted an unknown field"
    );
}

/// The reference's status fixtures, by kind (`tj-`, `pt-`).
fn fixtures(prefix: &str) -> Vec<(String, Value)> {
    let dir = root().join("../shared/reference/trainer-examples/status-fixtures");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            (n, serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The conditions as the compiled YAML says them, evaluated the way Argo's
/// executor does (workflow/executor/resource.go `matchConditions`, model in
/// tests/argo_model/resource.rs) on every fixture of the job's kind.
fn emitted_verdicts(rel: &str, step: &str, prefix: &str) -> Vec<(String, &'static str)> {
    let d = doc(rel);
    let r = &template(&d, step)["resource"];
    let (success, failure) = (
        r["successCondition"].as_str().unwrap(),
        r["failureCondition"].as_str().unwrap(),
    );
    fixtures(prefix)
        .into_iter()
        .map(|(name, status)| {
            let v = match verdict(success, failure, &status) {
                Verdict::Succeeded => "succeeded",
                Verdict::Failed => "failed",
                Verdict::Waiting => "waiting",
                Verdict::ParseError(_) => "parse error",
            };
            (name, v)
        })
        .collect()
}

#[test]
fn the_emitted_conditions_end_the_step_as_the_job_ended() {
    let tj = emitted_verdicts(EXAMPLE, "finetune-job", "tj-");
    let want = TRAINJOB_VERDICTS;
    assert_eq!(tj.len(), want.len(), "every TrainJob fixture is judged");
    for ((got_name, got), (name, v)) in tj.iter().zip(want) {
        assert_eq!((got_name.as_str(), *got), (name, v));
    }
    let pt = emitted_verdicts(PYTORCHJOB, "fit-job", "pt-");
    let want = PYTORCHJOB_VERDICTS;
    assert_eq!(pt.len(), want.len(), "every PyTorchJob fixture is judged");
    for ((got_name, got), (name, v)) in pt.iter().zip(want) {
        assert_eq!((got_name.as_str(), *got), (name, v));
    }
}

#[test]
fn the_same_program_gives_the_same_bytes() {
    for rel in [EXAMPLE, PYTORCHJOB, UNTRACKED] {
        let a = compile(Path::new(rel), &Default::default());
        let b = compile(Path::new(rel), &Default::default());
        assert_eq!(a, b, "{rel}");
    }
}

/// What a distributed stage cannot hold, each with its code.
#[test]
fn what_the_job_cannot_hold_is_a_coded_error() {
    let program = |stage_fields: &str, extra: &str| {
        format!(
            r#"pipeline p {{
  {extra}
  prep data {{
    image = "ghcr.io/acme/prep:1.0.0"
    command = ["python", "prep.py"]
    output set: dataset = "/out/set"
    output uri: string = "/out/uri"
  }}
  train fit {{
    image = "ghcr.io/acme/train:2.0.0"
    command = ["torchrun", "train.py"]
    track = false
    {stage_fields}
  }}
}}"#
        )
    };
    let cases: &[(&str, &str, &[&str])] = &[
        ("timeout = 1h\n distributed { nodes = 2 }", "", &[]),
        // A URI output is a value the nodes receive; the file is not.
        ("args = [data.uri]\n timeout = 1h\n distributed { nodes = 2 }", "", &[]),
        ("args = [data.set]\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0238"]),
        ("env { POD = \"${run.pod}\" }\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0238"]),
        ("output x: string = \"/x\"\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0237"]),
        ("cache = true\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0237"]),
        ("priority_class = \"high\"\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0237"]),
        // The PyTorchJob's pod template has a priority class, no runtime.
        ("priority_class = \"high\"\n timeout = 1h\n distributed { nodes = 2, api = \"pytorchjob\" }", "", &[]),
        ("timeout = 1h\n distributed { nodes = 2, api = \"pytorchjob\", runtime = \"torch-distributed\" }", "", &["mlp::E0237"]),
        ("env { PET_MASTER_PORT = \"29500\" }\n timeout = 1h\n distributed { nodes = 2 }", "", &["mlp::E0239"]),
        ("timeout = 1h\n distributed { nodes = 2, runtime = \"torchtune-llama3.3-70b\" }", "", &["mlp::E0240"]),
        ("timeout = 1h\n distributed { nodes = 2, runtime = \"torch-distributed-with-cache\" }", "", &["mlp::E0240"]),
        ("distributed { nodes = 2 }", "", &["mlp::W0210"]),
        ("timeout = t\n distributed { nodes = 2 }", "param t: duration = 1h", &["mlp::E0226"]),
        ("timeout = 1h\n distributed { nodes = n }", "param n: int = 2", &["mlp::E0226"]),
        (
            "volumes = [{ volume = scratch, path = \"/s\" }]\n timeout = 1h\n distributed { nodes = 2 }",
            "volume scratch { size = 1Gi, access = \"ReadWriteMany\" }",
            &["mlp::E0238"],
        ),
        (
            "volumes = [{ volume = scratch, path = \"/s\" }]\n timeout = 1h\n distributed { nodes = 2 }",
            "volume scratch { size = 1Gi, keep = true }",
            // Two nodes' pods at once: a ReadWriteOnce volume attaches to one.
            &["mlp::W0209"],
        ),
        (
            "volumes = [{ volume = scratch, path = \"/s\" }]\n timeout = 1h\n distributed { nodes = 2 }",
            "volume scratch { size = 1Gi, keep = true, access = \"ReadWriteMany\" }",
            &[],
        ),
    ];
    for (fields, extra, want) in cases {
        let source = program(fields, extra);
        let analysis = mlpc::analyze("t.mlp", None, source.as_bytes(), &mlpc::FsLoader);
        let got: Vec<&str> = analysis
            .diagnostics
            .items
            .iter()
            .map(|d| d.code().as_str())
            .collect();
        assert_eq!(&got, want, "{fields}\n{}", render_plain(&analysis));
    }
    // The name limit follows the node count: 42 characters up to 10
    // nodes, 41 up to 100.
    let stage = "a".repeat(42);
    for (nodes, want) in [(10, 0), (11, 1)] {
        let source = format!(
            "pipeline p {{\n  train {stage} {{\n    image = \"i:1\"\n    command = [\"x\"]\n    track = false\n    timeout = 1h\n    distributed {{ nodes = {nodes} }}\n  }}\n}}\n"
        );
        let analysis = mlpc::analyze("t.mlp", None, source.as_bytes(), &mlpc::FsLoader);
        let too_long = analysis
            .diagnostics
            .items
            .iter()
            .filter(|d| d.code().as_str() == "mlp::E0404")
            .count();
        assert_eq!(too_long, want, "{nodes} nodes");
    }
}

/// A PyTorchJob's processes per node: the GPUs, else the pod's whole CPUs
/// (the operator's `auto` would count the host's cores), at least 1.
#[test]
fn a_pytorchjob_runs_as_many_processes_as_its_node_has_gpus_or_cpus() {
    for (resources, want) in [
        ("resources { cpu = 4, memory = 8Gi, gpu = 2 }", "2"),
        ("resources { cpu = 6, memory = 8Gi }", "6"),
        ("resources { cpu = 500m, memory = 1Gi }", "1"),
        ("", "1"),
    ] {
        let d = compile_clean(&format!(
            "pipeline p {{\n  train fit {{\n    image = \"i:1\"\n    command = [\"torchrun\", \"t.py\"]\n    track = false\n    timeout = 1h\n    {resources}\n    distributed {{ nodes = 2, api = \"pytorchjob\" }}\n  }}\n}}\n"
        ));
        let job = job_object(template(&d, "fit"));
        assert_eq!(job["spec"]["nprocPerNode"], want, "{resources}");
    }
}
