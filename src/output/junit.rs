//! `--junit FILE`: the run as a JUnit XML report, for CI tools that show test results (GitLab's
//! test reports, Jenkins' junit step, GitHub actions that read JUnit). It is an [`EventSink`] like
//! the printers: it collects the events while the run goes on, and the command writes the report
//! once the run has ended (src/ops/reports.rs). The mapping is documented in docs/ci.md:
//!
//! - a `<testsuite>` per play (the `serial` batches of a play are one suite);
//! - a `<testcase>` per task and host, named after the task, its `classname` the host; a looped
//!   task is one test case (its items are listed in the case's output);
//! - failed: `<failure>` with the module's `msg` as its message; unreachable: `<error>` (the host
//!   could not be reached, so the task could not be tested: what JUnit calls an error; GitLab,
//!   Jenkins and junitparser count errors as failed tests); skipped: `<skipped>`;
//! - a failure `ignore_errors` let pass, and a failure a `rescue:` section handled, pass: the
//!   case's `orc.status` property says `ignored` or `rescued`, and its output says what failed.
//!
//! Secrets: every text taken from the run (names, messages, results) goes through the same
//! censor as the printers' output (`crate::secrets::censor`, docs/vault.md) BEFORE it is escaped
//! for XML, so a vault value is masked even where escaping would have changed its text; `no_log`
//! results were already replaced by the engine.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::events::{AsyncState, Event, EventSink, HostResult, Status, TaskKind};
use super::json::status_word;
use super::xml;

/// Collects a run's events into a JUnit report; [`JunitReport::to_xml`] renders it.
#[derive(Default)]
pub struct JunitReport {
    state: Mutex<Report>,
}

#[derive(Default)]
struct Report {
    /// The playbook being run (from `PlaybookStart`).
    playbook: Option<String>,
    /// Check mode.
    check: bool,
    suites: Vec<Suite>,
    task: Option<CurrentTask>,
    /// Loop items of the current task, waiting for their host's loop summary.
    items: Vec<HostResult>,
    /// Notes about a host's result still to come (retries, async polls), by host.
    pending: Vec<(String, String)>,
    /// Warnings given before the first play.
    early_warnings: Vec<String>,
}

struct CurrentTask {
    name: String,
    kind: TaskKind,
    origin: String,
    started: Instant,
}

struct Suite {
    name: String,
    playbook: Option<String>,
    check: bool,
    /// The hosts of every batch so far: a `PlayStart` of the same name with none of them is the
    /// next `serial` batch of this play, not a new play.
    hosts: Vec<String>,
    timestamp: SystemTime,
    started: Instant,
    ended: Instant,
    cases: Vec<Case>,
    /// `<system-out>` of the suite: what happened besides results.
    notes: Vec<String>,
    /// `<system-err>` of the suite: the run's warnings.
    warnings: Vec<String>,
}

struct Case {
    name: String,
    host: String,
    kind: TaskKind,
    origin: String,
    time: Duration,
    status: Status,
    /// A `rescue:` section handled this failure.
    rescued: bool,
    result: Value,
    /// The `[ERROR]:` report's message, for failures.
    error: Option<String>,
    delegated_to: Option<String>,
    /// Loop items, retries, async news.
    notes: Vec<String>,
}

