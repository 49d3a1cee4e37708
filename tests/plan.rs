//! The plan of every example, without YAML: tasks, dependencies, skip
//! propagation, bindings and MLflow steps, checked against what each
//! program says.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use mlpc::plan::{self, Binding, MlflowStep, OutputRead, Plan, TemplateChoice};
use mlpc::sema::hir::{refs_in_cond, DepKind, Program, Ref, StageId};

fn program(example: &str) -> Program {
    let a = common::analyze_file(Path::new(&format!("examples/{example}.mlp")));
    a.program.expect("the example checks")
}

fn index(plan: &Plan, stage: &str) -> StageId {
    plan.pipeline
        .stages_with_ids()
        .find(|(_, s)| s.name == stage)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no stage {stage}"))
}

/// The stages a stage waits for, by name, with the kind of dependency.
fn deps(plan: &Plan, stage: &str) -> BTreeSet<(String, &'static str)> {
    plan.pipeline
        .stage(index(plan, stage))
        .deps
        .iter()
        .map(|d| {
            let kind = match d.kind {
                DepKind::Data => DATA,
                DepKind::Order => ORDER,
            };
            (plan.pipeline.node_name(d.on).to_string(), kind)
        })
        .collect()
}

/// A dependency through a reference to an output, or through `after`.
const DATA: &str = "data";
const ORDER: &str = "order";

