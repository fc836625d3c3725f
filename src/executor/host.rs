//! A host's state through a run: its variables that tasks add, its counters, and whether it is
//! still in play.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::output::HostStats;
use crate::vars::HostView;

/// Whether a host still runs tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    /// Runs the next task.
    Active,
    /// A task failed (not ignored, not rescued): the host leaves the play.
    Failed,
    /// The host could not be reached: it leaves the play.
    Unreachable,
    /// `meta: end_host` or `end_play`: no more tasks in this play.
    Ended,
}

/// One host's state.
#[derive(Debug, Clone)]
pub struct HostState {
    /// Inventory name.
    pub name: String,
    /// Inventory variables (merged by the inventory).
    pub inventory: Arc<Map<String, Value>>,
    /// Facts from setup (without the `ansible_` prefix).
    pub facts: Arc<Map<String, Value>>,
    /// set_fact and registered variables.
    pub set_facts: Arc<Map<String, Value>>,
    /// RECAP counters.
    pub stats: crate::output::HostStats,
    /// In play or not.
    pub status: HostStatus,
    /// Notifications (handler names or listen topics) not yet matched to handlers, in order.
    pub notified: Vec<String>,
    /// Handlers (indices into the play's handler list) this host notified that have not run yet.
    pub pending_handlers: std::collections::BTreeSet<usize>,
    /// The host was in at least one play (only those appear in the recap).
    pub played: bool,
    /// Why the host became unreachable (the first time), for the recap.
    pub lost_reason: Option<String>,
}

impl HostState {
    /// A fresh host.
    pub fn new(name: &str, inventory: Map<String, Value>) -> HostState {
        HostState {
            name: name.to_string(),
            inventory: Arc::new(inventory),
            facts: Arc::new(Map::new()),
            set_facts: Arc::new(Map::new()),
            stats: HostStats::default(),
            status: HostStatus::Active,
            notified: Vec::new(),
            pending_handlers: std::collections::BTreeSet::new(),
            played: false,
            lost_reason: None,
        }
    }

    /// The view other hosts get through `hostvars`.
    pub fn view(&self) -> HostView {
        HostView { inventory: self.inventory.clone(), facts: self.facts.clone(), set_facts: self.set_facts.clone() }
    }

    /// Records a variable at set_fact/register precedence.
    pub fn set_fact(&mut self, name: &str, value: Value) {
        Arc::make_mut(&mut self.set_facts).insert(name.to_string(), value);
    }

    /// Merges facts a module returned.
    pub fn add_facts(&mut self, facts: &Map<String, Value>) {
        let f = Arc::make_mut(&mut self.facts);
        for (k, v) in facts {
            let k = k.strip_prefix("ansible_").unwrap_or(k);
            f.insert(k.to_string(), v.clone());
        }
    }
}

/// Adds one task result to the counters the way Ansible's stats do: an ignored failure counts as
/// ok (and changed, when it changed) besides ignored; a failure counts only as failed.
pub fn count(stats: &mut HostStats, status: crate::output::Status, changed: bool) {
    use crate::output::Status;
    match status {
        Status::Ok => stats.ok += 1,
        Status::Changed => {
            stats.ok += 1;
            stats.changed += 1;
        }
        Status::Failed { ignored: true } => {
            stats.ok += 1;
            stats.ignored += 1;
            if changed {
                stats.changed += 1;
            }
        }
        Status::Failed { ignored: false } => stats.failed += 1,
        Status::Skipped => stats.skipped += 1,
        Status::Unreachable => stats.unreachable += 1,
    }
}
