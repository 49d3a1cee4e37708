# Deploy step, part 2, on Kubeflow Pipelines (whose IR has no resource
# template): server-side apply of the InferenceService, as field manager
# "mlpc", with the pod's service account token. Standard library only;
# every input comes from the environment.
#
# The manifest (MLP_MANIFEST, JSON) is what mlpc compiled from the stage,
# holding no run-time value. Each run-time value (a storage URI the resolve
# step found, a name from a pipeline parameter) arrives on its own, as
# MLP_SET_KEY_<i> (a JSON pointer, RFC 6901, written by mlpc) and
# MLP_SET_VALUE_<i> (the text), and is set at that pointer: a value is
# always one string in the object, never part of the manifest's text.
#
# In:  MLP_MANIFEST, MLP_SET_COUNT/KEY_i/VALUE_i, MLP_NAMESPACE (the
#      namespace when the manifest names none), MLP_TIMEOUT_SECONDS;
#      in-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account's
#      token and ca.crt under /var/run/secrets/kubernetes.io/serviceaccount.
#      Test overrides, never set by mlpc: MLP_KUBE_API (base URL),
#      MLP_KUBE_CA, MLP_KUBE_TOKEN_FILE, MLP_POLL_SECONDS.
import json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

STEP = "kserve-apply"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
MAX_BODY = 8 * 1024 * 1024


def log(msg):
    print("%s: %s" % (STEP, msg), file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(1)


def set_at(obj, pointer, value):
    """Sets `value` at the JSON pointer, making the objects on the way."""
    if not pointer.startswith("/"):
        fail("bad pointer %r" % pointer)
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    for p in parts[:-1]:
        nxt = obj.get(p)
        if not isinstance(nxt, dict):
            nxt = obj[p] = {}
        obj = nxt
    obj[parts[-1]] = value


try:
    manifest = json.loads(os.environ.get("MLP_MANIFEST", ""))
    timeout = float(os.environ.get("MLP_TIMEOUT_SECONDS") or "300")
    poll = float(os.environ.get("MLP_POLL_SECONDS") or "5")
    count = int(os.environ.get("MLP_SET_COUNT") or "0")
except ValueError as err:
    fail("bad setting: %s" % err)
if not isinstance(manifest, dict):
    fail("MLP_MANIFEST is not a JSON object")
for i in range(count):
    set_at(manifest, os.environ["MLP_SET_KEY_%d" % i], os.environ.get("MLP_SET_VALUE_%d" % i, ""))
meta = manifest.setdefault("metadata", {})
if not meta.get("namespace"):
    meta["namespace"] = os.environ.get("MLP_NAMESPACE", "")
namespace, name = meta.get("namespace", ""), meta.get("name", "")
if not (namespace and name):
    fail("the InferenceService needs a name and a namespace (got %r, %r)" % (name, namespace))
deadline = time.monotonic() + timeout


