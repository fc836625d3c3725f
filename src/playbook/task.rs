//! A compiled task: one action with its keywords already merged with those of every enclosing
//! play, block and role (`Keywords::inherit`), or a block of tasks, or an include resolved at run
//! time.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::Keywords;
use super::roles::RoleFiles;
use super::RoleRef;
use crate::error::Loc;
use crate::executor::actions::EngineAction;

/// What a task runs.
#[derive(Debug, Clone)]
pub enum TaskBody {
    /// A module or engine action with its (untemplated) arguments.
    Action(Action),
    /// `block:` with optional `rescue:` and `always:`.
    Block {
        /// The tasks tried.
        block: Vec<Task>,
        /// Run for hosts that failed in `block`.
        rescue: Vec<Task>,
        /// Run afterwards for every host that entered the block.
        always: Vec<Task>,
    },
    /// `include_tasks:` or `include_role:`, resolved at run time per host.
    Include(Box<Include>),
}

/// A dynamic include: what it names and what the tasks it brings in inherit.
#[derive(Debug, Clone)]
pub struct Include {
    /// A task file or a role.
    pub target: IncludeTarget,
    /// Directory relative to which it is found (the including file's, or the playbook's).
    pub base: PathBuf,
    /// The keywords the included tasks inherit: those of the include's parent plus `apply:`.
    /// The include's own keywords (`when`, `tags`, `become`...) apply to the include alone, as in
    /// Ansible; its `vars:` reach the included tasks as include parameters.
    pub inherit: Keywords,
    /// The include's `vars:`: parameters of the included tasks (of the role, for include_role).
    pub params: Map<String, Value>,
    /// The role the include is written in (an included task file belongs to it too).
    pub role: Option<RoleRef>,
    /// `apply: {notify: ...}`: what the included tasks that notify nothing themselves notify.
    pub notify: Vec<String>,
}

/// What an include names.
#[derive(Debug, Clone)]
pub enum IncludeTarget {
    /// `include_tasks: FILE` (may be templated).
    Tasks {
        /// File as written.
        file: String,
    },
    /// `include_role: name=ROLE`.
    Role {
        /// Role name (may be templated).
        name: String,
        /// `tasks_from:`, `vars_from:`, `defaults_from:`, `handlers_from:`.
        files: RoleFiles,
        /// `public:` as written (`None`: not given; `private_role_vars` then decides); a
        /// template is rendered per host when the include runs.
        public: Option<Value>,
    },
}

/// A module or engine action invocation.
#[derive(Debug, Clone)]
pub struct Action {
    /// The module name as written (short or FQCN).
    pub module: String,
    /// The short name the registry knows it by.
    pub short: String,
    /// Arguments after `k=v` parsing and merging `args:`; values are still templates.
    pub args: Map<String, Value>,
    /// Where the module key is written.
    pub loc: Loc,
    /// The engine action this is, or `None` for a module (executor/actions).
    pub engine: Option<&'static dyn EngineAction>,
}

impl Action {
    /// The module is a template (`action: {module: "{{ name }}"}`), known per host when the task
    /// runs; until then `module` and `short` hold the template and `engine` is `None`.
    pub fn is_templated(&self) -> bool {
        self.module.contains("{{") || self.module.contains("{%")
    }
}

/// The loop of a task.
#[derive(Debug, Clone)]
pub enum LoopSpec {
    /// `loop:` (a list or an expression); no flattening.
    Loop(Value),
    /// `with_items:` (flattened one level).
    WithItems(Value),
    /// `with_list:`.
    WithList(Value),
    /// `with_dict:` (items are `{key, value}`).
    WithDict(Value),
    /// `with_fileglob:` (controller-side globs).
    WithFileglob(Value),
    /// `with_sequence:` (`start=1 end=3 format=...`).
    WithSequence(Value),
    /// `with_<lookup>:` for any other lookup plugin (`with_nested`, `with_first_found`...): the
    /// plugin's name and its terms.
    WithLookup(String, Value),
}

