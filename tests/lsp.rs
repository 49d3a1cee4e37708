//! `mlpc lsp` driven in process over `Connection::memory()`: the handshake
//! and its position encoding, diagnostics as `mlpc check` gives them,
//! hover, definition, references, symbols, completion, rename, quick fixes,
//! and a burst of edits.

use serde_json::{json, Value};

mod common;

use common::lsp_client::{at, Client};

/// Non-ASCII text before an error on the same line: `é` is 2 bytes, 1
/// UTF-16 unit; `😀` 4 bytes, 2 units.
const NON_ASCII: &str = "pipeline p {\n  prep a { image = \"busybox:1.37\", command = [\"echo\", \"é😀\", undefined_name] }\n}\n";

#[test]
fn positions_follow_the_negotiated_encoding() {
    let text = NON_ASCII;
    let line = text.lines().nth(1).unwrap();
    let byte = line.find("undefined_name").unwrap() as u64;
    let utf16 = line[..byte as usize].encode_utf16().count() as u64;
    for (utf8, expected_encoding, column) in [(true, "utf-8", byte), (false, "utf-16", utf16)] {
        let (mut c, encoding) = Client::start(utf8);
        assert_eq!(encoding, expected_encoding);
        let uri = "file:///tmp/mlpc-lsp-test/encoding.mlp";
        c.open(uri, text);
        let d = c.diagnostics(uri);
        let first = &d["diagnostics"][0];
        assert_eq!(first["code"], "mlp::E0101", "{d}");
        assert_eq!(
            first["range"]["start"],
            json!({"line": 1, "character": column}),
            "{encoding}"
        );
        assert_eq!(
            first["range"]["end"],
            json!({"line": 1, "character": column + "undefined_name".len() as u64})
        );
        c.stop();
    }
}

/// The diagnostics are `mlpc check`'s: the same codes at the same places,
/// for every example and every diagnostic fixture.
#[test]
fn diagnostics_equal_mlpc_checks() {
    let (mut c, _) = Client::start(true);
    let mut files = common::mlp_files(&common::root().join("examples"));
    files.extend(common::mlp_files(
        &common::root().join("tests/fixtures/diagnostics"),
    ));
    let mut compared = 0;
    for path in files {
        let rel = common::relative(&path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(_) => continue, // not UTF-8: E0006, an I/O error for a client
        };
        let uri = format!("file://{}", path.display());
        c.open(&uri, &text);
        let published = c.diagnostics(&uri);
        let mut got: Vec<(String, u64, u64)> = published["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["range"]["start"]["line"].as_u64().unwrap() + 1,
                    d["range"]["start"]["character"].as_u64().unwrap(),
                )
            })
            .collect();
        let out = common::run_mlpc(&["check", "--format", "json", &rel.display().to_string()]);
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut want: Vec<(String, u64, u64)> = cli
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["file"]
                    .as_str()
                    .is_none_or(|f| f.ends_with(&*path.file_name().unwrap().to_string_lossy()))
            })
            .map(|d| {
                let line = d["start"]["line"].as_u64().unwrap_or(1);
                // The CLI's column counts characters from 1; the server's
                // (UTF-8) counts bytes from 0.
                let offset = d["start"]["offset"].as_u64().unwrap_or(0) as usize;
                let line_start = text[..offset.min(text.len())]
                    .rfind('\n')
                    .map_or(0, |i| i + 1);
                (
                    d["code"].as_str().unwrap().to_string(),
                    line,
                    (offset - line_start.min(offset)) as u64,
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{}", rel.display());
        compared += 1;
    }
    assert!(compared > 80, "{compared}");
    c.stop();
}

const PROGRAM: &str = r#"pipeline demo {
  param rows: int = 10
  prep load {
    image = "busybox:1.37"
    command = ["sh", "-c", "echo ${rows} > /tmp/n"]
    output n: int = "/tmp/n"
  }
  prep use {
    image = "busybox:1.37"
    command = ["echo", load.n, rows]
  }
}
"#;

