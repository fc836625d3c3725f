//! One task on one host: variables, conditions, loop, templated arguments, the module or engine
//! action, then changed_when/failed_when/until, register and notify.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orc_modules::contract::FileKind;
use orc_modules::{ConnError, Connection, Controller, ModuleCtx, ModuleError, ModuleResult, TemplateRequest};
use serde_json::{json, Map, Value};

use super::actions::{Call, Runs};
use super::host::HostState;
use super::loops;
use super::prefetch::Ahead;
use super::settings::Settings;
use super::task_conn::{valid_env_name, TaskConn};
use super::Runner;
use crate::output::{Event, HostResult, Status};
use crate::plan::{DiffText, Drift, Entry, Kind, PlanMode};
use crate::playbook::{Action, Task, TaskBody};
use crate::template::{Templar, OMIT};
use crate::vars::{add_facts, merge, Context, HostVars};

/// The longest `pause`/`delay` orc accepts (a day): anything longer is a mistake, not a wait.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(86_400);

/// What every task of a play shares.
#[derive(Debug, Clone)]
pub struct PlayCtx {
    /// Play vars and the answers to vars_prompt, merged.
    pub play_vars: Map<String, Value>,
    /// Each host's vars_files variables, by host name (the files' names may be templates,
    /// rendered per host); hosts naming the same files share one map.
    pub files_vars: std::collections::HashMap<String, Arc<Map<String, Value>>>,
    /// Defaults of every role in the play (Ansible exposes them play-wide).
    pub role_defaults: Map<String, Value>,
    /// Vars of every role in the play.
    pub role_vars: Map<String, Value>,
    /// `playbook_dir`.
    pub play_dir: PathBuf,
    /// The magic variables that are the same for every host of the play (`magic::play`), made
    /// once, and shared by every host's context rather than copied into it (`Context::layered`).
    pub magic: Arc<Map<String, Value>>,
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
    /// `ignore_unreachable:` as rendered for this host.
    pub ignore_unreachable: bool,
}

/// The task's search path (`playbook::search`): its role, its file's directory, the playbook.
pub fn search_path(task: &Task, play_dir: &Path) -> Vec<PathBuf> {
    let role = task.role.as_ref().map(|r| r.path.as_path());
    crate::playbook::search::task_search_path(role, &task.file_dir(), play_dir)
}

