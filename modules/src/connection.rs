//! The connection trait: what a module may do on a managed host.
//!
//! Every transport (local, ssh, docker exec) implements it, so modules run unchanged over any of them.

use thiserror::Error;

/// The outcome of one command run through a connection's persistent shell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit status of the command (as `$?` in sh).
    pub rc: i32,
    /// Everything the command wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
}

impl CmdOutput {
    /// Stdout as lossy UTF-8, for messages and registered results.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// Stderr as lossy UTF-8.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A failure of the transport itself: the host is unreachable or the channel broke.
/// The engine marks the host unreachable; it is not a task failure.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// The host could not be reached or authenticated.
    #[error("{0}")]
    Unreachable(String),
    /// The connection dropped or the shell protocol broke mid-command.
    #[error("connection lost: {0}")]
    Lost(String),
    /// A command exceeded its time limit.
    #[error("command timed out after {0} s")]
    Timeout(u64),
    /// The host refused a file operation (no rights, an immutable directory, no space): the
    /// connection is fine and the task fails, as Ansible's module does; the host stays reachable.
    #[error("{0}")]
    File(String),
}

/// What a module may do on a managed host. One connection is used by one thread at a time.
pub trait Connection: Send {
    /// The inventory name of the host this connection reaches, for messages.
    fn host(&self) -> &str;

    /// Runs `cmd` with `sh` semantics in a fresh subshell of the host's persistent shell; `stdin` is
    /// fed to the command when given (otherwise its stdin is empty).
    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError>;

    /// Runs one of orc's own read-only query scripts (a probe: `stat`, tests, `printf`) in the
    /// persistent shell itself, without the subshell `exec` starts: a fork fewer on the host per
    /// probe. The script must not `exit`, `cd`, `exec`, `set` options or read stdin. Transports
    /// without a persistent shell run it as `exec` does.
    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.exec(cmd, None)
    }

    /// Reads a whole file; `Ok(None)` when it does not exist.
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError>;

    /// Creates or truncates `path` with mode 0600, writes `data` and fsyncs it. Modules use this for
    /// the temp file of an atomic write (see `fileops::atomic_write`), never on the final path but
    /// for Ansible's `unsafe_writes` fallback (`filewrite::write_in_place`). A refusal by the host
    /// (no rights, no such directory) is [`ConnError::File`].
    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError>;

    /// Sets the time limit for each following `exec` (`None`: no limit). A command running past
    /// it gives `ConnError::Timeout`, and the connection is then unusable (`ConnError::Lost`): the
    /// engine drops it and reconnects. Transports without time limits ignore it.
    fn set_command_timeout(&mut self, _timeout: Option<std::time::Duration>) {}

    /// Closes the transport so that the next command opens a new connection to the same host
    /// (Ansible's `connection.reset()`): for the modules that outlive their connection
    /// (`reboot`, `wait_for_connection`, see [`crate::contract::TypedModule::RECONNECTS`]). An
    /// error means the host cannot be reached again this way (or the user interrupted the
    /// run): the module should stop trying.
    fn reset(&mut self) -> Result<(), ConnError> {
        Err(ConnError::Lost("this connection cannot be reopened".into()))
    }

    /// How long opening the connection again after [`Connection::reset`] may take. Transports
    /// that cannot reopen ignore it.
    fn set_connect_timeout(&mut self, _timeout: std::time::Duration) {}

    /// Whether commands run on the controller itself (the `local` transport): `reboot` refuses
    /// to reboot the machine orc runs on.
    fn runs_on_controller(&self) -> bool {
        false
    }

    /// A Unix socket on this machine that reaches the host's Docker daemon listening on
    /// `remote_socket` (a path on the host, e.g. `/var/run/docker.sock`). The Docker modules speak
    /// the Engine API through it, so nothing is installed on the host and dockerd is never exposed
    /// on TCP. Over SSH it is a bridge opened once per run (docs/architecture.md, "Streams to a host's sockets"); locally it is the socket
    /// itself. `Err` says, for the task's failure message, why the daemon cannot be reached.
    fn docker_socket(&mut self, remote_socket: &str) -> Result<std::path::PathBuf, String> {
        Err(format!(
            "the Docker modules cannot reach {remote_socket} over this connection; use an ssh or local connection"
        ))
    }

    /// The opener of byte streams to sockets as seen from this host (`crate::stream`): over SSH
    /// channels of a second session, locally plain sockets. Shared and thread-safe, so the engine
    /// may open streams to this host while a worker holds the connection. `Err` says why this
    /// transport cannot.
    fn streams(&mut self) -> Result<std::sync::Arc<dyn crate::stream::StreamOpener>, String> {
        Err(format!(
            "{}: this connection cannot open streams to the host's sockets; use an ssh or local connection",
            self.host()
        ))
    }

    /// Opens a byte stream to `target` as seen from this host (a Unix socket path on it, or a TCP
    /// address it reaches). `Err` is one line naming the host and the target, for the task's
    /// failure message.
    fn open_stream(&mut self, target: &crate::stream::StreamTarget) -> Result<crate::stream::HostStream, String> {
        self.streams()?.open(target)
    }
}
