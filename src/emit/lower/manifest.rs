//! A resource manifest whose run-time values cannot change its structure.
//!
//! Argo substitutes `{{...}}` in a resource template's manifest as text
//! (`util/template/simple_template.go`): a value holding a quote and a
//! newline (a storage URI from the registry, a parameter) would add keys or
//! whole objects to the YAML. Each string that holds a placeholder is
//! written instead as one expression tag, `{{=toJson(...)}}`, which expr
//! evaluates over the values (`util/template/expression_template.go`): the
//! manifest then holds a JSON string literal, which YAML reads as one
//! double-quoted scalar whatever the value is.

use serde::Serialize;

use super::when::string_literal;

/// The manifest of `object` as YAML, value-safe.
pub(super) fn value_safe_yaml<T: Serialize>(object: &T) -> Result<String, String> {
    let mut value = serde_json::to_value(object).map_err(|e| e.to_string())?;
    let mut tagged = Vec::new();
    mark(&mut value, &mut tagged);
    let mut text = crate::emit::yaml::to_yaml(&value)?;
    for (n, original) in tagged.iter().enumerate() {
        let marker = marker(n);
        let tag = format!("{{{{=toJson({})}}}}", expression(original));
        // The marker is a plain scalar; the tag replaces it whole.
        text = text.replacen(&format!(" {marker}\n"), &format!(" {tag}\n"), 1);
    }
    Ok(text)
}

fn marker(n: usize) -> String {
    format!("mlpc-run-time-value-{n}")
}

/// Replaces every string holding a placeholder with a marker.
///
/// This reads the rendered text, and may: `{{` in a string of the manifest
/// can only be a placeholder the lowering wrote for a reference, since the
/// checker rejects `{{` in every text a user writes (`ArgoPlaceholder`,
/// `sema::values`). A string holds `{{` exactly when it holds a run-time
/// value, so no decision here depends on how a value happens to read.
fn mark(v: &mut serde_json::Value, tagged: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.contains("{{") => {
            let original = std::mem::replace(s, marker(tagged.len()));
            tagged.push(original);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| mark(i, tagged)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|i| mark(i, tagged)),
        _ => {}
    }
}

/// `text` with its placeholders (`{{inputs.parameters.x}}`,
/// `{{workflow.parameters.x}}`, `{{workflow.uid}}`, ...) as one expr
/// string expression: the literal parts escaped, the values as names.
fn expression(text: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(string_literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        parts.push(name(after[..end].trim()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(string_literal(rest));
    }
    parts.join(" + ")
}

/// A placeholder's key as an expr name: `inputs.parameters.x` ->
/// `inputs.parameters['x']` (names may hold `-`).
fn name(key: &str) -> String {
    for prefix in ["inputs.parameters.", "workflow.parameters."] {
        if let Some(param) = key.strip_prefix(prefix) {
            return format!("{}['{param}']", prefix.trim_end_matches('.'));
        }
    }
    key.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_one_json_tag() {
        assert_eq!(
            expression("{{inputs.parameters.storage_uri}}"),
            "inputs.parameters['storage_uri']"
        );
        assert_eq!(
            expression("{{workflow.uid}}-serve"),
            "workflow.uid + '-serve'"
        );
        let yaml = value_safe_yaml(&serde_json::json!({
            "spec": {"storageUri": "{{inputs.parameters.storage_uri}}", "plain": "x"}
        }))
        .unwrap();
        assert!(
            yaml.contains("storageUri: {{=toJson(inputs.parameters['storage_uri'])}}\n"),
            "{yaml}"
        );
        assert!(yaml.contains("plain: x\n"), "{yaml}");
    }
}
