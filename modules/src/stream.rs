//! Byte streams to a socket as seen from a managed host: a Unix socket path on the host, or a
//! TCP address the host can reach (its own loopback, its private network).
//!
//! This is the ONE mechanism every module that talks to a daemon on a host goes through (the
//! Docker modules, `haproxy`'s runtime API, `etcd3`'s JSON gateway, the `etcd3` lookup): over SSH
//! it is a channel of a dedicated session (`direct-streamlocal`, `direct-tcpip`, or a stdio relay
//! started through become when only the become user may open the socket), with the local
//! connection a plain socket. Nothing is installed on the host and nothing listens on a new port
//! (docs/architecture.md, "Streams to a host's sockets").

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Words every "sshd refuses to forward" error carries, so that a caller with another way to
/// reach the address (`uri` and `get_url` fall back to curl on the host) can tell it apart.
pub const FORWARDING_FORBIDDEN: &str = "sshd does not allow forwarding";

/// Where a stream goes, as seen from the managed host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamTarget {
    /// A Unix socket at this path on the host (`/run/haproxy/admin.sock`).
    Unix(String),
    /// A TCP address as the host resolves and reaches it (`127.0.0.1:2379`).
    Tcp {
        /// Host name or address, resolved on the managed host.
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl StreamTarget {
    /// A TCP target.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        StreamTarget::Tcp { host: host.into(), port }
    }
}

impl std::fmt::Display for StreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamTarget::Unix(path) => f.write_str(path),
            StreamTarget::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            StreamTarget::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// An open byte stream to a [`StreamTarget`]: over SSH the local end of a bridged channel (a
/// Unix socket pair), with the local connection the socket itself.
#[derive(Debug)]
pub enum HostStream {
    /// A Unix socket (a bridged channel, or a local Unix socket).
    Unix(UnixStream),
    /// A TCP connection made from this machine (local connection, or a host outside the inventory).
    Tcp(TcpStream),
}

impl HostStream {
    /// Connects to `target` from this machine (the local connection, and lookups whose host is
    /// not an inventory host), within `timeout`.
    pub fn connect_here(target: &StreamTarget, timeout: Duration) -> Result<HostStream, String> {
        match target {
            StreamTarget::Unix(path) => UnixStream::connect(path)
                .map(HostStream::Unix)
                .map_err(|e| format!("cannot connect to {path}: {}", os_error(&e))),
            StreamTarget::Tcp { host, port } => {
                use std::net::ToSocketAddrs;
                let addrs: Vec<_> = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| format!("cannot resolve {host}: {}", os_error(&e)))?
                    .collect();
                let mut last = None;
                for addr in &addrs {
                    match TcpStream::connect_timeout(addr, timeout) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            return Ok(HostStream::Tcp(s));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(match last {
                    Some(e) => format!("cannot connect to {target}: {}", os_error(&e)),
                    None => format!("cannot resolve {host}: no address"),
                })
            }
        }
    }

    /// Sets the read time limit (`None`: wait forever).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            HostStream::Unix(s) => s.set_read_timeout(t),
            HostStream::Tcp(s) => s.set_read_timeout(t),
        }
    }

    /// Sets the write time limit (`None`: wait forever).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            HostStream::Unix(s) => s.set_write_timeout(t),
            HostStream::Tcp(s) => s.set_write_timeout(t),
        }
    }

    /// Sets both time limits.
    pub fn set_timeouts(&self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }

    /// Ends the writing half: the far end reads end-of-file (HAProxy's runtime API answers then).
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            HostStream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            HostStream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
        }
    }
}

impl Read for HostStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            HostStream::Unix(s) => s.read(buf),
            HostStream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for HostStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            HostStream::Unix(s) => s.write(buf),
            HostStream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            HostStream::Unix(s) => s.flush(),
            HostStream::Tcp(s) => s.flush(),
        }
    }
}

/// Opens streams to sockets as seen from one host. Shared between threads: over SSH each stream
/// is a channel of a session only the bridge's own thread touches (an ssh2 session must not be
/// used by two threads), so the engine's lookups may open streams while a worker holds the host's
/// connection for a module run.
pub trait StreamOpener: Send + Sync {
    /// Opens one stream to `target`. `Err` is one line for a task's failure message, naming the
    /// host and the target.
    fn open(&self, target: &StreamTarget) -> Result<HostStream, String>;

    /// A Unix socket on this machine where every connection made is a new stream to `target`,
    /// for clients that want a socket path (bollard). Kept until the opener is dropped.
    fn listen(&self, target: &StreamTarget) -> Result<PathBuf, String>;
}

/// An OS error as one lower-case phrase without the errno suffix ("connection refused").
pub fn os_error(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// The opener of the local connection: plain sockets on this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStreams;

impl StreamOpener for LocalStreams {
    fn open(&self, target: &StreamTarget) -> Result<HostStream, String> {
        HostStream::connect_here(target, Duration::from_secs(10))
    }

    fn listen(&self, target: &StreamTarget) -> Result<PathBuf, String> {
        match target {
            StreamTarget::Unix(path) => Ok(PathBuf::from(path)),
            StreamTarget::Tcp { .. } => {
                Err(format!("{target} is a TCP address: connect to it directly, there is no socket path to give"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_print_as_addresses() {
        assert_eq!(StreamTarget::tcp("127.0.0.1", 2379).to_string(), "127.0.0.1:2379");
        assert_eq!(StreamTarget::tcp("::1", 2379).to_string(), "[::1]:2379");
        assert_eq!(StreamTarget::Unix("/run/x.sock".into()).to_string(), "/run/x.sock");
    }

    #[test]
    fn local_streams_are_plain_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut line = [0u8; 5];
            c.read_exact(&mut line).unwrap();
            c.write_all(&line).unwrap();
        });
        let target = StreamTarget::Unix(path.display().to_string());
        let mut s = LocalStreams.open(&target).unwrap();
        s.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        s.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello");
        server.join().unwrap();
        assert_eq!(LocalStreams.listen(&target).unwrap(), path);

        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        assert!(matches!(LocalStreams.open(&StreamTarget::tcp("127.0.0.1", port)), Ok(HostStream::Tcp(_))));
        drop(tcp);
        let err = LocalStreams.open(&StreamTarget::tcp("127.0.0.1", port)).unwrap_err();
        assert_eq!(err, format!("cannot connect to 127.0.0.1:{port}: connection refused"));
        let err = LocalStreams.open(&StreamTarget::Unix("/nonexistent/x.sock".into())).unwrap_err();
        assert_eq!(err, "cannot connect to /nonexistent/x.sock: no such file or directory");
    }
}
