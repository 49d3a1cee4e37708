//! Values never become code: in every form of a shell's `-c` script they
//! travel through the environment, and other interpreters' inline code may
//! not hold them (E0229). Argo substitutes `{{...}}` as text
//! (util/template/simple_template.go), so a placeholder inside a script
//! would put the raw value into the program.

mod common;

use common::places::{compile_source, template};
use serde_json::Value;

fn main_container(body: &str) -> Value {
    let source = format!(
        "pipeline p {{\n  param x: string = \"v\"\n  prep s {{\n    image = \"x:1.0.0\"\n    {body}\n  }}\n}}\n"
    );
    let doc = compile_source(&source).unwrap_or_else(|codes| panic!("{body}: {codes:?}"));
    template(&doc, "s")["container"].clone()
}

fn argv(c: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .flat_map(|k| c[k].as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_shell_form_reads_values_from_the_environment() {
    for body in [
        r#"command = ["sh", "-c"]
    args = ["echo ${x}"]"#,
        r#"command = ["/usr/bin/sh", "-c", "echo ${x}"]"#,
        r#"command = ["busybox", "sh", "-c", "echo ${x}"]"#,
        r#"command = ["env", "sh", "-c", "echo ${x}"]"#,
        r#"command = ["/usr/bin/env", "-i", "A=1", "bash", "-c", "echo ${x}"]"#,
        r#"command = ["bash", "-o", "pipefail", "-c", "echo ${x}"]"#,
        r#"command = ["bash", "-lc", "echo ${x}"]"#,
        r#"command = ["sh", "-ec", "echo ${x}"]"#,
        r#"command = ["sh", "-c", "echo ${x} \"$1\"", "name", "${x}"]"#,
    ] {
        let c = main_container(body);
        let words = argv(&c);
        let script = words.iter().find(|w| w.starts_with("echo")).unwrap();
        assert!(
            !script.contains("{{"),
            "{body}: the script holds a placeholder: {words:?}"
        );
        assert!(script.contains("${MLP_V_1}"), "{body}: {words:?}");
        let env = &c["env"][0];
        assert_eq!(env["name"], "MLP_V_1");
        assert_eq!(env["value"], "{{workflow.parameters.x}}");
        // The arguments after the script are `$0`, `$1`...: data, passed as is.
        if body.contains("\"name\"") {
            assert_eq!(words.last().unwrap(), "{{workflow.parameters.x}}");
        }
    }
}

#[test]
fn other_interpreters_code_holds_no_values() {
    for body in [
        r#"command = ["python3", "-c", "print('${x}')"]"#,
        r#"command = ["node", "-e", "console.log('${x}')"]"#,
        r#"command = ["perl", "-ne", "print '${x}'"]"#,
        r#"command = ["env", "python", "-u", "-c"]
    args = ["print('${x}')"]"#,
        "shell = \"python3\"\n    script = \"\"\"\n      print('${x}')\n    \"\"\"",
    ] {
        let source = format!(
            "pipeline p {{\n  param x: string = \"v\"\n  prep s {{\n    image = \"x:1.0.0\"\n    {body}\n  }}\n}}\n"
        );
        let codes = compile_source(&source).expect_err(body);
        assert_eq!(codes, ["mlp::E0229"], "{body}");
    }
    // Values as arguments of a program (not code) stay plain arguments.
    let c = main_container(r#"command = ["python3", "train.py", "--lr", "${x}"]"#);
    assert_eq!(argv(&c)[3], "{{workflow.parameters.x}}");
    // A Python script without values is fine.
    let c =
        main_container("shell = \"python3\"\n    script = \"\"\"\n      print('hi')\n    \"\"\"");
    assert_eq!(argv(&c)[0], "python3");
}
