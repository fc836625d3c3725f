//! `haproxy_server_state` (orc's own): saves HAProxy's `show servers state` to the file its
//! `server-state-file` setting names, through the runtime API over the LB host's connection
//! (`crate::haproxy_api`). Run right before a reload, it lets the new worker start with every
//! server's runtime state (drained or in maintenance, weight, health) instead of the
//! configuration's: a server drained through the runtime API stays drained across a reload.
//! community.general has no module for it; playbooks usually pipe the command through socat,
//! which orc never runs on a host.

use std::time::Duration;

use serde::Deserialize;

use crate::contract::{FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{atomic_write, Attrs};
use crate::haproxy_api::HaproxyApi;
use crate::stream::StreamTarget;

/// `haproxy_server_state` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct HaproxyServerStateArgs {
    /// Path of HAProxy's admin socket on the LB host.
    #[serde(default = "default_socket", deserialize_with = "crate::args::string")]
    pub socket: String,
    /// The file to write: what `server-state-file` names in haproxy.cfg's global section.
    #[serde(deserialize_with = "crate::args::string")]
    pub path: String,
}

fn default_socket() -> String {
    "/var/run/haproxy.sock".into()
}

/// The `haproxy_server_state` module.
pub struct HaproxyServerState;

impl TypedModule for HaproxyServerState {
    type Args = HaproxyServerStateArgs;
    const NAME: &'static str = "haproxy_server_state";
    const COLLECTION: &'static str = "orc";
    const DOC: ModuleText = ModuleText {
        short: "Saves HAProxy's server states (`show servers state`) to its server-state-file, through the \
                runtime API over the LB host's connection, so a reload keeps them.",
        notes: "orc's own module (not in community.general): with `server-state-file PATH` in haproxy.cfg's \
                global section and `load-server-state-from-file global` in its defaults, a reload \
                starts the new worker with the states this module saved: a drained server stays \
                drained. Run it right before every reload (the service-discovery playbook's reload \
                handler does). The file is replaced atomically; it is changed whenever a state \
                differs (the dump includes each server's time since its last change, so in practice \
                every run). Check mode reports the change and writes nothing.",
        returns: &[("servers", "How many servers the saved state lists.")],
        example: "- name: Save server states before reloading HAProxy\n  haproxy_server_state:\n    \
                  socket: /run/haproxy/admin.sock\n    path: /var/lib/haproxy/server-state\n",
    };

    fn run(&self, a: HaproxyServerStateArgs, ctx: &mut ModuleCtx) -> RunResult {
        let target = StreamTarget::Unix(a.socket.clone());
        let dump = {
            let conn = &mut *ctx.conn;
            let mut api = HaproxyApi::new(
                || conn.open_stream(&target).map_err(|e| format!("cannot reach HAProxy's runtime API: {e}")),
                Duration::from_secs(30),
            );
            api.command("show servers state").map_err(ModuleError::msg)?
        };
        let servers = crate::haproxy_api::parse_servers_state(&dump).map_err(ModuleError::msg)?;
        let old = ctx.conn.read_file(&a.path)?;
        let before = old.as_deref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let changed = before != dump;
        if changed && !ctx.check {
            atomic_write(ctx.conn, &a.path, dump.as_bytes(), &Attrs::default()).map_err(ModuleError::msg)?;
        }
        let mut result = ModuleResult::changed(changed).with("servers", servers.len()).with("path", a.path.clone());
        if changed && ctx.diff {
            result = result.with_diff(FileDiff::content(&a.path, before, dump));
        }
        Ok(result)
    }
}
