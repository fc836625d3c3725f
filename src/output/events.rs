//! The event stream the engine emits and printers render. The engine never prints.

use orc_modules::FileDiff;
use serde_json::Value;

/// How one host's run of one task (or one loop item) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Ran, nothing changed.
    Ok,
    /// Ran and changed something (or would have, in check mode).
    Changed,
    /// Failed; `ignored` when `ignore_errors` turned it into a pass.
    Failed {
        /// `ignore_errors: true` applied.
        ignored: bool,
    },
    /// Not run: `when` was false, or the module skipped itself.
    Skipped,
    /// The host could not be reached or dropped.
    Unreachable,
}

/// Which section a task belongs to, for the banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// A task in pre_tasks, roles, tasks or post_tasks.
    Task,
    /// A handler run at a flush.
    Handler,
    /// Implicit fact gathering.
    Gather,
}

/// Per-host counters of the PLAY RECAP, as Ansible counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostStats {
    /// Tasks that ran (including changed ones).
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// 1 when the host became unreachable.
    pub unreachable: u32,
    /// Tasks that failed (not ignored, not rescued).
    pub failed: u32,
    /// Tasks skipped.
    pub skipped: u32,
    /// Blocks whose failure a rescue handled.
    pub rescued: u32,
    /// Failures ignored by ignore_errors.
    pub ignored: u32,
}

/// One host's outcome of a task, or of one item of a looped task.
#[derive(Debug, Clone)]
pub struct HostResult {
    /// Inventory name.
    pub host: String,
    /// How it ended.
    pub status: Status,
    /// The Ansible-shaped result (`changed`, `msg`, `rc`, module fields...), with `no_log` already
    /// applied by the engine. Its `warnings` (strings) are shown as `[WARNING]:` lines by the
    /// human printer, as Ansible's callback does.
    pub result: Value,
    /// Diffs to show in diff mode (already filtered to diff mode by the engine). Shown before the
    /// host line when the result succeeded and changed, as Ansible does.
    pub diffs: Vec<FileDiff>,
    /// `(item=...)` label for loop items.
    pub item_label: Option<String>,
    /// `delegate_to` target, printed as `[host -> target]`.
    pub delegated_to: Option<String>,
    /// The task's module is `debug` (without no_log): its result is always printed.
    pub show_result: bool,
    /// The result is a loop summary after per-item lines. As Ansible, the human printer shows
    /// nothing for an ok/changed/failed summary (the items were shown), `...ignoring` for an
    /// ignored failure, `skipping: [host]` when every item was skipped.
    pub loop_summary: bool,
    /// The `[ERROR]: ...` report ansible-core 2.19 prints above a failed or unreachable result,
    /// once per distinct text. `None` prints none.
    pub error: Option<ErrorReport>,
    /// An unreachable result the task's `ignore_unreachable` ignores: Ansible's callback prints
    /// `...ignoring` under it.
    pub unreachable_ignored: bool,
}

impl HostResult {
    /// A result with no item, delegation, diff or error report: the common case, and a starting
    /// point for the others (set the public fields).
    pub fn new(host: impl Into<String>, status: Status, result: Value) -> Self {
        HostResult {
            host: host.into(),
            status,
            result,
            diffs: Vec::new(),
            item_label: None,
            delegated_to: None,
            show_result: false,
            loop_summary: false,
            error: None,
            unreachable_ignored: false,
        }
    }
}

/// The error report above a failure, as ansible-core 2.19 shows it:
///
/// ```text
/// [ERROR]: Task failed: Module failed: non-zero return code
/// Origin: /path/site.yml:5:7
///
/// 3   gather_facts: false
/// 4   tasks:
/// 5     - name: Command fails
///         ^ column 7
/// ```
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// The message after `[ERROR]: `, e.g. `Task failed: Module failed: non-zero return code`
    /// (Ansible says `Action failed` for action plugins such as `fail`, `assert`, `debug`, and
    /// `Task failed: Failed to connect ...` for an unreachable host).
    pub message: String,
    /// Where the task is written (the start of its mapping); printed as `Origin:` followed by the
    /// two lines before it, the line itself and a column marker. `None` for no origin (unreachable).
    pub origin: Option<crate::error::Loc>,
}

