//! One play with the linear strategy: each task on every host still in play, then the next task;
//! blocks with rescue/always per host; handlers at the end of each section and on flush_handlers.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::host::{count, HostState, HostStatus};
use super::run_task::{run_on_host, HostOutcome, PlayCtx};
use super::scope::Scope;
use super::Runner;
use crate::output::{Event, Status, TaskKind};
use crate::playbook::{self, Play, Task, TaskBody};
use crate::vars::{merge, HostVars};

/// Runs one play on its hosts; returns whether anything changed.
pub fn run_play(runner: &Runner, play: &Play, states: &mut Vec<HostState>) -> bool {
    let pattern = super::play_hosts::pattern(play, runner.opts).unwrap_or_else(|_| play.hosts.clone());
    let mut hosts = runner.inventory.select(&pattern).unwrap_or_default();
    if let Some(limit) = &runner.opts.limit {
        hosts = runner.inventory.limit(hosts, limit).unwrap_or_default();
    }
    let mut members = Vec::new();
    for h in &hosts {
        let idx = match states.iter().position(|s| &s.name == h) {
            Some(i) => i,
            None => {
                states.push(HostState::new(h, runner.inventory.host_vars(h)));
                states.len() - 1
            }
        };
        // Hosts that failed or became unreachable in an earlier play stay out.
        if states[idx].status == HostStatus::Active || states[idx].status == HostStatus::Ended {
            states[idx].status = HostStatus::Active;
            states[idx].played = true;
            members.push(idx);
        }
    }
    if members.is_empty() {
        runner.sink.emit(&Event::NoHostsMatched { name: play.name.clone() });
        return false;
    }
    order_hosts(&mut members, states, play.order.as_deref());
    runner.sink.emit(&Event::PlayStart {
        name: play.name.clone(),
        hosts: members.iter().map(|i| states[*i].name.clone()).collect(),
    });
    let mut changed = false;
    let mut offset = 0;
    // A serial that does not render was reported by preflight; as written otherwise.
    let serial = super::play_hosts::serial(play, runner.opts).unwrap_or_else(|_| play.serial.clone());
    for size in serial_batches(serial.as_ref(), members.len()) {
        let batch: Vec<usize> = members[offset..(offset + size).min(members.len())].to_vec();
        offset += size;
        if batch.is_empty() {
            break;
        }
        for i in &batch {
            // Notifications belong to the batch that made them: the handler list is per batch.
            states[*i].notified.clear();
            states[*i].pending_handlers.clear();
        }
        let mut run = PlayRun::new(runner, play, states, &members, &batch);
        if play.strategy == "free" {
            changed |= run.run_free(states, &batch);
        } else {
            run.run_sections(states, &batch);
            changed |= run.changed;
        }
        let failed =
            batch.iter().filter(|i| matches!(states[**i].status, HostStatus::Failed | HostStatus::Unreachable)).count();
        let over_max = play.max_fail_percentage.is_some_and(|p| failed as f64 * 100.0 / batch.len() as f64 > p);
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
                for i in &members {
                    if states[*i].status == HostStatus::Active {
                        states[*i].status = HostStatus::Failed;
                        states[*i].stats.failed += 1;
                    }
                }
            }
            break;
        }
    }
    for i in &members {
        if states[*i].status == HostStatus::Ended {
            states[*i].status = HostStatus::Active;
        }
    }
    changed
}

