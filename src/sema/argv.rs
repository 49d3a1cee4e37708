//! Which element of a container's argv is code: the script a shell reads
//! after `-c`, or the inline program of an interpreter (`python -c`,
//! `node -e`, `perl -e`). The checker and the lowering both ask here, so a
//! value can never reach code text that one of them did not recognise.
//!
//! Argo substitutes `{{...}}` as text, so a run-time value inside code would
//! become code. In a shell script mlpc passes it through the environment
//! (`${MLP_V_n}`); other interpreters' inline code may not hold values.

/// What the code element is run by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A POSIX-style shell's `-c` script.
    Shell,
    /// Another interpreter's inline program (`python -c`, `node -e`, ...).
    Inline(&'static str),
}

/// Shells by base name (`/bin/sh`, `/usr/bin/bash` included).
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "yash"];

/// Whether `program` (a path or a name) is a shell mlpc passes values to
/// through the environment.
pub fn is_shell(program: &str) -> bool {
    SHELLS.contains(&base_name(program))
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The index of the code element of `argv` and what runs it. `argv[i]` is
/// the element's literal text, or `None` when it holds a run-time value
/// (a program or option that is not known at compile time ends the search).
pub fn code_argument(argv: &[Option<&str>]) -> Option<(usize, Code)> {
    let mut i = 0;
    loop {
        let program = base_name((*argv.get(i)?)?);
        match program {
            // `env [-i] [-u NAME] [NAME=VALUE]... PROGRAM`
            "env" => {
                i += 1;
                while let Some(Some(a)) = argv.get(i) {
                    match *a {
                        "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                        a if a.starts_with('-') => i += 1,
                        a if a.contains('=') => i += 1,
                        _ => break,
                    }
                }
            }
            // `busybox APPLET ...`
            "busybox" => i += 1,
            p if SHELLS.contains(&p) => return shell_script(argv, i + 1),
            p => {
                let (name, flags): (&'static str, &[char]) = match p {
                    p if p.starts_with("python") || p.starts_with("pypy") => ("python", &['c']),
                    "node" | "nodejs" => ("node", &['e', 'p']),
                    "perl" => ("perl", &['e', 'E']),
                    "ruby" => ("ruby", &['e']),
                    "Rscript" => ("Rscript", &['e']),
                    "php" => ("php", &['r']),
                    _ => return None,
                };
                return inline_code(argv, i + 1, flags).map(|j| (j, Code::Inline(name)));
            }
        }
    }
}

/// A shell's options from `from`: with `c` among them (`-c`, `-lc`, `-ec`,
/// `-o pipefail -c`), the first operand after them is the script; the ones
/// after it are `$0`, `$1`... and stay plain arguments.
fn shell_script(argv: &[Option<&str>], from: usize) -> Option<(usize, Code)> {
    let mut j = from;
    let mut script = false;
    while let Some(Some(a)) = argv.get(j) {
        match *a {
            "--" => {
                j += 1;
                break;
            }
            "-o" | "+o" => j += 2,
            a if a.starts_with("--") => j += 1,
            a if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 => {
                let letters = &a[1..];
                script |= letters.contains('c');
                // `-eo pipefail`: the option name follows the cluster.
                j += if letters.contains('o') { 2 } else { 1 };
            }
            _ => break,
        }
    }
    (script && j < argv.len()).then_some((j, Code::Shell))
}

/// An interpreter's inline-code flag (`-c`, `-e`, clusters such as `-ne`)
/// before its first operand: the element after it is the code.
fn inline_code(argv: &[Option<&str>], from: usize, flags: &[char]) -> Option<usize> {
    let mut j = from;
    while let Some(Some(a)) = argv.get(j) {
        if a.starts_with("--") {
            if matches!(*a, "--eval" | "--print" | "--command") {
                return (j + 1 < argv.len()).then_some(j + 1);
            }
            j += 1;
            continue;
        }
        if !a.starts_with('-') || a.len() < 2 {
            return None; // a script file or module: no inline code
        }
        if *a == "-m" {
            return None;
        }
        if a.chars().last().is_some_and(|c| flags.contains(&c)) {
            return (j + 1 < argv.len()).then_some(j + 1);
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(argv: &[&str]) -> Option<(usize, Code)> {
        let words: Vec<Option<&str>> = argv.iter().map(|w| Some(*w)).collect();
        code_argument(&words)
    }

    #[test]
    fn shells_by_base_name_through_env_and_busybox_with_combined_flags() {
        assert_eq!(code(&["sh", "-c", "s"]), Some((2, Code::Shell)));
        assert_eq!(code(&["/usr/bin/sh", "-c", "s"]), Some((2, Code::Shell)));
        assert_eq!(code(&["busybox", "sh", "-c", "s"]), Some((3, Code::Shell)));
        assert_eq!(code(&["env", "sh", "-c", "s"]), Some((3, Code::Shell)));
        assert_eq!(
            code(&["/usr/bin/env", "-i", "A=1", "bash", "-c", "s"]),
            Some((5, Code::Shell))
        );
        assert_eq!(
            code(&["bash", "-o", "pipefail", "-c", "s", "arg0", "arg1"]),
            Some((4, Code::Shell))
        );
        assert_eq!(code(&["bash", "-lc", "s"]), Some((2, Code::Shell)));
        assert_eq!(code(&["sh", "-ec", "s"]), Some((2, Code::Shell)));
        assert_eq!(
            code(&["bash", "-eo", "pipefail", "-c", "s"]),
            Some((4, Code::Shell))
        );
        // A script file, not inline code.
        assert_eq!(code(&["sh", "run.sh", "-c"]), None);
        assert_eq!(code(&["sh", "-c"]), None);
    }

    #[test]
    fn interpreters_inline_code() {
        assert_eq!(
            code(&["python3", "-c", "x"]),
            Some((2, Code::Inline("python")))
        );
        assert_eq!(
            code(&["python3.12", "-u", "-c", "x"]),
            Some((3, Code::Inline("python")))
        );
        assert_eq!(code(&["python", "-m", "pkg", "-c", "x"]), None);
        assert_eq!(code(&["python", "train.py", "-c", "x"]), None);
        assert_eq!(code(&["node", "-e", "x"]), Some((2, Code::Inline("node"))));
        assert_eq!(
            code(&["node", "--eval", "x"]),
            Some((2, Code::Inline("node")))
        );
        assert_eq!(code(&["perl", "-ne", "x"]), Some((2, Code::Inline("perl"))));
        assert_eq!(
            code(&["env", "perl", "-e", "x"]),
            Some((3, Code::Inline("perl")))
        );
    }

    #[test]
    fn a_run_time_program_or_option_ends_the_search() {
        assert_eq!(code_argument(&[None, Some("-c"), Some("s")]), None);
        assert_eq!(code_argument(&[Some("sh"), None, Some("s")]), None);
    }
}
