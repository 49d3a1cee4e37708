"""End-to-end: the deploy wait step, exactly as `mlpc compile` emits it, against
a fake Kubernetes API server (fake_apiserver.py) playing KServe's status
transitions poll by poll.

Run by `cargo test` (tests/kserve_e2e.rs), which compiles the examples and
hands over, in the JSON file named by MLPC_KSERVE_SPEC, each case's wait
container (command and env as emitted) and the apply step's manifest. The
step runs as a subprocess with that command and env; Argo's placeholders
are substituted and any left over fails the test. Only test overrides are
added: MLP_KUBE_API (or KUBERNETES_SERVICE_HOST/PORT), MLP_KUBE_CA,
MLP_KUBE_TOKEN_FILE, MLP_POLL_SECONDS, MLP_FAILURE_GRACE_SECONDS,
MLP_OUTPUTS. Standard library only.

The statuses follow KServe's own code: `PropagateStatus` /
`PropagateModelStatus` (pkg/apis/serving/v1beta1/inference_service_status.go)
and the canary traffic of reconcilers/knative/ksvc_reconciler.go.
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_apiserver import FakeApiServer, World  # noqa: E402

ROLLOUT_KEY = "mlpc.dev/rollout"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
REVISION_LABEL = "serving.knative.dev/revision"
WORKFLOW_NAMESPACE = "models"
TEST_OVERRIDES = {"MLP_KUBE_API", "MLP_KUBE_CA", "MLP_KUBE_TOKEN_FILE", "MLP_POLL_SECONDS",
                  "MLP_FAILURE_GRACE_SECONDS", "MLP_OUTPUTS"}
PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
SPEC = json.loads(Path(os.environ["MLPC_KSERVE_SPEC"]).read_text()) if os.environ.get("MLPC_KSERVE_SPEC") else None


# ----- the compiled step ----------------------------------------------------------

class Prepared:
    """One case of the compiled output with Argo's placeholders filled in."""

    def __init__(self, case, uid):
        values = {
            "workflow.uid": uid,
            "workflow.namespace": WORKFLOW_NAMESPACE,
            "inputs.parameters.storage_uri": "s3://mlflow-artifacts/1/models/m-1/artifacts/",
            "inputs.parameters.version": "7",
        }
        # The workflow's parameters (the program is one: mlpc_kserve_wait).
        values.update({"workflow.parameters." + k: v for k, v in case.get("parameters", {}).items()
                       if isinstance(v, str)})

        def substitute(text):
            def one(m):
                if m.group(1) not in values:
                    raise AssertionError("placeholder {{%s}} left in %r" % (m.group(1), text[:80]))
                return values[m.group(1)]
            return PLACEHOLDER.sub(one, text)

        wait = case["wait"]
        self.command = [substitute(c) for c in wait["command"]]
        self.env = {}
        for e in wait["env"]:
            assert "valueFrom" not in e, "the wait step reads no secret or field: %r" % e
            self.env[e["name"]] = substitute(e.get("value", ""))
        leaked = TEST_OVERRIDES & set(self.env)
        assert not leaked, "the compiled step sets test overrides: %s" % leaked
        self.manifest = json.loads(substitute(json.dumps(case["manifest"])))
        self.rollout = self.manifest["spec"]["predictor"]["annotations"][ROLLOUT_KEY]
        self.name = self.manifest["metadata"]["name"]
        self.namespace = self.manifest["metadata"].get("namespace", WORKFLOW_NAMESPACE)
        self.url = "http://%s.%s.example.com" % (self.name, self.namespace)

    def revision(self, n):
        return "%s-predictor-%05d" % (self.name, n)


class Result:
    def __init__(self, code, log, url, world, elapsed):
        self.code, self.log, self.url, self.world, self.elapsed = code, log, url, world, elapsed

    def __repr__(self):
        return "exit %s after %.1fs and %d polls:\n%s" % (self.code, self.elapsed, self.world.polls, self.log)


