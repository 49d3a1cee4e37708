//! Generated steps: the metric gate and `register` stages, and the task
//! of any generated step with the stage's pod fields.

use super::route::Kind;
use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Container;

use super::pod::{resources, Arg, Pod};
use super::{Emitter, Order, STEP_OUTPUTS};
use crate::emit::argo::{Arguments, DagTask, Parameter, RetryStrategy, Template, ValueFrom};
use crate::emit::mlflow::{self, env, Tracking};
use crate::plan::literal::seconds_text;
use crate::sema::hir::{Fields, Ref, StageId, Value};
use crate::sema::schema::{self, StageKind};

impl<'a, 'p> Emitter<'a, 'p> {
    pub(super) fn tracking(&self) -> Tracking {
        self.plan.tracking.clone().unwrap_or_else(|| Tracking {
            tracking_uri: String::new(),
            experiment: String::new(),
            artifact_store: None,
            image: mlflow::DEFAULT_IMAGE.to_string(),
            credentials: None,
            ca_bundle: None,
        })
    }

    /// `monitor`: a stage's duration and results, on the template of the
    /// task whose end is the stage's end.
    pub(super) fn stage_metrics(&self, i: StageId, template: &mut Template) {
        let plan = self.plan;
        if plan.stage(i).monitored {
            let name = &plan.pipeline.stage(i).name;
            template.metrics = Some(crate::emit::monitor::stage(&plan.pipeline.name, name));
        }
    }

    /// `monitor`: the step after a tracked train stage that reads its
    /// declared metrics for Prometheus (one gauge each). It never fails,
    /// so it never fails the run it reports on.
    pub(super) fn report(&mut self, stage: StageId, report: &crate::plan::Report) {
        let plan = self.plan;
        let gauges = crate::emit::argo::Metrics {
            prometheus: crate::emit::monitor::model_metrics(
                &plan.pipeline.name,
                &plan.pipeline.stage(stage).name,
                &report.metrics,
            ),
        };
        let outputs = (0..report.metrics.len())
            .map(crate::emit::monitor::report_output)
            .collect();
        self.run_metrics_step(
            stage,
            &report.task,
            &report.metrics,
            outputs,
            mlflow::Step::Report,
            Some(gauges),
        );
    }

    /// The metric gate after a tracked train stage.
    pub(super) fn gate(&mut self, stage: StageId, gate: &str, metrics: &BTreeSet<String>) {
        // A `when` names a gate's metric, an identifier: its own output.
        let outputs = metrics.iter().cloned().collect();
        self.run_metrics_step(stage, gate, metrics, outputs, mlflow::Step::Metrics, None);
    }

    /// A step after a tracked train stage that reads `metrics` of its run
    /// (by the stage's `run_id`) and writes each as an output, the i-th as
    /// `outputs[i]`.
    fn run_metrics_step(
        &mut self,
        stage: StageId,
        task: &str,
        metrics: &BTreeSet<String>,
        outputs: Vec<String>,
        step: mlflow::Step,
        prometheus: Option<crate::emit::argo::Metrics>,
    ) {
        let plan = self.plan;
        let train = plan.stage(stage).task.clone();
        let name = self.template_names.fresh(task);
        let container = self.tracking().step_container(
            &plan.programs,
            "main",
            step,
            vec![
                env("MLP_RUN_ID", "{{inputs.parameters.run_id}}"),
                env("MLP_METRICS", mlflow::metric_names_env(metrics)),
            ],
        );
        let mut template =
            step_template(name.clone(), container, outputs.iter().map(String::as_str));
        template.volumes.extend(self.tracking().ca_volume());
        template.inputs.parameters.push(Parameter {
            name: "run_id".into(),
            ..Default::default()
        });
        if prometheus.is_some() {
            // The report's program never fails; its pod can (evicted,
            // node lost), and a leaf task that fails fails the run
            // (`continueOn` is refused beside `depends`). Gauges set twice
            // by a retried template hold one value.
            template.retry_strategy = Some(RetryStrategy {
                limit: "2".into(),
                retry_policy: Some("Always".into()),
                ..Default::default()
            });
        }
        template.metrics = prometheus;
        plan.without_api_token(&mut template);
        (self.sink)(template);
        self.push_task(
            DagTask {
                name: task.to_string(),
                template: name,
                arguments: Arguments {
                    parameters: vec![Parameter {
                        name: "run_id".into(),
                        value: Some(format!("{{{{tasks.{train}.outputs.parameters.run_id}}}}")),
                        ..Default::default()
                    }],
                    artifacts: Vec::new(),
                },
                ..Default::default()
            },
            BTreeSet::from([train]),
            Order::new(),
        );
    }

