//! The bridge that carries streams to a host's sockets over SSH (docs/architecture.md, "Streams
//! to a host's sockets").
//!
//! A bridge owns a DEDICATED SSH session to the host (the main session stays with the persistent
//! shell), used by one pump thread only, in non-blocking mode, which multiplexes all its
//! channels. Each stream is one channel:
//! - a TCP address: `direct-tcpip` (what `ssh -L port:addr:port` does), sshd connecting from the
//!   host;
//! - a Unix socket: `direct-streamlocal` (what `ssh -L local.sock:/run/x.sock` does), with the
//!   login user's rights; or, when the run becomes another user, a stdio relay started through the
//!   become shell ([`super::relay`]) with that user's rights.
//!
//! Callers on any thread ask the pump through a request queue (and a wake-up socket): `connect`
//! gives the local end of a socket pair whose other end the pump ties to a new channel; `listen`
//! gives a Unix socket in a private 0700 directory where each connection accepted is a new
//! channel (bollard wants a socket path). Nothing listens on the host, nothing is installed there.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use orc_modules::stream::StreamTarget;
use ssh2::{Channel, Session};

use super::relay::{self, BecomeRoute};
use super::streams::{session_events, KEEPALIVE_SECS};

/// Size of one copy buffer.
const CHUNK: usize = 32 * 1024;
/// How long opening one channel (and a become handshake) may take.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the pump sleeps at most when nothing happens (it also notices a stop this often).
const IDLE_POLL: Duration = Duration::from_millis(100);

/// What a caller asks the pump for.
enum Ask {
    /// A new stream: the pump keeps one end of a socket pair and gives back the other.
    Connect(StreamTarget),
    /// A local socket path where each connection is a new stream to the target.
    Listen(StreamTarget),
}

/// The pump's answer.
enum Answer {
    Stream(UnixStream),
    Path(PathBuf),
}

/// One request with the queue its answer goes to.
struct Request {
    ask: Ask,
    reply: mpsc::Sender<Result<Answer, String>>,
}

/// A running bridge: the handle callers use to reach its pump thread.
pub struct StreamBridge {
    requests: mpsc::Sender<Request>,
    /// Written to wake the pump when a request is queued.
    wake: UnixStream,
    /// The pump ended (its session broke): a new bridge is needed.
    dead: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    dir: PathBuf,
}

impl StreamBridge {
    /// Starts the pump on `session` (a fresh, authenticated session whose socket is `fd`).
    /// `route` is how Unix sockets are reached (`None`: direct-streamlocal as the login user);
    /// `peer` (`user@host`) and `host` name the other end in messages.
    pub fn start(
        session: Session,
        fd: RawFd,
        route: Option<BecomeRoute>,
        peer: &str,
        host: &str,
    ) -> Result<Self, String> {
        // Keepalives that ask for no reply: an idle bridge reads nothing from its session.
        session.set_keepalive(false, KEEPALIVE_SECS);
        let dir = private_dir().map_err(|e| format!("cannot create a private directory for the stream bridge: {e}"))?;
        let (wake, wake_rx) =
            UnixStream::pair().map_err(|e| format!("cannot create the stream bridge's wake-up socket: {e}"))?;
        wake_rx
            .set_nonblocking(true)
            .and_then(|()| wake.set_nonblocking(true))
            .map_err(|e| format!("cannot set up the stream bridge: {e}"))?;
        let (requests, queue) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let dead = Arc::new(AtomicBool::new(false));
        let opener = Opener { session, fd, route, peer: peer.to_string(), host: host.to_string() };
        let mut pump = Pump {
            opener,
            dir: dir.clone(),
            queue,
            wake: wake_rx,
            listeners: Vec::new(),
            links: Vec::new(),
            draining: Vec::new(),
            stop: stop.clone(),
            dead: dead.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("orc-stream-bridge".into())
            .spawn(move || pump.run())
            .map_err(|e| format!("cannot start the stream bridge thread: {e}"))?;
        Ok(StreamBridge { requests, wake, dead, stop, thread: Some(thread), dir })
    }

    /// Whether the pump has ended (its session broke): requests would fail; start a new bridge.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// A new stream to `target`: the local end of a socket pair tied to a new channel.
    pub fn connect(&self, target: &StreamTarget) -> Result<UnixStream, String> {
        match self.ask(Ask::Connect(target.clone()))? {
            Answer::Stream(s) => Ok(s),
            Answer::Path(_) => Err("the stream bridge answered with a path".to_string()),
        }
    }

    /// A local socket where each connection is a new stream to `target` (one per target, kept
    /// while the bridge lives). The first channel is opened before this returns, so a route that
    /// cannot be opened is reported here.
    pub fn listen(&self, target: &StreamTarget) -> Result<PathBuf, String> {
        match self.ask(Ask::Listen(target.clone()))? {
            Answer::Path(p) => Ok(p),
            Answer::Stream(_) => Err("the stream bridge answered with a stream".to_string()),
        }
    }

    fn ask(&self, ask: Ask) -> Result<Answer, String> {
        let gone = || "the SSH session of the stream bridge has ended".to_string();
        let (reply, answer) = mpsc::channel();
        self.requests.send(Request { ask, reply }).map_err(|_| gone())?;
        let _ = (&self.wake).write(&[1]);
        // Opening may take a become handshake (OPEN_TIMEOUT); the pump always answers, or ends.
        answer.recv_timeout(OPEN_TIMEOUT * 2).map_err(|_| gone())?
    }
}

impl Drop for StreamBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = (&self.wake).write(&[1]);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new directory only this user can enter, for the bridge's listening sockets.
fn private_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let dir = base.join(format!("orc-streams-{}-{:012x}", std::process::id(), fastrand::u64(..) >> 16));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free directory name"))
}

