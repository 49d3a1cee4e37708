//! Property test: mutating the examples never panics the checker.

mod common;

use proptest::prelude::*;

use common::mutate::{apply, mutation, sources};
use mlpc::{analyze, FsLoader};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_never_panic(which in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let all = sources();
        let (path, text) = &all[which % all.len()];
        let mutated = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
        // Analysed from the example's own location so relative imports resolve.
        let analysis = analyze("mutated.mlp", Some(path), mutated.as_bytes(), &FsLoader);
        // Rendering must not panic either, for every format.
        let diags: Vec<_> = analysis.diagnostics.items.iter().collect();
        let _ = mlpc::diag::render::json(&diags);
        let _ = mlpc::diag::render::github(&diags);
        let _ = mlpc::diag::render::short(&diags);
        let _ = mlpc::diag::render::human(&diags, mlpc::diag::render::HumanOptions { color: false, width: 80 });
    }
}
