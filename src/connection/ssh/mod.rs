//! The SSH transport (libssh2 through the `ssh2` crate): ONE session per host for the whole run,
//! over it ONE persistent shell channel carrying every command with the framing protocol, and ONE
//! SFTP channel (opened at the first file operation) carrying files. No new connection or channel
//! per command (docs/architecture.md, "Connections").
//!
//! Opening a connection: resolve the target ([`target`]: inventory variables, `~/.ssh/config`,
//! `ansible_ssh_common_args`), connect over TCP or through jump hosts ([`proxy`]), handshake
//! preferring host key types known_hosts already has, check the host key ([`hostkeys`]),
//! authenticate ([`auth`]), start the shell (through sudo for become, [`sudo`]) and check that it
//! answers. Every failure is one line saying what went wrong, as `ConnError::Unreachable`, except
//! a become step that fails on a host that answered (a wrong password, a failing sudo), which is
//! `ConnError::Become` ([`sudo`]).

pub mod auth;
pub mod config;
pub mod host_streams;
pub mod hostkeys;
pub mod opening;
pub mod proxy;
pub mod relay;
pub mod stream_bridge;
pub mod streams;
pub mod sudo;
pub mod target;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testsshd;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orc_modules::stream::{HostStream, StreamOpener, StreamTarget};
use orc_modules::{CmdOutput, ConnError, Connection};
use serde_json::{Map, Value};
use ssh2::{OpenFlags, OpenType, Session, Sftp};

use super::framing::ShellSession;
use super::options::{ConnectOptions, HostKeyChecking, Secret};
use super::shellfs;
use host_streams::SshStreams;
use hostkeys::KnownState;
use relay::BecomeRoute;
use streams::{ChannelStreams, KEEPALIVE_SECS};
use sudo::BecomePlan;
use target::SshTarget;

/// How many jump hosts may be chained (through configs that name each other).
const MAX_JUMPS: usize = 8;

/// The SFTP status code for "no such file" (LIBSSH2_FX_NO_SUCH_FILE).
const FX_NO_SUCH_FILE: i32 = 2;

/// A connection to one host over SSH: the session, its persistent shell and its SFTP channel.
pub struct SshConnection {
    host: String,
    session: Session,
    shell: ShellSession<ChannelStreams>,
    /// The persistent shell's process id on the host.
    shell_pid: Option<u32>,
    /// The session's socket.
    fd: RawFd,
    sftp: Option<Sftp>,
    become_user: Option<String>,
    /// The user SSH logs in as.
    login_user: String,
    /// `Some` when the run becomes another user than the login user: the interrupt's stop script
    /// and streams to Unix sockets go through it.
    become_route: Option<BecomeRoute>,
    /// Streams to the host's sockets, on a second session opened at the first stream
    /// ([`stream_bridge`]); shared with the engine's lookups.
    streams: Arc<SshStreams>,
}

