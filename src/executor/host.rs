//! A host's state through a run: its variables that tasks add, its counters, and whether it is
//! still in play.

use std::collections::{BTreeMap, HashMap};
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

/// A host of the run, as the engine knows it: given once per inventory name and never reused,
/// so it stays valid when hosts are added during the run or a strategy hands some hosts' states
/// to other threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(u32);

/// Every host's state, keyed by [`HostId`]; ids follow the order hosts were added (inventory
/// order), which is the order results are shown in.
#[derive(Debug, Default)]
pub struct HostStates {
    states: BTreeMap<HostId, HostState>,
    ids: HashMap<String, HostId>,
    next: u32,
    /// The persistent fact cache: a host added starts with its cached facts.
    fact_cache: Option<Arc<super::fact_cache::FactCache>>,
}

impl HostStates {
    /// No hosts.
    pub fn new() -> HostStates {
        HostStates::default()
    }

    /// No hosts; each host added starts with the facts `cache` holds for it.
    pub fn with_fact_cache(cache: Option<Arc<super::fact_cache::FactCache>>) -> HostStates {
        HostStates { fact_cache: cache, ..HostStates::default() }
    }

    /// Writes the facts of each host whose facts changed since the last call to the fact cache
    /// (a host whose facts were cleared loses its file), as Ansible's `set_host_facts` and
    /// `clear_facts` do.
    pub fn save_facts(&mut self) {
        let Some(cache) = &self.fact_cache else { return };
        for st in self.states.values_mut().filter(|st| st.facts_dirty) {
            st.facts_dirty = false;
            if st.facts.is_empty() && !st.facts_gathered {
                cache.delete(&st.name);
            } else {
                cache.store(&st.name, &st.cacheable_facts());
            }
        }
    }

    /// The id of host `name`, adding it with `inventory` variables if it is new.
    pub fn add(&mut self, name: &str, inventory: impl FnOnce() -> Map<String, Value>) -> HostId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = HostId(self.next);
        self.next += 1;
        self.ids.insert(name.to_string(), id);
        let mut st = HostState::new(name, inventory());
        if let Some(facts) = self.fact_cache.as_ref().and_then(|c| c.load(name)) {
            st.facts_gathered = facts.get(super::fact_cache::GATHERED_KEY) == Some(&Value::Bool(true));
            let facts: Map<String, Value> =
                facts.into_iter().filter(|(k, _)| k != super::fact_cache::GATHERED_KEY).collect();
            st.add_facts(&facts);
            st.facts_dirty = false;
        }
        self.states.insert(id, st);
        id
    }

    /// The id of host `name`, if it has a state here.
    pub fn id(&self, name: &str) -> Option<HostId> {
        self.ids.get(name).copied().filter(|id| self.states.contains_key(id))
    }

    /// The state of `id`, if it is here.
    pub fn get(&self, id: HostId) -> Option<&HostState> {
        self.states.get(&id)
    }

    /// Every host here, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (HostId, &HostState)> {
        self.states.iter().map(|(id, st)| (*id, st))
    }

    /// Every host here, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (HostId, &mut HostState)> {
        self.states.iter_mut().map(|(id, st)| (*id, st))
    }

    /// The states of `ids`, mutably, in the order of `ids` (the play's host order, which
    /// `order:` may change: workers take hosts in this order), for running a task on them in
    /// parallel.
    pub fn select_mut(&mut self, ids: &[HostId]) -> Vec<(HostId, &mut HostState)> {
        // A map of positions, not `ids.contains`: that was O(hosts) per host, O(hosts^2) per task.
        let position: HashMap<HostId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut picked: Vec<(usize, HostId, &mut HostState)> =
            self.states.iter_mut().filter_map(|(id, st)| position.get(id).map(|i| (*i, *id, st))).collect();
        picked.sort_by_key(|(i, _, _)| *i);
        picked.into_iter().map(|(_, id, st)| (id, st)).collect()
    }

    /// Moves the state of `id` out into a set of its own (the free strategy runs each host on
    /// its own thread); [`HostStates::put_back`] returns it.
    pub fn split_off(&mut self, id: HostId) -> HostStates {
        let mut solo = HostStates {
            states: BTreeMap::new(),
            ids: self.ids.clone(),
            next: self.next,
            fact_cache: self.fact_cache.clone(),
        };
        if let Some(st) = self.states.remove(&id) {
            solo.states.insert(id, st);
        }
        solo
    }

    /// Takes back the states a [`HostStates::split_off`] moved out.
    pub fn put_back(&mut self, other: HostStates) {
        self.states.extend(other.states);
    }
}

impl std::ops::Index<HostId> for HostStates {
    type Output = HostState;
    fn index(&self, id: HostId) -> &HostState {
        // Ids come only from this set (`add`, `id`), and a split-off host is back before the
        // set is used again.
        &self.states[&id]
    }
}