/// `rollback:` (orc's own play keyword, docs/rollouts.md): after a batch stopped the play, its
/// tasks run on every host of that batch and of the batches before it that can be reached, the
/// failed ones included, then the play stops. Hosts that failed stay failed (their recap says so);
/// the others leave the play without a failure counted, so the exit code says what went wrong
/// (2 a task failed, 4 only a host was unreachable). Returns whether the rollback changed anything.
fn run_rollback(runner: &Runner, play: &Play, states: &mut [HostState], members: &[usize], done: &[usize]) -> bool {
    let hosts: Vec<usize> = done.iter().copied().filter(|i| states[*i].status != HostStatus::Unreachable).collect();
    let failed: Vec<usize> = hosts.iter().copied().filter(|i| states[*i].status == HostStatus::Failed).collect();
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
    let scope = play_scope(play);
    run.run_tasks(states, &play.rollback, &scope, &hosts);
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
fn order_hosts(members: &mut [usize], states: &[HostState], order: Option<&str>) {
    match order {
        Some("reverse_inventory") => members.reverse(),
        Some("sorted") => members.sort_by(|a, b| states[*a].name.cmp(&states[*b].name)),
        Some("reverse_sorted") => members.sort_by(|a, b| states[*b].name.cmp(&states[*a].name)),
        Some("shuffle") => fastrand::shuffle(members),
        _ => {}
    }
}

/// The keywords every task of a play inherits from the play itself.
fn play_scope(play: &Play) -> Scope {
    Scope {
        tags: play.tags.clone(),
        r#become: play.r#become,
        become_user: play.become_user.clone(),
        ignore_errors: play.ignore_errors.map(Value::Bool),
        check_mode: play.check_mode,
        diff: play.diff,
        any_errors_fatal: Some(play.any_errors_fatal),
        ..Scope::default()
    }
}

fn gather_task(play: &Play) -> Task {
    let action =
        playbook::Action { module: "setup".into(), short: "setup".into(), args: Map::new(), loc: play.loc.clone() };
    let mut t = Task::new(play.loc.clone(), TaskBody::Action(action));
    t.name = Some("Gathering Facts".into());
    t.tags = vec!["always".into()];
    t
}

/// State of one play's run.
pub(crate) struct PlayRun<'r> {
    runner: &'r Runner<'r>,
    play: &'r Play,
    ctx: Arc<PlayCtx>,
    changed: bool,
    end_play: bool,
    /// Handlers of roles brought in by include_role at run time.
    extra_handlers: Vec<Task>,
    /// Why a (templated) vars_files entry could not be loaded: the play fails on its hosts.
    vars_files_error: Option<String>,
}

