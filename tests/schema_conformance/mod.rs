//! Schema conformance in-process (issue #19, point 4): mlpc's output held
//! to the official schemas vendored under tests/schemas/ (see its
//! README.md), with the `jsonschema` crate, so that `cargo test` proves it
//! on a checkout alone, with no Python and no ../shared. The lint rules of
//! ../shared/tools/validate_argo.py (references, names, KServe's webhook,
//! ...) stay with that tool (tests/conformance.rs, in CI); this module is
//! the schema half, read the way that tool reads the same files:
//!
//! - an Argo document (`Workflow`, `WorkflowTemplate`,
//!   `ClusterWorkflowTemplate`, `CronWorkflow`) against Argo's
//!   `api/jsonschema/schema.json` in strict mode (see [`strictify`]), with
//!   `IntOrString` and `Quantity` also taking numbers;
//! - every resource template's `manifest`, parsed as Argo would create it
//!   (each `{{=toJson(EXPR)}}` tag is a JSON string at run time:
//!   [`parse_manifest`]): an `InferenceService`, `TrainJob` or `PyTorchJob`
//!   against its CRD's `openAPIV3Schema` for the manifest's version, read
//!   as the API server reads a structural schema (see [`crd_to_json_schema`]),
//!   and its `metadata` against Argo's (strict) `ObjectMeta`; a core/v1
//!   `PersistentVolumeClaim` against the `PersistentVolumeClaim` of the
//!   Argo schema (which carries the Kubernetes core types). A manifest of
//!   any other kind is an error: it has no vendored schema yet.
//!
//! Each validator is built once per test binary (the CRDs are megabytes).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

/// The folder of the vendored schemas.
pub fn dir() -> PathBuf {
    crate::common::root().join("tests/schemas")
}

/// The API version of every Argo kind.
pub const ARGO_API_VERSION: &str = "argoproj.io/v1alpha1";

const ARGO_SCHEMA: &str = "argo-workflows/schema.json";

/// The CRDs manifests are checked against: (API group, kind, file).
const CRDS: [(&str, &str, &str); 3] = [
    (
        "serving.kserve.io",
        "InferenceService",
        "kserve/serving.kserve.io_inferenceservices.yaml",
    ),
    (
        "trainer.kubeflow.org",
        "TrainJob",
        "kubeflow-trainer/trainer.kubeflow.org_trainjobs.yaml",
    ),
    (
        "kubeflow.org",
        "PyTorchJob",
        "kubeflow-trainer/kubeflow.org_pytorchjobs.yaml",
    ),
];

/// What checking one Argo document found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per problem: `PATH: MESSAGE`, where PATH is a JSON pointer
    /// into the document, and a path inside an embedded manifest is written
    /// `MANIFEST_POINTER::POINTER_IN_MANIFEST`.
    pub errors: Vec<String>,
    /// The kind of every embedded manifest that was checked, in order.
    pub manifests: Vec<String>,
}

/// Checks an Argo document and every manifest its resource templates hold.
pub fn check_document(doc: &Value) -> Report {
    let mut report = Report::default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    if doc["apiVersion"] != ARGO_API_VERSION {
        report.errors.push(format!(
            "/apiVersion: must be {ARGO_API_VERSION:?} for an Argo document, got {}",
            doc["apiVersion"]
        ));
    }
    let def = match kind {
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow" => {
            format!("io.argoproj.workflow.v1alpha1.{kind}")
        }
        _ => {
            report
                .errors
                .push(format!("/kind: not an Argo workflow kind: {}", doc["kind"]));
            return report;
        }
    };
    // validate_argo.py also waives `required` errors under
    // `templateDefaults` (a partial template); mlpc writes none, so no
    // waiver here: any error counts.
    report
        .errors
        .extend(errors_of(argo_validator(&def), doc, ""));
    let spec = if kind == "CronWorkflow" {
        &doc["spec"]["workflowSpec"]
    } else {
        &doc["spec"]
    };
    let base = if kind == "CronWorkflow" {
        "/spec/workflowSpec/templates"
    } else {
        "/spec/templates"
    };
    for (i, template) in spec["templates"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let resource = &template["resource"];
        let Some(text) = resource["manifest"].as_str() else {
            continue;
        };
        let at = format!("{base}/{i}/resource/manifest");
        // A patch's manifest is a partial object (Argo reads the target
        // from `flags`); mlpc writes none. validate_argo.py skips them too.
        if resource["action"] == "patch" {
            continue;
        }
        if let Err(e) = duplicate_keys(&tags_as_strings(text)) {
            report.errors.push(format!("{at}: {e}"));
        }
        let manifest = parse_manifest(text);
        let (kind, errors) = check_manifest(&manifest);
        report.manifests.push(kind);
        report
            .errors
            .extend(errors.into_iter().map(|e| format!("{at}::{e}")));
    }
    report
}

