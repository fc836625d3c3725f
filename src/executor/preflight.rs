//! Checks made before anything runs, so that invalid input changes nothing: host patterns,
//! module names and arguments, template syntax, templates and files that do not exist, and
//! variables that no source defines.

use std::collections::HashSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::actions::{self, Defines};
use super::guards::guarded_names;
use super::Options;
use crate::error::{Loc, OrcError, Result};
use crate::inventory::Inventory;
use crate::playbook::{Include, IncludeTarget, Play, Playbook, Task, TaskBody};
use crate::template::Templar;
use crate::vars::has_template;

/// Validates everything that can be validated without running; the first problem is returned.
pub fn preflight(playbooks: &[Playbook], inventory: &Inventory, opts: &Options) -> Result<()> {
    if let Some(want) = &opts.start_at_task {
        check_start_at_task(playbooks, want)?;
    }
    let templar = Templar::new();
    // add_host and group_by make hosts and groups while the run goes on (also from a file a
    // dynamic include brings in): a later play's pattern may match only those, so it is not
    // checked against the inventory up front (a play that matches nothing is then skipped at
    // run time, as in Ansible).
    let grows_inventory = playbooks.iter().flat_map(|pb| &pb.plays).any(|play| {
        let mut tasks = play.all_tasks();
        crate::playbook::flatten(&play.handlers, &mut tasks);
        tasks.iter().any(|t| match &t.body {
            TaskBody::Action(a) => matches!(a.short.as_str(), "add_host" | "group_by"),
            TaskBody::Include(_) => true,
            TaskBody::Block { .. } => false,
        })
    });
    let named = named_by_tasks(playbooks);
    for pb in playbooks {
        // A syntax check has no inventory to define variables: undefined names are not checked.
        let defined = if opts.syntax_check { None } else { defined_names(pb, inventory, opts, &templar) };
        for play in &pb.plays {
            if !opts.syntax_check {
                let pattern = super::play_hosts::pattern(play, opts)?;
                match inventory.select(&pattern) {
                    Ok(hosts) => {
                        if let Some(limit) = &opts.limit {
                            inventory.limit(hosts, limit)?;
                        }
                    }
                    Err(_) if grows_inventory => {}
                    Err(e) => return Err(e.or_at(&play.hosts_loc)),
                }
            }
            if let Some(order) = super::play_hosts::order(play, opts)? {
                if !matches!(
                    order.as_str(),
                    "inventory" | "sorted" | "reverse_sorted" | "reverse_inventory" | "shuffle"
                ) {
                    return Err(OrcError::at(
                        &play.loc,
                        format!("Invalid 'order' specified for inventory hosts: {order}"),
                    )
                    .help("order is one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle"));
                }
            }
            for (files, loc) in &play.vars_files {
                // A list of alternatives is resolved when the play runs.
                let [file] = files.as_slice() else { continue };
                if file.contains("{{") {
                    continue;
                }
                let path = play.vars_file(file).map_err(|searched| {
                    let searched: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
                    OrcError::at(loc, format!("vars file {file} does not exist (searched {})", searched.join(", ")))
                })?;
                // The run loads it the same way: a file it could not use is an error now.
                crate::inventory::load_vars_file(&path)?;
            }
            let mut tasks = play.all_tasks();
            crate::playbook::flatten(&play.handlers, &mut tasks);
            for t in tasks {
                check_task(t, play, &defined, &named)?;
            }
            if !opts.missing_handler_warns {
                check_notifications(play)?;
            }
        }
    }
    Ok(())
}