impl std::ops::IndexMut<HostId> for HostStates {
    fn index_mut(&mut self, id: HostId) -> &mut HostState {
        self.states.get_mut(&id).unwrap_or_else(|| panic!("host {id:?} is not in this set"))
    }
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
    /// Variables `include_vars` loaded: below set_fact and registered variables, and rendered
    /// when used (they come from a file, as in Ansible's `_vars_cache`).
    pub included_vars: Arc<Map<String, Value>>,
    /// Facts a module returned without the `ansible_` prefix (service_facts' `services`):
    /// Ansible injects those as variables under that very name.
    pub bare_facts: Arc<std::collections::BTreeSet<String>>,
    /// set_fact and registered variables.
    pub set_facts: Arc<Map<String, Value>>,
    /// The parts of `set_facts` values whose strings came unchanged from a trusted source
    /// (`vars::TrustedParts`): still data, never rendered, but tagged as trusted.
    pub trusted_facts: Arc<crate::vars::TrustedParts>,
    /// The parts of the current task's result that an engine action declared trusted (its
    /// `set_fact` values, the variables `include_vars` read): `register` keeps them so.
    pub result_trust: Vec<Vec<String>>,
    /// `facts` changed since they were last written to the fact cache.
    pub facts_dirty: bool,
    /// Facts were gathered for the host (this run, or a run whose facts the cache kept):
    /// `gathering = smart` gathers only for hosts without.
    pub facts_gathered: bool,
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
    /// Failed because another host's task failed under `any_errors_fatal` (not counted as a
    /// failure): as in Ansible, such a host may still run a rescue, but no later play.
    pub failed_by_fatal: bool,
    /// Counts the tasks run on this host that were not a probing module task
    /// (executor/prefetch.rs): probe answers sent ahead are kept only within one run of probing
    /// tasks, so a `pause`, a `set_fact` with a lookup or a loop in between drops them.
    pub probe_scope: u64,
    /// The failures `meta: clear_host_errors` forgave: counted in the recap, not in the exit
    /// code (`Outcome::errors_cleared`).
    pub errors_cleared: u32,
    /// Python facts a setup run left out where Ansible would have gathered them: gathered when
    /// a task first names them (executor/python_facts.rs).
    pub python_pending: Vec<super::python_facts::Pending>,
}

impl HostState {
    /// A fresh host.
    pub fn new(name: &str, inventory: Map<String, Value>) -> HostState {
        HostState {
            name: name.to_string(),
            inventory: Arc::new(inventory),
            facts: Arc::new(Map::new()),
            included_vars: Arc::new(Map::new()),
            bare_facts: Arc::new(std::collections::BTreeSet::new()),
            set_facts: Arc::new(Map::new()),
            trusted_facts: Arc::new(crate::vars::TrustedParts::new()),
            result_trust: Vec::new(),
            facts_dirty: false,
            facts_gathered: false,
            stats: HostStats::default(),
            status: HostStatus::Active,
            notified: Vec::new(),
            pending_handlers: std::collections::BTreeSet::new(),
            played: false,
            lost_reason: None,
            failed_by_fatal: false,
            probe_scope: 0,
            errors_cleared: 0,
            python_pending: Vec::new(),
        }
    }

    /// The view other hosts get through `hostvars`, with the host's `group_names`.
    pub fn view(&self, group_names: Vec<String>) -> HostView {
        HostView {
            inventory: self.inventory.clone(),
            facts: self.facts.clone(),
            included_vars: self.included_vars.clone(),
            bare_facts: self.bare_facts.clone(),
            set_facts: self.set_facts.clone(),
            group_names,
        }
    }

    /// Records a variable at set_fact/register precedence (data: nothing in it is trusted).
    pub fn set_fact(&mut self, name: &str, value: Value) {
        self.set_fact_trusting(name, value, Vec::new());
    }

    /// Records a variable at set_fact/register precedence whose parts at `trusted` (paths of
    /// keys; an empty path is the whole value) came unchanged from a trusted source.
    pub fn set_fact_trusting(&mut self, name: &str, value: Value, trusted: Vec<Vec<String>>) {
        Arc::make_mut(&mut self.set_facts).insert(name.to_string(), value);
        if trusted.is_empty() {
            if self.trusted_facts.contains_key(name) {
                Arc::make_mut(&mut self.trusted_facts).remove(name);
            }
        } else {
            Arc::make_mut(&mut self.trusted_facts).insert(name.to_string(), trusted);
        }
    }

    /// Records a variable `include_vars` loaded (Ansible's `set_host_variable`).
    pub fn include_var(&mut self, name: &str, value: Value) {
        crate::vars::set_var(Arc::make_mut(&mut self.included_vars), name, value);
    }

    /// Forgets the host's facts (`meta: clear_facts`), in the fact cache too.
    pub fn clear_facts(&mut self) {
        self.facts = Arc::new(Map::new());
        self.facts_gathered = false;
        self.facts_dirty = true;
    }

    /// The facts as the fact cache keeps them: named as gathered (`ansible_` prefix, except
    /// those a module returned without it), with the gathered marker.
    pub fn cacheable_facts(&self) -> Map<String, Value> {
        let mut out: Map<String, Value> = self
            .facts
            .iter()
            .map(|(k, v)| {
                let key = if self.bare_facts.contains(k) { k.clone() } else { format!("ansible_{k}") };
                (key, v.clone())
            })
            .collect();
        if self.facts_gathered {
            out.insert(super::fact_cache::GATHERED_KEY.into(), Value::Bool(true));
        }
        out
    }

    /// Merges facts a module returned (and `set_fact` with `cacheable: true`).
    pub fn add_facts(&mut self, facts: &Map<String, Value>) {
        self.facts_dirty = true;
        let f = Arc::make_mut(&mut self.facts);
        for (k, v) in facts {
            match k.strip_prefix("ansible_") {
                Some(bare) => {
                    f.insert(bare.to_string(), v.clone());
                }
                None => {
                    f.insert(k.clone(), v.clone());
                    if !self.bare_facts.contains(k) {
                        Arc::make_mut(&mut self.bare_facts).insert(k.clone());
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_mut_gives_the_asked_hosts_in_the_asked_order() {
        let mut states = HostStates::default();
        let ids: Vec<HostId> = (0..6).map(|i| states.add(&format!("h{i}"), Map::new)).collect();
        let picked: Vec<String> =
            states.select_mut(&[ids[4], ids[1], ids[3]]).into_iter().map(|(_, st)| st.name.clone()).collect();
        assert_eq!(picked, ["h4", "h1", "h3"]);
        assert!(states.select_mut(&[]).is_empty());
    }
}
