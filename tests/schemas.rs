//! Schema conformance with no Python and no ../shared (issue #19, point 4):
//! every example's output, as a Workflow (or CronWorkflow) and as a
//! WorkflowTemplate, and the distributed-training fixtures, validate with
//! no error against the official schemas vendored in tests/schemas/, each
//! embedded manifest too (tests/schema_conformance/); deliberately broken
//! outputs fail; and the vendored files are the ones their README records.

mod common;
mod schema_conformance;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use mlpc::emit::{Options, OutputKind};
use schema_conformance::{
    check_document, check_manifest, check_text, crd_to_json_schema, parse_manifest,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DISTRIBUTED: &str = "examples/distributed_finetune.mlp";
const PYTORCHJOB: &str = "tests/fixtures/distributed/pytorchjob.mlp";
const DEPLOYS: &str = "examples/churn_model.mlp";

fn docs(rel: &str) -> Vec<Value> {
    compile_docs(Path::new(rel), &Options::default())
}

/// The problems of every document of a compiled file, and the kinds of
/// the manifests checked.
fn check_all(label: &str, docs: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut kinds = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        let report = check_document(doc);
        errors.extend(
            report
                .errors
                .into_iter()
                .map(|e| format!("{label} doc{}: {e}", n + 1)),
        );
        kinds.extend(report.manifests);
    }
    (errors, kinds)
}

fn inputs() -> Vec<PathBuf> {
    let mut files = mlp_files(&root().join("examples"));
    files.extend(mlp_files(&root().join("tests/fixtures/distributed")));
    files
}

#[test]
fn every_example_and_distributed_fixture_conforms_to_the_vendored_schemas() {
    let mut errors = Vec::new();
    let mut argo_kinds = BTreeSet::new();
    let mut manifest_kinds = BTreeSet::new();
    let mut files = 0;
    for path in inputs() {
        let rel = relative(&path);
        for kind in [OutputKind::Workflow, OutputKind::WorkflowTemplate] {
            let text = compile(
                &rel,
                &Options {
                    kind,
                    pipeline: None,
                    ..Default::default()
                },
            );
            let docs = common::yaml::parse_documents(&text).unwrap();
            assert!(!docs.is_empty(), "{}", rel.display());
            argo_kinds.extend(docs.iter().map(|d| d["kind"].as_str().unwrap().to_string()));
            let report = check_text(&text);
            let label = format!("{} ({kind:?})", rel.display());
            errors.extend(report.errors.into_iter().map(|e| format!("{label} {e}")));
            manifest_kinds.extend(report.manifests);
            files += 1;
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(files >= 20, "{files} outputs checked");
    // Every kind mlpc writes was checked, so no check was skipped silently.
    assert_eq!(
        argo_kinds,
        BTreeSet::from(["CronWorkflow", "Workflow", "WorkflowTemplate"].map(String::from))
    );
    assert_eq!(
        manifest_kinds,
        BTreeSet::from(
            [
                "InferenceService",
                "PersistentVolumeClaim",
                "PyTorchJob",
                "TrainJob"
            ]
            .map(String::from)
        )
    );
}

// ---------------------------------------------------------------------------
// Negative controls: a broken output fails.

/// The problems found in `doc`, which must be some, each checked by `want`.
fn assert_fails(doc: &Value, want: impl Fn(&str) -> bool) -> Vec<String> {
    let errors = check_document(doc).errors;
    assert!(!errors.is_empty(), "a broken document passed");
    assert!(
        errors.iter().any(|e| want(e)),
        "not the expected error:\n{}",
        errors.join("\n")
    );
    errors
}

#[test]
fn the_unbroken_documents_the_controls_start_from_pass() {
    for rel in [DISTRIBUTED, PYTORCHJOB, DEPLOYS] {
        let (errors, _) = check_all(rel, &docs(rel));
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}

#[test]
fn an_unknown_field_in_a_template_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    doc["spec"]["templates"][1]["containerr"] = json!({"image": "x"});
    let errors = assert_fails(&doc, |e| {
        e.starts_with("/spec/templates/1: ") && e.contains("containerr")
    });
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn an_unknown_field_in_the_workflow_metadata_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    doc["metadata"]["label"] = json!({"a": "b"});
    assert_fails(&doc, |e| {
        e.starts_with("/metadata: ") && e.contains("label")
    });
}

#[test]
fn a_wrong_type_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    doc["spec"]["parallelism"] = json!("x");
    assert_fails(&doc, |e| e.starts_with("/spec/parallelism: "));
    // A parameter's value is a string in Argo's schema.
    let mut doc = docs(DEPLOYS).remove(0);
    doc["spec"]["arguments"]["parameters"][0]["value"] = json!(8);
    assert_fails(&doc, |e| {
        e.starts_with("/spec/arguments/parameters/0/value: ")
    });
}

#[test]
fn a_missing_required_field_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    let templates = doc["spec"]["templates"].as_array_mut().unwrap();
    let pod = templates
        .iter_mut()
        .find(|t| t.get("container").is_some())
        .unwrap();
    pod["container"].as_object_mut().unwrap().remove("image");
    assert_fails(&doc, |e| e.contains("\"image\" is a required property"));
}

