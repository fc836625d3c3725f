//! Output: the event stream and the printers that render it.

pub mod events;

pub use events::{Event, EventSink, HostResult, HostStats, Status, TaskKind};
