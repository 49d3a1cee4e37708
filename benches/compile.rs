//! Criterion benchmarks for each phase of mlpc and the whole compile, on the
//! benchmark pipeline (benches/shape.rs) at N = 10, 1000 and 20 000 stages.
//! `cargo bench` runs them; BENCHMARKS.md has whole-process numbers against
//! the Python SDKs (benches/peers/compare.py).

#[path = "shape.rs"]
#[allow(dead_code)] // `Variant::parse` serves the generator program
mod shape;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mlpc::emit::{self, Options};
use mlpc::{analyze, FsLoader, SourceFile, SourceId};
use shape::Variant;

const SIZES: &[usize] = &[10, 1000, 20_000];

fn phases(c: &mut Criterion) {
    for &n in SIZES {
        let text = shape::pipeline(n, Variant::Inline);
        let file = SourceFile {
            name: "bench.mlp".into(),
            text: text.clone().into(),
            path: None,
        };
        let analysis = analyze("bench.mlp", None, text.as_bytes(), &FsLoader);
        let program = analysis
            .program
            .as_ref()
            .expect("the benchmark pipeline checks");
        let options = Options::default();
        let docs = mlpc::argo_documents(program, &options).expect("lowers");

        let mut group = c.benchmark_group(format!("phases/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1000 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(if n >= 20_000 { 20 } else { 5 }));
        }
        group.bench_function("parse", |b| {
            b.iter(|| mlpc::syntax::parse(black_box(&file), SourceId(0)))
        });
        group.bench_function("check", |b| {
            b.iter(|| analyze("bench.mlp", None, black_box(text.as_bytes()), &FsLoader))
        });
        group.bench_function("lower", |b| {
            b.iter(|| mlpc::argo_documents(black_box(program), &options))
        });
        group.bench_function("serialize", |b| {
            b.iter(|| emit::yaml::to_yaml_stream(black_box(&docs)))
        });
        group.bench_function("compile", |b| {
            b.iter(|| {
                let a = analyze("bench.mlp", None, black_box(text.as_bytes()), &FsLoader);
                mlpc::yaml(a.program.as_ref().expect("checks"), &options)
            })
        });
        group.finish();
    }
}

fn variants(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile/1000");
    group.sample_size(20);
    for variant in [Variant::Inline, Variant::Uses, Variant::Tracked] {
        let text = shape::pipeline(1000, variant);
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{variant:?}").to_lowercase()),
            &text,
            |b, text| {
                b.iter(|| {
                    let a = analyze("bench.mlp", None, black_box(text.as_bytes()), &FsLoader);
                    mlpc::yaml(a.program.as_ref().expect("checks"), &Options::default())
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, phases, variants);
criterion_main!(benches);
