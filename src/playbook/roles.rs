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
    /// The parameters written on a `roles:` (or meta dependency) entry itself, not its `vars:`:
    /// what the role's argument spec checks as given (Ansible's `_role_params`); none for
    /// import_role and include_role.
    pub given: Map<String, Value>,
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
    /// `rolespec_validate: false` (import_role, include_role): the role's argument spec is not
    /// checked when it starts.
    pub skip_validation: bool,
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
            let mut given = Map::new();
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
                        given.insert(k.clone(), v.to_value());
                    }
                }
            }
            return Ok(RoleSpec {
                name: scalar_string(name_node)?,
                params,
                loc: n.loc.clone(),
                kw: Keywords::parse(n, false)?,
                files: RoleFiles::default(),
                given,
            });
        }
        Ok(RoleSpec {
            name: scalar_string(n)?,
            params: Map::new(),
            loc: n.loc.clone(),
            kw: Keywords::default(),
            files: RoleFiles::default(),
            given: Map::new(),
        })
    }
}

/// Finds a role directory as Ansible does: `roles/NAME` next to the playbook, then the roles
/// path (ansible.cfg's `roles_path`, ANSIBLE_ROLES_PATH, or `~/.ansible/roles`,
/// `/usr/share/ansible/roles`, `/etc/ansible/roles`), then `NAME` next to the playbook.
///
/// A collection role (`ns.col.role`) is looked for in the collections first: the playbook's
/// `collections/` directory, then the collections path ([`collection_role`]).
pub fn find_role(name: &str, play_dir: &Path) -> Option<PathBuf> {
    if let Some(found) = collection_role(name, play_dir) {
        return Some(found);
    }
    let mut cands = vec![play_dir.join("roles").join(name)];
    cands.extend(crate::config::roles_path().iter().map(|p| p.join(name)));
    cands.push(play_dir.join(name));
    cands.into_iter().find(|c| c.is_dir())
}

/// The collection (`ns.col`) and role name of a fully qualified role name `ns.col.role`.
pub fn split_collection(name: &str) -> Option<(&str, &str)> {
    let (collection, role) = name.rsplit_once('.')?;
    let (ns, col) = collection.split_once('.')?;
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ident(ns) && ident(col) && ident(role)).then_some((collection, role))
}

/// The directory of collection role `ns.col.role`: `ansible_collections/ns/col/roles/role`
/// under the playbook's `collections/` or a collections path entry (an entry may name its
/// `ansible_collections` directory itself), as Ansible's collection loader finds it.
fn collection_role(name: &str, play_dir: &Path) -> Option<PathBuf> {
    let (collection, role) = split_collection(name)?;
    let (ns, col) = collection.split_once('.')?;
    let mut bases = vec![play_dir.join("collections")];
    bases.extend(crate::config::collections_path());
    bases.into_iter().find_map(|b| {
        let root = if b.ends_with("ansible_collections") { b } else { b.join("ansible_collections") };
        let dir = root.join(ns).join(col).join("roles").join(role);
        dir.is_dir().then_some(dir)
    })
}

fn main_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml", "json"]
        .iter()
        .map(|e| dir.join(format!("{stem}.{e}")))
        .chain(std::iter::once(dir.join(stem)))
        .find(|p| p.is_file())
}

/// A role's vars or defaults: `STEM.yml` (`.yaml`, `.json`, no extension), or every file under
/// a `STEM/` directory in sorted order, merged (Ansible's `_load_role_yaml` with `allow_dir`).
fn load_vars_file(dir: &Path, stem: &str) -> Result<Map<String, Value>> {
    let base = dir.join(stem);
    let mut files = Vec::new();
    for ext in ["", ".yml", ".yaml", ".json"] {
        let p = PathBuf::from(format!("{}{ext}", base.display()));
        if p.is_dir() {
            dir_vars_files(&p, &mut files);
            break;
        }
        if p.is_file() {
            files.push(p);
            break;
        }
    }
    let mut out = Map::new();
    for f in files {
        out.extend(crate::inventory::load_vars_file(&f)?.unwrap_or_default());
    }
    Ok(out)
}

/// The vars files under `dir`, sorted, subdirectories opened where they sort (hidden files,
/// backups and other extensions skipped), as Ansible's `_get_dir_vars_files`.
fn dir_vars_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut names: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let ext = Path::new(&name).extension().map(|e| e.to_string_lossy().into_owned());
        match ext.as_deref() {
            None if path.is_dir() => dir_vars_files(&path, out),
            None | Some("yml" | "yaml" | "json") if path.is_file() => out.push(path),
            _ => {}
        }
    }
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
///
/// `parents` are the roles it is brought in by, outermost first ([`Role::parents`]).
pub fn load_role(
    spec: &RoleSpec,
    play_dir: &Path,
    kw: &Keywords,
    include_params: Option<Arc<Map<String, Value>>>,
    parents: Vec<RoleRef>,
) -> Result<LoadedRole> {
    load_role_in(spec, play_dir, kw, include_params, parents, None)
}

