"""End-to-end: a distributed stage (contract §9.6) against the real MLflow
server, its generated steps run as emitted and its training job emulated.

examples/distributed_finetune.mlp's `train finetune { distributed { nodes =
4 } }` compiles to a DAG `finetune`: `mlflow-start` (the injected program's
mlflow-init: creates the run, writes run_id), `job` (an Argo resource step
that creates a Kubeflow Trainer TrainJob and waits for its conditions) and
`mlflow-end` (mlflow-job-end: ends the run by `{{tasks.job.status}}`); the
exit handler deletes the workflow's TrainJobs by label and ends runs left
RUNNING as KILLED.

`trainjob.TrainingWorkflow` walks that DAG as emitted (emulator.Workflow's
rules: arguments, `depends`, `tasks.T.status`, the DAG's output). The job
step is the emulated part (see trainjob.py): its manifest is substituted as
Argo does, created in an emulated cluster whose nodes run a stand-in
fine-tuning script (tests/mlflow/images/finetune: only rank 0 logs, with the
real MLflow client resuming MLFLOW_RUN_ID) in a pod each, and its phase is
what the template's own successCondition/failureCondition say of the
reference's TrainJob status fixtures
(../shared/reference/trainer-examples/status-fixtures/; RESULTS.txt has the
verdicts the reference got with the real label-selector parser and gjson).
Every injected step and every node reaches MLflow through an authenticating
proxy, with the credentials from the `mlflow-credentials` secret.
"""
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from authproxy import AuthProxy  # noqa: E402
from emulator import Context, evaluate_when, expand_expression_tags, python_alpine, template, user_image  # noqa: E402
from test_scenarios import (CLUSTER_URI, INJECTED_IMAGE, ROOT, STDLIB_PYTHON, URI, USER_PYTHON,  # noqa: E402
                            compile_example, fresh_uid, get_run, metrics, params, rest, tags)
from trainjob import (FIXTURES, Cluster, JobOutcome, TrainingWorkflow, WorkflowStopped, fixture,  # noqa: E402
                      label_selector_matches, parse_selector, SelectorError, substitute_manifest, verdict)

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")

EXPERIMENT = "support-assistant"
FINETUNE_IMAGE = "ghcr.io/acme/llm-finetune:1.8.0"
FINETUNE_DIR = ROOT / "tests" / "mlflow" / "images" / "finetune"
NODES = 4
CREDENTIALS = {"username": "trainer", "password": "pa ss&word/42"}
SECRETS = {"mlflow-credentials": CREDENTIALS, "huggingface": {"token": "hf_emulated_token"}}
UID_LABEL = "mlpc.dev/workflow-uid"


# ----- helpers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def doc():
    return compile_example("distributed_finetune.mlp")


@pytest.fixture(scope="module")
def proxy():
    p = AuthProxy(URI, **CREDENTIALS)
    yield p
    p.close()


def images(node_env):
    finetune = user_image(USER_PYTHON, FINETUNE_DIR, env=node_env)
    finetune.tools["torchrun"] = str(FINETUNE_DIR / "torchrun")
    return {INJECTED_IMAGE: python_alpine(STDLIB_PYTHON), FINETUNE_IMAGE: finetune}


CLUSTERS = []          # every scenario's cluster: `no_nodes_left_behind` ends their nodes


@pytest.fixture(autouse=True)
def no_nodes_left_behind():
    yield
    while CLUSTERS:
        CLUSTERS.pop().shutdown()


