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
/// The engine marks the host unreachable; it is not a task failure (except [`ConnError::File`]
/// and [`ConnError::Become`], which fail the task on a host that stays reachable).
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
    /// The host was reached but its shell could not be started as the become user: a wrong or
    /// missing become password, or the become command itself failing (sudo refusing, a
    /// `sudo_chdir` that does not exist). Ansible's connection raises a plain error there
    /// ("Incorrect sudo password"), so the task fails and the host stays reachable.
    #[error("{0}")]
    Become(String),
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

    /// Runs one of orc's own read-only probes (`exec_inline`'s rules: a query that changes
    /// nothing on the host, sent by a module's `decide` first; see
    /// [`crate::contract::TypedModule::probes`]). The engine's connection may answer it from a
    /// prefetch made in an earlier exchange, when nothing that orc did since could have changed
    /// the answer (docs/architecture.md, "Probes of later tasks"). Otherwise as `exec_inline`.
    fn probe(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.exec_inline(cmd)
    }

    /// Runs several read-only probes in one exchange with the host where the transport can (the
    /// persistent shell runs them one after the other); each answer is what `exec_inline` of
    /// that probe alone would give. Transports without a persistent shell run them one by one.
    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        cmds.iter().map(|c| self.exec_inline(c)).collect()
    }

    /// Whether the connection would send the probes of the task list's next tasks along with
    /// `first` (the probe the task about to run sends first): false when `first` is already
    /// answered, or when orc changed something since this connection's last probe (the next
    /// answers would likely be wasted). Connections without a probe cache never do.
    fn wants_prefetch(&mut self, _first: &str) -> bool {
        false
    }

    /// Probes of later tasks to send along with the next probe that is not already answered
    /// (see [`Connection::wants_prefetch`]); their answers are kept until anything may have
    /// changed the host.
    fn prefetch(&mut self, _cmds: Vec<String>) {}

    /// The host's current run of probing tasks (the engine counts the other tasks run on the
    /// host): answers kept under another scope are dropped, so they never outlive a task that
    /// is not a probing one (a `pause` during which someone edits a file, a lookup that runs a
    /// command).
    fn prefetch_scope(&mut self, _scope: u64) {}

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
