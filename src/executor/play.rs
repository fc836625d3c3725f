//! One play with the linear strategy: each task on every host still in play, then the next task;
//! blocks with rescue/always per host; handlers at the end of each section and on flush_handlers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::actions::{MetaAction, Runs};
use super::host::{count, HostId, HostState, HostStates, HostStatus};
use super::run_task::{run_on_host, HostOutcome, PlayCtx};
use super::scope::Scope;
use super::Runner;
use crate::output::{Event, Status, TaskKind};
use crate::playbook::{self, Include, IncludeTarget, Play, Task, TaskBody};
use crate::vars::{merge, Context, HostVars};

/// What a play's run tells the run of the playbook.
pub struct PlayOutcome {
    /// Something changed.
    pub changed: bool,
    /// A whole batch failed: as Ansible, the playbook stops (no later play runs).
    pub stop: bool,
}

/// Runs one play on its hosts.
pub fn run_play(runner: &Runner, play: &Play, states: &mut HostStates) -> PlayOutcome {
    let pattern = super::play_hosts::pattern(play, runner.opts).unwrap_or_else(|_| play.hosts.clone());
    let mut hosts = runner.inv().select(&pattern).unwrap_or_default();
    if let Some(limit) = &runner.opts.limit {
        hosts = runner.inv().limit(hosts, limit).unwrap_or_default();
    }
    hosts.retain(|h| !runner.opts.exclude_hosts.contains(h));
    let mut members: Vec<HostId> = Vec::new();
    for h in &hosts {
        let id = states.add(h, || runner.inv().host_vars(h));
        let st = &mut states[id];
        // Hosts that failed or became unreachable in an earlier play stay out.
        if (st.status == HostStatus::Active || st.status == HostStatus::Ended) && !st.failed_by_fatal {
            st.status = HostStatus::Active;
            st.played = true;
            members.push(id);
        }
    }
    if members.is_empty() {
        runner.sink.emit(&Event::NoHostsMatched { name: play.name.clone() });
        return PlayOutcome { changed: false, stop: false };
    }
    // An order that does not render, or is not valid, was reported by preflight.
    let order = super::play_hosts::order(play, runner.opts).unwrap_or_else(|_| play.order.clone());
    order_hosts(&mut members, states, order.as_deref());
    let mut changed = false;
    let mut stop = false;
    let mut offset = 0;
    // A serial that does not render was reported by preflight; as written otherwise.
    let serial = super::play_hosts::serial(play, runner.opts).unwrap_or_else(|_| play.serial.clone());
    for size in serial_batches(serial.as_ref(), members.len()) {
        let batch: Vec<HostId> = members[offset..(offset + size).min(members.len())].to_vec();
        offset += size;
        if batch.is_empty() {
            break;
        }
        // As Ansible: the play's banner opens every `serial` batch.
        runner.sink.emit(&Event::PlayStart {
            name: play.name.clone(),
            hosts: batch.iter().map(|id| states[*id].name.clone()).collect(),
        });
        for id in &batch {
            // Notifications belong to the batch that made them: the handler list is per batch.
            states[*id].notified.clear();
            states[*id].pending_handlers.clear();
        }
        let mut run = PlayRun::new(runner, play, states, &members, &batch);
        if play.strategy == "free" {
            changed |= run.run_free(states, &batch);
        } else {
            run.run_sections(states, &batch);
            changed |= run.changed;
        }
        let failed = batch
            .iter()
            .filter(|id| matches!(states[**id].status, HostStatus::Failed | HostStatus::Unreachable))
            .count();
        let over_max = play.max_fail_percentage.is_some_and(|p| failed as f64 * 100.0 / batch.len() as f64 > p);
        stop |= failed == batch.len();
        if failed == batch.len() || over_max || run.end_play {
            if failed > 0 && offset < members.len() || over_max {
                runner.sink.emit(&Event::NoHostsRemaining);
            }
            if failed > 0 && !play.rollback.is_empty() {
                changed |= run_rollback(runner, play, states, &members, &members[..offset.min(members.len())]);
                break;
            }
            if over_max {
                // As Ansible: exceeding max_fail_percentage fails the hosts still in play.
                for id in &members {
                    if states[*id].status == HostStatus::Active {
                        states[*id].status = HostStatus::Failed;
                        states[*id].stats.failed += 1;
                    }
                }
            }
            break;
        }
        for id in &batch {
            // meta: end_batch ends the batch, not the play.
            if states[*id].status == HostStatus::Ended && run.end_batch {
                states[*id].status = HostStatus::Active;
            }
        }
    }
    for id in &members {
        if states[*id].status == HostStatus::Ended {
            states[*id].status = HostStatus::Active;
        }
    }
    PlayOutcome { changed, stop }
}

/// `rollback:` (orc's own play keyword, docs/rollouts.md): after a batch stopped the play, its
/// tasks run on every host of that batch and of the batches before it that can be reached, the
/// failed ones included, then the play stops. Hosts that failed stay failed (their recap says so);
/// the others leave the play without a failure counted, so the exit code says what went wrong
/// (2 a task failed, 4 only a host was unreachable). Returns whether the rollback changed anything.
fn run_rollback(runner: &Runner, play: &Play, states: &mut HostStates, members: &[HostId], done: &[HostId]) -> bool {
    let hosts: Vec<HostId> = done.iter().copied().filter(|i| states[*i].status != HostStatus::Unreachable).collect();
    let failed: Vec<HostId> = hosts.iter().copied().filter(|i| states[*i].status == HostStatus::Failed).collect();
    runner.sink.emit(&Event::RollbackStart {
        name: play.name.clone(),
        hosts: hosts.iter().map(|i| states[*i].name.clone()).collect(),
    });
    for i in &hosts {
        states[*i].status = HostStatus::Active;
        states[*i].notified.clear();
        states[*i].pending_handlers.clear();
    }
    let mut run = PlayRun::new(runner, play, states, members, &hosts);
    run.run_tasks(states, &play.rollback, &Scope::default(), &hosts);
    run.flush_handlers(states, &hosts);
    for i in members {
        if failed.contains(i) || states[*i].status == HostStatus::Active || states[*i].status == HostStatus::Ended {
            // Out of this play and the plays after it; a failure is counted only where one happened.
            states[*i].status = HostStatus::Failed;
        }
    }
    run.changed
}

/// Batch sizes for `serial:` (a number, a percentage, or a list of them whose last entry repeats),
/// as Ansible computes them; one batch of every host without it.
pub fn serial_batches(serial: Option<&Value>, total: usize) -> Vec<usize> {
    let size_of = |v: &Value| -> usize {
        let n = match v {
            Value::Number(n) => n.as_f64().unwrap_or(0.0) as usize,
            Value::String(s) => match s.trim().strip_suffix('%') {
                Some(p) => (total as f64 * p.trim().parse::<f64>().unwrap_or(100.0) / 100.0) as usize,
                None => s.trim().parse().unwrap_or(total),
            },
            _ => total,
        };
        if n == 0 {
            if total == 0 {
                0
            } else {
                1
            }
        } else {
            n
        }
    };
    let specs: Vec<Value> = match serial {
        None | Some(Value::Null) => return vec![total],
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(v) => vec![v.clone()],
    };
    let mut out = Vec::new();
    let mut left = total;
    let mut idx = 0;
    while left > 0 {
        let spec = &specs[idx.min(specs.len() - 1)];
        let n = size_of(spec).max(1).min(left);
        out.push(n);
        left -= n;
        idx += 1;
    }
    out
}