/// Checks every document of an output's YAML text (see [`check_document`]);
/// a key twice in one mapping is an error too (Kubernetes' YAML reader,
/// sigs.k8s.io/yaml, refuses it; the tests' JSON values would keep the last).
pub fn check_text(text: &str) -> Report {
    let mut report = Report::default();
    if let Err(e) = duplicate_keys(text) {
        report.errors.push(format!(": {e}"));
    }
    let docs = crate::common::yaml::parse_documents(text).expect("the output parses");
    for (n, doc) in docs.iter().enumerate() {
        let r = check_document(doc);
        let label = |e: String| format!("doc{}: {e}", n + 1);
        report.errors.extend(r.errors.into_iter().map(label));
        report.manifests.extend(r.manifests);
    }
    report
}

/// Whether a YAML stream has a key twice in a mapping: serde_yaml's own
/// `Value` refuses that (`duplicate entry with key ...`).
pub fn duplicate_keys(text: &str) -> Result<(), String> {
    use serde::Deserialize;
    for doc in serde_yaml::Deserializer::from_str(text) {
        serde_yaml::Value::deserialize(doc).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `text` with each `{{=toJson(...)}}` tag as a JSON string: valid YAML.
fn tags_as_strings(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{=toJson(") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find(")}}").expect("a closed tag") + start + 3;
        out.push_str("\"placeholder\"");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A resource template's manifest as Argo creates it, parsed: each
/// `{{=toJson(EXPR)}}` tag (src/emit/lower/manifest.rs: mlpc writes one
/// for every string that holds a run-time value, standing alone as a YAML
/// scalar) becomes the JSON string `toJson` yields, with the names left as
/// their `{{...}}` text (`common::argo_manifest`). Other `{{...}}` inside
/// a string are just text.
pub fn parse_manifest(text: &str) -> Value {
    crate::common::argo_manifest(text, &Default::default())
}

/// Checks one Kubernetes object as a resource template would create it:
/// its kind and the problems found (`POINTER: MESSAGE`, pointers into the
/// object).
pub fn check_manifest(obj: &Value) -> (String, Vec<String>) {
    let api = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    if (group, version, kind.as_str()) == ("", "v1", "PersistentVolumeClaim") {
        let v = argo_validator("io.k8s.api.core.v1.PersistentVolumeClaim");
        return (kind, errors_of(v, obj, ""));
    }
    let Some(crd) = CRDS.iter().position(|c| (c.0, c.1) == (group, &kind)) else {
        return (
            kind.clone(),
            vec![format!(
                ": no vendored schema for a {kind:?} of {api:?} (add its CRD to tests/schemas/)"
            )],
        );
    };
    let versions = crd_validators(crd);
    let Some((_, validator)) = versions.iter().find(|(v, _)| v == version) else {
        let served: Vec<&str> = versions.iter().map(|(v, _)| v.as_str()).collect();
        return (
            kind,
            vec![format!(
                "/apiVersion: version {version:?} is not served by the CRD (served: {served:?})"
            )],
        );
    };
    // The object's body against the CRD; its metadata (which a CRD leaves
    // to the API server: `metadata: {type: object}`) against ObjectMeta,
    // as validate_argo.py does.
    let mut body = obj.clone();
    let meta = body
        .as_object_mut()
        .and_then(|o| o.remove("metadata"))
        .unwrap_or(Value::Null);
    let mut errors = errors_of(validator, &body, "");
    if meta.is_null() {
        errors.push("/metadata: missing".to_string());
    } else {
        let v = argo_validator("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
        errors.extend(errors_of(v, &meta, "/metadata"));
    }
    (kind, errors)
}

/// `POINTER: MESSAGE` for each error, the pointer after `prefix`.
fn errors_of(validator: &Validator, instance: &Value, prefix: &str) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let mut message = e.to_string();
            if message.chars().count() > 400 {
                message = message.chars().take(400).collect::<String>() + "...";
            }
            format!("{prefix}{}: {message}", e.instance_path())
        })
        .collect()
}

