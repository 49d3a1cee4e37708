# Runs the stage's command with MLFLOW_RUN_ID set to the run the init
# container created, and records its exit status for the sidecar.
D=${MLP_MLFLOW_DIR:-/mlflow}
MLFLOW_RUN_ID=$(cat "$D/run_id") || { echo "mlflow-wrap: no run id in $D/run_id" >&2; exit 97; }
export MLFLOW_RUN_ID
"$@"
rc=$?
echo "$rc" > "$D/exit_code"
exit "$rc"