/// Applies the play's `order:` to its hosts.
fn order_hosts(members: &mut [HostId], states: &HostStates, order: Option<&str>) {
    match order {
        Some("reverse_inventory") => members.reverse(),
        Some("sorted") => members.sort_by(|a, b| states[*a].name.cmp(&states[*b].name)),
        Some("reverse_sorted") => members.sort_by(|a, b| states[*b].name.cmp(&states[*a].name)),
        Some("shuffle") => fastrand::shuffle(members),
        _ => {}
    }
}

/// Which hosts a play gathers facts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gather {
    No,
    All,
    /// Those that have no facts yet.
    Missing,
}

/// The play's `gather_facts:` when it says one, else ansible.cfg's `gathering`.
fn gathers(said: Option<bool>, gathering: crate::config::Gathering) -> Gather {
    use crate::config::Gathering;
    match (said, gathering) {
        (Some(false), _) | (None, Gathering::Explicit) => Gather::No,
        (None, Gathering::Smart) => Gather::Missing,
        _ => Gather::All,
    }
}

/// State of one play's run.
pub(crate) struct PlayRun<'r> {
    runner: &'r Runner<'r>,
    play: &'r Play,
    ctx: Arc<PlayCtx>,
    changed: bool,
    end_play: bool,
    /// `meta: end_batch` ran: the rest of this batch is skipped.
    end_batch: bool,
    /// Handlers of roles brought in by include_role at run time.
    extra_handlers: Vec<Task>,
    /// How many times `meta: clear_host_errors` ran (a block's always section tells from it
    /// whether the failure it runs after was cleared).
    errors_cleared: usize,
    /// Hosts failed in a block, running its always section (made active for it): the hosts
    /// `meta: clear_host_errors` there clears.
    reviving: Vec<String>,
    /// Why a host's (templated) vars_files entry could not be loaded, by host name: the play
    /// fails on that host.
    vars_files_errors: HashMap<String, String>,
    /// Each host's place in the play's host order (`order:`): tasks are handed to the workers,
    /// and their results shown, in this order.
    host_order: Arc<HashMap<HostId, usize>>,
}

