//! Argo's run-time rules (the executable model in `argo_model`) against
//! hand-written inputs whose expected results come from reading the
//! upstream code, then every compiled example run under scenarios and
//! compared with an independent oracle of the program's semantics
//! (`program_oracle`), then the known defects of issue #10.

mod argo_model;
mod common;
mod program_oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use argo_model::depends::{self, TaskResults};
use argo_model::expr::{self, EValue};
use argo_model::govaluate::{self, should_execute, Token};
use argo_model::memoize::{self, PassScope};
use argo_model::retry::{self, Attempt, Decision, PodLife, RetryStrategy};
use argo_model::simulate::{self, Scenario, Workflow};
use argo_model::substitution::{self, Scope};
use argo_model::validate;
use argo_model::{sha256, Phase};
use serde_json::{json, Value};

// ----- govaluate: the `when` language (Knetic/govaluate parsing.go,
// lexerState.go, stagePlanner.go, evaluationStage.go; Argo steps.go
// shouldExecute) -----------------------------------------------------------

/// parsing.go `readToken`: a number is a run of digits and dots read by
/// `isNumeric`, so `1e-05` is NUMERIC 1, VARIABLE e, MODIFIER -, NUMERIC 5
/// (after a VARIABLE, `-` cannot be a PREFIX: lexerState.go).
#[test]
fn govaluate_numbers_are_digits_and_dots() {
    assert_eq!(
        govaluate::lex("1e-05").unwrap(),
        [
            Token::Numeric(1.0),
            Token::Variable("e".into()),
            Token::Modifier("-".into()),
            Token::Numeric(5.0)
        ]
    );
    // checkExpressionSyntax: NUMERIC may not be followed by VARIABLE.
    let err = should_execute("(1e-05) >= (0.1)").unwrap_err();
    assert!(err.contains("Cannot transition token types"), "{err}");
    // `-` before a number where a value may start is a PREFIX (negation).
    assert_eq!(
        govaluate::lex("-1").unwrap(),
        [Token::Prefix("-".into()), Token::Numeric(1.0)]
    );
    assert_eq!(should_execute("(-1) < (0)"), Ok(true));
    // `.5` is a number (strconv.ParseFloat accepts it); `1.2.3` is not.
    assert_eq!(should_execute("(.5) == (0.5)"), Ok(true));
    assert!(should_execute("(1.2.3) > (0)")
        .unwrap_err()
        .contains("Unable to parse numeric value"));
    // Fixed-point small numbers work.
    assert_eq!(should_execute("(0.00001) >= (0.1)"), Ok(false));
    assert_eq!(should_execute("(0.00001) < (0.1)"), Ok(true));
}

/// parsing.go `readToken` + `isNotQuote`: `'` and `"` both open and close a
/// string (either closes either); `readUntilFalse` lets `\` escape any
/// character.
#[test]
fn govaluate_strings() {
    assert_eq!(should_execute("('a') == (\"a\")"), Ok(true));
    assert_eq!(govaluate::lex("'a\"").unwrap(), [Token::Str("a".into())]);
    assert_eq!(should_execute(r"('it\'s') == ('it' + '\'s')"), Ok(true));
    // A bare quote inside a value ends the string early.
    let err = should_execute("('it's') == ('x')").unwrap_err();
    assert!(err.contains("Invalid 'when' expression"), "{err}");
    assert!(
        should_execute("('abc) == ('abc')").is_err(),
        "unbalanced quotes"
    );
    assert!(govaluate::lex("'abc")
        .unwrap_err()
        .contains("Unclosed string literal"));
}

/// Argo's `shouldExecute` turns every VARIABLE into a STRING, so bare
/// words are strings: `nan`, `inf`, `True` are not numbers or bools.
#[test]
fn govaluate_bare_words_are_strings() {
    assert_eq!(should_execute("(full) == ('full')"), Ok(true));
    // comparatorTypeCheck: both numbers or both strings, else an error.
    for word in ["nan", "inf", "NaN", "Infinity"] {
        let err = should_execute(&format!("({word}) >= (0.5)")).unwrap_err();
        assert!(
            err.contains(&format!(
                "Value '{word}' cannot be used with the comparator '>='"
            )),
            "{err}"
        );
    }
    // `True` is a string, which is not a bool.
    assert!(should_execute("(True)")
        .unwrap_err()
        .contains("Expected boolean evaluation"));
    assert!(should_execute("(True) && (true)")
        .unwrap_err()
        .contains("cannot be used with the logical operator '&&'"));
    assert_eq!(should_execute("(true)"), Ok(true));
}

/// evaluationStage.go `equalStage` is `reflect.DeepEqual`: a number and a
/// string are never equal, without an error; `>=` between them is an error.
#[test]
fn govaluate_number_versus_string() {
    assert_eq!(should_execute("('1') == (1)"), Ok(false));
    assert_eq!(should_execute("('1') != (1)"), Ok(true));
    assert!(should_execute("('1') >= (1)").is_err());
    // Strings compare lexically with >= (gteStage).
    assert_eq!(should_execute("('b') >= ('a')"), Ok(true));
}

/// Logic, prefixes and parentheses; EvaluableExpression.go
/// `evaluateStage` short-circuits `&&`/`||` before evaluating the right
/// side, so an error there does not surface.
#[test]
fn govaluate_logic() {
    assert_eq!(should_execute("!(false) && ((true) || (false))"), Ok(true));
    assert_eq!(should_execute("(1) > (2) || (2) > (1)"), Ok(true));
    assert_eq!(should_execute("(false) && ((nan) >= (1))"), Ok(false));
    assert_eq!(should_execute("(true) || ((nan) >= (1))"), Ok(true));
    assert!(should_execute("(true) && ((nan) >= (1))").is_err());
    // `!` binds to the next value only (planPrefix -> planFunction).
    assert_eq!(should_execute("!true == false"), Ok(true));
    assert!(should_execute("((true)").is_err(), "checkBalance");
    assert_eq!(should_execute(""), Ok(true), "an empty when runs");
    // An unresolved placeholder outside quotes is an invalid token ...
    assert!(should_execute("({{tasks.a.outputs.parameters.x}}) > (1)")
        .unwrap_err()
        .contains("Invalid token: '{{'"));
    // ... and inside quotes just a string.
    assert_eq!(
        should_execute("('{{tasks.a.outputs.parameters.x}}') == ('go')"),
        Ok(false)
    );
}

/// parsing.go `tryParseTime`: a quoted date is a TIME token (Unix seconds),
/// so it no longer compares with a string.
#[test]
fn govaluate_dates_become_numbers() {
    assert_eq!(govaluate::parse_time("1970-01-02"), Some(86400.0));
    assert_eq!(should_execute("('2026-11-01') == ('2026-11-01')"), Ok(true));
    assert_eq!(should_execute("('2026-11-01') < ('2026-11-02')"), Ok(true));
    assert_eq!(should_execute("('2026-11-01') == ('x')"), Ok(false));
    assert!(should_execute("('2026-11-01') >= ('x')").is_err());
}

/// Go's `%v` of a float, as govaluate's messages print values.
#[test]
fn go_float_formatting() {
    assert_eq!(govaluate::go_float(1e-5), "1e-05");
    assert_eq!(govaluate::go_float(0.85), "0.85");
    assert_eq!(govaluate::go_float(1e6), "1e+06");
    assert_eq!(govaluate::go_float(123456.0), "123456");
}

// ----- substitution (util/template/template.go Replace,
// simple_template.go, expression_template.go) ------------------------------