class Stage:
    """One run of the `finetune` DAG: the workflow, its cluster, the DAG's
    node (None when the workflow was stopped) and the pods run, in order."""

    def __init__(self, doc, proxy, outcome, node_env=None):
        self.uid = fresh_uid()
        self.pods = []
        self.proxy = proxy

        def context(name=None, items=()):
            if name is not None:
                self.pods.append(name)
            return Context(images=images(node_env or {}), services={CLUSTER_URI: proxy.uri},
                           secrets=json.loads(json.dumps(SECRETS)))

        self.cluster = Cluster(lambda job, rank: context())
        CLUSTERS.append(self.cluster)
        self.wf = TrainingWorkflow(doc, context, "wf-" + self.uid[:8], self.uid, self.cluster, outcome)
        self.tokens = "s3://datasets/support-tickets/v3-tokenized/" + self.uid
        self.stopped = None
        try:
            self.node = self.wf.call("finetune", {"tokenize-tokens_uri": self.tokens},
                                     self.wf.name + ".finetune", ())
        except WorkflowStopped as e:
            self.node, self.stopped = None, e

    @property
    def job(self):
        assert len(self.cluster.jobs) >= 1, "no TrainJob was created"
        return self.cluster.jobs[-1]

    def run_id(self):
        """The run the TrainJob's nodes were told to log to."""
        return env_value(self.job.manifest, "MLFLOW_RUN_ID")

    def runs(self):
        exp = rest("GET", "experiments/get-by-name", query={"experiment_name": EXPERIMENT})["experiment"]
        return rest("POST", "runs/search", {"experiment_ids": [exp["experiment_id"]],
                                            "filter": "tags.`argo.workflow.uid` = '%s'" % self.uid})["runs"]


def env_entry(manifest, name):
    found = [e for e in manifest["spec"]["trainer"]["env"] if e["name"] == name]
    assert len(found) == 1, "spec.trainer.env has %d %s" % (len(found), name)
    return found[0]


def env_value(manifest, name):
    return env_entry(manifest, name)["value"]


def node_reports(job):
    """What each node printed of its environment, by rank."""
    out = {}
    for n in job.nodes:
        lines = [ln for ln in n.result.logs["main"].splitlines() if ln.startswith("node:")]
        assert len(lines) == 1, n.result.logs
        out[n.rank] = json.loads(lines[0][len("node:"):])
    return out


def check_trainjob(stage, run_id):
    """The TrainJob as the job step created it: labels, args, and every
    node's env carrying the run, the server and the credentials."""
    m = stage.job.manifest
    labels = m["metadata"]["labels"]
    assert labels[UID_LABEL] == stage.uid
    assert labels["mlpc.dev/stage"] == "finetune" and labels["kueue.x-k8s.io/queue-name"] == "gpu-training"
    assert m["metadata"]["name"].startswith("finetune-") and len(m["metadata"]["name"]) == len("finetune-") + 5
    trainer = m["spec"]["trainer"]
    assert trainer["numNodes"] == NODES and len(stage.job.nodes) == NODES
    assert trainer["image"] == FINETUNE_IMAGE and trainer["command"] == ["torchrun", "finetune.py"]
    assert trainer["args"] == ["--model", "meta-llama/Llama-3.2-1B", "--data", stage.tokens, "--lr", "0.0002"]
    assert env_value(m, "MLFLOW_TRACKING_URI") == CLUSTER_URI
    assert env_value(m, "MLFLOW_EXPERIMENT_NAME") == EXPERIMENT
    assert env_value(m, "MLFLOW_RUN_ID") == run_id
    for var, key in (("MLFLOW_TRACKING_USERNAME", "username"), ("MLFLOW_TRACKING_PASSWORD", "password"),
                     ("MLFLOW_TRACKING_TOKEN", "token")):
        assert env_entry(m, var)["valueFrom"]["secretKeyRef"] == {"name": "mlflow-credentials", "key": key,
                                                                  "optional": True}
    assert env_entry(m, "HF_TOKEN")["valueFrom"]["secretKeyRef"] == {"name": "huggingface", "key": "token"}