/// [`load_role`] for a role included from the tasks of `parent`: the parent's defaults and vars
/// (its own parents' merged in already) lie under the role's own, as Ansible's role
/// `get_default_vars`/`get_vars` merge the dependency chain an include_role gives.
pub fn load_role_in(
    spec: &RoleSpec,
    play_dir: &Path,
    kw: &Keywords,
    include_params: Option<Arc<Map<String, Value>>>,
    parents: Vec<RoleRef>,
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
        parents,
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
    let mut tasks = match main_file(&path.join("tasks"), &tasks_stem) {
        Some(f) => parse_task_file(&f, &ctx)?,
        None if spec.files.tasks.is_some() => {
            return Err(OrcError::at(&spec.loc, format!("role '{}' has no tasks/{tasks_stem}.yml", spec.name)));
        }
        None => Vec::new(),
    };
    if !spec.files.skip_validation {
        if let Some(check) = validation_task(spec, &role, &ctx)? {
            tasks.insert(0, check);
        }
    }
    let handlers_stem = stem(&spec.files.handlers);
    let handlers = match main_file(&path.join("handlers"), &handlers_stem) {
        Some(f) => super::task::splice_imports(parse_task_file(&f, &ParseCtx { dir: path.join("handlers"), ..ctx })?),
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

/// The role's argument specs: the `argument_specs` of `meta/argument_specs.yml` (`.yaml`) when
/// the file exists, else those of `meta/main.yml`, never both (Ansible's `_get_role_argspecs`).
fn argument_specs(path: &Path) -> Result<Option<Node>> {
    let meta = path.join("meta");
    let file = ["argument_specs.yml", "argument_specs.yaml"]
        .iter()
        .map(|f| meta.join(f))
        .find(|p| p.is_file())
        .or_else(|| main_file(&meta, "main"));
    let Some(file) = file else { return Ok(None) };
    let node = yaml::load_file(&file)?;
    Ok(node.get("argument_specs").filter(|s| s.as_map().is_some()).cloned())
}

/// The task Ansible puts in front of a role's tasks when the role has an argument spec for the
/// entry point (`tasks_from`, else `main`): `validate_argument_spec` with the spec's options,
/// the entry's own parameters and what is validated, named after the spec, tagged `always`
/// (Ansible's `Role._prepend_validation_task`).
fn validation_task(spec: &RoleSpec, role: &Arc<Role>, ctx: &ParseCtx) -> Result<Option<Task>> {
    let Some(specs) = argument_specs(&role.path)? else { return Ok(None) };
    let entry = spec.files.tasks.clone().unwrap_or_else(|| "main".into());
    let Some(entry_spec) = specs.get(&entry).filter(|n| n.as_map().is_some_and(|m| !m.is_empty())) else {
        return Ok(None);
    };
    let mut name = format!("Validating arguments against arg spec '{entry}'");
    if let Some(short) = entry_spec.get("short_description") {
        name.push_str(&format!(" - {}", crate::yaml::display(&short.to_value())));
    }
    // Collection roles are named by their last part, as Ansible's `_role_name`.
    let role_name = split_collection(&spec.name).map(|(_, r)| r.to_string()).unwrap_or_else(|| role.name.clone());
    let path = std::fs::canonicalize(&role.path).unwrap_or_else(|_| role.path.clone());
    let mut args = Map::new();
    args.insert(
        "argument_spec".into(),
        entry_spec.get("options").map(Node::to_value).unwrap_or_else(|| Value::Object(Map::new())),
    );
    args.insert("provided_arguments".into(), Value::Object(spec.given.clone()));
    args.insert(
        "validate_args_context".into(),
        serde_json::json!({
            "type": "role",
            "name": role_name,
            "argument_spec_name": entry,
            "path": path.display().to_string(),
        }),
    );
    let action = super::task::Action {
        module: "ansible.builtin.validate_argument_spec".into(),
        short: "validate_argument_spec".into(),
        args,
        loc: entry_spec.loc.clone(),
        engine: crate::executor::actions::lookup("validate_argument_spec"),
    };
    let mut kw = ctx.kw.clone();
    kw.tags.push("always".into());
    let mut task = Task::new(entry_spec.loc.clone(), TaskBody::Action(action), kw);
    task.name = Some(name);
    task.role = Some(role.clone());
    task.include_params = ctx.include_params.clone();
    Ok(Some(task))
}

/// Roles expanded: one block per role, their handlers, and the roles themselves.
pub struct Expanded {
    /// One block task per role, dependencies first.
    pub blocks: Vec<Task>,
    /// The roles' handlers.
    pub handlers: Vec<Task>,
    /// The roles, in the order of `blocks`.
    pub roles: Vec<RoleRef>,
    /// The names of the roles named and of their dependencies.
    pub names: super::RoleNames,
}

/// Expands role specs into one block task per role (dependencies first, each role once per
/// distinct parameters, as Ansible does) and collects their handlers; the roles' tasks inherit
/// `parent` (the play's or the import's keywords).
///
/// `include_params` are the variables the roles' tasks get from the include or import around
/// them (an `import_role` inside an included file, and `ansible_parent_role_names`).
pub fn expand_roles(
    specs: &[RoleSpec],
    play_dir: &Path,
    parent: &Keywords,
    include_params: Option<Arc<Map<String, Value>>>,
    parents: Vec<RoleRef>,
) -> Result<Expanded> {
    let mut out =
        Expanded { blocks: Vec::new(), handlers: Vec::new(), roles: Vec::new(), names: super::RoleNames::default() };
    let mut seen: Vec<(PathBuf, Map<String, Value>)> = Vec::new();
    let from = From { kw: parent, include_params: &include_params, parents: &parents };
    for spec in specs {
        expand_one(spec, play_dir, &mut out, &mut seen, 0, &from, &Map::new())?;
    }
    Ok(out)
}

/// What a role being expanded gets from where it is used: keywords, include parameters and the
/// roles that bring it in.
struct From<'a> {
    kw: &'a Keywords,
    include_params: &'a Option<Arc<Map<String, Value>>>,
    parents: &'a [RoleRef],
}

fn expand_one(
    spec: &RoleSpec,
    play_dir: &Path,
    out: &mut Expanded,
    seen: &mut Vec<(PathBuf, Map<String, Value>)>,
    depth: usize,
    from: &From<'_>,
    inherited: &Map<String, Value>,
) -> Result<()> {
    let (parent, include_params, parents) = (from.kw, from.include_params, from.parents);
    if depth > 20 {
        return Err(OrcError::at(
            &spec.loc,
            "role dependencies nest more than 20 levels; is a role depending on itself?",
        ));
    }
    let kw = parent.inherit(&spec.kw);
    // A dependency sees the parameters of the roles that depend on it, below its own (Ansible's
    // `get_role_params(dep_chain)`).
    let mut params = inherited.clone();
    crate::vars::merge(&mut params, &spec.params);
    let with_inherited = RoleSpec { params: params.clone(), ..spec.clone() };
    let loaded = load_role(&with_inherited, play_dir, &kw, include_params.clone(), parents.to_vec())?;
    let names = if depth == 0 { &mut out.names.play } else { &mut out.names.dependencies };
    names.push(loaded.role.name.clone());
    let key = (loaded.role.path.clone(), spec.params.clone());
    if seen.contains(&key) {
        return Ok(());
    }
    seen.push(key);
    // Dependencies inherit the keywords of the role that depends on them (its tags, when...).
    for dep in &loaded.deps {
        let chain = loaded.role.chain();
        let dep_from = From { kw: &kw, include_params, parents: &chain };
        expand_one(dep, play_dir, out, seen, depth + 1, &dep_from, &params)?;
    }
    let mut block =
        Task::new(spec.loc.clone(), TaskBody::Block { block: loaded.tasks, rescue: vec![], always: vec![] }, kw);
    block.role = Some(loaded.role.clone());
    out.blocks.push(block);
    out.names.roles.push(loaded.role.clone());
    out.roles.push(loaded.role);
    out.handlers.extend(loaded.handlers);
    Ok(())
}

/// The variables the tasks of a role brought in by `import_role` or `include_role` get from that
/// task, as Ansible's `IncludeRole.get_include_params`: those of the includes around it
/// (`chain`), then, when the task is written in a role (`parent`), that role's parameters and
/// `ansible_parent_role_names`/`ansible_parent_role_paths` with the parent first.
pub fn include_role_params(
    parent: Option<&super::Role>,
    chain: Option<&Map<String, Value>>,
) -> Option<Arc<Map<String, Value>>> {
    let Some(parent) = parent else { return chain.map(|c| Arc::new(c.clone())) };
    let mut v = chain.cloned().unwrap_or_default();
    v.extend(parent.params.clone());
    let path = std::fs::canonicalize(&parent.path).unwrap_or_else(|_| parent.path.clone());
    for (key, first) in [
        ("ansible_parent_role_names", Value::String(parent.name.clone())),
        ("ansible_parent_role_paths", Value::String(path.display().to_string())),
    ] {
        let mut list = match v.get(key) {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        list.insert(0, first);
        v.insert(key.into(), Value::Array(list));
    }
    Some(Arc::new(v))
}
