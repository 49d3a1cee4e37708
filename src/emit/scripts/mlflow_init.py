# Init container of a tracked stage: get or create the experiment, create
# the run with the workflow's identity as tags, log the stage's params, and
# write the run id to $MLP_MLFLOW_DIR/run_id for the wrapper and the sidecar.
# The sidecar has no loader and no server address of its own: this
# container leaves it, in the volume, the program it runs (this one, as the
# loader checked it: sys.argv[1]) and the server's address; and it leaves
# main the wrapper (WRAP, from mlflow_wrap.sh) that main's command runs.
D = os.environ.get("MLP_MLFLOW_DIR", "/mlflow")
experiment = experiment_id(os.environ["MLFLOW_EXPERIMENT_NAME"], create=True)
# "pipeline=P stage=S workflow=W uid=U namespace=N pod=P": no value holds a space.
identity = dict(word.partition("=")[::2] for word in os.environ["MLP_RUN"].split())
workflow = identity.get("workflow", "")
stage = identity.get("stage", "")
tags = {
    "mlp.pipeline": identity.get("pipeline", ""),
    "mlp.stage": stage,
    "argo.workflow.name": workflow,
    "argo.workflow.uid": identity.get("uid", ""),
    "argo.namespace": identity.get("namespace", ""),
    "argo.node.id": os.environ.get("ARGO_NODE_ID", ""),  # set by Argo's controller
    "argo.pod.name": identity.get("pod", ""),
    "mlflow.source.type": "JOB",
    "mlflow.source.name": "%s/%s" % (workflow, stage),
    "mlflow.user": os.environ.get("MLP_USER", "argo"),
}
# A stage in loops: each loop's item, innermost first ("mlp.item" is the
# innermost's). MLflow caps a tag value at 8000 characters.
for i, (loop, item) in enumerate(indexed("MLP_ITEM")):
    tags["mlp.item." + loop] = item[:8000]
    if i == 0:
        tags["mlp.item"] = item[:8000]
body = expect(*call("POST", "runs/create", {
    "experiment_id": experiment,
    "run_name": stage or "run",
    "start_time": now_ms(),
    "tags": [{"key": k, "value": v} for k, v in tags.items()],
}), "runs/create")
run = body["run"]["info"]
run_id = run["run_id"]
params = indexed("MLP_PARAM")
if params:
    expect(*call("POST", "runs/log-batch", {
        "run_id": run_id,
        "params": [{"key": k, "value": v} for k, v in params],
    }), "runs/log-batch")
os.makedirs(D, exist_ok=True)
for name, value in (("mlflow-finalize", sys.argv[1]), ("mlflow-wrap", WRAP),
                    ("tracking_uri", os.environ["MLFLOW_TRACKING_URI"]),
                    ("experiment_id", experiment), ("artifact_uri", run.get("artifact_uri", "")),
                    ("run_id", run_id)):
    with open(os.path.join(D, name), "w") as f:
        f.write(value)
log("experiment %s, run %s" % (experiment, run_id))
