# Init container of a tracked stage: get or create the experiment, create
# the run with the workflow's identity as tags, log the stage's params, and
# write the run id to $MLP_MLFLOW_DIR/run_id for the wrapper and the sidecar.
D = os.environ.get("MLP_MLFLOW_DIR", "/mlflow")
experiment = experiment_id(os.environ["MLFLOW_EXPERIMENT_NAME"], create=True)
workflow = os.environ.get("MLP_WORKFLOW_NAME", "")
stage = os.environ.get("MLP_STAGE", "")
tags = {
    "mlp.pipeline": os.environ.get("MLP_PIPELINE", ""),
    "mlp.stage": stage,
    "argo.workflow.name": workflow,
    "argo.workflow.uid": os.environ.get("MLP_WORKFLOW_UID", ""),
    "argo.namespace": os.environ.get("MLP_NAMESPACE", ""),
    "argo.node.id": os.environ.get("MLP_NODE_ID", ""),
    "argo.pod.name": os.environ.get("MLP_POD_NAME", ""),
    "mlflow.source.type": "JOB",
    "mlflow.source.name": "%s/%s" % (workflow, stage),
    "mlflow.user": os.environ.get("MLP_USER", "argo"),
}
body = expect(*call("POST", "runs/create", {
    "experiment_id": experiment,
    "run_name": os.environ.get("MLP_RUN_NAME") or stage or "run",
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
for name, value in (("run_id", run_id), ("experiment_id", experiment),
                    ("artifact_uri", run.get("artifact_uri", ""))):
    with open(os.path.join(D, name), "w") as f:
        f.write(value)
log("experiment %s, run %s" % (experiment, run_id))
