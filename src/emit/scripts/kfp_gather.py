# Fan-in of an artifact on Kubeflow Pipelines: merges the artifacts a loop's
# items made (each a directory with one entry named by its item's index)
# into one directory, the artifact its readers get. A container reads a
# list of artifacts only through the executor input (the whole-input
# placeholder in its arguments): argv[1] is that JSON, argv[2] the input's name, argv[3] the
# output directory. KFP's launcher has downloaded each artifact to the path
# its URI maps to (backend/src/v2/component/launcher_v2.go,
# LocalPathForURI, under ARTIFACT_LOCAL_PATH when that is set).
import json, os, shutil, sys

PREFIXES = (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/"))


def fail(msg):
    print("mlpc-gather: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def local(uri):
    for scheme, prefix in PREFIXES:
        if uri.startswith(scheme):
            return os.environ.get("ARTIFACT_LOCAL_PATH", "") + prefix + uri[len(scheme):]
    fail("an artifact at %r: KFP's launcher downloads only gs://, minio:// and s3:// URIs" % uri)


executor_input, name, out = sys.argv[1], sys.argv[2], sys.argv[3]
listed = json.loads(executor_input).get("inputs", {}).get("artifacts", {}).get(name, {})
artifacts = listed.get("artifacts") or []
if not artifacts:
    fail("no item of the loop made the artifact: there is nothing to read")
os.makedirs(out, exist_ok=True)
uris = []
for artifact in artifacts:
    if artifact.get("uri", "") not in uris:
        uris.append(artifact.get("uri", ""))
for uri in uris:
    source = local(uri)
    for entry in sorted(os.listdir(source)):
        target = os.path.join(out, entry)
        if os.path.lexists(target):
            fail("two items wrote the entry %r" % entry)
        if os.path.isdir(os.path.join(source, entry)):
            shutil.copytree(os.path.join(source, entry), target, symlinks=True)
        else:
            shutil.copy2(os.path.join(source, entry), target)
print("mlpc-gather: %d artifact(s) into %s" % (len(uris), out), file=sys.stderr)
