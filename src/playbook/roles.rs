//! Roles: found next to the playbook, loaded from their standard folders, dependencies first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::parse::{parse_task_list_file, scalar_string, string_list};
use super::task::{Task, TaskBody};
use super::Role;
use crate::error::{Loc, OrcError, Result};
use crate::yaml::{self, Node};

/// A role as named in `roles:`, `import_role:`, `include_role:` or a meta dependency.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// Role name or path.
    pub name: String,
    /// Role parameters (the other keys of the mapping).
    pub params: Map<String, Value>,
    /// Where it is named.
    pub loc: Loc,
    /// `tags:` on the role entry.
    pub tags: Vec<String>,
    /// `when:` on the role entry.
    pub when: Vec<Value>,
    /// `tasks_from:` (import_role/include_role).
    pub tasks_from: Option<String>,
}

impl RoleSpec {
    /// Reads a `roles:` entry: a name, or a mapping with `role:`/`name:` and parameters.
    pub fn from_node(n: &Node) -> Result<RoleSpec> {
        if let Some(pairs) = n.as_map() {
            let name_node = n
                .get("role")
                .or_else(|| n.get("name"))
                .ok_or_else(|| OrcError::at(&n.loc, "a role entry needs 'role:' with the role's name"))?;
            let mut params = Map::new();
            let mut tags = Vec::new();
            let mut when = Vec::new();
            for (k, v) in pairs {
                match k.as_str() {
                    "role" | "name" => {}
                    "tags" => tags = string_list(Some(v))?,
                    "when" => {
                        when = match v.to_value() {
                            Value::Array(a) => a,
                            other => vec![other],
                        }
                    }
                    "vars" => {
                        if let Value::Object(m) = v.to_value() {
                            params.extend(m);
                        }
                    }
                    _ => {
                        params.insert(k.clone(), v.to_value());
                    }
                }
            }
            return Ok(RoleSpec {
                name: scalar_string(name_node)?,
                params,
                loc: n.loc.clone(),
                tags,
                when,
                tasks_from: None,
            });
        }
        Ok(RoleSpec {
            name: scalar_string(n)?,
            params: Map::new(),
            loc: n.loc.clone(),
            tags: vec![],
            when: vec![],
            tasks_from: None,
        })
    }
}

/// Finds a role directory as Ansible does: `roles/NAME` next to the playbook, then the roles
/// path (ansible.cfg's `roles_path`, ANSIBLE_ROLES_PATH, or `~/.ansible/roles`,
/// `/usr/share/ansible/roles`, `/etc/ansible/roles`), then `NAME` next to the playbook.
pub fn find_role(name: &str, play_dir: &Path) -> Option<PathBuf> {
    let mut cands = vec![play_dir.join("roles").join(name)];
    cands.extend(crate::config::roles_path().iter().map(|p| p.join(name)));
    cands.push(play_dir.join(name));
    cands.into_iter().find(|c| c.is_dir())
}

fn main_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml", "json"]
        .iter()
        .map(|e| dir.join(format!("{stem}.{e}")))
        .chain(std::iter::once(dir.join(stem)))
        .find(|p| p.is_file())
}

fn load_vars_file(dir: &Path) -> Result<Map<String, Value>> {
    let Some(f) = main_file(dir, "main") else {
        return Ok(Map::new());
    };
    let node = yaml::load_file(&f)?;
    match node.to_value() {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(OrcError::at(&node.loc, "a vars file must be a mapping of names to values")),
    }
}

/// A loaded role: its block of tasks (dependencies not included) and its handlers.
pub struct LoadedRole {
    /// The role, shared by its tasks.
    pub role: Arc<Role>,
    /// Tasks from tasks/main.yml (or tasks_from).
    pub tasks: Vec<Task>,
    /// Handlers from handlers/main.yml.
    pub handlers: Vec<Task>,
    /// Dependencies named in meta/main.yml.
    pub deps: Vec<RoleSpec>,
}

