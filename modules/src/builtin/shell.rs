//! `shell`: runs a command line through the host's shell (`/bin/sh -c`, or `executable -c`), so
//! pipes, redirections, variables and globs are interpreted. Same runner and return values as
//! `command`, with `cmd` returned as the string.

use serde::Deserialize;
use serde_json::Value;

use super::command::{run_spec, stdin_bytes, RunSpec};
use crate::contract::{ArgError, ModuleCtx, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::sh_words::ShWords;
use crate::shell_quote::quote;

/// `shell` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct ShellArgs {
    /// The command line (the free-form form arrives as `_raw_params`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub cmd: Option<String>,
    /// The free-form command line given after the module name.
    #[serde(default, rename = "_raw_params", deserialize_with = "crate::args::opt_string")]
    pub raw_params: Option<String>,
    /// Directory to run in.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub chdir: Option<String>,
    /// Glob: do not run when it matches an existing path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub creates: Option<String>,
    /// Glob: run only when it matches an existing path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub removes: Option<String>,
    /// Text fed to the command's stdin.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub stdin: Option<String>,
    /// Append a newline to `stdin`.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub stdin_add_newline: bool,
    /// Strip trailing newlines from stdout and stderr.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub strip_empty_ends: bool,
    /// The shell to run the command with (`/bin/bash`); `/bin/sh` by default.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub executable: Option<String>,
}

/// The `shell` module.
pub struct Shell;

impl TypedModule for Shell {
    type Args = ShellArgs;
    const NAME: &'static str = "shell";
    const DOC: ModuleText = ModuleText {
        short: "Runs a command line through the host's shell (`/bin/sh -c`, or `executable -c`), so pipes, \
                redirections, variables and globs work.",
        notes: "The same runner as `command`: one of the free-form line and `cmd` is required; a non-zero exit status \
                fails the task; the task reports a change whenever the command runs; `creates`/`removes` skip it; \
                check mode does not run it. `cmd` is returned as the string given.",
        returns: &[
            ("cmd", "The command line as given."),
            ("rc", "The exit status (0 when `creates`/`removes` skipped the command)."),
            ("stdout, stderr", "The command's output (trailing newlines stripped unless `strip_empty_ends: false`)."),
            ("stdout_lines, stderr_lines", "The output split into lines."),
            ("start, end, delta", "When it started and ended on the host, and how long it ran."),
        ],
        example: "- name: Count the established connections\n  \
                  ansible.builtin.shell: ss -tn state established | tail -n +2 | wc -l\n  \
                  register: connections\n  \
                  changed_when: false\n",
    };

    /// Ansible's shell action refuses command's `expand_argument_vars` by name; anything else
    /// reaches the command module it runs, which reports it.
    fn unsupported_args(bad: &[String]) -> String {
        if bad.iter().any(|b| b == "expand_argument_vars") {
            return "Unsupported parameters for (shell) module: expand_argument_vars".into();
        }
        <super::command::Command as TypedModule>::unsupported_args(bad)
    }

    fn check_args(a: &ShellArgs) -> Result<(), ArgError> {
        match (&a.cmd, &a.raw_params) {
            (None, None) => Err(ArgError {
                msg: "one of the following is required: _raw_params, cmd (give the command line, e.g. `shell: uptime`)"
                    .into(),
            }),
            (Some(_), Some(_)) => Err(ArgError { msg: "parameters are mutually exclusive: _raw_params|cmd".into() }),
            _ => Ok(()),
        }
    }

    fn first_probe(a: &ShellArgs) -> Option<String> {
        super::command::creates_probe(a.chdir.is_none(), a.creates.as_deref())
    }

    fn run(&self, a: ShellArgs, ctx: &mut ModuleCtx) -> RunResult {
        let line = a.raw_params.or(a.cmd).unwrap_or_default();
        let exe = a.executable.unwrap_or_else(|| "/bin/sh".into());
        let spec = RunSpec {
            cmd_json: Value::from(line.clone()),
            cmd_text: line.clone(),
            program: format!("{} -c {}", quote(&exe), quote(&line)),
            argv0: None,
            chdir: a.chdir,
            creates: a.creates,
            removes: a.removes,
            stdin: stdin_bytes(a.stdin, a.stdin_add_newline),
            strip: a.strip_empty_ends,
            words: ShWords::default(),
        };
        run_spec(spec, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::command::tests::run_module;
    use serde_json::json;

    #[test]
    fn shell_syntax_is_interpreted() {
        let r = run_module(&Shell, json!({"_raw_params": "V=x; echo \"a  $V\" | tr a A; echo err >&2; exit 0"}), false)
            .unwrap();
        assert_eq!(r["stdout"], "A  x");
        assert_eq!(r["stderr"], "err");
        assert_eq!(r["cmd"], "V=x; echo \"a  $V\" | tr a A; echo err >&2; exit 0");
        assert_eq!(r["changed"], true);
    }

    #[test]
    fn exit_status_fails_the_task() {
        let (r, _) = run_module(&Shell, json!({"cmd": "echo out; exit 3"}), false).unwrap_err();
        assert_eq!(r["rc"], 3);
        assert_eq!(r["stdout"], "out");
        assert_eq!(r["msg"], "non-zero return code");
    }

    #[test]
    fn chdir_through_a_symlink_gives_the_physical_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("www_root/site");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(dir.path().join("www_root"), dir.path().join("www")).unwrap();
        let r = run_module(&Shell, json!({"cmd": "dirname \"$PWD\"", "chdir": dir.path().join("www/site")}), false)
            .unwrap();
        let canon = std::fs::canonicalize(dir.path().join("www_root")).unwrap();
        assert_eq!(r["stdout"], canon.display().to_string());
    }

    #[test]
    fn executable_chdir_stdin_creates_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let r = run_module(
            &Shell,
            json!({"cmd": "echo ${BASH_VERSION:+bash}; pwd; cat", "executable": "bash", "chdir": dir.path(), "stdin": "in"}),
            false,
        )
        .unwrap();
        let canon = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(r["stdout"], format!("bash\n{}\nin", canon.display()));
        let r = run_module(&Shell, json!({"cmd": "exit 1", "creates": "/"}), false).unwrap();
        assert_eq!(r["msg"], "Did not run command since '/' exists");
        let r = run_module(&Shell, json!({"cmd": "exit 1"}), true).unwrap();
        assert_eq!(r["skipped"], true);
    }
}
