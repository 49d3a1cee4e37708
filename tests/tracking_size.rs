//! What MLflow tracking adds to a compiled workflow (issue #11 item 1): the
//! benchmark pipeline (benches/shape.rs) with 40 and with 20 written-out
//! `train` stages, each compiled tracked and with `track = false`.
//!
//! The difference grows by the same amount for every tracked stage (its
//! init container, wrapper, sidecar, volume and `run_id` output), on top
//! of what a workflow with any tracked stage carries once (the programs, as
//! workflow parameters, and the exit handler). Run with `--nocapture` to
//! see both numbers.

#[path = "../benches/shape.rs"]
#[allow(dead_code)]
mod shape;

use shape::Variant;

/// Bytes of YAML each tracked stage may add.
const PER_STAGE_LIMIT: usize = 2048;
/// Bytes of YAML a workflow with tracked stages may add once.
const ONE_TIME_LIMIT: usize = 24 * 1024;

/// Bytes of YAML for the benchmark pipeline with `trains` training stages.
fn yaml_len(trains: usize, variant: Variant) -> usize {
    let text = shape::pipeline(trains + 3, variant);
    let analysis = mlpc::analyze("scale.mlp", None, text.as_bytes(), &mlpc::FsLoader);
    assert!(
        analysis.diagnostics.is_empty(),
        "the benchmark pipeline checks clean"
    );
    let program = analysis.program.expect("it checks");
    mlpc::yaml(&program, &Default::default())
        .expect("it compiles")
        .len()
}

/// What tracking the training stages adds.
fn tracking_cost(trains: usize) -> usize {
    yaml_len(trains, Variant::Tracked) - yaml_len(trains, Variant::Untracked)
}

#[test]
fn tracking_costs_at_most_2_kib_per_stage_and_24_kib_once() {
    let (cost_40, cost_20) = (tracking_cost(40), tracking_cost(20));
    // Stages 21..=40, whose names are the longest: an upper bound.
    let per_stage = (cost_40 - cost_20).div_ceil(20);
    let one_time = cost_40 - 40 * per_stage;
    eprintln!(
        "40 tracked train stages add {cost_40} bytes of YAML: {per_stage} bytes per stage \
         (limit {PER_STAGE_LIMIT}) and {one_time} bytes once (limit {ONE_TIME_LIMIT})"
    );
    assert!(
        per_stage <= PER_STAGE_LIMIT,
        "a tracked stage adds {per_stage} bytes (limit {PER_STAGE_LIMIT})"
    );
    assert!(
        one_time <= ONE_TIME_LIMIT,
        "a workflow with tracked stages adds {one_time} bytes once (limit {ONE_TIME_LIMIT})"
    );
}

#[test]
fn untracked_stages_add_nothing_for_mlflow() {
    // `track = false` on every stage: no program, no exit handler.
    let text = shape::pipeline(10, Variant::Untracked);
    let analysis = mlpc::analyze("scale.mlp", None, text.as_bytes(), &mlpc::FsLoader);
    let yaml = mlpc::yaml(&analysis.program.unwrap(), &Default::default()).unwrap();
    assert!(!yaml.contains("mlpc_mlflow"), "{yaml}");
    assert!(!yaml.contains("mlflow-cleanup"), "{yaml}");
}