/// Loads one role's files.
pub fn load_role(spec: &RoleSpec, play_dir: &Path) -> Result<LoadedRole> {
    let path = find_role(&spec.name, play_dir).ok_or_else(|| {
        OrcError::at(&spec.loc, format!("role '{}' was not found", spec.name)).help(format!(
            "looked in {}/roles/{}, the roles path ({}) and {}/{}",
            play_dir.display(),
            spec.name,
            crate::config::roles_path().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"),
            play_dir.display(),
            spec.name
        ))
    })?;
    let role = Arc::new(Role {
        name: spec.name.rsplit('/').next().unwrap_or(&spec.name).to_string(),
        path: path.clone(),
        defaults: load_vars_file(&path.join("defaults"))?,
        vars: load_vars_file(&path.join("vars"))?,
        params: spec.params.clone(),
    });
    let tasks_stem = spec.tasks_from.clone().unwrap_or_else(|| "main".into());
    let tasks_stem = tasks_stem.trim_end_matches(".yml").trim_end_matches(".yaml").to_string();
    let tasks = match main_file(&path.join("tasks"), &tasks_stem) {
        Some(f) => parse_task_list_file(&f, Some(role.clone()), play_dir)?,
        None if spec.tasks_from.is_some() => {
            return Err(OrcError::at(&spec.loc, format!("role '{}' has no tasks/{tasks_stem}.yml", spec.name)));
        }
        None => Vec::new(),
    };
    let handlers = match main_file(&path.join("handlers"), "main") {
        Some(f) => parse_task_list_file(&f, Some(role.clone()), play_dir)?,
        None => Vec::new(),
    };
    let mut deps = Vec::new();
    if let Some(f) = main_file(&path.join("meta"), "main") {
        let meta = yaml::load_file(&f)?;
        if let Some(d) = meta.get("dependencies") {
            for item in d.as_seq().unwrap_or_default() {
                deps.push(RoleSpec::from_node(item)?);
            }
        }
    }
    Ok(LoadedRole { role, tasks, handlers, deps })
}

/// Expands role specs into one block task per role (dependencies first, each role once per
/// distinct parameters, as Ansible does) and collects their handlers.
pub fn expand_roles(specs: &[RoleSpec], play_dir: &Path) -> Result<(Vec<Task>, Vec<Task>)> {
    let mut blocks = Vec::new();
    let mut handlers = Vec::new();
    let mut seen: Vec<(PathBuf, Map<String, Value>)> = Vec::new();
    for spec in specs {
        expand_one(spec, play_dir, &mut blocks, &mut handlers, &mut seen, 0, &[], &[])?;
    }
    Ok((blocks, handlers))
}

#[allow(clippy::too_many_arguments)]
fn expand_one(
    spec: &RoleSpec,
    play_dir: &Path,
    blocks: &mut Vec<Task>,
    handlers: &mut Vec<Task>,
    seen: &mut Vec<(PathBuf, Map<String, Value>)>,
    depth: usize,
    inherited_tags: &[String],
    inherited_when: &[Value],
) -> Result<()> {
    if depth > 20 {
        return Err(OrcError::at(
            &spec.loc,
            "role dependencies nest more than 20 levels; is a role depending on itself?",
        ));
    }
    let loaded = load_role(spec, play_dir)?;
    let key = (loaded.role.path.clone(), spec.params.clone());
    if seen.contains(&key) {
        return Ok(());
    }
    seen.push(key);
    let mut tags: Vec<String> = inherited_tags.to_vec();
    tags.extend(spec.tags.iter().cloned());
    let mut when: Vec<Value> = inherited_when.to_vec();
    when.extend(spec.when.iter().cloned());
    for dep in &loaded.deps {
        expand_one(dep, play_dir, blocks, handlers, seen, depth + 1, &tags, &when)?;
    }
    let mut block =
        Task::new(spec.loc.clone(), TaskBody::Block { block: loaded.tasks, rescue: vec![], always: vec![] });
    block.role = Some(loaded.role.clone());
    block.is_role_boundary = true;
    block.tags = tags;
    block.when = when;
    blocks.push(block);
    handlers.extend(loaded.handlers);
    Ok(())
}
