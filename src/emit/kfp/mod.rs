//! Stage 4b, the Kubeflow Pipelines backend: plan -> KFP v2 IR -> YAML
//! (`mlpc compile --target kfp`; ../shared/reference/KFP-IR.md).
//!
//! One pipeline's plan becomes a `PipelineSpec` (components, executors, the
//! root DAG) and, when some task has Kubernetes settings, a `PlatformSpec`
//! as a second YAML document. Each stage is one task with a component and
//! an executor of its own (`comp-<task>`, `exec-<task>`): platform config is
//! per executor. What the IR cannot say is a diagnostic (E0501), never a
//! dropped field.

mod assembly;
mod cel;
mod check;
mod dag;
pub mod ir;
mod stage;
mod values;
mod wrap;

use std::collections::BTreeMap;

use crate::diag::MlpError;
use crate::plan::literal::literal_text;
use crate::plan::Plan;
use crate::sema::hir::{NodeId, Value};
use crate::sema::types::{ArtifactKind, Ty};
use crate::source::SourceSet;

use dag::{DagKey, Router};
use ir::*;
use stage::tracking::{Block, Programs};

/// The IR of one pipeline.
pub struct KfpDocument {
    pub spec: PipelineSpec,
    pub platform: Option<PlatformSpec>,
}

impl KfpDocument {
    /// The YAML: the pipeline spec, and the platform spec after `---` when
    /// there is one.
    pub fn to_yaml(&self) -> Result<String, String> {
        let mut out = yaml_through_json(&self.spec)?;
        if let Some(platform) = &self.platform {
            out.push_str("---\n");
            out.push_str(&yaml_through_json(platform)?);
        }
        Ok(out)
    }
}

/// Through JSON: the YAML writer has no form for enum variants with data
/// (`taskOutputParameter: {...}`), and protobuf's JSON is what the IR is
/// anyway.
/// The IR's `sdkVersion`: who wrote it, and with `--stamp` which release
/// (a version here would change every committed file with each release).
fn sdk_version(stamp: bool) -> String {
    match stamp {
        true => format!("mlpc-{}", env!("CARGO_PKG_VERSION")),
        false => "mlpc".to_string(),
    }
}

fn yaml_through_json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    crate::emit::yaml::to_yaml(&json)
}