/// `--start-at-task` must name a task of the playbooks (their roles and static imports included),
/// or the run would do nothing and succeed: Ansible stops with "No matching task" too.
fn check_start_at_task(playbooks: &[Playbook], want: &str) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for pb in playbooks {
        for play in &pb.plays {
            for t in play.all_tasks().into_iter().filter(|t| !matches!(t.body, TaskBody::Block { .. })) {
                if super::play::starts_here(t, want) {
                    return Ok(());
                }
                names.push(t.display_name());
            }
        }
    }
    let mut err = OrcError::input(format!(
        "No matching task \"{want}\" found. Note: --start-at-task can only follow static includes."
    ));
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    err = match crate::suggest::suggest(want, &refs) {
        Some(s) => {
            err.help(format!("did you mean \"{s}\"? (names match exactly, or as a shell pattern like \"Install *\")"))
        }
        None => err.help("give a task's name exactly, or a shell pattern like \"Install *\"; --list-tasks lists them"),
    };
    Err(err)
}

/// Every literal `notify:` name must select a handler of the play (by name or listen topic), as
/// Ansible requires at run time ("The requested handler ... was not found"): found here, before
/// anything ran. A play that includes roles at run time may gain handlers, so it is not checked.
fn check_notifications(play: &Play) -> Result<()> {
    let mut tasks = play.all_tasks();
    crate::playbook::flatten(&play.handlers, &mut tasks);
    let includes_role =
        |t: &&Task| matches!(&t.body, TaskBody::Include(i) if matches!(i.target, IncludeTarget::Role { .. }));
    // A templated handler name is known only when the play runs.
    let templated = |h: &Task| h.name.as_deref().is_some_and(|n| n.contains("{{") || n.contains("{%"));
    if tasks.iter().any(includes_role) || play.handlers.iter().any(templated) {
        return Ok(());
    }
    for t in tasks {
        for name in t.notify.iter().filter(|n| !n.contains("{{") && !n.contains("{%")) {
            if !super::play::handlers_for(&play.handlers, name).is_empty() {
                continue;
            }
            let loc = find_in_lines(&t.loc, name, 0).unwrap_or_else(|| t.loc.clone());
            let mut known: Vec<String> = play.handlers.iter().filter_map(|h| h.name.clone()).collect();
            known.extend(play.handlers.iter().flat_map(|h| h.listen.iter().cloned()));
            known.sort();
            known.dedup();
            let mut err = OrcError::at(
                &loc,
                format!("The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"),
            );
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            err = match crate::suggest::suggest(name, &refs) {
                Some(s) => err.help(format!("did you mean '{s}'?")),
                None if known.is_empty() => err.help("this play defines no handlers; add them under 'handlers:'"),
                None => err.help(format!("the play's handlers and topics are: {}", known.join(", "))),
            };
            return Err(err);
        }
    }
    Ok(())
}

/// Every name some source may define: the engine's magic variables and the template globals,
/// inventory, extra vars, play and role vars, vars files, prompts, registers, loop variables,
/// include parameters and what engine actions define (`EngineAction::defines`). `None` when
/// something defines names only known at run time (an include, include_vars, a templated
/// set_fact key), which turns the undefined check off.
fn defined_names(pb: &Playbook, inventory: &Inventory, opts: &Options, templar: &Templar) -> Option<HashSet<String>> {
    let mut names: HashSet<String> = super::magic::NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(templar.globals());
    names.extend(opts.extra_vars.keys().cloned());
    for h in inventory.hosts() {
        names.extend(inventory.host_vars(&h).keys().cloned());
    }
    names.extend(inventory.host_vars("localhost").keys().cloned());
    let mut dynamic = false;
    for play in &pb.plays {
        names.extend(play.vars.keys().cloned());
        names.extend(play.vars_prompt.iter().map(|p| p.name.clone()));
        for (files, _) in &play.vars_files {
            if files.len() != 1 || files.iter().any(|f| f.contains("{{")) {
                dynamic = true;
                continue;
            }
            if let Some(Ok(Some(m))) = play.vars_file(&files[0]).ok().map(|p| crate::inventory::load_vars_file(&p)) {
                names.extend(m.keys().cloned());
            }
        }
        for r in play.role_refs.iter().chain(&play.private_role_refs) {
            names.extend(r.defaults.keys().cloned());
            names.extend(r.vars.keys().cloned());
        }
        let mut tasks = play.all_tasks();
        crate::playbook::flatten(&play.handlers, &mut tasks);
        for t in tasks {
            collect_names(t, &mut names, &mut dynamic);
        }
    }
    if dynamic {
        None
    } else {
        Some(names)
    }
}

