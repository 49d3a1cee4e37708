# Report step of a monitored tracked train stage: reads the latest value of
# each declared metric of the stage's run, for Argo's Prometheus gauges
# (one per metric, on this step's outputs). It never fails the run: a
# metric the run never logged, or a NaN, is written as "missing", which
# the gauge's `when` skips; an unreadable run is logged and leaves every
# metric missing. Values are written in fixed point, as the gate writes
# them (Go's ParseFloat reads them back exactly). MLflow keys may hold `/`,
# `.` and spaces, which an Argo parameter name may not: the i-th name of
# MLP_METRICS (a JSON list) is output `metric-i` (monitor.rs
# `report_output`).
import math
from decimal import Decimal

MISSING = "missing"
run_id = os.environ.get("MLP_RUN_ID", "")
names = json.loads(os.environ.get("MLP_METRICS") or "[]")
logged = {}
try:
    status, body = call("GET", "runs/get", query={"run_id": run_id}, attempts=3)
except SystemExit:  # `fail` in the helpers: unreachable, not JSON, bad TLS
    status, body = "none", None
if status == 200 and isinstance(body, dict):
    logged = {m["key"]: m["value"] for m in body.get("run", {}).get("data", {}).get("metrics", [])}
else:
    log("run %s could not be read (HTTP %s): no metric is reported" % (run_id, status))
for i, name in enumerate(names):
    value = MISSING
    if name in logged:
        x = float(logged[name])
        if math.isinf(x):
            x = math.copysign(sys.float_info.max, x)
        if not math.isnan(x):
            value = format(Decimal(repr(x + 0.0)), "f")
    write_output("metric-%d" % i, value)
    log("%s = %s" % (name, value))
