//! From YAML nodes to plays and tasks, with every mistake reported at its file:line:col.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::{conditions, Keywords, INHERITED};
use super::roles::{expand_roles, RoleFiles, RoleSpec};
use super::search;
use super::task::{Action, Include, IncludeTarget, LoopSpec, Task, TaskBody};
use super::{Play, Playbook, RoleRef, VarPrompt};
use crate::error::{OrcError, Result};
use crate::executor::actions;
use crate::yaml::{self, Kind, Node};

/// Keywords only a play carries (besides the inherited ones, `playbook::INHERITED`).
const PLAY_ONLY: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "rollback",
    "handlers",
    "serial",
    "strategy",
    "max_fail_percentage",
    "force_handlers",
    "order",
];

/// Inherited keywords a play may not carry.
const NOT_ON_PLAYS: &[&str] = &["when", "delegate_to", "delegate_facts"];

/// Keywords only a task (or block) carries, besides its action and the inherited ones.
const TASK_ONLY: &[&str] = &[
    "name",
    "loop",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "args",
    "block",
    "rescue",
    "always",
    "async",
    "poll",
];

/// Every keyword a play may carry.
fn play_keywords() -> Vec<&'static str> {
    PLAY_ONLY.iter().chain(INHERITED.iter().filter(|k| !NOT_ON_PLAYS.contains(k))).copied().collect()
}

/// Every keyword a task may carry besides its action.
fn task_keywords() -> Vec<&'static str> {
    TASK_ONLY.iter().chain(INHERITED).copied().collect()
}

fn is_task_keyword(k: &str) -> bool {
    TASK_ONLY.contains(&k) || INHERITED.contains(&k)
}

/// Context of the file being parsed: where relative paths resolve, which role owns the tasks and
/// the keywords they inherit.
#[derive(Clone)]
pub(crate) struct ParseCtx {
    /// Directory of the file being parsed (relative imports resolve from it).
    pub dir: PathBuf,
    /// Playbook directory (roles are searched from here).
    pub play_dir: PathBuf,
    /// Role owning the tasks being parsed.
    pub role: Option<RoleRef>,
    /// Import depth, to stop recursive imports.
    pub depth: usize,
    /// The keywords the tasks inherit (their parent's, merged).
    pub kw: Keywords,
    /// Variables of the include that brings these tasks in.
    pub include_params: Option<Arc<Map<String, Value>>>,
}

/// What the tasks of a file included at run time inherit from the include.
#[derive(Debug, Clone)]
pub struct IncludeCtx {
    /// The role they belong to.
    pub role: Option<RoleRef>,
    /// The playbook directory.
    pub play_dir: PathBuf,
    /// The keywords they inherit.
    pub kw: Keywords,
    /// The include's parameters (its vars and loop variable).
    pub params: Option<Arc<Map<String, Value>>>,
}

/// Loads a playbook file, resolving `import_playbook` recursively (its file name templated with
/// the import's `vars` and `extra_vars`, as Ansible's `PlaybookInclude`).
pub fn load_playbook(path: &Path, extra_vars: &Map<String, Value>) -> Result<Playbook> {
    let mut plays = Vec::new();
    let import = Import { depth: 0, kw: Keywords::default(), vars: Map::new() };
    load_into(path, &mut plays, &import, extra_vars)?;
    if plays.is_empty() {
        let text = OrcError::read(path)?;
        let loc = crate::error::Loc::file_start(crate::error::SourceFile::new(path, text));
        return Err(OrcError::at(&loc, "empty playbook, nothing to do")
            .help("a playbook is a list of plays: '- hosts: all\n  tasks: [...]'"));
    }
    Ok(Playbook { path: path.to_path_buf(), plays })
}

/// What the plays of an imported playbook get from the `import_playbook` entries around them.
struct Import {
    /// How deep the import is.
    depth: usize,
    /// The entries' keywords (`when`, `tags`...): every task of the plays inherits them.
    kw: Keywords,
    /// The entries' `vars`: play variables of the imported plays, over their own.
    vars: Map<String, Value>,
}

