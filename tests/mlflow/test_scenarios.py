"""End-to-end: the MLflow steps mlpc injects, run exactly as emitted for the
programs in examples/, against a real MLflow 3 tracking server.

Run by `cargo test` (tests/mlflow_e2e.rs) with the server that
`tests/mlflow/server.py start` started; see README.md.
"""
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from authproxy import AuthProxy  # noqa: E402
from emulator import (Context, PodError, evaluate_when, expand_expression_tags, python_alpine,  # noqa: E402
                      run_template, substitute_task_outputs, template, user_image, workflow_parameters)

ROOT = Path(__file__).resolve().parents[2]
URI = os.environ.get("MLPC_MLFLOW_URI", "")
ARTIFACTS = Path(os.environ.get("MLPC_MLFLOW_ARTIFACTS", "/nonexistent"))
MLPC = os.environ.get("MLPC_BIN", str(ROOT / "target" / "debug" / "mlpc"))
CLUSTER_URI = "http://mlflow.mlflow.svc.cluster.local:5000"
INJECTED_IMAGE = "python:3.12.11-alpine3.22@sha256:efcdfa6a6b2fd2afb9c7dfa9a5b288a6f68338b5cfdebe6b637d986067d85757"
# The injected programs run as uid 65534: they need a Python that user can
# execute; Debian's is outside /root.
STDLIB_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
USER_PYTHON = sys.executable        # the venv with mlflow and scikit-learn
WEIRD_EXPERIMENT = "fraud \"challenger\" & friends/2026"
WEIRD_MODEL = "fraud \"detector\" & co"

pytestmark = pytest.mark.skipif(not URI, reason="no MLflow server (MLPC_MLFLOW_URI is unset)")


# ----- helpers ------------------------------------------------------------------

def rest(method, path, body=None, query=None):
    url = URI + "/api/2.0/mlflow/" + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise AssertionError("%s %s -> %s %s" % (method, path, e.code, e.read()[:300]))


def get_run(run_id):
    return rest("GET", "runs/get", query={"run_id": run_id})["run"]


