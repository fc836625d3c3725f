//! One connection per host (and become user) for the whole run, handed to one worker at a time.
//!
//! Connections are expensive to open and cheap to reuse (docs/architecture.md, "Connections": one SSH connection and one
//! persistent shell per host), and a connection must never be used by two threads at once (an ssh2
//! session corrupts its stream). The pool opens each connection lazily on first use and lends it
//! under a per-host lock, so workers on different hosts never wait for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use orc_modules::stream::{HostStream, StreamOpener, StreamTarget};
use orc_modules::{ConnError, Connection};
use serde_json::{Map, Value};

use super::options::ConnectOptions;
use super::reconnect::Reconnecting;
use super::{become_user, connect};

/// The slot of one host's connection: empty until first use, or after it was discarded.
type Slot = Arc<Mutex<Option<Box<dyn Connection>>>>;

/// What identifies a connection: the inventory host and every variable that defines how it is
/// reached (transport, address, port, user, key, become user and method...), so that a play with
/// another `connection:`, port or user never gets an earlier play's connection.
type Key = (String, String);

/// Whether the variable `name` changes how a host is reached (the transports read it): the
/// become variables include sudo's options (`ansible_become_exe`, `ansible_become_flags`,
/// `ansible_sudo_chdir`, `ansible_sudo_flags`...: connection/sudo_opts.rs), which shape the
/// become shell, so a task that sets other ones gets its own shell.
pub fn defines_connection(name: &str) -> bool {
    const PREFIXES: &[&str] =
        &["ansible_ssh_", "ansible_become", "ansible_sudo_", "ansible_docker_", "ansible_paramiko_"];
    const NAMES: &[&str] = &[
        "ansible_connection",
        "ansible_host",
        "ansible_port",
        "ansible_user",
        "ansible_password",
        "ansible_private_key_file",
        "ansible_host_key_checking",
        "ansible_timeout",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The pool key of `host` reached with `vars`.
fn key(host: &str, vars: &Map<String, Value>) -> Key {
    let mut defining: Vec<(&String, &Value)> = vars.iter().filter(|(k, _)| defines_connection(k)).collect();
    defining.sort_by(|a, b| a.0.cmp(b.0));
    let text: Vec<String> = defining.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (host.to_string(), text.join("\n"))
}

/// Lazily opened connections keyed by inventory host name and how the host is reached.
#[derive(Default)]
pub struct ConnectionPool {
    shared: Arc<Shared>,
}

/// What the pool and its [`PoolStreams`] handles share.
#[derive(Default)]
struct Shared {
    slots: Mutex<HashMap<Key, Slot>>,
    /// Each open connection's stream opener, reachable without taking the connection: a lookup
    /// may open a stream to a host whose connection a worker holds (even on the same thread).
    openers: Mutex<HashMap<Key, Arc<dyn StreamOpener>>>,
    options: ConnectOptions,
}

impl ConnectionPool {
    /// An empty pool with the default [`ConnectOptions`] (strict host keys, 10 s connect timeout,
    /// no command time limit).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pool whose connections are opened with `options` (from the command line:
    /// `--host-key-checking`, `--task-timeout`, `--ask-become-pass`).
    pub fn with_options(options: ConnectOptions) -> Self {
        ConnectionPool { shared: Arc::new(Shared { options, ..Shared::default() }) }
    }

    /// The options connections are opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.shared.options
    }

    /// A handle that opens streams to the pool's hosts' sockets from any thread (the engine's
    /// lookups), sharing each host's connection and its stream bridge with the modules.
    pub fn streams(&self) -> PoolStreams {
        PoolStreams { shared: self.shared.clone() }
    }

    /// Runs `f` with the connection for `host` (opened with [`connect`] from the host's `vars` on
    /// first use), holding it exclusively while `f` runs. A separate connection is kept for each
    /// way of reaching the host (the variables [`defines_connection`] names: transport, address,
    /// port, user, become user...), since they are all decided when the connection opens. Fails
    /// only when the connection cannot be opened; the next call tries again.
    pub fn with_conn<R>(
        &self,
        host: &str,
        vars: &Map<String, Value>,
        f: impl FnOnce(&mut dyn Connection) -> R,
    ) -> Result<R, ConnError> {
        self.shared.with_conn(host, vars, f)
    }

    /// Like [`ConnectionPool::with_conn`] for a module that outlives its connection
    /// (`Module::reconnects`: reboot, wait_for_connection): `f` gets the host's connection
    /// wrapped so that it is opened on first use (a host that cannot be reached yet is `f`'s to
    /// handle) and reopened after `reset()`; whatever connection is open at the end stays in the
    /// pool.
    pub fn with_reconnecting_conn<R>(
        &self,
        host: &str,
        vars: &Map<String, Value>,
        f: impl FnOnce(&mut dyn Connection) -> R,
    ) -> Result<R, ConnError> {
        become_user(vars)?;
        let key = key(host, vars);
        // The stream opener of the connection it may replace is stale once it reconnects.
        lock(&self.shared.openers).remove(&key);
        let slot = {
            let mut slots = lock(&self.shared.slots);
            Arc::clone(slots.entry(key).or_default())
        };
        let mut guard = lock(&slot);
        let mut conn = Reconnecting::new(host, vars, &self.shared.options, guard.take());
        let r = f(&mut conn);
        *guard = conn.inner.take();
        Ok(r)
    }

    /// Closes every connection of `host` (waiting for a worker using one to finish). The next
    /// `with_conn` opens a fresh one: use it after `ConnError::Timeout` or `ConnError::Lost`, since
    /// such a connection is unusable.
    pub fn discard(&self, host: &str) {
        let slots: Vec<Slot> =
            lock(&self.shared.slots).iter().filter(|((h, _), _)| h == host).map(|(_, slot)| Arc::clone(slot)).collect();
        lock(&self.shared.openers).retain(|(h, _), _| h != host);
        for slot in slots {
            *lock(&slot) = None;
        }
    }

    /// Closes the connection to `host` made with `vars` (waiting for a worker using it to
    /// finish); the next `with_conn` with them opens a fresh one. The executor calls it when a
    /// connection broke (`ConnError::Lost`) or a command ran out of time.
    pub fn discard_conn(&self, host: &str, vars: &Map<String, Value>) {
        let key = key(host, vars);
        lock(&self.shared.openers).remove(&key);
        let slot = lock(&self.shared.slots).get(&key).cloned();
        if let Some(slot) = slot {
            *lock(&slot) = None;
        }
    }

    /// Closes every connection (ending the persistent shells and stream bridges).
    pub fn close_all(&self) {
        let slots: Vec<Slot> = lock(&self.shared.slots).drain().map(|(_, slot)| slot).collect();
        lock(&self.shared.openers).clear();
        for slot in slots {
            *lock(&slot) = None;
        }
    }
}

impl Shared {
    fn with_conn<R>(
        &self,
        host: &str,
        vars: &Map<String, Value>,
        f: impl FnOnce(&mut dyn Connection) -> R,
    ) -> Result<R, ConnError> {
        become_user(vars)?;
        let key = key(host, vars);
        let slot = {
            let mut slots = lock(&self.slots);
            Arc::clone(slots.entry(key.clone()).or_default())
        };
        let mut guard = lock(&slot);
        let conn = match &mut *guard {
            Some(conn) => conn,
            empty => {
                let mut conn = connect(host, vars, &self.options)?;
                if let Ok(opener) = conn.streams() {
                    lock(&self.openers).insert(key, opener);
                }
                empty.insert(conn)
            }
        };
        Ok(f(conn.as_mut()))
    }
}

/// Opens streams to the sockets of a pool's hosts, from any thread ([`ConnectionPool::streams`]).
#[derive(Clone)]
pub struct PoolStreams {
    shared: Arc<Shared>,
}

impl PoolStreams {
    /// Opens a stream to `target` as seen from inventory host `host` (connected with `vars`, as
    /// a task on it would be): through the opener of its open connection, or a new connection.
    /// Never waits for a connection a worker holds once that connection exists.
    pub fn open(&self, host: &str, vars: &Map<String, Value>, target: &StreamTarget) -> Result<HostStream, String> {
        become_user(vars).map_err(|e| e.to_string())?;
        let key = key(host, vars);
        let known = lock(&self.shared.openers).get(&key).cloned();
        let opener = match known {
            Some(o) => o,
            None => self.shared.with_conn(host, vars, |c| c.streams()).map_err(|e| format!("{host}: {e}"))??,
        };
        opener.open(target)
    }
}

/// Locks `m`, also after a worker panicked while holding it (the data stays usable: at worst a
/// connection whose session is broken, which reports `Lost`).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn local_vars() -> Map<String, Value> {
        json!({"ansible_connection": "local"}).as_object().unwrap().clone()
    }

    fn shell_pid(pool: &ConnectionPool, host: &str) -> String {
        pool.with_conn(host, &local_vars(), |c| c.exec("echo $$", None).unwrap().stdout_str()).unwrap()
    }

    #[test]
    fn one_connection_per_host_reused_across_calls() {
        let pool = ConnectionPool::new();
        let a1 = shell_pid(&pool, "a");
        let a2 = shell_pid(&pool, "a");
        let b = shell_pid(&pool, "b");
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
    }

    #[test]
    fn another_way_of_reaching_a_host_gets_its_own_connection() {
        let pool = ConnectionPool::new();
        let a = shell_pid(&pool, "h");
        let mut other = local_vars();
        other.insert("ansible_port".into(), json!(2222));
        let b = pool.with_conn("h", &other, |c| c.exec("echo $$", None).unwrap().stdout_str()).unwrap();
        assert_ne!(a, b);
        // sudo's options shape the become shell: another chdir is another shell.
        let mut chdir = local_vars();
        chdir.insert("ansible_sudo_chdir".into(), json!("/"));
        assert_ne!(key("h", &chdir), key("h", &local_vars()));
        let mut flags = local_vars();
        flags.insert("ansible_become_flags".into(), json!("-H -S"));
        assert_ne!(key("h", &flags), key("h", &local_vars()));
        // Variables that do not define the connection share it.
        let mut same = local_vars();
        same.insert("ansible_check_mode".into(), json!(true));
        let c = pool.with_conn("h", &same, |c| c.exec("echo $$", None).unwrap().stdout_str()).unwrap();
        assert_eq!(a, c);
        pool.discard_conn("h", &other);
        let b2 = pool.with_conn("h", &other, |c| c.exec("echo $$", None).unwrap().stdout_str()).unwrap();
        assert_ne!(b, b2);
        assert_eq!(shell_pid(&pool, "h"), a);
    }

    #[test]
    fn workers_on_one_host_take_turns() {
        let pool = ConnectionPool::new();
        std::thread::scope(|s| {
            for i in 0..4 {
                let pool = &pool;
                s.spawn(move || {
                    for j in 0..20 {
                        let out = pool
                            .with_conn("h", &local_vars(), |c| c.exec(&format!("echo {i}-{j}"), None).unwrap())
                            .unwrap();
                        assert_eq!(out.stdout_str(), format!("{i}-{j}\n"));
                    }
                });
            }
        });
    }

    #[test]
    fn discard_reconnects_after_a_timeout() {
        let pool = ConnectionPool::new();
        let vars = local_vars();
        let before = shell_pid(&pool, "h");
        let timed_out = pool
            .with_conn("h", &vars, |c| {
                c.set_command_timeout(Some(Duration::from_millis(100)));
                c.exec("sleep 2", None)
            })
            .unwrap();
        assert_eq!(timed_out, Err(ConnError::Timeout(1)));
        pool.discard("h");
        let after = shell_pid(&pool, "h");
        assert_ne!(before, after);
        pool.close_all();
    }

    #[test]
    fn streams_reach_a_host_whose_connection_is_held() {
        let pool = ConnectionPool::new();
        let vars = local_vars();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = StreamTarget::tcp("127.0.0.1", port);
        let streams = pool.streams();
        // Opened by a lookup before any task connected, and while this thread holds the
        // connection (a template rendered inside a module run): no deadlock.
        assert!(streams.open("h", &vars, &target).is_ok());
        let inside = pool.with_conn("h", &vars, |_| streams.open("h", &vars, &target).is_ok()).unwrap();
        assert!(inside);
        drop(listener);
        // Another test process may take the freed port at once; then free another one.
        let mut target = target;
        let mut outcome = streams.open("h", &vars, &target).map(|_| ());
        for _ in 0..10 {
            if outcome.is_err() {
                break;
            }
            let freed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            target = StreamTarget::tcp("127.0.0.1", freed.local_addr().unwrap().port());
            drop(freed);
            outcome = streams.open("h", &vars, &target).map(|_| ());
        }
        let err = outcome.unwrap_err();
        assert!(err.contains("connection refused"), "{err}");
    }

    #[test]
    fn connect_errors_are_returned_and_retried() {
        let pool = ConnectionPool::new();
        let vars = json!({"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1})
            .as_object()
            .unwrap()
            .clone();
        for _ in 0..2 {
            let got = pool.with_conn("web1", &vars, |_| ());
            assert!(matches!(got, Err(ConnError::Unreachable(_))));
        }
    }
}
