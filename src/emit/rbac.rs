//! `mlpc rbac`: the ServiceAccounts, Roles and RoleBindings a compiled
//! pipeline needs to run, and nothing more.
//!
//! Which pod holds which token (the lowering in `lower.rs` writes this, and
//! `tests/rbac.rs` holds the two to each other):
//!
//! - **Every pod that does not call the Kubernetes API** (user containers,
//!   the MLflow init container, wrapper and sidecar, the metric gate,
//!   register, resolve and the exit handler) gets
//!   `automountServiceAccountToken: false` and
//!   `executor.serviceAccountName: EXECUTOR`. Its own containers then have no
//!   token at all. Argo mounts the executor account's token into Argo's own
//!   containers only: `workflow/controller/workflowpod.go`
//!   `setupServiceAccount` adds a volume from that account's token Secret,
//!   and `newExecContainer` mounts it at
//!   `/var/run/secrets/kubernetes.io/serviceaccount` in the containers it
//!   builds (`init`, `wait`, and the `main` of a resource template), never
//!   in a container template's `main` or its own init containers and
//!   sidecars. `workflow/validate/validate.go` `validateLeaf`
//!   rejects a template with `automountServiceAccountToken: false` and no
//!   executor account ("executor.serviceAccountName must not be empty if
//!   automountServiceAccountToken is false").
//! - **The token Secret.** `setupServiceAccount` finds the executor's token
//!   through `getServiceAccountTokenName`, i.e.
//!   `util/secrets/token.go` `TokenNameForServiceAccount`: the account's
//!   first listed secret, else the Secret named by its annotation
//!   `workflows.argoproj.io/service-account-token.name`, else
//!   `NAME.service-account-token`. Kubernetes 1.24+ creates no such Secret
//!   (Argo's `docs/service-account-secrets.md`), so `mlpc rbac` writes one
//!   of type `kubernetes.io/service-account-token` under the last name; the
//!   token controller fills it in.
//! - **What the executor needs.** With the emissary executor (Argo 3.4 and
//!   later) the executor reports a step's outputs and its completion in a
//!   `WorkflowTaskResult` named after the node: `workflow/executor/
//!   taskresult.go` `upsertTaskResult` creates it, patches it when it
//!   exists, and `patchTaskResultLabels` patches it again when the outputs
//!   are final. Argo's recommended minimum (`manifests/quick-start/base/
//!   executor/emissary/executor-role.yaml`) is exactly `workflowtaskresults`
//!   `create` and `patch`. (Before 3.4 the executor patched its pod
//!   instead; mlpc needs 3.7.) Memoization needs nothing from any pod: the
//!   controller reads and writes the cache ConfigMaps with its own account.
//! - **Deploy stages.** The apply step is an Argo `resource` template: its
//!   `main` container is Argo's (`operator.go` `executeResource` builds it
//!   with `newExecContainer` and runs `argoexec resource apply`), so kubectl
//!   runs with whatever token an executor container gets, and reports its
//!   end in a `WorkflowTaskResult` like every executor. The wait step runs
//!   `kserve_wait.py`, which reads the InferenceService, lists its pods and
//!   (with a canary) patches it with the pod's own token. Both pods run as
//!   the deploy account with their token mounted (and no `executor`, so
//!   Argo's containers use that same token): it may create and report
//!   task results in the workflow's namespace, and create, get and patch
//!   InferenceServices (`kubectl apply` gets, then creates or patches) and
//!   list pods in the namespace it deploys into. `get` and `patch` are
//!   limited to the services the pipeline deploys when their names are
//!   literals (RBAC cannot limit `create` or `list` by name).
//!
//! - **Kept run volumes** (`volume NAME { keep = true }`): a `resource` step
//!   applies each claim (owned by the Workflow object) before the run
//!   starts, as the deploy account, which may then get, create and patch
//!   PersistentVolumeClaims in the workflow's namespace, and update the
//!   finalizers of Workflows (an owner reference that blocks the owner's
//!   deletion needs it where OwnerReferencesPermissionEnforcement is on).
//! - **Distributed training** (`train ... distributed { ... }`): a
//!   `resource` step creates each training job (TrainJob, or PyTorchJob with
//!   `api = "pytorchjob"`) as the deploy account, with an owner reference
//!   to the Workflow, polls it (`get`) and reads its name (`get`); the exit
//!   handler deletes the run's jobs by label (`kubectl delete --selector`
//!   lists, then deletes). So: `create`, `get`, `list` and `delete` on
//!   the jobs of the APIs the pipeline uses, and `workflows/finalizers`
//!   `update` as for kept volumes. The nodes run as the runtime's (or the
//!   stage's `service_account`) account, which mlpc grants nothing.
//!
//! The accounts default to `PIPELINE-executor` and `PIPELINE-deploy`, one
//! pair per pipeline, so that two pipelines' `mlpc rbac` never overwrite each
//! other's objects; the settings `executor_service_account` and
//! `deploy_service_account` name others. The workflow's own
//! `service_account` (and a stage's) needs no grant: no pod mounts its token.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::{select, EmitError, Options};
use crate::diag::MlpError;
use crate::sema::distributed::{distributed, TrainingApi};
use crate::sema::effective::effective_fields;
use crate::sema::hir::{Pipeline, Program, Ref, RunField, StrPart, Value};
use crate::sema::schema::StageKind;
use crate::sema::text::plain_text;
use crate::source::{SourceSet, Span};

