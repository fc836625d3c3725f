//! The default printer: the text of ansible-playbook's `default` stdout callback
//! (ansible/plugins/callback/default.py), line for line, so that operators, their scripts and
//! their eyes find what they are used to. Colours only when asked (main enables them on a TTY
//! without `NO_COLOR`).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use super::banner::banner;
use super::color::{paint, Color};
use super::events::{AsyncState, Event, EventSink, HostResult, HostStats, Status, TaskKind};
use super::{diff_text, error_report, pyjson};

/// Keys the `debug` action keeps when it has a `msg` (callback `_DEBUG_ALLOWED_KEYS`).
const DEBUG_ALLOWED_KEYS: &[&str] = &["msg", "exception", "warnings", "deprecations"];
/// Keys hidden from a `debug var=` result (callback `_hide_in_debug`).
const HIDE_IN_DEBUG: &[&str] = &[
    "changed",
    "failed",
    "skipped",
    "invocation",
    "skip_reason",
    "ansible_loop_var",
    "ansible_index_var",
    "ansible_loop",
];

/// Renders events as ansible-playbook's default output, writing each event's text at once under a
/// lock so that lines from worker threads never interleave.
pub struct HumanPrinter {
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    err: Option<Box<dyn Write + Send>>,
    color: bool,
    verbosity: u8,
    task_name: String,
    task_kind: TaskKind,
    /// The play whose banner was the last thing printed, so that `NoHostsMatched` right after its
    /// `PlayStart` does not print the banner twice.
    play_banner_just_printed: Option<String>,
    errors_seen: HashSet<String>,
    warnings_seen: HashSet<String>,
    write_error: Option<std::io::Error>,
}

/// Which stream a piece of text goes to: Ansible writes warnings to stderr, the rest to stdout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

impl HumanPrinter {
    /// A printer writing to `out` (stdout in production, a buffer in tests), with ANSI colours
    /// when `color` is true. Verbosity 0; warnings go to `out` unless [`Self::with_stderr`] is used.
    pub fn new(out: Box<dyn Write + Send>, color: bool) -> Self {
        HumanPrinter {
            state: Mutex::new(State {
                out,
                err: None,
                color,
                verbosity: 0,
                task_name: String::new(),
                task_kind: TaskKind::Task,
                play_banner_just_printed: None,
                errors_seen: HashSet::new(),
                warnings_seen: HashSet::new(),
                write_error: None,
            }),
        }
    }