/// Everything the engine reports, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A playbook file starts.
    PlaybookStart {
        /// Path as given.
        path: String,
        /// Check mode is on.
        check: bool,
    },
    /// A play starts on its hosts (once per `serial` batch, with the batch's hosts).
    PlayStart {
        /// The play's name (or its hosts pattern).
        name: String,
        /// Hosts selected.
        hosts: Vec<String>,
    },
    /// No host matched the play's pattern: the play is skipped. The human printer shows the play
    /// banner (unless a `PlayStart` of the same name came just before) and `skipping: no hosts
    /// matched`.
    NoHostsMatched {
        /// The play's name.
        name: String,
    },
    /// A task starts.
    TaskStart {
        /// Displayed name (`role : name` for role tasks).
        name: String,
        /// Section.
        kind: TaskKind,
        /// `file:line` of the task, printed as `task path: ...` at -vv.
        origin: String,
    },
    /// One host finished a task (or a loop item).
    HostResult(Box<HostResult>),
    /// A warning for the user.
    Warning(String),
    /// Retrying an `until` loop.
    Retry {
        /// Host.
        host: String,
        /// Attempts left.
        left: u32,
    },
    /// News of a task run in the background (`async:`): still running at a poll, done, or
    /// given up on. Printed `ASYNC POLL on host: jid=... started=True finished=False`, `ASYNC OK
    /// on host: jid=...`, `ASYNC FAILED on host: jid=...`.
    Async {
        /// Host.
        host: String,
        /// The job's id (`ansible_job_id`).
        jid: String,
        /// Where the job is.
        state: AsyncState,
    },
    /// An `include_tasks` / `include_role` file was loaded for some hosts (one event per loop
    /// item for a looped include). Printed `included: PATH for h1, h2 => (item=x)`.
    Included {
        /// The included file's path (Ansible shows it absolute).
        path: String,
        /// Hosts that include it, in the order results arrived.
        hosts: Vec<String>,
        /// `(item=...)` label for a looped include.
        item_label: Option<String>,
    },
    /// Every host of the play failed, or `max_fail_percentage` was exceeded: the play stops.
    /// Printed as the `NO MORE HOSTS LEFT` banner.
    NoHostsRemaining,
    /// A play's `rollback:` tasks start after a `serial` batch stopped the play (docs/rollouts.md):
    /// printed as the `ROLLBACK [play]` banner.
    RollbackStart {
        /// The play's name.
        name: String,
        /// The hosts rolled back: the stopped batch's and the earlier batches' reachable hosts.
        hosts: Vec<String>,
    },
    /// A block's `rescue:` section starts for these hosts: the failure each of them had in the
    /// block counts as rescued, not failed (the recap's `rescued`). Printed by nothing in the human
    /// output (Ansible prints nothing either); the JUnit report turns those failures into passes.
    Rescue {
        /// The hosts whose failure the rescue handles, in host order.
        hosts: Vec<String>,
    },
    /// One more host finished the current task (emitted from worker threads as hosts finish;
    /// drives the progress bar, printed by nothing else).
    Progress {
        /// Hosts done so far.
        done: usize,
        /// Hosts running the task.
        total: usize,
    },
    /// What a saved plan holds, per host (docs/plan.md): emitted after a `--plan-out` run and
    /// before a plan is applied. The human printer shows `host: N to change, M unchanged, K
    /// unknown` and the diffs below.
    PlanSummary {
        /// The plan file.
        path: String,
        /// Per host, in inventory order.
        hosts: Vec<crate::plan::HostSummary>,
    },
    /// A host's state differs from the plan being applied: it is left untouched (found before
    /// applying) or stopped at the task (found while applying).
    PlanDrift {
        /// The host.
        host: String,
        /// The tasks that differ, with what differs.
        drifts: Vec<crate::plan::Drift>,
    },
    /// The final per-host counters (printers sort them by host name, as Ansible does).
    Recap {
        /// Host and its counters.
        stats: Vec<(String, HostStats)>,
        /// Hosts that became unreachable, with the one-line reason (the recap repeats it, so a
        /// long run's summary says why a host is missing without scrolling back).
        lost: Vec<(String, String)>,
    },
}

/// Where a background job is, for [`Event::Async`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncState {
    /// Still running at a poll.
    Poll,
    /// Finished.
    Ok,
    /// Ran out of its `async:` time.
    Failed,
}

/// A consumer of events: the human printer, the JSON printer, a JUnit writer, or a test recorder.
pub trait EventSink: Sync + Send {
    /// Handles one event. Called from worker threads; implementations serialize internally.
    fn emit(&self, event: &Event);
}

/// A shared sink is a sink: lets a test keep an `Arc<RecordingSink>` while the engine or a
/// [`MultiSink`](super::MultiSink) owns a clone.
impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn emit(&self, event: &Event) {
        (**self).emit(event)
    }
}
