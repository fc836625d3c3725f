//! `ping`: proves the host answers through its connection's shell.

use serde::Deserialize;

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};

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

    fn run(&self, args: PingArgs, ctx: &mut ModuleCtx) -> RunResult {
        let out = ctx.conn.exec("true", None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg("the host's shell did not answer"));
        }
        if args.data == "crash" {
            return Err(ModuleError::msg("boom"));
        }
        Ok(ModuleResult::ok().with("ping", args.data))
    }
}