impl SshConnection {
    /// Connects to inventory host `host` as its connection variables say, becoming `become_user`
    /// (through sudo) when given, with the password from `ansible_become_password` /
    /// `ansible_become_pass` or `opts.become_password`.
    pub fn open(
        host: &str,
        vars: &Map<String, Value>,
        become_user: Option<&str>,
        opts: &ConnectOptions,
    ) -> Result<Self, ConnError> {
        let target = SshTarget::from_vars(host, vars, opts)?;
        let (session, fd) = open_session(&target, opts, 0)?;
        let become_password = ["ansible_become_password", "ansible_become_pass", "ansible_sudo_pass"]
            .iter()
            .find_map(|n| vars.get(*n).and_then(orc_modules::args::scalar_to_string))
            .map(Secret::new)
            .or_else(|| opts.become_password.clone());
        let login = format!("{}@{}", target.user, host);
        let deadline = Instant::now() + target.connect_timeout;
        let unreachable =
            |what: &str, e: ssh2::Error| ConnError::Unreachable(format!("ssh: {what} on {login}: {}", e.message()));
        session.set_blocking(true);
        let mut channel = session.channel_session().map_err(|e| unreachable("cannot open a shell channel", e))?;
        let method = super::become_method(vars)?;
        let sudo = super::SudoOptions::from_vars(vars);
        let plan = become_user.map(|u| BecomePlan::new(method, u, become_password.is_some(), &sudo));
        if let Some(u) = become_user {
            tracing::info!(
                "<{host}> become: {} as {u}, {}",
                format!("{method:?}").to_lowercase(),
                if become_password.is_some() { "with a password" } else { "without a password" }
            );
        }
        let command = plan.as_ref().map_or("/bin/sh -s", |p| p.command.as_str());
        channel.exec(command).map_err(|e| unreachable("cannot start the shell", e))?;
        let mut streams = ChannelStreams::new(session.clone(), channel, fd, &target.describe());
        if let (Some(plan), Some(user)) = (&plan, become_user) {
            // sudo asks for the login user's password, su for the target user's.
            let asked = match method {
                super::BecomeMethod::Sudo => login.clone(),
                super::BecomeMethod::Su => format!("{user}@{host}"),
            };
            plan.handshake(&mut streams, become_password.as_ref(), &asked, deadline)?;
        }
        let mut shell = ShellSession::new(streams);
        shell.set_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1))));
        // The first command checks that the shell answers and learns its process id (what Ctrl-C
        // stops is below it: crate::interrupt).
        let shell_pid = match shell.exec_inline("printf '%s\\n' \"$$\"") {
            Ok(out) if out.rc == 0 => {
                let pid = out.stdout_str().trim().parse::<u32>().ok();
                tracing::info!(
                    "<{host}> ssh: the persistent shell runs (pid {})",
                    pid.map_or("?".into(), |p| p.to_string())
                );
                pid
            }
            Ok(out) => {
                return Err(ConnError::Unreachable(format!(
                    "ssh: the shell on {login} does not run commands (rc {}): {}",
                    out.rc,
                    out.stderr_str().trim()
                )))
            }
            Err(ConnError::Timeout(secs)) => {
                return Err(ConnError::Unreachable(format!("ssh: the shell on {login} did not answer within {secs} s")))
            }
            Err(ConnError::Lost(why) | ConnError::Unreachable(why) | ConnError::File(why) | ConnError::Become(why)) => {
                return Err(ConnError::Unreachable(format!("ssh: {login}: {why}")))
            }
        };
        shell.set_timeout(opts.command_timeout);
        let become_route = match become_user {
            Some(user) if user != target.user => {
                let asked = match method {
                    super::BecomeMethod::Sudo => login.clone(),
                    super::BecomeMethod::Su => format!("{user}@{host}"),
                };
                Some(BecomeRoute {
                    method,
                    user: user.to_string(),
                    sudo: sudo.clone(),
                    password: become_password.clone(),
                    asked,
                })
            }
            _ => None,
        };
        let login_user = target.user.clone();
        let streams = Arc::new(SshStreams::new(host, target, opts.clone(), become_route.clone()));
        Ok(SshConnection {
            host: host.to_string(),
            session,
            shell,
            shell_pid,
            fd,
            sftp: None,
            become_user: become_user.map(str::to_string),
            login_user,
            become_route,
            streams,
        })
    }

    /// The user the shell runs as through sudo, if any.
    pub fn become_user(&self) -> Option<&str> {
        self.become_user.as_deref()
    }

    /// After Ctrl-C cut a command short: stops what the persistent shell was running on the
    /// host (its descendants) through a second channel of this session, started through the
    /// same become route as the shell when it runs as another user, and records the outcome
    /// (crate::interrupt). Called on the thread that owns the session, so the session is used
    /// by one thread only.
    fn stop_interrupted(&mut self) {
        let host = self.host.clone();
        let outcome = match self.shell_pid {
            None => Err("the shell's process id is not known".to_string()),
            Some(pid) => self.run_stop_script(pid),
        };
        let line = match outcome {
            Ok(out) => crate::interrupt::describe_stopped(&host, &out),
            Err(why) => format!("{host}: could not stop the running command ({why})"),
        };
        crate::interrupt::record_stopped(line);
        self.shell_pid = None;
    }

    /// Runs the stop script for shell `pid` on a new channel; returns what it printed.
    fn run_stop_script(&mut self, pid: u32) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        self.session.set_blocking(true);
        self.session.set_timeout(5000);
        let mut channel = self.session.channel_session().map_err(|e| e.message().to_string())?;
        let route = self.become_route.clone();
        let plan = route.as_ref().map(|r| BecomePlan::new(r.method, &r.user, r.password.is_some(), &r.sudo));
        let command = plan.as_ref().map_or("/bin/sh -s", |p| p.command.as_str());
        channel.exec(command).map_err(|e| e.message().to_string())?;
        let mut streams = ChannelStreams::new(self.session.clone(), channel, self.fd, &self.host);
        if let (Some(plan), Some(r)) = (&plan, &route) {
            plan.handshake(&mut streams, r.password.as_ref(), &r.asked, deadline).map_err(|e| e.to_string())?;
        }
        let mut shell = ShellSession::new(streams);
        shell.set_timeout(Some(Duration::from_secs(5)));
        shell.set_interruptible(false);
        let out = shell.exec(&crate::interrupt::stop_script(pid), None).map_err(|e| e.to_string())?;
        shell.close();
        Ok(out.stdout_str())
    }

    /// The SFTP channel, opened on first use; blocking mode with the command time limit.
    fn sftp(&mut self) -> Result<&Sftp, ConnError> {
        if let Some(why) = self.shell.broken() {
            return Err(ConnError::Lost(why.to_string()));
        }
        self.session.set_blocking(true);
        let limit = self.shell.timeout().map_or(0, |t| t.as_millis());
        self.session.set_timeout(limit.min(u32::MAX as u128) as u32);
        if self.sftp.is_none() {
            let started = Instant::now();
            let sftp = loop {
                match self.session.sftp() {
                    Ok(sftp) => break sftp,
                    // libssh2 ends a blocking wait with LIBSSH2_ERROR_TIMEOUT ("Timed out waiting
                    // on socket") when its keepalive interval passes first, although no time limit
                    // was set; a host busy starting its sftp-server takes that long under load.
                    // Its SFTP start-up keeps its state, so asking again goes on with it.
                    Err(e) if is_timeout(&e) && (limit == 0 || started.elapsed().as_millis() < limit) => continue,
                    Err(e) => return Err(ConnError::Lost(format!("cannot open the SFTP channel: {}", e.message()))),
                }
            };
            self.sftp = Some(sftp);
        }
        self.sftp.as_ref().ok_or_else(|| ConnError::Lost("the SFTP channel is not open".to_string()))
    }
}

