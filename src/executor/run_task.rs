//! One task on one host: variables, conditions, loop, templated arguments, the module or engine
//! action, then changed_when/failed_when/until, register and notify.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orc_modules::contract::FileKind;
use orc_modules::{Controller, ModuleCtx, ModuleError, ModuleResult};
use serde_json::{json, Map, Value};

use super::engine_actions;
use super::host::HostState;
use super::loops;
use super::scope::Scope;
use super::Runner;
use crate::output::{Event, HostResult, Status};
use crate::playbook::{Action, Task};
use crate::template::{Templar, OMIT};
use crate::vars::{add_facts, merge, Context, HostVars};

/// The longest `pause`/`delay` orc accepts (a day): anything longer is a mistake, not a wait.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(86_400);

/// What every task of a play shares.
#[derive(Debug)]
pub struct PlayCtx {
    /// Play vars and vars_files, merged.
    pub play_vars: Map<String, Value>,
    /// Defaults of every role in the play (Ansible exposes them play-wide).
    pub role_defaults: Map<String, Value>,
    /// Vars of every role in the play.
    pub role_vars: Map<String, Value>,
    /// `ansible_play_hosts`.
    pub play_hosts: Vec<Value>,
    /// `ansible_play_batch` (the hosts of the current `serial` batch).
    pub play_batch: Vec<Value>,
    /// The `groups` variable.
    pub groups: Map<String, Value>,
    /// `playbook_dir`.
    pub play_dir: PathBuf,
    /// Play-level `connection:`.
    pub connection: Option<String>,
    /// The magic variables that are the same for every host of the play ([`play_magic`]), made
    /// once rather than for every host and task.
    pub magic: Map<String, Value>,
}

