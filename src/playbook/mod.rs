//! The playbook language: plays, tasks, blocks, roles and handlers, parsed from YAML with the
//! position of everything kept for error messages. Parsing resolves everything static
//! (`import_playbook`, `import_tasks`, `import_role`, `roles:`); dynamic includes stay tasks.

mod kv;
mod parse;
mod roles;
mod task;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Loc;

pub use kv::parse_kv;
pub use parse::{load_playbook, parse_task_list_file};
pub use roles::{load_role, RoleSpec};
pub use task::{Action, LoopSpec, Task, TaskBody};

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
    /// `defaults/main.yml`.
    pub defaults: Map<String, Value>,
    /// `vars/main.yml`.
    pub vars: Map<String, Value>,
    /// Parameters given where the role is used.
    pub params: Map<String, Value>,
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
    /// `vars_files:` entries (possibly templated) with their locations.
    pub vars_files: Vec<(String, Loc)>,
    /// `gather_facts:` (Ansible's default is true).
    pub gather_facts: bool,
    /// `become:`.
    pub r#become: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `connection:`.
    pub connection: Option<String>,
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
    /// Play `tags:`.
    pub tags: Vec<String>,
    /// `serial:` batches as written (int, percent string, or list).
    pub serial: Option<Value>,
    /// `strategy:` (linear or free).
    pub strategy: String,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: bool,
    /// `max_fail_percentage:`.
    pub max_fail_percentage: Option<f64>,
    /// `ignore_errors:` at play level.
    pub ignore_errors: Option<bool>,
    /// `check_mode:` at play level.
    pub check_mode: Option<bool>,
    /// `diff:` at play level.
    pub diff: Option<bool>,
    /// `force_handlers:`.
    pub force_handlers: bool,
    /// `order:` (inventory, reverse_inventory, sorted, reverse_sorted, shuffle).
    pub order: Option<String>,
}

/// Shared handle to a role, attached to the tasks it contributes.
pub type RoleRef = Arc<Role>;
