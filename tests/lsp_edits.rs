//! `mlpc lsp`'s edits and documentation: formatting (= `mlpc fmt`), the
//! quick fixes with a known fix (pin an image by digest, against a registry
//! on a local port that asks for a token as Docker Hub and GHCR do; add
//! `artifact_store`), links from a code to its explanation, and a field's
//! documentation in hover and completion.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use serde_json::{json, Value};

mod common;

use common::lsp_client::{at, Client};

/// Applies LSP text edits (line/character in UTF-8 or UTF-16) to `text`.
fn apply(text: &str, edits: &[Value], utf16: bool) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let character = p["character"].as_u64().unwrap() as usize;
        let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let rest = &text[line_start..];
        let mut units = 0;
        for (i, c) in rest.char_indices() {
            if units >= character || c == '\n' {
                return line_start + i;
            }
            units += if utf16 { c.len_utf16() } else { c.len_utf8() };
        }
        text.len()
    };
    let mut edits: Vec<&Value> = edits.iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_string();
    for e in edits {
        let (start, end) = (offset(&e["range"]["start"]), offset(&e["range"]["end"]));
        out.replace_range(start..end, e["newText"].as_str().unwrap());
    }
    out
}

/// `mlpc check` of a text.
fn check(text: &str) -> mlpc::Analysis {
    mlpc::check(
        "x.mlp",
        None,
        text.as_bytes(),
        &mlpc::FsLoader,
        Default::default(),
    )
}

const UNFORMATTED: &str = "pipeline demo {  # é😀\n  param lr: float = 0.1\n  prep a { image   = \"busybox:1.37\", command = [\"echo\", \"${lr}\"] }\n}  // the end: é😀";

#[test]
fn formatting_is_mlpc_fmt_in_both_encodings() {
    let expected = mlpc::fmt::format(UNFORMATTED).unwrap();
    assert_ne!(expected, UNFORMATTED);
    for utf8 in [false, true] {
        let (mut c, encoding) = Client::start(utf8);
        let uri = "file:///tmp/mlpc-lsp-test/format.mlp";
        c.open(uri, UNFORMATTED);
        c.diagnostics(uri);
        let edits = c.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        );
        let edits = edits.as_array().unwrap();
        assert_eq!(edits.len(), 1, "{edits:?}");
        // The one edit spans the whole text: its end is the end of the last
        // line, counted in the negotiated encoding.
        let last = UNFORMATTED.lines().last().unwrap();
        let units = if encoding == "utf-16" {
            last.encode_utf16().count()
        } else {
            last.len()
        };
        assert_eq!(
            edits[0]["range"]["end"],
            json!({"line": 3, "character": units})
        );
        assert_eq!(apply(UNFORMATTED, edits, encoding == "utf-16"), expected);
        // Formatted text: nothing to do. Text that does not parse: no edit.
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": expected}]}),
        );
        let none = c.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        );
        assert_eq!(none, json!([]));
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "pipeline p {"}]}),
        );
        let broken = c.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        );
        assert_eq!(broken, Value::Null);
        c.stop();
    }
}

#[test]
fn codes_link_to_their_explanation() {
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/explain.mlp";
    c.open(
        uri,
        "pipeline p {\n  prep a {\n    image = \"busybox:1.37\"\n    command = [nope]\n  }\n}\n",
    );
    let d = c.diagnostics(uri);
    let first = &d["diagnostics"][0];
    assert_eq!(first["code"], "mlp::E0101");
    let href = first["codeDescription"]["href"].as_str().unwrap();
    assert!(
        href.starts_with("file://") && href.ends_with("/E0101.md"),
        "{href}"
    );
    let text = std::fs::read_to_string(href.trim_start_matches("file://")).unwrap();
    let explain = std::process::Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args(["explain", "E0101"])
        .output()
        .unwrap();
    assert_eq!(text, String::from_utf8(explain.stdout).unwrap());
    c.stop();
}

const FIELDS: &str = r#"pipeline demo {
  mlflow {
    tracking_uri = "http://mlflow:5000"
    experiment = "demo"
  }

  train fit {
    image = "trainer:1.0"
    resources {
      cpu = 2
    }
    volumes = [{ empty_dir = true, path = "/scratch" }]
  }
}
"#;

