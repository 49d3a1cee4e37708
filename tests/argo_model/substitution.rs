//! Argo's `{{...}}` substitution: `util/template/template.go` `Replace`
//! (fasttemplate with `{{` / `}}`, each tag dispatched by `parseTag`),
//! `util/template/simple_template.go` `simpleReplace` (renamed
//! `simpleReplaceStrict` in v4) and `util/template/expression_template.go`
//! `expressionReplace`.
//!
//! Rules:
//! - a tag is the text between a `{{` and the next `}}`; a `{{` with no
//!   `}}` after it is an error of the whole template (fasttemplate's
//!   "Cannot find end tag");
//! - a simple tag is looked up with surrounding whitespace trimmed; a found
//!   value is inserted as text (Argo substitutes inside JSON, escaping the
//!   value with `strconv.Quote`, so after decoding the text is verbatim);
//! - a tag not found: if the part after its last inner `{{` is a key, the
//!   tag becomes `{{` + prefix + value (nested tags); otherwise, with
//!   `allowUnresolved` the tag is written back unchanged (`{{tag}}`), and
//!   without it the substitution fails with `failed to resolve {{tag}}`;
//! - an expression tag `{{=EXPR}}` is evaluated (see `expr`) over the same
//!   map; with `allowUnresolved`, a compile error, a run-time error or a
//!   `nil` result writes the tag back unchanged, otherwise it is an error;
//!   a string result is inserted as is, other results as JSON.
//!
//! What a key means is the caller's: workflow parameters
//! (`workflow.parameters.x`, `workflow.name`, ...), a template's
//! `inputs.parameters.x`, an ancestor task's
//! `tasks.t.outputs.parameters.x`, and `item` / `item.key` inside
//! `processItem`.

use std::collections::BTreeMap;

use super::expr::{self, EValue};

pub type Scope = BTreeMap<String, String>;

/// `template.Replace(text, scope, allowUnresolved)`.
pub fn replace(text: &str, scope: &Scope, allow_unresolved: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "Cannot find end tag=\"}}}}\" in the template={text:?} starting from {:?}",
                &rest[start..]
            ));
        };
        let tag = &after[..end];
        out.push_str(&replace_tag(tag, scope, allow_unresolved)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn replace_tag(tag: &str, scope: &Scope, allow_unresolved: bool) -> Result<String, String> {
    if let Some(expression) = tag.strip_prefix('=') {
        return expression_replace(expression, scope, allow_unresolved);
    }
    if let Some(v) = scope.get(tag.trim()) {
        return Ok(v.clone());
    }
    if let Some(index) = tag.rfind("{{").filter(|i| *i > 0) {
        if let Some(v) = scope.get(&tag[index + 2..]) {
            return Ok(format!("{{{{{}{}", &tag[..index], v));
        }
    }
    if allow_unresolved {
        Ok(format!("{{{{{tag}}}}}"))
    } else {
        Err(format!("failed to resolve {{{{{tag}}}}}"))
    }
}

/// `expressionReplace`.
pub fn expression_replace(
    expression: &str,
    scope: &Scope,
    allow_unresolved: bool,
) -> Result<String, String> {
    let env = expr::env(scope);
    let unresolved = || Ok(format!("{{{{={expression}}}}}"));
    match expr::eval(expression, &env) {
        Err(_) | Ok(EValue::Nil) if allow_unresolved => unresolved(),
        Err(e) => Err(format!("failed to evaluate expression: {e}")),
        Ok(EValue::Nil) => Err(format!("failed to evaluate expression {expression:?}")),
        Ok(EValue::Str(s)) => Ok(s),
        Ok(EValue::Num(n)) => Ok(serde_json::json!(n).to_string()),
        Ok(EValue::Bool(b)) => Ok(b.to_string()),
        Ok(other) => Ok(format!("{other:?}")),
    }
}

/// The global scope of a workflow run (`operator.go` `setGlobalParameters`):
/// `workflow.parameters.NAME` for each argument, and the run's fields.
pub fn global_scope(params: &BTreeMap<String, String>) -> Scope {
    let mut s = Scope::new();
    for (k, v) in params {
        s.insert(format!("workflow.parameters.{k}"), v.clone());
    }
    s.insert("workflow.name".into(), "wf-abc12".into());
    s.insert("workflow.namespace".into(), "argo".into());
    s.insert("workflow.uid".into(), "0b6d7c1e-uid".into());
    s.insert("workflow.serviceAccountName".into(), "default".into());
    s
}