impl<'r> PlayRun<'r> {
    fn new(
        runner: &'r Runner<'r>,
        play: &'r Play,
        states: &HostStates,
        members: &[HostId],
        batch: &[HostId],
    ) -> PlayRun<'r> {
        let mut role_defaults = Map::new();
        let mut role_vars = Map::new();
        for r in &play.role_refs {
            merge(&mut role_defaults, &r.defaults);
            merge(&mut role_vars, &r.vars);
        }
        let play_hosts: Vec<Value> = members.iter().map(|id| Value::String(states[*id].name.clone())).collect();
        let play_batch: Vec<Value> = batch.iter().map(|id| Value::String(states[*id].name.clone())).collect();
        // Play vars, then the answers to vars_prompt, then vars_files (Ansible's precedence); the
        // vars_files are each host's own (`PlayCtx::files_vars`).
        let mut play_vars = play.vars.clone();
        merge(&mut play_vars, &runner.prompted.get(&prompt_key(play)).cloned().unwrap_or_default());
        let magic = Arc::new(super::magic::play(runner, play, &play_hosts, &play_batch));
        let ctx = PlayCtx {
            play_vars,
            files_vars: HashMap::new(),
            role_defaults,
            role_vars,
            play_dir: play.dir.clone(),
            magic,
        };
        let mut run = PlayRun {
            runner,
            play,
            ctx: Arc::new(ctx),
            changed: false,
            end_play: false,
            end_batch: false,
            extra_handlers: Vec::new(),
            errors_cleared: 0,
            reviving: Vec::new(),
            vars_files_errors: HashMap::new(),
            host_order: Arc::new(members.iter().enumerate().map(|(i, id)| (*id, i)).collect()),
        };
        run.load_vars_files(states, members, false);
        run
    }

    /// Loads the play's vars_files for `hosts`, each with its own variables (Ansible renders the
    /// file names per host: `vars/{{ foo }}.yml`). `after_facts`: the hosts' facts were just
    /// gathered, so a name still undefined is an error; before, the entry is skipped with a
    /// warning (Ansible's `VariableManager.get_vars`). A host whose files could not be loaded is
    /// noted in `vars_files_errors`, and fails when its section starts.
    fn load_vars_files(&mut self, states: &HostStates, hosts: &[HostId], after_facts: bool) {
        let (play, runner) = (self.play, self.runner);
        if play.vars_files.is_empty() {
            return;
        }
        let templated = play.vars_files.iter().flat_map(|(files, _)| files).any(|f| f.contains("{{"));
        if after_facts && !templated {
            return;
        }
        let mut cache: HashMap<Vec<PathBuf>, Arc<Map<String, Value>>> = HashMap::new();
        let mut skipped = false;
        let ctx = Arc::make_mut(&mut self.ctx);
        for id in hosts {
            let st = &states[*id];
            let loaded = if templated || cache.is_empty() {
                host_vars_files(runner, play, ctx, st, after_facts, &mut cache, &mut skipped)
            } else {
                // No entry is templated: every host loads the same files.
                Ok(cache.values().next().cloned().unwrap_or_default())
            };
            match loaded {
                Ok(m) => {
                    self.vars_files_errors.remove(&st.name);
                    ctx.files_vars.insert(st.name.clone(), m);
                }
                Err(e) => {
                    ctx.files_vars.remove(&st.name);
                    self.vars_files_errors.insert(st.name.clone(), e);
                }
            }
        }
        if skipped {
            runner.sink.emit(&Event::Warning("skipping vars_files item due to an undefined variable".into()));
        }
    }

    /// Fails the hosts of `batch` whose vars_files could not be loaded; returns the others.
    fn fail_vars_files_errors(&mut self, states: &mut HostStates, batch: &[HostId]) -> Vec<HostId> {
        let active = in_play(states, batch);
        let mut by_msg: Vec<(String, Vec<HostId>)> = Vec::new();
        for id in &active {
            if let Some(msg) = self.vars_files_errors.get(&states[*id].name) {
                match by_msg.iter_mut().find(|(m, _)| m == msg) {
                    Some((_, ids)) => ids.push(*id),
                    None => by_msg.push((msg.clone(), vec![*id])),
                }
            }
        }
        for (msg, ids) in &by_msg {
            self.fail_hosts(states, "vars_files", &self.play.loc, ids, msg);
        }
        active.into_iter().filter(|id| !by_msg.iter().any(|(_, ids)| ids.contains(id))).collect()
    }

    /// Whether the rest of this batch's tasks are to be skipped.
    fn stopped(&self) -> bool {
        self.end_play || self.end_batch || crate::interrupt::interrupted()
    }

    /// Gathers facts, runs every section and flushes handlers for the hosts of one batch.
    fn run_sections(&mut self, states: &mut HostStates, batch: &[HostId]) {
        let play = self.play;
        let mut batch: Vec<HostId> = batch.to_vec();
        if !self.vars_files_errors.is_empty() {
            batch = self.fail_vars_files_errors(states, &batch);
            if batch.is_empty() {
                return;
            }
        }
        let batch = batch.as_slice();
        let scope = Scope::default();
        let gather = gathers(play.gather_facts, self.runner.opts.gathering);
        if gather != Gather::No && orc_modules::lookup("setup").is_some() {
            // `gathering = smart`: only the hosts whose facts were not gathered earlier in the run
            // (or in a run whose facts the fact cache kept).
            let hosts: Vec<HostId> =
                batch.iter().copied().filter(|i| gather == Gather::All || !states[*i].facts_gathered).collect();
            if !hosts.is_empty() {
                self.run_action(states, &play.gather_task(), &hosts, TaskKind::Gather, &[]);
                for id in &hosts {
                    let st = &mut states[*id];
                    if st.status == HostStatus::Active && !st.facts.is_empty() {
                        st.facts_gathered = true;
                        st.facts_dirty = true;
                    }
                }
                // vars_files names may use the facts just gathered (`{{ ansible_os_family }}.yml`).
                let gathered = in_play(states, &hosts);
                self.load_vars_files(states, &gathered, true);
                if !self.vars_files_errors.is_empty() {
                    self.fail_vars_files_errors(states, &gathered);
                }
            }
        }
        for (section, tasks) in play.sections() {
            self.run_tasks(states, tasks, &scope, batch);
            if section.flushes_handlers() {
                self.flush_handlers(states, batch);
            }
            if self.stopped() {
                break;
            }
        }
    }

    /// The free strategy: every host runs through the play on its own, as fast as it can; a host
    /// sees the others' variables as they were when the batch started.
    fn run_free(&mut self, states: &mut HostStates, batch: &[HostId]) -> bool {
        let this: &PlayRun = self;
        let solos: Vec<(HostId, HostStates)> = batch.iter().map(|id| (*id, states.split_off(*id))).collect();
        let results: Vec<(HostStates, bool, bool)> = this.runner.workers.map(solos, |(id, mut solo)| {
            let mut sub = PlayRun {
                runner: this.runner,
                play: this.play,
                ctx: this.ctx.clone(),
                changed: false,
                end_play: false,
                end_batch: false,
                extra_handlers: Vec::new(),
                errors_cleared: 0,
                reviving: Vec::new(),
                vars_files_errors: this.vars_files_errors.clone(),
                host_order: this.host_order.clone(),
            };
            sub.run_sections(&mut solo, &[id]);
            (solo, sub.changed, sub.end_play)
        });
        let mut changed = false;
        for (solo, c, end) in results {
            states.put_back(solo);
            changed |= c;
            self.end_play |= end;
        }
        changed
    }

    /// Runs a task list for `members`; returns the hosts that failed during it.
    fn run_tasks(&mut self, states: &mut HostStates, tasks: &[Task], scope: &Scope, members: &[HostId]) -> Vec<HostId> {
        let mut failed = Vec::new();
        for (i, task) in tasks.iter().enumerate() {
            if self.stopped() {
                break;
            }
            let active = in_play(states, members);
            if active.is_empty() {
                break;
            }
            let newly_failed = match &task.body {
                TaskBody::Block { block, rescue, always } => {
                    self.run_block(states, block, rescue, always, scope, &active)
                }
                TaskBody::Include(include) => self.run_include(states, task, include, scope, &active),
                TaskBody::Action(_) => {
                    let kind = if scope.handler { TaskKind::Handler } else { TaskKind::Task };
                    // The tasks that follow, whose probes may go ahead with this one's
                    // (executor/prefetch.rs); not for handlers.
                    let next = if scope.handler { &[][..] } else { &tasks[i + 1..] };
                    self.run_action(states, task, &active, kind, next)
                }
            };
            failed.extend(newly_failed);
        }
        failed
    }

    fn run_block(
        &mut self,
        states: &mut HostStates,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        scope: &Scope,
        active: &[HostId],
    ) -> Vec<HostId> {
        let failed = self.run_tasks(states, block, scope, active);
        let mut still_failed: Vec<HostId> = failed.clone();
        if !rescue.is_empty() && !failed.is_empty() {
            // As Ansible: a failure that a rescue handles counts as rescued, not failed, as soon
            // as the rescue starts; a failure inside the rescue counts as failed.
            let mut rescued = Vec::new();
            for id in &failed {
                let st = &mut states[*id];
                if st.status == HostStatus::Failed {
                    st.status = HostStatus::Active;
                    // A host failed only by any_errors_fatal had no failure of its own to rescue.
                    if !st.failed_by_fatal {
                        st.stats.failed = st.stats.failed.saturating_sub(1);
                        st.stats.rescued += 1;
                        rescued.push(st.name.clone());
                    }
                }
            }
            if !rescued.is_empty() {
                self.runner.sink.emit(&Event::Rescue { hosts: rescued });
            }
            still_failed = self.run_tasks(states, rescue, scope, &failed);
        }
        if !always.is_empty() {
            // always runs for every host that entered the block, including those that failed in it.
            let mut revived = Vec::new();
            for id in active {
                if states[*id].status == HostStatus::Failed && still_failed.contains(id) {
                    states[*id].status = HostStatus::Active;
                    revived.push(*id);
                }
            }
            let cleared_before = self.errors_cleared;
            let names: Vec<String> = revived.iter().map(|id| states[*id].name.clone()).collect();
            self.reviving.extend(names.iter().cloned());
            let always_failed = self.run_tasks(states, always, scope, active);
            self.reviving.retain(|n| !names.contains(n));
            if self.errors_cleared == cleared_before {
                for id in revived {
                    if states[id].status == HostStatus::Active {
                        states[id].status = HostStatus::Failed;
                    }
                }
            } else {
                // `meta: clear_host_errors` in the always section: the block's failure is
                // forgiven and the hosts go on, as in Ansible.
                still_failed.retain(|id| !revived.contains(id));
            }
            for id in always_failed {
                if !still_failed.contains(&id) {
                    still_failed.push(id);
                }
            }
        }
        still_failed
    }

    /// `include_tasks`/`include_role`: resolved per host (the name may be templated, and with a
    /// loop once per item), then each distinct expansion runs on all the hosts that resolved to
    /// it, each of its tasks on all of them before the next, as Ansible's linear strategy does
    /// (its `IncludedFile`s: same file or role, same arguments, same loop item).
    fn run_include(
        &mut self,
        states: &mut HostStates,
        task: &Task,
        include: &Include,
        scope: &Scope,
        active: &[HostId],
    ) -> Vec<HostId> {
        if scope.include_depth >= MAX_INCLUDE_DEPTH {
            let msg = format!(
                "{} nests more than {MAX_INCLUDE_DEPTH} levels ({}); is a file including itself?",
                task.display_name(),
                task.loc
            );
            return self.fail_include(states, task, active, &msg);
        }
        if !self.task_starts(task, scope, active, states) {
            return Vec::new();
        }
        let inner = Scope { include_depth: scope.include_depth + 1, ..*scope };
        let hostvars = self.hostvars(states);
        let mut groups: Vec<IncludeGroup> = Vec::new();
        let mut failed = Vec::new();
        for id in active {
            let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*id], task, &hostvars);
            let layers: Vec<(Map<String, Value>, Option<String>)> = match &task.loop_spec {
                None => vec![(Map::new(), None)],
                Some(spec) => match super::loops::items(self.runner, spec, &ctx, &self.play.dir) {
                    Ok(items) => {
                        let lc = super::loops::control_for(self.runner, &task.loop_control, &ctx);
                        items
                            .iter()
                            .enumerate()
                            .map(|(n, item)| {
                                let label = crate::output::item_label(item);
                                (super::loops::item_vars(&lc, &items, n), Some(label))
                            })
                            .collect()
                    }
                    Err(msg) => {
                        failed.extend(self.fail_results(states, &[*id], &msg, &task.loc));
                        continue;
                    }
                },
            };
            let mut included_any = false;
            for (layer, label) in &layers {
                let ictx = ctx.with(layer);
                match super::run_task::conditions_hold(self.runner, &ictx, task) {
                    Ok(true) => {}
                    Ok(false) => {
                        if label.is_some() {
                            self.emit_skip(states, *id, label.clone(), false);
                        }
                        continue;
                    }
                    Err((cond, e)) => {
                        let msg = format!("The conditional check '{cond}' failed. The error was: {e}");
                        failed.extend(self.fail_results(states, &[*id], &msg, &task.loc));
                        break;
                    }
                }
                included_any = true;
                let key = self.include_key(include, layer, &ictx);
                match groups.iter().position(|g| g.key == key) {
                    Some(g) => groups[g].hosts.push(*id),
                    None => {
                        groups.push(IncludeGroup { key, layer: layer.clone(), label: label.clone(), hosts: vec![*id] })
                    }
                }
            }
            if !included_any && states[*id].status == HostStatus::Active {
                // Skipped by its condition (every item's, for a loop): counted once, as Ansible.
                self.emit_skip(states, *id, None, task.loop_spec.is_some());
                count(&mut states[*id].stats, Status::Skipped, false);
            }
        }
        // As Ansible: every `included:` line first (each counts as ok for its hosts), then the
        // included tasks, file after file.
        let mut expansions = Vec::new();
        for group in groups {
            let hosts = in_play(states, &group.hosts);
            if hosts.is_empty() {
                continue;
            }
            match self.expand_include(task, include, &group) {
                Ok(expansion) => {
                    let shown = match &expansion {
                        Expansion::Tasks(path, _) => {
                            std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()).display().to_string()
                        }
                        Expansion::Role(b) => b.role.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
                    };
                    let names: Vec<String> = hosts.iter().map(|id| states[*id].name.clone()).collect();
                    self.runner.sink.emit(&Event::Included { path: shown, hosts: names, item_label: group.label });
                    for id in &hosts {
                        count(&mut states[*id].stats, Status::Ok, false);
                    }
                    expansions.push((expansion, hosts));
                }
                Err(msg) => failed.extend(self.fail_results(states, &hosts, &msg, &task.loc)),
            }
        }
        for (expansion, hosts) in expansions {
            let tasks = match expansion {
                Expansion::Tasks(_, tasks) => tasks,
                Expansion::Role(block) => vec![*block],
            };
            failed.extend(self.run_tasks(states, &tasks, &inner, &hosts));
        }
        failed
    }

    /// Whether a task runs at all (its tags, `--start-at-task`, `--step`); if so, its banner is
    /// shown.
    fn task_starts(&mut self, task: &Task, scope: &Scope, active: &[HostId], states: &HostStates) -> bool {
        if !scope.handler && !self.runner.opts.tags.selects(&task.kw.tags) {
            return false;
        }
        if !self.runner.started.load(std::sync::atomic::Ordering::SeqCst) {
            match &self.runner.opts.start_at_task {
                Some(want) if starts_here(task, want) => {
                    self.runner.started.store(true, std::sync::atomic::Ordering::SeqCst)
                }
                _ => return false,
            }
        }
        let name = self.display_name(states, task, active, &self.hostvars(states));
        if !self.runner.step_allows(&name) {
            return false;
        }
        let kind = if scope.handler { TaskKind::Handler } else { TaskKind::Task };
        self.runner.sink.emit(&Event::TaskStart { name, kind, origin: task.loc.to_string() });
        true
    }

    /// Shows `skipping: [host]` (not counted: the caller counts what Ansible counts).
    fn emit_skip(&self, states: &HostStates, id: HostId, item_label: Option<String>, loop_summary: bool) {
        let mut r = crate::output::HostResult::new(
            states[id].name.clone(),
            Status::Skipped,
            serde_json::json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"}),
        );
        r.item_label = item_label;
        r.loop_summary = loop_summary;
        self.runner.sink.emit(&Event::HostResult(Box::new(r)));
    }

    /// What tells two hosts' (or items') includes apart: the rendered file or role name, and the
    /// loop item. An include whose name cannot be rendered is its own group, failing.
    fn include_key(&self, include: &Include, layer: &Map<String, Value>, ctx: &Arc<Context>) -> String {
        let render = |s: &str| {
            self.runner.templar.render_str(s, &ctx.value()).map(|v| crate::yaml::display(&v)).map_err(|e| e.to_string())
        };
        let (name, public) = match &include.target {
            IncludeTarget::Tasks { file } => (render(file), Ok(String::new())),
            // `public:` rendered for the host: the key ends with it ("true", "false" or "").
            IncludeTarget::Role { name, public, .. } => {
                let public = match public {
                    Some(Value::String(p)) => render(p).and_then(|p| {
                        crate::playbook::public_value(&Value::String(p)).map(|b| b.map(|b| b.to_string()))
                    }),
                    Some(p) => crate::playbook::public_value(p).map(|b| b.map(|b| b.to_string())),
                    None => Ok(None),
                };
                (render(name), public.map(Option::unwrap_or_default))
            }
        };
        match (name, public) {
            (Ok(n), Ok(p)) => format!("ok\0{n}\0{}\0{p}", Value::Object(layer.clone())),
            (Err(e), _) | (_, Err(e)) => format!("err\0{e}"),
        }
    }

    /// Compiles what an include group names: the task file or the role, its tasks inheriting the
    /// include's parent keywords, `apply:` and parameters.
    fn expand_include(&mut self, task: &Task, include: &Include, group: &IncludeGroup) -> Result<Expansion, String> {
        let (name, _) = group.key.strip_prefix("ok\0").and_then(|r| r.split_once('\0')).ok_or_else(|| {
            group.key.strip_prefix("err\0").unwrap_or("the include's name could not be rendered").to_string()
        })?;
        match &include.target {
            IncludeTarget::Tasks { .. } => {
                let role_path = include.role.as_ref().map(|r| r.path.as_path());
                let path = crate::playbook::search::task_file(name, &include.base, role_path, &self.play.dir);
                // The variables of the includes around this one, its own, then its loop variable.
                let mut all_params = task.include_params.as_deref().cloned().unwrap_or_default();
                merge(&mut all_params, &include.params);
                merge(&mut all_params, &group.layer);
                let inc = playbook::IncludeCtx {
                    role: include.role.clone(),
                    play_dir: self.play.dir.clone(),
                    kw: include.inherit.clone(),
                    params: (!all_params.is_empty()).then(|| Arc::new(all_params)),
                };
                let mut tasks = playbook::compile_task_file(&path, &inc).map_err(|e| e.report())?;
                playbook::inherit_notify_tasks(&mut tasks, &include.notify);
                Ok(Expansion::Tasks(path, tasks))
            }
            IncludeTarget::Role { files, .. } => {
                let public = match group.key.rsplit_once('\0').map(|(_, p)| p) {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                };
                let spec = playbook::RoleSpec {
                    name: name.to_string(),
                    params: include.params.clone(),
                    loc: task.loc.clone(),
                    kw: playbook::Keywords::default(),
                    files: files.clone(),
                    given: Map::new(),
                };
                // The include's own variables and those of the includes around it, the role it is
                // written in (`ansible_parent_role_names`), then its loop variable.
                let mut role_params =
                    playbook::include_role_params(include.role.as_deref(), task.include_params.as_deref())
                        .map(|p| (*p).clone())
                        .unwrap_or_default();
                merge(&mut role_params, &group.layer);
                let params = (!role_params.is_empty()).then(|| Arc::new(role_params));
                let parents = include.role.as_ref().map(|r| r.chain()).unwrap_or_default();
                let loaded = playbook::load_role_in(
                    &spec,
                    &include.base,
                    &include.inherit,
                    params,
                    parents,
                    include.role.as_deref(),
                )
                .map_err(|e| e.report())?;
                let mut role_tasks = loaded.tasks;
                playbook::inherit_notify_tasks(&mut role_tasks, &include.notify);
                let mut b = Task::new(
                    task.loc.clone(),
                    TaskBody::Block { block: role_tasks, rescue: vec![], always: vec![] },
                    include.inherit.clone(),
                );
                b.role = Some(loaded.role.clone());
                // A public role's defaults and vars are the play's from now on, for every host
                // (Ansible adds it to the play's roles: vars/manager.py reads their exports).
                if crate::config::role_is_public(public, false) {
                    let ctx = Arc::make_mut(&mut self.ctx);
                    merge(&mut ctx.role_defaults, &loaded.role.defaults);
                    merge(&mut ctx.role_vars, &loaded.role.vars);
                }
                // The role's handlers can be notified from now on, as in Ansible.
                for h in loaded.handlers {
                    if !self.extra_handlers.iter().any(|x| x.loc.to_string() == h.loc.to_string()) {
                        self.extra_handlers.push(h);
                    }
                }
                Ok(Expansion::Role(Box::new(b)))
            }
        }
    }

    /// Fails an include on `hosts` with `msg`, under its own banner.
    fn fail_include(&mut self, states: &mut HostStates, task: &Task, hosts: &[HostId], msg: &str) -> Vec<HostId> {
        self.fail_hosts(states, &task.display_name(), &task.loc, hosts, msg)
    }

    /// Reports a failure of the step `name` (written at `loc`) on `hosts` with `msg`, under a
    /// banner of its own, and takes those hosts out of the play.
    fn fail_hosts(
        &mut self,
        states: &mut HostStates,
        name: &str,
        loc: &crate::error::Loc,
        hosts: &[HostId],
        msg: &str,
    ) -> Vec<HostId> {
        self.runner.sink.emit(&Event::TaskStart {
            name: name.to_string(),
            kind: TaskKind::Task,
            origin: loc.to_string(),
        });
        self.fail_results(states, hosts, msg, loc)
    }

    /// Reports a failure with `msg` on `hosts` (under the current banner) and takes them out of
    /// the play.
    fn fail_results(
        &mut self,
        states: &mut HostStates,
        hosts: &[HostId],
        msg: &str,
        loc: &crate::error::Loc,
    ) -> Vec<HostId> {
        for id in hosts {
            let mut r = crate::output::HostResult::new(
                states[*id].name.clone(),
                Status::Failed { ignored: false },
                serde_json::json!({"changed": false, "failed": true, "msg": msg}),
            );
            r.error =
                Some(crate::output::ErrorReport { message: format!("Task failed: {msg}"), origin: Some(loc.clone()) });
            self.runner.sink.emit(&Event::HostResult(Box::new(r)));
            count(&mut states[*id].stats, Status::Failed { ignored: false }, false);
            states[*id].status = HostStatus::Failed;
        }
        hosts.to_vec()
    }

    /// After `add_host` or `group_by`: every host of the inventory has a state with its current
    /// inventory variables, and `groups` is the new one.
    fn inventory_changed(&mut self, states: &mut HostStates) {
        let inv = self.runner.inv();
        for h in inv.hosts() {
            let id = states.add(&h, || inv.host_vars(&h));
            states[id].inventory = Arc::new(inv.host_vars(&h));
        }
        Arc::make_mut(&mut Arc::make_mut(&mut self.ctx).magic).insert("groups".into(), Value::Object(inv.groups_var()));
    }

    fn hostvars(&self, states: &HostStates) -> Arc<HostVars> {
        let inv = self.runner.inv();
        HostVars::rendering(
            states.iter().map(|(_, s)| (s.name.clone(), s.view(inv.group_names(&s.name)))).collect(),
            self.runner.templar.clone(),
        )
    }

    /// A keyword decided once for all the hosts of a task (`run_once`, `throttle`,
    /// `any_errors_fatal`), rendered with the first host's variables when it is a template.
    fn play_level(
        &self,
        states: &HostStates,
        task: &Task,
        first: Option<HostId>,
        value: &Option<Value>,
    ) -> Option<Value> {
        let v = value.as_ref()?;
        if !crate::vars::has_template(v) {
            return Some(v.clone());
        }
        let st = &states[first?];
        let ctx = super::run_task::context_for(self.runner, &self.ctx, st, task, &self.hostvars(states));
        super::settings::Render { runner: self.runner, ctx: &ctx }.value_opt("", value).ok().flatten()
    }

    /// Runs one action task on `active` hosts in parallel; emits results in host order.
    pub(crate) fn run_action(
        &mut self,
        states: &mut HostStates,
        task: &Task,
        active: &[HostId],
        kind: TaskKind,
        next: &[Task],
    ) -> Vec<HostId> {
        if crate::interrupt::interrupted() {
            return Vec::new();
        }
        if kind == TaskKind::Task && !self.runner.opts.tags.selects(&task.kw.tags) {
            return Vec::new();
        }
        // --start-at-task: skip until the named task (fact gathering still runs, as in Ansible);
        // once found, every later task and play runs.
        if kind != TaskKind::Gather && !self.runner.started.load(std::sync::atomic::Ordering::SeqCst) {
            match &self.runner.opts.start_at_task {
                Some(want) if starts_here(task, want) => {
                    self.runner.started.store(true, std::sync::atomic::Ordering::SeqCst)
                }
                _ => return Vec::new(),
            }
        }
        if let Some(meta) = task.action().filter(|a| a.engine.is_some_and(|e| e.runs() == Runs::Play)) {
            return self.run_meta(states, task, &meta.args, active, kind);
        }
        self.python_facts_on_use(states, task, active);
        let hostvars = self.hostvars(states);
        let name = self.display_name(states, task, active, &hostvars);
        if kind != TaskKind::Gather && !self.runner.step_allows(&name) {
            return Vec::new();
        }
        self.runner.sink.emit(&Event::TaskStart { name, kind, origin: task.loc.to_string() });

        let first = active.first().copied();
        let flag = |v: Option<Value>| v.as_ref().and_then(orc_modules::args::parse_bool).unwrap_or(false);
        let bypass = task.action().and_then(|a| a.engine).is_some_and(|e| e.bypasses_host_loop());
        let run_once = bypass || flag(self.play_level(states, task, first, &task.kw.run_once));
        let any_errors_fatal = flag(self.play_level(states, task, first, &task.kw.any_errors_fatal));
        let throttle =
            self.play_level(states, task, first, &task.kw.throttle).as_ref().and_then(super::settings::as_u64);
        let host_order = self.host_order.clone();
        let at = |id: &HostId| host_order.get(id).copied().unwrap_or(usize::MAX);
        let mut targets: Vec<HostId> =
            if run_once { active.iter().take(1).copied().collect() } else { active.to_vec() };
        targets.sort_by_key(at);
        let runner = self.runner;
        let ctx = self.ctx.clone();
        let total = targets.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        // `throttle:` caps how many hosts run this task at once, below --forks.
        let slots = Throttle::new(throttle.filter(|t| *t > 0).map(|t| t as usize).unwrap_or(usize::MAX));
        let selected = states.select_mut(&targets);
        let mut outcomes: Vec<(HostId, HostOutcome)> = runner.workers.map(selected, |(id, st)| {
            let _slot = slots.acquire();
            let out = run_on_host(runner, &ctx, st, task, &hostvars, next);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            runner.sink.emit(&Event::Progress { done: n, total });
            (id, out)
        });
        if self.runner.take_inventory_change() {
            self.inventory_changed(states);
        }
        // delegate_facts: facts gathered through a delegated task belong to the delegate.
        for (_, out) in &outcomes {
            if let Some((target, facts)) = &out.delegated_facts {
                // Every inventory host has a state; an implicit localhost outside the play has none
                // and its facts are dropped.
                if let Some(id) = states.id(target) {
                    states[id].add_facts(facts);
                }
            }
        }
        if crate::interrupt::interrupted() {
            // The results of commands cut short by Ctrl-C are not results: nothing is shown or
            // counted, and the run ends (crate::interrupt).
            return Vec::new();
        }
        // Results are shown in the play's host order (`order:`), as the workers took them.
        outcomes.sort_by_key(|(id, _)| at(id));
        if run_once {
            // The one result applies to every host of the batch, as in Ansible.
            if let Some((first, out)) = outcomes.first() {
                let first = *first;
                let copy = out.clone();
                for id in active.iter().filter(|id| **id != first) {
                    if let Some(reg) = &task.register {
                        if let Some(v) = &copy.registered {
                            states[*id].set_fact(reg, v.clone());
                        }
                    }
                    let mut c = copy.clone();
                    let name = states[*id].name.clone();
                    c.events.iter_mut().for_each(|e| {
                        if let Event::HostResult(r) = e {
                            r.host = name.clone();
                        }
                    });
                    outcomes.push((*id, c));
                }
                outcomes.sort_by_key(|(id, _)| at(id));
            }
        }
        let mut failed = Vec::new();
        let mut fatal = false;
        for (id, out) in outcomes {
            for e in &out.events {
                self.runner.sink.emit(e);
            }
            let st = &mut states[id];
            // As Ansible's strategy: an unreachable result that ignore_unreachable ignores
            // counts as ok and ignored, as an ignored failure does.
            let counted = match out.status {
                Status::Unreachable if out.ignore_unreachable => Status::Failed { ignored: true },
                other => other,
            };
            count(&mut st.stats, counted, out.changed);
            if out.changed {
                self.changed = true;
            }
            match out.status {
                Status::Failed { ignored: false } => {
                    st.status = HostStatus::Failed;
                    failed.push(id);
                    fatal |= any_errors_fatal;
                }
                Status::Unreachable if !out.ignore_unreachable => {
                    st.status = HostStatus::Unreachable;
                    if st.lost_reason.is_none() {
                        st.lost_reason = out.events.iter().rev().find_map(|e| match e {
                            Event::HostResult(r) => r.result.get("msg").and_then(Value::as_str).map(str::to_string),
                            _ => None,
                        });
                    }
                }
                _ => {}
            }
        }
        if fatal {
            for id in active {
                if states[*id].status == HostStatus::Active {
                    states[*id].status = HostStatus::Failed;
                    states[*id].failed_by_fatal = true;
                    failed.push(*id);
                }
            }
        }
        failed
    }

    /// When the task's sources name the python facts, gathers them first where a setup run left
    /// them out (executor/python_facts.rs): on the task's hosts, and on every host with some
    /// pending when the task also reads `hostvars`. The hosts run it in parallel, each once.
    fn python_facts_on_use(&self, states: &mut HostStates, task: &Task, active: &[HostId]) {
        let Some(reads_hostvars) = super::python_facts::named_by(task) else { return };
        let concerned = |id: &HostId, st: &HostState| {
            !st.python_pending.is_empty()
                && !matches!(st.status, HostStatus::Unreachable)
                && (reads_hostvars || active.contains(id))
        };
        let ids: Vec<HostId> = states.iter().filter(|(id, st)| concerned(id, st)).map(|(id, _)| id).collect();
        if ids.is_empty() {
            return;
        }
        let hostvars = self.hostvars(states);
        let (runner, ctx, kw) = (self.runner, self.ctx.clone(), &self.play.kw);
        let selected = states.select_mut(&ids);
        runner.workers.map(selected, |(_, st)| {
            super::python_facts::complete(runner, &ctx, kw, st, &hostvars, task);
        });
    }

    fn display_name(&self, states: &HostStates, task: &Task, active: &[HostId], hostvars: &Arc<HostVars>) -> String {
        let name = task.display_name();
        // An unnamed task shows its action as written, a templated one too (as Ansible does).
        if !name.contains("{{") || (task.name.is_none() && task.action().is_some()) {
            return name;
        }
        let Some(first) = active.first() else {
            return name;
        };
        let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*first], task, hostvars);
        match self.runner.templar.render_str(&name, &ctx.value()) {
            Ok(v) => crate::yaml::display(&v),
            Err(_) => name,
        }
    }

    /// Carries out a `meta:` task; every action the up-front check accepts is handled here
    /// (`MetaAction`). As Ansible's linear strategy: `end_play`, `end_batch`, `clear_facts` and
    /// `clear_host_errors` are decided once, on the first host; the others host by host. A host
    /// whose condition is false shows `skipping:` (not counted).
    fn run_meta(
        &mut self,
        states: &mut HostStates,
        task: &Task,
        args: &Map<String, Value>,
        active: &[HostId],
        kind: TaskKind,
    ) -> Vec<HostId> {
        let Some(what) = MetaAction::of_args(args) else {
            // Refused before the run (preflight); nothing to do if it gets here anyway.
            return Vec::new();
        };
        let hostvars = self.hostvars(states);
        let name = self.display_name(states, task, active, &hostvars);
        self.runner.sink.emit(&Event::TaskStart { name, kind, origin: task.loc.to_string() });
        let once = matches!(
            what,
            MetaAction::EndPlay
                | MetaAction::EndBatch
                | MetaAction::ClearFacts
                | MetaAction::ClearHostErrors
                | MetaAction::RefreshInventory
        );
        let asked: Vec<HostId> = if once { active.iter().take(1).copied().collect() } else { active.to_vec() };
        let mut holding = Vec::new();
        for id in &asked {
            let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*id], task, &hostvars);
            if super::run_task::conditions_hold(self.runner, &ctx, task).unwrap_or(false) {
                holding.push(*id);
            } else {
                self.emit_skip(states, *id, None, false);
            }
        }
        let play_hosts: Vec<HostId> = if holding.is_empty() { Vec::new() } else { active.to_vec() };
        match what {
            // A handler failing in a flush fails the host where the flush is written: a block
            // around it rescues it, as in Ansible.
            MetaAction::FlushHandlers => return self.flush_handlers(states, &holding),
            MetaAction::EndPlay => self.end_play |= !holding.is_empty(),
            MetaAction::EndBatch => {
                if !holding.is_empty() {
                    self.end_batch = true;
                    for id in &play_hosts {
                        states[*id].status = HostStatus::Ended;
                    }
                }
            }
            MetaAction::EndHost => {
                for id in &holding {
                    states[*id].status = HostStatus::Ended;
                }
            }
            MetaAction::Noop => {}
            MetaAction::ClearHostErrors => {
                if !holding.is_empty() {
                    self.errors_cleared += 1;
                    for (_, st) in states.iter_mut() {
                        st.failed_by_fatal = false;
                        if st.status == HostStatus::Failed || self.reviving.contains(&st.name) {
                            st.status = HostStatus::Active;
                            st.errors_cleared = st.stats.failed;
                        }
                    }
                }
            }
            MetaAction::ClearFacts => {
                for id in &play_hosts {
                    states[*id].clear_facts();
                }
            }
            MetaAction::ResetConnection => {
                for id in &holding {
                    self.runner.pool.discard(&states[*id].name);
                }
            }
            MetaAction::RefreshInventory if !holding.is_empty() => match self.runner.refresh_inventory() {
                Ok(()) => self.inventory_changed(states),
                Err(e) => self.runner.sink.emit(&Event::Warning(format!("refresh_inventory: {e}"))),
            },
            MetaAction::RefreshInventory => {}
        }
        Vec::new()
    }

    /// Every handler this play knows at this point: the play's (roles' included) and those of
    /// roles brought in by include_role so far. Indices into it are stable within a batch: the
    /// list only grows.
    fn handlers(&self) -> Vec<Task> {
        let mut handlers = self.play.handlers.clone();
        handlers.extend(self.extra_handlers.iter().cloned());
        handlers
    }

    /// Runs notified handlers for the hosts that notified them, as Ansible's linear strategy
    /// does: in definition order, each at most once per pass, and passes repeat while handlers
    /// notified other handlers (an earlier handler notified by a later one runs in the next pass).
    fn flush_handlers(&mut self, states: &mut HostStates, members: &[HostId]) -> Vec<HostId> {
        let mut failed = Vec::new();
        // Bounded: a handler chain that keeps notifying itself ends after this many passes.
        for _pass in 0..MAX_HANDLER_PASSES {
            let mut ran_any = false;
            let mut idx = 0;
            loop {
                let handlers = self.handlers();
                if idx >= handlers.len() {
                    break;
                }
                self.resolve_notifications(states, members, &handlers);
                let h = &handlers[idx];
                let hosts: Vec<HostId> = members
                    .iter()
                    .copied()
                    .filter(|id| {
                        let st = &states[*id];
                        (st.status == HostStatus::Active
                            || (self.play.force_handlers && st.status == HostStatus::Failed))
                            && st.pending_handlers.contains(&idx)
                    })
                    .collect();
                for id in members {
                    states[*id].pending_handlers.remove(&idx);
                }
                if !hosts.is_empty() {
                    // A handler may be a block or an include too: it runs as a task list of one.
                    let scope = Scope { handler: true, ..Scope::default() };
                    failed.extend(self.run_tasks(states, std::slice::from_ref(h), &scope, &hosts));
                    ran_any = true;
                }
                idx += 1;
            }
            let handlers = self.handlers();
            self.resolve_notifications(states, members, &handlers);
            if !ran_any || members.iter().all(|id| states[*id].pending_handlers.is_empty()) {
                break;
            }
        }
        failed
    }

    /// Turns the hosts' notifications (names or listen topics) into the handlers they select.
    fn resolve_notifications(&self, states: &mut HostStates, members: &[HostId], handlers: &[Task]) {
        let names = self.handler_names(states, handlers);
        for id in members {
            let st = &mut states[*id];
            for name in std::mem::take(&mut st.notified) {
                let selected = handlers_for_names(handlers, &names, &name);
                if selected.is_empty() {
                    self.runner.sink.emit(&Event::Warning(format!(
                        "The requested handler '{name}' was not found in either the main handlers list nor in \
                         the listening handlers list (notified on {})",
                        st.name
                    )));
                }
                st.pending_handlers.extend(selected);
            }
        }
    }
}

