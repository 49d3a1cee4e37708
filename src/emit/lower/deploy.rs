//! A `deploy` stage: resolve the model version, apply the
//! InferenceService, wait for its rollout.

use super::generated::{builtin_output_names, step_template, subset};
use super::pod::{Arg, Pod};
use super::{manifest, run_placeholder, Emitter, Order};
use crate::emit::argo::{ResourceTemplate, Template};
use crate::emit::kserve;
use crate::emit::mlflow::{self, env};
use crate::plan::literal::seconds_text;
use crate::sema::hir::{Ref, RunField, StageId, Value};
use crate::sema::schema::StageKind;

impl<'a, 'p> Emitter<'a, 'p> {
    pub(super) fn deploy(&mut self, i: StageId, tasks: &crate::plan::DeployTasks) {
        let plan = self.plan;
        let fields = plan.stage(i).fields.clone();
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        let tracking = self.tracking();

        // Part 1: resolve the version to a storage URI.
        let mut pod = Pod::new(plan, &[]);
        let mut extra = Vec::new();
        let mut model_name = String::new();
        match get("model") {
            Some(Value::Ref(Ref::Output {
                stage: reg, output, ..
            })) if output == "version" => {
                let reg_fields = &plan.stage(*reg).fields;
                model_name = reg_fields
                    .get("name")
                    .map(|v| pod.text(&v.value))
                    .unwrap_or_default();
                extra.push(env("MLP_MODEL_NAME", model_name.clone()));
                let v = pod.reference(&Ref::Output {
                    stage: *reg,
                    output: output.clone(),
                    fan_in: false,
                });
                extra.push(env("MLP_VERSION", v));
            }
            Some(other) => extra.push(env("MLP_MODEL_URI", pod.text(other))),
            None => {}
        }
        if let Some(store) = &tracking.artifact_store {
            extra.push(env("MLP_ARTIFACT_STORE", store.clone()));
        }
        let container =
            tracking.step_container(&plan.programs, "main", mlflow::Step::Resolve, extra);
        let resolve_task = tasks.resolve.clone();
        let resolve_name = self.template_names.fresh(&resolve_task);
        let mut resolve = step_template(resolve_name, container, ["storage_uri", "version"]);
        resolve.volumes.extend(tracking.ca_volume());
        let mut resolve_fields = fields.clone().into_owned();
        resolve_fields.shift_remove("resources");
        resolve_fields.shift_remove("service_account");
        resolve_fields.shift_remove("timeout");
        self.finish_generated(i, resolve, pod, &resolve_fields, Some(resolve_task.clone()));

        // Part 2: apply the InferenceService, its predictor stamped with this
        // run's rollout id. No success condition: Argo would judge the
        // previous rollout's status (see kserve.rs); the wait step judges.
        let mut pod = Pod::new(plan, &[]);
        let storage = pod.input_param(
            "storage_uri".into(),
            Arg::value(format!(
                "{{{{tasks.{resolve_task}.outputs.parameters.storage_uri}}}}"
            )),
            Some(&resolve_task),
        );
        let version = pod.input_param(
            "version".into(),
            Arg::value(format!(
                "{{{{tasks.{resolve_task}.outputs.parameters.version}}}}"
            )),
            None,
        );
        let apply_task = plan.stage(i).task.clone();
        let rollout = kserve::rollout_id(&apply_task);
        let canary = match get("canary") {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        let served = kserve::Served {
            version,
            registered_model: (!model_name.is_empty()).then_some(model_name),
            rollout: rollout.clone(),
            storage_uri: storage,
        };
        let isvc = kserve::inference_service(&fields, served, &mut |v| pod.text(&v.value));
        let manifest = match manifest::value_safe_yaml(&isvc) {
            Ok(m) => m,
            Err(e) => {
                self.failure.get_or_insert(e);
                String::new()
            }
        };
        let mut template = Template {
            name: self.template_names.fresh(&apply_task),
            resource: Some(ResourceTemplate {
                action: "apply",
                manifest,
                set_owner_reference: None,
                success_condition: None,
                failure_condition: None,
                flags: Vec::new(),
            }),
            timeout: Some(kserve::APPLY_TIMEOUT.into()),
            ..Default::default()
        };
        plan.with_deploy_token(&mut template);
        let apply_fields = subset(&fields, &["retries", "labels", "annotations"]);
        let (task, deps) = self.generated_task(template, pod, &apply_fields, apply_task.clone());
        self.push_task(task.dag, deps, Order::new());

        // Part 3: wait for this rollout to serve (and promote a canary).
        let mut pod = Pod::new(plan, &[]);
        let mut extra = vec![
            env(
                "MLP_NAMESPACE",
                get("namespace").map_or_else(
                    || run_placeholder(RunField::Namespace).into(),
                    |v| pod.text(v),
                ),
            ),
            env(
                "MLP_SERVICE",
                get("service").map(|v| pod.text(v)).unwrap_or_default(),
            ),
            env("MLP_ROLLOUT", rollout),
            env(
                "MLP_TIMEOUT_SECONDS",
                match get("timeout") {
                    Some(Value::Duration { secs, .. }) => seconds_text(*secs),
                    Some(other) => pod.text(other),
                    None => kserve::DEFAULT_WAIT_SECONDS.into(),
                },
            ),
        ];
        if let Some(percent) = canary {
            extra.push(env("MLP_CANARY", percent.to_string()));
        }
        let container = mlflow::python_container(
            "main",
            &tracking.image,
            plan.programs.kserve_wait_command(),
            extra,
        );
        let wait_task = tasks.wait.clone();
        let mut template = step_template(
            self.template_names.fresh(&wait_task),
            container,
            builtin_output_names(StageKind::Deploy),
        );
        // The stage ends when its rollout serves.
        self.stage_metrics(i, &mut template);
        plan.with_deploy_token(&mut template);
        // The verdict is final: no `retries` (API errors are retried inside
        // until the deadline), and `timeout` is the program's own deadline.
        let wait_fields = subset(
            &fields,
            &["labels", "annotations", "tolerations", "node_selector"],
        );
        let (task, mut deps) = self.generated_task(template, pod, &wait_fields, wait_task);
        deps.insert(apply_task);
        self.push_task(task.dag, deps, Order::new());
    }
}
