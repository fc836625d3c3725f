//! Loop items from `loop:` and the `with_*` forms.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

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
