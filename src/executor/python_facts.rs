//! Python facts on first use (docs/architecture.md, "Python facts on first use").
//!
//! Ansible's default fact gathering describes the host's Python (`ansible_python`,
//! `ansible_python_version`); orc's runs no Python on a host unless `gather_subset` names
//! `python`, so that a deploy that never reads those facts starts no Python anywhere. When a
//! setup run left them out where Ansible would have gathered them, the host remembers it
//! ([`Pending`]); the first task whose template sources name the python facts has the python
//! collector run, once per machine described, before anything of the task is rendered, and the
//! facts land where the setup run's facts went (the host's facts, a registered result).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::host::HostState;
use super::run_task::{run_on_host, PlayCtx};
use crate::playbook::{Action, Keywords, LoopSpec, Task, TaskBody};
use crate::vars::HostVars;

/// Python facts a setup run left out where Ansible would have gathered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Where the setup run's facts went: the host's facts (`None`) or the variable it registered.
    pub into: Option<String>,
    /// The machine they describe: the host delegated to, `None` for the host itself.
    pub on: Option<String>,
}

/// The ways a template names the python facts: `ansible_python`, `ansible_python_version`
/// (bare, through `vars`, `hostvars[h]` or a registered setup result's `ansible_facts`), and
/// `ansible_facts.python`, `ansible_facts['python']`, `ansible_facts.python_version`.
/// `ansible_python_interpreter` is a connection variable, not a fact: it does not count.
fn names_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"\bansible_python(?:_version)?\b|\bansible_facts\s*(?:\.\s*python(?:_version)?\b|\[\s*['"]python(?:_version)?['"]\s*\])"#,
        )
        .unwrap_or_else(|e| panic!("constant regex: {e}"))
    })
}

/// Whether the task's own sources (name, module and arguments, keywords with those it inherits,
/// conditions, loop, include parameters) name the python facts: `Some(true)` when they also
/// name `hostvars` (another host's facts may be read), `None` when they do not name them.
/// A name reached only through a variable defined elsewhere (inventory, vars files, a value
/// set by an earlier task) is not seen: docs/differences.md, Facts.
pub fn named_by(task: &Task) -> Option<bool> {
    let mut texts: Vec<&str> = Vec::new();
    sources(task, &mut texts);
    let re = names_re();
    if !texts.iter().any(|t| re.is_match(t)) {
        return None;
    }
    Some(texts.iter().any(|t| t.contains("hostvars")))
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k);
            strings(x, out)
        }),
        _ => {}
    }
}

fn keyword_sources<'a>(kw: &'a Keywords, out: &mut Vec<&'a str>) {
    let single = [
        &kw.r#become,
        &kw.become_user,
        &kw.become_method,
        &kw.become_flags,
        &kw.remote_user,
        &kw.port,
        &kw.connection,
        &kw.timeout,
        &kw.check_mode,
        &kw.diff,
        &kw.no_log,
        &kw.ignore_errors,
        &kw.ignore_unreachable,
        &kw.any_errors_fatal,
        &kw.run_once,
        &kw.throttle,
        &kw.delegate_to,
        &kw.delegate_facts,
    ];
    single.into_iter().flatten().for_each(|v| strings(v, out));
    kw.environment.iter().chain(&kw.module_defaults).chain(&kw.when).for_each(|v| strings(v, out));
    kw.vars.iter().for_each(|layer| layer.values().for_each(|v| strings(v, out)));
}

fn sources<'a>(task: &'a Task, out: &mut Vec<&'a str>) {
    out.extend(task.name.as_deref());
    if let TaskBody::Action(a) = &task.body {
        out.push(&a.module);
        a.args.iter().for_each(|(k, v)| {
            out.push(k);
            strings(v, out)
        });
    }
    keyword_sources(&task.kw, out);
    if let Some(spec) = &task.loop_spec {
        match spec {
            LoopSpec::Loop(v)
            | LoopSpec::WithItems(v)
            | LoopSpec::WithList(v)
            | LoopSpec::WithDict(v)
            | LoopSpec::WithFileglob(v)
            | LoopSpec::WithSequence(v)
            | LoopSpec::WithLookup(_, v) => strings(v, out),
        }
    }
    task.loop_control.values().for_each(|v| strings(v, out));
    out.extend(task.notify.iter().map(String::as_str));
    for v in [&task.retries, &task.delay, &task.r#async, &task.poll].into_iter().flatten() {
        strings(v, out);
    }
    for c in [&task.changed_when, &task.failed_when, &task.until].into_iter().flatten().flatten() {
        strings(c, out);
    }
    if let Some(p) = &task.include_params {
        p.values().for_each(|v| strings(v, out));
    }
}

/// The `gather_subset` a setup result reports (a list, or a comma-separated string).
fn reported_subsets(result: &Value) -> Option<Vec<String>> {
    match result.get("ansible_facts")?.get("gather_subset")? {
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        Value::String(s) => Some(s.split(',').map(|x| x.trim().to_string()).collect()),
        _ => None,
    }
}