def check_nodes(stage, run_id, exits):
    """Each node ran with its rank and the run's env (`exits`: rank -> the
    exit code wanted, 0 by default)."""
    reports = node_reports(stage.job)
    assert sorted(reports) == list(range(NODES))
    for n in stage.job.nodes:
        r = reports[n.rank]
        assert n.result.main_code == exits.get(n.rank, 0), (n.rank, n.result.logs)
        assert r["RANK"] == r["PET_NODE_RANK"] == str(n.rank) and r["WORLD_SIZE"] == str(NODES)
        assert r["MASTER_ADDR"] == "%s-node-0-0.%s" % (stage.job.name, stage.job.name)
        assert r["MLFLOW_RUN_ID"] == run_id
        assert r["MLFLOW_TRACKING_URI"] == stage.proxy.uri          # the cluster URL, resolved
        assert r["MLFLOW_EXPERIMENT_NAME"] == EXPERIMENT
        assert r["MLFLOW_TRACKING_USERNAME"] == CREDENTIALS["username"] and r["has_password"]
        assert r["has_hf_token"] and r["NCCL_DEBUG"] == "WARN"
        assert r["argv"] == {"model": "meta-llama/Llama-3.2-1B", "data": stage.tokens, "lr": 0.0002}
        assert ("rank 0: logged" in n.result.logs["main"]) == (n.rank == 0)


def check_run(stage, run_id, status, eval_history=1):
    """The stage's one run: its status, the start step's params, rank 0's
    logging (and nobody else's)."""
    runs = stage.runs()
    assert [r["info"]["run_id"] for r in runs] == [run_id], "one run for the stage"
    run = get_run(run_id)
    assert run["info"]["status"] == status, run["info"]
    t = tags(run)
    assert t["mlp.pipeline"] == "distributed_finetune" and t["mlp.stage"] == "finetune"
    assert t["argo.workflow.uid"] == stage.uid
    p = params(run)
    assert p["base_model"] == "meta-llama/Llama-3.2-1B" and p["lr"] == "0.0002"      # the start step's
    assert p["world_size"] == str(NODES) and p["data"] == stage.tokens                # rank 0's
    m = metrics(run)
    assert m["eval_accuracy"] == pytest.approx(0.87) and m["eval_loss"] == pytest.approx(0.41)
    history = rest("GET", "metrics/get-history", query={"run_id": run_id, "metric_key": "eval_accuracy"})["metrics"]
    assert len(history) == eval_history, "eval_accuracy logged %d times: only rank 0 logs" % len(history)
    return run


def job_conditions(doc):
    r = template(doc, "finetune-job")["resource"]
    return r["successCondition"], r["failureCondition"]


def run_exit_handler(stage, status):
    exit_ = stage.wf.run_exit_handler(status)
    delete, cleanup = exit_.tasks["delete-training-jobs"], exit_.tasks["mlflow-cleanup"]
    assert delete.phase == "Succeeded" and cleanup.phase == "Succeeded", cleanup.pod and cleanup.pod.logs
    return delete, cleanup


# ----- the condition evaluator against the reference ---------------------------------

def reference_results():
    """RESULTS.txt's recipes: (success, failure, [(fixture, verdict)])."""
    recipes, success = [], None
    for line in (FIXTURES / "RESULTS.txt").read_text().splitlines():
        if line.startswith("## success:"):
            success = line[len("## success:"):].strip()
        elif line.startswith("## failure:"):
            recipes.append((success, line[len("## failure:"):].strip(), []))
        elif line.startswith("  ") and recipes:
            name, result = line.split(None, 1)
            recipes[-1][2].append((name[:-len(".json")], result.strip()))
    return recipes


def test_the_evaluator_gives_the_references_verdicts():
    recipes = reference_results()
    assert len(recipes) >= 6 and sum(len(r) for _, _, r in recipes) >= 30
    for success, failure, rows in recipes:
        for name, want in rows:
            got = verdict(success, failure, fixture(name))
            assert want.startswith(got), (success, failure, name, got, want)
    # Negative controls: swapped conditions, an OR-ed success list, an AND-ed
    # failure list each give other verdicts on the same fixtures.
    s, f = "status.jobsStatus.0.succeeded > 0", "status.conditions.0.type == Failed, status.conditions.1.type == Failed"
    assert verdict(f, s, fixture("tj-complete")) == "failed"
    assert verdict("status.conditions.0.type == Suspended, status.jobsStatus.0.succeeded > 0", "",
                   fixture("tj-kq-running")) == "waiting"
    assert verdict(s, f, fixture("tj-kq-failed")) == "failed"       # the second requirement alone
    with pytest.raises(SelectorError):
        parse_selector("status.conditions.#(type==\"Complete\").status == True")
    with pytest.raises(SelectorError):
        parse_selector("status.jobsStatus.0.succeeded > zero")


