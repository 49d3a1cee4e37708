//! Error-tolerant analysis: with errors in two stages, the analysis still
//! holds every other stage, every reference it could resolve (with its
//! definition, also in an imported file and the standard library) and
//! every stage's signature; and nothing of it is a program to emit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mlpc::sema::hir::{NodeId, Program, StageId};
use mlpc::sema::index::{DefKind, RefEntry};
use mlpc::sema::schema::StageKind;
use mlpc::sema::types::Ty;
use mlpc::{analyze, Analysis, FileLoader, SourceId, Span};

/// Files in memory: a path is its own canonical form.
struct Files(HashMap<PathBuf, &'static str>);

impl FileLoader for Files {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0
            .get(path)
            .map(|t| t.as_bytes().to_vec())
            .ok_or_else(|| std::io::ErrorKind::NotFound.into())
    }

    fn canonical(&self, path: &Path) -> std::io::Result<PathBuf> {
        self.0
            .contains_key(path)
            .then(|| path.to_path_buf())
            .ok_or_else(|| std::io::ErrorKind::NotFound.into())
    }
}

const LIB: &str = r#"template prep fetch {
  input bucket: string
  input key: string
  input region: string = "eu-west-1"
  image = "amazon/aws-cli:2.22.35"
  env {
    BUCKET = bucket
    KEY = key
    AWS_DEFAULT_REGION = region
  }
  script = "aws s3 cp s3://$BUCKET/$KEY - | wc -l > /tmp/outputs/rows"
  output rows: string = "/tmp/outputs/rows"
}
"#;

/// Five stages, a template, a file import and a standard module; `BROKEN`
/// and `FIXED` are the two stages, with and without their error.
const MAIN: &str = r#"import std.terraform
import "lib.mlp" as lib

template job report {
  input text: string
  image = "busybox:1.36"
  command = ["sh", "-c", "echo \"$T\""]
  env { T = text }
}

pipeline p {
  param region: string = "eu-west-1"

  prep data uses lib.fetch {
    bucket = "b"
    key = "k"
    region = region
  }
  job plan uses terraform.plan { repo = "https://example.com/infra.git" }
  job counted {
    image = "busybox:1.36"
    FIELD
    command = ["sh", "-c", "echo ${data.rows}"]
  }
  job announced {
    image = "busybox:1.36"
    command = ["sh", "-c", "echo ${plan.OUTPUT} ${plan.commit}"]
  }
  job summary uses report {
    text = "${plan.commit} in ${region}"
    after = [announced, counted]
  }
}
"#;

fn program(broken: bool) -> String {
    let (field, output) = if broken {
        ("colour = \"red\"", "nope")
    } else {
        ("", "plan_json")
    };
    MAIN.replace("FIELD", field).replace("OUTPUT", output)
}

fn check(text: &str) -> Analysis {
    let files = Files(HashMap::from([(PathBuf::from("/mem/lib.mlp"), LIB)]));
    analyze(
        "main.mlp",
        Some(Path::new("/mem/main.mlp")),
        text.as_bytes(),
        &files,
    )
}

/// 1-based line and column of a span's start.
fn at(a: &Analysis, span: Span) -> (usize, usize) {
    let p = a.sources.position(span.source, span.start as usize);
    (p.line, p.column)
}

fn source_named(a: &Analysis, name: &str) -> SourceId {
    (0..)
        .map(SourceId)
        .take_while(|id| (id.0 as usize) < a.sources.len())
        .find(|id| a.sources.get(*id).name == name)
        .unwrap_or_else(|| panic!("no source named {name}"))
}

/// The entry of the `nth` (0-based) occurrence of `needle` in the root file.
fn entry<'a>(a: &'a Analysis, text: &str, needle: &str, nth: usize) -> &'a RefEntry {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} is not in the program"))
        .0;
    a.index
        .at(a.root, offset)
        .unwrap_or_else(|| panic!("no reference at `{needle}` #{nth}"))
}

fn stage_names(p: &Program) -> Vec<(&str, StageKind, bool)> {
    p.pipelines[0]
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.kind, s.has_errors))
        .collect()
}

