//! A container stage's task and pod template: its own, or the one shared
//! by every plain use of its HIR template (with folded inputs).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, EnvVar, Volume};

use super::pod::{
    duration_text, resources, retry_strategy, toleration, Arg, ArgKind, ArtifactFrom, Global, Pod,
};
use super::route::Source;
use super::task::{value_reads_item, TaskCtx};
use super::{cache, pod_surface, Built, Emitter, Plan, SharedTemplate, INPUTS_DIR};
use crate::collections::{HashSet, IndexMap};
use crate::emit::argo::{
    ArchiveStrategy, Artifact, DagTask, KeyOnly, Parameter, PodMetadata, Template, ValueFrom,
};
use crate::emit::mlflow::{self, env};
use crate::plan::literal::{literal_text, seconds_text};
use crate::plan::TemplateChoice;
use crate::sema::argv;
use crate::sema::effective::merge_field;
use crate::sema::hir::{
    Fields, Input, Output, Program, Ref, Stage, StageId, StrPart, TemplateId, Value,
};
use crate::sema::schema::{self, StageKind, PARAM_ENV_PREFIX};
use crate::sema::text::plain_text;
use crate::sema::types::Ty;

impl<'a, 'p> Emitter<'a, 'p> {
    pub(super) fn container_stage(&mut self, i: StageId) {
        let plan = self.plan;
        let stage = plan.pipeline.stage(i);
        let task_name = plan.stage(i).task.clone();
        let uses = stage.uses.as_ref();
        let declared: &'a [Input] = uses
            .map(|u| plan.program.template(u.template).inputs.as_slice())
            .unwrap_or(&[]);
        let mut task = DagTask {
            name: task_name.clone(),
            ..Default::default()
        };
        let mut deps = BTreeSet::new();
        let mut folded = HashSet::default();
        // One per `task.arguments.parameters`: whether it is the loop's item.
        let mut item_args = Vec::new();
        let implicit: IndexMap<String, Arg> = match plan.stage(i).template {
            TemplateChoice::Shared(index) => {
                let shared = self.shared_template(index, stage.tracked);
                task.template = shared.name.clone();
                folded = shared.folded;
                shared.implicit
            }
            TemplateChoice::Own => {
                let fields = &plan.stage(i).fields;
                if plan.stage(i).cache {
                    self.key_args = cache::key_arguments(plan, &cache::artifact_producers(plan, i));
                }
                let outputs = stage_declared_outputs(plan.program, stage);
                let name = self.template_names.fresh(&task_name);
                let mut built = match &plan.stage(i).distributed {
                    Some(job) => self.distributed_templates(name, i, fields, declared, job),
                    None => self.pod_template(
                        name,
                        stage.kind,
                        fields,
                        declared,
                        &outputs,
                        stage.tracked,
                        Some(i),
                    ),
                };
                declare_inputs(&mut built.template, declared);
                self.stage_metrics(i, &mut built.template);
                task.template = built.template.name.clone();
                for (name, (from, _)) in &built.artifacts {
                    let ArtifactFrom::Task(from) = from else {
                        continue;
                    };
                    task.arguments.artifacts.push(Artifact {
                        name: name.clone(),
                        from: Some(from.clone()),
                        ..Default::default()
                    });
                }
                deps.extend(built.deps.iter().cloned());
                (self.sink)(built.template);
                built.params
            }
        };
        // The template's declared inputs take the stage's arguments.
        if let Some(u) = uses {
            let mut ctx = TaskCtx {
                plan,
                bindings: None,
                deps: BTreeSet::new(),
                lifted: None,
                item_indexed: plan
                    .indexed
                    .contains_key(&crate::sema::hir::NodeId::Stage(i)),
            };
            for input in declared
                .iter()
                .filter(|i| !folded.contains(i.name.as_str()))
            {
                let Some(v) = u.args.get(&input.name) else {
                    continue;
                };
                if input.ty.is_artifact() {
                    task.arguments
                        .artifacts
                        .push(ctx.artifact_arg(&input.name, &v.value));
                } else {
                    task.arguments.parameters.push(Parameter {
                        name: input.name.to_string(),
                        value: Some(ctx.text(&v.value)),
                        ..Default::default()
                    });
                    item_args.push(value_reads_item(&v.value));
                }
            }
            deps.extend(ctx.deps);
        }
        let own_keys = if implicit
            .values()
            .any(|a| matches!(a.kind, ArgKind::CacheKey(_)))
        {
            cache::key_arguments(plan, &cache::artifact_producers(plan, i))
        } else {
            Vec::new()
        };
        for (name, arg) in &implicit {
            let (value, per_item) = match arg.kind {
                ArgKind::StageName => (stage.name.to_string(), false),
                ArgKind::CacheKey(n) => own_keys
                    .get(n)
                    .map_or((String::new(), false), |k| (k.value.clone(), k.per_item)),
                ArgKind::Value { per_item } => (arg.value.clone(), per_item),
            };
            task.arguments.parameters.push(Parameter {
                name: name.clone(),
                value: Some(value),
                ..Default::default()
            });
            item_args.push(per_item);
        }
        let bindings = uses.map(|u| &u.args);
        let order = self.order_deps(crate::sema::hir::NodeId::Stage(i));
        self.finish_task(i, task, item_args, deps, order, bindings);
    }