/// The IR of one pipeline's plan, or every reason it has none.
pub fn document(
    plan: &Plan<'_>,
    sources: &SourceSet,
    stamp: bool,
) -> Result<KfpDocument, Vec<MlpError>> {
    let mut errors = check::unsupported(plan, sources);
    if !errors.is_empty() {
        return Err(errors);
    }
    let pipeline = plan.pipeline;
    let mut spec = PipelineSpec {
        components: BTreeMap::new(),
        deployment_spec: DeploymentSpec::default(),
        pipeline_info: PipelineInfo {
            name: pipeline.dns_name.to_string(),
            description: pipeline
                .settings
                .get("description")
                .map(|d| literal_text(&d.value)),
            display_name: (pipeline.name != pipeline.dns_name).then(|| pipeline.name.to_string()),
        },
        root: ComponentSpec {
            dag: Some(Dag::default()),
            input_definitions: root_inputs(plan),
            ..Default::default()
        },
        schema_version: "2.1.0",
        sdk_version: sdk_version(stamp),
    };
    let mut platform = KubernetesPlatform {
        pipeline_config: pipeline_config(plan),
        ..Default::default()
    };
    let mut router = Router {
        names: plan_names(plan),
        ..Default::default()
    };
    let shared = stage::Shared {
        pull_secrets: pull_secrets(plan),
        programs: Programs::of(plan),
        block: Block::of(plan),
        tracking: tracking_tasks(plan, &mut router.names),
    };
    shared
        .programs
        .root_inputs(&mut spec.root.input_definitions);
    let mut dags: BTreeMap<DagKey, Dag> = BTreeMap::new();
    run_volumes(plan, &mut router, &mut spec, &mut dags);
    for (i, s) in plan.stages.iter().enumerate() {
        let id = crate::sema::hir::StageId(i);
        let tasks = match stage::tasks(plan, sources, &mut router, id, &shared) {
            Ok(t) => t,
            Err(mut e) => {
                errors.append(&mut e);
                continue;
            }
        };
        let own = *dag::stage_path(plan, id).last().unwrap_or(&DagKey::Root);
        for (name, built) in tasks {
            let mut task = add_component(&mut spec, &mut platform, &name, built);
            // `after` waits for siblings of the node: the loop's task waits
            // when the stage loops. An exit task keeps its one upstream.
            let exit = task
                .trigger_policy
                .as_ref()
                .is_some_and(|t| t.strategy.is_some());
            if s.fan_out.is_none() && !exit {
                task.dependent_tasks
                    .extend(assembly::order_deps(plan, NodeId::Stage(id)));
                task.dependent_tasks.sort();
                task.dependent_tasks.dedup();
            }
            dags.entry(own).or_default().tasks.insert(name, task);
        }
    }
    if plan.cleanup {
        if let Some(block) = &shared.block {
            match stage::cleanup(plan, sources, &mut router, block, &shared) {
                Ok(built) => {
                    let name = plan.cleanup_task.clone();
                    let task = add_component(&mut spec, &mut platform, &name, built);
                    dags.entry(DagKey::Finally)
                        .or_default()
                        .tasks
                        .insert(name, task);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
    }
    let dag_tasks = assembly::calling_tasks(plan, &mut router, &mut errors, sources);
    if !errors.is_empty() {
        return Err(errors);
    }
    assembly::assemble(plan, &router, dag_tasks, dags, &mut spec);
    clear_of_pipeline_name(&mut spec, &mut platform);
    let platform = (!platform.deployment_spec.executors.is_empty()
        || !platform.pipeline_config.is_empty())
    .then_some(PlatformSpec {
        platforms: Platforms {
            kubernetes: platform,
        },
    });
    Ok(KfpDocument { spec, platform })
}

/// Puts a task's component and executor (and its platform config) into
/// the spec, named after the task; returns the task, naming its component.
fn add_component(
    spec: &mut PipelineSpec,
    platform: &mut KubernetesPlatform,
    name: &str,
    built: stage::Built,
) -> Task {
    let label = format!("exec-{name}");
    let component = format!("comp-{name}");
    spec.components.insert(
        component.clone(),
        ComponentSpec {
            executor_label: Some(label.clone()),
            input_definitions: built.inputs,
            output_definitions: built.outputs,
            ..Default::default()
        },
    );
    spec.deployment_spec.executors.insert(
        label.clone(),
        Executor {
            container: built.container,
        },
    );
    if !built.platform.is_empty() {
        platform
            .deployment_spec
            .executors
            .insert(label, built.platform);
    }
    let mut task = built.task;
    task.component_ref = ComponentRef { name: component };
    task
}

/// Every task name the plan gave, taken: the backend's own tasks get
/// names clear of them.
fn plan_names(plan: &Plan<'_>) -> crate::plan::Names {
    let mut names = crate::plan::Names::default();
    for s in &plan.stages {
        for t in [&s.task]
            .into_iter()
            .chain(s.gate.as_ref().map(|g| &g.task))
            .chain(s.deploy.iter().flat_map(|d| [&d.resolve, &d.wait]))
        {
            names.fresh(t);
        }
    }
    for g in &plan.groups {
        names.fresh(&g.task);
    }
    names.fresh(&plan.cleanup_task);
    names
}

/// The start and end tasks of each tracked stage, named after its task.
fn tracking_tasks(
    plan: &Plan<'_>,
    names: &mut crate::plan::Names,
) -> Vec<Option<stage::tracking::TrackingTasks>> {
    plan.stages
        .iter()
        .map(|s| {
            s.mlflow_steps
                .contains(&crate::plan::MlflowStep::Init)
                .then(|| stage::tracking::TrackingTasks {
                    start: names.fresh(&format!("{}-mlflow-start", s.task)),
                    end: names.fresh(&format!("{}-mlflow-end", s.task)),
                })
        })
        .collect()
}

/// Each run volume's claim: made by a task at the start of the main DAG
/// (kfp-kubernetes `CreatePVC`, run by KFP's driver), deleted by one in
/// `finally`'s (`DeletePVC`), however the run ended.
fn run_volumes(
    plan: &Plan<'_>,
    router: &mut Router,
    spec: &mut PipelineSpec,
    dags: &mut BTreeMap<DagKey, Dag>,
) {
    for v in &plan.pipeline.volumes {
        let create = router.names.fresh(&format!("createpvc-{}", v.dns_name));
        let delete = router.names.fresh(&format!("deletepvc-{}", v.dns_name));
        let constant = |v: serde_json::Value| -> TaskParameter {
            ParameterInput::RuntimeValue(RuntimeValue { constant: v }).into()
        };
        let string = |s: &str| constant(serde_json::Value::String(s.into()));
        let mut inputs = TaskInputs::default();
        inputs.parameters.insert(
            "access_modes".into(),
            constant(serde_json::json!([v.access.as_str()])),
        );
        // A name of its own per run: `<uuid>-<volume>`.
        inputs.parameters.insert(
            "pvc_name_suffix".into(),
            string(&format!("-{}", v.dns_name)),
        );
        inputs.parameters.insert("size".into(), string(&v.size));
        if let Some(class) = &v.storage_class {
            inputs
                .parameters
                .insert("storage_class_name".into(), string(class));
        }
        let task = volume_task(spec, &create, "argostub/createpvc", pvc_inputs(), inputs);
        dags.entry(DagKey::Main)
            .or_default()
            .tasks
            .insert(create.clone(), task);
        router.volume_tasks.push(create.clone());
        // The claim's name, routed into `finally`'s DAG.
        let (at, _) = router.route(
            plan,
            &dag::Value {
                kind: dag::Kind::Parameter,
                parameter: Some(ParameterSpec::of(ParameterType::String)),
                artifact: None,
            },
            dag::At::Task {
                task: create.clone(),
                key: "name".into(),
            },
            &[DagKey::Root, DagKey::Main],
            &[DagKey::Root, DagKey::Finally],
            &format!("pipelinechannel--{create}-name"),
        );
        let mut inputs = TaskInputs::default();
        inputs
            .parameters
            .insert("pvc_name".into(), dag::parameter_input(&at).into());
        let mut defs = Definitions::default();
        defs.parameters
            .insert("pvc_name".into(), ParameterSpec::of(ParameterType::String));
        let task = volume_task(spec, &delete, "argostub/deletepvc", defs, inputs);
        dags.entry(DagKey::Finally)
            .or_default()
            .tasks
            .insert(delete, task);
    }
}

/// The inputs of kfp-kubernetes' `CreatePVC` component, as KFP's driver
/// reads them (backend/src/v2/driver/k8s.go, `createPVC`).
fn pvc_inputs() -> Definitions {
    let mut defs = Definitions::default();
    let optional = |t| ParameterSpec {
        is_optional: true,
        ..ParameterSpec::of(t)
    };
    let p = &mut defs.parameters;
    p.insert(
        "access_modes".into(),
        ParameterSpec::of(ParameterType::List),
    );
    p.insert("annotations".into(), optional(ParameterType::Struct));
    p.insert("data_source".into(), optional(ParameterType::Struct));
    p.insert("pvc_name".into(), optional(ParameterType::String));
    p.insert("pvc_name_suffix".into(), optional(ParameterType::String));
    p.insert("size".into(), ParameterSpec::of(ParameterType::String));
    p.insert(
        "storage_class_name".into(),
        ParameterSpec {
            default_value: Some(serde_json::Value::String(String::new())),
            ..optional(ParameterType::String)
        },
    );
    p.insert("volume_name".into(), optional(ParameterType::String));
    defs
}

/// A task the driver runs itself (the executor's stub image says which
/// operation); never cached: a cached `CreatePVC` would hand out a claim
/// an earlier run made, and deleted.
fn volume_task(
    spec: &mut PipelineSpec,
    name: &str,
    image: &str,
    inputs: Definitions,
    task_inputs: TaskInputs,
) -> Task {
    let mut outputs = Definitions::default();
    if image.ends_with("createpvc") {
        outputs
            .parameters
            .insert("name".into(), ParameterSpec::of(ParameterType::String));
    }
    let built = stage::Built {
        inputs,
        outputs,
        container: Container {
            image: image.into(),
            ..Default::default()
        },
        platform: ExecutorConfig::default(),
        task: Task::container(name.into(), task_inputs, Vec::new()),
    };
    let mut platform = KubernetesPlatform::default();
    add_component(spec, &mut platform, name, built)
}

/// kfp's SDK loads a file whose component or executor is named after the
/// pipeline (`comp-P`, `exec-P`) as that one component
/// (`load_component_from_file`; ../shared/reference/KFP-IR.md §3.1): such
/// a name gets a suffix, and everything that names it follows.
fn clear_of_pipeline_name(spec: &mut PipelineSpec, platform: &mut KubernetesPlatform) {
    let comp = format!("comp-{}", spec.pipeline_info.name);
    let exec = format!("exec-{}", spec.pipeline_info.name);
    let fresh = |taken: &dyn Fn(&str) -> bool, base: &str| {
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|c| !taken(c))
            .unwrap_or_default()
    };
    if spec.components.contains_key(&comp) {
        let new = fresh(&|c| spec.components.contains_key(c), &comp);
        if let Some(c) = spec.components.remove(&comp) {
            spec.components.insert(new.clone(), c);
        }
        let dags = spec
            .components
            .values_mut()
            .filter_map(|c| c.dag.as_mut())
            .chain(spec.root.dag.as_mut());
        for dag in dags {
            for t in dag.tasks.values_mut() {
                if t.component_ref.name == comp {
                    t.component_ref.name = new.clone();
                }
            }
        }
    }
    if spec.deployment_spec.executors.contains_key(&exec) {
        let new = fresh(&|e| spec.deployment_spec.executors.contains_key(e), &exec);
        if let Some(e) = spec.deployment_spec.executors.remove(&exec) {
            spec.deployment_spec.executors.insert(new.clone(), e);
        }
        for c in spec.components.values_mut() {
            if c.executor_label.as_deref() == Some(exec.as_str()) {
                c.executor_label = Some(new.clone());
            }
        }
        if let Some(p) = platform.deployment_spec.executors.remove(&exec) {
            platform.deployment_spec.executors.insert(new, p);
        }
    }
}

/// The pipeline's parameters: the root DAG's inputs, by their names in the
/// source (kfp keeps `learning_rate`).
fn root_inputs(plan: &Plan<'_>) -> Definitions {
    let mut defs = Definitions::default();
    for p in &plan.pipeline.params {
        let mut spec = ParameterSpec::of(parameter_type(&p.ty));
        if let Some(d) = &p.default {
            spec.default_value = Some(default_value(&d.value, &p.ty));
            spec.is_optional = true;
        }
        defs.parameters.insert(p.name.to_string(), spec);
    }
    defs
}

/// A default as a protobuf `Value` of the parameter's type.
fn default_value(v: &Value, ty: &Ty) -> serde_json::Value {
    match ty {
        Ty::List(_) | Ty::Map | Ty::Int | Ty::Float | Ty::Bool => {
            crate::plan::literal::literal_json(v)
        }
        _ => serde_json::Value::String(literal_text(v)),
    }
}

/// The IR's type of a value of `ty`.
pub fn parameter_type(ty: &Ty) -> ParameterType {
    match ty {
        Ty::Int => ParameterType::NumberInteger,
        Ty::Float => ParameterType::NumberDouble,
        Ty::Bool => ParameterType::Boolean,
        Ty::List(_) => ParameterType::List,
        Ty::Map => ParameterType::Struct,
        _ => ParameterType::String,
    }
}

/// The IR's type of an artifact of `kind` (kfp's `system.*` schemas).
pub fn artifact_type(kind: ArtifactKind) -> ArtifactType {
    ArtifactType {
        schema_title: match kind {
            ArtifactKind::Dataset => "system.Dataset",
            ArtifactKind::Model => "system.Model",
            ArtifactKind::File | ArtifactKind::Dir | ArtifactKind::Artifact => "system.Artifact",
        },
        schema_version: "0.0.1",
    }
}

/// `timeout` and `ttl_after_finished` of the run.
fn pipeline_config(plan: &Plan<'_>) -> PipelineConfig {
    let secs = |k: &str| match plan.pipeline.settings.get(k).map(|v| &v.value) {
        Some(Value::Duration { secs, .. }) => Some(secs.ceil() as i64),
        _ => None,
    };
    PipelineConfig {
        active_deadline_seconds: secs("timeout"),
        resource_ttl_on_completion: secs("ttl_after_finished"),
    }
}

/// `image_pull_secrets`: set on every executor.
fn pull_secrets(plan: &Plan<'_>) -> Vec<String> {
    match plan
        .pipeline
        .settings
        .get("image_pull_secrets")
        .map(|v| &v.value)
    {
        Some(Value::List(items)) => items.iter().map(|i| literal_text(&i.value)).collect(),
        _ => Vec::new(),
    }
}
