//! Artifact fan-in on KFP: an artifact read out of the loop that makes it
//! is a directory with one entry per item, named by the item's index
//! (contract §9.2). The maker also writes a copy of its artifact under
//! its item's index (`mlp-indexed-OUT`, see [`values::collected_key`]);
//! KFP collects those out of the loop as a list of artifacts, which a
//! gather task beside the reader merges into one directory.

use super::{Built, Component};
use crate::emit::kfp::artifact_type;
use crate::emit::kfp::dag::{self, At};
use crate::emit::kfp::ir::*;
use crate::emit::kfp::values;
use crate::plan::literal::literal_text;
use crate::sema::hir::Value;
use crate::sema::types::{ArtifactKind, Ty};

/// The gather task's program (`scripts/kfp_gather.py`).
const GATHER: &str = include_str!("../../scripts/kfp_gather.py");

impl Component<'_, '_> {
    /// A copy of each artifact output read out of the stage's loop, under
    /// the item's index: `mlp-indexed-OUT/INDEX` (see
    /// [`values::collected_key`]).
    pub(super) fn indexed_copies(&mut self) {
        let plan = self.plan;
        let Some(collected) = plan.collected_artifacts.get(&self.stage) else {
            return;
        };
        let Some(&lp) = self.path.iter().rev().find(|k| dag::loops(plan, **k)) else {
            return;
        };
        if !dag::indexed(plan, lp) {
            return; // its readers are told (E0502)
        }
        let index = match values::loop_index(plan, self.router, &self.path, lp) {
            Ok(routed) => routed,
            Err(_) => return,
        };
        let source = TaskParameter {
            source: dag::parameter_input(&index.at),
            parameter_expression_selector: index.selector,
        };
        let index_text = self.param_input(
            &index.input,
            ParameterSpec::of(ParameterType::String),
            source,
        );
        let sp = plan.stage(self.stage);
        for name in collected {
            let (Some(info), Some(Ty::Artifact(kind))) =
                (sp.outputs.get(name), sp.outputs.get(name).map(|o| &o.ty))
            else {
                continue;
            };
            let Some(path) = &info.path else { continue };
            let under = format!("/{index_text}");
            self.artifact_output(&values::indexed_output(name), *kind, path.clone(), &under);
        }
    }

    /// A task beside this one that merges the list of artifacts `input`
    /// is (as its DAG has it at `at`) into one directory, and its name.
    pub(super) fn gather(&mut self, input: &str, at: &At, spec: &ArtifactSpec) -> String {
        let name = self
            .router
            .names
            .fresh(&format!("{}-gather", self.plan.stage(self.stage).task));
        let image = match self.plan.pipeline.settings.get("mlflow").map(|v| &v.value) {
            Some(Value::Map(m)) => m.get("image").map(|v| literal_text(&v.value)),
            _ => None,
        }
        .unwrap_or_else(|| crate::emit::mlflow::DEFAULT_IMAGE.to_string());
        let mut inputs = Definitions::default();
        inputs.artifacts.insert("items".into(), spec.clone());
        let mut outputs = Definitions::default();
        outputs.artifacts.insert(
            "dir".into(),
            ArtifactSpec {
                artifact_type: artifact_type(ArtifactKind::Dir),
                is_artifact_list: false,
            },
        );
        let mut task_inputs = TaskInputs::default();
        task_inputs
            .artifacts
            .insert("items".into(), dag::artifact_input(at));
        let built = Built {
            inputs,
            outputs,
            container: Container {
                command: vec!["python3".into(), "-c".into(), GATHER.into()],
                args: vec![
                    "{{$}}".into(),
                    "items".into(),
                    "{{$.outputs.artifacts['dir'].path}}".into(),
                ],
                image,
                ..Default::default()
            },
            platform: ExecutorConfig::default(),
            task: Task::container(
                format!("gather {input}"),
                task_inputs,
                dag::producer(at).map(str::to_string).into_iter().collect(),
            ),
        };
        self.gathers.push((name.clone(), built));
        name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_gather_program_holds_no_placeholder() {
        // KFP's launcher replaces placeholders anywhere in the command.
        assert!(!super::GATHER.contains("{{"));
        assert!(super::GATHER.is_ascii());
    }
}
