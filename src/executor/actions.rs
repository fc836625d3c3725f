//! Engine actions: tasks that act on the controller's view of a host (variables, flow, messages)
//! instead of on the host itself. Modules proper live in the `orc-modules` registry; this is the
//! one list of what the engine handles itself.

use orc_modules::registry;

/// Actions the engine runs itself, by short name.
pub const ENGINE_ACTIONS: &[&str] = &["debug", "set_fact", "assert", "fail", "meta", "include_vars"];

/// Keys that may appear as `k=v` in a free-form action string; everything else is the command.
const COMMAND_KEYS: &[&str] =
    &["chdir", "creates", "removes", "executable", "warn", "stdin", "stdin_add_newline", "strip_empty_ends"];

/// Whether `name` (short or FQCN) names a module or engine action.
pub fn exists(name: &str) -> bool {
    let short = registry::short_name(name);
    ENGINE_ACTIONS.contains(&short) || registry::lookup(short).is_some() || is_include(short)
}

/// `include_tasks`-like keywords that parse handles itself.
pub fn is_include(short: &str) -> bool {
    matches!(short, "import_tasks" | "include_tasks" | "include" | "import_role" | "include_role" | "import_playbook")
}

/// Every module and action name, for "did you mean".
pub fn all_names() -> Vec<&'static str> {
    let mut v = registry::names();
    v.extend_from_slice(ENGINE_ACTIONS);
    v.extend_from_slice(&["import_tasks", "include_tasks", "import_role", "include_role"]);
    v
}

/// For actions that take a free-form string (`command: ls -l`, `meta: flush_handlers`), the keys
/// that may still be given as `k=v` inside it; `None` for actions that only take `k=v` arguments.
pub fn free_form_keys(short: &str) -> Option<&'static [&'static str]> {
    match short {
        "command" | "shell" | "raw" | "script" => Some(COMMAND_KEYS),
        "meta" | "include_vars" => Some(&[]),
        _ => None,
    }
}
