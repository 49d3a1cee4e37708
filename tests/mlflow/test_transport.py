"""The injected MLflow client (`call` in src/emit/scripts/mlflow_common.py),
exactly as compiled into examples/fraud_champion.mlp, against loopback
servers whose answers the tests write: redirects keep the credentials at
the tracking server's origin, a redirected POST is not re-sent as a GET,
answers are bounded, and MLFLOW_TRACKING_SERVER_CERT_PATH is the CA TLS is
verified against. No MLflow server is needed (these run without
MLPC_MLFLOW_URI); the emulator needs root."""
import json
import os
import shutil

import pytest

from fakeserver import API, FakeServer, compile_example, run_step, self_signed, shared_dir

TOKEN = "tok en/42=="
SECRETS = {"mlflow-auth": {"token": TOKEN}}
STORAGE = "s3://mlflow-artifacts/1/models/m-7/artifacts"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the pod emulator needs root")


@pytest.fixture(scope="module")
def fraud():
    return compile_example("fraud_champion.mlp")


def registry(seen):
    """What the resolve step asks the registry, answered."""
    path = seen.path.split("?")[0]
    if path.endswith(API + "registered-models/alias"):
        return 200, {}, {"model_version": {"version": "7"}}
    if path.endswith(API + "model-versions/get-download-uri"):
        return 200, {}, {"artifact_uri": STORAGE}
    return 404, {}, {"error_code": "ENDPOINT_NOT_FOUND"}


def resolve(fraud, url):
    return run_step(fraud, "serve-resolve", url, secrets=SECRETS)


@pytest.mark.parametrize("other", ["other-port", "other-host"])
def test_a_redirect_to_another_origin_is_not_followed(fraud, other):
    """The tracking server answers 302 to another origin that would answer
    everything: the step fails, and the other server never sees the token
    (urllib's own handler sends every header along)."""
    where = {}
    with FakeServer(lambda seen: (302, {"Location": where["url"] + seen.path}, {})) as tracking:
        host, port = ("127.0.0.1", 0) if other == "other-port" else ("127.0.0.2", tracking.port)
        with FakeServer(registry, host=host, port=port) as elsewhere:
            where["url"] = elsewhere.url
            res = resolve(fraud, tracking.url)
    assert tracking.requests and tracking.requests[0].headers.get("Authorization") == "Bearer " + TOKEN
    assert not [r for r in elsewhere.requests if "Authorization" in r.headers], elsewhere.requests
    assert res.main_code == 1, res.logs
    assert "redirect to another origin" in res.logs["main"], res.logs["main"]
    # Not followed at all: the query (model name, alias) stays home too.
    assert elsewhere.requests == []
    assert "storage_uri" not in res.outputs


def test_a_same_origin_redirect_is_followed_with_the_token(fraud):
    """A redirect to another path of the same scheme, host and port (a
    proxy's prefix) is followed, credentials included."""
    def answer(seen):
        if not seen.path.startswith("/moved/"):
            return 302, {"Location": "/moved" + seen.path}, {}
        if seen.headers.get("Authorization") != "Bearer " + TOKEN:
            return 401, {}, {"error_code": "UNAUTHENTICATED"}
        return registry(seen)

    with FakeServer(answer) as tracking:
        res = resolve(fraud, tracking.url)
    assert res.main_code == 0, res.logs
    assert res.outputs == {"storage_uri": STORAGE + "/", "version": "7"}
    moved = [r for r in tracking.requests if r.path.startswith("/moved/")]
    assert len(moved) == 2 and all(r.headers.get("Authorization") == "Bearer " + TOKEN for r in moved)


@pytest.mark.parametrize("code", [302, 307])
def test_a_redirected_post_fails_instead_of_becoming_a_get(fraud, code):
    """The init container's runs/create (a POST) answered with a redirect
    to the same origin: urllib would send a GET without the body on a 302
    (and give up on a 307); the step fails saying why, and nothing is sent
    to the new address."""
    def answer(seen):
        path = seen.path.split("?")[0]
        if path.endswith(API + "experiments/get-by-name"):
            return 200, {}, {"experiment": {"experiment_id": "1", "lifecycle_stage": "active"}}
        if path == API + "runs/create":
            return code, {"Location": "/elsewhere" + seen.path}, {}
        return 200, {}, {"run": {"info": {"run_id": "r-1", "artifact_uri": "mlflow-artifacts:/1/r-1/artifacts"}}}

    with FakeServer(answer) as tracking:
        res = run_step(fraud, "challenger", tracking.url, secrets=SECRETS, skip_main=True)
    assert not [r for r in tracking.requests if r.path.startswith("/elsewhere")], tracking.requests
    assert res.init_codes == [1], res.logs
    assert "POST %s/api/2.0/mlflow/runs/create answered HTTP %d" % (tracking.url, code) in res.logs["mlflow-init"]
    assert "not re-sent" in res.logs["mlflow-init"], res.logs


def test_an_answer_over_the_limit_fails_the_step(fraud):
    """Our answers are small JSON; 9 MiB is refused, not read into memory."""
    def answer(seen):
        if "get-download-uri" in seen.path:
            return 200, {"Content-Type": "application/json"}, json.dumps(
                {"artifact_uri": STORAGE, "padding": "x" * (9 << 20)}).encode()
        return registry(seen)

    with FakeServer(answer) as tracking:
        res = resolve(fraud, tracking.url)
    assert res.main_code == 1, res.logs
    assert "get-download-uri: the answer is larger than 8388608 bytes" in res.logs["main"], res.logs["main"]
    assert "storage_uri" not in res.outputs


@pytest.fixture(scope="module")
def certs():
    if not shutil.which("openssl"):
        pytest.fail("openssl is missing: the CA bundle test makes its certificates with it")
    d = shared_dir()
    yield self_signed(d, "server"), self_signed(d, "other")
    shutil.rmtree(d)


@pytest.mark.parametrize("bundle", ["server", "none", "other"])
def test_tls_is_verified_against_the_ca_bundle(fraud, certs, bundle):
    """An HTTPS tracking server with a self-signed certificate: the step
    works with MLFLOW_TRACKING_SERVER_CERT_PATH naming that certificate, and
    fails (at once, saying why) without it or with another CA's."""
    (server_cert, server_key), (other_cert, _) = certs
    doc = json.loads(json.dumps(fraud))
    env = next(t for t in doc["spec"]["templates"] if t["name"] == "serve-resolve")["container"]["env"]
    if bundle != "none":
        # What the compiler will add, with the bundle mounted at that path.
        env.append({"name": "MLFLOW_TRACKING_SERVER_CERT_PATH",
                    "value": str(server_cert if bundle == "server" else other_cert)})
    with FakeServer(registry, tls=(server_cert, server_key)) as tracking:
        res = resolve(doc, tracking.url)
    if bundle == "server":
        assert res.main_code == 0, res.logs
        assert res.outputs["storage_uri"] == STORAGE + "/"
        assert len(tracking.requests) == 2
    else:
        assert res.main_code == 1, res.logs
        assert "cannot verify the TLS certificate of GET https://127.0.0.1:%d" % tracking.port in res.logs["main"]
        assert tracking.requests == []
