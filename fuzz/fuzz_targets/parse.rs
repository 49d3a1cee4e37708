#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = mlpc::SourceFile { name: "fuzz.mlp".into(), text: text.into(), path: None };
        let _ = mlpc::syntax::parse(&file, mlpc::SourceId(0));
    }
});
