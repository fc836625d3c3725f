//! The probes of a host's next tasks, sent ahead with the probe of the task it is running: a run
//! of consecutive no-op file tasks then costs one round trip per host instead of one per task
//! (docs/architecture.md, "Probes of later tasks"; docs/performance.md).
//!
//! This side only says what to send: the next tasks of the same task list whose module states
//! its first probe (`Module::first_probe`: file, copy, template, lineinfile, blockinfile, command
//! and shell with `creates`), with their arguments rendered now with the host's variables. The
//! connection (connection/probing.rs) keeps the answers and uses one only for a probe of exactly
//! that text sent while nothing orc did could have changed it; a task whose arguments render
//! differently when it runs just asks the host as before.

use std::sync::Arc;

use serde_json::Value;

use super::host::HostState;
use super::run_task::{context_for, PlayCtx};
use super::Runner;
use crate::playbook::{Task, TaskBody};
use crate::vars::HostVars;

/// How many later tasks' probes go with one probe.
pub const LOOKAHEAD: usize = 8;

/// The tasks after the running one in its task list, and what rendering them needs.
#[derive(Clone, Copy)]
pub struct Ahead<'a> {
    /// The tasks that follow in the same list (a block's, a section's), in order.
    pub next: &'a [Task],
    /// The `hostvars` of the running task.
    pub hostvars: &'a Arc<HostVars>,
}

impl Ahead<'_> {
    /// Whether probes may be sent ahead for a task running in this list: not in `--step` mode
    /// (the user may change a host between two questions), and not when nothing follows.
    pub fn usable(&self, runner: &Runner) -> bool {
        !self.next.is_empty() && runner.stepper.is_none()
    }
}

/// The first probes of the next tasks of `ahead` (at most [`LOOKAHEAD`]), as they would be sent
/// if the tasks ran now on host `st` (the running task is `current`). It stops at the first task
/// that is not a plain module task stating a probe (a block, an include, an engine action, a
/// loop, `delegate_to`, `async`, `run_once`, `environment`, `module_defaults`, another
/// connection or become setting, arguments that do not render without lookups): what follows
/// such a task may well differ by then. Tasks that the `--tags` selection leaves out are passed.
pub fn probes(runner: &Runner, play: &PlayCtx, st: &HostState, current: &Task, ahead: &Ahead) -> Vec<String> {
    let mut out = Vec::new();
    for task in ahead.next {
        if out.len() >= LOOKAHEAD {
            break;
        }
        let TaskBody::Action(action) = &task.body else { break };
        if action.engine.is_some() {
            break;
        }
        if !runner.opts.tags.selects(&task.kw.tags) {
            continue;
        }
        let Some(module) = orc_modules::lookup(&action.short) else { break };
        let kw = &task.kw;
        let same_connection = kw.connection == current.kw.connection
            && kw.remote_user == current.kw.remote_user
            && kw.port == current.kw.port
            && kw.r#become == current.kw.r#become
            && kw.become_user == current.kw.become_user
            && kw.become_method == current.kw.become_method;
        if task.loop_spec.is_some()
            || kw.delegate_to.is_some()
            || task.r#async.is_some()
            || kw.run_once.is_some()
            || !kw.environment.is_empty()
            || !kw.module_defaults.is_empty()
            || !same_connection
            || module.reconnects()
        {
            break;
        }
        let ctx = context_for(runner, play, st, task, ahead.hostvars);
        let rendered = crate::template::speculatively(|| {
            runner.templar.render_value(&Value::Object(action.args.clone()), &ctx.value())
        });
        let Ok(Value::Object(mut args)) = rendered else { break };
        args.retain(|_, v| v.as_str() != Some(crate::template::OMIT));
        match module.first_probe(&args) {
            Some(p) => out.push(p),
            None => break,
        }
    }
    out
}
