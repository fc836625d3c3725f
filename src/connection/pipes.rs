//! [`ShellStreams`] over ordinary blocking pipes (a child process's stdin, stdout and stderr).
//!
//! One reader thread per output stream forwards chunks over a channel as soon as they arrive, so a
//! command that writes a lot to stderr while we wait for stdout (or the reverse) never fills a pipe
//! and blocks the shell.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread;
use std::time::Instant;

use super::framing::{ShellStreams, Stream, StreamEvent};

/// Size of one read from an output pipe.
const CHUNK: usize = 64 * 1024;

/// The pipes of a shell process: a writer for its stdin and two reader threads for its output.
pub struct PipeStreams {
    stdin: Option<Box<dyn Write + Send>>,
    events: Receiver<io::Result<StreamEvent>>,
}

impl PipeStreams {
    /// Takes ownership of the three pipes and starts one reader thread each for stdout and stderr.
    /// The threads end when their pipe reaches end of file (the shell and its children are gone).
    pub fn new(
        stdin: impl Write + Send + 'static,
        stdout: impl Read + Send + 'static,
        stderr: impl Read + Send + 'static,
    ) -> io::Result<Self> {
        let (tx, events) = mpsc::channel();
        spawn_reader(Stream::Stdout, stdout, tx.clone())?;
        spawn_reader(Stream::Stderr, stderr, tx)?;
        Ok(PipeStreams { stdin: Some(Box::new(stdin)), events })
    }
}

/// Starts the thread that forwards everything read from `pipe` as events for `which`.
fn spawn_reader(
    which: Stream,
    mut pipe: impl Read + Send + 'static,
    tx: Sender<io::Result<StreamEvent>>,
) -> io::Result<()> {
    let name = match which {
        Stream::Stdout => "orc-shell-stdout",
        Stream::Stderr => "orc-shell-stderr",
    };
    thread::Builder::new().name(name.into()).spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let event = match pipe.read(&mut buf) {
                Ok(0) => Ok(StreamEvent::Closed(which)),
                Ok(n) => Ok(StreamEvent::Data(which, buf[..n].to_vec())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let last = !matches!(event, Ok(StreamEvent::Data(..)));
            if tx.send(event).is_err() || last {
                return;
            }
        }
    })?;
    Ok(())
}

impl ShellStreams for PipeStreams {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the shell's stdin is closed"))?;
        stdin.write_all(data)?;
        stdin.flush()
    }

    fn recv(&mut self, deadline: Option<Instant>) -> io::Result<Option<StreamEvent>> {
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the shell's output is closed");
        let got = match deadline {
            None => self.events.recv().map_err(|_| gone())?,
            Some(deadline) => {
                let now = Instant::now();
                if deadline <= now {
                    match self.events.try_recv() {
                        Ok(got) => got,
                        Err(TryRecvError::Empty) => return Ok(None),
                        Err(TryRecvError::Disconnected) => return Err(gone()),
                    }
                } else {
                    match self.events.recv_timeout(deadline - now) {
                        Ok(got) => got,
                        Err(RecvTimeoutError::Timeout) => return Ok(None),
                        Err(RecvTimeoutError::Disconnected) => return Err(gone()),
                    }
                }
            }
        };
        got.map(Some)
    }

    fn close(&mut self) {
        self.stdin = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_arrive_from_both_streams_and_end_with_closed() {
        let mut p = PipeStreams::new(Vec::new(), &b"out"[..], &b"err"[..]).unwrap();
        let mut seen = Vec::new();
        while seen.len() < 4 {
            seen.push(p.recv(None).unwrap().unwrap());
        }
        assert!(seen.contains(&StreamEvent::Data(Stream::Stdout, b"out".to_vec())));
        assert!(seen.contains(&StreamEvent::Data(Stream::Stderr, b"err".to_vec())));
        assert!(seen.contains(&StreamEvent::Closed(Stream::Stdout)));
        assert!(seen.contains(&StreamEvent::Closed(Stream::Stderr)));
        // Both threads are done: no more events, ever.
        assert!(p.recv(None).is_err());
    }

    #[test]
    fn recv_returns_none_at_the_deadline() {
        let (_keep, stdout) = std::os::unix::net::UnixStream::pair().unwrap();
        let (_keep2, stderr) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut p = PipeStreams::new(Vec::new(), stdout, stderr).unwrap();
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(p.recv(Some(deadline)).unwrap().is_none());
        assert!(p.recv(Some(Instant::now())).unwrap().is_none());
    }

    #[test]
    fn send_after_close_fails() {
        let mut p = PipeStreams::new(Vec::new(), &b""[..], &b""[..]).unwrap();
        p.send(b"x").unwrap();
        p.close();
        assert!(p.send(b"y").is_err());
    }
}