fn load_into(path: &Path, plays: &mut Vec<Play>, import: &Import, extra_vars: &Map<String, Value>) -> Result<()> {
    let depth = import.depth;
    let root = yaml::load_file(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let items = match &root.kind {
        Kind::Seq(items) => items,
        Kind::Scalar(Value::Null) => return Ok(()),
        _ => {
            return Err(OrcError::at(
                &root.loc,
                format!("a playbook must be a list of plays, found {}", root.type_name()),
            )
            .help("start each play with '- hosts: PATTERN'"))
        }
    };
    for item in items {
        let imp = item
            .get("import_playbook")
            .or_else(|| item.get("ansible.builtin.import_playbook"))
            .or_else(|| item.get("ansible.legacy.import_playbook"));
        if let Some(imp) = imp {
            let mut vars = import.vars.clone();
            vars.extend(opt_map(item.get("vars"), "vars")?);
            let mut file = scalar_string(imp)?;
            if file.contains("{{") || file.contains("{%") {
                let mut all = vars.clone();
                all.extend(extra_vars.clone());
                let templar = crate::template::Templar::new();
                let rendered = templar
                    .render_str(&file, &minijinja::Value::from(minijinja::value::Serde(&all)))
                    .map_err(|e| OrcError::at(&imp.loc, format!("the imported playbook's name: {e}")))?;
                file = crate::yaml::display(&rendered);
            }
            if depth > 20 {
                return Err(OrcError::at(
                    &imp.loc,
                    "import_playbook nests more than 20 levels; is it importing itself?",
                ));
            }
            let target = dir.join(&file);
            if !target.exists() {
                return Err(OrcError::at(&imp.loc, format!("imported playbook {} does not exist", target.display())));
            }
            let inner = Import { depth: depth + 1, kw: import.kw.inherit(&Keywords::parse(item, false)?), vars };
            load_into(&target, plays, &inner, extra_vars)?;
            continue;
        }
        let mut play = parse_play(item, &dir, &import.kw)?;
        play.vars.extend(import.vars.clone());
        plays.push(play);
    }
    Ok(())
}

/// One play; `parent` are the keywords of the `import_playbook` entries around it.
fn parse_play(node: &Node, dir: &Path, parent: &Keywords) -> Result<Play> {
    let pairs = node.as_map().ok_or_else(|| {
        OrcError::at(&node.loc, format!("a play must be a mapping, found {}", node.type_name()))
            .help("a play looks like '- hosts: all\\n  tasks: [...]'")
    })?;
    let valid = play_keywords();
    for (k, v) in pairs {
        if !valid.contains(&k.as_str()) {
            let mut err = OrcError::at(&v.loc, format!("'{k}' is not a valid play keyword"));
            if let Some(s) = suggest(k, &valid) {
                err = err.help(format!("did you mean '{s}'?"));
            } else if actions::exists(k) {
                err = err.help("modules go inside 'tasks:'");
            }
            return Err(err);
        }
    }
    let hosts_node = node
        .get("hosts")
        .ok_or_else(|| OrcError::at(&node.loc, "this play has no 'hosts:'").help("add 'hosts: all' or a group name"))?;
    let hosts = match &hosts_node.kind {
        Kind::Seq(items) => items.iter().map(scalar_string).collect::<Result<Vec<_>>>()?.join(","),
        _ => scalar_string(hosts_node)?,
    };
    let name = match node.get("name") {
        Some(n) => scalar_string(n)?,
        None => hosts.clone(),
    };
    let mut play = Play::new(name, hosts, hosts_node.loc.clone(), node.loc.clone(), dir.to_path_buf());
    play.kw = parent.inherit(&Keywords::parse(node, false)?);
    let ctx = ParseCtx {
        dir: dir.to_path_buf(),
        play_dir: dir.to_path_buf(),
        role: None,
        depth: 0,
        kw: play.kw.clone(),
        include_params: None,
    };
    play.vars = opt_map(node.get("vars"), "vars")?;
    play.gather_facts = opt_bool(node.get("gather_facts"))?;
    play.gather_subset = node.get("gather_subset").map(Node::to_value);
    play.pre_tasks = parse_tasks(node.get("pre_tasks"), &ctx)?;
    play.tasks = parse_tasks(node.get("tasks"), &ctx)?;
    play.post_tasks = parse_tasks(node.get("post_tasks"), &ctx)?;
    play.rollback = parse_tasks(node.get("rollback"), &ctx)?;
    play.handlers = super::task::splice_imports(parse_tasks(node.get("handlers"), &ctx)?);
    play.serial = node.get("serial").map(Node::to_value);
    play.strategy = node.get("strategy").map(scalar_string).transpose()?.unwrap_or_else(|| "linear".into());
    play.max_fail_percentage = node.get("max_fail_percentage").and_then(|n| n.to_value().as_f64());
    play.force_handlers = opt_bool(node.get("force_handlers"))?.unwrap_or(false);
    play.order = node.get("order").map(scalar_string).transpose()?;
    play.vars_prompt = parse_vars_prompt(node.get("vars_prompt"))?;
    // `vars_files: null` and `roles: null` are empty lists, as Ansible reads them.
    if let Some(vf) = node.get("vars_files").filter(|n| !n.is_null()) {
        let items: Vec<&Node> = match &vf.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![vf],
        };
        for item in items {
            let names = match &item.kind {
                Kind::Seq(alternatives) => alternatives.iter().map(scalar_string).collect::<Result<Vec<_>>>()?,
                _ => vec![scalar_string(item)?],
            };
            play.vars_files.push((names, item.loc.clone()));
        }
    }
    if let Some(roles) = node.get("roles").filter(|n| !n.is_null()) {
        let specs = roles
            .as_seq()
            .ok_or_else(|| OrcError::at(&roles.loc, "'roles:' must be a list of role names or mappings"))?
            .iter()
            .map(RoleSpec::from_node)
            .collect::<Result<Vec<_>>>()?;
        let expanded = expand_roles(&specs, dir, &play.kw, None, Vec::new())?;
        play.role_names.extend(&expanded.names);
        play.roles = expanded.blocks;
        play.handlers.extend(expanded.handlers);
        // Their vars and defaults are the play's unless private_role_vars says otherwise.
        if crate::config::role_is_public(None, true) {
            play.role_refs = expanded.roles;
        } else {
            play.private_role_refs = expanded.roles;
        }
    }
    // Handlers of roles imported with import_role anywhere in the play join the play's handlers.
    let mut imported = Vec::new();
    for section in [&play.pre_tasks, &play.tasks, &play.post_tasks, &play.rollback, &play.handlers] {
        collect_imported_handlers(section, &mut imported);
    }
    play.handlers.extend(imported);
    let mut names = super::RoleNames::default();
    for section in [&play.pre_tasks, &play.tasks, &play.post_tasks, &play.rollback, &play.handlers] {
        collect_imported_roles(section, &mut names);
    }
    // Roles imported anywhere in the play are public unless their `public:` or private_role_vars
    // says otherwise: their vars and defaults are the play's (collect_imported_roles left the
    // private ones out of `names.roles`).
    play.role_refs.extend(names.roles.iter().cloned());
    play.role_names.extend(&names);
    for section in [&play.pre_tasks, &play.tasks, &play.post_tasks, &play.rollback, &play.handlers] {
        collect_private_roles(section, &mut play.private_role_refs);
    }
    Ok(play)
}

