//! The only module that touches serde_yaml (archived upstream, pinned).
//! Everything that becomes YAML goes through `to_yaml`; tests read YAML back
//! through `parse_documents`.

use serde::Serialize;

/// One YAML document (no leading `---`).
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| format!("cannot write YAML: {e}"))
}

/// Several documents, separated by `---` lines.
pub fn to_yaml_stream<T: Serialize>(values: &[T]) -> Result<String, String> {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v)?);
    }
    Ok(out)
}

/// Parses a YAML stream into JSON values (for tests and tools).
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).map_err(|e| e.to_string()))
        .collect()
}
