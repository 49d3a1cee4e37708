"""End-to-end: artifact fan-in (contract v2 §9.2) against the real MLflow
server, with every pod of the workflow run as Argo would run it.

tests/mlflow/sweep_reports.mlp holds a loop group over two learning rates (a
tracked `train fit`, and a `report` job that writes its item to a file
output) and a `collect` job outside the loop that reads `report.report`: a
directory with one entry per item, named by the item's index. mlpc lowers it
to key-only artifacts: each item's `report` uploads to
`mlp/{{workflow.uid}}/report-report/INDEX`, and `collect` downloads the
prefix `mlp/{{workflow.uid}}/report-report` as a directory. The loop's items
are maps (`{mlp-index, mlp-item}`). `emulator.Workflow` walks the DAG
(`processItem` for map items) and keeps the run's artifact repository
(see `Pod.load_inputs` and `Pod.save_outputs` for Argo's rules).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from emulator import Context, Workflow, item_text, item_values, python_alpine, user_image  # noqa: E402
from test_scenarios import (CLUSTER_URI, INJECTED_IMAGE, MLPC, ROOT, URI, USER_PYTHON, STDLIB_PYTHON,  # noqa: E402
                            fresh_uid, get_run, params, rest, tags)

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")

PROGRAM = Path(__file__).parent / "sweep_reports.mlp"
EXPERIMENT = "e2e sweep reports"
TRAINER = "ghcr.io/acme/sweep-trainer:1.0.0"
ITEMS = ["0.1", "0.01"]                       # for_each, in item order
AUC = {"0.1": 0.93, "0.01": 0.42}


@pytest.fixture(scope="module")
def doc():
    out = subprocess.run([MLPC, "compile", str(PROGRAM)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


class Pods:
    """Each pod's Context. `items` are the loop items' texts: here a map
    item's JSON, whose `mlp-item` is the learning rate (as `{{item.mlp-item}}`
    writes it). `broken` maps a learning rate to the template whose pod is
    lost before its main runs."""

    def __init__(self, broken=None):
        self.broken = broken or {}
        self.ran = []

    def __call__(self, name, items):
        lr = item_text(json.loads(items[-1])["mlp-item"]) if items else None
        self.ran.append((name, lr))
        env = {"TRAIN_METRICS": json.dumps({"auc": AUC[lr]})} if name == "fit" else {}
        trainer = user_image(USER_PYTHON, ROOT / "tests" / "mlflow" / "images" / "trainer", env=env)
        ctx = Context(images={INJECTED_IMAGE: python_alpine(STDLIB_PYTHON), TRAINER: trainer},
                      services={CLUSTER_URI: URI})
        if self.broken.get(lr) == name:
            ctx.skip_main = True          # evicted before its main container ran
        return ctx


def run_workflow(doc, pods, **arguments):
    """Submits the workflow (`argo submit -p NAME=VALUE` for `arguments`)
    and runs its entrypoint."""
    doc = json.loads(json.dumps(doc))
    for p in doc["spec"]["arguments"]["parameters"]:
        if p["name"] in arguments:
            p["value"] = arguments.pop(p["name"])
    assert not arguments, "no such workflow parameter: %s" % arguments
    uid = fresh_uid()
    wf = Workflow(doc, pods, "wf-" + uid[:8], uid)
    return wf, wf.run_entrypoint()


def stored(wf):
    """The objects of this run's fan-in prefix in the artifact repository."""
    prefix = wf.repository / "mlp" / wf.uid / "report-report"
    return {str(f.relative_to(prefix)): f.read_text() for f in prefix.rglob("*") if f.is_file()} \
        if prefix.exists() else {}


def check_items(wf, main):
    """The loop's item nodes, named by `processItem` for map items, their
    inputs, and each item's MLflow run, which must have ended FINISHED."""
    loop = main.tasks["sweep"]
    assert loop.template == "sweep" and len(loop.items) == 2
    runs = []
    for i, (item, lr) in enumerate(zip(loop.items, ITEMS)):
        assert item.name == "%s.sweep(%d:mlp-index:%d,mlp-item:%s)" % (wf.name, i, i, lr)
        assert item.inputs == {"sweep-item": lr, "sweep-item-mlp-index": str(i)}
        fit = item.tasks["fit"]
        assert fit.phase == "Succeeded", fit.pod.logs
        run = get_run(fit.outputs["run_id"])
        assert run["info"]["status"] == "FINISHED", run["info"]
        t = tags(run)
        assert t["mlp.item"] == lr and t["mlp.item.sweep"] == lr, t
        assert t["mlp.pipeline"] == "sweep_reports" and t["argo.workflow.uid"] == wf.uid
        assert t["argo.pod.name"] == fit.pod_name
        assert params(run)["lr"] == lr and params(run)["argv"] == "--lr %s" % lr
        runs.append(run["info"]["run_id"])
    assert runs[0] != runs[1]
    return loop.items, runs


def test_map_items_are_substituted_as_process_item_does():
    """`{{item.KEY}}` is each value's `Item.String()`, `{{item}}` the map's
    JSON, the node name's pairs sorted: the same for a value kept as JSON
    (a number) as for one written as a string."""
    for value, json_value in ((0.01, "0.01"), ("0.01", '"0.01"')):
        values, label = item_values({"mlp-item": value, "mlp-index": "1"})
        assert values == {"item.mlp-item": "0.01", "item.mlp-index": "1",
                          "item": '{"mlp-index":"1","mlp-item":%s}' % json_value}
        assert label == "mlp-index:1,mlp-item:0.01"
    values, label = item_values({"mlp-item": {"lr": 1e-05, "tag": "a<b & c"}, "mlp-index": "0"})
    assert values["item.mlp-item"] == '{"lr":0.00001,"tag":"a<b & c"}'
    assert values["item"] == '{"mlp-index":"0","mlp-item":{"lr":0.00001,"tag":"a\\u003cb \\u0026 c"}}'
    assert item_text('say "hi"') == 'say \\"hi\\"'      # argo-workflows#16061