/// `vars_prompt:` as a list of `{name, prompt, default, private, confirm}` (or the old mapping of
/// names to questions).
fn parse_vars_prompt(node: Option<&Node>) -> Result<Vec<VarPrompt>> {
    let Some(node) = node.filter(|n| !n.is_null()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    match &node.kind {
        Kind::Seq(items) => {
            for item in items {
                let name = item
                    .get("name")
                    .map(scalar_string)
                    .transpose()?
                    .ok_or_else(|| OrcError::at(&item.loc, "a vars_prompt entry needs 'name:'"))?;
                for (k, v) in item.as_map().unwrap_or_default() {
                    const VALID: &[&str] =
                        &["name", "prompt", "default", "private", "confirm", "encrypt", "salt_size", "salt", "unsafe"];
                    if !VALID.contains(&k.as_str()) {
                        return Err(OrcError::at(&v.loc, format!("'{k}' is not a valid vars_prompt option"))
                            .help(format!("valid options: {}", VALID.join(", "))));
                    }
                }
                out.push(VarPrompt {
                    prompt: item.get("prompt").map(scalar_string).transpose()?.unwrap_or_else(|| name.clone()),
                    name,
                    default: item.get("default").map(Node::to_value),
                    // Ansible's default: what is typed is not shown.
                    private: opt_bool(item.get("private"))?.unwrap_or(true),
                    confirm: opt_bool(item.get("confirm"))?.unwrap_or(false),
                    loc: item.loc.clone(),
                });
            }
        }
        Kind::Map(pairs) => {
            for (k, v) in pairs {
                out.push(VarPrompt {
                    name: k.clone(),
                    prompt: scalar_string(v)?,
                    default: None,
                    private: true,
                    confirm: false,
                    loc: v.loc.clone(),
                });
            }
        }
        _ => return Err(OrcError::at(&node.loc, "'vars_prompt:' must be a list of {name, prompt} entries")),
    }
    Ok(out)
}

/// Gathers the handlers `import_role` blocks carry, at any depth.
fn collect_imported_handlers(tasks: &[Task], out: &mut Vec<Task>) {
    for t in tasks {
        out.extend(t.imported_handlers.iter().cloned());
        if let TaskBody::Block { block, rescue, always } = &t.body {
            for list in [block, rescue, always] {
                collect_imported_handlers(list, out);
            }
        }
    }
}

/// Gathers the roles of private `import_role` blocks, at any depth.
fn collect_private_roles(tasks: &[Task], out: &mut Vec<super::RoleRef>) {
    for t in tasks {
        out.extend(t.private_roles.iter().cloned());
        if let TaskBody::Block { block, rescue, always } = &t.body {
            for list in [block, rescue, always] {
                collect_private_roles(list, out);
            }
        }
    }
}

/// `public:` of import_role/include_role: a boolean, or a string Ansible reads as one
/// ([`public_value`]); a template is left for the run (include_role only).
fn public_option(args: &Map<String, Value>, at: &Node) -> Result<Option<bool>> {
    match args.get("public") {
        None => Ok(None),
        Some(v) => public_value(v).map_err(|e| {
            OrcError::at(&at.loc, e).help("give public: true or false (a template only with include_role)")
        }),
    }
}

/// A `public:` value as a boolean (`None` for null), or why it is not one.
pub fn public_value(v: &Value) -> std::result::Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        v => match crate::yaml::display(v).trim().to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(Some(true)),
            "no" | "off" | "0" | "false" | "n" | "f" => Ok(Some(false)),
            other => Err(format!("public: '{other}' is not a boolean")),
        },
    }
}

