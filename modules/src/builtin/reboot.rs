//! `reboot`: reboots the host and waits until it is back, as Ansible's action does: read the
//! boot time (`boot_time_command`), run `shutdown -r`, then reopen the connection until the boot
//! time changed and `test_command` succeeds. The engine lends this module a connection it may
//! close and reopen (`RECONNECTS`).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `reboot` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct RebootArgs {
    /// Command whose output changes when the host boots (in a container, where the kernel's
    /// boot_id stays the same, use something like `cut -d' ' -f22 /proc/1/stat`).
    #[serde(default = "boot_time", deserialize_with = "crate::args::string")]
    pub boot_time_command: String,
    /// Seconds one connection attempt may take while waiting (the run's timeout otherwise).
    #[serde(default, alias = "connect_timeout_sec", deserialize_with = "crate::args::opt_u64")]
    pub connect_timeout: Option<u64>,
    /// Message given to shutdown.
    #[serde(default = "message", deserialize_with = "crate::args::string")]
    pub msg: String,
    /// Seconds to wait after the reboot command before checking.
    #[serde(default, alias = "post_reboot_delay_sec", deserialize_with = "super::wait_for_connection::secs")]
    pub post_reboot_delay: u64,
    /// Seconds shutdown waits before rebooting (rounded down to minutes on Linux).
    #[serde(default, alias = "pre_reboot_delay_sec", deserialize_with = "super::wait_for_connection::secs")]
    pub pre_reboot_delay: u64,
    /// The whole reboot command instead of `shutdown -r ...`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub reboot_command: Option<String>,
    /// Seconds to wait for the host to come back and pass the test command.
    #[serde(
        default = "six_hundred",
        alias = "reboot_timeout_sec",
        deserialize_with = "super::wait_for_connection::secs"
    )]
    pub reboot_timeout: u64,
    /// Directories searched for the shutdown command.
    #[serde(default = "search_paths", deserialize_with = "crate::args::list")]
    pub search_paths: Vec<String>,
    /// Command that must succeed after the reboot.
    #[serde(default = "whoami", deserialize_with = "crate::args::string")]
    pub test_command: String,
}

fn boot_time() -> String {
    "cat /proc/sys/kernel/random/boot_id".into()
}
fn message() -> String {
    "Reboot initiated by Ansible".into()
}
fn six_hundred() -> u64 {
    600
}
fn search_paths() -> Vec<String> {
    ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"].iter().map(|s| s.to_string()).collect()
}
fn whoami() -> String {
    "whoami".into()
}

/// The `reboot` module.
pub struct Reboot;

/// A failure as the action reports it: `rebooted`, `elapsed` and the message.
fn failure(msg: String, rebooted: bool, elapsed: u64) -> ModuleError {
    ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("rebooted", rebooted).with("elapsed", elapsed)))
}

/// Python's repr of a list of strings.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The shutdown program and its arguments: `reboot_command` as given, else the distribution's
/// (`shutdown -r {minutes} "{msg}"`, Alpine's `reboot`), the program found in `search_paths`.
fn shutdown_command(a: &RebootArgs, ctx: &mut ModuleCtx) -> Result<String, ModuleError> {
    let (bin, args) = match &a.reboot_command {
        Some(cmd) => match cmd.split_once(' ') {
            Some((b, rest)) => (b.to_string(), rest.to_string()),
            None => (cmd.clone(), String::new()),
        },
        None => {
            let os = ctx.conn.exec(". /etc/os-release 2>/dev/null; echo \"$ID\"", None)?.stdout_str();
            if os.trim() == "alpine" {
                ("reboot".to_string(), String::new())
            } else {
                ("shutdown".to_string(), format!("-r {} \"{}\"", a.pre_reboot_delay / 60, a.msg))
            }
        }
    };
    if bin.starts_with('/') {
        return Ok(format!("{bin} {args}"));
    }
    let mut probe = String::new();
    for dir in &a.search_paths {
        let p = format!("{}/{bin}", dir.trim_end_matches('/'));
        probe += &format!("if [ -e {q} ] || [ -L {q} ]; then echo {q}; exit 0; fi\n", q = quote(&p));
    }
    let found = ctx.conn.exec(&probe, None)?.stdout_str();
    match found.lines().next() {
        Some(path) if !path.is_empty() => Ok(format!("{path} {args}")),
        _ => Err(ModuleError::msg(format!(
            "Unable to find command \"{bin}\" in search paths: {}",
            py_list(&a.search_paths)
        ))),
    }
}