/// After a task ran on `st`: when it was a setup run (no loop) whose subset Ansible would have
/// gathered the python facts for and orc did not, remembers where they belong. A setup run that
/// gathered them, or was told not to, ends what an earlier one left pending for the host's facts.
pub fn record(st: &mut HostState, task: &Task, result: &Value, delegated_to: Option<&str>, delegate_facts: bool) {
    let is_setup = task.action().is_some_and(|a| a.short == "setup" && a.engine.is_none());
    if !is_setup || task.loop_spec.is_some() {
        return;
    }
    let Some(subsets) = reported_subsets(result) else { return };
    let on = delegated_to.filter(|d| *d != st.name).map(str::to_string);
    let deferred = orc_modules::builtin::setup::python_deferred(&subsets);
    // With delegate_facts the facts went to the delegate, not to this host.
    if !(delegate_facts && on.is_some()) {
        st.python_pending.retain(|p| p.into.is_some());
        if deferred {
            st.python_pending.push(Pending { into: None, on: on.clone() });
        }
    }
    if let Some(reg) = &task.register {
        st.python_pending.retain(|p| p.into.as_ref() != Some(reg));
        if deferred {
            st.python_pending.push(Pending { into: Some(reg.clone()), on });
        }
    }
}

/// Runs the python collector for what `st` has pending, once per machine described (one
/// exchange each), and puts the facts where the setup runs' facts went. A host without Python
/// (or that cannot be reached now) simply lacks them, as when they are asked for by name; nothing
/// is shown or counted: the facts belong to the setup runs that left them out.
pub fn complete(
    runner: &super::Runner,
    play: &PlayCtx,
    play_kw: &Keywords,
    st: &mut HostState,
    hostvars: &Arc<HostVars>,
    at: &Task,
) {
    let pending = std::mem::take(&mut st.python_pending);
    let mut machines: Vec<Option<String>> = Vec::new();
    for p in &pending {
        if !machines.contains(&p.on) {
            machines.push(p.on.clone());
        }
    }
    for on in machines {
        let facts = collect(runner, play, play_kw, st, hostvars, at, on.as_deref());
        for p in pending.iter().filter(|p| p.on == on) {
            match &p.into {
                None => st.add_facts(&facts),
                Some(reg) => {
                    let Some(mut v) = st.set_facts.get(reg).cloned() else { continue };
                    if let Some(Value::Object(f)) = v.get_mut("ansible_facts") {
                        for (k, x) in &facts {
                            f.entry(k.clone()).or_insert_with(|| x.clone());
                        }
                        st.set_fact(reg, v);
                    }
                }
            }
        }
    }
}

/// The python facts of `st`'s host, or of the host `on` names: setup with only the python
/// collector, run as the play's own fact gathering would be (its keywords, delegated to `on`).
fn collect(
    runner: &super::Runner,
    play: &PlayCtx,
    play_kw: &Keywords,
    st: &mut HostState,
    hostvars: &Arc<HostVars>,
    at: &Task,
    on: Option<&str>,
) -> Map<String, Value> {
    let mut args = Map::new();
    args.insert("gather_subset".into(), json!(["!all", "!min", "python"]));
    let action = Action { module: "setup".into(), short: "setup".into(), args, loc: at.loc.clone(), engine: None };
    let own = Keywords { delegate_to: on.map(|d| Value::String(d.to_string())), ..Keywords::default() };
    let mut task = Task::new(at.loc.clone(), TaskBody::Action(action), play_kw.inherit(&own));
    task.name = Some("Gathering Facts".into());
    task.register = Some("ansible_python_facts".into());
    // On a copy: the run's only trace on the host is the facts taken from its result.
    let mut scratch = st.clone();
    scratch.python_pending.clear();
    let out = run_on_host(runner, play, &mut scratch, &task, hostvars, &[]);
    st.probe_scope = scratch.probe_scope;
    let facts = out.registered.as_ref().and_then(|r| r.get("ansible_facts")).and_then(Value::as_object);
    facts
        .map(|f| {
            f.iter()
                .filter(|(k, _)| matches!(k.as_str(), "ansible_python" | "ansible_python_version"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_facts_are_named_in_every_spelling_and_the_interpreter_is_not() {
        let re = names_re();
        for yes in [
            "{{ ansible_python.executable }}",
            "{{ ansible_python_version }}",
            "{{ hostvars[h].ansible_facts.ansible_python.executable }}",
            "{{ ansible_facts.python.version.major }}",
            "{{ ansible_facts['python'] }}",
            "{{ ansible_facts[\"python_version\"] }}",
            "{{ vars['ansible_python'] }}",
            "ansible_python is defined",
        ] {
            assert!(re.is_match(yes), "{yes}");
        }
        for no in [
            "{{ ansible_python_interpreter }}",
            "{{ ansible_facts.python3 }}",
            "{{ my_ansible_python }}",
            "{{ ansible_facts.distribution }}",
            "python --version",
        ] {
            assert!(!re.is_match(no), "{no}");
        }
    }
}