/// Merges a host's variables for a task in Ansible's precedence order (role defaults, inventory,
/// facts, play vars and vars_files, role vars, block and task vars, include_vars, set_fact and
/// registered, role parameters, include parameters, extra vars) and adds the magic variables.
pub fn context_for(
    runner: &Runner,
    play: &PlayCtx,
    st: &HostState,
    task: &Task,
    hostvars: &Arc<HostVars>,
) -> Arc<Context> {
    let role = task.role.as_deref();
    // The task's role after the roles it was brought in by (Ansible's dep chain).
    let chain: Vec<&crate::playbook::Role> =
        role.map(|r| r.parents.iter().map(|p| &**p).chain(std::iter::once(r)).collect()).unwrap_or_default();
    let mut m = play.role_defaults.clone();
    for r in &chain {
        merge(&mut m, &r.defaults);
    }
    merge(&mut m, &st.inventory);
    add_facts(&mut m, &st.facts, &st.bare_facts);
    merge(&mut m, &play.play_vars);
    if let Some(files) = play.files_vars.get(&st.name) {
        merge(&mut m, files);
    }
    merge(&mut m, &play.role_vars);
    for r in &chain {
        merge(&mut m, &r.vars);
    }
    for layer in &task.kw.vars {
        merge(&mut m, layer);
    }
    // Ansible's order: include_vars, then set_fact and registered variables.
    merge(&mut m, &st.included_vars);
    merge(&mut m, &st.set_facts);
    for r in &chain {
        merge(&mut m, &r.params);
    }
    if let Some(p) = &task.include_params {
        merge(&mut m, p);
    }
    merge(&mut m, &runner.opts.extra_vars);
    merge(&mut m, &super::magic::host(runner, &st.name, role, &search_path(task, &play.play_dir)));
    if let Some(Value::String(c)) = &task.kw.connection {
        if !c.contains("{{") {
            m.entry("ansible_connection").or_insert_with(|| Value::String(c.clone()));
        }
    }
    // As Ansible's connection options: a host that sets no address is reached by its name.
    m.entry("ansible_host").or_insert_with(|| Value::String(st.name.clone()));
    // Registered results and set_fact values are data: rendering them again would run whatever
    // Jinja a command printed (Ansible 2.19 treats them the same way).
    let mut data: std::collections::HashSet<String> =
        st.set_facts.keys().filter(|k| !runner.opts.extra_vars.contains_key(*k)).cloned().collect();
    if !st.facts.is_empty() {
        data.insert("ansible_facts".into());
        data.extend(st.bare_facts.iter().cloned());
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
    // The play-wide magic variables win over the host's, as if merged last (`Context::layered`).
    let mut ctx = Context::layered(m, play.magic.clone(), data, hostvars.clone(), runner.templar.clone());
    if let Some(c) = Arc::get_mut(&mut ctx) {
        c.set_trusted(st.trusted_facts.clone());
    }
    ctx
}

/// Whether item `idx` of a loop is the text written in its literal list (`loop: [a, b]`,
/// `with_list`), no template in it: trusted as Ansible's (`TrustedAsTemplate`).
fn literal_item(spec: &crate::playbook::LoopSpec, items: &[Value], idx: usize) -> bool {
    use crate::playbook::LoopSpec;
    let (LoopSpec::Loop(Value::Array(raw)) | LoopSpec::WithList(Value::Array(raw))) = spec else { return false };
    raw.len() == items.len() && raw.get(idx).is_some_and(|r| !crate::vars::has_template(r) && Some(r) == items.get(idx))
}

/// Evaluates the task's `when:` (with those of its blocks and roles, merged into it).
pub fn conditions_hold(runner: &Runner, ctx: &Arc<Context>, task: &Task) -> Result<bool, (String, String)> {
    for cond in &task.kw.when {
        if !eval_condition(&runner.templar, cond, ctx).map_err(|e| (cond_text(cond), e))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The first condition that does not hold, as written (a `when: false` stays a boolean: the
/// result's `false_condition`, which Ansible's test_core target compares with `False`).
fn first_false(runner: &Runner, ctx: &Arc<Context>, conds: &[&Value]) -> Result<Option<Value>, (String, String)> {
    for cond in conds {
        if !eval_condition(&runner.templar, cond, ctx).map_err(|e| (cond_text(cond), e))? {
            return Ok(Some((*cond).clone()));
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
    hostvars: &Arc<HostVars>,
    next: &[Task],
) -> HostOutcome {
    if let Some(a) = task.action().filter(|a| a.is_templated()) {
        // The module is known now, for this host: the task runs as if written with it. A name
        // that does not resolve fails the task when it runs (`run_action_once`).
        let ctx = context_for(runner, play, st, task, hostvars);
        if let Ok(resolved) = resolve_action(runner, a, &ctx) {
            let task = Task { body: TaskBody::Action(resolved), ..task.clone() };
            return run_on_host(runner, play, st, &task, hostvars, next);
        }
    }
    let ahead = Ahead { next, hostvars };
    st.result_trust.clear();
    let mut ctx = context_for(runner, play, st, task, hostvars);
    let mut events = Vec::new();
    let base = Settings::resolve(runner, &task.kw, &ctx);
    // An action that defines variables (set_fact, include_vars) in a loop: each item sees what
    // the items before it set, as in Ansible.
    let defines_vars = task.action().and_then(|a| a.engine).is_some_and(|e| e.runs() == Runs::Host)
        && task.action().is_some_and(|a| matches!(a.short.as_str(), "set_fact" | "include_vars"));
    // While it runs, this thread's traces are hidden (src/secrets/no_log.rs).
    let _no_log_scope = crate::secrets::NoLogScope::enter(base.as_ref().is_ok_and(|s| s.no_log));

    let mut loop_failed = false;
    let (status, result, diffs, changed, settings) = match &task.loop_spec {
        None => {
            let r = run_item(runner, play, st, task, &ctx, &base, &ahead);
            (
                r.status,
                r.result,
                r.diffs,
                r.changed,
                base.clone().unwrap_or_else(|_| Settings::fallback(runner, &task.kw, &ctx)),
            )
        }
        Some(spec) => {
            // Conditions on the task are evaluated per item, as the keywords are rendered; a false
            // block/role condition skips the whole task before the loop is even templated.
            let items = loops::items_for(runner, spec, &ctx, loops::action_name(task));
            match items {
                Err(msg) => {
                    // As in Ansible, a loop that cannot be templated fails the task only when its
                    // conditions hold (a `when: false` task with an undefined loop is skipped),
                    // and like any other failure of the task it can be ignored.
                    loop_failed = true;
                    let item = loop_error(runner, task, &ctx, msg);
                    let settings = base.clone().unwrap_or_else(|_| Settings::fallback(runner, &task.kw, &ctx));
                    let status = match item.status {
                        Status::Failed { .. } => Status::Failed { ignored: settings.ignore_errors },
                        other => other,
                    };
                    (status, item.result, vec![], false, settings)
                }
                Ok(items) => {
                    let lc = &loops::control_for(runner, &task.loop_control, &ctx);
                    let loop_var = lc.get("loop_var").and_then(Value::as_str).unwrap_or("item").to_string();
                    let index_var = lc.get("index_var").and_then(Value::as_str).map(str::to_string);
                    let label_tpl = lc.get("label").cloned();
                    let pause = loops::pause_seconds(runner, lc, &ctx);
                    let mut results = Vec::new();
                    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
                    let mut any_unreachable = false;
                    let mut summary_settings = base.clone().ok();
                    // The registered variable holds the previous item's result while the loop
                    // runs, and this item's once it ran (its label may read it), as Ansible's
                    // `_run_loop` sets it per iteration.
                    let mut registered_item = Map::new();
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
                        if idx > 0 && defines_vars {
                            ctx = context_for(runner, play, st, task, hostvars);
                        }
                        let item = item.clone();
                        let mut extra = registered_item.clone();
                        merge(&mut extra, &loops::item_vars(lc, &items, idx));
                        // Items are data; one written in a literal list as it is stays trusted.
                        let mut trusted = crate::vars::TrustedParts::new();
                        if literal_item(spec, &items, idx) {
                            trusted.insert(loop_var.clone(), vec![Vec::new()]);
                        }
                        let ictx = ctx.with_trusted(&extra, trusted);
                        let item_settings = Settings::resolve(runner, &task.kw, &ictx);
                        let r = run_item(runner, play, st, task, &ictx, &item_settings, &ahead);
                        let item_settings =
                            item_settings.unwrap_or_else(|_| Settings::fallback(runner, &task.kw, &ictx));
                        let no_log = item_settings.no_log;
                        let mut r = r;
                        // A label that failed is a failed result, not an error Ansible reports.
                        let mut label_failed = false;
                        let mut item_result = r.result.clone();
                        if let Value::Object(m) = &mut item_result {
                            m.insert(loop_var.clone(), item.clone());
                            m.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
                            if let Some(iv) = &index_var {
                                m.insert("ansible_index_var".into(), Value::String(iv.clone()));
                                m.insert(iv.clone(), json!(idx));
                            }
                        }
                        if let Some(reg) = &task.register {
                            registered_item.insert(reg.clone(), item_result.clone());
                        }
                        let label = match &label_tpl {
                            Some(l) => match runner.templar.render_value(l, &ictx.with(&registered_item).value()) {
                                Ok(v) => label_text(&v),
                                // As Ansible: an undefined name in the label fails the item.
                                Err(e) if e.undefined.is_some() => {
                                    if let Value::Object(m) = &mut item_result {
                                        m.insert("failed".into(), json!(true));
                                        m.insert(
                                            "msg".into(),
                                            json!(format!("Failed to template loop_control.label: {e}")),
                                        );
                                    }
                                    r.status = Status::Failed { ignored: false };
                                    r.result = item_result.clone();
                                    label_failed = true;
                                    label_text(&item)
                                }
                                Err(_) => label_text(l),
                            },
                            None => label_text(&item),
                        };
                        any_changed |= r.changed;
                        any_unreachable |= r.status == Status::Unreachable;
                        let failed = matches!(r.status, Status::Failed { ignored: false });
                        any_failed |= failed || matches!(r.status, Status::Failed { ignored: true });
                        all_skipped &= r.status == Status::Skipped;
                        events.push(Event::HostResult(Box::new(HostResult {
                            host: st.name.clone(),
                            status: r.status,
                            result: censor(&item_result, no_log),
                            diffs: if r.status == Status::Changed && !no_log { r.diffs.clone() } else { vec![] },
                            item_label: Some(if no_log { "(censored due to no_log)".into() } else { label }),
                            delegated_to: item_settings.delegate_to.clone(),
                            show_result: shows_result(task, &item_result) && !no_log,
                            loop_summary: false,
                            error: if label_failed {
                                None
                            } else {
                                error_report(task, r.status, &censor(&r.result, no_log))
                            },
                            unreachable_ignored: r.status == Status::Unreachable && item_settings.ignore_unreachable,
                        })));
                        results.push(item_result.clone());
                        summary_settings.get_or_insert(item_settings);
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
                    let settings = summary_settings.unwrap_or_default();
                    let mut agg = json!({"changed": any_changed, "msg": "All items completed", "results": results, "skipped": false});
                    let status = if items.is_empty() {
                        agg = json!({"changed": false, "skipped": true, "skipped_reason": "No items in the list", "results": []});
                        Status::Skipped
                    } else if any_unreachable {
                        // As Ansible: an item that could not reach its host makes the task's host
                        // unreachable (with delegate_to, the host delegated to); its message stays
                        // "All items completed", as ansible-playbook 2.19's.
                        agg["unreachable"] = json!(true);
                        Status::Unreachable
                    } else if any_failed {
                        agg["failed"] = json!(true);
                        agg["msg"] = json!("One or more items failed");
                        Status::Failed { ignored: settings.ignore_errors }
                    } else if all_skipped {
                        agg["skipped"] = json!(true);
                        agg["msg"] = json!("All items skipped");
                        Status::Skipped
                    } else if any_changed {
                        Status::Changed
                    } else {
                        Status::Ok
                    };
                    (status, agg, vec![], any_changed, settings)
                }
            }
        }
    };

    let is_loop = task.loop_spec.is_some() && !loop_failed;
    let status = if matches!(status, Status::Failed { ignored: false }) && !is_loop && settings.ignore_errors {
        Status::Failed { ignored: true }
    } else {
        status
    };

    // What an engine action declared trusted in its result stays so when registered (a loop's
    // results are data as a whole).
    let trusted = if is_loop { Vec::new() } else { std::mem::take(&mut st.result_trust) };
    st.result_trust.clear();
    if let Some(reg) = &task.register {
        st.set_fact_trusting(reg, result.clone(), trusted);
    }
    if !matches!(status, Status::Failed { .. } | Status::Unreachable | Status::Skipped) {
        super::python_facts::record(st, task, &result, settings.delegate_to.as_deref(), settings.delegate_facts);
    }
    if status == (Status::Failed { ignored: false }) {
        // What a rescue section sees, as in Ansible.
        st.set_fact("ansible_failed_result", result.clone());
        st.set_fact("ansible_failed_task", json!({"name": task.name.clone().unwrap_or_default(), "action": task.action().map(|a| a.module.clone()).unwrap_or_default()}));
    }
    if changed {
        for n in &task.notify {
            // A template may give a list of names (`notify: "{{ handler_list }}"`).
            let names = match runner.templar.render_str(n, &ctx.value()) {
                Ok(Value::Array(items)) => items.iter().map(crate::yaml::display).collect(),
                _ => vec![render_text(&runner.templar, n, &ctx)],
            };
            for name in names {
                if !st.notified.contains(&name) {
                    st.notified.push(name);
                }
            }
        }
    }
    let delegated_to = settings.delegate_to.clone();
    // A loop's summary is always emitted; the printer shows it as Ansible does (only
    // `...ignoring` or `skipping:`), and JSON consumers get the aggregate.
    events.push(Event::HostResult(Box::new(HostResult {
        host: st.name.clone(),
        status,
        error: if is_loop { None } else { error_report(task, status, &censor(&result, settings.no_log)) },
        result: censor(&result, settings.no_log),
        diffs: if status == Status::Changed && !settings.no_log { diffs } else { vec![] },
        item_label: None,
        delegated_to: delegated_to.clone(),
        show_result: shows_result(task, &result) && !settings.no_log,
        loop_summary: is_loop,
        unreachable_ignored: status == Status::Unreachable && settings.ignore_unreachable,
    })));
    let delegated_facts = match (&delegated_to, settings.delegate_facts, result.get("ansible_facts")) {
        (Some(d), true, Some(Value::Object(f))) if *d != st.name => Some((d.clone(), f.clone())),
        _ => None,
    };
    HostOutcome {
        events,
        status,
        changed,
        registered: task.register.as_ref().map(|_| result),
        delegated_facts,
        ignore_unreachable: settings.ignore_unreachable,
    }
}

/// The `[ERROR]` report ansible-core 2.19 prints above a failure.
fn error_report(task: &Task, status: Status, result: &Value) -> Option<crate::output::ErrorReport> {
    let msg = result.get("msg").or_else(|| result.get("censored")).map(crate::yaml::display).unwrap_or_default();
    match status {
        // A task that ran out of its `timeout:` says so itself.
        Status::Failed { .. } if result.get("timedout").is_some() => {
            Some(crate::output::ErrorReport { message: msg, origin: Some(task.loc.clone()) })
        }
        // A message that already says where the task failed (a module's exception, as Ansible
        // 2.19 words it in the result) is shown as it is.
        Status::Failed { .. } if msg.starts_with("Task failed: ") => {
            Some(crate::output::ErrorReport { message: msg, origin: Some(task.loc.clone()) })
        }
        // An action that refused `async:` failed before it ran, not in its module or action; an
        // action whose failures are its argument spec's (`fails_bare`) is reported bare too.
        Status::Failed { .. }
            if refused_async(task, result) || task.action().and_then(|a| a.engine).is_some_and(|e| e.fails_bare()) =>
        {
            Some(crate::output::ErrorReport { message: format!("Task failed: {msg}"), origin: Some(task.loc.clone()) })
        }
        Status::Failed { .. } => {
            // An async task given up on failed in Ansible's async action, not in its module.
            let engine = task.action().and_then(|a| a.engine).is_some_and(|e| !e.fails_as_module())
                || result.get("async_result").is_some();
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

/// The result is one the `debug` action made (Ansible's `_ansible_verbose_always`): printed
/// in full, indented. A debug refused before it ran (`async:`) is printed as any failure.
fn shows_result(task: &Task, result: &Value) -> bool {
    is_debug(task) && !refused_async(task, result)
}

/// The task's action refused `async:` (executor/async_task.rs) and this is its failure.
fn refused_async(task: &Task, result: &Value) -> bool {
    task.action().is_some_and(|a| result.get("msg").and_then(Value::as_str) == Some(&super::async_task::refused(a)))
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

fn render_text(templar: &Templar, s: &str, ctx: &Arc<Context>) -> String {
    templar.render_str(s, &ctx.value()).map(|v| crate::yaml::display(&v)).unwrap_or_else(|_| s.to_string())
}

/// One item's (or the un-looped task's) result.
pub(super) struct ItemResult {
    /// How it ended.
    pub status: Status,
    /// The Ansible-shaped result.
    pub result: Value,
    /// Diffs (diff mode).
    pub diffs: Vec<orc_modules::FileDiff>,
    /// It changed something.
    pub changed: bool,
}

/// A failed result with `msg`.
pub(super) fn failed(msg: impl Into<String>) -> ItemResult {
    ItemResult {
        status: Status::Failed { ignored: false },
        result: json!({"changed": false, "failed": true, "msg": msg.into()}),
        diffs: vec![],
        changed: false,
    }
}

/// What a task whose loop could not be templated gives: skipped when its conditions do not
/// hold, else failed with the loop's error.
fn loop_error(runner: &Runner, task: &Task, ctx: &Arc<Context>, msg: String) -> ItemResult {
    let conds: Vec<&Value> = task.kw.when.iter().collect();
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

/// What Ansible 2.19 registers as a failed result's `exception` (its error summary rendered with
/// tracebacks off: ansible/_internal/_templating/_transform.py `error_summary`).
const NO_TRACEBACK: &str = "(traceback unavailable)";

/// Runs the task (one item of its loop) when its conditions hold; its keywords were rendered
/// into `settings` (an error in them fails the task only when it is not skipped, as in Ansible).
/// As Ansible's TaskExecutor normalizes every item's result: a failed one carries `exception`
/// (printers leave it out, a registered result has it).
fn run_item(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    ctx: &Arc<Context>,
    settings: &Result<Settings, String>,
    ahead: &Ahead,
) -> ItemResult {
    let mut r = run_item_checked(runner, play, st, task, ctx, settings, ahead);
    if let (Status::Failed { .. }, Value::Object(m)) = (r.status, &mut r.result) {
        m.entry("exception").or_insert_with(|| json!(NO_TRACEBACK));
    }
    r
}

#[allow(clippy::too_many_arguments)]
fn run_item_checked(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    ctx: &Arc<Context>,
    settings: &Result<Settings, String>,
    ahead: &Ahead,
) -> ItemResult {
    let conds: Vec<&Value> = task.kw.when.iter().collect();
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
    let settings = match settings {
        Ok(s) => s,
        Err(msg) => return failed(msg.clone()),
    };
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
        let mut r = run_action_once(runner, play, st, task, action, ctx, settings, ahead);
        if r.status == Status::Unreachable {
            return r;
        }
        // A module's failed result carries its exception (fail_json's error summary), which
        // changed_when/failed_when see and a failed_when that clears the failure keeps aside.
        if let (None, Status::Failed { .. }, Value::Object(m)) = (action.engine, r.status, &mut r.result) {
            m.entry("exception").or_insert_with(|| json!(NO_TRACEBACK));
        }
        // As Ansible: `attempts` is there early, for changed_when and failed_when to use.
        if task.until.is_some() && r.result.is_object() {
            r.result["attempts"] = json!(attempt);
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
        // As Ansible: a changed_when/failed_when that cannot be evaluated fails the task, keeping
        // the module's result, with the error under `changed_when_result`/`failed_when_result`
        // (and failed_when is not evaluated after a changed_when error).
        let mut cond_error = false;
        if let Some(cw) = &task.changed_when {
            match all_true(runner, cw, &reg_ctx) {
                Ok(c) => {
                    r.changed = c;
                    r.result["changed"] = json!(c);
                    if !matches!(r.status, Status::Failed { .. }) {
                        r.status = if c { Status::Changed } else { Status::Ok };
                    }
                }
                Err(e) => {
                    cond_error = true;
                    cond_failed(&mut r, "changed", e)
                }
            }
        }
        if let Some(fw) = task.failed_when.as_ref().filter(|_| !cond_error) {
            match any_true(runner, fw, &reg_ctx) {
                Ok(f) => {
                    r.result["failed_when_result"] = json!(f);
                    if f {
                        r.result["failed"] = json!(true);
                        r.status = Status::Failed { ignored: false };
                    } else {
                        r.result["failed"] = json!(false);
                        r.status = if r.changed { Status::Changed } else { Status::Ok };
                        if let Some(e) = r.result.as_object_mut().and_then(|m| m.remove("exception")) {
                            r.result["failed_when_suppressed_exception"] = e;
                        }
                    }
                }
                Err(e) => cond_failed(&mut r, "failed", e),
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
                // As Ansible's TaskResult.is_failed: a failed_when result, when there is one,
                // decides whether the task failed, also once the retries ran out.
                if r.result.get("failed_when_result") != Some(&json!(false)) {
                    r.status = Status::Failed { ignored: false };
                }
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

/// A changed_when/failed_when (`which`) that could not be evaluated: the task fails, keeping the
/// module's result, with the error under `{which}_when_result` (Ansible's TaskExecutor).
fn cond_failed(r: &mut ItemResult, which: &str, e: String) {
    let text = format!("The conditional check failed: {e}");
    if r.result.get("msg").is_none_or(|m| m.as_str() == Some("")) {
        r.result["msg"] = json!(text.clone());
    }
    r.result[format!("{which}_when_result")] = json!(text);
    r.result["failed"] = json!(true);
    r.status = Status::Failed { ignored: false };
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

/// The arguments `module_defaults` gives `module` (short name), outermost entries first so that
/// later ones win; `group/NAME` entries apply to every module of the group.
fn module_defaults_for(settings: &Settings, module: &str) -> Map<String, Value> {
    let mut out = Map::new();
    // A backend's defaults first: the module's own win over them.
    for applies in [backend_defaults_apply, module_defaults_apply] {
        for entry in &settings.module_defaults {
            for (key, defaults) in entry {
                if let (true, Value::Object(d)) = (applies(key, module), defaults) {
                    merge(&mut out, d);
                }
            }
        }
    }
    out
}

/// Whether a `module_defaults` key names a module `module` runs as on some hosts: `service` runs
/// as `systemd` or `sysvinit`, `package` as `apt`, `dnf`, `dnf5` or `yum`, and Ansible's action
/// applies that module's defaults under the task's arguments (orc applies every backend's
/// defaults, whichever the host has).
pub(crate) fn backend_defaults_apply(key: &str, module: &str) -> bool {
    let key = orc_modules::registry::short_name(key);
    match module {
        "service" => matches!(key, "systemd" | "systemd_service" | "sysvinit"),
        "package" => matches!(key, "apt" | "dnf" | "dnf5" | "yum"),
        _ => false,
    }
}

/// Whether a `module_defaults` key (a module's name or FQCN, or `group/NAME`) applies to
/// `module` (short name).
pub(crate) fn module_defaults_apply(key: &str, module: &str) -> bool {
    match key.strip_prefix("group/") {
        Some(group) => module_group(group).is_some_and(|pred| pred(module)),
        None => orc_modules::registry::short_name(key) == module,
    }
}

/// The module groups `module_defaults` may name (Ansible's action groups of the collections
/// whose modules orc ships).
fn module_group(group: &str) -> Option<fn(&str) -> bool> {
    match group {
        "community.docker.docker" | "docker" => Some(|m: &str| m.starts_with("docker_")),
        _ => None,
    }
}

/// The action of a task whose module is a template (`action: {module: "{{ name }}"}`), with the
/// module rendered for this host: a module, or an engine action that runs per host. Ansible's
/// message when the name is none of them.
fn resolve_action(runner: &Runner, a: &Action, ctx: &Arc<Context>) -> Result<Action, String> {
    let name = runner
        .templar
        .render_str(&a.module, &ctx.value())
        .map(|v| crate::yaml::display(&v))
        .map_err(|e| format!("template error in the module name '{}' ({}): {e}", a.module, a.loc))?;
    let name = name.trim().to_string();
    let engine = super::actions::lookup(&name);
    let short = match engine {
        Some(e) if e.runs() != Runs::Host => {
            return Err(format!("'{name}' cannot be the templated action of a task: it is not run per host"))
        }
        Some(e) => e.name().to_string(),
        None if orc_modules::lookup(&name).is_some() => orc_modules::registry::short_name(&name).to_string(),
        // Worded as ansible-core 2.19's error, whose message the printer shows as it is.
        None => return Err(format!("Task failed: Cannot resolve '{name}' to an action or module.")),
    };
    Ok(Action { module: name, short, args: a.args.clone(), loc: a.loc.clone(), engine })
}

#[allow(clippy::too_many_arguments)]
fn run_action_once(
    runner: &Runner,
    play: &PlayCtx,
    st: &mut HostState,
    task: &Task,
    action: &Action,
    ctx: &Arc<Context>,
    settings: &Settings,
    ahead: &Ahead,
) -> ItemResult {
    if action.is_templated() {
        return failed(
            resolve_action(runner, action, ctx).err().unwrap_or_else(|| "internal: unresolved action".into()),
        );
    }
    let mut raw = action.args.clone();
    if action.engine.is_none() {
        for (k, v) in module_defaults_for(settings, &action.short) {
            raw.entry(k).or_insert(v);
        }
    }
    // What the action renders itself is set aside, then given back as written.
    let untemplated: Vec<(String, Value)> = action
        .engine
        .map(|e| e.untemplated_args())
        .unwrap_or_default()
        .iter()
        .filter_map(|k| raw.shift_remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    let vars = ctx.value();
    let mut args = match runner.templar.render_value(&Value::Object(raw.clone()), &vars) {
        Ok(Value::Object(mut m)) => {
            m.extend(untemplated);
            m
        }
        Ok(_) => Map::new(),
        Err(e) => {
            // As ansible-core 2.19 words it (TaskExecutor's argument finalization): the argument
            // whose value could not be rendered, then why.
            let key = raw.iter().find(|(_, v)| runner.templar.render_value(v, &vars).is_err()).map(|(k, _)| k.as_str());
            let why = match &e.undefined {
                Some(_) => e.to_string(),
                None => format!("Error rendering template: {e}"),
            };
            let fqcn = orc_modules::registry::fqcn(&action.module);
            let msg = match key {
                Some(key) => format!(
                    "Task failed: Finalization of task args for '{fqcn}' failed: Error while resolving value for '{key}': {why}"
                ),
                None => format!("Task failed: Finalization of task args for '{fqcn}' failed: {why}"),
            };
            return failed(msg);
        }
    };
    strip_omit(&mut args);
    // Ansible's package action picks its backend from `ansible_package_use` when `use` is not given.
    if action.short == "package" && !args.contains_key("use") {
        if let Some(Value::String(u)) = ctx.resolved("ansible_package_use") {
            args.insert("use".into(), Value::String(u));
        }
    }
    let (check, diff) = (settings.check, settings.diff);
    let search = search_path(task, &play.play_dir);
    let render_number = |v: &Option<Value>| {
        v.as_ref()
            .and_then(|v| runner.templar.render_value(v, &ctx.value()).ok())
            .and_then(|v| super::settings::as_u64(&v))
    };
    let async_limit = render_number(&task.r#async).filter(|a| *a > 0);
    if async_limit.is_some() && !super::async_task::supports_async(action) {
        let mut refusal = failed(super::async_task::refused(action));
        if action.engine.is_some() {
            // As Ansible's result for an action run on the controller: no `changed`.
            if let Value::Object(m) = &mut refusal.result {
                m.remove("changed");
            }
        }
        return refusal;
    }

    if let Some(engine) = action.engine {
        // Not a probing task: probe answers sent ahead are not kept past it (prefetch.rs).
        st.probe_scope += 1;
        let mut call = Call { runner, host: st, task, args: &args, ctx, search: &search };
        let out = engine.run(&mut call);
        record_step(runner, &st.name, task, action, Kind::Engine, None);
        return match out {
            Ok((status, result)) => ItemResult { changed: status == Status::Changed, status, result, diffs: vec![] },
            Err(result) => {
                ItemResult { status: Status::Failed { ignored: false }, result, diffs: vec![], changed: false }
            }
        };
    }
    let Some(module) = orc_modules::lookup(&action.short) else {
        if crate::playbook::is_unshipped_builtin(&action.module) {
            return failed(crate::playbook::unshipped_builtin_msg(&action.module));
        }
        return failed(format!("unknown module '{}'", action.module));
    };
    if let Some((bad, _)) = settings.environment.iter().find(|(k, _)| !valid_env_name(k)) {
        return failed(format!("environment: '{bad}' is not a valid environment variable name"));
    }
    let controller = TaskController { templar: runner.templar.clone(), ctx: ctx.clone(), search };
    let delegated = settings.delegate_to.as_deref();
    let target = delegated.unwrap_or(&st.name).to_string();
    let conn_vars = connection_vars(runner, st, ctx, settings);
    if async_limit.is_some() || module.reconnects() {
        // Not probing tasks (executor/prefetch.rs).
        st.probe_scope += 1;
    }
    if let Some(limit) = async_limit {
        // In the background the module runs whole: its effect is unknown to a plan.
        let digest = crate::plan::digest_value(&Value::Object(args.clone()));
        record_step(runner, &st.name, task, action, Kind::Unknown, Some(digest));
        let job = super::async_task::Background {
            module,
            args,
            check,
            diff,
            controller: Box::new(controller),
            target,
            conn_vars,
            environment: settings.environment.clone(),
            limit: Duration::from_secs(limit),
        };
        // Ansible's default poll is 10 seconds.
        return super::async_task::run(runner, job, render_number(&task.poll).unwrap_or(10));
    }
    let mut timed_out = false;
    let outcome = if module.reconnects() {
        // reboot and wait_for_connection open (and reopen) the connection themselves.
        runner.pool.with_reconnecting_conn(&target, &conn_vars, |conn| {
            let mut mctx = ModuleCtx { conn, check, diff, controller: &controller };
            run_module(runner, &st.name, task, action, module, &args, &mut mctx, settings.no_log)
        })
    } else {
        // The probe this task sends first, for a probing task (executor/prefetch.rs): not a
        // loop, not a task run on another host. Any other task ends the host's run of probing
        // tasks, and with it the answers sent ahead.
        let first_probe = (task.loop_spec.is_none() && target == st.name).then(|| module.first_probe(&args)).flatten();
        if first_probe.is_none() {
            st.probe_scope += 1;
        }
        let send_ahead = ahead.usable(runner);
        let st: &HostState = st;
        runner.pool.with_conn(&target, &conn_vars, |conn| {
            let run_limit = runner.pool.options().command_timeout;
            let mut conn = TaskConn::new(conn, &settings.environment, settings.timeout, run_limit);
            if first_probe.is_some() {
                conn.prefetch_scope(st.probe_scope);
            }
            if let Some(first) = first_probe.as_ref().filter(|_| send_ahead) {
                if conn.wants_prefetch(first) {
                    let probes = super::prefetch::probes(runner, play, st, task, ahead);
                    if !probes.is_empty() {
                        conn.prefetch(probes);
                    }
                }
            }
            let mut mctx = ModuleCtx { conn: &mut conn, check, diff, controller: &controller };
            let out = match run_module(runner, &st.name, task, action, module, &args, &mut mctx, settings.no_log) {
                Err(ModuleError::Fail(r)) => match conn.lost() {
                    Some(e) => Err(ModuleError::Conn(e)),
                    None => Err(ModuleError::Fail(r)),
                },
                out => out,
            };
            timed_out = conn.timed_out();
            out
        })
    };
    if let Ok(Err(ModuleError::Conn(ConnError::Lost(_) | ConnError::Timeout(_)))) = &outcome {
        // A broken connection (or one whose command ran out of time, which leaves it unusable)
        // is closed now: the next task on this host opens a new one.
        runner.pool.discard_conn(&target, &conn_vars);
    }
    if timed_out {
        // As ansible-core 2.19 reports a task that ran out of its `timeout:`.
        let period = settings.timeout.unwrap_or_default();
        return ItemResult {
            status: Status::Failed { ignored: false },
            result: json!({
                "changed": false,
                "failed": true,
                "msg": format!("Task failed: Timed out after {period} second(s)."),
                "timedout": {"frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.", "period": period},
            }),
            diffs: vec![],
            changed: false,
        };
    }
    let item = module_item(outcome, diff);
    if item.status != Status::Unreachable {
        if let Some(Value::Object(facts)) = item.result.get("ansible_facts") {
            // With delegate_facts the play runner gives them to the delegated host instead.
            if !(settings.delegate_facts && delegated.is_some_and(|d| d != st.name)) {
                st.add_facts(&facts.clone());
            }
        }
    }
    item
}

/// Records a step that does not go through [`run_module`] in the plan the run records or
/// applies: an engine action (it changes nothing on the host; includes are not steps, the tasks
/// they load are) or a module run in the background (`async:`, its effect unknown).
fn record_step(runner: &Runner, host: &str, task: &Task, action: &Action, kind: Kind, args: Option<String>) {
    let entry = || Entry {
        task: task.display_name(),
        origin: task.loc.to_string(),
        module: action.module.clone(),
        kind,
        args: args.clone(),
        observed: None,
        changed: false,
        diff: vec![],
        depends_on: None,
    };
    match &runner.plan {
        None => {}
        Some(PlanMode::Record(rec)) => {
            rec.record(host, entry());
        }
        Some(PlanMode::Apply { seen, .. }) => {
            seen.record(host, entry());
        }
    }
}

/// Runs a module, through the plan when there is one (src/plan.rs, docs/plan.md). Recording, a
/// two-phase module decides (with its diff, whatever `--diff` says), the decision is recorded and
/// only applied when the task is not in check mode. Applying a plan, the decision is compared
/// with the plan's entry first: a difference is drift, and the task fails without changing
/// anything; otherwise that same decision is applied, so the module does not decide twice. A
/// module without the split runs as usual and is recorded as "runs, effect unknown" (or as
/// reading only, for setup, stat and the like).
#[allow(clippy::too_many_arguments)]
fn run_module(
    runner: &Runner,
    host: &str,
    task: &Task,
    action: &Action,
    module: &dyn orc_modules::Module,
    args: &Map<String, Value>,
    mctx: &mut ModuleCtx,
    no_log: bool,
) -> orc_modules::contract::RunResult {
    let Some(mode) = &runner.plan else { return module.run(args, mctx) };
    let mut entry = Entry {
        task: task.display_name(),
        origin: task.loc.to_string(),
        module: action.module.clone(),
        kind: Kind::Decided,
        args: Some(crate::plan::digest_value(&Value::Object(args.clone()))),
        observed: None,
        changed: false,
        diff: vec![],
        depends_on: None,
    };
    if !module.two_phase() {
        let out = module.run(args, mctx);
        entry.kind = Entry::kind_of_module(&action.short);
        entry.changed = matches!(&out, Ok(r) if r.changed);
        match mode {
            PlanMode::Record(rec) => {
                rec.record(host, entry);
            }
            PlanMode::Apply { seen, .. } => {
                let changed = entry.changed;
                seen.record(host, entry);
                if changed {
                    seen.mark_changed(host);
                }
            }
        }
        return out;
    }
    let shown_diff = mctx.diff;
    mctx.diff = true;
    let decided = module.decide(args, mctx);
    mctx.diff = shown_diff;
    let mut decision = decided?;
    entry.changed = decision.result.changed;
    entry.observed = Some(if no_log {
        // A no_log task's values are kept as digests: drift still shows, secrets do not.
        decision.observed.iter().map(|(k, v)| (k.clone(), Value::String(crate::plan::digest_value(v)))).collect()
    } else {
        decision.observed.clone()
    });
    if !no_log {
        entry.diff = decision.result.diff.iter().map(DiffText::from).collect();
    }
    if !shown_diff {
        decision.result.diff.clear();
    }
    match mode {
        PlanMode::Record(rec) => {
            rec.record(host, entry);
        }
        PlanMode::Apply { plan, seen } => {
            let after_unknown = seen.after_unknown(host);
            // What an earlier step changed on this host is seen now and was not by the check
            // run that made the plan: after a change, only the module is compared (the check
            // right before the apply compared everything).
            let exact = !seen.changed_before(host);
            let key = seen.record(host, entry.clone());
            let differences = match plan.entry(host, &key) {
                // A task the plan does not list runs only after a step of unknown effect, which
                // may have changed what runs.
                None if after_unknown => vec![],
                None => vec!["runs: not planned -> runs now".to_string()],
                Some(planned) => crate::plan::compare(planned, &entry, exact && planned.depends_on.is_none()),
            };
            if !differences.is_empty() {
                let msg = format!("{host} drifted from the plan at this task: {}", differences.join("; "));
                plan.drifted(host, Drift { task: entry.task.clone(), origin: entry.origin.clone(), differences });
                return Err(ModuleError::msg(msg));
            }
        }
    }
    if mctx.check || !decision.needs_apply() {
        return Ok(decision.result);
    }
    let out = module.apply(args, decision, mctx);
    if let (PlanMode::Apply { seen, .. }, Ok(r)) = (mode, &out) {
        if r.changed {
            seen.mark_changed(host);
        }
    }
    out
}

/// A module's outcome as a task result: unreachable for a connection failure, else its status
/// from `failed`/`skipped`/`changed`, its diffs in diff mode.
pub(super) fn module_item(outcome: Result<Result<ModuleResult, ModuleError>, ConnError>, diff: bool) -> ItemResult {
    let (res, unreachable) = match outcome {
        // The shell could not become the user (a wrong password, a failing sudo): the host
        // answered, so the task fails as Ansible's does ("Task failed: Incorrect sudo password").
        Err(ConnError::Become(msg)) | Ok(Err(ModuleError::Conn(ConnError::Become(msg)))) => {
            (ModuleResult::failed(format!("Task failed: {msg}")), false)
        }
        Err(e) => (ModuleResult::failed(e.to_string()), true),
        Ok(Err(ModuleError::Conn(ConnError::File(msg)))) => (ModuleResult::failed(msg), false),
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
    if let Value::Object(m) = &mut result {
        m.entry("failed").or_insert(Value::Bool(res.failed));
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

/// One connection variable: its name, its other names, the keyword's value and the command
/// line's.
type ConnLayer = (&'static str, &'static [&'static str], Option<Value>, Option<Value>);

/// The variables a connection is built from: the target host's `ansible_*` variables, then the
/// task's keywords for what the host does not set (`connection`, `remote_user`, `port`,
/// `become*`: a host variable wins over a keyword, as in Ansible), then the command line's
/// options (`-c`, `-u`, `-b`, `--become-user`...) for what neither sets.
pub(crate) fn connection_vars(
    runner: &Runner,
    st: &HostState,
    ctx: &Arc<Context>,
    settings: &Settings,
) -> Map<String, Value> {
    let delegated = settings.delegate_to.as_deref().filter(|d| *d != st.name);
    let source: Map<String, Value> = match delegated {
        Some(d) => {
            let mut v = runner.inv().host_vars(d);
            if (d == "localhost" || d == "127.0.0.1") && !v.contains_key("ansible_connection") {
                v.insert("ansible_connection".into(), json!("local"));
            }
            v
        }
        None => {
            let mut v = Map::new();
            for k in ctx.raw().keys().filter(|k| k.starts_with("ansible_")) {
                if let Some(val) = ctx.resolved(k) {
                    v.insert(k.clone(), val);
                }
            }
            v
        }
    };
    let mut m: Map<String, Value> =
        source.into_iter().filter(|(k, _)| k.starts_with("ansible_") && !k.starts_with("ansible_facts")).collect();
    let opts = runner.opts;
    let cli = |k: &str| opts.connection_defaults.get(k).cloned();
    let layers: [ConnLayer; 6] = [
        (
            "ansible_connection",
            &[],
            settings.connection.clone().map(Value::String),
            opts.connection.clone().filter(|_| delegated.is_none()).map(Value::String),
        ),
        ("ansible_user", &["ansible_ssh_user"], settings.remote_user.clone().map(Value::String), cli("ansible_user")),
        ("ansible_port", &["ansible_ssh_port"], settings.port.clone(), cli("ansible_port")),
        ("ansible_become", &[], settings.r#become.map(Value::Bool), opts.r#become.map(Value::Bool)),
        (
            "ansible_become_user",
            &[],
            settings.become_user.clone().map(Value::String),
            opts.become_user.clone().map(Value::String),
        ),
        ("ansible_become_method", &[], settings.become_method.clone().map(Value::String), cli("ansible_become_method")),
    ];
    for (var, aliases, keyword, command_line) in layers {
        let set = m.get(var).is_some_and(|v| !v.is_null()) || aliases.iter().any(|a| m.contains_key(*a));
        if !set {
            if let Some(v) = keyword.or(command_line) {
                m.insert(var.to_string(), v);
            }
        }
    }
    // The command line's other connection options (`--private-key`, `--ssh-common-args`...).
    for (k, v) in &opts.connection_defaults {
        if !matches!(k.as_str(), "ansible_user" | "ansible_port" | "ansible_become_method") {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    m
}

/// The controller-side services a module may call for this task.
pub(super) struct TaskController {
    templar: Arc<Templar>,
    ctx: Arc<Context>,
    /// The task's search path (`playbook::search`).
    search: Vec<PathBuf>,
}

impl Controller for TaskController {
    fn find_file(&self, kind: FileKind, src: &str) -> Result<PathBuf, String> {
        let sub = match kind {
            FileKind::Files => "files",
            FileKind::Templates => "templates",
        };
        crate::playbook::search::find(src, sub, &self.search).map_err(|searched| {
            let searched: Vec<String> = searched.iter().map(|c| c.display().to_string()).collect();
            format!("Could not find or access '{src}'\nSearched in:\n\t{}", searched.join("\n\t"))
        })
    }

    fn render_template(&self, path: &Path, req: &TemplateRequest) -> Result<String, String> {
        let opts = crate::template::FileOptions {
            trim_blocks: req.trim_blocks,
            lstrip_blocks: req.lstrip_blocks,
            block_start_string: req.block_start_string.clone(),
            block_end_string: req.block_end_string.clone(),
            variable_start_string: req.variable_start_string.clone(),
            variable_end_string: req.variable_end_string.clone(),
            comment_start_string: req.comment_start_string.clone(),
            comment_end_string: req.comment_end_string.clone(),
            newline_sequence: req.newline_sequence.clone(),
            ..crate::template::FileOptions::default()
        };
        let named = crate::template::FileNames { src: Some(req.src.clone()), dest: Some(req.dest.clone()) };
        self.templar.render_file_named(path, &self.ctx.value(), opts, &named).map_err(|e| e.to_string())
    }

    fn read_source(&self, path: &Path, decrypt: bool) -> Result<Vec<u8>, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        if !decrypt || !crate::vault::is_encrypted(&bytes) {
            return Ok(bytes);
        }
        crate::secrets::open_bytes(path, &bytes).map(|p| p.to_vec()).map_err(|e| {
            let msg = e.to_string();
            // No password at all: Ansible's DataLoader.get_real_file words it so (copy's `src`, a
            // file of a directory `src`); the copy target checks the message's end.
            if msg.ends_with("is vault-encrypted, and no vault password was given") {
                format!("{msg}: A vault password or secret must be specified to decrypt {}", path.display())
            } else {
                msg
            }
        })
    }
}
