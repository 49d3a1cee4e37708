# After a distributed stage's training job (a TrainJob or PyTorchJob an
# Argo resource step created and waited for): ends the stage's run by the
# phase of that step, MLP_JOB_STATUS (Argo's `tasks.job.status`):
# Succeeded -> FINISHED, Failed or Error -> FAILED, anything else ->
# KILLED. The run may be ended already (rank 0's MLflow client ends the run
# it resumed when its process exits): the job's outcome decides. This step
# then fails unless the job succeeded, so that the stage fails with it:
# Argo judges a DAG by its last tasks, and this is the last.
run_id = os.environ.get("MLP_RUN_ID", "")
if not run_id or any(c not in "0123456789abcdefABCDEF" for c in run_id):
    fail("unexpected run id %r" % run_id)
phase = os.environ.get("MLP_JOB_STATUS", "")
status = {"Succeeded": "FINISHED", "Failed": "FAILED", "Error": "FAILED"}.get(phase, "KILLED")
expect(*call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": now_ms()}), "runs/update")
log("run %s -> %s (training job %s)" % (run_id, status, phase or "unknown"))
if phase != "Succeeded":
    fail("the training job did not succeed (%s)" % (phase or "unknown"))
