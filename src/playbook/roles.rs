//! Roles: found next to the playbook, loaded from their standard folders, dependencies first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::{Keywords, INHERITED};
use super::parse::{parse_task_file, scalar_string, ParseCtx};
use super::task::{Task, TaskBody};
use super::{Role, RoleRef};
use crate::error::{Loc, OrcError, Result};
use crate::yaml::{self, Node};

/// A role as named in `roles:`, `import_role:`, `include_role:` or a meta dependency.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// Role name or path.
    pub name: String,
    /// Role parameters (the other keys of the mapping, and its `vars:`).
    pub params: Map<String, Value>,
    /// Where it is named.
    pub loc: Loc,
    /// Keywords on the role entry (`tags`, `when`, `become`...): the role's tasks inherit them.
    pub kw: Keywords,
    /// Which files of the role to load instead of `main`.
    pub files: RoleFiles,
}

/// `tasks_from`, `vars_from`, `defaults_from`, `handlers_from` (import_role/include_role).
#[derive(Debug, Clone, Default)]
pub struct RoleFiles {
    /// `tasks_from:`.
    pub tasks: Option<String>,
    /// `vars_from:`.
    pub vars: Option<String>,
    /// `defaults_from:`.
    pub defaults: Option<String>,
    /// `handlers_from:`.
    pub handlers: Option<String>,
}