/// The pipeline setting naming the account of Argo's executor.
pub const EXECUTOR_SETTING: &str = "executor_service_account";
/// The pipeline setting naming the account of the deploy steps.
pub const DEPLOY_SETTING: &str = "deploy_service_account";
/// Where Argo looks for an account's token (`TokenName`, util/secrets/token.go).
pub const TOKEN_SECRET_SUFFIX: &str = ".service-account-token";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The account whose token Argo's executor containers get in every pod that
/// does not call the Kubernetes API itself.
pub fn executor_account(pipeline: &Pipeline) -> String {
    account(pipeline, EXECUTOR_SETTING, "executor")
}

/// The account the apply and wait steps of deploy stages run as.
pub fn deploy_account(pipeline: &Pipeline) -> String {
    account(pipeline, DEPLOY_SETTING, "deploy")
}

fn account(pipeline: &Pipeline, setting: &str, suffix: &str) -> String {
    match pipeline.settings.get(setting) {
        // A literal: the checker allows nothing else.
        Some(v) => literal(&v.value).unwrap_or_default(),
        None => format!("{}-{suffix}", pipeline.dns_name),
    }
}

/// One object of the output, written as Kubernetes reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    ServiceAccount(ServiceAccount),
    Secret(Secret),
    Role(Role),
    RoleBinding(RoleBinding),
}

/// What `mlpc rbac` prints: the YAML stream, or why it cannot be written.
#[derive(Debug)]
pub struct Rbac {
    /// One document per object; empty when there are errors.
    pub yaml: String,
    pub errors: Vec<MlpError>,
}

/// The objects of every selected pipeline, in source order, each object
/// once (pipelines that share an account share its objects).
pub fn emit(program: &Program, sources: &SourceSet, options: &Options) -> Result<Rbac, EmitError> {
    let mut objects: Vec<Object> = Vec::new();
    let mut errors = Vec::new();
    for pipeline in select(program, options)? {
        match objects_for(program, pipeline) {
            Ok(mine) => {
                for o in mine {
                    if !objects.contains(&o) {
                        objects.push(o);
                    }
                }
            }
            Err(unknown) => errors.extend(unknown.into_iter().map(|u| u.diagnostic(sources))),
        }
    }
    let yaml = if errors.is_empty() {
        super::yaml::to_yaml_stream(&objects).map_err(EmitError::Yaml)?
    } else {
        String::new()
    };
    Ok(Rbac { yaml, errors })
}

/// A namespace `mlpc rbac` cannot name.
#[derive(Debug, Clone)]
pub struct Unknown {
    pub at: Span,
    what: String,
    label: &'static str,
    help: String,
}

impl Unknown {
    fn diagnostic(self, sources: &SourceSet) -> MlpError {
        MlpError::RbacNamespaceUnknown {
            src: sources.named(self.at.source),
            at: self.at,
            what: self.what,
            label: self.label.into(),
            help: Some(self.help),
        }
    }
}

/// A namespace, as the pipeline knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Namespace {
    /// The workflow's: the pipeline's `namespace`, or the one it is
    /// submitted to (objects without a namespace, applied with `-n`).
    Workflow,
    Other(String),
}

/// What one account needs in one namespace.
#[derive(Debug, Default)]
struct Needs {
    /// Argo's executor runs with the account's token: task results.
    task_results: bool,
    /// The InferenceServices it deploys into the namespace.
    deploys: Deploys,
    /// It applies the claims of kept run volumes (`kubectl apply`: get,
    /// then create or patch).
    claims: bool,
    /// It creates, watches and deletes training jobs of these APIs.
    training: BTreeSet<TrainingApi>,
}

/// The InferenceServices an account deploys into one namespace.
#[derive(Debug, Default)]
enum Deploys {
    /// None.
    #[default]
    Nothing,
    /// These, each named by a literal.
    Named(BTreeSet<String>),
    /// Some whose name is known only at run time (and maybe others).
    Unnamed,
}