impl JunitReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// The report as a JUnit XML document (UTF-8), secrets censored.
    pub fn to_xml(&self) -> String {
        let mut st = self.lock();
        st.flush_items();
        render(&st)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Report> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for JunitReport {
    fn emit(&self, event: &Event) {
        if matches!(event, Event::Progress { .. }) {
            return;
        }
        self.lock().handle(event);
    }
}

impl Report {
    fn handle(&mut self, event: &Event) {
        let now = Instant::now();
        if let Some(s) = self.suites.last_mut() {
            s.ended = now;
        }
        match event {
            Event::PlaybookStart { path, check } => {
                self.flush_items();
                self.playbook = Some(path.clone());
                self.check = *check;
            }
            Event::PlayStart { name, hosts } => {
                self.flush_items();
                self.task = None;
                let next_batch = self.suites.last().is_some_and(|s| {
                    s.name == *name && s.playbook == self.playbook && !hosts.iter().any(|h| s.hosts.contains(h))
                });
                if !next_batch {
                    self.new_suite(name, now);
                }
                if let Some(s) = self.suites.last_mut() {
                    s.hosts.extend(hosts.iter().cloned());
                }
            }
            Event::NoHostsMatched { name } => {
                self.flush_items();
                let just_started = self.suites.last().is_some_and(|s| s.name == *name && s.cases.is_empty());
                if !just_started {
                    self.new_suite(name, now);
                }
                self.note("skipping: no hosts matched".into());
            }
            Event::TaskStart { name, kind, origin } => {
                self.flush_items();
                let name = match (kind, name.trim()) {
                    (TaskKind::Gather, "") => "Gathering Facts".to_string(),
                    (_, n) => n.to_string(),
                };
                self.task = Some(CurrentTask { name, kind: *kind, origin: origin.clone(), started: now });
            }
            Event::HostResult(r) if r.item_label.is_some() && !r.loop_summary => self.items.push((**r).clone()),
            Event::HostResult(r) => {
                let mut notes: Vec<String> = Vec::new();
                let mut rest = Vec::new();
                for item in std::mem::take(&mut self.items) {
                    if item.host == r.host {
                        notes.push(item_line(&item));
                    } else {
                        rest.push(item);
                    }
                }
                self.items = rest;
                self.add_case(r, notes, now);
            }
            Event::Warning(msg) => match self.suites.last_mut() {
                Some(s) => s.warnings.push(format!("[WARNING]: {msg}")),
                None => self.early_warnings.push(format!("[WARNING]: {msg}")),
            },
            Event::Retry { host, left } => {
                self.pending.push((host.clone(), format!("FAILED - RETRYING ({left} retries left)")))
            }
            Event::Async { host, jid, state } => {
                let what = match state {
                    AsyncState::Poll => "still running at a poll",
                    AsyncState::Ok => "finished",
                    AsyncState::Failed => "ran out of its async time",
                };
                self.pending.push((host.clone(), format!("async job {jid}: {what}")));
            }
            Event::Included { path, hosts, item_label } => {
                let item = item_label.as_ref().map(|i| format!(" => (item={i})")).unwrap_or_default();
                self.note(format!("included: {path} for {}{item}", hosts.join(", ")));
            }
            Event::NoHostsRemaining => self.note("NO MORE HOSTS LEFT: the play stopped".into()),
            Event::RollbackStart { name, hosts } => {
                self.flush_items();
                self.note(format!("ROLLBACK [{name}]: rolling back {}", hosts.join(", ")));
            }
            Event::Rescue { hosts } => {
                if let Some(s) = self.suites.last_mut() {
                    for h in hosts {
                        let failure = s
                            .cases
                            .iter_mut()
                            .rev()
                            .find(|c| c.host == *h && c.status == Status::Failed { ignored: false } && !c.rescued);
                        if let Some(c) = failure {
                            c.rescued = true;
                        }
                    }
                }
            }
            Event::Progress { .. } => {}
            Event::Recap { .. } => self.flush_items(),
            Event::PlanSummary { .. } => {}
            Event::PlanDrift { host, drifts } => {
                for d in drifts {
                    self.note(format!(
                        "{host} drifted from the plan at {} ({}): {}",
                        d.task,
                        d.origin,
                        d.differences.join("; ")
                    ));
                }
            }
        }
    }

    fn new_suite(&mut self, name: &str, now: Instant) {
        let warnings = std::mem::take(&mut self.early_warnings);
        self.suites.push(Suite {
            name: name.to_string(),
            playbook: self.playbook.clone(),
            check: self.check,
            hosts: Vec::new(),
            timestamp: SystemTime::now(),
            started: now,
            ended: now,
            cases: Vec::new(),
            notes: Vec::new(),
            warnings,
        });
    }

    fn note(&mut self, text: String) {
        if self.suites.is_empty() {
            self.new_suite("", Instant::now());
        }
        if let Some(s) = self.suites.last_mut() {
            s.notes.push(text);
        }
    }

    /// Loop items whose summary never came (the skipped items of an include): each its own case.
    fn flush_items(&mut self) {
        for item in std::mem::take(&mut self.items) {
            self.add_case(&item, Vec::new(), Instant::now());
        }
    }

    fn add_case(&mut self, r: &HostResult, mut notes: Vec<String>, now: Instant) {
        if self.suites.is_empty() {
            self.new_suite("", now);
        }
        let (name, kind, origin, started) = match &self.task {
            Some(t) => (t.name.clone(), t.kind, t.origin.clone(), t.started),
            None => (String::new(), TaskKind::Task, String::new(), now),
        };
        let name = match (&r.item_label, r.loop_summary) {
            (Some(item), false) => format!("{name} (item={item})"),
            _ => name,
        };
        let mut waiting = Vec::new();
        for (host, note) in std::mem::take(&mut self.pending) {
            if host == r.host {
                notes.insert(0, note);
            } else {
                waiting.push((host, note));
            }
        }
        self.pending = waiting;
        let case = Case {
            name,
            host: r.host.clone(),
            kind,
            origin,
            // The engine reports a task's results once every host has finished it, so this is the
            // task's time on its slowest host (docs/ci.md).
            time: now.saturating_duration_since(started),
            status: r.status,
            rescued: false,
            result: r.result.clone(),
            error: r.error.as_ref().map(|e| e.message.clone()),
            delegated_to: r.delegated_to.clone(),
            notes,
        };
        if let Some(s) = self.suites.last_mut() {
            s.cases.push(case);
            s.ended = now;
        }
    }
}

/// `item=LABEL: status: msg` for a loop item, listed in its task's case.
fn item_line(r: &HostResult) -> String {
    let label = r.item_label.as_deref().unwrap_or_default();
    match message(&r.result) {
        Some(m) => format!("(item={label}) {}: {m}", status_word(r.status)),
        None => format!("(item={label}) {}", status_word(r.status)),
    }
}

/// The result's `msg` as text.
fn message(result: &Value) -> Option<String> {
    match result.get("msg")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::String(_) | Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Case {
    /// The word of the `orc.status` property.
    fn status_word(&self) -> &'static str {
        if self.rescued {
            "rescued"
        } else {
            status_word(self.status)
        }
    }

    fn is_failure(&self) -> bool {
        self.status == (Status::Failed { ignored: false }) && !self.rescued
    }

    /// The failure or error message: the module's `msg`, else the error report, else the
    /// return code.
    fn failure_message(&self) -> String {
        if let Some(m) = message(&self.result) {
            return m;
        }
        if let Some(e) = &self.error {
            return e.clone();
        }
        match self.result.get("rc") {
            Some(rc) => format!("rc={rc}"),
            None => status_word(self.status).to_string(),
        }
    }

    fn skip_message(&self) -> String {
        ["skip_reason", "skipped_reason", "msg"]
            .iter()
            .find_map(|k| self.result.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
            .unwrap_or("skipped")
            .to_string()
    }

    /// The result as shown in the report: pretty JSON without the engine's `_ansible_*` keys, and
    /// gathered facts summed up (they would bury everything else).
    fn result_text(&self) -> String {
        let mut result = self.result.clone();
        if let Value::Object(m) = &mut result {
            m.retain(|k, _| !k.starts_with("_ansible_"));
            if let Some(Value::Object(facts)) = m.get("ansible_facts") {
                let n = facts.len();
                m.insert("ansible_facts".into(), Value::String(format!("({n} facts, left out of the report)")));
            }
        }
        serde_json::to_string_pretty(&result).unwrap_or_default()
    }

    /// The case's `<system-out>`: what happened, then the notes and the result.
    fn output(&self) -> String {
        let mut out = String::new();
        match (self.rescued, self.status) {
            (true, _) => {
                let _ = writeln!(out, "failed, then rescued by the block's rescue section: {}", self.failure_message());
            }
            (false, Status::Failed { ignored: true }) => {
                let _ = writeln!(out, "failed, ignored (ignore_errors): {}", self.failure_message());
            }
            _ => {}
        }
        if let Some(d) = &self.delegated_to {
            let _ = writeln!(out, "delegated to {d}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        out.push_str(&self.result_text());
        out.push('\n');
        out
    }
}

/// Censors then escapes text taken from the run (module docs: censor before escaping).
fn text(s: &str) -> String {
    xml::text(&crate::secrets::censor(s))
}

/// Censors then escapes an attribute value taken from the run.
fn attr(s: &str) -> String {
    xml::attr(&crate::secrets::censor(s))
}

/// Seconds with millisecond precision, as JUnit's `time` attributes.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, the form of JUnit's `timestamp` attribute.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `(file, line)` of an origin written `file:line:col` (or `file:line`).
fn file_line(origin: &str) -> Option<(&str, &str)> {
    let mut parts = origin.rsplitn(3, ':');
    let last = parts.next()?;
    let middle = parts.next()?;
    match parts.next() {
        Some(file) if middle.parse::<u32>().is_ok() && last.parse::<u32>().is_ok() => Some((file, middle)),
        _ if last.parse::<u32>().is_ok() => Some((origin.get(..origin.len() - last.len() - 1)?, last)),
        _ => None,
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(cases: &[Case]) -> Counts {
        let mut c = Counts { tests: cases.len(), ..Counts::default() };
        for case in cases {
            match case.status {
                Status::Unreachable => c.errors += 1,
                Status::Skipped => c.skipped += 1,
                _ if case.is_failure() => c.failures += 1,
                _ => {}
            }
        }
        c
    }

    fn add(&mut self, o: Counts) {
        self.tests += o.tests;
        self.failures += o.failures;
        self.errors += o.errors;
        self.skipped += o.skipped;
    }

    fn attrs(&self) -> String {
        format!(
            r#"tests="{}" failures="{}" errors="{}" skipped="{}""#,
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

fn render(report: &Report) -> String {
    let mut total = Counts::default();
    let mut total_time = Duration::ZERO;
    let mut body = String::new();
    for suite in &report.suites {
        let counts = Counts::of(&suite.cases);
        total.add(counts);
        let time = suite.ended.saturating_duration_since(suite.started);
        total_time += time;
        let _ = writeln!(
            body,
            r#"  <testsuite name="{}" {} time="{}" timestamp="{}">"#,
            attr(&suite.name),
            counts.attrs(),
            seconds(time),
            timestamp(suite.timestamp)
        );
        body.push_str("    <properties>\n");
        if let Some(p) = &suite.playbook {
            let _ = writeln!(body, r#"      <property name="orc.playbook" value="{}"/>"#, attr(p));
        }
        let _ = writeln!(body, r#"      <property name="orc.check_mode" value="{}"/>"#, suite.check);
        body.push_str("    </properties>\n");
        for case in &suite.cases {
            render_case(&mut body, case);
        }
        if !suite.notes.is_empty() {
            let _ = writeln!(body, "    <system-out>{}</system-out>", text(&lines(&suite.notes)));
        }
        if !suite.warnings.is_empty() {
            let _ = writeln!(body, "    <system-err>{}</system-err>", text(&lines(&suite.warnings)));
        }
        body.push_str("  </testsuite>\n");
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, r#"<testsuites name="orc" {} time="{}">"#, total.attrs(), seconds(total_time));
    out.push_str(&body);
    out.push_str("</testsuites>\n");
    out
}

fn lines(items: &[String]) -> String {
    let mut s = items.join("\n");
    s.push('\n');
    s
}

fn render_case(body: &mut String, case: &Case) {
    let location = match file_line(&case.origin) {
        Some((file, line)) => format!(r#" file="{}" line="{}""#, attr(file), attr(line)),
        None => String::new(),
    };
    let _ = writeln!(
        body,
        r#"    <testcase name="{}" classname="{}" time="{}"{location}>"#,
        attr(&case.name),
        attr(&case.host),
        seconds(case.time)
    );
    body.push_str("      <properties>\n");
    let _ = writeln!(body, r#"        <property name="orc.status" value="{}"/>"#, case.status_word());
    let kind = match case.kind {
        TaskKind::Task => "task",
        TaskKind::Handler => "handler",
        TaskKind::Gather => "gather_facts",
    };
    let _ = writeln!(body, r#"        <property name="orc.kind" value="{kind}"/>"#);
    if let Some(d) = &case.delegated_to {
        let _ = writeln!(body, r#"        <property name="orc.delegated_to" value="{}"/>"#, attr(d));
    }
    body.push_str("      </properties>\n");
    match case.status {
        Status::Unreachable => {
            let _ = writeln!(
                body,
                r#"      <error message="{}" type="unreachable">{}</error>"#,
                attr(&case.failure_message()),
                text(&case.output())
            );
        }
        Status::Skipped => {
            let _ = writeln!(body, r#"      <skipped message="{}"/>"#, attr(&case.skip_message()));
        }
        _ if case.is_failure() => {
            let mut detail = String::new();
            if let Some(e) = &case.error {
                let _ = writeln!(detail, "[ERROR]: {e}");
            }
            detail.push_str(&case.output());
            let _ = writeln!(
                body,
                r#"      <failure message="{}" type="failed">{}</failure>"#,
                attr(&case.failure_message()),
                text(&detail)
            );
        }
        _ => {
            let _ = writeln!(body, "      <system-out>{}</system-out>", text(&case.output()));
        }
    }
    body.push_str("    </testcase>\n");
}

#[cfg(test)]
#[path = "junit_tests.rs"]
mod tests;
