//! Artifact fan-in from loops (contract v2 §9.2): an artifact output of a
//! stage inside a `for_each` loop, read outside that loop, is a directory
//! holding one entry per item, named by the item's index.
//!
//! The lowering gives such a loop index maps as items (`mlp-index`,
//! `mlp-item`, `mlp-key-K`), writes each item's artifact under its own key
//! and lets the reader take the key prefix as a directory. These tests hold
//! it to what Argo does with that, through the controller model in
//! `argo_model` (each rule written from Argo's or expr-lang's source):
//! expr-lang evaluating the `withParam` of a run-time list, `processItem`
//! substituting each item, a whole DAG run (nested loops, `when` on the item,
//! a failed item) and govaluate reading the `when`. Expected values are
//! written from the program text, never read back from the compiler.

mod argo_model;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use argo_model::simulate::{self, Node, Run, Scenario, Workflow};
use argo_model::{depends, expr, substitution, Phase};
use common::places::{compile_source, emit_source, template};
use serde_json::{json, Value};

const FIXTURES: &str = "tests/fixtures/artifact_fan_in";

fn fixture(name: &str) -> Value {
    let path = Path::new(FIXTURES).join(name);
    common::compile_docs(&path, &Default::default()).remove(0)
}

fn compile(source: &str) -> Value {
    compile_source(source).unwrap_or_else(|codes| panic!("{codes:?}\n{source}"))
}

fn task<'a>(doc: &'a Value, template_name: &str, name: &str) -> &'a Value {
    template(doc, template_name)["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} in {template_name}"))
}

/// Every DAG task of the document, with its template's name.
fn all_tasks(doc: &Value) -> Vec<(String, &Value)> {
    doc["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let name = t["name"].as_str().unwrap().to_string();
            t["dag"]["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |task| (name.clone(), task))
        })
        .collect()
}

/// The index maps of a loop over `items` inside which the keys `keys` of
/// the item are read.
fn index_maps(items: &[Value], keys: &[&str]) -> Value {
    let maps = items.iter().enumerate().map(|(i, item)| {
        let mut m = serde_json::Map::new();
        m.insert("mlp-index".into(), json!(i.to_string()));
        m.insert("mlp-item".into(), item.clone());
        for k in keys {
            m.insert(format!("mlp-key-{k}"), item[*k].clone());
        }
        Value::Object(m)
    });
    Value::Array(maps.collect())
}

/// What the controller makes of a task's `withParam` before parsing it as
/// a JSON list: its `{{=...}}` tag evaluated over the workflow parameters,
/// as v3.6 does it (`template.Replace`, which first evaluates the text
/// before the first `?` alone) and as v3.7+ does (the expression whole).
/// The two must agree; any error fails the test.
fn with_param_items(task: &Value, params: &BTreeMap<String, String>) -> Value {
    let text = task["withParam"]
        .as_str()
        .expect("the task has a withParam");
    let scope = substitution::global_scope(params);
    let replaced =
        substitution::replace(text, &scope, false).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let inner = text
        .strip_prefix("{{=")
        .and_then(|t| t.strip_suffix("}}"))
        .expect("one expression tag, and nothing else");
    let whole = expr::eval(inner, &expr::env(&scope)).unwrap_or_else(|e| panic!("{e}\n{inner}"));
    assert_eq!(replaced, whole.go_v(), "v3.6 and v3.7+ read it alike");
    serde_json::from_str(&replaced).unwrap_or_else(|e| {
        panic!("withParam value could not be parsed as a JSON list: {replaced}: {e}")
    })
}

/// A loop over `list` (a literal, or a parameter's name) whose artifact a
/// stage outside reads; the pod prints `read` (`${item}`, `${item.lr}`).
fn looping(param: Option<(&str, &str)>, list: &str, read: &str) -> String {
    let param = param.map_or(String::new(), |(ty, default)| {
        format!("  param xs: {ty} = {default}\n")
    });
    format!(
        r#"pipeline p {{
{param}  prep make {{
    image    = "busybox:1.37"
    for_each = {list}
    command  = ["sh", "-c", "echo {read} > /tmp/out/r"]
    output r: dir = "/tmp/out/r"
  }}
  prep read {{
    image   = "busybox:1.37"
    command = ["ls", make.r]
  }}
}}
"#
    )
}

