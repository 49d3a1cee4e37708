//! `monitor = true` (§9.7): Argo's custom Prometheus metrics.
//!
//! Per monitored stage, on the template of the task whose end is the
//! stage's end: a histogram of its duration and a counter of its results,
//! labelled `pipeline`, `stage`, `status`; per declared metric of a
//! monitored tracked `train` stage, a gauge on its metric step (the value
//! read from MLflow), labelled `pipeline`, `stage`, `metric`. With the
//! pipeline's `monitor = true`, the same two for the whole run.
//!
//! Every name, help text and bucket list is a constant here: Argo's
//! controller refuses a metric whose help text or type differs from an
//! earlier one of the same name, across every workflow it runs
//! (workflow/metrics/metrics_custom.go `matchExistingMetric`), and a
//! histogram's buckets are fixed when its series is first made. Names and
//! label keys follow Argo's rule (`metrics.IsValidMetricName`: Prometheus'
//! legacy names, no `:`), checked by the tests; label values hold only
//! the pipeline's and stage's names, a metric's name and the node's
//! status, so no run adds a series of its own.

use super::argo::{Counter, Gauge, Histogram, MetricLabel, Metrics, Prometheus};

/// A stage's duration (`{{duration}}`, seconds from start to end).
pub const STAGE_DURATION: (&str, &str) = (
    "mlp_stage_duration_seconds",
    "mlpc: duration of a stage in seconds, by pipeline, stage and status",
);
/// Each end of a stage, by status.
pub const STAGE_RESULTS: (&str, &str) = (
    "mlp_stage_results_total",
    "mlpc: finished runs of a stage, by pipeline, stage and status",
);
/// A model metric a tracked `train` stage logged, as MLflow has it.
pub const MODEL_METRIC: (&str, &str) = (
    "mlp_model_metric",
    "mlpc: last value of a declared model metric of a tracked train stage, read from MLflow",
);
/// The run's duration.
pub const PIPELINE_DURATION: (&str, &str) = (
    "mlp_pipeline_duration_seconds",
    "mlpc: duration of a pipeline run in seconds, by pipeline and status",
);
/// Each end of a run, by status.
pub const PIPELINE_RESULTS: (&str, &str) = (
    "mlp_pipeline_results_total",
    "mlpc: finished runs of a pipeline, by pipeline and status",
);

/// Every metric mlpc may emit, for the documentation and the tests.
pub const ALL: [(&str, &str); 5] = [
    STAGE_DURATION,
    STAGE_RESULTS,
    MODEL_METRIC,
    PIPELINE_DURATION,
    PIPELINE_RESULTS,
];

/// Seconds, from half a minute to a day: the same for every histogram.
pub const BUCKETS: [u64; 10] = [30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400];

/// What the report step writes for a metric the run lacks.
pub const MISSING: &str = "missing";

/// The label keys; none is `le` (a histogram's own) or starts with `__`.
pub const PIPELINE: &str = "pipeline";
pub const STAGE: &str = "stage";
pub const STATUS: &str = "status";
pub const METRIC: &str = "metric";

fn label(key: &'static str, value: impl Into<String>) -> MetricLabel {
    MetricLabel {
        key,
        value: value.into(),
    }
}

fn duration_and_results(
    labels: Vec<MetricLabel>,
    duration_value: &str,
    (duration, results): ((&'static str, &'static str), (&'static str, &'static str)),
) -> Vec<Prometheus> {
    vec![
        Prometheus {
            name: duration.0,
            help: duration.1,
            labels: labels.clone(),
            when: None,
            gauge: None,
            histogram: Some(Histogram {
                value: duration_value.into(),
                buckets: BUCKETS.to_vec(),
            }),
            counter: None,
        },
        Prometheus {
            name: results.0,
            help: results.1,
            labels,
            when: None,
            gauge: None,
            histogram: None,
            counter: Some(Counter { value: "1".into() }),
        },
    ]
}

/// A stage's duration and result, on the template whose node is the
/// stage's end (`{{status}}` and `{{duration}}` are that node's).
pub fn stage(pipeline: &str, stage: &str) -> Metrics {
    let labels = vec![
        label(PIPELINE, pipeline),
        label(STAGE, stage),
        label(STATUS, "{{status}}"),
    ];
    Metrics {
        prometheus: duration_and_results(labels, "{{duration}}", (STAGE_DURATION, STAGE_RESULTS)),
    }
}

/// The report step's output for the `i`-th declared metric. Positional:
/// an MLflow key may hold `/`, `.` or spaces, an Argo parameter name may
/// not (workflow/validate/validate.go `paramOrArtifactNameRegex`); the key
/// itself is the gauge's `metric` label. mlflow_report.py writes the same.
pub fn report_output(i: usize) -> String {
    format!("metric-{i}")
}

/// A gauge per metric, on the report step that writes each as an output
/// parameter: only when the step succeeded and the run had the metric
/// (the step writes `missing` otherwise, which Go's ParseFloat would
/// refuse). Argo evaluates `when` with govaluate after putting the values
/// in, bare words as strings (workflow/controller/operator.go
/// `computeMetrics`, steps.go `shouldExecute`).
pub fn model_metrics<'m>(
    pipeline: &str,
    stage: &str,
    metrics: impl IntoIterator<Item = &'m String>,
) -> Vec<Prometheus> {
    metrics
        .into_iter()
        .enumerate()
        .map(|(i, m)| (report_output(i), m))
        .map(|(out, m)| Prometheus {
            name: MODEL_METRIC.0,
            help: MODEL_METRIC.1,
            labels: vec![
                label(PIPELINE, pipeline),
                label(STAGE, stage),
                label(METRIC, m.clone()),
            ],
            when: Some(format!(
                "{{{{status}}}} == Succeeded && {{{{outputs.parameters.{out}}}}} != {MISSING}"
            )),
            gauge: Some(Gauge {
                value: format!("{{{{outputs.parameters.{out}}}}}"),
                realtime: false,
            }),
            histogram: None,
            counter: None,
        })
        .collect()
}

/// The run's duration and result (workflow-level metrics).
pub fn pipeline(pipeline: &str) -> Metrics {
    let labels = vec![
        label(PIPELINE, pipeline),
        label(STATUS, "{{workflow.status}}"),
    ];
    Metrics {
        prometheus: duration_and_results(
            labels,
            "{{workflow.duration}}",
            (PIPELINE_DURATION, PIPELINE_RESULTS),
        ),
    }
}

/// Argo's rule for metric names and label keys
/// (workflow/metrics/util.go `IsValidMetricName`): a Prometheus legacy
/// name without `:`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_help_pass_argos_validation() {
        for (name, help) in ALL {
            assert!(is_valid_metric_name(name), "{name}");
            assert!(!help.is_empty() && help.starts_with("mlpc: "), "{name}");
        }
        for key in [PIPELINE, STAGE, STATUS, METRIC] {
            assert!(is_valid_metric_name(key) && key != "le" && !key.starts_with("__"));
        }
        assert!(!is_valid_metric_name("mlp:stage"));
        assert!(!is_valid_metric_name("1mlp"));
        assert!(BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
