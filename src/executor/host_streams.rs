//! The engine's side of lookups that reach a socket through an inventory host (the
//! `community.general.etcd3` lookup with `host=` naming one): the run's connection pool, and
//! each host's connection variables as a task delegated to it would use them.

use std::collections::HashMap;

use orc_modules::stream::{HostStream, StreamTarget};
use serde_json::{json, Map, Value};

use super::Options;
use crate::connection::PoolStreams;
use crate::inventory::Inventory;
use crate::template::host_streams::HostStreams;

/// Streams to the sockets of a run's inventory hosts, over the run's connections.
pub struct RunStreams {
    pool: PoolStreams,
    /// Each inventory host's connection variables.
    vars: HashMap<String, Map<String, Value>>,
}

impl RunStreams {
    /// The streams of the run that connects with `pool` to `inventory`'s hosts, with the
    /// command line's connection defaults and become flags from `opts`.
    pub fn new(pool: PoolStreams, inventory: &Inventory, opts: &Options) -> RunStreams {
        let vars = inventory.hosts().into_iter().map(|h| (h.clone(), connection_vars(inventory, opts, &h))).collect();
        RunStreams { pool, vars }
    }
}

/// The variables a connection to `host` is opened with, as for a task delegated to it.
fn connection_vars(inventory: &Inventory, opts: &Options, host: &str) -> Map<String, Value> {
    let mut m: Map<String, Value> = inventory
        .host_vars(host)
        .into_iter()
        .filter(|(k, _)| k.starts_with("ansible_") && !k.starts_with("ansible_facts"))
        .collect();
    if (host == "localhost" || host == "127.0.0.1") && !m.contains_key("ansible_connection") {
        m.insert("ansible_connection".into(), json!("local"));
    }
    if let Some(b) = opts.r#become {
        m.insert("ansible_become".into(), json!(b));
    }
    if let Some(u) = &opts.become_user {
        m.insert("ansible_become_user".into(), json!(u));
    }
    for (k, v) in &opts.connection_defaults {
        if !(k == "ansible_user" && m.contains_key("ansible_ssh_user")) {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    m
}

impl HostStreams for RunStreams {
    fn is_host(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    fn open(&self, host: &str, target: &StreamTarget) -> Result<HostStream, String> {
        let vars = self.vars.get(host).ok_or_else(|| format!("{host} is not an inventory host"))?;
        self.pool.open(host, vars, target)
    }
}
