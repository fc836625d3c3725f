//! `command`: runs a program with arguments on the host, without shell interpretation.
//!
//! The free-form string is split as Python's `shlex.split` does and every word is quoted for the
//! remote `sh`, so pipes, redirections and `;` reach the program as literal arguments. Like
//! Ansible, `$VAR`/`${VAR}` set in the host's environment and a leading `~` are expanded
//! (`expand_argument_vars`). The shared runner here (one round trip: chdir, creates/removes,
//! check mode, the command itself and its timestamps) is also used by `shell`.

use serde::Deserialize;
use serde_json::Value;

use crate::connection::CmdOutput;
use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::sh_words::ShWords;
use crate::shell_quote::quote;

/// `command` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct CommandArgs {
    /// The command line, split into words (the free-form form arrives as `_raw_params`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub cmd: Option<String>,
    /// The free-form command line given after the module name.
    #[serde(default, rename = "_raw_params", deserialize_with = "crate::args::opt_string")]
    pub raw_params: Option<String>,
    /// The command as a list of words, taken as is.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub argv: Option<Vec<String>>,
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
    /// Expand `$VAR`, `${VAR}` and a leading `~` in the words, as Ansible does.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub expand_argument_vars: bool,
    /// Accepted and ignored with a warning, as Ansible does since 2.4 (`command` runs no shell;
    /// use `shell` with `executable`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub executable: Option<String>,
}

/// The `command` module.
pub struct Command;

impl TypedModule for Command {
    type Args = CommandArgs;
    const NAME: &'static str = "command";
    /// Ansible runs command through its action plugin, which names it `ansible.legacy.command`.
    fn unsupported_args(bad: &[String]) -> String {
        crate::contract::unsupported_params(
            "ansible.legacy.command",
            bad,
            &<CommandArgs as crate::doc::ArgsDoc>::args(),
        )
    }
    const DOC: ModuleText = ModuleText {
        short: "Runs a program with arguments on the host, without a shell: pipes, redirections and `;` reach the \
                program as plain words.",
        notes: "The line is split as Python's shlex.split does. `$VAR`, `${VAR}` from the host's environment and a \
                leading `~` are expanded, as Ansible does, unless `expand_argument_vars: false`. Exactly one of the \
                free-form line, `cmd` and `argv` is required; in a free-form line `chdir=`, `creates=`, `removes=`, \
                `stdin=`, `stdin_add_newline=` and `strip_empty_ends=` are arguments. A non-zero exit status fails \
                the task; a program that cannot be found fails with rc 2. The task reports a change whenever the \
                command runs (use `changed_when`). Check mode: the command does not run; the task is skipped, or \
                reported changed when `creates`/`removes` say it would run. `executable` is accepted and ignored with \
                Ansible's warning (use `shell`); `warn` is not accepted.",
        returns: &[
            ("cmd", "The command as a list of words."),
            ("rc", "The exit status (0 when `creates`/`removes` skipped the command)."),
            ("stdout, stderr", "The command's output (trailing newlines stripped unless `strip_empty_ends: false`)."),
            ("stdout_lines, stderr_lines", "The output split into lines."),
            ("start, end, delta", "When it started and ended on the host, and how long it ran."),
        ],
        example: "- name: Show the applied database migrations\n  \
                  ansible.builtin.command:\n    \
                  argv: [/opt/app/bin/migrate, --status]\n    \
                  chdir: /opt/app\n  \
                  register: migrations\n  \
                  changed_when: false\n",
    };

    fn check_args(a: &CommandArgs) -> Result<(), ArgError> {
        let given = [a.cmd.is_some(), a.raw_params.is_some(), a.argv.is_some()].iter().filter(|x| **x).count();
        match given {
            0 => Err(ArgError {
                msg: "one of the following is required: _raw_params, cmd, argv (give the command line, e.g. `command: ls -l`)".into(),
            }),
            1 => Ok(()),
            _ => Err(ArgError {
                msg: "parameters are mutually exclusive: _raw_params|cmd|argv".into(),
            }),
        }
    }

