//! `mlpc lsp` latency, as an editor sees it (issue #16): a server on an
//! in-memory connection, a client on this thread, wall time from sending a
//! message to receiving its answer.
//!
//! - `didChange` of a 1000-stage file to its `publishDiagnostics`;
//! - hover, definition and completion on that file;
//! - the flagship example's first diagnostics after `initialized`.
//!
//! Run with `cargo bench --bench lsp`; BENCHMARKS.md has the medians.

#[path = "shape.rs"]
#[allow(dead_code)]
mod shape;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

/// The tests' language client (tests/lsp.rs): the server on a thread.
#[path = "../tests/common/lsp_client.rs"]
#[allow(dead_code)]
mod lsp_client;

use lsp_client::Client;

/// Waits for the diagnostics of `uri` at `version`.
fn diagnostics(client: &mut Client, uri: &str, version: i64) {
    while client.diagnostics(uri)["version"] != version {}
}

fn latency(c: &mut Criterion) {
    let text = shape::pipeline(1000, shape::Variant::Inline);
    let uri = "file:///tmp/mlpc-bench/pipeline.mlp";
    let (mut client, _) = Client::start(true);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "mlp", "version": 1, "text": text}}),
    );
    diagnostics(&mut client, uri, 1);
    // A reference in the middle of the file: `STAGE.OUTPUT` of a train stage.
    let line = text
        .lines()
        .position(|l| l.contains("prepare.rows"))
        .expect("a reference to prepare's output");
    let column = text
        .lines()
        .nth(line)
        .unwrap()
        .find("prepare.rows")
        .unwrap()
        + 1;
    let at = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": column}});

    let mut group = c.benchmark_group("lsp");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    let mut version = 1i64;
    group.bench_function("did_change_to_diagnostics/1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                let start = Instant::now();
                client.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
                );
                diagnostics(&mut client, uri, version);
                total += start.elapsed();
            }
            total
        })
    });
    for method in [
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/completion",
    ] {
        let name = method.trim_start_matches("textDocument/");
        group.bench_function(format!("{name}/1000"), |b| {
            b.iter(|| client.request(method, at.clone()))
        });
    }
    group.bench_function("first_diagnostics/flagship", |b| {
        let flagship = std::fs::read_to_string("examples/terraform_optimization.mlp").unwrap();
        let path = std::fs::canonicalize("examples/terraform_optimization.mlp").unwrap();
        let uri = format!("file://{}", path.display());
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut fresh, _) = Client::start(true);
                let start = Instant::now();
                fresh.notify(
                    "textDocument/didOpen",
                    json!({"textDocument": {"uri": uri, "languageId": "mlp", "version": 1, "text": flagship}}),
                );
                diagnostics(&mut fresh, &uri, 1);
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, latency);
criterion_main!(benches);
