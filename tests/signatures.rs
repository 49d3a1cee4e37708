//! Stage signatures in the analysis: what each stage shows other stages,
//! kept per pipeline, with or without errors elsewhere in the file.

use mlpc::sema::schema::StageKind;
use mlpc::sema::types::Ty;
use mlpc::{analyze, FsLoader};

const PROGRAM: &str = r#"
pipeline p {
  mlflow {
    tracking_uri = "http://mlflow.mlflow.svc:5000"
    experiment = "e"
    artifact_store = "s3://bucket"
  }
  prep data {
    image = "busybox:1.36"
    command = ["sh", "-c", "echo"]
    output rows: int = "/tmp/rows"
  }
  train fit {
    image = "busybox:1.36"
    command = ["sh", "-c", "echo ${data.rows}"]
    metrics = ["auc"]
  }
  job broken {
    image = "busybox:1.36"
    command = ["sh", "-c", "echo ${data.nope}"]
  }
}
"#;

#[test]
fn every_stage_has_its_signature_even_with_errors() {
    let a = analyze("sigs.mlp", None, PROGRAM.as_bytes(), &FsLoader);
    assert!(
        a.diagnostics.has_errors(),
        "`data.nope` is an unknown output"
    );
    assert!(a.program.is_none());
    let [p] = a.signatures.as_slice() else {
        panic!("one pipeline: {:?}", a.signatures)
    };
    assert_eq!(p.pipeline.as_str(), "p");
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["data", "fit", "broken"]);

    let data = &p.stages[0];
    assert_eq!(data.kind, Some(StageKind::Prep));
    assert!(!data.tracked);
    assert_eq!(data.outputs.get("rows"), Some(&Ty::Int));

    let fit = &p.stages[1];
    assert!(fit.tracked, "train stages are tracked by default");
    assert_eq!(fit.outputs.get("model"), Some(&Ty::ModelUri));
    assert_eq!(fit.outputs.get("run_id"), Some(&Ty::String));
    let metrics: Vec<&str> = fit.metrics.iter().map(|m| m.as_str()).collect();
    assert_eq!(metrics, ["auc"]);

    assert_eq!(p.stages[2].kind, Some(StageKind::Job));
}

#[test]
fn a_clean_program_has_one_signature_per_stage() {
    let fixed = PROGRAM.replace("data.nope", "data.rows");
    let a = analyze("sigs.mlp", None, fixed.as_bytes(), &FsLoader);
    let program = a
        .program
        .as_ref()
        .unwrap_or_else(|| panic!("checks: {:?}", a.diagnostics.items));
    assert_eq!(a.signatures.len(), program.pipelines.len());
    for (sigs, pipeline) in a.signatures.iter().zip(&program.pipelines) {
        assert_eq!(sigs.pipeline, pipeline.name);
        assert_eq!(sigs.stages.len(), pipeline.stages.len());
        for (sig, stage) in sigs.stages.iter().zip(&pipeline.stages) {
            assert_eq!(sig.name, stage.name);
            assert_eq!(sig.kind, Some(stage.kind));
            assert_eq!(sig.tracked, stage.tracked);
        }
    }
}