impl PlayRun<'_> {
    /// The handlers' names as notifications match them: a templated name is rendered with the
    /// play's variables (no host's), as Ansible's `search_handlers_by_notification`; a name that
    /// cannot be rendered matches nothing.
    fn handler_names(&self, states: &HostStates, handlers: &[Task]) -> Vec<Option<String>> {
        let ctx = std::cell::OnceCell::new();
        handlers
            .iter()
            .map(|h| {
                let name = h.name.as_deref()?;
                if !name.contains("{{") && !name.contains("{%") {
                    return Some(name.to_string());
                }
                let ctx = ctx.get_or_init(|| {
                    let mut m = self.ctx.role_defaults.clone();
                    merge(&mut m, &self.ctx.play_vars);
                    merge(&mut m, &self.ctx.role_vars);
                    merge(&mut m, &self.runner.opts.extra_vars);
                    crate::vars::Context::layered(
                        m,
                        self.ctx.magic.clone(),
                        Default::default(),
                        self.hostvars(states),
                        self.runner.templar.clone(),
                    )
                });
                self.runner.templar.render_str(name, &ctx.value()).ok().map(|v| crate::yaml::display(&v))
            })
            .collect()
    }
}

/// The hosts of `members` still in play.
fn in_play(states: &HostStates, members: &[HostId]) -> Vec<HostId> {
    members.iter().copied().filter(|id| states[*id].status == HostStatus::Active).collect()
}