/// The workflow's parameters, `xs` set to `value` when given.
fn params_with(doc: &Value, value: Option<&str>) -> BTreeMap<String, String> {
    let mut params = Workflow::from_doc(doc).params;
    if let Some(v) = value {
        params.insert("xs".into(), v.into());
    }
    params
}

// ----- (a) literal lists --------------------------------------------------

#[test]
fn literal_items_become_index_maps_of_each_item() {
    let doc = fixture("literal.mlp");
    let make = task(&doc, "main", "make");
    let items = [
        json!("x"),
        json!(0.1),
        json!(100000000),
        json!({"lr": "0.1", "n": 2}),
        json!([1, 2]),
        json!(true),
    ];
    assert_eq!(make["withItems"], index_maps(&items, &[]));
    assert!(make.get("withParam").is_none());
    // A loop whose item keys are read inside carries each key's value (and
    // only the keys read: `tag` is not).
    let sweep = task(&doc, "main", "sweep");
    let cfgs = [
        json!({"lr": "0.1", "tag": "a"}),
        json!({"lr": 0.2, "tag": "b"}),
    ];
    assert_eq!(sweep["withItems"], index_maps(&cfgs, &["lr"]));
}

#[test]
fn a_loop_nobody_collects_keeps_its_plain_items() {
    // No artifact read outside: the loop is not indexed (v1 lowering).
    let doc = compile(
        r#"pipeline p {
  prep make {
    image    = "busybox:1.37"
    for_each = ["x", 0.1]
    command  = ["sh", "-c", "echo ${item}"]
  }
}
"#,
    );
    let make = task(&doc, "main", "make");
    assert_eq!(make["withItems"], json!(["x", 0.1]));
    assert_eq!(
        make["arguments"]["parameters"][0]["value"],
        json!("{{item}}")
    );
}

// ----- (b) run-time lists ---------------------------------------------------

/// One kind of list: its parameter type, a literal, the keys read inside,
/// and lists a user could submit instead of the default.
struct Case {
    ty: &'static str,
    literal: &'static str,
    read: &'static str,
    keys: &'static [&'static str],
    submitted: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        ty: "list[string]",
        literal: r#"["x", "y", "two words"]"#,
        read: "${item}",
        keys: &[],
        submitted: &[r#"["only"]"#, r#"["a", "b", "c", "d"]"#, "[]"],
    },
    Case {
        ty: "list[float]",
        literal: "[0.1, 100000000, 2.5]",
        read: "${item}",
        keys: &[],
        submitted: &["[0.1, 100000000]", "[1e-7, 3]", "[]"],
    },
    Case {
        ty: "list[map]",
        literal: r#"[{ lr = "0.1", n = 2 }, { lr = 0.2, n = 3 }]"#,
        read: "${item.lr}",
        keys: &["lr"],
        submitted: &[
            r#"[{"lr": "0.3", "n": 1}, {"lr": 100000000, "n": 2}]"#,
            r#"[{"lr": 0.1}]"#,
            "[]",
        ],
    },
];

#[test]
fn run_time_lists_evaluate_to_the_index_maps_of_the_literal_path() {
    for case in CASES {
        let literal = compile(&looping(None, case.literal, case.read));
        let runtime = compile(&looping(Some((case.ty, case.literal)), "xs", case.read));
        let with_items = &task(&literal, "main", "make")["withItems"];
        let make = task(&runtime, "main", "make");
        assert!(make.get("withItems").is_none(), "{}", case.ty);
        // The default value: the same maps as the literal list gives.
        let items = with_param_items(make, &params_with(&runtime, None));
        assert_eq!(&items, with_items, "{}: default {}", case.ty, case.literal);
        // Lists submitted at run time (JSON as a user types it, an empty one).
        for submitted in case.submitted {
            let given: Vec<Value> = serde_json::from_str(submitted).unwrap();
            let items = with_param_items(make, &params_with(&runtime, Some(submitted)));
            assert_eq!(
                items,
                index_maps(&given, case.keys),
                "{}: {submitted}",
                case.ty
            );
        }
    }
}

