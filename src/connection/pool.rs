//! One connection per host (and become user) for the whole run, handed to one worker at a time.
//!
//! Connections are expensive to open and cheap to reuse (DESIGN.md: one SSH connection and one
//! persistent shell per host), and a connection must never be used by two threads at once (an ssh2
//! session corrupts its stream). The pool opens each connection lazily on first use and lends it
//! under a per-host lock, so workers on different hosts never wait for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use orc_modules::{ConnError, Connection};
use serde_json::{Map, Value};

use super::options::ConnectOptions;
use super::reconnect::Reconnecting;
use super::{become_user, connect};

/// The slot of one host's connection: empty until first use, or after it was discarded.
type Slot = Arc<Mutex<Option<Box<dyn Connection>>>>;

/// Lazily opened connections keyed by inventory host name and become user.
#[derive(Default)]
pub struct ConnectionPool {
    slots: Mutex<HashMap<(String, Option<String>), Slot>>,
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
        ConnectionPool { slots: Mutex::default(), options }
    }

    /// The options connections are opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Runs `f` with the connection for `host` (opened with [`connect`] from the host's `vars` on
    /// first use), holding it exclusively while `f` runs. A separate connection is kept per become
    /// user, since become is decided when the shell starts. Fails only when the connection cannot
    /// be opened; the next call tries again.
    pub fn with_conn<R>(
        &self,
        host: &str,
        vars: &Map<String, Value>,
        f: impl FnOnce(&mut dyn Connection) -> R,
    ) -> Result<R, ConnError> {
        let key = (host.to_string(), become_user(vars)?);
        let slot = {
            let mut slots = lock(&self.slots);
            Arc::clone(slots.entry(key).or_default())
        };
        let mut guard = lock(&slot);
        let conn = match &mut *guard {
            Some(conn) => conn,
            empty => empty.insert(connect(host, vars, &self.options)?),
        };
        Ok(f(conn.as_mut()))
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
        let key = (host.to_string(), become_user(vars)?);
        let slot = {
            let mut slots = lock(&self.slots);
            Arc::clone(slots.entry(key).or_default())
        };
        let mut guard = lock(&slot);
        let mut conn = Reconnecting::new(host, vars, &self.options, guard.take());
        let r = f(&mut conn);
        *guard = conn.inner.take();
        Ok(r)
    }

    /// Closes every connection of `host` (waiting for a worker using one to finish). The next
    /// `with_conn` opens a fresh one: use it after `ConnError::Timeout` or `ConnError::Lost`, since
    /// such a connection is unusable.
    pub fn discard(&self, host: &str) {
        let slots: Vec<Slot> =
            lock(&self.slots).iter().filter(|((h, _), _)| h == host).map(|(_, slot)| Arc::clone(slot)).collect();
        for slot in slots {
            *lock(&slot) = None;
        }
    }

    /// Closes every connection (ending the persistent shells).
    pub fn close_all(&self) {
        let slots: Vec<Slot> = lock(&self.slots).drain().map(|(_, slot)| slot).collect();
        for slot in slots {
            *lock(&slot) = None;
        }
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
