//! Engine actions: tasks that act on the controller's view of a host (variables, flow, messages)
//! instead of on the host itself. Modules proper live in the `orc-modules` registry; this is the
//! one list of what the engine handles itself.

use orc_modules::registry;

/// Actions the engine runs itself, by short name.
pub const ENGINE_ACTIONS: &[&str] = &["debug", "set_fact", "assert", "fail", "meta", "include_vars"];

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

/// Whether an action's string argument is a command line (Ansible's `FREEFORM_ACTIONS`: command,
/// shell, raw, script): only the command keys (`chdir=`, `creates=`...) are taken out of it as
/// `k=v`, every other word belongs to the command (see `crate::playbook::kv`).
pub fn is_command_line(short: &str) -> bool {
    matches!(short, "command" | "shell" | "raw" | "script")
}

/// Whether an action takes a free-form value (`command: ls -l`, `meta: flush_handlers`,
/// `include_vars: file.yml`), so that a bare scalar is its `_raw_params`.
pub fn takes_free_form(short: &str) -> bool {
    is_command_line(short) || matches!(short, "meta" | "include_vars")
}