    pub(super) fn register(&mut self, i: StageId) {
        let plan = self.plan;
        let fields = plan.stage(i).fields.clone();
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let mut pod = Pod::new(plan, &[]);
        let mut extra = vec![
            env(
                "MLP_MODEL_NAME",
                get("name").map(|v| pod.text(v)).unwrap_or_default(),
            ),
            // With the stage, names the task across its retries.
            env("MLP_WORKFLOW_UID", "{{workflow.uid}}"),
            env("MLP_STAGE", plan.pipeline.stage(i).name.to_string()),
        ];
        match get("model") {
            Some(Value::Ref(Ref::Output {
                stage: train,
                output,
                ..
            })) if output == "model" => {
                let task = plan.stage(*train).task.clone();
                let routed = plan.stage_output(*train, &task, Kind::Parameter, "run_id");
                let run = pod.input_param(
                    format!("{task}-run_id"),
                    Arg::value(routed.source.placeholder()),
                    routed.dep.as_deref(),
                );
                extra.push(env("MLP_RUN_ID", run));
                extra.push(env("MLP_ARTIFACT_PATH", plan.model_path(*train)));
            }
            Some(other) => extra.push(env("MLP_MODEL_SOURCE", pod.text(other))),
            None => {}
        }
        if let Some(alias) = get("alias") {
            extra.push(env("MLP_ALIAS", pod.text(alias)));
        }
        if let Some(d) = get("description") {
            extra.push(env("MLP_DESCRIPTION", pod.text(d)));
        }
        if let Some(Value::Map(tags)) = get("tags") {
            let pairs: Vec<(String, String)> = tags
                .iter()
                .map(|(k, v)| (k.to_string(), pod.text(&v.value)))
                .collect();
            extra.extend(mlflow::indexed_env("MLP_TAG", &pairs));
        }
        match get("await_ready") {
            Some(Value::Duration { secs, .. }) => {
                extra.push(env("MLP_AWAIT_READY_SECONDS", seconds_text(*secs)));
            }
            // A duration parameter holds whole seconds.
            Some(other) => extra.push(env("MLP_AWAIT_READY_SECONDS", pod.text(other))),
            None => {}
        }
        let container =
            self.tracking()
                .step_container(&plan.programs, "main", mlflow::Step::Register, extra);
        let name = self.template_names.fresh(&plan.stage(i).task);
        let mut template =
            step_template(name, container, builtin_output_names(StageKind::Register));
        self.stage_metrics(i, &mut template);
        template.volumes.extend(self.tracking().ca_volume());
        self.finish_generated(i, template, pod, &fields, None);
    }

    /// The task of a generated step (register, resolve), with the stage's
    /// pod fields, condition and fan-out.
    pub(super) fn finish_generated(
        &mut self,
        i: StageId,
        template: Template,
        pod: Pod,
        fields: &Fields,
        task_name: Option<String>,
    ) {
        let name = task_name.unwrap_or_else(|| self.plan.stage(i).task.clone());
        let (task, deps) = self.generated_task(template, pod, fields, name);
        let order = self.order_deps(crate::sema::hir::NodeId::Stage(i));
        self.finish_task(i, task.dag, task.item_args, deps, order, None);
    }

    /// Emits a generated step's template with the stage's pod fields, and
    /// returns its task (called with the template's implicit inputs) and the
    /// tasks whose outputs it reads.
    pub(super) fn generated_task(
        &mut self,
        mut template: Template,
        mut pod: Pod,
        fields: &Fields,
        task_name: String,
    ) -> (GeneratedTask, BTreeSet<String>) {
        self.common_pod_fields(&mut template, &mut pod, fields);
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                template
                    .node_selector
                    .insert(k.to_string(), pod.text(&v.value));
            }
        }
        if let (Some(Value::Map(res)), Some(container)) =
            (get("resources"), template.container.as_mut())
        {
            if let (Some(r), _) = resources(&mut pod, res) {
                container.resources = Some(r);
            }
        }
        for name in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
        }
        let mut task = DagTask {
            name: task_name,
            template: template.name.clone(),
            ..Default::default()
        };
        let mut item_args = Vec::new();
        for (name, arg) in &pod.params {
            task.arguments.parameters.push(Parameter {
                name: name.clone(),
                value: Some(arg.value.clone()),
                ..Default::default()
            });
            item_args.push(arg.per_item());
        }
        (self.sink)(template);
        let task = GeneratedTask {
            dag: task,
            item_args,
        };
        (task, pod.deps)
    }
}

/// The task of a generated step, and which of its argument parameters are
/// the loop's item.
pub(super) struct GeneratedTask {
    pub(super) dag: DagTask,
    pub(super) item_args: Vec<bool>,
}

/// A generated step: one container whose outputs are files in STEP_OUTPUTS.
pub(super) fn step_template<'o>(
    name: String,
    container: Container,
    outputs: impl IntoIterator<Item = &'o str>,
) -> Template {
    let mut template = Template {
        name,
        container: Some(container),
        ..Default::default()
    };
    for output in outputs {
        template.outputs.parameters.push(Parameter {
            name: output.into(),
            value_from: Some(ValueFrom {
                path: Some(format!("{STEP_OUTPUTS}/{output}")),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    template
}

/// The outputs a generated step of `kind` writes: its built-in outputs.
pub(super) fn builtin_output_names(kind: StageKind) -> impl Iterator<Item = &'static str> {
    schema::builtin_outputs(kind, false).iter().map(|(n, _)| *n)
}

/// The named fields of `fields`, in their order.
pub(super) fn subset(fields: &Fields, names: &[&str]) -> Fields {
    fields
        .iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