#[test]
fn hover_definition_references_and_rename() {
    let (mut c, _) = Client::start(false);
    let uri = "file:///tmp/mlpc-lsp-test/program.mlp";
    c.open(uri, PROGRAM);
    let d = c.diagnostics(uri);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    // `load.n` on line 9: hover says it is an output of type int.
    let line9 = PROGRAM.lines().nth(9).unwrap();
    let col = line9.find("load.n").unwrap() as u32;
    let hover = c.request("textDocument/hover", at(uri, 9, col + 1));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("output") && text.contains("int"), "{text}");
    // Definition of `load.n`: the `output n` line.
    let def = c.request("textDocument/definition", at(uri, 9, col + 1));
    assert_eq!(def["uri"], uri);
    assert_eq!(def["range"]["start"]["line"], 5);
    // References of `rows` from its use on line 9, with the declaration.
    let rows_col = line9.rfind("rows").unwrap() as u32;
    let mut params = at(uri, 9, rows_col);
    params["context"] = json!({"includeDeclaration": true});
    let refs = c.request("textDocument/references", params);
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 4, 9], "{refs}");
    // Rename the stage `load`: its name and the `load` of `load.n`.
    let mut params = at(uri, 9, col);
    params["newName"] = json!("fetch");
    let edit = c.request("textDocument/rename", params);
    let edits = edit["changes"][uri].as_array().unwrap();
    let mut new = PROGRAM.to_string();
    let mut sorted: Vec<&Value> = edits.iter().collect();
    sorted.sort_by_key(|e| {
        std::cmp::Reverse((
            e["range"]["start"]["line"].as_u64(),
            e["range"]["start"]["character"].as_u64(),
        ))
    });
    for e in sorted {
        let line = e["range"]["start"]["line"].as_u64().unwrap() as usize;
        let start = e["range"]["start"]["character"].as_u64().unwrap() as usize;
        let end = e["range"]["end"]["character"].as_u64().unwrap() as usize;
        let line_start: usize = new.split_inclusive('\n').take(line).map(str::len).sum();
        new.replace_range(
            line_start + start..line_start + end,
            e["newText"].as_str().unwrap(),
        );
    }
    assert!(
        new.contains("prep fetch {") && new.contains("fetch.n") && !new.contains("load"),
        "{new}"
    );
    let checked = mlpc::check(
        "x.mlp",
        None,
        new.as_bytes(),
        &mlpc::FsLoader,
        Default::default(),
    );
    assert!(checked.diagnostics.is_empty());
    c.stop();
}

#[test]
fn symbols_and_completion() {
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/symbols.mlp";
    c.open(uri, PROGRAM);
    c.diagnostics(uri);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(symbols[0]["name"], "demo");
    let children: Vec<&str> = symbols[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["load", "use"]);
    // After `load.`: its outputs.
    let line9 = PROGRAM.lines().nth(9).unwrap();
    let col = line9.find("load.").unwrap() as u32 + 5;
    assert_eq!(c.completion_labels(at(uri, 9, col)), ["n"]);
    // Inside a prep stage: its fields, and the names in scope.
    let labels = c.completion_labels(at(uri, 4, 4));
    let has = |l: &str| labels.iter().any(|x| x == l);
    assert!(has("image") && has("volumes") && has("rows"), "{labels:?}");
    assert!(!has("metrics"), "a train field: {labels:?}");
    c.stop();
}

#[test]
fn a_did_you_mean_has_a_quick_fix() {
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/fix.mlp";
    let text = PROGRAM.replace("echo\", load.n, rows", "echo\", load.n, rowz");
    c.open(uri, &text);
    let d = c.diagnostics(uri);
    let diag = d["diagnostics"][0].clone();
    assert_eq!(diag["code"], "mlp::E0101");
    let actions = c.code_actions(uri, &diag);
    let edit = &actions[0]["edit"]["changes"][uri][0];
    assert_eq!(edit["newText"], "rows");
    assert_eq!(actions[0]["isPreferred"], true);
    c.stop();
}

/// 200 edits sent at once: the server answers with the final text's
/// diagnostics, and checks far fewer times than it was told of a change.
#[test]
fn a_burst_of_edits_is_checked_once() {
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/burst.mlp";
    c.open(uri, PROGRAM);
    c.diagnostics(uri);
    for v in 2..=201 {
        // Every intermediate text has an error; the last one has none.
        let text = if v == 201 {
            PROGRAM.to_string()
        } else {
            PROGRAM.replace("load.n", &format!("load.n{v}"))
        };
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": text}]}),
        );
    }
    // Read until the final version's diagnostics.
    let mut publishes = 0;
    loop {
        let d = c.diagnostics(uri);
        publishes += 1;
        if d["version"] == 201 {
            assert_eq!(d["diagnostics"], json!([]), "{d}");
            break;
        }
    }
    assert!(publishes < 50, "{publishes} checks for 200 edits");
    c.stop();
}

proptest::proptest! {
    /// The language server's positions (`source::Lines`, also a fuzz
    /// target: fuzz/fuzz_targets/positions.rs): any offset to a line and
    /// a UTF-16 or UTF-8 column and back lands on the start of its
    /// character; any line and column gives a character boundary, and a
    /// column past a line's end stays on that line.
    #[test]
    fn positions_round_trip(text in "(a|é|😀|\n|\r\n|x y|\t){0,40}", offset in 0usize..200, line in 0u32..12, column in 0u32..60) {
        let lines = mlpc::source::Lines::new(&text);
        let offset = offset % (text.len() + 1);
        let start = (0..=offset).rev().find(|o| text.is_char_boundary(*o)).unwrap();
        let p = lines.utf16_position(offset);
        proptest::prop_assert_eq!(lines.offset(p.line, p.character, true), start);
        let p = lines.utf8_position(offset);
        proptest::prop_assert_eq!(lines.offset(p.line, p.character, false), start);
        for utf16 in [true, false] {
            let o = lines.offset(line, column, utf16);
            proptest::prop_assert!(o <= text.len() && text.is_char_boundary(o));
            let at = if utf16 { lines.utf16_position(o) } else { lines.utf8_position(o) };
            let last_line = text.matches('\n').count() as u32;
            proptest::prop_assert_eq!(at.line, line.min(last_line));
        }
    }
}