def compile_example(name, *extra):
    out = subprocess.run([MLPC, "compile", str(ROOT / "examples" / name)] + list(extra),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def images(**env):
    trainer = user_image(USER_PYTHON, ROOT / "tests" / "mlflow" / "images" / "trainer", env=env)
    return {
        INJECTED_IMAGE: python_alpine(STDLIB_PYTHON),
        "trainer:latest": trainer,
        "ghcr.io/acme/fraud-trainer:3.1.0": trainer,
        "ghcr.io/acme/churn-trainer:2.3.1": trainer,
    }


def context(uid, services_to=None, **kw):
    kw.setdefault("images", images())
    return Context(services={CLUSTER_URI: services_to or URI}, workflow_uid=uid,
                   workflow_name="wf-" + uid[:8], **kw)


def fresh_uid():
    import uuid
    return str(uuid.uuid4())


def assert_ran(res, what):
    assert res.init_codes and all(c == 0 for c in res.init_codes), "%s: init failed\n%s" % (what, res.logs)
    assert res.main_code == 0, "%s: main exited %s\n%s" % (what, res.main_code, res.logs)


def tags(run):
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def params(run):
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def metrics(run):
    return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("artifacts") / "data.parquet"
    f.write_bytes(b"PAR1 stand-in for a dataset")
    return f


@pytest.fixture(scope="module")
def flagship():
    return compile_example("terraform_optimization.mlp")


@pytest.fixture(scope="module")
def fraud():
    return compile_example("fraud_champion.mlp")


def train_flagship(flagship, data_file, **env):
    uid = fresh_uid()
    env.setdefault("TRAIN_METRICS", json.dumps({"cost_reduction": 0.15, "performance_impact": 0.01}))
    ctx = context(uid, images=images(**env), artifacts={"features-data": str(data_file)})
    return uid, ctx, run_template(flagship, "optimizer", ctx)


def check_tracked_run(res, ctx, experiment, pipeline, stage):
    """What a tracked stage must leave in MLflow."""
    run_id = res.outputs["run_id"]
    run = get_run(run_id)
    exp = rest("GET", "experiments/get", query={"experiment_id": run["info"]["experiment_id"]})["experiment"]
    assert exp["name"] == experiment
    t = tags(run)
    assert t["mlp.pipeline"] == pipeline and t["mlp.stage"] == stage
    assert t["argo.workflow.name"] == ctx.workflow_name and t["argo.workflow.uid"] == ctx.workflow_uid
    assert t["argo.pod.name"] and t["argo.node.id"] and t["argo.namespace"] == ctx.namespace
    p = params(run)
    # The user's own logging landed on the injected run (MLFLOW_RUN_ID honoured).
    assert p.get("alpha") == "0.1", "the user code's params are not on the injected run: %s" % p
    assert "loss" in metrics(run)
    return run


# ----- scenarios --------------------------------------------------------------------

def test_tracked_train_finishes_with_user_logs_and_pipeline_params(flagship, data_file):
    uid, ctx, res = train_flagship(flagship, data_file)
    assert_ran(res, "optimizer")
    run = check_tracked_run(res, ctx, "terraform-optimization", "terraform_optimization", "optimizer")
    assert run["info"]["status"] == "FINISHED"
    p = params(run)
    # `params` from the .mlp file, with the workflow parameters' values.
    assert p["model"] == "nuibang/Cline_FuseO1-DeepSeekR1-Qwen2.5-Coder-32B-Preview"
    assert p["target"] == "cost_optimization"
    # The user's argv arrived intact, with the input artifact's path.
    assert "--data /tmp/inputs/features-data/data.parquet --lr=0.001 --batch-size=32" in p["argv"]
    assert run["outputs"]["model_outputs"], "log_model linked a LoggedModel to the run"


def test_user_code_that_raises_fails_the_run(flagship, data_file):
    _, _, res = train_flagship(flagship, data_file, TRAIN_MODE="crash")
    assert res.main_code == 1
    assert get_run(res.outputs["run_id"])["info"]["status"] == "FAILED"


def test_killed_main_kills_the_run(flagship, data_file):
    uid = fresh_uid()
    ctx = context(uid, images=images(TRAIN_MODE="sleep"), artifacts={"features-data": str(data_file)},
                  kill_main_after=8)
    res = run_template(flagship, "optimizer", ctx)
    assert res.main_code != 0
    assert get_run(res.outputs["run_id"])["info"]["status"] == "KILLED"


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_credentials_come_from_the_secret(fraud, kind):
    secret = {"username": "pipeline", "password": "s3cr3t pass&word"} if kind == "basic" else {"token": "tok en/42=="}
    proxy = AuthProxy(URI, **secret)
    try:
        uid = fresh_uid()
        ctx = context(uid, services_to=proxy.uri, images=images(TRAIN_METRICS=json.dumps({"auc": 0.9})),
                      secrets={"mlflow-auth": secret})
        res = run_template(fraud, "challenger", ctx)
        assert_ran(res, "challenger via %s auth" % kind)
        run = check_tracked_run(res, ctx, WEIRD_EXPERIMENT, "fraud_champion", "challenger")
        assert run["info"]["status"] == "FINISHED"
        assert params(run)["owner"] == "risk team"
        assert proxy.rejected == 0 and proxy.forwarded > 5
        # Wrong credentials: the init container fails loudly.
        bad = {k: v + "x" for k, v in secret.items()}
        res = run_template(fraud, "challenger", context(fresh_uid(), services_to=proxy.uri, secrets={"mlflow-auth": bad}))
        assert res.init_codes == [1]
        assert "401" in res.logs["mlflow-init"]
    finally:
        proxy.close()


def train_fraud(fraud, auc=0.9, mode="ok"):
    uid = fresh_uid()
    ctx = context(uid, images=images(TRAIN_METRICS=json.dumps({"auc": auc}), TRAIN_MODE=mode))
    res = run_template(fraud, "challenger", ctx)
    assert_ran(res, "challenger")
    return ctx, res.outputs["run_id"]


def register(fraud, run_id, model_name=WEIRD_MODEL, uid=None, logs=None):
    ctx = context(uid or fresh_uid(), inputs={"challenger-run_id": run_id},
                  workflow_parameters={"model-name": model_name})
    res = run_template(fraud, "promote", ctx)
    assert res.main_code == 0, res.logs
    if logs is not None:
        logs.append(res.logs["main"])
    return res.outputs


@pytest.mark.parametrize("mode", ["ok", "artifacts"])
def test_register_creates_a_ready_version_with_alias_idempotently(fraud, mode):
    name = "%s %s" % (WEIRD_MODEL, mode)
    _, run_id = train_fraud(fraud, mode=mode)
    first = register(fraud, run_id, name)
    version = first["version"]
    assert first["model_uri"] == "models:/%s/%s" % (name, version)
    mv = rest("GET", "model-versions/get", query={"name": name, "version": version})["model_version"]
    assert mv["status"] == "READY" and mv["run_id"] == run_id
    if mode == "ok":
        assert mv["source"].startswith("models:/m-"), "MLflow 3 LoggedModel source: %s" % mv["source"]
    else:
        assert mv["source"].startswith("mlflow-artifacts:/") and mv["source"].endswith("/artifacts/model"), mv["source"]
    assert not mv["source"].startswith("runs:/")
    tagged = {t["key"]: t["value"] for t in mv.get("tags", [])}
    assert tagged.get("promoted.by") == "mlpc" and tagged.get("workflow", "").startswith("wf-")
    alias = rest("GET", "registered-models/alias", query={"name": name, "alias": "champion"})
    assert alias["model_version"]["version"] == version
    # Running the step again registers a second version, without error.
    second = register(fraud, run_id, name)
    assert int(second["version"]) == int(version) + 1
    alias = rest("GET", "registered-models/alias", query={"name": name, "alias": "champion"})
    assert alias["model_version"]["version"] == second["version"]


def promote_when(fraud, gate_outputs):
    """The `when` of the fraud pipeline's promote task, as Argo substitutes it:
    an expression tag is evaluated over the values (what govaluate then sees
    is `true` or `false`); plain placeholders are replaced as text."""
    spec = fraud["spec"]
    dag = template(fraud, spec["entrypoint"])["dag"]["tasks"]
    when = next(t for t in dag if t["name"] == "promote")["when"]
    params_ = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    env = {"tasks": {"challenger-metrics": {"outputs": {"parameters": gate_outputs}}},
           "workflow": {"parameters": params_}}
    return substitute_task_outputs(expand_expression_tags(when, env).replace(
        "{{workflow.parameters.min-auc}}", params_["min-auc"]), {"challenger-metrics": gate_outputs})


def test_register_retry_reuses_the_version_it_created(fraud):
    name = "%s retry %s" % (WEIRD_MODEL, fresh_uid()[:6])
    _, run_id = train_fraud(fraud)
    uid = fresh_uid()
    logs = []
    first = register(fraud, run_id, name, uid=uid, logs=logs)
    # Argo retries the task (same workflow uid): say the first attempt died
    # after model-versions/create, before the alias was set.
    rest("DELETE", "registered-models/alias", {"name": name, "alias": "champion"})
    again = register(fraud, run_id, name, uid=uid, logs=logs)
    assert again == first
    assert "created by an earlier attempt" in logs[1] and "earlier attempt" not in logs[0]
    found = rest("GET", "model-versions/search", query={"filter": "name = '%s'" % name})["model_versions"]
    assert [v["version"] for v in found] == [first["version"]]
    tagged = {t["key"]: t["value"] for t in found[0]["tags"]}
    assert re.fullmatch(r"[0-9a-f]{64}", tagged["mlp.register_key"]) and tagged["promoted.by"] == "mlpc"
    alias = rest("GET", "registered-models/alias", query={"name": name, "alias": "champion"})
    assert alias["model_version"]["version"] == first["version"]
    # Another workflow run registers the same run's model again: a new version.
    other = register(fraud, run_id, name, uid=fresh_uid(), logs=logs)
    assert int(other["version"]) == int(first["version"]) + 1
    assert "earlier attempt" not in logs[2]
    found = rest("GET", "model-versions/search", query={"filter": "name = '%s'" % name})["model_versions"]
    assert sorted(v["version"] for v in found) == sorted([first["version"], other["version"]])


@pytest.mark.parametrize("auc,expected", [(0.93, True), (0.42, False)])
def test_metric_gate_feeds_the_when(fraud, auc, expected):
    _, run_id = train_fraud(fraud, auc=auc)
    ctx = context(fresh_uid(), inputs={"run_id": run_id})
    gate = run_template(fraud, "challenger-metrics", ctx)
    assert gate.main_code == 0, gate.logs
    assert float(gate.outputs["auc"]) == pytest.approx(auc)
    text = promote_when(fraud, gate.outputs)
    assert evaluate_when(text) is expected, text


# govaluate's number token (digits and one `.`), after its prefix minus.
GOVALUATE_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MAX_FLOAT_DIGITS = "17976931348623157" + "0" * 292      # sys.float_info.max, shortest, fixed point


@pytest.mark.parametrize("auc,written,expected", [
    (1e-05, "0.00001", False),
    (float("inf"), MAX_FLOAT_DIGITS, True),
    (float("-inf"), "-" + MAX_FLOAT_DIGITS, False),
], ids=["1e-05", "inf", "-inf"])
def test_metric_gate_writes_numbers_govaluate_reads(fraud, auc, written, expected):
    _, run_id = train_fraud(fraud, auc=auc)
    gate = run_template(fraud, "challenger-metrics", context(fresh_uid(), inputs={"run_id": run_id}))
    assert gate.main_code == 0, gate.logs
    value = gate.outputs["auc"]
    assert GOVALUATE_NUMBER.fullmatch(value), value
    assert value == written
    assert len(MAX_FLOAT_DIGITS) == 309 and float(MAX_FLOAT_DIGITS) == sys.float_info.max
    assert float(value) == max(-sys.float_info.max, min(auc, sys.float_info.max))
    text = promote_when(fraud, gate.outputs)
    assert evaluate_when(text) is expected, text
    # Python's repr (what the gate used to write) is no number to govaluate,
    # had the value been spliced into the text; the expression tag reads it
    # as a float (asFloat is Go's strconv.ParseFloat).
    with pytest.raises(ValueError, match="cannot read"):
        evaluate_when("(%s) >= (0.5)" % repr(auc))
    assert evaluate_when(promote_when(fraud, {"auc": repr(auc)})) is expected


def test_metric_gate_fails_on_nan(fraud):
    _, run_id = train_fraud(fraud, auc=float("nan"))
    gate = run_template(fraud, "challenger-metrics", context(fresh_uid(), inputs={"run_id": run_id}))
    assert gate.main_code == 1, gate.logs
    assert "metric auc of run %s is NaN" % run_id in gate.logs["main"], gate.logs["main"]
    assert "auc" not in gate.outputs


def resolve_and_validate(doc, resolve_template, ctx, tmp_path):
    res = run_template(doc, resolve_template, ctx)
    assert res.main_code == 0, res.logs
    storage = res.outputs["storage_uri"]
    assert storage.startswith("s3://mlflow-artifacts/") and storage.endswith("/")
    # The mapped path is where the server really stored the model.
    local = ARTIFACTS / storage[len("s3://mlflow-artifacts/"):]
    assert (local / "MLmodel").exists(), "nothing at %s" % local
    # The emitted InferenceService, with that value substituted, passes the validator.
    apply_name = resolve_template[: -len("-resolve")]
    # Argo evaluates the manifest's `{{=toJson(...)}}` tags: each value
    # becomes one JSON string (see src/emit/lower/manifest.rs).
    doc = json.loads(json.dumps(doc))
    apply = template(doc, apply_name)
    apply["resource"]["manifest"] = (
        apply["resource"]["manifest"]
        .replace("{{=toJson(inputs.parameters['storage_uri'])}}", json.dumps(storage))
        .replace("{{=toJson(inputs.parameters['version'])}}", json.dumps(res.outputs["version"])))
    # The rest (the rollout id, from the workflow's uid) as a string too.
    apply["resource"]["manifest"] = re.sub(r"\{\{=toJson\((.*?)\)\}\}", lambda m: json.dumps(m.group(1)),
                                           apply["resource"]["manifest"])
    text = yaml.safe_dump(doc)
    out = tmp_path / "deploy.yaml"
    out.write_text(text)
    validator = ROOT.parent / "shared" / "tools" / "validate_argo.py"
    if validator.exists():
        check = subprocess.run([os.environ.get("MLPC_VALIDATOR_PYTHON", sys.executable), str(validator), str(out)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        manifest = yaml.safe_load(template(yaml.safe_load(text), apply_name)["resource"]["manifest"])
        assert manifest["spec"]["predictor"]["model"]["storageUri"] == storage
    return res.outputs


def test_deploy_resolves_a_version_to_the_artifact_store(fraud, tmp_path):
    churn = compile_example("churn_model.mlp")
    # A version of the model churn_model's register stage names.
    _, run_id = train_fraud(fraud)
    out = register(fraud, run_id, "churn-classifier")
    ctx = context(fresh_uid(), inputs={"churn-registry-version": out["version"]})
    got = resolve_and_validate(churn, "serve-resolve", ctx, tmp_path)
    assert got["version"] == out["version"]
    download = rest("GET", "model-versions/get-download-uri",
                    query={"name": "churn-classifier", "version": out["version"]})["artifact_uri"]
    assert download.startswith("mlflow-artifacts:/")
    assert got["storage_uri"] == "s3://mlflow-artifacts/%s/" % download[len("mlflow-artifacts:/"):].strip("/")


def test_deploy_resolves_an_alias(fraud, tmp_path):
    name = "%s alias %s" % (WEIRD_MODEL, fresh_uid()[:6])
    _, run_id = train_fraud(fraud)
    out = register(fraud, run_id, name)
    ctx = context(fresh_uid(), workflow_parameters={"serve-model": "models:/%s@champion" % name})
    got = resolve_and_validate(fraud, "serve-resolve", ctx, tmp_path)
    assert got["version"] == out["version"]


FINALIZE_BUDGET = 20          # mlflow_finalize.py's BUDGET


@pytest.mark.parametrize("delay", [12, None], ids=["slow-12s", "never-answers"])
def test_finalize_ends_within_the_grace_period_of_a_slow_server(fraud, delay):
    """Argo SIGKILLs the sidecar 30 s after its SIGTERM. From the moment main
    exits, the server (behind a proxy) takes `delay` seconds per answer, or
    never answers. Main does not touch its run (TRAIN_MODE=quiet), so the
    run's end is the sidecar's doing alone."""
    proxy = AuthProxy(URI)
    try:
        ctx = context(fresh_uid(), services_to=proxy.uri, images=images(TRAIN_MODE="quiet"),
                      after_main=lambda: setattr(proxy, "delay", delay))
        res = run_template(fraud, "challenger", ctx)
        assert_ran(res, "challenger behind a slow server")
        sidecar = res.sidecars["mlflow-finalize"]
        log = res.logs["mlflow-finalize"]
        assert not sidecar.killed, "the sidecar outlived the grace period:\n%s" % log
        run = get_run(res.outputs["run_id"])["info"]
        status = run["status"]
        if delay is not None:
            assert sidecar.code == 0 and delay <= sidecar.seconds < FINALIZE_BUDGET, (sidecar, log)
            assert status == "FINISHED" and run["end_time"], run
        else:
            assert sidecar.code == 1 and FINALIZE_BUDGET - 1 <= sidecar.seconds < FINALIZE_BUDGET + 3, (sidecar, log)
            assert "runs/update" in log, log
            assert status == "RUNNING"
            # The exit handler then ends it KILLED, as it should.
            cleanup = run_template(fraud, fraud["spec"]["onExit"], context(ctx.workflow_uid))
            assert cleanup.main_code == 0, cleanup.logs
            assert get_run(res.outputs["run_id"])["info"]["status"] == "KILLED"
    finally:
        proxy.close()


def test_exit_handler_closes_runs_whose_main_never_ran(fraud):
    uid = fresh_uid()
    ctx = context(uid, skip_main=True)
    res = run_template(fraud, "challenger", ctx)
    assert res.init_codes == [0]
    exp_id = rest("GET", "experiments/get-by-name", query={"experiment_name": WEIRD_EXPERIMENT})["experiment"]["experiment_id"]
    found = rest("POST", "runs/search", {"experiment_ids": [exp_id],
                                         "filter": "tags.`argo.workflow.uid` = '%s'" % uid})["runs"]
    assert [r["info"]["status"] for r in found] == ["RUNNING"]
    # Another workflow's RUNNING run is left alone.
    other = run_template(fraud, "challenger", context(fresh_uid(), skip_main=True))
    assert other.init_codes == [0]
    cleanup = run_template(fraud, fraud["spec"]["onExit"], context(uid))
    assert cleanup.main_code == 0, cleanup.logs
    found = rest("POST", "runs/search", {"experiment_ids": [exp_id],
                                         "filter": "tags.`argo.workflow.uid` = '%s'" % uid})["runs"]
    assert [r["info"]["status"] for r in found] == ["KILLED"]
    others = rest("POST", "runs/search", {"experiment_ids": [exp_id],
                                          "filter": "attributes.status = 'RUNNING'"})["runs"]
    assert any(tags(r)["argo.workflow.uid"] != uid for r in others)


def test_a_changed_program_parameter_is_refused(fraud):
    """The programs are workflow parameters, which a submitter can set
    (`argo submit -p mlpc_mlflow=...`): the loader compiled into each
    container runs the text only if it is the compiled one, so nobody runs
    code of their own with the MLflow credentials."""
    program = workflow_parameters(fraud)["mlpc_mlflow"]
    changed = {"mlpc_mlflow": "print('THE CHANGED PROGRAM RAN', flush=True)\n" + program}
    res = run_template(fraud, "challenger", context(fresh_uid(), workflow_parameters=changed))
    assert res.init_codes == [1] and res.main_code is None, res.logs
    assert "mlpc: mlpc_mlflow was changed" in res.logs["mlflow-init"], res.logs
    assert "THE CHANGED PROGRAM RAN" not in "".join(res.logs.values())
    cleanup = run_template(fraud, fraud["spec"]["onExit"], context(fresh_uid(), workflow_parameters=changed))
    assert cleanup.main_code == 1, cleanup.logs
    assert "THE CHANGED PROGRAM RAN" not in cleanup.logs["main"]


def test_negative_control_a_wrapper_that_forgets_the_run_id_is_caught(flagship, data_file):
    """The harness must catch a broken injection: the same scenario, with the
    wrapper's `export MLFLOW_RUN_ID` removed, fails its checks."""
    broken = yaml.safe_load(yaml.safe_dump(flagship))
    main = template(broken, "optimizer")["container"]
    # The wrapper the init container leaves in the volume, from the program;
    # main runs a copy of it without the export.
    assert main["command"][:2] == ["sh", "/mlflow/mlflow-wrap"]
    program = workflow_parameters(flagship)["mlpc_mlflow"]
    wrapper = re.search(r"WRAP = r'{3}(.*?)'{3}", program, re.S).group(1)
    assert "export MLFLOW_RUN_ID" in wrapper
    main["command"][:2] = ["sh", "-c", wrapper.replace("export MLFLOW_RUN_ID", ":"), "mlflow-wrap"]
    uid = fresh_uid()
    ctx = context(uid, images=images(TRAIN_METRICS="{}"), artifacts={"features-data": str(data_file)})
    res = run_template(broken, "optimizer", ctx)
    with pytest.raises(AssertionError, match="not on the injected run"):
        check_tracked_run(res, ctx, "terraform-optimization", "terraform_optimization", "optimizer")


def test_emulator_rejects_unresolved_placeholders(flagship):
    doc = yaml.safe_load(yaml.safe_dump(flagship))
    template(doc, "optimizer")["container"]["env"].append({"name": "X", "value": "{{inputs.parameters.nope}}"})
    with pytest.raises(PodError, match="unresolved"):
        run_template(doc, "optimizer", context(fresh_uid(), artifacts={"features-data": "/dev/null"}))
