//! `etcd3` (community.general.etcd3): sets or deletes one key in etcd, through etcd's v3 JSON
//! gateway reached over a stream the task's host opens (`crate::stream`: over SSH a direct-tcpip
//! channel, so an etcd bound to that host's loopback or private network is reached without being
//! exposed; with `connection: local` a plain TCP connection). Nothing runs on the host: no
//! etcdctl, no Python.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::etcd::{EtcdClient, EtcdError};
use crate::fileops::sha1_hex;
use crate::stream::StreamTarget;

/// `etcd3` arguments (community.general's names).
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct Etcd3Args {
    /// The key where the information is stored in the cluster.
    #[serde(deserialize_with = "crate::args::string")]
    pub key: String,
    /// The information stored (required, also with `state: absent`, as in community.general).
    #[serde(deserialize_with = "crate::args::string")]
    pub value: String,
    /// The address of etcd as the task's host reaches it (resolved on that host).
    #[serde(default = "localhost", deserialize_with = "crate::args::string")]
    pub host: String,
    /// The port etcd's clients connect to.
    #[serde(default = "client_port", deserialize_with = "crate::args::whole")]
    pub port: u64,
    /// Whether the key holds the value (present) or does not exist (absent).
    pub state: State,
    /// The etcd user to authenticate with.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub user: Option<String>,
    /// The password of `user`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub password: Option<String>,
    /// The certificate authority that signed etcd's certificate (TLS; not supported by orc).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ca_cert: Option<String>,
    /// A PEM client certificate chain (TLS; not supported by orc).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub client_cert: Option<String>,
    /// The PEM private key of `client_cert` (TLS; not supported by orc).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub client_key: Option<String>,
    /// Seconds to wait for each answer from etcd.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
}

fn localhost() -> String {
    "localhost".into()
}

fn client_port() -> u64 {
    2379
}

/// What the key should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The key holds `value`.
    Present,
    /// The key does not exist.
    Absent,
}

/// Seconds an answer may take when `timeout` is not given.
const DEFAULT_TIMEOUT: u64 = 30;

/// The `etcd3` module.
pub struct Etcd3;

impl TypedModule for Etcd3 {
    type Args = Etcd3Args;
    const NAME: &'static str = "etcd3";
    const COLLECTION: &'static str = "community.general";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Sets or deletes a key in etcd through its v3 JSON gateway, reached over the task's host's \
                connection.",
        notes: "orc speaks etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/put`, `/v3/kv/deleterange`) itself, \
                over a channel of the host's SSH connection to `host:port` as that host sees it \
                (direct-tcpip): an etcd listening on the host's loopback or private network is reached \
                without exposing it, and nothing (etcdctl, Python's etcd3) runs on the host. With \
                `connection: local` it connects directly. It reports a change only when the value \
                differs (or the key exists, for `state: absent`); check mode says so and changes \
                nothing; diff mode shows the value before and after. `old_value` is the value before \
                the task, or the string `None` when the key did not exist (as community.general \
                returns it). TLS (`ca_cert`, `client_cert`, `client_key`) is not supported: the task \
                fails saying so.",
        returns: &[
            ("key", "The key that was queried."),
            ("old_value", "The value before the task (`None` when the key did not exist)."),
        ],
        example: "- name: Register this host in the service registry\n  community.general.etcd3:\n    \
                  key: \"/services/web/{{ inventory_hostname }}\"\n    value: \"{{ {'address': ansible_host, \
                  'port': 8080} | to_json }}\"\n    state: present\n    host: 127.0.0.1\n  \
                  delegate_to: \"{{ groups['registry'][0] }}\"\n",
    };

    fn check_args(a: &Etcd3Args) -> Result<(), ArgError> {
        let together = |x: bool, y: bool, names: &str| {
            if x != y {
                Err(ArgError { msg: format!("parameters are required together: {names}") })
            } else {
                Ok(())
            }
        };
        together(a.client_cert.is_some(), a.client_key.is_some(), "client_cert, client_key")?;
        together(a.user.is_some(), a.password.is_some(), "user, password")?;
        Ok(())
    }

    fn decide(&self, a: &Etcd3Args, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let diff = ctx.diff;
        let mut etcd = client(a, ctx)?;
        let old = etcd.get(&a.key).map_err(|e| failure(e, "Cannot reach data"))?;
        let changed = match a.state {
            State::Present => old.as_deref() != Some(a.value.as_str()),
            State::Absent => old.is_some(),
        };
        // The key's value as a digest (the value may be a secret), or null when it does not exist.
        let mut observed = Map::new();
        observed.insert("value_digest".into(), old.as_ref().map_or(Value::Null, |v| sha1_hex(v.as_bytes()).into()));
        let mut result = ModuleResult::changed(changed)
            .with("key", a.key.clone())
            .with("old_value", old.clone().unwrap_or_else(|| "None".to_string()));
        if diff && changed {
            let after = match a.state {
                State::Present => format!("{}\n", a.value),
                State::Absent => String::new(),
            };
            let before = old.map(|v| format!("{v}\n")).unwrap_or_default();
            let label = format!("etcd key {}", a.key);
            result = result.with_diff(FileDiff {
                before_header: format!("{label} (before)"),
                after_header: format!("{label} (after)"),
                before,
                after,
            });
        }
        Ok(Decision { result, observed, action: Box::new(Etcd3Action(a.state)) })
    }

    fn apply(&self, a: Etcd3Args, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (result, Etcd3Action(state)) = decision.take_action::<Etcd3Action>(Self::NAME)?;
        let mut etcd = client(&a, ctx)?;
        match state {
            State::Present => {
                etcd.put(&a.key, &a.value).map_err(|e| failure(e, &format!("Cannot add or edit key {}", a.key)))?
            }
            State::Absent => {
                etcd.delete(&a.key).map_err(|e| failure(e, &format!("Cannot delete {}", a.key)))?;
            }
        }
        Ok(result)
    }
}

