# Metric gate: reads the latest value of each named metric of a run, so that
# a `when` can compare it. A declared metric the run never logged is an error.
# Argo's govaluate reads numbers as digits and `.` only: each value is written
# in fixed point (the shortest that reads back as the same float; +-inf as
# +-max float). A NaN fails the step: a diverged run is not gated.
import math
from decimal import Decimal


def fixed_point(value):
    """A float, or what MLflow sends ("NaN", "Infinity"); None for NaN."""
    x = float(value)
    if math.isnan(x):
        return None
    if math.isinf(x):
        x = math.copysign(sys.float_info.max, x)
    return format(Decimal(repr(x + 0.0)), "f")


run_id = os.environ["MLP_RUN_ID"]
names = json.loads(os.environ.get("MLP_METRICS") or "[]")
body = expect(*call("GET", "runs/get", query={"run_id": run_id}), "runs/get")
logged = {m["key"]: m["value"] for m in body["run"].get("data", {}).get("metrics", [])}
missing = [n for n in names if n not in logged]
if missing:
    fail("run %s has no metric %s (logged: %s)" % (run_id, ", ".join(missing), ", ".join(sorted(logged)) or "none"))
values = {name: fixed_point(logged[name]) for name in names}
nan = [name for name in names if values[name] is None]
if nan:
    fail("metric %s of run %s is NaN: the training diverged, so there is nothing to compare"
         % (", ".join(nan), run_id))
for name in names:
    write_output(name, values[name])
    log("%s = %s" % (name, values[name]))