/// The names one task defines for later ones.
fn collect_names(t: &Task, names: &mut HashSet<String>, dynamic: &mut bool) {
    for layer in &t.kw.vars {
        names.extend(layer.keys().cloned());
    }
    if let Some(p) = &t.include_params {
        names.extend(p.keys().cloned());
    }
    if let Some(r) = &t.register {
        names.insert(r.clone());
    }
    for k in ["loop_var", "index_var"] {
        if let Some(Value::String(v)) = t.loop_control.get(k) {
            names.insert(v.clone());
        }
    }
    if let Some(r) = &t.role {
        names.extend(r.defaults.keys().cloned());
        names.extend(r.vars.keys().cloned());
        names.extend(r.params.keys().cloned());
    }
    let defines = match &t.body {
        TaskBody::Action(a) => a.engine.map(|e| e.defines(&a.args)),
        TaskBody::Include(inc) => {
            names.extend(inc.params.keys().cloned());
            actions::lookup(include_action(inc)).map(|e| e.defines(&Map::new()))
        }
        TaskBody::Block { .. } => None,
    };
    match defines {
        Some(Defines::Names(n)) => names.extend(n),
        Some(Defines::Unknown) => *dynamic = true,
        None => {}
    }
}

/// The engine action an include is.
fn include_action(inc: &Include) -> &'static str {
    match inc.target {
        IncludeTarget::Tasks { .. } => "include_tasks",
        IncludeTarget::Role { .. } => "include_role",
    }
}

/// Checks one task (blocks' children are checked on their own): its action's arguments, the
/// files it names, its templates.
fn check_task(t: &Task, play: &Play, defined: &Option<HashSet<String>>, named: &[String]) -> Result<()> {
    // The variables the task's conditions (its own and its blocks', merged into it) test for:
    // when they hold those are defined, and when they do not, nothing is rendered.
    let mut guards = HashSet::new();
    for c in &t.kw.when {
        if let Value::String(s) = c {
            guards.extend(guarded_names(s.trim().trim_start_matches("{{").trim_end_matches("}}"), true));
        }
    }
    // A task that says `ignore_errors: true` may fail on purpose (a wrong argument or an
    // undefined variable included): it is checked when it runs, as in Ansible.
    let ignores_errors = t.kw.ignore_errors.as_ref().and_then(orc_modules::args::parse_bool) == Some(true);
    if let TaskBody::Action(a) = &t.body {
        if !ignores_errors {
            match a.engine {
                Some(engine) => check_action_args(engine, a)?,
                None => {
                    if let Some(a) = with_module_defaults(t, a) {
                        check_module_args(&a, !t.kw.when.is_empty())?;
                    }
                }
            }
            check_src_exists(a, &super::run_task::search_path(t, &play.dir), named)?;
        }
    }
    check_templates(t, if ignores_errors { &None } else { defined }, &guards, ignores_errors)
}

fn check_action_args(engine: &dyn actions::EngineAction, a: &crate::playbook::Action) -> Result<()> {
    let Err((arg, msg)) = actions::check_args(engine, &a.args) else { return Ok(()) };
    let loc = arg.and_then(|k| {
        find_in_lines(&a.loc, &format!("{k}:"), 0).or_else(|| find_in_lines(&a.loc, &format!("{k}="), 0))
    });
    let (message, help) = match msg.split_once("; ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (msg.clone(), None),
    };
    let message = if message.starts_with(&format!("{}:", engine.name())) {
        format!("{}{}", a.module, message.strip_prefix(engine.name()).unwrap_or(&message))
    } else {
        message
    };
    let err = OrcError::at(&loc.unwrap_or_else(|| a.loc.clone()), message);
    Err(match help {
        Some(h) => err.help(h),
        None => err,
    })
}

