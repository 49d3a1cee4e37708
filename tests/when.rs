//! `when` conditions: run-time values reach them as data of one Argo
//! expression tag, never as text spliced into the expression.
//!
//! Argo rules relied on, from its source: a plain `{{...}}` in a `when` is
//! replaced by the raw value and the text evaluated with govaluate
//! (`workflow/controller/steps.go` `shouldExecute`); an expression tag
//! `{{=...}}` is evaluated by expr over the values
//! (`util/template/expression_template.go` `expressionReplace`), which
//! reads an expression holding both `?` and `:` as a ternary.

mod common;

use common::places::{compile_source, template};

fn when_of(source: &str, task: &str) -> String {
    let doc = compile_source(source).unwrap_or_else(|codes| panic!("{codes:?}"));
    template(&doc, "main")["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == task)
        .unwrap()["when"]
        .as_str()
        .unwrap()
        .to_string()
}

const PROGRAM: &str = r#"
pipeline p {
  param flag: bool = true
  param limit: float = 0.5
  prep up {
    image = "x:1.0.0"
    command = ["run"]
    output label: string = "/tmp/label"
    output score: float = "/tmp/score"
  }
  prep down {
    image = "x:1.0.0"
    command = ["run"]
    when up.label == "it's {{a}}? x: }}" && up.score <= limit && flag
  }
}
"#;

#[test]
fn a_condition_is_one_expression_over_values() {
    // `{{a}}` would be E0215 in a user string: build the literal without it.
    let w = when_of(&PROGRAM.replace("{{a}}", "a"), "down");
    assert!(w.starts_with("{{=") && w.ends_with("}}"), "{w}");
    let inner = &w[3..w.len() - 2];
    // No plain placeholder: nothing is substituted as text.
    assert!(!inner.contains("{{"), "{w}");
    // No character that Argo's tag reader or expr's ternary check would see.
    assert!(!inner.contains('?') && !inner.contains(':'), "{w}");
    assert!(!inner.contains("}}"), "{w}");
    assert!(
        inner.contains("tasks['up'].outputs.parameters['label']"),
        "{w}"
    );
    // Numbers compare as floats, whatever text the output holds.
    assert!(
        inner.contains("asFloat(tasks['up'].outputs.parameters['score'])"),
        "{w}"
    );
    assert!(
        inner.contains("asFloat(workflow.parameters['limit'])"),
        "{w}"
    );
    // A bool parameter is the text `true` or `false` in any case; any other
    // text fails the tag (asInt of a word) instead of reading as false.
    assert!(
        inner.contains("((lower(workflow.parameters['flag']) == 'true') || ((lower(workflow.parameters['flag']) != 'false') && (asInt('not-true-or-false') == 0)))"),
        "{w}"
    );
    // The literal's quote is escaped for expr.
    assert!(inner.contains("'it\\'s a"), "{w}");
}

#[test]
fn a_condition_on_item_keeps_argo_substitution() {
    let w = when_of(
        r#"
pipeline p {
  prep fan {
    image = "x:1.0.0"
    command = ["run"]
    for_each = [1, 2]
    when item > 1
  }
}
"#,
        "fan",
    );
    assert_eq!(w, "({{item}}) > (1)");
}

#[test]
fn item_and_other_stages_outputs_meet_only_in_separate_and_parts() {
    let program = |when: &str| {
        format!(
            r#"
pipeline p {{
  prep up {{
    image = "x:1.0.0"
    command = ["run"]
    output mode: string = "/tmp/mode"
  }}
  prep fan {{
    image = "x:1.0.0"
    command = ["run", item]
    for_each = ["a", "b"]
    parallelism = 2
    when {when}
  }}
}}
"#
        )
    };
    // Separate parts: the output's part is a tag on the outer task, the
    // item's stays in the loop.
    let doc = compile_source(&program(r#"up.mode == "go" && item != "b""#)).unwrap();
    let outer = template(&doc, "main")["dag"]["tasks"][1]["when"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        outer,
        "{{=(tasks['up'].outputs.parameters['mode']) == ('go')}}"
    );
    let inner = template(&doc, "fan-fan-out")["dag"]["tasks"][0]["when"].clone();
    assert_eq!(inner, "('{{item}}') != ('b')");
    // One comparison reading both would splice the output into the text.
    let codes = compile_source(&program("item == up.mode")).expect_err("rejected");
    assert_eq!(codes, ["mlp::E0221"]);
}
