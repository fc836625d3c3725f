//! `script`: copies a local script to the host and runs it there, as Ansible's `script` action
//! does: the first word of the command line names a file found as `copy src` is (role `files/`,
//! the playbook's directory), the rest of the line is passed to it as written. The host needs
//! nothing but `sh` (and whatever the script's own interpreter is).
//!
//! Like `command`, a script's effect cannot be known before it runs, so the module has no
//! decide/apply split: it is planned as "runs, effect unknown" (docs/architecture.md, "Decide,
//! then apply"). `creates`/`removes` are tested before anything is sent.

use serde::Deserialize;

use crate::builtin::command::split_lines;
use crate::contract::{ArgError, FileKind, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `script` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct ScriptArgs {
    /// The free-form line given after the module name: the local script, then its arguments.
    #[serde(default, rename = "_raw_params", deserialize_with = "crate::args::opt_string")]
    pub raw_params: Option<String>,
    /// The local script and its arguments, as the free-form line.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub cmd: Option<String>,
    /// A path on the host: when it exists, the script does not run.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub creates: Option<String>,
    /// A path on the host: when it does not exist, the script does not run.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub removes: Option<String>,
    /// An absolute directory on the host to run the script in.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub chdir: Option<String>,
    /// The program that runs the script (`/bin/bash`, `python3`), put before it on the command
    /// line; without it the script runs itself (its `#!` line).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub executable: Option<String>,
}

/// The `script` module.
pub struct Script;

/// What the first round trip found: whether to run, and the temporary directory made for it.
enum Probe {
    /// `creates` exists.
    Creates,
    /// `removes` does not exist.
    Removes,
    /// Run; the temporary directory on the host (none in check mode).
    Run(Option<String>),
}

/// Ansible's skipped result (`AnsibleActionSkip`): not changed, the reason as `msg`.
fn skipped(msg: String) -> ModuleResult {
    let mut r = ModuleResult::ok().with_msg(msg);
    r.skipped = true;
    r
}

impl TypedModule for Script {
    type Args = ScriptArgs;
    const NAME: &'static str = "script";
    const DOC: ModuleText = ModuleText {
        short: "Copies a local script to the host and runs it there with the arguments given after it.",
        notes: "The first word of the line is the script on the controller, found as `copy`'s `src` (the role's \
                `files/`, the playbook's directory); the rest is passed to it unchanged (quoting kept). The script \
                is sent to a temporary directory on the host, made executable, run (through `executable` when \
                given, else through its own `#!` line) and removed. `creates`/`removes` are tested first (a plain \
                path, no glob) and skip the task; `chdir` must be absolute. The task always reports a change; a \
                non-zero exit status fails it. Check mode runs nothing: the task is skipped, or reported changed \
                when `creates`/`removes` say it would run. The outputs are returned as the script printed them.",
        returns: &[
            ("rc", "The exit status."),
            ("stdout, stderr", "The script's output, as printed (trailing newlines kept)."),
            ("stdout_lines, stderr_lines", "The output split into lines."),
        ],
        example: "- name: Run a local setup script on the host once\n  \
                  ansible.builtin.script: setup.sh --with-cache\n  \
                  args:\n    \
                  creates: /etc/app/setup.done\n",
    };

    fn check_args(a: &ScriptArgs) -> Result<(), ArgError> {
        match (&a.raw_params, &a.cmd) {
            (None, None) => Err(ArgError {
                msg: "one of the following is required: _raw_params, cmd (give the script, e.g. `script: setup.sh`)"
                    .into(),
            }),
            (Some(_), Some(_)) => Err(ArgError { msg: "parameters are mutually exclusive: _raw_params|cmd".into() }),
            _ => Ok(()),
        }
    }

    fn run(&self, a: ScriptArgs, ctx: &mut ModuleCtx) -> RunResult {
        let raw = a.raw_params.as_deref().or(a.cmd.as_deref()).unwrap_or_default().trim().to_string();
        // Everything the controller can settle comes first; its failure is reported after the
        // `creates`/`removes` tests, as Ansible orders them.
        let prepared = prepare(&a, &raw, ctx);
        let probe = probe(&a, prepared.is_ok() && !ctx.check, ctx)?;
        let tmp = match probe {
            Probe::Creates => {
                return Ok(skipped(format!("{} exists, matching creates option", a.creates.unwrap_or_default())))
            }
            Probe::Removes => {
                return Ok(skipped(format!(
                    "{} does not exist, matching removes option",
                    a.removes.unwrap_or_default()
                )))
            }
            Probe::Run(tmp) => tmp,
        };
        let prepared = prepared?;
        if ctx.check {
            if a.creates.is_some() || a.removes.is_some() {
                return Ok(ModuleResult::changed(true));
            }
            return Ok(skipped("Check mode is not supported for this task.".into()));
        }
        let Some(tmp) = tmp else {
            return Err(ModuleError::msg("internal error: no temporary directory for the script"));
        };
        run_in(&a, &raw, prepared, &tmp, ctx)
    }
}

/// The script found on the controller: the word naming it in the line, its file name and bytes.
struct Prepared {
    word: String,
    name: String,
    bytes: Vec<u8>,
}

/// Checks `chdir`, finds the script on the controller and reads it.
fn prepare(a: &ScriptArgs, raw: &str, ctx: &ModuleCtx) -> Result<Prepared, ModuleError> {
    // A relative chdir would depend on the host's login directory: Ansible refuses it.
    if let Some(d) = a.chdir.as_deref().filter(|d| !d.is_empty() && !d.starts_with('/')) {
        return Err(ModuleError::msg(format!("chdir {d} must be an absolute path for a Unix-aware remote node")));
    }
    let parts =
        crate::shlex::split(raw).map_err(|e| ModuleError::msg(format!("cannot split the command line: {e}")))?;
    let Some(word) = parts.into_iter().next() else {
        return Err(ModuleError::msg("no script given"));
    };
    let local = ctx.controller.find_file(FileKind::Files, &word).map_err(ModuleError::msg)?;
    let bytes = ctx
        .controller
        .read_source(&local, true)
        .map_err(|e| ModuleError::msg(format!("could not read {}: {e}", local.display())))?;
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "script".into());
    Ok(Prepared { word, name, bytes })
}