    fn first_probe(a: &CommandArgs) -> Option<String> {
        creates_probe(a.chdir.is_none(), a.creates.as_deref())
    }

    fn run(&self, a: CommandArgs, ctx: &mut ModuleCtx) -> RunResult {
        let words = match (a.raw_params.as_ref().or(a.cmd.as_ref()), &a.argv) {
            (Some(line), _) => crate::shlex::split(line)
                .map_err(|e| ModuleError::msg(format!("cannot split the command line: {e}")))?,
            (None, Some(argv)) => argv.clone(),
            (None, None) => vec![],
        };
        if words.is_empty() {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed("no command given").with("rc", 256).with("cmd", Value::Null),
            )));
        }
        let mut sh = ShWords::default();
        let expand = a.expand_argument_vars;
        let program_words: Vec<String> = words.iter().map(|w| sh.word(w, expand, false)).collect();
        let ignored = a.executable.as_ref().map(|exe| {
            format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
            )
        });
        let spec = RunSpec {
            cmd_json: Value::from(words.clone()),
            cmd_text: words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
            program: format!("( exec {} )", program_words.join(" ")),
            argv0: Some(program_words[0].clone()),
            chdir: a.chdir,
            creates: a.creates,
            removes: a.removes,
            stdin: stdin_bytes(a.stdin, a.stdin_add_newline),
            strip: a.strip_empty_ends,
            words: sh,
        };
        match ignored {
            None => run_spec(spec, ctx),
            Some(w) => with_warning(run_spec(spec, ctx), w),
        }
    }
}

/// Adds a warning to a result, failed or not (Ansible's `module.warn`).
pub(crate) fn with_warning(r: RunResult, warning: String) -> RunResult {
    fn add(r: &mut ModuleResult, w: String) {
        match r.data.get_mut("warnings") {
            Some(Value::Array(ws)) => ws.push(Value::String(w)),
            _ => {
                r.data.insert("warnings".into(), Value::Array(vec![Value::String(w)]));
            }
        }
    }
    match r {
        Ok(mut ok) => {
            add(&mut ok, warning);
            Ok(ok)
        }
        Err(ModuleError::Fail(mut f)) => {
            add(&mut f, warning);
            Err(ModuleError::Fail(f))
        }
        other => other,
    }
}

/// The bytes fed to the command: `stdin` plus a newline when asked, as Ansible's `data=`.
pub(crate) fn stdin_bytes(stdin: Option<String>, add_newline: bool) -> Option<Vec<u8>> {
    stdin.map(|s| {
        let mut b = s.into_bytes();
        if add_newline {
            b.push(b'\n');
        }
        b
    })
}

/// What the shared runner executes and reports.
pub(crate) struct RunSpec {
    /// The `cmd` return value (a list for `command`, a string for `shell`).
    pub cmd_json: Value,
    /// The command as one string, for the "Error executing command." result.
    pub cmd_text: String,
    /// sh code that runs the command; its exit status is the command's.
    pub program: String,
    /// When set, this sh word must name an executable (PATH search) or the run fails as Ansible's
    /// `run_command` does when exec fails.
    pub argv0: Option<String>,
    /// Directory to run in.
    pub chdir: Option<String>,
    /// Skip when this glob matches.
    pub creates: Option<String>,
    /// Skip unless this glob matches.
    pub removes: Option<String>,
    /// Bytes for the command's stdin.
    pub stdin: Option<Vec<u8>>,
    /// Strip trailing CR/LF from the outputs.
    pub strip: bool,
    /// Holds the variable-expansion prelude of `program`/`argv0`.
    pub words: ShWords,
}

/// Whether `creates` already exists, asked in the host's persistent shell itself with builtins
/// only (`for`, `[`, `echo`: no subshell, no process on the host), so that a command its
/// `creates` skips starts nothing there. Only when nothing runs before that test in the command's
/// own script (`no_chdir`) and the word names no variable (their prelude would stay in the
/// shell); otherwise `false`, and the script tests it as before.
fn creates_exists(no_chdir: bool, creates: Option<&str>, ctx: &mut ModuleCtx) -> Result<bool, ModuleError> {
    let Some(probe) = creates_probe(no_chdir, creates) else { return Ok(false) };
    Ok(ctx.conn.probe(&probe)?.stdout == b"Y\n")
}

