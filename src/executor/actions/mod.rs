//! Engine actions: tasks the engine carries out itself (variables, flow, messages, includes)
//! instead of a module on the host. Each is ONE type implementing [`EngineAction`]: its name, the
//! arguments it takes, what it defines for later tasks, its checks and how it runs. The parser,
//! the up-front checks (`preflight`), `orc doc` and the run all read [`ALL`], so they cannot
//! disagree (docs/architecture.md, "Where to add things").

mod add_host;
mod assert;
mod async_status;
mod debug;
mod fail;
mod group_by;
mod include_vars;
mod includes;
mod meta;
mod pause;
mod set_fact;
mod validate_argument_spec;

use std::path::PathBuf;
use std::sync::Arc;

use orc_modules::doc::{ArgDoc, ModuleDoc, ModuleText};
use orc_modules::registry;
use serde_json::{json, Map, Value};

use super::host::HostState;
use super::Runner;
use crate::output::Status;
use crate::playbook::Task;
use crate::vars::Context;

pub use meta::MetaAction;

/// One argument of an engine action: name, required, description.
pub type Arg = (&'static str, bool, &'static str);

/// What an action defines for the tasks after it, as far as can be known before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defines {
    /// These variable names.
    Names(Vec<String>),
    /// Names known only at run time (a templated set_fact key, an included file): the up-front
    /// undefined-variable check is off for the playbook.
    Unknown,
}

/// Who carries an engine action out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Per host, through [`EngineAction::run`], like a module.
    Host,
    /// By the play runner for all hosts at once (`meta`).
    Play,
    /// By the compiler: an include or import, which becomes tasks (playbook/parse.rs) or an
    /// include resolved at run time (executor/play.rs).
    Compile,
}

/// Result of an engine action: status and Ansible-shaped result, or a failed result.
pub type ActionResult = Result<(Status, Value), Value>;

/// What an engine action running on one host gets.
pub struct Call<'a, 'r> {
    /// The run.
    pub runner: &'a Runner<'r>,
    /// The host's state (facts and set_fact variables).
    pub host: &'a mut HostState,
    /// The task.
    pub task: &'a Task,
    /// Its arguments, rendered.
    pub args: &'a Map<String, Value>,
    /// The host's variables for this task.
    pub ctx: &'a Arc<Context>,
    /// The task's search path (`playbook::search`).
    pub search: &'a [PathBuf],
}

/// An action the engine runs itself. Implement it in one file of this folder and list it in
/// [`ALL`].
pub trait EngineAction: Sync + Send + std::fmt::Debug {
    /// The short name (`ansible.builtin.NAME` is accepted too).
    fn name(&self) -> &'static str;
    /// The arguments it takes; `None`: any names (set_fact's are the variables it sets).
    fn args(&self) -> Option<&'static [Arg]>;
    /// Whether a bare value (`include_vars: file.yml`, `meta: flush_handlers`) is its
    /// `_raw_params`.
    fn free_form(&self) -> bool {
        false
    }
    /// Who carries it out.
    fn runs(&self) -> Runs {
        Runs::Host
    }
    /// `orc doc` text.
    fn text(&self) -> ModuleText;
    /// What a task with these (unrendered) arguments defines for later tasks.
    fn defines(&self, _args: &Map<String, Value>) -> Defines {
        Defines::Names(Vec::new())
    }
    /// Checks beyond the argument names (which [`check_args`] makes), before anything runs; the
    /// message names what is wrong.
    fn check(&self, _args: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }
    /// Whether Ansible reports its failures as a module's (`Task failed: Module failed: ...`)
    /// rather than an action's: it has a module on the host side (`async_status`).
    fn fails_as_module(&self) -> bool {
        false
    }
    /// Whether Ansible reports its failures as `Task failed: MSG`, with neither `Action failed:`
    /// nor `Module failed:`: they come from its argument spec, checked when it runs (`pause`).
    fn fails_bare(&self) -> bool {
        false
    }
    /// Whether it runs once per task, for the first host, as if `run_once` were set (Ansible's
    /// `BYPASS_HOST_LOOP`: `add_host`).
    fn bypasses_host_loop(&self) -> bool {
        false
    }
    /// Arguments the engine hands over as written, untemplated: the action renders them itself
    /// (assert's `that`, conditions evaluated as expressions, as Ansible's `finalize_task_arg`).
    fn untemplated_args(&self) -> &'static [&'static str] {
        &[]
    }
    /// Runs it on one host (for [`Runs::Host`]).
    fn run(&self, _call: &mut Call<'_, '_>) -> ActionResult {
        Err(fail(format!("{} is carried out by the play, not per host", self.name())))
    }
}