/// Tests `creates`/`removes` on the host and, when `make_tmp`, makes the script's temporary
/// directory: one round trip.
fn probe(a: &ScriptArgs, make_tmp: bool, ctx: &mut ModuleCtx) -> Result<Probe, ModuleError> {
    let mut sh = String::new();
    // `test -e` on the path as given, as Ansible's `_remote_file_exists` (no glob, no expansion).
    if let Some(c) = a.creates.as_deref().filter(|c| !c.is_empty()) {
        sh += &format!("if [ -e {} ]; then echo CREATES; exit 0; fi\n", quote(c));
    }
    if let Some(r) = a.removes.as_deref().filter(|r| !r.is_empty()) {
        sh += &format!("if ! [ -e {} ]; then echo REMOVES; exit 0; fi\n", quote(r));
    }
    if make_tmp {
        sh += "mktemp -d \"${TMPDIR:-/tmp}/orc-script.XXXXXXXX\" || exit 97\n";
    }
    if sh.is_empty() {
        return Ok(Probe::Run(None));
    }
    let out = ctx.conn.exec(&sh, None)?;
    let stdout = out.stdout_str();
    match stdout.trim() {
        "CREATES" => Ok(Probe::Creates),
        "REMOVES" => Ok(Probe::Removes),
        _ if !make_tmp => Ok(Probe::Run(None)),
        t if out.rc == 0 && t.starts_with('/') => Ok(Probe::Run(Some(t.to_string()))),
        _ => Err(ModuleError::msg(format!(
            "could not create a temporary directory on the host: {}",
            out.stderr_str().trim()
        ))),
    }
}

