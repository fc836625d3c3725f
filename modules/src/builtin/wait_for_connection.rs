//! `wait_for_connection`: waits until the host can be reached and runs a command, reopening the
//! connection before every attempt, as Ansible's action does with its ping module. The engine
//! lends this module a connection that opens on first use (`RECONNECTS`), so a host that is
//! still booting is retried here instead of being marked unreachable.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `wait_for_connection` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct WaitForConnectionArgs {
    /// Seconds one connection attempt may take.
    #[serde(default = "five", deserialize_with = "secs")]
    pub connect_timeout: u64,
    /// Seconds to wait before the first attempt.
    #[serde(default, deserialize_with = "secs")]
    pub delay: u64,
    /// Seconds to wait between attempts.
    #[serde(default = "one", deserialize_with = "secs")]
    pub sleep: u64,
    /// Seconds to wait in all.
    #[serde(default = "six_hundred", deserialize_with = "secs")]
    pub timeout: u64,
}

fn five() -> u64 {
    5
}
fn one() -> u64 {
    1
}
fn six_hundred() -> u64 {
    600
}

/// A whole number of seconds (Ansible's `int(...)` of the argument).
pub(crate) fn secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    crate::args::opt_u64(d).map(|v| v.unwrap_or(0))
}

/// The `wait_for_connection` module.
pub struct WaitForConnection;

/// One end-to-end check: a fresh connection runs a command and answers.
fn ping(ctx: &mut ModuleCtx) -> Result<(), String> {
    ctx.conn.reset().map_err(|e| format!("stopped: {e}"))?;
    let out = ctx.conn.exec("echo pong", None).map_err(|e| e.to_string())?;
    if out.rc == 0 && out.stdout_str().trim() == "pong" {
        Ok(())
    } else {
        Err(format!("ping test failed (rc {}): {}", out.rc, out.stderr_str().trim()))
    }
}

impl TypedModule for WaitForConnection {
    type Args = WaitForConnectionArgs;
    const NAME: &'static str = "wait_for_connection";
    const RECONNECTS: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Waits until the host can be reached and runs a command (after a reboot, or for a \
                machine that is still booting).",
        notes: "Before each attempt the connection is closed and opened again (connect_timeout \
                bounds the opening); an attempt runs `echo pong` through the host's shell, where \
                Ansible runs its ping module. Skipped in check mode, as in Ansible. Use it with \
                `gather_facts: false` for hosts that are not up when the play starts.",
        returns: &[("elapsed", "Seconds waited.")],
        example: "- name: Wait for the new machine\n  ansible.builtin.wait_for_connection:\n    delay: 5\n    \
                  timeout: 300\n",
    };

    /// Ansible's wait_for_connection is an action plugin checking its `_VALID_ARGS`.
    fn unsupported_args(bad: &[String]) -> String {
        format!("Invalid options for wait_for_connection: {}", bad.join(", "))
    }

    fn run(&self, a: WaitForConnectionArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            let mut r = ModuleResult::ok();
            r.skipped = true;
            return Ok(r);
        }
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(a.delay));
        ctx.conn.set_connect_timeout(Duration::from_secs(a.connect_timeout.max(1)));
        let deadline = Instant::now() + Duration::from_secs(a.timeout);
        let mut last = String::from("no attempt was made (timeout 0)");
        while Instant::now() < deadline {
            match ping(ctx) {
                Ok(()) => return Ok(ModuleResult::ok().with("elapsed", start.elapsed().as_secs())),
                Err(e) if e.starts_with("stopped: ") => return Err(ModuleError::msg(e)),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_secs(a.sleep));
        }
        let r = ModuleResult::failed(format!("timed out waiting for ping module test: {last}"))
            .with("elapsed", start.elapsed().as_secs());
        Err(ModuleError::Fail(Box::new(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{CmdOutput, ConnError, Connection};
    use crate::testing::DirController;

    /// A host that answers after `down` failed attempts, counting resets.
    struct Booting {
        down: u32,
        resets: u32,
    }

    impl Connection for Booting {
        fn host(&self) -> &str {
            "h"
        }
        fn exec(&mut self, _cmd: &str, _stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
            if self.resets <= self.down {
                return Err(ConnError::Unreachable("connection refused".into()));
            }
            Ok(CmdOutput { rc: 0, stdout: b"pong\n".to_vec(), stderr: vec![] })
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
    }

    fn run(conn: &mut dyn Connection, args: serde_json::Value, check: bool) -> RunResult {
        let ctl = DirController { root: ".".into() };
        let mut ctx = ModuleCtx { conn, check, diff: false, controller: &ctl };
        let args = serde_json::from_value(args).unwrap();
        crate::contract::Module::run(&WaitForConnection, &args, &mut ctx)
    }

    #[test]
    fn retries_with_a_fresh_connection_until_the_host_answers() {
        let mut host = Booting { down: 2, resets: 0 };
        let r = run(&mut host, serde_json::json!({"sleep": 0, "timeout": 30}), false).unwrap();
        assert_eq!(host.resets, 3);
        assert!(!r.changed);
        assert!(r.data["elapsed"].as_u64().is_some());
    }

    #[test]
    fn times_out_with_the_last_error_and_skips_in_check_mode() {
        let mut host = Booting { down: u32::MAX, resets: 0 };
        let Err(ModuleError::Fail(r)) = run(&mut host, serde_json::json!({"sleep": 0, "timeout": 1}), false) else {
            panic!("expected a failure")
        };
        assert_eq!(r.msg.as_deref(), Some("timed out waiting for ping module test: connection refused"));
        let r = run(&mut host, serde_json::json!({}), true).unwrap();
        assert!(r.skipped);
    }
}
