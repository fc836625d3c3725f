//! Saved plans (`orc play --check --plan-out FILE`, `orc play --plan FILE`; docs/plan.md): what a
//! check run decided per host and task, the digests of what it was made from, and the comparison
//! of a plan with the hosts' state now ("drift").
//!
//! The engine records entries while it runs (`executor/run_task.rs` calls [`Recorder::record`]);
//! the command layer (`ops/play_cmd.rs`) computes digests, writes and reads the file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `format` field every plan file carries, so another JSON file is not taken for a plan.
pub const FORMAT: &str = "orc-plan";
/// The version of the plan format this orc writes and reads.
pub const VERSION: u32 = 1;

/// Modules that only read the host: planned as "reads" (no effect), so the tasks after them do
/// not depend on them as they do on a module whose effect is unknown.
const READ_ONLY: &[&str] = &[
    "setup",
    "gather_facts",
    "stat",
    "slurp",
    "ping",
    "find",
    "package_facts",
    "service_facts",
    "getent",
    "wait_for",
    "wait_for_connection",
];

/// A saved plan: the format, the digests of the inputs and, per host in run order, what each
/// task decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// The digests of what the plan was made from; a plan is refused when one differs.
    pub inputs: Inputs,
    /// Per host, in inventory order: the tasks in run order.
    pub hosts: Vec<HostPlan>,
}

/// The digests a plan is made from. Every value is `sha256:HEX` (of a file's bytes, or of the
/// canonical JSON of a value), keyed by path or name so a refusal can say which one differs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// orc's version.
    pub orc_version: String,
    /// The playbooks and the files they load (task files, roles, templates, files).
    pub playbooks: BTreeMap<String, String>,
    /// The inventory sources (files, or every file of a directory).
    pub inventory: BTreeMap<String, String>,
    /// Variables: extra vars, vars files, group_vars and host_vars.
    pub vars: BTreeMap<String, String>,
    /// The flags that choose hosts and tasks (`--limit`, `--tags`, `--skip-tags`,
    /// `--start-at-task`, `-b`, `--become-user`, `-u`, `-c`).
    pub options: BTreeMap<String, String>,
}

/// One host's planned tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostPlan {
    /// The inventory name.
    pub host: String,
    /// Its tasks (loop items one by one), in run order.
    pub tasks: Vec<Entry>,
}

/// What kind of step a plan entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A two-phase module: `observed` and `changed` are what it decided.
    Decided,
    /// A module without the decide/apply split: it runs, its effect is unknown.
    Unknown,
    /// A module that only reads the host (setup, stat, ...).
    Reads,
    /// An engine action (set_fact, debug, include_tasks, ...): it changes nothing on the host.
    Engine,
}

/// One task (or loop item) on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The task's displayed name.
    pub task: String,
    /// Where it is written (`file:line:col`).
    pub origin: String,
    /// The module or action, as written.
    pub module: String,
    /// What kind of step it is.
    pub kind: Kind,
    /// The digest of its rendered arguments (modules only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// What a two-phase module observed: the host's "before".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Map<String, Value>>,
    /// Whether applying would change the host (for `unknown`: whether the check run said so).
    pub changed: bool,
    /// The diff of what would change (empty when unchanged or for `no_log` tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<DiffText>,
    /// The earlier task on this host whose effect is unknown (`origin` of it): this task's
    /// decision may change once that one has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
}

/// One before/after text, as `--diff` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffText {
    /// Label of the old side.
    pub before_header: String,
    /// Label of the new side.
    pub after_header: String,
    /// Old text.
    pub before: String,
    /// New text.
    pub after: String,
}

impl From<&orc_modules::FileDiff> for DiffText {
    fn from(d: &orc_modules::FileDiff) -> Self {
        DiffText {
            before_header: d.before_header.clone(),
            after_header: d.after_header.clone(),
            before: d.before.clone(),
            after: d.after.clone(),
        }
    }
}

impl Entry {
    /// The entry's kind for a module that is not two-phase.
    pub fn kind_of_module(short: &str) -> Kind {
        if READ_ONLY.contains(&short) {
            Kind::Reads
        } else {
            Kind::Unknown
        }
    }
}