/// Gathers the role names `import_role` blocks carry, at any depth.
fn collect_imported_roles(tasks: &[Task], out: &mut super::RoleNames) {
    for t in tasks {
        out.extend(&t.imported_roles);
        if let TaskBody::Block { block, rescue, always } = &t.body {
            for list in [block, rescue, always] {
                collect_imported_roles(list, out);
            }
        }
    }
}

/// Parses a list of tasks (or an absent section).
pub(crate) fn parse_tasks(node: Option<&Node>, ctx: &ParseCtx) -> Result<Vec<Task>> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    match &node.kind {
        Kind::Scalar(Value::Null) => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(|t| parse_task(t, ctx)).collect(),
        _ => Err(OrcError::at(&node.loc, format!("a task list must be a list, found {}", node.type_name()))
            .help("start each task with '- name: ...'")),
    }
}

/// Compiles a file of tasks included at run time (include_tasks, include_role), inheriting what
/// the include gives.
pub fn compile_task_file(path: &Path, inc: &IncludeCtx) -> Result<Vec<Task>> {
    let ctx = ParseCtx {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        play_dir: inc.play_dir.clone(),
        role: inc.role.clone(),
        depth: 0,
        kw: inc.kw.clone(),
        include_params: inc.params.clone(),
    };
    parse_task_file(path, &ctx)
}

pub(crate) fn parse_task_file(path: &Path, ctx: &ParseCtx) -> Result<Vec<Task>> {
    let root = yaml::load_file(path)?;
    let ctx = ParseCtx { dir: path.parent().map(Path::to_path_buf).unwrap_or_default(), ..ctx.clone() };
    match &root.kind {
        Kind::Scalar(Value::Null) => Ok(Vec::new()),
        Kind::Seq(_) => parse_tasks(Some(&root), &ctx),
        _ => Err(OrcError::at(&root.loc, format!("a task file must be a list of tasks, found {}", root.type_name()))),
    }
}

fn parse_task(node: &Node, ctx: &ParseCtx) -> Result<Task> {
    let pairs = node.as_map().ok_or_else(|| {
        OrcError::at(&node.loc, format!("a task must be a mapping, found {}", node.type_name()))
            .help("a task looks like '- name: ...\\n  module: {args}'")
    })?;
    // Find the action: the one key that is not a task keyword.
    let mut action_key: Option<(&String, &Node)> = None;
    for (k, v) in pairs {
        if is_task_keyword(k) || k.starts_with("with_") {
            continue;
        }
        if let Some((prev, _)) = action_key {
            let (bad, bad_node) = if actions::exists(prev) { (k, v) } else { (prev, node.get(prev).unwrap_or(v)) };
            let err = unknown_action(bad, bad_node);
            // Beside a module, the other key is most likely a misspelt task keyword.
            return Err(match suggest(bad, &task_keywords()) {
                Some(s) => err.help(format!("did you mean '{s}'? (a task keyword)")),
                None => {
                    err.help(format!("a task runs one module; '{prev}' and '{k}' are both modules or unknown keywords"))
                }
            });
        }
        action_key = Some((k, v));
    }
    let own = Keywords::parse(node, true)?;
    let kw = ctx.kw.inherit(&own);
    let block = node.get("block");
    let mut task = match (block, action_key) {
        (Some(b), None) => {
            let inner = ParseCtx { kw: kw.clone(), ..ctx.clone() };
            let rescue = parse_tasks(node.get("rescue"), &inner)?;
            let always = parse_tasks(node.get("always"), &inner)?;
            let body = TaskBody::Block { block: parse_tasks(Some(b), &inner)?, rescue, always };
            Task::new(node.loc.clone(), body, kw)
        }
        (Some(_), Some((k, v))) => return Err(unknown_action(k, v).help("a block cannot also run a module")),
        (None, None) => {
            return Err(OrcError::at(&node.loc, "this task has no module")
                .help("add a module such as 'debug: msg=hi' or 'command: uptime'"))
        }
        (None, Some((k, v))) => parse_action(k, v, node, ctx, kw, &own)?,
    };
    for key in ["rescue", "always"] {
        if let (Some(n), None) = (node.get(key), block) {
            return Err(OrcError::at(&n.loc, format!("'{key}' is only valid on a block")));
        }
    }
    apply_keywords(&mut task, node)?;
    task.role = ctx.role.clone();
    task.include_params = ctx.include_params.clone();
    Ok(task)
}

/// The modules of ansible-core 2.19's `ansible.builtin` collection (engine actions included).
const ANSIBLE_BUILTINS: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
];

