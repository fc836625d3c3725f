//! A task: one action with its keywords, or a block of tasks.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::RoleRef;
use crate::error::Loc;

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
    /// `include_tasks:` resolved at run time per host (the file name may be templated).
    IncludeTasks {
        /// File as written.
        file: String,
        /// Directory relative to which it is found.
        base: PathBuf,
    },
    /// `include_role:` resolved at run time.
    IncludeRole {
        /// Role name (may be templated).
        name: String,
        /// `tasks_from:`.
        tasks_from: Option<String>,
        /// Directory the role is searched from (playbook dir).
        base: PathBuf,
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

/// A task with every keyword Ansible allows on it; block keywords inherit to children at run time.
#[derive(Debug, Clone)]
pub struct Task {
    /// `name:` (may contain templates).
    pub name: Option<String>,
    /// Where the task starts.
    pub loc: Loc,
    /// What it runs.
    pub body: TaskBody,
    /// `when:` conditions, all of which must hold.
    pub when: Vec<Value>,
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
    /// `ignore_errors:`.
    pub ignore_errors: Option<Value>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: Option<bool>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `vars:`.
    pub vars: Map<String, Value>,
    /// `become:`.
    pub r#become: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `check_mode:`.
    pub check_mode: Option<bool>,
    /// `diff:`.
    pub diff: Option<bool>,
    /// `no_log:`.
    pub no_log: Option<bool>,
    /// `until:`.
    pub until: Option<Vec<Value>>,
    /// `retries:`.
    pub retries: Option<Value>,
    /// `delay:`.
    pub delay: Option<Value>,
    /// `delegate_to:`.
    pub delegate_to: Option<String>,
    /// `delegate_facts:`.
    pub delegate_facts: bool,
    /// `run_once:`.
    pub run_once: bool,
    /// `environment:`.
    pub environment: Option<Value>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<bool>,
    /// `throttle:`.
    pub throttle: Option<u64>,
    /// The role this task came from, if any.
    pub role: Option<RoleRef>,
    /// For role blocks: the role whose boundary this block is (role vars/params scope).
    pub is_role_boundary: bool,
    /// Handlers an `import_role` brings into the play (collected by the play parser).
    pub imported_handlers: Vec<Task>,
}

impl Task {
    /// A task with no keywords set.
    pub fn new(loc: Loc, body: TaskBody) -> Task {
        Task {
            name: None,
            loc,
            body,
            when: Vec::new(),
            loop_spec: None,
            loop_control: Map::new(),
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            changed_when: None,
            failed_when: None,
            ignore_errors: None,
            ignore_unreachable: None,
            tags: Vec::new(),
            vars: Map::new(),
            r#become: None,
            become_user: None,
            check_mode: None,
            diff: None,
            no_log: None,
            until: None,
            retries: None,
            delay: None,
            delegate_to: None,
            delegate_facts: false,
            run_once: false,
            environment: None,
            any_errors_fatal: None,
            throttle: None,
            role: None,
            is_role_boundary: false,
            imported_handlers: Vec::new(),
        }
    }

    /// The name shown in the TASK banner: `role : name`, the name, or the module name.
    pub fn display_name(&self) -> String {
        let base = match (&self.name, &self.body) {
            (Some(n), _) => n.clone(),
            (None, TaskBody::Action(a)) => a.module.clone(),
            (None, TaskBody::Block { .. }) => "block".into(),
            (None, TaskBody::IncludeTasks { .. }) => "include_tasks".into(),
            (None, TaskBody::IncludeRole { .. }) => "include_role".into(),
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
}
