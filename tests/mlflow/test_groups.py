"""End-to-end: groups and `finally` (contract v2 §9.1, §9.4) against the real
MLflow server, with every pod of the workflow run as Argo would run it.

tests/mlflow/sweep_finally.mlp holds a loop group over two learning rates
(a tracked `train fit`, gated per item by the injected `fit-metrics`, and a
`report` that runs when the item's auc passes) and a `finally` stage that
writes `run.status`. `emulator.Workflow` walks the DAG templates as emitted:
the loop task's `{{item}}`, the group's input `sweep-item`, the member
task's argument and the pod's input, the gate's `when`, and the exit
handler's `{{workflow.status}}` (see the rules at emulator.py's `Workflow`).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from emulator import Context, PodError, Workflow, item_text, python_alpine, user_image  # noqa: E402
from test_scenarios import (CLUSTER_URI, INJECTED_IMAGE, MLPC, ROOT, STDLIB_PYTHON, URI, USER_PYTHON,  # noqa: E402
                            fresh_uid, get_run, metrics, params, rest, tags)

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")

PROGRAM = Path(__file__).parent / "sweep_finally.mlp"
EXPERIMENT = "e2e sweep & finally"
TRAINER = "ghcr.io/acme/sweep-trainer:1.0.0"
AUC = {"0.1": 0.93, "0.01": 0.42}           # what each item's training logs; the gate's bar is 0.8


@pytest.fixture(scope="module")
def doc():
    out = subprocess.run([MLPC, "compile", str(PROGRAM)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


class Pods:
    """Each pod's Context: the trainer logs the item's auc; `broken` maps an
    item to how its `fit` pod goes wrong. Records the pods in the order run."""

    def __init__(self, broken=None):
        self.broken = broken or {}
        self.ran = []

    def __call__(self, name, items):
        self.ran.append((name, items))
        env = {}
        if name == "fit":
            env = {"TRAIN_METRICS": json.dumps({"auc": AUC[items[-1]]})}
        trainer = user_image(USER_PYTHON, ROOT / "tests" / "mlflow" / "images" / "trainer", env=env)
        ctx = Context(images={INJECTED_IMAGE: python_alpine(STDLIB_PYTHON), TRAINER: trainer},
                      services={CLUSTER_URI: URI})
        if name == "fit" and self.broken.get(items[-1]) == "evicted":
            ctx.skip_main = True          # its init container ran, then the pod was lost
        return ctx


def run_workflow(doc, pods):
    uid = fresh_uid()
    wf = Workflow(doc, pods, "wf-" + uid[:8], uid)
    return wf, wf.run_entrypoint()


def items_of(main):
    """The group's item nodes, in item order."""
    loop = main.tasks["sweep"]
    assert loop.template == "sweep" and len(loop.items) == 2
    return loop.items


def check_item_run(wf, item, text):
    """The tracked run of one item: its item tags, its params, its pod."""
    fit = item.tasks["fit"]
    # {{item}} -> the group's input -> the member task's argument -> the pod's input.
    assert item.inputs == {"sweep-item": text} and fit.inputs == {"sweep-item": text}
    run = get_run(run_of_pod(item))
    if fit.phase == "Succeeded":
        assert fit.outputs["run_id"] == run["info"]["run_id"]
    t = tags(run)
    assert t["mlp.item"] == text and t["mlp.item.sweep"] == text, t
    assert t["mlp.pipeline"] == "sweep_finally" and t["mlp.stage"] == "fit"
    assert t["argo.workflow.uid"] == wf.uid
    assert t["argo.pod.name"] == fit.pod_name and t["argo.node.id"] == fit.node_id
    p = params(run)
    assert p["lr"] == text and p["owner"] == "sweep team", p
    return run


def test_item_text_is_arguments_text():
    """`Item.String()`: numbers as Go writes float64 JSON, strings bare."""
    assert [item_text(v) for v in (0.1, 0.01, 1e-05, 1e-07, 3, 2.0, "a b", True)] == \
        ["0.1", "0.01", "0.00001", "1e-7", "3", "2", "a b", "true"]


def test_a_loop_group_tags_each_items_run_and_gates_it(doc):
    pods = Pods()
    wf, main = run_workflow(doc, pods)
    assert main.phase == "Succeeded", main
    first, second = items_of(main)
    assert [first.name, second.name] == ["%s.sweep(0:0.1)" % wf.name, "%s.sweep(1:0.01)" % wf.name]
    runs = []
    for item, text in ((first, "0.1"), (second, "0.01")):
        run = check_item_run(wf, item, text)
        assert run["info"]["status"] == "FINISHED", run["info"]
        # The user's code ran with the item in its argv and logged on the run.
        assert params(run)["argv"] == "--lr %s" % text
        assert metrics(run)["auc"] == pytest.approx(AUC[text])
        # The gate read this item's run, and the `when` decided on its value.
        gate = item.tasks["fit-metrics"]
        assert gate.phase == "Succeeded" and gate.inputs == {"run_id": run["info"]["run_id"]}
        assert float(gate.outputs["auc"]) == pytest.approx(AUC[text])
        runs.append(run["info"]["run_id"])
    assert runs[0] != runs[1]
    assert first.tasks["fit"].pod_name != second.tasks["fit"].pod_name
    assert first.tasks["report"].phase == "Succeeded"
    assert first.tasks["report"].outputs["line"] == "0.1 0.93"
    assert second.tasks["report"].phase == "Skipped", "auc 0.42 is under min_auc 0.8"
    # The exit handler: `finally` sees Succeeded; the clean-up leaves ended runs alone.
    exit_ = wf.run_exit_handler(main.phase)
    notify, cleanup = exit_.tasks["notify"], exit_.tasks["mlflow-cleanup"]
    assert notify.outputs["status"] == "Succeeded"
    assert cleanup.phase == "Succeeded", cleanup.pod.logs
    assert "closed 0 run(s)" in cleanup.pod.logs["main"]
    assert [get_run(r)["info"]["status"] for r in runs] == ["FINISHED", "FINISHED"]


