//! The bridge that lets the Docker modules reach a host's Docker daemon over SSH.
//!
//! bollard speaks HTTP to a Unix socket. For an SSH host, orc listens on a Unix socket of its own
//! (in a private 0700 directory) and carries every connection made to it over a channel of a
//! DEDICATED SSH session to the host: libssh2's `direct-streamlocal` to the daemon's socket (what
//! `ssh -L local.sock:/var/run/docker.sock` does), so dockerd is never exposed on TCP and nothing is
//! installed on the host. The main session stays with the persistent shell; the bridge's session
//! is owned by one pump thread, in non-blocking mode, which multiplexes all its channels.
//!
//! When the login user is not the become user (say `deploy` with `become: true`), sshd would open
//! the socket as `deploy`, who usually may not. Then each channel instead starts the become shell
//! (sudo or su, password handshake as for the persistent shell) and `exec`s
//! `docker system dial-stdio`, the Docker CLI's own stdio-to-socket proxy that `docker -H ssh://`
//! uses: the daemon is reached with the become user's rights, as Ansible's modules would.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use orc_modules::shell_quote::quote;
use ssh2::{Channel, Session};

use super::streams::{session_events, ChannelStreams, KEEPALIVE_SECS};
use super::sudo::BecomePlan;
use crate::connection::framing::{ShellStreams, Stream, StreamEvent};
use crate::connection::options::Secret;
use crate::connection::BecomeMethod;

/// Size of one copy buffer.
const CHUNK: usize = 32 * 1024;
/// How long opening one channel (and a become handshake) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the pump sleeps at most when nothing happens (it also notices a stop this often).
const IDLE_POLL: Duration = Duration::from_millis(100);

/// How each bridged connection reaches the daemon.
pub enum Route {
    /// `direct-streamlocal` to the socket, with the login user's rights.
    Streamlocal,
    /// Through the become shell and `docker system dial-stdio`, with the become user's rights.
    Become {
        /// sudo or su.
        method: BecomeMethod,
        /// The user to become.
        user: String,
        /// Its password, when one is needed.
        password: Option<Secret>,
        /// `user@host` whose password is asked, for messages.
        asked: String,
    },
}

/// A running bridge: the local socket path, and the pump thread that serves it.
pub struct DockerBridge {
    dir: PathBuf,
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DockerBridge {
    /// Starts serving `remote` (the daemon's socket path on the host) over `session` (a fresh,
    /// authenticated session whose socket is `fd`). The first channel is opened before this
    /// returns, so a route that cannot be opened (sshd refusing the socket, sudo refusing the
    /// user) is reported here, in one line; the caller checks the socket and its rights first.
    pub fn start(session: Session, fd: RawFd, remote: &str, route: Route, peer: &str) -> Result<Self, String> {
        // Keepalives that ask for no reply: an idle bridge reads nothing from its session.
        session.set_keepalive(false, KEEPALIVE_SECS);
        let opener = Opener { session, fd, remote: remote.to_string(), route, peer: peer.to_string() };
        let first = opener.open()?;
        let dir = private_dir().map_err(|e| format!("cannot create a private directory for the Docker bridge: {e}"))?;
        let socket = dir.join("docker.sock");
        let listener = UnixListener::bind(&socket)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("orc-docker-bridge".into())
            .spawn(move || {
                let mut pump = Pump {
                    opener,
                    listener,
                    links: Vec::new(),
                    spare: Some(first),
                    spare_failed: false,
                    draining: Vec::new(),
                    stop: stop_flag,
                };
                pump.run();
            })
            .map_err(|e| format!("cannot start the Docker bridge thread: {e}"))?;
        Ok(DockerBridge { dir, socket, stop, thread: Some(thread) })
    }

    /// The local socket bollard connects to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for DockerBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new directory only this user can enter, for the bridge's socket.
fn private_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let dir = base.join(format!("orc-docker-{}-{:012x}", std::process::id(), fastrand::u64(..) >> 16));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free directory name"))
}

/// Opens channels to the daemon on the bridge's session.
struct Opener {
    session: Session,
    fd: RawFd,
    remote: String,
    route: Route,
    peer: String,
}

impl Opener {
    /// Opens one channel to the daemon, ready to carry HTTP; the session is left non-blocking.
    fn open(&self) -> Result<Channel, String> {
        let result = match &self.route {
            Route::Streamlocal => self.open_streamlocal(),
            Route::Become { method, user, password, asked } => {
                self.open_dial_stdio(*method, user, password.as_ref(), asked)
            }
        };
        self.session.set_blocking(false);
        result
    }

    fn open_streamlocal(&self) -> Result<Channel, String> {
        self.session.set_blocking(true);
        self.session.set_timeout(OPEN_TIMEOUT.as_millis() as u32);
        self.session.channel_direct_streamlocal(&self.remote, None).map_err(|e| {
            format!(
                "ssh: {} cannot connect to {}: {} (is dockerd running, and may the login user use its socket? \
                 with become, orc goes through sudo instead)",
                self.peer,
                self.remote,
                e.message()
            )
        })
    }

