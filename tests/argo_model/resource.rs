//! How an Argo `resource` template decides that the object it created
//! succeeded or failed (argo-workflows workflow/executor/resource.go,
//! `matchConditions` and `gjsonLabels`): `successCondition` and
//! `failureCondition` are parsed as Kubernetes label selectors
//! (k8s.io/apimachinery/pkg/labels, `Parse`), each key is looked up in the
//! object's JSON as a gjson path, failure requirements are checked first
//! and any one that matches fails the step, then the step succeeds when
//! every success requirement matches (so no success requirement at all
//! succeeds at once); otherwise it polls again.
//!
//! The requirement semantics are apimachinery's `Requirement.Matches`
//! (labels/selector.go): `=`, `==`, `in` need the key and a listed value;
//! `!=`, `notin` match a missing key too; a bare key needs it, `!key` its
//! absence; `>` and `<` need the key's value to parse as an integer.

/// What a resource step does after one look at the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Failed,
    Waiting,
    /// A condition does not parse: the step fails at once. Which one.
    ParseError(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone)]
pub struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of
/// at most 63 characters, alphanumeric at both ends, `-`, `_`, `.` inside
/// (apimachinery util/validation `IsQualifiedName`).
fn valid_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && valid_name(name)
}

/// A DNS-1123 subdomain (apimachinery `IsDNS1123Subdomain`): dot-separated
/// labels of lowercase letters, digits and inner `-`, 253 characters at
/// most.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
fn valid_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name
            .chars()
            .all(|c| alnum(c) || c == '-' || c == '_' || c == '.')
}

/// A label value: empty, or a name.
fn valid_value(value: &str) -> bool {
    value.is_empty() || valid_name(value)
}

/// Splits a selector at the commas that are not inside `(...)`.
fn split_requirements(selector: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out
}

/// `labels.Parse`: the requirements of a selector, or why it is refused.
pub fn parse(selector: &str) -> Result<Vec<Requirement>, String> {
    if selector.trim().is_empty() {
        return Ok(Vec::new());
    }
    split_requirements(selector)
        .into_iter()
        .map(|r| parse_requirement(r.trim()))
        .collect()
}

fn parse_requirement(text: &str) -> Result<Requirement, String> {
    let req = |key: &str, op: Op, values: Vec<String>| -> Result<Requirement, String> {
        let key = key.trim();
        if !valid_key(key) {
            return Err(format!("invalid key {key:?}"));
        }
        for v in &values {
            if !valid_value(v) {
                return Err(format!("invalid value {v:?}"));
            }
        }
        if matches!(op, Op::GreaterThan | Op::LessThan) && values[0].parse::<i64>().is_err() {
            return Err(format!("{:?} is not an integer", values[0]));
        }
        Ok(Requirement {
            key: key.to_string(),
            op,
            values,
        })
    };
    if let Some(key) = text.strip_prefix('!') {
        return req(key, Op::DoesNotExist, Vec::new());
    }
    for (token, op) in [(" notin ", Op::NotIn), (" in ", Op::In)] {
        if let Some((key, set)) = text.split_once(token) {
            let set = set.trim();
            let inner = set
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| format!("expected a set in {text:?}"))?;
            let values = inner.split(',').map(|v| v.trim().to_string()).collect();
            return req(key, op, values);
        }
    }
    // Longest operators first.
    for (token, op) in [
        ("==", Op::Equals),
        ("!=", Op::NotEquals),
        ("=", Op::Equals),
        (">", Op::GreaterThan),
        ("<", Op::LessThan),
    ] {
        if let Some((key, value)) = text.split_once(token) {
            return req(key, op, vec![value.trim().to_string()]);
        }
    }
    req(text, Op::Exists, Vec::new())
}

/// gjson's lookup of a dotted path (a numeric segment indexes an array):
/// whether it exists, and its `String()`.
fn lookup(json: &serde_json::Value, path: &str) -> Option<String> {
    let mut at = json;
    for seg in path.split('.') {
        at = match at {
            serde_json::Value::Object(m) => m.get(seg)?,
            serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(match at {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

impl Requirement {
    fn matches(&self, json: &serde_json::Value) -> bool {
        let got = lookup(json, &self.key);
        match self.op {
            Op::Equals | Op::In => got.is_some_and(|v| self.values.contains(&v)),
            Op::NotEquals | Op::NotIn => got.is_none_or(|v| !self.values.contains(&v)),
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let (Some(Ok(have)), Ok(want)) =
                    (got.map(|v| v.parse::<i64>()), self.values[0].parse::<i64>())
                else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// One look at `object` by a step with these conditions.
pub fn verdict(success: &str, failure: &str, object: &serde_json::Value) -> Verdict {
    let Ok(success) = parse(success) else {
        return Verdict::ParseError("success");
    };
    let Ok(failure) = parse(failure) else {
        return Verdict::ParseError("failure");
    };
    if failure.iter().any(|r| r.matches(object)) {
        return Verdict::Failed;
    }
    if success.iter().filter(|r| r.matches(object)).count() >= success.len() {
        return Verdict::Succeeded;
    }
    Verdict::Waiting
}
