def api_base():
    override = os.environ.get("MLP_KUBE_API")
    if override:
        return override.rstrip("/")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        fail("KUBERNETES_SERVICE_HOST is unset: this step talks to the Kubernetes API from inside a pod")
    if ":" in host:
        host = "[%s]" % host
    return "https://%s:%s" % (host, port)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the token must never leave for another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


BASE = api_base()
handlers = [urllib.request.ProxyHandler({}), NoRedirect()]
if BASE.startswith("https:"):
    ca = os.environ.get("MLP_KUBE_CA") or os.path.join(SA_DIR, "ca.crt")
    try:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
    except (OSError, ssl.SSLError) as err:
        fail("cannot read the cluster CA %s: %s" % (ca, err))
OPENER = urllib.request.build_opener(*handlers)
TOKEN_FILE = os.environ.get("MLP_KUBE_TOKEN_FILE") or os.path.join(SA_DIR, "token")
