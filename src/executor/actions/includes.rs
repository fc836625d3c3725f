//! `include_tasks`, `import_tasks`, `include_role`, `import_role`: tasks from another file or a
//! role. The compiler carries them out (playbook/parse.rs inlines imports; includes are compiled
//! when they run, executor/play.rs); these types declare their arguments.

use serde_json::{Map, Value};

use super::{Arg, Defines, EngineAction, Runs};
use orc_modules::doc::ModuleText;

/// `include_tasks: FILE`.
#[derive(Debug)]
pub struct IncludeTasks;
/// `import_tasks: FILE`.
#[derive(Debug)]
pub struct ImportTasks;
/// `include_role: name=ROLE`.
#[derive(Debug)]
pub struct IncludeRole;
/// `import_role: name=ROLE`.
#[derive(Debug)]
pub struct ImportRole;

const TASKS_ARGS: &[Arg] = &[
    (
        "file",
        false,
        "The task file (also the free-form value), relative to the including file, the role's tasks/ or the playbook.",
    ),
    ("_raw_params", false, "The file, written as `include_tasks: file.yml`."),
    ("apply", false, "Keywords (tags, become, when...) the included tasks inherit."),
];

const IMPORT_TASKS_ARGS: &[Arg] = &[
    ("file", false, "The task file (also the free-form value)."),
    ("_raw_params", false, "The file, written as `import_tasks: file.yml`."),
];

const ROLE_ARGS: &[Arg] = &[
    ("name", true, "The role."),
    ("tasks_from", false, "The file under the role's tasks/ to run instead of main."),
    ("vars_from", false, "The file under the role's vars/ to load instead of main."),
    ("defaults_from", false, "The file under the role's defaults/ to load instead of main."),
    ("handlers_from", false, "The file under the role's handlers/ to load instead of main."),
    ("apply", false, "Keywords (tags, become, when...) the role's tasks inherit (include_role only)."),
    (
        "public",
        false,
        "Whether the role's vars and defaults are visible to the play's other tasks (default: private_role_vars when set, else yes for import_role, no for include_role).",
    ),
    ("allow_duplicates", false, "Accepted; a role included twice runs twice."),
    ("rolespec_validate", false, "false: the role's meta/argument_specs.yml is not checked when it starts."),
];

const TASKS_TEXT: ModuleText = ModuleText {
    short: "Runs the tasks of another file, resolved per host when the task runs.",
    notes: "The include's own keywords (when, tags, become...) apply to the include alone, as in Ansible; give the included tasks keywords with `apply:`.",
    returns: &[],
    example: "- ansible.builtin.include_tasks: \"{{ ansible_os_family }}.yml\"\n",
};

impl EngineAction for IncludeTasks {
    fn name(&self) -> &'static str {
        "include_tasks"
    }
    fn args(&self) -> Option<&'static [Arg]> {
        Some(TASKS_ARGS)
    }
    fn free_form(&self) -> bool {
        true
    }
    fn runs(&self) -> Runs {
        Runs::Compile
    }
    fn text(&self) -> ModuleText {
        TASKS_TEXT
    }
    fn defines(&self, _args: &Map<String, Value>) -> Defines {
        Defines::Unknown
    }
    fn check(&self, args: &Map<String, Value>) -> Result<(), String> {
        file_given("include_tasks", args)
    }
}

impl EngineAction for ImportTasks {
    fn name(&self) -> &'static str {
        "import_tasks"
    }
    fn args(&self) -> Option<&'static [Arg]> {
        Some(IMPORT_TASKS_ARGS)
    }
    fn free_form(&self) -> bool {
        true
    }
    fn runs(&self) -> Runs {
        Runs::Compile
    }
    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Inserts the tasks of another file here, before the run (a static import).",
            notes: "The file name cannot be a template; use include_tasks for that.",
            returns: &[],
            example: "- ansible.builtin.import_tasks: install.yml\n",
        }
    }
    fn check(&self, args: &Map<String, Value>) -> Result<(), String> {
        file_given("import_tasks", args)
    }
}

impl EngineAction for IncludeRole {
    fn name(&self) -> &'static str {
        "include_role"
    }
    fn args(&self) -> Option<&'static [Arg]> {
        Some(ROLE_ARGS)
    }
    fn runs(&self) -> Runs {
        Runs::Compile
    }
    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Runs a role's tasks, resolved when the task runs; its handlers join the play.",
            notes: "Each task of the role runs on all the hosts that include it before the next one, as with the linear strategy.",
            returns: &[],
            example: "- ansible.builtin.include_role:\n    name: web\n    tasks_from: install\n",
        }
    }
    fn defines(&self, _args: &Map<String, Value>) -> Defines {
        Defines::Unknown
    }
}

impl EngineAction for ImportRole {
    fn name(&self) -> &'static str {
        "import_role"
    }
    fn args(&self) -> Option<&'static [Arg]> {
        Some(ROLE_ARGS)
    }
    fn runs(&self) -> Runs {
        Runs::Compile
    }
    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Inserts a role's tasks here, before the run (a static import); its handlers join the play.",
            notes: "",
            returns: &[],
            example: "- ansible.builtin.import_role:\n    name: web\n",
        }
    }
    fn check(&self, args: &Map<String, Value>) -> Result<(), String> {
        if args.contains_key("apply") {
            return Err("import_role: `apply` is only valid on include_role".into());
        }
        Ok(())
    }
}

fn file_given(name: &str, args: &Map<String, Value>) -> Result<(), String> {
    if args.contains_key("file") || args.contains_key("_raw_params") {
        return Ok(());
    }
    Err(format!("{name}: no file given; write `{name}: FILE`"))
}
