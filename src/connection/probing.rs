//! Probes of later tasks sent ahead, verified at use: what lets a run of consecutive no-op file
//! tasks share one round trip per host (docs/architecture.md, "Probes of later tasks";
//! docs/performance.md).
//!
//! Every connection [`super::connect`] opens is wrapped in a [`Probing`]. When a task is about to
//! run a module whose first exchange is a read-only probe, the engine hands the connection the
//! probes the next tasks of the same task list would send (`Connection::prefetch`, rendered with
//! the host's variables now); the task's own probe then goes out with them in ONE exchange
//! (`Connection::probe_batch`), and their answers are kept, keyed by the exact probe text. A
//! later task whose module sends a probe of exactly that text gets the kept answer.
//!
//! Safe by construction: an answer is used only while nothing orc did could have changed it.
//! Every operation through any connection of the run that is not a read-only probe or read
//! (a command, a write, an inline script that is not a probe, a stream, a reconnect) advances the
//! run-wide [`ProbeEpoch`], shared by every connection opened with the same `ConnectOptions`
//! (the pool's, the async jobs', the reconnecting ones); answers taken before that are dropped.
//! So a task that changes a file, on this host or on any host (another inventory name for the
//! same machine, a delegated task, a background job), makes the next task ask the host again.
//! A miss costs nothing extra: the probe is sent as before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use orc_modules::stream::{HostStream, StreamOpener, StreamTarget};
use orc_modules::{CmdOutput, ConnError, Connection};

/// The run-wide count of operations that may have changed a host (see the module's comment).
#[derive(Debug, Default)]
pub struct ProbeEpoch {
    changes: AtomicU64,
    /// Probes of later tasks are not sent (`ORC_PREFETCH=0`, for A/B measurements).
    disabled: bool,
}

impl ProbeEpoch {
    /// A fresh epoch; prefetching is off when the environment says `ORC_PREFETCH=0`.
    pub fn new() -> Arc<ProbeEpoch> {
        let disabled = std::env::var("ORC_PREFETCH").is_ok_and(|v| v == "0");
        Arc::new(ProbeEpoch { changes: AtomicU64::new(0), disabled })
    }

    /// The count now.
    pub fn now(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Records that something may have changed a host: every kept answer is stale.
    pub fn advance(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A connection with a cache of probe answers sent ahead (see the module's comment).
pub struct Probing {
    inner: Box<dyn Connection>,
    epoch: Arc<ProbeEpoch>,
    /// Answers of probes sent ahead, by their exact text, taken at `cache_epoch`.
    cache: HashMap<String, CmdOutput>,
    cache_epoch: u64,
    /// Probes to send with the next probe that is not answered from the cache.
    pending: Vec<String>,
    /// The epoch when this connection last sent a probe: when it moved since, orc changed
    /// something and sending probes ahead would likely be wasted.
    last_probe_epoch: Option<u64>,
    /// The host's run of probing tasks the kept answers belong to (`Connection::prefetch_scope`).
    scope: u64,
    /// Exchanges with the host (a command, a batch of probes, a file read or write).
    round_trips: u64,
    /// Probes answered from the cache.
    hits: u64,
}

impl Probing {
    /// Wraps `inner`; `epoch` is the run's.
    pub fn new(inner: Box<dyn Connection>, epoch: Arc<ProbeEpoch>) -> Probing {
        Probing {
            inner,
            epoch,
            cache: HashMap::new(),
            cache_epoch: 0,
            pending: Vec::new(),
            last_probe_epoch: None,
            scope: 0,
            round_trips: 0,
            hits: 0,
        }
    }

    /// Exchanges with the host so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Something that may change the host is about to run: every kept answer of the run is
    /// stale.
    fn changes(&mut self) {
        self.epoch.advance();
        self.cache.clear();
        self.pending.clear();
    }

    fn trip(&mut self, what: &str) {
        self.round_trips += 1;
        tracing::trace!(host = self.inner.host(), round_trips = self.round_trips, what, "round trip");
    }

    /// The kept answers, dropped first when anything may have changed since they were taken.
    fn fresh_cache(&mut self) -> &mut HashMap<String, CmdOutput> {
        if self.cache_epoch != self.epoch.now() {
            self.cache.clear();
        }
        &mut self.cache
    }
}

impl Drop for Probing {
    fn drop(&mut self) {
        tracing::debug!(
            host = self.inner.host(),
            round_trips = self.round_trips,
            prefetched_answers_used = self.hits,
            "connection closed"
        );
    }
}

impl Connection for Probing {
    fn host(&self) -> &str {
        self.inner.host()
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.changes();
        self.trip("exec");
        self.inner.exec(cmd, stdin)
    }

    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        // Not necessarily a query: the file modules' writes run inline too.
        self.changes();
        self.trip("exec");
        self.inner.exec_inline(cmd)
    }

    fn probe(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        if let Some(out) = self.fresh_cache().remove(cmd) {
            self.hits += 1;
            tracing::trace!(host = self.inner.host(), command = cmd, "probe answered by an earlier exchange");
            return Ok(out);
        }
        self.cache.clear();
        // Taken before sending: a change anywhere while the answers travel makes them stale.
        let epoch = self.epoch.now();
        self.last_probe_epoch = Some(epoch);
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            self.trip("probe");
            return self.inner.exec_inline(cmd);
        }
        self.trip("probes");
        let mut cmds: Vec<&str> = Vec::with_capacity(pending.len() + 3);
        cmds.push(cmd);
        cmds.extend(pending.iter().map(String::as_str));
        // One `stat` for the paths of the whole batch, dropped at its end (stat_memo.rs).
        let memo = orc_modules::stat_memo::prelude(&cmds);
        if let Some(prelude) = &memo {
            cmds.insert(0, prelude);
            cmds.push(orc_modules::stat_memo::EPILOGUE);
        }
        let mut outs = self.inner.probe_batch(&cmds)?.into_iter();
        if memo.is_some() {
            outs.next();
            outs.next_back();
        }
        let first = outs.next().ok_or_else(|| ConnError::Lost("the shell gave no answer to a probe".into()))?;
        for (c, out) in pending.into_iter().zip(outs) {
            self.cache.insert(c, out);
        }
        self.cache_epoch = epoch;
        Ok(first)
    }

    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        self.trip("probes");
        self.inner.probe_batch(cmds)
    }

    fn wants_prefetch(&mut self, first: &str) -> bool {
        if self.epoch.disabled || self.fresh_cache().contains_key(first) {
            return false;
        }
        // The first probe of a connection may send ahead; later ones only when nothing changed
        // since this connection's previous probe (in a run that changes things, the answers
        // sent ahead would be dropped before use).
        self.last_probe_epoch.is_none_or(|e| e == self.epoch.now())
    }

    fn prefetch(&mut self, cmds: Vec<String>) {
        self.pending = cmds;
    }

    fn prefetch_scope(&mut self, scope: u64) {
        if scope != self.scope {
            self.cache.clear();
            self.pending.clear();
            self.scope = scope;
        }
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        self.trip("read");
        self.inner.read_file(path)
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        self.changes();
        self.trip("write");
        self.inner.write_file(path, data)
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_command_timeout(timeout);
    }

    fn reset(&mut self) -> Result<(), ConnError> {
        self.changes();
        self.inner.reset()
    }

    fn set_connect_timeout(&mut self, timeout: Duration) {
        self.inner.set_connect_timeout(timeout);
    }

    fn runs_on_controller(&self) -> bool {
        self.inner.runs_on_controller()
    }

    fn docker_socket(&mut self, remote_socket: &str) -> Result<std::path::PathBuf, String> {
        // The Docker modules change the host through the daemon, not through this connection.
        self.changes();
        self.inner.docker_socket(remote_socket)
    }

    fn streams(&mut self) -> Result<Arc<dyn StreamOpener>, String> {
        // The opener is kept by the pool and used without this connection (lookups): each
        // stream it opens counts as a change, not the handing out.
        let inner = self.inner.streams()?;
        Ok(Arc::new(EpochStreams { inner, epoch: self.epoch.clone() }))
    }

    fn open_stream(&mut self, target: &StreamTarget) -> Result<HostStream, String> {
        self.changes();
        self.inner.open_stream(target)
    }
}

/// A host's stream opener that advances the run's [`ProbeEpoch`] for every stream it opens: what
/// goes through a stream (a daemon's API) may change the host.
struct EpochStreams {
    inner: Arc<dyn StreamOpener>,
    epoch: Arc<ProbeEpoch>,
}

impl StreamOpener for EpochStreams {
    fn open(&self, target: &StreamTarget) -> Result<HostStream, String> {
        self.epoch.advance();
        self.inner.open(target)
    }

