//! What a task inherits from the blocks and roles around it.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::playbook::{RoleRef, Task};

/// Keywords inherited from enclosing blocks, roles and the play.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Block `vars:`, outermost first.
    pub vars: Vec<Arc<Map<String, Value>>>,
    /// Conditions of enclosing blocks and roles, re-evaluated for every task (as Ansible does).
    pub when: Vec<Value>,
    /// Tags of the play, roles and blocks.
    pub tags: Vec<String>,
    /// The role whose tasks these are.
    pub role: Option<RoleRef>,
    /// `become:`.
    pub r#become: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `ignore_errors:`.
    pub ignore_errors: Option<Value>,
    /// `check_mode:`.
    pub check_mode: Option<bool>,
    /// `diff:`.
    pub diff: Option<bool>,
    /// `no_log:`.
    pub no_log: Option<bool>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<bool>,
    /// `environment:`.
    pub environment: Option<Value>,
    /// `delegate_to:` of an enclosing block.
    pub delegate_to: Option<String>,
    /// Running handlers.
    pub handler: bool,
    /// How many include_tasks/include_role deep this is (bounded, so an include loop fails).
    pub include_depth: usize,
}

impl Scope {
    /// The scope a block's or role's children run in.
    pub fn child(&self, t: &Task) -> Scope {
        let mut s = self.clone();
        if !t.vars.is_empty() {
            s.vars.push(Arc::new(t.vars.clone()));
        }
        s.when.extend(t.when.iter().cloned());
        s.tags.extend(t.tags.iter().cloned());
        if t.is_role_boundary {
            s.role = t.role.clone();
        }
        s.r#become = t.r#become.or(s.r#become);
        if t.become_user.is_some() {
            s.become_user = t.become_user.clone();
        }
        if t.ignore_errors.is_some() {
            s.ignore_errors = t.ignore_errors.clone();
        }
        s.check_mode = t.check_mode.or(s.check_mode);
        s.diff = t.diff.or(s.diff);
        s.no_log = t.no_log.or(s.no_log);
        s.any_errors_fatal = t.any_errors_fatal.or(s.any_errors_fatal);
        if t.environment.is_some() {
            s.environment = t.environment.clone();
        }
        if t.delegate_to.is_some() {
            s.delegate_to = t.delegate_to.clone();
        }
        s
    }

    /// Effective tags of a task in this scope.
    pub fn tags_of(&self, t: &Task) -> Vec<String> {
        let mut v = self.tags.clone();
        v.extend(t.tags.iter().cloned());
        v
    }
}
