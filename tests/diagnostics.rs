//! One fixture per diagnostic code: `tests/fixtures/diagnostics/<CODE>_<what>.mlp`.
//! Each must raise its code with the primary label on the line marked
//! `<- CODE`, and its human and JSON renderings are snapshotted.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use mlpc::diag::codes::{Status, CODES};
use mlpc::diag::render::to_json_diagnostic;

fn fixture_dir() -> std::path::PathBuf {
    root().join("tests/fixtures/diagnostics")
}

fn code_of(path: &Path) -> String {
    let stem = path.file_stem().unwrap().to_string_lossy();
    format!("mlp::{}", stem.split('_').next().unwrap())
}

#[test]
fn every_fixture_raises_its_code_at_the_marked_line() {
    let mut failures = Vec::new();
    for path in mlp_files(&fixture_dir()) {
        let rel = relative(&path);
        let code = code_of(&path);
        let (analysis, extra) = compile_diagnostics(&rel);
        let all = all_of(&analysis, &extra);
        let found: Vec<_> = all.iter().filter(|d| d.code_str() == code).collect();
        if found.is_empty() {
            failures.push(format!(
                "{}: no {code}; got:\n{}",
                rel.display(),
                render_plain(&analysis)
            ));
            continue;
        }
        let short = code.trim_start_matches("mlp::");
        let marked = found.iter().any(|d| {
            let json = to_json_diagnostic(d);
            let (Some(file), Some(start)) = (json.file, json.start) else {
                return false;
            };
            let text =
                String::from_utf8_lossy(&std::fs::read(root().join(&file)).unwrap_or_default())
                    .into_owned();
            text.lines()
                .nth(start.line - 1)
                .is_some_and(|l| l.contains(&format!("<- {short}")))
        });
        if !marked {
            failures.push(format!(
                "{}: {code} does not point at the line marked `<- {short}`",
                rel.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn fixture_renderings() {
    let _guard = suite("diagnostics").bind_to_scope();
    for path in mlp_files(&fixture_dir()) {
        let rel = relative(&path);
        let (analysis, extra) = compile_diagnostics(&rel);
        let all = all_of(&analysis, &extra);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let human = mlpc::diag::render::human(
            &all,
            mlpc::diag::render::HumanOptions {
                color: false,
                width: 80,
            },
        );
        insta::with_settings!({ input_file => &path }, {
            insta::assert_snapshot!(format!("human@{name}"), human);
            insta::assert_snapshot!(format!("json@{name}"), mlpc::diag::render::json(&all));
        });
    }
}

/// Codes no input can raise: a fixture for them would have to break mlpc.
const NO_FIXTURE: &[&str] = &["mlp::E9001"];

#[test]
fn every_active_code_has_a_fixture() {
    let fixtures: BTreeSet<String> = mlp_files(&fixture_dir())
        .iter()
        .map(|p| code_of(p))
        .collect();
    let missing: Vec<&str> = CODES
        .iter()
        .filter(|c| c.status == Status::Active && !NO_FIXTURE.contains(&c.code))
        .map(|c| c.code)
        .filter(|c| !fixtures.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in tests/fixtures/diagnostics: {missing:?}"
    );
    let unknown: Vec<&String> = fixtures
        .iter()
        .filter(|f| !CODES.iter().any(|c| c.code == f.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "fixtures named after codes not in the registry: {unknown:?}"
    );
}

#[test]
fn registry_codes_are_unique_and_explained() {
    let mut seen = BTreeSet::new();
    for c in CODES {
        assert!(seen.insert(c.code), "{} is registered twice", c.code);
        assert!(
            c.code.starts_with("mlp::E") || c.code.starts_with("mlp::W"),
            "{}",
            c.code
        );
        assert!(
            !c.title.is_empty() && c.explain.len() > 40,
            "{} needs a title and an explanation",
            c.code
        );
    }
}

#[test]
fn several_independent_errors_are_all_reported() {
    let analysis = analyze_file(Path::new("tests/fixtures/multiple_errors.mlp"));
    let codes: BTreeSet<String> = analysis
        .diagnostics
        .items
        .iter()
        .map(|d| d.code_str())
        .collect();
    let expected = [
        "mlp::E0101",
        "mlp::E0201",
        "mlp::E0205",
        "mlp::E0111",
        "mlp::E0212",
        "mlp::E0108",
        "mlp::E0211",
    ];
    for code in expected {
        assert!(
            codes.contains(code),
            "missing {code}; got {codes:?}\n{}",
            render_plain(&analysis)
        );
    }
    assert!(analysis.diagnostics.error_count() >= expected.len());
}
