//! What lookups need from the engine to reach a socket as seen from an inventory host (the
//! `community.general.etcd3` lookup reading a registry bound to that host's loopback): the
//! run's connections, given to the [`super::Templar`] by the engine and made visible to the
//! lookups of each render on this thread.

use std::cell::RefCell;
use std::sync::Arc;

use orc_modules::stream::{HostStream, StreamTarget};

/// Streams to the sockets of the run's inventory hosts.
pub trait HostStreams: Send + Sync {
    /// Whether `name` is an inventory host (else a lookup connects from this machine).
    fn is_host(&self, name: &str) -> bool;
    /// Opens a stream to `target` as seen from inventory host `host`, over its connection.
    fn open(&self, host: &str, target: &StreamTarget) -> Result<HostStream, String>;
}

thread_local! {
    static CURRENT: RefCell<Vec<Arc<dyn HostStreams>>> = const { RefCell::new(Vec::new()) };
}

/// Makes a run's host streams visible to the lookups of the render in progress on this thread.
pub(crate) struct StreamsScope(bool);

impl StreamsScope {
    /// Enters `streams` (nothing when `None`: an enclosing render's stay visible).
    pub(crate) fn enter(streams: Option<&Arc<dyn HostStreams>>) -> StreamsScope {
        match streams {
            Some(s) => {
                CURRENT.with(|c| c.borrow_mut().push(s.clone()));
                StreamsScope(true)
            }
            None => StreamsScope(false),
        }
    }
}

impl Drop for StreamsScope {
    fn drop(&mut self) {
        if self.0 {
            CURRENT.with(|c| {
                c.borrow_mut().pop();
            });
        }
    }
}

/// The host streams of the innermost render on this thread, if the engine gave any.
pub(crate) fn current() -> Option<Arc<dyn HostStreams>> {
    CURRENT.with(|c| c.borrow().last().cloned())
}
