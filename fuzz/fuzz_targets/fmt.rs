//! `mlpc fmt` on arbitrary bytes: it never panics; what parses formats,
//! and formatting the result changes nothing. `format` itself checks that
//! the result parses to the same tree (spans aside) and keeps every
//! comment, and reports a failure as `FormatError::Internal`: a bug here.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlpc::fmt::{format, FormatError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match format(text) {
        Ok(once) => match format(&once) {
            Ok(twice) => assert_eq!(once, twice, "formatting is not idempotent on {text:?}"),
            Err(e) => panic!("the formatted text does not format: {e}\n{once}"),
        },
        Err(FormatError::Syntax { .. }) => {}
        Err(e @ FormatError::Internal { .. }) => panic!("{e} on {text:?}"),
    }
});
