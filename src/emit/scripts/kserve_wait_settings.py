# Deploy step, part 3: wait until this run's rollout of the InferenceService
# serves, then (with `canary`) promote it to all traffic. Standard library
# only; every input comes from the environment.
#
# Why a program and not an Argo `successCondition`: Argo's resource
# conditions are label selectors over the object (workflow/executor/
# resource.go, WaitResource/matchConditions). They cannot compare two fields,
# and the first poll comes right after `apply`, before KServe has reconciled,
# so they read the previous rollout's status: `activeModelState: Loaded` is
# never reset, and an old `FailedToLoad` lingers. `status.observedGeneration`
# is no help either: KServe copies it from the child Knative Service or
# Deployment (pkg/apis/serving/v1beta1/inference_service_status.go,
# PropagateStatus/PropagateRawStatus; kserve issue #6081).
#
# So the apply step stamps the predictor with the annotation
# mlpc.dev/rollout=MLP_ROLLOUT (unique per deploy task run), KServe copies it
# onto the predictor pods (Knative revision template / Deployment pod
# template), and this step judges only those pods and the status KServe
# derives from them:
# - Serverless: `PropagateModelStatus` computes `status.modelStatus` from the
#   pods of `status.components.predictor.latestCreatedRevision`. Once that is
#   the revision of our pods, the status is about our rollout: Loaded +
#   UpToDate with latestReadyRevision == it and Ready=True is success;
#   targetModelState FailedToLoad / BlockedByFailedLoad is failure.
# - Raw deployment: the status is read from one pod of the Deployment, which
#   may be an old one; success also needs every other rollout's predictor
#   pods gone (the Deployment finished rolling).
# - Either way, a container of our pods stuck in CrashLoopBackOff,
#   ImagePullBackOff, ... for longer than the grace period is failure.
#
# Canary (reconcilers/knative/ksvc_reconciler.go): with canaryTrafficPercent
# N, traffic is N% latest revision and (100-N)% latestRolledoutRevision, and
# the rolled-out revision only advances when the latest ready revision gets
# 100%. So once our rollout is healthy this step sets canaryTrafficPercent to
# 100 (a JSON patch that first tests that the predictor still carries our
# rollout annotation) and waits until our revision is latestRolledoutRevision
# with 100% of the traffic.
#
# In:  MLP_NAMESPACE MLP_SERVICE MLP_ROLLOUT MLP_TIMEOUT_SECONDS [MLP_CANARY]
#      in-cluster: KUBERNETES_SERVICE_HOST/PORT and the deploy service
#      account's token and ca.crt under
#      /var/run/secrets/kubernetes.io/serviceaccount (mounted for this pod only).
#      Test overrides, never set by mlpc: MLP_KUBE_API (base URL),
#      MLP_KUBE_CA, MLP_KUBE_TOKEN_FILE, MLP_POLL_SECONDS,
#      MLP_FAILURE_GRACE_SECONDS, MLP_OUTPUTS.
# Out: $MLP_OUTPUTS/url (default /tmp/outputs/url): status.url.
import json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

STEP = "kserve-wait"
ROLLOUT_KEY = "mlpc.dev/rollout"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
REVISION_LABEL = "serving.knative.dev/revision"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
MAX_BODY = 8 * 1024 * 1024
# Container states that do not heal by waiting (kubelet reasons).
STUCK = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
         "CreateContainerConfigError", "CreateContainerError")


def log(msg):
    print("%s: %s" % (STEP, msg), file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(1)


namespace = os.environ.get("MLP_NAMESPACE", "")
name = os.environ.get("MLP_SERVICE", "")
rollout = os.environ.get("MLP_ROLLOUT", "")
if not (namespace and name and rollout):
    fail("MLP_NAMESPACE, MLP_SERVICE and MLP_ROLLOUT must be set")
try:
    timeout = float(os.environ.get("MLP_TIMEOUT_SECONDS") or "900")
    canary = os.environ.get("MLP_CANARY", "").strip()
    poll = float(os.environ.get("MLP_POLL_SECONDS") or "5")
    grace = float(os.environ.get("MLP_FAILURE_GRACE_SECONDS") or "120")
except ValueError as err:
    fail("bad setting: %s" % err)
deadline = time.monotonic() + timeout
what = "rollout %s of InferenceService %s/%s" % (rollout, namespace, name)


