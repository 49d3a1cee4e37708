//! `examples/*.mlp` are tests: each must check without errors, unless its
//! header says `# expect: mlp::CODE`. Warnings are snapshotted. The `mlp`
//! code blocks of README.md and docs/ are checked the same way, so the
//! documentation cannot rot.

mod common;

use std::path::Path;

use common::*;
use mlpc::fmt::same_program;
use mlpc::source::SourceId;
use mlpc::syntax::parse_fast;
use mlpc::{analyze, FsLoader};

#[test]
fn examples_check_and_compile() {
    let _guard = suite("examples").bind_to_scope();
    let files = mlp_files(&root().join("examples"));
    assert!(
        files.len() >= 4,
        "examples/ should hold the flagship and more"
    );
    for path in files {
        let rel = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .take(3)
            .find_map(|l| l.strip_prefix("# expect: "))
            .map(str::trim);
        let analysis = analyze_file(&rel);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match expect {
            None => {
                assert!(
                    !analysis.diagnostics.has_errors(),
                    "{} has errors; add `# expect: <code>` if intended:\n{}",
                    rel.display(),
                    render_plain(&analysis)
                );
                let yaml = compile(&rel, &Default::default());
                insta::with_settings!({ input_file => &path }, {
                    insta::assert_snapshot!(format!("{name}.yaml"), yaml);
                });
            }
            Some(code) => {
                assert!(
                    analysis.diagnostics.has_code(code),
                    "{}: wanted {code}",
                    rel.display()
                );
                insta::with_settings!({ input_file => &path }, {
                    insta::assert_snapshot!(format!("{name}.diagnostics"), render_plain(&analysis));
                });
            }
        }
    }
}

/// The same input gives byte-identical output.
#[test]
fn compiling_twice_gives_identical_bytes() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        for kind in [
            mlpc::emit::OutputKind::Workflow,
            mlpc::emit::OutputKind::WorkflowTemplate,
        ] {
            let options = mlpc::emit::Options {
                kind,
                pipeline: None,
                ..Default::default()
            };
            assert_eq!(
                compile(&rel, &options),
                compile(&rel, &options),
                "{}",
                rel.display()
            );
        }
    }
}

#[test]
fn only_the_flagship_warns() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let codes: Vec<String> = analyze_file(&rel)
            .diagnostics
            .items
            .iter()
            .map(|d| d.code_str())
            .collect();
        // The contract's program uses `:latest` images and no artifact_store.
        let expected: &[&str] = if rel.ends_with("terraform_optimization.mlp") {
            &["mlp::W0202", "mlp::W0202", "mlp::W0201"]
        } else {
            &[]
        };
        assert_eq!(codes, expected, "{}", rel.display());
    }
}

#[test]
fn flagship_example_is_the_contract_program() {
    let spec = root().join("../shared/spec/LANGUAGE.md");
    let Ok(spec) = std::fs::read_to_string(&spec) else {
        assert!(
            std::env::var("CI").is_err(),
            "../shared/spec/LANGUAGE.md is missing in CI"
        );
        eprintln!("skipped: ../shared is not beside this checkout");
        return;
    };
    // The same program, not the same bytes: the example is laid out by
    // `mlpc fmt` (CI checks it), the spec aligns its `=` signs by hand.
    let block = spec.split("```").nth(1).expect("section 1 has the program");
    let example =
        std::fs::read_to_string(root().join("examples/terraform_optimization.mlp")).unwrap();
    let parse = |text: &str| parse_fast(text, SourceId(0)).expect("parses");
    assert!(
        same_program(&parse(block), &parse(&example)),
        "the flagship example must stay the contract's program"
    );
    assert_eq!(
        mlpc::fmt::format(block.trim_start_matches('\n')).unwrap(),
        example,
        "the flagship example is the contract's program as `mlpc fmt` lays it out"
    );
}

/// Every ```mlp block in README.md and docs/*.md checks without errors,
/// unless the block is tagged ```mlp error.
#[test]
fn documentation_blocks_check() {
    let mut docs = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        docs.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
    }
    docs.sort();
    let mut checked = 0;
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            let Some(tag) = line.trim().strip_prefix("```mlp") else {
                continue;
            };
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.trim_start().starts_with("```"))
                .collect();
            let source = body.join("\n");
            let name = format!("{}:{}", relative(&doc).display(), n + 1);
            // Blocks are checked as if they sat in examples/, so imports of
            // `lib/...` resolve the way the README describes.
            let analysis = analyze(
                &name,
                Some(&root().join("examples/doc_block.mlp")),
                source.as_bytes(),
                &FsLoader,
            );
            let wants_error = tag.trim() == "error";
            assert_eq!(
                analysis.diagnostics.has_errors(),
                wants_error,
                "{name}: {}\n{}",
                if wants_error {
                    "tagged `error` but checks clean"
                } else {
                    "does not check; tag it ```mlp error if intended"
                },
                render_plain(&analysis)
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "README.md should show .mlp code");
    let _ = Path::new("");
}