impl Deploys {
    /// Adds a deployed service, `None` when its name is known only at run
    /// time.
    fn add(&mut self, service: Option<String>) {
        *self = match (std::mem::take(self), service) {
            (Deploys::Nothing, Some(name)) => Deploys::Named(BTreeSet::from([name])),
            (Deploys::Named(mut names), Some(name)) => {
                names.insert(name);
                Deploys::Named(names)
            }
            (_, _) => Deploys::Unnamed,
        }
    }
}

#[derive(Debug, Default)]
struct Account {
    /// Argo mounts its token from a Secret (the executor account).
    token_secret: bool,
    needs: BTreeMap<Namespace, Needs>,
}

/// The objects one pipeline needs, in a fixed order: per account, the
/// ServiceAccount, its token Secret (after the account, which Kubernetes'
/// token controller needs to fill it in), then a Role and RoleBinding per
/// namespace (the workflow's first).
pub fn objects_for(program: &Program, pipeline: &Pipeline) -> Result<Vec<Object>, Vec<Unknown>> {
    let mut unknown = Vec::new();
    let workflow_ns = match pipeline.settings.get("namespace") {
        None => None,
        Some(v) => match literal(&v.value) {
            Some(ns) => Some(ns),
            None => {
                unknown.push(Unknown {
                    at: v.span,
                    what: "the pipeline's namespace".into(),
                    label: "known only when the workflow runs",
                    help: "write the namespace as a literal, e.g. `namespace = \"ml-prod\"`, or leave it out and apply the output with `kubectl apply -n NAMESPACE`".into(),
                });
                None
            }
        },
    };
    let mut accounts: Vec<(String, Account)> = Vec::new();
    fn entry<'a>(accounts: &'a mut Vec<(String, Account)>, name: &str) -> &'a mut Account {
        let i = match accounts.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                accounts.push((name.to_string(), Account::default()));
                accounts.len() - 1
            }
        };
        &mut accounts[i].1
    }
    // Every stage has a pod without API access (a deploy stage its resolve step).
    if !pipeline.stages.is_empty() {
        let executor = entry(&mut accounts, &executor_account(pipeline));
        executor.token_secret = true;
        executor
            .needs
            .entry(Namespace::Workflow)
            .or_default()
            .task_results = true;
    }
    // Kept run volumes: their claims are applied by a resource step that
    // runs as the deploy account (`emit::lower::pod_surface`).
    if pipeline.volumes.iter().any(|v| v.keep) {
        let deploy = entry(&mut accounts, &deploy_account(pipeline));
        let needs = deploy.needs.entry(Namespace::Workflow).or_default();
        needs.task_results = true;
        needs.claims = true;
    }
    // Distributed stages: the job step and the exit handler's deletion
    // run as the deploy account (`emit::lower::distributed`).
    for stage in pipeline
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Train)
    {
        let fields = effective_fields(&program.templates, &pipeline.defaults, stage);
        if let Some(job) = distributed(&fields) {
            let deploy = entry(&mut accounts, &deploy_account(pipeline));
            let needs = deploy.needs.entry(Namespace::Workflow).or_default();
            needs.task_results = true;
            needs.training.insert(job.api);
        }
    }
    for stage in pipeline
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Deploy)
    {
        let fields = effective_fields(&program.templates, &pipeline.defaults, stage);
        let namespace = match fields.get("namespace") {
            None => Namespace::Workflow,
            Some(v) if is_run_namespace(&v.value) => Namespace::Workflow,
            Some(v) => match literal(&v.value) {
                Some(ns) if Some(&ns) == workflow_ns.as_ref() => Namespace::Workflow,
                Some(ns) => {
                    if workflow_ns.is_none() && pipeline.settings.get("namespace").is_none() {
                        unknown.push(Unknown {
                            at: v.span,
                            what: "the workflow's namespace".into(),
                            label: "the deploy account needs a RoleBinding here, naming its own namespace",
                            help: format!("set `namespace` on pipeline `{}`: the RoleBinding in `{ns}` names the deploy account, which lives in the workflow's namespace", pipeline.name),
                        });
                    }
                    Namespace::Other(ns)
                }
                None => {
                    unknown.push(Unknown {
                        at: v.span,
                        what: format!("the namespace deploy stage `{}` deploys into", stage.name),
                        label: "known only when the workflow runs",
                        help: "write the namespace as a literal (`namespace = \"serving\"`), or leave it out to deploy into the workflow's namespace".into(),
                    });
                    continue;
                }
            },
        };
        let service = fields.get("service").and_then(|v| literal(&v.value));
        let deploy = entry(&mut accounts, &deploy_account(pipeline));
        deploy
            .needs
            .entry(Namespace::Workflow)
            .or_default()
            .task_results = true;
        deploy
            .needs
            .entry(namespace)
            .or_default()
            .deploys
            .add(service);
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut out = Vec::new();
    for (name, account) in &accounts {
        let in_workflow_ns = |object: String| ObjectMeta {
            name: Some(object),
            namespace: workflow_ns.clone(),
            ..Default::default()
        };
        out.push(Object::ServiceAccount(ServiceAccount {
            metadata: in_workflow_ns(name.clone()),
            ..Default::default()
        }));
        if account.token_secret {
            let mut metadata = in_workflow_ns(format!("{name}{TOKEN_SECRET_SUFFIX}"));
            metadata.annotations = Some(BTreeMap::from([(
                "kubernetes.io/service-account.name".to_string(),
                name.clone(),
            )]));
            out.push(Object::Secret(Secret {
                metadata,
                type_: Some("kubernetes.io/service-account-token".into()),
                ..Default::default()
            }));
        }
        for (namespace, needs) in &account.needs {
            // In another namespace the names say whose they are, so that
            // pipelines of two namespaces deploying to a third do not
            // overwrite each other's binding.
            let (object, ns) = match namespace {
                Namespace::Workflow => (name.clone(), workflow_ns.clone()),
                Namespace::Other(ns) => (
                    format!("{}.{name}", workflow_ns.as_deref().unwrap_or_default()),
                    Some(ns.clone()),
                ),
            };
            let metadata = ObjectMeta {
                name: Some(object.clone()),
                namespace: ns,
                ..Default::default()
            };
            out.push(Object::Role(Role {
                metadata: metadata.clone(),
                rules: Some(needs.rules()),
            }));
            out.push(Object::RoleBinding(RoleBinding {
                metadata,
                role_ref: RoleRef {
                    api_group: RBAC_GROUP.into(),
                    kind: "Role".into(),
                    name: object,
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: name.clone(),
                    // Unset (no pipeline namespace): the binding's own,
                    // which is then the workflow's too.
                    namespace: workflow_ns.clone(),
                    api_group: None,
                }]),
            }));
        }
    }
    Ok(out)
}

