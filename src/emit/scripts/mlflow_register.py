# Register step: a new version of MLP_MODEL_NAME from a run's model (the
# MLflow 3 LoggedModel, or a model directory in the run's artifacts) or from
# a model URI; waits until the version is READY, sets the alias, and writes
# the outputs `version` and `model_uri`. A retry of the task (same workflow,
# stage and inputs) reuses the version it created, found by the tag KEY_TAG
# (a hash of those); another workflow run adds a version.
import hashlib

KEY_TAG = "mlp.register_key"
name = os.environ["MLP_MODEL_NAME"]
run_id = os.environ.get("MLP_RUN_ID", "")
artifact_path = os.environ.get("MLP_ARTIFACT_PATH", "model").strip("/") or "model"
source_uri = os.environ.get("MLP_MODEL_SOURCE", "")
alias = os.environ.get("MLP_ALIAS", "")
await_ready = float(os.environ.get("MLP_AWAIT_READY_SECONDS", "300"))

status, body = call("POST", "registered-models/create", {"name": name})
if status != 200 and body.get("error_code") != "RESOURCE_ALREADY_EXISTS":
    fail("registered-models/create failed (HTTP %s): %s" % (status, json.dumps(body)[:500]))


def from_run(run, path):
    """The version source for the model at `path` of `run`, as the MLflow
    client resolves it: never a bare runs:/ URI."""
    info = expect(*call("GET", "runs/get", query={"run_id": run}), "runs/get")["run"]["info"]
    status, listing = call("GET", "artifacts/list", query={"run_id": run, "path": path})
    files = [f.get("path") for f in listing.get("files", [])] if status == 200 else []
    if path + "/MLmodel" in files:
        return {"source": info["artifact_uri"].rstrip("/") + "/" + path, "run_id": run}
    status, found = call("POST", "logged-models/search", {
        "experiment_ids": [info["experiment_id"]],
        "filter": "source_run_id = '%s' AND name = '%s'" % (run, path.replace("'", "")),
        "order_by": [{"field_name": "creation_time", "ascending": False}],
        "max_results": 1,
    })
    models = found.get("models", []) if status == 200 else []
    if not models:
        fail("run %s has no model at '%s': neither %s/MLmodel in its artifacts nor a logged model "
             "named '%s' (log it with mlflow.<flavor>.log_model(..., name='%s'))" % (run, path, path, path, path))
    model_id = models[0]["info"]["model_id"]
    return {"source": "models:/" + model_id, "model_id": model_id, "run_id": run}


if run_id:
    request = from_run(run_id, artifact_path)
elif source_uri.startswith("runs:/"):
    rest = source_uri[len("runs:/"):]
    run, _, path = rest.partition("/")
    request = from_run(run, path.strip("/") or "model")
elif source_uri.startswith("models:/m-"):
    request = {"source": source_uri, "model_id": source_uri[len("models:/"):].split("/")[0]}
elif source_uri.startswith("models:/") and "@" in source_uri:
    model, _, model_alias = source_uri[len("models:/"):].partition("@")
    version = expect(*call("GET", "registered-models/alias", query={"name": model, "alias": model_alias}),
                     "registered-models/alias")["model_version"]["version"]
    request = {"source": "models:/%s/%s" % (model, version)}
elif source_uri:
    request = {"source": source_uri}
else:
    fail("nothing to register: set MLP_RUN_ID or MLP_MODEL_SOURCE")

workflow_uid = os.environ.get("MLP_WORKFLOW_UID", "")
if not workflow_uid:
    fail("MLP_WORKFLOW_UID is not set: cannot tell a retry from a new registration")
key = hashlib.sha256(json.dumps(
    [workflow_uid, os.environ.get("MLP_STAGE", ""), name, run_id, artifact_path, source_uri]).encode()).hexdigest()


def earlier_version():
    """The version an earlier attempt created, if any. The key (hex) is safe
    in a filter; the name is checked here: a filter cannot quote ' and "."""
    token = None
    while True:
        query = {"filter": "tags.`%s` = '%s'" % (KEY_TAG, key), "max_results": 100}
        if token:
            query["page_token"] = token
        found = expect(*call("GET", "model-versions/search", query=query), "model-versions/search")
        for mv in found.get("model_versions", []):
            if mv.get("name") == name and {"key": KEY_TAG, "value": key} in mv.get("tags", []):
                return mv["version"]
        token = found.get("next_page_token")
        if not token:
            return None


request["name"] = name
tags = [(k, v) for k, v in indexed("MLP_TAG") if k != KEY_TAG] + [(KEY_TAG, key)]
request["tags"] = [{"key": k, "value": v} for k, v in tags]
if os.environ.get("MLP_DESCRIPTION"):
    request["description"] = os.environ["MLP_DESCRIPTION"]
version = earlier_version()
if version is not None:
    log("version %s of %s was created by an earlier attempt of this task; reusing it" % (version, name))
else:
    version = expect(*call("POST", "model-versions/create", request),
                     "model-versions/create")["model_version"]["version"]

deadline = time.time() + await_ready
while True:
    mv = expect(*call("GET", "model-versions/get", query={"name": name, "version": version}),
                "model-versions/get")["model_version"]
    state = mv.get("status", "READY")
    if state == "READY":
        break
    if state == "FAILED_REGISTRATION" or time.time() > deadline:
        fail("version %s of %s is %s: %s" % (version, name, state, mv.get("status_message", "")))
    time.sleep(3)

if alias:
    expect(*call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version}),
           "registered-models/alias")
write_output("version", str(version))
write_output("model_uri", "models:/%s/%s" % (name, version))
log("registered %s version %s from %s%s" % (name, version, request["source"], " as @" + alias if alias else ""))
