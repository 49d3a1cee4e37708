//! `mlpc fmt` (docs/fmt.md): on every `.mlp` file of the repository that
//! parses, on the benchmark pipelines and on mutated programs, formatting
//! is idempotent, keeps the syntax tree (spans aside) and keeps the
//! comments, each own-line comment before the same entry. The layout rules
//! are pinned on small cases; the command line is run as users run it.
//!
//! The comments are found here by a scanner of this file's own, not the
//! formatter's, and "the same entry" is read from the text: the first
//! tokens after the comment.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;

use common::mutate::{apply, mutation, sources};
use common::{mlpc_bin, root};
use mlpc::fmt::{ast_without_spans, format, FormatError};
use mlpc::{SourceFile, SourceId};

#[path = "../benches/shape.rs"]
#[allow(dead_code)]
mod shape;

// ----- an independent reading of the text --------------------------------

/// A comment: its text (blanks at the end left out), whether it is alone on
/// its line, and the first tokens after it (what it stands before).
#[derive(Debug, PartialEq)]
struct Remark {
    text: String,
    own_line: bool,
    before: Vec<String>,
}

/// Comments, read character by character: outside `"..."` (with `\`
/// escapes) and `"""..."""` strings, `#` or `//` starts one that ends at
/// the line break.
fn remarks(text: &str) -> Vec<Remark> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    let mut line_has_code = false;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        if rest == "\"\"\"" {
            i += 3;
            while i < chars.len()
                && chars[i..chars.len().min(i + 3)].iter().collect::<String>() != "\"\"\""
            {
                i += 1;
            }
            i += 3;
            line_has_code = true;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            line_has_code = true;
        } else if c == '#' || rest.starts_with("//") {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            let body: String = chars[start..i].iter().collect();
            found.push(Remark {
                text: body.trim_end().to_string(),
                own_line: !line_has_code,
                before: tokens_after(&chars, i, 3),
            });
        } else {
            if c == '\n' {
                line_has_code = false;
            } else if !c.is_whitespace() && c != '\u{FEFF}' {
                line_has_code = true;
            }
            i += 1;
        }
    }
    found
}

/// Up to `n` tokens from `i` on, skipping blanks, line breaks, separators
/// and comments: a name or number, a string, or one other character.
fn tokens_after(chars: &[char], mut i: usize, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n && i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' || c == ';' {
            i += 1;
        } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(chars[start..i.min(chars.len())].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn tree(text: &str) -> Option<serde_json::Value> {
    let file = SourceFile {
        name: "t.mlp".into(),
        text: text.into(),
        path: None,
    };
    match mlpc::syntax::parse(&file, SourceId(0)) {
        Ok((ast, literal_errors)) if literal_errors.is_empty() => Some(ast_without_spans(&ast)),
        _ => None,
    }
}

/// Formats `text` (which parses) and checks every promise; `Err` says which
/// one broke.
fn holds(text: &str) -> Result<String, String> {
    let before = tree(text).ok_or("the input does not parse")?;
    let once = format(text).map_err(|e| format!("format failed: {e}"))?;
    let after = tree(&once).ok_or_else(|| format!("the output does not parse:\n{once}"))?;
    if before != after {
        return Err(format!("the tree changed; output:\n{once}"));
    }
    let twice = format(&once).map_err(|e| format!("formatting the output failed: {e}"))?;
    if twice != once {
        return Err(format!(
            "not idempotent\n--- once\n{once}\n--- twice\n{twice}"
        ));
    }
    let (old, new) = (remarks(text), remarks(&once));
    let texts = |r: &[Remark]| r.iter().map(|r| r.text.clone()).collect::<Vec<_>>();
    if texts(&old) != texts(&new) {
        return Err(format!(
            "comments changed: {:?} became {:?}; output:\n{once}",
            texts(&old),
            texts(&new)
        ));
    }
    for (o, n) in old.iter().zip(&new) {
        if o.own_line && (!n.own_line || o.before != n.before) {
            return Err(format!(
                "the comment {:?} stood alone before {:?}; now {} before {:?}; output:\n{once}",
                o.text,
                o.before,
                if n.own_line { "alone" } else { "trailing" },
                n.before
            ));
        }
        if !o.own_line && n.own_line {
            return Err(format!(
                "the trailing comment {:?} moved to a line of its own:\n{once}",
                o.text
            ));
        }
    }
    Ok(once)
}

#[track_caller]
fn assert_holds(name: &str, text: &str) -> String {
    match holds(text) {
        Ok(out) => out,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Every `.mlp` under `dir`, recursively (build output, dependencies and
/// fuzz corpora left out).
fn all_mlp(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.')
                && !["target", "node_modules", "corpus", "artifacts"].contains(&name.as_str())
            {
                all_mlp(&path, out);
            }
        } else if name.ends_with(".mlp") {
            out.push(path);
        }
    }
}

// ----- the corpus ------------------------------------------------------------

#[test]
fn every_repository_file_that_parses() {
    let mut files = Vec::new();
    all_mlp(&root(), &mut files);
    files.sort();
    let mut formatted = 0;
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // E0006's fixture is not UTF-8
        };
        if tree(&text).is_none() {
            // Not formatted: the diagnostics are the parser's.
            assert!(
                matches!(format(&text), Err(FormatError::Syntax { ref diagnostics }) if !diagnostics.is_empty()),
                "{}: a file that does not parse must be refused with its diagnostics",
                path.display()
            );
            continue;
        }
        let name = path.display().to_string();
        let out = assert_holds(&name, &text);
        // The repository is laid out by `mlpc fmt` (.ci/run checks it too).
        // The grammar samples are not: their `# ^^^` lines point at columns
        // of the line above, so their layout is part of the test.
        let grammar_sample = path.starts_with(root().join("editors"));
        assert!(
            out == text || grammar_sample,
            "{name} is not formatted: run `mlpc fmt {name}`"
        );
        formatted += 1;
    }
    assert!(
        formatted > 100,
        "only {formatted} files were formatted: the corpus was not found"
    );
}