def test_the_job_step_waits_with_the_referenced_trainjob_conditions(doc):
    """mlpc's conditions hold a recipe the reference checked (the success
    side narrowed by one AND-ed requirement, `jobsStatus.0.name == node`);
    evaluated here on every TrainJob fixture they give its verdicts."""
    success, failure = job_conditions(doc)
    required = set(success.split(", "))
    recipe = [r for r in reference_results() if r[1] == failure and set(r[0].split(", ")) <= required]
    assert len(recipe) == 1, "the job step's conditions do not hold one of RESULTS.txt's recipes"
    assert required - set(recipe[0][0].split(", ")) == {"status.jobsStatus.0.name == node"}
    rows = dict(recipe[0][2])
    assert set(rows) == {p.stem for p in FIXTURES.glob("tj-*.json")}
    assert {n: verdict(success, failure, fixture(n)) for n in rows} == rows
    assert rows["tj-kq-complete"] == "succeeded" and rows["tj-running"] == "waiting"


def test_the_manifest_is_substituted_as_argo_does(doc):
    """`{{=toJson(X)}}` is X as one JSON string (encoding/json: HTML
    characters escaped), which YAML reads back as X."""
    text = template(doc, "finetune-job")["resource"]["manifest"]
    scope = {"workflow.uid": "u-1", "workflow.name": "wf-1", "workflow.namespace": "ml",
             "workflow.parameters.base-model": "a \"b\" <c> & d: e", "workflow.parameters.learning-rate": "0.0002",
             "inputs.parameters.tokenize-tokens_uri": "s3://t/x", "inputs.parameters.mlflow-run-id": "0123abcd"}
    out = substitute_manifest(text, scope)
    assert '"a \\"b\\" \\u003cc\\u003e \\u0026 d: e"' in out
    m = yaml.safe_load(out)
    assert m["spec"]["trainer"]["args"][1] == scope["workflow.parameters.base-model"]
    assert env_value(m, "MLFLOW_RUN_ID") == "0123abcd" and env_value(m, "MLP_PARAM_LR") == "0.0002"
    assert m["metadata"]["labels"][UID_LABEL] == "u-1"
    with pytest.raises(Exception, match="mlflow-run-id"):
        substitute_manifest(text, {k: v for k, v in scope.items() if k != "inputs.parameters.mlflow-run-id"})


# ----- scenarios ----------------------------------------------------------------------

