# Exit handler: a pod that never ran its main container (image pull error,
# eviction, node loss) leaves its run RUNNING. End every run of this workflow
# that is still RUNNING as KILLED.
uid = os.environ.get("MLP_WORKFLOW_UID", "")
if not uid or any(c not in "0123456789abcdefABCDEF-" for c in uid):
    fail("unexpected workflow uid %r" % uid)
experiment = experiment_id(os.environ["MLFLOW_EXPERIMENT_NAME"], create=False)
if experiment is None:
    log("no experiment; nothing to close")
    sys.exit(0)
closed = 0
token = None
while True:
    request = {
        "experiment_ids": [experiment],
        "filter": "tags.`argo.workflow.uid` = '%s' AND attributes.status = 'RUNNING'" % uid,
        "max_results": 500,
    }
    if token:
        request["page_token"] = token
    body = expect(*call("POST", "runs/search", request), "runs/search")
    for run in body.get("runs", []):
        run_id = run["info"]["run_id"]
        expect(*call("POST", "runs/update", {"run_id": run_id, "status": "KILLED", "end_time": now_ms()}),
               "runs/update")
        closed += 1
    token = body.get("next_page_token")
    if not token:
        break
log("closed %d run(s) left RUNNING" % closed)
