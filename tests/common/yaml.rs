//! serde_yaml in the tests, its only users (it is a dev-dependency): the
//! YAML reader the tests read the output back with, and the reference text
//! the block writer (`src/emit/block_yaml.rs`) is held to.

use serde::Serialize;

/// What serde_yaml writes for `value`: the reference
/// `mlpc::emit::yaml::to_yaml` is tested against.
pub fn serde_yaml_text<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| format!("cannot write YAML: {e}"))
}

/// Parses a YAML stream into JSON values.
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).map_err(|e| e.to_string()))
        .collect()
}