    fn listen(&self, target: &StreamTarget) -> Result<std::path::PathBuf, String> {
        self.epoch.advance();
        self.inner.listen(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::LocalConnection;

    fn local(epoch: &Arc<ProbeEpoch>) -> Probing {
        let conn: Box<dyn Connection> = Box::new(LocalConnection::new("h", None).unwrap());
        Probing::new(conn, epoch.clone())
    }

    #[test]
    fn answers_sent_ahead_are_used_until_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "old").unwrap();
        let read = format!("cat {}", orc_modules::shell_quote::quote(&f.to_string_lossy()));
        let epoch = Arc::new(ProbeEpoch::default());
        let mut c = local(&epoch);
        let mut other = local(&epoch);

        // The first probe carries the next ones: one exchange for both.
        assert!(c.wants_prefetch("echo 1"));
        c.prefetch(vec![read.clone()]);
        assert_eq!(c.probe("echo 1").unwrap().stdout, b"1\n");
        assert!(!c.wants_prefetch(&read), "already answered");
        assert_eq!(c.probe(&read).unwrap().stdout, b"old");
        assert_eq!(c.round_trips(), 1);

        // A change through ANY connection of the run drops what was sent ahead.
        c.prefetch(vec![read.clone()]);
        c.probe("echo 2").unwrap();
        other.exec(&format!("printf new > {}", orc_modules::shell_quote::quote(&f.to_string_lossy())), None).unwrap();
        assert!(!c.wants_prefetch("echo 3"), "something changed since the last probe");
        assert_eq!(c.probe(&read).unwrap().stdout, b"new");
        assert_eq!(c.round_trips(), 3);

        // Its own writes too; a read changes nothing.
        c.prefetch(vec![read.clone()]);
        c.probe("echo 4").unwrap();
        c.read_file(&f.to_string_lossy()).unwrap();
        assert_eq!(c.probe(&read).unwrap().stdout, b"new");
        c.prefetch(vec![read.clone()]);
        c.probe("echo 5").unwrap();
        c.write_file(&dir.path().join("g").to_string_lossy(), b"g").unwrap();
        let trips = c.round_trips();
        c.probe(&read).unwrap();
        assert_eq!(c.round_trips(), trips + 1);
    }

    #[test]
    fn a_stream_opened_counts_as_a_change() {
        let epoch = Arc::new(ProbeEpoch::default());
        let mut c = local(&epoch);
        let opener = c.streams().unwrap();
        assert_eq!(epoch.now(), 0, "handing out the opener changes nothing");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        opener.open(&StreamTarget::tcp("127.0.0.1", port)).unwrap();
        assert_eq!(epoch.now(), 1);
    }
}
