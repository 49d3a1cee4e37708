# Metric gate: reads the latest value of each named metric of a run, so that
# a `when` can compare it. A declared metric the run never logged is an error.
run_id = os.environ["MLP_RUN_ID"]
names = os.environ.get("MLP_METRICS", "").split()
body = expect(*call("GET", "runs/get", query={"run_id": run_id}), "runs/get")
logged = {m["key"]: m["value"] for m in body["run"].get("data", {}).get("metrics", [])}
missing = [n for n in names if n not in logged]
if missing:
    fail("run %s has no metric %s (logged: %s)" % (run_id, ", ".join(missing), ", ".join(sorted(logged)) or "none"))
for name in names:
    write_output(name, repr(float(logged[name])))
    log("%s = %s" % (name, logged[name]))
