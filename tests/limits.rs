//! The largest inputs (issue: 100 MB files, 100 000 stages). They take
//! seconds in a release build and much longer in a debug one, so they are
//! `#[ignore]`d in `cargo test` and run by `.ci/run` as
//! `cargo test --release --test limits -- --ignored`.

use mlpc::{analyze, FsLoader};

const MB: usize = 1024 * 1024;

fn codes(bytes: &[u8]) -> Vec<String> {
    analyze("big.mlp", None, bytes, &FsLoader)
        .diagnostics
        .items
        .iter()
        .map(|d| d.code_str())
        .collect()
}

#[test]
#[ignore = "100 MB inputs: run in release by .ci/run"]
fn hundred_megabytes_of_comments_then_a_pipeline() {
    let mut text = "# a comment line of a generated file, repeated\n".repeat(100 * MB / 47);
    text.push_str("pipeline p {\n  prep a { image = \"busybox:1.37\", command = [\"true\"] }\n}\n");
    assert!(codes(text.as_bytes()).is_empty());
}

#[test]
#[ignore = "100 MB inputs: run in release by .ci/run"]
fn a_hundred_megabyte_string() {
    let text = format!(
        "pipeline p {{\n  prep a {{ image = \"busybox:1.37\", command = [\"echo\"], args = [\"{}\"] }}\n}}\n",
        "x".repeat(100 * MB)
    );
    assert!(codes(text.as_bytes()).is_empty());
}

#[test]
#[ignore = "100 MB inputs: run in release by .ci/run"]
fn bad_bytes_at_the_end_of_a_hundred_megabytes() {
    let mut text = "# filler\n".repeat(100 * MB / 9).into_bytes();
    let at = text.len();
    text.extend_from_slice(b"pipeline p {\0}\n");
    assert_eq!(codes(&text), ["mlp::E0007"]);
    text.truncate(at);
    text.extend_from_slice(b"pipeline \xff {}\n");
    assert_eq!(codes(&text), ["mlp::E0006"]);
}

#[test]
#[ignore = "100 000 stages: run in release by .ci/run"]
fn a_hundred_thousand_stages_check_and_compile() {
    let mut text = String::from("pipeline big {\n  param p: string = \"v\"\n");
    for i in 0..100_000 {
        text.push_str(&format!(
            "  prep s{i} {{ image = \"busybox:1.37\", command = [\"echo\", p, \"{i}\"] }}\n"
        ));
    }
    text.push_str("}\n");
    let analysis = analyze("big.mlp", None, text.as_bytes(), &FsLoader);
    assert!(analysis.diagnostics.is_empty());
    let program = analysis.program.unwrap();
    let docs = mlpc::documents(&program, &Default::default()).unwrap();
    assert!(docs[0].len() > 10 * MB);
    assert_eq!(
        mlpc::emit::document_warnings(&analysis.sources, &docs).len(),
        1,
        "W0401: over 1 MiB"
    );
}