/// A compiled task.
#[derive(Debug, Clone)]
pub struct Task {
    /// `name:` (may contain templates).
    pub name: Option<String>,
    /// Where the task starts.
    pub loc: Loc,
    /// What it runs.
    pub body: TaskBody,
    /// Its keywords merged with those of every enclosing level (`Keywords::inherit`).
    pub kw: Keywords,
    /// Loop, if any.
    pub loop_spec: Option<LoopSpec>,
    /// `loop_control:`.
    pub loop_control: Map<String, Value>,
    /// `register:`.
    pub register: Option<String>,
    /// `notify:`.
    pub notify: Vec<String>,
    /// `listen:` topics (handlers).
    pub listen: Vec<String>,
    /// `changed_when:` (conditions; a bool is a constant condition).
    pub changed_when: Option<Vec<Value>>,
    /// `failed_when:`.
    pub failed_when: Option<Vec<Value>>,
    /// `until:`.
    pub until: Option<Vec<Value>>,
    /// `retries:`.
    pub retries: Option<Value>,
    /// `delay:`.
    pub delay: Option<Value>,
    /// `async:` (seconds the task may run in the background).
    pub r#async: Option<Value>,
    /// `poll:` (seconds between checks of an async task; 0: fire and forget).
    pub poll: Option<Value>,
    /// The role this task came from, if any.
    pub role: Option<RoleRef>,
    /// Variables of the include that brought this task in (include parameters and the include's
    /// loop variable): above set_fact, as in Ansible's precedence.
    pub include_params: Option<Arc<Map<String, Value>>>,
    /// Handlers an `import_role` brings into the play (collected by the play parser).
    pub imported_handlers: Vec<Task>,
    /// The roles an `import_role` brings into the play, for the play's role names (collected by
    /// the play parser).
    pub imported_roles: super::RoleNames,
    /// The roles of an `import_role` whose vars are private (`public: false`, or
    /// `private_role_vars`): kept for the up-front checks, out of the play's variables.
    pub private_roles: Vec<super::RoleRef>,
    /// The block an `import_tasks` became: among handlers, its tasks are handlers of their own
    /// ([`splice_imports`]), as Ansible's static imports are.
    pub imported_tasks: bool,
}

impl Task {
    /// A task with no keywords of its own, inheriting `kw`.
    pub fn new(loc: Loc, body: TaskBody, kw: Keywords) -> Task {
        Task {
            name: None,
            loc,
            body,
            kw,
            loop_spec: None,
            loop_control: Map::new(),
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            r#async: None,
            poll: None,
            role: None,
            include_params: None,
            imported_handlers: Vec::new(),
            imported_roles: super::RoleNames::default(),
            private_roles: Vec::new(),
            imported_tasks: false,
        }
    }

    /// The name shown in the TASK banner: `role : name`, the name, or the module name.
    pub fn display_name(&self) -> String {
        let base = match (&self.name, &self.body) {
            (Some(n), _) => n.clone(),
            (None, TaskBody::Action(a)) => a.module.clone(),
            (None, TaskBody::Block { .. }) => "block".into(),
            (None, TaskBody::Include(i)) => match &i.target {
                IncludeTarget::Tasks { .. } => "include_tasks".into(),
                // As Ansible's IncludeRole.get_name.
                IncludeTarget::Role { name, .. } => format!("include_role : {name}"),
            },
        };
        match &self.role {
            Some(r) => format!("{} : {}", r.name, base),
            None => base,
        }
    }

    /// The action, for action tasks.
    pub fn action(&self) -> Option<&Action> {
        match &self.body {
            TaskBody::Action(a) => Some(a),
            _ => None,
        }
    }

    /// The directory of the file this task is written in.
    pub fn file_dir(&self) -> PathBuf {
        self.loc.file.path.parent().map(PathBuf::from).unwrap_or_default()
    }
}

/// Every task of a list, blocks opened (block first, then its block, rescue and always tasks),
/// in order: what the listing, the up-front checks and `--start-at-task` walk.
pub fn flatten<'a>(tasks: &'a [Task], out: &mut Vec<&'a Task>) {
    for t in tasks {
        out.push(t);
        if let TaskBody::Block { block, rescue, always } = &t.body {
            for l in [block, rescue, always] {
                flatten(l, out);
            }
        }
    }
}

/// A handler list with every `import_tasks` block replaced by its tasks (at any depth): each
/// imported task is a handler notified by its own name, as in Ansible.
pub fn splice_imports(tasks: Vec<Task>) -> Vec<Task> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.body {
            TaskBody::Block { block, rescue, always } if t.imported_tasks && rescue.is_empty() && always.is_empty() => {
                out.extend(splice_imports(block))
            }
            body => out.push(Task { body, ..t }),
        }
    }
    out
}