/// Whether libssh2 gave up waiting on the socket (LIBSSH2_ERROR_TIMEOUT).
fn is_timeout(e: &ssh2::Error) -> bool {
    matches!(e.code(), ssh2::ErrorCode::Session(-9))
}

/// A file error as `ConnError::Lost` naming the path.
fn file_error(what: &str, path: &str, e: impl std::fmt::Display) -> ConnError {
    ConnError::Lost(format!("cannot {what} {path}: {e}"))
}

impl Connection for SshConnection {
    fn host(&self) -> &str {
        &self.host
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        let out = self.shell.exec(cmd, stdin);
        if self.shell.was_interrupted() {
            self.stop_interrupted();
        }
        out
    }

    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        let out = self.shell.exec_inline(cmd);
        if self.shell.was_interrupted() {
            self.stop_interrupted();
        }
        out
    }

    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        let out = self.shell.exec_inline_batch(cmds);
        if self.shell.was_interrupted() {
            self.stop_interrupted();
        }
        out
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        if self.become_user.is_some() {
            // Only the shell has the become user's rights.
            return shellfs::read_file(&mut self.shell, path);
        }
        let sftp = self.sftp()?;
        let mut file = match sftp.open(Path::new(path)) {
            Ok(f) => f,
            Err(e) if e.code() == ssh2::ErrorCode::SFTP(FX_NO_SUCH_FILE) => return Ok(None),
            Err(e) => return Err(file_error("read", path, e.message())),
        };
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(|e| file_error("read", path, e))?;
        Ok(Some(data))
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        if self.become_user.is_some() {
            return shellfs::write_file(&mut self.shell, path, data);
        }
        let sftp = self.sftp()?;
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        // The server's refusal (no rights, no such directory) is the task's failure; anything
        // else broke the session.
        let mut file = sftp.open_mode(Path::new(path), flags, 0o600, OpenType::File).map_err(|e| match e.code() {
            ssh2::ErrorCode::SFTP(_) => ConnError::File(format!("cannot write {path}: {}", e.message())),
            ssh2::ErrorCode::Session(_) => file_error("write", path, e.message()),
        })?;
        file.write_all(data).map_err(|e| file_error("write", path, e))?;
        // fsync@openssh.com; servers without it answer "unsupported", which is not an error here.
        match file.fsync() {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.code(), ssh2::ErrorCode::SFTP(8)) => Ok(()),
            Err(e) if e.message().contains("fsync") => Ok(()),
            Err(e) => Err(file_error("sync", path, e.message())),
        }
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.shell.set_timeout(timeout);
    }

    fn streams(&mut self) -> Result<Arc<dyn StreamOpener>, String> {
        Ok(self.streams.clone())
    }

    /// A stream over the host's second session ([`stream_bridge`]); when a Unix socket cannot be
    /// opened, one round trip in the task's shell says why (no socket there, no rights to it).
    fn open_stream(&mut self, target: &StreamTarget) -> Result<HostStream, String> {
        match self.streams.open(target) {
            Ok(s) => Ok(s),
            Err(e) => match target {
                StreamTarget::Unix(path) => Err(self.socket_problem(path).unwrap_or(e)),
                StreamTarget::Tcp { .. } => Err(e),
            },
        }
    }

    /// A local socket bridged to `remote_socket` on the host ([`stream_bridge`]'s `listen`),
    /// opened at the first call and kept for the run.
    fn docker_socket(&mut self, remote_socket: &str) -> Result<std::path::PathBuf, String> {
        // One round trip in the task's shell (the become user's, when there is one), so that the
        // common failures read clearly: no daemon, no rights to its socket, no relay for become.
        let q = orc_modules::shell_quote::quote(remote_socket);
        let via_become = self.become_route.is_some();
        let relay = if via_become {
            "command -v perl >/dev/null || command -v docker >/dev/null || { echo norelay; exit 0; }; "
        } else {
            ""
        };
        let check = format!(
            "[ -S {q} ] || {{ echo nosocket; exit 0; }}; [ -r {q} ] && [ -w {q} ] || {{ echo noaccess; exit 0; }}; {relay}echo ok"
        );
        let out = self.shell.exec(&check, None).map_err(|e| e.to_string())?;
        let who = self.become_user.clone().unwrap_or_else(|| self.login_user.clone());
        let host = &self.host;
        match out.stdout_str().trim() {
            "ok" => {}
            "nosocket" => {
                return Err(format!(
                    "cannot reach the Docker daemon on {host}: no socket at {remote_socket} (is Docker installed and running?)"
                ))
            }
            "noaccess" => {
                return Err(format!(
                    "cannot reach the Docker daemon on {host}: {who} may not use {remote_socket} \
                     (use become, or add {who} to the docker group)"
                ))
            }
            "norelay" => {
                return Err(format!(
                    "cannot reach the Docker daemon on {host} as {who}: reaching it through become needs perl or \
                     the docker command on the host"
                ))
            }
            other => return Err(format!("cannot check the Docker socket on {host}: {other}")),
        }
        self.streams.listen(&StreamTarget::Unix(remote_socket.to_string()))
    }
}

