//! The keywords a play, a block (or role, or import) and a task share, and the ONE function that
//! merges them: a child inherits every keyword its parent sets and does not set itself, and adds
//! to the parent's lists (`when`, `tags`, `vars`, `environment`, `module_defaults`), as Ansible's
//! `_get_parent_attribute` does (docs/architecture.md, "One compiled playbook").
//!
//! Values are kept as written: a literal, or a template Ansible renders per host when the task
//! runs (`become: "{{ use_sudo }}"`). The executor renders them in one place
//! (`executor::settings`).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::parse::{scalar_string, string_list};
use crate::error::{OrcError, Result};
use crate::yaml::Node;

/// The keywords every level (play, block, role entry, task) may set and children inherit.
#[derive(Debug, Clone, Default)]
pub struct Keywords {
    /// `become:` (a boolean or a template).
    pub r#become: Option<Value>,
    /// `become_user:`.
    pub become_user: Option<Value>,
    /// `become_method:`.
    pub become_method: Option<Value>,
    /// `become_flags:` (accepted; sudo and su take none from it).
    pub become_flags: Option<Value>,
    /// `remote_user:`: the login user unless the host's `ansible_user` says otherwise.
    pub remote_user: Option<Value>,
    /// `port:`: the SSH port unless the host's `ansible_port` says otherwise.
    pub port: Option<Value>,
    /// `connection:`: the transport unless the host's `ansible_connection` says otherwise.
    pub connection: Option<Value>,
    /// `timeout:`: the task's time limit in seconds.
    pub timeout: Option<Value>,
    /// `check_mode:`.
    pub check_mode: Option<Value>,
    /// `diff:`.
    pub diff: Option<Value>,
    /// `no_log:`.
    pub no_log: Option<Value>,
    /// `ignore_errors:`.
    pub ignore_errors: Option<Value>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: Option<Value>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<Value>,
    /// `run_once:`.
    pub run_once: Option<Value>,
    /// `throttle:`: how many hosts run a task at once.
    pub throttle: Option<Value>,
    /// `delegate_to:`.
    pub delegate_to: Option<Value>,
    /// `delegate_facts:`.
    pub delegate_facts: Option<Value>,
    /// `environment:` entries, outermost first (later entries win, key by key).
    pub environment: Vec<Value>,
    /// `module_defaults:` entries, outermost first (later entries win, module by module).
    pub module_defaults: Vec<Value>,
    /// `tags:` of every level.
    pub tags: Vec<String>,
    /// `when:` conditions of every level, outermost first; all must hold.
    pub when: Vec<Value>,
    /// `vars:` of enclosing blocks and of the task, outermost first (play vars are kept apart:
    /// they have their own precedence).
    pub vars: Vec<Arc<Map<String, Value>>>,
}

/// Keywords whose value must be a boolean (or a template rendering to one).
const BOOLEANS: &[&str] = &[
    "become",
    "check_mode",
    "diff",
    "no_log",
    "ignore_errors",
    "ignore_unreachable",
    "any_errors_fatal",
    "run_once",
    "delegate_facts",
];

/// Every keyword [`Keywords`] holds, for the parsers' lists of valid keywords.
pub const INHERITED: &[&str] = &[
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "port",
    "connection",
    "timeout",
    "check_mode",
    "diff",
    "no_log",
    "ignore_errors",
    "ignore_unreachable",
    "any_errors_fatal",
    "run_once",
    "throttle",
    "delegate_to",
    "delegate_facts",
    "environment",
    "module_defaults",
    "tags",
    "when",
    "vars",
    "collections",
    "debugger",
];