def test_finally_sees_a_failed_run_and_the_clean_up_then_kills_its_open_run(doc):
    """Item 0.01's pod is lost after its init container created the run:
    the run stays RUNNING, the item fails, so does the group and the run.
    The exit DAG runs `notify` (which gets `Failed`), then the clean-up,
    which ends that run KILLED and leaves item 0.1's FINISHED run alone."""
    pods = Pods(broken={"0.01": "evicted"})
    wf, main = run_workflow(doc, pods)
    first, second = items_of(main)
    assert first.phase == "Succeeded" and second.phase == "Failed"
    assert second.tasks["fit"].phase == "Failed" and second.tasks["fit"].pod.main_code is None
    assert second.tasks["fit-metrics"].phase == "Omitted" and second.tasks["report"].phase == "Omitted"
    assert main.phase == "Failed"
    ok = check_item_run(wf, first, "0.1")
    lost = check_item_run(wf, second, "0.01")
    assert ok["info"]["status"] == "FINISHED" and lost["info"]["status"] == "RUNNING"
    pods.ran.clear()
    exit_ = wf.run_exit_handler(main.phase)
    assert exit_.name == wf.name + ".onExit"
    assert [name for name, _ in pods.ran] == ["notify", "mlflow-cleanup"]
    assert exit_.tasks["notify"].outputs["status"] == "Failed"
    cleanup = exit_.tasks["mlflow-cleanup"]
    assert cleanup.phase == "Succeeded", cleanup.pod.logs
    assert "closed 1 run(s)" in cleanup.pod.logs["main"], cleanup.pod.logs
    lost = get_run(lost["info"]["run_id"])
    assert lost["info"]["status"] == "KILLED" and lost["info"]["end_time"], lost["info"]
    assert tags(lost)["mlp.item"] == "0.01"
    assert get_run(ok["info"]["run_id"])["info"]["status"] == "FINISHED"


def test_the_clean_up_runs_when_finally_fails(doc):
    """`depends: (notify || notify.Failed || ...)`: a failing `finally` stage
    does not keep the clean-up from ending the open run."""
    pods = Pods(broken={"0.1": "evicted", "0.01": "evicted"})
    wf, main = run_workflow(doc, pods)
    assert main.phase == "Failed"
    open_runs = [run_of_pod(i) for i in items_of(main)]
    assert [get_run(r)["info"]["status"] for r in open_runs] == ["RUNNING", "RUNNING"]
    broken = json.loads(json.dumps(doc))
    notify = next(t for t in broken["spec"]["templates"] if t["name"] == "notify")
    notify["container"]["command"] = ["sh", "-c", "exit 3"]
    wf.doc = broken
    exit_ = wf.run_exit_handler(main.phase)
    assert exit_.tasks["notify"].phase == "Failed"
    assert exit_.tasks["mlflow-cleanup"].phase == "Succeeded", exit_.tasks["mlflow-cleanup"].pod.logs
    assert [get_run(r)["info"]["status"] for r in open_runs] == ["KILLED", "KILLED"]


def run_of_pod(item):
    """The run the item's init container created, found on the server by its
    pod's name (a pod that failed reports no outputs in the emulator)."""
    fit = item.tasks["fit"]
    exp = rest("GET", "experiments/get-by-name", query={"experiment_name": EXPERIMENT})["experiment"]
    found = rest("POST", "runs/search", {"experiment_ids": [exp["experiment_id"]],
                                         "filter": "tags.`argo.pod.name` = '%s'" % fit.pod_name})["runs"]
    assert len(found) == 1, found
    return found[0]["info"]["run_id"]


def test_negative_control_a_group_input_left_unpassed_is_caught(doc):
    """The walker must not invent values: without the loop task's argument,
    the group's input `sweep-item` has no value and the run stops there."""
    broken = json.loads(json.dumps(doc))
    main = next(t for t in broken["spec"]["templates"] if t["name"] == broken["spec"]["entrypoint"])
    main["dag"]["tasks"][0]["arguments"]["parameters"] = []
    pods = Pods()
    with pytest.raises(PodError, match="inputs.parameters.sweep-item was not supplied"):
        run_workflow(broken, pods)
    assert pods.ran == []