#[test]
fn an_argo_kind_other_than_the_four_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    doc["kind"] = json!("Workflw");
    assert_fails(&doc, |e| e.starts_with("/kind: "));
}

/// `doc` with the manifest of its resource template that creates `kind`
/// edited by `edit` (on the manifest's text).
fn edit_manifest(doc: &mut Value, kind: &str, edit: impl Fn(&str) -> String) -> usize {
    let templates = doc["spec"]["templates"].as_array_mut().unwrap();
    let (i, template) = templates
        .iter_mut()
        .enumerate()
        .find(|(_, t)| {
            t["resource"]["manifest"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("\nkind: {kind}\n")))
        })
        .unwrap_or_else(|| panic!("no {kind} manifest"));
    let text = template["resource"]["manifest"].as_str().unwrap();
    let edited = edit(text);
    assert_ne!(edited, text, "the edit changes the manifest");
    template["resource"]["manifest"] = json!(edited);
    i
}

fn in_manifest(i: usize, pointer: &str) -> String {
    format!("/spec/templates/{i}/resource/manifest::{pointer}: ")
}

#[test]
fn an_unknown_field_in_a_trainjob_manifest_fails() {
    let mut doc = docs(DISTRIBUTED).remove(0);
    let i = edit_manifest(&mut doc, "TrainJob", |m| {
        m.replacen("\n  trainer:\n", "\n  trainer:\n    numNodez: 2\n", 1)
    });
    let at = in_manifest(i, "/spec/trainer");
    assert_fails(&doc, |e| e.starts_with(&at) && e.contains("numNodez"));
}

#[test]
fn a_key_twice_fails() {
    let mut doc = docs(DISTRIBUTED).remove(0);
    let i = edit_manifest(&mut doc, "TrainJob", |m| {
        m.replacen(
            "\n    numNodes: 4\n",
            "\n    numNodes: 4\n    numNodes: 8\n",
            1,
        )
    });
    assert_fails(&doc, |e| {
        e.starts_with(&format!("/spec/templates/{i}/resource/manifest: "))
            && e.contains("duplicate entry")
    });
    let text = compile(Path::new(DEPLOYS), &Options::default());
    let broken = text.replacen("\n  entrypoint: ", "\n  entrypoint: x\n  entrypoint: ", 1);
    assert_ne!(broken, text);
    let errors = check_text(&broken).errors;
    assert!(
        errors.iter().any(|e| e.contains("duplicate entry")),
        "{errors:?}"
    );
}

#[test]
fn a_wrong_type_in_a_trainjob_manifest_fails() {
    let mut doc = docs(DISTRIBUTED).remove(0);
    let i = edit_manifest(&mut doc, "TrainJob", |m| {
        m.replacen(
            "\n    numNodes: 4\n",
            "\n    numNodes: {{=toJson(inputs.parameters['nodes'])}}\n",
            1,
        )
    });
    // toJson of a parameter is a string at run time; numNodes is an integer.
    let at = in_manifest(i, "/spec/trainer/numNodes");
    assert_fails(&doc, |e| e.starts_with(&at));
}

#[test]
fn an_unknown_field_in_an_inferenceservice_manifest_fails() {
    for rel in [DEPLOYS, DISTRIBUTED] {
        let mut doc = docs(rel).remove(0);
        let i = edit_manifest(&mut doc, "InferenceService", |m| {
            m.replacen("\n  predictor:\n", "\n  predictor:\n    replicas: 2\n", 1)
        });
        let at = in_manifest(i, "/spec/predictor");
        assert_fails(&doc, |e| e.starts_with(&at) && e.contains("replicas"));
    }
}

#[test]
fn an_unknown_field_in_a_pytorchjob_manifest_fails() {
    let mut doc = docs(PYTORCHJOB).remove(0);
    let i = edit_manifest(&mut doc, "PyTorchJob", |m| {
        m.replacen("\nspec:\n", "\nspec:\n  workers: 2\n", 1)
    });
    let at = in_manifest(i, "/spec");
    assert_fails(&doc, |e| e.starts_with(&at) && e.contains("workers"));
}