impl<'r> PlayRun<'r> {
    fn new(
        runner: &'r Runner<'r>,
        play: &'r Play,
        states: &[HostState],
        members: &[usize],
        batch: &[usize],
    ) -> PlayRun<'r> {
        let mut role_defaults = Map::new();
        let mut role_vars = Map::new();
        collect_role_vars(&play.roles, &mut role_defaults, &mut role_vars);
        let play_hosts: Vec<Value> = members.iter().map(|i| Value::String(states[*i].name.clone())).collect();
        let play_batch: Vec<Value> = batch.iter().map(|i| Value::String(states[*i].name.clone())).collect();
        let mut play_vars = play.vars.clone();
        let (files_vars, vars_files_error) = match load_vars_files(runner, play, states, members) {
            Ok(m) => (m, None),
            Err(e) => (Map::new(), Some(e)),
        };
        merge(&mut play_vars, &files_vars);
        let ctx = PlayCtx {
            play_vars,
            role_defaults,
            role_vars,
            play_hosts,
            play_batch,
            groups: runner.inventory.groups_var(),
            play_dir: play.dir.clone(),
            connection: play.connection.clone(),
            magic: Map::new(),
        };
        let ctx = PlayCtx { magic: super::run_task::play_magic(runner, &ctx), ..ctx };
        PlayRun {
            runner,
            play,
            ctx: Arc::new(ctx),
            changed: false,
            end_play: false,
            extra_handlers: Vec::new(),
            vars_files_error,
        }
    }

    /// Gathers facts, runs every section and flushes handlers for the hosts of one batch.
    fn run_sections(&mut self, states: &mut [HostState], batch: &[usize]) {
        let play = self.play;
        if let Some(msg) = self.vars_files_error.clone() {
            let active: Vec<usize> =
                batch.iter().copied().filter(|i| states[*i].status == HostStatus::Active).collect();
            self.fail_hosts(states, "vars_files", &play.loc, &active, &msg);
            return;
        }
        let scope = play_scope(play);
        if play.gather_facts && orc_modules::lookup("setup").is_some() {
            let gather = gather_task(play);
            self.run_action(states, &gather, &scope, batch, TaskKind::Gather);
        }
        for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            self.run_tasks(states, section, &scope, batch);
            // roles and tasks form one section: handlers flush after both, not between them.
            if !std::ptr::eq(section, &play.roles) {
                self.flush_handlers(states, batch);
            }
            if self.end_play {
                break;
            }
        }
    }

    /// The free strategy: every host runs through the play on its own, as fast as it can; a host
    /// sees the others' variables as they were when the batch started.
    fn run_free(&mut self, states: &mut [HostState], batch: &[usize]) -> bool {
        let this: &PlayRun = self;
        let selected: Vec<(usize, &mut HostState)> =
            states.iter_mut().enumerate().filter(|(i, _)| batch.contains(i)).collect();
        let results: Vec<(bool, bool)> = this.runner.workers.install(|| {
            selected
                .into_par_iter()
                .map(|(_, st)| {
                    let mut sub = PlayRun {
                        runner: this.runner,
                        play: this.play,
                        ctx: this.ctx.clone(),
                        changed: false,
                        end_play: false,
                        extra_handlers: Vec::new(),
                        vars_files_error: this.vars_files_error.clone(),
                    };
                    sub.run_sections(std::slice::from_mut(st), &[0]);
                    (sub.changed, sub.end_play)
                })
                .collect()
        });
        self.end_play |= results.iter().any(|r| r.1);
        results.iter().any(|r| r.0)
    }

    /// Runs a task list for `members`; returns the hosts that failed during it.
    fn run_tasks(&mut self, states: &mut [HostState], tasks: &[Task], scope: &Scope, members: &[usize]) -> Vec<usize> {
        let mut failed = Vec::new();
        for task in tasks {
            if self.end_play || crate::interrupt::interrupted() {
                break;
            }
            let active: Vec<usize> =
                members.iter().copied().filter(|i| states[*i].status == HostStatus::Active).collect();
            if active.is_empty() {
                break;
            }
            let newly_failed = match &task.body {
                TaskBody::Block { block, rescue, always } => {
                    self.run_block(states, task, block, rescue, always, scope, &active)
                }
                TaskBody::IncludeTasks { .. } | TaskBody::IncludeRole { .. } => {
                    self.run_include(states, task, scope, &active)
                }
                TaskBody::Action(_) => {
                    let kind = if scope.handler { TaskKind::Handler } else { TaskKind::Task };
                    self.run_action(states, task, scope, &active, kind)
                }
            };
            failed.extend(newly_failed);
        }
        failed
    }

    #[allow(clippy::too_many_arguments)]
    fn run_block(
        &mut self,
        states: &mut [HostState],
        task: &Task,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        scope: &Scope,
        active: &[usize],
    ) -> Vec<usize> {
        let inner = scope.child(task);
        let failed = self.run_tasks(states, block, &inner, active);
        let mut still_failed: Vec<usize> = failed.clone();
        if !rescue.is_empty() && !failed.is_empty() {
            // As Ansible: a failure that a rescue handles counts as rescued, not failed, as soon
            // as the rescue starts; a failure inside the rescue counts as failed.
            for i in &failed {
                if states[*i].status == HostStatus::Failed {
                    states[*i].status = HostStatus::Active;
                    states[*i].stats.failed = states[*i].stats.failed.saturating_sub(1);
                    states[*i].stats.rescued += 1;
                }
            }
            let rescue_failed = self.run_tasks(states, rescue, &inner, &failed);
            still_failed = rescue_failed;
        }
        if !always.is_empty() {
            // always runs for every host that entered the block, including those that failed in it.
            let mut revived = Vec::new();
            for i in active {
                if states[*i].status == HostStatus::Failed && still_failed.contains(i) {
                    states[*i].status = HostStatus::Active;
                    revived.push(*i);
                }
            }
            let always_failed = self.run_tasks(states, always, &inner, active);
            for i in revived {
                if states[i].status == HostStatus::Active {
                    states[i].status = HostStatus::Failed;
                }
            }
            for i in always_failed {
                if !still_failed.contains(&i) {
                    still_failed.push(i);
                }
            }
        }
        still_failed
    }

    fn run_include(&mut self, states: &mut [HostState], task: &Task, scope: &Scope, active: &[usize]) -> Vec<usize> {
        if scope.include_depth >= MAX_INCLUDE_DEPTH {
            let msg = format!(
                "{} nests more than {MAX_INCLUDE_DEPTH} levels ({}); is a file including itself?",
                task.display_name(),
                task.loc
            );
            return self.fail_include(states, task, active, &msg);
        }
        let mut inner = scope.child(task);
        inner.include_depth += 1;
        if task.loop_spec.is_some() {
            return self.run_include_loop(states, task, &inner, scope, active);
        }
        // Resolve the file or role per host (the name may be templated), then run each distinct
        // expansion for the hosts that resolved to it.
        let hostvars = self.hostvars(states);
        let mut groups: Vec<IncludeGroup> = Vec::new();
        for i in active {
            let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*i], task, scope, &hostvars);
            if !super::run_task::conditions_hold(self.runner, &ctx, scope, task).unwrap_or(true) {
                continue;
            }
            let expansion = self.expand_include(task, scope, &ctx);
            let same = groups.iter().position(|(k, _)| same_expansion(k, &expansion));
            match same {
                Some(g) => groups[g].1.push(*i),
                None => groups.push((expansion, vec![*i])),
            }
        }
        let mut failed = Vec::new();
        for (expansion, hosts) in groups {
            failed.extend(self.run_expansion(states, task, expansion, &inner, &hosts, None));
        }
        failed
    }

    /// `include_tasks`/`include_role` with a loop: each host runs the include once per item, with
    /// the loop variable set inside it.
    fn run_include_loop(
        &mut self,
        states: &mut [HostState],
        task: &Task,
        inner: &Scope,
        scope: &Scope,
        active: &[usize],
    ) -> Vec<usize> {
        let Some(spec) = &task.loop_spec else { return Vec::new() };
        let loop_var = task.loop_control.get("loop_var").and_then(Value::as_str).unwrap_or("item").to_string();
        let index_var = task.loop_control.get("index_var").and_then(Value::as_str).map(str::to_string);
        let mut failed = Vec::new();
        for i in active {
            let hostvars = self.hostvars(states);
            let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*i], task, scope, &hostvars);
            let items = match super::loops::items(self.runner, spec, &ctx, &self.play.dir) {
                Ok(items) => items,
                Err(msg) => {
                    failed.extend(self.fail_include(states, task, &[*i], &msg));
                    continue;
                }
            };
            for (n, item) in items.into_iter().enumerate() {
                if states[*i].status != HostStatus::Active {
                    break;
                }
                let mut layer = Map::new();
                layer.insert(loop_var.clone(), item.clone());
                if let Some(iv) = &index_var {
                    layer.insert(iv.clone(), Value::from(n));
                }
                let ictx = ctx.with(&layer);
                if !super::run_task::conditions_hold(self.runner, &ictx, scope, task).unwrap_or(true) {
                    continue;
                }
                let expansion = self.expand_include(task, scope, &ictx);
                let mut item_scope = inner.clone();
                item_scope.vars.push(Arc::new(layer));
                let label = crate::output::item_label(&item);
                failed.extend(self.run_expansion(states, task, expansion, &item_scope, &[*i], Some(label)));
            }
        }
        failed
    }

    /// Loads what an include names for one host's variables.
    fn expand_include(&mut self, task: &Task, scope: &Scope, ctx: &Arc<crate::vars::Context>) -> Expansion {
        let render = |s: &str| {
            self.runner.templar.render_str(s, &ctx.value()).map(|v| crate::yaml::display(&v)).map_err(|e| e.to_string())
        };
        match &task.body {
            TaskBody::IncludeTasks { file, base } => {
                let loaded = render(file).and_then(|n| {
                    let p = resolve_include(base, &n, scope);
                    let tasks = playbook::parse_task_list_file(&p, scope.role.clone(), &self.play.dir)
                        .map_err(|e| e.report())?;
                    Ok((p, tasks))
                });
                match loaded {
                    Ok((p, tasks)) => Expansion::Tasks(p, tasks),
                    Err(e) => Expansion::Failed(e),
                }
            }
            TaskBody::IncludeRole { name, tasks_from, base } => {
                let block = render(name).and_then(|n| {
                    let spec = playbook::RoleSpec {
                        name: n,
                        params: task.vars.clone(),
                        loc: task.loc.clone(),
                        tags: vec![],
                        when: vec![],
                        tasks_from: tasks_from.clone(),
                    };
                    let loaded = playbook::load_role(&spec, base).map_err(|e| e.report())?;
                    let mut b = Task::new(
                        task.loc.clone(),
                        TaskBody::Block { block: loaded.tasks, rescue: vec![], always: vec![] },
                    );
                    b.role = Some(loaded.role.clone());
                    b.is_role_boundary = true;
                    Ok((b, loaded.handlers))
                });
                match block {
                    Ok((b, handlers)) => {
                        // The role's handlers can be notified from now on, as in Ansible.
                        for h in handlers {
                            if !self.extra_handlers.iter().any(|x| x.loc.to_string() == h.loc.to_string()) {
                                self.extra_handlers.push(h);
                            }
                        }
                        Expansion::Role(Box::new(b))
                    }
                    Err(e) => Expansion::Failed(e),
                }
            }
            TaskBody::Action(_) | TaskBody::Block { .. } => Expansion::Failed("not an include".into()),
        }
    }

    fn run_expansion(
        &mut self,
        states: &mut [HostState],
        task: &Task,
        expansion: Expansion,
        inner: &Scope,
        hosts: &[usize],
        item_label: Option<String>,
    ) -> Vec<usize> {
        match expansion {
            Expansion::Role(b) => self.run_tasks(states, std::slice::from_ref(&*b), inner, hosts),
            Expansion::Tasks(path, ts) => {
                let names: Vec<String> = hosts.iter().map(|i| states[*i].name.clone()).collect();
                let shown = std::fs::canonicalize(&path).unwrap_or(path).display().to_string();
                self.runner.sink.emit(&Event::Included { path: shown, hosts: names, item_label });
                self.run_tasks(states, &ts, inner, hosts)
            }
            Expansion::Failed(msg) => self.fail_include(states, task, hosts, &msg),
        }
    }

    /// Fails an include on `hosts` with `msg`.
    fn fail_include(&mut self, states: &mut [HostState], task: &Task, hosts: &[usize], msg: &str) -> Vec<usize> {
        self.fail_hosts(states, &task.display_name(), &task.loc, hosts, msg)
    }

    /// Reports a failure of the step `name` (written at `loc`) on `hosts` with `msg`, and takes
    /// those hosts out of the play.
    fn fail_hosts(
        &mut self,
        states: &mut [HostState],
        name: &str,
        loc: &crate::error::Loc,
        hosts: &[usize],
        msg: &str,
    ) -> Vec<usize> {
        self.runner.sink.emit(&Event::TaskStart {
            name: name.to_string(),
            kind: TaskKind::Task,
            origin: loc.to_string(),
        });
        for i in hosts {
            let mut r = crate::output::HostResult::new(
                states[*i].name.clone(),
                Status::Failed { ignored: false },
                serde_json::json!({"changed": false, "failed": true, "msg": msg}),
            );
            r.error =
                Some(crate::output::ErrorReport { message: format!("Task failed: {msg}"), origin: Some(loc.clone()) });
            self.runner.sink.emit(&Event::HostResult(Box::new(r)));
            count(&mut states[*i].stats, Status::Failed { ignored: false }, false);
            states[*i].status = HostStatus::Failed;
        }
        hosts.to_vec()
    }

    fn hostvars(&self, states: &[HostState]) -> Arc<HostVars> {
        HostVars::new(states.iter().map(|s| (s.name.clone(), s.view())).collect())
    }

    /// Runs one action task on `active` hosts in parallel; emits results in host order.
    pub(crate) fn run_action(
        &mut self,
        states: &mut [HostState],
        task: &Task,
        scope: &Scope,
        active: &[usize],
        kind: TaskKind,
    ) -> Vec<usize> {
        if crate::interrupt::interrupted() {
            return Vec::new();
        }
        let tags = scope.tags_of(task);
        if kind == TaskKind::Task && !self.runner.opts.tags.selects(&tags) {
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
        let short = task.action().map(|a| a.short.as_str()).unwrap_or("");
        if short == "meta" {
            return self.run_meta(states, task, scope, active);
        }
        let hostvars = self.hostvars(states);
        let name = self.display_name(states, task, scope, active, &hostvars);
        if kind != TaskKind::Gather && !self.runner.step_allows(&name) {
            return Vec::new();
        }
        self.runner.sink.emit(&Event::TaskStart { name, kind, origin: task.loc.to_string() });

        let run_once = task.run_once;
        let targets: Vec<usize> = if run_once { active.iter().take(1).copied().collect() } else { active.to_vec() };
        let runner = self.runner;
        let ctx = self.ctx.clone();
        let total = targets.len();
        let mut is_target = vec![false; states.len()];
        for i in &targets {
            is_target[*i] = true;
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        // `throttle:` caps how many hosts run this task at once, below --forks.
        let slots = Throttle::new(task.throttle.map(|t| t.max(1) as usize).unwrap_or(usize::MAX));
        let mut outcomes: Vec<(usize, HostOutcome)> = runner.workers.install(|| {
            states
                .par_iter_mut()
                .enumerate()
                .filter(|(i, _)| is_target.get(*i).copied().unwrap_or(false))
                .map(|(i, st)| {
                    let _slot = slots.acquire();
                    let out = run_on_host(runner, &ctx, st, task, scope, &hostvars);
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    runner.sink.emit(&Event::Progress { done: n, total });
                    (i, out)
                })
                .collect()
        });
        // delegate_facts: facts gathered through a delegated task belong to the delegate.
        for (_, out) in &outcomes {
            if let Some((target, facts)) = &out.delegated_facts {
                // Every inventory host has a state; an implicit localhost outside the play has none
                // and its facts are dropped.
                if let Some(st) = states.iter_mut().find(|s| &s.name == target) {
                    st.add_facts(facts);
                }
            }
        }
        if crate::interrupt::interrupted() {
            // The results of commands cut short by Ctrl-C are not results: nothing is shown or
            // counted, and the run ends (crate::interrupt).
            return Vec::new();
        }
        outcomes.sort_by_key(|(i, _)| *i);
        if run_once {
            // The one result applies to every host of the batch, as in Ansible.
            if let Some((first, out)) = outcomes.first() {
                let first = *first;
                let copy = out.clone();
                for i in active.iter().filter(|i| **i != first) {
                    if let Some(reg) = &task.register {
                        if let Some(v) = &copy.registered {
                            states[*i].set_fact(reg, v.clone());
                        }
                    }
                    let mut c = copy.clone();
                    c.events.iter_mut().for_each(|e| {
                        if let Event::HostResult(r) = e {
                            r.host = states[*i].name.clone();
                        }
                    });
                    outcomes.push((*i, c));
                }
                outcomes.sort_by_key(|(i, _)| *i);
            }
        }
        let mut failed = Vec::new();
        let mut fatal = false;
        for (i, out) in outcomes {
            for e in &out.events {
                self.runner.sink.emit(e);
            }
            count(&mut states[i].stats, out.status, out.changed);
            if out.changed {
                self.changed = true;
            }
            match out.status {
                Status::Failed { ignored: false } => {
                    states[i].status = HostStatus::Failed;
                    failed.push(i);
                    if task.any_errors_fatal.or(scope.any_errors_fatal).unwrap_or(false) {
                        fatal = true;
                    }
                }
                Status::Unreachable if !task.ignore_unreachable.unwrap_or(false) => {
                    states[i].status = HostStatus::Unreachable;
                    if states[i].lost_reason.is_none() {
                        states[i].lost_reason = out.events.iter().rev().find_map(|e| match e {
                            Event::HostResult(r) => r.result.get("msg").and_then(Value::as_str).map(str::to_string),
                            _ => None,
                        });
                    }
                }
                _ => {}
            }
        }
        if fatal {
            for i in active {
                if states[*i].status == HostStatus::Active {
                    states[*i].status = HostStatus::Failed;
                    failed.push(*i);
                }
            }
        }
        failed
    }

    fn display_name(
        &self,
        states: &[HostState],
        task: &Task,
        scope: &Scope,
        active: &[usize],
        hostvars: &Arc<HostVars>,
    ) -> String {
        let name = task.display_name();
        if !name.contains("{{") {
            return name;
        }
        let Some(first) = active.first() else {
            return name;
        };
        let ctx = super::run_task::context_for(self.runner, &self.ctx, &states[*first], task, scope, hostvars);
        match self.runner.templar.render_str(&name, &ctx.value()) {
            Ok(v) => crate::yaml::display(&v),
            Err(_) => name,
        }
    }

    fn run_meta(&mut self, states: &mut [HostState], task: &Task, scope: &Scope, active: &[usize]) -> Vec<usize> {
        let what = task
            .action()
            .and_then(|a| a.args.get("_raw_params").or_else(|| a.args.get("free_form")))
            .map(crate::yaml::display)
            .unwrap_or_default();
        let hostvars = self.hostvars(states);
        let holds = |st: &HostState| {
            let ctx = super::run_task::context_for(self.runner, &self.ctx, st, task, scope, &hostvars);
            super::run_task::conditions_hold(self.runner, &ctx, scope, task).unwrap_or(false)
        };
        match what.as_str() {
            "flush_handlers" => self.flush_handlers(states, active),
            "end_play" if active.iter().any(|i| holds(&states[*i])) => self.end_play = true,
            "end_host" => {
                for i in active {
                    if holds(&states[*i]) {
                        states[*i].status = HostStatus::Ended;
                    }
                }
            }
            "clear_host_errors" => {
                for st in states.iter_mut() {
                    if st.status == HostStatus::Failed {
                        st.status = HostStatus::Active;
                    }
                }
            }
            "clear_facts" => {
                for i in active {
                    states[*i].facts = Arc::new(Map::new());
                }
            }
            _ => {}
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
    fn flush_handlers(&mut self, states: &mut [HostState], members: &[usize]) {
        // Handlers inherit the play's keywords (become, check_mode...), as tasks do.
        let scope = Scope { handler: true, ..play_scope(self.play) };
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
                let hosts: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|i| {
                        let st = &states[*i];
                        (st.status == HostStatus::Active
                            || (self.play.force_handlers && st.status == HostStatus::Failed))
                            && st.pending_handlers.contains(&idx)
                    })
                    .collect();
                for i in members {
                    states[*i].pending_handlers.remove(&idx);
                }
                if !hosts.is_empty() {
                    let mut hscope = scope.clone();
                    if h.role.is_some() {
                        hscope.role = h.role.clone();
                    }
                    self.run_action(states, h, &hscope, &hosts, TaskKind::Handler);
                    ran_any = true;
                }
                idx += 1;
            }
            let handlers = self.handlers();
            self.resolve_notifications(states, members, &handlers);
            if !ran_any || members.iter().all(|i| states[*i].pending_handlers.is_empty()) {
                break;
            }
        }
    }

    /// Turns the hosts' notifications (names or listen topics) into the handlers they select.
    fn resolve_notifications(&self, states: &mut [HostState], members: &[usize], handlers: &[Task]) {
        for i in members {
            for name in std::mem::take(&mut states[*i].notified) {
                let selected = handlers_for(handlers, &name);
                if selected.is_empty() {
                    self.runner.sink.emit(&Event::Warning(format!(
                        "The requested handler '{name}' was not found in either the main handlers list nor in \
                         the listening handlers list (notified on {})",
                        states[*i].name
                    )));
                }
                states[*i].pending_handlers.extend(selected);
            }
        }
    }
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
    let mut out = Vec::new();
    if let Some(i) =
        handlers.iter().position(|h| h.name.as_deref() == Some(notification) || h.display_name() == notification)
    {
        out.push(i);
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, h) in handlers.iter().enumerate() {
        if !h.listen.iter().any(|t| t == notification) {
            continue;
        }
        if let Some(n) = h.name.as_deref() {
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

/// What an include resolved to for a host.
enum Expansion {
    /// A task file (its path and tasks).
    Tasks(std::path::PathBuf, Vec<Task>),
    /// A role block.
    Role(Box<Task>),
    /// Why it could not be loaded.
    Failed(String),
}

/// Whether two hosts' includes resolved to the same tasks (so they run together).
fn same_expansion(a: &Expansion, b: &Expansion) -> bool {
    match (a, b) {
        (Expansion::Tasks(pa, _), Expansion::Tasks(pb, _)) => pa == pb,
        _ => false,
    }
}

/// One expansion of an include and the hosts that run it.
type IncludeGroup = (Expansion, Vec<usize>);

fn collect_role_vars(tasks: &[Task], defaults: &mut Map<String, Value>, vars: &mut Map<String, Value>) {
    for t in tasks {
        if t.is_role_boundary {
            if let Some(r) = &t.role {
                merge(defaults, &r.defaults);
                merge(vars, &r.vars);
            }
        }
    }
}

fn resolve_include(base: &Path, name: &str, scope: &Scope) -> std::path::PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut cands = vec![base.join(name)];
    if let Some(r) = &scope.role {
        cands.push(r.path.join("tasks").join(name));
    }
    cands.iter().find(|c| c.exists()).cloned().unwrap_or_else(|| base.join(name))
}

fn load_vars_files(
    runner: &Runner,
    play: &Play,
    states: &[HostState],
    members: &[usize],
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if play.vars_files.is_empty() {
        return Ok(out);
    }
    let first = members.first().map(|i| &states[*i]);
    let mut base = play.vars.clone();
    merge(&mut base, &runner.opts.extra_vars);
    if let Some(st) = first {
        let mut m = (*st.inventory).clone();
        merge(&mut m, &base);
        base = m;
    }
    let hv = HostVars::new(Vec::new());
    let ctx = crate::vars::Context::new(base, hv, runner.templar.clone());
    for (file, loc) in &play.vars_files {
        let name = runner
            .templar
            .render_str(file, &ctx.value())
            .map(|v| crate::yaml::display(&v))
            .map_err(|e| format!("vars_files entry '{file}' ({loc}): {e}"))?;
        let path = play.dir.join(&name);
        if !path.is_file() {
            return Err(format!("vars file {} ({loc}) was not found", path.display()));
        }
        if let Some(m) = crate::inventory::load_vars_file(&path).map_err(|e| e.report())? {
            merge(&mut out, &m);
        }
    }
    Ok(out)
}
