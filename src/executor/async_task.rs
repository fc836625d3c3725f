//! A task with `async:`: its module runs in the background (executor/jobs.rs), and `poll:`
//! decides whether the task waits for it (checking every `poll` seconds, as Ansible's async
//! action does) or returns at once with the job's id for `async_status`.

use std::time::Duration;

use orc_modules::{Module, ModuleCtx};
use serde_json::{json, Map, Value};

use super::jobs::{self, Job};
use super::run_task::{module_item, ItemResult, TaskController};
use super::task_conn::TaskConn;
use super::Runner;
use crate::output::{AsyncState, Event, Status};

/// Modules Ansible runs through an action plugin that refuses `async:` ("This action (copy)
/// does not support async."); engine actions refuse it too. Every other module runs in the
/// background as Ansible's `normal` action (and `command`, `shell`, `package`, `service`, `dnf`,
/// `uri`, whose plugins support it) does.
const NO_ASYNC: &[&str] = &[
    "add_host",
    "assemble",
    "copy",
    "fetch",
    "gather_facts",
    "group_by",
    "pause",
    "raw",
    "reboot",
    "script",
    "set_stats",
    "template",
    "unarchive",
    "validate_argument_spec",
    "wait_for_connection",
];

/// Whether `action` may run with `async:` (see [`NO_ASYNC`]).
pub(super) fn supports_async(action: &crate::playbook::Action) -> bool {
    action.engine.is_none() && !NO_ASYNC.contains(&action.short.as_str())
}

/// Ansible's failure for an action that refuses `async:`.
pub(super) fn refused(action: &crate::playbook::Action) -> String {
    format!("This action ({}) does not support async.", action.module)
}

/// What a background job needs, owned: it outlives the task that starts it.
pub(super) struct Background {
    /// The module.
    pub module: &'static dyn Module,
    /// Its rendered arguments.
    pub args: Map<String, Value>,
    /// Check mode.
    pub check: bool,
    /// Diff mode.
    pub diff: bool,
    /// File lookups and templates for the module.
    pub controller: Box<TaskController>,
    /// The host it runs on (the delegate, if delegated).
    pub target: String,
    /// How to reach it.
    pub conn_vars: Map<String, Value>,
    /// The task's `environment:`.
    pub environment: Vec<(String, String)>,
    /// `async:`: how long it may run.
    pub limit: Duration,
}

/// Starts the job; with `poll` 0 returns its id at once, else waits for it.
pub(super) fn run(runner: &Runner, bg: Background, poll: u64) -> ItemResult {
    let (jid, job) = runner.jobs.start();
    let host = bg.target.clone();
    let limit = bg.limit;
    let options = runner.pool.options().clone();
    let worker = job.clone();
    let spawned = std::thread::Builder::new().name(format!("orc-async-{jid}")).spawn(move || {
        let outcome = crate::connection::connect(&bg.target, &bg.conn_vars, &options).map(|mut conn| {
            // The job's `async:` time is its deadline: a command still running then is ended, as
            // Ansible's async wrapper kills the job.
            let mut conn =
                TaskConn::new(conn.as_mut(), &bg.environment, Some(bg.limit.as_secs()), options.command_timeout);
            let result = {
                let mut ctx =
                    ModuleCtx { conn: &mut conn, check: bg.check, diff: bg.diff, controller: bg.controller.as_ref() };
                bg.module.run(&bg.args, &mut ctx)
            };
            (result, conn.timed_out())
        });
        let result = match outcome {
            Ok((_, true)) => timed_out(),
            Ok((result, false)) => module_item(Ok(result), bg.diff).result,
            Err(e) => module_item(Err(e), bg.diff).result,
        };
        worker.finish(result);
    });
    if let Err(e) = spawned {
        return super::run_task::failed(format!("could not start the background job: {e}"));
    }
    if poll == 0 {
        // Fire and forget: async_status asks about the job later.
        return ItemResult {
            status: Status::Changed,
            result: json!({"ansible_job_id": jid, "changed": true, "failed": false, "finished": false, "started": true}),
            diffs: vec![],
            changed: true,
        };
    }
    let emit = |state| runner.sink.emit(&Event::Async { host: host.clone(), jid: jid.clone(), state });
    match jobs::wait(&job, Duration::from_secs(poll), limit, || emit(AsyncState::Poll)) {
        Some(result) => {
            // As Ansible cleans up after a job it polled to its end: async_status no longer
            // finds it.
            runner.jobs.remove(&jid);
            let item = status_of(Job::shaped(&jid, Some(result)));
            let failed = matches!(item.status, Status::Failed { .. } | Status::Unreachable);
            emit(if failed { AsyncState::Failed } else { AsyncState::Ok });
            item
        }
        // The job neither ended nor was ended at its deadline (a connection that hangs): given
        // up on as Ansible's async action does when its polls run out.
        None => {
            emit(AsyncState::Failed);
            ItemResult {
                status: Status::Failed { ignored: false },
                result: json!({
                    "async_result": Job::shaped(&jid, None),
                    "changed": false,
                    "msg": format!("async task did not complete within the requested time - {}s", limit.as_secs()),
                }),
                diffs: vec![],
                changed: false,
            }
        }
    }
}

/// The result of a job ended at its `async:` deadline, as Ansible's async wrapper writes it.
fn timed_out() -> Value {
    json!({
        "changed": false,
        "failed": true,
        "msg": "Timeout exceeded",
        "stderr": "",
        "stderr_lines": [],
        "stdout": "",
        "stdout_lines": [],
    })
}

/// A finished job's result as a task result.
pub(super) fn status_of(result: Value) -> ItemResult {
    let flag = |k: &str| result.get(k).and_then(Value::as_bool).unwrap_or(false);
    let status = if flag("unreachable") {
        Status::Unreachable
    } else if flag("failed") {
        Status::Failed { ignored: false }
    } else if flag("skipped") {
        Status::Skipped
    } else if flag("changed") {
        Status::Changed
    } else {
        Status::Ok
    };
    ItemResult { changed: flag("changed"), status, result, diffs: vec![] }
}
