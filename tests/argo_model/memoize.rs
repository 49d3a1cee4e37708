//! Memoization: how a template's `memoize.key` is expanded, and when the
//! node errors before its pod runs.
//!
//! - Inputs: `workflow/common/util.go` `ProcessArgs` (each input parameter
//!   takes its argument, else its default, else the node errors with
//!   `inputs.parameters.X was not supplied`) and `SubstituteParams`, which
//!   substitutes the whole template twice, both times with
//!   `allowUnresolved = true`: first with the global (and local) parameters,
//!   then with `inputs.parameters.X`, `inputs.parameters` (the JSON list),
//!   `inputs.artifacts.X.path` and `outputs.*.path`. In v3.x the second map
//!   holds *only* the input entries; in v4 it is the first map plus them
//!   ([`PassScope`]). An artifact input is never an `inputs.parameters`
//!   entry.
//! - Expression tags: `util/template/expression_template.go`
//!   `expressionReplace`: with `allowUnresolved`, an error or a `nil`
//!   result writes `{{=...}}` back unchanged (see `substitution`, `expr`).
//!   So `inputs.parameters['data']` for an artifact `data` is `nil`,
//!   `'...' + nil` fails, and the key keeps its `{{=...}}` text.
//! - The check: `workflow/controller/cache/cache.go` `cacheKeyRegex`
//!   (`^[a-zA-Z0-9][-a-zA-Z0-9]*$`), applied by
//!   `workflow/controller/cache/configmap_cache.go` `Load` / `Save`
//!   (`invalid cache key: KEY`). `operator.go` `executeTemplate` /
//!   `handleMemoization` turns a `Load` error into
//!   `initializeNodeOrMarkError`: the node is `Error` before any pod exists.
//!   (Kubernetes also caps ConfigMap keys at 253 characters; the regex does
//!   not, so an over-long key would fail at `Save`, after the pod ran.)

use std::collections::BTreeMap;

use serde_json::Value;

use super::substitution::{self, Scope};

/// Which map the second `SubstituteParams` pass uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassScope {
    /// v4: the global map, extended with the inputs.
    GlobalsAndInputs,
    /// v3.x: a fresh map of the inputs only.
    InputsOnly,
}

/// `cacheKeyRegex.MatchString(key)`.
pub fn valid_cache_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The input parameter values of a template called with `args`
/// (`ProcessArgs`): argument, else default, else an error.
pub fn input_values(
    template: &Value,
    args: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in template["inputs"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let value = args
            .get(&name)
            .cloned()
            .or_else(|| p["value"].as_str().map(String::from))
            .or_else(|| p["default"].as_str().map(String::from));
        match value {
            Some(v) => {
                out.insert(name, v);
            }
            None => return Err(format!("inputs.parameters.{name} was not supplied")),
        }
    }
    Ok(out)
}

/// `SubstituteParams` on one string of a template.
pub fn substitute_params(
    text: &str,
    template: &Value,
    globals: &Scope,
    inputs: &BTreeMap<String, String>,
    pass: PassScope,
) -> Result<String, String> {
    let first = substitution::replace(text, globals, true)?;
    let mut map = match pass {
        PassScope::GlobalsAndInputs => globals.clone(),
        PassScope::InputsOnly => Scope::new(),
    };
    let mut list = Vec::new();
    for (k, v) in inputs {
        map.insert(format!("inputs.parameters.{k}"), v.clone());
        list.push(serde_json::json!({"name": k, "value": v}));
    }
    map.insert("inputs.parameters".into(), Value::Array(list).to_string());
    for a in template["inputs"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(n), Some(p)) = (a["name"].as_str(), a["path"].as_str()) {
            map.insert(format!("inputs.artifacts.{n}.path"), p.to_string());
        }
    }
    for a in template["outputs"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(n), Some(p)) = (a["name"].as_str(), a["path"].as_str()) {
            map.insert(format!("outputs.artifacts.{n}.path"), p.to_string());
        }
    }
    for o in template["outputs"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(n), Some(p)) = (o["name"].as_str(), o["valueFrom"]["path"].as_str()) {
            map.insert(format!("outputs.parameters.{n}.path"), p.to_string());
        }
    }
    substitution::replace(&first, &map, true)
}

/// What happens to a memoized template's node before its pod: `Ok(key)`
/// (the cache is consulted with this key), or `Err` (the node is `Error`).
pub fn memoized_key(
    template: &Value,
    args: &BTreeMap<String, String>,
    globals: &Scope,
    pass: PassScope,
) -> Result<Option<String>, String> {
    let Some(key) = template["memoize"]["key"].as_str() else {
        return Ok(None);
    };
    let inputs = input_values(template, args)?;
    let key = substitute_params(key, template, globals, &inputs, pass)?;
    if !valid_cache_key(&key) {
        return Err(format!("invalid cache key: {key}"));
    }
    Ok(Some(key))
}
