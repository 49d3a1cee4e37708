//! Kubeflow Trainer: the rules a distributed `train` stage's job follows
//! (contract §9.6; ../shared/reference/DISTRIBUTED.md). The job is a
//! Trainer v2 `TrainJob` (pinned: Trainer v2.3.0, `trainer.kubeflow.org/
//! v1alpha1`) or, for clusters still on Training Operator 1.9, a v1
//! `PyTorchJob`, created by an Argo `resource` step that waits for these
//! conditions.
//!
//! Argo reads a resource step's conditions as Kubernetes label selectors
//! over gjson paths (workflow/executor/resource.go, `matchConditions`):
//! no query by a condition's type, only fixed indexes; failure
//! requirements are OR-ed and checked first, success requirements AND-ed.
//! tests/trainer.rs evaluates these strings that way on the reference's
//! status fixtures.

/// The Trainer v2 API.
pub const TRAINJOB_API_VERSION: &str = "trainer.kubeflow.org/v1alpha1";
/// The Training Operator v1 API.
pub const PYTORCHJOB_API_VERSION: &str = "kubeflow.org/v1";

/// The runtime a TrainJob names unless the stage says otherwise: a
/// ClusterTrainingRuntime with one replicated job `node` (torchrun).
pub const DEFAULT_RUNTIME: &str = "torch-distributed";

/// A TrainJob succeeded: its one replicated job's JobSet child completed.
/// Not `status.conditions.0.type == Complete`: under Kueue the first
/// condition is `Suspended` (False once resumed), so that would wait
/// forever. `jobsStatus` has one entry per replicated job, so this holds
/// only for runtimes with one (DISTRIBUTED.md §1, "waiting").
pub const TRAINJOB_SUCCESS: &str = "status.jobsStatus.0.succeeded > 0";

/// A TrainJob failed: any of its (at most three: `Suspended`, `Complete`,
/// `Failed`) conditions is `Failed`, which the controller writes only when
/// true (deadline exceeded included).
pub const TRAINJOB_FAILURE: &str = "status.conditions.0.type == Failed, status.conditions.1.type == Failed, status.conditions.2.type == Failed";

/// A PyTorchJob ended: `completionTime` is set. It is set on failure too,
/// which is why the failure condition, checked first, must come with it.
pub const PYTORCHJOB_SUCCESS: &str = "status.completionTime";

/// A PyTorchJob failed: any of its conditions (at most five types, each
/// once: Created, Running/Restarting, Succeeded, Failed, Suspended) is
/// `Failed`.
pub const PYTORCHJOB_FAILURE: &str = "status.conditions.0.type == Failed, status.conditions.1.type == Failed, status.conditions.2.type == Failed, status.conditions.3.type == Failed, status.conditions.4.type == Failed";

/// The API server adds five characters to a `generateName`.
const GENERATED_SUFFIX: usize = 5;

/// The longest TrainJob name JobSet accepts for `nodes` nodes: its longest
/// pod name, `NAME-node-0-<nodes-1>-xxxxx`, must be a DNS-1035 label of at
/// most 63 characters (jobset pkg/webhooks/jobset_webhook.go; DISTRIBUTED.md:
/// 48 for up to 10 nodes, 47 up to 100). A longer name is rejected, and the
/// TrainJob then never gets a condition (kubeflow/trainer#3671): the step
/// would wait until its deadline.
pub fn max_name_len(nodes: u64) -> usize {
    let digits = nodes.saturating_sub(1).to_string().len();
    63 - "-node-0-".len() - digits - "-xxxxx".len()
}

/// The longest `generateName` prefix for `nodes` nodes.
pub fn max_generate_name_len(nodes: u64) -> usize {
    max_name_len(nodes) - GENERATED_SUFFIX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_limits_are_the_references() {
        // DISTRIBUTED.md: <= 48 for <= 10 nodes, <= 47 for <= 100, a
        // generateName prefix <= 43.
        assert_eq!(max_name_len(1), 48);
        assert_eq!(max_name_len(10), 48);
        assert_eq!(max_name_len(11), 47);
        assert_eq!(max_name_len(100), 47);
        assert_eq!(max_name_len(101), 46);
        assert_eq!(max_generate_name_len(4), 43);
    }
}
