# Sidecar of a tracked stage. Argo sends it SIGTERM once the main container
# has exited; it then ends the run FINISHED or FAILED from the exit status the
# wrapper recorded, or KILLED when there is none (main was stopped). Argo
# SIGKILLs it 30 s after SIGTERM: it gives up after BUDGET s by itself, and
# the exit handler ends a run left RUNNING.
import signal

D = os.environ.get("MLP_MLFLOW_DIR", "/mlflow")
BUDGET = 20


def read(name):
    try:
        with open(os.path.join(D, name)) as f:
            return f.read().strip()
    except OSError:
        return None


# The server is the one the init container talked to: it left its address
# in the volume (this container's environment has only the credentials).
os.environ.setdefault("MLFLOW_TRACKING_URI", read("tracking_uri") or "")


def finalize(*_):
    deadline = time.time() + BUDGET
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    # What socket timeouts do not bound: a name lookup, a trickling answer.
    signal.signal(signal.SIGALRM, lambda *_: fail("no answer within %d s of SIGTERM" % BUDGET))
    signal.alarm(BUDGET + 2)
    run_id = read("run_id")
    if not run_id:
        sys.exit(0)
    code = read("exit_code")
    status = "KILLED" if code is None else ("FINISHED" if code == "0" else "FAILED")
    answer, body = call("POST", "runs/update",
                        {"run_id": run_id, "status": status, "end_time": now_ms()}, attempts=3, deadline=deadline)
    log("run %s -> %s (HTTP %s)" % (run_id, status, answer))
    sys.exit(0 if answer == 200 else 1)


signal.signal(signal.SIGTERM, finalize)
signal.signal(signal.SIGINT, finalize)
while True:
    signal.pause()
