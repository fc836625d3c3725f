//! Loop items from `loop:` and the `with_*` forms.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Runner;
use crate::playbook::LoopSpec;
use crate::vars::Context;

/// The items a task loops over, templated with the host's variables.
pub fn items(runner: &Runner, spec: &LoopSpec, ctx: &Arc<Context>, _play_dir: &Path) -> Result<Vec<Value>, String> {
    items_for(runner, spec, ctx, "")
}

/// The items a task whose action is `action` loops over (`with_first_found` searches the
/// directory the action suggests: templates/, vars/ or files/).
///
/// `loop:` takes a list as it is; every `with_<name>:` runs the lookup plugin `name` on its
/// terms (src/template/lookups.rs), as Ansible does: `with_items` flattens one level,
/// `with_list` keeps the list, `with_dict` gives `{key, value}` items, and so on.
pub fn items_for(runner: &Runner, spec: &LoopSpec, ctx: &Arc<Context>, action: &str) -> Result<Vec<Value>, String> {
    let with = |name: &str, terms: &Value| {
        runner.templar.with_lookup_items(name, terms, action, &ctx.value()).map_err(|e| e.to_string())
    };
    match spec {
        LoopSpec::Loop(v) => match runner.templar.render_value(v, &ctx.value()).map_err(|e| e.to_string())? {
            Value::Array(a) => Ok(a),
            other => Err(format!("Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.", crate::output::pyrepr::repr(&other))),
        },
        LoopSpec::WithList(v) => with("list", v),
        LoopSpec::WithItems(v) => with("items", v),
        LoopSpec::WithDict(v) => with("dict", v),
        LoopSpec::WithSequence(v) => with("sequence", v),
        LoopSpec::WithFileglob(v) => with("fileglob", v),
        LoopSpec::WithLookup(name, v) => with(name, v),
    }
}

/// The module or action name of a task as written (`''` for blocks and includes).
pub fn action_name(task: &crate::playbook::Task) -> &str {
    task.action().map(|a| a.module.as_str()).unwrap_or("")
}

/// The variables one loop item adds (`loop_control`): the loop variable (`item` unless
/// `loop_var` names another), `index_var`, `ansible_loop_var`/`ansible_index_var`, and with
/// `extended: true` the `ansible_loop` map (index, index0, revindex, revindex0, first, last,
/// length, previtem, nextitem, and allitems unless `extended_allitems: false`), as Ansible's
/// `TaskExecutor._run_loop` sets them.
pub fn item_vars(lc: &Map<String, Value>, items: &[Value], idx: usize) -> Map<String, Value> {
    let loop_var = lc.get("loop_var").and_then(Value::as_str).unwrap_or("item");
    let mut vars = Map::new();
    vars.insert(loop_var.to_string(), items.get(idx).cloned().unwrap_or(Value::Null));
    vars.insert("ansible_loop_var".into(), Value::String(loop_var.to_string()));
    if let Some(iv) = lc.get("index_var").and_then(Value::as_str) {
        vars.insert(iv.to_string(), Value::from(idx));
        vars.insert("ansible_index_var".into(), Value::String(iv.to_string()));
    }
    if lc.get("extended").and_then(orc_modules::args::parse_bool).unwrap_or(false) {
        let n = items.len();
        let mut l = Map::new();
        l.insert("index".into(), Value::from(idx + 1));
        l.insert("index0".into(), Value::from(idx));
        l.insert("revindex".into(), Value::from(n - idx));
        l.insert("revindex0".into(), Value::from(n - idx - 1));
        l.insert("first".into(), Value::Bool(idx == 0));
        l.insert("last".into(), Value::Bool(idx + 1 == n));
        l.insert("length".into(), Value::from(n));
        if lc.get("extended_allitems").and_then(orc_modules::args::parse_bool).unwrap_or(true) {
            l.insert("allitems".into(), Value::Array(items.to_vec()));
        }
        if idx > 0 {
            l.insert("previtem".into(), items[idx - 1].clone());
        }
        if idx + 1 < n {
            l.insert("nextitem".into(), items[idx + 1].clone());
        }
        vars.insert("ansible_loop".into(), Value::Object(l));
    }
    vars
}

/// `loop_control` with its variable names (`loop_var`, `index_var`) rendered for the host, as
/// Ansible templates them (`loop_var: "{{ name }}"`); a name that does not render stays as
/// written.
pub fn control_for(runner: &Runner, lc: &Map<String, Value>, ctx: &Arc<Context>) -> Map<String, Value> {
    let mut out = lc.clone();
    for key in ["loop_var", "index_var"] {
        if let Some(v @ Value::String(s)) = lc.get(key) {
            if s.contains("{{") {
                if let Ok(Value::String(name)) = runner.templar.render_value(v, &ctx.value()) {
                    out.insert(key.to_string(), Value::String(name));
                }
            }
        }
    }
    out
}

/// `loop_control.pause` in seconds (a number, or a string or template giving one).
pub fn pause_seconds(runner: &Runner, lc: &Map<String, Value>, ctx: &Arc<Context>) -> Result<f64, String> {
    let Some(p) = lc.get("pause") else { return Ok(0.0) };
    let v = runner.templar.render_value(p, &ctx.value()).map_err(|e| e.to_string())?;
    let secs = match &v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Null => Some(0.0),
        _ => None,
    };
    secs.filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| {
        format!("loop_control.pause must be a number of seconds, got {}", crate::output::pyrepr::repr(&v))
    })
}

/// Whether `loop_control.break_when` holds after an item (its conditions see the item's
/// variables and its registered result).
pub fn breaks(runner: &Runner, lc: &Map<String, Value>, ictx: &Arc<Context>) -> Result<bool, String> {
    let conds: Vec<Value> = match lc.get("break_when") {
        None => return Ok(false),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
    };
    for c in conds {
        let hold = match &c {
            Value::Bool(b) => *b,
            Value::String(s) => runner.templar.eval_condition(s, &ictx.value()).map_err(|e| e.to_string())?,
            other => {
                return Err(format!(
                    "break_when: a condition must be a string, got {}",
                    crate::output::pyrepr::repr(other)
                ))
            }
        };
        if !hold {
            return Ok(false);
        }
    }
    Ok(true)
}
