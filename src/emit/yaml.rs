//! YAML out. Writing goes through our own block serializer (`block_yaml`),
//! which writes what serde_yaml writes, faster, except that it also quotes
//! text a YAML 1.1 reader would misread. serde_yaml (archived upstream,
//! pinned) is a dev-dependency: the tests read YAML back with it and hold
//! the writer to its text (`tests/common/yaml.rs`).

use serde::Serialize;

use super::block_yaml;

/// One YAML document (no leading `---`).
pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let mut out = String::new();
    block_yaml::write(&mut out, value, 0).map_err(|e| format!("cannot write YAML: {e}"))?;
    Ok(out)
}

/// Whether the writer quotes `text` where serde_yaml writes it plain: text
/// that only a YAML 1.1 reader (go-yaml v2, PyYAML) takes for a bool,
/// number, timestamp, null, merge key or value tag. This is the one way
/// `to_yaml` differs from serde_yaml's text on purpose, besides the two
/// places where serde_yaml is wrong.
pub fn quoted_only_for_yaml11(text: &str) -> bool {
    block_yaml::quoted_only_for_yaml11(text)
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

/// Appends `value` to `list` as one item of a YAML block sequence whose key
/// sits `indent` spaces in, as serde_yaml writes sequences. A long list is
/// built this way one item at a time, without holding its items.
pub fn push_sequence_item<T: Serialize>(
    list: &mut String,
    value: &T,
    indent: usize,
) -> Result<(), String> {
    block_yaml::write(list, &[value], indent).map_err(|e| format!("cannot write YAML: {e}"))
}

/// Appends `text` to `out` with `indent` spaces before each non-empty line
/// (a line inside a block scalar may be empty; it stays empty).
fn push_indented(out: &mut String, text: &str, indent: usize) {
    for line in text.lines() {
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.push_str(line);
        out.push('\n');
    }
}

/// How far in the `KEY: []` on the last line of `document` sits: the indent
/// of the items of the list that `splice_last_list` puts there.
pub fn last_list_indent(document: &str, key: &str) -> Result<usize, String> {
    let last_line = &document[last_line_start(document)..];
    if last_line.trim() != format!("{key}: []") {
        return Err(format!(
            "internal error: the document does not end with `{key}: []`"
        ));
    }
    Ok(last_line.len() - last_line.trim_start().len())
}

fn last_line_start(document: &str) -> usize {
    document
        .trim_end_matches('\n')
        .rfind('\n')
        .map_or(0, |i| i + 1)
}

/// Splices block-sequence items into `document`, whose last line must be
/// `KEY: []`: the result, in two pieces to write one after the other, is
/// `document` up to that line, `KEY:` and the items of `head` (built with
/// `push_sequence_item` at the key's indent), then those of `list` (built at
/// `list_indent`). The long list is not copied unless its indent must change.
pub fn splice_last_list(
    document: &str,
    key: &str,
    head: &str,
    list: String,
    list_indent: usize,
) -> Result<[String; 2], String> {
    let indent = last_list_indent(document, key)?;
    let list = match indent.checked_sub(list_indent) {
        Some(0) => list,
        Some(more) => {
            let mut deeper = String::with_capacity(list.len() + list.len() / 4);
            push_indented(&mut deeper, &list, more);
            deeper
        }
        None => {
            return Err(format!(
                "internal error: `{key}` is indented by {indent}, less than its items"
            ))
        }
    };
    let cut = last_line_start(document);
    let mut front = String::with_capacity(cut + indent + key.len() + 2 + head.len());
    front.push_str(&document[..cut]);
    front.extend(std::iter::repeat_n(' ', indent));
    front.push_str(key);
    front.push_str(":\n");
    front.push_str(head);
    Ok([front, list])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Item {
        name: &'static str,
        script: &'static str,
    }

    const ONE: Item = Item {
        name: "a",
        script: "echo 1\n\necho 2\n",
    };
    const TWO: Item = Item {
        name: "b",
        script: "x",
    };

    fn spliced(skeleton: &str, list_indent: usize) -> String {
        let indent = last_list_indent(skeleton, "templates").unwrap();
        let mut head = String::new();
        push_sequence_item(&mut head, &ONE, indent).unwrap();
        let mut list = String::new();
        push_sequence_item(&mut list, &TWO, list_indent).unwrap();
        splice_last_list(skeleton, "templates", &head, list, list_indent)
            .unwrap()
            .concat()
    }

    #[test]
    fn spliced_list_reads_back_as_the_list() {
        // At the list's own indent, and one level deeper (a CronWorkflow).
        for (skeleton, path) in [
            (
                "kind: Workflow\nspec:\n  templates: []\n",
                "/spec/templates",
            ),
            (
                "kind: CronWorkflow\nspec:\n  workflowSpec:\n    templates: []\n",
                "/spec/workflowSpec/templates",
            ),
        ] {
            let text = spliced(skeleton, 2);
            // serde_yaml, a dev-dependency, reads it back.
            let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
            let list = doc.pointer(path).unwrap();
            assert_eq!(
                list,
                &serde_json::json!([
                    {"name": "a", "script": "echo 1\n\necho 2\n"},
                    {"name": "b", "script": "x"},
                ]),
                "{text}"
            );
        }
    }

    #[test]
    fn splice_refuses_a_document_without_the_empty_list() {
        let err = splice_last_list("spec:\n  steps: []\n", "templates", "", String::new(), 2);
        assert!(err.unwrap_err().contains("`templates: []`"));
        let shallow = splice_last_list("templates: []\n", "templates", "", String::new(), 2);
        assert!(shallow.unwrap_err().contains("less than its items"));
    }
}