/// The boot time, or why it could not be read.
fn boot_time_now(a: &RebootArgs, ctx: &mut ModuleCtx) -> Result<String, String> {
    let out = ctx.conn.exec(&a.boot_time_command, None).map_err(|e| e.to_string())?;
    if out.rc != 0 {
        return Err(format!(
            "reboot: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
            out.rc,
            out.stdout_str(),
            out.stderr_str()
        ));
    }
    Ok(out.stdout_str().trim().to_string())
}

/// Retries `step` with a fresh connection each time, backing off as Ansible does (1, 2, 4, 8, 12
/// seconds and a random fraction), until it succeeds or `deadline`; the error says what was
/// waited for.
fn until(
    ctx: &mut ModuleCtx,
    deadline: Instant,
    what: &str,
    timeout: u64,
    mut step: impl FnMut(&mut ModuleCtx) -> Result<(), String>,
) -> Result<(), String> {
    let mut fails = 0u32;
    while Instant::now() < deadline {
        match step(ctx) {
            Ok(()) => return Ok(()),
            Err(e) if e.starts_with("stopped: ") => return Err(e),
            Err(_) => {
                ctx.conn.reset().map_err(|e| format!("stopped: {e}"))?;
                let wait = (2f64.powi(fails.min(4) as i32)).min(12.0) + fastrand::f64();
                fails += 1;
                std::thread::sleep(Duration::from_secs_f64(wait));
            }
        }
    }
    Err(format!("Timed out waiting for {what} (timeout={timeout})"))
}

