//! The persistent-shell framing protocol: many commands, one long-lived `sh`.
//!
//! Why a persistent shell: opening an SSH connection costs ~250 ms and a new exec channel several
//! ms, while a command typed into an already open shell costs about as much as the command itself
//! (see docs/architecture.md, "Connections"). So every transport starts ONE `sh` per host (and become user) and
//! sends every command through its stdin. This module is the protocol spoken over that shell; it is
//! generic over the byte streams ([`ShellStreams`]) so the local child process, `docker exec` and
//! the SSH channel all reuse it.
//!
//! Each command is sent as one chunk of sh code:
//!
//! ```text
//! ( eval 'CMD' ) </dev/null; printf '%s %d\n' MARKER "$?"; printf '%s\n' MARKER >&2
//! ```
//!
//! or, when the command gets stdin bytes, with `base64 -d <<'DELIM' | ( eval 'CMD' ); ...` followed
//! by the base64 text and the delimiter. Why each part:
//! - The subshell `( ... )` keeps `cd`, `export`, `exit`, `set` and traps of a command from reaching
//!   the persistent shell; `exit 3` only ends the subshell and gives rc 3.
//! - `eval` of a single-quoted string means the persistent shell always parses well-formed code, even
//!   when the command itself has a syntax error (that fails inside the subshell with rc 2).
//! - stdin is redirected, so a command never reads the protocol stream; supplied bytes travel as
//!   base64 (binary-safe, NUL bytes included) and are decoded on the host.
//! - MARKER contains a random per-session nonce (fastrand) and a per-command sequence number, so
//!   no output can forge it by accident. Everything before the marker on stdout is the command's
//!   stdout byte for byte (no newline is added or removed); the number after it is the exit status.
//!   The stderr marker ends the command's stderr the same way, keeping the two streams apart.

use std::io;
use std::time::{Duration, Instant};

use base64::Engine;
use orc_modules::shell_quote::quote;
use orc_modules::{CmdOutput, ConnError};

/// One of the shell's two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The shell's stdout: command output, then the end marker with the exit status.
    Stdout,
    /// The shell's stderr: command errors, then the end marker.
    Stderr,
}

/// Something that happened on the shell's output streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Bytes read from one stream.
    Data(Stream, Vec<u8>),
    /// The stream reached end of file: the shell (or its transport) is gone.
    Closed(Stream),
}

/// The byte streams of a remote `sh`: its stdin to write to, and its stdout and stderr delivered as
/// events. A transport implements this once (reader threads for a child process, one non-blocking
/// loop over an SSH channel's two streams) and gets the whole protocol from [`ShellSession`].
///
/// Implementations must keep reading both output streams while a command runs — also while a long
/// `send` is in progress if they read on the same thread — so a command that fills one stream never
/// blocks the shell.
pub trait ShellStreams: Send {
    /// Writes all of `data` to the shell's stdin and flushes it.
    fn send(&mut self, data: &[u8]) -> io::Result<()>;

    /// Waits for the next event until `deadline` (forever when `None`); `Ok(None)` when the deadline
    /// passed first. An error means the transport itself failed.
    fn recv(&mut self, deadline: Option<Instant>) -> io::Result<Option<StreamEvent>>;

    /// Closes the shell's stdin, so that the shell ends at end of input.
    fn close(&mut self);
}

/// A persistent shell and the framing protocol over it: runs commands one at a time and returns
/// each command's stdout, stderr and exit status exactly.
pub struct ShellSession<S: ShellStreams> {
    streams: S,
    /// Random per-session part of every end marker.
    nonce: String,
    /// Sequence number of the last command sent.
    seq: u64,
    /// Time limit for each command; `None` waits forever.
    timeout: Option<Duration>,
    /// Why the session can no longer be used (shell gone, protocol broken, command timed out).
    broken: Option<String>,
    /// Ctrl-C ends the wait for a command (false for the session that stops what was running).
    interruptible: bool,
    /// Output that arrived after the end markers of a command of a batch
    /// ([`ShellSession::exec_inline_batch`]): the start of the next command's stdout and stderr.
    carry: (Vec<u8>, Vec<u8>),
    /// Exchanges with the shell so far (a batch is one): what `-vvv` reports per host.
    round_trips: u64,
}

