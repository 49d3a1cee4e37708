MLFLOW_RUN_ID=$(cat /mlflow/run_id) || exit 97
export MLFLOW_RUN_ID
"$@"
rc=$?
echo $rc >/mlflow/exit_code
exit $rc