fn build(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        // As validate_argo.py's Draft202012Validator (no format checker).
        .should_validate_formats(false)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema compiles: {e}"))
}

fn read(rel: &str) -> String {
    let path = dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Argo

/// Argo's schema as validate_argo.py reads it: strict, and with
/// `IntOrString` and `Quantity` taking numbers too (Go's decoders accept
/// them, and the CRDs say `x-kubernetes-int-or-string`).
fn argo_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s: Value = serde_json::from_str(&read(ARGO_SCHEMA)).expect("schema.json is JSON");
        strictify(&mut s);
        let defs = &mut s["definitions"];
        defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] =
            json!(["integer", "string"]);
        defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] = json!(["string", "number"]);
        s
    })
}

/// `additionalProperties: false` on every object schema that lists
/// `properties` and says nothing of other fields: `argo lint --strict`
/// (the default) rejects unknown fields, which the published schema
/// allows. Walks the schema keywords only, so a property named like a
/// keyword is not taken for one.
pub fn strictify(node: &mut Value) {
    let Some(o) = node.as_object_mut() else {
        return;
    };
    if o.contains_key("properties") && !o.contains_key("additionalProperties") {
        o.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties", "definitions", "patternProperties", "$defs"] {
        if let Some(Value::Object(subs)) = o.get_mut(key) {
            subs.values_mut().for_each(strictify);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub @ Value::Object(_)) = o.get_mut(key) {
            strictify(sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(subs)) = o.get_mut(key) {
            subs.iter_mut().for_each(strictify);
        }
    }
}

/// The definitions checked against, one validator each.
const ARGO_DEFS: [&str; 6] = [
    "io.argoproj.workflow.v1alpha1.Workflow",
    "io.argoproj.workflow.v1alpha1.WorkflowTemplate",
    "io.argoproj.workflow.v1alpha1.ClusterWorkflowTemplate",
    "io.argoproj.workflow.v1alpha1.CronWorkflow",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "io.k8s.api.core.v1.PersistentVolumeClaim",
];

/// A validator for one definition of the Argo schema: the whole document
/// (for its `#/definitions/...` references) with its root `oneOf` over
/// the kinds replaced by a reference to `def`.
pub fn argo_validator(def: &str) -> &'static Validator {
    static VALIDATORS: [OnceLock<Validator>; ARGO_DEFS.len()] =
        [const { OnceLock::new() }; ARGO_DEFS.len()];
    let i = ARGO_DEFS
        .iter()
        .position(|d| *d == def)
        .unwrap_or_else(|| panic!("add {def} to ARGO_DEFS"));
    VALIDATORS[i].get_or_init(|| {
        let mut s = argo_schema().clone();
        let root = s.as_object_mut().unwrap();
        root.remove("oneOf");
        root.remove("type");
        root.insert("$ref".into(), json!(format!("#/definitions/{def}")));
        build(&s)
    })
}

// ---------------------------------------------------------------------------
// CRDs

/// The served versions of CRD `CRDS[i]`, each with its validator.
fn crd_validators(i: usize) -> &'static [(String, Validator)] {
    static VALIDATORS: [OnceLock<Vec<(String, Validator)>>; CRDS.len()] =
        [const { OnceLock::new() }; CRDS.len()];
    VALIDATORS[i].get_or_init(|| {
        let crd = read_crd(CRDS[i].2);
        assert_eq!(crd["spec"]["names"]["kind"], CRDS[i].1, "{}", CRDS[i].2);
        assert_eq!(crd["spec"]["group"], CRDS[i].0, "{}", CRDS[i].2);
        crd["spec"]["versions"]
            .as_array()
            .expect("spec.versions")
            .iter()
            .filter(|v| v["served"] == true)
            .map(|v| {
                let name = v["name"].as_str().expect("a version's name").to_string();
                let mut schema = crd_to_json_schema(&v["schema"]["openAPIV3Schema"]);
                // metadata is checked against ObjectMeta (check_manifest).
                schema["properties"]
                    .as_object_mut()
                    .expect("the root lists properties")
                    .remove("metadata");
                schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
                (name, build(&schema))
            })
            .collect()
    })
}