def run_wait(case, build, *, grace=0.5, tls=None, extra_env=None, limit=60):
    """Runs the compiled wait step against a World made by build(prep)."""
    prep = Prepared(case, str(uuid.uuid4()))
    world = build(prep)
    work = Path(tempfile.mkdtemp(prefix="kserve-wait-"))
    try:
        token = work / "token"
        token.write_text(world.token + "\n")
        with FakeApiServer(world, *(tls or ())) as server:
            env = {"PATH": os.environ["PATH"]}
            env.update(prep.env)
            env.update({
                "MLP_KUBE_API": server.url,
                "MLP_KUBE_TOKEN_FILE": str(token),
                "MLP_POLL_SECONDS": "0.05",
                "MLP_FAILURE_GRACE_SECONDS": str(grace),
                "MLP_OUTPUTS": str(work / "outputs"),
            })
            for k, v in (extra_env or {}).items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v.replace("$PORT", str(server.port))
            start = time.monotonic()
            try:
                proc = subprocess.run(prep.command, env=env, capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired as err:
                raise AssertionError("the wait step still ran after %ss (%d polls):\n%s" % (
                    limit, world.polls, (err.stderr or b"")[-2000:].decode("utf-8", "replace"))) from None
            elapsed = time.monotonic() - start
        if os.environ.get("MLPC_KSERVE_VERBOSE"):
            print("\n" + proc.stderr, file=sys.stderr)
        url_file = work / "outputs" / "url"
        url = url_file.read_text() if url_file.exists() else None
        return prep, Result(proc.returncode, proc.stdout + proc.stderr, url, world, elapsed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----- KServe objects ---------------------------------------------------------------

def conditions(ready):
    value = {True: "True", False: "False", None: "Unknown"}[ready]
    return [{"type": t, "status": value} for t in ("IngressReady", "PredictorReady", "Ready")]


def isvc_status(prep, *, ready=True, created=None, ready_rev=None, transition="UpToDate", active="Loaded",
                target="Loaded", failure=None, rolled=None, previous=None, traffic=None, mode="Serverless"):
    status = {
        "url": prep.url,
        "conditions": conditions(ready),
        "deploymentMode": mode,
        "modelStatus": {"transitionStatus": transition,
                        "states": {"activeModelState": active, "targetModelState": target},
                        "copies": {"failedCopies": 0, "totalCopies": 1}},
        "components": {"predictor": {}},
    }
    if failure:
        status["modelStatus"]["lastFailureInfo"] = failure
    predictor = status["components"]["predictor"]
    for key, value in (("latestCreatedRevision", created), ("latestReadyRevision", ready_rev),
                       ("latestRolledoutRevision", rolled), ("previousRolledoutRevision", previous),
                       ("traffic", traffic)):
        if value is not None:
            predictor[key] = value
    return status


def make_isvc(prep, status):
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": prep.name, "namespace": prep.namespace, "generation": 2},
        "spec": copy.deepcopy(prep.manifest["spec"]),
        "status": status,
    }


def make_pod(prep, name, rollout, *, revision=None, ready=False, phase="Running", waiting=None,
             last_exit=None, init=None, terminating=False):
    labels = {ISVC_LABEL: prep.name, "component": "predictor"}
    if revision:
        labels[REVISION_LABEL] = revision
    else:
        labels["app"] = "isvc.%s-predictor" % prep.name
    container = {"name": "kserve-container", "ready": ready, "restartCount": 0,
                 "state": {"running": {}} if not waiting else {"waiting": waiting}}
    if last_exit:
        container["lastState"] = {"terminated": last_exit}
        container["restartCount"] = 3
    status = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [container],
        "initContainerStatuses": [init or {"name": "storage-initializer",
                                           "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
    }
    metadata = {"name": name, "namespace": prep.namespace, "labels": labels,
                "annotations": {ROLLOUT_KEY: rollout}}
    if terminating:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": status}


def traffic(*targets):
    return [{"revisionName": rev, "percent": pct, "latestRevision": latest, **({"tag": "prev"} if not latest else {})}
            for rev, pct, latest in targets]


OLD = "0b0e0d0c-0000-4000-8000-000000000000-serve"


def world(prep, status, pods, script=None, on_patch=None):
    return World(prep.namespace, prep.name, make_isvc(prep, status), pods, token="t-" + uuid.uuid4().hex,
                 script=script, on_patch=on_patch)


# ----- scenarios ----------------------------------------------------------------------

@unittest.skipIf(SPEC is None, "MLPC_KSERVE_SPEC is unset: run through `cargo test --test kserve_e2e`")
class WaitStep(unittest.TestCase):

    def case(self, name):
        return SPEC["cases"][name]

    def test_stale_loaded_status_waits_for_the_new_pods(self):
        # Right after the apply, the status still describes the previous
        # rollout: Ready, Loaded, UpToDate. Argo's successCondition passed here.
        healthy_at = 10

        def build(prep):
            r1, r2 = prep.revision(1), prep.revision(2)
            old = make_pod(prep, "old-1", OLD, revision=r1, ready=True)

            def script(w, n):
                if n == 4:      # KServe made revision 2; its pod is pending
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r1, transition="InProgress",
                                                   target="Pending")
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2, phase="Pending")]
                if n == 6:      # the model loads
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r1, transition="InProgress",
                                                   target="Loading")
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2)]
                if n == 8:      # the pod is ready; KServe has not caught up
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2, ready=True)]
                if n == healthy_at:
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r2)
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1), [old], script)

        prep, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 0, res)
        self.assertEqual(res.world.polls, healthy_at, res)
        self.assertEqual(res.url, prep.url)
        self.assertEqual(res.world.patches, [], "no canary, no patch")
        self.assertIn("serves at " + prep.url, res.log)

    def test_a_new_rollout_that_fails_to_load_fails_the_step(self):
        failure = {"reason": "ModelLoadFailed", "exitCode": 1,
                   "message": "no model found at s3://mlflow-artifacts/1/models/m-1/artifacts/"}

        def build(prep):
            r1, r2 = prep.revision(1), prep.revision(2)
            old = make_pod(prep, "old-1", OLD, revision=r1, ready=True)

            def script(w, n):
                if n == 3:
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2, phase="Pending")]
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r1, transition="InProgress",
                                                   target="Loading")
                if n == 5:      # activeModelState stays Loaded: it is never reset
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r1,
                                                   transition="BlockedByFailedLoad", target="FailedToLoad",
                                                   failure=failure)
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1), [old], script)

        prep, res = run_wait(self.case("plain"), build, grace=30)
        self.assertEqual(res.code, 1, res)
        self.assertIn("failed to load", res.log)
        self.assertIn(failure["message"], res.log)
        self.assertIn(prep.revision(2), res.log)
        self.assertIn("Traffic stays on the previously rolled-out model", res.log)
        self.assertEqual(res.world.polls, 6, "judged on two polls in a row: %r" % res)
        self.assertIsNone(res.url)

    def test_an_old_failure_does_not_fail_a_good_rollout(self):
        failure = {"reason": "ModelLoadFailed", "exitCode": 1, "message": "the previous run's bad model"}
        healthy_at = 8

        def build(prep):
            r1, r2, r3 = prep.revision(1), prep.revision(2), prep.revision(3)
            old = make_pod(prep, "old-1", OLD, revision=r1, ready=True)
            # The previous rollout failed and its pod still crash-loops.
            broken = make_pod(prep, "broken-1", "1b1e1d1c-0000-4000-8000-000000000000-serve", revision=r2,
                              waiting={"reason": "CrashLoopBackOff", "message": "back-off 5m0s"},
                              last_exit={"exitCode": 1, "reason": "Error", "message": "bad model"})
            blocked = dict(transition="BlockedByFailedLoad", target="FailedToLoad", failure=failure)

            def script(w, n):
                if n == 3:      # a poll where KServe named our revision but kept the old verdict
                    w.isvc["status"] = isvc_status(prep, created=r3, ready_rev=r1, **blocked)
                    w.pods = [old, broken, make_pod(prep, "new-1", prep.rollout, revision=r3, phase="Pending")]
                if n == 4:
                    w.isvc["status"] = isvc_status(prep, created=r3, ready_rev=r1, transition="InProgress",
                                                   target="Loading", failure=failure)
                if n == 6:
                    w.pods = [old, broken, make_pod(prep, "new-1", prep.rollout, revision=r3, ready=True)]
                if n == healthy_at:   # lastFailureInfo is never cleared
                    w.isvc["status"] = isvc_status(prep, created=r3, ready_rev=r3, failure=failure)
            return world(prep, isvc_status(prep, created=r2, ready_rev=r1, **blocked), [old, broken], script)

        prep, res = run_wait(self.case("plain"), build, grace=0.2)
        self.assertEqual(res.code, 0, res)
        self.assertEqual(res.world.polls, healthy_at, res)
        self.assertEqual(res.url, prep.url)

    def test_the_stage_timeout_ends_the_wait(self):
        # The case's stage says `timeout = 3s`; KServe never picks the rollout up.
        def build(prep):
            r1 = prep.revision(1)
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1),
                         [make_pod(prep, "old-1", OLD, revision=r1, ready=True)])

        prep, res = run_wait(self.case("timeout"), build)
        self.assertEqual(prep.env["MLP_TIMEOUT_SECONDS"], "3")
        self.assertEqual(res.code, 1, res)
        self.assertIn("timed out after 3s", res.log)
        self.assertIn("no pod of this rollout yet", res.log)
        self.assertTrue(3 <= res.elapsed < 15, res)
        self.assertIsNone(res.url)

    def test_a_canary_is_promoted_once_healthy(self):
        promoted = {}

        def build(prep):
            r1, r2 = prep.revision(1), prep.revision(2)
            old = make_pod(prep, "old-1", OLD, revision=r1, ready=True)
            base = dict(rolled=r1, previous=None)

            def script(w, n):
                if n == 2:      # revision 2 exists; latestRevision's 10% still lands on r1 (latest ready)
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r1, transition="InProgress",
                                                   target="Pending", traffic=traffic((r1, 10, True), (r1, 90, False)),
                                                   **base)
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2)]
                if n == 4:
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2, ready=True)]
                if n == 5:      # healthy at 10%: the rolled-out revision does not move
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r2,
                                                   traffic=traffic((r2, 10, True), (r1, 90, False)), **base)
                after = promoted.get("poll")
                if after is not None and n == after + 1:   # Knative routes 100% to r2
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r2,
                                                   traffic=traffic((r2, 100, True)), **base)
                if after is not None and n == after + 3:   # KServe records it rolled out
                    w.isvc["status"] = isvc_status(prep, created=r2, ready_rev=r2, rolled=r2, previous=r1,
                                                   traffic=traffic((r2, 100, True)))

            def on_patch(w, ops):
                promoted["poll"] = w.polls
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1, rolled=r1,
                                           traffic=traffic((r1, 100, True))), [old], script, on_patch)

        prep, res = run_wait(self.case("canary"), build)
        self.assertEqual(prep.env["MLP_CANARY"], "10")
        self.assertEqual(prep.manifest["spec"]["predictor"]["canaryTrafficPercent"], 10)
        self.assertEqual(res.code, 0, res)
        self.assertEqual(len(res.world.patches), 1, res)
        poll, kind, ops = res.world.patches[0]
        self.assertEqual(poll, 5, "promoted as soon as the canary was healthy, not before")
        self.assertEqual(kind, "application/json-patch+json")
        self.assertEqual(ops, [
            {"op": "test", "path": "/spec/predictor/annotations/mlpc.dev~1rollout", "value": prep.rollout},
            {"op": "add", "path": "/spec/predictor/canaryTrafficPercent", "value": 100},
        ])
        self.assertEqual(res.world.isvc["spec"]["predictor"]["canaryTrafficPercent"], 100)
        self.assertEqual(res.world.polls, poll + 3, "done when revision 2 is the rolled-out one: %r" % res)
        self.assertEqual(res.url, prep.url)

    def test_a_failing_canary_is_not_promoted(self):
        def build(prep):
            r1, r2 = prep.revision(1), prep.revision(2)
            old = make_pod(prep, "old-1", OLD, revision=r1, ready=True)

            def script(w, n):
                if n == 2:
                    w.isvc["status"] = isvc_status(
                        prep, created=r2, ready_rev=r1, transition="BlockedByFailedLoad", target="FailedToLoad",
                        failure={"reason": "ModelLoadFailed", "message": "boom"}, rolled=r1,
                        traffic=traffic((r1, 10, True), (r1, 90, False)))
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, revision=r2)]
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1, rolled=r1), [old], script)

        _, res = run_wait(self.case("canary"), build)
        self.assertEqual(res.code, 1, res)
        self.assertIn("boom", res.log)
        self.assertEqual(res.world.patches, [])

    def test_raw_deployment_pods_stuck_past_the_grace_fail_the_step(self):
        def build(prep):
            old = make_pod(prep, "old-1", OLD, ready=True)
            stuck = make_pod(prep, "new-1", prep.rollout,
                             waiting={"reason": "CrashLoopBackOff", "message": "back-off 40s restarting"},
                             last_exit={"exitCode": 1, "reason": "Error",
                                        "message": "ModuleNotFoundError: No module named 'mlflow'"})
            # The status is stale and says all is well.
            return world(prep, isvc_status(prep, mode="RawDeployment"), [old, stuck])

        _, res = run_wait(self.case("plain"), build, grace=1.0)
        self.assertEqual(res.code, 1, res)
        self.assertIn("kserve-container is CrashLoopBackOff", res.log)
        self.assertIn("No module named 'mlflow'", res.log)
        self.assertGreaterEqual(res.elapsed, 1.0, "not before the grace period: %r" % res)

    def test_raw_deployment_succeeds_when_only_the_new_pods_remain(self):
        def build(prep):
            old = make_pod(prep, "old-1", OLD, ready=True)

            def script(w, n):
                if n == 2:
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout)]
                if n == 4:
                    w.pods = [old, make_pod(prep, "new-1", prep.rollout, ready=True)]
                if n == 6:
                    w.pods = [make_pod(prep, "old-1", OLD, ready=False, terminating=True),
                              make_pod(prep, "new-1", prep.rollout, ready=True)]
            return world(prep, isvc_status(prep, mode="RawDeployment"), [old], script)

        _, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 0, res)
        self.assertEqual(res.world.polls, 6, res)

    def test_a_rollout_replaced_by_another_deploy_fails(self):
        def build(prep):
            r1 = prep.revision(1)

            def script(w, n):
                if n == 3:
                    w.isvc["spec"]["predictor"]["annotations"][ROLLOUT_KEY] = "someone-else-serve"
            return world(prep, isvc_status(prep, created=r1, ready_rev=r1),
                         [make_pod(prep, "old-1", OLD, revision=r1, ready=True)], script)

        _, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 1, res)
        self.assertIn("now carries rollout someone-else-serve", res.log)

    def test_redirects_are_not_followed(self):
        def build(prep):
            w = world(prep, isvc_status(prep), [])
            path = "/apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s" % (prep.namespace, prep.name)
            w.overrides[path] = (302, {"Location": "/stolen"}, b"{}")
            return w

        _, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 1, res)
        self.assertIn("redirects are not followed", res.log)
        self.assertFalse(any(p.startswith("/stolen") for _, p, _ in res.world.requests))

    def test_rbac_refusals_stop_the_step(self):
        def build(prep):
            w = world(prep, isvc_status(prep), [])
            w.pods_status = 403
            return w

        _, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 1, res)
        self.assertIn("list on pods", res.log)
        self.assertEqual(res.world.polls, 1)

    def test_oversized_answers_are_refused(self):
        def build(prep):
            filler = "x" * (1 << 20)
            pods = [dict(make_pod(prep, "p-%d" % i, OLD), padding=filler) for i in range(9)]
            return world(prep, isvc_status(prep), pods)

        _, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 1, res)
        self.assertIn("larger than", res.log)

    def test_every_request_carries_the_token_and_stays_in_scope(self):
        def build(prep):
            r1, r2 = prep.revision(1), prep.revision(2)
            return world(prep, isvc_status(prep, created=r2, ready_rev=r2),
                         [make_pod(prep, "new-1", prep.rollout, revision=r2, ready=True)])

        prep, res = run_wait(self.case("plain"), build)
        self.assertEqual(res.code, 0, res)
        paths = {(m, p.split("?")[0]) for m, p, _ in res.world.requests}
        self.assertEqual(paths, {
            ("GET", "/apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s" % (prep.namespace, prep.name)),
            ("GET", "/api/v1/namespaces/%s/pods" % prep.namespace),
        })
        self.assertEqual(prep.namespace, WORKFLOW_NAMESPACE, "no `namespace`: the workflow's")
        for _, path, headers in res.world.requests:
            self.assertEqual(headers.get("Authorization"), "Bearer " + res.world.token)
            if "/pods" in path:
                self.assertIn("labelSelector=serving.kserve.io%2Finferenceservice%3D" + prep.name, path)


