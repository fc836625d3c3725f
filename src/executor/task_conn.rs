//! A host's connection as one task sees it: the task's `environment:` exported for every command
//! its module runs, and its `timeout:` as a deadline for the whole task (each command gets the
//! time that is left), as Ansible applies both to the module process.

use std::time::{Duration, Instant};

use orc_modules::{CmdOutput, ConnError, Connection};

/// How long the check after a failed stream may take before the host counts as gone.
const LIVENESS_TIMEOUT: Duration = Duration::from_secs(20);

/// Wraps the pooled connection for the length of one module run.
pub struct TaskConn<'a> {
    inner: &'a mut dyn Connection,
    /// `K='v'; export K` lines run before each command (empty without `environment:`).
    prefix: String,
    /// When the task must be over.
    deadline: Option<Instant>,
    /// The run's own command limit (`--task-timeout`), put back afterwards.
    run_limit: Option<Duration>,
    /// The task ran out of time.
    timed_out: bool,
    /// The module opened streams or the Docker bridge: their errors reach it as failures, so
    /// whether the host is still there is asked afterwards ([`TaskConn::lost`]).
    streamed: bool,
}

/// Whether `name` can be an environment variable exported by `sh`.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> TaskConn<'a> {
    /// The connection with `environment` exported and `timeout` (seconds) as the task's limit;
    /// `run_limit` is the limit commands have outside this task.
    pub fn new(
        inner: &'a mut dyn Connection,
        environment: &[(String, String)],
        timeout: Option<u64>,
        run_limit: Option<Duration>,
    ) -> TaskConn<'a> {
        let mut prefix = String::new();
        for (k, v) in environment {
            prefix.push_str(&format!("{k}={}; export {k}\n", orc_modules::shell_quote::quote(v)));
        }
        let deadline = timeout.map(|t| Instant::now() + Duration::from_secs(t));
        TaskConn { inner, prefix, deadline, run_limit, timed_out: false, streamed: false }
    }

    /// Whether a command ran out of the task's time.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// After a module failed: whether it failed because the host went away. A module that talks
    /// to the host through a stream (Docker, haproxy, etcd3, uri) sees a lost connection as an
    /// I/O error of its own protocol and reports a failure; one command in the host's shell
    /// tells a lost host (unreachable, as Ansible counts it) from a real failure. Modules that
    /// only run commands get the connection's own error and need no check.
    pub fn lost(&mut self) -> Option<ConnError> {
        if !self.streamed || self.inner.runs_on_controller() {
            return None;
        }
        self.inner.set_command_timeout(Some(LIVENESS_TIMEOUT.min(self.run_limit.unwrap_or(LIVENESS_TIMEOUT))));
        let probe = self.inner.exec_inline("true");
        self.inner.set_command_timeout(self.run_limit);
        match probe {
            Err(e @ (ConnError::Lost(_) | ConnError::Timeout(_) | ConnError::Unreachable(_))) => Some(e),
            _ => None,
        }
    }

    /// Sets the command limit to the time left (the run's limit if shorter).
    fn arm(&mut self) -> Result<(), ConnError> {
        let Some(deadline) = self.deadline else { return Ok(()) };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.timed_out = true;
            return Err(ConnError::Timeout(0));
        }
        let limit = match self.run_limit {
            Some(r) if r < left => r,
            _ => left,
        };
        self.inner.set_command_timeout(Some(limit));
        Ok(())
    }

    fn finish(&mut self, out: Result<CmdOutput, ConnError>) -> Result<CmdOutput, ConnError> {
        if self.deadline.is_some() && matches!(out, Err(ConnError::Timeout(_))) {
            self.timed_out = true;
        }
        out
    }
}

impl Drop for TaskConn<'_> {
    fn drop(&mut self) {
        if self.deadline.is_some() {
            self.inner.set_command_timeout(self.run_limit);
        }
    }
}