fn scope(pairs: &[(&str, &str)]) -> Scope {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn substitution_replaces_tags_as_text() {
    let s = scope(&[
        ("workflow.parameters.mode", "full"),
        ("inputs.parameters.x", "O'Brien \"q\""),
        ("tasks.t.outputs.parameters.v", "0.9"),
        ("item.lr", "0.1"),
    ]);
    // Tags are trimmed; values go in verbatim (quotes included).
    assert_eq!(
        substitution::replace(
            "{{ workflow.parameters.mode }}-{{inputs.parameters.x}}",
            &s,
            false
        )
        .unwrap(),
        "full-O'Brien \"q\""
    );
    assert_eq!(
        substitution::replace(
            "({{tasks.t.outputs.parameters.v}}) > ({{item.lr}})",
            &s,
            false
        )
        .unwrap(),
        "(0.9) > (0.1)"
    );
    // Unresolved: kept with allowUnresolved, an error without it.
    assert_eq!(
        substitution::replace("{{tasks.up.outputs.parameters.m}}", &s, true).unwrap(),
        "{{tasks.up.outputs.parameters.m}}"
    );
    assert_eq!(
        substitution::replace("{{ nope }}", &s, false).unwrap_err(),
        "failed to resolve {{ nope }}"
    );
    // A `{{` without `}}` breaks the whole template (fasttemplate).
    assert!(substitution::replace("a {{b", &s, true).is_err());
    // Nested tags: the part after the last inner `{{` is resolved.
    assert_eq!(
        substitution::replace("{{x{{item.lr}}", &s, true).unwrap(),
        "{{x0.1"
    );
    let g = substitution::global_scope(&BTreeMap::from([("a".into(), "1".into())]));
    assert_eq!(
        substitution::replace("{{workflow.parameters.a}}/{{workflow.name}}", &g, false).unwrap(),
        "1/wf-abc12"
    );
}

/// expression_template.go `expressionReplace`: an error or a nil result
/// keeps the tag when unresolved is allowed; a string result goes in as is.
#[test]
fn substitution_expression_tags() {
    let s = scope(&[("inputs.parameters.a", "x"), ("workflow.parameters.b", "y")]);
    assert_eq!(
        substitution::replace(
            "{{=inputs.parameters['a'] + '|' + workflow.parameters.b}}",
            &s,
            false
        )
        .unwrap(),
        "x|y"
    );
    // A missing key is nil; string + nil is a run-time error.
    let tag = "{{=inputs.parameters['zz'] + 'x'}}";
    assert_eq!(substitution::replace(tag, &s, true).unwrap(), tag);
    assert!(substitution::replace(tag, &s, false).is_err());
    // An unknown top-level name is a compile error.
    let tag = "{{=nothing.here}}";
    assert_eq!(substitution::replace(tag, &s, true).unwrap(), tag);
    // nil result.
    let tag = "{{=inputs.parameters['zz']}}";
    assert_eq!(substitution::replace(tag, &s, true).unwrap(), tag);
}

// ----- expr (expr-lang/expr as Argo's `{{=...}}` tags run it:
// util/expr/env/env.go GetFuncMap, parser/lexer, checker, vm/runtime) ------

fn expr_env(pairs: &[(&str, &str)]) -> BTreeMap<String, EValue> {
    expr::env(&scope(pairs))
}

fn ev(src: &str, pairs: &[(&str, &str)]) -> Result<EValue, String> {
    expr::eval(src, &expr_env(pairs))
}

/// The flat scope becomes nested maps (`expand.Expand`); `a.b` and
/// `a['b']` fetch the same; a missing key is nil; a missing top-level
/// name is a compile error; fetching from nil is a run-time error.
#[test]
fn expr_names_members_and_indexes() {
    let s = [
        (
            "tasks.optimizer-metrics.outputs.parameters.cost_reduction",
            "0.2",
        ),
        ("workflow.parameters.mode", "full"),
        ("inputs.parameters", "[{\"name\":\"a\",\"value\":\"1\"}]"),
        ("inputs.parameters.a", "1"),
    ];
    let str_ = |v: &str| Ok(EValue::Str(v.into()));
    assert_eq!(
        ev(
            "tasks['optimizer-metrics'].outputs.parameters['cost_reduction']",
            &s
        ),
        str_("0.2")
    );
    assert_eq!(ev("workflow.parameters.mode", &s), str_("full"));
    assert_eq!(ev("workflow['parameters'][\"mode\"]", &s), str_("full"));
    // removeConflicts: `inputs.parameters` (the JSON list) gives way.
    assert_eq!(ev("inputs.parameters['a']", &s), str_("1"));
    assert_eq!(ev("workflow.parameters['nope']", &s), Ok(EValue::Nil));
    assert_eq!(ev("nothing.here", &s).unwrap_err(), "unknown name nothing");
    assert_eq!(
        ev("workflow.parameters['nope'].x", &s).unwrap_err(),
        "cannot fetch x from <nil>"
    );
    assert!(ev("workflow.parameters.mode.x", &s)
        .unwrap_err()
        .starts_with("cannot fetch x from string"));
}

/// `parser/lexer/utils.go` `unescape`: the escapes mlpc's literals use
/// (`\'`, `\\`, `\uXXXX`, `\UXXXXXXXX`) and the others; an unknown
/// escape is an error.
#[test]
fn expr_string_escapes() {
    let lit = |src: &str| ev(src, &[]);
    let s = |v: &str| Ok(EValue::Str(v.into()));
    assert_eq!(lit(r"'it\'s'"), s("it's"));
    assert_eq!(lit(r"'a\\b'"), s("a\\b"));
    assert_eq!(
        lit(r"'\u003f\u003a\u007b\u007d\u0022\u000a'"),
        s("?:{}\"\n")
    );
    assert_eq!(lit(r"'\U0001f600'"), s("\u{1f600}"));
    assert_eq!(lit(r#""\x41\101\t\"""#), s("AA\t\""));
    assert_eq!(lit(r#""it's""#), s("it's"));
    assert!(lit(r"'\q'").unwrap_err().contains("unable to unescape"));
    assert!(lit(r"'\u12'").unwrap_err().contains("unable to unescape"));
    assert!(lit("'abc").unwrap_err().contains("not terminated"));
    // `+` joins strings.
    assert_eq!(lit(r"'runs:/' + 'x' + '\u002fmodel'"), s("runs:/x/model"));
}

/// `vm/runtime` `Equal` never fails: numbers compare as numbers, a string
/// and a number are just unequal. `Less`/`More`/... compare numbers with
/// numbers and strings with strings, and fail on anything else; the
/// checker already refuses a mismatch between two typed operands.
#[test]
fn expr_comparisons_by_type() {
    let b = |v: bool| Ok(EValue::Bool(v));
    let s = [
        ("workflow.parameters.n", "1"),
        ("workflow.parameters.t", "true"),
    ];
    assert_eq!(ev("1 == 1.0", &s), b(true));
    assert_eq!(ev("workflow.parameters['n'] == 1", &s), b(false));
    assert_eq!(ev("workflow.parameters['n'] != 1", &s), b(true));
    assert_eq!(ev("workflow.parameters['n'] == '1'", &s), b(true));
    assert_eq!(ev("workflow.parameters['t'] == true", &s), b(false));
    assert_eq!(ev("workflow.parameters['t'] == 'true'", &s), b(true));
    assert_eq!(
        ev("workflow.parameters['n'] >= 1", &s).unwrap_err(),
        "invalid operation: string >= int"
    );
    assert_eq!(
        ev("1 < workflow.parameters['n']", &s).unwrap_err(),
        "invalid operation: int < string"
    );
    // Two typed operands that cannot compare: a compile error.
    assert_eq!(
        ev("'1' >= 1", &s).unwrap_err(),
        "invalid operation: >= (mismatched types string and int)"
    );
    assert!(ev("'1' == 1", &s).unwrap_err().contains("mismatched types"));
    // Strings order bytewise.
    assert_eq!(ev("'b' >= 'a' && 'B' < 'a'", &s), b(true));
    assert_eq!(ev("-1 < 0 && 2 - 3 == -1 && 1 + 2 * 3 == 7", &s), b(true));
}

/// `asFloat` is expr's `float` (`builtin/lib.go` `Float`): a string goes
/// through Go's `strconv.ParseFloat`, so the forms a metric may take in
/// Python's notation read as floats; a NaN compares false with anything
/// (Go's float comparisons in the generated `runtime` helpers), so `!=` -
/// `Equal` then `OpNot` - is its only true comparison.
#[test]
fn expr_as_float_reads_go_floats() {
    let cmp = |v: &str, op: &str| {
        ev(
            &format!("asFloat(workflow.parameters['v']) {op} 0.1"),
            &[("workflow.parameters.v", v)],
        )
    };
    let b = |v: bool| Ok(EValue::Bool(v));
    assert_eq!(cmp("1e-05", ">="), b(false));
    assert_eq!(cmp("1e+06", ">="), b(true));
    assert_eq!(cmp("1E6", ">="), b(true));
    assert_eq!(cmp(".5", ">="), b(true));
    assert_eq!(cmp("+0.1", ">="), b(true));
    assert_eq!(cmp("-0.0", "<"), b(true));
    for op in [">=", ">", "<", "<=", "=="] {
        assert_eq!(cmp("nan", op), b(false), "NaN {op} 0.1");
        assert_eq!(cmp("NaN", op), b(false), "NaN {op} 0.1");
    }
    assert_eq!(cmp("nan", "!="), b(true));
    assert_eq!(cmp("inf", ">="), b(true));
    assert_eq!(cmp("+Infinity", ">="), b(true));
    assert_eq!(cmp("-inf", ">="), b(false));
    // The largest float, in fixed point, is finite.
    let max = format!("{:.1}", f64::MAX);
    assert_eq!(cmp(&max, ">="), b(true));
    assert_eq!(cmp(&format!("-{max}"), ">="), b(false));
    for bad in [
        "", " 1", "1 ", "1_000", "abc", "1e", "1e400", "+nan", "0x1p-2", "1,5",
    ] {
        let err = cmp(bad, ">=").unwrap_err();
        assert!(
            err.starts_with("invalid operation: float(") || err.starts_with("model:"),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(expr::go_parse_float("1e-05"), Ok(1e-5));
    // asInt: strconv.Atoi on a string, truncation of a float.
    assert_eq!(ev("asInt('7') == 7", &[]), b(true));
    assert_eq!(ev("asInt(asFloat('7.9'))", &[]), Ok(EValue::Int(7)));
    assert!(ev("asInt('7.5')", &[]).is_err());
}

/// `&&` / `||` short-circuit and need a bool on the left (a Go type
/// assertion in the VM), `!` needs a bool; `!` binds tighter than `==`.
#[test]
fn expr_logic() {
    let b = |v: bool| Ok(EValue::Bool(v));
    let s = [("workflow.parameters.p", "true")];
    assert_eq!(ev("!(1 > 2) && (false || true)", &s), b(true));
    assert_eq!(ev("!true == false", &s), b(true));
    assert_eq!(ev("false && asFloat('x') > 1", &s), b(false));
    assert_eq!(ev("true || asFloat('x') > 1", &s), b(true));
    assert!(ev("true && asFloat('x') > 1", &s).is_err());
    assert_eq!(ev("1 > 2 or not (2 > 3) and true", &s), b(true));
    assert_eq!(
        ev("workflow.parameters['p'] && true", &s).unwrap_err(),
        "interface conversion: interface {} is string, not bool"
    );
    assert!(ev("!workflow.parameters['p']", &s).is_err());
    assert!(ev("'a' && true", &s)
        .unwrap_err()
        .contains("mismatched types"));
    assert_eq!(ev("true ? 'y' : 'n'", &s), Ok(EValue::Str("y".into())));
}

/// Argo's `toJson` is `json.Marshal`: HTML-safe escapes, Go float form,
/// no NaN; `sprig.sha256sum` takes a string only.
#[test]
fn expr_to_json_and_sha256() {
    assert_eq!(
        ev(
            r#"toJson(['a<b&c>', 'q"\\', 1, 0.5, true, nil, 1e21, 0.0000001])"#,
            &[]
        ),
        Ok(EValue::Str(
            r#"["a\u003cb\u0026c\u003e","q\"\\",1,0.5,true,null,1e+21,1e-7]"#.into()
        ))
    );
    assert!(ev("toJson([asFloat('nan')])", &[])
        .unwrap_err()
        .contains("unsupported value"));
    assert_eq!(
        ev("sprig.sha256sum(toJson(['abc']))", &[]),
        Ok(EValue::Str(sha256::hex(b"[\"abc\"]")))
    );
    assert_eq!(
        ev("sprig.sha256sum(1)", &[]).unwrap_err(),
        "reflect: Call using int as type string"
    );
    // A list keeps its items apart; joining with `|` did not.
    assert_ne!(
        ev("toJson(['a|b', 'c'])", &[]),
        ev("toJson(['a', 'b|c'])", &[])
    );
    assert_eq!(ev("'a|b' + '|' + 'c'", &[]), ev("'a' + '|' + 'b|c'", &[]));
}

/// `expressionReplace` inserts the `%v` text of the result; a `?` and a
/// `:` anywhere in the tag split it at the first `?` (`isTernaryExpression`),
/// even inside a string literal, which is why mlpc writes them as
/// `\u003f` / `\u003a`.
#[test]
fn substitution_expression_results_and_the_ternary_quirk() {
    let s = scope(&[("workflow.parameters.a", "x?y:z")]);
    let r = |t: &str| substitution::replace(t, &s, true).unwrap();
    assert_eq!(r("{{=1 < 2}}"), "true");
    assert_eq!(r("{{=asFloat('1e6')}}"), "1e+06");
    assert_eq!(r("{{=asInt('42')}}"), "42");
    assert_eq!(
        r("{{=workflow.parameters['a'] == 'x' ? 'yes' : 'no'}}"),
        "no"
    );
    // A literal holding `?` and `:`: the part before `?` (`'x`) does not
    // lex, and the whole tag stays.
    let tag = "{{=workflow.parameters['a'] == 'x?y:z'}}";
    assert!(substitution::is_ternary(&tag[3..tag.len() - 2]));
    assert_eq!(r(tag), tag);
    // Escaped, the same comparison evaluates.
    assert_eq!(
        r(r"{{=workflow.parameters['a'] == 'x\u003fy\u003az'}}"),
        "true"
    );
    // A value holding `?` and `:` is data: the tag's text has neither.
    assert_eq!(r("{{=workflow.parameters['a'] != ''}}"), "true");
    // Errors and nil keep the tag in the DAG, and fail otherwise.
    let tag = "{{=asFloat(workflow.parameters['a']) > 1}}";
    assert_eq!(r(tag), tag);
    assert!(substitution::replace(tag, &s, false).is_err());
}

/// A `when` tag in the DAG: evaluated over the ancestors' outputs before
/// govaluate reads its `true`/`false`; a tag that does not evaluate stays,
/// and govaluate fails on `{{=`: the node is `Error`.
#[test]
fn simulate_when_tag() {
    let w = wf(
        json!([
            {"name": "a", "template": "pod"},
            {"name": "b", "template": "pod", "depends": "a",
             "when": "{{=asFloat(tasks['a'].outputs.parameters['v']) >= 0.5}}"}
        ]),
        json!([]),
    );
    let phase = |v: &str| simulate::run(&w, &Scenario::default().output("a", "v", v)).phase("b");
    assert_eq!(phase("0.9"), Phase::Succeeded);
    assert_eq!(phase("1e+06"), Phase::Succeeded);
    assert_eq!(phase("0.1"), Phase::Skipped);
    assert_eq!(phase("1e-05"), Phase::Skipped);
    assert_eq!(phase("nan"), Phase::Skipped, "NaN >= 0.5 is false");
    assert_eq!(phase("abc"), Phase::Error);
    let run = simulate::run(&w, &Scenario::default().output("a", "v", "abc"));
    assert!(
        run.node("b").message.contains("Invalid token: '{{='"),
        "{}",
        run.summary()
    );
}

// ----- depends (workflow/common/ancestry.go, dag.go evaluateDependsLogic) ---

fn no_continue(_: &str) -> depends::ContinueOn {
    (false, false)
}

#[test]
fn depends_bare_name_expands_without_omitted() {
    assert_eq!(
        depends::expand("a && b-c.Succeeded", &no_continue),
        "(a.Succeeded || a.Skipped || a.Daemoned) && b-c.Succeeded"
    );
    assert_eq!(
        depends::expand("x", &|_| (true, true)),
        "(x.Succeeded || x.Skipped || x.Daemoned || x.Errored || x.Failed)"
    );
    assert_eq!(
        depends::dependencies("churn-registry.Succeeded && (model || !m2.Failed)"),
        BTreeSet::from(["churn-registry".into(), "model".into(), "m2".into()])
    );
}

#[test]
fn depends_evaluation() {
    let r = |p: Phase| TaskResults::of(p, None);
    let results = |pairs: &[(&str, Phase)]| -> BTreeMap<String, TaskResults> {
        pairs.iter().map(|(k, p)| (k.to_string(), r(*p))).collect()
    };
    let eval =
        |d: &str, pairs: &[(&str, Phase)]| depends::evaluate(d, &no_continue, &results(pairs));
    assert_eq!(eval("a", &[("a", Phase::Succeeded)]), Ok(true));
    assert_eq!(eval("a", &[("a", Phase::Skipped)]), Ok(true));
    assert_eq!(
        eval("a", &[("a", Phase::Omitted)]),
        Ok(false),
        "Omitted blocks a bare name"
    );
    assert_eq!(eval("a", &[("a", Phase::Failed)]), Ok(false));
    assert_eq!(eval("a.Succeeded", &[("a", Phase::Skipped)]), Ok(false));
    assert_eq!(
        eval("a.Omitted || a.Skipped", &[("a", Phase::Omitted)]),
        Ok(true)
    );
    assert_eq!(
        eval(
            "a-b && !c.Failed",
            &[("a-b", Phase::Succeeded), ("c", Phase::Failed)]
        ),
        Ok(false),
        "`-` becomes `_` in names and logic"
    );
    assert!(eval("a.Finished", &[("a", Phase::Succeeded)]).is_err());
    // TaskGroup results over the children.
    let group = TaskResults::of(Phase::Failed, Some(&[Phase::Failed, Phase::Succeeded]));
    assert!(group.any_succeeded && !group.all_failed && group.failed);
    let all_failed = TaskResults::of(Phase::Failed, Some(&[Phase::Failed, Phase::Failed]));
    assert!(all_failed.all_failed);
}

// ----- simulate (dag.go executeDAG / executeDAGTask / assessDAGPhase) -----

fn wf(tasks: Value, extra_templates: Value) -> Workflow {
    let mut templates = vec![json!({"name": "main", "dag": {"tasks": tasks}})];
    templates.extend(extra_templates.as_array().unwrap().iter().cloned());
    templates.push(json!({"name": "pod", "container": {"image": "x"},
        "outputs": {"parameters": [{"name": "v", "valueFrom": {"path": "/v"}}],
                    "artifacts": [{"name": "a", "path": "/a"}]}}));
    Workflow::from_doc(&json!({"kind": "Workflow", "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "go", "value": "false"}]},
        "templates": templates}}))
}

/// A task whose `when` is false is Skipped; one whose `depends` is false is
/// Omitted; a bare dependency on an Omitted task omits too.
#[test]
fn simulate_skipped_versus_omitted() {
    let w = wf(
        json!([
            {"name": "a", "template": "pod", "when": "{{workflow.parameters.go}}"},
            {"name": "b", "template": "pod", "depends": "a.Succeeded"},
            {"name": "c", "template": "pod", "depends": "b"},
            {"name": "d", "template": "pod", "depends": "a"}
        ]),
        json!([]),
    );
    let run = simulate::run(&w, &Scenario::default());
    assert_eq!(run.phase("a"), Phase::Skipped);
    assert_eq!(run.phase("b"), Phase::Omitted);
    assert_eq!(run.phase("c"), Phase::Omitted);
    assert_eq!(
        run.phase("d"),
        Phase::Succeeded,
        "a skipped task satisfies a bare name"
    );
    assert_eq!(run.phase, Phase::Succeeded);
    let run = simulate::run(&w, &Scenario::default().param("go", "true"));
    assert_eq!(
        run.ran(),
        BTreeSet::from(["a".into(), "b".into(), "c".into(), "d".into()])
    );
}

/// Failures: dependants are Omitted and inherit the Failed branch phase,
/// so the DAG (and the workflow) fails.
#[test]
fn simulate_failure_propagates() {
    let w = wf(
        json!([
            {"name": "a", "template": "pod"},
            {"name": "b", "template": "pod", "depends": "a"},
            {"name": "c", "template": "pod"}
        ]),
        json!([]),
    );
    let run = simulate::run(&w, &Scenario::default().failing("a"));
    assert_eq!(run.phase("a"), Phase::Failed);
    assert_eq!(run.phase("b"), Phase::Omitted);
    assert_eq!(run.phase("c"), Phase::Succeeded);
    assert_eq!(run.phase, Phase::Failed);
}

/// A `when` that does not evaluate makes the node Error (dag.go: the
/// error of `shouldExecute` in `resolveDependencyReferences` /
/// `executeDAGTask` initialises the node with NodeError), and the workflow
/// errors.
#[test]
fn simulate_when_error_is_node_error() {
    let w = wf(
        json!([
            {"name": "a", "template": "pod"},
            {"name": "b", "template": "pod", "depends": "a",
             "when": "({{tasks.a.outputs.parameters.v}}) >= (0.5)"}
        ]),
        json!([]),
    );
    let ok = simulate::run(&w, &Scenario::default().output("a", "v", "0.9"));
    assert_eq!(ok.phase("b"), Phase::Succeeded);
    let skip = simulate::run(&w, &Scenario::default().output("a", "v", "0.1"));
    assert_eq!(skip.phase("b"), Phase::Skipped);
    assert_eq!(skip.phase, Phase::Succeeded);
    let err = simulate::run(&w, &Scenario::default().output("a", "v", "nan"));
    assert_eq!(err.phase("b"), Phase::Error, "{}", err.summary());
    assert_eq!(err.phase, Phase::Error);
    // Outputs are only in scope for ancestors (GetTaskAncestry).
    let w = wf(
        json!([
            {"name": "a", "template": "pod"},
            {"name": "b", "template": "pod", "when": "({{tasks.a.outputs.parameters.v}}) >= (0.5)"}
        ]),
        json!([]),
    );
    assert_eq!(
        simulate::run(&w, &Scenario::default()).phase("b"),
        Phase::Error
    );
}

/// `withItems` / `withParam`: a TaskGroup whose phase is Succeeded unless a
/// child failed; a `when` false for every item still gives a Succeeded
/// group; an empty list gives a Skipped node.
#[test]
fn simulate_fan_out() {
    let w = wf(
        json!([
            {"name": "f", "template": "pod", "withParam": "{{workflow.parameters.list}}",
             "when": "({{workflow.parameters.go}}) && ('{{item}}' != 'b')",
             "arguments": {"parameters": [{"name": "i", "value": "{{item}}"}]}},
            {"name": "after", "template": "pod", "depends": "f.Succeeded"}
        ]),
        json!([]),
    );
    let run = simulate::run(
        &w,
        &Scenario::default()
            .param("list", "[\"a\",\"b\"]")
            .param("go", "true"),
    );
    assert_eq!(run.phase("f"), Phase::Succeeded);
    assert_eq!(run.node("f").pods, 1, "item b is skipped");
    assert_eq!(run.node("f").children, [Phase::Succeeded, Phase::Skipped]);
    let run = simulate::run(&w, &Scenario::default().param("list", "[\"a\",\"b\"]"));
    assert_eq!(
        run.phase("f"),
        Phase::Succeeded,
        "all items skipped: still Succeeded"
    );
    assert_eq!(run.node("f").pods, 0);
    assert_eq!(run.phase("after"), Phase::Succeeded);
    let run = simulate::run(
        &w,
        &Scenario::default().param("list", "[]").param("go", "true"),
    );
    assert_eq!(run.phase("f"), Phase::Skipped);
    let run = simulate::run(
        &w,
        &Scenario::default()
            .param("list", "nope")
            .param("go", "true"),
    );
    assert_eq!(
        run.phase("f"),
        Phase::Error,
        "withParam must be a JSON list"
    );
    let run = simulate::run(
        &w,
        &Scenario::default()
            .param("list", "[\"a\"]")
            .param("go", "true")
            .failing("f"),
    );
    assert_eq!(run.phase("f"), Phase::Failed);
    assert_eq!(run.phase("after"), Phase::Omitted);
    assert_eq!(run.phase, Phase::Failed);
}

/// Artifacts: a task reading an artifact of a Skipped producer through a
/// bare `depends` runs and cannot resolve it (Error).
#[test]
fn simulate_artifact_of_skipped_producer() {
    let w = wf(
        json!([
            {"name": "a", "template": "pod", "when": "{{workflow.parameters.go}}"},
            {"name": "b", "template": "pod", "depends": "a",
             "arguments": {"artifacts": [{"name": "in", "from": "{{tasks.a.outputs.artifacts.a}}"}]}}
        ]),
        json!([]),
    );
    let run = simulate::run(&w, &Scenario::default());
    assert_eq!(run.phase("b"), Phase::Error, "{}", run.summary());
    let run = simulate::run(&w, &Scenario::default().param("go", "true"));
    assert_eq!(run.phase("b"), Phase::Succeeded);
}

/// A nested DAG template: its tasks see `inputs.*`, not the outer tasks;
/// `processItem` does not allow unresolved tags.
#[test]
fn simulate_nested_dag_scope() {
    let w = wf(
        json!([
            {"name": "up", "template": "pod"},
            {"name": "wrap", "template": "inner", "depends": "up",
             "arguments": {"parameters": [{"name": "m", "value": "{{tasks.up.outputs.parameters.v}}"}]}}
        ]),
        json!([{"name": "inner", "inputs": {"parameters": [{"name": "m"}]}, "dag": {"tasks": [
            {"name": "x", "template": "pod", "withItems": [1, 2],
             "when": "({{inputs.parameters.m}}) == ({{item}})"},
            {"name": "y", "template": "pod", "withItems": [1],
             "when": "('{{tasks.up.outputs.parameters.v}}') == ('{{item}}')"}
        ]}}]),
    );
    let run = simulate::run(&w, &Scenario::default().output("up", "v", "2"));
    assert_eq!(
        run.node("wrap/x").children,
        [Phase::Skipped, Phase::Succeeded]
    );
    assert_eq!(
        run.phase("wrap/y"),
        Phase::Error,
        "{:?}",
        run.node("wrap/y")
    );
    assert_eq!(run.phase("wrap"), Phase::Error);
    assert_eq!(run.phase, Phase::Error);
}

// ----- memoize (util.go SubstituteParams, cache.go cacheKeyRegex,
// configmap_cache.go Load, operator.go handleMemoization) -------------------

#[test]
fn sha256_known_vectors() {
    assert_eq!(
        sha256::hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256::hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn memoize_cache_key_rule() {
    for good in ["a", "features-0a1b", "A-9"] {
        assert!(memoize::valid_cache_key(good), "{good}");
    }
    for bad in ["", "-a", "a_b", "a.b", "step-{{=sprig.sha256sum('x')}}"] {
        assert!(!memoize::valid_cache_key(bad), "{bad}");
    }
}

fn memo_template(key: &str, inputs: Value) -> Value {
    json!({"name": "t", "inputs": inputs, "container": {"image": "x"},
           "memoize": {"key": key, "maxAge": "60s", "cache": {"configMap": {"name": "c"}}}})
}

#[test]
fn memoize_key_expansion() {
    let globals = substitution::global_scope(&BTreeMap::from([("ds".into(), "s3://x".into())]));
    // Only workflow parameters: resolved in the first pass.
    let t = memo_template(
        "t-{{=sprig.sha256sum('t' + '|' + workflow.parameters['ds'])}}",
        json!({}),
    );
    let key = memoize::memoized_key(&t, &BTreeMap::new(), &globals, PassScope::InputsOnly);
    assert_eq!(key, Ok(Some(format!("t-{}", sha256::hex(b"t|s3://x")))));
    // Inputs and workflow parameters together: v4 resolves, v3.x's second
    // pass has no `workflow` and its first pass no `inputs`.
    let t = memo_template(
        "t-{{=sprig.sha256sum('t' + '|' + inputs.parameters['n'] + '|' + workflow.parameters['ds'])}}",
        json!({"parameters": [{"name": "n"}]}),
    );
    let args = BTreeMap::from([("n".to_string(), "3".to_string())]);
    assert_eq!(
        memoize::memoized_key(&t, &args, &globals, PassScope::GlobalsAndInputs),
        Ok(Some(format!("t-{}", sha256::hex(b"t|3|s3://x"))))
    );
    let v3 = memoize::memoized_key(&t, &args, &globals, PassScope::InputsOnly).unwrap_err();
    assert!(
        v3.starts_with("invalid cache key: t-{{=sprig.sha256sum("),
        "{v3}"
    );
    // A missing input parameter is an error of ProcessArgs.
    assert_eq!(
        memoize::memoized_key(&t, &BTreeMap::new(), &globals, PassScope::GlobalsAndInputs),
        Err("inputs.parameters.n was not supplied".into())
    );
    // An artifact input is not an input parameter: nil, and the key stays.
    let t = memo_template(
        "t-{{=sprig.sha256sum('t' + '|' + inputs.parameters['data'] + '|' + inputs.parameters['n'])}}",
        json!({"parameters": [{"name": "n"}], "artifacts": [{"name": "data", "path": "/d"}]}),
    );
    let err = memoize::memoized_key(&t, &args, &globals, PassScope::GlobalsAndInputs).unwrap_err();
    assert!(err.contains("invalid cache key: t-{{="), "{err}");
}

// ----- retries and deadlines (operator.go processNodeRetries,
// checkTemplateTimeout; workflowpod.go createWorkflowPod; kubelet
// active_deadline.go pastActiveDeadline) ------------------------------------

fn strategy(
    limit: &str,
    duration: &str,
    factor: &str,
    cap: Option<&str>,
    max: Option<&str>,
) -> RetryStrategy {
    RetryStrategy {
        limit: Some(limit.into()),
        policy: None,
        backoff: Some(retry::Backoff {
            duration: Some(duration.into()),
            factor: Some(factor.into()),
            cap: cap.map(String::from),
            max_duration: max.map(String::from),
        }),
    }
}

fn failed(start: f64, finish: f64) -> Attempt {
    Attempt {
        start,
        finish,
        phase: Phase::Failed,
    }
}

#[test]
fn retry_backoff_sequence_and_cap() {
    let rs = strategy("5", "30s", "2", Some("2m"), None);
    assert_eq!(
        retry::backoff_waits(&rs, 5).unwrap(),
        [30.0, 60.0, 120.0, 120.0, 120.0]
    );
    assert_eq!(retry::parse_duration("600"), Ok(600.0));
    assert_eq!(retry::parse_duration("1h30m"), Ok(5400.0));
    assert!(retry::parse_duration("10x").is_err());
    // The wait is counted from the last attempt's finish.
    let rs = strategy("3", "30s", "2", None, None);
    assert_eq!(
        retry::next_attempt(&rs, &[failed(0.0, 100.0)]),
        Ok((130.0, None))
    );
    assert_eq!(
        retry::next_attempt(&rs, &[failed(0.0, 100.0), failed(130.0, 200.0)]),
        Ok((260.0, None))
    );
}

/// `maxDuration` is a window from the first attempt's start; the retry
/// inside it runs with the window's end as its deadline.
#[test]
fn retry_max_duration_is_measured_from_the_first_start() {
    let rs = strategy("10", "10s", "1", None, Some("600s"));
    assert_eq!(
        retry::next_attempt(&rs, &[failed(0.0, 300.0)]),
        Ok((310.0, Some(600.0)))
    );
    assert_eq!(
        retry::next_attempt(&rs, &[failed(0.0, 300.0), failed(310.0, 595.0)]),
        Err("Backoff would exceed max duration limit".into())
    );
    assert_eq!(
        retry::next_attempt(&rs, &[failed(0.0, 601.0)]),
        Err("Max duration limit exceeded".into())
    );
    // Not from the last attempt's start: 2nd attempt started at 310.
    assert!(
        retry::decide(&rs, &[failed(0.0, 300.0), failed(310.0, 650.0)], 650.0)
            .unwrap()
            .eq(&Decision::GiveUp("Max duration limit exceeded".into()))
    );
}

#[test]
fn retry_limit_and_policy() {
    let rs = RetryStrategy {
        limit: Some("2".into()),
        ..Default::default()
    };
    let mut attempts = vec![failed(0.0, 1.0)];
    assert_eq!(retry::next_attempt(&rs, &attempts), Ok((1.0, None)));
    attempts.push(failed(1.0, 2.0));
    assert!(retry::next_attempt(&rs, &attempts).is_ok());
    attempts.push(failed(2.0, 3.0));
    assert_eq!(
        retry::next_attempt(&rs, &attempts),
        Err("No more retries left".into()),
        "limit 2: three attempts in all"
    );
    // OnFailure (the default) does not retry an Error.
    let errored = [Attempt {
        start: 0.0,
        finish: 1.0,
        phase: Phase::Error,
    }];
    assert!(retry::next_attempt(&rs, &errored).is_err());
    let always = RetryStrategy {
        policy: Some("Always".into()),
        ..rs.clone()
    };
    assert!(retry::next_attempt(&always, &errored).is_ok());
}

/// Template `timeout` counts Pending time; `activeDeadlineSeconds` counts
/// from the pod's start on a node.
#[test]
fn timeout_versus_active_deadline() {
    let pending_4h = PodLife {
        created: 0.0,
        started: Some(4.0 * 3600.0),
        runs_for: 600.0,
        natural: Phase::Succeeded,
    };
    assert_eq!(
        retry::pod_outcome(pending_4h, None, Some(3.0 * 3600.0)).0,
        Phase::Succeeded,
        "activeDeadlineSeconds does not count the 4h in Pending"
    );
    assert_eq!(
        retry::pod_outcome(pending_4h, Some(3.0 * 3600.0), None),
        (
            Phase::Failed,
            3.0 * 3600.0,
            "template timeout while Pending"
        )
    );
    let long = PodLife {
        created: 0.0,
        started: Some(60.0),
        runs_for: 5.0 * 3600.0,
        natural: Phase::Succeeded,
    };
    assert_eq!(
        retry::pod_outcome(long, None, Some(3.0 * 3600.0)),
        (
            Phase::Failed,
            60.0 + 3.0 * 3600.0,
            "pod active deadline exceeded"
        )
    );
}

// ----- the examples, against the program oracle ---------------------------

/// The task of a stage, and of a metric gate (docs/compile.md: tasks are
/// the DNS forms of stage names; a metric gate is `STAGE-metrics`).
fn task_of(stage: &str) -> String {
    mlpc::sema::dns_name(stage)
}

struct Case {
    facts: program_oracle::Facts,
    label: String,
}

/// Runs one case through the Argo model and the oracle and compares the
/// stages that ran and whether the workflow failed.
fn compare(
    program: &mlpc::sema::hir::Program,
    pipeline: &mlpc::sema::hir::Pipeline,
    wf: &Workflow,
    case: &Case,
) -> Result<(), String> {
    compare_with(program, pipeline, wf, case, PassScope::GlobalsAndInputs)
}

/// [`compare`] with the memoization pass of a given Argo version.
fn compare_with(
    program: &mlpc::sema::hir::Program,
    pipeline: &mlpc::sema::hir::Pipeline,
    wf: &Workflow,
    case: &Case,
    pass: PassScope,
) -> Result<(), String> {
    let expected = program_oracle::outcomes(program, pipeline, &case.facts);
    let param_dns: BTreeMap<String, String> = pipeline
        .params
        .iter()
        .map(|p| (p.name.to_string(), p.dns_name.to_string()))
        .collect();
    let mut scenario = Scenario {
        pass,
        ..Scenario::default()
    };
    for (k, v) in &case.facts.params {
        scenario = scenario.param(&param_dns[k], v);
    }
    for ((stage, out), v) in &case.facts.outputs {
        scenario = scenario.output(&task_of(stage), out, v);
    }
    for ((stage, m), v) in &case.facts.metrics {
        scenario = scenario.output(&format!("{}-metrics", task_of(stage)), m, v);
    }
    for s in &case.facts.fail {
        // A distributed stage's task runs a DAG: its training job fails,
        // and the step after it, which ends the MLflow run, then exits 1
        // (src/emit/scripts/mlflow_job_end.py). No other stage has these.
        let task = task_of(s);
        scenario = scenario
            .failing(&task)
            .failing(&format!("{task}/job"))
            .failing(&format!("{task}/mlflow-end"));
    }
    let run = simulate::run(wf, &scenario);
    let stages: BTreeSet<String> = pipeline.stages.iter().map(|s| task_of(&s.name)).collect();
    let ran: BTreeSet<String> = run.ran().intersection(&stages).cloned().collect();
    let want: BTreeSet<String> = expected
        .iter()
        .filter(|(_, o)| o.ran())
        .map(|(s, _)| task_of(s))
        .collect();
    let fails = run.phase.failed_or_error();
    let want_fail = program_oracle::fails(&expected);
    if ran != want || fails != want_fail {
        return Err(format!(
            "{}: ran {ran:?}, oracle {want:?}; workflow {:?}, oracle fails: {want_fail}\n{expected:?}\n{}",
            case.label,
            run.phase,
            run.summary()
        ));
    }
    Ok(())
}

/// Candidate values for what a `when` reads: boundaries of every literal
/// the examples compare with, and both bools.
const NUMBERS: &[&str] = &["0", "0.02", "0.05", "0.1", "0.4", "0.8", "0.85", "0.9", "1"];

fn refs(c: &mlpc::sema::hir::Cond, out: &mut Vec<mlpc::sema::hir::Ref>) {
    use mlpc::sema::hir::Cond;
    match c {
        Cond::Ref(r) | Cond::Call { arg: r, .. } => out.push(r.clone()),
        Cond::Lit(_) => {}
        Cond::Unary { operand, .. } => refs(operand, out),
        Cond::Binary { lhs, rhs, .. } => {
            refs(lhs, out);
            refs(rhs, out);
        }
    }
}

fn str_literals(c: &mlpc::sema::hir::Cond, out: &mut Vec<String>) {
    use mlpc::sema::hir::{Cond, StrPart, Value};
    match c {
        Cond::Lit(Value::Str(parts)) => out.push(
            parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => t.to_string(),
                    StrPart::Ref(_) => String::new(),
                })
                .collect(),
        ),
        Cond::Lit(_) | Cond::Ref(_) | Cond::Call { .. } => {}
        Cond::Unary { operand, .. } => str_literals(operand, out),
        Cond::Binary { lhs, rhs, .. } => {
            str_literals(lhs, out);
            str_literals(rhs, out);
        }
    }
}

/// Every case for a pipeline: all succeed; every combination of values a
/// `when` reads (so each gate is both true and false, boundaries included);
/// each stage failing in turn.
fn cases(program: &mlpc::sema::hir::Program, pipeline: &mlpc::sema::hir::Pipeline) -> Vec<Case> {
    use mlpc::sema::hir::Ref;
    use mlpc::sema::types::Ty;
    let base = program_oracle::Facts {
        default_value: "1".into(),
        ..Default::default()
    };
    let mut out = vec![Case {
        facts: base.clone(),
        label: "all succeed".into(),
    }];
    for stage in &pipeline.stages {
        let Some(cond) = program_oracle::stage_when(program, stage) else {
            continue;
        };
        let mut rs = Vec::new();
        refs(cond, &mut rs);
        let mut lits = Vec::new();
        str_literals(cond, &mut lits);
        lits.push("zz-other".into());
        // Each ref with its candidate values.
        let mut axes: Vec<(Ref, Vec<String>)> = Vec::new();
        for r in rs {
            if axes.iter().any(|(x, _)| *x == r) {
                continue;
            }
            let values: Vec<String> = match &r {
                Ref::Metric { .. } => NUMBERS.iter().map(|s| s.to_string()).collect(),
                Ref::Output { stage, output, .. } => {
                    match program_oracle::output_ty(program, pipeline.stage(*stage), output) {
                        Some(Ty::Int | Ty::Float) => {
                            NUMBERS.iter().map(|s| s.to_string()).collect()
                        }
                        Some(Ty::Bool) => vec!["true".into(), "false".into()],
                        _ => lits.clone(),
                    }
                }
                Ref::Param(name) => {
                    let p = pipeline.params.iter().find(|p| p.name == *name).unwrap();
                    match p.ty {
                        Ty::Bool => vec!["true".into(), "false".into()],
                        Ty::String => lits.clone(),
                        // Numeric thresholds keep their defaults.
                        _ => continue,
                    }
                }
                _ => continue,
            };
            axes.push((r, values));
        }
        let mut combos: Vec<Vec<(Ref, String)>> = vec![Vec::new()];
        for (r, values) in &axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((r.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        for combo in combos {
            let mut facts = base.clone();
            let mut label = format!("when of {}:", stage.name);
            for (r, v) in combo {
                match r {
                    Ref::Metric { stage, name, .. } => {
                        let s = pipeline.stage(stage).name.to_string();
                        label += &format!(" {s}.metrics.{name}={v}");
                        facts.metrics.insert((s, name.to_string()), v);
                    }
                    Ref::Output { stage, output, .. } => {
                        let s = pipeline.stage(stage).name.to_string();
                        label += &format!(" {s}.{output}={v}");
                        facts.outputs.insert((s, output.to_string()), v);
                    }
                    Ref::Param(name) => {
                        label += &format!(" {name}={v}");
                        facts.params.insert(name.to_string(), v);
                    }
                    _ => {}
                }
            }
            out.push(Case { facts, label });
        }
    }
    for stage in &pipeline.stages {
        let mut facts = base.clone();
        facts.fail.insert(stage.name.to_string());
        out.push(Case {
            facts,
            label: format!("{} fails", stage.name),
        });
    }
    out
}

/// Example cases where the current output is wrong per the model (see
/// `defect_after_a_failure_upstream_blocks`): a stage `after` a stage that
/// was omitted because something before it failed still runs, and the
/// workflow then succeeds.
const KNOWN_WRONG: &[(&str, &str)] = &[];

/// Every case of every example under one memoization pass: how many, and
/// the (file, case, message) of each that differs from the oracle.
fn check_examples(pass: PassScope) -> (usize, Vec<(String, String, String)>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for path in common::mlp_files(&common::root().join("examples")) {
        let rel = common::relative(&path);
        let analysis = common::analyze_file(&rel);
        let program = analysis.program.as_ref().expect("examples check clean");
        let docs = common::compile_docs(&rel, &Default::default());
        for (pipeline, doc) in program.pipelines.iter().zip(&docs) {
            // The oracle models v1 programs; groups, fan-in and `finally`
            // are run in the model by tests/groups.rs.
            if !pipeline.groups.is_empty() || !pipeline.finally.is_empty() {
                continue;
            }
            let wf = Workflow::from_doc(doc);
            for case in cases(program, pipeline) {
                count += 1;
                if let Err(e) = compare_with(program, pipeline, &wf, &case, pass) {
                    failures.push((rel.display().to_string(), case.label.clone(), e));
                }
            }
        }
    }
    (count, failures)
}

/// Every example, every scenario, in Argo v4 and in v3's memoization pass:
/// the stages Argo runs are the stages the program says run, and the
/// workflow fails exactly when a stage fails - except the listed cases of a
/// known defect, which `defect_after_a_failure_upstream_blocks` asserts.
#[test]
fn examples_run_as_the_program_says() {
    for pass in [PassScope::GlobalsAndInputs, PassScope::InputsOnly] {
        let (count, failures) = check_examples(pass);
        assert!(count > 200, "only {count} cases");
        let unexpected: Vec<String> = failures
            .iter()
            .filter(|(f, l, _)| !KNOWN_WRONG.contains(&(f.as_str(), l.as_str())))
            .map(|(f, _, e)| format!("{f}: {e}"))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{pass:?}: {} cases differ:\n{}",
            unexpected.len(),
            unexpected.join("\n\n")
        );
    }
}

/// The comparison can fail: with a wrong `depends` or `when` in the YAML,
/// some case of the example differs from the oracle.
#[test]
fn examples_check_catches_a_mutated_workflow() {
    let rel = Path::new("examples/churn_model.mlp");
    let analysis = common::analyze_file(rel);
    let program = analysis.program.as_ref().unwrap();
    let pipeline = &program.pipelines[0];
    let doc = common::compile_docs(rel, &Default::default()).remove(0);
    let mutate = |edit: &dyn Fn(&mut Value)| -> usize {
        let mut d = doc.clone();
        for t in template_mut(&mut d, "main")["dag"]["tasks"]
            .as_array_mut()
            .unwrap()
        {
            edit(t);
        }
        let wf = Workflow::from_doc(&d);
        cases(program, pipeline)
            .iter()
            .filter(|c| compare(program, pipeline, &wf, c).is_err())
            .count()
    };
    let edit_when = |from: &'static str, to: &'static str| {
        move |t: &mut Value| {
            if t["name"] == "churn-registry" {
                let w = t["when"].as_str().unwrap();
                assert!(w.contains(from), "{w}");
                t["when"] = json!(w.replacen(from, to, 1));
            }
        }
    };
    assert_eq!(mutate(&|_| {}), 0, "the unmutated workflow agrees");
    // A skipped register must not let deploy run: `.Succeeded` dropped.
    let bare = mutate(&|t| {
        if t["name"] == "serve-resolve" {
            t["depends"] = json!("churn-registry");
        }
    });
    assert!(bare > 0, "a bare depends on the gate is caught");
    // Inside the expression tag: a comparison flipped, a bound moved, a
    // conjunction weakened, a bool compared with the wrong text, a metric
    // compared as a string (expr: `string >= float64` fails, the node
    // errors).
    for (from, to) in [
        (">=", "<"),
        ("(0.4)", "(0.04)"),
        (")) && ((asFloat", ")) || ((asFloat"),
        ("== 'true'", "== 'True'"),
        (
            "asFloat(tasks['model-metrics'].outputs.parameters['auc'])",
            "tasks['model-metrics'].outputs.parameters['auc']",
        ),
    ] {
        let caught = mutate(&edit_when(from, to));
        assert!(caught > 0, "`{from}` -> `{to}` in the when is caught");
    }
    // Deploy let through when the register was omitted (model failed).
    let dropped = mutate(&|t| {
        if t["name"] == "serve-resolve" {
            t["depends"] = json!("churn-registry.Succeeded || churn-registry.Omitted");
        }
    });
    assert!(dropped > 0, "a missing failure dependency is caught");
}

// ----- defects of issue #10, on the current output -------------------------
//
// Each drives the compiled output through the model, and then the form the
// output had before the fix (edited back into the YAML), which must fail:
// that assertion documents the regression the fix closed.

fn compile_inline(text: &str) -> (mlpc::sema::hir::Program, Value) {
    let analysis = mlpc::analyze("inline.mlp", None, text.as_bytes(), &mlpc::FsLoader);
    let Some(program) = analysis.program.clone() else {
        panic!(
            "inline program has errors:\n{}",
            common::render_plain(&analysis)
        );
    };
    let yaml = mlpc::yaml(&program, &Default::default()).expect("emits");
    let doc = common::yaml::parse_documents(&yaml).unwrap().remove(0);
    (program, doc)
}

fn check_doc(program: &mlpc::sema::hir::Program, doc: &Value, cases: &[Case]) -> Vec<String> {
    let wf = Workflow::from_doc(doc);
    cases
        .iter()
        .filter_map(|c| compare(program, &program.pipelines[0], &wf, c).err())
        .collect()
}

fn check_inline(text: &str, cases: &[Case]) -> Vec<String> {
    let (program, doc) = compile_inline(text);
    check_doc(&program, &doc, cases)
}

fn facts() -> program_oracle::Facts {
    program_oracle::Facts {
        default_value: "1".into(),
        ..Default::default()
    }
}

/// A case: the default facts, edited.
fn case(label: &str, edit: impl FnOnce(&mut program_oracle::Facts)) -> Case {
    let mut f = facts();
    edit(&mut f);
    Case {
        facts: f,
        label: label.into(),
    }
}

/// A template of a compiled Workflow, to edit.
fn template_mut<'d>(doc: &'d mut Value, name: &str) -> &'d mut Value {
    doc["spec"]["templates"]
        .as_array_mut()
        .expect("templates")
        .iter_mut()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

/// A task of a DAG template, to edit.
fn task_mut<'d>(doc: &'d mut Value, template: &str, task: &str) -> &'d mut Value {
    template_mut(doc, template)["dag"]["tasks"]
        .as_array_mut()
        .expect("tasks")
        .iter_mut()
        .find(|t| t["name"] == task)
        .unwrap_or_else(|| panic!("no task {task} in {template}"))
}

const AFTER_OMITTED: &str = r#"
pipeline p {
  param go: bool = false
  job a {
    image = "x:1"
    command = ["a"]
    output v: string = "/tmp/v"
    when go
  }
  job b {
    image = "x:1"
    command = ["b", a.v]
  }
  job c {
    image = "x:1"
    command = ["c"]
    after = [b]
  }
}
"#;

/// (a) `after = [b]` where `b` does not run because its producer `a` was
/// skipped: a skipped stage does not block, so `c` runs. The output says
/// `depends: (b || b.Omitted)`.
#[test]
fn defect_a_after_an_omitted_stage_still_runs() {
    let cases = [
        case("a skipped", |_| {}),
        case("a runs", |f| {
            f.params.insert("go".into(), "true".into());
        }),
    ];
    let (program, doc) = compile_inline(AFTER_OMITTED);
    let failures = check_doc(&program, &doc, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The old form, a bare `depends: b`, expands to
    // `b.Succeeded || b.Skipped || b.Daemoned` (ancestry.go): an omitted
    // `b` omits `c`.
    let mut old = doc.clone();
    task_mut(&mut old, "main", "c")["depends"] = json!("b");
    assert_eq!(check_doc(&program, &old, &cases[..1]).len(), 1);
}

/// The rule behind (a): a bare `after` target does not accept `Omitted`;
/// spelling the results out does, and a failed target still blocks.
#[test]
fn after_target_omitted_needs_an_explicit_result() {
    let results = BTreeMap::from([("b".to_string(), TaskResults::of(Phase::Omitted, None))]);
    assert_eq!(depends::evaluate("b", &no_continue, &results), Ok(false));
    let tolerant = "(b || b.Omitted)";
    assert_eq!(
        depends::evaluate(tolerant, &no_continue, &results),
        Ok(true)
    );
    let failed = BTreeMap::from([("b".to_string(), TaskResults::of(Phase::Failed, None))]);
    assert_eq!(
        depends::evaluate(tolerant, &no_continue, &failed),
        Ok(false)
    );
}

/// A real defect of the fix for (a): `(b || b.Omitted)` cannot tell an
/// `b` omitted because its input was skipped from one omitted because a
/// stage before it FAILED. Then `c` runs, and since `c` completed
/// Succeeded, `assessDAGPhase` (an omitted branch inherits its parents'
/// phase only until a node completes) ends the workflow Succeeded: the
/// failure is hidden. The program says `c` never runs and the run fails.
/// Seen in the examples too (`KNOWN_WRONG`): fraud_champion's `serve`
/// runs when `challenger` fails, hyperparameter_sweep's `summary` when
/// `download` fails.
#[test]
fn defect_after_a_failure_upstream_blocks() {
    let failures = check_inline(
        AFTER_OMITTED,
        &[case("a fails", |f| {
            f.params.insert("go".into(), "true".into());
            f.fail.insert("a".into());
        })],
    );
    let (_, examples) = check_examples(PassScope::GlobalsAndInputs);
    let examples: Vec<String> = examples
        .into_iter()
        .filter(|(f, l, _)| KNOWN_WRONG.contains(&(f.as_str(), l.as_str())))
        .map(|(f, _, e)| format!("{f}: {e}"))
        .collect();
    assert!(
        failures.is_empty() && examples.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        examples.join("\n")
    );
}

const FAN_OUT_WHEN: &str = r#"
pipeline p {
  job up {
    image = "x:1"
    command = ["up"]
    output mode: string = "/tmp/mode"
  }
  job fan {
    image = "x:1"
    for_each = ["a", "b", "c"]
    parallelism = 2
    command = ["run", item]
    when up.mode == "go" && item != "b"
  }
}
"#;

/// (b) A fan-out with `parallelism` whose `when` mixes an upstream output
/// with `item`: the condition is decided inside the wrapper DAG, per item,
/// and the upstream output enters the wrapper as an input (`mlp-when-N`).
#[test]
fn defect_b_fan_out_when_reads_upstream_output() {
    let cases = [
        case("mode go", |f| {
            f.outputs.insert(("up".into(), "mode".into()), "go".into());
        }),
        case("mode stop", |f| {
            f.outputs
                .insert(("up".into(), "mode".into()), "stop".into());
        }),
    ];
    let (program, doc) = compile_inline(FAN_OUT_WHEN);
    let failures = check_doc(&program, &doc, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let run = simulate::run(
        &Workflow::from_doc(&doc),
        &Scenario::default().output("up", "mode", "go"),
    );
    assert_eq!(
        run.node("fan").pods,
        2,
        "items a and c run: {}",
        run.summary()
    );
    // The old form read `{{tasks.up...}}` inside the wrapper, where it is
    // out of scope: processItem cannot resolve it and the fan-out errors
    // (when the outer condition, now decided apart, lets the loop start).
    let mut old = doc.clone();
    let wrapper = str_of_task_template(&doc, "fan");
    task_mut(&mut old, &wrapper, "fan")["when"] =
        json!("(('{{tasks.up.outputs.parameters.mode}}') == ('go')) && (('{{item}}') != ('b'))");
    assert_eq!(check_doc(&program, &old, &cases).len(), 1);
}

/// The template a task of `main` calls.
fn str_of_task_template(doc: &Value, task: &str) -> String {
    let mut d = doc.clone();
    task_mut(&mut d, "main", task)["template"]
        .as_str()
        .unwrap()
        .to_string()
}

fn terraform_gate_cases(doc: &Value, values: &[&str]) -> Vec<String> {
    let rel = Path::new("examples/terraform_optimization.mlp");
    let analysis = common::analyze_file(rel);
    let program = analysis.program.as_ref().unwrap();
    let cases: Vec<Case> = values
        .iter()
        .map(|value| {
            case(&format!("cost_reduction = {value}"), |f| {
                f.metrics.insert(
                    ("optimizer".into(), "cost_reduction".into()),
                    value.to_string(),
                );
            })
        })
        .collect();
    check_doc(program, doc, &cases)
}

fn terraform_doc() -> Value {
    common::compile_docs(
        Path::new("examples/terraform_optimization.mlp"),
        &Default::default(),
    )
    .remove(0)
}

/// The `when` of the terraform example as the output had it before the
/// expression tags: the metric spliced into govaluate's text.
fn terraform_old_form() -> Value {
    let mut old = terraform_doc();
    task_mut(&mut old, "main", "terraform-optimizer")["when"] =
        json!("({{tasks.optimizer-metrics.outputs.parameters.cost_reduction}}) >= (0.1)");
    old
}

/// (c) A metric in Python's exponent notation (`1e-05`, `1e+06`): the tag
/// compares `asFloat` of it, which reads Go floats.
#[test]
fn defect_c_metric_in_exponent_notation() {
    let values = ["1e-05", "1e+06", "0.00001", "0.1", "1000000.0"];
    let failures = terraform_gate_cases(&terraform_doc(), &values);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Old form: govaluate reads `1`, then the word `e`: the `when` errors.
    let failures = terraform_gate_cases(&terraform_old_form(), &values);
    assert_eq!(failures.len(), 2, "{}", failures.join("\n"));
    assert!(should_execute("(1e-05) >= (0.1)").is_err());
}

/// (c) `nan` / `inf` metrics. The metric gate will fail on a NaN (decided
/// policy) and write +-inf as the largest finite float in fixed point, so
/// the `when` sees neither word; what it would do with them is a property
/// of the expression form, checked here on the compiled tag itself: in
/// expr, `asFloat('nan')` is a NaN (Go's `strconv.ParseFloat`) and every
/// comparison with a NaN is false (the generated `vm/runtime` helpers
/// compare float64 with Go's operators), so `>=` skips; `inf` compares as
/// infinity. The largest float in fixed point compares as a float.
#[test]
fn defect_c_metric_nan_or_inf() {
    let doc = terraform_doc();
    let mut d = doc.clone();
    let when = task_mut(&mut d, "main", "terraform-optimizer")["when"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        when.starts_with("{{=") && when.contains("asFloat("),
        "{when}"
    );
    let eval = |v: &str| {
        let s = scope(&[(
            "tasks.optimizer-metrics.outputs.parameters.cost_reduction",
            v,
        )]);
        substitution::replace(&when, &s, true).unwrap()
    };
    assert_eq!(eval("nan"), "false");
    assert_eq!(eval("NaN"), "false");
    assert_eq!(eval("inf"), "true");
    assert_eq!(eval("-inf"), "false");
    let max = format!("{:.1}", f64::MAX);
    assert_eq!(eval(&max), "true");
    assert_eq!(eval(&format!("-{max}")), "false");
    // Through the DAG, with what the gate writes for +-inf.
    let failures = terraform_gate_cases(&doc, &[&max, &format!("-{max}")]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Old form: bare words are strings to govaluate; `>=` with a number
    // errors.
    assert!(should_execute("(nan) >= (0.1)").is_err());
    assert!(should_execute("(inf) >= (0.1)").is_err());
    let run = simulate::run(
        &Workflow::from_doc(&terraform_old_form()),
        &Scenario::default().output("optimizer-metrics", "cost_reduction", "nan"),
    );
    assert_eq!(run.phase("terraform-optimizer"), Phase::Error);
}

const QUOTE_IN_WHEN: &str = r#"
pipeline p {
  param owner: string = "O'Brien"
  job a {
    image = "x:1"
    command = ["a"]
    when owner == "O'Brien"
  }
  job b {
    image = "x:1"
    command = ["b"]
    when owner != "it's"
  }
}
"#;

/// (d) A string value with a `'` inside a `when`: the value is data the
/// tag compares, not text spliced into the expression.
#[test]
fn defect_d_quote_in_a_when_value() {
    let cases = [
        case("owner O'Brien", |_| {}),
        case("owner it's", |f| {
            f.params.insert("owner".into(), "it's".into());
        }),
        case("owner plain", |f| {
            f.params.insert("owner".into(), "plain".into());
        }),
    ];
    let (program, doc) = compile_inline(QUOTE_IN_WHEN);
    let failures = check_doc(&program, &doc, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Old form: `'O'Brien'` ends the string early and the `when` errors.
    let mut old = doc.clone();
    task_mut(&mut old, "main", "a")["when"] =
        json!(r"('{{workflow.parameters.owner}}') == ('O\'Brien')");
    let failures = check_doc(&program, &old, &cases);
    assert_eq!(failures.len(), 2, "{}", failures.join("\n"));
}

const MEMO_ARTIFACT: &str = r#"
template job step {
  input data: file
  input shard: string
  image = "x:1"
  command = ["run", data, shard]
  cache = 1h
}
pipeline p {
  prep make {
    image = "x:1"
    command = ["make"]
    output out: file = "/tmp/o"
  }
  job a uses step { data = make.out, shard = "1" }
  job b uses step { data = make.out, shard = "2" }
}
"#;

/// The key a memoized task's node would look up, in a given pass.
fn task_key(wf: &Workflow, task: &Value, pass: PassScope) -> Result<Option<String>, String> {
    let tmpl = wf.template(task["template"].as_str().unwrap()).unwrap();
    let globals = substitution::global_scope(&wf.params);
    let args: BTreeMap<String, String> = task["arguments"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let v = p["value"].as_str().unwrap_or_default();
            (
                p["name"].as_str().unwrap().to_string(),
                substitution::replace(v, &globals, true).unwrap(),
            )
        })
        .collect();
    memoize::memoized_key(tmpl, &args, &globals, pass)
}

/// (e) The key of a shared template whose input `data` is an artifact: the
/// artifact is keyed by its producer's definition (`mlp-key-0`), never read
/// as a parameter; both tasks get valid, different keys in v3 and v4.
#[test]
fn defect_e_memo_key_reads_an_artifact_input() {
    let (program, doc) = compile_inline(MEMO_ARTIFACT);
    let failures = check_doc(&program, &doc, &[case("all succeed", |_| {})]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let wf = Workflow::from_doc(&doc);
    let key = |task: &str, pass| {
        let mut d = doc.clone();
        let t = task_mut(&mut d, "main", task).clone();
        task_key(&wf, &t, pass)
    };
    let a = key("a", PassScope::GlobalsAndInputs).unwrap().unwrap();
    assert!(memoize::valid_cache_key(&a), "{a}");
    assert!(a.starts_with("step-"));
    assert_eq!(Ok(Some(a.clone())), key("a", PassScope::InputsOnly));
    assert_ne!(Ok(Some(a)), key("b", PassScope::GlobalsAndInputs));
    // Old form: the key joined `inputs.parameters['data']` (nil for an
    // artifact) with `+`: a run-time error, the `{{=` stays, the key fails
    // cacheKeyRegex and the node errors before its pod.
    let mut old = doc.clone();
    template_mut(&mut old, "step")["memoize"]["key"] = json!(
        "step-{{=sprig.sha256sum('step' + '|' + inputs.parameters['data'] + '|' + inputs.parameters['shard'])}}"
    );
    let failures = check_doc(&program, &old, &[case("all succeed", |_| {})]);
    assert_eq!(failures.len(), 1);
    let run = simulate::run(&Workflow::from_doc(&old), &Scenario::default());
    assert!(
        run.node("a")
            .message
            .starts_with("invalid cache key: step-{{="),
        "{}",
        run.summary()
    );
}

/// (f) `retries { max = 10m }` is `backoff.cap`, the longest wait between
/// attempts: on a stage whose `timeout` is 3h, an attempt that fails after
/// 20 minutes is retried, and the retry is not cut short.
#[test]
fn defect_f_max_is_not_a_total_window() {
    let doc =
        common::compile_docs(Path::new("examples/churn_model.mlp"), &Default::default()).remove(0);
    let wf = Workflow::from_doc(&doc);
    let rs = RetryStrategy::from_template(wf.template("model").unwrap()).unwrap();
    let check = |rs: &RetryStrategy| -> Result<(), String> {
        // The first attempt trains for 20 minutes, then fails.
        let (_, deadline) = retry::next_attempt(rs, &[failed(0.0, 1200.0)])?;
        if deadline.is_some() {
            return Err(format!("retry killed at {deadline:?}"));
        }
        let waits = retry::backoff_waits(rs, 3)?;
        if waits.iter().any(|w| *w > 600.0) {
            return Err(format!("waits {waits:?} over 10m"));
        }
        Ok(())
    };
    assert_eq!(check(&rs), Ok(()));
    assert_eq!(rs.backoff.as_ref().unwrap().cap.as_deref(), Some("600s"));
    // Old form: `maxDuration: 600s`, a window from the first attempt's
    // start: a failure after 20 minutes is never retried.
    let mut old = rs.clone();
    let b = old.backoff.as_mut().unwrap();
    b.max_duration = b.cap.take();
    assert_eq!(check(&old), Err("Max duration limit exceeded".into()));
}

// ----- regressions through the model ---------------------------------------

const HOSTILE_WHEN: &str = r#"
pipeline p {
  job up {
    image = "x:1"
    command = ["up"]
    output v: string = "/tmp/v"
  }
  job eq {
    image = "x:1"
    command = ["eq"]
    when up.v == "go"
  }
  job ne {
    image = "x:1"
    command = ["ne"]
    when up.v != "go"
  }
  job lit {
    image = "x:1"
    command = ["lit"]
    when up.v == "it's ? a : \"b\" }} ) || (1 == 1"
  }
}
"#;

/// Upstream values that would be syntax if spliced into an expression.
const HOSTILE: &[&str] = &[
    "go",
    "'",
    "\"",
    ") || (1 == 1",
    "? x :",
    "x') == ('x') || ('go",
    "}}",
    "{{",
    "\\",
    "it's ? a : \"b\" }} ) || (1 == 1",
];

/// A hostile upstream output in a `when`: the tag's result is what a plain
/// comparison of the value says, whatever the value holds; the tag's own
/// text holds no `?`, `:`, `{`, `}` or `"` (its literal is escaped). (A
/// literal cannot hold `{{`: mlpc refuses it, E0215.)
#[test]
fn hostile_upstream_value_in_a_when() {
    let (program, doc) = compile_inline(HOSTILE_WHEN);
    let wf = Workflow::from_doc(&doc);
    let mut d = doc.clone();
    let lit_when = task_mut(&mut d, "main", "lit")["when"]
        .as_str()
        .unwrap()
        .to_string();
    let inner = &lit_when[3..lit_when.len() - 2];
    for bad in ['?', ':', '{', '}', '"'] {
        assert!(!inner.contains(bad), "{lit_when}");
    }
    let literal = "it's ? a : \"b\" }} ) || (1 == 1";
    for v in HOSTILE {
        let run = simulate::run(&wf, &Scenario::default().output("up", "v", v));
        let ran = |t: &str| run.phase(t) == Phase::Succeeded;
        assert_eq!(ran("eq"), *v == "go", "eq, v = {v:?}: {}", run.summary());
        assert_eq!(ran("ne"), *v != "go", "ne, v = {v:?}: {}", run.summary());
        assert_eq!(
            ran("lit"),
            *v == literal,
            "lit, v = {v:?}: {}",
            run.summary()
        );
        assert_eq!(run.phase, Phase::Succeeded, "v = {v:?}");
        let failures = check_doc(
            &program,
            &doc,
            &[case(&format!("v = {v:?}"), |f| {
                f.outputs.insert(("up".into(), "v".into()), v.to_string());
            })],
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    // Old form: the value spliced into govaluate's text changes the
    // condition: `x') == ('x') || ('go` makes `eq` run.
    let mut old = doc.clone();
    task_mut(&mut old, "main", "eq")["when"] =
        json!("('{{tasks.up.outputs.parameters.v}}') == ('go')");
    let run = simulate::run(
        &Workflow::from_doc(&old),
        &Scenario::default().output("up", "v", "x') == ('x') || ('go"),
    );
    assert_eq!(run.phase("eq"), Phase::Succeeded, "{}", run.summary());
}

/// Was a real defect: a `when` that read `item` kept govaluate's text form
/// inside the fan-out's wrapper DAG, with the upstream output substituted as
/// text between quotes, so `O'Brien` broke it and `x') == ('x') || ('go`
/// made it true. Now the `&&` part on the output is an expression tag on
/// the outer task and the item part stays inside; a part mixing both is
/// E0221 (tests/when.rs).
#[test]
fn defect_fan_out_when_splices_upstream_values() {
    let cases: Vec<Case> = ["x') == ('x') || ('go", "O'Brien", "go"]
        .iter()
        .map(|v| {
            case(&format!("mode {v:?}"), |f| {
                f.outputs
                    .insert(("up".into(), "mode".into()), v.to_string());
            })
        })
        .collect();
    let failures = check_inline(FAN_OUT_WHEN, &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const TIMEOUT: &str = r#"
pipeline p {
  job slow {
    image = "x:1"
    command = ["slow"]
    timeout = 3h
  }
}
"#;

/// `timeout = 3h` is the template's `timeout` (the node from its start,
/// Pending included: `checkTemplateTimeout`) and `activeDeadlineSeconds`
/// (the running pod, from the kubelet's start: `pastActiveDeadline`). A
/// pod that stays Pending 4h fails at 3h; with `activeDeadlineSeconds`
/// alone it would wait out the 4h and then run.
#[test]
fn timeout_counts_pending_time() {
    let (_, doc) = compile_inline(TIMEOUT);
    let wf = Workflow::from_doc(&doc);
    let t = wf.template("slow").unwrap();
    let seconds = |v: &Value| -> Option<f64> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(retry::parse_duration(&text).unwrap())
    };
    let timeout = seconds(&t["timeout"]);
    let ads = seconds(&t["activeDeadlineSeconds"]);
    assert_eq!((timeout, ads), (Some(10800.0), Some(10800.0)));
    let pending_4h = PodLife {
        created: 0.0,
        started: Some(4.0 * 3600.0),
        runs_for: 600.0,
        natural: Phase::Succeeded,
    };
    assert_eq!(
        retry::pod_outcome(pending_4h, timeout, ads),
        (Phase::Failed, 10800.0, "template timeout while Pending")
    );
    let never_scheduled = PodLife {
        started: None,
        ..pending_4h
    };
    assert_eq!(
        retry::pod_outcome(never_scheduled, timeout, ads).0,
        Phase::Failed
    );
    let runs_4h = PodLife {
        created: 0.0,
        started: Some(60.0),
        runs_for: 4.0 * 3600.0,
        natural: Phase::Succeeded,
    };
    assert_eq!(retry::pod_outcome(runs_4h, timeout, ads).0, Phase::Failed);
    // Old form, `activeDeadlineSeconds` alone: the 4h in Pending do not
    // count, and a pod that is never scheduled waits forever.
    assert_eq!(
        retry::pod_outcome(pending_4h, None, ads).0,
        Phase::Succeeded
    );
    assert_eq!(
        retry::pod_outcome(never_scheduled, None, ads).0,
        Phase::Running
    );
    // A duration parameter: both fields substitute to the same seconds.
    let churn =
        common::compile_docs(Path::new("examples/churn_model.mlp"), &Default::default()).remove(0);
    let churn = Workflow::from_doc(&churn);
    let model = churn.template("model").unwrap();
    let globals = substitution::global_scope(&churn.params);
    let sub = |v: &Value| {
        substitution::replace(v.as_str().unwrap(), &globals, false)
            .map(|s| retry::parse_duration(&s).unwrap())
    };
    assert_eq!(sub(&model["timeout"]), Ok(10800.0));
    assert_eq!(sub(&model["activeDeadlineSeconds"]), Ok(10800.0));
}

/// Memoization keys today read inputs only
/// (`TEMPLATE-{{=sprig.sha256sum(toJson(['<definition>', inputs.parameters[...], ...]))}}`),
/// so every memoized task of every example gets the same valid key in
/// Argo v3's two-pass `SubstituteParams` (inputs alone in the second pass)
/// as in v4; the key is the SHA-256 of Go's JSON of the list.
#[test]
fn memoize_current_keys_resolve_in_v3_and_v4() {
    let mut count = 0;
    for path in common::mlp_files(&common::root().join("examples")) {
        let rel = common::relative(&path);
        for doc in common::compile_docs(&rel, &Default::default()) {
            let wf = Workflow::from_doc(&doc);
            let dags: Vec<String> = wf.spec["templates"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t.get("dag").is_some())
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            for dag in dags {
                for task in wf.tasks(&dag) {
                    let tmpl = wf.template(task["template"].as_str().unwrap()).unwrap();
                    if tmpl.get("memoize").is_none() {
                        continue;
                    }
                    count += 1;
                    let v4 = task_key(&wf, task, PassScope::GlobalsAndInputs);
                    let v3 = task_key(&wf, task, PassScope::InputsOnly);
                    let Ok(Some(k)) = &v4 else {
                        panic!("{}: {v4:?}", rel.display())
                    };
                    assert!(memoize::valid_cache_key(k), "{k}");
                    assert_eq!(v3, v4, "{}", rel.display());
                }
            }
        }
    }
    assert!(count > 0, "no memoized task in the examples");
    // The churn example's features key, computed independently.
    let doc =
        common::compile_docs(Path::new("examples/churn_model.mlp"), &Default::default()).remove(0);
    let wf = Workflow::from_doc(&doc);
    let key_text = wf.template("features").unwrap()["memoize"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let hex = key_text
        .split('\'')
        .find(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("definition hash");
    let mut d = doc.clone();
    let task = task_mut(&mut d, "main", "features").clone();
    assert_eq!(
        task_key(&wf, &task, PassScope::InputsOnly),
        Ok(Some(format!(
            "features-{}",
            sha256::hex(format!("[\"{hex}\",\"2026-11-01\"]").as_bytes())
        )))
    );
}

const MEMO_PARAM: &str = r#"
pipeline p {
  param ds: string = "s3://x"
  job a {
    image = "x:1"
    command = ["a"]
    output v: string = "/tmp/v"
  }
  job b {
    image = "x:1"
    command = ["b", a.v, ds]
    cache = 1h
  }
}
"#;

/// A cached stage that reads a workflow parameter and another stage's
/// output: the parameter reaches the key as the input `mlp-param-ds`, so
/// the key resolves in v3. The old form read `workflow.parameters['ds']`
/// beside `inputs...`: v3's first pass has no `inputs`, its second no
/// `workflow`, the `{{=` stays and the node errors.
#[test]
fn memoize_workflow_parameter_reaches_the_key_as_an_input() {
    let (program, doc) = compile_inline(MEMO_PARAM);
    let all = [case("all succeed", |_| {})];
    let wf = Workflow::from_doc(&doc);
    for pass in [PassScope::GlobalsAndInputs, PassScope::InputsOnly] {
        let failures: Vec<String> = all
            .iter()
            .filter_map(|c| compare_with(&program, &program.pipelines[0], &wf, c, pass).err())
            .collect();
        assert!(failures.is_empty(), "{pass:?}: {}", failures.join("\n"));
    }
    let mut old = doc.clone();
    let key = template_mut(&mut old, "b")["memoize"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.contains("inputs.parameters['mlp-param-ds']"), "{key}");
    template_mut(&mut old, "b")["memoize"]["key"] = json!(key.replace(
        "inputs.parameters['mlp-param-ds']",
        "workflow.parameters['ds']"
    ));
    let old = Workflow::from_doc(&old);
    let v4 = compare_with(
        &program,
        &program.pipelines[0],
        &old,
        &all[0],
        PassScope::GlobalsAndInputs,
    );
    assert_eq!(v4, Ok(()));
    let v3 = simulate::run(
        &old,
        &Scenario {
            pass: PassScope::InputsOnly,
            ..Scenario::default()
        },
    );
    assert_eq!(v3.phase("b"), Phase::Error, "{}", v3.summary());
    assert!(v3.node("b").message.starts_with("invalid cache key: b-{{="));
}

/// A bool parameter has `enum: ['true', 'false']`; `validateArgumentsValues`
/// (`workflow/validate/validate.go`, run by `ValidateWorkflow` on submit)
/// refuses a value that is not one of them exactly - a value written into
/// the manifest or picked in the UI. Without the enum, `True` is accepted
/// and the `when` (`... == 'true'`) is silently false.
#[test]
fn bool_parameter_enum_refuses_other_values() {
    let doc = common::compile_docs(
        Path::new("examples/hyperparameter_sweep.mlp"),
        &Default::default(),
    )
    .remove(0);
    let spec = &doc["spec"];
    let p = validate::parameters(spec)
        .into_iter()
        .find(|p| p.name == "run-summary")
        .unwrap();
    assert_eq!(p.enum_values, Some(vec!["true".into(), "false".into()]));
    for ok in ["true", "false"] {
        assert!(validate::submit(spec, &[("run-summary", ok)], &[]).is_ok());
    }
    for bad in ["True", "yes", "1", ""] {
        assert_eq!(
            validate::submit(spec, &[("run-summary", bad)], &[]),
            Err("spec.arguments.run-summary.value should be present in spec.arguments.run-summary.enum list".into()),
            "{bad:?}"
        );
    }
    // Without the enum (as `argo submit -p` leaves it, see the next test),
    // `True` still reads as true: the tag lowers the text.
    let mut old = doc.clone();
    old["spec"]["arguments"]["parameters"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|p| p["name"] == "run-summary")
        .for_each(|p| {
            p.as_object_mut().unwrap().remove("enum");
        });
    let params = validate::submit(&old["spec"], &[("run-summary", "True")], &[]).unwrap();
    assert_eq!(params["run-summary"], "True");
    let run = simulate::run(
        &Workflow::from_doc(&old),
        &Scenario::default().param("run-summary", "True"),
    );
    assert_eq!(run.phase("summary"), Phase::Succeeded);
}

/// A real defect (of the claim in docs/compile.md that the enum makes Argo
/// refuse `True` "at submission"): `argo submit -p run-summary=True` goes
/// through `ApplySubmitOpts` -> `overrideParameters`
/// (`workflow/util/util.go`), which replaces the parameter by one holding
/// only its name and value - the enum is dropped before
/// `validateArgumentsValues` runs, `True` is accepted, and the `when`
/// `(workflow.parameters['run-summary'] == 'true')` is silently false.
#[test]
fn defect_bool_parameter_given_with_dash_p() {
    let doc = common::compile_docs(
        Path::new("examples/hyperparameter_sweep.mlp"),
        &Default::default(),
    )
    .remove(0);
    // `True` is accepted (the enum is dropped) and now means true.
    let submitted = validate::submit(&doc["spec"], &[], &[("run-summary", "True")]);
    assert!(submitted.is_ok(), "{submitted:?}");
    let run = simulate::run(
        &Workflow::from_doc(&doc),
        &Scenario::default().param("run-summary", "True"),
    );
    assert_eq!(run.phase("summary"), Phase::Succeeded, "{}", run.summary());
    // Any other text fails loudly instead of reading as false.
    for bad in ["yes", "1", ""] {
        let run = simulate::run(
            &Workflow::from_doc(&doc),
            &Scenario::default().param("run-summary", bad),
        );
        assert!(run.phase.failed_or_error(), "{bad:?}: {}", run.summary());
    }
    // The old form (`== 'true'`) read `True` as false, silently.
    let mut old = doc.clone();
    let when = task_mut(&mut old, "main", "summary")["when"]
        .as_str()
        .unwrap()
        .to_string();
    let canonical = "((lower(workflow.parameters['run-summary']) == 'true') || ((lower(workflow.parameters['run-summary']) != 'false') && (asInt('not-true-or-false') == 0)))";
    assert!(when.contains(canonical), "{when}");
    task_mut(&mut old, "main", "summary")["when"] =
        json!(when.replace(canonical, "(workflow.parameters['run-summary'] == 'true')"));
    let run = simulate::run(
        &Workflow::from_doc(&old),
        &Scenario::default().param("run-summary", "True"),
    );
    assert_eq!(run.phase("summary"), Phase::Skipped);
}
