//! A stage's effective fields: `defaults` < template < stage, the one rule
//! the checker and the lowering both apply.

use std::borrow::Cow;

use super::hir::{Fields, Spanned, Stage, Template, Value};
use super::schema;

/// Map-valued fields merge key by key across defaults, template and stage.
const MERGED_MAPS: &[&str] = &[
    "env",
    "labels",
    "annotations",
    "node_selector",
    "params",
    "tags",
    // Sidecars by name; `affinity`'s `require` and `prefer` one by one.
    "sidecars",
    "affinity",
];

/// defaults < template < stage; map fields merge key by key. A stage's own
/// `command` or `script` replaces the template's (and `shell` goes with it).
/// A default applies only to the kinds that have the field.
pub fn effective_fields<'p>(
    templates: &'p [Template],
    defaults: &'p Fields,
    stage: &'p Stage,
) -> Cow<'p, Fields> {
    let template = stage
        .uses
        .as_ref()
        .map(|u| &templates[u.template.index()].fields);
    let applies = |name: &str| matches!(schema::stage_field(name, Some(stage.kind)), Some(Ok(_)));
    if template.is_none() && !defaults.keys().any(|name| applies(name)) {
        // Nothing to merge: no copy of the stage's fields.
        return Cow::Borrowed(&stage.fields);
    }
    let mut layers: Vec<&Fields> = Vec::new();
    layers.push(defaults);
    if let Some(t) = template {
        layers.push(t);
    }
    layers.push(&stage.fields);
    let mut out = Fields::default();
    for (depth, layer) in layers.iter().enumerate() {
        let own = depth == layers.len() - 1;
        for (name, field) in layer.iter() {
            if depth == 0 && !applies(name) {
                continue; // a default for a field this kind does not have
            }
            if own && (name == "command" || name == "script") {
                out.shift_remove("command");
                out.shift_remove("script");
                out.shift_remove("shell");
            }
            merge_field(&mut out, name, field);
        }
    }
    Cow::Owned(out)
}

/// Sets a field over a lower layer; map fields (`env`, `labels`, ...) merge
/// key by key.
pub fn merge_field(out: &mut Fields, name: &str, field: &Spanned<Value>) {
    match (out.get_mut(name), &field.value) {
        (
            Some(Spanned {
                value: Value::Map(base),
                ..
            }),
            Value::Map(add),
        ) if MERGED_MAPS.contains(&name) => {
            for (k, v) in add.iter() {
                base.insert(k.clone(), v.clone());
            }
        }
        _ => {
            out.insert(name.into(), field.clone());
        }
    }
}