    /// One Argo template for every plain use of a template.
    pub(super) fn shared_template(&mut self, index: TemplateId, tracked: bool) -> SharedTemplate {
        if let Some(s) = self.shared.get(&index) {
            return s.clone();
        }
        let plan = self.plan;
        let hir = plan.program.template(index);
        let mut fields = Fields::default();
        for (name, field) in plan.pipeline.defaults.iter() {
            if matches!(schema::stage_field(name, Some(hir.kind)), Some(Ok(_))) {
                fields.insert(name.clone(), field.clone());
            }
        }
        for (name, field) in &hir.fields {
            merge_field(&mut fields, name, field);
        }
        // An input every sharing stage sets to the same global value (a
        // literal or one workflow parameter) is written into the template.
        let mut folded: IndexMap<String, Global> = IndexMap::default();
        let users: Vec<(StageId, &Stage)> = plan
            .pipeline
            .stages_with_ids()
            .filter(|(i, _)| plan.stage(*i).template == TemplateChoice::Shared(index))
            .collect();
        // With one use nothing is saved, and the task's arguments are clearer.
        let inputs_to_fold = if users.len() >= 2 {
            hir.inputs.as_slice()
        } else {
            &[]
        };
        for input in inputs_to_fold.iter().filter(|i| !i.ty.is_artifact()) {
            let mut values = users.iter().map(|(_, s)| {
                s.uses
                    .as_ref()
                    .and_then(|u| u.args.get(&input.name))
                    .and_then(|v| global_value(plan, &v.value))
            });
            let Some(Some(first)) = values.next() else {
                continue;
            };
            if values.all(|v| v.as_ref() == Some(&first)) {
                folded.insert(input.name.to_string(), first);
            }
        }
        let folded_names: HashSet<String> = folded.keys().cloned().collect();
        self.folding = folded;
        if fields.contains_key("cache") {
            // As many `mlp-key-N` inputs as the use with the most; each task
            // passes its own values.
            let width = users
                .iter()
                .map(|(i, _)| {
                    cache::key_arguments(plan, &cache::artifact_producers(plan, *i)).len()
                })
                .max()
                .unwrap_or(0);
            self.key_args = vec![cache::KeyArg::default(); width];
        }
        let name = self.template_names.fresh(&hir.dns_name);
        let mut built = self.pod_template(
            name.clone(),
            hir.kind,
            &fields,
            &hir.inputs,
            &hir.outputs,
            tracked,
            None,
        );
        let mut implicit = IndexMap::default();
        for (p, value) in &built.params {
            if !hir.inputs.iter().any(|i| i.name == p) {
                implicit.insert(p.clone(), value.clone());
            }
        }
        let kept: Vec<Input> = hir
            .inputs
            .iter()
            .filter(|i| !folded_names.contains(i.name.as_str()))
            .cloned()
            .collect();
        declare_inputs(&mut built.template, &kept);
        (self.sink)(built.template);
        let shared = SharedTemplate {
            name,
            implicit,
            folded: folded_names,
        };
        self.shared.insert(index, shared.clone());
        shared
    }