/// The action with the literal arguments the task's `module_defaults` give its module (the
/// task's own win), as the run merges them; `None` when a default is templated (known only at
/// run time), so the arguments are checked when the task runs.
fn with_module_defaults(t: &Task, a: &crate::playbook::Action) -> Option<crate::playbook::Action> {
    let mut a = a.clone();
    let mut entries = Vec::new();
    for entry in &t.kw.module_defaults {
        match entry {
            Value::Object(m) => entries.push(m),
            Value::Array(items) => entries.extend(items.iter().filter_map(Value::as_object)),
            _ => return None,
        }
    }
    for entry in entries {
        for (key, defaults) in entry {
            if !super::run_task::module_defaults_apply(key, &a.short)
                && !super::run_task::backend_defaults_apply(key, &a.short)
            {
                continue;
            }
            let Value::Object(d) = defaults else { return None };
            for (k, v) in d {
                if has_template(v) {
                    return None;
                }
                a.args.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    Some(a)
}

/// Checks a module's literal arguments. `conditional`: the task runs under `when:` (its own or
/// inherited), where a value orc does not implement (`Module::validate_support`) fails only if
/// the task runs, as Ansible checks arguments when a task runs; a task that always runs is
/// refused up front.
fn check_module_args(a: &crate::playbook::Action, conditional: bool) -> Result<()> {
    let Some(module) = orc_modules::lookup(&a.short) else {
        return Ok(());
    };
    let check = |args: &Map<String, Value>| {
        module.validate(args).and_then(|()| if conditional { Ok(()) } else { module.validate_support(args) })
    };
    let templated: Vec<&String> = a.args.iter().filter(|(_, v)| has_template(v)).map(|(k, _)| k).collect();
    // Templated values cannot be type-checked before they are rendered. Check with placeholders,
    // then without the templated arguments: an error that shows either way is about literal input.
    let mut with_placeholders = a.args.clone();
    for k in &templated {
        with_placeholders.insert((*k).clone(), Value::String("orc-preflight-placeholder".into()));
    }
    let Err(first) = check(&with_placeholders) else {
        return Ok(());
    };
    if !templated.is_empty() {
        let mut without = a.args.clone();
        without.retain(|k, _| !templated.contains(&k));
        match check(&without) {
            Err(second) if second.msg == first.msg => {}
            _ => return Ok(()),
        }
    }
    let loc = arg_loc(&a.loc, &first.msg, &a.args);
    let err = OrcError::at(&loc, format!("module '{}': {}", a.module, first.msg));
    Err(match misspelt_argument(&first.msg) {
        Some(s) => err.help(format!("did you mean '{s}'? (`orc doc {}` lists its arguments)", a.short)),
        None => err.help(format!("`orc doc {}` lists its arguments", a.short)),
    })
}

/// For "unsupported argument `x`; valid arguments are `a`, `b`": the valid one `x` is a typo of.
fn misspelt_argument(msg: &str) -> Option<String> {
    let bad = msg.strip_prefix("unsupported argument `")?.split('`').next()?;
    let (_, valid) = msg.split_once("valid arguments are")?;
    let names: Vec<&str> = valid.split('`').skip(1).step_by(2).collect();
    crate::suggest::suggest(bad, &names)
}

/// Finds the line of the argument an error is about, so the caret points at it: the argument an
/// "unsupported argument `x`" message names, or else an argument whose name the message uses.
fn arg_loc(base: &Loc, msg: &str, args: &Map<String, Value>) -> Loc {
    let named = msg.strip_prefix("unsupported argument `").and_then(|r| r.split('`').next()).map(str::to_string);
    let key = named.or_else(|| {
        args.keys()
            .find(|k| {
                regex::Regex::new(&format!(r"\b{}\b", regex::escape(k))).map(|re| re.is_match(msg)).unwrap_or(false)
            })
            .cloned()
    });
    if let Some(k) = key {
        if let Some(l) = find_in_lines(base, &format!("{k}:"), 0).or_else(|| find_in_lines(base, &format!("{k}="), 0)) {
            return l;
        }
    }
    base.clone()
}

/// The first occurrence of `needle` in the lines from `base` on (within 60 lines).
fn find_in_lines(base: &Loc, needle: &str, skip_before_col: usize) -> Option<Loc> {
    for (i, line) in base.file.text.lines().enumerate().skip(base.line.saturating_sub(1)).take(60) {
        let start = if i + 1 == base.line { skip_before_col.min(line.len()) } else { 0 };
        if let Some(col) = line.get(start..).and_then(|l| l.find(needle)) {
            return Some(Loc { file: base.file.clone(), line: i + 1, col: start + col + 1 });
        }
    }
    None
}

/// The literal strings the tasks' arguments hold, but for `src` values: an absolute `src` that
/// one of them names (a `file: path=... state=touch`, a `fetch` `dest`, a `shell: touch ...`) may
/// be made by the run before the task that reads it, so it is looked for when that task runs.
fn named_by_tasks(playbooks: &[Playbook]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for play in playbooks.iter().flat_map(|pb| &pb.plays) {
        let mut tasks = play.all_tasks();
        crate::playbook::flatten(&play.handlers, &mut tasks);
        for t in tasks {
            if let TaskBody::Action(a) = &t.body {
                a.args.iter().filter(|(k, _)| k.as_str() != "src").for_each(|(_, v)| walk(v, &mut out));
            }
        }
    }
    out
}

/// Whether a task's argument `n` names the relative path `src` (the path itself, a path ending
/// in it, or a path inside it): a file or directory a `delegate_to: localhost` task makes beside
/// the playbook before a later `copy` reads it (tests/conformance target `copy`).
fn names_relative(n: &str, src: &str) -> bool {
    let src = src.trim_end_matches('/');
    !src.is_empty()
        && (n.trim_end_matches('/') == src
            || n.trim_end_matches('/').ends_with(&format!("/{src}"))
            || n.starts_with(&format!("{src}/")))
}

fn check_src_exists(a: &crate::playbook::Action, search: &[PathBuf], named: &[String]) -> Result<()> {
    let sub = match a.short.as_str() {
        "template" => "templates",
        "copy" => "files",
        _ => return Ok(()),
    };
    let Some(Value::String(src)) = a.args.get("src") else {
        return Ok(());
    };
    if src.contains("{{")
        || (src.starts_with('/') && named.iter().any(|n| n.contains(src.as_str())))
        || (!src.starts_with('/') && named.iter().any(|n| names_relative(n, src)))
        || (a.short == "copy" && a.args.get("remote_src").and_then(orc_modules::args::parse_bool) == Some(true))
    {
        return Ok(());
    }
    // The search the run makes (playbook::search): a file it would find is never refused here.
    let Err(searched) = crate::playbook::search::find(src, sub, search) else { return Ok(()) };
    let loc = find_in_lines(&a.loc, src, 0).unwrap_or_else(|| a.loc.clone());
    let searched: Vec<String> = searched.iter().map(|c| c.display().to_string()).collect();
    Err(OrcError::at(&loc, format!("{} source '{src}' does not exist", a.short))
        .help(format!("searched {}", searched.join(", "))))
}

/// Checks the task's templates: their syntax and the variables they use. A task that ignores its
/// errors (`lenient`) may hold a broken template on purpose: it fails when it runs, as in Ansible.
fn check_templates(t: &Task, defined: &Option<HashSet<String>>, guards: &HashSet<String>, lenient: bool) -> Result<()> {
    let env = minijinja::Environment::new();
    let mut strings: Vec<(String, bool)> = Vec::new();
    if let TaskBody::Action(a) = &t.body {
        collect_strings(&Value::Object(a.args.clone()), &mut strings);
    }
    for c in
        t.kw.when
            .iter()
            .chain(t.changed_when.iter().flatten())
            .chain(t.failed_when.iter().flatten())
            .chain(t.until.iter().flatten())
    {
        if let Value::String(s) = c {
            strings.push((s.clone(), !s.contains("{{")));
        }
    }
    if let Some(name) = &t.name {
        collect_strings(&Value::String(name.clone()), &mut strings);
    }
    let mut local: HashSet<String> = t.kw.vars.iter().flat_map(|l| l.keys().cloned()).collect();
    local.extend(guards.iter().cloned());
    for k in ["loop_var", "index_var"] {
        if let Some(Value::String(v)) = t.loop_control.get(k) {
            local.insert(v.clone());
        }
    }
    if let Some(r) = &t.register {
        local.insert(r.clone());
    }
    for (s, bare) in strings {
        let undeclared = if bare {
            match env.compile_expression(&s) {
                Ok(e) => e.undeclared_variables(false),
                Err(_) if lenient => continue,
                Err(e) => {
                    return Err(OrcError::at(
                        &t.loc,
                        format!("invalid condition '{s}': {}", e.detail().unwrap_or("syntax error")),
                    )
                    .help("a condition is a bare Jinja expression, e.g. 'x is defined and x > 1'"))
                }
            }
        } else {
            // The run renders the text after the same rewrite (src/template/syntax.rs).
            match env.template_from_str(&crate::template::drop_unary_plus(&s)) {
                Ok(tpl) => tpl.undeclared_variables(false),
                Err(_) if lenient => continue,
                Err(e) => {
                    let loc = find_in_lines(&t.loc, s.lines().next().unwrap_or(&s), 0).unwrap_or_else(|| t.loc.clone());
                    return Err(OrcError::at(
                        &loc,
                        format!("template syntax error: {}", e.detail().unwrap_or("syntax error")),
                    )
                    .help("check the {{ }} and {% %} pairs and filter syntax"));
                }
            }
        };
        let Some(defined) = defined else { continue };
        let guarded = guarded_names(&s, bare);
        let mut missing: Vec<&String> = undeclared
            .iter()
            .filter(|n| {
                !defined.contains(*n) && !local.contains(*n) && !guarded.contains(*n) && !n.starts_with("ansible_")
            })
            .collect();
        missing.sort();
        if let Some(name) = missing.first() {
            let loc = find_var(&t.loc, name).unwrap_or_else(|| t.loc.clone());
            let known: Vec<&str> = defined.iter().map(String::as_str).chain(local.iter().map(String::as_str)).collect();
            let err = OrcError::at(&loc, format!("undefined variable '{name}'"));
            return Err(match crate::suggest::suggest(name, &known) {
                Some(s) => err.help(format!("did you mean '{s}'?")),
                None => err.help(format!("define '{name}' in vars, inventory, vars_files or with -e {name}=..., or guard it with '{name} | default(...)'")),
            });
        }
    }
    Ok(())
}

fn find_var(base: &Loc, name: &str) -> Option<Loc> {
    let re = regex::Regex::new(&format!(r"\b{}\b", regex::escape(name))).ok()?;
    for (i, line) in base.file.text.lines().enumerate().skip(base.line.saturating_sub(1)).take(60) {
        if let Some(m) = re.find(line) {
            return Some(Loc { file: base.file.clone(), line: i + 1, col: m.start() + 1 });
        }
    }
    None
}

fn collect_strings(v: &Value, out: &mut Vec<(String, bool)>) {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => out.push((s.clone(), false)),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                if k.contains("{{") {
                    out.push((k.clone(), false));
                }
                collect_strings(x, out);
            }
        }
        _ => {}
    }
}
