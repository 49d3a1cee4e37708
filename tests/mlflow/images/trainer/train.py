"""Stand-in for a user's training code: the ordinary MLflow client, with no
knowledge of how the run was created. Its image ENV decides what it does:

TRAIN_MODE      ok (default) | crash | sleep | artifacts | quiet (exit 0 at
                once, without a word to MLflow: a job that does not log) |
                quiet-fail (the same, exit 3)
TRAIN_METRICS   JSON object of metrics to log, e.g. {"auc": 0.91}
"""
import json
import os
import sys
import time

mode = os.environ.get("TRAIN_MODE", "ok")
if mode in ("quiet", "quiet-fail"):
    sys.exit(3 if mode == "quiet-fail" else 0)

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

if mode == "sleep":
    time.sleep(600)

X = np.array([[0.0], [1.0], [2.0], [3.0]])
y = np.array([0.0, 1.0, 2.0, 3.0])
model = LinearRegression().fit(X, y)
signature = infer_signature(X, model.predict(X))

mlflow.log_param("alpha", 0.1)                      # auto-starts, i.e. resumes MLFLOW_RUN_ID
mlflow.log_param("argv", " ".join(sys.argv[1:])[:250])
for step, loss in enumerate([0.9, 0.4, 0.2]):
    mlflow.log_metric("loss", loss, step=step)
for name, value in json.loads(os.environ.get("TRAIN_METRICS", "{}")).items():
    mlflow.log_metric(name, value)

if mode == "artifacts":
    # Older clients: the model directory among the run's artifacts.
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        mlflow.sklearn.save_model(model, d + "/model", signature=signature, serialization_format="cloudpickle")
        mlflow.log_artifacts(d + "/model", artifact_path="model")
else:
    mlflow.sklearn.log_model(model, name="model", signature=signature, serialization_format="cloudpickle")

if mode == "crash":
    raise RuntimeError("boom: the training code failed after logging")
