# Deploy step, part 1: turn a registered version (or alias) into a storage
# URI that KServe's storage initializer can read. `mlflow-artifacts:/` paths
# are mapped through the tracking server's --artifacts-destination
# (MLP_ARTIFACT_STORE); the result ends with `/` because KServe's S3 download
# is a key-prefix match.
#
# Both outputs go into the InferenceService, and both come from the registry
# (or from whoever answers at the tracking URI): `check` lets through only a
# version number and a storage URI KServe reads, under the artifact store
# when one is set.
import re

name = os.environ.get("MLP_MODEL_NAME", "")
version = os.environ.get("MLP_VERSION", "")
alias = os.environ.get("MLP_ALIAS", "")
uri = os.environ.get("MLP_MODEL_URI", "")
store = os.environ.get("MLP_ARTIFACT_STORE", "").rstrip("/")
# The schemes KServe's storage initializer reads (plain http is left out).
SCHEMES = ("s3", "gs", "pvc", "hdfs", "webhdfs", "hf", "oci", "https")


def check(version, storage=None):
    """Fails the step unless `version` is a positive decimal integer and
    `storage` (when given) is a URI with a scheme of SCHEMES, holding no
    whitespace, control character, quote, backslash, `{` or `}` and no `.`
    or `..` segment, in itself or percent-decoded, and under `store` (on a
    `/` boundary, not the store itself) when a store is set."""
    if not re.fullmatch("[1-9][0-9]*", version):
        fail("version %r of %r is not a version number" % (version, name))
    if storage is None:
        return
    scheme, sep, rest = storage.partition("://")
    for text in (storage, urllib.parse.unquote(storage)):
        bad = [c for c in text if c.isspace() or not c.isprintable() or c in "\"'`\\{}"]
        if bad:
            fail("refusing storage URI %r: it holds %r" % (storage, "".join(sorted(set(bad)))))
        if any(segment in (".", "..") for segment in text.partition("://")[2].split("/")):
            fail("refusing storage URI %r: it has a `.` or `..` segment" % storage)
    if not sep or scheme not in SCHEMES or not rest.split("/")[0]:
        fail("refusing storage URI %r: KServe reads %s URIs" % (storage, ", ".join(s + "://HOST/..." for s in SCHEMES)))
    inside = storage[len(store) + 1:] if storage.startswith(store + "/") else ""
    if store and not inside.strip("/"):
        fail("refusing storage URI %r: it is not under artifact_store %s" % (storage, store))


if uri:
    if not uri.startswith("models:/"):
        fail("model %r is not a models:/NAME/VERSION or models:/NAME@ALIAS URI" % uri)
    rest = uri[len("models:/"):]
    if "@" in rest:
        name, _, alias = rest.partition("@")
    else:
        name, _, version = rest.rpartition("/")
if not name:
    fail("no registered model name")
if alias and not version:
    version = expect(*call("GET", "registered-models/alias", query={"name": name, "alias": alias}),
                     "registered-models/alias")["model_version"]["version"]
if not version:
    fail("no version of %s to deploy" % name)
version = str(version)
check(version)
location = str(expect(*call("GET", "model-versions/get-download-uri", query={"name": name, "version": version}),
                      "model-versions/get-download-uri")["artifact_uri"])
if location.startswith("runs:/"):
    run, _, path = location[len("runs:/"):].partition("/")
    root = expect(*call("GET", "runs/get", query={"run_id": run}), "runs/get")["run"]["info"]["artifact_uri"]
    location = str(root).rstrip("/") + "/" + path
if location.startswith("mlflow-artifacts:"):
    path = location[len("mlflow-artifacts:"):]
    if path.startswith("//"):
        path = path[2:].partition("/")[2]   # mlflow-artifacts://host:port/path
    path = path.lstrip("/")
    if not store:
        fail("version %s of %s is stored at %r; set `artifact_store` in the pipeline's mlflow block "
             "to the tracking server's --artifacts-destination so KServe can read it" % (version, name, location))
    storage = "%s/%s/" % (store, path.rstrip("/"))
elif location.endswith("/") or location.startswith("https://"):
    storage = location
else:
    storage = location + "/"
check(version, storage)
write_output("storage_uri", storage)
write_output("version", version)
log("models:/%s/%s -> %s" % (name, version, storage))
