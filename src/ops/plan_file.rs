//! Saved plans on the command side (docs/plan.md): reading and writing the file, the digests of
//! a run's inputs, and applying a plan (check every host for drift first, then apply the others).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cli::PlayArgs;
use crate::error::{Loc, OrcError, Result, SourceFile};
use crate::executor::{self, Options};
use crate::inventory::Inventory;
use crate::output::{Event, EventSink};
use crate::plan::{self, Applying, Drift, Inputs, Plan, PlanMode, Recorder};
use crate::playbook::{Play, Playbook, Task, TaskBody};

/// What a run of the playbooks needs besides its options and sink.
pub struct Run<'a> {
    /// The inventory.
    pub inventory: &'a Inventory,
    /// The playbooks, compiled.
    pub playbooks: &'a [Playbook],
    /// Each play's `vars_prompt` answers.
    pub answers: &'a [(&'a Play, Map<String, Value>)],
}

/// Reads a plan file: a file that is missing, not JSON, not a plan or of another format version
/// is invalid input (exit 3), at the line and column where it is wrong.
pub fn read(path: &Path) -> Result<Plan> {
    let text = OrcError::read(path)?;
    let src = SourceFile::new(path, text.clone());
    let at = |line: usize, col: usize| Loc { file: src.clone(), line: line.max(1), col: col.max(1) };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        OrcError::at(&at(e.line(), e.column()), format!("the plan {} is not valid JSON: {e}", path.display()))
    })?;
    if value.get("format").and_then(Value::as_str) != Some(plan::FORMAT) {
        return Err(OrcError::at(
            &at(1, 1),
            format!("{} is not an orc plan (no \"format\": \"{}\")", path.display(), plan::FORMAT),
        )
        .help("make one with `orc play PLAYBOOK -i INVENTORY --check --plan-out FILE`"));
    }
    let version = value.get("version").and_then(Value::as_u64);
    if version != Some(u64::from(plan::VERSION)) {
        return Err(OrcError::at(
            &at(1, 1),
            format!(
                "the plan {} has format version {}; this orc reads version {}",
                path.display(),
                version.map_or("none".to_string(), |v| v.to_string()),
                plan::VERSION
            ),
        )
        .help("make a new plan with this orc (--check --plan-out)"));
    }
    serde_json::from_str(&text)
        .map_err(|e| OrcError::at(&at(e.line(), e.column()), format!("the plan {} is damaged: {e}", path.display())))
}

/// Writes a plan file (whole or not at all: a temporary file renamed over it).
pub fn write(path: &Path, plan: &Plan) -> Result<()> {
    let text = serde_json::to_string_pretty(plan)
        .map_err(|e| OrcError::input(format!("could not write the plan {}: {e}", path.display())))?;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, format!("{text}\n"))
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| OrcError::input(format!("could not write the plan {}: {e}", path.display())))
}

/// The digests of what this run is made from: the playbooks and the files they load (task
/// files, roles, the playbook directory's tasks/templates/files), the inventory sources,
/// the variables (extra vars, vars files, group_vars and host_vars beside the playbook and the
/// inventory), the flags that choose hosts and tasks, and orc's version.
pub fn inputs(args: &PlayArgs, paths: &[PathBuf], playbooks: &[Playbook], opts: &Options) -> Inputs {
    let mut inputs = Inputs { orc_version: env!("CARGO_PKG_VERSION").to_string(), ..Inputs::default() };
    for p in paths {
        plan::digest_path(p, &mut inputs.playbooks);
    }
    for pb in playbooks {
        let dir = executor::playbook_dir(pb);
        for play in &pb.plays {
            let mut tasks = play.all_tasks();
            flatten(&play.handlers, &mut tasks);
            for t in tasks {
                plan::digest_path(&t.loc.file.path, &mut inputs.playbooks);
                if let Some(role) = &t.role {
                    plan::digest_path(&role.path, &mut inputs.playbooks);
                }
            }
            for (candidates, _) in &play.vars_files {
                for c in candidates.iter().filter(|c| !c.contains("{{")) {
                    if let Ok(p) = play.vars_file(c) {
                        plan::digest_path(&p, &mut inputs.vars);
                    }
                }
            }
        }
        for sub in ["tasks", "handlers", "templates", "files"] {
            let d = dir.join(sub);
            if d.is_dir() {
                plan::digest_path(&d, &mut inputs.playbooks);
            }
        }
        vars_dirs(&dir, &mut inputs.vars);
    }
    for inv in &args.common.inventory {
        plan::digest_path(inv, &mut inputs.inventory);
        if inv.is_file() {
            if let Some(parent) = inv.parent() {
                vars_dirs(if parent.as_os_str().is_empty() { Path::new(".") } else { parent }, &mut inputs.vars);
            }
        }
    }
    // The plan file itself is no input, wherever it is (an inventory directory given with -i).
    let own: Vec<PathBuf> = [&args.plan, &args.plan_out].into_iter().flatten().filter_map(|p| absolute(p)).collect();
    for group in [&mut inputs.playbooks, &mut inputs.inventory, &mut inputs.vars] {
        group.retain(|k, _| absolute(Path::new(k)).is_none_or(|a| !own.contains(&a)));
    }
    inputs.vars.insert("extra vars".into(), plan::digest_value(&Value::Object(opts.extra_vars.clone())));
    let c = &args.common;
    let flags = [
        ("--limit", c.limit.clone()),
        ("--tags", (!args.tags.is_empty()).then(|| args.tags.join(","))),
        ("--skip-tags", (!args.skip_tags.is_empty()).then(|| args.skip_tags.join(","))),
        ("--start-at-task", args.start_at_task.clone()),
        ("--become", opts.r#become.map(|b| b.to_string())),
        ("--become-user", opts.become_user.clone()),
        ("--user", c.user.clone()),
        ("--connection", c.connection.clone()),
    ];
    for (flag, value) in flags {
        inputs.options.insert(flag.into(), value.unwrap_or_else(|| "(not given)".into()));
    }
    inputs
}

/// A path made absolute through its directory (the file itself need not exist yet).
fn absolute(p: &Path) -> Option<PathBuf> {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(p.file_name()?))
}