/// Whether `name` (short, `ansible.builtin.` or `ansible.legacy.`) is an Ansible builtin module
/// orc does not ship.
pub fn is_unshipped_builtin(name: &str) -> bool {
    let short = ["ansible.builtin.", "ansible.legacy."].iter().find_map(|p| name.strip_prefix(p)).unwrap_or(name);
    ANSIBLE_BUILTINS.contains(&short)
        && actions::lookup(name).is_none()
        && orc_modules::registry::lookup(short).is_none()
}

/// The message for an Ansible builtin module orc does not ship, up front and at run time alike.
pub fn unshipped_builtin_msg(name: &str) -> String {
    format!("the module '{name}' is an ansible.builtin module orc does not ship")
}

fn unknown_action(k: &str, v: &Node) -> OrcError {
    if is_unshipped_builtin(k) {
        return OrcError::at(&key_loc(k, v), unshipped_builtin_msg(k))
            .help("`orc doc --list` lists the modules orc ships; a task under `when:` that does not run may name it");
    }
    let mut err = OrcError::at(&key_loc(k, v), format!("unknown module or task keyword '{k}'"));
    if let Some(s) = suggest(k, &actions::all_names()).or_else(|| suggest(k, &task_keywords())) {
        err = err.help(format!("did you mean '{s}'?"));
    } else {
        err = err.help("`orc doc --list` lists the modules orc ships");
    }
    err
}

/// The position of the key `k` whose value is `v`: the key's line is the nearest line at or above
/// the value that starts with `k:`.
fn key_loc(k: &str, v: &Node) -> crate::error::Loc {
    let lines: Vec<&str> = v.loc.file.text.lines().collect();
    let needle = format!("{k}:");
    for line_no in (1..=v.loc.line.min(lines.len())).rev().take(5) {
        if let Some(col) = lines[line_no - 1].find(&needle) {
            return crate::error::Loc { file: v.loc.file.clone(), line: line_no, col: col + 1 };
        }
    }
    v.loc.clone()
}

/// An action's arguments as written: a mapping, a `k=v` string (a command line for command-like
/// modules), a free-form scalar, with `args:` merged under them.
fn action_args(key: &str, short: &str, value: &Node, task: &Node) -> Result<Map<String, Value>> {
    let mut args = match &value.kind {
        Kind::Scalar(Value::Null) => Map::new(),
        Kind::Scalar(Value::String(s)) => super::kv::parse_kv(s, actions::is_command_line(short))
            .map_err(|e| OrcError::at(&value.loc, e).help("close every quote and every {{ }} or {% %} block"))?,
        Kind::Scalar(v) if actions::takes_free_form(short) => {
            let mut m = Map::new();
            m.insert("_raw_params".into(), Value::String(crate::yaml::display(v)));
            m
        }
        Kind::Map(_) => match value.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        _ => {
            return Err(OrcError::at(
                &value.loc,
                format!("arguments of '{key}' must be a mapping or a 'k=v' string, found {}", value.type_name()),
            ))
        }
    };
    if let Some(extra) = task.get("args") {
        match extra.to_value() {
            Value::Object(m) => {
                for (k, v) in m {
                    args.entry(k).or_insert(v);
                }
            }
            _ => return Err(OrcError::at(&extra.loc, "'args:' must be a mapping")),
        }
    }
    Ok(args)
}

/// The short name of a module or engine action as written (short or FQCN).
fn short_of(module: &str) -> String {
    match actions::lookup(module) {
        Some(e) => e.name().to_string(),
        None => orc_modules::registry::short_name(module).to_string(),
    }
}

/// `action:` and `local_action:` as Ansible's `ModArgsParser` reads them: the module is the first
/// word of a string (the rest are its `k=v` arguments, a command line for command-like modules)
/// or the `module` key of a mapping (the other keys are its arguments); `args:` merged under them.
fn action_keyword(key: &str, value: &Node, task: &Node) -> Result<(String, Map<String, Value>)> {
    let bad = |what: &str| {
        OrcError::at(&value.loc, format!("'{key}' {what}")).help(format!(
            "write the module and its arguments, e.g. `{key}: debug msg=hi` or `{key}: {{module: debug, msg: hi}}`"
        ))
    };
    let (module, mut args) = match &value.kind {
        Kind::Scalar(Value::String(s)) => {
            let words = super::kv::split_args(s.trim())
                .map_err(|e| OrcError::at(&value.loc, e).help("close every quote and every {{ }} or {% %} block"))?;
            let Some((first, rest)) = words.split_first() else { return Err(bad("names no module")) };
            let module = first.trim().to_string();
            let rest = super::kv::join_args(rest);
            // A module known only at run time gets its words as `k=v` (Ansible parses them before
            // it knows the module, as it does here).
            let command_line = !module.contains("{{") && actions::is_command_line(&short_of(&module));
            let args = if rest.trim().is_empty() {
                Map::new()
            } else {
                super::kv::parse_kv(&rest, command_line)
                    .map_err(|e| OrcError::at(&value.loc, e).help("close every quote and every {{ }} or {% %} block"))?
            };
            (module, args)
        }
        Kind::Map(_) => {
            let Value::Object(mut m) = value.to_value() else { return Err(bad("must be a string or a mapping")) };
            match m.remove("module") {
                Some(Value::String(module)) => (module, m),
                Some(_) => return Err(bad("has a `module` that is not a string")),
                None => return Err(bad("has no `module` key")),
            }
        }
        _ => return Err(bad(&format!("must be a string or a mapping, found {}", value.type_name()))),
    };
    if let Some(extra) = task.get("args") {
        match extra.to_value() {
            Value::Object(m) => {
                for (k, v) in m {
                    args.entry(k).or_insert(v);
                }
            }
            _ => return Err(OrcError::at(&extra.loc, "'args:' must be a mapping")),
        }
    }
    Ok((module, args))
}