fn hover_text(c: &mut Client, uri: &str, needle: &str) -> String {
    let (line, text) = FIELDS
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap();
    let col = text.find(needle).unwrap() as u32 + 1;
    let hover = c.request("textDocument/hover", at(uri, line as u32, col));
    hover["contents"]["value"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn doc_of(table: &[mlpc::sema::schema::FieldSpec], name: &str) -> &'static str {
    table.iter().find(|s| s.name == name).unwrap().doc
}

/// A field's documentation comes from the table that checks it, for the
/// block the field is in.
#[test]
fn hover_and_completion_document_fields() {
    use mlpc::sema::schema;
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/fields.mlp";
    c.open(uri, FIELDS);
    c.diagnostics(uri);
    for (needle, doc) in [
        ("tracking_uri", doc_of(schema::MLFLOW, "tracking_uri")),
        ("image", doc_of(schema::STAGE, "image")),
        ("cpu", doc_of(schema::RESOURCES, "cpu")),
        ("empty_dir", doc_of(schema::VOLUME, "empty_dir")),
        ("volumes", doc_of(schema::STAGE, "volumes")),
    ] {
        let text = hover_text(&mut c, uri, needle);
        assert!(!doc.is_empty() && text.contains(doc), "{needle}: {text}");
    }
    // A value is not a field: `true` after `empty_dir =` has no field hover.
    assert!(hover_text(&mut c, uri, "true").is_empty());

    // Completion in a block of a file being typed (it does not parse): the
    // block's fields, documented.
    let typing = "pipeline demo {\n  mlflow {\n    tr\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": typing}]}),
    );
    let items = c.request("textDocument/completion", at(uri, 2, 6));
    let items = items.as_array().unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(
        labels.contains(&"tracking_uri") && labels.contains(&"artifact_store"),
        "{labels:?}"
    );
    assert!(!labels.contains(&"command"), "a stage field: {labels:?}");
    let tracking = items.iter().find(|i| i["label"] == "tracking_uri").unwrap();
    assert_eq!(
        tracking["documentation"]["value"],
        doc_of(schema::MLFLOW, "tracking_uri")
    );
    // In a `resources` block of a `train` stage, after a string with braces.
    let typing = "pipeline demo {\n  train fit {\n    command = [\"echo\", \"}{\"]\n    resources {\n      \n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let items = c.request("textDocument/completion", at(uri, 4, 6));
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"gpu_type") && labels.contains(&"limits"),
        "{labels:?}"
    );
    assert!(!labels.contains(&"image"), "{labels:?}");
    c.stop();
}

#[test]
fn every_field_is_documented() {
    use mlpc::sema::schema::*;
    for (table, specs) in [
        ("STAGE", STAGE),
        ("PIPELINE", PIPELINE),
        ("MLFLOW", MLFLOW),
        ("RESOURCES", RESOURCES),
        ("LIMITS", LIMITS),
        ("RETRIES", RETRIES),
        ("TOLERATION", TOLERATION),
        ("VOLUME", VOLUME),
        ("RUN_VOLUME", RUN_VOLUME),
        ("AFFINITY", AFFINITY),
        ("SIDECAR", SIDECAR),
        ("HISTORY", HISTORY),
    ] {
        for s in specs {
            assert!(
                s.doc.len() > 10 && s.doc.ends_with('.'),
                "{table}.{} has no documentation",
                s.name
            );
        }
    }
}

