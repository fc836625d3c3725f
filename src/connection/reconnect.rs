//! A connection that opens itself on first use and again after `reset()`: what the pool lends
//! the modules that outlive their connection (`reboot` waits for the host to come back,
//! `wait_for_connection` waits for it to come up at all). Everything else a module asks is
//! passed to the transport it wraps. See docs/architecture.md (Connections).

use std::path::PathBuf;
use std::time::Duration;

use orc_modules::{CmdOutput, ConnError, Connection};
use serde_json::{Map, Value};

use super::options::ConnectOptions;

/// A host's connection that [`super::connect`]s lazily and reconnects after `reset()`.
pub struct Reconnecting {
    host: String,
    vars: Map<String, Value>,
    options: ConnectOptions,
    /// The open transport, if any: given back to the pool when the module is done.
    pub inner: Option<Box<dyn Connection>>,
    command_timeout: Option<Option<Duration>>,
}

impl Reconnecting {
    /// Wraps `inner` (the pool's open connection, or none yet) for `host`, reopened from `vars`
    /// with `options` when needed.
    pub fn new(
        host: &str,
        vars: &Map<String, Value>,
        options: &ConnectOptions,
        inner: Option<Box<dyn Connection>>,
    ) -> Self {
        Reconnecting {
            host: host.to_string(),
            vars: vars.clone(),
            options: options.clone(),
            inner,
            command_timeout: None,
        }
    }

    /// The open transport, opening it first when there is none.
    fn open(&mut self) -> Result<&mut Box<dyn Connection>, ConnError> {
        if crate::interrupt::interrupted() {
            return Err(ConnError::Lost(crate::interrupt::INTERRUPTED.into()));
        }
        if self.inner.is_none() {
            let mut conn = super::connect(&self.host, &self.vars, &self.options)?;
            if let Some(t) = self.command_timeout {
                conn.set_command_timeout(t);
            }
            self.inner = Some(conn);
        }
        self.inner.as_mut().ok_or_else(|| ConnError::Lost("no connection".into()))
    }

    /// Runs `f` on the open transport; a transport that broke is dropped, so the next call
    /// reconnects.
    fn with<R>(&mut self, f: impl FnOnce(&mut dyn Connection) -> Result<R, ConnError>) -> Result<R, ConnError> {
        let conn = self.open()?;
        let r = f(conn.as_mut());
        if matches!(r, Err(ConnError::Lost(_) | ConnError::Timeout(_))) {
            self.inner = None;
        }
        r
    }
}

impl Connection for Reconnecting {
    fn host(&self) -> &str {
        &self.host
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.with(|c| c.exec(cmd, stdin))
    }

    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.with(|c| c.exec_inline(cmd))
    }

    fn probe(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.with(|c| c.probe(cmd))
    }

    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        self.with(|c| c.probe_batch(cmds))
    }

    fn prefetch_scope(&mut self, scope: u64) {
        if let Some(c) = self.inner.as_mut() {
            c.prefetch_scope(scope);
        }
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        self.with(|c| c.read_file(path))
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        self.with(|c| c.write_file(path, data))
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.command_timeout = Some(timeout);
        if let Some(c) = self.inner.as_mut() {
            c.set_command_timeout(timeout);
        }
    }

    fn reset(&mut self) -> Result<(), ConnError> {
        if crate::interrupt::interrupted() {
            return Err(ConnError::Lost(crate::interrupt::INTERRUPTED.into()));
        }
        // The host may be rebooting: whatever any connection was sent ahead is stale.
        self.options.probe_epoch.advance();
        self.inner = None;
        Ok(())
    }

    fn set_connect_timeout(&mut self, timeout: Duration) {
        self.options.connect_timeout = timeout;
    }

    fn runs_on_controller(&self) -> bool {
        match &self.inner {
            Some(c) => c.runs_on_controller(),
            None => super::is_local(&self.vars),
        }
    }

    fn docker_socket(&mut self, remote_socket: &str) -> Result<PathBuf, String> {
        let conn = self.open().map_err(|e| e.to_string())?;
        conn.docker_socket(remote_socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn opens_on_first_use_and_again_after_reset() {
        let mut c =
            Reconnecting::new("box", &vars(json!({"ansible_connection": "local"})), &ConnectOptions::default(), None);
        assert!(c.runs_on_controller());
        let pid1 = c.exec("echo $$", None).unwrap().stdout_str();
        assert_eq!(c.exec("echo $$", None).unwrap().stdout_str(), pid1, "one shell until reset");
        c.reset().unwrap();
        assert!(c.inner.is_none());
        let pid2 = c.exec("echo $$", None).unwrap().stdout_str();
        assert_ne!(pid1, pid2, "a new shell after reset");
    }

    #[test]
    fn unreachable_hosts_are_errors_of_each_call() {
        let v = vars(json!({"ansible_host": "127.0.0.1", "ansible_port": 1}));
        let mut c = Reconnecting::new("web1", &v, &ConnectOptions::default(), None);
        assert!(!c.runs_on_controller());
        for _ in 0..2 {
            assert!(matches!(c.exec("true", None), Err(ConnError::Unreachable(_))));
        }
    }
}