/// `sha256:HEX` of bytes.
pub fn digest_bytes(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `sha256:HEX` of a value's canonical JSON (object keys sorted at every depth), so the same
/// arguments give the same digest whatever order they were written in.
pub fn digest_value(v: &Value) -> String {
    digest_bytes(canonical(v).to_string().as_bytes())
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Adds the digest of `path` (a file, or every file under a directory, sorted) to `into`, keyed
/// by its path as given. A path that does not exist is recorded as `absent`, so creating it later
/// is a difference too.
pub fn digest_path(path: &Path, into: &mut BTreeMap<String, String>) {
    if path.is_dir() {
        let mut entries: Vec<_> =
            std::fs::read_dir(path).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        entries.sort();
        for e in entries {
            // Hidden entries (.git, editor files) are not inputs.
            if e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            digest_path(&e, into);
        }
    } else {
        let value = match std::fs::read(path) {
            Ok(bytes) => digest_bytes(&bytes),
            Err(_) => "absent".to_string(),
        };
        into.insert(path.display().to_string(), value);
    }
}

/// The first difference between the inputs a plan was made from and today's: which group
/// (`playbooks`, `inventory`, `vars`, `options`, `orc version`), which key, and both values.
pub fn input_difference(plan: &Inputs, now: &Inputs) -> Option<String> {
    if plan.orc_version != now.orc_version {
        return Some(format!(
            "orc version: the plan was made by orc {}, this is orc {}",
            plan.orc_version, now.orc_version
        ));
    }
    let groups = [
        ("playbooks", &plan.playbooks, &now.playbooks),
        ("inventory", &plan.inventory, &now.inventory),
        ("vars", &plan.vars, &now.vars),
        ("options", &plan.options, &now.options),
    ];
    for (group, was, is) in groups {
        for (key, v) in was {
            match is.get(key) {
                None => return Some(format!("{group}: {key} was an input of the plan and is not one now")),
                Some(n) if n != v => {
                    return Some(format!("{group}: {key} differs ({} in the plan, {} now)", short(v), short(n)))
                }
                Some(_) => {}
            }
        }
        if let Some(key) = is.keys().find(|k| !was.contains_key(*k)) {
            return Some(format!("{group}: {key} is an input now and was not one of the plan"));
        }
    }
    None
}

/// A digest cut to its first 12 hex digits for messages (plain values are shown whole).
fn short(v: &str) -> &str {
    match v.strip_prefix("sha256:") {
        Some(hex) => &v[..("sha256:".len() + hex.len().min(12))],
        None => v,
    }
}

/// One task whose state differs from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The task's displayed name.
    pub task: String,
    /// Where it is written.
    pub origin: String,
    /// What differs, each as `field: plan value -> now value`.
    pub differences: Vec<String>,
}

/// Compares one step decided now with the plan's: the differences as `field: plan -> now`
/// (empty when it matches). `full` compares what was observed and decided; without it (a task
/// after one whose effect is unknown, at apply time) only the module is compared.
pub fn compare(plan: &Entry, now: &Entry, full: bool) -> Vec<String> {
    let mut out = Vec::new();
    if plan.module != now.module {
        out.push(format!("module: {} -> {}", plan.module, now.module));
        return out;
    }
    if !full || plan.kind == Kind::Engine {
        return out;
    }
    if plan.args != now.args {
        out.push(format!(
            "arguments: {} -> {}",
            plan.args.as_deref().unwrap_or("none"),
            now.args.as_deref().unwrap_or("none")
        ));
    }
    if plan.kind != Kind::Decided {
        return out;
    }
    let empty = Map::new();
    let (was, is) = (plan.observed.as_ref().unwrap_or(&empty), now.observed.as_ref().unwrap_or(&empty));
    for (k, v) in was {
        let n = is.get(k).unwrap_or(&Value::Null);
        if n != v {
            out.push(format!("observed.{k}: {v} -> {n}"));
        }
    }
    // A field the plan did not record reads as null, as one it recorded and no longer sees.
    for (k, n) in is.iter().filter(|(k, n)| !was.contains_key(*k) && !n.is_null()) {
        out.push(format!("observed.{k}: null -> {n}"));
    }
    if plan.changed != now.changed {
        let word = |c: bool| if c { "would change" } else { "unchanged" };
        out.push(format!("change: {} -> {}", word(plan.changed), word(now.changed)));
    } else if plan.diff != now.diff {
        out.push("diff: the change differs from the one planned".into());
    }
    out
}

/// Compares a host's steps decided now with the plan's, step by step (both are check runs, so
/// they run the same steps in the same order unless the host or the inputs changed).
pub fn compare_host(plan: &[Entry], now: &[Entry]) -> Vec<Drift> {
    let mut out = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        match now.get(i) {
            None => out.push(Drift {
                task: p.task.clone(),
                origin: p.origin.clone(),
                differences: vec!["runs: planned -> does not run now".into()],
            }),
            Some(n) if n.origin != p.origin => {
                out.push(Drift {
                    task: p.task.clone(),
                    origin: p.origin.clone(),
                    differences: vec![format!("next task: {} ({}) -> {} ({})", p.task, p.origin, n.task, n.origin)],
                });
                // The runs went apart: what follows cannot be compared step by step.
                return out;
            }
            Some(n) => {
                let d = compare(p, n, true);
                if !d.is_empty() {
                    out.push(Drift { task: p.task.clone(), origin: p.origin.clone(), differences: d });
                }
            }
        }
    }
    for n in now.iter().skip(plan.len()) {
        out.push(Drift {
            task: n.task.clone(),
            origin: n.origin.clone(),
            differences: vec!["runs: not planned -> runs now".into()],
        });
    }
    out
}

