//! From YAML nodes to plays and tasks, with every mistake reported at its file:line:col.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::roles::{expand_roles, RoleSpec};
use super::task::{Action, LoopSpec, Task, TaskBody};
use super::{Play, Playbook, RoleRef};
use crate::error::{OrcError, Result};
use crate::executor::actions;
use crate::yaml::{self, Kind, Node};

/// Keywords a play may carry.
const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "become",
    "become_user",
    "become_method",
    "connection",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "rollback",
    "handlers",
    "tags",
    "serial",
    "strategy",
    "any_errors_fatal",
    "max_fail_percentage",
    "ignore_errors",
    "check_mode",
    "diff",
    "force_handlers",
    "remote_user",
    "environment",
    "order",
    "collections",
    "module_defaults",
    "no_log",
    "port",
    "timeout",
    "throttle",
    "run_once",
    "debugger",
    "ignore_unreachable",
    "fact_path",
    "gather_timeout",
];

/// Keywords a task (or block) may carry besides its action.
const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "check_mode",
    "diff",
    "no_log",
    "until",
    "retries",
    "delay",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "environment",
    "any_errors_fatal",
    "throttle",
    "args",
    "block",
    "rescue",
    "always",
    "collections",
    "module_defaults",
    "debugger",
    "timeout",
    "connection",
    "remote_user",
    "port",
    "async",
    "poll",
];

/// Context of the file being parsed: where relative paths resolve and which role owns the tasks.
#[derive(Clone)]
pub(crate) struct ParseCtx {
    /// Directory relative to which `import_tasks` files resolve.
    pub dir: PathBuf,
    /// Playbook directory (roles are searched from here).
    pub play_dir: PathBuf,
    /// Role owning the tasks being parsed.
    pub role: Option<RoleRef>,
    /// Import depth, to stop recursive imports.
    pub depth: usize,
}

/// Loads a playbook file, resolving `import_playbook` recursively.
pub fn load_playbook(path: &Path) -> Result<Playbook> {
    let mut plays = Vec::new();
    load_into(path, &mut plays, 0)?;
    if plays.is_empty() {
        let text = OrcError::read(path)?;
        let loc = crate::error::Loc::file_start(crate::error::SourceFile::new(path, text));
        return Err(OrcError::at(&loc, "empty playbook, nothing to do")
            .help("a playbook is a list of plays: '- hosts: all\n  tasks: [...]'"));
    }
    Ok(Playbook { path: path.to_path_buf(), plays })
}

fn load_into(path: &Path, plays: &mut Vec<Play>, depth: usize) -> Result<()> {
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
        let imp = item.get("import_playbook").or_else(|| item.get("ansible.builtin.import_playbook"));
        if let Some(imp) = imp {
            let file = scalar_string(imp)?;
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
            load_into(&target, plays, depth + 1)?;
            continue;
        }
        plays.push(parse_play(item, &dir)?);
    }
    Ok(())
}