impl Connection for TaskConn<'_> {
    fn host(&self) -> &str {
        self.inner.host()
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.arm()?;
        let out = if self.prefix.is_empty() {
            self.inner.exec(cmd, stdin)
        } else {
            let full = format!("{}{cmd}", self.prefix);
            self.inner.exec(&full, stdin)
        };
        self.finish(out)
    }

    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.arm()?;
        // The inline probes run in the persistent shell itself: an export there would outlive
        // the task, so with an environment they run in a subshell like any command.
        let out = if self.prefix.is_empty() { self.inner.exec_inline(cmd) } else { self.exec(cmd, None) };
        self.finish(out)
    }

    fn probe(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        if !self.prefix.is_empty() {
            // With an environment a probe runs as a command (above): not one sent ahead.
            return self.exec_inline(cmd);
        }
        self.arm()?;
        let out = self.inner.probe(cmd);
        self.finish(out)
    }

    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        if !self.prefix.is_empty() {
            return cmds.iter().map(|c| self.exec_inline(c)).collect();
        }
        self.arm()?;
        let out = self.inner.probe_batch(cmds);
        if self.deadline.is_some() && matches!(out, Err(ConnError::Timeout(_))) {
            self.timed_out = true;
        }
        out
    }

    fn wants_prefetch(&mut self, first: &str) -> bool {
        self.prefix.is_empty() && self.inner.wants_prefetch(first)
    }

    fn prefetch(&mut self, cmds: Vec<String>) {
        if self.prefix.is_empty() {
            self.inner.prefetch(cmds);
        }
    }

    fn prefetch_scope(&mut self, scope: u64) {
        self.inner.prefetch_scope(scope);
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        self.inner.read_file(path)
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        self.inner.write_file(path, data)
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.run_limit = timeout;
        self.inner.set_command_timeout(timeout);
    }

    fn docker_socket(&mut self, remote_socket: &str) -> Result<std::path::PathBuf, String> {
        self.streamed = true;
        self.inner.docker_socket(remote_socket)
    }

    // The rest is the wrapped connection's own (streams for haproxy, etcd3, uri; reopening for
    // the modules that outlive their connection).
    fn streams(&mut self) -> Result<std::sync::Arc<dyn orc_modules::stream::StreamOpener>, String> {
        self.streamed = true;
        self.inner.streams()
    }

    fn open_stream(
        &mut self,
        target: &orc_modules::stream::StreamTarget,
    ) -> Result<orc_modules::stream::HostStream, String> {
        self.streamed = true;
        self.inner.open_stream(target)
    }

    fn reset(&mut self) -> Result<(), ConnError> {
        self.inner.reset()
    }

    fn set_connect_timeout(&mut self, timeout: Duration) {
        self.inner.set_connect_timeout(timeout);
    }

    fn runs_on_controller(&self) -> bool {
        self.inner.runs_on_controller()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{ConnectOptions, LocalConnection};

    #[test]
    fn the_environment_reaches_every_command_and_stays_in_the_task() {
        let mut local = LocalConnection::new("h", None).unwrap();
        {
            let env = vec![("GREETING".to_string(), "it's here".to_string())];
            let mut c = TaskConn::new(&mut local, &env, None, None);
            assert_eq!(c.exec("echo \"$GREETING\"", None).unwrap().stdout_str(), "it's here\n");
            assert_eq!(c.exec_inline("echo \"$GREETING\"").unwrap().stdout_str(), "it's here\n");
        }
        assert_eq!(local.exec_inline("echo \"${GREETING-unset}\"").unwrap().stdout_str(), "unset\n");
        let _ = ConnectOptions::default();
    }

    #[test]
    fn streams_and_reopening_are_the_wrapped_connections() {
        // The wrapper once hid them: haproxy, etcd3 and uri failed with "cannot open streams".
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut local = LocalConnection::new("h", None).unwrap();
        let mut c = TaskConn::new(&mut local, &[], None, None);
        assert!(c.streams().is_ok());
        assert!(c.open_stream(&orc_modules::stream::StreamTarget::tcp("127.0.0.1", port)).is_ok());
        assert!(c.runs_on_controller());
    }

    /// A remote host whose connection can be taken away.
    struct Remote {
        gone: bool,
    }

    impl Connection for Remote {
        fn host(&self) -> &str {
            "web1"
        }
        fn exec(&mut self, _: &str, _: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
            if self.gone {
                return Err(ConnError::Lost("connection reset by peer".into()));
            }
            Ok(CmdOutput { rc: 0, stdout: vec![], stderr: vec![] })
        }
        fn read_file(&mut self, _: &str) -> Result<Option<Vec<u8>>, ConnError> {
            Ok(None)
        }
        fn write_file(&mut self, _: &str, _: &[u8]) -> Result<(), ConnError> {
            Ok(())
        }
        fn docker_socket(&mut self, _: &str) -> Result<std::path::PathBuf, String> {
            Ok("/tmp/bridge.sock".into())
        }
    }

    #[test]
    fn a_failed_stream_on_a_lost_host_is_a_lost_connection() {
        let mut remote = Remote { gone: false };
        {
            // Commands only: their own errors say it, nothing is asked.
            let mut c = TaskConn::new(&mut remote, &[], None, None);
            assert!(c.lost().is_none());
        }
        {
            // A stream was used and the host still answers: a real failure.
            let mut c = TaskConn::new(&mut remote, &[], None, None);
            c.docker_socket("/var/run/docker.sock").unwrap();
            assert!(c.lost().is_none());
        }
        remote.gone = true;
        let mut c = TaskConn::new(&mut remote, &[], None, None);
        assert!(c.lost().is_none(), "no stream, no question");
        c.docker_socket("/var/run/docker.sock").unwrap();
        assert!(matches!(c.lost(), Some(ConnError::Lost(m)) if m.contains("reset")));
    }

    #[test]
    fn a_timeout_limits_the_whole_task() {
        let mut local = LocalConnection::new("h", None).unwrap();
        let mut c = TaskConn::new(&mut local, &[], Some(1), None);
        assert!(matches!(c.exec("sleep 5", None), Err(ConnError::Timeout(_))));
        assert!(c.timed_out());
        assert!(valid_env_name("A_1") && !valid_env_name("1A") && !valid_env_name("A-B"));
    }
}