    /// The pod of a container stage: the user's container, plus MLflow's
    /// init container, wrapper and sidecar when tracked.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pod_template(
        &mut self,
        name: String,
        kind: StageKind,
        fields: &Fields,
        declared: &'a [Input],
        outputs: &[Output],
        tracked: bool,
        stage: Option<StageId>,
    ) -> Built {
        let stage_name = stage.map(|i| plan_stage_name(self.plan, i));
        let stage_name = stage_name.as_deref();
        let plan = self.plan;
        let mut pod = Pod::new(plan, declared);
        pod.item_indexed = stage.is_some_and(|i| {
            plan.indexed
                .contains_key(&crate::sema::hir::NodeId::Stage(i))
        });
        pod.folded = std::mem::take(&mut self.folding);
        let mut env_vars: Vec<EnvVar> = Vec::new();
        let get = |k: &str| fields.get(k).map(|f| &f.value);

        let (argv, args) = user_argv(&mut pod, fields, &mut env_vars);
        env_vars.extend(pod_surface::env_vars(&mut pod, fields, "env"));
        if kind == StageKind::Train {
            if let Some(Value::Map(params)) = get("params") {
                for (k, v) in params.iter() {
                    env_vars.push(env(
                        &format!("{PARAM_ENV_PREFIX}{}", k.to_ascii_uppercase()),
                        pod.text(&v.value),
                    ));
                }
            }
        }
        let image = get("image").map(|v| pod.text(v));
        let restricted = get("security").map(literal_text).as_deref() == Some("restricted");
        let mut container = Container {
            name: "main".into(),
            image,
            image_pull_policy: get("image_pull_policy").map(literal_text),
            security_context: restricted.then(mlflow::restricted_user_container),
            env_from: pod_surface::env_from(fields),
            ..Default::default()
        };
        let mut node_selector: BTreeMap<String, String> = BTreeMap::new();
        if let Some(Value::Map(res)) = get("resources") {
            let (requirements, gpu_type) = resources(&mut pod, res);
            container.resources = requirements;
            if let Some(t) = gpu_type {
                let label = schema::gpu_node_label(&t).unwrap_or("nvidia.com/gpu.product");
                node_selector.insert(label.into(), t);
            }
        }
        if let Some(Value::Map(sel)) = get("node_selector") {
            for (k, v) in sel.iter() {
                node_selector.insert(k.to_string(), pod.text(&v.value));
            }
        }
        let (volumes, mut mounts) = pod_surface::volumes(&mut pod, fields, plan.pipeline);
        let user_sidecars = pod_surface::sidecars(&mut pod, fields, restricted);

        let mut template = Template {
            name,
            ..Default::default()
        };
        let collected = stage.and_then(|i| plan.collected_artifacts.get(&i));
        for o in outputs {
            if o.ty.is_artifact() {
                // A collected artifact goes where its readers find every
                // item's: under the loop's prefix, by index, unarchived.
                let key = match (stage, collected) {
                    (Some(i), Some(c)) if c.contains(o.name.as_str()) => {
                        let indices: Vec<String> = plan
                            .all_indices(i)
                            .into_iter()
                            .map(|(input, source)| {
                                let arg = Arg {
                                    value: source.placeholder(),
                                    kind: ArgKind::Value {
                                        per_item: matches!(source, Source::Item(_)),
                                    },
                                };
                                pod.input_param(input, arg, None)
                            })
                            .collect();
                        Some(plan.collected_key(i, &o.name, &indices))
                    }
                    _ => None,
                };
                template.outputs.artifacts.push(Artifact {
                    name: o.name.to_string(),
                    path: Some(o.path.to_string()),
                    archive: key.as_ref().map(|_| ArchiveStrategy::default()),
                    s3: key.map(|key| KeyOnly { key }),
                    ..Default::default()
                });
            } else {
                template.outputs.parameters.push(Parameter {
                    name: o.name.to_string(),
                    value_from: Some(ValueFrom {
                        path: Some(o.path.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }

        let tracking = plan.tracking.clone().filter(|_| tracked);
        match &tracking {
            Some(t) => {
                // The stage name of a shared template arrives as an input.
                let stage_label = match stage_name {
                    Some(s) => s.to_string(),
                    None => {
                        let arg = Arg {
                            value: String::new(),
                            kind: ArgKind::StageName,
                        };
                        pod.input_param("mlp-stage".into(), arg, None)
                    }
                };
                let mut params: Vec<(String, String)> = Vec::new();
                if kind == StageKind::Train {
                    if let Some(Value::Map(p)) = get("params") {
                        for (k, v) in p.iter() {
                            params.push((k.to_string(), pod.text(&v.value)));
                        }
                    }
                }
                // Each loop's item, innermost first, tags the run (a
                // shared template's uses pass none: its fields read no item).
                let items: Vec<(String, String)> = stage
                    .map(|i| plan.loops_of(i))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, item)| (name, pod.text(&Value::Ref(item))))
                    .collect();
                let init = t.init_container(
                    &plan.programs,
                    &plan.pipeline.name,
                    &stage_label,
                    &params,
                    &items,
                );
                // Injected containers mount `/mlflow` (and the CA bundle),
                // not the user's volumes.
                template.init_containers.push(init);
                template.sidecars.push(t.finalize_container());
                let mut all_env = t.client_env();
                all_env.extend(env_vars);
                env_vars = all_env;
                let mut user_argv = argv;
                user_argv.extend(args);
                container.command = Some(mlflow::wrapped_command(user_argv));
                mounts.push(mlflow::mount());
                mounts.extend(t.ca_mount());
                template.volumes.push(Volume {
                    name: mlflow::VOLUME.into(),
                    empty_dir: Some(Default::default()),
                    ..Default::default()
                });
                template.volumes.extend(t.ca_volume());
                // The run's built-in values (`run_id`) the wrapper writes;
                // `model` is read through the run id.
                for (output, _) in schema::builtin_outputs(kind, true)
                    .iter()
                    .filter(|(_, ty)| *ty != Ty::ModelUri)
                {
                    template.outputs.parameters.push(Parameter {
                        name: (*output).into(),
                        value_from: Some(ValueFrom {
                            path: Some(format!("{}/{output}", mlflow::MOUNT)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
            None => {
                if !argv.is_empty() {
                    container.command = Some(argv);
                }
                if !args.is_empty() {
                    container.args = Some(args);
                }
            }
        }
        container.env = (!env_vars.is_empty()).then_some(env_vars);
        container.volume_mounts = (!mounts.is_empty()).then_some(mounts);
        template.volumes.extend(volumes);
        // After MLflow's: Argo stops every sidecar once `main` has ended.
        template.sidecars.extend(user_sidecars);
        template.container = Some(container);
        template.node_selector = node_selector;
        self.common_pod_fields(&mut template, &mut pod, fields);
        if let Some(max_age) = get("cache").and_then(|c| cache::max_age(c, &mut pod)) {
            for (n, key) in std::mem::take(&mut self.key_args).into_iter().enumerate() {
                let arg = Arg {
                    value: key.value,
                    kind: ArgKind::CacheKey(n),
                };
                pod.input_param(cache::key_input(n), arg, None);
            }
            cache::globals_as_inputs(&mut pod);
            let memo = cache::memoize(&template, max_age, &pod, &plan.pipeline.dns_name);
            template.memoize = Some(memo);
        }
        // Input artifacts land at their paths; implicit parameters are declared.
        for (name, (from, path)) in &pod.artifacts {
            template.inputs.artifacts.push(Artifact {
                name: name.clone(),
                path: Some(path.clone()),
                s3: match from {
                    ArtifactFrom::Key(key) => Some(KeyOnly { key: key.clone() }),
                    ArtifactFrom::Task(_) => None,
                },
                ..Default::default()
            });
        }
        for name in pod.params.keys() {
            template.inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
        }
        Built {
            template,
            params: pod.params,
            artifacts: pod.artifacts,
            deps: pod.deps,
        }
    }

    /// Fields every pod template takes: retries, timeout, tolerations,
    /// labels, annotations, service account.
    pub(super) fn common_pod_fields(
        &self,
        template: &mut Template,
        pod: &mut Pod,
        fields: &Fields,
    ) {
        let get = |k: &str| fields.get(k).map(|f| &f.value);
        template.retry_strategy = get("retries").and_then(|r| retry_strategy(pod, r));
        // `activeDeadlineSeconds` bounds the running pod; `timeout` the
        // node from its start, so a pod that can never schedule fails too.
        if let Some(t) = get("timeout") {
            template.active_deadline_seconds = Some(match t {
                Value::Duration { secs, .. } => seconds_text(*secs),
                other => pod.text(other),
            });
            template.timeout = Some(match t {
                Value::Duration { .. } => duration_text(pod, t),
                other => format!("{}s", pod.text(other)),
            });
        }
        if let Some(Value::List(items)) = get("tolerations") {
            template.tolerations = items
                .iter()
                .filter_map(|it| match &it.value {
                    Value::Map(m) => Some(toleration(pod, m)),
                    _ => None,
                })
                .collect();
        }
        let map = |pod: &mut Pod, k: &str| -> BTreeMap<String, String> {
            match get(k) {
                Some(Value::Map(m)) => m
                    .iter()
                    .map(|(k, v)| (k.to_string(), pod.text(&v.value)))
                    .collect(),
                _ => BTreeMap::new(),
            }
        };
        let labels = map(pod, "labels");
        let annotations = map(pod, "annotations");
        if !labels.is_empty() || !annotations.is_empty() {
            template.metadata = Some(PodMetadata {
                labels,
                annotations,
            });
        }
        if let Some(account) = get("service_account") {
            template.service_account_name = Some(pod.text(account));
        }
        template.affinity = pod_surface::affinity(fields);
        template.priority_class_name = get("priority_class").map(literal_text);
        self.plan.without_api_token(template);
    }
}

/// A value that means the same in every task: a literal, or exactly one
/// workflow parameter.
pub(super) fn global_value(plan: &Plan, v: &Value) -> Option<Global> {
    match v {
        Value::Ref(Ref::Param(p)) => Some(Global::Param(plan.param_dns(p))),
        Value::Str(parts) => match parts.as_slice() {
            [StrPart::Ref(Ref::Param(p))] => Some(Global::Param(plan.param_dns(p))),
            _ => plain_text(parts).map(Global::Literal),
        },
        Value::Int(_)
        | Value::Float(_)
        | Value::Bool(_)
        | Value::Duration { .. }
        | Value::Quantity(_) => Some(Global::Literal(literal_text(v))),
        _ => None,
    }
}

/// Puts a template's declared inputs first among the Argo template's inputs
/// (artifacts at the path where the body finds them).
pub(super) fn declare_inputs(template: &mut Template, declared: &[Input]) {
    let mut parameters = Vec::new();
    let mut artifacts = Vec::new();
    for input in declared {
        if input.ty.is_artifact() {
            artifacts.push(Artifact {
                name: input.name.to_string(),
                path: Some(format!("{INPUTS_DIR}/{}", input.name)),
                ..Default::default()
            });
        } else {
            parameters.push(Parameter {
                name: input.name.to_string(),
                ..Default::default()
            });
        }
    }
    let declared_names: HashSet<&str> = declared.iter().map(|i| i.name.as_str()).collect();
    parameters.extend(
        template
            .inputs
            .parameters
            .drain(..)
            .filter(|p| !declared_names.contains(p.name.as_str())),
    );
    artifacts.extend(
        template
            .inputs
            .artifacts
            .drain(..)
            .filter(|a| !declared_names.contains(a.name.as_str())),
    );
    template.inputs.parameters = parameters;
    template.inputs.artifacts = artifacts;
}

pub(super) fn stage_declared_outputs(program: &Program, stage: &Stage) -> Vec<Output> {
    let mut out: Vec<Output> = stage
        .uses
        .as_ref()
        .map(|u| program.template(u.template).outputs.clone())
        .unwrap_or_default();
    out.extend(stage.outputs.iter().cloned());
    out
}

/// The user's argv as `command` and `args` (a `script` is `shell -c
/// SCRIPT`, all in `command`); values a shell script reads go to
/// `env_vars` (`${MLP_V_n}`).
pub(super) fn user_argv(
    pod: &mut Pod,
    fields: &Fields,
    env_vars: &mut Vec<EnvVar>,
) -> (Vec<String>, Vec<String>) {
    let get = |k: &str| fields.get(k).map(|f| &f.value);
    let mut argv: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    if let Some(Value::Str(parts)) = get("script") {
        let shell = get("shell")
            .map(|v| pod.text(v))
            .unwrap_or_else(|| "sh".into());
        // Another interpreter's script holds no values (the checker
        // rejects them): only a shell reads `${MLP_V_n}`.
        let script = if argv::is_shell(&shell) {
            pod.shell_text(parts, env_vars)
        } else {
            pod.parts(parts)
        };
        argv.extend([shell, "-c".into(), script]);
    } else {
        let list = |k: &str| match get(k) {
            Some(Value::List(items)) => items.as_slice(),
            _ => &[],
        };
        let (command, rest) = (list("command"), list("args"));
        let words: Vec<Option<String>> = command
            .iter()
            .chain(rest)
            .map(|i| crate::plan::literal::literal_word(&i.value))
            .collect();
        let words: Vec<Option<&str>> = words.iter().map(Option::as_deref).collect();
        let shell_script = match argv::code_argument(&words) {
            Some((i, argv::Code::Shell)) => Some(i),
            _ => None,
        };
        for (i, item) in command.iter().chain(rest).enumerate() {
            let text = match &item.value {
                Value::Str(parts) if shell_script == Some(i) => pod.shell_text(parts, env_vars),
                other => pod.text(other),
            };
            if i < command.len() {
                argv.push(text);
            } else {
                args.push(text);
            }
        }
    }
    (argv, args)
}

fn plan_stage_name(plan: &Plan, i: StageId) -> String {
    plan.pipeline.stage(i).name.to_string()
}
