"""The deploy step's resolve (src/emit/scripts/mlflow_resolve.py), exactly as
compiled into examples/fraud_champion.mlp, against a fake registry: its two
outputs go into the InferenceService, so a version that is not a number and
a storage URI that is not one KServe reads under `artifact_store` fail the
step, whatever the registry (or whoever answers at the tracking URI) says.
The real-MLflow resolve scenarios are in test_scenarios.py. No MLflow server
is needed; the emulator needs root."""
import json
import os

import pytest

from emulator import template
from fakeserver import API, FakeServer, compile_example, run_step

STORE = "s3://mlflow-artifacts"       # the example's artifact_store
INJECTION = '"\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: evil}\nx: "'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the pod emulator needs root")


@pytest.fixture(scope="module")
def fraud():
    return compile_example("fraud_champion.mlp")


def fake_registry(version="7", location="mlflow-artifacts:/1/models/m-7/artifacts",
                  run_root="mlflow-artifacts:/1/r-1/artifacts"):
    def answer(seen):
        path = seen.path.split("?")[0]
        if path == API + "registered-models/alias":
            return 200, {}, {"model_version": {"version": version}}
        if path == API + "model-versions/get-download-uri":
            return 200, {}, {"artifact_uri": location}
        if path == API + "runs/get":
            return 200, {}, {"run": {"info": {"artifact_uri": run_root}}}
        return 404, {}, {"error_code": "ENDPOINT_NOT_FOUND"}
    return answer


def resolve(doc, model="models:/fraud-detector@champion", **registry):
    with FakeServer(fake_registry(**registry)) as server:
        res = run_step(doc, "serve-resolve", server.url, workflow_parameters={"serve-model": model})
    return res, server.requests


def without_store(fraud):
    doc = json.loads(json.dumps(fraud))
    container = template(doc, "serve-resolve")["container"]
    assert any(e["name"] == "MLP_ARTIFACT_STORE" for e in container["env"])
    container["env"] = [e for e in container["env"] if e["name"] != "MLP_ARTIFACT_STORE"]
    return doc


# The fake registry works: what a sound registry says comes through.
@pytest.mark.parametrize("model,registry,storage", [
    ("models:/fraud-detector@champion", {}, STORE + "/1/models/m-7/artifacts/"),
    ("models:/fraud-detector/12", {}, STORE + "/1/models/m-7/artifacts/"),
    ("models:/fraud-detector@champion", {"location": STORE + "/1/models/m-7/artifacts"},
     STORE + "/1/models/m-7/artifacts/"),
    ("models:/fraud-detector@champion", {"location": "runs:/r-1/model"}, STORE + "/1/r-1/artifacts/model/"),
], ids=["mapped", "given-version", "direct-under-store", "runs-uri"])
def test_sound_values_pass(fraud, model, registry, storage):
    res, _ = resolve(fraud, model, **registry)
    assert res.main_code == 0, res.logs
    assert res.outputs["storage_uri"] == storage
    assert res.outputs["version"] == ("12" if model.endswith("/12") else "7")


@pytest.mark.parametrize("version", ["1\nkind: Pod", "0", "07", "-1", "1.0", "1 ", "\u0661", 7.5, ""],
                         ids=["injection", "zero", "leading-zero", "negative", "decimal", "space",
                              "arabic-digit", "float", "empty"])
def test_a_version_for_an_alias_that_is_not_a_number_fails(fraud, version):
    res, requests = resolve(fraud, version=version)
    assert res.main_code == 1, res.logs
    assert ("is not a version number" if version else "no version of fraud-detector") in res.logs["main"], res.logs
    assert res.outputs == {}
    # Refused before it was used.
    assert [r.path.split("?")[0] for r in requests] == [API + "registered-models/alias"]


def test_a_given_version_that_is_not_a_number_fails_before_any_call(fraud):
    res, requests = resolve(fraud, "models:/fraud-detector/1\nkind: Pod")
    assert res.main_code == 1, res.logs
    assert "version '1\\nkind: Pod' of 'fraud-detector' is not a version number" in res.logs["main"], res.logs
    assert requests == [] and res.outputs == {}


@pytest.mark.parametrize("registry,why", [
    ({"location": "mlflow-artifacts:/1/m" + INJECTION}, "it holds"),
    ({"location": STORE + "/1/m" + INJECTION}, "it holds"),
    ({"location": "mlflow-artifacts:/1/m\x1b[2Jx"}, "it holds"),
    ({"location": "mlflow-artifacts:/1/m{x}"}, "it holds"),
    ({"location": "mlflow-artifacts:/1/m\\..\\x"}, "it holds"),
    ({"location": "mlflow-artifacts:/1/m\u2028x"}, "it holds"),
    ({"location": "mlflow-artifacts:/1/m%0Akind:%20Pod"}, "it holds"),
    ({"location": "mlflow-artifacts:/../../other-bucket/model"}, "segment"),
    ({"location": "mlflow-artifacts:/1/%2e%2e/%2E%2E/other"}, "segment"),
    ({"location": STORE + "/1/../../other-bucket/model"}, "segment"),
    ({"location": "runs:/r-1/../../../model", "run_root": "mlflow-artifacts:/1/r-1/artifacts"}, "segment"),
    ({"location": "s3://other-bucket/model"}, "not under artifact_store"),
    ({"location": STORE + "-evil/1/model"}, "not under artifact_store"),
    ({"location": "mlflow-artifacts:/"}, "not under artifact_store"),
    ({"location": "runs:/r-1/model", "run_root": "gs://elsewhere/r-1/artifacts"}, "not under artifact_store"),
    ({"location": "file:///etc/passwd"}, "KServe reads"),
    ({"location": "http://example.com/model"}, "KServe reads"),
    ({"location": "/var/models/m"}, "KServe reads"),
], ids=["yaml-injection-mapped", "yaml-injection-direct", "escape-code", "braces", "backslash",
        "line-separator", "encoded-newline", "dotdot-mapped", "dotdot-encoded", "dotdot-direct", "dotdot-run",
        "other-bucket", "prefix-not-a-boundary", "the-store-itself", "run-elsewhere", "file", "http", "no-scheme"])
def test_a_hostile_storage_uri_fails(fraud, registry, why):
    res, _ = resolve(fraud, **registry)
    assert res.main_code == 1, res.logs
    assert "refusing storage URI" in res.logs["main"] and why in res.logs["main"], res.logs["main"]
    assert res.outputs == {}
    # The log quotes the value: one line, whatever it holds.
    assert len(res.logs["main"].splitlines()) == 1, res.logs["main"]


def test_without_an_artifact_store_a_direct_uri_passes_the_syntactic_checks_only(fraud):
    doc = without_store(fraud)
    res, _ = resolve(doc, location="s3://any-bucket/models/m-7")
    assert res.main_code == 0, res.logs
    assert res.outputs["storage_uri"] == "s3://any-bucket/models/m-7/"
    res, _ = resolve(doc, location="s3://any-bucket/m" + INJECTION)
    assert res.main_code == 1 and "refusing storage URI" in res.logs["main"], res.logs
    res, _ = resolve(doc, location="s3://any-bucket/a/../b")
    assert res.main_code == 1 and "segment" in res.logs["main"], res.logs
    res, _ = resolve(doc)
    assert res.main_code == 1 and "set `artifact_store`" in res.logs["main"], res.logs
