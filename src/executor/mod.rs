//! The executor: runs plays on hosts and emits events. It decides what runs where and in which
//! order (linear strategy, blocks, handlers, loops, conditions); modules decide what changes.

pub mod actions;
mod async_task;
pub mod fact_cache;
mod guards;
mod host;
mod host_streams;
mod jobs;
mod loops;
pub mod magic;
mod play;
mod play_hosts;
mod prefetch;
mod preflight;
mod python_facts;
mod run_task;
mod scope;
mod settings;
mod tags;
mod task_conn;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::inventory::Inventory;
use crate::output::{Event, EventSink, HostStats};
use crate::playbook::Playbook;
use crate::template::Templar;

pub use host::{HostId, HostState, HostStates, HostStatus};
pub use preflight::preflight;
pub use tags::TagFilter;

/// What the user asked for on the command line that shapes a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--check`.
    pub check: bool,
    /// `--diff`.
    pub diff: bool,
    /// `--forks` (parallel hosts).
    pub forks: usize,
    /// `--tags` / `--skip-tags`.
    pub tags: TagFilter,
    /// `-e` variables, merged in order.
    pub extra_vars: Map<String, Value>,
    /// `--limit`.
    pub limit: Option<String>,
    /// `--start-at-task`.
    pub start_at_task: Option<String>,
    /// `--syntax-check`: the playbooks alone are checked, without an inventory to match hosts
    /// or define variables (so CI can lint without one).
    pub syntax_check: bool,
    /// `-b`.
    pub r#become: Option<bool>,
    /// `--become-user`.
    pub become_user: Option<String>,
    /// Connection variables the command line gives (`-u` as ansible_user, `--private-key`,
    /// `--become-method`, `--ssh-common-args`, `--ssh-extra-args`): used for hosts whose inventory
    /// sets none, as Ansible's command-line connection options are.
    pub connection_defaults: Map<String, Value>,
    /// `-c`: the connection type for hosts that set none (`ansible_connection` and a play's
    /// `connection:` win, as in Ansible).
    pub connection: Option<String>,
    /// `-v` count.
    pub verbosity: u8,
    /// How connections are made (host key checking, timeouts, become password).
    pub connect: crate::connection::ConnectOptions,
    /// When plays that do not say `gather_facts:` gather facts (ansible.cfg's `gathering`).
    pub gathering: crate::config::Gathering,
    /// Hosts left out of every play after `--limit` (applying a plan: the hosts that drifted).
    pub exclude_hosts: Vec<String>,
    /// A notification no handler answers is a warning, not an error before the run (ansible.cfg's
    /// `error_on_missing_handler = false`).
    pub missing_handler_warns: bool,
    /// The persistent fact cache (`fact_caching = jsonfile`); `None`: facts last one run.
    pub fact_cache: Option<Arc<fact_cache::FactCache>>,
}

/// An answer to `--step`'s question before a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run this task.
    Yes,
    /// Skip this task.
    No,
    /// Run this task and every later one without asking.
    Continue,
}

/// Asks the user whether to run a task (`--step`); the command layer supplies it, so the engine
/// itself never reads input.
pub trait Stepper: Sync + Send {
    /// The answer for the task displayed as `task` (e.g. `TASK: Install nginx`).
    fn ask(&self, task: &str) -> Step;
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Final counters per host, in inventory order.
    pub stats: Vec<(String, HostStats)>,
    /// Some task changed something (or would have, in check mode).
    pub changed: bool,
    /// A host was failed by another's failure under `any_errors_fatal` (not counted in its recap
    /// line, as in Ansible, but the run failed).
    pub fatal_failures: bool,
    /// Per host, how many of its failures `meta: clear_host_errors` cleared: still counted in the
    /// recap, but no longer failing the run (Ansible drops the host from its failed hosts).
    pub errors_cleared: Vec<(String, u32)>,
}

impl Outcome {
    /// The exit codes of docs/cli.md: 2 when a host failed, 4 when one was unreachable (and none failed),
    /// 10 for pending changes with `--check --detailed-exitcode`, else 0.
    pub fn exit_code(&self, check: bool, detailed: bool) -> i32 {
        let cleared = |h: &str| self.errors_cleared.iter().find(|(n, _)| n == h).map(|(_, c)| *c).unwrap_or(0);
        if self.fatal_failures || self.stats.iter().any(|(h, s)| s.failed > cleared(h)) {
            2
        } else if self.stats.iter().any(|(_, s)| s.unreachable > 0) {
            4
        } else if check && detailed && self.changed {
            10
        } else {
            0
        }
    }
}