/// Whether `task` is where `--start-at-task WANT` starts, as Ansible's play iterator decides:
/// its name or its displayed name (`role : name`) is WANT or matches it as a shell pattern.
pub(crate) fn starts_here(task: &Task, want: &str) -> bool {
    let display = task.display_name();
    let names = task.name.iter().map(String::as_str).chain(std::iter::once(display.as_str()));
    names.into_iter().any(|n| n == want || orc_modules::fnmatch::fnmatch(n, want))
}

/// How many times one flush may go over the handlers when handlers notify each other.
const MAX_HANDLER_PASSES: usize = 64;

/// The handlers a notification selects, by index, as Ansible's `search_handlers_by_notification`:
/// the first handler whose name (plain or `role : name`) is the notification, and every handler
/// that listens to it as a topic (one per distinct name).
pub(crate) fn handlers_for(handlers: &[Task], notification: &str) -> Vec<usize> {
    let names: Vec<Option<String>> = handlers.iter().map(|h| h.name.clone()).collect();
    handlers_for_names(handlers, &names, notification)
}

/// [`handlers_for`] with the handlers' names as rendered (`names[i]` is `handlers[i]`'s).
pub(crate) fn handlers_for_names(handlers: &[Task], names: &[Option<String>], notification: &str) -> Vec<usize> {
    // A role's handler answers to `role : name` and `role : topic` too, with the role's short
    // and full (collection) name, as Ansible's `Handler._validate_listen` and `get_name`.
    let role_prefixed = |h: &Task, what: &str| {
        h.role.as_ref().is_some_and(|r| {
            let short = crate::playbook::split_collection(&r.name).map(|(_, role)| role).unwrap_or(&r.name);
            notification == format!("{} : {what}", r.name) || notification == format!("{short} : {what}")
        })
    };
    let mut out = Vec::new();
    let name = |i: usize| names.get(i).and_then(|n| n.as_deref());
    let by_name = |i: usize| name(i).is_some_and(|n| n == notification || role_prefixed(&handlers[i], n));
    // Ansible searches the play's handler blocks last first, each block in order: a role's
    // handlers (one block per role, loaded after the play's) win over the play's of the same
    // name, and within one block the first wins.
    let same_block = |a: &Task, b: &Task| match (&a.role, &b.role) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (None, None) => true,
        _ => false,
    };
    let mut order = Vec::with_capacity(handlers.len());
    let mut end = handlers.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && same_block(&handlers[start - 1], &handlers[end - 1]) {
            start -= 1;
        }
        order.extend(start..end);
        end = start;
    }
    if let Some(i) = order.iter().copied().find(|i| by_name(*i)) {
        out.push(i);
    }
    // Listeners in the same order: of two with one name, the one found first answers.
    let mut seen: Vec<&str> = Vec::new();
    for i in order {
        let h = &handlers[i];
        if !h.listen.iter().any(|t| t == notification || role_prefixed(h, t)) {
            continue;
        }
        if let Some(n) = name(i) {
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
        }
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// A counting semaphore for `throttle:`.
struct Throttle {
    free: std::sync::Mutex<usize>,
    cv: std::sync::Condvar,
}

/// A held throttle slot, given back on drop.
struct Slot<'a>(&'a Throttle);

