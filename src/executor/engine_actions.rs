//! The engine's own actions: debug, set_fact, assert, fail, include_vars. They read and write
//! the host's variables, so they run in the engine, not on the host.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::host::HostState;
use super::Runner;
use crate::output::Status;
use crate::playbook::Action;
use crate::vars::Context;

/// Result of an engine action: status and Ansible-shaped result, or a failed result.
pub type ActionResult = Result<(Status, Value), Value>;

fn fail(msg: impl Into<String>) -> Value {
    json!({"changed": false, "failed": true, "msg": msg.into()})
}

/// Runs `action` if it is an engine action; `None` means it is a module.
pub fn run(
    runner: &Runner,
    st: &mut HostState,
    action: &Action,
    args: &Map<String, Value>,
    ctx: &Arc<Context>,
    _check: bool,
) -> Option<ActionResult> {
    Some(match action.short.as_str() {
        "debug" => debug(runner, args, ctx),
        "set_fact" => set_fact(st, args),
        "assert" => assert(runner, args, ctx),
        "fail" => Err(json!({
            "changed": false,
            "failed": true,
            "msg": args.get("msg").map(crate::yaml::display).unwrap_or_else(|| "Failed as requested from task".into()),
        })),
        "include_vars" => include_vars(st, args, ctx),
        _ => return None,
    })
}

fn debug(runner: &Runner, args: &Map<String, Value>, ctx: &Arc<Context>) -> ActionResult {
    for k in args.keys() {
        if !["msg", "var", "verbosity"].contains(&k.as_str()) {
            return Err(fail(format!(
                "Unsupported parameters for (debug) module: {k}. Supported parameters include: msg, var, verbosity."
            )));
        }
    }
    let verbosity =
        args.get("verbosity").and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).unwrap_or(0);
    if u64::from(runner.opts.verbosity) < verbosity {
        return Ok((
            Status::Skipped,
            json!({"changed": false, "skipped": true, "skipped_reason": "Verbosity threshold not met."}),
        ));
    }
    if let Some(var) = args.get("var") {
        let name = crate::yaml::display(var);
        let expr = if name.contains("{{") { name.clone() } else { format!("{{{{ {name} }}}}") };
        let value = match runner.templar.render_str(&expr, &ctx.value()) {
            Ok(v) => v,
            // ansible-core 2.19's words for an undefined variable or attribute.
            Err(e) if e.undefined.is_some() => Value::String(format!("<< error 1 - {} >>", e.msg)),
            // Any other error in the expression fails the task, as in Ansible 2.19.
            Err(e) => return Err(fail(e.to_string())),
        };
        let mut m = Map::new();
        m.insert(name, value);
        m.insert("changed".into(), json!(false));
        return Ok((Status::Ok, Value::Object(m)));
    }
    let msg = args.get("msg").cloned().unwrap_or_else(|| json!("Hello world!"));
    Ok((Status::Ok, json!({"msg": msg, "changed": false})))
}

fn set_fact(st: &mut HostState, args: &Map<String, Value>) -> ActionResult {
    let mut facts = Map::new();
    for (k, v) in args {
        if k == "cacheable" {
            continue;
        }
        let value = match v {
            // Ansible converts "yes"/"true"-like strings given as k=v to booleans.
            Value::String(s) if ["true", "True", "yes", "false", "False", "no"].contains(&s.as_str()) => {
                orc_modules::args::parse_bool(v).map(Value::Bool).unwrap_or_else(|| v.clone())
            }
            _ => v.clone(),
        };
        st.set_fact(k, value.clone());
        facts.insert(k.clone(), value);
    }
    if facts.is_empty() {
        return Err(fail("No key/value pairs provided, at least one is required for this action to succeed"));
    }
    Ok((Status::Ok, json!({"ansible_facts": facts, "changed": false})))
}

fn assert(runner: &Runner, args: &Map<String, Value>, ctx: &Arc<Context>) -> ActionResult {
    let that: Vec<Value> = match args.get("that") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => return Err(fail("conditional required in \"that\" string")),
    };
    let quiet = args.get("quiet").and_then(orc_modules::args::parse_bool).unwrap_or(false);
    for cond in &that {
        let ok = super::run_task::eval_condition(&runner.templar, cond, ctx).map_err(|e| {
            fail(format!("The conditional check '{}' failed. The error was: {e}", crate::yaml::display(cond)))
        })?;
        if !ok {
            let msg =
                args.get("fail_msg").or_else(|| args.get("msg")).cloned().unwrap_or_else(|| json!("Assertion failed"));
            return Err(
                json!({"assertion": cond, "changed": false, "evaluated_to": false, "failed": true, "msg": msg}),
            );
        }
    }
    let mut r = json!({"changed": false, "msg": args.get("success_msg").cloned().unwrap_or_else(|| json!("All assertions passed"))});
    if quiet {
        r["msg"] = json!("All assertions passed");
    }
    Ok((Status::Ok, r))
}

fn include_vars(st: &mut HostState, args: &Map<String, Value>, ctx: &Arc<Context>) -> ActionResult {
    let file = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .map(crate::yaml::display)
        .ok_or_else(|| fail("include_vars needs a file"))?;
    let mut cands = Vec::new();
    let p = std::path::Path::new(&file);
    if p.is_absolute() {
        cands.push(p.to_path_buf());
    } else {
        if let Some(Value::String(rp)) = ctx.raw().get("role_path") {
            cands.push(std::path::Path::new(rp).join("vars").join(&file));
        }
        if let Some(Value::String(pd)) = ctx.raw().get("playbook_dir") {
            cands.push(std::path::Path::new(pd).join("vars").join(&file));
            cands.push(std::path::Path::new(pd).join(&file));
        }
    }
    let Some(path) = cands.iter().find(|c| c.is_file()) else {
        return Err(fail(format!("Could not find or access '{file}'")));
    };
    let node = crate::yaml::load_file(path).map_err(|e| fail(e.report()))?;
    let vars = match node.to_value() {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(fail(format!("{} must be a mapping of names to values", path.display()))),
    };
    let facts = match args.get("name").and_then(Value::as_str) {
        Some(name) => {
            let mut m = Map::new();
            m.insert(name.to_string(), Value::Object(vars));
            m
        }
        None => vars,
    };
    for (k, v) in &facts {
        st.set_fact(k, v.clone());
    }
    Ok((
        Status::Ok,
        json!({"ansible_facts": facts, "ansible_included_var_files": [path.display().to_string()], "changed": false}),
    ))
}