/// Everything a run shares across plays and threads.
pub struct Runner<'a> {
    /// The inventory.
    pub inventory: &'a Inventory,
    /// Run options.
    pub opts: &'a Options,
    /// Template engine.
    pub templar: Arc<Templar>,
    /// Where events go.
    pub sink: &'a dyn EventSink,
    /// Connections, one per host for the whole run.
    pub pool: crate::connection::ConnectionPool,
    /// `forks` threads at most (and no more than the inventory's hosts) for a task's hosts.
    pub workers: workers::Workers,
    /// The task `--start-at-task` names was reached (always true without the option).
    pub(crate) started: std::sync::atomic::AtomicBool,
    /// `--step`: asked before each task until answered "continue".
    stepper: Option<Box<dyn Stepper + 'a>>,
    /// The answers to each play's `vars_prompt`, by `play::prompt_key` (the command layer asks).
    pub(crate) prompted: std::collections::HashMap<String, Map<String, Value>>,
    /// Tasks running in the background (`async:`).
    pub(crate) jobs: jobs::Jobs,
    stepping: std::sync::atomic::AtomicBool,
    /// The inventory as the run changes it (`add_host`, `group_by`): `inventory` at the start.
    live: std::sync::RwLock<Inventory>,
    /// `live` changed since the play runner last looked (`Runner::take_inventory_change`).
    live_changed: std::sync::atomic::AtomicBool,
    /// Reads the inventory sources again, for `meta: refresh_inventory` (the command layer
    /// gives it; without it the meta task leaves the inventory as it is).
    reload: Option<InventoryReload<'a>>,
    /// What `add_host` and `group_by` changed, in order: replayed on a refreshed inventory,
    /// which keeps them as Ansible's does.
    dynamic: std::sync::Mutex<Vec<DynamicChange>>,
    /// Saved plans: record what two-phase modules decide, or check a plan before applying
    /// (src/plan.rs); `None` runs modules as usual.
    pub(crate) plan: Option<crate::plan::PlanMode>,
}

/// Reads the inventory sources again (`meta: refresh_inventory`); the error says why not.
pub type InventoryReload<'a> = Box<dyn Fn() -> std::result::Result<Inventory, String> + Send + Sync + 'a>;

/// A change `add_host` or `group_by` made to the inventory during the run.
#[derive(Debug, Clone)]
pub(crate) enum DynamicChange {
    /// `add_host`: the host, its groups and variables.
    AddHost {
        /// The host's name.
        name: String,
        /// The groups it joins.
        groups: Vec<String>,
        /// Its variables.
        vars: Map<String, Value>,
    },
    /// `group_by`: the host put in a group with parents.
    GroupBy {
        /// The host.
        host: String,
        /// The group.
        group: String,
        /// The group's parents.
        parents: Vec<String>,
    },
}