impl Throttle {
    fn new(n: usize) -> Throttle {
        Throttle { free: std::sync::Mutex::new(n), cv: std::sync::Condvar::new() }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.cv.notify_one();
    }
}

/// How deep include_tasks/include_role may nest before orc calls it a loop.
const MAX_INCLUDE_DEPTH: usize = 50;

/// What an include resolved to for a group of hosts.
enum Expansion {
    /// A task file (its path and compiled tasks).
    Tasks(std::path::PathBuf, Vec<Task>),
    /// A role block.
    Role(Box<Task>),
}

/// One expansion of an include: what tells it apart, the loop variables it runs with, the
/// item's label, and the hosts that run it.
struct IncludeGroup {
    key: String,
    layer: Map<String, Value>,
    label: Option<String>,
    hosts: Vec<HostId>,
}

/// Where the answers to a play's `vars_prompt` are kept (`Runner::prompted`).
pub(crate) fn prompt_key(play: &Play) -> String {
    play.loc.to_string()
}

/// One host's vars_files variables: each entry's file names rendered with the host's variables
/// (role defaults, inventory, facts, play vars, extra vars and the magic variables, as Ansible's
/// `get_vars` has them at that point), the first that exists loaded. Files are loaded once per
/// set of paths (`cache`), shared by every host that names the same ones. An undefined name skips
/// the entry (`skipped`) until the host has gathered facts.
fn host_vars_files(
    runner: &Runner,
    play: &Play,
    ctx: &PlayCtx,
    st: &HostState,
    after_facts: bool,
    cache: &mut HashMap<Vec<PathBuf>, Arc<Map<String, Value>>>,
    skipped: &mut bool,
) -> Result<Arc<Map<String, Value>>, String> {
    let mut base = ctx.role_defaults.clone();
    merge(&mut base, &st.inventory);
    crate::vars::add_facts(&mut base, &st.facts, &st.bare_facts);
    merge(&mut base, &ctx.play_vars);
    merge(&mut base, &runner.opts.extra_vars);
    merge(&mut base, &super::magic::host(runner, &st.name, None, std::slice::from_ref(&play.dir)));
    let data = st.facts.keys().map(|k| if k.starts_with("ansible_") { k.clone() } else { format!("ansible_{k}") });
    let vars = crate::vars::Context::layered(
        base,
        ctx.magic.clone(),
        data.chain(["ansible_facts".to_string()]).collect(),
        HostVars::new(Vec::new()),
        runner.templar.clone(),
    );
    // Once the host has gathered facts (this play or an earlier one), an undefined name is an
    // error, as in Ansible.
    let strict = after_facts || st.facts.get("module_setup").is_some_and(|v| v == &Value::Bool(true));
    let mut paths = Vec::new();
    'entries: for (files, loc) in &play.vars_files {
        // Alternatives (an entry written as a list): the first file that exists, as in Ansible.
        let mut tried = Vec::new();
        for file in files {
            let name = match runner.templar.render_str(file, &vars.value()) {
                Ok(v) => crate::yaml::display(&v),
                Err(e) if e.undefined.is_some() && !strict => {
                    *skipped = true;
                    continue 'entries;
                }
                Err(e) if e.undefined.is_some() => {
                    return Err(format!(
                        "an undefined variable was found when attempting to template the vars_files item '{file}' ({loc}): {e}"
                    ))
                }
                Err(e) => return Err(format!("vars_files entry '{file}' ({loc}): {e}")),
            };
            match play.vars_file(&name) {
                Ok(path) => {
                    paths.push(path);
                    continue 'entries;
                }
                Err(searched) => tried.extend(searched.iter().map(|p| p.display().to_string())),
            }
        }
        return Err(format!("vars file {} ({loc}) was not found", tried.join(", ")));
    }
    if let Some(m) = cache.get(&paths) {
        return Ok(m.clone());
    }
    let mut out = Map::new();
    for path in &paths {
        if let Some(m) = crate::inventory::load_vars_file(path).map_err(|e| e.report())? {
            merge(&mut out, &m);
        }
    }
    let out = Arc::new(out);
    cache.insert(paths, out.clone());
    Ok(out)
}