/// The CustomResourceDefinition in a vendored file (its one YAML document;
/// a licence header comment may precede it).
pub fn read_crd(rel: &str) -> Value {
    let docs = crate::common::yaml::parse_documents(&read(rel)).expect("the CRD is YAML");
    let mut docs = docs.into_iter().filter(|d| !d.is_null());
    let crd = docs.next().expect("a document");
    assert!(docs.next().is_none(), "{rel}: one CRD per file");
    assert_eq!(crd["kind"], "CustomResourceDefinition", "{rel}");
    crd
}

/// A CRD's structural `openAPIV3Schema` as a JSON Schema (draft 2020-12)
/// that accepts what the API server accepts, as validate_argo.py's
/// `k8s_validate` reads it:
///
/// - fields a schema does not list are errors (the API server prunes them;
///   `kubectl` with strict field validation, and Argo's `argo lint`,
///   refuse them), unless `x-kubernetes-preserve-unknown-fields` or an
///   `additionalProperties` schema says otherwise;
/// - `x-kubernetes-int-or-string` takes an integer or a string (its
///   `anyOf` spells the same), the string keywords applying to strings;
/// - `nullable: true` also takes `null`;
/// - `format: int32` bounds the value; other formats (`int64`,
///   `date-time`) are not checked;
/// - `x-kubernetes-list-type: set` is `uniqueItems`; the keys of a
///   `map` list are not checked for duplicates here, nor CEL rules
///   (`x-kubernetes-validations`), as neither is JSON Schema.
///
/// A keyword not handled here panics, so that a newer CRD cannot lose a
/// check silently.
pub fn crd_to_json_schema(s: &Value) -> Value {
    translate(s, "")
}

fn translate(s: &Value, at: &str) -> Value {
    let o = s
        .as_object()
        .unwrap_or_else(|| panic!("{at}: a schema is an object, got {s}"));
    let mut out = Map::new();
    let int_or_string = o.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = o.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let nullable = o.get("nullable") == Some(&Value::Bool(true));
    for (k, v) in o {
        match k.as_str() {
            "type" if int_or_string => {}
            "type" => {
                out.insert(k.clone(), v.clone());
            }
            "properties" => {
                let props = v
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: properties"))
                    .iter()
                    .map(|(name, p)| (name.clone(), translate(p, &format!("{at}/{name}"))))
                    .collect();
                out.insert(k.clone(), Value::Object(props));
            }
            "additionalProperties" | "items" | "not" => {
                let sub = if v.is_object() {
                    translate(v, &format!("{at}/{k}"))
                } else {
                    v.clone()
                };
                out.insert(k.clone(), sub);
            }
            // int-or-string's `anyOf: [{type: integer}, {type: string}]`
            // is the type set below.
            "anyOf" | "oneOf" if int_or_string => {}
            "anyOf" | "oneOf" | "allOf" => {
                let subs = v
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: {k}"))
                    .iter()
                    .map(|sub| translate(sub, &format!("{at}/{k}")))
                    .collect();
                out.insert(k.clone(), Value::Array(subs));
            }
            "required" | "enum" | "pattern" | "minLength" | "maxLength" | "minItems"
            | "maxItems" | "minimum" | "maximum" | "minProperties" | "maxProperties"
            | "uniqueItems" | "multipleOf" => {
                out.insert(k.clone(), v.clone());
            }
            "format" => {
                if v == "int32" {
                    out.entry("minimum").or_insert(json!(i32::MIN));
                    out.entry("maximum").or_insert(json!(i32::MAX));
                }
            }
            "x-kubernetes-list-type" => {
                if v == "set" {
                    out.insert("uniqueItems".into(), Value::Bool(true));
                }
            }
            "x-kubernetes-int-or-string"
            | "x-kubernetes-preserve-unknown-fields"
            | "nullable"
            // Annotations, and what JSON Schema cannot say (see above).
            | "description"
            | "default"
            | "example"
            | "title"
            | "x-kubernetes-map-type"
            | "x-kubernetes-list-map-keys"
            | "x-kubernetes-validations" => {}
            other => panic!("{at}: keyword {other:?} is not translated (tests/schema_conformance)"),
        }
    }
    if int_or_string {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if nullable {
        match out.get_mut("type") {
            Some(Value::Array(types)) => types.push(json!("null")),
            Some(t) => *t = json!([t.clone(), "null"]),
            None => {}
        }
    }
    let is_object = out.get("type").is_some_and(|t| {
        t == "object" || t.as_array().is_some_and(|a| a.contains(&json!("object")))
    }) || out.contains_key("properties");
    if is_object && !preserve && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}
