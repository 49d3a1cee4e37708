//! The `sh -c` wrapper around a stage's command on Kubeflow Pipelines.
//!
//! The IR has no form for two things `.mlp` promises: an environment
//! variable whose value is known only at run time (the executor's `env` is
//! copied into the pod as written), and an output the container writes at
//! a fixed path (KFP chooses the path: `{{$.outputs...}}`). The wrapper
//! bridges both with POSIX `sh` only: it exports the values, runs the
//! command, and when it succeeded copies each output to where KFP collects
//! it. Its text is made of compile-time names and counts only; every value
//! (and every path) is a positional argument, so no value can change what
//! the shell runs.

/// One output to copy after the command: a value (copied with shell
/// builtins, without a final line break) or an artifact (`cp -R`), each
/// from the path the command wrote; or the value of one of the wrapper's
/// own variables (the run id it exported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Value,
    Artifact,
    Variable(&'static str),
}

impl Copy {
    /// The positional arguments it takes: the path the command writes
    /// (not for a variable), then the path KFP reads.
    pub fn arity(self) -> usize {
        match self {
            Copy::Variable(_) => 1,
            _ => 2,
        }
    }
}

/// A variable the wrapper exports: the next positional argument, then
/// `suffix` as the shell expands it. The suffix is compile-time text that
/// may name variables the pod has (`${MLP_K8S_POD}`), never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub suffix: &'static str,
}

impl From<&str> for Export {
    fn from(name: &str) -> Export {
        Export {
            name: name.to_string(),
            suffix: "",
        }
    }
}

/// `$0` of the wrapper: the name `sh` gives the script in messages.
pub const NAME: &str = "mlpc-kfp";

