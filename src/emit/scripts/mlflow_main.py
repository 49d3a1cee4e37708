# Runs the step named by the last argument of the command line, as if its
# text followed the helpers: `python3 -c LOADER PROGRAM mlflow-init` (a
# container's loader), or `python3 /mlflow/mlflow-finalize` (the sidecar,
# running this program from the file the init container left it).
STEP = os.path.basename(sys.argv[-1])
if STEP not in STEPS:
    fail("this program has no step %r (it has %s)" % (STEP, ", ".join(sorted(STEPS))))
exec(STEPS[STEP])
