//! `--output json`: one JSON object per line per event, for CI pipelines and tools. The schema is
//! documented in docs/output-json.md; field names are stable.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use super::events::{Event, EventSink, HostResult, HostStats, Status, TaskKind};

/// Writes each event as one line of JSON, under a lock so lines never interleave.
pub struct JsonPrinter {
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    /// The current task's name, repeated on each `host_result` so lines stand alone.
    task: Option<String>,
    write_error: Option<std::io::Error>,
}

impl JsonPrinter {
    /// A printer writing JSON lines to `out` (stdout in production, a buffer in tests).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonPrinter { state: Mutex::new(State { out, task: None, write_error: None }) }
    }

    /// The first error met while writing (e.g. a closed pipe), if any.
    pub fn take_write_error(&self) -> Option<std::io::Error> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).write_error.take()
    }
}

impl EventSink for JsonPrinter {
    fn emit(&self, event: &Event) {
        if matches!(event, Event::Progress { .. }) {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Event::TaskStart { name, .. } = event {
            st.task = Some(name.clone());
        }
        let mut line = event_json(event, st.task.as_deref()).to_string();
        line.push('\n');
        let State { out, write_error, .. } = &mut *st;
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|_| out.flush()) {
            write_error.get_or_insert(e);
        }
    }
}

/// The `error` object for invalid input found before anything ran (or a usage error): what a
/// consumer of the stream sees instead of events, so it knows why nothing ran. `file`, `line`,
/// `column` and `source` are null when the error has no location.
pub fn error_json(e: &crate::error::OrcError) -> Value {
    use crate::error::OrcError;
    let (loc, help) = match e {
        OrcError::Input { loc, help, .. } => (loc.as_ref(), help.as_deref()),
        _ => (None, None),
    };
    let kind = match e {
        OrcError::Input { .. } => "input",
        OrcError::Usage(_) => "usage",
        OrcError::Read { .. } => "read",
    };
    json!({
        "event": "error",
        "kind": kind,
        "message": e.to_string(),
        "file": loc.map(|l| l.file.path.display().to_string()),
        "line": loc.map(|l| l.line),
        "column": loc.map(|l| l.col),
        "source": loc.and_then(|l| l.file.line(l.line)),
        "help": help,
        "exit_code": e.exit_code(),
    })
}

/// The JSON object for one event. `task` is the name of the task in progress, copied onto
/// `host_result` and `retry` objects.
pub fn event_json(event: &Event, task: Option<&str>) -> Value {
    match event {
        Event::PlaybookStart { path, check } => json!({
            "event": "playbook_start",
            "path": path,
            "check": check,
        }),
        Event::PlayStart { name, hosts } => json!({
            "event": "play_start",
            "name": name,
            "hosts": hosts,
        }),
        Event::NoHostsMatched { name } => json!({
            "event": "no_hosts_matched",
            "play": name,
        }),
        Event::TaskStart { name, kind, origin } => json!({
            "event": "task_start",
            "name": name,
            "kind": match kind {
                TaskKind::Task => "task",
                TaskKind::Handler => "handler",
                TaskKind::Gather => "gather_facts",
            },
            "origin": origin,
        }),
        Event::HostResult(r) => host_result_json(r, task),
        Event::Warning(msg) => json!({
            "event": "warning",
            "msg": msg,
        }),
        Event::Retry { host, left } => json!({
            "event": "retry",
            "host": host,
            "task": task,
            "retries_left": left,
        }),
        Event::Async { host, jid, state } => json!({
            "event": "async",
            "host": host,
            "task": task,
            "jid": jid,
            "state": format!("{state:?}").to_lowercase(),
        }),
        Event::Included { path, hosts, item_label } => json!({
            "event": "included",
            "path": path,
            "hosts": hosts,
            "item": item_label,
        }),
        Event::NoHostsRemaining => json!({"event": "no_hosts_remaining"}),
        Event::RollbackStart { name, hosts } => json!({"event": "rollback_start", "play": name, "hosts": hosts}),
        Event::Rescue { hosts } => json!({"event": "rescue", "hosts": hosts}),
        Event::Progress { done, total } => json!({"event": "progress", "done": done, "total": total}),
        Event::Recap { stats, lost } => recap_json(stats, lost),
        Event::PlanSummary { path, hosts } => json!({
            "event": "plan_summary",
            "path": path,
            "hosts": hosts.iter().map(|h| json!({
                "host": h.host,
                "to_change": h.to_change.iter().map(|e| json!({"task": e.task, "origin": e.origin, "module": e.module})).collect::<Vec<_>>(),
                "unchanged": h.unchanged,
                "unknown": h.unknown.iter().map(|e| json!({"task": e.task, "origin": e.origin, "module": e.module})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        Event::PlanDrift { host, drifts } => json!({
            "event": "plan_drift",
            "host": host,
            "tasks": drifts.iter().map(|d| json!({"task": d.task, "origin": d.origin, "differences": d.differences})).collect::<Vec<_>>(),
        }),
    }
}

/// The `status` word of a result.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Failed { ignored: false } => "failed",
        Status::Failed { ignored: true } => "ignored",
        Status::Skipped => "skipped",
        Status::Unreachable => "unreachable",
    }
}

fn host_result_json(r: &HostResult, task: Option<&str>) -> Value {
    let mut result = r.result.clone();
    if let Value::Object(m) = &mut result {
        m.retain(|k, _| !k.starts_with("_ansible_"));
    }
    let error = r.error.as_ref().map(|e| {
        json!({
            "message": e.message,
            "origin": e.origin.as_ref().map(|l| l.to_string()),
        })
    });
    json!({
        "event": "host_result",
        "task": task,
        "host": r.host,
        "status": status_word(r.status),
        "item": r.item_label,
        "loop_summary": r.loop_summary,
        "delegated_to": r.delegated_to,
        "result": result,
        "diff": r.diffs.iter().map(|d| d.to_json()).collect::<Vec<_>>(),
        "error": error,
    })
}

fn recap_json(stats: &[(String, HostStats)], lost: &[(String, String)]) -> Value {
    let mut sorted: Vec<&(String, HostStats)> = stats.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut map = Map::new();
    for (host, s) in sorted {
        map.insert(host.clone(), serde_json::to_value(s).unwrap_or(Value::Null));
    }
    let lost: Map<String, Value> = lost.iter().map(|(h, why)| (h.clone(), Value::String(why.clone()))).collect();
    json!({
        "event": "recap",
        "stats": map,
        "unreachable": lost,
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