/// How long a dying shell may take to deliver its last stderr bytes for the error message.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// Width of the base64 lines carrying a command's stdin (what `base64` itself writes).
const B64_LINE: usize = 76;

impl<S: ShellStreams> ShellSession<S> {
    /// Wraps the streams of a freshly started `sh` (reading commands from its stdin).
    pub fn new(streams: S) -> Self {
        ShellSession {
            streams,
            nonce: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
            seq: 0,
            timeout: None,
            broken: None,
            interruptible: true,
            carry: (Vec::new(), Vec::new()),
            round_trips: 0,
        }
    }

    /// How many exchanges with the shell this session made: one per command, one per batch.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Sets the time limit for each following command (`None`: no limit). When a command exceeds
    /// it, `exec` returns [`ConnError::Timeout`] and the session is broken: the command may still
    /// be running and its output would be mixed with the next one's.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Whether Ctrl-C ends the wait for a command (the default); the session that stops the
    /// interrupted commands turns it off.
    pub fn set_interruptible(&mut self, on: bool) {
        self.interruptible = on;
    }

    /// The current per-command time limit.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Why the session is unusable, if it is.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Whether the last command was cut short by Ctrl-C: what it started may still run on the
    /// host, for the transport to stop (crate::interrupt).
    pub fn was_interrupted(&self) -> bool {
        self.broken.as_deref() == Some(crate::interrupt::INTERRUPTED)
    }

    /// The process id of the persistent shell on its host (`$$`), asked once after it started,
    /// without a fork; `None` when it does not answer with a number.
    pub fn shell_pid(&mut self) -> Result<Option<u32>, ConnError> {
        let out = self.exec_inline("printf '%s\\n' \"$$\"")?;
        Ok(if out.rc == 0 { out.stdout_str().trim().parse().ok() } else { None })
    }

    /// Closes the shell's stdin; the shell exits once it has read everything. The session is
    /// unusable afterwards.
    pub fn close(&mut self) {
        self.streams.close();
        self.broken.get_or_insert_with(|| "the shell session was closed".to_string());
    }