/// Per host: N to change, M unchanged, K unknown, and the entries that change.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSummary {
    /// The host.
    pub host: String,
    /// Steps that would change the host (two-phase modules that decided to).
    pub to_change: Vec<Entry>,
    /// Steps that would not (two-phase modules, modules that only read, engine actions).
    pub unchanged: usize,
    /// Steps whose effect is unknown (modules without the split).
    pub unknown: Vec<Entry>,
}

/// The summary of a plan a reviewer reads.
pub fn summarize(plan: &[HostPlan]) -> Vec<HostSummary> {
    plan.iter()
        .map(|h| {
            let mut s = HostSummary { host: h.host.clone(), to_change: vec![], unchanged: 0, unknown: vec![] };
            for e in &h.tasks {
                match e.kind {
                    Kind::Decided if e.changed => s.to_change.push(e.clone()),
                    Kind::Unknown => s.unknown.push(e.clone()),
                    _ => s.unchanged += 1,
                }
            }
            s
        })
        .collect()
}

/// Collects entries as a run goes, per host, in the order each host runs them (hosts run in
/// parallel, each host's tasks one after another).
#[derive(Debug, Default)]
pub struct Recorder {
    hosts: Mutex<HashMap<String, HostLog>>,
}

#[derive(Debug, Default)]
struct HostLog {
    entries: Vec<Entry>,
    /// The origin of the last step whose effect is unknown.
    unknown: Option<String>,
    /// How many steps were seen per origin (loop items and handlers repeat one).
    seen: HashMap<String, usize>,
    /// A step changed the host already (applying a plan).
    changed: bool,
}

impl Recorder {
    /// Records a step on `host`; an entry after a step of unknown effect is marked as
    /// depending on it. Returns the step's key (its origin and how many times this host ran it
    /// before), which finds the plan's entry for it.
    pub fn record(&self, host: &str, mut entry: Entry) -> (String, usize) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let log = hosts.entry(host.to_string()).or_default();
        if entry.kind != Kind::Engine {
            entry.depends_on = log.unknown.clone();
        }
        if entry.kind == Kind::Unknown {
            log.unknown = Some(entry.origin.clone());
        }
        let n = log.seen.entry(entry.origin.clone()).or_insert(0);
        let key = (entry.origin.clone(), *n);
        *n += 1;
        log.entries.push(entry);
        key
    }

    /// Notes that a step changed `host` (applying a plan).
    pub fn mark_changed(&self, host: &str) {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner()).entry(host.to_string()).or_default().changed = true;
    }

    /// Whether a step changed `host` already: a later step may then observe that change, which a
    /// check run (the plan) could not see, so only its module is compared at apply time.
    pub fn changed_before(&self, host: &str) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.get(host).is_some_and(|l| l.changed)
    }

    /// Whether a step of unknown effect ran on `host` already.
    pub fn after_unknown(&self, host: &str) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.get(host).is_some_and(|l| l.unknown.is_some())
    }

    /// The entries, per host in the order of `order` (hosts that recorded nothing included,
    /// with no tasks).
    pub fn into_hosts(self, order: &[String]) -> Vec<HostPlan> {
        let mut hosts = self.hosts.into_inner().unwrap_or_else(|e| e.into_inner());
        order
            .iter()
            .map(|h| HostPlan { host: h.clone(), tasks: hosts.remove(h).map(|l| l.entries).unwrap_or_default() })
            .collect()
    }
}

/// The plan a run applies: the saved entries by host and key, for the check before each
/// two-phase task (`executor/run_task.rs`), and the drift it found.
#[derive(Debug, Default)]
pub struct Applying {
    entries: HashMap<String, HashMap<(String, usize), Entry>>,
    drifted: Mutex<BTreeMap<String, Vec<Drift>>>,
}

