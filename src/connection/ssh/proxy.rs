//! ProxyJump: reaching a host through a bastion's SSH connection.
//!
//! The bastion's session opens a `direct-tcpip` channel to the target; a pump thread, which owns
//! the bastion session (so only it ever uses it), copies bytes between that channel and one end of
//! a local socket pair. The target's own ssh2 session then runs over the other end as if it were a
//! TCP socket. When the target session closes its end, the pump closes the channel and ends the
//! bastion connection.

use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use orc_modules::ConnError;
use ssh2::{Channel, Session};

use super::streams::{wait_socket, KEEPALIVE_SECS};

/// Size of the copy buffers.
const CHUNK: usize = 32 * 1024;

/// Opens a tunnel to `host:port` over the authenticated `bastion` session (whose socket is
/// `bastion_fd`); returns the local socket to run the target's session over. `via` names the
/// bastion for messages.
pub fn tunnel(bastion: Session, bastion_fd: RawFd, host: &str, port: u16, via: &str) -> Result<UnixStream, ConnError> {
    let channel = bastion.channel_direct_tcpip(host, port, None).map_err(|e| {
        ConnError::Unreachable(format!("ssh: jump host {via} cannot connect to {host}:{port}: {}", e.message()))
    })?;
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| ConnError::Unreachable(format!("ssh: cannot create a local socket pair: {e}")))?;
    theirs.set_nonblocking(true).map_err(|e| ConnError::Unreachable(format!("ssh: cannot set up the tunnel: {e}")))?;
    std::thread::Builder::new()
        .name("orc-ssh-jump".into())
        .spawn(move || {
            // Errors end the tunnel; the target session then reports the connection as lost.
            let _ = pump(&bastion, channel, theirs, bastion_fd);
            let _ = bastion.disconnect(None, "orc: tunnel closed", None);
        })
        .map_err(|e| ConnError::Unreachable(format!("ssh: cannot start the tunnel thread: {e}")))?;
    Ok(ours)
}

/// Copies bytes both ways until either side closes.
fn pump(bastion: &Session, mut channel: Channel, mut sock: UnixStream, fd: RawFd) -> io::Result<()> {
    bastion.set_blocking(false);
    bastion.set_keepalive(false, KEEPALIVE_SECS);
    let mut to_channel: Vec<u8> = Vec::new();
    let mut to_sock: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut sock_eof = false;
    loop {
        let mut progressed = false;
        // Local socket -> channel.
        if to_channel.is_empty() && !sock_eof {
            match sock.read(&mut buf) {
                Ok(0) => sock_eof = true,
                Ok(n) => {
                    to_channel.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if !to_channel.is_empty() {
            match channel.write(&to_channel) {
                Ok(n) => {
                    to_channel.drain(..n);
                    progressed = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if sock_eof && to_channel.is_empty() {
            // The target session is gone: close the tunnel.
            bastion.set_blocking(true);
            bastion.set_timeout(2000);
            let _ = channel.close();
            return Ok(());
        }
        // Channel -> local socket.
        if to_sock.is_empty() {
            match channel.read(&mut buf) {
                Ok(0) if channel.eof() => return Ok(()),
                Ok(0) => {}
                Ok(n) => {
                    to_sock.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if !to_sock.is_empty() {
            match sock.write(&to_sock) {
                Ok(n) => {
                    to_sock.drain(..n);
                    progressed = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if progressed {
            continue;
        }
        let _ = bastion.keepalive_send();
        let mut events = 0;
        if to_channel.is_empty() && !sock_eof {
            events |= libc::POLLIN;
        }
        if !to_sock.is_empty() {
            events |= libc::POLLOUT;
        }
        wait_socket(bastion, fd, Some((sock.as_raw_fd(), events)), Duration::from_millis(1000))?;
    }
}

/// Whether an I/O error only means "try again later".
fn would_block(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
