#!/usr/bin/env python3
"""Start or stop a real MLflow tracking server for the end-to-end tests.

    python3 tests/mlflow/server.py install   # venv with the pinned MLflow + pytest
    python3 tests/mlflow/server.py start     # prints the URI; state in target/mlflow-e2e/
    python3 tests/mlflow/server.py stop      # stops the server by its PID

The server listens on 127.0.0.1 with a SQLite backend and a local
--artifacts-destination. `start` waits until an API route answers (not only
/health, which MLflow serves before its workers are up), for up to
MLPC_MLFLOW_START_TIMEOUT seconds (default 180; a fresh database on two busy
cores has taken 44 s). Only loopback is used.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / "target" / "mlflow-e2e"
VENV = Path(os.environ.get("MLPC_MLFLOW_VENV", ROOT / ".venv-mlflow"))
MLFLOW_VERSION = "3.17.2"
PYTHON = VENV / "bin" / "python"


def install():
    if PYTHON.exists():
        probe = subprocess.run([str(PYTHON), "-c", "import mlflow, pytest, celpy; print(mlflow.__version__)"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == MLFLOW_VERSION:
            return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "mlflow==" + MLFLOW_VERSION, "pytest", "scikit-learn",
                    # tests/kfp/run.py evaluates KFP's CEL conditions (test_kfp.py)
                    "cel-python==0.5.0"], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_ready(uri):
    url = uri + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start():
    install()
    STATE.mkdir(parents=True, exist_ok=True)
    info_file = STATE / "server.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        if api_ready(info["uri"]):
            print(info["uri"])
            return
    port = free_port()
    uri = "http://127.0.0.1:%d" % port
    work = STATE / ("server-%d" % port)
    (work / "artifacts").mkdir(parents=True, exist_ok=True)
    log = open(work / "server.log", "w")
    proc = subprocess.Popen(
        [str(PYTHON), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2",
         "--backend-store-uri", "sqlite:///%s" % (work / "mlflow.db"),
         "--artifacts-destination", str(work / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=str(work))
    info = {"uri": uri, "pid": proc.pid, "artifacts": str(work / "artifacts"), "log": str(work / "server.log")}
    info_file.write_text(json.dumps(info))
    deadline = time.time() + float(os.environ.get("MLPC_MLFLOW_START_TIMEOUT", "180"))
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("mlflow server exited with %s; see %s" % (proc.returncode, info["log"]))
        if api_ready(uri):
            print(uri)
            return
        time.sleep(1)
    stop()
    sys.exit("mlflow server did not answer on %s within the timeout; see %s" % (uri, info["log"]))


def stop():
    info_file = STATE / "server.json"
    if not info_file.exists():
        return
    info = json.loads(info_file.read_text())
    try:
        os.killpg(info["pid"], signal.SIGTERM)   # the CLI and its uvicorn workers
        for _ in range(50):
            os.killpg(info["pid"], 0)
            time.sleep(0.2)
        os.killpg(info["pid"], signal.SIGKILL)
    except ProcessLookupError:
        pass
    info_file.unlink()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    {"install": install, "start": start, "stop": stop}[command]()