#[test]
fn a_strings_or_numbers_item_reads_as_a_plain_items_would() {
    // What the pod gets for `${item}`: Argo's `processItem` of the index map
    // (`{{item.mlp-item}}`) against its `{{item}}` of the plain item.
    let doc = compile(&looping(Some(("list[string]", "[]")), "xs", "${item}"));
    let make = task(&doc, "main", "make");
    for submitted in [
        r#"["x", "two words", "<a&b>", "é"]"#,
        "[0.1, 100000000, 2.5, 0]",
        "[true, false]",
    ] {
        let items = with_param_items(make, &params_with(&doc, Some(submitted)));
        let plain: Vec<Value> = serde_json::from_str(submitted).unwrap();
        for (map, item) in items.as_array().unwrap().iter().zip(&plain) {
            let (indexed, _) = simulate::item_scope(map);
            let (direct, _) = simulate::item_scope(item);
            assert_eq!(indexed["item.mlp-item"], direct["item"], "{item}");
        }
    }
}

#[test]
fn an_empty_run_time_list_skips_the_loop() {
    let doc = compile(&looping(Some(("list[string]", "[]")), "xs", "${item}"));
    let make = task(&doc, "main", "make");
    assert_eq!(with_param_items(make, &params_with(&doc, None)), json!([]));
    let run = simulate::run(&Workflow::from_doc(&doc), &Scenario::default());
    let node = run.node("make");
    assert_eq!(node.phase, Phase::Skipped, "{}", run.summary());
    assert_eq!(node.message, "Skipped, empty params");
}

// ----- (c) keys ---------------------------------------------------------------

/// The `s3.key` of an artifact of a template, `outputs` or `inputs`.
fn s3_key<'a>(doc: &'a Value, template_name: &str, side: &str, artifact: &str) -> &'a str {
    template(doc, template_name)[side]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == artifact)
        .unwrap_or_else(|| panic!("no {side} artifact {artifact} in {template_name}"))["s3"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{template_name}: {artifact} has no s3 key"))
}

/// A key as the pod that ran `node` resolves it (`{{workflow.uid}}` and the
/// pod's `{{inputs.parameters.X}}`; anything else is an error).
fn resolve(key: &str, node: &Node) -> String {
    let mut scope = substitution::global_scope(&BTreeMap::new());
    for (k, v) in &node.inputs {
        scope.insert(format!("inputs.parameters.{k}"), v.clone());
    }
    substitution::replace(key, &scope, false).unwrap_or_else(|e| panic!("{e}"))
}

/// Argo's item indices on a node's path (`task(N:...)`), outermost first.
fn loop_indices(path: &str) -> Vec<usize> {
    path.split('/')
        .filter_map(|segment| {
            let (_, rest) = segment.split_once('(')?;
            let (n, _) = rest.split_once(':')?;
            n.parse().ok()
        })
        .collect()
}

/// The nodes of a run whose template is `template_name`, by path.
fn pods<'a>(run: &'a Run, template_name: &str) -> Vec<(&'a String, &'a Node)> {
    run.nodes
        .iter()
        .filter(|(_, n)| n.template == template_name)
        .collect()
}