/// Every engine action, in the order `orc doc --list` shows them.
pub static ALL: &[&dyn EngineAction] = &[
    &debug::Debug,
    &set_fact::SetFact,
    &assert::Assert,
    &fail::Fail,
    &meta::Meta,
    &include_vars::IncludeVars,
    &includes::IncludeTasks,
    &includes::ImportTasks,
    &includes::IncludeRole,
    &includes::ImportRole,
    &async_status::AsyncStatus,
    &add_host::AddHost,
    &group_by::GroupBy,
    &pause::Pause,
    &validate_argument_spec::ValidateArgumentSpec,
];

/// The engine action `name` (short or FQCN) names, if any. `include` is `include_tasks`'s old
/// name.
pub fn lookup(name: &str) -> Option<&'static dyn EngineAction> {
    let short = match registry::short_name(name) {
        "include" => "include_tasks",
        s => s,
    };
    ALL.iter().copied().find(|a| a.name() == short)
}

/// Whether `name` (short or FQCN) names a module or engine action.
pub fn exists(name: &str) -> bool {
    lookup(name).is_some() || registry::lookup(registry::short_name(name)).is_some()
}

/// Every module and action name, for "did you mean".
pub fn all_names() -> Vec<&'static str> {
    let mut v = registry::names();
    v.extend(ALL.iter().map(|a| a.name()));
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
    is_command_line(short) || lookup(short).is_some_and(|a| a.free_form())
}

/// The argument names of `action` that are not among those it declares, and the required ones
/// missing, as an error message naming the valid ones.
pub fn check_args(action: &dyn EngineAction, args: &Map<String, Value>) -> Result<(), (Option<String>, String)> {
    let Some(valid) = action.args() else { return Ok(()) };
    for k in args.keys() {
        if !valid.iter().any(|(n, _, _)| n == k) {
            let shown: Vec<&str> = valid.iter().map(|(n, _, _)| *n).filter(|n| *n != "_raw_params").collect();
            return Err((
                Some(k.clone()),
                format!("{}: unsupported argument `{k}`; valid arguments are {}", action.name(), shown.join(", ")),
            ));
        }
    }
    for (n, required, _) in valid.iter().filter(|(_, r, _)| *r) {
        if *required && !args.contains_key(*n) {
            let what = if *n == "_raw_params" { "a value".to_string() } else { format!("`{n}`") };
            return Err((None, format!("{}: missing required argument {what}", action.name())));
        }
    }
    action.check(args).map_err(|m| (None, m))
}

/// The engine actions' short names, in the order `orc doc --list` shows them.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|a| a.name()).collect()
}

/// What `orc doc NAME` shows for an engine action.
pub fn doc(short: &str) -> Option<ModuleDoc> {
    let action = lookup(short)?;
    let choices: Vec<&'static str> = if action.name() == "meta" { MetaAction::NAMES.to_vec() } else { Vec::new() };
    let args = action
        .args()
        .unwrap_or(&[])
        .iter()
        .filter(|(n, _, _)| *n != "_raw_params" || action.name() == "meta")
        .map(|(name, required, description)| ArgDoc {
            name: if *name == "_raw_params" { "free form" } else { name },
            aliases: &[],
            description,
            kind: if *name == "that" { "list of str".into() } else { "str".into() },
            choices: if *name == "_raw_params" { choices.clone() } else { Vec::new() },
            suboptions: Vec::new(),
            required: *required,
            default: None,
        })
        .collect();
    Some(ModuleDoc {
        name: action.name(),
        collection: "ansible.builtin",
        text: action.text(),
        args,
        open: action.args().is_none(),
    })
}

/// A failed result with `msg`.
pub(crate) fn fail(msg: impl Into<String>) -> Value {
    json!({"changed": false, "failed": true, "msg": msg.into()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_action_is_documented_and_found_by_name() {
        for a in ALL {
            let d = doc(a.name()).unwrap_or_else(|| panic!("{} has no doc", a.name()));
            assert!(!d.text.short.is_empty() && d.text.example.contains(a.name()), "{}", a.name());
            assert!(lookup(&format!("ansible.builtin.{}", a.name())).is_some(), "{}", a.name());
        }
        assert_eq!(lookup("include").map(|a| a.name()), Some("include_tasks"));
        let debug = lookup("debug").map(|a| a.args().map(|v| v.iter().map(|x| x.0).collect::<Vec<_>>()));
        assert_eq!(debug, Some(Some(vec!["msg", "var", "verbosity"])));
        assert_eq!(lookup("set_fact").map(|a| a.args().is_none()), Some(true));
    }

    #[test]
    fn arguments_are_checked_against_the_declared_ones() {
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        let debug = lookup("debug").unwrap();
        assert!(check_args(debug, &args(json!({"msg": "x"}))).is_ok());
        let err = check_args(debug, &args(json!({"mesage": "x"}))).unwrap_err();
        assert_eq!(err.0.as_deref(), Some("mesage"));
        assert!(err.1.contains("valid arguments are msg, var, verbosity"), "{}", err.1);
        let assert = lookup("assert").unwrap();
        assert!(check_args(assert, &args(json!({"msg": "x"}))).unwrap_err().1.contains("`that`"));
    }
}
