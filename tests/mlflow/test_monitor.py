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


def report(doc, run_id, service, task="finetune-report"):
    uid = fresh_uid()
    ctx = Context(images={INJECTED_IMAGE: python_alpine(STDLIB_PYTHON)}, services={CLUSTER_URI: service},
                  secrets={"mlflow-credentials": dict(CREDENTIALS)}, workflow_uid=uid,
                  workflow_name="wf-" + uid[:8], inputs={"run_id": run_id})
    return run_template(doc, task, ctx)


OUTPUT = re.compile(r"\{\{outputs\.parameters\.([-A-Za-z0-9_]+)\}\}")


def by_metric(doc, outputs, task="finetune-report"):
    """What the step wrote, by MLflow key (the gauge's `metric` label)."""
    out = {}
    for m in template(doc, task)["metrics"]["prometheus"]:
        name = [l["value"] for l in m["labels"] if l["key"] == "metric"][0]
        out[name] = OUTPUT.sub(lambda g: outputs[g.group(1)], m["gauge"]["value"])
    return out


def gauges_set(doc, outputs, phase="Succeeded", task="finetune-report"):
    """The metrics whose gauge Argo sets: `when` after substitution."""
    out = []
    for m in template(doc, task)["metrics"]["prometheus"]:
        name = [l["value"] for l in m["labels"] if l["key"] == "metric"][0]
        when = OUTPUT.sub(lambda g: outputs[g.group(1)], m["when"].replace("{{status}}", phase))
        value = OUTPUT.sub(lambda g: outputs[g.group(1)], m["gauge"]["value"])
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
    assert by_metric(doc, res.outputs) == {"eval_accuracy": "0.8731", "eval_loss": "missing"}
    assert gauges_set(doc, res.outputs) == [("eval_accuracy", 0.8731)]
    assert gauges_set(doc, res.outputs, phase="Failed") == []
    assert proxy.rejected == 0


def test_a_nan_is_missing_and_both_metrics_reported(doc, proxy):
    run_id = new_run({"eval_accuracy": 0.5, "eval_loss": float("nan")})
    res = report(doc, run_id, proxy.uri)
    assert res.main_code == 0, res.logs
    assert by_metric(doc, res.outputs)["eval_loss"] == "missing"
    run_id = new_run({"eval_accuracy": 0.5, "eval_loss": -1.25})
    res = report(doc, run_id, proxy.uri)
    assert gauges_set(doc, res.outputs) == [("eval_accuracy", 0.5), ("eval_loss", -1.25)]


def test_an_unreachable_server_never_fails_the_run(doc):
    res = report(doc, "0123456789abcdef0123456789abcdef", "http://127.0.0.1:9")
    assert res.main_code == 0, res.logs
    assert by_metric(doc, res.outputs) == {"eval_accuracy": "missing", "eval_loss": "missing"}
    assert gauges_set(doc, res.outputs) == []


def test_keys_no_argo_parameter_name_can_hold_are_reported():
    """MLflow keys with `/`, `.` and a space (tests/fixtures/monitor): the
    step's outputs are positional, the gauges carry the keys."""
    doc = compile_example("../tests/fixtures/monitor/monitored.mlp")
    run_id = new_run({"val/acc": 0.75, "train loss": 0.5})
    res = report(doc, run_id, URI, task="fit-c-report")
    assert res.main_code == 0, res.logs
    assert by_metric(doc, res.outputs, "fit-c-report") == {
        "eval.loss": "missing", "train loss": "0.5", "val/acc": "0.75"}
    assert gauges_set(doc, res.outputs, task="fit-c-report") == [("train loss", 0.5), ("val/acc", 0.75)]
