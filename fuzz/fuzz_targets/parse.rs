#![no_main]
use libfuzzer_sys::fuzz_target;

// Parses with both parsers: the fast path must either give up, and then
// pest must find an error, or build exactly pest's tree (see
// tests/parser_equivalence.rs, which states the same property).
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = mlpc::SourceFile {
            name: "fuzz.mlp".into(),
            text: text.into(),
            path: None,
        };
        let fast = mlpc::syntax::parse_fast(text, mlpc::SourceId(0));
        let reference = mlpc::syntax::parse_with_pest(&file, mlpc::SourceId(0));
        match (fast, reference) {
            (Some(fast), Ok((tree, literal_errors))) => {
                assert!(literal_errors.is_empty(), "the fast path missed a literal error");
                assert_eq!(
                    serde_json::to_value(&fast).unwrap(),
                    serde_json::to_value(&tree).unwrap(),
                    "the parsers built different trees"
                );
            }
            (Some(_), Err(e)) => panic!("the fast path accepted a syntax error: {e}"),
            (None, Ok((_, literal_errors))) => {
                assert!(!literal_errors.is_empty(), "the fast path gave up on a well-formed file")
            }
            (None, Err(_)) => {}
        }
    }
});
