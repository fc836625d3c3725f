//! The become route of a stream to a Unix socket: when the login user may not open the socket
//! but the become user may (`deploy` logging in, `become: true`, a root-owned socket), sshd cannot
//! open it for us (`direct-streamlocal` runs with the login user's rights). Then a channel starts
//! the become shell (sudo or su, with the password handshake of the persistent shell) and `exec`s
//! a stdio-to-socket relay that is already on the host; nothing is installed:
//!
//! 1. `perl` with IO::Socket::UNIX: perl-base is Essential on Debian and Ubuntu, so every such
//!    host has it. The relay says whether it connected before any byte of the stream flows, so a
//!    refused connection is one clear line.
//! 2. `docker system dial-stdio`, the Docker CLI's own relay (what `docker -H ssh://` uses), for
//!    hosts with Docker but without perl.
//!
//! With neither, the stream fails saying so and what else would work (giving the login user
//! access to the socket). socat, nc, python are never used.

use std::time::Instant;

use orc_modules::shell_quote::quote;
use ssh2::{Channel, Session};

use super::streams::ChannelStreams;
use super::sudo::BecomePlan;
use crate::connection::framing::{ShellStreams, Stream, StreamEvent};
use crate::connection::options::Secret;
use crate::connection::sudo_opts::SudoOptions;
use crate::connection::BecomeMethod;

/// How to become the user that may open the socket.
#[derive(Clone)]
pub struct BecomeRoute {
    /// sudo or su.
    pub method: BecomeMethod,
    /// The user to become (empty: the become command names none, root).
    pub user: String,
    /// sudo's options (`become_exe`, `become_flags`, `sudo_chdir`), as the shell was started.
    pub sudo: SudoOptions,
    /// Its password, when one is needed.
    pub password: Option<Secret>,
    /// `user@host` whose password is asked, for messages.
    pub asked: String,
}

/// The perl relay: connects to `$ARGV[0]`, reports `$ARGV[1] OK` (or `FAIL reason`) on stderr,
/// then copies stdin to the socket and the socket to stdout until the socket closes. The end of
/// stdin half-closes the socket (HAProxy's runtime API answers then).
const PERL_RELAY: &str = r#"use IO::Socket::UNIX; use IO::Select;
my ($path, $mark) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path);
if (!$s) { print STDERR "$mark FAIL $!\n"; exit 1; }
print STDERR "$mark OK\n";
binmode STDIN; binmode STDOUT; binmode $s;
my $sel = IO::Select->new(\*STDIN, $s);
while (1) {
  for my $fh ($sel->can_read) {
    my $n = sysread($fh, my $buf, 65536);
    if (!$n) {
      exit 0 if fileno($fh) == fileno($s);
      $sel->remove(\*STDIN); shutdown($s, 1); next;
    }
    my $out = fileno($fh) == fileno($s) ? \*STDOUT : $s;
    my $off = 0;
    while ($off < $n) { my $w = syswrite($out, $buf, $n - $off, $off); exit 1 unless defined $w; $off += $w; }
  }
}
"#;

/// The line the become shell runs: the first relay found, replacing the shell.
fn relay_line(path: &str, mark: &str) -> String {
    let p = quote(path);
    let m = quote(mark);
    format!(
        "if command -v perl >/dev/null 2>&1; then exec perl -e {script} {p} {m}; fi; \
         if command -v docker >/dev/null 2>&1; then echo {m} OK >&2; exec docker -H {url} system dial-stdio; fi; \
         echo {m} NORELAY >&2; exit 127\n",
        script = quote(PERL_RELAY),
        url = quote(&format!("unix://{path}")),
    )
}

/// Opens a channel of `session` (blocking mode, whose socket is `fd`) that reaches the Unix socket
/// `path` as `route`'s user. `peer` (`user@host`) and `host` name the other end in messages.
pub fn open(
    session: &Session,
    fd: std::os::unix::io::RawFd,
    route: &BecomeRoute,
    path: &str,
    peer: &str,
    host: &str,
    deadline: Instant,
) -> Result<Channel, String> {
    let mut channel = session.channel_session().map_err(|e| format!("ssh: cannot open a channel: {}", e.message()))?;
    let plan = BecomePlan::new(route.method, &route.user, route.password.is_some(), &route.sudo);
    channel.exec(&plan.command).map_err(|e| format!("ssh: cannot start {}: {}", plan.command, e.message()))?;
    let mut streams = ChannelStreams::new(session.clone(), channel, fd, peer);
    plan.handshake(&mut streams, route.password.as_ref(), &route.asked, deadline).map_err(|e| e.to_string())?;
    // The shell reads this one line and becomes the relay, which reports before any byte of the
    // stream is sent: the shell cannot have read anything that follows.
    let mark = format!("__orc_relay_{:016x}__", fastrand::u64(..));
    streams.send(relay_line(path, &mark).as_bytes()).map_err(|e| format!("ssh: {peer}: {e}"))?;
    let user = &route.user;
    let mut err = Vec::new();
    loop {
        match streams.recv(Some(deadline)) {
            Ok(Some(StreamEvent::Data(Stream::Stderr, bytes))) => {
                err.extend_from_slice(&bytes);
                let text = String::from_utf8_lossy(&err);
                let Some(at) = text.find(&mark) else { continue };
                let rest = &text[at + mark.len()..];
                let Some(end) = rest.find('\n') else { continue };
                let word = rest[..end].trim();
                return match word {
                    "OK" => Ok(streams.into_channel()),
                    "NORELAY" => Err(format!(
                        "{host}: cannot open {path} as {user}: reaching a socket through become needs perl or the \
                         docker command on the host, and it has neither (or let the login user use the socket)"
                    )),
                    other => {
                        let why = other.strip_prefix("FAIL").unwrap_or(other).trim();
                        Err(format!("{host}: {user} cannot connect to {path}: {}", why.to_lowercase()))
                    }
                };
            }
            Ok(Some(StreamEvent::Data(Stream::Stdout, _))) => {}
            Ok(Some(StreamEvent::Closed(_))) | Err(_) => {
                return Err(format!("{host}: the relay to {path} as {user} ended before it connected"))
            }
            Ok(None) => return Err(format!("{host}: the relay to {path} as {user} did not start in time")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relay runs here, through sh, against a local socket: what the host's shell would do.
    #[test]
    fn the_perl_relay_carries_bytes_both_ways_and_reports_failures() {
        use std::io::{Read, Write};
        use std::process::{Command, Stdio};
        if Command::new("perl").arg("-e1").status().map(|s| !s.success()).unwrap_or(true) {
            eprintln!("SKIPPED: no perl on this machine");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("api.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        // A runtime-API-like server: reads until EOF, answers, closes.
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut req = String::new();
            c.read_to_string(&mut req).unwrap();
            c.write_all(format!("you said: {req}").as_bytes()).unwrap();
        });
        let line = relay_line(&sock.display().to_string(), "M");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(line.trim_end())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"show info\n").unwrap();
        let out = child.wait_with_output().unwrap();
        server.join().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "you said: show info\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "M OK\n");

        let missing = relay_line("/nonexistent/x.sock", "M");
        let out = Command::new("sh").arg("-c").arg(missing.trim_end()).stdin(Stdio::null()).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "M FAIL No such file or directory\n");

        // A host with neither perl nor docker: said so, nothing else run.
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(missing.trim_end())
            .env("PATH", "/nonexistent")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "M NORELAY\n");
        assert_eq!(out.status.code(), Some(127));
    }
}
