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

/// A value as one item of a YAML block sequence (`- ...`), for streaming a
/// long list without holding all of it.
pub fn sequence_item<T: Serialize>(value: &T) -> Result<String, String> {
    to_yaml(&[value])
}

/// Splices block-sequence items (from `sequence_item`) into a document whose
/// last line is `KEY: []`, the list they belong to; items are indented to
/// the key, as serde_yaml writes sequences.
pub fn splice_last_list(document: &str, key: &str, items: &[String]) -> Result<String, String> {
    let last_line_start = document
        .trim_end_matches('\n')
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let last_line = &document[last_line_start..];
    let indent = last_line.len() - last_line.trim_start().len();
    if last_line.trim() != format!("{key}: []") {
        return Err(format!(
            "internal error: the document does not end with `{key}: []`"
        ));
    }
    let pad = " ".repeat(indent);
    let mut out =
        String::with_capacity(document.len() + items.iter().map(|i| i.len() + 64).sum::<usize>());
    out.push_str(&document[..last_line_start]);
    out.push_str(&pad);
    out.push_str(key);
    out.push_str(":\n");
    for item in items {
        for line in item.lines() {
            // A line inside a block scalar may be empty; keep it empty.
            if !line.is_empty() {
                out.push_str(&pad);
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}