fn names(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn when_bindings(plan: &Plan, stage: &str) -> Vec<Binding> {
    let mut out = Vec::new();
    if let Some(w) = &plan.pipeline.stage(index(plan, stage)).when {
        refs_in_cond(&w.value, &mut |r: &Ref| out.push(plan.binding(r)));
    }
    out
}

fn skipping(plan: &Plan) -> BTreeSet<String> {
    plan.pipeline
        .stages
        .iter()
        .zip(&plan.stages)
        .filter(|(_, p)| p.may_skip)
        .map(|(s, _)| s.name.to_string())
        .collect()
}

#[test]
fn fraud_champion() {
    let program = program("fraud_champion");
    let plan = plan::plan(&program, &program.pipelines[0]);
    let [challenger, promote, serve] = ["challenger", "promote", "serve"].map(|s| index(&plan, s));
    // `promote` reads challenger's model and its metric (both data).
    assert_eq!(
        deps(&plan, "promote"),
        BTreeSet::from([("challenger".into(), DATA)])
    );
    assert_eq!(
        deps(&plan, "serve"),
        BTreeSet::from([("promote".into(), ORDER)])
    );
    // The metric is read through a gate after the tracked train stage.
    let gate = plan.stage(challenger).gate.clone().expect("a metric gate");
    assert_eq!(gate.task, "challenger-metrics");
    assert_eq!(gate.metrics, names(&["auc"]));
    assert_eq!(
        plan.stage(challenger).mlflow_steps,
        [MlflowStep::Init, MlflowStep::Finalize, MlflowStep::Metrics]
    );
    // Its `when` binds metric `auc` of the gate and the parameter.
    assert_eq!(
        when_bindings(&plan, "promote"),
        [
            Binding::Metric {
                gate: "challenger-metrics".into(),
                name: "auc".into(),
                fan_in: false,
            },
            Binding::Param {
                dns: "min-auc".into(),
                ty: mlpc::sema::types::Ty::Float
            }
        ]
    );
    assert_eq!(plan.stage(promote).mlflow_steps, [MlflowStep::Register]);
    // `serve` runs resolve -> apply -> wait; `after` waits for the wait.
    let tasks = plan.stage(serve).deploy.clone().expect("deploy tasks");
    assert_eq!(
        plan.stage_tasks(serve),
        ["serve", "serve-resolve", "serve-wait"]
    );
    assert_eq!(tasks.wait, plan.done_task(serve));
    assert_eq!(plan.stage(serve).mlflow_steps, [MlflowStep::Resolve]);
    // `promote` may be skipped (its `when`), and so may `serve` after it.
    assert_eq!(skipping(&plan), names(&["promote", "serve"]));
    for t in ["promote", "serve", "serve-resolve", "serve-wait"] {
        assert!(plan.skippable.contains(t), "{t}");
    }
    assert!(!plan.skippable.contains("challenger-metrics"));
    assert!(plan.cleanup);
    assert_eq!(
        plan.mlflow_steps,
        BTreeSet::from([
            MlflowStep::Init,
            MlflowStep::Finalize,
            MlflowStep::Cleanup,
            MlflowStep::Metrics,
            MlflowStep::Register,
            MlflowStep::Resolve
        ])
    );
}

#[test]
fn churn_model() {
    let program = program("churn_model");
    let plan = plan::plan(&program, &program.pipelines[0]);
    let model = index(&plan, "model");
    let registry = index(&plan, "churn_registry");
    let serve = index(&plan, "serve");
    assert!(deps(&plan, "model").contains(&("features".into(), DATA)));
    assert!(deps(&plan, "churn_registry").contains(&("model".into(), DATA)));
    assert!(deps(&plan, "serve").contains(&("churn_registry".into(), DATA)));
    // Two metrics of `model` are read, through one gate.
    let gate = plan.stage(model).gate.clone().expect("a metric gate");
    assert_eq!(gate.metrics, names(&["auc", "logloss"]));
    let metrics: Vec<Binding> = when_bindings(&plan, "churn_registry")
        .into_iter()
        .filter(|b| matches!(b, Binding::Metric { .. }))
        .collect();
    assert_eq!(metrics.len(), 2);
    assert!(metrics
        .iter()
        .all(|b| matches!(b, Binding::Metric { gate, .. } if *gate == format!("{}-metrics", plan.stage(model).task))));
    // The deploy's model is the registry's `version`, a task output.
    let version = mlpc::sema::hir::Ref::Output {
        stage: registry,
        output: "version".into(),
        fan_in: false,
    };
    assert!(matches!(
        plan.binding(&version),
        Binding::Output { task, read: OutputRead::Value(_), .. } if task == "churn-registry"
    ));
    assert_eq!(skipping(&plan), names(&["churn_registry", "serve"]));
    assert!(plan.stage(serve).deploy.is_some());
}

#[test]
fn hyperparameter_sweep() {
    let program = program("hyperparameter_sweep");
    let plan = plan::plan(&program, &program.pipelines[0]);
    let [grid, depth_scan, summary] = ["grid", "depth_scan", "summary"].map(|s| index(&plan, s));
    let fan = plan.stage(grid).fan_out.expect("grid fans out");
    assert_eq!(fan.parallelism, Some(2));
    assert!(!fan.from_reference);
    let fan = plan.stage(depth_scan).fan_out.expect("depth_scan fans out");
    assert_eq!(fan.parallelism, None);
    assert!(fan.from_reference);
    assert_eq!(
        deps(&plan, "summary"),
        BTreeSet::from([("grid".into(), ORDER), ("depth_scan".into(), ORDER)])
    );
    // Fan-outs and `when`s may skip; `download` cannot.
    assert_eq!(skipping(&plan), names(&["depth_scan", "grid", "summary"]));
    assert!(plan.stage(summary).fan_out.is_none());
    assert!(plan.stages.iter().all(|s| s.gate.is_none()));
}

#[test]
fn nightly_retrain() {
    let program = program("nightly_retrain");
    let plan = plan::plan(&program, &program.pipelines[0]);
    let [snapshot, check, nightly] = ["snapshot", "check", "nightly"].map(|s| index(&plan, s));
    // Plain uses of a template share it; `nightly` overrides the
    // template's `resources`, so it gets a template of its own.
    for s in [snapshot, check] {
        assert!(matches!(plan.stage(s).template, TemplateChoice::Shared(_)));
    }
    assert_eq!(plan.stage(nightly).template, TemplateChoice::Own);
    assert!(deps(&plan, "nightly").contains(&("check".into(), DATA)));
    // `nightly`'s when reads `check.bad_ratio`, a task output.
    assert!(when_bindings(&plan, "nightly").iter().any(|b| matches!(
        b,
        Binding::Output { task, output, .. } if task == "check" && output == "bad_ratio"
    )));
    assert_eq!(skipping(&plan), names(&["nightly", "publish"]));
    assert_eq!(
        plan.stage(nightly).gate.as_ref().map(|g| g.metrics.clone()),
        Some(names(&["auc"]))
    );
}

#[test]
fn terraform_optimization() {
    let program = program("terraform_optimization");
    let plan = plan::plan(&program, &program.pipelines[0]);
    let optimizer = index(&plan, "optimizer");
    let serve = index(&plan, "serve");
    assert!(matches!(
        plan.stage(index(&plan, "plan")).template,
        TemplateChoice::Shared(_)
    ));
    assert_eq!(
        plan.stage(optimizer)
            .gate
            .as_ref()
            .map(|g| g.metrics.clone()),
        Some(names(&["cost_reduction"]))
    );
    // `terraform_optimizer.model = optimizer.model`: a model URI read from
    // the train stage's run id.
    let model = Ref::Output {
        stage: optimizer,
        output: "model".into(),
        fan_in: false,
    };
    assert!(matches!(
        plan.binding(&model),
        Binding::Output {
            read: OutputRead::ModelUri { .. },
            ..
        }
    ));
    assert_eq!(skipping(&plan), names(&["serve", "terraform_optimizer"]));
    assert_eq!(plan.done_task(serve), "serve-wait");
}

/// Every example has a plan whose names are unique and whose dependencies
/// point at stages that exist.
#[test]
fn every_example_plans() {
    for path in common::mlp_files(&common::root().join("examples")) {
        let a = common::analyze_file(&common::relative(&path));
        let program = a.program.expect("the example checks");
        for pipeline in &program.pipelines {
            let plan = plan::plan(&program, pipeline);
            let mut seen = BTreeSet::new();
            for i in StageId::all(plan.stages.len()) {
                for t in plan.stage_tasks(i) {
                    assert!(seen.insert(t.clone()), "{t} twice in {path:?}");
                }
                // A stage waiting for a skippable stage may skip too.
                for d in &pipeline.stage(i).deps {
                    if let mlpc::sema::hir::NodeId::Stage(s) = d.on {
                        assert!(!plan.stage(s).may_skip || plan.stage(i).may_skip);
                    }
                }
                // The workflow runs every step some stage runs.
                for step in &plan.stage(i).mlflow_steps {
                    assert!(plan.mlflow_steps.contains(step), "{step:?} in {path:?}");
                }
            }
            every_binding_names_its_source(&plan);
        }
    }
}

/// Each reference's binding names the task that produces it, and two
/// references to other tasks' values have one binding only when they are
/// the same reference (the Argo lowering shares a fan-out's inputs by
/// binding).
fn every_binding_names_its_source(plan: &Plan) {
    let mut seen: Vec<(Ref, Binding)> = Vec::new();
    for stage in &plan.pipeline.stages {
        plan::visit_refs(stage, &mut |r| {
            let binding = plan.binding(r);
            match (r, &binding) {
                (
                    Ref::Output { stage, output, .. },
                    Binding::Output {
                        task, output: o, ..
                    },
                ) => {
                    assert_eq!(task, plan.done_task(*stage));
                    assert_eq!(o, output.as_str());
                    assert!(plan.output_ty(*stage, output).is_some(), "{output}");
                }
                (Ref::Metric { stage, name, .. }, Binding::Metric { gate, name: n, .. }) => {
                    let g = plan
                        .stage(*stage)
                        .gate
                        .as_ref()
                        .expect("a read metric has a gate");
                    assert_eq!(gate, &g.task);
                    assert!(g.metrics.contains(name.as_str()) && n == name.as_str());
                }
                (Ref::Param(_), Binding::Param { .. })
                | (Ref::Input(_), Binding::Input(_))
                | (Ref::Item(_), Binding::Item(_))
                | (Ref::GroupItem { .. }, Binding::GroupItem { .. })
                | (Ref::GroupInput(_), Binding::GroupInput(_))
                | (Ref::GroupOutput { .. }, Binding::GroupOutput { .. })
                | (Ref::Run(_), Binding::Run(_)) => {}
                other => panic!("{other:?}"),
            }
            if let (
                Ref::GroupOutput { group, output, .. },
                Binding::GroupOutput {
                    task, output: o, ..
                },
            ) = (r, &binding)
            {
                assert_eq!(task, &plan.groups[group.index()].task);
                assert_eq!(o, output.as_str());
                assert!(plan.group_output(*group, output).is_some(), "{output}");
            }
            if matches!(r, Ref::Output { .. } | Ref::Metric { .. }) {
                for (r2, b2) in &seen {
                    assert_eq!(r == r2, binding == *b2, "{r:?} / {r2:?}");
                }
                seen.push((r.clone(), binding));
            }
        });
    }
}