@unittest.skipIf(SPEC is None, "MLPC_KSERVE_SPEC is unset")
@unittest.skipIf(shutil.which("openssl") is None and not os.environ.get("CI"), "no openssl to make a certificate")
class InCluster(unittest.TestCase):
    """The in-cluster address (KUBERNETES_SERVICE_HOST/PORT, https) with a CA."""

    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="kserve-tls-"))
        for name in ("ca", "other"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(cls.dir / (name + ".key")), "-out", str(cls.dir / (name + ".crt"))],
                           check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def build(self, prep):
        r2 = prep.revision(2)
        return world(prep, isvc_status(prep, created=r2, ready_rev=r2),
                     [make_pod(prep, "new-1", prep.rollout, revision=r2, ready=True)])

    def run_tls(self, ca):
        return run_wait(SPEC["cases"]["plain"], self.build,
                        tls=(str(self.dir / "ca.crt"), str(self.dir / "ca.key")),
                        extra_env={"MLP_KUBE_API": None, "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                   "KUBERNETES_SERVICE_PORT": "$PORT", "MLP_KUBE_CA": str(self.dir / ca)})

    def test_https_with_the_cluster_ca(self):
        prep, res = self.run_tls("ca.crt")
        self.assertEqual(res.code, 0, res)
        self.assertEqual(res.url, prep.url)

    def test_a_server_the_ca_did_not_sign_is_refused(self):
        _, res = self.run_tls("other.crt")
        self.assertEqual(res.code, 1, res)
        self.assertIn("TLS to the Kubernetes API", res.log)
        self.assertLess(res.elapsed, 10, "a certificate error is not retried: %r" % res)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:])
