//! The Kubernetes accounts a compiled pipeline's pods run as.
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
//! The accounts default to `PIPELINE-executor` and `PIPELINE-deploy`, one
//! pair per pipeline, so that two pipelines' `mlpc rbac` never overwrite each
//! other's objects; the settings `executor_service_account` and
//! `deploy_service_account` name others. The workflow's own
//! `service_account` (and a stage's) needs no grant: no pod mounts its token.

use crate::sema::hir::{Pipeline, StrPart, Value};

/// The pipeline setting naming the account of Argo's executor.
pub const EXECUTOR_SETTING: &str = "executor_service_account";
/// The pipeline setting naming the account of the deploy steps.
pub const DEPLOY_SETTING: &str = "deploy_service_account";

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

/// The text of a value without references.
fn literal(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => Some(t.as_str()),
                StrPart::Ref(_) => None,
            })
            .collect(),
        _ => None,
    }
}