fn parse_action(key: &str, value: &Node, task: &Node, ctx: &ParseCtx, kw: Keywords, own: &Keywords) -> Result<Task> {
    let mut kw = kw;
    let (key, given) = if key == "action" || key == "local_action" {
        let (module, args) = action_keyword(key, value, task)?;
        if key == "local_action" {
            kw.delegate_to = Some(Value::String("localhost".into()));
        }
        if module.contains("{{") || module.contains("{%") {
            // Known per host when the task runs (executor/run_task.rs, `resolve_action`).
            let action = Action { module: module.clone(), short: module, args, loc: value.loc.clone(), engine: None };
            return Ok(Task::new(task.loc.clone(), TaskBody::Action(action), kw));
        }
        (module, Some(args))
    } else {
        (key.to_string(), None)
    };
    let key = key.as_str();
    let engine = actions::lookup(key);
    let short = short_of(key);
    if engine.is_none() && orc_modules::registry::lookup(&short).is_none() {
        // An Ansible builtin orc does not ship is refused up front when the task would run
        // unconditionally; under `when:` (its own or inherited) it fails only if it runs, as a
        // task skipped on this platform (`dnf5` on Debian) must not stop the whole run.
        if !is_unshipped_builtin(key) || kw.when.is_empty() {
            return Err(unknown_action(key, value));
        }
    }
    let args = match given {
        Some(args) => args,
        None => action_args(key, &short, value, task)?,
    };
    if let Some(e) = engine.filter(|e| e.runs() == actions::Runs::Compile) {
        // Includes and imports are compiled here: their arguments must be right now.
        if let Err((arg, msg)) = actions::check_args(e, &args) {
            let loc = arg.and_then(|a| find_key(&value.loc, &a)).unwrap_or_else(|| value.loc.clone());
            return Err(OrcError::at(&loc, msg));
        }
        return compile_include(e.name(), &args, value, task, ctx, kw, own);
    }
    let action = Action { module: key.to_string(), short, args, loc: value.loc.clone(), engine };
    Ok(Task::new(task.loc.clone(), TaskBody::Action(action), kw))
}

/// Where `name:` or `name=` is written, from `base` on.
fn find_key(base: &crate::error::Loc, name: &str) -> Option<crate::error::Loc> {
    for (i, line) in base.file.text.lines().enumerate().skip(base.line.saturating_sub(1)).take(30) {
        for needle in [format!("{name}:"), format!("{name}=")] {
            if let Some(col) = line.find(&needle) {
                return Some(crate::error::Loc { file: base.file.clone(), line: i + 1, col: col + 1 });
            }
        }
    }
    None
}

