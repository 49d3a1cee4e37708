//! Kubernetes names, labels, quantities and image references.

/// Lowercase with `_` as `-`: how names appear in Kubernetes.
pub fn dns_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Why an image reference is not pinned, if it is not: no digest, and no
/// tag or the tag `latest`. A registry port (`host:5000/name`) is no tag.
pub(super) fn unpinned(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("no tag: the registry's `latest`"),
        Some((_, "latest")) => Some("`latest` changes"),
        Some(_) => None,
    }
}

/// Kubernetes accepts `[-._a-zA-Z][-._a-zA-Z0-9]*` as an env var name.
pub(super) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub(super) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A Kubernetes quantity: a number with an optional suffix or exponent.
pub(super) fn is_quantity(s: &str) -> bool {
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let num_ok = !num.is_empty()
        && num.parse::<f64>().is_ok_and(|n| n.is_finite() && n >= 0.0)
        && !num.starts_with('+');
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..]
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit())
        && suffix[1..].trim_start_matches(['+', '-']).len()
            == suffix[1..].len() - usize::from(suffix[1..].starts_with(['+', '-']))
        && !suffix[1..].trim_start_matches(['+', '-']).is_empty());
    num_ok && suffix_ok
}

/// A label or annotation key: `[prefix/]name`.
pub(super) fn validate_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !is_dns_subdomain(p) {
            return Err(format!("the prefix `{p}` is not a lowercase DNS subdomain"));
        }
    }
    if name.is_empty() || name.len() > 63 {
        return Err("the name part must be 1 to 63 characters".into());
    }
    validate_name_chars(name)
}

pub(super) fn validate_name_chars(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_chars && ok_ends {
        Ok(())
    } else {
        Err(
            "use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
                .into(),
        )
    }
}

pub(super) fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(format!(
            "it is {} characters long; label values are at most 63",
            value.len()
        ));
    }
    validate_name_chars(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn pinned_images() {
        assert!(unpinned("trainer:1.4.2").is_none());
        assert!(unpinned("ghcr.io/acme/trainer@sha256:abc").is_none());
        assert!(unpinned("host:5000/team/trainer:2").is_none());
        assert!(unpinned("trainer").is_some());
        assert!(unpinned("trainer:latest").is_some());
        assert!(
            unpinned("host:5000/team/trainer").is_some(),
            "a port is not a tag"
        );
    }

    #[test]
    pub(super) fn quantities_and_names() {
        assert!(is_quantity("64Gi"));
        assert!(is_quantity("500m"));
        assert!(is_quantity("1.5"));
        assert!(is_quantity("1e3"));
        assert!(!is_quantity("64GB"));
        assert!(!is_quantity(""));
        assert!(validate_qualified_name("app.kubernetes.io/name").is_ok());
        assert!(validate_qualified_name("team").is_ok());
        assert!(validate_qualified_name("Bad Key").is_err());
        assert!(validate_label_value("v1.2").is_ok());
        assert!(validate_label_value("-bad").is_err());
        assert_eq!(dns_name("Train_A"), "train-a");
    }
}
