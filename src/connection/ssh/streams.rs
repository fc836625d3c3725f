//! [`ShellStreams`] over an SSH channel: the persistent shell's stdin, stdout and stderr (extended
//! data stream 1) on one ssh2 channel, read without threads.
//!
//! An ssh2 session must only be used by one thread at a time, so instead of reader threads the
//! session is switched to non-blocking mode and one loop drains both streams, waiting on the
//! socket with poll(2) when neither has data. Writes interleave with reads the same way, so a
//! command that fills its output window while we are still sending its stdin never deadlocks.
//! The loop also sends SSH keepalives while it waits.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::io::RawFd;
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, Channel, Session};

use crate::connection::framing::{ShellStreams, Stream, StreamEvent};

/// Size of one read from a stream.
const CHUNK: usize = 32 * 1024;

/// Seconds between keepalive messages while waiting for output.
pub const KEEPALIVE_SECS: u32 = 15;

/// The shell channel of an SSH session, with events read but not yet delivered.
pub struct ChannelStreams {
    session: Session,
    channel: Channel,
    fd: RawFd,
    /// `user@address` of the other end, for messages.
    peer: String,
    pending: VecDeque<StreamEvent>,
    closed: [bool; 2],
    next_keepalive: Instant,
}

impl ChannelStreams {
    /// Wraps `channel` (already running the shell) of `session`, whose socket is `fd`; `peer`
    /// names the other end in messages.
    pub fn new(session: Session, channel: Channel, fd: RawFd, peer: &str) -> Self {
        ChannelStreams {
            session,
            channel,
            fd,
            peer: peer.to_string(),
            pending: VecDeque::new(),
            closed: [false; 2],
            next_keepalive: Instant::now() + Duration::from_secs(KEEPALIVE_SECS.into()),
        }
    }

    /// The channel itself, once the streams are no longer read as a shell (the Docker bridge
    /// carries raw bytes on it after a become handshake).
    pub fn into_channel(self) -> Channel {
        self.channel
    }

    /// Reads everything available now from both streams into `pending` (non-blocking).
    fn drain(&mut self) -> io::Result<()> {
        self.session.set_blocking(false);
        let mut buf = vec![0u8; CHUNK];
        for (i, which) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            while !self.closed[i] {
                let got = match which {
                    Stream::Stdout => self.channel.read(&mut buf),
                    Stream::Stderr => self.channel.stderr().read(&mut buf),
                };
                match got {
                    Ok(0) if self.channel.eof() => {
                        self.closed[i] = true;
                        self.pending.push_back(StreamEvent::Closed(which));
                    }
                    Ok(0) => break,
                    Ok(n) => self.pending.push_back(StreamEvent::Data(which, buf[..n].to_vec())),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.dropped(e)),
                }
            }
        }
        Ok(())
    }

    /// A transport error, saying that the SSH connection itself failed.
    fn dropped(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("the SSH connection to {} dropped ({e})", self.peer))
    }

    /// Sends a keepalive when one is due; returns how long until the next one.
    fn keepalive(&mut self) -> io::Result<Duration> {
        let now = Instant::now();
        if now >= self.next_keepalive {
            match self.session.keepalive_send() {
                Ok(secs) => {
                    self.next_keepalive = now + Duration::from_secs(secs.max(1).into());
                }
                Err(e) => {
                    let e = io::Error::from(e);
                    if e.kind() != io::ErrorKind::WouldBlock {
                        return Err(e);
                    }
                    self.next_keepalive = now + Duration::from_secs(1);
                }
            }
        }
        Ok(self.next_keepalive.saturating_duration_since(Instant::now()))
    }
}

/// The poll(2) events to wait for on a non-blocking session's socket: the directions libssh2 is
/// blocked on, and reading when `reading` (some caller will read a channel once data arrives).
/// Waiting to read when nobody reads would wake at once, forever, on data nobody consumes.
pub fn session_events(session: &Session, reading: bool) -> i16 {
    let blocked = match session.block_directions() {
        BlockDirections::Outbound => libc::POLLOUT,
        BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
        BlockDirections::Inbound => libc::POLLIN,
        BlockDirections::None => 0,
    };
    if reading {
        blocked | libc::POLLIN
    } else {
        blocked
    }
}

/// Waits until `fd` is ready in the directions libssh2 is blocked on (reading when unsure), or
/// `timeout` passed, or (with `extra`) another descriptor is ready.
pub fn wait_socket(session: &Session, fd: RawFd, extra: Option<(RawFd, i16)>, timeout: Duration) -> io::Result<()> {
    let events = session_events(session, true);
    let mut fds = vec![libc::pollfd { fd, events, revents: 0 }];
    if let Some((fd, events)) = extra {
        fds.push(libc::pollfd { fd, events, revents: 0 });
    }
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid, initialised array of pollfd for the length passed.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

impl ShellStreams for ChannelStreams {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.session.set_blocking(false);
        let mut off = 0;
        while off < data.len() {
            match self.channel.write(&data[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The window is full: keep reading output so the shell can go on.
                    self.drain()?;
                    wait_socket(&self.session, self.fd, None, Duration::from_millis(200))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.dropped(e)),
            }
        }
        // Not `Channel::flush`: in libssh2 that discards unread incoming data.
        Ok(())
    }

    fn recv(&mut self, deadline: Option<Instant>) -> io::Result<Option<StreamEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.closed.iter().all(|&c| c) {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the shell channel is closed"));
            }
            self.drain()?;
            if !self.pending.is_empty() {
                continue;
            }
            let now = Instant::now();
            let left = match deadline {
                Some(d) if d <= now => return Ok(None),
                Some(d) => d - now,
                None => Duration::MAX,
            };
            let until_keepalive = self.keepalive()?;
            let wait = left.min(until_keepalive).max(Duration::from_millis(1));
            wait_socket(&self.session, self.fd, None, wait)?;
        }
    }

    fn close(&mut self) {
        self.session.set_blocking(false);
        // Best effort: the shell also ends when the session goes away.
        let _ = self.channel.send_eof();
    }
}