#[test]
fn errors_in_two_stages_leave_the_rest_of_the_analysis() {
    let text = program(true);
    let a = check(&text);
    let codes: Vec<String> = a.diagnostics.items.iter().map(|d| d.code_str()).collect();
    assert_eq!(codes.len(), 2, "one error per broken stage: {codes:?}");
    assert!(
        a.program.is_none(),
        "nothing is emitted from a program with errors"
    );
    let p = a.partial.as_ref().expect("the partial program");
    assert!(std::ptr::eq(a.best_program().unwrap(), p));

    assert_eq!(
        stage_names(p),
        [
            ("data", StageKind::Prep, false),
            ("plan", StageKind::Job, false),
            ("counted", StageKind::Job, true),
            ("announced", StageKind::Job, true),
            ("summary", StageKind::Job, false),
        ]
    );
    let stages = &p.pipelines[0].stages;
    // The fields that failed to check are left out; the others stay.
    let keys = |i: usize| -> Vec<&str> { stages[i].fields.keys().map(|k| k.as_str()).collect() };
    assert_eq!(keys(2), ["image", "command"], "`colour` is unknown");
    assert_eq!(keys(3), ["image"], "`command` reads an unknown output");
    assert_eq!(keys(4), ["after"]);
    // The graph the checker built is the pipeline's: `summary` waits for
    // both broken stages, `counted` for `data`.
    let graph = &p.pipelines[0].graph;
    let ancestors = |i: usize| -> Vec<usize> {
        let stage = NodeId::Stage(StageId::new(i));
        graph
            .ancestors(stage)
            .into_iter()
            .map(|n| match n {
                NodeId::Stage(s) => s.index(),
                NodeId::Group(g) => panic!("no groups here: {g:?}"),
            })
            .collect()
    };
    assert_eq!(ancestors(4), [0, 1, 2, 3]);
    assert_eq!(ancestors(2), [0]);

    // Every stage's signature.
    let [sigs] = a.signatures.as_slice() else {
        panic!("one pipeline")
    };
    let sig = |name: &str| sigs.stages.iter().find(|s| s.name == name).unwrap();
    assert_eq!(sigs.stages.len(), 5);
    assert_eq!(sig("data").kind, Some(StageKind::Prep));
    assert_eq!(sig("data").outputs.get("rows"), Some(&Ty::String));
    let plan_outputs: Vec<&str> = sig("plan").outputs.keys().map(|k| k.as_str()).collect();
    assert_eq!(plan_outputs, ["plan_json", "plan_file", "commit"]);
    assert_eq!(sig("counted").kind, Some(StageKind::Job));
    assert!(sig("announced").outputs.is_empty());
    assert_eq!(sig("summary").kind, Some(StageKind::Job));

    // References and their definitions, across three files.
    let std_terraform = source_named(&a, "<std>/terraform.mlp");
    let lib = source_named(&a, "lib.mlp");

    let e = entry(&a, &text, "lib.fetch", 0);
    assert_eq!(e.def.kind, DefKind::Template);
    assert_eq!(e.def.span.unwrap().source, lib);
    assert_eq!(at(&a, e.def.span.unwrap()), (1, 15));

    let e = entry(&a, &text, "terraform.plan", 0);
    assert_eq!(e.def.kind, DefKind::Template);
    assert_eq!(e.def.span.unwrap().source, std_terraform);

    let e = entry(&a, &text, "region\n", 0);
    assert_eq!(
        (e.def.kind, e.def.name.as_str()),
        (DefKind::Param, "region")
    );
    assert_eq!(at(&a, e.def.span.unwrap()), (12, 9));
    assert_eq!(e.ty, Some(Ty::String));

    let e = entry(&a, &text, "data.rows", 0);
    assert_eq!((e.def.kind, e.def.name.as_str()), (DefKind::Output, "rows"));
    assert_eq!(e.def.span.unwrap().source, lib);
    assert_eq!(at(&a, e.def.span.unwrap()), (12, 10));
    assert_eq!(at(&a, e.use_span), (23, 36));

    assert!(
        a.index
            .at(a.root, text.find("plan.nope").unwrap())
            .is_none(),
        "an unknown output resolves to nothing"
    );
    let e = entry(&a, &text, "plan.commit", 0);
    assert_eq!(e.def.kind, DefKind::Output);
    assert_eq!(e.def.span.unwrap().source, std_terraform);
    let def = a.sources.get(std_terraform).text[e.def.span.unwrap().start as usize..].to_string();
    assert!(def.starts_with("commit: string"), "{def}");

    let e = entry(&a, &text, "region}", 0);
    assert_eq!(e.def.kind, DefKind::Param);
    let e = entry(&a, &text, "counted]", 0);
    assert_eq!(e.def.kind, DefKind::Stage);
    assert_eq!(at(&a, e.def.span.unwrap()), (20, 7));
    assert_eq!(e.ty, None);

    // Inside the imported template: its inputs.
    let in_lib = a.index.in_source(lib);
    let names: Vec<(DefKind, &str)> = in_lib
        .iter()
        .map(|e| (e.def.kind, e.def.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (DefKind::Input, "bucket"),
            (DefKind::Input, "key"),
            (DefKind::Input, "region")
        ]
    );
    assert_eq!(at(&a, in_lib[2].def.span.unwrap()), (4, 9));
}

#[test]
fn a_clean_file_indexes_every_reference() {
    let text = program(false);
    let a = check(&text);
    assert!(!a.diagnostics.has_errors(), "{:?}", a.diagnostics);
    assert!(a.partial.is_none());
    let p = a.program.as_ref().expect("a clean program");
    assert!(p.pipelines[0].stages.iter().all(|s| !s.has_errors));
    // In the root file: `text`; `lib.fetch`, `region`; `terraform.plan`;
    // `data.rows`; `plan.plan_json`, `plan.commit`; `report`,
    // `plan.commit`, `region`, `announced`, `counted`.
    let used: Vec<&str> = a
        .index
        .in_source(a.root)
        .iter()
        .map(|e| &text[e.use_span.start as usize..e.use_span.end as usize])
        .collect();
    assert_eq!(
        used,
        [
            "text",
            "lib.fetch",
            "region",
            "terraform.plan",
            "data.rows",
            "plan.plan_json",
            "plan.commit",
            "report",
            "plan.commit",
            "region",
            "announced",
            "counted"
        ]
    );
    // Every definition is in a file of the analysis.
    for e in a.index.entries() {
        if let Some(span) = e.def.span {
            assert!((span.source.0 as usize) < a.sources.len());
        } else {
            assert_eq!(e.def.kind, DefKind::Run);
        }
    }
}