fn vars_dirs(dir: &Path, into: &mut BTreeMap<String, String>) {
    for sub in ["group_vars", "host_vars"] {
        let d = dir.join(sub);
        if d.is_dir() {
            plan::digest_path(&d, into);
        }
    }
}

fn flatten<'a>(tasks: &'a [Task], out: &mut Vec<&'a Task>) {
    for t in tasks {
        out.push(t);
        if let TaskBody::Block { block, rescue, always } = &t.body {
            flatten(block, out);
            flatten(rescue, out);
            flatten(always, out);
        }
    }
}

/// A sink that drops every event: the check before applying a plan is not shown, only its
/// verdict (the plan's summary and each drifted host).
struct Discard;

impl EventSink for Discard {
    fn emit(&self, _event: &Event) {}
}

/// Applies a plan whose inputs match: decides again on every host in check mode and compares
/// with the plan; shows the plan's summary and each drifted host; then (without `--check`) runs
/// the playbooks on the hosts that did not drift, each two-phase task checking its decision
/// against the plan once more before it applies it. Exit 5 when a host drifted, unless a host
/// failed (2) or was unreachable (4) for another reason.
pub fn apply(
    plan: &Plan,
    path: &Path,
    run: &Run,
    opts: &Options,
    sink: &dyn EventSink,
    args: &PlayArgs,
) -> Result<i32> {
    let mut check_opts = opts.clone();
    check_opts.check = true;
    let quiet = Discard;
    let mut runner = super::play_cmd::new_runner(run.inventory, &check_opts, &quiet, run.answers)?
        .with_plan(PlanMode::Record(Recorder::default()));
    let checked = runner.run(run.playbooks);
    let recorded = runner.take_plan();
    drop(runner);
    let rec = match recorded {
        Some(PlanMode::Record(rec)) => rec,
        _ => Recorder::default(),
    };
    let mut order: Vec<String> = plan.hosts.iter().map(|h| h.host.clone()).collect();
    for (h, _) in &checked.stats {
        if !order.contains(h) {
            order.push(h.clone());
        }
    }
    let mut drifted: Vec<(String, Vec<Drift>)> = Vec::new();
    for now in rec.into_hosts(&order) {
        let planned = plan.hosts.iter().find(|p| p.host == now.host).map(|p| p.tasks.as_slice()).unwrap_or(&[]);
        let mut d = plan::compare_host(planned, &now.tasks);
        // The check is not shown: say when it could not finish on the host, which explains the
        // tasks it did not reach.
        let trouble =
            checked.stats.iter().find(|(h, _)| *h == now.host).map(|(_, s)| (s.unreachable > 0, s.failed > 0));
        if !d.is_empty() {
            if let Some((unreachable, _)) = trouble.filter(|(u, f)| *u || *f) {
                let what = if unreachable { "was unreachable" } else { "failed a task" };
                d.insert(
                    0,
                    Drift {
                        task: "(the check before applying)".into(),
                        origin: path.display().to_string(),
                        differences: vec![format!("the host {what} during the check: run --check to see why")],
                    },
                );
            }
        }
        if !d.is_empty() {
            drifted.push((now.host, d));
        }
    }
    sink.emit(&Event::PlanSummary { path: path.display().to_string(), hosts: plan::summarize(&plan.hosts) });
    for (host, drifts) in &drifted {
        sink.emit(&Event::PlanDrift { host: host.clone(), drifts: drifts.clone() });
    }
    let drift_code = if drifted.is_empty() { 0 } else { 5 };
    if opts.check {
        return Ok(drift_code);
    }
    let mut apply_opts = opts.clone();
    apply_opts.exclude_hosts = drifted.iter().map(|(h, _)| h.clone()).collect();
    if order.iter().all(|h| apply_opts.exclude_hosts.contains(h)) {
        // Every host drifted: nothing runs.
        return Ok(drift_code);
    }
    let mut runner = super::play_cmd::new_runner(run.inventory, &apply_opts, sink, run.answers)?
        .with_plan(PlanMode::Apply { plan: Applying::new(plan), seen: Recorder::default() });
    let outcome = runner.run(run.playbooks);
    let late = match runner.take_plan() {
        Some(PlanMode::Apply { plan, .. }) => plan.take_drifted(),
        _ => BTreeMap::new(),
    };
    drop(runner);
    for (host, drifts) in &late {
        sink.emit(&Event::PlanDrift { host: host.clone(), drifts: drifts.clone() });
    }
    // A host stopped by drift at apply time failed a task, but counts as drift.
    let kept = executor::Outcome {
        stats: outcome.stats.into_iter().filter(|(h, _)| !late.contains_key(h)).collect(),
        ..outcome
    };
    let code = kept.exit_code(false, args.common.detailed_exitcode);
    Ok(if code == 0 && (!drifted.is_empty() || !late.is_empty()) { 5 } else { code })
}