/// What etcd3 decided: put the value (`Present`) or delete the key (`Absent`).
struct Etcd3Action(State);

/// A client of etcd's gateway over the host's connection, after refusing what orc cannot do (TLS).
fn client<'c>(a: &Etcd3Args, ctx: &'c mut ModuleCtx) -> Result<EtcdClient<'c>, ModuleError> {
    if a.client_cert.is_some() && a.ca_cert.is_none() {
        return Err(ModuleError::msg(
            "The 'ca_cert' parameter must be defined when 'client_cert' and 'client_key' are present.",
        ));
    }
    if a.ca_cert.is_some() || a.client_cert.is_some() {
        return Err(tls_unsupported());
    }
    let port = u16::try_from(a.port).map_err(|_| ModuleError::msg(format!("port {} is not a TCP port", a.port)))?;
    let target = StreamTarget::tcp(a.host.clone(), port);
    let timeout = Duration::from_secs(a.timeout.unwrap_or(DEFAULT_TIMEOUT).max(1));
    let credentials = a.user.clone().zip(a.password.clone());
    let conn = &mut *ctx.conn;
    Ok(EtcdClient::new(move || conn.open_stream(&target), timeout, credentials))
}

/// The task's failure for an etcd error: unreachable as community.general words it, else what
/// was being done.
fn failure(e: EtcdError, doing: &str) -> ModuleError {
    match e {
        EtcdError::Connect(why) => ModuleError::msg(format!("Cannot connect to etcd cluster: {why}")),
        EtcdError::Request(why) => ModuleError::msg(format!("{doing}: {why}")),
    }
}

fn tls_unsupported() -> ModuleError {
    ModuleError::msg(
        "ca_cert, client_cert and client_key (TLS to etcd) are not supported by orc: it reaches etcd through \
         the host's SSH connection (encrypted) to an address the host reaches; let etcd serve plain HTTP \
         there (its loopback or private network)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Module;
    use serde_json::json;

    #[test]
    fn arguments_follow_community_general() {
        let ok = json!({"key": "k", "value": "v", "state": "present"});
        assert!(Etcd3.validate(ok.as_object().unwrap()).is_ok());
        let no_value = json!({"key": "k", "state": "absent"});
        let err = Etcd3.validate(no_value.as_object().unwrap()).unwrap_err();
        assert_eq!(err.msg, "missing required argument `value`");
        let half = json!({"key": "k", "value": "v", "state": "present", "user": "root"});
        assert_eq!(
            Etcd3.validate(half.as_object().unwrap()).unwrap_err().msg,
            "parameters are required together: user, password"
        );
        let bad = json!({"key": "k", "value": "v", "state": "gone"});
        assert!(Etcd3.validate(bad.as_object().unwrap()).unwrap_err().msg.contains("present"));
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let (port, log) = crate::etcd::tests::fake_etcd();
        let writes = || log.lock().unwrap().iter().filter(|r| !r.starts_with("/v3/kv/range")).count();
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let args = json!({"key": "/k", "value": "v1", "state": "present", "host": "127.0.0.1", "port": port});
        let d = sb.decide(&Etcd3, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("value_digest"), Some(&Value::Null));
        assert_eq!(writes(), 0, "decide wrote to etcd");
        let r = sb.apply(&Etcd3, &args, d);
        assert!(r.changed);
        assert_eq!(r.data["old_value"], json!("None"));
        assert_eq!(writes(), 1);
        let again = sb.decide(&Etcd3, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("value_digest"), Some(&json!(sha1_hex(b"v1"))));

        let absent = json!({"key": "/k", "value": "v1", "state": "absent", "host": "127.0.0.1", "port": port});
        let d = sb.decide(&Etcd3, &absent);
        assert!(d.result.changed);
        assert_eq!(writes(), 1, "decide deleted the key");
        assert_eq!(sb.apply(&Etcd3, &absent, d).data["old_value"], json!("v1"));
        assert_eq!(sb.decide(&Etcd3, &absent).observed.get("value_digest"), Some(&Value::Null));
    }
}