    /// Runs `cmd` in a subshell of the persistent shell, with `stdin` as its standard input (empty
    /// when `None`), and returns its exit status, stdout and stderr byte for byte.
    ///
    /// A shell that is gone, or a command that ends the persistent shell, gives
    /// [`ConnError::Lost`]; a command running past the time limit gives [`ConnError::Timeout`].
    /// Either way the session is broken afterwards and every later call gives `Lost`.
    pub fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.run(cmd, stdin, false)
    }

    /// Runs `cmd` in the persistent shell itself rather than a subshell: one fork fewer on the
    /// host, which is most of the cost of a no-op task's probe. Only for orc's own read-only
    /// query scripts, which never `exit`, `cd`, `exec` or read stdin (their variables remain set
    /// in the shell, which is harmless: every later command starts by setting its own).
    pub fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.run(cmd, None, true)
    }

    fn run(&mut self, cmd: &str, stdin: Option<&[u8]>, inline: bool) -> Result<CmdOutput, ConnError> {
        if let Some(why) = &self.broken {
            return Err(ConnError::Lost(why.clone()));
        }
        if cmd.contains('\0') {
            // sh cannot represent a NUL byte in a word; fail like a syntax error would.
            return Ok(CmdOutput {
                rc: 2,
                stdout: Vec::new(),
                stderr: b"orc: the command contains a NUL byte, which sh cannot run\n".to_vec(),
            });
        }
        self.discard_stray_output()?;
        self.round_trips += 1;
        tracing::trace!(
            command = cmd,
            stdin_bytes = stdin.map_or(0, <[u8]>::len),
            inline,
            round_trip = self.round_trips,
            "exec"
        );
        self.seq += 1;
        let marker = format!("__orc_end_{}_{}__", self.nonce, self.seq);
        let script = if inline { build_inline_script(cmd, &marker) } else { build_script(cmd, stdin, &marker) };
        let deadline = self.timeout.map(|t| Instant::now() + t);
        if let Err(e) = self.streams.send(&script) {
            let why = format!("cannot send the command to the shell ({e})");
            return Err(self.lose_with_stderr(why, Vec::new(), false));
        }
        self.collect(marker.as_bytes(), deadline, false)
    }

    /// Runs several of orc's read-only probes ([`ShellSession::exec_inline`]'s rules) in ONE
    /// exchange: their scripts are sent together, each with its own end markers, and the shell
    /// runs them one after the other; each answer is exactly what `exec_inline` of that probe
    /// alone would give at that moment. The time limit applies to each probe in turn.
    pub fn exec_inline_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        if let Some(why) = &self.broken {
            return Err(ConnError::Lost(why.clone()));
        }
        if cmds.iter().any(|c| c.contains('\0')) {
            // Rare enough to run one by one (each NUL command fails as `run` says).
            return cmds.iter().map(|c| self.exec_inline(c)).collect();
        }
        self.discard_stray_output()?;
        self.round_trips += 1;
        tracing::trace!(commands = cmds.len(), round_trip = self.round_trips, "exec batch");
        let mut script = Vec::new();
        let mut markers = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            tracing::trace!(command = cmd, inline = true, "exec (in a batch)");
            self.seq += 1;
            let marker = format!("__orc_end_{}_{}__", self.nonce, self.seq);
            script.extend_from_slice(&build_inline_script(cmd, &marker));
            markers.push(marker);
        }
        if let Err(e) = self.streams.send(&script) {
            let why = format!("cannot send the command to the shell ({e})");
            return Err(self.lose_with_stderr(why, Vec::new(), false));
        }
        let mut outs = Vec::with_capacity(cmds.len());
        for (i, marker) in markers.iter().enumerate() {
            let deadline = self.timeout.map(|t| Instant::now() + t);
            let last = i + 1 == markers.len();
            outs.push(self.collect(marker.as_bytes(), deadline, !last)?);
        }
        Ok(outs)
    }

    /// Drops output that arrived between commands (from background processes of an earlier
    /// command), so that it is not mistaken for the next command's output.
    fn discard_stray_output(&mut self) -> Result<(), ConnError> {
        loop {
            match self.streams.recv(Some(Instant::now())) {
                Ok(None) => return Ok(()),
                Ok(Some(StreamEvent::Data(..))) => {}
                Ok(Some(StreamEvent::Closed(_))) => return Err(self.lose("the shell has exited".to_string())),
                Err(e) => return Err(self.lose(format!("reading from the shell failed: {e}"))),
            }
        }
    }

    /// Reads both streams until both end markers of the current command have arrived. With
    /// `more`, another command of the same batch follows: what arrives after this command's
    /// markers is the start of its output, kept for the next call (otherwise it is stray output
    /// of a background process, dropped).
    fn collect(&mut self, marker: &[u8], deadline: Option<Instant>, more: bool) -> Result<CmdOutput, ConnError> {
        let (mut out, mut err) = std::mem::take(&mut self.carry);
        let mut out_scan = 0;
        let mut err_scan = 0;
        let mut rc: Option<i32> = None;
        // Where this command's stdout ends and where what follows its status line starts.
        let mut out_end = (0, 0);
        let mut err_end: Option<(usize, usize)> = None;
        loop {
            // The carried bytes are scanned first, as if they had just arrived.
            if rc.is_none() {
                if let Some(at) = find(&out, marker, out_scan) {
                    out_scan = at;
                    let rest = &out[at + marker.len()..];
                    if let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                        let status = parse_status(&rest[..nl]).ok_or_else(|| {
                            let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
                            self.lose(format!("bad exit status line from the shell: {line:?}"))
                        })?;
                        rc = Some(status);
                        out_end = (at, at + marker.len() + nl + 1);
                    }
                } else {
                    out_scan = out.len().saturating_sub(marker.len());
                }
            }
            if err_end.is_none() {
                if let Some(at) = find(&err, marker, err_scan) {
                    // The stderr marker line is `MARKER\n`.
                    let after = at + marker.len();
                    if after < err.len() || !more {
                        let skip = usize::from(err.get(after) == Some(&b'\n'));
                        err_end = Some((at, after + skip));
                    }
                } else {
                    err_scan = err.len().saturating_sub(marker.len());
                }
            }
            if rc.is_some() && err_end.is_some() {
                break;
            }
            // Wake up now and then to notice Ctrl-C (crate::interrupt) during a long command.
            let wake = Instant::now() + crate::interrupt::POLL;
            let until = deadline.map_or(wake, |d| d.min(wake));
            let event = match self.streams.recv(Some(until)) {
                Ok(Some(event)) => event,
                Ok(None) if self.interruptible && crate::interrupt::interrupted() => {
                    return Err(self.lose(crate::interrupt::INTERRUPTED.into()))
                }
                Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => return Err(self.time_out()),
                Ok(None) => continue,
                Err(e) => return Err(self.lose(format!("reading from the shell failed: {e}"))),
            };
            match event {
                StreamEvent::Data(Stream::Stdout, bytes) => out.extend_from_slice(&bytes),
                StreamEvent::Data(Stream::Stderr, bytes) => err.extend_from_slice(&bytes),
                StreamEvent::Closed(which) => {
                    let why = "the shell exited during the command".to_string();
                    let stderr_closed = which == Stream::Stderr || err_end.is_some();
                    let err = match err_end {
                        Some((at, _)) => err[..at].to_vec(),
                        None => err,
                    };
                    return Err(self.lose_with_stderr(why, err, stderr_closed));
                }
            }
        }
        let (err_at, err_next) = err_end.unwrap_or((err.len(), err.len()));
        if more {
            self.carry = (out[out_end.1..].to_vec(), err[err_next..].to_vec());
        }
        out.truncate(out_end.0);
        err.truncate(err_at);
        Ok(CmdOutput { rc: rc.unwrap_or(-1), stdout: out, stderr: err })
    }

    /// Marks the session broken and returns the `Lost` error for it.
    fn lose(&mut self, why: String) -> ConnError {
        self.broken = Some(why.clone());
        ConnError::Lost(why)
    }

    /// Like [`Self::lose`], adding what the shell printed on stderr before dying (sudo's or
    /// docker's complaint, usually): `err` so far, plus whatever still arrives within a moment.
    fn lose_with_stderr(&mut self, why: String, mut err: Vec<u8>, stderr_closed: bool) -> ConnError {
        let deadline = Instant::now() + STDERR_GRACE;
        if !stderr_closed {
            loop {
                match self.streams.recv(Some(deadline)) {
                    Ok(Some(StreamEvent::Data(Stream::Stderr, bytes))) => err.extend_from_slice(&bytes),
                    Ok(Some(StreamEvent::Closed(Stream::Stderr))) | Ok(None) | Err(_) => break,
                    Ok(Some(_)) => {}
                }
            }
        }
        let tail = String::from_utf8_lossy(&err);
        let tail = tail.trim();
        if tail.is_empty() {
            self.lose(why)
        } else {
            self.lose(format!("{why}: {tail}"))
        }
    }

    /// Marks the session broken after a timeout and returns the `Timeout` error.
    fn time_out(&mut self) -> ConnError {
        let limit = self.timeout.unwrap_or_default();
        let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
        self.broken = Some(format!("the shell was abandoned after a command timed out ({secs} s)"));
        ConnError::Timeout(secs)
    }
}