/// The probe [`creates_exists`] sends, when it sends one: the `first_probe` of command and shell.
pub(crate) fn creates_probe(no_chdir: bool, creates: Option<&str>) -> Option<String> {
    let c = creates.filter(|_| no_chdir)?;
    let mut words = ShWords::default();
    let w = words.word(c, true, true);
    if !words.prelude.is_empty() {
        return None;
    }
    Some(format!(
        "for _orcf in {w}; do if [ -e \"$_orcf\" ] || [ -L \"$_orcf\" ]; then echo Y; break; fi; done; unset _orcf; true"
    ))
}

/// Runs a [`RunSpec`] in one round trip and shapes the result as Ansible's command module.
pub(crate) fn run_spec(spec: RunSpec, ctx: &mut ModuleCtx) -> RunResult {
    let marker = format!("@@ORC{:016x}", fastrand::u64(..));
    let mut words = spec.words;
    let say = |what: &str| format!("{{ printf '%s\\n' '{marker} {what}' >&2; exit 97; }}");
    // Build every word first: their variable lookups form one prelude that runs before them.
    let chdir = spec.chdir.as_ref().map(|d| words.word(d, true, false));
    let creates = spec.creates.as_ref().map(|c| words.word(c, true, true));
    let removes = spec.removes.as_ref().map(|r| words.word(r, true, true));
    let mut script = String::from("_orcd() { date '+%Y-%m-%d %H:%M:%S %s %N'; }\n");
    script += &std::mem::take(&mut words.prelude);
    if let Some(w) = chdir {
        // `-P`: as Python's os.chdir, the physical directory (PWD without symlinks).
        script += &format!("cd -P -- {w} 2>/dev/null || {}\n", say("chdir"));
    }
    if let Some(w) = creates {
        script += &format!(
            "for _orcf in {w}; do if [ -e \"$_orcf\" ] || [ -L \"$_orcf\" ]; then {}; fi; done\n",
            say("creates")
        );
    }
    if let Some(w) = removes {
        script += &format!(
            "_orcm=; for _orcf in {w}; do if [ -e \"$_orcf\" ] || [ -L \"$_orcf\" ]; then _orcm=1; fi; done\n[ -n \"$_orcm\" ] || {}\n",
            say("removes")
        );
    }
    if ctx.check {
        script += &say("check");
        script.push('\n');
    }
    if let Some(argv0) = &spec.argv0 {
        script += &format!(
            "_orcp={argv0}\ncase $_orcp in */*) [ -e \"$_orcp\" ] ;; *) _orcm=; _orco=$IFS; IFS=:; for _orcf in $PATH; do if [ -f \"${{_orcf:-.}}/$_orcp\" ] && [ -x \"${{_orcf:-.}}/$_orcp\" ]; then _orcm=1; break; fi; done; IFS=$_orco; [ -n \"$_orcm\" ] ;; esac || {}\n",
            say("notfound")
        );
    }
    script += &format!(
        "printf '%s\\n' \"{marker} start $(_orcd)\" >&2\n{}\n_orcrc=$?\nprintf '\\n%s\\n' \"{marker} end $(_orcd)\" >&2\nexit $_orcrc\n",
        spec.program
    );

    let out = if creates_exists(spec.chdir.is_none(), spec.creates.as_deref(), ctx)? {
        // The same answer as the script's own test would give.
        CmdOutput { rc: 97, stdout: Vec::new(), stderr: format!("{marker} creates\n").into_bytes() }
    } else {
        ctx.conn.exec(&script, spec.stdin.as_deref())?
    };
    let stdout = out.stdout_str();
    let stderr = out.stderr_str();

    let base = || {
        ModuleResult::ok()
            .with("cmd", spec.cmd_json.clone())
            .with("rc", 0)
            .with("start", Value::Null)
            .with("end", Value::Null)
            .with("delta", Value::Null)
            .with("stdout", "")
            .with("stderr", "")
            .with("stdout_lines", Vec::<String>::new())
            .with("stderr_lines", Vec::<String>::new())
    };
    let shoulda = if ctx.check { "Would" } else { "Did" };

    if out.rc == 97 {
        if let Some(what) = stderr.strip_prefix(&format!("{marker} ")) {
            match what.trim_end() {
                "chdir" => {
                    let mut r = base().with("rc", Value::Null);
                    r.failed = true;
                    r.msg = Some("Unable to change directory before execution.".into());
                    return Err(ModuleError::Fail(Box::new(r)));
                }
                "creates" => {
                    let c = spec.creates.unwrap_or_default();
                    return Ok(skipped_result(
                        base(),
                        format!("{shoulda} not run command since '{c}' exists"),
                        format!("skipped, since {c} exists"),
                    ));
                }
                "removes" => {
                    let r = spec.removes.unwrap_or_default();
                    return Ok(skipped_result(
                        base(),
                        format!("{shoulda} not run command since '{r}' does not exist"),
                        format!("skipped, since {r} does not exist"),
                    ));
                }
                "check" => {
                    let mut r = base().with_msg("Command would have run if not in check mode");
                    if spec.creates.is_none() && spec.removes.is_none() {
                        r.skipped = true;
                    } else {
                        r.changed = true;
                    }
                    return Ok(r);
                }
                "notfound" => {
                    let r = ModuleResult::failed("Error executing command.")
                        .with("cmd", spec.cmd_text)
                        .with("rc", 2)
                        .with("stdout", "")
                        .with("stderr", "")
                        .with("stdout_lines", Vec::<String>::new())
                        .with("stderr_lines", Vec::<String>::new());
                    return Err(ModuleError::Fail(Box::new(r)));
                }
                _ => {}
            }
        }
    }

    // Peel the timestamps off stderr: "<marker> start <date>\n" ... "\n<marker> end <date>\n".
    let (start, rest) = match stderr.strip_prefix(&format!("{marker} start ")) {
        Some(s) => match s.split_once('\n') {
            Some((d, rest)) => (parse_date(d), rest.to_string()),
            None => (parse_date(s), String::new()),
        },
        None => (None, stderr.clone()),
    };
    let (end, cmd_stderr) = match rest.rfind(&format!("\n{marker} end ")) {
        Some(i) => {
            let d = rest[i..].trim_start_matches('\n');
            let d = d.strip_prefix(&format!("{marker} end ")).unwrap_or(d);
            (parse_date(d.trim_end()), rest[..i].to_string())
        }
        None => (None, rest),
    };

    let (stdout, stderr) = if spec.strip {
        (stdout.trim_end_matches(['\r', '\n']).to_string(), cmd_stderr.trim_end_matches(['\r', '\n']).to_string())
    } else {
        (stdout, cmd_stderr)
    };
    let mut r = ModuleResult::changed(true)
        .with("cmd", spec.cmd_json)
        .with("rc", out.rc)
        .with("start", start.as_ref().map(|s| s.text.clone()))
        .with("end", end.as_ref().map(|s| s.text.clone()))
        .with(
            "delta",
            match (&start, &end) {
                (Some(s), Some(e)) => Value::from(format_delta(e.micros - s.micros)),
                _ => Value::Null,
            },
        )
        .with("stdout_lines", split_lines(&stdout))
        .with("stderr_lines", split_lines(&stderr))
        .with("stdout", stdout)
        .with("stderr", stderr);
    if out.rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
        return Err(ModuleError::Fail(Box::new(r)));
    }
    r.msg = Some(String::new());
    Ok(r)
}

