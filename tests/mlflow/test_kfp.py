"""End-to-end: the KFP flavour of MLflow tracking (`mlpc compile --target
kfp`) against the real MLflow 3 server: every task of the compiled IR, its
container run as KFP's driver and launcher would run it (tests/kfp/run.py),
in the order the driver would.

tests/mlflow/kfp_tracked.mlp: a tracked `train` (start task, the stage, end
task with the stage's final status), its metric gating `register`, and a
`deploy` (resolve, server-side apply, wait) against the fake Kubernetes API
server of tests/kserve. tests/mlflow/sweep_finally.mlp: a loop group with a
tracked stage per item, and `finally`.
"""
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "kfp"))
sys.path.insert(0, str(HERE.parent / "kserve"))
from emulator import python_alpine, user_image  # noqa: E402
from fake_apiserver import FakeApiServer, World  # noqa: E402
from run import Run  # noqa: E402
from test_scenarios import (CLUSTER_URI, INJECTED_IMAGE, MLPC, ROOT, STDLIB_PYTHON, URI, USER_PYTHON,  # noqa: E402
                            get_run, metrics, params, rest, tags)

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")

TRAINER = "ghcr.io/acme/kfp-trainer:1.0.0"
SWEEP_TRAINER = "ghcr.io/acme/sweep-trainer:1.0.0"
EXPERIMENT = "e2e kfp & friends"
ROLLOUT_KEY = "mlpc.dev/rollout"