impl SshConnection {
    /// Why the Unix socket `path` cannot be opened, as the task's shell sees it: missing, not a
    /// socket, or not usable by the user. `None` when it looks usable (the caller keeps the
    /// bridge's own message).
    fn socket_problem(&mut self, path: &str) -> Option<String> {
        let q = orc_modules::shell_quote::quote(path);
        let check = format!(
            "if [ ! -e {q} ]; then echo missing; elif [ ! -S {q} ]; then echo notsocket; \
             elif [ -r {q} ] && [ -w {q} ]; then echo ok; else echo noaccess; fi"
        );
        let out = self.shell.exec(&check, None).ok()?;
        let who = self.become_user.clone().unwrap_or_else(|| self.login_user.clone());
        let host = &self.host;
        match out.stdout_str().trim() {
            "missing" => Some(format!("{host}: no socket at {path}")),
            "notsocket" => Some(format!("{host}: {path} is not a socket")),
            "noaccess" => {
                Some(format!("{host}: {who} may not use {path} (use become, or give {who} access to the socket)"))
            }
            _ => None,
        }
    }
}

impl Drop for SshConnection {
    fn drop(&mut self) {
        self.shell.close();
        self.session.set_blocking(true);
        self.session.set_timeout(1000);
        let _ = self.session.disconnect(None, "orc: done", None);
    }
}