/// `import_tasks`/`import_role` become blocks of the tasks they name; `include_tasks` and
/// `include_role` become includes compiled when they run.
fn compile_include(
    name: &str,
    args: &Map<String, Value>,
    value: &Node,
    task: &Node,
    ctx: &ParseCtx,
    kw: Keywords,
    own: &Keywords,
) -> Result<Task> {
    let text = |k: &str| args.get(k).map(crate::yaml::display);
    // What the included tasks inherit: the include's parent's keywords and `apply:`; the
    // include's vars are include parameters.
    let apply = match value.get("apply") {
        Some(n) => Keywords::parse(n, true)?,
        None => Keywords::default(),
    };
    let inherit = ctx.kw.inherit(&apply);
    let notify = string_list(value.get("apply").and_then(|a| a.get("notify")))?;
    let params = own.merged_vars();
    match name {
        "import_tasks" | "include_tasks" => {
            let file = text("file").or_else(|| text("_raw_params")).unwrap_or_default();
            if name == "include_tasks" {
                let include = Include {
                    target: IncludeTarget::Tasks { file },
                    base: ctx.dir.clone(),
                    inherit,
                    params,
                    role: ctx.role.clone(),
                    notify: notify.clone(),
                };
                return Ok(Task::new(task.loc.clone(), TaskBody::Include(Box::new(include)), kw));
            }
            // What is known when the playbook is read: the role's and the playbook's directories.
            let file = static_paths(&file, ctx);
            if file.contains("{{") {
                return Err(OrcError::at(&value.loc, "import_tasks cannot use a templated file name")
                    .help("use include_tasks for dynamic file names"));
            }
            let role_path = ctx.role.as_ref().map(|r| r.path.as_path());
            let path = search::task_file(&file, &ctx.dir, role_path, &ctx.play_dir);
            if !path.exists() {
                return Err(OrcError::at(&value.loc, format!("task file {} does not exist", path.display())));
            }
            if ctx.depth > 30 {
                return Err(OrcError::at(
                    &value.loc,
                    "import_tasks nests more than 30 levels; is a file importing itself?",
                ));
            }
            let sub = ParseCtx { depth: ctx.depth + 1, kw: kw.clone(), ..ctx.clone() };
            let tasks = parse_task_file(&path, &sub)?;
            let mut block =
                Task::new(task.loc.clone(), TaskBody::Block { block: tasks, rescue: vec![], always: vec![] }, kw);
            block.imported_tasks = true;
            Ok(block)
        }
        _ => {
            let role = text("name").unwrap_or_default();
            let files = RoleFiles {
                tasks: text("tasks_from"),
                vars: text("vars_from"),
                defaults: text("defaults_from"),
                handlers: text("handlers_from"),
                skip_validation: args
                    .get("rolespec_validate")
                    .is_some_and(|v| orc_modules::args::parse_bool(v) == Some(false)),
            };
            if name == "include_role" {
                let public = args.get("public").cloned();
                if let Some(p) = public.as_ref().filter(|p| !crate::yaml::display(p).contains("{{")) {
                    public_value(p).map_err(|e| OrcError::at(&value.loc, e).help("give public: true or false"))?;
                }
                let include = Include {
                    target: IncludeTarget::Role { name: role, files, public },
                    base: ctx.play_dir.clone(),
                    inherit,
                    params,
                    role: ctx.role.clone(),
                    notify: notify.clone(),
                };
                return Ok(Task::new(task.loc.clone(), TaskBody::Include(Box::new(include)), kw));
            }
            // An import is part of the play: its keywords apply to the role's tasks, its vars as
            // block vars (below set_fact, unlike include_role's parameters), as in Ansible.
            let spec = RoleSpec {
                name: role,
                params: Map::new(),
                loc: value.loc.clone(),
                kw: Keywords::default(),
                files,
                given: Map::new(),
            };
            let params = super::roles::include_role_params(ctx.role.as_deref(), ctx.include_params.as_deref());
            let parents = ctx.role.as_ref().map(|r| r.chain()).unwrap_or_default();
            let expanded = expand_roles(std::slice::from_ref(&spec), &ctx.play_dir, &kw, params, parents)?;
            let mut blocks = expanded.blocks;
            let mut block = if blocks.len() == 1 {
                blocks.remove(0)
            } else {
                Task::new(task.loc.clone(), TaskBody::Block { block: blocks, rescue: vec![], always: vec![] }, kw)
            };
            block.imported_handlers = expanded.handlers;
            let public = public_option(args, value)?;
            let mut names = expanded.names;
            if !crate::config::role_is_public(public, true) {
                block.private_roles = std::mem::take(&mut names.roles);
            }
            block.imported_roles = names;
            Ok(block)
        }
    }
}

/// Reads the task-only keywords (name, register, notify, loops, changed_when...) onto `task`;
/// the inherited ones were merged into `task.kw` already.
fn apply_keywords(task: &mut Task, node: &Node) -> Result<()> {
    let get = |k: &str| node.get(k);
    // `name:` left empty is no name, as in Ansible (the action names the task).
    task.name = get("name").filter(|n| !matches!(n.kind, Kind::Scalar(Value::Null))).map(scalar_string).transpose()?;
    task.register = get("register").map(scalar_string).transpose()?;
    task.notify = string_list(get("notify"))?;
    task.listen = string_list(get("listen"))?;
    task.changed_when = get("changed_when").map(|n| conditions(Some(n)));
    task.failed_when = get("failed_when").map(|n| conditions(Some(n)));
    task.until = get("until").map(|n| conditions(Some(n)));
    task.retries = get("retries").map(Node::to_value);
    task.delay = get("delay").map(Node::to_value);
    task.r#async = get("async").map(Node::to_value);
    task.poll = get("poll").map(Node::to_value);
    if let Some(lc) = get("loop_control") {
        task.loop_control = match lc.to_value() {
            Value::Object(m) => m,
            _ => {
                return Err(OrcError::at(
                    &lc.loc,
                    "'loop_control:' must be a mapping (loop_var, index_var, label, pause, extended)",
                ))
            }
        };
        for k in task.loop_control.keys() {
            if !["loop_var", "index_var", "label", "pause", "extended", "extended_allitems", "break_when"]
                .contains(&k.as_str())
            {
                return Err(OrcError::at(&lc.loc, format!("'{k}' is not a valid loop_control option"))
                    .help("valid options: loop_var, index_var, label, pause, extended"));
            }
        }
    }
    let mut loops = Vec::new();
    for (k, v) in node.as_map().unwrap_or_default() {
        let spec = match k.as_str() {
            "loop" => LoopSpec::Loop(v.to_value()),
            "with_items" => LoopSpec::WithItems(v.to_value()),
            "with_list" => LoopSpec::WithList(v.to_value()),
            "with_dict" => LoopSpec::WithDict(v.to_value()),
            "with_fileglob" => LoopSpec::WithFileglob(v.to_value()),
            "with_sequence" => LoopSpec::WithSequence(v.to_value()),
            other if other.starts_with("with_") => {
                let plugin = &other["with_".len()..];
                if !crate::template::LOOKUP_PLUGINS.contains(&plugin) {
                    return Err(OrcError::at(
                        &v.loc,
                        format!("'{other}' is not supported: orc has no lookup plugin '{plugin}'"),
                    )
                    .help(format!("with_<lookup> works for: {}", crate::template::LOOKUP_PLUGINS.join(", "))));
                }
                LoopSpec::WithLookup(plugin.to_string(), v.to_value())
            }
            _ => continue,
        };
        loops.push((spec, v.loc.clone()));
    }
    if loops.len() > 1 {
        return Err(OrcError::at(&loops[1].1, "a task can have only one loop (loop or one with_*)"));
    }
    task.loop_spec = loops.pop().map(|(s, _)| s);
    if matches!(task.body, TaskBody::Block { .. }) {
        for k in ["loop", "register", "until"] {
            if let Some(n) = get(k) {
                return Err(OrcError::at(&n.loc, format!("'{k}' is not valid on a block")));
            }
        }
        // A block's (or an import's) `notify` is its tasks' when they name none, as Ansible's
        // tasks inherit it from their parent block.
        let notify = std::mem::take(&mut task.notify);
        if !notify.is_empty() {
            inherit_notify(&mut task.body, &notify);
        }
    }
    Ok(())
}