#[test]
fn benchmark_pipelines() {
    for variant in [
        shape::Variant::Inline,
        shape::Variant::Uses,
        shape::Variant::Tracked,
        shape::Variant::Untracked,
    ] {
        for n in [1, 12, 1000] {
            assert_holds(&format!("{n} {variant:?}"), &shape::pipeline(n, variant));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Mutated programs: those that parse keep their tree, comments and
    /// layout promises; the others are refused with diagnostics, never
    /// formatted and never a panic.
    #[test]
    fn mutated_programs(which in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let all = sources();
        let (_, text) = &all[which % all.len()];
        let mutated = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
        if tree(&mutated).is_some() {
            if let Err(e) = holds(&mutated) {
                prop_assert!(false, "on {mutated:?}: {e}");
            }
        } else {
            let refused = matches!(format(&mutated), Err(FormatError::Syntax { ref diagnostics }) if !diagnostics.is_empty());
            prop_assert!(refused, "on {mutated:?}: a text that does not parse must be refused");
        }
    }

    /// Comments and blank lines put at random line ends and line starts of
    /// the examples: every one is kept, in place.
    #[test]
    fn comments_anywhere(which in any::<usize>(), spots in prop::collection::vec((any::<usize>(), 0..4usize), 1..8)) {
        let all = sources();
        let (_, text) = &all[which % all.len()];
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (n, (spot, kind)) in spots.iter().enumerate() {
            let i = spot % lines.len();
            match kind {
                0 => lines[i].push_str(&format!(" # trailing {n}")),
                1 => lines.insert(i, format!("// own line {n}")),
                2 => lines.insert(i, String::new()),
                _ => lines.insert(i, format!("   #{n}   ")),
            }
        }
        let edited = lines.join("\n");
        if tree(&edited).is_some() {
            if let Err(e) = holds(&edited) {
                prop_assert!(false, "on {edited:?}: {e}");
            }
        }
    }
}

// ----- the layout --------------------------------------------------------------

#[track_caller]
fn formats_to(input: &str, expected: &str) {
    let out = assert_holds("case", input);
    assert_eq!(out, expected, "\n--- got\n{out}\n--- wanted\n{expected}");
}

#[test]
fn blocks_one_entry_per_line_with_single_spaces() {
    formats_to(
        "pipeline   p{a=1;b   =  \"x\" , resources { cpu = 8, memory = 64Gi }\n\n\n\n  param  n :list [ int ]=[ ]\n}",
        "pipeline p {\n  a = 1\n  b = \"x\"\n  resources {\n    cpu = 8\n    memory = 64Gi\n  }\n\n  param n: list[int] = []\n}\n",
    );
    formats_to("pipeline p {\n\n}\n", "pipeline p {}\n");
    formats_to(
        "import std.terraform   as  tf\nimport \"lib/x.mlp\"\npipeline a {} pipeline b {}\ntemplate job t { input x: int\n image = \"i\" }",
        "import std.terraform as tf\nimport \"lib/x.mlp\"\n\npipeline a {}\n\npipeline b {}\n\ntemplate job t {\n  input x: int\n  image = \"i\"\n}\n",
    );
}

#[test]
fn stages_stand_apart() {
    formats_to(
        "pipeline p {\n  param x: int\n  job a uses t {}\n  job b uses m.t { after = [a] }\n  finally {\n    job c { image = \"i\" }\n  }\n}\n",
        "pipeline p {\n  param x: int\n\n  job a uses t {}\n\n  job b uses m.t {\n    after = [a]\n  }\n\n  finally {\n    job c {\n      image = \"i\"\n    }\n  }\n}\n",
    );
}

#[test]
fn literals_are_written_as_they_were() {
    let input = "pipeline p {\n  a = \"x\\\"y\\\\z\\n\\t\\$ ${a.b} ${ c } # not a comment\"\n  b = [0.10, 1e3, -0.0, 500m, 64Gi, 1h30m, true]\n  c = { \"nvidia.com/gpu\" = 1, k = \"//\" }\n  s = \"\"\"\n      set -eu # kept as text\n    echo \"${x}\" \\$HOME\n  \"\"\"\n}\n";
    formats_to(input, input);
}

#[test]
fn lists_maps_and_calls() {
    // On one line when written so and short enough.
    formats_to(
        "pipeline p { a = [ 1,2 ,3 ]\n b = {k=1,j=[ ]}\n c = secret( \"n\" , \"k\" )\n d = f( ) }",
        "pipeline p {\n  a = [1, 2, 3]\n  b = { k = 1, j = [] }\n  c = secret(\"n\", \"k\")\n  d = f()\n}\n",
    );
    // Written over several lines: one item per line, trailing commas.
    formats_to(
        "pipeline p {\n  a = [1,\n    2]\n  m = { k = 1\n j = 2 }\n  c = f(a,\n b)\n}\n",
        "pipeline p {\n  a = [\n    1,\n    2,\n  ]\n  m = {\n    k = 1,\n    j = 2,\n  }\n  c = f(\n    a,\n    b,\n  )\n}\n",
    );
    // Too long for one line.
    let long = format!(
        "pipeline p {{\n  a = [{}]\n}}\n",
        (0..30)
            .map(|n| format!("\"item{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = assert_holds("long", &long);
    assert!(
        out.lines().all(|l| l.chars().count() <= mlpc::fmt::WIDTH),
        "{out}"
    );
    assert!(out.contains("\n    \"item0\",\n    \"item1\",\n"), "{out}");
    // An empty multi-line list closes up; a nested broken list breaks its parent.
    formats_to(
        "pipeline p { a = [\n]\n b = [[1,\n2], 3] }",
        "pipeline p {\n  a = []\n  b = [\n    [\n      1,\n      2,\n    ],\n    3,\n  ]\n}\n",
    );
}

#[test]
fn when_expressions() {
    formats_to(
        "pipeline p { job a { when  !( a.b||c )&&! max ( x , 1 )>=10 } }",
        "pipeline p {\n  job a {\n    when !(a.b || c) && !max(x, 1) >= 10\n  }\n}\n",
    );
    formats_to(
        "pipeline p { job a { when ((a == 1)) ||\n\n   b &&  # why\n c } }",
        "pipeline p {\n  job a {\n    when ((a == 1)) ||\n      b && # why\n      c\n  }\n}\n",
    );
    formats_to(
        "pipeline p { job a { when x   # trailing\n } }",
        "pipeline p {\n  job a {\n    when x # trailing\n  }\n}\n",
    );
}

#[test]
fn comments_stay_where_they_were() {
    let input = "\
# header


import std.terraform   # why this import
// before the pipeline
pipeline p { # on the opening line
  # before a

  a = 1, b = 2 # after b
  c = [ # after [
    1, # one
    # before two
    2
    # end of the list
  ]
  # end of the block

}   # after }
# end of the file 1

# end of the file 2";
    let expected = "\
# header

import std.terraform # why this import

// before the pipeline
pipeline p { # on the opening line
  # before a

  a = 1
  b = 2 # after b
  c = [ # after [
    1, # one
    # before two
    2,
    # end of the list
  ]
  # end of the block
} # after }
# end of the file 1

# end of the file 2
";
    formats_to(input, expected);
}

#[test]
fn files_without_items() {
    formats_to("", "");
    formats_to("\n \n\t\n", "");
    formats_to("\n\n# only a comment", "# only a comment\n");
}

#[test]
fn line_endings_and_byte_order_mark() {
    formats_to(
        "\u{FEFF}pipeline p {\r\n  a   = 1 # c\r\n\r\n\r\n  b = \"\"\"\r\n    x\r\n  \"\"\"\r\n}\r\n",
        "\u{FEFF}pipeline p {\r\n  a = 1 # c\r\n\r\n  b = \"\"\"\r\n    x\r\n  \"\"\"\r\n}\r\n",
    );
}

#[test]
fn a_file_that_does_not_parse_is_refused_with_its_diagnostics() {
    for bad in [
        "pipeline p { a = }",
        "pipeline p { a = \"\\q\" }",
        "pipeline p { a = 64GB }",
    ] {
        match format(bad) {
            Err(FormatError::Syntax { diagnostics }) => {
                let code = diagnostics[0].code_str();
                assert!(code.starts_with("mlp::E00"), "{bad}: {code}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

// ----- the command line -----------------------------------------------------------

const UNFORMATTED: &str = "pipeline p {\n  image   = \"i\"\n  job a { command = [\"x\"] } # c\n}\n";

fn formatted(text: &str) -> String {
    format(text).expect("formats")
}

fn mlpc_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(mlpc_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("MLPC_FORMAT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mlpc runs");
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("mlpc ends");
    writer.join().expect("stdin written");
    out
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A folder with `a.mlp` (unformatted), `sub/b.mlp` (formatted),
/// `.hidden/c.mlp` and `notes.txt`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("sub")).unwrap();
    std::fs::create_dir_all(p.join(".hidden")).unwrap();
    std::fs::write(p.join("a.mlp"), UNFORMATTED).unwrap();
    std::fs::write(p.join("sub/b.mlp"), formatted(UNFORMATTED)).unwrap();
    std::fs::write(p.join(".hidden/c.mlp"), UNFORMATTED).unwrap();
    std::fs::write(p.join("notes.txt"), UNFORMATTED).unwrap();
    dir
}

#[test]
fn check_lists_what_would_change_and_writes_nothing() {
    let dir = project();
    let o = mlpc_in(dir.path(), &["fmt", "--check", "."], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "would reformat: {}\n",
            Path::new(".").join("a.mlp").display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.mlp")).unwrap(),
        UNFORMATTED
    );
    // Formatted files pass.
    let o = mlpc_in(dir.path(), &["fmt", "--check", "sub"], None);
    assert_eq!((code(&o), stdout(&o).as_str()), (0, ""), "{}", stderr(&o));
}

#[test]
fn diff_prints_a_unified_diff_and_writes_nothing() {
    let dir = project();
    let o = mlpc_in(dir.path(), &["fmt", "--diff", "a.mlp", "sub/b.mlp"], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("--- a.mlp\n+++ a.mlp\n@@ -1,4 +1,7 @@\n"),
        "{out}"
    );
    assert!(
        out.contains("\n-  image   = \"i\"\n-  job a { command = [\"x\"] } # c\n+  image = \"i\"\n+\n+  job a {\n"),
        "{out}"
    );
    assert!(!out.contains("b.mlp"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.mlp")).unwrap(),
        UNFORMATTED
    );
    let o = mlpc_in(dir.path(), &["fmt", "--diff", "sub"], None);
    assert_eq!((code(&o), stdout(&o).as_str()), (0, ""));
}

#[test]
fn standard_input_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let o = mlpc_in(dir.path(), &["fmt", "-"], Some(UNFORMATTED));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), formatted(UNFORMATTED));
    let o = mlpc_in(dir.path(), &["fmt", "--check", "-"], Some(UNFORMATTED));
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (1, "would reformat: <stdin>\n")
    );
    let o = mlpc_in(
        dir.path(),
        &["fmt", "--check", "-"],
        Some(&formatted(UNFORMATTED)),
    );
    assert_eq!((code(&o), stdout(&o).as_str()), (0, ""));
    // A syntax error: the diagnostic on stderr, nothing on stdout.
    let o = mlpc_in(
        dir.path(),
        &["--format", "short", "fmt", "-"],
        Some("pipeline p { a = }\n"),
    );
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("<stdin>:1:18: error mlp::E0001"),
        "{}",
        stderr(&o)
    );
    // `-` goes alone.
    let o = mlpc_in(dir.path(), &["fmt", "-", "x.mlp"], Some(""));
    assert_eq!(code(&o), 2);
}

#[cfg(unix)]
#[test]
fn in_place_rewrites_atomically_and_only_what_changes() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = project();
    let p = dir.path();
    std::fs::set_permissions(p.join("a.mlp"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let a_before = std::fs::metadata(p.join("a.mlp")).unwrap();
    let b_before = std::fs::metadata(p.join("sub/b.mlp")).unwrap();
    std::os::unix::fs::symlink("a.mlp", p.join("link.mlp")).unwrap();

    let o = mlpc_in(p, &["fmt"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!((stdout(&o).as_str(), stderr(&o).as_str()), ("", ""));
    let a_after = std::fs::metadata(p.join("a.mlp")).unwrap();
    assert_eq!(
        std::fs::read_to_string(p.join("a.mlp")).unwrap(),
        formatted(UNFORMATTED)
    );
    // Replaced by a rename (a new inode), not rewritten in place, with its mode.
    assert_ne!(a_before.ino(), a_after.ino());
    assert_eq!(a_after.permissions().mode() & 0o777, 0o640);
    // The link is still a link; the formatted file is not touched.
    assert!(std::fs::symlink_metadata(p.join("link.mlp"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::metadata(p.join("sub/b.mlp")).unwrap().ino(),
        b_before.ino()
    );
    // Hidden folders and other files are left alone; no temporary file is left.
    assert_eq!(
        std::fs::read_to_string(p.join(".hidden/c.mlp")).unwrap(),
        UNFORMATTED
    );
    assert_eq!(
        std::fs::read_to_string(p.join("notes.txt")).unwrap(),
        UNFORMATTED
    );
    let names: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // Through a link: the target is rewritten, the link stays.
    std::fs::write(p.join("a.mlp"), UNFORMATTED).unwrap();
    let o = mlpc_in(p, &["fmt", "link.mlp"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(p.join("link.mlp"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(p.join("a.mlp")).unwrap(),
        formatted(UNFORMATTED)
    );
}

#[test]
fn syntax_errors_and_missing_files() {
    let dir = project();
    let p = dir.path();
    std::fs::write(p.join("bad.mlp"), "pipeline p { a = }\n").unwrap();
    // The broken file is reported and kept; the others are still formatted.
    let o = mlpc_in(p, &["--format", "short", "fmt", "."], None);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("bad.mlp:1:18: error mlp::E0001"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(p.join("bad.mlp")).unwrap(),
        "pipeline p { a = }\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.join("a.mlp")).unwrap(),
        formatted(UNFORMATTED)
    );
    // A path that is not there: an I/O error.
    let o = mlpc_in(p, &["fmt", "--check", "nowhere.mlp"], None);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("cannot read nowhere.mlp"),
        "{}",
        stderr(&o)
    );
    // Not UTF-8: an input problem, as in `check`.
    std::fs::write(p.join("latin1.mlp"), b"pipeline p { a = \"\xe9\" }\n").unwrap();
    let o = mlpc_in(p, &["fmt", "--check", "latin1.mlp"], None);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
