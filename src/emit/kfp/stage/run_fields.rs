//! `run.*` where a container reads it: the run's identity as inputs the
//! driver fills with its run-time values, `run.status` in `finally` from
//! the exit task's final status; the rest has no KFP form (E0501).

use super::Component;
use crate::emit::kfp::dag::{self, At, DagKey, Kind};
use crate::emit::kfp::ir::*;
use crate::sema::hir::RunField;
use crate::source::Span;

impl Component<'_, '_> {
    /// `run.status` in `finally`: the exit task's final status of the main
    /// run, as `.mlp` spells its states.
    fn run_status(&mut self) -> Option<String> {
        let depth = self.path.iter().position(|k| *k == DagKey::Finally)?;
        let (at, _) = self.router.route(
            self.plan,
            &dag::Value {
                kind: Kind::Parameter,
                parameter: Some(ParameterSpec {
                    is_optional: true,
                    ..ParameterSpec::of(ParameterType::TaskFinalStatus)
                }),
                artifact: None,
            },
            At::Input(dag::STATUS.into()),
            &self.path[..=depth],
            &self.path,
            dag::STATUS,
        );
        self.router.status_read = true;
        let source = TaskParameter {
            source: dag::parameter_input(&at),
            parameter_expression_selector: Some(dag::STATUS_SELECTOR.into()),
        };
        Some(self.param_input(
            "mlp-run-status",
            ParameterSpec::of(ParameterType::String),
            source,
        ))
    }

    pub(super) fn run_field(&mut self, field: RunField, at: Span) -> Option<String> {
        let (input, constant) = match field {
            RunField::Uid => ("mlp-run-uid", "{{$.pipeline_job_uuid}}"),
            RunField::Name => ("mlp-run-name", "{{$.pipeline_job_name}}"),
            RunField::ScheduledTime => {
                ("mlp-scheduled-time", "{{$.pipeline_job_schedule_time_utc}}")
            }
            RunField::Pod | RunField::Namespace => {
                self.no_form(
                    at,
                    format!("`run.{}` outside `env`", field.name()),
                    "KFP gives a pod its name and namespace as environment variables only: set one in `env` (e.g. `env { POD = run.pod }`) and read it there",
                );
                return None;
            }
            RunField::Status => return self.run_status(),
            RunField::Failures => {
                self.no_form(
                    at,
                    "`run.failures`".into(),
                    "KFP's final status of a run carries only its state and one error message: read `run.status`",
                );
                return None;
            }
        };
        Some(self.runtime_input(input, constant))
    }
}