fn skipped_result(base: ModuleResult, msg: String, stdout: String) -> ModuleResult {
    base.with("stdout_lines", vec![stdout.clone()]).with("stdout", stdout).with_msg(msg)
}

/// A host timestamp: Python's `str(datetime)` text and microseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stamp {
    /// `2024-01-01 12:00:00.123456` (no fraction when it is zero, as Python prints it).
    pub text: String,
    /// Microseconds since the epoch.
    pub micros: i64,
}

/// Parses `date '+%Y-%m-%d %H:%M:%S %s %N'` output. A `date` without `%N` gives whole seconds.
pub(crate) fn parse_date(s: &str) -> Option<Stamp> {
    let mut parts = s.split_whitespace();
    let day = parts.next()?;
    let time = parts.next()?;
    let secs: i64 = parts.next()?.parse().ok()?;
    let nanos: i64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let micro = nanos / 1000;
    let text = if micro == 0 { format!("{day} {time}") } else { format!("{day} {time}.{micro:06}") };
    Some(Stamp { text, micros: secs * 1_000_000 + micro })
}

/// Formats a duration as Python's `str(timedelta)`: `0:00:00.002345`, `1 day, 2:03:04`.
pub(crate) fn format_delta(micros: i64) -> String {
    let micros = micros.max(0);
    let total_secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let days = total_secs / 86_400;
    let rem = total_secs % 86_400;
    let mut s = String::new();
    if days > 0 {
        s += &format!("{days} day{}, ", if days == 1 { "" } else { "s" });
    }
    s += &format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    if frac != 0 {
        s += &format!(".{frac:06}");
    }
    s
}

