//! `mlpc rbac` and the tokens the lowering gives each pod, held to each
//! other and to what Argo reads (see the top of src/emit/rbac.rs):
//!
//! - every object is a valid Kubernetes object: it reads back into
//!   k8s-openapi's typed object (which checks `apiVersion` and `kind`) and
//!   writes back to the same JSON, so no field is unknown or misspelled;
//! - every rule is one of the few documented in docs/compile.md ("What the
//!   cluster needs"), and each example gets exactly the rules listed here;
//! - every pod template but the deploy steps' has
//!   `automountServiceAccountToken: false` and an executor account
//!   (`workflow/validate/validate.go` `validateLeaf` refuses the first
//!   without the second), and every account a template names exists in the
//!   output with the grants its pod uses.

mod argo_model;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use argo_model::resource::is_dns_subdomain;
use common::*;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use mlpc::emit::{Options, OutputKind};
use serde_json::Value;

/// The objects `mlpc rbac` prints for a file that checks clean.
fn rbac_docs(rel: &Path) -> Vec<Value> {
    let analysis = analyze_file(rel);
    let program = analysis
        .program
        .as_ref()
        .unwrap_or_else(|| panic!("{}", render_plain(&analysis)));
    let out = mlpc::emit::rbac::emit(program, &analysis.sources, &Options::default()).unwrap();
    assert!(out.errors.is_empty(), "{}: {:?}", rel.display(), out.errors);
    common::yaml::parse_documents(&out.yaml).unwrap()
}

fn rbac_of_source(source: &str) -> Result<Vec<Value>, Vec<String>> {
    let analysis = mlpc::analyze("rbac.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    let program = analysis
        .program
        .as_ref()
        .unwrap_or_else(|| panic!("{}", render_plain(&analysis)));
    let out = mlpc::emit::rbac::emit(program, &analysis.sources, &Options::default()).unwrap();
    if out.errors.is_empty() {
        Ok(common::yaml::parse_documents(&out.yaml).unwrap())
    } else {
        Err(out
            .errors
            .iter()
            .map(|e| format!("{}: {e}", e.code_str()))
            .collect())
    }
}

fn compile_source(source: &str) -> Value {
    common::compile_clean(source)
}

/// Reads `doc` into the typed object `T` and writes it back: the JSON must
/// be the same, so every field is one Kubernetes knows.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("not a valid {}: {e}\n{doc:#}", doc["kind"]));
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        doc,
        "a field k8s-openapi does not know"
    );
}

/// `apiVersion`, `kind` and the typed round trip of every object, and the
/// names Kubernetes validates (ServiceAccount and Secret names are DNS-1123
/// subdomains; RBAC names are path segments: no `/`, `%`, `.` or `..`).
fn check_objects(docs: &[Value]) {
    for doc in docs {
        let name = doc["metadata"]["name"].as_str().expect("named");
        match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
            (Some("v1"), Some("ServiceAccount")) => {
                round_trip::<ServiceAccount>(doc);
                assert!(is_dns_subdomain(name), "{name}");
            }
            (Some("v1"), Some("Secret")) => {
                round_trip::<Secret>(doc);
                assert!(is_dns_subdomain(name), "{name}");
            }
            (Some("rbac.authorization.k8s.io/v1"), Some("Role")) => round_trip::<Role>(doc),
            (Some("rbac.authorization.k8s.io/v1"), Some("RoleBinding")) => {
                round_trip::<RoleBinding>(doc)
            }
            other => panic!("unexpected object {other:?}"),
        }
        assert!(
            !name.contains(['/', '%']) && name != "." && name != "..",
            "{name}"
        );
    }
}