/// The entries a reader with key prefix `prefix` sees, from the keys the
/// producers wrote: the first path segment after the prefix.
fn entries<'a>(prefix: &str, keys: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    let dir = format!("{prefix}/");
    keys.filter_map(|k| k.strip_prefix(&dir))
        .map(|rest| rest.split('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn each_item_writes_its_own_entry_named_by_its_index() {
    let doc = fixture("nested.mlp");
    let shards = ["x", "y", "z"];
    let run = simulate::run(&Workflow::from_doc(&doc), &Scenario::default());
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());

    // The `for_each` stage and its reader outside.
    let produced: BTreeMap<String, (&String, &Node)> = pods(&run, "split")
        .into_iter()
        .map(|(path, n)| {
            (
                resolve(s3_key(&doc, "split", "outputs", "part"), n),
                (path, n),
            )
        })
        .collect();
    assert_eq!(
        produced.len(),
        shards.len(),
        "one key per item, all distinct"
    );
    let readers = pods(&run, "merge");
    let [(_, merge)] = readers.as_slice() else {
        panic!("one merge pod: {readers:?}")
    };
    let prefix = resolve(s3_key(&doc, "merge", "inputs", "split-part"), merge);
    assert_eq!(prefix, "mlp/0b6d7c1e-uid/split-part");
    for (key, (path, node)) in &produced {
        let entry = key
            .strip_prefix(&format!("{prefix}/"))
            .unwrap_or_else(|| panic!("{key} is not under {prefix}"));
        // The entry is one name: the item's index in the list.
        let [index] = loop_indices(path)[..] else {
            panic!("{path}")
        };
        assert_eq!(entry, index.to_string());
        assert!(
            node.inputs.values().any(|v| v == shards[index]),
            "entry {entry} holds item {}: {:?}",
            shards[index],
            node.inputs
        );
    }

    // A loop in a loop, read inside the outer loop: one directory per outer
    // item, holding one entry per inner item.
    let (lrs, inner_items) = (["0.1", "0.2"], ["1", "2"]);
    let made: Vec<(String, Vec<usize>)> = pods(&run, "make")
        .into_iter()
        .map(|(path, n)| {
            let key = resolve(s3_key(&doc, "make", "outputs", "r"), n);
            let indices = loop_indices(path);
            // The pod that writes the entry ran the items the entry names.
            let [outer, inner] = indices[..] else {
                panic!("{path}")
            };
            let values: BTreeSet<&String> = n.inputs.values().collect();
            assert!(
                values.contains(&lrs[outer].to_string())
                    && values.contains(&inner_items[inner].to_string()),
                "{path}: {:?}",
                n.inputs
            );
            (key, indices)
        })
        .collect();
    assert_eq!(made.len(), 2 * 2);
    let distinct: BTreeSet<&String> = made.iter().map(|(k, _)| k).collect();
    assert_eq!(distinct.len(), made.len(), "{made:?}");
    let readers = pods(&run, "per-outer");
    assert_eq!(readers.len(), 2);
    for (path, reader) in readers {
        let [outer] = loop_indices(path)[..] else {
            panic!("{path}")
        };
        let prefix = resolve(s3_key(&doc, "per-outer", "inputs", "make-r"), reader);
        // The prefix holds the outer item's index only.
        assert_eq!(prefix, format!("mlp/0b6d7c1e-uid/make-r/{outer}"));
        let mine: Vec<&(String, Vec<usize>)> = made
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{prefix}/")))
            .collect();
        assert_eq!(mine.len(), 2, "{prefix}: {made:?}");
        for (key, indices) in mine {
            assert_eq!(indices[0], outer, "{key} of another outer item");
            assert_eq!(key, &format!("{prefix}/{}", indices[1]));
        }
        let names = entries(&prefix, made.iter().map(|(k, _)| k));
        assert_eq!(names, BTreeSet::from(["0".into(), "1".into()]));
    }
}

// ----- (d) waiting, and Argo's validator ------------------------------------------

#[test]
fn readers_wait_for_the_whole_loop() {
    let doc = fixture("nested.mlp");
    let waits = |tmpl: &str, name: &str| {
        depends::dependencies(task(&doc, tmpl, name)["depends"].as_str().unwrap_or(""))
    };
    assert!(waits("main", "merge").contains("split"));
    assert!(waits("outer", "per-outer").contains("inner"));

    // One failed item: the reader does not run (its directory would miss
    // the entry), and the run fails.
    let wf = Workflow::from_doc(&doc);
    let ok = simulate::run(&wf, &Scenario::default());
    let (second, _) = pods(&ok, "split")
        .into_iter()
        .find(|(path, _)| loop_indices(path) == [1])
        .expect("the second item's pod");
    let run = simulate::run(&wf, &Scenario::default().failing(second));
    assert!(pods(&run, "merge").is_empty(), "{}", run.summary());
    assert_eq!(run.phase("merge"), Phase::Omitted, "{}", run.summary());
    assert_eq!(run.phase, Phase::Failed);
}