    /// Whether to colour, decided as Ansible does (ansible/utils/color.py): off when `NO_COLOR`
    /// is set (non-empty) or `ANSIBLE_NOCOLOR` is true, off when stdout is not a terminal, and on
    /// whenever `ANSIBLE_FORCE_COLOR` is true. `env` reads a variable (`|k| std::env::var(k).ok()`).
    pub fn color_wanted(stdout_is_tty: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        let truthy = |k: &str| {
            env(k).is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "yes" | "y" | "on" | "true" | "t")
            })
        };
        if truthy("ANSIBLE_FORCE_COLOR") {
            return true;
        }
        let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        !no_color && !truthy("ANSIBLE_NOCOLOR") && stdout_is_tty
    }

    /// Sets the `-v` count: 1 shows every result's JSON, 2 adds `task path:` lines and the
    /// `PLAYBOOK:` banner, 3 indents result JSON and keeps `diff` and `invocation` in it.
    pub fn with_verbosity(self, verbosity: u8) -> Self {
        self.with_state(|s| s.verbosity = verbosity)
    }

    /// Sends `[WARNING]` lines to `err` (stderr in production), as Ansible does.
    pub fn with_stderr(self, err: Box<dyn Write + Send>) -> Self {
        self.with_state(|s| s.err = Some(err))
    }

    /// The first error met while writing (e.g. a closed pipe), if any. Printing goes on after it,
    /// as Ansible ignores EPIPE; the caller decides whether it matters.
    pub fn take_write_error(&self) -> Option<std::io::Error> {
        self.lock().write_error.take()
    }

    fn with_state(self, f: impl FnOnce(&mut State)) -> Self {
        f(&mut self.lock());
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state usable: it only holds writers and sets.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for HumanPrinter {
    fn emit(&self, event: &Event) {
        let mut st = self.lock();
        let pieces = st.render(event);
        for (stream, text) in pieces {
            if text.is_empty() {
                continue;
            }
            let State { out, err, write_error, .. } = &mut *st;
            let w: &mut Box<dyn Write + Send> = match (stream, err.as_mut()) {
                (Stream::Err, Some(e)) => e,
                _ => out,
            };
            let res = w.write_all(text.as_bytes()).and_then(|_| w.flush());
            if let Err(e) = res {
                write_error.get_or_insert(e);
            }
        }
    }
}

impl State {
    /// Ansible's `display(msg, color)`: one trailing newline of `msg` is dropped, the rest is
    /// painted line by line, and a newline ends it.
    fn display(&self, buf: &mut String, msg: &str, color: Option<Color>) {
        let body = msg.strip_suffix('\n').unwrap_or(msg);
        match color {
            Some(c) => buf.push_str(&paint(body, c, self.color)),
            None => buf.push_str(body),
        }
        buf.push('\n');
    }

    fn banner(&self, buf: &mut String, msg: &str) {
        self.display(buf, &format!("\n{}", banner(msg)), None);
    }

    fn render(&mut self, event: &Event) -> Vec<(Stream, String)> {
        let mut buf = String::new();
        let mut err = String::new();
        let mut just_bannered = None;
        match event {
            Event::PlaybookStart { path, .. } => {
                if self.verbosity > 1 {
                    let base = Path::new(path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.clone());
                    self.banner(&mut buf, &format!("PLAYBOOK: {base}"));
                }
            }
            Event::PlayStart { name, .. } => {
                self.play_banner(&mut buf, name);
                just_bannered = Some(name.clone());
            }
            Event::NoHostsMatched { name } => {
                if self.play_banner_just_printed.as_deref() != Some(name.as_str()) {
                    self.play_banner(&mut buf, name);
                }
                self.display(&mut buf, "skipping: no hosts matched", Some(Color::Skip));
            }
            Event::TaskStart { name, kind, origin } => {
                let name = match (kind, name.trim()) {
                    (TaskKind::Gather, "") => "Gathering Facts",
                    (_, n) => n,
                };
                let prefix = match kind {
                    TaskKind::Handler => "RUNNING HANDLER",
                    TaskKind::Task | TaskKind::Gather => "TASK",
                };
                self.banner(&mut buf, &format!("{prefix} [{name}]"));
                if self.verbosity >= 2 && !origin.is_empty() {
                    self.display(&mut buf, &format!("task path: {origin}"), Some(Color::Debug));
                }
                self.task_name = name.to_string();
                self.task_kind = *kind;
            }
            Event::HostResult(r) => self.host_result(&mut buf, &mut err, r),
            Event::Warning(msg) => {
                self.warning(&mut err, msg);
                // A warning goes to stderr and does not end "the banner was the last thing".
                just_bannered = self.play_banner_just_printed.take();
            }
            Event::Retry { host, left } => {
                let msg = format!("FAILED - RETRYING: [{host}]: {} ({left} retries left).", self.task_name);
                self.display(&mut buf, &msg, Some(Color::Debug));
            }
            Event::Async { host, jid, state } => {
                let msg = match state {
                    AsyncState::Poll => format!("ASYNC POLL on {host}: jid={jid} started=True finished=False"),
                    AsyncState::Ok => format!("ASYNC OK on {host}: jid={jid}"),
                    AsyncState::Failed => format!("ASYNC FAILED on {host}: jid={jid}"),
                };
                self.display(&mut buf, &msg, Some(Color::Debug));
            }
            Event::Included { path, hosts, item_label } => {
                let mut msg = format!("included: {} for {}", path, hosts.join(", "));
                if let Some(item) = item_label {
                    msg.push_str(&format!(" => (item={item})"));
                }
                self.display(&mut buf, &msg, Some(Color::Included));
            }
            Event::NoHostsRemaining => self.banner(&mut buf, "NO MORE HOSTS LEFT"),
            Event::RollbackStart { name, hosts } => {
                self.banner(&mut buf, &format!("ROLLBACK [{name}]"));
                self.display(&mut buf, &format!("rolling back: {}", hosts.join(", ")), Some(Color::Changed));
            }
            Event::Progress { .. } => {}
            // Ansible prints nothing when a rescue starts; nothing was printed, so a play banner
            // just printed is still the last thing shown.
            Event::Rescue { .. } => just_bannered = self.play_banner_just_printed.take(),
            Event::Recap { stats, lost } => self.recap(&mut buf, stats, lost),
            Event::PlanSummary { path, hosts } => self.plan_summary(&mut buf, path, hosts),
            Event::PlanDrift { host, drifts } => self.plan_drift(&mut buf, host, drifts),
        }
        self.play_banner_just_printed = just_bannered;
        vec![(Stream::Err, err), (Stream::Out, buf)]
    }

    /// A plan for a reviewer: per host one line of counts, then what changes with its diff and
    /// what runs with an unknown effect.
    fn plan_summary(&self, buf: &mut String, path: &str, hosts: &[crate::plan::HostSummary]) {
        self.banner(buf, &format!("PLAN [{path}]"));
        for h in hosts {
            let line = format!(
                "{}: {} to change, {} unchanged, {} unknown",
                h.host,
                h.to_change.len(),
                h.unchanged,
                h.unknown.len()
            );
            let color = if !h.to_change.is_empty() {
                Color::Changed
            } else if !h.unknown.is_empty() {
                Color::Warn
            } else {
                Color::Ok
            };
            self.display(buf, &line, Some(color));
            for e in &h.to_change {
                self.display(buf, &format!("  ~ {} ({}) [{}]", e.task, e.origin, e.module), Some(Color::Changed));
                let diffs: Vec<orc_modules::FileDiff> = e
                    .diff
                    .iter()
                    .map(|d| orc_modules::FileDiff {
                        before_header: d.before_header.clone(),
                        after_header: d.after_header.clone(),
                        before: d.before.clone(),
                        after: d.after.clone(),
                    })
                    .collect();
                let text = diff_text::render(&diffs, self.color);
                for l in text.trim_end().lines() {
                    buf.push_str(&format!("      {l}\n"));
                }
            }
            for e in &h.unknown {
                let dep = "runs, effect unknown; the tasks after it depend on it";
                self.display(buf, &format!("  ? {} ({}) [{}]: {dep}", e.task, e.origin, e.module), Some(Color::Warn));
            }
        }
    }

    /// A host that drifted from the plan: each task and what differs, `field: plan -> now`.
    fn plan_drift(&self, buf: &mut String, host: &str, drifts: &[crate::plan::Drift]) {
        self.display(
            buf,
            &format!("drifted: [{host}]: differs from the plan; nothing more is changed on it"),
            Some(Color::Error),
        );
        for d in drifts {
            self.display(buf, &format!("  {} ({})", d.task, d.origin), Some(Color::Error));
            for diff in &d.differences {
                self.display(buf, &format!("      {diff}"), Some(Color::Error));
            }
        }
    }

    /// `[WARNING]: msg`, once per distinct text, as `Display._warning`.
    fn warning(&mut self, err: &mut String, msg: &str) {
        let text = format_message(&format!("[WARNING]: {}", msg.trim()));
        if self.warnings_seen.insert(text.clone()) {
            self.display(err, &text, Some(Color::Warn));
        }
    }

    fn play_banner(&self, buf: &mut String, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            self.banner(buf, "PLAY");
        } else {
            self.banner(buf, &format!("PLAY [{name}]"));
        }
    }

    /// A result in Ansible's order: the diff (successful changes only: Ansible sends no diff
    /// for failed, skipped or unreachable results), the result's `warnings`, the error report,
    /// then the host line.
    fn host_result(&mut self, buf: &mut String, err: &mut String, r: &HostResult) {
        let changed = r.result.get("changed").and_then(Value::as_bool) == Some(true) || r.status == Status::Changed;
        let succeeded = matches!(r.status, Status::Ok | Status::Changed);
        if succeeded && changed && !r.loop_summary && !r.diffs.is_empty() {
            let diff = diff_text::render(&r.diffs, self.color);
            if !diff.is_empty() {
                self.display(buf, &diff, None);
            }
        }
        if let Some(Value::Array(warnings)) = r.result.get("warnings") {
            for w in warnings.iter().filter_map(Value::as_str) {
                self.warning(err, w);
            }
        }
        if let Some(report) = &r.error {
            let text = error_report::render(report);
            if self.errors_seen.insert(text.clone()) {
                self.display(buf, &text, Some(Color::Error));
            }
        }
        let label = match &r.delegated_to {
            Some(d) if d != &r.host => format!("{} -> {}", r.host, d),
            _ => r.host.clone(),
        };
        // Ansible's `_run_is_verbose`: -v, or a result that asks for it (debug); fact gathering
        // sets `_ansible_verbose_override` so facts never flood the screen.
        let verbose = (self.verbosity > 0 || r.show_result) && self.task_kind != TaskKind::Gather;
        let item = r.item_label.as_deref();
        match (r.status, item, r.loop_summary) {
            (Status::Ok | Status::Changed, _, true) => {}
            (Status::Ok | Status::Changed, item, false) => {
                let (word, color) =
                    if r.status == Status::Changed { ("changed", Color::Changed) } else { ("ok", Color::Ok) };
                let mut msg = format!("{word}: [{label}]");
                if let Some(item) = item {
                    msg.push_str(&format!(" => (item={item})"));
                }
                if verbose {
                    msg.push_str(&format!(" => {}", self.dump(r)));
                }
                self.display(buf, &msg, Some(color));
            }
            (Status::Failed { ignored }, _, true) => {
                if ignored {
                    self.display(buf, "...ignoring", Some(Color::Skip));
                }
            }
            (Status::Failed { .. }, Some(item), false) => {
                let msg = format!("failed: [{label}] (item={item}) => {}", self.dump(r));
                self.display(buf, &msg, Some(Color::Error));
            }
            (Status::Failed { ignored }, None, false) => {
                let msg = format!("fatal: [{label}]: FAILED! => {}", self.dump(r));
                self.display(buf, &msg, Some(Color::Error));
                if ignored {
                    self.display(buf, "...ignoring", Some(Color::Skip));
                }
            }
            (Status::Skipped, item, summary) => {
                let mut msg = format!("skipping: [{}]", r.host);
                if let (Some(item), false) = (item, summary) {
                    msg.push_str(&format!(" => (item={item}) "));
                }
                // A skipped action never ran, so a debug task's "always verbose" does not apply:
                // only -v shows a skipped result.
                if self.verbosity > 0 && self.task_kind != TaskKind::Gather {
                    msg.push_str(&format!(" => {}", self.dump(r)));
                }
                self.display(buf, &msg, Some(Color::Skip));
            }
            (Status::Unreachable, _, _) => {
                let msg = format!("fatal: [{label}]: UNREACHABLE! => {}", self.dump(r));
                self.display(buf, &msg, Some(Color::Unreachable));
                if r.unreachable_ignored {
                    self.display(buf, "...ignoring", Some(Color::Skip));
                }
            }
        }
    }

    /// The callback's `_dump_results`: `failed`/`skipped` (told by the line itself), internal
    /// keys, `exception`, `warnings`, `deprecations` (and below -vvv `invocation` and `diff`)
    /// removed, keys sorted, indented for debug results and at -vvv.
    fn dump(&self, r: &HostResult) -> String {
        let mut v = r.result.clone();
        strip_internal_keys(&mut v);
        if let Value::Object(m) = &mut v {
            // `TaskResult.as_callback_task_result`: the status is the event, not a key.
            m.remove("failed");
            m.remove("skipped");
            if r.loop_summary {
                // The callback's `_process_items`: items were shown one by one.
                m.remove("results");
            }
            if r.show_result {
                m.remove("invocation");
                clean_debug(m);
            }
            if self.verbosity < 3 {
                m.remove("invocation");
                m.remove("diff");
            }
            for k in ["exception", "warnings", "deprecations"] {
                m.remove(k);
            }
        }
        if r.show_result || self.verbosity > 2 {
            pyjson::dumps_indented(&v)
        } else {
            pyjson::dumps(&v)
        }
    }

    /// Ansible's recap lines; under the line of a host that became unreachable, indented, why
    /// (an addition of orc's: scripts that read `host : ok=...` lines are not affected).
    fn recap(&self, buf: &mut String, stats: &[(String, HostStats)], lost: &[(String, String)]) {
        self.banner(buf, "PLAY RECAP");
        let mut sorted: Vec<&(String, HostStats)> = stats.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (host, t) in sorted {
            let line = format!(
                "{} : {} {} {} {} {} {} {}",
                self.host_color(host, t),
                self.colorize("ok", t.ok, Color::Ok),
                self.colorize("changed", t.changed, Color::Changed),
                self.colorize("unreachable", t.unreachable, Color::Unreachable),
                self.colorize("failed", t.failed, Color::Error),
                self.colorize("skipped", t.skipped, Color::Skip),
                self.colorize("rescued", t.rescued, Color::Ok),
                self.colorize("ignored", t.ignored, Color::Warn),
            );
            self.display(buf, &line, None);
            if let Some((_, why)) = lost.iter().find(|(h, _)| h == host) {
                let why = why.lines().next().unwrap_or_default();
                self.display(buf, &format!("    unreachable: {why}"), Some(Color::Unreachable));
            }
        }
        self.display(buf, "", None);
    }

    /// `ansible.utils.color.hostcolor`: the name padded to 26 columns (37 with its escape codes).
    fn host_color(&self, host: &str, t: &HostStats) -> String {
        if !self.color {
            return pad(host, 26);
        }
        let c = if t.failed != 0 || t.unreachable != 0 {
            Color::Error
        } else if t.changed != 0 {
            Color::Changed
        } else {
            Color::Ok
        };
        pad(&paint(host, c, true), 37)
    }

    /// `ansible.utils.color.colorize`: `name=N` with N padded to 4, painted when non-zero.
    fn colorize(&self, lead: &str, num: u32, color: Color) -> String {
        let s = format!("{lead}={num:<4}");
        if num != 0 {
            paint(&s, color, self.color)
        } else {
            s
        }
    }
}

/// Python's `"%-Ns" % s`: pads with spaces to `width` characters.
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// `_event_formatting.format_event`'s ending: a multi-line message is followed by a blank line.
fn format_message(msg: &str) -> String {
    if msg.contains('\n') {
        format!("{msg}\n\n")
    } else {
        format!("{msg}\n")
    }
}

/// Removes `_ansible_*` keys at every depth (`ansible.vars.clean.strip_internal_keys`).
fn strip_internal_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("_ansible_"));
            m.values_mut().for_each(strip_internal_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

/// The callback's `_clean_results` for `debug`: with `msg`, only `msg` (and error detail) stays;
/// with `var`, the bookkeeping keys go.
fn clean_debug(m: &mut serde_json::Map<String, Value>) {
    if m.contains_key("msg") {
        m.retain(|k, _| DEBUG_ALLOWED_KEYS.contains(&k.as_str()) || k.starts_with('_'));
    } else {
        for k in HIDE_IN_DEBUG {
            m.remove(*k);
        }
    }
}

#[cfg(test)]
#[path = "human_tests.rs"]
mod tests;