/// A template of the standard library opens as a file: the module is
/// written out, read-only, and go-to-definition lands on the template.
#[test]
fn definitions_reach_into_the_standard_library() {
    let (mut c, _) = Client::start(true);
    let path = common::root().join("examples/terraform_optimization.mlp");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = format!("file://{}", path.display());
    c.open(&uri, &text);
    c.diagnostics(&uri);
    let line = text
        .lines()
        .position(|l| l.contains("uses terraform.plan"))
        .unwrap();
    let column = text
        .lines()
        .nth(line)
        .unwrap()
        .find("terraform.plan")
        .unwrap() as u32
        + 10;
    let def = c.request("textDocument/definition", at(&uri, line as u32, column));
    let target = def["uri"].as_str().unwrap();
    assert!(
        target.ends_with("/terraform.mlp") && target.contains("mlpc-std-"),
        "{def}"
    );
    let written = std::fs::read_to_string(target.trim_start_matches("file://")).unwrap();
    assert_eq!(written, mlpc::stdlib::module("terraform").unwrap());
    let at_line = written
        .lines()
        .nth(def["range"]["start"]["line"].as_u64().unwrap() as usize)
        .unwrap();
    assert!(at_line.contains("template job plan"), "{at_line}");
    c.stop();
}

/// Across files: a change to an imported file that is open re-checks the
/// file importing it; `uses ` completes the imported templates and
/// `import std.` the standard library's modules; a stage's hover names its
/// kind and template; a diagnostic's hover is its code's explanation; a
/// secondary label is related information.
#[test]
fn imports_completion_and_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let lib = "template job step {\n  input n: int\n  image = \"busybox:1.37\"\n  command = [\"echo\", \"${n}\"]\n}\n";
    let main = "import \"lib.mlp\" as lib\nimport std.terraform\n\npipeline p {\n  job a uses lib.step {\n    n = 1\n  }\n\n  prep b {\n    image = \"busybox:1.37\"\n    command = [\"echo\"]\n  }\n\n  prep b {\n    image = \"busybox:1.37\"\n    command = [\"echo\"]\n  }\n}\n";
    std::fs::write(dir.path().join("lib.mlp"), lib).unwrap();
    std::fs::write(dir.path().join("main.mlp"), main).unwrap();
    let lib_uri = format!("file://{}/lib.mlp", dir.path().display());
    let main_uri = format!("file://{}/main.mlp", dir.path().display());
    let (mut c, _) = Client::start(true);
    c.open(&main_uri, main);
    let d = c.diagnostics(&main_uri);
    // `prep b` twice: E0103, the first definition as related information.
    let dup = &d["diagnostics"][0];
    assert_eq!(dup["code"], "mlp::E0103", "{d}");
    assert_eq!(dup["range"]["start"]["line"], 13);
    let related = &dup["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], main_uri);
    assert_eq!(related["location"]["range"]["start"]["line"], 8);
    // Hover on the diagnostic: its explanation.
    let hover = c.request("textDocument/hover", at(&main_uri, 13, 8));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("**mlp::E0103**") && text.contains("What it means"),
        "{text}"
    );
    // Hover on a stage name used in `uses`: template `step` (line 4).
    let hover = c.request("textDocument/hover", at(&main_uri, 4, 17));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("step") && text.contains("template"), "{text}");

    // The library opens and changes: its input is renamed, so `n = 1` no
    // longer names one. The importer is re-checked without being touched.
    c.open(&lib_uri, lib);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": lib_uri, "version": 2}, "contentChanges": [{"text": lib.replace("input n:", "input count:").replace("${n}", "${count}")}]}),
    );
    let mut seen_error = false;
    for _ in 0..4 {
        let d = c.diagnostics(&main_uri);
        let codes: Vec<&str> = d["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        if codes.len() > 1 {
            seen_error = true;
            break;
        }
    }
    assert!(seen_error, "the importer was not re-checked");

    // Completion: `uses ` lists the templates, `import std.` the modules.
    let typing = "import \"lib.mlp\" as lib\nimport std.\n\npipeline p {\n  job a uses \n}\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main_uri, "version": 2}, "contentChanges": [{"text": typing}]}),
    );
    let modules = c.completion_labels(at(&main_uri, 1, 11));
    assert!(modules.contains(&"terraform".to_string()), "{modules:?}");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main_uri, "version": 3}, "contentChanges": [{"text": main.replace("uses lib.step", "uses ")}]}),
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": lib_uri, "version": 3}, "contentChanges": [{"text": lib}]}),
    );
    let templates = c.completion_labels(at(&main_uri, 4, 13));
    assert!(
        templates.iter().any(|t| t.ends_with("step")),
        "{templates:?}"
    );
    c.stop();
}