/// The sh code that runs one command and prints its end markers (see the module documentation).
/// The script that runs `cmd` in the persistent shell itself (see [`ShellSession::exec_inline`]).
fn build_inline_script(cmd: &str, marker: &str) -> Vec<u8> {
    format!("{{ eval {}\n}} </dev/null; printf '%s %d\\n' {marker} \"$?\"; printf '%s\\n' {marker} >&2\n", quote(cmd))
        .into_bytes()
}

fn build_script(cmd: &str, stdin: Option<&[u8]>, marker: &str) -> Vec<u8> {
    let quoted = quote(cmd);
    let tail = format!("; printf '%s %d\\n' {marker} \"$?\"; printf '%s\\n' {marker} >&2\n");
    match stdin {
        None => format!("( eval {quoted} ) </dev/null{tail}").into_bytes(),
        Some(data) => {
            // The delimiter has `_`, which base64 text never contains, so it cannot end early.
            let delim = format!("{marker}in");
            let encoded = base64::engine::general_purpose::STANDARD.encode(data);
            let mut script = format!("base64 -d <<'{delim}' | ( eval {quoted} ){tail}").into_bytes();
            script.reserve(encoded.len() + encoded.len() / B64_LINE + delim.len() + 2);
            for line in encoded.as_bytes().chunks(B64_LINE) {
                script.extend_from_slice(line);
                script.push(b'\n');
            }
            script.extend_from_slice(delim.as_bytes());
            script.push(b'\n');
            script
        }
    }
}

