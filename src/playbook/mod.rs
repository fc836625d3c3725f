//! The playbook language compiled once into one typed form (docs/architecture.md, "One compiled
//! playbook"): plays, blocks, tasks, roles and handlers, parsed from YAML with the position of
//! everything kept for error messages, every task carrying its keywords merged with those of
//! the play, blocks and roles around it (`Keywords::inherit`), every action resolved to a module
//! or one engine action type (`executor::actions`). Compiling resolves everything static
//! (`import_playbook`, `import_tasks`, `import_role`, `roles:`); dynamic includes stay tasks and
//! are compiled, the same way, when they run. The up-front checks, the listings and the run all
//! read this form.

mod keywords;
mod kv;
mod parse;
mod roles;
pub mod search;
mod task;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Loc;

pub use keywords::{omit_fallback, Keywords, INHERITED};
pub use kv::parse_kv;
pub use parse::{
    compile_task_file, inherit_notify_tasks, is_unshipped_builtin, load_playbook, public_value, unshipped_builtin_msg,
    IncludeCtx,
};
pub use roles::{include_role_params, load_role, load_role_in, split_collection, RoleFiles, RoleSpec};
pub use task::{flatten, Action, Include, IncludeTarget, LoopSpec, Task, TaskBody};

/// A playbook file after imports are resolved: its plays in order.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// The file as given.
    pub path: PathBuf,
    /// Plays, including those of imported playbooks, in order.
    pub plays: Vec<Play>,
}

/// A role as used by one play or include: its files loaded, its parameters bound.
#[derive(Debug)]
pub struct Role {
    /// Role name as written.
    pub name: String,
    /// The role's directory (the `role_path` variable).
    pub path: PathBuf,
    /// `defaults/main.yml` (or `defaults_from`).
    pub defaults: Map<String, Value>,
    /// `vars/main.yml` (or `vars_from`).
    pub vars: Map<String, Value>,
    /// Parameters given where the role is used.
    pub params: Map<String, Value>,
    /// The roles this one was brought in by, outermost first (Ansible's dep chain: the role
    /// depending on it, or the role whose task imports or includes it): their defaults, vars and
    /// parameters are visible to this role's tasks, below its own.
    pub parents: Vec<RoleRef>,
}

impl Role {
    /// This role's chain of parents, then itself: the roles whose variables its tasks see.
    pub fn chain(self: &Arc<Self>) -> Vec<RoleRef> {
        let mut c = self.parents.clone();
        c.push(self.clone());
        c
    }
}

/// The names of the roles a play uses, for `ansible_play_role_names` (alias `role_names`),
/// `ansible_dependent_role_names` and `ansible_role_names` (Ansible's `_get_magic_variables`):
/// roles named in `roles:` or by `import_role`, and the roles they depend on.
/// It also carries the roles themselves, whose vars and defaults every task of the play sees
/// (Ansible's public roles: those of `roles:` and `import_role`).
#[derive(Debug, Clone, Default)]
pub struct RoleNames {
    /// Roles named by the play itself, in order.
    pub play: Vec<String>,
    /// Roles brought in as dependencies (meta/main.yml), at any depth.
    pub dependencies: Vec<String>,
    /// The roles loaded, dependencies first.
    pub roles: Vec<RoleRef>,
}

impl RoleNames {
    /// Adds `other`'s names and roles after these.
    pub fn extend(&mut self, other: &RoleNames) {
        self.play.extend(other.play.iter().cloned());
        self.dependencies.extend(other.dependencies.iter().cloned());
        self.roles.extend(other.roles.iter().cloned());
    }
}

/// Shared handle to a role, attached to the tasks it contributes.
pub type RoleRef = Arc<Role>;

/// One `vars_prompt:` entry.
#[derive(Debug, Clone)]
pub struct VarPrompt {
    /// The variable it sets.
    pub name: String,
    /// The question.
    pub prompt: String,
    /// The answer when none is given (and the value used when no terminal can ask).
    pub default: Option<Value>,
    /// Hide what is typed.
    pub private: bool,
    /// Ask twice.
    pub confirm: bool,
    /// Where it is written.
    pub loc: Loc,
}

/// The four task sections of a play, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `pre_tasks:`.
    PreTasks,
    /// `roles:`.
    Roles,
    /// `tasks:`.
    Tasks,
    /// `post_tasks:`.
    PostTasks,
}