/// Sends the script to `tmp`, runs it and removes `tmp`.
fn run_in(a: &ScriptArgs, raw: &str, p: Prepared, tmp: &str, ctx: &mut ModuleCtx) -> RunResult {
    let remote = format!("{tmp}/{}", p.name);
    if let Err(e) = ctx.conn.write_file(&remote, &p.bytes) {
        ctx.conn.exec(&format!("rm -rf -- {}", quote(tmp)), None)?;
        return Err(ModuleError::msg(format!("could not send the script to {remote}: {e}")));
    }
    // As Ansible: the script's word in the line is replaced by its path on the host, so the
    // arguments keep their quoting.
    let target = raw.replace(p.word.as_str(), &quote(&remote));
    let line = match a.executable.as_deref().filter(|e| !e.is_empty()) {
        Some(exe) => format!("{exe} {target}"),
        None => target,
    };
    let mut sh = format!("chmod u+x {}\n", quote(&remote));
    if let Some(d) = a.chdir.as_deref().filter(|d| !d.is_empty()) {
        sh += &format!("cd {} || {{ _orcrc=$?; rm -rf -- {}; exit $_orcrc; }}\n", quote(d), quote(tmp));
    }
    sh += &format!("( {line}\n)\n_orcrc=$?\nrm -rf -- {}\nexit $_orcrc\n", quote(tmp));
    let out = ctx.conn.exec(&sh, None)?;
    let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
    let mut r = ModuleResult::changed(true)
        .with("rc", out.rc)
        .with("stdout_lines", split_lines(&stdout))
        .with("stderr_lines", split_lines(&stderr))
        .with("stdout", stdout)
        .with("stderr", stderr);
    if out.rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
        return Err(ModuleError::Fail(Box::new(r)));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Module;
    use crate::testing::{DirController, ShConnection};
    use serde_json::{json, Map, Value};

    fn run(root: &std::path::Path, args: Value, check: bool) -> Result<Value, Value> {
        let mut conn = ShConnection::default();
        let ctl = DirController { root: root.to_path_buf() };
        let mut ctx = ModuleCtx { conn: &mut conn, check, diff: false, controller: &ctl };
        let args: Map<String, Value> = serde_json::from_value(args).unwrap();
        match Module::run(&Script, &args, &mut ctx) {
            Ok(r) => Ok(r.to_json()),
            Err(ModuleError::Fail(r)) => Err(r.to_json()),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("files")).unwrap();
        std::fs::write(
            dir.path().join("files/show.sh"),
            "#!/bin/sh\necho \"args: $*\"\necho \"pwd: $(pwd)\"\necho err >&2\nexit ${ORC_RC:-0}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("plain.txt"), "echo \"plain $1\"\n").unwrap();
        std::fs::write(dir.path().join("files/fail.sh"), "#!/bin/sh\necho out\nexit 3\n").unwrap();
        dir
    }

    #[test]
    fn sends_runs_and_removes_the_script_keeping_the_quoting() {
        let dir = project();
        // A name no other test sends, so that a script another test is running at the same
        // time is not counted as left behind.
        std::fs::copy(dir.path().join("files/show.sh"), dir.path().join("files/show-quoting.sh")).unwrap();
        let r = run(dir.path(), json!({"_raw_params": "show-quoting.sh --option \"a  b\" 'c'"}), false).unwrap();
        assert_eq!(r["changed"], true);
        assert_eq!(r["rc"], 0);
        let stdout = r["stdout"].as_str().unwrap();
        assert!(stdout.starts_with("args: --option a  b c\n"), "{r}");
        assert_eq!(r["stderr"], "err\n");
        assert_eq!(r["stderr_lines"], json!(["err"]));
        assert!(r.get("msg").is_none(), "{r}");
        // No temporary directory is left behind.
        let left = std::fs::read_dir(std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("orc-script."))
            .filter(|e| {
                std::fs::read_dir(e.path())
                    .map(|mut d| d.any(|f| f.is_ok_and(|f| f.file_name() == "show-quoting.sh")))
                    .unwrap_or(false)
            })
            .count();
        assert_eq!(left, 0);
    }

    #[test]
    fn executable_chdir_and_failure() {
        let dir = project();
        let r = run(dir.path(), json!({"cmd": "plain.txt x", "executable": "sh"}), false).unwrap();
        assert_eq!(r["stdout"], "plain x\n");
        let r = run(dir.path(), json!({"_raw_params": "show.sh", "chdir": "/"}), false).unwrap();
        assert_eq!(r["stdout_lines"][1], "pwd: /");
        let e = run(dir.path(), json!({"_raw_params": "show.sh", "chdir": "rel"}), false).unwrap_err();
        assert_eq!(e["msg"], "chdir rel must be an absolute path for a Unix-aware remote node");
        let e = run(dir.path(), json!({"_raw_params": "nope.sh"}), false).unwrap_err();
        assert!(e["msg"].as_str().unwrap().contains("nope.sh"), "{e}");
        let e = run(dir.path(), json!({"_raw_params": "fail.sh"}), false).unwrap_err();
        assert_eq!(e["failed"], true);
        assert_eq!(e["changed"], true);
        assert_eq!(e["msg"], "non-zero return code");
        assert_eq!(e["rc"], 3);
        assert_eq!(e["stdout"], "out\n");
    }

    #[test]
    fn creates_removes_and_check_mode_as_ansible() {
        let dir = project();
        let there = dir.path().join("plain.txt");
        let gone = dir.path().join("gone");
        let r = run(dir.path(), json!({"_raw_params": "show.sh", "creates": there}), false).unwrap();
        assert_eq!(r["skipped"], true);
        assert_eq!(r["changed"], false);
        assert_eq!(r["msg"], format!("{} exists, matching creates option", there.display()));
        let r = run(dir.path(), json!({"_raw_params": "show.sh", "removes": gone}), true).unwrap();
        assert_eq!(r["msg"], format!("{} does not exist, matching removes option", gone.display()));
        let r = run(dir.path(), json!({"_raw_params": "show.sh"}), true).unwrap();
        assert_eq!(r["skipped"], true);
        assert_eq!(r["msg"], "Check mode is not supported for this task.");
        let r = run(dir.path(), json!({"_raw_params": "show.sh", "creates": gone}), true).unwrap();
        assert_eq!(r["changed"], true);
        assert!(r.get("skipped").is_none());
    }

    #[test]
    fn argument_errors() {
        assert!(Script.validate(&Map::new()).is_err());
        let both: Map<String, Value> = serde_json::from_value(json!({"cmd": "a", "_raw_params": "a"})).unwrap();
        assert!(Script.validate(&both).unwrap_err().msg.contains("mutually exclusive"));
    }
}
