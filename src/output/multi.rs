//! Fan-out of the event stream: the engine reports to one sink, and the CLI may want several
//! (the human printer plus a JUnit report, or a printer plus a recorder in tests).

use super::events::{Event, EventSink};

/// An [`EventSink`] that hands every event to each of its sinks, in the order they were added.
#[derive(Default)]
pub struct MultiSink {
    sinks: Vec<Box<dyn EventSink>>,
}

impl MultiSink {
    /// No sinks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink.
    pub fn with(mut self, sink: Box<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }
}

impl EventSink for MultiSink {
    fn emit(&self, event: &Event) {
        for s in &self.sinks {
            s.emit(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::recording::RecordingSink;
    use std::sync::Arc;

    #[test]
    fn every_sink_sees_every_event() {
        let a = Arc::new(RecordingSink::new());
        let b = Arc::new(RecordingSink::new());
        let m = MultiSink::new().with(Box::new(a.clone())).with(Box::new(b.clone()));
        m.emit(&Event::Warning("w".into()));
        m.emit(&Event::NoHostsRemaining);
        assert_eq!(a.events().len(), 2);
        assert_eq!(b.events().len(), 2);
    }
}