/// W0201's fix adds `artifact_store` to the pipeline's `mlflow` block, at
/// its entries' indentation; the fixed program has no W0201.
#[test]
fn a_deploy_without_artifact_store_gets_one() {
    let text = r#"pipeline demo {
  mlflow {
    tracking_uri = "http://mlflow:5000"
    experiment = "demo"
  }

  train fit {
    image = "trainer:1.0"
  }

  register reg {
    model = fit.model
    name = "m"
  }

  deploy serve {
    model = reg.version
    service = "m"
  }
}
"#;
    let (mut c, _) = Client::start(true);
    let uri = "file:///tmp/mlpc-lsp-test/store.mlp";
    c.open(uri, text);
    let d = c.diagnostics(uri);
    let diag = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "mlp::W0201")
        .cloned()
        .expect("W0201");
    let actions = c.code_actions(uri, &diag);
    let action = &actions[0];
    assert!(action["title"].as_str().unwrap().contains("artifact_store"));
    let fixed = apply(
        text,
        action["edit"]["changes"][uri].as_array().unwrap(),
        false,
    );
    assert!(
        fixed.contains(
            "    experiment = \"demo\"\n    artifact_store = \"s3://mlflow-artifacts\"\n  }"
        ),
        "{fixed}"
    );
    let checked = check(&fixed);
    assert!(
        checked
            .diagnostics
            .items
            .iter()
            .all(|d| d.code_str() != "mlp::W0201"),
        "{fixed}"
    );
    c.stop();
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A registry on a local port that, like Docker Hub and GHCR, answers an
/// anonymous manifest request with a Bearer challenge, gives a token for
/// the scope, and then the manifest's digest. Returns its `host:port`.
fn registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let realm = format!("http://{host}/token");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_ascii_lowercase());
            }
            let has = |h: &str| headers.iter().any(|l| l.starts_with(h));
            let response = if request_line.starts_with("HEAD /v2/team/app/manifests/latest ") {
                assert!(
                    has("accept: application/vnd.oci.image.index.v1+json"),
                    "{headers:?}"
                );
                if has("authorization: bearer tok-team-app") {
                    format!("HTTP/1.1 200 OK\r\nDocker-Content-Digest: {DIGEST}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else {
                    format!("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"test-registry\",scope=\"repository:team/app:pull\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                }
            } else if request_line.starts_with("GET /token?")
                && request_line.contains("scope=repository%3Ateam%2Fapp%3Apull")
                && request_line.contains("service=test-registry")
            {
                let body = r#"{"token":"tok-team-app"}"#;
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    host
}

fn pin_program(host: &str) -> String {
    format!("pipeline demo {{\n  prep a {{\n    image = \"{host}/team/app:latest\"\n    command = [\"run\"]\n  }}\n}}\n")
}

fn pin_action(c: &mut Client, uri: &str, text: &str) -> Value {
    c.open(uri, text);
    let d = c.diagnostics(uri);
    let diag = d["diagnostics"][0].clone();
    assert_eq!(diag["code"], "mlp::W0202", "{d}");
    let actions = c.code_actions(uri, &diag);
    let action = actions[0].clone();
    assert!(
        action["title"].as_str().unwrap().starts_with("Pin `"),
        "{action}"
    );
    // Offered without its edit: the registry is asked only when chosen.
    assert!(action["edit"].is_null(), "{action}");
    action
}

/// A client that resolves code actions gets the edit from
/// `codeAction/resolve`; the pinned program has no W0202.
#[test]
fn an_image_is_pinned_by_the_digest_its_registry_gives() {
    let host = registry();
    let text = pin_program(&host);
    let (mut c, _) = Client::start_with(
        true,
        json!({"codeAction": {"dataSupport": true, "resolveSupport": {"properties": ["edit"]}}}),
    );
    let uri = "file:///tmp/mlpc-lsp-test/pin.mlp";
    let action = pin_action(&mut c, uri, &text);
    assert!(action["command"].is_null() && !action["data"].is_null());
    let resolved = c.request("codeAction/resolve", action);
    let fixed = apply(
        &text,
        resolved["edit"]["changes"][uri].as_array().unwrap(),
        false,
    );
    assert!(
        fixed.contains(&format!("image = \"{host}/team/app:latest@{DIGEST}\"")),
        "{fixed}"
    );
    let checked = check(&fixed);
    assert!(checked.diagnostics.is_empty(), "{fixed}");
    c.stop();
}

/// Any other client runs the command `mlpc.pinImage`; the server sends the
/// edit back as `workspace/applyEdit`. A registry that cannot be reached
/// is an error the client shows, and no edit.
#[test]
fn a_client_without_resolve_runs_the_pin_command() {
    let host = registry();
    let text = pin_program(&host);
    let (mut c, _) = Client::start(false);
    let uri = "file:///tmp/mlpc-lsp-test/pin-command.mlp";
    let action = pin_action(&mut c, uri, &text);
    let command = &action["command"];
    assert_eq!(command["command"], "mlpc.pinImage");
    let answer = c.request(
        "workspace/executeCommand",
        json!({"command": command["command"], "arguments": command["arguments"]}),
    );
    assert_eq!(answer, Value::Null);
    let apply_edit = c
        .server_requests
        .iter()
        .find(|r| r.method == "workspace/applyEdit")
        .expect("an applyEdit request");
    let fixed = apply(
        &text,
        apply_edit.params["edit"]["changes"][uri]
            .as_array()
            .unwrap(),
        true,
    );
    assert!(
        fixed.contains(&format!("/team/app:latest@{DIGEST}\"")),
        "{fixed}"
    );

    // A port nobody listens on: the command fails with the reason.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let uri = "file:///tmp/mlpc-lsp-test/pin-closed.mlp";
    let action = pin_action(&mut c, uri, &pin_program(&closed));
    let error = c.request_error(
        "workspace/executeCommand",
        json!({"command": "mlpc.pinImage", "arguments": action["command"]["arguments"]}),
    );
    assert!(error.contains("could not be reached"), "{error}");
    c.stop();
}
