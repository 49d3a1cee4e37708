//! The conditions a distributed stage's Argo step waits with
//! (src/emit/trainer.rs), evaluated as Argo evaluates them
//! (tests/argo_model/resource.rs, from workflow/executor/resource.go) on
//! the reference's status fixtures
//! (../shared/reference/trainer-examples/status-fixtures/): first the
//! model against the results the reference got with the real
//! label-selector parser and gjson (RESULTS.txt), then mlpc's conditions.

mod argo_model;
mod common;

use argo_model::resource::{verdict, Verdict};
use common::root;
use mlpc::emit::trainer;

fn fixtures() -> std::path::PathBuf {
    root().join("../shared/reference/trainer-examples/status-fixtures")
}

fn fixture(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("a status fixture");
    serde_json::from_str(&text).expect("JSON")
}

/// One recipe of RESULTS.txt (`## success: S`, `## failure: F`) and its
/// rows (`FILE VERDICT`).
struct Recipe {
    success: String,
    failure: String,
    rows: Vec<(String, String)>,
}

fn reference_results() -> Vec<Recipe> {
    let text = std::fs::read_to_string(fixtures().join("RESULTS.txt")).expect("RESULTS.txt");
    let mut out: Vec<Recipe> = Vec::new();
    let mut success = None;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("## success:") {
            success = Some(s.trim().to_string());
        } else if let Some(f) = line.strip_prefix("## failure:") {
            let s = success.take().expect("success before failure");
            out.push(Recipe {
                success: s,
                failure: f.trim().to_string(),
                rows: Vec::new(),
            });
        } else if let (Some(row), Some(last)) = (line.strip_prefix("  "), out.last_mut()) {
            let (file, result) = row.split_once(char::is_whitespace).expect("FILE VERDICT");
            last.rows
                .push((file.to_string(), result.trim().to_string()));
        }
    }
    out
}

fn spelled(v: &Verdict) -> String {
    match v {
        Verdict::Succeeded => "succeeded".into(),
        Verdict::Failed => "failed".into(),
        Verdict::Waiting => "waiting".into(),
        Verdict::ParseError(which) => format!("PARSE-ERROR({which})"),
    }
}

#[test]
fn the_model_gives_the_references_results() {
    let results = reference_results();
    assert!(results.len() >= 6, "RESULTS.txt has its recipes");
    let mut rows = 0;
    for Recipe {
        success,
        failure,
        rows: fixtures,
    } in &results
    {
        for (file, want) in fixtures {
            let got = spelled(&verdict(success, failure, &fixture(file)));
            assert!(
                want.starts_with(&got),
                "{file} with success {success:?}, failure {failure:?}: the model says {got}, the reference {want}"
            );
            rows += 1;
        }
    }
    assert!(rows >= 30, "{rows} rows");
}

/// The verdict of each fixture of a kind (`tj-` or `pt-`) under the
/// conditions mlpc writes.
fn outcomes(prefix: &str, success: &str, failure: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = spelled(&verdict(success, failure, &fixture(&n)));
            (n, v)
        })
        .collect()
}

fn table(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_trainjob_step_ends_as_its_job_with_and_without_kueue() {
    let got = outcomes("tj-", trainer::TRAINJOB_SUCCESS, trainer::TRAINJOB_FAILURE);
    let want = table(&[
        ("tj-complete.json", "succeeded"),
        ("tj-created.json", "waiting"),
        ("tj-deadline.json", "failed"),
        ("tj-failed.json", "failed"),
        // Kueue: `[Suspended(False), Complete]` once resumed.
        ("tj-kq-complete.json", "succeeded"),
        ("tj-kq-failed.json", "failed"),
        ("tj-kq-running.json", "waiting"),
        ("tj-kq-suspended.json", "waiting"),
        ("tj-running.json", "waiting"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn a_pytorchjob_step_ends_as_its_job() {
    let got = outcomes(
        "pt-",
        trainer::PYTORCHJOB_SUCCESS,
        trainer::PYTORCHJOB_FAILURE,
    );
    let want = table(&[
        ("pt-created.json", "waiting"),
        // `completionTime` is set on failure too: the failure condition,
        // checked first, decides.
        ("pt-deadline.json", "failed"),
        ("pt-failed.json", "failed"),
        ("pt-restarting.json", "waiting"),
        ("pt-running.json", "waiting"),
        ("pt-succeeded.json", "succeeded"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn the_reference_checked_mlpcs_conditions_too() {
    // The recipes mlpc uses are among those the reference evaluated with
    // the real parser, so the model is checked on exactly these strings.
    let results = reference_results();
    for (s, f) in [
        (trainer::TRAINJOB_SUCCESS, trainer::TRAINJOB_FAILURE),
        (trainer::PYTORCHJOB_SUCCESS, trainer::PYTORCHJOB_FAILURE),
    ] {
        assert!(
            results.iter().any(|r| r.success == s && r.failure == f),
            "{s} / {f} is not in RESULTS.txt"
        );
    }
}

#[test]
fn negative_controls() {
    // The obvious condition waits forever under Kueue.
    let kq = fixture("tj-kq-complete.json");
    assert_eq!(
        verdict(
            "status.conditions.0.type == Complete",
            trainer::TRAINJOB_FAILURE,
            &kq
        ),
        Verdict::Waiting
    );
    // `!=` matches a missing key: never in a failure condition.
    let created = fixture("tj-created.json");
    assert_eq!(
        verdict(
            trainer::TRAINJOB_SUCCESS,
            "status.conditions.0.type != Complete",
            &created
        ),
        Verdict::Failed
    );
    // No success requirement succeeds at once.
    assert_eq!(
        verdict("", trainer::TRAINJOB_FAILURE, &created),
        Verdict::Succeeded
    );
    // A query by type does not parse.
    assert_eq!(
        verdict(
            "status.conditions.#(type==\"Complete\").status == True",
            "",
            &created
        ),
        Verdict::ParseError("success")
    );
}
