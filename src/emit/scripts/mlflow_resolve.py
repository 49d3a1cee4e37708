# Deploy step, part 1: turn a registered version (or alias) into a storage
# URI that KServe's storage initializer can read. `mlflow-artifacts:/` paths
# are mapped through the tracking server's --artifacts-destination
# (MLP_ARTIFACT_STORE); the result ends with `/` because KServe's S3 download
# is a key-prefix match.
name = os.environ.get("MLP_MODEL_NAME", "")
version = os.environ.get("MLP_VERSION", "")
alias = os.environ.get("MLP_ALIAS", "")
uri = os.environ.get("MLP_MODEL_URI", "")
store = os.environ.get("MLP_ARTIFACT_STORE", "").rstrip("/")

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
location = expect(*call("GET", "model-versions/get-download-uri", query={"name": name, "version": version}),
                  "model-versions/get-download-uri")["artifact_uri"]
if location.startswith("runs:/"):
    run, _, path = location[len("runs:/"):].partition("/")
    root = expect(*call("GET", "runs/get", query={"run_id": run}), "runs/get")["run"]["info"]["artifact_uri"]
    location = root.rstrip("/") + "/" + path
if location.startswith("mlflow-artifacts:"):
    path = location[len("mlflow-artifacts:"):]
    if path.startswith("//"):
        path = path[2:].partition("/")[2]   # mlflow-artifacts://host:port/path
    path = path.lstrip("/")
    if not store:
        fail("version %s of %s is stored at %s; set `artifact_store` in the pipeline's mlflow block "
             "to the tracking server's --artifacts-destination so KServe can read it" % (version, name, location))
    storage = "%s/%s/" % (store, path.rstrip("/"))
elif location.split("://")[0] in ("s3", "gs", "pvc", "hdfs", "webhdfs", "hf", "oci", "https"):
    storage = location if location.endswith("/") or location.startswith("https://") else location + "/"
else:
    fail("cannot turn %r into a storage URI KServe can read" % location)
write_output("storage_uri", storage)
write_output("version", str(version))
log("models:/%s/%s -> %s" % (name, version, storage))
