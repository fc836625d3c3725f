//! `raw`: runs a command line on the host as it is, through the connection's shell, with none of
//! `command`'s bookkeeping (no `chdir`/`creates`, no timing, outputs not stripped), as Ansible's
//! `raw` action runs it through `_low_level_execute_command`.

use serde::Deserialize;

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `raw` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct RawArgs {
    /// The command line, given after the module name.
    #[serde(default, rename = "_raw_params", deserialize_with = "crate::args::opt_string")]
    pub raw_params: Option<String>,
    /// The shell to run the line with (`/bin/bash`); the connection's `sh` otherwise.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub executable: Option<String>,
}

/// The `raw` module.
pub struct Raw;

/// Splits an output into lines as Python's `splitlines()` (what Ansible's `*_lines` are).
fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

impl TypedModule for Raw {
    type Args = RawArgs;
    const NAME: &'static str = "raw";
    const DOC: ModuleText = ModuleText {
        short: "Runs a command line on the host as it is, through the connection's shell.",
        notes: "Always reports a change; a non-zero exit status fails the task (`non-zero return code`). Check mode \
                skips it, as in Ansible. The outputs are returned as the command printed them (trailing newlines \
                kept).",
        returns: &[
            ("rc", "The exit status."),
            ("stdout, stderr", "The command's output, as printed."),
            ("stdout_lines, stderr_lines", "The output split into lines."),
        ],
        example: "- name: Bootstrap a host without Python\n  \
                  ansible.builtin.raw: apt-get install -y python3\n",
    };

    fn check_args(a: &RawArgs) -> Result<(), ArgError> {
        match a.raw_params.as_deref() {
            None | Some("") => Err(ArgError {
                msg: "a command line is required (give it after the module name, e.g. `raw: uptime`)".into(),
            }),
            _ => Ok(()),
        }
    }

    fn run(&self, a: RawArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            let mut r = ModuleResult::ok();
            r.skipped = true;
            return Ok(r);
        }
        let line = a.raw_params.unwrap_or_default();
        let script = match &a.executable {
            Some(exe) => format!("{} -c {}", quote(exe), quote(&line)),
            None => line,
        };
        let out = ctx.conn.exec(&script, None)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        let mut r = ModuleResult::changed(true)
            .with("rc", out.rc)
            .with("stdout_lines", lines(&stdout))
            .with("stderr_lines", lines(&stderr))
            .with("stdout", stdout)
            .with("stderr", stderr);
        if out.rc != 0 {
            r.failed = true;
            r.msg = Some("non-zero return code".into());
            return Err(ModuleError::Fail(Box::new(r)));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::command::tests::run_module;
    use serde_json::json;

    #[test]
    fn runs_the_line_as_is_and_keeps_newlines() {
        let r = run_module(&Raw, json!({"_raw_params": "echo a; echo b >&2; V=x; echo $V"}), false).unwrap();
        assert_eq!(r["stdout"], "a\nx\n");
        assert_eq!(r["stdout_lines"], json!(["a", "x"]));
        assert_eq!(r["stderr"], "b\n");
        assert_eq!(r["rc"], 0);
        assert_eq!(r["changed"], true);
        assert!(r.get("cmd").is_none());
    }

    #[test]
    fn non_zero_fails_executable_is_used_and_check_skips() {
        let (r, _) = run_module(&Raw, json!({"_raw_params": "exit 4"}), false).unwrap_err();
        assert_eq!(r["rc"], 4);
        assert_eq!(r["msg"], "non-zero return code");
        let r = run_module(&Raw, json!({"_raw_params": "echo ${BASH_VERSION:+bash}", "executable": "bash"}), false)
            .unwrap();
        assert_eq!(r["stdout"], "bash\n");
        let r = run_module(&Raw, json!({"_raw_params": "exit 1"}), true).unwrap();
        assert_eq!(r["skipped"], true);
    }
}
