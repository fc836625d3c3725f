//! Output: the event stream, the printers that render it and the reports written from it
//! (`--junit`).

mod banner;
mod color;
mod diff_text;
mod error_report;
pub mod events;
pub mod human;
pub mod json;
pub mod junit;
pub mod multi;
pub mod progress;
pub use orc_modules::pyjson;
pub use orc_modules::pyrepr;
pub mod recording;
mod xml;

mod adhoc;

pub use adhoc::AdhocPrinter;
pub use events::{AsyncState, ErrorReport, Event, EventSink, HostResult, HostStats, Status, TaskKind};
pub use human::HumanPrinter;
pub use json::JsonPrinter;
pub use junit::JunitReport;
pub use multi::MultiSink;
pub use progress::ProgressSink;
pub use pyrepr::item_label;
pub use recording::{RecordingSink, SharedBuffer};