impl Needs {
    fn rules(&self) -> Vec<PolicyRule> {
        let rule = |group: &str,
                    resource: &str,
                    names: Option<&BTreeSet<String>>,
                    verbs: &[&str]| PolicyRule {
            api_groups: Some(vec![group.into()]),
            resources: Some(vec![resource.into()]),
            resource_names: names.map(|n| n.iter().cloned().collect()),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            non_resource_urls: None,
        };
        let mut rules = Vec::new();
        if self.task_results {
            rules.push(rule(
                "argoproj.io",
                "workflowtaskresults",
                None,
                &["create", "patch"],
            ));
        }
        if self.claims {
            rules.push(rule(
                "",
                "persistentvolumeclaims",
                None,
                &["create", "get", "patch"],
            ));
        }
        for api in &self.training {
            let (group, resource) = crate::emit::trainer::api_resource(*api);
            rules.push(rule(
                group,
                resource,
                None,
                &["create", "get", "list", "delete"],
            ));
        }
        if self.claims || !self.training.is_empty() {
            // The claim and the training job are owned by the Workflow with
            // `blockOwnerDeletion` (`setOwnerReference`, operator.go
            // `executeResource`), which the OwnerReferencesPermissionEnforcement
            // admission plugin (on by default in OpenShift) allows only to
            // who may update the owner's finalizers.
            rules.push(rule(
                "argoproj.io",
                "workflows/finalizers",
                None,
                &["update"],
            ));
        }
        const ISVC: (&str, &str) = ("serving.kserve.io", "inferenceservices");
        match &self.deploys {
            Deploys::Nothing => return rules,
            // A create names no object when it is authorized.
            Deploys::Named(names) => {
                rules.push(rule(ISVC.0, ISVC.1, None, &["create"]));
                rules.push(rule(ISVC.0, ISVC.1, Some(names), &["get", "patch"]));
            }
            Deploys::Unnamed => rules.push(rule(ISVC.0, ISVC.1, None, &["create", "get", "patch"])),
        }
        rules.push(rule("", "pods", None, &["list"]));
        rules
    }
}

/// The text of a value without references.
fn literal(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => plain_text(parts),
        _ => None,
    }
}

/// `run.namespace`: the workflow's namespace, whatever it is.
fn is_run_namespace(v: &Value) -> bool {
    match v {
        Value::Ref(Ref::Run(RunField::Namespace)) => true,
        Value::Str(parts) => matches!(
            parts.as_slice(),
            [StrPart::Ref(Ref::Run(RunField::Namespace))]
        ),
        _ => false,
    }
}