#[test]
fn an_unknown_field_in_a_manifests_metadata_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    let i = edit_manifest(&mut doc, "InferenceService", |m| {
        m.replacen("\nmetadata:\n", "\nmetadata:\n  label:\n    a: b\n", 1)
    });
    let at = in_manifest(i, "/metadata");
    assert_fails(&doc, |e| e.starts_with(&at) && e.contains("label"));
}

#[test]
fn a_manifest_of_an_unserved_version_or_unknown_kind_fails() {
    let mut doc = docs(DEPLOYS).remove(0);
    let i = edit_manifest(&mut doc, "InferenceService", |m| {
        m.replacen("serving.kserve.io/v1beta1", "serving.kserve.io/v1alpha9", 1)
    });
    assert_fails(&doc, |e| e.starts_with(&in_manifest(i, "/apiVersion")));
    let (_, errors) = check_manifest(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}
    }));
    assert!(errors[0].contains("no vendored schema"), "{errors:?}");
}

// ---------------------------------------------------------------------------
// The CRD reading itself.

/// How a CRD's structural schema is read: unknown fields, int-or-string,
/// nullable, preserve-unknown-fields, int32.
#[test]
fn a_structural_schema_reads_as_the_api_server_reads_it() {
    let schema = crd_to_json_schema(&json!({
        "type": "object",
        "properties": {
            "port": {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": true,
                "pattern": "^[a-z0-9]+$"
            },
            "note": {"type": "string", "nullable": true},
            "count": {"type": "integer", "format": "int32"},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "empty": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}
        }
    }));
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap();
    for ok in [
        json!({"port": 80}),
        json!({"port": "http"}),
        json!({"note": null}),
        json!({"note": "n"}),
        json!({"count": 2147483647}),
        json!({"free": {"anything": [1, {"x": null}]}}),
        json!({"labels": {"a": "b"}}),
        json!({"empty": {}}),
        json!({"tags": ["a", "b"]}),
    ] {
        assert!(v.is_valid(&ok), "{ok} is refused");
    }
    for bad in [
        json!({"port": true}),
        json!({"port": "HTTP"}),
        json!({"count": 2147483648i64}),
        json!({"count": null}),
        json!({"labels": {"a": 1}}),
        json!({"empty": {"a": 1}}),
        json!({"tags": ["a", "a"]}),
        json!({"other": 1}),
    ] {
        assert!(!v.is_valid(&bad), "{bad} is accepted");
    }
}

/// A tag stands alone as a scalar and yields a JSON string; the names
/// stay as their placeholder text.
#[test]
fn a_manifests_tags_read_as_the_strings_argo_substitutes() {
    let m = parse_manifest(
        "metadata:\n  name: {{=toJson(workflow.name + '-x')}}\nspec:\n  a: {{=toJson(inputs.parameters['p'])}}\n",
    );
    assert_eq!(m["metadata"]["name"], "{{workflow.name}}-x");
    assert_eq!(m["spec"]["a"], "{{inputs.parameters.p}}");
}

// ---------------------------------------------------------------------------
// The vendored files are upstream's, unedited.

/// `(file, sha256)` of every row of tests/schemas/README.md's table.
fn recorded_hashes() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(schema_conformance::dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let file = cells[1].trim_matches('`').to_string();
            let hash = cells
                .iter()
                .map(|c| c.trim_matches('`'))
                .find(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
                .unwrap_or_else(|| panic!("no sha256 in {row}"))
                .to_string();
            (file, hash)
        })
        .collect()
}

#[test]
fn vendored_schemas_match_their_recorded_sha256() {
    let dir = schema_conformance::dir();
    let recorded = recorded_hashes();
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    for (file, hash) in &recorded {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &actual, hash,
            "tests/schemas/{file} is not the upstream file its README row records"
        );
    }
    // Every file there is recorded.
    let mut present = BTreeSet::new();
    for folder in std::fs::read_dir(&dir).unwrap() {
        let folder = folder.unwrap().path();
        if folder.is_dir() {
            for f in std::fs::read_dir(&folder).unwrap() {
                let f = f.unwrap().path();
                present.insert(relative_to(&f, &dir));
            }
        } else {
            assert_eq!(
                folder.file_name().unwrap(),
                "README.md",
                "only the README beside the folders"
            );
        }
    }
    let listed: BTreeSet<String> = recorded.into_iter().map(|(f, _)| f).collect();
    assert_eq!(present, listed, "files in tests/schemas/ vs README rows");
}

fn relative_to(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}