def test_the_reader_sees_one_entry_per_item_index(doc):
    pods = Pods()
    wf, main = run_workflow(doc, pods)
    assert main.phase == "Succeeded", main
    items, runs = check_items(wf, main)
    for i, item in enumerate(items):
        report = item.tasks["report"]
        assert report.phase == "Succeeded", report.pod.logs
        assert report.inputs["sweep-index"] == str(i)
    # Each item uploaded its file at its index under the run's prefix.
    assert stored(wf) == {"0": "0.1 run %s" % runs[0], "1": "0.01 run %s" % runs[1]}
    # `collect` ran after the whole loop and saw a directory: exactly `0` and
    # `1`, holding the items in item order.
    collect = main.tasks["collect"]
    assert collect.phase == "Succeeded", (collect.pod.error, collect.pod.logs)
    assert [name for name, _ in pods.ran][-1] == "collect"
    assert collect.outputs["seen"] == "0=0.1 run %s\n1=0.01 run %s\n" % tuple(runs)
    # No `finally`: the exit handler is the injected clean-up itself, and it
    # leaves the ended runs alone.
    cleanup = wf.run_exit_handler(main.phase)
    assert cleanup.template == "mlflow-cleanup" and cleanup.name == wf.name + ".onExit"
    assert cleanup.phase == "Succeeded" and "closed 0 run(s)" in cleanup.pod.logs["main"], cleanup.pod.logs
    assert [get_run(r)["info"]["status"] for r in runs] == ["FINISHED", "FINISHED"]
    # The items' runs are this run's only ones in the program's experiment.
    exp = rest("GET", "experiments/get-by-name", query={"experiment_name": EXPERIMENT})["experiment"]
    found = rest("POST", "runs/search", {"experiment_ids": [exp["experiment_id"]],
                                         "filter": "tags.`argo.workflow.uid` = '%s'" % wf.uid})["runs"]
    assert sorted(r["info"]["run_id"] for r in found) == sorted(runs)


def test_a_skipped_item_has_no_entry(doc):
    """`max_lr=0.05` skips item 0 (0.1): no object at index 0, so the reader
    sees only `1`; the entry keeps its item's index, it is not renumbered."""
    wf, main = run_workflow(doc, Pods(), **{"max-lr": "0.05"})
    assert main.phase == "Succeeded", main
    items, runs = check_items(wf, main)
    assert [i.tasks["report"].phase for i in items] == ["Skipped", "Succeeded"]
    assert stored(wf) == {"1": "0.01 run %s" % runs[1]}
    assert main.tasks["collect"].outputs["seen"] == "1=0.01 run %s\n" % runs[1]


def test_every_item_skipped_leaves_the_reader_nothing_to_load(doc):
    """With every `report` skipped, nothing was written under the prefix: the
    reader's input is neither an object nor a "directory", so Argo's
    executor fails its pod with "key not found" (the input artifact is not
    `optional`), the node is Error and the run fails, though the loop
    succeeded and both MLflow runs ended FINISHED (docs/compile.md: "a
    reader of a loop none of whose items wrote the artifact fails")."""
    wf, main = run_workflow(doc, Pods(), **{"max-lr": "0.001"})
    items, _ = check_items(wf, main)
    assert [i.tasks["report"].phase for i in items] == ["Skipped", "Skipped"]
    assert main.tasks["sweep"].phase == "Succeeded"
    assert stored(wf) == {}
    collect = main.tasks["collect"]
    assert collect.phase == "Error" and collect.pod.main_code is None
    assert collect.pod.error == "artifact report-report failed to load: key mlp/%s/report-report not found" % wf.uid
    assert main.phase == "Failed"


def test_a_failed_item_omits_the_reader(doc):
    """Item 1's `report` pod is lost before its main runs: it uploads
    nothing, the item and the loop fail, and `collect` (`depends:
    sweep.Succeeded`) is Omitted, as Argo does; it never sees a partial
    directory. Both runs still ended FINISHED."""
    pods = Pods(broken={"0.01": "report"})
    wf, main = run_workflow(doc, pods)
    items, runs = check_items(wf, main)
    assert [i.tasks["report"].phase for i in items] == ["Succeeded", "Failed"]
    assert [i.phase for i in items] == ["Succeeded", "Failed"]
    assert main.tasks["sweep"].phase == "Failed"
    assert main.tasks["collect"].phase == "Omitted"
    assert "collect" not in [name for name, _ in pods.ran]
    assert main.phase == "Failed"
    assert stored(wf) == {"0": "0.1 run %s" % runs[0]}


def test_negative_control_a_key_without_the_item_index_is_caught(doc):
    """Were the producer's key missing the item's index, every item would
    overwrite one object and the reader would get a file, not a directory:
    the scenario must fail then."""
    broken = json.loads(json.dumps(doc))
    report = next(t for t in broken["spec"]["templates"] if t["name"] == "report")
    art = report["outputs"]["artifacts"][0]
    assert art["s3"]["key"] == "mlp/{{workflow.uid}}/report-report/{{inputs.parameters.sweep-index}}"
    art["s3"]["key"] = "mlp/{{workflow.uid}}/report-report"
    wf, main = run_workflow(broken, Pods())
    collect = main.tasks["collect"]
    assert collect.phase == "Failed" and collect.pod.main_code != 0
    assert "seen" not in collect.outputs
    assert main.phase == "Failed"

