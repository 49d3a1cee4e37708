//! The embedded standard library: in step with `stdlib/`, and clean.

mod common;

use common::*;
use mlpc::stdlib::STDLIB;
use mlpc::{analyze, FsLoader};

#[test]
fn table_matches_the_stdlib_folder() {
    let mut on_disk: Vec<String> = mlp_files(&root().join("stdlib"))
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut table: Vec<String> = STDLIB.iter().map(|(n, _)| n.to_string()).collect();
    table.sort();
    assert_eq!(
        on_disk, table,
        "stdlib/*.mlp and src/stdlib.rs STDLIB disagree"
    );
    for (name, text) in STDLIB {
        let file = std::fs::read_to_string(root().join(format!("stdlib/{name}.mlp"))).unwrap();
        assert_eq!(&file, text, "{name}: embedded text differs from the file");
    }
}

#[test]
fn every_module_checks_clean_and_has_templates() {
    for (name, text) in STDLIB {
        let analysis = analyze(
            &format!("<std>/{name}.mlp"),
            None,
            text.as_bytes(),
            &FsLoader,
        );
        assert!(
            analysis.diagnostics.is_empty(),
            "{name}:\n{}",
            render_plain(&analysis)
        );
        let program = analysis.program.expect("clean module");
        assert!(!program.templates.is_empty(), "{name} defines no template");
    }
}

#[test]
fn terraform_module_has_the_templates_the_contract_names() {
    let (_, text) = STDLIB
        .iter()
        .find(|(n, _)| *n == "terraform")
        .expect("std.terraform");
    let program = analyze("terraform.mlp", None, text.as_bytes(), &FsLoader)
        .program
        .unwrap();
    let plan = program
        .templates
        .iter()
        .find(|t| t.name == "plan")
        .expect("terraform.plan");
    let inputs: Vec<(&str, bool)> = plan
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.default.is_some()))
        .collect();
    assert_eq!(
        inputs,
        [("repo", false), ("workdir", true), ("revision", true)]
    );
    assert!(plan.outputs.iter().any(|o| o.name == "plan_json"));
    let image = format!("{:?}", plan.fields["image"].value);
    assert!(
        image.contains("hashicorp/terraform:1."),
        "plan uses a pinned terraform image: {image}"
    );
    let cost = program
        .templates
        .iter()
        .find(|t| t.name == "cost")
        .expect("terraform.cost");
    assert!(cost.outputs.iter().any(|o| o.name == "monthly_cost"));
}