def test_job_succeeds_run_finished_with_rank_zero_metrics(doc, proxy):
    stage = Stage(doc, proxy, JobOutcome(["tj-complete"]))
    assert stage.stopped is None
    tasks = stage.node.tasks
    start, job, end = tasks["mlflow-start"], tasks["job"], tasks["mlflow-end"]
    run_id = start.outputs["run_id"]
    assert [start.phase, job.phase, end.phase] == ["Succeeded"] * 3, (end.pod and end.pod.logs)
    assert stage.pods == ["finetune-mlflow-start", "finetune-mlflow-end"]
    # The job step: one TrainJob, its name its output, its verdict the template's own conditions'.
    assert len(stage.cluster.jobs) == 1 and len(job.attempts) == 1
    assert job.inputs == {"tokenize-tokens_uri": stage.tokens, "mlflow-run-id": run_id}
    assert job.outputs == {"job-name": stage.job.name}
    assert stage.job.statuses == ["tj-complete"] and stage.job.verdicts == ["succeeded"]
    check_trainjob(stage, run_id)
    check_nodes(stage, run_id, {})
    # The end step got the job's phase through `{{tasks.job.status}}`, and exited 0.
    assert end.inputs == {"run_id": run_id, "job-status": "Succeeded"}
    assert end.pod.main_code == 0 and "-> FINISHED (training job Succeeded)" in end.pod.logs["main"]
    assert stage.node.phase == "Succeeded" and stage.node.outputs == {"run_id": run_id}
    check_run(stage, run_id, "FINISHED")
    # The metric gate, with the main DAG's argument, reads rank 0's metric,
    # and the register step's `when` passes on it.
    main = {t["name"]: t for t in template(doc, "main")["dag"]["tasks"]}
    argument = main["finetune-metrics"]["arguments"]["parameters"][0]
    assert argument == {"name": "run_id", "value": "{{tasks.finetune.outputs.parameters.run_id}}"}
    gate = stage.wf.call("finetune-metrics", {"run_id": stage.node.outputs["run_id"]},
                         stage.wf.name + ".finetune-metrics", ())
    assert gate.phase == "Succeeded", gate.pod.logs
    assert float(gate.outputs["eval_accuracy"]) == pytest.approx(0.87)
    env = {"tasks": {"finetune-metrics": {"outputs": {"parameters": gate.outputs}}},
           "workflow": {"parameters": dict(stage.wf.params)}}
    assert evaluate_when(expand_expression_tags(main["assistant"]["when"], env)) is True
    # The exit handler deletes the finished job and leaves the ended run alone.
    delete, _ = run_exit_handler(stage, "Succeeded")
    assert delete.deleted == [stage.job]
    assert get_run(run_id)["info"]["status"] == "FINISHED"
    assert proxy.rejected == 0
    # Negative control: the same step would have failed on a failed job's status.
    success, failure = job_conditions(doc)
    assert verdict(success, failure, stage.job.object(fixture("tj-failed"))) == "failed"
    assert verdict(success, failure, stage.job.object(fixture("tj-running"))) == "waiting"


@pytest.mark.parametrize("status", ["tj-failed", "tj-kq-failed"])
def test_job_fails_run_failed_and_end_step_fails(doc, proxy, status):
    """Node 1 fails; rank 0 has logged and ended the run FINISHED, but the
    job's outcome decides. The job step is retried once (retryStrategy
    limit 1: a second TrainJob), then the end step ends the run FAILED and
    fails, so that the stage fails."""
    stage = Stage(doc, proxy, JobOutcome([status]), node_env={"FINETUNE_FAIL_RANK": "1"})
    assert stage.stopped is None
    tasks = stage.node.tasks
    start, job, end = tasks["mlflow-start"], tasks["job"], tasks["mlflow-end"]
    run_id = start.outputs["run_id"]
    assert start.phase == "Succeeded" and job.phase == "Failed" and job.outputs == {}
    assert len(job.attempts) == 2 and len(stage.cluster.jobs) == 2
    assert len({j.name for j in stage.cluster.jobs}) == 2
    for j in stage.cluster.jobs:
        assert j.statuses == [status] and j.verdicts == ["failed"]
        assert j.manifest["metadata"]["labels"][UID_LABEL] == stage.uid
    check_trainjob(stage, run_id)
    check_nodes(stage, run_id, {1: 1})
    # `depends: ... job.Failed ...`: the end step runs, with Failed.
    assert end.inputs == {"run_id": run_id, "job-status": "Failed"}
    assert end.phase == "Failed" and end.pod.main_code == 1, end.pod.logs
    assert "-> FAILED (training job Failed)" in end.pod.logs["main"]
    assert "the training job did not succeed (Failed)" in end.pod.logs["main"]
    assert stage.node.phase != "Succeeded"
    check_run(stage, run_id, "FAILED", eval_history=2)     # rank 0 of each attempt
    # The exit handler deletes both attempts' jobs; the run stays FAILED.
    delete, _ = run_exit_handler(stage, "Failed")
    assert delete.deleted == stage.cluster.jobs
    assert get_run(run_id)["info"]["status"] == "FAILED"
    assert proxy.rejected == 0
    # Negative control: the same step would have succeeded on a complete job's status.
    success, failure = job_conditions(doc)
    assert verdict(success, failure, stage.job.object(fixture("tj-complete"))) == "succeeded"