/// Splits text into lines as Python's `str.splitlines()` does for `\n`, `\r\n` and `\r`.
pub(crate) fn split_lines(s: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => lines.push(std::mem::take(&mut cur)),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::contract::Module;
    use crate::testing::{DirController, ShConnection};
    use serde_json::{json, Map};

    pub(crate) fn run_module(m: &dyn Module, args: Value, check: bool) -> Result<Value, (Value, Vec<String>)> {
        let mut conn = ShConnection::default();
        let ctl = DirController { root: ".".into() };
        let mut ctx = ModuleCtx { conn: &mut conn, check, diff: false, controller: &ctl };
        let args: Map<String, Value> = serde_json::from_value(args).unwrap();
        let r = m.run(&args, &mut ctx);
        let log = conn.log.clone();
        // One round trip, or two when the test of an existing `creates` came first and said no.
        let creates_first = log.len() == 2 && log[0].starts_with("for _orcf in");
        assert!(log.len() <= 1 || creates_first, "one round trip, got {log:?}");
        match r {
            Ok(r) => Ok(r.to_json()),
            Err(ModuleError::Fail(r)) => Err((r.to_json(), log)),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn ok(args: Value) -> Value {
        run_module(&Command, args, false).unwrap()
    }

    #[test]
    fn runs_and_reports_like_ansible() {
        let r = ok(json!({"_raw_params": "printf 'a\\nb\\n\\n'"}));
        assert_eq!(r["rc"], 0);
        assert_eq!(r["stdout"], "a\nb");
        assert_eq!(r["stdout_lines"], json!(["a", "b"]));
        assert_eq!(r["stderr"], "");
        assert_eq!(r["changed"], true);
        assert_eq!(r["msg"], "");
        assert_eq!(r["cmd"], json!(["printf", "a\\nb\\n\\n"]));
        let start = r["start"].as_str().unwrap();
        assert_eq!(start.len(), "2024-01-01 12:00:00.123456".len(), "{start}");
        assert!(r["delta"].as_str().unwrap().starts_with("0:00:0"), "{r}");
    }

    #[test]
    fn shell_syntax_stays_literal() {
        let r = ok(json!({"cmd": "echo 'a  b' ; x | y > z $NOT_SET_ORC && `id`"}));
        assert_eq!(r["stdout"], "a  b ; x | y > z $NOT_SET_ORC && `id`");
        let r = ok(json!({"argv": ["printf", "%s|", "$(id)", "a;b", "FOO=1"]}));
        assert_eq!(r["stdout"], "$(id)|a;b|FOO=1|");
    }

    #[test]
    fn set_variables_and_tilde_expand_as_in_ansible() {
        let home = std::env::var("HOME").unwrap();
        let r = ok(json!({"_raw_params": "echo $HOME ${HOME}x a$HOMEb ~ ~/d"}));
        assert_eq!(r["stdout"], format!("{home} {home}x a$HOMEb {home} {home}/d"));
        let r = ok(json!({"_raw_params": "echo $HOME", "expand_argument_vars": false}));
        assert_eq!(r["stdout"], "$HOME");
    }

    #[test]
    fn builtins_are_not_used() {
        // dash's builtin echo would turn \n into a newline; /bin/echo does not.
        let r = ok(json!({"argv": ["echo", "a\\nb"]}));
        assert_eq!(r["stdout"], "a\\nb");
    }

    #[test]
    fn failure_carries_rc_and_output() {
        let (r, _) = run_module(&Command, json!({"_raw_params": "ls /nonexistent-orc"}), false).unwrap_err();
        assert_eq!(r["rc"], 2);
        assert_eq!(r["failed"], true);
        assert_eq!(r["changed"], true);
        assert_eq!(r["msg"], "non-zero return code");
        assert!(r["stderr"].as_str().unwrap().contains("nonexistent-orc"), "{r}");
        assert!(!r["stderr"].as_str().unwrap().contains("@@ORC"), "{r}");
    }

    #[test]
    fn missing_program_is_an_execution_error() {
        let (r, _) = run_module(&Command, json!({"_raw_params": "no-such-prog-orc a"}), false).unwrap_err();
        assert_eq!(r["msg"], "Error executing command.");
        assert_eq!(r["rc"], 2);
        assert_eq!(r["changed"], false);
    }

    #[test]
    fn chdir_stdin_and_strip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let r = ok(json!({"_raw_params": "pwd", "chdir": d}));
        assert_eq!(r["stdout"], std::fs::canonicalize(d).unwrap().to_str().unwrap());
        let r = ok(json!({"_raw_params": "cat", "stdin": "hello"}));
        assert_eq!(r["stdout"], "hello");
        let r = ok(json!({"_raw_params": "cat", "stdin": "hello", "strip_empty_ends": false}));
        assert_eq!(r["stdout"], "hello\n");
        let r = ok(json!({"_raw_params": "cat", "stdin": "x", "stdin_add_newline": false, "strip_empty_ends": "no"}));
        assert_eq!(r["stdout"], "x");
        let (r, _) =
            run_module(&Command, json!({"_raw_params": "pwd", "chdir": "/nonexistent-orc"}), false).unwrap_err();
        assert_eq!(r["msg"], "Unable to change directory before execution.");
    }

    #[test]
    fn creates_and_removes_skip_like_ansible() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("made.txt");
        std::fs::write(&f, "").unwrap();
        let pat = format!("{}/*.txt", dir.path().display());
        let r = ok(json!({"_raw_params": "touch /nonexistent-orc/x", "creates": pat}));
        assert_eq!(r["changed"], false);
        assert!(r.get("skipped").is_none());
        assert_eq!(r["msg"], format!("Did not run command since '{pat}' exists"));
        assert_eq!(r["stdout"], format!("skipped, since {pat} exists"));
        assert_eq!(r["rc"], 0);
        assert_eq!(r["delta"], Value::Null);

        let gone = format!("{}/*.none", dir.path().display());
        let r = ok(json!({"_raw_params": "false", "removes": gone}));
        assert_eq!(r["msg"], format!("Did not run command since '{gone}' does not exist"));
        assert_eq!(r["changed"], false);

        // creates is relative to chdir; removes matching lets the command run.
        let r = ok(json!({"_raw_params": "echo ran", "chdir": dir.path(), "creates": "nope", "removes": "made.txt"}));
        assert_eq!(r["stdout"], "ran");
    }

    #[test]
    fn an_existing_creates_is_answered_by_builtins_with_the_same_result() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("made.txt");
        std::fs::write(&f, "").unwrap();
        for check in [false, true] {
            let mut conn = ShConnection::default();
            let ctl = DirController { root: ".".into() };
            let mut ctx = ModuleCtx { conn: &mut conn, check, diff: false, controller: &ctl };
            let args: Map<String, Value> =
                serde_json::from_value(json!({"_raw_params": "touch /nonexistent-orc/x", "creates": f})).unwrap();
            let fast = Module::run(&Command, &args, &mut ctx).unwrap().to_json();
            // One command, with no subshell and no program in it.
            assert_eq!(conn.log.len(), 1, "{:?}", conn.log);
            assert!(conn.log[0].starts_with("for _orcf in") && !conn.log[0].contains('('), "{:?}", conn.log);
            // The command's own script (a `chdir` comes first) gives the same result.
            let slow = run_module(
                &Command,
                json!({"_raw_params": "touch /nonexistent-orc/x", "chdir": "/", "creates": f}),
                check,
            )
            .unwrap();
            assert_eq!(fast, slow);
            assert_eq!(fast["stdout"], format!("skipped, since {} exists", f.display()));
        }
    }

    #[test]
    fn check_mode_skips_unless_creates_or_removes() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("m");
        let touch = format!("touch {}", marker.display());
        let r = run_module(&Command, json!({"_raw_params": touch}), true).unwrap();
        assert_eq!(r["skipped"], true);
        assert_eq!(r["changed"], false);
        assert_eq!(r["msg"], "Command would have run if not in check mode");
        let r = run_module(&Command, json!({"_raw_params": touch, "creates": marker}), true).unwrap();
        assert_eq!(r["changed"], true);
        assert!(r.get("skipped").is_none());
        assert!(!marker.exists());
        let r = run_module(&Command, json!({"_raw_params": touch, "removes": marker}), true).unwrap();
        assert_eq!(r["msg"], format!("Would not run command since '{}' does not exist", marker.display()));
        assert_eq!(r["changed"], false);
    }

    #[test]
    fn argument_errors() {
        assert!(Command.validate(&Map::new()).is_err());
        let both: Map<String, Value> = serde_json::from_value(json!({"cmd": "a", "argv": ["a"]})).unwrap();
        assert!(Command.validate(&both).unwrap_err().msg.contains("mutually exclusive"));
        let bad: Map<String, Value> = serde_json::from_value(json!({"cmd": "a", "shell": "/bin/bash"})).unwrap();
        assert!(Command.validate(&bad).is_err());
    }

    #[test]
    fn executable_is_ignored_with_ansibles_warning() {
        // command runs no shell: `executable` changes nothing (Ansible warns and ignores it).
        let r = ok(json!({"_raw_params": "echo ${BASH_VERSION:-plain}", "executable": "/bin/bash"}));
        assert_eq!(r["stdout"], "${BASH_VERSION:-plain}");
        assert_eq!(
            r["warnings"],
            json!(["As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '/bin/bash'."])
        );
        let (r, _) =
            run_module(&Command, json!({"_raw_params": "false", "executable": "/bin/bash"}), false).unwrap_err();
        assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1));
        assert!(ok(json!({"_raw_params": "true"})).get("warnings").is_none());
    }

    #[test]
    fn timestamps_and_deltas_print_as_python() {
        assert_eq!(format_delta(2345), "0:00:00.002345");
        assert_eq!(format_delta(3_000_000), "0:00:03");
        assert_eq!(format_delta(90_061_000_001), "1 day, 1:01:01.000001");
        let s = parse_date("2024-01-01 12:00:00 1704110400 123456789").unwrap();
        assert_eq!(s.text, "2024-01-01 12:00:00.123456");
        assert_eq!(s.micros, 1_704_110_400_123_456);
        assert_eq!(parse_date("2024-01-01 12:00:00 1704110400 N").unwrap().text, "2024-01-01 12:00:00");
        assert_eq!(split_lines("a\r\nb\rc\n\nd"), ["a", "b", "c", "", "d"]);
    }
}
