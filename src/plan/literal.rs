//! The text of literal values, as a workflow parameter holds them.

use crate::sema::hir::{StrPart, Value};

/// The text of a literal value, as an Argo parameter holds it: durations in
/// whole seconds, lists and maps as JSON.
pub fn literal_text(v: &Value) -> String {
    match v {
        Value::Str(parts) => parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.clone(),
                StrPart::Ref(_) => String::new().into(),
            })
            .collect(),
        Value::List(_) | Value::Map(_) => literal_json(v).to_string(),
        other => scalar_literal(other).unwrap_or_default(),
    }
}

/// A value's text when it is known at compile time: `None` for a value
/// with a reference (a parameter, an output, `run.*`), a Secret or
/// ConfigMap key, or a stage. One rule for both backends (what the Argo
/// backend may take as a literal argv word, what the KFP backend writes
/// into an executor's `env` instead of exporting it at run time).
pub fn literal_word(v: &Value) -> Option<String> {
    match v {
        Value::Str(parts) => crate::sema::text::plain_text(parts),
        Value::Ref(_) | Value::Secret(_) | Value::Node(_) => None,
        other => Some(literal_text(other)),
    }
}

pub fn scalar_literal(v: &Value) -> Option<String> {
    Some(match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Duration { secs, .. } => seconds_text(*secs),
        Value::Quantity(q) => q.to_string(),
        _ => return None,
    })
}

pub fn seconds_text(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{}", secs as i64)
    } else {
        format!("{}", secs.ceil() as i64)
    }
}

pub fn literal_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Int(i) => (*i).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::Bool(b) => (*b).into(),
        Value::List(items) => items.iter().map(|i| literal_json(&i.value)).collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.to_string(), literal_json(&v.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => literal_text(other).into(),
    }
}
