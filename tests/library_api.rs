//! The pipeline as library functions (`mlpc::check`, `mlpc::compile`,
//! `mlpc::rbac`), as the CLI and a language server call them.

use mlpc::emit::{Options, OutputKind};
use mlpc::{FsLoader, Note, Policies};

fn check(name: &str, text: &str, policies: Policies) -> mlpc::Analysis {
    mlpc::check(name, None, text.as_bytes(), &FsLoader, policies)
}

const SCHEDULED: &str = r#"
pipeline nightly {
  schedule = "0 3 * * *"
  prep a {
    image = "busybox:1.36"
    command = ["true"]
  }
}
"#;

#[test]
fn compile_notes_that_a_template_has_no_schedule() {
    let analysis = check("nightly.mlp", SCHEDULED, Policies::default());
    let template = Options {
        kind: OutputKind::WorkflowTemplate,
        pipeline: None,
        ..Default::default()
    };
    let compilation = mlpc::compile(&analysis, &template).expect("the program checks");
    assert_eq!(compilation.notes, vec![Note::ScheduleLeftOut]);
    let compiled = compilation.output.as_ref().expect("one pipeline to write");
    assert_eq!(compiled.documents.len(), 1);
    assert!(compiled.documents[0]
        .text()
        .contains("kind: WorkflowTemplate"));

    let workflow = mlpc::compile(&analysis, &Options::default()).expect("the program checks");
    assert!(workflow.notes.is_empty());
    assert!(workflow.diagnostics().is_empty());
}

#[test]
fn compile_reports_an_unknown_pipeline_as_a_usage_error() {
    let analysis = check("nightly.mlp", SCHEDULED, Policies::default());
    let options = Options {
        kind: OutputKind::Workflow,
        pipeline: Some("nope".into()),
        ..Default::default()
    };
    let compilation = mlpc::compile(&analysis, &options).expect("the program checks");
    let error = compilation.output.as_ref().err().map(ToString::to_string);
    assert_eq!(
        error.as_deref(),
        Some("no pipeline named `nope`; the file has: nightly")
    );
}

#[test]
fn policies_apply_in_check_and_leave_no_program() {
    let strict = Policies {
        require_digests: true,
    };
    let analysis = check("nightly.mlp", SCHEDULED, strict);
    assert!(analysis.diagnostics.has_code("mlp::E0230"));
    assert!(mlpc::compile(&analysis, &Options::default()).is_none());
    assert!(mlpc::rbac(&analysis, &Options::default()).is_none());
}

#[test]
fn diagnostics_know_their_file_and_its_utf16_positions() {
    // `é` is one UTF-16 unit, `😀` two: the unknown field's column differs
    // between characters (what mlpc prints) and UTF-16 (what an editor wants).
    let text = "pipeline p {\n  prep a { image = \"😀é:1\", command = [\"x\"], bogus = 1 }\n}\n";
    let analysis = check("u.mlp", text, Policies::default());
    let d = analysis
        .diagnostics
        .items
        .iter()
        .find(|d| d.code_str() == "mlp::E0201")
        .expect("unknown field `bogus`");
    let id = d.source_id().expect("a file");
    assert_eq!(id, analysis.root);
    let offset = text.find("bogus").unwrap_or_default();
    let chars = analysis.sources.position(id, offset);
    let utf16 = analysis.sources.utf16_position(id, offset);
    let column = text.lines().nth(1).unwrap_or_default()[..offset - 13]
        .chars()
        .count();
    assert_eq!((chars.line, chars.column), (2, column + 1));
    assert_eq!((utf16.line, utf16.character as usize), (1, column + 1));
    let json = mlpc::diag::render::to_json_diagnostic(d);
    assert_eq!(json.start, Some(chars));
}
