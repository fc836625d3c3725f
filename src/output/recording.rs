//! Test doubles for the event stream: [`RecordingSink`] keeps every event so a test can assert on
//! what the engine reported, and [`SharedBuffer`] is a `Write` a printer can own while the test
//! still reads what was printed.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use super::events::{Event, EventSink, HostResult};

/// An [`EventSink`] that records events in arrival order. Usable from many threads; the engine's
/// tests and integration tests read the events back with [`RecordingSink::events`] or
/// [`RecordingSink::host_results`].
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<Event>>,
}

impl RecordingSink {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event received so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// Removes and returns the events received so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.lock())
    }

    /// The `HostResult` events only, in order.
    pub fn host_results(&self) -> Vec<HostResult> {
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::HostResult(r) => Some((**r).clone()),
                _ => None,
            })
            .collect()
    }

    /// Replays the recorded events into another sink (e.g. a printer, to see a run as text).
    pub fn replay(&self, sink: &dyn EventSink) {
        for e in self.events() {
            sink.emit(&e);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: &Event) {
        self.lock().push(event.clone());
    }
}

/// A cloneable in-memory `Write`: give one clone to a printer (`Box::new(buf.clone())`) and read
/// the text from another with [`SharedBuffer::contents`].
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl SharedBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::events::Status;
    use serde_json::json;

    #[test]
    fn records_in_order_from_threads() {
        let sink = RecordingSink::new();
        std::thread::scope(|s| {
            for h in ["a", "b", "c"] {
                let sink = &sink;
                s.spawn(move || {
                    sink.emit(&Event::HostResult(Box::new(HostResult::new(h, Status::Ok, json!({"changed": false})))))
                });
            }
        });
        let mut hosts: Vec<String> = sink.host_results().into_iter().map(|r| r.host).collect();
        hosts.sort();
        assert_eq!(hosts, ["a", "b", "c"]);
        assert_eq!(sink.take().len(), 3);
        assert!(sink.events().is_empty());
    }

    #[test]
    fn shared_buffer_reads_back() {
        let buf = SharedBuffer::new();
        let mut w: Box<dyn Write + Send> = Box::new(buf.clone());
        w.write_all(b"hello").unwrap();
        assert_eq!(buf.contents(), "hello");
    }
}
