//! [`SshStreams`]: the stream opener of one SSH host, shared by its connection (modules) and by
//! the engine's lookups on other threads. Its bridge ([`super::stream_bridge`]) runs on a second
//! session to the host, opened at the first stream and kept for the run; when that session breaks,
//! the next stream opens a new one.

use std::sync::{Arc, Mutex};

use orc_modules::stream::{HostStream, StreamOpener, StreamTarget};

use super::relay::BecomeRoute;
use super::stream_bridge::StreamBridge;
use super::target::SshTarget;
use crate::connection::options::ConnectOptions;

/// Streams to one host's sockets over SSH.
pub struct SshStreams {
    host: String,
    target: SshTarget,
    opts: ConnectOptions,
    route: Option<BecomeRoute>,
    bridge: Mutex<Option<Arc<StreamBridge>>>,
}

impl SshStreams {
    /// The opener for inventory host `host`, reached as `target` says; Unix sockets through
    /// `route` when the run becomes another user.
    pub fn new(host: &str, target: SshTarget, opts: ConnectOptions, route: Option<BecomeRoute>) -> Self {
        SshStreams { host: host.to_string(), target, opts, route, bridge: Mutex::new(None) }
    }

    /// The running bridge, started (with its own session) when there is none or it broke.
    fn bridge(&self) -> Result<Arc<StreamBridge>, String> {
        let mut slot = self.bridge.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = slot.as_ref().filter(|b| !b.is_dead()) {
            return Ok(b.clone());
        }
        let (session, fd) = super::open_session(&self.target, &self.opts, 0).map_err(|e| e.to_string())?;
        let peer = format!("{}@{}", self.target.user, self.host);
        let bridge = Arc::new(StreamBridge::start(session, fd, self.route.clone(), &peer, &self.host)?);
        *slot = Some(bridge.clone());
        Ok(bridge)
    }
}

impl StreamOpener for SshStreams {
    fn open(&self, target: &StreamTarget) -> Result<HostStream, String> {
        self.bridge()?.connect(target).map(HostStream::Unix)
    }

    fn listen(&self, target: &StreamTarget) -> Result<std::path::PathBuf, String> {
        self.bridge()?.listen(target)
    }
}