/// Gives `notify` to every task under `body` that has none of its own.
fn inherit_notify(body: &mut TaskBody, notify: &[String]) {
    if let TaskBody::Block { block, rescue, always } = body {
        for list in [block, rescue, always] {
            inherit_notify_tasks(list, notify);
        }
    }
}

/// Gives `notify` to every task of `tasks` (blocks opened) that has none of its own: a block's
/// or an include's `apply:` notify, as Ansible's tasks inherit it from their parent.
pub fn inherit_notify_tasks(tasks: &mut [Task], notify: &[String]) {
    if notify.is_empty() {
        return;
    }
    for t in tasks {
        if matches!(t.body, TaskBody::Block { .. }) {
            inherit_notify(&mut t.body, notify);
        } else if t.notify.is_empty() {
            t.notify = notify.to_vec();
        }
    }
}

/// `{{ role_path }}` and `{{ playbook_dir }}` in an import's file name replaced by what they are
/// when the playbook is read (Ansible templates static imports with the variables known then).
fn static_paths(file: &str, ctx: &ParseCtx) -> String {
    let re = regex::Regex::new(r"\{\{\s*(role_path|playbook_dir)\s*\}\}").ok();
    let Some(re) = re else { return file.to_string() };
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
    re.replace_all(file, |c: &regex::Captures| match &c[1] {
        "role_path" => match &ctx.role {
            Some(r) => absolute(&r.path),
            None => c[0].to_string(),
        },
        _ => absolute(&ctx.play_dir),
    })
    .into_owned()
}

pub(crate) fn scalar_string(n: &Node) -> Result<String> {
    match &n.kind {
        Kind::Scalar(Value::String(s)) => Ok(s.clone()),
        Kind::Scalar(v @ (Value::Number(_) | Value::Bool(_))) => Ok(crate::yaml::display(v)),
        _ => Err(OrcError::at(&n.loc, format!("expected a string here, found {}", n.type_name()))),
    }
}

pub(crate) fn string_list(n: Option<&Node>) -> Result<Vec<String>> {
    let Some(n) = n else { return Ok(Vec::new()) };
    match &n.kind {
        Kind::Scalar(Value::Null) => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(scalar_string).collect(),
        Kind::Scalar(Value::String(s)) => {
            Ok(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        }
        _ => Ok(vec![scalar_string(n)?]),
    }
}

pub(crate) fn opt_bool(n: Option<&Node>) -> Result<Option<bool>> {
    let Some(n) = n else { return Ok(None) };
    let v = n.to_value();
    if v.is_null() {
        return Ok(None);
    }
    orc_modules::args::parse_bool(&v).map(Some).ok_or_else(|| {
        OrcError::at(&n.loc, format!("expected a boolean, found {}", n.type_name())).help("use true/false or yes/no")
    })
}

pub(crate) fn opt_map(n: Option<&Node>, what: &str) -> Result<Map<String, Value>> {
    let Some(n) = n else { return Ok(Map::new()) };
    match n.to_value() {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(OrcError::at(
            &n.loc,
            format!("'{what}:' must be a mapping of names to values, found {}", n.type_name()),
        )),
    }
}

pub(crate) use crate::suggest::suggest;