/// The host-independent magic variables of a play: `groups`, `ansible_play_hosts`,
/// `ansible_check_mode`, `playbook_dir`, `omit`...
pub fn play_magic(runner: &Runner, play: &PlayCtx) -> Map<String, Value> {
    let magic = json!({
        "groups": play.groups,
        "ansible_play_hosts": play.play_hosts,
        "ansible_play_hosts_all": play.play_hosts,
        "ansible_play_batch": play.play_batch,
        "play_hosts": play.play_hosts,
        "ansible_check_mode": runner.opts.check,
        "ansible_diff_mode": runner.opts.diff,
        "ansible_verbosity": runner.opts.verbosity,
        "ansible_forks": runner.opts.forks,
        "ansible_run_tags": if runner.opts.tags.only.is_empty() { vec!["all".to_string()] } else { runner.opts.tags.only.clone() },
        "ansible_skip_tags": runner.opts.tags.skip,
        "playbook_dir": absolute(&play.play_dir),
        "omit": OMIT,
        "ansible_version": {"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0"},
    });
    match magic {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What one host's run of a task produced.
#[derive(Debug, Clone)]
pub struct HostOutcome {
    /// Events to emit, in order.
    pub events: Vec<Event>,
    /// Overall status (counts once in the recap).
    pub status: Status,
    /// Whether it changed something.
    pub changed: bool,
    /// The registered value, if the task registers.
    pub registered: Option<Value>,
    /// Facts for the delegated host (`delegate_facts: true`).
    pub delegated_facts: Option<(String, Map<String, Value>)>,
}

/// Merges a host's variables for a task in Ansible's precedence order and adds magic variables.
pub fn context_for(
    runner: &Runner,
    play: &PlayCtx,
    st: &HostState,
    task: &Task,
    scope: &Scope,
    hostvars: &Arc<HostVars>,
) -> Arc<Context> {
    let mut m = play.role_defaults.clone();
    if let Some(r) = &scope.role {
        merge(&mut m, &r.defaults);
    }
    merge(&mut m, &st.inventory);
    add_facts(&mut m, &st.facts);
    merge(&mut m, &play.play_vars);
    merge(&mut m, &play.role_vars);
    if let Some(r) = &scope.role {
        merge(&mut m, &r.vars);
    }
    for layer in &scope.vars {
        merge(&mut m, layer);
    }
    merge(&mut m, &task.vars);
    merge(&mut m, &st.set_facts);
    if let Some(r) = &scope.role {
        merge(&mut m, &r.params);
    }
    merge(&mut m, &runner.opts.extra_vars);
    let short = st.name.split('.').next().unwrap_or(&st.name).to_string();
    m.insert("inventory_hostname".into(), Value::String(st.name.clone()));
    m.insert("inventory_hostname_short".into(), Value::String(short));
    m.insert("group_names".into(), json!(runner.inventory.group_names(&st.name)));
    merge(&mut m, &play.magic);
    // Where lookups look for relative file names (Ansible's `task.get_search_path()`): the role,
    // the task file's directory, the playbook's (src/template/search.rs).
    let mut search: Vec<Value> = Vec::new();
    let role = scope.role.as_ref().or(task.role.as_ref());
    for dir in role
        .map(|r| absolute(&r.path))
        .into_iter()
        .chain(task.loc.file.path.parent().map(absolute))
        .chain([absolute(&play.play_dir)])
    {
        if !dir.is_empty() && !search.iter().any(|d| d.as_str() == Some(dir.as_str())) {
            search.push(Value::String(dir));
        }
    }
    if !m.contains_key("ansible_search_path") {
        m.insert("ansible_search_path".into(), Value::Array(search));
    }
    // Tasks of an imported role carry their role themselves (no include scope made them).
    if let Some(r) = role {
        m.insert("role_path".into(), Value::String(absolute(&r.path)));
        m.insert("role_name".into(), Value::String(r.name.clone()));
    }
    if let Some(c) = &play.connection {
        m.entry("ansible_connection").or_insert_with(|| Value::String(c.clone()));
    }
    // Registered results and set_fact values are data: rendering them again would run whatever
    // Jinja a command printed (Ansible 2.19 treats them the same way).
    let mut data: std::collections::HashSet<String> =
        st.set_facts.keys().filter(|k| !runner.opts.extra_vars.contains_key(*k)).cloned().collect();
    if !st.facts.is_empty() {
        data.insert("ansible_facts".into());
        data.extend(st.facts.keys().map(
            |k| {
                if k.starts_with("ansible_") {
                    k.clone()
                } else {
                    format!("ansible_{k}")
                }
            },
        ));
    }
    Context::with_data(m, data, hostvars.clone(), runner.templar.clone())
}

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// Evaluates `when:` of the enclosing scope and the task.
pub fn conditions_hold(
    runner: &Runner,
    ctx: &Arc<Context>,
    scope: &Scope,
    task: &Task,
) -> Result<bool, (String, String)> {
    for cond in scope.when.iter().chain(task.when.iter()) {
        if !eval_condition(&runner.templar, cond, ctx).map_err(|e| (cond_text(cond), e))? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn first_false(runner: &Runner, ctx: &Arc<Context>, conds: &[&Value]) -> Result<Option<String>, (String, String)> {
    for cond in conds {
        if !eval_condition(&runner.templar, cond, ctx).map_err(|e| (cond_text(cond), e))? {
            return Ok(Some(cond_text(cond)));
        }
    }
    Ok(None)
}

fn cond_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => crate::yaml::display(other),
    }
}

/// A `when`-style condition: a bool, or an expression (with or without braces).
pub fn eval_condition(templar: &Templar, cond: &Value, ctx: &Arc<Context>) -> Result<bool, String> {
    match cond {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Number(n) => Ok(n.as_f64().map(|x| x != 0.0).unwrap_or(false)),
        Value::String(s) => templar.eval_bool(s, &ctx.value()).map_err(|e| e.to_string()),
        _ => Err(format!("a condition must be a string or a boolean, got {cond}")),
    }
}

/// Runs a task on one host.
pub fn run_on_host(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    scope: &Scope,
    hostvars: &Arc<HostVars>,
) -> HostOutcome {
    let ctx = context_for(runner, play, st, task, scope, hostvars);
    let delegated_to =
        task.delegate_to.clone().or_else(|| scope.delegate_to.clone()).map(|d| render_text(&runner.templar, &d, &ctx));
    let mut events = Vec::new();
    let no_log = task.no_log.or(scope.no_log).unwrap_or(false);
    // While it runs, this thread's traces are hidden (src/secrets/no_log.rs).
    let _no_log_scope = crate::secrets::NoLogScope::enter(no_log);

    let mut loop_failed = false;
    let (status, result, diffs, changed) = match &task.loop_spec {
        None => {
            let r = run_item(runner, play, st, task, scope, &ctx, delegated_to.as_deref());
            (r.status, r.result, r.diffs, r.changed)
        }
        Some(spec) => {
            // Conditions on the task are evaluated per item, but a false block/role condition skips
            // the whole task before the loop is even templated.
            let items = loops::items_for(runner, spec, &ctx, loops::action_name(task));
            match items {
                Err(msg) => {
                    // As in Ansible, a loop that cannot be templated fails the task only when its
                    // conditions hold (a `when: false` task with an undefined loop is skipped),
                    // and like any other failure of the task it can be ignored.
                    loop_failed = true;
                    let item = loop_error(runner, task, scope, &ctx, msg);
                    let status = match item.status {
                        Status::Failed { .. } => Status::Failed { ignored: is_ignored(runner, task, scope, &ctx) },
                        other => other,
                    };
                    (status, item.result, vec![], false)
                }
                Ok(items) => {
                    let lc = &task.loop_control;
                    let loop_var = lc.get("loop_var").and_then(Value::as_str).unwrap_or("item").to_string();
                    let index_var = lc.get("index_var").and_then(Value::as_str).map(str::to_string);
                    let label_tpl = lc.get("label").cloned();
                    let pause = loops::pause_seconds(runner, lc, &ctx);
                    let mut results = Vec::new();
                    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
                    let mut all_diffs = Vec::new();
                    for (idx, item) in items.iter().enumerate() {
                        let pause = match &pause {
                            Ok(p) => *p,
                            Err(msg) => {
                                results.push(json!({"failed": true, "msg": msg.clone()}));
                                any_failed = true;
                                break;
                            }
                        };
                        if idx > 0 && pause > 0.0 {
                            match std::time::Duration::try_from_secs_f64(pause) {
                                Ok(d) if d <= MAX_WAIT => std::thread::sleep(d),
                                _ => {
                                    let msg = format!(
                                        "loop_control.pause {pause} is not a number of seconds up to {}",
                                        MAX_WAIT.as_secs()
                                    );
                                    results.push(json!({"failed": true, "msg": msg.clone()}));
                                    any_failed = true;
                                    break;
                                }
                            }
                        }
                        let item = item.clone();
                        let extra = loops::item_vars(lc, &items, idx);
                        let ictx = ctx.with(&extra);
                        let r = run_item(runner, play, st, task, scope, &ictx, delegated_to.as_deref());
                        let label = match &label_tpl {
                            Some(l) => runner
                                .templar
                                .render_value(l, &ictx.value())
                                .map(|v| label_text(&v))
                                .unwrap_or_else(|_| label_text(l)),
                            None => label_text(&item),
                        };
                        any_changed |= r.changed;
                        let failed = matches!(r.status, Status::Failed { ignored: false });
                        any_failed |= failed || matches!(r.status, Status::Failed { ignored: true });
                        all_skipped &= r.status == Status::Skipped;
                        let mut item_result = r.result.clone();
                        if let Value::Object(m) = &mut item_result {
                            m.insert(loop_var.clone(), item.clone());
                            m.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
                            if let Some(iv) = &index_var {
                                m.insert("ansible_index_var".into(), Value::String(iv.clone()));
                                m.insert(iv.clone(), json!(idx));
                            }
                        }
                        events.push(Event::HostResult(Box::new(HostResult {
                            host: st.name.clone(),
                            status: r.status,
                            result: censor(&item_result, no_log),
                            diffs: if r.status == Status::Changed && !no_log { r.diffs.clone() } else { vec![] },
                            item_label: Some(if no_log { "(censored due to no_log)".into() } else { label }),
                            delegated_to: delegated_to.clone(),
                            show_result: is_debug(task),
                            loop_summary: false,
                            error: error_report(task, r.status, &censor(&r.result, no_log)),
                        })));
                        all_diffs.extend(r.diffs);
                        results.push(item_result.clone());
                        if lc.contains_key("break_when") {
                            let mut seen = Map::new();
                            if let Some(reg) = &task.register {
                                seen.insert(reg.clone(), item_result);
                            }
                            match loops::breaks(runner, lc, &ictx.with(&seen)) {
                                Ok(false) => {}
                                Ok(true) => break,
                                Err(msg) => {
                                    results.push(json!({"failed": true, "msg": msg}));
                                    any_failed = true;
                                    break;
                                }
                            }
                        }
                    }
                    let mut agg = json!({"changed": any_changed, "msg": "All items completed", "results": results, "skipped": false});
                    let status = if items.is_empty() {
                        agg = json!({"changed": false, "skipped": true, "skipped_reason": "No items in the list", "results": []});
                        Status::Skipped
                    } else if any_failed {
                        agg["failed"] = json!(true);
                        agg["msg"] = json!("One or more items failed");
                        let ignored = is_ignored(runner, task, scope, &ctx);
                        Status::Failed { ignored }
                    } else if all_skipped {
                        agg["skipped"] = json!(true);
                        agg["msg"] = json!("All items skipped");
                        Status::Skipped
                    } else if any_changed {
                        Status::Changed
                    } else {
                        Status::Ok
                    };
                    (status, agg, vec![], any_changed)
                }
            }
        }
    };

    let is_loop = task.loop_spec.is_some() && !loop_failed;
    let status =
        if matches!(status, Status::Failed { ignored: false }) && !is_loop && is_ignored(runner, task, scope, &ctx) {
            Status::Failed { ignored: true }
        } else {
            status
        };

    if let Some(reg) = &task.register {
        st.set_fact(reg, result.clone());
    }
    if status == (Status::Failed { ignored: false }) {
        // What a rescue section sees, as in Ansible.
        st.set_fact("ansible_failed_result", result.clone());
        st.set_fact("ansible_failed_task", json!({"name": task.name.clone().unwrap_or_default(), "action": task.action().map(|a| a.module.clone()).unwrap_or_default()}));
    }
    if changed {
        for n in &task.notify {
            let name = render_text(&runner.templar, n, &ctx);
            if !st.notified.contains(&name) {
                st.notified.push(name);
            }
        }
    }
    // A loop's summary is always emitted; the printer shows it as Ansible does (only
    // `...ignoring` or `skipping:`), and JSON consumers get the aggregate.
    events.push(Event::HostResult(Box::new(HostResult {
        host: st.name.clone(),
        status,
        error: if is_loop { None } else { error_report(task, status, &censor(&result, no_log)) },
        result: censor(&result, no_log),
        diffs: if status == Status::Changed && !no_log { diffs } else { vec![] },
        item_label: None,
        delegated_to: delegated_to.clone(),
        show_result: is_debug(task),
        loop_summary: is_loop,
    })));
    let delegated_facts = match (&delegated_to, task.delegate_facts, result.get("ansible_facts")) {
        (Some(d), true, Some(Value::Object(f))) if *d != st.name => Some((d.clone(), f.clone())),
        _ => None,
    };
    HostOutcome { events, status, changed, registered: task.register.as_ref().map(|_| result), delegated_facts }
}

/// The `[ERROR]` report ansible-core 2.19 prints above a failure.
fn error_report(task: &Task, status: Status, result: &Value) -> Option<crate::output::ErrorReport> {
    let msg = result.get("msg").or_else(|| result.get("censored")).map(crate::yaml::display).unwrap_or_default();
    match status {
        Status::Failed { .. } => {
            let engine =
                task.action().map(|a| super::actions::ENGINE_ACTIONS.contains(&a.short.as_str())).unwrap_or(false);
            let kind = if engine { "Action failed" } else { "Module failed" };
            Some(crate::output::ErrorReport {
                message: format!("Task failed: {kind}: {msg}"),
                origin: Some(task.loc.clone()),
            })
        }
        Status::Unreachable => {
            Some(crate::output::ErrorReport { message: format!("Task failed: {msg}"), origin: None })
        }
        _ => None,
    }
}

fn is_debug(task: &Task) -> bool {
    task.action().map(|a| a.short == "debug").unwrap_or(false)
}

fn label_text(v: &Value) -> String {
    crate::output::item_label(v)
}

/// A `no_log` task's result as shown: Ansible's "hidden" text. Its values are registered as
/// secrets (src/secrets/censor.rs), so a later debug of the registered result, a trace or an
/// error quoting them shows them masked too.
fn censor(v: &Value, no_log: bool) -> Value {
    if !no_log {
        return v.clone();
    }
    crate::secrets::register_result(v);
    json!({
        "censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
        "changed": v.get("changed").cloned().unwrap_or(Value::Bool(false)),
    })
}

fn is_ignored(runner: &Runner, task: &Task, scope: &Scope, ctx: &Arc<Context>) -> bool {
    match task.ignore_errors.as_ref().or(scope.ignore_errors.as_ref()) {
        None => false,
        Some(v) => eval_condition(&runner.templar, v, ctx).unwrap_or(false),
    }
}

fn render_text(templar: &Templar, s: &str, ctx: &Arc<Context>) -> String {
    templar.render_str(s, &ctx.value()).map(|v| crate::yaml::display(&v)).unwrap_or_else(|_| s.to_string())
}

/// One item's (or the un-looped task's) result.
struct ItemResult {
    status: Status,
    result: Value,
    diffs: Vec<orc_modules::FileDiff>,
    changed: bool,
}

fn failed(msg: impl Into<String>) -> ItemResult {
    ItemResult {
        status: Status::Failed { ignored: false },
        result: json!({"changed": false, "failed": true, "msg": msg.into()}),
        diffs: vec![],
        changed: false,
    }
}

/// What a task whose loop could not be templated gives: skipped when its conditions do not
/// hold, else failed with the loop's error.
fn loop_error(runner: &Runner, task: &Task, scope: &Scope, ctx: &Arc<Context>, msg: String) -> ItemResult {
    let conds: Vec<&Value> = scope.when.iter().chain(task.when.iter()).collect();
    match first_false(runner, ctx, &conds) {
        Ok(Some(cond)) => ItemResult {
            status: Status::Skipped,
            result: json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": cond}),
            diffs: vec![],
            changed: false,
        },
        _ => failed(msg),
    }
}

fn run_item(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    scope: &Scope,
    ctx: &Arc<Context>,
    delegated: Option<&str>,
) -> ItemResult {
    let conds: Vec<&Value> = scope.when.iter().chain(task.when.iter()).collect();
    match first_false(runner, ctx, &conds) {
        Err((cond, e)) => return failed(format!("The conditional check '{cond}' failed. The error was: {e}")),
        Ok(Some(cond)) => {
            return ItemResult {
                status: Status::Skipped,
                result: json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": cond}),
                diffs: vec![],
                changed: false,
            }
        }
        Ok(None) => {}
    }
    let Some(action) = task.action() else {
        return failed("internal: not an action task");
    };
    let retries = task
        .retries
        .as_ref()
        .and_then(|r| runner.templar.render_value(r, &ctx.value()).ok())
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
    let delay = task
        .delay
        .as_ref()
        .and_then(|r| runner.templar.render_value(r, &ctx.value()).ok())
        .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(5.0);
    let attempts_max = match &task.until {
        Some(_) => retries.unwrap_or(3).saturating_add(1),
        None => 1,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut r = run_action_once(runner, play, st, task, scope, action, ctx, delegated);
        if r.status == Status::Unreachable {
            return r;
        }
        // changed_when / failed_when see the result under the register name.
        let reg_ctx = match &task.register {
            Some(name) => {
                let mut extra = Map::new();
                extra.insert(name.clone(), r.result.clone());
                ctx.with(&extra)
            }
            None => {
                let mut extra = Map::new();
                if let Value::Object(m) = &r.result {
                    for (k, v) in m {
                        extra.insert(k.clone(), v.clone());
                    }
                }
                ctx.with(&extra)
            }
        };
        // As Ansible: changed_when applies to failed results too (a failure that failed_when
        // then clears is ok, not changed, under `changed_when: false`).
        if let Some(cw) = &task.changed_when {
            match all_true(runner, cw, &reg_ctx) {
                Ok(c) => {
                    r.changed = c;
                    r.result["changed"] = json!(c);
                    if !matches!(r.status, Status::Failed { .. }) {
                        r.status = if c { Status::Changed } else { Status::Ok };
                    }
                }
                Err(e) => return failed(format!("The conditional check failed: {e}")),
            }
        }
        if let Some(fw) = &task.failed_when {
            match any_true(runner, fw, &reg_ctx) {
                Ok(f) => {
                    r.result["failed_when_result"] = json!(f);
                    if f {
                        r.result["failed"] = json!(true);
                        r.status = Status::Failed { ignored: false };
                    } else {
                        r.result["failed"] = json!(false);
                        r.status = if r.changed { Status::Changed } else { Status::Ok };
                    }
                }
                Err(e) => return failed(format!("The conditional check failed: {e}")),
            }
        }
        if let Some(until) = &task.until {
            let mut extra = Map::new();
            if let Some(name) = &task.register {
                extra.insert(name.clone(), r.result.clone());
            }
            let uctx = ctx.with(&extra);
            let ok = all_true(runner, until, &uctx).unwrap_or(false);
            r.result["attempts"] = json!(attempt);
            if ok {
                if let Value::Object(m) = &mut r.result {
                    m.remove("retries");
                }
                return r;
            }
            if attempt >= attempts_max {
                r.result["failed"] = json!(true);
                r.status = Status::Failed { ignored: false };
                return r;
            }
            runner.sink.emit(&Event::Retry { host: st.name.clone(), left: (attempts_max - attempt) as u32 });
            match std::time::Duration::try_from_secs_f64(delay.max(0.0)) {
                Ok(d) if d <= MAX_WAIT => std::thread::sleep(d),
                _ => return failed(format!("delay {delay} is not a number of seconds up to {}", MAX_WAIT.as_secs())),
            }
            continue;
        }
        return r;
    }
}

fn all_true(runner: &Runner, conds: &[Value], ctx: &Arc<Context>) -> Result<bool, String> {
    for c in conds {
        if !eval_condition(&runner.templar, c, ctx)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn any_true(runner: &Runner, conds: &[Value], ctx: &Arc<Context>) -> Result<bool, String> {
    for c in conds {
        if eval_condition(&runner.templar, c, ctx)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes arguments whose value is the `omit` placeholder, at any depth of the top-level map.
fn strip_omit(args: &mut Map<String, Value>) {
    args.retain(|_, v| v.as_str() != Some(OMIT));
}

#[allow(clippy::too_many_arguments)]
fn run_action_once(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    scope: &Scope,
    action: &Action,
    ctx: &Arc<Context>,
    delegated: Option<&str>,
) -> ItemResult {
    let mut args = match runner.templar.render_value(&Value::Object(action.args.clone()), &ctx.value()) {
        Ok(Value::Object(m)) => m,
        Ok(_) => Map::new(),
        Err(e) => {
            let msg = match &e.undefined {
                Some(name) => format!(
                    "The task includes an option with an undefined variable: '{name}' is undefined ({}: {})",
                    action.loc, e
                ),
                None => format!("template error in the arguments of '{}' ({}): {e}", action.module, action.loc),
            };
            return failed(msg);
        }
    };
    strip_omit(&mut args);
    let check = task.check_mode.or(scope.check_mode).unwrap_or(runner.opts.check);
    let diff = task.diff.or(scope.diff).unwrap_or(runner.opts.diff);

    if let Some(out) = engine_actions::run(runner, st, action, &args, ctx, check) {
        return match out {
            Ok((status, result)) => ItemResult { changed: status == Status::Changed, status, result, diffs: vec![] },
            Err(result) => {
                ItemResult { status: Status::Failed { ignored: false }, result, diffs: vec![], changed: false }
            }
        };
    }
    let Some(module) = orc_modules::lookup(&action.short) else {
        return failed(format!("unknown module '{}'", action.module));
    };
    let controller = TaskController {
        templar: runner.templar.clone(),
        ctx: ctx.clone(),
        role_path: scope.role.as_ref().map(|r| r.path.clone()),
        play_dir: play.play_dir.clone(),
    };
    let target = delegated.unwrap_or(&st.name).to_string();
    let conn_vars = connection_vars(runner, play, st, ctx, delegated, task, scope);
    let outcome = runner.pool.with_conn(&target, &conn_vars, |conn| {
        let mut mctx = ModuleCtx { conn, check, diff, controller: &controller };
        module.run(&args, &mut mctx)
    });
    let (res, unreachable) = match outcome {
        Err(e) => (ModuleResult::failed(e.to_string()), true),
        Ok(Err(ModuleError::Conn(e))) => (ModuleResult::failed(e.to_string()), true),
        Ok(Err(ModuleError::Fail(r))) => {
            let mut r = *r;
            r.failed = true;
            (r, false)
        }
        Ok(Ok(r)) => (r, false),
    };
    if unreachable {
        return ItemResult {
            status: Status::Unreachable,
            result: json!({"changed": false, "unreachable": true, "msg": res.msg.unwrap_or_default()}),
            diffs: vec![],
            changed: false,
        };
    }
    let mut result = res.to_json();
    if let Some(Value::Object(facts)) = result.get("ansible_facts") {
        let facts = facts.clone();
        // With delegate_facts the play runner gives them to the delegated host instead.
        if !(task.delegate_facts && delegated.is_some_and(|d| d != st.name)) {
            st.add_facts(&facts);
        }
    }
    if let Value::Object(m) = &mut result {
        m.entry("failed").or_insert(Value::Bool(res.failed));
        if res.changed && check {
            // nothing extra: Ansible reports changed in check mode the same way.
        }
    }
    let status = if res.failed {
        Status::Failed { ignored: false }
    } else if res.skipped {
        Status::Skipped
    } else if res.changed {
        Status::Changed
    } else {
        Status::Ok
    };
    ItemResult { status, result, diffs: if diff { res.diff } else { vec![] }, changed: res.changed }
}

/// The variables a connection is built from: the target host's connection settings.
fn connection_vars(
    runner: &Runner,
    play: &PlayCtx,
    st: &HostState,
    ctx: &Arc<Context>,
    delegated: Option<&str>,
    task: &Task,
    scope: &Scope,
) -> Map<String, Value> {
    let mut m = Map::new();
    let source: Map<String, Value> = match delegated {
        Some(d) if d != st.name => {
            let mut v = runner.inventory.host_vars(d);
            if (d == "localhost" || d == "127.0.0.1") && !v.contains_key("ansible_connection") {
                v.insert("ansible_connection".into(), json!("local"));
            }
            v
        }
        _ => {
            let mut v = Map::new();
            for k in ctx.raw().keys().filter(|k| k.starts_with("ansible_")) {
                if let Some(val) = ctx.resolved(k) {
                    v.insert(k.clone(), val);
                }
            }
            v
        }
    };
    for (k, v) in source {
        if k.starts_with("ansible_") && !k.starts_with("ansible_facts") {
            m.insert(k, v);
        }
    }
    if let Some(c) = &runner.opts.connection {
        if delegated.is_none() {
            m.entry("ansible_connection").or_insert_with(|| json!(c));
        }
    }
    if let Some(c) = &play.connection {
        if delegated.is_none() {
            m.insert("ansible_connection".into(), json!(c));
        }
    }
    let become_ = task.r#become.or(scope.r#become).or(runner.opts.r#become);
    if let Some(b) = become_ {
        m.insert("ansible_become".into(), json!(b));
    }
    if let Some(u) =
        task.become_user.clone().or_else(|| scope.become_user.clone()).or_else(|| runner.opts.become_user.clone())
    {
        m.insert("ansible_become_user".into(), json!(u));
    }
    for (k, v) in &runner.opts.connection_defaults {
        // A host that sets the variable under another of Ansible's names keeps its own.
        let aliases: &[&str] = match k.as_str() {
            "ansible_user" => &["ansible_ssh_user"],
            _ => &[],
        };
        if !aliases.iter().any(|a| m.contains_key(*a)) {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    m
}

/// The controller-side services a module may call for this task.
struct TaskController {
    templar: Arc<Templar>,
    ctx: Arc<Context>,
    role_path: Option<PathBuf>,
    play_dir: PathBuf,
}

impl Controller for TaskController {
    fn find_file(&self, kind: FileKind, src: &str) -> Result<PathBuf, String> {
        let p = Path::new(src);
        if p.is_absolute() {
            return if p.exists() { Ok(p.to_path_buf()) } else { Err(format!("Could not find or access '{src}'")) };
        }
        let sub = match kind {
            FileKind::Files => "files",
            FileKind::Templates => "templates",
        };
        let mut cands = Vec::new();
        if let Some(r) = &self.role_path {
            cands.push(r.join(sub).join(src));
            cands.push(r.join(src));
            cands.push(r.join("tasks").join(src));
        }
        cands.push(self.play_dir.join(sub).join(src));
        cands.push(self.play_dir.join(src));
        for c in &cands {
            if c.exists() {
                return Ok(c.clone());
            }
        }
        let searched: Vec<String> = cands.iter().map(|c| c.display().to_string()).collect();
        Err(format!("Could not find or access '{src}'\nSearched in:\n\t{}", searched.join("\n\t")))
    }

    fn render_template(&self, path: &Path) -> Result<String, String> {
        let mut extra = Map::new();
        extra.insert("ansible_managed".into(), json!("Ansible managed"));
        extra.insert("template_path".into(), json!(path.display().to_string()));
        extra.insert("template_fullpath".into(), json!(absolute(path)));
        extra.insert("template_destpath".into(), Value::Null);
        let ctx = self.ctx.with(&extra);
        self.templar.render_file(path, &ctx.value()).map_err(|e| e.to_string())
    }

    fn read_source(&self, path: &Path, decrypt: bool) -> Result<Vec<u8>, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        if !decrypt || !crate::vault::is_encrypted(&bytes) {
            return Ok(bytes);
        }
        crate::secrets::open_bytes(path, &bytes).map(|p| p.to_vec()).map_err(|e| e.to_string())
    }
}
