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
//! - an expression tag `{{=EXPR}}` is evaluated by expr (see [`expr`]) over
//!   the same map, expanded into nested maps (`GetFuncMap`):
//!   - the ternary quirk (`isTernaryExpression`): a tag whose text holds
//!     both a `?` and a `:` (and at least 5 characters) is split at its
//!     first `?`; the part before is evaluated alone (an error writes the
//!     whole tag back) and its `%v` text replaces it before the rest is
//!     evaluated - so a `?` and a `:` anywhere, even inside a string
//!     literal, change what is evaluated;
//!   - a compile error, a run-time error or a `nil` result writes the tag
//!     back unchanged when unresolved tags are allowed (in the DAG, where
//!     govaluate then fails on `{{=`), and is an error of the substitution
//!     otherwise;
//!   - the result is inserted as its Go `%v` text (`true`, `false`, a
//!     string as is).
//!
//! Argo runs all this on the JSON text of the task (`resolveDependencyReferences`
//! marshals it) and JSON-decodes an expression before expr reads it
//! (`resolveExpression`); a value it inserts is JSON-encoded, and decoded
//! with the task. The model works on the decoded text: the round trip is the
//! identity, and JSON's escapes (`\"`, `\\`, `\uXXXX`) never create or remove
//! a `{{`, `}}`, `?` or `:`, so the tag boundaries and the ternary test
//! see the same characters.
//!
//! Versions differ here. Older v3 releases (the `resolveExpression` form of
//! `expression_template.go`) have the ternary split, format the result with
//! `%v`, and write the tag back on any error; later ones
//! (`expressionReplaceCore`, v4's `expressionReplaceStrict`) have no
//! ternary split, `json.Marshal` the result (the same text for a bool or a
//! string), and fail the substitution on an error when no name is missing.
//! The model keeps the ternary split (the hazard mlpc's literals must avoid)
//! and fails only when unresolved tags are not allowed; for mlpc's tags
//! every version then gives the same node phases: a tag that does not
//! evaluate makes the node `Error`, whether through the substitution or
//! through govaluate reading `{{=`.
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
    let unresolved = |e: &str| Ok(format!("{{{{={e}}}}}"));
    let mut expression = expression.to_string();
    if is_ternary(&expression) {
        let (cond, rest) = expression.split_once('?').unwrap_or_default();
        match resolve(cond, &env) {
            Ok(v) => expression = format!("{}?{rest}", v.go_v()),
            Err(_) if allow_unresolved => return unresolved(&expression),
            Err(e) => return Err(e),
        }
    }
    match resolve(&expression, &env) {
        Ok(v) => Ok(v.go_v()),
        Err(_) if allow_unresolved => unresolved(&expression),
        Err(e) => Err(e),
    }
}

/// `isTernaryExpression`.
pub fn is_ternary(expression: &str) -> bool {
    expression.contains('?') && expression.contains(':') && expression.len() >= 5
}

/// `resolveExpression`: compile and run; a `nil` result is an error.
fn resolve(expression: &str, env: &BTreeMap<String, EValue>) -> Result<EValue, String> {
    match expr::eval(expression, env) {
        Err(e) => Err(format!("failed to evaluate expression: {e}")),
        Ok(EValue::Nil) => Err(format!("failed to evaluate expression {expression:?}")),
        Ok(v) => Ok(v),
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