/// The wrapper's script, for `exports` variables (in order, from the first
/// positional arguments) and `copies` outputs (each taking
/// [`Copy::arity`] arguments). The command follows.
pub fn script(exports: &[Export], copies: &[Copy]) -> String {
    let mut s = String::new();
    let mut n = 0;
    if !exports.is_empty() {
        s.push_str("export");
        for e in exports {
            n += 1;
            s.push_str(&format!(" {}=\"${{{n}}}{}\"", e.name, e.suffix));
        }
        s.push_str(";\n");
    }
    let shifted = exports.len() + copies.iter().map(|c| c.arity()).sum::<usize>();
    let mut pairs = Vec::new();
    for (i, copy) in copies.iter().enumerate() {
        let i = i + 1;
        if copy.arity() == 2 {
            pairs.push(format!("o{i}=\"${{{}}}\"", n + 1));
            n += 1;
        }
        pairs.push(format!("k{i}=\"${{{}}}\"", n + 1));
        n += 1;
    }
    if !pairs.is_empty() {
        s.push_str(&pairs.join(" "));
        s.push_str(";\n");
    }
    if shifted > 0 {
        s.push_str(&format!("shift {shifted};\n"));
    }
    if copies.is_empty() {
        s.push_str("exec \"$@\"\n");
        return s;
    }
    s.push_str("\"$@\"; rc=$?\n");
    s.push_str("if [ \"$rc\" -eq 0 ]; then\n");
    for (i, copy) in copies.iter().enumerate() {
        let i = i + 1;
        match copy {
            // `read` and `printf` are builtins: the image needs no `cat`.
            Copy::Value => s.push_str(&format!(
                "  {{ f=1; while IFS= read -r l || [ -n \"$l\" ]; do [ \"$f\" = 1 ] || printf '\\n'; printf '%s' \"$l\"; f=0; done < \"$o{i}\" > \"$k{i}\"; }} || rc=1\n"
            )),
            Copy::Artifact => s.push_str(&format!(
                "  if [ -d \"$o{i}\" ]; then mkdir -p \"$k{i}\" && cp -R \"$o{i}/.\" \"$k{i}/\"; else mkdir -p \"${{k{i}%/*}}\" && cp \"$o{i}\" \"$k{i}\"; fi || rc=1\n"
            )),
            Copy::Variable(var) => s.push_str(&format!(
                "  printf '%s' \"${var}\" > \"$k{i}\" || rc=1\n"
            )),
        }
    }
    s.push_str("fi\nexit \"$rc\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs the wrapper under each POSIX shell the machine has (`sh`,
    /// `dash`, `busybox sh`) with these arguments after the script, and
    /// checks each run as it ends.
    fn run(script: &str, args: &[&str], mut check: impl FnMut(&str, std::process::Output)) {
        let shells: [&[&str]; 3] = [&["sh"], &["dash"], &["busybox", "sh"]];
        let mut ran = 0;
        for sh in shells {
            let mut c = Command::new(sh[0]);
            c.args(&sh[1..]).arg("-c").arg(script).arg(NAME).args(args);
            if let Ok(o) = c.output() {
                check(&sh.join(" "), o);
                ran += 1;
            }
        }
        // CI installs dash and busybox (.ci/run); `sh` is everywhere.
        let wanted = if std::env::var_os("CI").is_some() {
            3
        } else {
            1
        };
        assert!(ran >= wanted, "only {ran} of the shells ran");
    }

    #[test]
    fn exports_values_as_they_are_and_keeps_the_exit_code() {
        let s = script(&["A".into(), "B".into()], &[]);
        let tricky = "it's \"$HOME\" `x` $(y) ;|&";
        run(
            &s,
            &[
                tricky,
                " two  spaces ",
                "sh",
                "-c",
                "printf '%s|%s' \"$A\" \"$B\"; exit 3",
            ],
            |shell, o| {
                assert_eq!(o.status.code(), Some(3), "{shell}");
                assert_eq!(
                    String::from_utf8_lossy(&o.stdout),
                    format!("{tricky}| two  spaces "),
                    "{shell}"
                );
            },
        );
    }

    #[test]
    fn more_than_nine_arguments_and_a_variable_output() {
        // `$10` is `${1}0` in sh: every argument is read braced.
        let names: Vec<Export> = (1..=11).map(|i| format!("V{i}").as_str().into()).collect();
        let s = script(&names, &[Copy::Variable("V11")]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("v").display().to_string();
        let values: Vec<String> = (1..=11).map(|i| format!("value {i}")).collect();
        let mut args: Vec<&str> = values.iter().map(String::as_str).collect();
        args.extend([out.as_str(), "sh", "-c", "printf '%s|%s' \"$V10\" \"$V11\""]);
        run(&s, &args, |shell, o| {
            assert!(o.status.success(), "{shell}: {o:?}");
            assert_eq!(
                String::from_utf8_lossy(&o.stdout),
                "value 10|value 11",
                "{shell}"
            );
            assert_eq!(
                std::fs::read_to_string(&out).unwrap(),
                "value 11",
                "{shell}"
            );
        });
    }

    #[test]
    fn copies_outputs_after_success_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        std::fs::create_dir(p("kfp")).unwrap();
        let s = script(&[], &[Copy::Value, Copy::Artifact, Copy::Artifact]);
        let program = format!(
            "printf '42\\n' > {v}; printf 'data' > {f}; mkdir -p {d}/sub; printf x > {d}/sub/y",
            v = p("value"),
            f = p("file"),
            d = p("dir")
        );
        run(
            &s,
            &[
                &p("value"),
                &p("kfp/value"),
                &p("file"),
                &p("kfp/file"),
                &p("dir"),
                &p("kfp/dir"),
                "sh",
                "-c",
                &program,
            ],
            |shell, o| {
                assert!(o.status.success(), "{shell}: {o:?}");
                assert_eq!(std::fs::read_to_string(p("kfp/value")).unwrap(), "42");
                assert_eq!(std::fs::read_to_string(p("kfp/file")).unwrap(), "data");
                assert_eq!(std::fs::read_to_string(p("kfp/dir/sub/y")).unwrap(), "x");
                std::fs::remove_dir_all(p("kfp")).unwrap();
                std::fs::create_dir(p("kfp")).unwrap();
            },
        );
        // A failed command: its code, and nothing copied.
        run(
            &s,
            &[&p("value"), &p("kfp/value"), "a", "b", "c", "d", "false"],
            |shell, o| {
                assert_eq!(o.status.code(), Some(1), "{shell}");
                assert!(!std::path::Path::new(&p("kfp/value")).exists(), "{shell}");
            },
        );
        // An output the command did not write fails the step.
        let s = script(&[], &[Copy::Value]);
        run(&s, &[&p("missing"), &p("kfp/m"), "true"], |shell, o| {
            assert_eq!(o.status.code(), Some(1), "{shell}");
        });
    }
}