impl<'a> Runner<'a> {
    /// A runner for one invocation.
    pub fn new(inventory: &'a Inventory, opts: &'a Options, sink: &'a dyn EventSink) -> Result<Runner<'a>> {
        // No more threads than hosts.
        let workers = workers::Workers::new(opts.forks.min(inventory.hosts().len().max(1)));
        let pool = crate::connection::ConnectionPool::with_options(opts.connect.clone());
        // Lookups that go through a host (etcd3 with host=INVENTORY_HOST) share the run's connections.
        let streams = Arc::new(host_streams::RunStreams::new(pool.streams(), inventory, opts));
        Ok(Runner {
            inventory,
            opts,
            templar: Arc::new(Templar::new().with_host_streams(streams)),
            sink,
            pool,
            workers,
            started: std::sync::atomic::AtomicBool::new(opts.start_at_task.is_none()),
            stepper: None,
            stepping: std::sync::atomic::AtomicBool::new(false),
            prompted: std::collections::HashMap::new(),
            jobs: jobs::Jobs::default(),
            live: std::sync::RwLock::new(inventory.clone()),
            live_changed: std::sync::atomic::AtomicBool::new(false),
            reload: None,
            dynamic: std::sync::Mutex::new(Vec::new()),
            plan: None,
        })
    }

    /// `meta: refresh_inventory` reads the inventory with `reload`.
    pub fn with_inventory_reload(mut self, reload: InventoryReload<'a>) -> Self {
        self.reload = Some(reload);
        self
    }

    /// Notes an `add_host` or `group_by` change, to replay after `meta: refresh_inventory`.
    pub(crate) fn record_dynamic(&self, change: DynamicChange) {
        self.dynamic.lock().unwrap_or_else(|e| e.into_inner()).push(change);
    }

    /// `meta: refresh_inventory`: the inventory read again from its sources, with the hosts and
    /// groups `add_host` and `group_by` added so far added again. Without a reload function the
    /// inventory stays as it is.
    pub(crate) fn refresh_inventory(&self) -> std::result::Result<(), String> {
        let Some(reload) = &self.reload else { return Ok(()) };
        let mut inv = reload()?;
        for change in self.dynamic.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // A change about a host the sources no longer have is dropped, as it cannot apply.
            let _ = match change {
                DynamicChange::AddHost { name, groups, vars } => inv.add_dynamic_host(name, groups, vars).map(|_| ()),
                DynamicChange::GroupBy { host, .. } if !inv.has_host(host) => Ok(()),
                DynamicChange::GroupBy { host, group, parents } => {
                    inv.add_dynamic_group(host, group, parents).map(|_| ())
                }
            };
        }
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = inv;
        self.live_changed.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Records a plan, or applies one (src/plan.rs, docs/plan.md).
    pub fn with_plan(mut self, mode: crate::plan::PlanMode) -> Self {
        self.plan = Some(mode);
        self
    }

    /// The plan the run recorded or applied, once the run is over.
    pub fn take_plan(&mut self) -> Option<crate::plan::PlanMode> {
        self.plan.take()
    }

    /// The inventory as it is now (hosts and groups `add_host` and `group_by` added included).
    pub(crate) fn inv(&self) -> std::sync::RwLockReadGuard<'_, Inventory> {
        self.live.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the inventory during the run; `change` says whether it changed anything.
    pub(crate) fn change_inventory<T>(&self, change: impl FnOnce(&mut Inventory) -> (bool, T)) -> T {
        let mut inv = self.live.write().unwrap_or_else(|e| e.into_inner());
        let (changed, out) = change(&mut inv);
        if changed {
            self.live_changed.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        out
    }

    /// Whether the inventory changed since the last call.
    pub(crate) fn take_inventory_change(&self) -> bool {
        self.live_changed.swap(false, std::sync::atomic::Ordering::SeqCst)
    }

    /// `--step`: ask `stepper` before each task.
    pub fn with_stepper(mut self, stepper: Box<dyn Stepper + 'a>) -> Self {
        self.stepper = Some(stepper);
        self.stepping.store(true, std::sync::atomic::Ordering::SeqCst);
        self
    }

    /// The answers to `play`'s `vars_prompt` (play variables, below vars_files).
    pub fn with_prompted(mut self, play: &crate::playbook::Play, answers: Map<String, Value>) -> Self {
        self.prompted.insert(play::prompt_key(play), answers);
        self
    }

    /// Whether to run the task displayed as `name` (always, unless `--step` says no).
    pub(crate) fn step_allows(&self, name: &str) -> bool {
        use std::sync::atomic::Ordering;
        let Some(stepper) = &self.stepper else { return true };
        if !self.stepping.load(Ordering::SeqCst) {
            return true;
        }
        match stepper.ask(&format!("TASK: {name}")) {
            Step::Yes => true,
            Step::No => false,
            Step::Continue => {
                self.stepping.store(false, Ordering::SeqCst);
                true
            }
        }
    }

    /// Shows what went wrong reading or writing the fact cache since the last call.
    fn fact_cache_warnings(&self) {
        for w in self.opts.fact_cache.iter().flat_map(|c| c.take_warnings()) {
            self.sink.emit(&Event::Warning(w));
        }
    }

    /// Runs playbooks in order and returns the recap. Input was validated by `preflight` already.
    pub fn run(&self, playbooks: &[Playbook]) -> Outcome {
        // Every inventory host has a state from the start, so `hostvars` and delegation see
        // hosts outside the current play, as in Ansible.
        let mut states = HostStates::with_fact_cache(self.opts.fact_cache.clone());
        for h in self.inventory.hosts() {
            states.add(&h, || self.inventory.host_vars(&h));
        }
        self.fact_cache_warnings();
        let mut changed = false;
        for pb in playbooks {
            self.sink.emit(&Event::PlaybookStart { path: pb.path.display().to_string(), check: self.opts.check });
            for play in &pb.plays {
                if crate::interrupt::interrupted() {
                    break;
                }
                let outcome = play::run_play(self, play, &mut states);
                states.save_facts();
                self.fact_cache_warnings();
                changed |= outcome.changed;
                if outcome.stop {
                    // As ansible-playbook: when every host of a batch failed, the playbook ends.
                    break;
                }
            }
        }
        // As Ansible's recap: the hosts something was counted for (a host whose every task was
        // left out by tags has no line).
        let counted = |s: &&HostState| s.played && s.stats != HostStats::default();
        let stats: Vec<(String, HostStats)> =
            states.iter().map(|(_, s)| s).filter(counted).map(|s| (s.name.clone(), s.stats)).collect();
        let lost: Vec<(String, String)> = states
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.played)
            .filter_map(|s| s.lost_reason.as_ref().map(|r| (s.name.clone(), r.clone())))
            .collect();
        if !crate::interrupt::interrupted() {
            self.sink.emit(&Event::Recap { stats: stats.clone(), lost });
        }
        let fatal_failures = states.iter().any(|(_, s)| s.failed_by_fatal);
        let errors_cleared = states
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.errors_cleared > 0)
            .map(|s| (s.name.clone(), s.errors_cleared))
            .collect();
        Outcome { stats, changed, fatal_failures, errors_cleared }
    }
}

/// The directory a playbook's relative paths resolve against.
pub fn playbook_dir(pb: &Playbook) -> PathBuf {
    pb.path
        .parent()
        .map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() })
        .unwrap_or_else(|| PathBuf::from("."))
}
