//! Plan -> Argo model: one document per pipeline.
//!
//! Each stage becomes a DAG task. A stage that uses a template without
//! changing its fields calls one Argo template shared by all such stages;
//! any other stage gets a template of its own. References become Argo
//! placeholders: `{{workflow.parameters.x}}` anywhere, and stage outputs as
//! inputs of the consuming template fed by `{{tasks.s.outputs...}}` in the
//! DAG. Values that reach a shell script travel in environment variables.
//!
//! Decisions ask the plan's typed data ([`crate::plan::Binding`], and the
//! typed reads, arguments and key parts of `pod`), never text rendered here.
//! Files: `document` (the workflow object), `task` (DAG tasks), `template`
//! (container stages' pod templates), `pod` (references inside a pod),
//! `generated` (metric gate, register), `deploy`, `cache` (memoization),
//! `when` (conditions), `manifest` (value-safe resource manifests).

use std::collections::{BTreeMap, BTreeSet};

use crate::collections::{HashMap, HashSet, IndexMap};

mod cache;
mod deploy;
mod distributed;
mod document;
mod generated;
mod group;
mod manifest;
mod pod;
mod pod_surface;
mod route;
mod task;
mod template;
mod when;

pub use document::lower_into;
use pod::{Arg, Global};

use super::argo::{self, DagTask, ExecutorConfig, Template, WorkflowSpec};
use super::mlflow::{self, Tracking};
use super::rbac;
use super::Options;
use crate::plan::literal::literal_text;
use crate::plan::Names;
use crate::sema::hir::{
    NodeId, Pipeline, Ref, RunField, Spanned, StageId, StrPart, TemplateId, Value,
};
use crate::sema::schema::StageKind;

/// Where artifacts a stage reads are placed in its container.
const INPUTS_DIR: &str = "/tmp/inputs";
/// Where the generated steps write their output parameters.
const STEP_OUTPUTS: &str = "/tmp/outputs";

/// The document for one pipeline's plan, whole (for tools and tests).
pub fn lower(plan: crate::plan::Plan<'_>, options: &Options) -> Result<argo::Document, String> {
    let mut stage_templates = Vec::new();
    let mut doc = lower_into(plan, options, &mut |t| stage_templates.push(t))?;
    let templates = &mut spec_mut(&mut doc).templates;
    let tail = templates.split_off(1);
    templates.extend(stage_templates);
    templates.extend(tail);
    Ok(doc)
}

pub fn spec_mut(doc: &mut argo::Document) -> &mut WorkflowSpec {
    match doc {
        argo::Document::Workflow(w) => &mut w.spec,
        argo::Document::CronWorkflow(c) => &mut c.spec.workflow_spec,
    }
}

/// `after` targets: task -> the tasks of its ancestors (see `push_task`).
type Order = BTreeMap<String, BTreeSet<String>>;

/// What every part of the lowering may ask about the pipeline: the
/// target-neutral plan (through `Deref`), and what only Argo needs.
struct Plan<'p> {
    ir: crate::plan::Plan<'p>,
    tracking: Option<Tracking>,
    /// The account of Argo's executor in pods without API access, and the
    /// account of the deploy steps (see `rbac.rs`).
    executor_account: String,
    deploy_account: String,
    /// The programs the generated containers run, held once per workflow
    /// as workflow parameters.
    programs: mlflow::Programs,
    /// The DAG whose tasks are being emitted: references are read as it
    /// sees them ([`route`]).
    at: std::cell::Cell<crate::plan::DagId>,
    /// Values crossing group boundaries, recorded as references are read.
    routes: std::cell::RefCell<route::Routes>,
}

impl<'p> std::ops::Deref for Plan<'p> {
    type Target = crate::plan::Plan<'p>;

    fn deref(&self) -> &Self::Target {
        &self.ir
    }
}

impl<'p> Plan<'p> {
    fn new(ir: crate::plan::Plan<'p>) -> Self {
        let pipeline = ir.pipeline;
        let programs = mlflow::Programs::new(ir.mlflow_steps.clone(), ir.deploy_wait);
        Plan {
            tracking: tracking(pipeline),
            executor_account: rbac::executor_account(pipeline),
            deploy_account: rbac::deploy_account(pipeline),
            programs,
            ir,
            at: std::cell::Cell::new(crate::plan::DagId::Main),
            routes: Default::default(),
        }
    }

    /// An output of a stage's task (`task`: the stage's or a helper's) as
    /// the DAG being emitted reads it.
    fn stage_output(
        &self,
        stage: StageId,
        task: &str,
        kind: route::Kind,
        name: &str,
    ) -> route::Routed {
        self.routed_output(self.dag_of(NodeId::Stage(stage)), task, kind, name)
    }

    fn setting(&self, name: &str) -> Option<&Value> {
        self.pipeline.settings.get(name).map(|s| &s.value)
    }

    fn setting_text(&self, name: &str) -> Option<String> {
        self.setting(name).map(literal_text)
    }

