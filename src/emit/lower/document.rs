//! The workflow document around the stages: entry DAG, exit handler,
//! arguments and the Workflow, WorkflowTemplate or CronWorkflow object.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{pod_surface, Emitter, Plan};
use crate::collections::{HashMap, IndexMap};
use crate::emit::argo::{
    self, Arguments, CronWorkflow, CronWorkflowSpec, Dag, Parameter, Template, TtlStrategy,
    VolumeClaimGc, Workflow, WorkflowSpec,
};
use crate::emit::mlflow::{self, env};
use crate::emit::{Options, OutputKind};
use crate::plan::literal::literal_text;
use crate::plan::DagId;
use crate::plan::Names;
use crate::sema::hir::{GroupId, NodeId, Pipeline};
use crate::sema::types::Ty;

/// Lowers one pipeline's plan, handing each stage's templates to `sink` as
/// soon as they are built (so they need not all be held at once). The
/// returned document's templates are the entry DAG, then the exit handler
/// if any; the stage templates belong between them.
pub fn lower_into(
    plan: crate::plan::Plan<'_>,
    options: &Options,
    sink: &mut dyn FnMut(Template),
) -> Result<argo::Document, String> {
    let pipeline = plan.pipeline;
    let plan = Plan::new(plan);
    let mut out = Emitter {
        plan: &plan,
        sink,
        template_names: Names::default(),
        shared: HashMap::default(),
        folding: IndexMap::default(),
        key_args: Vec::new(),
        tasks: Default::default(),
        order_key: 0,
        failure: None,
    };
    let entry = out.template_names.fresh("main");
    for (i, stage) in pipeline.stages_with_ids() {
        // A later use of a group template runs the first use's template.
        if plan.in_shared_copy(NodeId::Stage(i)) {
            continue;
        }
        plan.at.set(plan.dag_of(NodeId::Stage(i)));
        out.order_key = stage.span.start as usize;
        out.stage(i);
    }
    // Every task that calls a group is written after what the group holds
    // (the deepest groups first): only then are its imports all known.
    // Every use of a group template calls one DAG template, named after
    // the template; other groups have their own.
    let lowered: Vec<GroupId> = (0..pipeline.groups.len())
        .map(GroupId::new)
        .filter(|g| !plan.in_shared_copy(NodeId::Group(*g)))
        .collect();
    let mut group_templates: BTreeMap<GroupId, String> = BTreeMap::new();
    for &g in &lowered {
        let group = pipeline.group(g);
        let name = match &group.uses {
            Some(u) if u.first != g => group_templates[&u.first].clone(),
            Some(u) => out
                .template_names
                .fresh(&plan.program.group_template(u.template).dns_name),
            None => out.template_names.fresh(&group.dns_name),
        };
        group_templates.insert(g, name);
    }
    // What the shared templates give out is routed first: it may export
    // values from groups inside them.
    let template_outputs: BTreeMap<GroupId, argo::Inputs> = lowered
        .iter()
        .filter(|g| {
            pipeline
                .group(**g)
                .uses
                .as_ref()
                .is_some_and(|u| u.first == **g)
        })
        .map(|&g| (g, out.template_outputs(g)))
        .collect();
    let mut deepest_first = lowered.clone();
    deepest_first.sort_by_key(|g| std::cmp::Reverse(pipeline.enclosing(NodeId::Group(*g)).len()));
    for &g in &deepest_first {
        out.group_task(g, &group_templates[&g]);
    }
    let mut template_outputs = template_outputs;
    for &g in &lowered {
        let shared_later = pipeline
            .group(g)
            .uses
            .as_ref()
            .is_some_and(|u| u.first != g);
        if shared_later {
            continue;
        }
        let declared = template_outputs.remove(&g);
        let template = out.group_template(g, group_templates[&g].clone(), declared);
        (out.sink)(template);
    }
    if let Some(e) = out.failure.take() {
        return Err(e);
    }
    let main_tasks = out.take_tasks(DagId::Main);
    let volume_templates = out.kept_volume_templates();
    let volume_steps: Vec<(String, String)> = plan
        .volume_tasks
        .iter()
        .zip(&volume_templates)
        .map(|((_, task), template)| (task.clone(), template.name.clone()))
        .collect();
    let main_tasks = pod_surface::after_kept_volumes(main_tasks, &volume_steps);
    let mut templates = vec![Template {
        name: entry.clone(),
        dag: Some(Dag { tasks: main_tasks }),
        ..Default::default()
    }];
    templates.extend(volume_templates);
    let cleanup = plan.tracking.as_ref().filter(|_| plan.cleanup).map(|t| {
        let name = out.template_names.fresh("mlflow-cleanup");
        let container = t.step_container(
            &plan.programs,
            "main",
            mlflow::Step::Cleanup,
            vec![env("MLP_WORKFLOW_UID", "{{workflow.uid}}")],
        );
        let mut template = Template {
            name: name.clone(),
            container: Some(container),
            volumes: t.ca_volume().into_iter().collect(),
            ..Default::default()
        };
        plan.without_api_token(&mut template);
        templates.push(template);
        name
    });
    let training_cleanup = out.training_cleanup_template().map(|t| {
        let name = t.name.clone();
        templates.push(t);
        name
    });
    let on_exit = if plan.has_finally() {
        let name = out.template_names.fresh("finally");
        let mut finally = out.finally_template(
            name.clone(),
            cleanup.as_deref(),
            training_cleanup.as_deref(),
        );
        if let Some(dag) = &mut finally.dag {
            dag.tasks =
                pod_surface::after_kept_volumes(std::mem::take(&mut dag.tasks), &volume_steps);
        }
        templates.push(finally);
        Some(name)
    } else if let (Some(_), Some(_)) = (&cleanup, &training_cleanup) {
        // Both on exit: a DAG of the two, side by side.
        let name = out.template_names.fresh("exit-handler");
        let exit = out.finally_template(
            name.clone(),
            cleanup.as_deref(),
            training_cleanup.as_deref(),
        );
        templates.push(exit);
        Some(name)
    } else {
        cleanup.or(training_cleanup)
    };
    let mut arguments = workflow_arguments(pipeline);
    let programs = plan.programs.parameters();
    if !programs.is_empty() {
        arguments
            .get_or_insert_with(Default::default)
            .parameters
            .extend(programs);
    }
    let metrics = plan
        .monitored
        .then(|| crate::emit::monitor::pipeline(&pipeline.name));
    let spec = WorkflowSpec {
        metrics,
        entrypoint: entry,
        arguments,
        service_account_name: plan.setting_text("service_account"),
        parallelism: plan.setting_int("parallelism"),
        active_deadline_seconds: plan.setting_secs("timeout"),
        ttl_strategy: plan
            .setting_secs("ttl_after_finished")
            .map(|s| TtlStrategy {
                seconds_after_completion: s,
            }),
        security_context: match pipeline
            .defaults
            .get("security")
            .map(|f| literal_text(&f.value))
        {
            Some(profile) if profile == "restricted" => Some(mlflow::restricted_pod()),
            _ => None,
        },
        image_pull_secrets: plan
            .setting_strings("image_pull_secrets")
            .into_iter()
            .map(|name| LocalObjectReference { name })
            .collect(),
        on_exit,
        volume_claim_templates: pipeline
            .volumes
            .iter()
            .filter(|v| !v.keep)
            .map(|v| pod_surface::claim(v, v.dns_name.to_string()))
            .collect(),
        volume_claim_gc: pipeline
            .volumes
            .iter()
            .any(|v| !v.keep)
            .then_some(VolumeClaimGc {
                strategy: "OnWorkflowCompletion",
            }),
        templates,
    };
    let mut metadata = ObjectMeta {
        namespace: plan.setting_text("namespace"),
        ..Default::default()
    };
    if let Some(description) = plan.setting_text("description") {
        metadata.annotations = Some(BTreeMap::from([(
            "workflows.argoproj.io/description".to_string(),
            description,
        )]));
    }
    let schedules = plan.setting_strings("schedule");
    Ok(match options.kind {
        OutputKind::WorkflowTemplate => {
            metadata.name = Some(pipeline.dns_name.to_string());
            argo::Document::Workflow(Workflow {
                api_version: argo::API_VERSION,
                kind: "WorkflowTemplate",
                metadata,
                spec,
            })
        }
        OutputKind::Workflow if !schedules.is_empty() => {
            metadata.name = Some(pipeline.dns_name.to_string());
            argo::Document::CronWorkflow(CronWorkflow {
                api_version: argo::API_VERSION,
                kind: "CronWorkflow",
                metadata,
                spec: CronWorkflowSpec {
                    schedules,
                    timezone: plan.setting_text("timezone"),
                    concurrency_policy: plan.setting_text("concurrency_policy"),
                    starting_deadline_seconds: plan.setting_secs("starting_deadline"),
                    successful_jobs_history_limit: plan.history("successful"),
                    failed_jobs_history_limit: plan.history("failed"),
                    workflow_spec: spec,
                },
            })
        }
        OutputKind::Workflow => {
            metadata.generate_name = Some(format!("{}-", pipeline.dns_name));
            argo::Document::Workflow(Workflow {
                api_version: argo::API_VERSION,
                kind: "Workflow",
                metadata,
                spec,
            })
        }
    })
}

/// `spec.arguments.parameters`: values are strings; a parameter without a
/// default is required at submit time.
pub(super) fn workflow_arguments(pipeline: &Pipeline) -> Option<Arguments> {
    if pipeline.params.is_empty() {
        return None;
    }
    let parameters = pipeline
        .params
        .iter()
        .map(|p| Parameter {
            name: p.dns_name.to_string(),
            value: p.default.as_ref().map(|d| literal_text(&d.value)),
            // `when` reads a bool parameter as a govaluate boolean, which
            // only `true` and `false` are: Argo refuses other values at submit.
            allowed: if p.ty == Ty::Bool {
                vec!["true".into(), "false".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        })
        .collect();
    Some(Arguments {
        parameters,
        artifacts: Vec::new(),
    })
}
