//! `ping`: proves the host answers through its connection's shell.

use serde::Deserialize;

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `ping` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct PingArgs {
    /// What to answer with; `crash` makes the module fail, as in Ansible.
    #[serde(default = "pong", deserialize_with = "crate::args::string")]
    pub data: String,
}

fn pong() -> String {
    "pong".into()
}

/// The `ping` module.
pub struct Ping;

impl TypedModule for Ping {
    type Args = PingArgs;
    const NAME: &'static str = "ping";

    const DOC: ModuleText = ModuleText {
        short: "Checks that the host answers: runs `true` in the host's shell through the connection and returns \
                `ping`.",
        notes: "Needs no Python on the host, only a POSIX shell. `data: crash` makes the task fail, as in Ansible. \
                Never changes anything; runs in check mode too.",
        returns: &[("ping", "The `data` argument (`pong` by default).")],
        example: "- name: Check that every host answers\n  \
                  ansible.builtin.ping:\n",
    };

    fn run(&self, args: PingArgs, ctx: &mut ModuleCtx) -> RunResult {
        let out = ctx.conn.exec("true", None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg("the host's shell did not answer"));
        }
        if args.data == "crash" {
            // Ansible's ping raises an exception, whose result message carries where it failed.
            return Err(ModuleError::msg("Task failed: Module failed: boom"));
        }
        Ok(ModuleResult::ok().with("ping", args.data))
    }
}