    fn setting_int(&self, name: &str) -> Option<i64> {
        match self.setting(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    fn setting_secs(&self, name: &str) -> Option<i64> {
        match self.setting(name) {
            Some(Value::Duration { secs, .. }) => Some(secs.ceil() as i64),
            _ => None,
        }
    }

    /// `history { successful, failed }`: runs a CronWorkflow keeps.
    fn history(&self, which: &str) -> Option<i64> {
        match self.setting("history") {
            Some(Value::Map(m)) => match m.get(which).map(|v| &v.value) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        }
    }

    fn setting_strings(&self, name: &str) -> Vec<String> {
        match self.setting(name) {
            Some(Value::List(items)) => items.iter().map(|i| literal_text(&i.value)).collect(),
            _ => Vec::new(),
        }
    }

    /// A pod none of whose own containers calls the Kubernetes API gets no
    /// token; Argo's executor containers get the executor account's, which
    /// Argo mounts into them alone (workflowpod.go `newExecContainer`) and
    /// requires with `automountServiceAccountToken: false` (validate.go
    /// `validateLeaf`). Leaves a pod that needs its token as it is.
    fn without_api_token(&self, template: &mut Template) {
        if template.automount_service_account_token.is_none() {
            template.automount_service_account_token = Some(false);
            template.executor = Some(ExecutorConfig {
                service_account_name: self.executor_account.clone(),
            });
        }
    }

    /// The apply and wait steps of a deploy stage call the Kubernetes API
    /// with the deploy account's token, Argo's containers included (the
    /// apply's `main` is Argo's own `argoexec resource`).
    fn with_deploy_token(&self, template: &mut Template) {
        template.service_account_name = Some(self.deploy_account.clone());
        template.automount_service_account_token = Some(true);
    }
}

fn tracking(pipeline: &Pipeline) -> Option<Tracking> {
    let Some(Spanned {
        value: Value::Map(block),
        ..
    }) = pipeline.settings.get("mlflow")
    else {
        return None;
    };
    let text = |k: &str| block.get(k).map(|v| global_text(&v.value));
    Some(Tracking {
        tracking_uri: text("tracking_uri").unwrap_or_default(),
        experiment: text("experiment").unwrap_or_default(),
        artifact_store: text("artifact_store"),
        image: text("image").unwrap_or_else(|| mlflow::DEFAULT_IMAGE.to_string()),
        credentials: match block.get("credentials").map(|v| &v.value) {
            Some(Value::Secret(secret)) => Some(secret.name.to_string()),
            _ => None,
        },
        ca_bundle: match block.get("ca_bundle").map(|v| &v.value) {
            Some(Value::Secret(ca)) => Some(mlflow::CaBundle {
                source: ca.source,
                name: ca.name.to_string(),
                key: ca.key.as_deref().unwrap_or_default().to_string(),
            }),
            _ => None,
        },
    })
}

/// Pipeline-level text: parameters are the only references it may hold.
fn global_text(v: &Value) -> String {
    match v {
        Value::Str(parts) => parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.clone(),
                StrPart::Ref(Ref::Param(name)) => format!(
                    "{{{{workflow.parameters.{}}}}}",
                    crate::sema::dns_name(name)
                )
                .into(),
                StrPart::Ref(Ref::Run(f)) => run_placeholder(*f).into(),
                StrPart::Ref(_) => String::new().into(),
            })
            .collect(),
        Value::Ref(Ref::Param(name)) => format!(
            "{{{{workflow.parameters.{}}}}}",
            crate::sema::dns_name(name)
        ),
        other => literal_text(other),
    }
}

fn run_placeholder(f: RunField) -> &'static str {
    match f {
        RunField::Name => "{{workflow.name}}",
        RunField::Uid => "{{workflow.uid}}",
        RunField::Namespace => "{{workflow.namespace}}",
        RunField::Pod => "{{pod.name}}",
        RunField::ScheduledTime => "{{workflow.scheduledTime}}",
        RunField::Status => "{{workflow.status}}",
        RunField::Failures => "{{workflow.failures}}",
    }
}

// ----- rendering references ---------------------------------------------------

// ----- emitting stages -------------------------------------------------------------

struct Emitter<'a, 'p> {
    plan: &'a Plan<'p>,
    /// Where finished templates go (collected, or serialized at once).
    sink: &'a mut dyn FnMut(Template),
    template_names: Names,
    /// HIR template index -> the shared Argo template and its implicit inputs.
    shared: HashMap<TemplateId, SharedTemplate>,
    /// Folded inputs for the template `pod_template` is building.
    folding: IndexMap<String, Global>,
    /// The `mlp-key-N` values (its artifacts' producers) for that template.
    key_args: Vec<cache::KeyArg>,
    /// Each DAG's tasks, with the source position of the stage or group
    /// each serves (tasks are written in source order).
    tasks: BTreeMap<crate::plan::DagId, Vec<(usize, DagTask)>>,
    /// The source position of the stage or group being emitted.
    order_key: usize,
    /// The first error in writing a manifest; the document is not written.
    failure: Option<String>,
}

#[derive(Clone)]
struct SharedTemplate {
    name: String,
    /// Implicit inputs the template needs beyond its declared ones (`item`).
    implicit: IndexMap<String, Arg>,
    /// Declared inputs folded into the template: its tasks do not pass them.
    folded: HashSet<String>,
}

/// A pod template built for a stage, and what its task must supply.
struct Built {
    template: Template,
    params: IndexMap<String, Arg>,
    artifacts: IndexMap<String, (pod::ArtifactFrom, String)>,
    deps: BTreeSet<String>,
}

impl<'a, 'p> Emitter<'a, 'p> {
    fn stage(&mut self, i: StageId) {
        let plan = self.plan;
        let stage = plan.stage(i);
        // A deploy stage, and only one, has the deploy tasks.
        match (&stage.deploy, stage.kind) {
            (Some(tasks), _) => self.deploy(i, tasks),
            (None, StageKind::Register) => self.register(i),
            (None, _) => self.container_stage(i),
        }
        if let Some(gate) = &stage.gate {
            self.gate(i, &gate.task, &gate.metrics);
        }
        if let Some(report) = &stage.report {
            self.report(i, report);
        }
    }
}
