//! What Argo checks of a workflow's arguments when it is submitted.
//!
//! - `workflow/validate/validate.go` `ValidateWorkflow` (run by the server
//!   on create and submit, and by the controller before it starts a
//!   workflow) calls `validateArguments("spec.arguments.", ...)`, whose
//!   `validateArgumentsValues` requires every parameter to have a value
//!   (unless linting, or a WorkflowTemplate that is not being submitted)
//!   and, for a parameter with an `enum`, that the value equals one of the
//!   enum's entries exactly (`spec.arguments.X.value should be present in
//!   spec.arguments.X.enum list`): `True` is not `true`.
//! - `workflow/util/util.go` `ApplySubmitOpts` -> `overrideParameters`
//!   (`argo submit -p NAME=VALUE`, and the server's submit from a
//!   template) replaces each named parameter by a new one holding only the
//!   name and the value: the spec's entry, and with it its `enum`, is
//!   dropped, so the check above no longer sees an enum for it.
//!   (`ValidateWorkflow` merges a template's parameters behind the
//!   workflow's own with `util.MergeParameters`: the first entry of a name
//!   wins, so the template's enum does not come back either.)

use std::collections::BTreeMap;

use serde_json::Value;

/// A parameter of `spec.arguments.parameters`.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: Option<String>,
    pub enum_values: Option<Vec<String>>,
}

/// The parameters of a compiled document's `spec.arguments`.
pub fn parameters(spec: &Value) -> Vec<Parameter> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    spec["arguments"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Parameter {
            name: text(&p["name"]).unwrap_or_default(),
            value: text(&p["value"]),
            enum_values: p["enum"]
                .as_array()
                .map(|e| e.iter().filter_map(text).collect()),
        })
        .collect()
}

/// `overrideParameters`: each `NAME=VALUE` becomes a bare parameter; the
/// spec's parameters that were not named follow.
pub fn override_parameters(spec: &[Parameter], given: &[(&str, &str)]) -> Vec<Parameter> {
    let mut out: Vec<Parameter> = given
        .iter()
        .map(|(n, v)| Parameter {
            name: n.to_string(),
            value: Some(v.to_string()),
            enum_values: None,
        })
        .collect();
    out.extend(
        spec.iter()
            .filter(|p| !given.iter().any(|(n, _)| *n == p.name))
            .cloned(),
    );
    out
}

/// `validateArgumentsValues` on `spec.arguments.parameters`, as on submit.
pub fn arguments_values(params: &[Parameter]) -> Result<(), String> {
    for p in params {
        let Some(value) = &p.value else {
            return Err(format!(
                "spec.arguments.{0}.value or spec.arguments.{0}.valueFrom is required",
                p.name
            ));
        };
        if let Some(allowed) = &p.enum_values {
            if allowed.is_empty() {
                return Err(format!(
                    "spec.arguments.{}.enum should contain at least one value",
                    p.name
                ));
            }
            if !allowed.contains(value) {
                return Err(format!(
                    "spec.arguments.{0}.value should be present in spec.arguments.{0}.enum list",
                    p.name
                ));
            }
        }
    }
    Ok(())
}

/// What a submission runs with, or why it is refused: the spec's own
/// parameters as edited (`edited`: values written into the manifest or
/// picked in the UI, enums kept), then `-p` overrides (`given`).
pub fn submit(
    spec: &Value,
    edited: &[(&str, &str)],
    given: &[(&str, &str)],
) -> Result<BTreeMap<String, String>, String> {
    let mut params = parameters(spec);
    for p in &mut params {
        if let Some((_, v)) = edited.iter().find(|(n, _)| *n == p.name) {
            p.value = Some(v.to_string());
        }
    }
    let params = override_parameters(&params, given);
    arguments_values(&params)?;
    Ok(params
        .into_iter()
        .map(|p| (p.name, p.value.unwrap_or_default()))
        .collect())
}