/// Position of the first `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = from;
    while i <= last_start {
        let off = hay[i..=last_start].iter().position(|&b| b == first)?;
        i += off;
        if &hay[i..i + needle.len()] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses the ` <status>` that follows the stdout marker.
fn parse_status(line: &[u8]) -> Option<i32> {
    std::str::from_utf8(line).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::pipes::PipeStreams;
    use std::process::{Child, Command, Stdio};

    /// A real `sh` child and a session over its pipes.
    fn shell() -> (Child, ShellSession<PipeStreams>) {
        let mut child = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let streams =
            PipeStreams::new(child.stdin.take().unwrap(), child.stdout.take().unwrap(), child.stderr.take().unwrap())
                .unwrap();
        (child, ShellSession::new(streams))
    }

    #[test]
    fn a_batch_gives_each_probe_its_own_answer_in_one_exchange() {
        let (_child, mut s) = shell();
        let big = "x".repeat(200_000);
        let cmds = [
            "printf 'no newline'; printf 'e1' >&2",
            "echo two; echo err2 >&2; false",
            "p=3; printf '%s\\n' \"$p\"",
            // Larger than a pipe buffer: the next answer arrives after it.
            "printf '%s' \"$(printf '%200000s' '' | tr ' ' x)\"",
            "true",
        ];
        let before = s.round_trips();
        let outs = s.exec_inline_batch(&cmds).unwrap();
        assert_eq!(s.round_trips(), before + 1);
        assert_eq!(outs.len(), 5);
        assert_eq!((outs[0].rc, &outs[0].stdout[..], &outs[0].stderr[..]), (0, &b"no newline"[..], &b"e1"[..]));
        assert_eq!((outs[1].rc, &outs[1].stdout[..], &outs[1].stderr[..]), (1, &b"two\n"[..], &b"err2\n"[..]));
        assert_eq!(outs[2].stdout, b"3\n");
        assert_eq!(outs[3].stdout, big.as_bytes());
        assert_eq!((outs[4].rc, &outs[4].stdout[..], &outs[4].stderr[..]), (0, &b""[..], &b""[..]));
        // Each answer is what the probe alone gives, and the session goes on as before.
        for (cmd, out) in cmds.iter().zip(&outs) {
            assert_eq!(&s.exec_inline(cmd).unwrap(), out, "{cmd}");
        }
        assert_eq!(s.exec("echo after", None).unwrap().stdout, b"after\n");
    }

    #[test]
    fn stdout_and_stderr_are_kept_apart() {
        let (_child, mut s) = shell();
        let out = s.exec("echo out1; echo err1 >&2; echo out2; echo err2 >&2", None).unwrap();
        assert_eq!(out.rc, 0);
        assert_eq!(out.stdout, b"out1\nout2\n");
        assert_eq!(out.stderr, b"err1\nerr2\n");
    }

    #[test]
    fn output_without_trailing_newline_is_preserved() {
        let (_child, mut s) = shell();
        let out = s.exec("printf 'no newline'; printf 'e' >&2", None).unwrap();
        assert_eq!(out.stdout, b"no newline");
        assert_eq!(out.stderr, b"e");
        let out = s.exec("printf '\\n\\n'", None).unwrap();
        assert_eq!(out.stdout, b"\n\n");
        let out = s.exec("true", None).unwrap();
        assert_eq!(out.stdout, b"");
        assert_eq!(out.stderr, b"");
    }

    #[test]
    fn binary_stdin_round_trips_through_cat() {
        let (_child, mut s) = shell();
        let data: Vec<u8> = (0..=255u8).collect();
        let out = s.exec("cat", Some(&data)).unwrap();
        assert_eq!(out.rc, 0);
        assert_eq!(out.stdout, data);
        // Larger than one pipe buffer, and an empty stdin.
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(s.exec("cat", Some(&big)).unwrap().stdout, big);
        assert_eq!(s.exec("cat", Some(b"")).unwrap().stdout, b"");
    }

    #[test]
    fn commands_without_stdin_read_nothing() {
        let (_child, mut s) = shell();
        // If the command could read the protocol stream, `cat` would swallow the next command.
        let out = s.exec("cat; echo done", None).unwrap();
        assert_eq!(out.stdout, b"done\n");
        assert_eq!(s.exec("echo still here", None).unwrap().stdout, b"still here\n");
    }

    #[test]
    fn multi_line_command_with_stdin() {
        let (_child, mut s) = shell();
        let out = s.exec("read first\necho \"got $first\"\ncat", Some(b"one\ntwo\n")).unwrap();
        assert_eq!(out.stdout, b"got one\ntwo\n");
    }

    #[test]
    fn exit_codes_are_reported() {
        let (_child, mut s) = shell();
        assert_eq!(s.exec("true", None).unwrap().rc, 0);
        assert_eq!(s.exec("false", None).unwrap().rc, 1);
        assert_eq!(s.exec("(exit 42)", None).unwrap().rc, 42);
        assert_eq!(s.exec("no-such-command-orc", None).unwrap().rc, 127);
        assert_eq!(s.exec("sh -c 'kill -TERM $$'", None).unwrap().rc, 143);
    }

    #[test]
    fn syntax_error_fails_the_command_not_the_shell() {
        let (_child, mut s) = shell();
        let out = s.exec("echo 'unterminated", None).unwrap();
        assert_eq!(out.rc, 2);
        assert!(!out.stderr.is_empty());
        assert_eq!(s.exec("echo ok", None).unwrap().stdout, b"ok\n");
    }

    #[test]
    fn fake_marker_lines_do_not_confuse_the_protocol() {
        let (_child, mut s) = shell();
        let fake = "__orc_end_0000000000000000_1__ 0\n__orc_end_x__ 5\n";
        let out = s.exec(&format!("printf '{fake}'; printf '{fake}' >&2; exit 7"), None).unwrap();
        assert_eq!(out.rc, 7);
        assert_eq!(out.stdout, fake.as_bytes());
        assert_eq!(out.stderr, fake.as_bytes());
        assert_eq!(s.exec("echo next", None).unwrap().stdout, b"next\n");
    }

    #[test]
    fn cd_and_export_do_not_leak_into_the_next_command() {
        let (_child, mut s) = shell();
        let before = s.exec("pwd", None).unwrap().stdout;
        assert_ne!(before, b"/tmp\n");
        let out = s.exec("cd /tmp && pwd; export ORC_T=1", None).unwrap();
        assert_eq!(out.stdout, b"/tmp\n");
        assert_eq!(s.exec("pwd", None).unwrap().stdout, before);
        assert_eq!(s.exec("echo \"[$ORC_T]\"", None).unwrap().stdout, b"[]\n");
    }

    #[test]
    fn exit_in_a_command_gives_its_status_and_the_shell_survives() {
        let (_child, mut s) = shell();
        let out = s.exec("echo before; exit 3", None).unwrap();
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout, b"before\n");
        assert_eq!(s.exec("echo alive", None).unwrap().stdout, b"alive\n");
    }

    #[test]
    fn two_megabytes_on_each_stream_do_not_deadlock() {
        let (_child, mut s) = shell();
        let cmd = "head -c 2097152 /dev/zero | tr '\\0' e >&2; \
                   head -c 2097152 /dev/zero | tr '\\0' o; \
                   head -c 1000 /dev/zero | tr '\\0' E >&2";
        let out = s.exec(cmd, None).unwrap();
        assert_eq!(out.rc, 0);
        assert_eq!(out.stdout.len(), 2_097_152);
        assert!(out.stdout.iter().all(|&b| b == b'o'));
        assert_eq!(out.stderr.len(), 2_098_152);
        assert!(out.stderr[..2_097_152].iter().all(|&b| b == b'e'));
        assert!(out.stderr[2_097_152..].iter().all(|&b| b == b'E'));
    }

    #[test]
    fn timeout_breaks_the_session() {
        let (mut child, mut s) = shell();
        s.set_timeout(Some(Duration::from_millis(300)));
        assert_eq!(s.exec("echo quick", None).unwrap().stdout, b"quick\n");
        let started = Instant::now();
        assert_eq!(s.exec("sleep 3", None), Err(ConnError::Timeout(1)));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(matches!(s.exec("echo x", None), Err(ConnError::Lost(_))));
        let _ = child.kill();
    }

    #[test]
    fn thousand_sequential_commands() {
        let (_child, mut s) = shell();
        for i in 0..1000 {
            let out = s.exec(&format!("echo {i}; echo e{i} >&2"), None).unwrap();
            assert_eq!(out.stdout, format!("{i}\n").into_bytes());
            assert_eq!(out.stderr, format!("e{i}\n").into_bytes());
        }
    }

    #[test]
    fn killing_the_shell_gives_lost() {
        let (_child, mut s) = shell();
        let err = s.exec("echo partial; kill -KILL $$", None).unwrap_err();
        assert!(matches!(err, ConnError::Lost(_)), "{err:?}");
        assert!(matches!(s.exec("true", None), Err(ConnError::Lost(_))));
    }

    #[test]
    fn a_dead_shell_gives_lost() {
        let (mut child, mut s) = shell();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(matches!(s.exec("true", None), Err(ConnError::Lost(_))));
    }

    #[test]
    fn nul_in_a_command_is_refused_without_breaking_the_session() {
        let (_child, mut s) = shell();
        assert_eq!(s.exec("echo a\0b", None).unwrap().rc, 2);
        assert_eq!(s.exec("echo ok", None).unwrap().stdout, b"ok\n");
    }

    #[test]
    fn find_locates_needles_across_positions() {
        assert_eq!(find(b"abcabd", b"abd", 0), Some(3));
        assert_eq!(find(b"abcabd", b"abd", 4), None);
        assert_eq!(find(b"ab", b"abd", 0), None);
        assert_eq!(find(b"xxabd", b"abd", 0), Some(2));
    }

    #[test]
    fn script_quotes_the_command_and_wraps_stdin() {
        let script = build_script("echo 'hi'", Some(&[0u8; 100]), "M_1");
        let text = String::from_utf8(script).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "base64 -d <<'M_1in' | ( eval 'echo '\\''hi'\\''' ); printf '%s %d\\n' M_1 \"$?\"; printf '%s\\n' M_1 >&2"
        );
        assert_eq!(lines[1].len(), B64_LINE);
        assert_eq!(lines.last(), Some(&"M_1in"));
    }
}