    fn open_dial_stdio(
        &self,
        method: BecomeMethod,
        user: &str,
        password: Option<&Secret>,
        asked: &str,
    ) -> Result<Channel, String> {
        let deadline = Instant::now() + OPEN_TIMEOUT;
        self.session.set_blocking(true);
        self.session.set_timeout(OPEN_TIMEOUT.as_millis() as u32);
        let mut channel =
            self.session.channel_session().map_err(|e| format!("ssh: cannot open a channel: {}", e.message()))?;
        let plan = BecomePlan::new(method, user, password.is_some());
        channel.exec(&plan.command).map_err(|e| format!("ssh: cannot start {}: {}", plan.command, e.message()))?;
        let mut streams = ChannelStreams::new(self.session.clone(), channel, self.fd, &self.peer);
        plan.handshake(&mut streams, password, asked, deadline).map_err(|e| e.to_string())?;
        // The shell reads this one line, says GO, then becomes the proxy: nothing else is sent
        // until GO, so the shell cannot have read any of the HTTP that follows.
        let go = format!("__orc_dial_{:016x}__", fastrand::u64(..));
        let line =
            format!("echo {go} >&2; exec docker -H {} system dial-stdio\n", quote(&format!("unix://{}", self.remote)));
        streams.send(line.as_bytes()).map_err(|e| format!("ssh: {}: {e}", self.peer))?;
        let mut err = Vec::new();
        loop {
            match streams.recv(Some(deadline)) {
                Ok(Some(StreamEvent::Data(Stream::Stderr, bytes))) => {
                    err.extend_from_slice(&bytes);
                    if String::from_utf8_lossy(&err).contains(&go) {
                        return Ok(streams.into_channel());
                    }
                }
                Ok(Some(StreamEvent::Data(Stream::Stdout, _))) => {}
                Ok(Some(StreamEvent::Closed(_))) | Err(_) => {
                    return Err(format!("{} could not start `docker system dial-stdio` as {user}", self.peer))
                }
                Ok(None) => return Err(format!("{} did not start `docker system dial-stdio` in time", self.peer)),
            }
        }
    }
}

/// One bridged connection: a client of the local socket and its channel.
struct Link {
    sock: UnixStream,
    channel: Channel,
    to_channel: Vec<u8>,
    to_sock: VecDeque<u8>,
    sock_eof: bool,
    eof_sent: bool,
    channel_eof: bool,
    sock_shut: bool,
    /// The last channel write would block: libssh2 holds a partly sent packet, and refuses every
    /// other packet on the session until the same write is repeated.
    write_blocked: bool,
}

impl Link {
    fn new(sock: UnixStream, channel: Channel) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        Ok(Link {
            sock,
            channel,
            to_channel: Vec::new(),
            to_sock: VecDeque::new(),
            sock_eof: false,
            eof_sent: false,
            channel_eof: false,
            sock_shut: false,
            write_blocked: false,
        })
    }

