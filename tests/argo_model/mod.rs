//! An executable model of the Argo Workflows controller rules that mlpc's
//! output relies on (issue #10, "the test layer"). Every rule is written
//! here from Argo's (or govaluate's, or expr-lang's) source; each module
//! names the upstream file and function it models. It is a library for
//! tests: `mod argo_model;` in a test file.
//!
//! - [`substitution`]: `{{...}}` text substitution;
//! - [`govaluate`]: the `when` language and Argo's `shouldExecute`;
//! - [`depends`]: `depends` expansion and evaluation;
//! - [`simulate`]: a workflow's DAG run under a scenario (node phases,
//!   `Omitted` vs `Skipped`, TaskGroups, nested DAGs called per item with
//!   their inputs, DAG template outputs, aggregated outputs of loops
//!   (fan-in), the `onExit` handler with `workflow.status`/`failures`,
//!   workflow phase);
//! - [`memoize`]: memoization key expansion and the cache-key check;
//! - [`retry`]: `retryStrategy`, template `timeout` and
//!   `activeDeadlineSeconds`;
//! - [`expr`], [`sha256`]: expr-lang as `{{=...}}` tags (`when`
//!   conditions, memoization keys, fan-in `len`/`max`/`min`/`sum` over
//!   aggregated lists) use it;
//! - [`validate`]: what Argo checks of the arguments on submit (`enum`);
//! - [`resource`]: a resource step's success and failure conditions.
#![allow(dead_code)]

pub mod depends;
pub mod expr;
pub mod govaluate;
pub mod memoize;
pub mod resource;
pub mod retry;
pub mod sha256;
pub mod simulate;
pub mod substitution;
pub mod validate;

/// `wfv1.NodePhase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
    Skipped,
    Omitted,
}

impl Phase {
    /// `NodeStatus.Completed`: Succeeded, Failed or Error.
    pub fn completed(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed | Phase::Error)
    }

    /// `NodePhase.FailedOrError`.
    pub fn failed_or_error(self) -> bool {
        matches!(self, Phase::Failed | Phase::Error)
    }
}