impl Applying {
    /// Indexes a plan's entries by host and key.
    pub fn new(plan: &Plan) -> Self {
        let mut entries: HashMap<String, HashMap<(String, usize), Entry>> = HashMap::new();
        for h in &plan.hosts {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            let by_key = entries.entry(h.host.clone()).or_default();
            for e in &h.tasks {
                let n = seen.entry(e.origin.as_str()).or_insert(0);
                by_key.insert((e.origin.clone(), *n), e.clone());
                *n += 1;
            }
        }
        Applying { entries, drifted: Mutex::new(BTreeMap::new()) }
    }

    /// The plan's entry for a step.
    pub fn entry(&self, host: &str, key: &(String, usize)) -> Option<&Entry> {
        self.entries.get(host).and_then(|m| m.get(key))
    }

    /// Notes that `host` drifted at apply time.
    pub fn drifted(&self, host: &str, drift: Drift) {
        self.drifted.lock().unwrap_or_else(|e| e.into_inner()).entry(host.to_string()).or_default().push(drift);
    }

    /// The hosts that drifted at apply time, with what differed.
    pub fn take_drifted(&self) -> BTreeMap<String, Vec<Drift>> {
        std::mem::take(&mut *self.drifted.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What the engine does with plans in this run.
#[derive(Debug)]
pub enum PlanMode {
    /// Two-phase modules decide only, and every step is recorded (`--plan-out`, and the check
    /// before applying a plan).
    Record(Recorder),
    /// Two-phase modules decide, compare with the plan and apply that decision (`--plan`).
    Apply {
        /// The saved plan.
        plan: Applying,
        /// The steps run so far (their keys, and after which step of unknown effect).
        seen: Recorder,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(origin: &str, observed: Value, changed: bool) -> Entry {
        Entry {
            task: "t".into(),
            origin: origin.into(),
            module: "sysctl".into(),
            kind: Kind::Decided,
            args: Some("sha256:a".into()),
            observed: observed.as_object().cloned(),
            changed,
            diff: vec![],
            depends_on: None,
        }
    }

    #[test]
    fn digests_ignore_key_order() {
        let a = serde_json::json!({"a": 1, "b": {"x": 1, "y": 2}});
        let b = serde_json::json!({"b": {"y": 2, "x": 1}, "a": 1});
        assert_eq!(digest_value(&a), digest_value(&b));
        assert_ne!(digest_value(&a), digest_value(&serde_json::json!({"a": 2})));
    }

    #[test]
    fn drift_names_the_field_and_both_values() {
        let p = entry("site.yml:5:7", serde_json::json!({"file_value": null}), true);
        let n = entry("site.yml:5:7", serde_json::json!({"file_value": "1"}), false);
        assert_eq!(
            compare(&p, &n, true),
            vec!["observed.file_value: null -> \"1\"", "change: would change -> unchanged"]
        );
        assert!(compare(&p, &n, false).is_empty());
        assert!(compare(&p, &p, true).is_empty());
    }

    #[test]
    fn a_field_the_plan_did_not_record_is_no_drift_while_null() {
        let p = entry("site.yml:5:7", serde_json::json!({"type": "absent"}), true);
        let n = entry("site.yml:5:7", serde_json::json!({"type": "absent", "link_target": null}), true);
        assert!(compare(&p, &n, true).is_empty());
        let n = entry("site.yml:5:7", serde_json::json!({"type": "absent", "link_target": "/x"}), true);
        assert_eq!(compare(&p, &n, true), vec!["observed.link_target: null -> \"/x\""]);
    }

    #[test]
    fn a_missing_or_extra_step_is_drift() {
        let p = vec![entry("a:1:1", Value::Null, false), entry("a:2:1", Value::Null, false)];
        assert_eq!(compare_host(&p, &p[..1])[0].differences, vec!["runs: planned -> does not run now"]);
        assert_eq!(compare_host(&p[..1], &p)[0].differences, vec!["runs: not planned -> runs now"]);
    }

    #[test]
    fn steps_after_an_unknown_one_depend_on_it() {
        let r = Recorder::default();
        let mut cmd = entry("a:1:1", Value::Null, false);
        cmd.kind = Kind::Unknown;
        r.record("h", entry("a:0:1", Value::Null, false));
        r.record("h", cmd);
        assert_eq!(r.record("h", entry("a:2:1", Value::Null, false)), ("a:2:1".to_string(), 0));
        assert_eq!(r.record("h", entry("a:2:1", Value::Null, false)), ("a:2:1".to_string(), 1));
        let hosts = r.into_hosts(&["h".into(), "other".into()]);
        let deps: Vec<_> = hosts[0].tasks.iter().map(|e| e.depends_on.clone()).collect();
        assert_eq!(deps, vec![None, None, Some("a:1:1".into()), Some("a:1:1".into())]);
        assert!(hosts[1].tasks.is_empty());
    }
}
