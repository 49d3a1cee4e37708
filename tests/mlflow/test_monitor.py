"""End-to-end: `monitor`'s report step (src/emit/scripts/mlflow_report.py),
run exactly as emitted for examples/distributed_finetune.mlp, against the
real MLflow server: it writes each declared metric the run logged, writes
`missing` for one it did not (or a NaN), and never fails; and the gauges'
`when` then sets exactly the metrics the run has.
"""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from authproxy import AuthProxy  # noqa: E402
from emulator import Context, evaluate_when, python_alpine, run_template, template  # noqa: E402
from test_scenarios import CLUSTER_URI, INJECTED_IMAGE, STDLIB_PYTHON, URI, compile_example, fresh_uid, rest  # noqa: E402

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")

CREDENTIALS = {"username": "monitor", "password": "s3cret"}


@pytest.fixture(scope="module")
def doc():
    return compile_example("distributed_finetune.mlp")


@pytest.fixture(scope="module")
def proxy():
    p = AuthProxy(URI, **CREDENTIALS)
    yield p
    p.close()


def new_run(metrics):
    """A finished run of the example's experiment with these metrics."""
    try:
        exp = rest("GET", "experiments/get-by-name", query={"experiment_name": "support-assistant"})
        experiment = exp["experiment"]["experiment_id"]
    except AssertionError:
        experiment = rest("POST", "experiments/create", {"name": "support-assistant"})["experiment_id"]
    run = rest("POST", "runs/create", {"experiment_id": experiment, "run_name": "finetune"})["run"]["info"]
    # Through MLflow's own client: JSON has no NaN, the client sends it as MLflow expects.
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=URI)
    for key, value in metrics.items():
        client.log_metric(run["run_id"], key, value, timestamp=1, step=0)
    return run["run_id"]


def report(doc, run_id, service):
    uid = fresh_uid()
    ctx = Context(images={INJECTED_IMAGE: python_alpine(STDLIB_PYTHON)}, services={CLUSTER_URI: service},
                  secrets={"mlflow-credentials": dict(CREDENTIALS)}, workflow_uid=uid,
                  workflow_name="wf-" + uid[:8], inputs={"run_id": run_id})
    return run_template(doc, "finetune-report", ctx)


def gauges_set(doc, outputs, phase="Succeeded"):
    """The metrics whose gauge Argo sets: `when` after substitution."""
    out = []
    for m in template(doc, "finetune-report")["metrics"]["prometheus"]:
        name = [l["value"] for l in m["labels"] if l["key"] == "metric"][0]
        when = m["when"].replace("{{status}}", phase)
        when = when.replace("{{outputs.parameters.%s}}" % name, outputs[name])
        value = m["gauge"]["value"].replace("{{outputs.parameters.%s}}" % name, outputs[name])
        # Argo's shouldExecute reads a bare word as a string (it turns
        # govaluate's VARIABLE tokens into STRING tokens; the Rust model in
        # tests/argo_model/govaluate.rs does the same): quote them for the
        # emulator's evaluator, which reads quoted strings only.
        when = re.sub(r"\b(?!true\b|false\b)([A-Za-z_][A-Za-z0-9_]*)\b", r"'\1'", when)
        if evaluate_when(when):
            out.append((name, float(value)))
    return out


def test_a_logged_metric_is_reported_and_a_missing_one_is_not(doc, proxy):
    run_id = new_run({"eval_accuracy": 0.8731})
    res = report(doc, run_id, proxy.uri)
    assert res.main_code == 0, res.logs
    assert res.outputs == {"eval_accuracy": "0.8731", "eval_loss": "missing"}
    assert gauges_set(doc, res.outputs) == [("eval_accuracy", 0.8731)]
    assert gauges_set(doc, res.outputs, phase="Failed") == []
    assert proxy.rejected == 0


def test_a_nan_is_missing_and_both_metrics_reported(doc, proxy):
    run_id = new_run({"eval_accuracy": 0.5, "eval_loss": float("nan")})
    res = report(doc, run_id, proxy.uri)
    assert res.main_code == 0, res.logs
    assert res.outputs["eval_loss"] == "missing"
    run_id = new_run({"eval_accuracy": 0.5, "eval_loss": -1.25})
    res = report(doc, run_id, proxy.uri)
    assert gauges_set(doc, res.outputs) == [("eval_accuracy", 0.5), ("eval_loss", -1.25)]


def test_an_unreachable_server_never_fails_the_run(doc):
    res = report(doc, "0123456789abcdef0123456789abcdef", "http://127.0.0.1:9")
    assert res.main_code == 0, res.logs
    assert res.outputs == {"eval_accuracy": "missing", "eval_loss": "missing"}
    assert gauges_set(doc, res.outputs) == []