impl TypedModule for Reboot {
    type Args = RebootArgs;
    const NAME: &'static str = "reboot";
    const RECONNECTS: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Reboots the host and waits until it is back up and answers.",
        notes: "Reads the boot time (`boot_time_command`), runs `shutdown -r` (found in \
                `search_paths`; `reboot_command` replaces it), then reopens the connection, \
                backing off, until the boot time changed and `test_command` succeeds within \
                `reboot_timeout`. In check mode it reports changed without rebooting. With the \
                local connection it refuses, as Ansible does. The default boot time is the \
                kernel's boot_id, which a container does not change when it restarts: give a \
                `boot_time_command` there.",
        returns: &[
            ("rebooted", "Whether the host rebooted."),
            ("elapsed", "Seconds from the reboot command to the end of the checks."),
        ],
        example: "- name: Reboot after the kernel upgrade\n  ansible.builtin.reboot:\n    reboot_timeout: 900\n",
    };

    fn run(&self, a: RebootArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.conn.runs_on_controller() {
            let r = ModuleResult::failed("Running reboot with local connection would reboot the control node.")
                .with("elapsed", 0)
                .with("rebooted", false);
            return Err(ModuleError::Fail(Box::new(r)));
        }
        if ctx.check {
            return Ok(ModuleResult::changed(true).with("elapsed", 0).with("rebooted", true));
        }
        let previous = boot_time_now(&a, ctx)
            .map_err(|e| ModuleError::Fail(Box::new(ModuleResult::failed(e).with("reboot", false))))?;
        let command = shutdown_command(&a, ctx)?;
        let start = Instant::now();
        // The connection may drop while the host goes down: that is the reboot working.
        if let Ok(out) = ctx.conn.exec(&command, None) {
            if out.rc != 0 {
                return Err(failure(
                    format!(
                        "Reboot command failed. Error was: '{}, {}'",
                        out.stdout_str().trim(),
                        out.stderr_str().trim()
                    ),
                    false,
                    start.elapsed().as_secs(),
                ));
            }
        }
        std::thread::sleep(Duration::from_secs(a.post_reboot_delay));
        if let Some(t) = a.connect_timeout.filter(|t| *t > 0) {
            ctx.conn.set_connect_timeout(Duration::from_secs(t));
        }
        let deadline = Instant::now() + Duration::from_secs(a.reboot_timeout);
        ctx.conn.reset().map_err(|e| ModuleError::msg(format!("stopped: {e}")))?;
        let booted = until(ctx, deadline, "last boot time check", a.reboot_timeout, |ctx| {
            let now = boot_time_now(&a, ctx)?;
            if now.is_empty() || now == previous {
                return Err("boot time has not changed".into());
            }
            Ok(())
        })
        .and_then(|()| {
            let deadline = Instant::now() + Duration::from_secs(a.reboot_timeout);
            until(ctx, deadline, "post-reboot test command", a.reboot_timeout, |ctx| {
                let out = ctx.conn.exec(&a.test_command, None).map_err(|e| e.to_string())?;
                if out.rc != 0 {
                    return Err(format!("Test command failed: {} {}", out.stderr_str(), out.stdout_str()));
                }
                Ok(())
            })
        });
        let elapsed = start.elapsed().as_secs();
        match booted {
            Ok(()) => Ok(ModuleResult::changed(true).with("rebooted", true).with("elapsed", elapsed)),
            Err(e) => {
                let rebooted = !e.starts_with("stopped: ");
                Err(failure(e, rebooted, elapsed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{CmdOutput, ConnError, Connection};
    use crate::testing::DirController;

    /// A host that "reboots" on the shutdown command: its boot id changes after `down` resets.
    #[derive(Default)]
    struct Host {
        log: Vec<String>,
        resets: u32,
        rebooted_at: Option<u32>,
        local: bool,
    }

    impl Connection for Host {
        fn host(&self) -> &str {
            "h"
        }
        fn exec(&mut self, cmd: &str, _stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
            self.log.push(cmd.to_string());
            let ok = |s: &str| Ok(CmdOutput { rc: 0, stdout: s.as_bytes().to_vec(), stderr: vec![] });
            if cmd.contains("os-release") {
                return ok("debian\n");
            }
            if cmd.starts_with("if [ -e") {
                return ok(if cmd.contains("/nowhere") { "" } else { "/sbin/shutdown\n" });
            }
            if cmd.starts_with("/sbin/shutdown") {
                self.rebooted_at = Some(self.resets);
                return Err(ConnError::Lost("channel closed".into()));
            }
            if let Some(at) = self.rebooted_at {
                if self.resets < at + 2 {
                    return Err(ConnError::Unreachable("connection refused".into()));
                }
            }
            if cmd.contains("boot_id") {
                return ok(if self.rebooted_at.is_some() { "new\n" } else { "old\n" });
            }
            ok("root\n")
        }
        fn read_file(&mut self, _: &str) -> Result<Option<Vec<u8>>, ConnError> {
            Ok(None)
        }
        fn write_file(&mut self, _: &str, _: &[u8]) -> Result<(), ConnError> {
            Ok(())
        }
        fn reset(&mut self) -> Result<(), ConnError> {
            self.resets += 1;
            Ok(())
        }
        fn runs_on_controller(&self) -> bool {
            self.local
        }
    }

    fn run(host: &mut Host, args: serde_json::Value, check: bool) -> RunResult {
        let ctl = DirController { root: ".".into() };
        let mut ctx = ModuleCtx { conn: host, check, diff: false, controller: &ctl };
        let args = serde_json::from_value(args).unwrap();
        crate::contract::Module::run(&Reboot, &args, &mut ctx)
    }

    #[test]
    fn reboots_and_waits_for_a_new_boot_time() {
        let mut host = Host::default();
        let r = run(&mut host, serde_json::json!({}), false).unwrap();
        assert!(r.changed);
        assert_eq!(r.data["rebooted"], true);
        assert!(host.log.iter().any(|c| c == "/sbin/shutdown -r 0 \"Reboot initiated by Ansible\""), "{:?}", host.log);
        assert_eq!(host.log.last().map(String::as_str), Some("whoami"));
    }

    #[test]
    fn refuses_the_controller_and_only_reports_in_check_mode() {
        let mut host = Host { local: true, ..Host::default() };
        let Err(ModuleError::Fail(r)) = run(&mut host, serde_json::json!({}), false) else { panic!() };
        assert_eq!(r.msg.as_deref(), Some("Running reboot with local connection would reboot the control node."));
        let mut host = Host::default();
        let r = run(&mut host, serde_json::json!({}), true).unwrap();
        assert!(r.changed && host.log.is_empty());
    }

    #[test]
    fn missing_shutdown_is_named_with_the_paths() {
        let mut host = Host::default();
        let Err(ModuleError::Fail(r)) = run(&mut host, serde_json::json!({"search_paths": ["/nowhere"]}), false) else {
            panic!()
        };
        assert_eq!(r.msg.as_deref(), Some("Unable to find command \"shutdown\" in search paths: ['/nowhere']"));
    }
}