def compile_kfp(program, tmp):
    out = tmp / (program.stem + ".yaml")
    res = subprocess.run([MLPC, "compile", "--target", "kfp", str(program), "-o", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def ir_dir():
    return Path(tempfile.mkdtemp(prefix="kfp-e2e-"))


@pytest.fixture(scope="module")
def tracked(ir_dir):
    return compile_kfp(HERE / "kfp_tracked.mlp", ir_dir)


@pytest.fixture(scope="module")
def sweep(ir_dir):
    return compile_kfp(HERE / "sweep_finally.mlp", ir_dir)


def images(**env):
    trainer = user_image(USER_PYTHON, ROOT / "tests" / "mlflow" / "images" / "trainer", env=env)
    return {INJECTED_IMAGE: python_alpine(STDLIB_PYTHON), TRAINER: trainer, SWEEP_TRAINER: trainer}


def experiment_runs(run_uid):
    exp = rest("GET", "experiments/get-by-name", query={"experiment_name": EXPERIMENT})["experiment"]
    body = rest("POST", "runs/search", {"experiment_ids": [exp["experiment_id"]],
                                        "filter": "tags.`argo.workflow.uid` = '%s'" % run_uid})
    return body.get("runs", [])


class Cluster:
    """The fake API server, as KServe would answer this run's deploy: once
    the InferenceService is applied, a few polls later a revision whose pod
    carries the applied rollout annotation serves."""

    def __init__(self):
        # Outside /tmp, which each container has of its own.
        tmp = Path(tempfile.mkdtemp(prefix="kfp-e2e-", dir="/var/tmp"))
        self.world = World("models", "kfp-tracked", None, [], token="t-" + uuid.uuid4().hex,
                           script=self.reconcile)
        self.token_file = tmp / "token"
        self.token_file.write_text(self.world.token)

    def reconcile(self, world, n):
        if world.isvc is None or n < 3:
            return
        rollout = world.isvc["spec"]["predictor"]["annotations"][ROLLOUT_KEY]
        revision = "kfp-tracked-predictor-00001"
        world.pods = [{
            "metadata": {"name": "p-1", "namespace": "models", "annotations": {ROLLOUT_KEY: rollout},
                         "labels": {"serving.kserve.io/inferenceservice": "kfp-tracked", "component": "predictor",
                                    "serving.knative.dev/revision": revision}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "kserve-container", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]},
        }]
        world.isvc["status"] = {
            "url": "http://kfp-tracked.models.example.com",
            "conditions": [{"type": t, "status": "True"} for t in ("IngressReady", "PredictorReady", "Ready")],
            "deploymentMode": "Serverless",
            "modelStatus": {"transitionStatus": "UpToDate",
                            "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
                            "copies": {"failedCopies": 0, "totalCopies": 1}},
            "components": {"predictor": {"latestCreatedRevision": revision, "latestReadyRevision": revision}},
        }


def run_tracked(ir, tmp, cost_reduction=0.15, mode="ok", cancel=(), model_name=None):
    run_uid = str(uuid.uuid4())
    name = model_name or "kfp \"tracked\" & co %s" % run_uid[:8]
    cluster = Cluster()
    with FakeApiServer(cluster.world) as server:
        run = Run(str(ir), {"model_name": name},
                  images=images(TRAIN_METRICS=json.dumps({"cost_reduction": cost_reduction}), TRAIN_MODE=mode),
                  services={CLUSTER_URI: URI}, run_id=run_uid, cancel=set(cancel),
                  env={"MLP_KUBE_API": server.url, "MLP_KUBE_TOKEN_FILE": str(cluster.token_file),
                       "MLP_POLL_SECONDS": "0.05", "MLP_FAILURE_GRACE_SECONDS": "1"})
    return run_uid, name, run.report, cluster.world


def state(report, path):
    return report.get(path, {}).get("state")


def log(report):
    return "\n".join("%s: %s\n%s" % (k, v.get("state"), v.get("log", "")) for k, v in sorted(report.items()))


def test_tracked_stage_register_and_deploy(tracked, tmp_path):
    run_uid, name, report, world = run_tracked(tracked, tmp_path)
    base = "exit-handler-1/"
    for task in ["optimizer-mlflow-start", "optimizer", "optimizer-mlflow-end", "optimizer-metrics",
                 "promote", "serve-resolve", "serve", "serve-wait"]:
        assert state(report, base + task) == "SUCCEEDED", log(report)
    assert state(report, "finally/mlflow-cleanup") == "SUCCEEDED", log(report)
    # One run, created before the stage, its id in the stage's environment,
    # ended FINISHED by the end task.
    runs = experiment_runs(run_uid)
    assert len(runs) == 1, runs
    run_id = runs[0]["info"]["run_id"]
    assert report[base + "optimizer"]["outputs"]["run_id"] == run_id
    run = get_run(run_id)
    assert run["info"]["status"] == "FINISHED"
    t = tags(run)
    assert t["mlp.pipeline"] == "kfp_tracked" and t["mlp.stage"] == "optimizer"
    assert t["argo.workflow.uid"] == run_uid and t["argo.workflow.name"] == "run-0b1c2d3e"
    assert t["argo.namespace"] == "kubeflow" and t["argo.pod.name"].startswith("pod-")
    p = params(run)
    assert p["alpha"] == "0.1", "the user's logging went to the run mlpc created: %s" % p
    assert p["lr"] == "0.001" and p["owner"] == "kfp team"
    assert "--lr=0.001" in p["argv"]
    assert metrics(run)["cost_reduction"] == 0.15
    # The gate's number, the registered version with its alias, the deploy.
    assert report[base + "optimizer-metrics"]["outputs"]["cost_reduction"] == 0.15
    version = report[base + "promote"]["outputs"]["version"]
    mv = rest("GET", "model-versions/get", query={"name": name, "version": version})["model_version"]
    assert mv["run_id"] == run_id and mv["status"] == "READY"
    alias = rest("GET", "registered-models/alias", query={"name": name, "alias": "champion"})
    assert alias["model_version"]["version"] == version
    assert report[base + "serve-resolve"]["outputs"]["version"] == version
    storage = report[base + "serve-resolve"]["outputs"]["storage_uri"]
    assert storage.startswith("s3://mlflow-artifacts/")
    # The apply: a server-side apply by field manager mlpc, the run-time
    # values set into the manifest, this run's rollout stamped.
    assert len(world.applies) == 1
    query, applied = world.applies[0]
    assert query["fieldManager"] == ["mlpc"] and query["force"] == ["true"]
    assert applied["metadata"]["name"] == "kfp-tracked" and applied["metadata"]["namespace"] == "models"
    assert applied["metadata"]["annotations"] == {"mlflow.org/model-version": version,
                                                  "mlflow.org/registered-model": name}
    predictor = applied["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == storage
    assert predictor["annotations"][ROLLOUT_KEY] == "%s-serve" % run_uid
    assert report[base + "serve-wait"]["outputs"]["url"] == "http://kfp-tracked.models.example.com"


def test_a_failing_stage_fails_its_run_and_skips_what_follows(tracked, tmp_path):
    run_uid, _, report, world = run_tracked(tracked, tmp_path, mode="crash")
    base = "exit-handler-1/"
    assert state(report, base + "optimizer") == "FAILED", log(report)
    assert state(report, base + "optimizer-mlflow-end") == "SUCCEEDED", log(report)
    for task in ["optimizer-metrics", "promote", "serve-resolve", "serve", "serve-wait"]:
        assert state(report, base + task) == "SKIPPED", log(report)
    assert state(report, "finally/mlflow-cleanup") == "SUCCEEDED"
    (run,) = experiment_runs(run_uid)
    assert run["info"]["status"] == "FAILED"
    assert world.applies == []


@pytest.mark.parametrize("mode,task_state,status", [("quiet", "SUCCEEDED", "FINISHED"),
                                                    ("quiet-fail", "FAILED", "FAILED")])
def test_the_end_task_ends_a_run_the_user_code_left_open(tracked, tmp_path, mode, task_state, status):
    # The user's code never talks to MLflow: only the end task can end the
    # run, by the stage's outcome.
    run_uid, _, report, _ = run_tracked(tracked, tmp_path, mode=mode)
    assert state(report, "exit-handler-1/optimizer") == task_state, log(report)
    (run,) = experiment_runs(run_uid)
    assert run["info"]["status"] == status
    assert "-> %s" % status in report["exit-handler-1/optimizer-mlflow-end"]["log"]


def test_a_closed_gate_skips_register_and_deploy(tracked, tmp_path):
    run_uid, _, report, world = run_tracked(tracked, tmp_path, cost_reduction=0.05)
    base = "exit-handler-1/"
    assert report[base + "optimizer-metrics"]["outputs"]["cost_reduction"] == 0.05
    for task in ["promote", "serve-resolve", "serve", "serve-wait"]:
        assert state(report, base + task) == "SKIPPED", log(report)
    (run,) = experiment_runs(run_uid)
    assert run["info"]["status"] == "FINISHED"


def test_a_cancelled_stage_kills_its_run(tracked, tmp_path):
    run_uid, _, report, _ = run_tracked(tracked, tmp_path, cancel={"exit-handler-1/optimizer"})
    assert state(report, "exit-handler-1/optimizer") == "CANCELED"
    (run,) = experiment_runs(run_uid)
    assert run["info"]["status"] == "KILLED"


def test_the_cleanup_ends_a_run_its_end_task_left_open(tracked, tmp_path):
    # The stage's pod never ran and its end task did not either (a node
    # lost): the exit handler's clean-up ends the run.
    run_uid, _, report, _ = run_tracked(
        tracked, tmp_path, cancel={"exit-handler-1/optimizer", "exit-handler-1/optimizer-mlflow-end"})
    assert state(report, "finally/mlflow-cleanup") == "SUCCEEDED", log(report)
    (run,) = experiment_runs(run_uid)
    assert run["info"]["status"] == "KILLED"
    assert "closed 1 run(s)" in report["finally/mlflow-cleanup"]["log"]


def test_a_loop_group_tracks_each_item_and_finally_sees_the_run(sweep):
    run_uid = str(uuid.uuid4())
    auc = {"0.1": 0.93, "0.01": 0.42}

    def per_task(path, argv):
        if path.endswith("/fit"):
            return {"TRAIN_METRICS": json.dumps({"auc": auc[argv[-1]]})}
        return {}

    run = Run(str(sweep), {}, images=images(), services={CLUSTER_URI: URI}, run_id=run_uid, task_env=per_task)
    report = run.report
    exp = rest("GET", "experiments/get-by-name", query={"experiment_name": "e2e sweep & finally"})["experiment"]
    runs = rest("POST", "runs/search", {"experiment_ids": [exp["experiment_id"]],
                                        "filter": "tags.`argo.workflow.uid` = '%s'" % run_uid})["runs"]
    by_item = {tags(r)["mlp.item.sweep"]: r for r in runs}
    assert sorted(by_item) == ["0.01", "0.1"], log(report)
    for item, r in by_item.items():
        assert r["info"]["status"] == "FINISHED"
        assert tags(r)["mlp.item"] == item and params(r)["lr"] == item
        assert metrics(r)["auc"] == auc[item]
    base = "exit-handler-1/sweep[%d]/"
    assert report[base % 0 + "fit-metrics"]["outputs"]["auc"] == 0.93
    assert report[base % 0 + "report"]["outputs"]["line"] == "0.1 0.93"
    assert state(report, base % 1 + "report") == "SKIPPED"
    assert report["finally/notify"]["outputs"]["status"] == "Succeeded"
    assert state(report, "finally/mlflow-cleanup") == "SUCCEEDED"
