# Exit task of a tracked stage on Kubeflow Pipelines, where a pod has no
# sidecar: KFP runs it once the stage's task has ended, however it ended,
# and passes the task's final status (MLP_FINAL_STATUS, the JSON text of a
# PipelineTaskFinalStatus). It ends the stage's run FINISHED, FAILED or
# KILLED by that status.
#
# The run is found by the tags the start task gave it (the KFP run's uuid,
# the stage, each enclosing loop's item): reading the start task's output
# would give this task a second upstream task, and KFP passes the final
# status of one. Runs are compared tag by tag here, not in a search filter,
# so an item's text is never part of a query. The run may be ended already
# (the MLflow client ends the run it resumed when the user's process
# exits, FINISHED even after an exception): the task's outcome decides, as
# the exit code does on Argo. No run (the start task never ran) is not an
# error: there is nothing to end.
uid = os.environ.get("MLP_WORKFLOW_UID", "")
if not uid or any(c not in "0123456789abcdefABCDEF-" for c in uid):
    fail("unexpected run uid %r" % uid)
stage = os.environ.get("MLP_STAGE", "")
try:
    final = json.loads(os.environ.get("MLP_FINAL_STATUS") or "{}")
except ValueError:
    final = {}
state = str(final.get("state", "")).upper() if isinstance(final, dict) else ""
# KFP's task states (RuntimeState); older drivers sent MLMD's (COMPLETE, CACHED).
if state in ("SUCCEEDED", "COMPLETE", "CACHED"):
    status = "FINISHED"
elif state == "FAILED":
    status = "FAILED"
else:
    status = "KILLED"
wanted = {"mlp.stage": stage}
for loop, item in indexed("MLP_ITEM"):
    wanted["mlp.item." + loop] = item[:8000]
experiment = experiment_id(os.environ["MLFLOW_EXPERIMENT_NAME"], create=False)
if experiment is None:
    log("no experiment; no run to end")
    sys.exit(0)
matches = []
token = None
while True:
    request = {
        "experiment_ids": [experiment],
        "filter": "tags.`argo.workflow.uid` = '%s'" % uid,
        "max_results": 500,
        "order_by": ["attributes.start_time ASC"],
    }
    if token:
        request["page_token"] = token
    body = expect(*call("POST", "runs/search", request), "runs/search")
    for run in body.get("runs", []):
        tags = {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}
        if all(tags.get(k) == v for k, v in wanted.items()):
            matches.append((run["info"].get("status") != "RUNNING", run["info"]["run_id"]))
    token = body.get("next_page_token")
    if not token:
        break
if not matches:
    log("no run of stage %s in run %s (state %s): nothing to end" % (stage, uid, state or "unknown"))
    sys.exit(0)
# Two iterations of one loop over equal items share their tags: each end
# takes the oldest run still open (the list is sorted by start time).
run_id = min(matches, key=lambda m: m[0])[1]
expect(*call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": now_ms()}), "runs/update")
log("run %s -> %s (task state %s)" % (run_id, status, state or "unknown"))
