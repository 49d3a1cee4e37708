//! An image tag's digest, from the image's registry: what "pin an image by
//! digest" writes (the language server's quick fix for W0202 and E0230).
//!
//! The OCI distribution API: `HEAD /v2/NAME/manifests/TAG` answers with the
//! manifest's digest in `Docker-Content-Digest`. A registry that wants a
//! token answers 401 with `WWW-Authenticate: Bearer realm=...,service=...,
//! scope=...`; the token comes from the realm, anonymously or with the
//! credentials `docker login` saved (`~/.docker/config.json`, `auths`).
//! Image names are read as Docker reads them: no registry host means Docker
//! Hub, and a one-part name there is under `library/`. A registry on
//! `localhost` or a loopback address is spoken to over plain HTTP, as
//! Docker does; every other over HTTPS.

use std::time::Duration;

/// An image reference split as a registry sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The host (and port) of the registry's API.
    pub host: String,
    /// The repository on it: `library/busybox`, `team/app`.
    pub repository: String,
    /// The tag; `latest` when none is written.
    pub tag: String,
}

/// Reads `IMAGE[:TAG]`; `None` for a reference that has a digest already
/// or is not an image name.
pub fn parse(image: &str) -> Option<ImageRef> {
    if image.contains('@') || image.is_empty() || image.chars().any(char::is_whitespace) {
        return None;
    }
    let (host, rest) = match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), image.to_string()),
    };
    let (path, tag) = match rest.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') => (path.to_string(), tag.to_string()),
        _ => (rest, "latest".to_string()),
    };
    if path.is_empty() || tag.is_empty() {
        return None;
    }
    let (host, repository) = if host == "docker.io" || host == "index.docker.io" {
        let repository = if path.contains('/') {
            path
        } else {
            format!("library/{path}")
        };
        ("registry-1.docker.io".to_string(), repository)
    } else {
        (host, path)
    };
    Some(ImageRef {
        host,
        repository,
        tag,
    })
}

/// The manifest types asked for, an index (several platforms) first: its
/// digest pins the image on every platform, as `docker buildx imagetools`
/// and `crane digest` report it.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The digest (`sha256:...`) the registry gives `image`'s tag now.
pub fn digest(image: &str) -> Result<String, String> {
    let r = parse(image).ok_or_else(|| format!("`{image}` is not an image name with a tag"))?;
    let scheme = if is_loopback(&r.host) {
        "http"
    } else {
        "https"
    };
    let url = format!(
        "{scheme}://{}/v2/{}/manifests/{}",
        r.host, r.repository, r.tag
    );
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("mlpc/", env!("CARGO_PKG_VERSION")))
        .build();
    let head = |auth: Option<&str>| {
        let mut req = agent.head(&url).set("Accept", MANIFEST_TYPES);
        if let Some(auth) = auth {
            req = req.set("Authorization", auth);
        }
        req.call().map_err(Box::new)
    };
    let response = match head(None).map_err(|e| *e) {
        Ok(response) => response,
        Err(ureq::Error::Status(401, response)) => {
            let challenge = response.header("WWW-Authenticate").unwrap_or_default();
            let token = token(&agent, challenge, &r)?;
            head(Some(&format!("Bearer {token}"))).map_err(|e| failure(&r, *e))?
        }
        Err(e) => return Err(failure(&r, e)),
    };
    let digest = response
        .header("Docker-Content-Digest")
        .ok_or_else(|| format!("{} sent no Docker-Content-Digest", r.host))?;
    let valid = digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(format!("{} sent an invalid digest `{digest}`", r.host));
    }
    Ok(digest.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "[::1]") || name.starts_with("127.")
}

fn failure(r: &ImageRef, e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(404, _) => {
            format!("{} has no tag `{}` of `{}`", r.host, r.tag, r.repository)
        }
        ureq::Error::Status(code, _) => format!("{} answered {code}", r.host),
        ureq::Error::Transport(t) => format!("{} could not be reached: {t}", r.host),
    }
}

/// A pull token from the realm of a `Bearer` challenge.
fn token(agent: &ureq::Agent, challenge: &str, r: &ImageRef) -> Result<String, String> {
    let params = challenge
        .strip_prefix("Bearer ")
        .map(challenge_params)
        .ok_or_else(|| format!("{} wants credentials mlpc cannot send", r.host))?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let realm = get("realm").ok_or_else(|| format!("{} named no token realm", r.host))?;
    let scope = get("scope")
        .map(str::to_string)
        .unwrap_or_else(|| format!("repository:{}:pull", r.repository));
    let mut req = agent.get(realm).query("scope", &scope);
    if let Some(service) = get("service") {
        req = req.query("service", service);
    }
    if let Some(auth) = saved_login(&r.host) {
        req = req.set("Authorization", &format!("Basic {auth}"));
    }
    let body: serde_json::Value = req
        .call()
        .map_err(|e| failure(r, e))?
        .into_json()
        .map_err(|e| format!("{realm}: {e}"))?;
    body.get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("{realm} sent no token"))
}

/// `key="value"` pairs of a challenge, separated by commas.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, next)) => (v.to_string(), next),
                None => (quoted.to_string(), ""),
            },
            None => match after.split_once(',') {
                Some((v, next)) => (v.trim().to_string(), next),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((key, value));
        rest = next.trim_start_matches([',', ' ']);
    }
    out
}

/// The base64 `user:password` that `docker login HOST` saved, if any.
fn saved_login(host: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auths = config.get("auths")?.as_object()?;
    // Docker Hub's logins are saved under its old index URL.
    let keys: &[&str] = if host == "registry-1.docker.io" {
        &[
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
        ]
    } else {
        &[host]
    };
    keys.iter().find_map(|k| {
        auths
            .iter()
            .find(|(key, _)| {
                key.as_str() == *k || key.trim_start_matches("https://").trim_end_matches('/') == *k
            })
            .and_then(|(_, v)| v.get("auth")?.as_str().map(str::to_string))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(host: &str, repository: &str, tag: &str) -> Option<ImageRef> {
        Some(ImageRef {
            host: host.into(),
            repository: repository.into(),
            tag: tag.into(),
        })
    }

    /// Names are read as Docker's reference grammar reads them
    /// (distribution/reference, `ParseNormalizedNamed`): a first part with
    /// a `.` or `:`, or `localhost`, is a registry host; else Docker Hub,
    /// with `library/` before a one-part name.
    #[test]
    fn names_read_as_docker_reads_them() {
        assert_eq!(
            parse("busybox"),
            r("registry-1.docker.io", "library/busybox", "latest")
        );
        assert_eq!(
            parse("bitnami/kubectl:latest"),
            r("registry-1.docker.io", "bitnami/kubectl", "latest")
        );
        assert_eq!(
            parse("ghcr.io/acme/trainer:1.4"),
            r("ghcr.io", "acme/trainer", "1.4")
        );
        assert_eq!(
            parse("registry.example.com:5000/team/cleaner"),
            r("registry.example.com:5000", "team/cleaner", "latest")
        );
        assert_eq!(parse("localhost/app:dev"), r("localhost", "app", "dev"));
        assert_eq!(parse("busybox@sha256:abc"), None);
        assert_eq!(parse("bad name"), None);
    }

    #[test]
    fn challenges_and_loopback_hosts() {
        let p = challenge_params(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(
            p,
            [
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/busybox:pull".into()),
            ]
        );
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("localhost"));
        assert!(!is_loopback("ghcr.io") && !is_loopback("registry.example.com:5000"));
    }
}