#[test]
fn compiled_workflows_pass_the_argo_validator() {
    use mlpc::emit::{Options, OutputKind};
    let Some((python, script)) = common::validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in common::mlp_files(&common::root().join(FIXTURES)) {
        let rel = common::relative(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (kind, suffix) in [
            (OutputKind::Workflow, "workflow"),
            (OutputKind::WorkflowTemplate, "template"),
        ] {
            let out = dir.path().join(format!("{stem}.{suffix}.yaml"));
            let options = Options {
                kind,
                pipeline: None,
                ..Default::default()
            };
            std::fs::write(&out, common::compile(&rel, &options)).unwrap();
            files.push(out);
        }
    }
    assert_eq!(files.len(), 3 * 2);
    // The programs the run-time tests compile, literal and run-time lists.
    for (n, case) in CASES.iter().enumerate() {
        for (kind, source) in [
            ("literal", looping(None, case.literal, case.read)),
            (
                "runtime",
                looping(Some((case.ty, case.literal)), "xs", case.read),
            ),
        ] {
            let out = dir.path().join(format!("case{n}.{kind}.yaml"));
            let text = emit_source(&source).unwrap_or_else(|codes| panic!("{codes:?}"));
            std::fs::write(&out, text).unwrap();
            files.push(out);
        }
    }
    common::assert_validator_accepts(&python, &script, &files);
}

// ----- (e) the item inside an indexed loop --------------------------------------

#[test]
fn an_indexed_loop_reads_its_item_through_the_map() {
    for file in ["nested.mlp", "when.mlp", "literal.mlp"] {
        let doc = fixture(file);
        for (tmpl, t) in all_tasks(&doc) {
            let indexed = t["withItems"][0].get("mlp-index").is_some()
                || t["withParam"]
                    .as_str()
                    .is_some_and(|p| p.contains("'mlp-index'"));
            if !indexed {
                continue;
            }
            let text = t.to_string();
            for (at, _) in text.match_indices("{{item") {
                assert!(
                    text[at..].starts_with("{{item.mlp-"),
                    "{file}: {tmpl}/{}: {}",
                    t["name"],
                    &text[at..]
                );
            }
        }
    }
    let doc = fixture("when.mlp");
    let split = task(&doc, "main", "split");
    let sweep = task(&doc, "main", "sweep");
    assert!(split["when"]
        .as_str()
        .unwrap()
        .contains("{{item.mlp-item}}"));
    assert!(sweep["when"]
        .as_str()
        .unwrap()
        .contains("{{item.mlp-key-lr}}"));
    let pass = |t: &Value| {
        t["arguments"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert!(pass(split).contains("{{item.mlp-item}}"));
    assert!(pass(sweep).contains("{{item.mlp-key-lr}}"));
}

#[test]
fn a_when_on_the_item_skips_items_and_their_entries() {
    let doc = fixture("when.mlp");
    let run = simulate::run(&Workflow::from_doc(&doc), &Scenario::default());
    assert_eq!(run.phase, Phase::Succeeded, "{}", run.summary());
    let shards = ["x", "y", "z"];
    // `when item != "y"`: the second item is skipped, the others run.
    let phases: Vec<(usize, Phase)> = run
        .nodes
        .iter()
        .filter(|(path, _)| path.starts_with("split/split("))
        .map(|(path, n)| (loop_indices(path)[0], n.phase))
        .collect();
    assert_eq!(
        phases,
        [
            (0, Phase::Succeeded),
            (1, Phase::Skipped),
            (2, Phase::Succeeded)
        ],
        "{}",
        run.summary()
    );
    let keys: Vec<String> = pods(&run, "split")
        .into_iter()
        .map(|(path, n)| {
            let [i] = loop_indices(path)[..] else {
                panic!("{path}")
            };
            assert!(n.inputs.values().any(|v| v == shards[i]));
            resolve(s3_key(&doc, "split", "outputs", "part"), n)
        })
        .collect();
    let readers = pods(&run, "merge");
    let [(_, merge)] = readers.as_slice() else {
        panic!("merge ran once: {}", run.summary())
    };
    let prefix = resolve(s3_key(&doc, "merge", "inputs", "split-part"), merge);
    let names = entries(&prefix, keys.iter());
    assert_eq!(names, BTreeSet::from(["0".into(), "2".into()]));
    // `when item.lr != "0.2"` on the group: only the first item's member ran.
    let fits: Vec<String> = pods(&run, "fit")
        .into_iter()
        .map(|(_, n)| resolve(s3_key(&doc, "fit", "outputs", "m"), n))
        .collect();
    let prefix = resolve(s3_key(&doc, "merge", "inputs", "fit-m"), merge);
    assert_eq!(entries(&prefix, fits.iter()), BTreeSet::from(["0".into()]));
}

// ----- what the pod gets for a map item ----------------------------------------------

/// A map (or list) item read whole: Argo formats a map item's values with
/// `wfv1.Item`'s `String()`, which keeps a JSON string's escapes
/// (argo-workflows issue #16061), so compact JSON stored as the *text* of
/// `mlp-item` would reach the pod as `{\"lr\":\"0.1\"}`, where the plain
/// loop gives `{"lr":"0.1"}` (`json.Marshal` of the map). The item's JSON
/// value itself under `mlp-item` (`'mlp-item': fromJSON(L)[#]` at run time, a
/// YAML map or list in `withItems`) gives the plain loop's text: `String()`
/// of an object or array is its compact JSON. (A string item holding `"`,
/// `\` or a control character is escaped either way, as a plain string item
/// was before Argo v4 - issue #13718.)
#[test]
fn a_map_item_read_whole_reads_as_a_plain_items_would() {
    let plain = compile(
        r#"pipeline p {
  param xs: list[map] = [{ lr = "0.1" }]
  prep make {
    image    = "busybox:1.37"
    for_each = xs
    command  = ["sh", "-c", "echo ${item}"]
  }
}
"#,
    );
    let indexed = compile(&looping(
        Some(("list[map]", r#"[{ lr = "0.1" }]"#)),
        "xs",
        "${item}",
    ));
    let submitted = r#"[{"lr": "0.1"}, {"q": "say \"hi\""}]"#;
    let ran = |doc: &Value| {
        let wf = Workflow::from_doc(doc);
        let run = simulate::run(&wf, &Scenario::default().param("xs", submitted));
        let mut pods: Vec<(Vec<usize>, BTreeMap<String, String>)> = pods(&run, "make")
            .into_iter()
            .map(|(path, n)| (loop_indices(path), n.inputs.clone()))
            .collect();
        pods.sort();
        pods.into_iter()
            .map(|(_, inputs)| inputs["item"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ran(&plain), [r#"{"lr":"0.1"}"#, r#"{"q":"say \"hi\""}"#]);
    assert_eq!(ran(&indexed), ran(&plain));
}

/// The same encoding, checked on the model alone: the
/// item's JSON value under `mlp-item` (and under `mlp-key-K`) reaches the
/// pod as the plain loop's `{{item}}` (`{{item.K}}`) does, maps and lists
/// included.
#[test]
fn item_values_in_the_index_map_read_as_plain_items() {
    let list = "workflow.parameters['xs']";
    let expression = format!(
        "len(fromJSON({list})) == 0 ? '[]' : toJson(map(0..(len(fromJSON({list})) - 1), \
         {{ {{'mlp-index': string(#), 'mlp-item': fromJSON({list})[#]}} }}))"
    );
    let submitted = r#"["x", 0.1, 100000000, {"lr": "0.1", "q": "say \"hi\""}, [1, "a"], true]"#;
    let params = BTreeMap::from([("xs".to_string(), submitted.to_string())]);
    let scope = substitution::global_scope(&params);
    let text = substitution::replace(&format!("{{{{={expression}}}}}"), &scope, false).unwrap();
    let maps: Vec<Value> = serde_json::from_str(&text).unwrap();
    let plain: Vec<Value> = serde_json::from_str(submitted).unwrap();
    assert_eq!(maps.len(), plain.len());
    for (i, (map, item)) in maps.iter().zip(&plain).enumerate() {
        let (indexed, _) = simulate::item_scope(map);
        let (direct, _) = simulate::item_scope(item);
        assert_eq!(indexed["item.mlp-index"], i.to_string());
        assert_eq!(indexed["item.mlp-item"], direct["item"], "{item}");
    }
}