impl RoleSpec {
    /// Reads a `roles:` entry: a name, or a mapping with `role:`/`name:`, keywords and parameters.
    pub fn from_node(n: &Node) -> Result<RoleSpec> {
        if let Some(pairs) = n.as_map() {
            let name_node = n
                .get("role")
                .or_else(|| n.get("name"))
                .ok_or_else(|| OrcError::at(&n.loc, "a role entry needs 'role:' with the role's name"))?;
            let mut params = Map::new();
            for (k, v) in pairs {
                match k.as_str() {
                    "role" | "name" => {}
                    "vars" => {
                        if let Value::Object(m) = v.to_value() {
                            params.extend(m);
                        }
                    }
                    k if INHERITED.contains(&k) => {}
                    _ => {
                        params.insert(k.clone(), v.to_value());
                    }
                }
            }
            return Ok(RoleSpec {
                name: scalar_string(name_node)?,
                params,
                loc: n.loc.clone(),
                kw: Keywords::parse(n, false)?,
                files: RoleFiles::default(),
            });
        }
        Ok(RoleSpec {
            name: scalar_string(n)?,
            params: Map::new(),
            loc: n.loc.clone(),
            kw: Keywords::default(),
            files: RoleFiles::default(),
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

fn load_vars_file(dir: &Path, stem: &str) -> Result<Map<String, Value>> {
    let Some(f) = main_file(dir, stem) else {
        return Ok(Map::new());
    };
    Ok(crate::inventory::load_vars_file(&f)?.unwrap_or_default())
}

/// The stem of a `*_from` file name (`install.yml` -> `install`).
fn stem(from: &Option<String>) -> String {
    let s = from.clone().unwrap_or_else(|| "main".into());
    s.trim_end_matches(".yml").trim_end_matches(".yaml").trim_end_matches(".json").to_string()
}

/// A loaded role: its tasks (dependencies not included) and its handlers.
pub struct LoadedRole {
    /// The role, shared by its tasks.
    pub role: Arc<Role>,
    /// Tasks from tasks/main.yml (or tasks_from), inheriting the role's keywords.
    pub tasks: Vec<Task>,
    /// Handlers from handlers/main.yml (or handlers_from).
    pub handlers: Vec<Task>,
    /// Dependencies named in meta/main.yml.
    pub deps: Vec<RoleSpec>,
}

/// `own` merged over the parent role's variables (when there is a parent).
fn under_parent(parent: Option<&Map<String, Value>>, own: Map<String, Value>) -> Map<String, Value> {
    match parent {
        Some(p) => {
            let mut m = p.clone();
            crate::vars::merge(&mut m, &own);
            m
        }
        None => own,
    }
}

/// Loads one role's files; its tasks and handlers inherit `kw` (the role entry's keywords merged
/// with its parent's) and `include_params` (an include's loop variable).
pub fn load_role(
    spec: &RoleSpec,
    play_dir: &Path,
    kw: &Keywords,
    include_params: Option<Arc<Map<String, Value>>>,
) -> Result<LoadedRole> {
    load_role_in(spec, play_dir, kw, include_params, None)
}

/// [`load_role`] for a role included from the tasks of `parent`: the parent's defaults and vars
/// (its own parents' merged in already) lie under the role's own, as Ansible's role
/// `get_default_vars`/`get_vars` merge the dependency chain an include_role gives.
pub fn load_role_in(
    spec: &RoleSpec,
    play_dir: &Path,
    kw: &Keywords,
    include_params: Option<Arc<Map<String, Value>>>,
    parent: Option<&Role>,
) -> Result<LoadedRole> {
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
        defaults: under_parent(
            parent.map(|p| &p.defaults),
            load_vars_file(&path.join("defaults"), &stem(&spec.files.defaults))?,
        ),
        vars: under_parent(parent.map(|p| &p.vars), load_vars_file(&path.join("vars"), &stem(&spec.files.vars))?),
        params: spec.params.clone(),
    });
    let ctx = ParseCtx {
        dir: path.join("tasks"),
        play_dir: play_dir.to_path_buf(),
        role: Some(role.clone()),
        depth: 0,
        kw: kw.clone(),
        include_params,
    };
    let tasks_stem = stem(&spec.files.tasks);
    let tasks = match main_file(&path.join("tasks"), &tasks_stem) {
        Some(f) => parse_task_file(&f, &ctx)?,
        None if spec.files.tasks.is_some() => {
            return Err(OrcError::at(&spec.loc, format!("role '{}' has no tasks/{tasks_stem}.yml", spec.name)));
        }
        None => Vec::new(),
    };
    let handlers_stem = stem(&spec.files.handlers);
    let handlers = match main_file(&path.join("handlers"), &handlers_stem) {
        Some(f) => parse_task_file(&f, &ParseCtx { dir: path.join("handlers"), ..ctx })?,
        None if spec.files.handlers.is_some() => {
            return Err(OrcError::at(&spec.loc, format!("role '{}' has no handlers/{handlers_stem}.yml", spec.name)));
        }
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

/// Roles expanded: one block per role, their handlers, and the roles themselves.
pub struct Expanded {
    /// One block task per role, dependencies first.
    pub blocks: Vec<Task>,
    /// The roles' handlers.
    pub handlers: Vec<Task>,
    /// The roles, in the order of `blocks`.
    pub roles: Vec<RoleRef>,
}

/// Expands role specs into one block task per role (dependencies first, each role once per
/// distinct parameters, as Ansible does) and collects their handlers; the roles' tasks inherit
/// `parent` (the play's or the import's keywords).
pub fn expand_roles(specs: &[RoleSpec], play_dir: &Path, parent: &Keywords) -> Result<Expanded> {
    let mut out = Expanded { blocks: Vec::new(), handlers: Vec::new(), roles: Vec::new() };
    let mut seen: Vec<(PathBuf, Map<String, Value>)> = Vec::new();
    for spec in specs {
        expand_one(spec, play_dir, &mut out, &mut seen, 0, parent)?;
    }
    Ok(out)
}

fn expand_one(
    spec: &RoleSpec,
    play_dir: &Path,
    out: &mut Expanded,
    seen: &mut Vec<(PathBuf, Map<String, Value>)>,
    depth: usize,
    parent: &Keywords,
) -> Result<()> {
    if depth > 20 {
        return Err(OrcError::at(
            &spec.loc,
            "role dependencies nest more than 20 levels; is a role depending on itself?",
        ));
    }
    let kw = parent.inherit(&spec.kw);
    let loaded = load_role(spec, play_dir, &kw, None)?;
    let key = (loaded.role.path.clone(), spec.params.clone());
    if seen.contains(&key) {
        return Ok(());
    }
    seen.push(key);
    // Dependencies inherit the keywords of the role that depends on them (its tags, when...).
    for dep in &loaded.deps {
        expand_one(dep, play_dir, out, seen, depth + 1, &kw)?;
    }
    let mut block =
        Task::new(spec.loc.clone(), TaskBody::Block { block: loaded.tasks, rescue: vec![], always: vec![] }, kw);
    block.role = Some(loaded.role.clone());
    out.blocks.push(block);
    out.roles.push(loaded.role);
    out.handlers.extend(loaded.handlers);
    Ok(())
}