fn parse_play(node: &Node, dir: &Path) -> Result<Play> {
    let pairs = node.as_map().ok_or_else(|| {
        OrcError::at(&node.loc, format!("a play must be a mapping, found {}", node.type_name()))
            .help("a play looks like '- hosts: all\\n  tasks: [...]'")
    })?;
    for (k, v) in pairs {
        if !PLAY_KEYWORDS.contains(&k.as_str()) {
            let mut err = OrcError::at(&v.loc, format!("'{k}' is not a valid play keyword"));
            if let Some(s) = suggest(k, PLAY_KEYWORDS) {
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
    let ctx = ParseCtx { dir: dir.to_path_buf(), play_dir: dir.to_path_buf(), role: None, depth: 0 };
    let name = match node.get("name") {
        Some(n) => scalar_string(n)?,
        None => hosts.clone(),
    };
    let mut play = Play {
        name,
        hosts,
        hosts_loc: hosts_node.loc.clone(),
        loc: node.loc.clone(),
        dir: dir.to_path_buf(),
        vars: opt_map(node.get("vars"), "vars")?,
        vars_files: Vec::new(),
        gather_facts: opt_bool(node.get("gather_facts"))?.unwrap_or(true),
        r#become: opt_bool(node.get("become"))?,
        become_user: node.get("become_user").map(scalar_string).transpose()?,
        connection: node.get("connection").map(scalar_string).transpose()?,
        pre_tasks: parse_tasks(node.get("pre_tasks"), &ctx)?,
        roles: Vec::new(),
        tasks: parse_tasks(node.get("tasks"), &ctx)?,
        post_tasks: parse_tasks(node.get("post_tasks"), &ctx)?,
        rollback: parse_tasks(node.get("rollback"), &ctx)?,
        handlers: parse_tasks(node.get("handlers"), &ctx)?,
        tags: string_list(node.get("tags"))?,
        serial: node.get("serial").map(Node::to_value),
        strategy: node.get("strategy").map(scalar_string).transpose()?.unwrap_or_else(|| "linear".into()),
        any_errors_fatal: opt_bool(node.get("any_errors_fatal"))?.unwrap_or(false),
        max_fail_percentage: node.get("max_fail_percentage").and_then(|n| n.to_value().as_f64()),
        ignore_errors: opt_bool(node.get("ignore_errors"))?,
        check_mode: opt_bool(node.get("check_mode"))?,
        diff: opt_bool(node.get("diff"))?,
        force_handlers: opt_bool(node.get("force_handlers"))?.unwrap_or(false),
        order: node.get("order").map(scalar_string).transpose()?,
    };
    if let Some(vf) = node.get("vars_files") {
        let items: Vec<&Node> = match &vf.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![vf],
        };
        for item in items {
            play.vars_files.push((scalar_string(item)?, item.loc.clone()));
        }
    }
    if let Some(roles) = node.get("roles") {
        let specs = roles
            .as_seq()
            .ok_or_else(|| OrcError::at(&roles.loc, "'roles:' must be a list of role names or mappings"))?
            .iter()
            .map(RoleSpec::from_node)
            .collect::<Result<Vec<_>>>()?;
        let (blocks, handlers) = expand_roles(&specs, dir)?;
        play.roles = blocks;
        play.handlers.extend(handlers);
    }
    // Handlers of roles imported with import_role anywhere in the play join the play's handlers.
    let mut imported = Vec::new();
    for section in [&play.pre_tasks, &play.tasks, &play.post_tasks, &play.rollback, &play.handlers] {
        collect_imported_handlers(section, &mut imported);
    }
    play.handlers.extend(imported);
    Ok(play)
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

/// Loads a file of tasks (import_tasks, include_tasks, role tasks/main.yml).
pub fn parse_task_list_file(path: &Path, role: Option<RoleRef>, play_dir: &Path) -> Result<Vec<Task>> {
    let ctx = ParseCtx {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        play_dir: play_dir.to_path_buf(),
        role,
        depth: 0,
    };
    parse_task_file(path, &ctx)
}

fn parse_task_file(path: &Path, ctx: &ParseCtx) -> Result<Vec<Task>> {
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
        if TASK_KEYWORDS.contains(&k.as_str()) || k.starts_with("with_") {
            continue;
        }
        if let Some((prev, _)) = action_key {
            let (bad, bad_node) = if actions::exists(prev) { (k, v) } else { (prev, node.get(prev).unwrap_or(v)) };
            let err = unknown_action(bad, bad_node);
            // Beside a module, the other key is most likely a misspelt task keyword.
            return Err(match suggest(bad, TASK_KEYWORDS) {
                Some(s) => err.help(format!("did you mean '{s}'? (a task keyword)")),
                None => {
                    err.help(format!("a task runs one module; '{prev}' and '{k}' are both modules or unknown keywords"))
                }
            });
        }
        action_key = Some((k, v));
    }
    let block = node.get("block");
    let mut task = match (block, action_key) {
        (Some(b), None) => {
            let rescue = parse_tasks(node.get("rescue"), ctx)?;
            let always = parse_tasks(node.get("always"), ctx)?;
            Task::new(node.loc.clone(), TaskBody::Block { block: parse_tasks(Some(b), ctx)?, rescue, always })
        }
        (Some(_), Some((k, v))) => return Err(unknown_action(k, v).help("a block cannot also run a module")),
        (None, None) => {
            return Err(OrcError::at(&node.loc, "this task has no module")
                .help("add a module such as 'debug: msg=hi' or 'command: uptime'"))
        }
        (None, Some((k, v))) => parse_action(k, v, node, ctx)?,
    };
    for key in ["rescue", "always"] {
        if let (Some(n), None) = (node.get(key), block) {
            return Err(OrcError::at(&n.loc, format!("'{key}' is only valid on a block")));
        }
    }
    apply_keywords(&mut task, node)?;
    task.role = ctx.role.clone();
    Ok(task)
}

fn unknown_action(k: &str, v: &Node) -> OrcError {
    let mut err = OrcError::at(&key_loc(k, v), format!("unknown module or task keyword '{k}'"));
    if let Some(s) = suggest(k, &actions::all_names()).or_else(|| suggest(k, TASK_KEYWORDS)) {
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

fn parse_action(key: &str, value: &Node, task: &Node, ctx: &ParseCtx) -> Result<Task> {
    let short = orc_modules::registry::short_name(key).to_string();
    // Static includes and imports.
    match short.as_str() {
        "import_tasks" | "include_tasks" | "include" => {
            let file = match value.get("file") {
                Some(f) => scalar_string(f)?,
                None => scalar_string(value)?,
            };
            if short == "import_tasks" {
                if file.contains("{{") {
                    return Err(OrcError::at(&value.loc, "import_tasks cannot use a templated file name")
                        .help("use include_tasks for dynamic file names"));
                }
                let path = resolve_task_file(&file, ctx);
                if !path.exists() {
                    return Err(OrcError::at(&value.loc, format!("task file {} does not exist", path.display())));
                }
                if ctx.depth > 30 {
                    return Err(OrcError::at(
                        &value.loc,
                        "import_tasks nests more than 30 levels; is a file importing itself?",
                    ));
                }
                let sub = ParseCtx { depth: ctx.depth + 1, ..ctx.clone() };
                let tasks = parse_task_file(&path, &sub)?;
                return Ok(Task::new(
                    task.loc.clone(),
                    TaskBody::Block { block: tasks, rescue: vec![], always: vec![] },
                ));
            }
            return Ok(Task::new(task.loc.clone(), TaskBody::IncludeTasks { file, base: ctx.dir.clone() }));
        }
        "import_role" | "include_role" => {
            let name = value
                .get("name")
                .map(scalar_string)
                .transpose()?
                .ok_or_else(|| OrcError::at(&value.loc, format!("{short} needs 'name:'")))?;
            let tasks_from = value.get("tasks_from").map(scalar_string).transpose()?;
            if short == "import_role" {
                let spec = RoleSpec {
                    name,
                    params: Map::new(),
                    loc: value.loc.clone(),
                    tags: vec![],
                    when: vec![],
                    tasks_from,
                };
                let (mut blocks, handlers) = expand_roles(std::slice::from_ref(&spec), &ctx.play_dir)?;
                let mut block = if blocks.len() == 1 {
                    blocks.remove(0)
                } else {
                    Task::new(task.loc.clone(), TaskBody::Block { block: blocks, rescue: vec![], always: vec![] })
                };
                block.imported_handlers = handlers;
                return Ok(block);
            }
            return Ok(Task::new(
                task.loc.clone(),
                TaskBody::IncludeRole { name, tasks_from, base: ctx.play_dir.clone() },
            ));
        }
        _ => {}
    }
    if !actions::exists(&short) {
        return Err(unknown_action(key, value));
    }
    let mut args = match &value.kind {
        Kind::Scalar(Value::Null) => Map::new(),
        Kind::Scalar(Value::String(s)) => super::kv::parse_kv(s, actions::is_command_line(&short))
            .map_err(|e| OrcError::at(&value.loc, e).help("close every quote and every {{ }} or {% %} block"))?,
        Kind::Scalar(v) if actions::takes_free_form(&short) => {
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
    let action = Action { module: key.to_string(), short, args, loc: value.loc.clone() };
    Ok(Task::new(task.loc.clone(), TaskBody::Action(action)))
}

fn resolve_task_file(file: &str, ctx: &ParseCtx) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut cands = vec![ctx.dir.join(file)];
    if let Some(r) = &ctx.role {
        cands.push(r.path.join("tasks").join(file));
    }
    cands.push(ctx.play_dir.join(file));
    cands.iter().find(|c| c.exists()).cloned().unwrap_or_else(|| ctx.dir.join(file))
}

fn apply_keywords(task: &mut Task, node: &Node) -> Result<()> {
    let get = |k: &str| node.get(k);
    task.name = get("name").map(scalar_string).transpose()?;
    task.when = conditions(get("when"));
    task.register = get("register").map(scalar_string).transpose()?;
    task.notify = string_list(get("notify"))?;
    task.listen = string_list(get("listen"))?;
    task.changed_when = get("changed_when").map(|n| conditions(Some(n)));
    task.failed_when = get("failed_when").map(|n| conditions(Some(n)));
    task.until = get("until").map(|n| conditions(Some(n)));
    task.ignore_errors = get("ignore_errors").map(Node::to_value);
    task.ignore_unreachable = opt_bool(get("ignore_unreachable"))?;
    task.tags = string_list(get("tags"))?;
    task.vars = opt_map(get("vars"), "vars")?;
    task.r#become = opt_bool(get("become"))?;
    task.become_user = get("become_user").map(scalar_string).transpose()?;
    task.check_mode = opt_bool(get("check_mode"))?;
    task.diff = opt_bool(get("diff"))?;
    task.no_log = opt_bool(get("no_log"))?;
    task.retries = get("retries").map(Node::to_value);
    task.delay = get("delay").map(Node::to_value);
    task.delegate_to = get("delegate_to").map(scalar_string).transpose()?;
    task.delegate_facts = opt_bool(get("delegate_facts"))?.unwrap_or(false);
    task.run_once = opt_bool(get("run_once"))?.unwrap_or(false);
    task.environment = get("environment").map(Node::to_value);
    task.any_errors_fatal = opt_bool(get("any_errors_fatal"))?;
    task.throttle = get("throttle").and_then(|n| n.to_value().as_u64());
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
                return Err(OrcError::at(&v.loc, format!("'{other}' is not supported"))
                    .help("use 'loop:' with a filter, or with_items/with_list/with_dict/with_fileglob/with_sequence"))
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
        for k in ["loop", "register", "notify", "until"] {
            if let Some(n) = get(k) {
                return Err(OrcError::at(&n.loc, format!("'{k}' is not valid on a block")));
            }
        }
    }
    Ok(())
}

/// `when:`-style conditions: a string, a bool, or a list of them.
fn conditions(node: Option<&Node>) -> Vec<Value> {
    match node.map(Node::to_value) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(v) => vec![v],
    }
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