impl Keywords {
    /// Reads the keywords of one play, block, role entry or task mapping. `vars` is read only when
    /// `with_vars` (a play's vars have their own precedence). A boolean keyword must be a boolean
    /// or a template; anything else is an error at its line.
    pub fn parse(node: &Node, with_vars: bool) -> Result<Keywords> {
        let get = |k: &str| node.get(k).filter(|n| !n.is_null());
        // A task that ignores its errors may fail on purpose: a keyword that is not a boolean is
        // then its failure when it runs (executor/settings.rs), as in Ansible.
        let ignores_errors =
            get("ignore_errors").is_some_and(|n| orc_modules::args::parse_bool(&n.to_value()) == Some(true));
        for k in BOOLEANS {
            if let (Some(n), false) = (get(k), ignores_errors) {
                check_bool(k, n)?;
            }
        }
        let value = |k: &str| get(k).map(Node::to_value);
        let mut kw = Keywords {
            r#become: value("become"),
            become_user: value("become_user"),
            become_method: value("become_method"),
            become_flags: value("become_flags"),
            remote_user: value("remote_user"),
            port: value("port"),
            connection: value("connection"),
            timeout: value("timeout"),
            check_mode: value("check_mode"),
            diff: value("diff"),
            no_log: value("no_log"),
            ignore_errors: value("ignore_errors"),
            ignore_unreachable: value("ignore_unreachable"),
            any_errors_fatal: value("any_errors_fatal"),
            run_once: value("run_once"),
            throttle: value("throttle"),
            delegate_to: value("delegate_to"),
            delegate_facts: value("delegate_facts"),
            environment: Vec::new(),
            module_defaults: Vec::new(),
            tags: string_list(get("tags"))?,
            when: conditions(get("when")),
            vars: Vec::new(),
        };
        for (key, list) in [("environment", &mut kw.environment), ("module_defaults", &mut kw.module_defaults)] {
            if let Some(n) = get(key) {
                match n.to_value() {
                    v @ (Value::Object(_) | Value::String(_)) => list.push(v),
                    // A list of mappings, as Ansible allows, each merged in turn.
                    Value::Array(items) => list.extend(items),
                    _ => {
                        return Err(OrcError::at(
                            &n.loc,
                            format!("'{key}:' must be a mapping, found {}", n.type_name()),
                        )
                        .help(format!("{key}: {{NAME: value}}")))
                    }
                }
            }
        }
        if let Some(n) = get("become_user") {
            scalar_string(n)?;
        }
        if let Some(n) = get("delegate_to") {
            scalar_string(n)?;
        }
        if with_vars {
            if let Some(n) = get("vars") {
                let m = match n.to_value() {
                    Value::Object(m) => m,
                    _ => {
                        return Err(OrcError::at(
                            &n.loc,
                            format!("'vars:' must be a mapping of names to values, found {}", n.type_name()),
                        ))
                    }
                };
                if !m.is_empty() {
                    kw.vars.push(Arc::new(m));
                }
            }
        }
        Ok(kw)
    }

    /// THE merge: the keywords a child at this level runs with, given its parent's (already
    /// merged) keywords. Single values: the child's if it sets one, else the parent's. Lists
    /// (`when`, `tags`, `vars`, `environment`, `module_defaults`): the parent's, then the child's.
    pub fn inherit(&self, child: &Keywords) -> Keywords {
        let pick = |c: &Option<Value>, p: &Option<Value>| match c {
            Some(v) if may_omit(v) => Some(json!({ OMIT_FALLBACK: [v, p.clone().unwrap_or(Value::Null)] })),
            _ => c.clone().or_else(|| p.clone()),
        };
        let cat = |p: &[Value], c: &[Value]| p.iter().chain(c).cloned().collect::<Vec<_>>();
        Keywords {
            r#become: pick(&child.r#become, &self.r#become),
            become_user: pick(&child.become_user, &self.become_user),
            become_method: pick(&child.become_method, &self.become_method),
            become_flags: pick(&child.become_flags, &self.become_flags),
            remote_user: pick(&child.remote_user, &self.remote_user),
            port: pick(&child.port, &self.port),
            connection: pick(&child.connection, &self.connection),
            timeout: pick(&child.timeout, &self.timeout),
            check_mode: pick(&child.check_mode, &self.check_mode),
            diff: pick(&child.diff, &self.diff),
            no_log: pick(&child.no_log, &self.no_log),
            ignore_errors: pick(&child.ignore_errors, &self.ignore_errors),
            ignore_unreachable: pick(&child.ignore_unreachable, &self.ignore_unreachable),
            any_errors_fatal: pick(&child.any_errors_fatal, &self.any_errors_fatal),
            run_once: pick(&child.run_once, &self.run_once),
            throttle: pick(&child.throttle, &self.throttle),
            delegate_to: pick(&child.delegate_to, &self.delegate_to),
            delegate_facts: pick(&child.delegate_facts, &self.delegate_facts),
            environment: cat(&self.environment, &child.environment),
            module_defaults: cat(&self.module_defaults, &child.module_defaults),
            tags: self.tags.iter().chain(&child.tags).cloned().collect(),
            when: cat(&self.when, &child.when),
            vars: self.vars.iter().chain(&child.vars).cloned().collect(),
        }
    }

