"""Stand-in for a distributed fine-tuning script, run by torchrun on every
node of a TrainJob. Every node prints what it was given (one JSON line
starting `node:`); only rank 0 talks to MLflow, with the ordinary client,
resuming the run MLFLOW_RUN_ID names. The image ENV decides the rest:

FINETUNE_EVAL_ACCURACY  the eval_accuracy rank 0 logs (default 0.87)
FINETUNE_FAIL_RANK      this rank exits 1 (a node that fails)
FINETUNE_HANG           1: every node keeps training until it is stopped
                        (rank 0 inside its run, so a SIGTERM leaves it RUNNING)
"""
import argparse
import json
import os
import sys
import time

rank = int(os.environ["RANK"])
parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--lr", type=float, required=True)
args = parser.parse_args()

seen = {k: os.environ.get(k) for k in (
    "RANK", "WORLD_SIZE", "PET_NODE_RANK", "MASTER_ADDR", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID", "MLFLOW_TRACKING_USERNAME", "NCCL_DEBUG", "MLP_PARAM_BASE_MODEL", "MLP_PARAM_LR")}
seen["has_password"] = bool(os.environ.get("MLFLOW_TRACKING_PASSWORD"))
seen["has_hf_token"] = bool(os.environ.get("HF_TOKEN"))
seen["argv"] = {"model": args.model, "data": args.data, "lr": args.lr}
print("node:" + json.dumps(seen, sort_keys=True), flush=True)

hang = os.environ.get("FINETUNE_HANG") == "1"
if rank == 0:
    import mlflow

    told = os.environ["MLFLOW_RUN_ID"]         # the client takes it out of the environment
    with mlflow.start_run() as run:            # resumes MLFLOW_RUN_ID
        assert run.info.run_id == told, (run.info.run_id, told)
        mlflow.log_params({"world_size": os.environ["WORLD_SIZE"], "data": args.data})
        for step, loss in enumerate([2.1, 1.3, 0.8]):
            mlflow.log_metric("train_loss", loss, step=step)
        mlflow.log_metric("eval_accuracy", float(os.environ.get("FINETUNE_EVAL_ACCURACY", "0.87")))
        mlflow.log_metric("eval_loss", 0.41)
        print("rank 0: logged", flush=True)
        while hang:
            time.sleep(1)
while hang:
    time.sleep(1)
if os.environ.get("FINETUNE_FAIL_RANK") == str(rank):
    sys.exit("rank %d: NCCL error: unhandled system error (emulated)" % rank)