/// Opens an authenticated session to `target` (through its jump hosts); returns it with the
/// descriptor of its socket. `depth` counts jump hosts already in the chain. An opening waits for
/// a slot of [`opening::gate`] first (its jump hosts ride on that slot), so the connect timeout
/// counts the host's delay, not orc's queue.
pub(crate) fn open_session(
    target: &SshTarget,
    opts: &ConnectOptions,
    depth: usize,
) -> Result<(Session, RawFd), ConnError> {
    let _slot = (depth == 0).then(|| opening::gate().enter());
    let mut session =
        Session::new().map_err(|e| ConnError::Unreachable(format!("ssh: cannot start a session: {e}")))?;
    let keys: Vec<String> = target.identity_files.iter().map(|k| k.display().to_string()).collect();
    tracing::info!(
        "<{}> ssh: connecting to {}:{} as {}, timeout {} s, {}; keys: {}{}; agent: {}; password: {}; host key checking: {} ({})",
        target.name,
        target.address,
        target.port,
        target.user,
        target.connect_timeout.as_secs_f64(),
        target.proxy_jump.as_deref().map_or("direct".to_string(), |j| format!("through jump hosts {j}")),
        if keys.is_empty() { "none".to_string() } else { keys.join(", ") },
        if target.explicit_keys { " (configured)" } else { " (the defaults)" },
        target.agent.as_ref().map_or("none".to_string(), |a| a.display().to_string()),
        if target.password.is_some() { "given" } else { "none" },
        target.host_key_checking,
        target.known_hosts.display(),
    );
    let fd = match &target.proxy_jump {
        None => {
            let tcp = tcp_connect(target)?;
            let fd = tcp.as_raw_fd();
            session.set_tcp_stream(tcp);
            fd
        }
        Some(jumps) => {
            if depth >= MAX_JUMPS {
                return Err(ConnError::Unreachable(format!(
                    "ssh: more than {MAX_JUMPS} jump hosts to reach {} (do the ProxyJump settings loop?)",
                    target.name
                )));
            }
            // `a,b`: reach b through a, then the target through b.
            let (rest, last) = match jumps.rsplit_once(',') {
                Some((rest, last)) => (Some(rest.to_string()), last),
                None => (None, jumps.as_str()),
            };
            let mut bastion = SshTarget::jump_host(last.trim(), opts)?;
            if rest.is_some() {
                bastion.proxy_jump = rest;
            }
            let (bastion_session, bastion_fd) = open_session(&bastion, opts, depth + 1)?;
            let sock = proxy::tunnel(bastion_session, bastion_fd, &target.address, target.port, &bastion.describe())?;
            let fd = sock.as_raw_fd();
            session.set_tcp_stream(sock);
            fd
        }
    };
    session.set_timeout(target.connect_timeout.as_millis().min(u32::MAX as u128) as u32);
    let entry_name = hostkeys::host_entry_name(&target.address, target.port);
    let known_text = if target.host_key_checking == HostKeyChecking::Off {
        String::new()
    } else {
        match std::fs::read_to_string(&target.known_hosts) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(ConnError::Unreachable(format!("ssh: cannot read {}: {e}", target.known_hosts.display())))
            }
        }
    };
    let known = hostkeys::known_types(&known_text, &entry_name);
    // Ask for a key type known_hosts has for this host (as OpenSSH does), then OpenSSH's order.
    let supported = session.supported_algs(ssh2::MethodType::HostKey).unwrap_or_default();
    let prefs = hostkeys::preference(&known, &supported);
    if !prefs.is_empty() {
        let _ = session.method_pref(ssh2::MethodType::HostKey, &prefs);
    }
    session.handshake().map_err(|e| {
        let why = match e.code() {
            ssh2::ErrorCode::Session(-9 | -30) => {
                format!("no SSH answer within {} s", target.connect_timeout.as_secs_f64())
            }
            _ => lower_first(e.message()),
        };
        ConnError::Unreachable(format!("ssh: handshake with {}:{} failed: {why}", target.address, target.port))
    })?;
    check_host_key(&session, target, &entry_name, &known_text)?;
    auth::authenticate(&session, target)?;
    session.set_keepalive(true, KEEPALIVE_SECS);
    Ok((session, fd))
}