    /// These keywords with one more `vars:` layer on top (include parameters, loop variables).
    pub fn with_vars(&self, layer: Map<String, Value>) -> Keywords {
        let mut kw = self.clone();
        if !layer.is_empty() {
            kw.vars.push(Arc::new(layer));
        }
        kw
    }

    /// The `vars:` layers merged, outermost first.
    pub fn merged_vars(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for layer in &self.vars {
            crate::vars::merge(&mut m, layer);
        }
        m
    }
}

/// The key of the value [`Keywords::inherit`] keeps for a child's keyword that may render to
/// `omit`: `{KEY: [child's value, parent's value or null]}`. A keyword set to `{{ omit }}` counts
/// as not set, so the parent's value applies, as in Ansible (its omit target, `75692.yml`).
const OMIT_FALLBACK: &str = "__orc_omit_fallback__";

/// Whether a keyword's value is a template that may render to `omit`.
fn may_omit(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{") && s.contains("omit"))
}

/// For a value [`Keywords::inherit`] kept with a fallback: the child's value, and the value that
/// applies when it renders to `omit` (the parent's; null when the parent sets none).
pub fn omit_fallback(v: &Value) -> Option<(&Value, &Value)> {
    match v.as_object()?.get(OMIT_FALLBACK)?.as_array()?.as_slice() {
        [child, parent] => Some((child, parent)),
        _ => None,
    }
}

/// `when:`-style conditions: a string, a bool, or a list of them.
pub(crate) fn conditions(node: Option<&Node>) -> Vec<Value> {
    match node.map(Node::to_value) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(v) => vec![v],
    }
}

/// A boolean keyword's value: a boolean (yes/no/true/false...) or a template.
fn check_bool(key: &str, n: &Node) -> Result<()> {
    let v = n.to_value();
    let ok = orc_modules::args::parse_bool(&v).is_some() || v.as_str().is_some_and(|s| s.contains("{{"));
    if ok {
        return Ok(());
    }
    Err(OrcError::at(&n.loc, format!("'{key}:' expects a boolean, found {}", n.type_name()))
        .help("use true/false or yes/no, or a template such as \"{{ use_it }}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kw(yaml: &str) -> Keywords {
        Keywords::parse(&crate::yaml::parse_str("t.yml", yaml).unwrap(), true).unwrap()
    }

    #[test]
    fn a_child_inherits_what_it_does_not_set_and_adds_to_lists() {
        let play = kw("become: true\nbecome_user: app\ntags: [p]\nwhen: a\nenvironment: {A: '1', B: '1'}\n");
        let block = kw("become_user: root\ntags: b\nwhen: [b]\nvars: {x: 1}\nenvironment: {B: '2'}\n");
        let task = kw("no_log: \"{{ secret }}\"\nvars: {y: 2}\n");
        let got = play.inherit(&block).inherit(&task);
        assert_eq!(got.r#become, Some(json!(true)));
        assert_eq!(got.become_user, Some(json!("root")));
        assert_eq!(got.no_log, Some(json!("{{ secret }}")));
        assert_eq!(got.tags, vec!["p", "b"]);
        assert_eq!(got.when, vec![json!("a"), json!("b")]);
        assert_eq!(got.environment, vec![json!({"A": "1", "B": "1"}), json!({"B": "2"})]);
        assert_eq!(Value::Object(got.merged_vars()), json!({"x": 1, "y": 2}));
    }

    #[test]
    fn a_boolean_keyword_takes_a_boolean_or_a_template() {
        let bad = Keywords::parse(&crate::yaml::parse_str("t.yml", "become: maybe\n").unwrap(), false);
        let err = bad.err().map(|e| e.report()).unwrap_or_default();
        assert!(err.contains("'become:' expects a boolean"), "{err}");
        assert!(Keywords::parse(&crate::yaml::parse_str("t.yml", "become: '{{ b }}'\n").unwrap(), false).is_ok());
    }
}