def test_workflow_stopped_while_the_job_runs_kills_the_run(doc, proxy):
    """The job is still running (tj-running: neither condition holds) when
    the workflow is stopped: the end step never runs. The exit handler
    deletes the TrainJob by the workflow uid's label (its nodes get SIGTERM:
    rank 0 dies inside its run, which stays RUNNING) and the clean-up ends
    the run KILLED."""
    def settle(job):
        # Rank 0 has logged and keeps training.
        run_id = env_value(job.manifest, "MLFLOW_RUN_ID")
        deadline = time.monotonic() + 180
        while "eval_loss" not in metrics(get_run(run_id)):
            assert time.monotonic() < deadline, "rank 0 did not log"
            assert all(n.thread.is_alive() for n in job.nodes), [n.result and n.result.logs for n in job.nodes]
            time.sleep(0.5)

    stage = Stage(doc, proxy, JobOutcome(["tj-running"], settle=settle), node_env={"FINETUNE_HANG": "1"})
    assert stage.node is None and stage.stopped is not None
    assert stage.stopped.node_name == stage.wf.name + ".finetune.job"
    assert stage.job.statuses == ["tj-running"] and stage.job.verdicts == ["waiting"]
    assert stage.pods == ["finetune-mlflow-start"], "the end step must not run"
    run_id = stage.run_id()
    check_trainjob(stage, run_id)
    assert get_run(run_id)["info"]["status"] == "RUNNING"
    assert all(n.thread.is_alive() for n in stage.job.nodes)
    # The exit handler, as emitted: its delete step's selector names the
    # TrainJob's label value; deleting stops the nodes; the clean-up kills the run.
    selector = template(doc, "delete-training-jobs")["resource"]["flags"][2]
    assert selector == "%s={{workflow.uid}}" % UID_LABEL
    delete, cleanup = run_exit_handler(stage, "Failed")
    assert delete.selector == "%s=%s" % (UID_LABEL, stage.job.manifest["metadata"]["labels"][UID_LABEL])
    assert delete.deleted == [stage.job] and stage.job.deleted
    for n in stage.job.nodes:
        assert n.result.main_code != 0 and not n.thread.is_alive()
    assert "closed 1 run(s) left RUNNING" in cleanup.pod.logs["main"], cleanup.pod.logs
    check_run(stage, run_id, "KILLED")
    assert "finetune-mlflow-end" not in stage.pods
    assert proxy.rejected == 0
    # Negative controls: the selector does not pick another workflow's job,
    # and the step would have ended on a complete job's status.
    other = dict(stage.job.manifest["metadata"]["labels"], **{UID_LABEL: fresh_uid()})
    assert not label_selector_matches(delete.selector, other)
    assert label_selector_matches(delete.selector, stage.job.manifest["metadata"]["labels"])
    success, failure = job_conditions(doc)
    assert verdict(success, failure, stage.job.object(fixture("tj-complete"))) == "succeeded"


def test_kueue_suspended_then_running_then_complete(doc, proxy):
    """Under Kueue the job is created suspended and resumed: its first
    condition stays `Suspended` (False once resumed), so the step must not
    read `conditions.0` for success. It waits twice, then succeeds."""
    sequence = ["tj-kq-suspended", "tj-kq-running", "tj-kq-complete"]
    stage = Stage(doc, proxy, JobOutcome(sequence))
    assert stage.stopped is None
    tasks = stage.node.tasks
    run_id = tasks["mlflow-start"].outputs["run_id"]
    assert stage.job.statuses == sequence
    assert stage.job.verdicts == ["waiting", "waiting", "succeeded"]
    assert tasks["job"].phase == "Succeeded" and tasks["mlflow-end"].inputs["job-status"] == "Succeeded"
    assert tasks["mlflow-end"].pod.main_code == 0
    check_nodes(stage, run_id, {})
    check_run(stage, run_id, "FINISHED")
    # Negative control: the condition that reads `conditions.0` never ends
    # on this sequence (the workflow would hang until stopped).
    naive = "status.conditions.0.type == Complete"
    _, failure = job_conditions(doc)
    assert [verdict(naive, failure, stage.job.object(fixture(n))) for n in sequence] == ["waiting"] * 3