/// Opens channels on the bridge's session.
struct Opener {
    session: Session,
    fd: RawFd,
    route: Option<BecomeRoute>,
    peer: String,
    host: String,
}

/// Why opening a channel failed, and whether the session itself is gone.
struct OpenError {
    message: String,
    session_lost: bool,
}

impl Opener {
    /// Opens one channel to `target`; the session is left non-blocking.
    fn open(&self, target: &StreamTarget) -> Result<Channel, OpenError> {
        self.session.set_blocking(true);
        self.session.set_timeout(OPEN_TIMEOUT.as_millis() as u32);
        let result = match (target, &self.route) {
            (StreamTarget::Tcp { host, port }, _) => {
                self.session.channel_direct_tcpip(host, *port, None).map_err(|e| self.refused(target, &e))
            }
            (StreamTarget::Unix(path), None) => {
                self.session.channel_direct_streamlocal(path, None).map_err(|e| self.refused(target, &e))
            }
            (StreamTarget::Unix(path), Some(route)) => {
                let deadline = Instant::now() + OPEN_TIMEOUT;
                relay::open(&self.session, self.fd, route, path, &self.peer, &self.host, deadline)
                    .map_err(|message| OpenError { message, session_lost: false })
            }
        };
        self.session.set_blocking(false);
        result
    }

    /// sshd's refusal of a channel, in words that say what to check.
    fn refused(&self, target: &StreamTarget, e: &ssh2::Error) -> OpenError {
        let host = &self.host;
        let why = e.message();
        let lost = matches!(e.code(), ssh2::ErrorCode::Session(-7 | -13 | -43 | -9 | -30));
        let message = if why.contains("prohibited") {
            format!(
                "{host}: {} to {target} (AllowTcpForwarding, AllowStreamLocalForwarding or DisableForwarding in \
                 sshd_config)",
                orc_modules::stream::FORWARDING_FORBIDDEN
            )
        } else if lost {
            format!("{host}: the SSH session for streams was lost ({why})")
        } else {
            match target {
                StreamTarget::Tcp { .. } => {
                    format!("{host}: nothing accepts connections at {target} as seen from the host (sshd: {why})")
                }
                StreamTarget::Unix(_) => format!("{host}: sshd cannot connect to {target} as {} ({why})", self.peer),
            }
        };
        OpenError { message, session_lost: lost }
    }
}

