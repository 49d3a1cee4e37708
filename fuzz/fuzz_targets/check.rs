#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let analysis = mlpc::analyze("fuzz.mlp", None, data, &mlpc::FsLoader);
    let diags: Vec<_> = analysis.diagnostics.items.iter().collect();
    let _ = mlpc::diag::render::json(&diags);
    let _ = mlpc::diag::render::github(&diags);
    let _ = mlpc::diag::render::human(&diags, mlpc::diag::render::HumanOptions { color: false, width: 80 });
});
