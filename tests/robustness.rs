//! Hostile inputs: the checker answers every one with diagnostics (or a
//! clean result) and never panics or overflows its stack.

mod common;

use mlpc::{analyze, Analysis, FsLoader};

fn check(bytes: &[u8]) -> Analysis {
    analyze("hostile.mlp", None, bytes, &FsLoader)
}

fn codes(a: &Analysis) -> Vec<String> {
    a.diagnostics.items.iter().map(|d| d.code_str()).collect()
}

#[test]
fn empty_and_blank_files_are_clean() {
    for text in [
        "",
        "\n\n",
        "   \t  ",
        "# only a comment\n// and another",
        "\u{FEFF}\n",
    ] {
        assert!(check(text.as_bytes()).diagnostics.is_empty(), "{text:?}");
    }
}

#[test]
fn twenty_thousand_nested_parentheses() {
    let text = format!(
        "pipeline p {{\n  param x: bool = true\n  prep a {{\n    image = \"x:1\", command = [\"run\"]\n    when {}x{}\n  }}\n}}\n",
        "(".repeat(20_000),
        ")".repeat(20_000)
    );
    assert_eq!(codes(&check(text.as_bytes())), ["mlp::E0005"]);
}

#[test]
fn deep_lists_maps_and_blocks() {
    let list = format!(
        "pipeline p {{ prep a {{ image = \"x:1\", args = {}1{} }} }}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(codes(&check(list.as_bytes())), ["mlp::E0005"]);
    let map = format!(
        "pipeline p {{ prep a {{ image = \"x:1\", labels = {}{} }} }}",
        "{ a = ".repeat(5000),
        "}".repeat(5000)
    );
    assert_eq!(codes(&check(map.as_bytes())), ["mlp::E0005"]);
    let blocks = format!(
        "pipeline p {{ prep a {{ image = \"x:1\", command = [\"run\"]\n {} }} }}",
        "resources { ".repeat(5000) + &"}".repeat(5000)
    );
    assert_eq!(codes(&check(blocks.as_bytes())), ["mlp::E0005"]);
    // Just under the limit is fine for the parser; the checker judges the shape.
    let ok = format!(
        "pipeline p {{ param b: bool = true\n prep a {{ image = \"x:1\", command = [\"run\"]\n when {}b{} }} }}",
        "(".repeat(100),
        ")".repeat(100)
    );
    assert!(check(ok.as_bytes()).diagnostics.is_empty());
}

#[test]
fn long_operator_chains() {
    let nots = format!(
        "pipeline p {{ param b: bool = true\n prep a {{ image = \"x:1\", command = [\"run\"]\n when {}b }} }}",
        "!".repeat(50_000)
    );
    assert_eq!(codes(&check(nots.as_bytes())), ["mlp::E0005"]);
    let ors = format!(
        "pipeline p {{ param b: bool = true\n prep a {{ image = \"x:1\", command = [\"run\"]\n when b{} }} }}",
        " || b".repeat(50_000)
    );
    assert_eq!(codes(&check(ors.as_bytes())), ["mlp::E0005"]);
    let fine = format!(
        "pipeline p {{ param b: bool = true\n prep a {{ image = \"x:1\", command = [\"run\"]\n when b{} }} }}",
        " || b".repeat(200)
    );
    assert!(check(fine.as_bytes()).diagnostics.is_empty());
}

#[test]
fn twenty_thousand_stages() {
    let mut text = String::from("pipeline big {\n  param p: string = \"v\"\n");
    for i in 0..20_000 {
        let after = if i > 0 {
            format!(", after = [s{}]", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  prep s{i} {{ image = \"busybox:1.37\", command = [\"echo\", p]{after} }}\n"
        ));
    }
    text.push_str("}\n");
    let a = check(text.as_bytes());
    assert!(a.diagnostics.is_empty(), "{:?}", codes(&a).first());
    assert_eq!(a.program.unwrap().pipelines[0].stages.len(), 20_000);
}

#[test]
fn twenty_thousand_stage_cycle_is_one_error() {
    let mut text = String::from("pipeline ring {\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "  prep s{i} {{ image = \"busybox:1.37\", command = [\"run\"], after = [s{}] }}\n",
            (i + 1) % 20_000
        ));
    }
    text.push_str("}\n");
    assert_eq!(codes(&check(text.as_bytes())), ["mlp::E0301"]);
}

#[test]
fn nul_bytes_and_invalid_utf8() {
    assert_eq!(codes(&check(b"pipeline p {\0}")), ["mlp::E0007"]);
    assert_eq!(codes(&check(b"\0\0\0")), ["mlp::E0007"]);
    assert_eq!(codes(&check(b"pipeline \xff\xfe {}")), ["mlp::E0006"]);
    assert_eq!(
        codes(&check(&[0xC3])),
        ["mlp::E0006"],
        "a truncated multi-byte character"
    );
    let a = check(b"pipeline p {\n  prep a { image = \"\xe9\" }\n}\n");
    assert!(a.diagnostics.items[0].is_io());
}

#[test]
fn unterminated_strings_anywhere() {
    for text in [
        "\"",
        "pipeline p { prep a { image = \"x }",
        "pipeline p { prep a { script = \"\"\"\n echo\n } }",
        "import \"lib.mlp",
    ] {
        assert_eq!(codes(&check(text.as_bytes())), ["mlp::E0002"], "{text:?}");
    }
}

#[test]
fn very_long_lines_and_strings() {
    let long_string = format!(
        "pipeline p {{ prep a {{ image = \"x:1\", command = [\"run\"], args = [\"{}\"] }} }}",
        "a".repeat(1_000_000)
    );
    assert!(check(long_string.as_bytes()).diagnostics.is_empty());
    let long_list = format!(
        "pipeline p {{ prep a {{ image = \"x:1\", command = [\"run\"], args = [{}] }} }}",
        vec!["\"a\""; 100_000].join(", ")
    );
    assert!(check(long_list.as_bytes()).diagnostics.is_empty());
    let long_name = format!(
        "pipeline p {{ prep {} {{ image = \"x:1\", command = [\"run\"] }} }}",
        "a".repeat(100_000)
    );
    assert_eq!(codes(&check(long_name.as_bytes())), ["mlp::E0401"]);
}

#[test]
fn numbers_at_the_edges() {
    let stage = "prep a { image = \"x:1\", command = [\"run\"] }";
    let huge = format!("pipeline p {{ param n: int = 99999999999999999999999\n {stage} }}");
    assert_eq!(codes(&check(huge.as_bytes())), ["mlp::E0004"]);
    let inf = format!(
        "pipeline p {{ param f: float = 1{}\n {stage} }}",
        "0".repeat(400) + ".0"
    );
    assert_eq!(codes(&check(inf.as_bytes())), ["mlp::E0004"]);
    let neg = "pipeline p { prep a { image = \"x:1\", command = [\"run\"], timeout = -5m } }";
    assert_eq!(codes(&check(neg.as_bytes())), ["mlp::E0216"]);
}

const ALPHABET: &[u8] = b"{}[]()\"=,;:.\n #/\\$abcpipelinetrainwhen0123456789mGi!&|<>";

#[test]
fn garbage_bytes_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..300 {
        let len = (seed % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ALPHABET[(seed % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let _ = check(&bytes);
    }
}

#[test]
fn registered_model_names_mlflow_refuses_are_errors() {
    for name in ["team/model", "a:b", "  "] {
        let text = format!(
            "pipeline p {{\n  mlflow {{ tracking_uri = \"http://m:5000\", experiment = \"e\" }}\n  train t {{ image = \"x:1\", command = [\"python\", \"t.py\"] }}\n  register r {{ model = t.model, name = \"{name}\" }}\n}}\n"
        );
        assert_eq!(codes(&check(text.as_bytes())), ["mlp::E0216"], "{name:?}");
    }
}