/// One bridged stream: the local socket and its channel.
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

    /// Repeats a blocked write (libssh2 wants the same bytes again); returns whether the packet
    /// is still partly sent.
    fn flush_blocked(&mut self, session: &Session) -> io::Result<bool> {
        if !self.write_blocked {
            return Ok(false);
        }
        match self.channel.write(&self.to_channel) {
            Ok(n) => {
                self.to_channel.drain(..n);
                self.write_blocked = false;
            }
            Err(e) if retry(&e) => self.write_blocked = sending(session),
            Err(e) => return Err(e),
        }
        Ok(self.write_blocked)
    }

    /// Moves what can be moved now; returns whether anything moved. An error ends the link.
    fn step(&mut self, buf: &mut [u8], session: &Session) -> io::Result<bool> {
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
                Err(e) if retry(&e) => {
                    // Out of window (nothing sent yet) or a packet partly sent: only the second
                    // holds the session. Nothing else may go on it until that packet is out.
                    self.write_blocked = sending(session);
                    if self.write_blocked {
                        return Ok(moved);
                    }
                }
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
            // A relay's stderr: read and drop it so its window never fills.
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

/// A local listening socket for one target, with a channel opened ahead for its next client.
struct Listener {
    target: StreamTarget,
    listener: UnixListener,
    path: PathBuf,
    /// A channel opened ahead for the next client (through become each one is a handshake).
    spare: Option<Channel>,
    /// Opening the spare failed: wait for a client before trying again.
    spare_failed: bool,
}

/// The bridge's thread: answers requests, accepts local clients, pairs each with a channel, and
/// moves bytes.
struct Pump {
    opener: Opener,
    dir: PathBuf,
    queue: mpsc::Receiver<Request>,
    wake: UnixStream,
    listeners: Vec<Listener>,
    links: Vec<Link>,
    /// Dropped links whose last channel write is still partly sent, with a deadline.
    draining: Vec<(Link, Instant)>,
    stop: Arc<AtomicBool>,
    dead: Arc<AtomicBool>,
}

impl Pump {
    fn run(&mut self) {
        let mut buf = vec![0u8; CHUNK];
        let mut next_keepalive = Instant::now();
        while !self.stop.load(Ordering::SeqCst) && !self.dead.load(Ordering::SeqCst) {
            if self.packet_pending() {
                // libssh2 refuses every other packet of the session (a channel open, a window
                // adjust of another link's read, a keepalive) until this one is out: doing any
                // of them broke the link that was uploading (a Docker image load failed with
                // hyper's SendRequest now and then).
                self.wait();
                continue;
            }
            let mut moved = self.serve_requests();
            moved |= self.accept();
            let mut i = 0;
            while i < self.links.len() {
                let step = self.links[i].step(&mut buf, &self.opener.session);
                if let Err(e) = &step {
                    tracing::debug!(peer = %self.opener.peer, "stream bridge: a stream ended: {e}");
                }
                match step {
                    Ok(m) if !self.links[i].done() => {
                        moved |= m;
                        if self.links[i].write_blocked {
                            break;
                        }
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
            if moved || self.links.iter().any(|l| l.write_blocked) {
                continue;
            }
            // Idle: open each listener's next channel now, so that a new client (each raw API
            // request is one) finds it ready.
            if let Some(l) = self.listeners.iter().position(|l| l.spare.is_none() && !l.spare_failed) {
                let target = self.listeners[l].target.clone();
                match self.open(&target) {
                    Ok(c) => self.listeners[l].spare = Some(c),
                    Err(_) => self.listeners[l].spare_failed = true,
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
        self.dead.store(true, Ordering::SeqCst);
        // Answer what is still queued, so no caller waits for nothing.
        while let Ok(req) = self.queue.try_recv() {
            let _ = req.reply.send(Err(format!("{}: the SSH session for streams has ended", self.opener.host)));
        }
        self.opener.session.set_blocking(true);
        self.opener.session.set_timeout(1000);
        self.links.clear();
        self.draining.clear();
        self.listeners.clear();
        let _ = self.opener.session.disconnect(None, "orc: done", None);
    }

    /// Opens a channel; a lost session ends the pump (the next request starts a new bridge).
    fn open(&mut self, target: &StreamTarget) -> Result<Channel, String> {
        self.opener.open(target).map_err(|e| {
            if e.session_lost {
                self.dead.store(true, Ordering::SeqCst);
            }
            e.message
        })
    }

    /// Answers every queued request; returns whether there was one.
    fn serve_requests(&mut self) -> bool {
        let mut scratch = [0u8; 64];
        while matches!((&self.wake).read(&mut scratch), Ok(n) if n > 0) {}
        let mut any = false;
        while let Ok(req) = self.queue.try_recv() {
            any = true;
            let answer = match req.ask {
                Ask::Connect(target) => self.connect(&target).map(Answer::Stream),
                Ask::Listen(target) => self.listen(&target).map(Answer::Path),
            };
            let _ = req.reply.send(answer);
        }
        any
    }

    fn connect(&mut self, target: &StreamTarget) -> Result<UnixStream, String> {
        let channel = self.open(target)?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("cannot create a local socket pair: {e}"))?;
        let link = Link::new(ours, channel).map_err(|e| format!("cannot set up a stream: {e}"))?;
        self.links.push(link);
        Ok(theirs)
    }

    fn listen(&mut self, target: &StreamTarget) -> Result<PathBuf, String> {
        if let Some(l) = self.listeners.iter().find(|l| &l.target == target) {
            return Ok(l.path.clone());
        }
        // The first channel proves the route before anyone is told to connect.
        let first = self.open(target)?;
        let path = self.dir.join(format!("{}.sock", self.listeners.len()));
        let listener = UnixListener::bind(&path)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
        self.listeners.push(Listener {
            target: target.clone(),
            listener,
            path: path.clone(),
            spare: Some(first),
            spare_failed: false,
        });
        Ok(path)
    }

    /// Repeats the partly sent write of a link, if one is; returns whether one still is.
    fn packet_pending(&mut self) -> bool {
        self.drain_blocked_writes();
        if !self.draining.is_empty() {
            return true;
        }
        let Some(i) = self.links.iter().position(|l| l.write_blocked) else { return false };
        match self.links[i].flush_blocked(&self.opener.session) {
            Ok(pending) => pending,
            Err(e) => {
                tracing::debug!(peer = %self.opener.peer, "stream bridge: a stream ended: {e}");
                self.links.swap_remove(i);
                false
            }
        }
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

    /// Takes every waiting client of every listener; returns whether there was one.
    fn accept(&mut self) -> bool {
        let mut any = false;
        for i in 0..self.listeners.len() {
            loop {
                let sock = match self.listeners[i].listener.accept() {
                    Ok((sock, _)) => sock,
                    Err(_) => break,
                };
                any = true;
                self.listeners[i].spare_failed = false;
                // A spare the far end closed meanwhile is no use.
                let channel = match self.listeners[i].spare.take().filter(|c| !c.eof()) {
                    Some(c) => Ok(c),
                    None => {
                        let target = self.listeners[i].target.clone();
                        self.open(&target)
                    }
                };
                match channel {
                    Ok(channel) => {
                        if let Ok(link) = Link::new(sock, channel) {
                            self.links.push(link);
                        }
                    }
                    // The client sees its connection closed; bollard reports that as the request's error.
                    Err(why) => tracing::warn!(peer = %self.opener.peer, "stream bridge: {why}"),
                }
            }
        }
        any
    }

    /// Sleeps until the session's socket, a request, a listener or a client is ready, or
    /// `IDLE_POLL`. The session's socket is watched for reading only while some link reads its
    /// channel.
    fn wait(&self) {
        let reading = self.links.iter().any(|l| !l.channel_eof && l.to_sock.len() < CHUNK);
        let mut fds = vec![
            libc::pollfd { fd: self.opener.fd, events: session_events(&self.opener.session, reading), revents: 0 },
            libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        for l in &self.listeners {
            fds.push(libc::pollfd { fd: l.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
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

/// Whether libssh2 holds a partly sent packet (its last send would block on the socket).
fn sending(session: &Session) -> bool {
    matches!(session.block_directions(), ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both)
}

/// Whether an I/O error only means "not now".
fn retry(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