/// Connects over TCP to the target's address, trying each resolved address within the timeout.
fn tcp_connect(target: &SshTarget) -> Result<TcpStream, ConnError> {
    let where_ = format!("{}:{}", target.address, target.port);
    let addrs: Vec<_> = (target.address.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| ConnError::Unreachable(format!("ssh: cannot resolve {}: {e}", target.address)))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, target.connect_timeout) {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    let why = match last {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            format!("timed out after {} s", target.connect_timeout.as_secs_f64())
        }
        Some(e) => lower_first(&e.to_string()),
        None => "no address found".to_string(),
    };
    Err(ConnError::Unreachable(format!("ssh: connect to {where_}: {why}")))
}

/// An OS error message as OpenSSH prints it ("connection refused"), without the errno suffix.
fn lower_first(msg: &str) -> String {
    let msg = msg.split(" (os error").next().unwrap_or(msg);
    let mut chars = msg.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Checks the server's host key per the target's mode; accept-new records an unknown key.
fn check_host_key(session: &Session, target: &SshTarget, entry_name: &str, known_text: &str) -> Result<(), ConnError> {
    if target.host_key_checking == HostKeyChecking::Off {
        tracing::info!("<{}> ssh: host key not checked (host key checking is off)", target.name);
        return Ok(());
    }
    let (blob, _) =
        session.host_key().ok_or_else(|| ConnError::Unreachable(format!("ssh: {} sent no host key", target.name)))?;
    let fp = hostkeys::fingerprint(blob);
    tracing::info!("<{}> ssh: the server's host key is {fp}", target.name);
    let who = if target.name == target.address {
        target.name.clone()
    } else {
        format!("{} ({})", target.name, target.address)
    };
    let path = target.known_hosts.display();
    match hostkeys::check(known_text, entry_name, blob) {
        KnownState::Match => {
            tracing::info!("<{}> ssh: host key matches {path}", target.name);
            Ok(())
        }
        KnownState::Changed(line) => Err(ConnError::Unreachable(format!(
            "HOST KEY CHANGED for {who}: the server offers {fp}, which differs from {path}:{line}; \
             this may be an attack; if the host was reinstalled, remove the old key with \
             ssh-keygen -R '{entry_name}' -f {path}"
        ))),
        KnownState::Unknown if target.host_key_checking == HostKeyChecking::AcceptNew => {
            hostkeys::append(&target.known_hosts, entry_name, blob)
                .map_err(|e| ConnError::Unreachable(format!("ssh: cannot add the key of {who} to {path}: {e}")))
        }
        KnownState::Unknown => Err(ConnError::Unreachable(format!(
            "host key for {who} is not known: {fp}; accept it with --host-key-checking accept-new \
             or add it to {path} (ssh-keyscan -p {} {})",
            target.port, target.address
        ))),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn os_errors_read_like_openssh() {
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let raw = std::io::Error::from_raw_os_error(111);
        assert_eq!(lower_first(&raw.to_string()), "connection refused");
        assert!(!lower_first(&e.to_string()).is_empty());
    }
}
