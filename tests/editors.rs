//! The editor support in `editors/` agrees with the compiler: the VS Code
//! TextMate grammar highlights exactly the keywords, stage kinds, types and
//! built-in functions the compiler defines, and the extension's manifest
//! declares the `mlp` language and that grammar. A word added to the language
//! without the grammar fails here. (The grammar's own behaviour is tested by
//! `bash editors/vscode/test.sh`, which needs npm.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlpc::sema::hir::{KeySource, ListFn};
use mlpc::sema::schema::STAGE_KINDS;
use mlpc::sema::types::TYPE_NAMES;
use mlpc::syntax::{is_reserved, DECLARATION_KEYWORDS, V2_KEYWORDS};
use serde_json::Value;

const VSCODE: &str = "editors/vscode";
const GRAMMAR: &str = "syntaxes/mlp.tmLanguage.json";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read_json(relative: &str) -> Value {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn grammar() -> Value {
    read_json(&format!("{VSCODE}/{GRAMMAR}"))
}

/// The `match` regex of a rule in the grammar's repository.
fn rule_match(grammar: &Value, rule: &str) -> String {
    grammar["repository"][rule]["match"]
        .as_str()
        .unwrap_or_else(|| panic!("the grammar has no repository rule `{rule}` with a `match`"))
        .to_string()
}

/// The words of the first `(?:a|b|...)` group of a rule's regex: the form
/// the word-list rules keep so that this test can read them.
fn words(grammar: &Value, rule: &str) -> BTreeSet<String> {
    let regex = rule_match(grammar, rule);
    let start = regex
        .find("(?:")
        .unwrap_or_else(|| panic!("rule `{rule}`: no `(?:...)` word list in {regex}"))
        + 3;
    let len = regex[start..]
        .find(')')
        .unwrap_or_else(|| panic!("rule `{rule}`: unclosed word list in {regex}"));
    let list: BTreeSet<String> = regex[start..start + len]
        .split('|')
        .map(str::to_string)
        .collect();
    for word in &list {
        assert!(
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "rule `{rule}`: `{word}` is not a plain word; keep the list `(?:a|b|...)` in {regex}"
        );
    }
    list
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_string).collect()
}

/// Equal sets, or a message saying what the grammar lacks and what it has
/// too many of.
fn assert_same(what: &str, grammar: &BTreeSet<String>, compiler: &BTreeSet<String>) {
    let missing: Vec<_> = compiler.difference(grammar).collect();
    let extra: Vec<_> = grammar.difference(compiler).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: the grammar ({VSCODE}/{GRAMMAR}) lacks {missing:?} and has {extra:?} that the compiler does not define"
    );
}

/// `as` and `uses`: reserved by `is_reserved` in src/syntax/mod.rs, which
/// keeps them in an inline list rather than a public constant.
const OTHER_KEYWORDS: &[&str] = &["as", "uses"];
/// `true` and `false`, reserved by `is_reserved` (src/syntax/mod.rs), and
/// the literals of the `boolean` rule in grammar/mlp.pest.
const BOOLEANS: &[&str] = &["true", "false"];
/// The reference roots `run` and `item`, reserved by `is_reserved`.
const REFERENCE_ROOTS: &[&str] = &["run", "item"];

fn compiler_keywords() -> BTreeSet<String> {
    let mut all = set(DECLARATION_KEYWORDS.iter().copied());
    all.extend(set(OTHER_KEYWORDS.iter().copied()));
    all.extend(set(V2_KEYWORDS.iter().copied()));
    all
}

#[test]
fn keywords_are_the_compilers() {
    for word in OTHER_KEYWORDS {
        assert!(is_reserved(word), "`{word}` is no longer reserved");
    }
    assert_same(
        "keywords",
        &words(&grammar(), "keywords"),
        &compiler_keywords(),
    );
}

#[test]
fn a_stage_header_never_starts_with_a_declaration_keyword() {
    // The `stage-header` rule mirrors the `stage` rule's lookahead in
    // grammar/mlp.pest (DECLARATION_KEYWORDS), plus `uses` and `as`.
    let mut expected = set(DECLARATION_KEYWORDS.iter().copied());
    expected.extend(set(OTHER_KEYWORDS.iter().copied()));
    assert_same(
        "words that cannot begin a stage",
        &words(&grammar(), "stage-header"),
        &expected,
    );
}