/// A rule as docs/compile.md lists it: `GROUP/RESOURCE[NAMES]: VERBS`.
fn rule_text(rule: &Value) -> String {
    let list = |k: &str| -> Vec<String> {
        rule[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let (groups, resources, names, verbs) = (
        list("apiGroups"),
        list("resources"),
        list("resourceNames"),
        list("verbs"),
    );
    assert_eq!((groups.len(), resources.len()), (1, 1), "{rule}");
    let names = if names.is_empty() {
        String::new()
    } else {
        format!("[{}]", names.join(","))
    };
    format!("{}/{}{names}: {}", groups[0], resources[0], verbs.join(","))
}

/// The rules docs/compile.md ("What the cluster needs") lists: all that
/// `mlpc rbac` ever grants (`*` stands for service names).
const DOCUMENTED_RULES: &[&str] = &[
    "argoproj.io/workflowtaskresults: create,patch",
    "serving.kserve.io/inferenceservices: create",
    "serving.kserve.io/inferenceservices[*]: get,patch",
    "serving.kserve.io/inferenceservices: create,get,patch",
    "/pods: list",
    "/persistentvolumeclaims: create,get,patch",
    "argoproj.io/workflows/finalizers: update",
    "trainer.kubeflow.org/trainjobs: create,get,list,delete",
    "kubeflow.org/pytorchjobs: create,get,list,delete",
];

/// The rule a distributed stage's job step and the exit handler's deletion
/// need, per kind of job.
fn training_rule(kind: &str) -> &'static str {
    match kind {
        "TrainJob" => "trainer.kubeflow.org/trainjobs: create,get,list,delete",
        "PyTorchJob" => "kubeflow.org/pytorchjobs: create,get,list,delete",
        other => panic!("not a training job: {other}"),
    }
}

fn documented(rule: &str) -> bool {
    let general = match (rule.find('['), rule.find(']')) {
        (Some(a), Some(b)) => format!("{}[*]{}", &rule[..a], &rule[b + 1..]),
        _ => rule.to_string(),
    };
    DOCUMENTED_RULES.contains(&general.as_str())
}

/// (namespace or `-` for the workflow's unnamed one, Role) -> its rules.
type Grants = BTreeMap<(String, String), Vec<String>>;

fn grants(docs: &[Value]) -> Grants {
    docs.iter()
        .filter(|d| d["kind"] == "Role")
        .map(|d| {
            (
                (
                    d["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("-")
                        .to_string(),
                    d["metadata"]["name"].as_str().unwrap().to_string(),
                ),
                d["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(rule_text)
                    .collect(),
            )
        })
        .collect()
}

const EXECUTOR: &str = "argoproj.io/workflowtaskresults: create,patch";

/// Each example's grants, exactly.
fn expected(example: &str) -> Grants {
    let g = |ns: &str, role: &str, rules: &[&str]| {
        (
            (ns.to_string(), role.to_string()),
            rules.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        )
    };
    let deploy = |service: &str| {
        vec![
            "serving.kserve.io/inferenceservices: create".to_string(),
            format!("serving.kserve.io/inferenceservices[{service}]: get,patch"),
            "/pods: list".to_string(),
        ]
    };
    let with_executor = |mut rules: Vec<String>| {
        rules.insert(0, EXECUTOR.to_string());
        rules
    };
    let grants: Vec<((String, String), Vec<String>)> = match example {
        "churn_model" => vec![
            g("ml-prod", "churn-model-executor", &[EXECUTOR]),
            g("ml-prod", "churn-model-deploy", &[EXECUTOR]),
            (
                ("serving".into(), "ml-prod.churn-model-deploy".into()),
                deploy("churn-classifier"),
            ),
        ],
        "fraud_champion" => vec![
            g("-", "fraud-champion-executor", &[EXECUTOR]),
            (
                ("-".into(), "fraud-champion-deploy".into()),
                with_executor(deploy("fraud-detector")),
            ),
        ],
        "hyperparameter_sweep" => vec![g("-", "sweep-executor", &[EXECUTOR])],
        "nightly_retrain" => vec![g("-", "nightly-retrain-executor", &[EXECUTOR])],
        "sweep_and_promote" => vec![g("-", "sweep-and-promote-executor", &[EXECUTOR])],
        "champion_challenger" => vec![g("-", "champion-challenger-executor", &[EXECUTOR])],
        // A kept run volume's claim is applied by the deploy account.
        "shared_volume" => vec![
            g("-", "shared-volume-executor", &[EXECUTOR]),
            g(
                "-",
                "shared-volume-deploy",
                &[
                    EXECUTOR,
                    "/persistentvolumeclaims: create,get,patch",
                    "argoproj.io/workflows/finalizers: update",
                ],
            ),
        ],
        "terraform_optimization" => vec![
            g("-", "terraform-optimization-executor", &[EXECUTOR]),
            (
                ("-".into(), "terraform-optimization-deploy".into()),
                with_executor(deploy("terraform-optimizer")),
            ),
        ],
        // The job step creates and watches the TrainJob, the exit
        // handler deletes the run's by label; the job is owned by the
        // Workflow.
        "distributed_finetune" => vec![
            g("-", "distributed-finetune-executor", &[EXECUTOR]),
            (
                ("-".into(), "distributed-finetune-deploy".into()),
                with_executor(
                    [
                        training_rule("TrainJob").to_string(),
                        "argoproj.io/workflows/finalizers: update".to_string(),
                    ]
                    .into_iter()
                    .chain(deploy("support-assistant"))
                    .collect(),
                ),
            ),
        ],
        other => panic!("add the grants of examples/{other}.mlp to this test"),
    };
    grants.into_iter().collect()
}

#[test]
fn every_example_gets_valid_objects_and_exactly_its_documented_rules() {
    let _guard = suite("examples").bind_to_scope();
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let docs = rbac_docs(&rel);
        check_objects(&docs);
        let got = grants(&docs);
        for rule in got.values().flatten() {
            assert!(
                documented(rule),
                "{}: undocumented rule {rule}",
                rel.display()
            );
        }
        assert_eq!(got, expected(&stem), "{}", rel.display());
        // Every Role is bound, to one ServiceAccount of the output, by a
        // RoleBinding of the same name and namespace.
        let accounts: BTreeSet<&str> = docs
            .iter()
            .filter(|d| d["kind"] == "ServiceAccount")
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        for role in docs.iter().filter(|d| d["kind"] == "Role") {
            let binding = docs
                .iter()
                .find(|d| d["kind"] == "RoleBinding" && d["metadata"] == role["metadata"])
                .unwrap_or_else(|| panic!("{}: {} is not bound", rel.display(), role["metadata"]));
            assert_eq!(binding["roleRef"]["kind"], "Role");
            assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
            assert_eq!(binding["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
            let subjects = binding["subjects"].as_array().unwrap();
            assert_eq!(subjects.len(), 1);
            assert_eq!(subjects[0]["kind"], "ServiceAccount");
            assert!(accounts.contains(subjects[0]["name"].as_str().unwrap()));
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let analysis = analyze_file(&rel);
        let yaml = mlpc::emit::rbac::emit(
            analysis.program.as_ref().unwrap(),
            &analysis.sources,
            &Options::default(),
        )
        .unwrap()
        .yaml;
        insta::with_settings!({ input_file => &path }, {
            insta::assert_snapshot!(format!("{name}.rbac.yaml"), yaml);
        });
    }
}

/// A pod template: one that runs a container or a resource action.
fn pod_templates(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.get("container").is_some() || t.get("resource").is_some())
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

/// Where a deploy step acts: the manifest's namespace, or the wait step's
/// `MLP_NAMESPACE`; the workflow's when neither names one.
fn deploy_target(template: &Value) -> Option<(String, String)> {
    if let Some(manifest) = template["resource"]["manifest"].as_str() {
        let m = &common::argo_manifest(manifest, &Default::default());
        assert_eq!(m["kind"], "InferenceService");
        return Some((
            m["metadata"]["namespace"]
                .as_str()
                .unwrap_or("-")
                .to_string(),
            m["metadata"]["name"].as_str().unwrap().to_string(),
        ));
    }
    let c = &template["container"];
    env_value(c, "MLP_ROLLOUT").is_some().then(|| {
        let ns = env_value(c, "MLP_NAMESPACE").unwrap();
        (
            if ns == "{{workflow.namespace}}" {
                "-"
            } else {
                ns
            }
            .to_string(),
            env_value(c, "MLP_SERVICE").unwrap().to_string(),
        )
    })
}

/// The rules an account has in a namespace (`-`: the workflow's), through
/// its RoleBindings.
fn rules_of(docs: &[Value], account: &str, namespace: &str) -> Vec<String> {
    let ns = |d: &Value| {
        d["metadata"]["namespace"]
            .as_str()
            .unwrap_or("-")
            .to_string()
    };
    docs.iter()
        .filter(|d| d["kind"] == "RoleBinding" && ns(d) == namespace)
        .filter(|d| d["subjects"][0]["name"] == account)
        .flat_map(|b| {
            let role = docs
                .iter()
                .find(|d| {
                    d["kind"] == "Role"
                        && ns(d) == namespace
                        && d["metadata"]["name"] == b["roleRef"]["name"]
                })
                .unwrap();
            role["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(rule_text)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn only_the_deploy_steps_get_a_token_and_every_account_is_granted_what_its_pods_use() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let rbac = rbac_docs(&rel);
        // The first object is the executor's ServiceAccount, in the
        // workflow's namespace (`-`: unnamed, applied with `-n`).
        let wf = rbac[0]["metadata"]["namespace"].as_str().unwrap_or("-");
        let has_token_secret = |account: &str| {
            rbac.iter().any(|d| {
                d["kind"] == "Secret"
                    && d["metadata"]["name"] == format!("{account}.service-account-token")
                    && d["type"] == "kubernetes.io/service-account-token"
                    && d["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account
            })
        };
        for kind in [OutputKind::Workflow, OutputKind::WorkflowTemplate] {
            let options = Options {
                kind,
                pipeline: None,
                ..Default::default()
            };
            for doc in compile_docs(&rel, &options) {
                let spec = doc["spec"].get("workflowSpec").unwrap_or(&doc["spec"]);
                // No workflow-wide setting: each template says it.
                assert!(spec.get("automountServiceAccountToken").is_none());
                assert!(spec.get("executor").is_none());
                let mut deploy_steps = 0;
                for t in pod_templates(spec) {
                    let name = t["name"].as_str().unwrap();
                    let where_ = format!("{}: template {name}", rel.display());
                    // A kept run volume's claim: applied with the deploy
                    // account's token, owned by the Workflow object.
                    // The exit handler's deletion of the run's training
                    // jobs, by label: no manifest.
                    if t["resource"]["action"] == "delete" {
                        assert_eq!(t["automountServiceAccountToken"], true, "{where_}");
                        let account = t["serviceAccountName"].as_str().unwrap();
                        let rules = rules_of(&rbac, account, wf);
                        let kinds = t["resource"]["flags"][0].as_str().unwrap();
                        for (resource, kind) in [
                            ("trainjobs.trainer.kubeflow.org", "TrainJob"),
                            ("pytorchjobs.kubeflow.org", "PyTorchJob"),
                        ] {
                            if kinds.split(',').any(|k| k == resource) {
                                assert!(
                                    rules.contains(&training_rule(kind).to_string()),
                                    "{where_}: {rules:?}"
                                );
                            }
                        }
                        continue;
                    }
                    if let Some(manifest) = t["resource"]["manifest"].as_str() {
                        let m = common::argo_manifest(manifest, &Default::default());
                        if m["kind"] == "TrainJob" || m["kind"] == "PyTorchJob" {
                            assert_eq!(t["automountServiceAccountToken"], true, "{where_}");
                            assert_eq!(t["resource"]["setOwnerReference"], true, "{where_}");
                            let account = t["serviceAccountName"].as_str().unwrap();
                            let rules = rules_of(&rbac, account, wf);
                            for wanted in [
                                EXECUTOR,
                                training_rule(m["kind"].as_str().unwrap()),
                                "argoproj.io/workflows/finalizers: update",
                            ] {
                                assert!(
                                    rules.contains(&wanted.to_string()),
                                    "{where_}: {wanted} not in {rules:?}"
                                );
                            }
                            continue;
                        }
                        if m["kind"] == "PersistentVolumeClaim" {
                            assert_eq!(t["automountServiceAccountToken"], true, "{where_}");
                            assert_eq!(t["resource"]["setOwnerReference"], true, "{where_}");
                            let account = t["serviceAccountName"].as_str().unwrap();
                            let rules = rules_of(&rbac, account, wf);
                            for wanted in [
                                EXECUTOR,
                                "/persistentvolumeclaims: create,get,patch",
                                "argoproj.io/workflows/finalizers: update",
                            ] {
                                assert!(
                                    rules.contains(&wanted.to_string()),
                                    "{where_}: {wanted} not in {rules:?}"
                                );
                            }
                            continue;
                        }
                    }
                    match deploy_target(t) {
                        None => {
                            assert_eq!(t["automountServiceAccountToken"], false, "{where_}");
                            // validateLeaf: no token needs an executor account.
                            let executor = t["executor"]["serviceAccountName"]
                                .as_str()
                                .filter(|s| !s.is_empty())
                                .unwrap_or_else(|| panic!("{where_}: no executor account"));
                            assert!(
                                has_token_secret(executor),
                                "{where_}: {executor} has no token Secret"
                            );
                            assert_eq!(rules_of(&rbac, executor, wf), [EXECUTOR], "{where_}");
                        }
                        Some((namespace, service)) => {
                            deploy_steps += 1;
                            assert_eq!(t["automountServiceAccountToken"], true, "{where_}");
                            assert!(t.get("executor").is_none(), "{where_}");
                            let account = t["serviceAccountName"].as_str().unwrap();
                            // Argo's own containers report with this token...
                            assert!(
                                rules_of(&rbac, account, wf).contains(&EXECUTOR.to_string()),
                                "{where_}"
                            );
                            // ...and the step deploys with it.
                            let target = if namespace == "-" {
                                wf.to_string()
                            } else {
                                namespace
                            };
                            let rules = rules_of(&rbac, account, &target);
                            for wanted in [
                                "serving.kserve.io/inferenceservices: create".to_string(),
                                format!(
                                    "serving.kserve.io/inferenceservices[{service}]: get,patch"
                                ),
                                "/pods: list".to_string(),
                            ] {
                                assert!(
                                    rules.contains(&wanted),
                                    "{where_}: {wanted} not in {rules:?}"
                                );
                            }
                        }
                    }
                }
                let deploy_stages = mlpc::analyze(
                    "x",
                    Some(&path),
                    &std::fs::read(&path).unwrap(),
                    &mlpc::FsLoader,
                )
                .program
                .unwrap()
                .pipelines
                .iter()
                .flat_map(|p| &p.stages)
                .filter(|s| s.kind == mlpc::sema::schema::StageKind::Deploy)
                .count();
                assert_eq!(
                    deploy_steps,
                    2 * deploy_stages,
                    "{}: apply and wait per deploy",
                    rel.display()
                );
            }
        }
    }
}

#[test]
fn accounts_can_be_named_and_shared() {
    let source = r#"pipeline p {
  namespace = "ml"
  executor_service_account = "argo-executor"
  deploy_service_account = "argo-executor"
  mlflow { tracking_uri = "http://mlflow:5000", experiment = "e", artifact_store = "s3://a" }
  deploy a { model = "models:/m/1", service = "svc-a" }
  deploy b { model = "models:/m/2", service = "svc-b", namespace = "${run.namespace}" }
  deploy c { model = "models:/m/3", service = "svc-c", namespace = "ml" }
}
"#;
    let doc = compile_source(source);
    let templates = doc["spec"]["templates"].as_array().unwrap();
    let resolve = templates.iter().find(|t| t["name"] == "a-resolve").unwrap();
    assert_eq!(resolve["executor"]["serviceAccountName"], "argo-executor");
    let apply = templates.iter().find(|t| t["name"] == "a").unwrap();
    assert_eq!(apply["serviceAccountName"], "argo-executor");
    let docs = rbac_of_source(source).unwrap();
    check_objects(&docs);
    // One account, one token Secret, one Role: the three stages deploy into
    // the workflow's namespace, whichever way they say it.
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ServiceAccount", "Secret", "Role", "RoleBinding"]);
    assert_eq!(
        grants(&docs),
        Grants::from([(
            ("ml".into(), "argo-executor".into()),
            vec![
                EXECUTOR.to_string(),
                "serving.kserve.io/inferenceservices: create".into(),
                "serving.kserve.io/inferenceservices[svc-a,svc-b,svc-c]: get,patch".into(),
                "/pods: list".into(),
            ]
        )])
    );
}

#[test]
fn namespaces_known_only_at_run_time_are_e0403() {
    let head = r#"pipeline p {
  param ns: string = "serving"
  mlflow { tracking_uri = "http://mlflow:5000", experiment = "e", artifact_store = "s3://a" }
"#;
    let cases = [
        // The workflow's namespace is a parameter.
        r#"namespace = ns
  deploy d { model = "models:/m/1", service = "s" }"#,
        // Another namespace than the workflow's, which the pipeline does not name.
        r#"deploy d { model = "models:/m/1", service = "s", namespace = "serving" }"#,
    ];
    for case in cases {
        let errors = rbac_of_source(&format!(
            "{head}  {case}
}}
"
        ))
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{case}: {errors:?}");
        assert!(errors[0].starts_with("mlp::E0403"), "{case}: {errors:?}");
    }
    // The same compile without complaint.
    compile_source(&format!("{head}  {}\n}}\n", cases[0]));
    // A deploy stage's service and namespace are literals (E0226): the
    // manifest is written at compile time, so a Role always names them.
    for case in [
        r#"deploy d { model = "models:/m/1", service = ns }"#,
        r#"deploy d { model = "models:/m/1", service = "s", namespace = ns }"#,
    ] {
        let a = mlpc::analyze(
            "rbac.mlp",
            None,
            format!("{head}  {case}\n}}\n").as_bytes(),
            &mlpc::FsLoader,
        );
        assert!(a.diagnostics.has_code("mlp::E0226"), "{case}");
    }
}

#[test]
fn account_settings_are_literal_service_account_names() {
    for (setting, code) in [
        (r#"executor_service_account = "Argo_Executor""#, "E0216"),
        (r#"deploy_service_account = "-x""#, "E0216"),
        (r#"deploy_service_account = "${run.name}""#, "E0226"),
    ] {
        let source = format!(
            "pipeline p {{\n  {setting}\n  job j {{ image = \"busybox:1.37\", command = [\"true\"] }}\n}}\n"
        );
        let analysis = mlpc::analyze("rbac.mlp", None, source.as_bytes(), &mlpc::FsLoader);
        assert!(
            analysis.diagnostics.has_code(&format!("mlp::{code}")),
            "{setting}: {}",
            render_plain(&analysis)
        );
    }
}

fn mlpc(args: &[&str]) -> std::process::Output {
    run_mlpc(args)
}

#[test]
fn the_command_prints_what_the_library_builds() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let o = mlpc(&["rbac", rel.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let printed = common::yaml::parse_documents(&String::from_utf8_lossy(&o.stdout)).unwrap();
        assert_eq!(printed, rbac_docs(&rel), "{}", rel.display());
    }
    let o = mlpc(&["rbac", "examples/churn_model.mlp", "--pipeline", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no pipeline named `nope`"));
    let o = mlpc(&["rbac", "no/such/file.mlp"]);
    assert_eq!(o.status.code(), Some(2));
    let o = mlpc(&["rbac", "tests/fixtures/diagnostics/E0101_unknown_name.mlp"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let o = mlpc(&[
        "rbac",
        "--format",
        "short",
        "tests/fixtures/diagnostics/E0403_rbac_namespace_unknown.mlp",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "no YAML with errors");
    assert!(String::from_utf8_lossy(&o.stderr).contains("error mlp::E0403"));
    // Warnings are printed and do not change the output, unless denied.
    let o = mlpc(&["rbac", "examples/terraform_optimization.mlp"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("W0201"));
    let o = mlpc(&[
        "--deny-warnings",
        "rbac",
        "examples/terraform_optimization.mlp",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

/// docs/compile.md, "What the cluster needs": its table lists the rules of
/// `DOCUMENTED_RULES` (the widened one in the text below it), and its
/// example Role is the one `mlpc rbac` prints.
#[test]
fn the_documentation_lists_these_rules_and_shows_a_real_role() {
    let text = std::fs::read_to_string(root().join("docs/compile.md")).unwrap();
    let section = &text[text.find("## What the cluster needs").unwrap()..];
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(|t| {
                if t == "\"\"" {
                    String::new()
                } else {
                    t.to_string()
                }
            })
            .collect()
    };
    let mut listed: Vec<String> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("| ") && !l.starts_with("| account"))
        .map(|row| {
            let rule = row.split(" | ").nth(2).unwrap();
            let (what, verbs) = rule.rsplit_once(": ").unwrap();
            let what_ticks = ticked(what);
            let names = if what.contains("resourceNames") {
                "[*]"
            } else {
                ""
            };
            format!(
                "{}/{}{names}: {}",
                what_ticks[0],
                what_ticks[1],
                ticked(verbs).join(",")
            )
        })
        .collect();
    assert!(section.contains("`inferenceservices`: `create`, `get`, `patch` on every"));
    listed.push("serving.kserve.io/inferenceservices: create,get,patch".into());
    listed.sort();
    let mut documented: Vec<String> = DOCUMENTED_RULES.iter().map(|r| r.to_string()).collect();
    documented.sort();
    assert_eq!(listed, documented);

    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let shown = &common::yaml::parse_documents(block).unwrap()[0];
    let printed = rbac_docs(Path::new("examples/churn_model.mlp"));
    assert!(
        printed.contains(shown),
        "the example Role in docs/compile.md is not what `mlpc rbac` prints"
    );
}
