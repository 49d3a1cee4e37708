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
fn yaml_through_json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    crate::emit::yaml::to_yaml(&json)
}

/// The IR of one pipeline's plan, or every reason it has none.
pub fn document(plan: &Plan<'_>, sources: &SourceSet) -> Result<KfpDocument, Vec<MlpError>> {
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
        sdk_version: format!("mlpc-{}", env!("CARGO_PKG_VERSION")),
    };
    let mut platform = KubernetesPlatform {
        pipeline_config: pipeline_config(plan),
        ..Default::default()
    };
    let pull_secrets = pull_secrets(plan);
    let mut router = Router::default();
    let mut dags: BTreeMap<DagKey, Dag> = BTreeMap::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let id = crate::sema::hir::StageId(i);
        let built = match stage::container(plan, sources, &mut router, id, &pull_secrets) {
            Ok(b) => b,
            Err(mut e) => {
                errors.append(&mut e);
                continue;
            }
        };
        let label = format!("exec-{}", s.task);
        let component = format!("comp-{}", s.task);
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
        // `after` waits for siblings of the node: the loop's task waits
        // when the stage loops.
        if s.fan_out.is_none() {
            task.dependent_tasks
                .extend(assembly::order_deps(plan, NodeId::Stage(id)));
        }
        let own = *dag::stage_path(plan, id).last().unwrap_or(&DagKey::Root);
        dags.entry(own)
            .or_default()
            .tasks
            .insert(s.task.clone(), task);
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