impl Section {
    /// Whether notified handlers run when this section ends: roles and tasks form one section,
    /// as in Ansible, so handlers do not run between them.
    pub fn flushes_handlers(self) -> bool {
        self != Section::Roles
    }
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    /// Display name (the `hosts` pattern when unnamed).
    pub name: String,
    /// Host pattern.
    pub hosts: String,
    /// Where `hosts:` is written.
    pub hosts_loc: Loc,
    /// Where the play starts.
    pub loc: Loc,
    /// The directory of the playbook file that holds this play (`playbook_dir`).
    pub dir: PathBuf,
    /// `vars:`.
    pub vars: Map<String, Value>,
    /// `vars_files:` entries (possibly templated) with their locations; an entry written as a
    /// list holds alternatives, of which the first file that exists is loaded.
    pub vars_files: Vec<(Vec<String>, Loc)>,
    /// `vars_prompt:`.
    pub vars_prompt: Vec<VarPrompt>,
    /// `gather_facts:` when the play says it (otherwise ansible.cfg's `gathering` decides).
    pub gather_facts: Option<bool>,
    /// `gather_subset:`.
    pub gather_subset: Option<Value>,
    /// The play's own keywords; every task of the play already inherits them.
    pub kw: Keywords,
    /// `pre_tasks:`.
    pub pre_tasks: Vec<Task>,
    /// `roles:` expanded into one block per role, in order, dependencies first.
    pub roles: Vec<Task>,
    /// `tasks:`.
    pub tasks: Vec<Task>,
    /// `post_tasks:`.
    pub post_tasks: Vec<Task>,
    /// `rollback:` (orc's own play keyword, docs/rollouts.md): tasks run after a `serial` batch
    /// stopped the play, on every reachable host of that batch and the batches before it.
    pub rollback: Vec<Task>,
    /// Play handlers, then role handlers.
    pub handlers: Vec<Task>,
    /// The roles of `roles:` (their vars and defaults are visible play-wide, as in Ansible).
    pub role_refs: Vec<RoleRef>,
    /// Roles of `roles:` and `import_role` whose vars and defaults are private to their own
    /// tasks (`public: false`, `private_role_vars`): the up-front checks still know their names.
    pub private_role_refs: Vec<RoleRef>,
    /// The names of the roles the play uses (`roles:` and `import_role`, with dependencies).
    pub role_names: RoleNames,
    /// `serial:` batches as written (int, percent string, or list).
    pub serial: Option<Value>,
    /// `strategy:` (linear or free).
    pub strategy: String,
    /// `max_fail_percentage:`.
    pub max_fail_percentage: Option<f64>,
    /// `force_handlers:`.
    pub force_handlers: bool,
    /// `order:` (inventory, reverse_inventory, sorted, reverse_sorted, shuffle).
    pub order: Option<String>,
}

impl Play {
    /// An empty play on `hosts`, with Ansible's defaults.
    pub fn new(name: String, hosts: String, hosts_loc: Loc, loc: Loc, dir: PathBuf) -> Play {
        Play {
            name,
            hosts,
            hosts_loc,
            loc,
            dir,
            vars: Map::new(),
            vars_files: Vec::new(),
            vars_prompt: Vec::new(),
            gather_facts: None,
            gather_subset: None,
            kw: Keywords::default(),
            pre_tasks: Vec::new(),
            roles: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            rollback: Vec::new(),
            handlers: Vec::new(),
            role_refs: Vec::new(),
            private_role_refs: Vec::new(),
            role_names: RoleNames::default(),
            serial: None,
            strategy: "linear".into(),
            max_fail_percentage: None,
            force_handlers: false,
            order: None,
        }
    }

    /// The four task sections in run order: what the run, the up-front checks and the listings
    /// all go through.
    pub fn sections(&self) -> [(Section, &[Task]); 4] {
        [
            (Section::PreTasks, &self.pre_tasks),
            (Section::Roles, &self.roles),
            (Section::Tasks, &self.tasks),
            (Section::PostTasks, &self.post_tasks),
        ]
    }

    /// Every task of the four sections and of `rollback:`, blocks opened, in order (handlers not
    /// included).
    pub fn all_tasks(&self) -> Vec<&Task> {
        let mut out = Vec::new();
        for (_, tasks) in self.sections() {
            flatten(tasks, &mut out);
        }
        flatten(&self.rollback, &mut out);
        out
    }

    /// Where a `vars_files` entry (already rendered) is: searched as Ansible's
    /// `path_dwim_relative_stack` over the play's directory, `vars/NAME` before `NAME`
    /// (`playbook::search`). Every path tried when none is a file.
    pub fn vars_file(&self, name: &str) -> Result<PathBuf, Vec<PathBuf>> {
        let cands = search::candidates(name, "vars", std::slice::from_ref(&self.dir));
        match cands.iter().find(|c| c.is_file()) {
            Some(found) => Ok(found.clone()),
            None => Err(cands),
        }
    }

    /// The fact gathering task the play starts with (`gather_facts`), inheriting the play's
    /// keywords and tagged `always`, as in Ansible.
    pub fn gather_task(&self) -> Task {
        let mut args = Map::new();
        if let Some(subset) = &self.gather_subset {
            args.insert("gather_subset".into(), subset.clone());
        }
        let action =
            Action { module: "setup".into(), short: "setup".into(), args, loc: self.loc.clone(), engine: None };
        let own = Keywords { tags: vec!["always".into()], ..Keywords::default() };
        let mut t = Task::new(self.loc.clone(), TaskBody::Action(action), self.kw.inherit(&own));
        t.name = Some("Gathering Facts".into());
        t
    }
}