    /// Moves what can be moved now; returns whether anything moved. An error ends the link.
    fn step(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut moved = false;
        if self.to_channel.is_empty() && !self.sock_eof {
            match self.sock.read(buf) {
                Ok(0) => {
                    self.sock_eof = true;
                    moved = true;
                }
                Ok(n) => {
                    self.to_channel.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if !self.to_channel.is_empty() {
            match self.channel.write(&self.to_channel) {
                Ok(n) => {
                    self.to_channel.drain(..n);
                    self.write_blocked = false;
                    moved |= n > 0;
                }
                Err(e) if retry(&e) => self.write_blocked = true,
                Err(e) => return Err(e),
            }
        }
        if self.sock_eof && self.to_channel.is_empty() && !self.eof_sent {
            match self.channel.send_eof().map_err(io::Error::from) {
                Ok(()) => {
                    self.eof_sent = true;
                    moved = true;
                }
                Err(e) if retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if self.to_sock.len() < CHUNK && !self.channel_eof {
            match self.channel.read(buf) {
                Ok(0) if self.channel.eof() => {
                    self.channel_eof = true;
                    moved = true;
                }
                Ok(0) => {}
                Ok(n) => {
                    self.to_sock.extend(&buf[..n]);
                    moved = true;
                }
                Err(e) if retry(&e) => {}
                Err(e) => return Err(e),
            }
            // dial-stdio's stderr: read and drop it so its window never fills.
            match self.channel.stderr().read(buf) {
                Ok(n) => moved |= n > 0,
                Err(e) if retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
        while !self.to_sock.is_empty() {
            let (front, _) = self.to_sock.as_slices();
            match self.sock.write(front) {
                Ok(n) => {
                    self.to_sock.drain(..n);
                    moved |= n > 0;
                    if n == 0 {
                        break;
                    }
                }
                Err(e) if retry(&e) => break,
                Err(e) => return Err(e),
            }
        }
        if self.channel_eof && self.to_sock.is_empty() && !self.sock_shut {
            let _ = self.sock.shutdown(std::net::Shutdown::Write);
            self.sock_shut = true;
            moved = true;
        }
        Ok(moved)
    }

    /// Both directions have ended.
    fn done(&self) -> bool {
        self.sock_shut && self.eof_sent
    }
}

/// The bridge's thread: accepts local clients, pairs each with a channel, and moves bytes.
struct Pump {
    opener: Opener,
    listener: UnixListener,
    links: Vec<Link>,
    /// A channel opened ahead for the next client (the first one checked the route).
    spare: Option<Channel>,
    /// Opening the spare failed: wait for a client before trying again.
    spare_failed: bool,
    /// Dropped links whose last channel write is still partly sent, with a deadline.
    draining: Vec<(Link, Instant)>,
    stop: Arc<AtomicBool>,
}

impl Pump {
    fn run(&mut self) {
        let mut buf = vec![0u8; CHUNK];
        let mut next_keepalive = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let mut moved = self.accept();
            let mut i = 0;
            while i < self.links.len() {
                match self.links[i].step(&mut buf) {
                    Ok(m) if !self.links[i].done() => {
                        moved |= m;
                        i += 1;
                    }
                    // Finished or broken: dropping the link closes both ends, once a partly sent
                    // packet of it is out (else the session would refuse every other packet).
                    _ => {
                        let link = self.links.swap_remove(i);
                        if link.write_blocked {
                            self.draining.push((link, Instant::now() + OPEN_TIMEOUT));
                        }
                        moved = true;
                    }
                }
            }
            self.drain_blocked_writes();
            if moved {
                continue;
            }
            // Idle: open the next client's channel now, so that a new connection (each raw API
            // request is one; through become each channel is a sudo handshake) finds it ready.
            if self.spare.is_none() && !self.spare_failed {
                match self.opener.open() {
                    Ok(c) => self.spare = Some(c),
                    Err(_) => self.spare_failed = true,
                }
                continue;
            }
            if Instant::now() >= next_keepalive {
                // A keepalive that would block is retried soon: its packet is partly sent.
                next_keepalive = match self.opener.session.keepalive_send() {
                    Ok(secs) => Instant::now() + Duration::from_secs(secs.max(1).into()),
                    Err(_) => Instant::now() + Duration::from_millis(50),
                };
            }
            self.wait();
        }
        self.opener.session.set_blocking(true);
        self.opener.session.set_timeout(1000);
        self.links.clear();
        self.draining.clear();
        self.spare = None;
        let _ = self.opener.session.disconnect(None, "orc: done", None);
    }

    /// Repeats the blocked write of each dropped link until its packet is out (or its time is up).
    fn drain_blocked_writes(&mut self) {
        let now = Instant::now();
        self.draining.retain_mut(|(link, until)| {
            if now >= *until {
                return false;
            }
            matches!(link.channel.write(&link.to_channel), Err(e) if retry(&e))
        });
    }

    /// Takes every waiting client; returns whether there was one.
    fn accept(&mut self) -> bool {
        let mut any = false;
        loop {
            let sock = match self.listener.accept() {
                Ok((sock, _)) => sock,
                Err(_) => return any,
            };
            any = true;
            // A spare the daemon closed meanwhile is no use.
            self.spare_failed = false;
            let channel = match self.spare.take().filter(|c| !c.eof()) {
                Some(c) => Ok(c),
                None => self.opener.open(),
            };
            match channel {
                Ok(channel) => {
                    if let Ok(link) = Link::new(sock, channel) {
                        self.links.push(link);
                    }
                }
                // The client sees its connection closed; bollard reports that as the request's error.
                Err(why) => tracing::warn!(peer = %self.opener.peer, "docker bridge: {why}"),
            }
        }
    }

    /// Sleeps until the session's socket, the listener or a client is ready, or `IDLE_POLL`.
    /// The session's socket is watched for reading only while some link reads its channel.
    fn wait(&self) {
        let reading = self.links.iter().any(|l| !l.channel_eof && l.to_sock.len() < CHUNK);
        let mut fds = vec![
            libc::pollfd { fd: self.opener.fd, events: session_events(&self.opener.session, reading), revents: 0 },
            libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        for link in &self.links {
            let mut events = 0;
            if link.to_channel.is_empty() && !link.sock_eof {
                events |= libc::POLLIN;
            }
            if !link.to_sock.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd { fd: link.sock.as_raw_fd(), events, revents: 0 });
        }
        // SAFETY: `fds` is a valid, initialised array of pollfd for the length passed.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, IDLE_POLL.as_millis() as i32) };
    }
}

/// Whether an I/O error only means "not now".
fn retry(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