#[test]
fn stage_kinds_are_the_compilers() {
    assert_same(
        "stage kinds",
        &words(&grammar(), "stage-kinds"),
        &set(STAGE_KINDS.iter().copied()),
    );
}

#[test]
fn types_are_the_compilers() {
    assert_same(
        "type names",
        &words(&grammar(), "types"),
        &set(TYPE_NAMES.iter().copied()),
    );
}

/// Every [`KeySource`]: the match has no wildcard, so a new variant stops
/// this test from compiling until the grammar is looked at.
fn key_source_functions() -> Vec<&'static str> {
    let all = [KeySource::Secret, KeySource::ConfigMap];
    for source in all {
        match source {
            KeySource::Secret | KeySource::ConfigMap => {}
        }
    }
    all.into_iter().map(KeySource::function).collect()
}

#[test]
fn builtin_functions_are_the_compilers() {
    let mut expected = set(key_source_functions());
    expected.extend(set(ListFn::ALL.into_iter().map(ListFn::name)));
    assert_same(
        "built-in functions",
        &words(&grammar(), "builtin-functions"),
        &expected,
    );
}

#[test]
fn booleans_run_and_item_are_highlighted() {
    let grammar = grammar();
    for word in BOOLEANS.iter().chain(REFERENCE_ROOTS) {
        assert!(is_reserved(word), "`{word}` is no longer reserved");
    }
    assert_same(
        "booleans",
        &words(&grammar, "booleans"),
        &set(BOOLEANS.iter().copied()),
    );
    for root in REFERENCE_ROOTS {
        let regex = rule_match(&grammar, root);
        assert!(
            regex.contains(&format!("({root})")),
            "rule `{root}` does not match `{root}`: {regex}"
        );
    }
}

/// Every lowercase word that appears as a string literal somewhere in src/
/// and that `is_reserved` accepts is highlighted: this catches a reserved
/// word added to the inline list in `is_reserved` (or to a new constant).
#[test]
fn every_reserved_word_in_the_compiler_is_highlighted() {
    let grammar = grammar();
    let mut highlighted = words(&grammar, "keywords");
    highlighted.extend(words(&grammar, "booleans"));
    highlighted.extend(set(REFERENCE_ROOTS.iter().copied()));

    let mut reserved = BTreeSet::new();
    let mut stack = vec![repo_path("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                reserved.extend(quoted_words(&text).into_iter().filter(|w| is_reserved(w)));
            }
        }
    }
    assert!(
        reserved.contains("param") && reserved.contains("uses"),
        "the scan of src/ found too little: {reserved:?}"
    );
    let missing: Vec<_> = reserved.difference(&highlighted).collect();
    assert!(
        missing.is_empty(),
        "reserved words that {VSCODE}/{GRAMMAR} does not highlight: {missing:?}"
    );
}

/// The `"word"` literals of a Rust source (lowercase letters and `_`).
fn quoted_words(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices('"') {
        let rest = &text[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with('"') {
            found.insert(rest[..len].to_string());
        }
    }
    found
}

#[test]
fn the_manifest_declares_the_language_and_its_grammar() {
    let manifest = read_json(&format!("{VSCODE}/package.json"));
    let contributes = &manifest["contributes"];

    let languages = contributes["languages"].as_array().expect("languages");
    let mlp = languages
        .iter()
        .find(|l| l["id"] == "mlp")
        .expect("a language with id `mlp`");
    let extensions = mlp["extensions"].as_array().expect("extensions");
    assert!(
        extensions.iter().any(|e| e == ".mlp"),
        "the language `mlp` does not claim `.mlp`: {extensions:?}"
    );
    let configuration = mlp["configuration"].as_str().expect("a configuration");
    assert!(
        repo_path(VSCODE).join(configuration).is_file(),
        "{configuration} does not exist"
    );

    let grammars = contributes["grammars"].as_array().expect("grammars");
    let entry = grammars
        .iter()
        .find(|g| g["language"] == "mlp")
        .expect("a grammar for `mlp`");
    assert_eq!(entry["scopeName"], "source.mlp");
    let path = entry["path"].as_str().expect("a grammar path");
    assert_eq!(path.trim_start_matches("./"), GRAMMAR);
    assert_eq!(grammar()["scopeName"], "source.mlp");

    let server = &contributes["configuration"]["properties"]["mlp.server.path"];
    assert_eq!(
        server["default"], "mlpc",
        "the server is `mlpc lsp` by default"
    );
}
