//! INI inventories, parsed as Ansible's `ini` plugin does: `[group]` host lines with inline vars,
//! `[group:children]`, `[group:vars]`, hosts before any section in `ungrouped`, and values typed by
//! Python's `literal_eval` rules.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use std::sync::OnceLock;

use super::hostrange::expand_hostpattern;
use super::pylit::{parse_value, shlex_split};
use super::Inventory;
use crate::error::{Loc, OrcError, Result, SourceFile};

fn section_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn groupname_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").unwrap_or_else(|_| unreachable!("constant regex")))
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

struct Pending {
    line: usize,
    col: usize,
    state: State,
    parents: Vec<String>,
}

/// Parses INI inventory text into `inv`. Errors point at the line (and the offending part).
pub fn parse(inv: &mut Inventory, file: Arc<SourceFile>) -> Result<()> {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut pending_order: Vec<String> = Vec::new();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    let text = file.text.clone();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        let col0 = raw[..indent].chars().count() + 1;
        let at = |col: usize| Loc { file: file.clone(), line: lineno, col };
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(c) = section_re().captures(line) {
            let name = c.get(1).map(|m| m.as_str()).unwrap_or_default().to_string();
            let tag = c.get(2).map(|m| m.as_str());
            state = match tag {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(OrcError::at(
                        &at(col0 + 2 + name.chars().count()),
                        format!("Section [{name}:{other}] has unknown type: {other}"),
                    )
                    .help("a section is [group], [group:children] or [group:vars]"));
                }
            };
            group = name;
            if !inv.has_group(&group) {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending_order.push(group.clone());
                    pending.insert(group.clone(), Pending { line: lineno, col: col0, state, parents: Vec::new() });
                }
                inv.add_group(&group);
            }
            if state != State::Vars {
                if let Some(p) = pending.get(&group) {
                    match p.state {
                        State::Children => {
                            add_pending_children(inv, &group, &mut pending).map_err(|e| OrcError::at(&at(col0), e))?;
                        }
                        _ => {
                            pending.remove(&group);
                        }
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(OrcError::at(
                &at(col0),
                format!("Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"),
            )
            .help("a section is [group], [group:children] or [group:vars], with no spaces"));
        }
        match state {
            State::Hosts => host_line(inv, &group, line, &at, col0)?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(OrcError::at(&at(col0), format!("Expected key=value, got: {line}"))
                        .help(format!("lines in [{group}:vars] are `name=value`")));
                };
                inv.set_group_var(&group, k.trim(), parse_value(v.trim())).map_err(|e| OrcError::at(&at(col0), e))?;
            }
            State::Children => {
                let Some(c) = groupname_re().captures(line) else {
                    return Err(OrcError::at(&at(col0), format!("Expected group name, got: {line}"))
                        .help(format!("lines in [{group}:children] are group names, one per line")));
                };
                let child = c.get(1).map(|m| m.as_str()).unwrap_or_default().to_string();
                if inv.has_group(&child) {
                    inv.add_child(&group, &child).map_err(|e| OrcError::at(&at(col0), e))?;
                } else if let Some(p) = pending.get_mut(&child) {
                    p.parents.push(group.clone());
                } else {
                    pending_order.push(child.clone());
                    pending.insert(
                        child,
                        Pending { line: lineno, col: col0, state: State::Children, parents: vec![group.clone()] },
                    );
                }
            }
        }
    }
    for name in pending_order {
        if let Some(p) = pending.get(&name) {
            let loc = Loc { file: file.clone(), line: p.line, col: p.col };
            return Err(match p.state {
                State::Vars => OrcError::at(
                    &loc,
                    format!("Section [{name}:vars] not valid for undefined group '{name}'."),
                )
                .help(format!(
                    "declare the group with a [{name}] or [{name}:children] section, or list it under another group's :children"
                )),
                _ => OrcError::at(
                    &loc,
                    format!(
                        "Section [{}:children] includes undefined group '{name}'.",
                        p.parents.last().cloned().unwrap_or_default()
                    ),
                )
                .help(format!(
                    "declare the group with a [{name}] or [{name}:children] section"
                )),
            });
        }
    }
    Ok(())
}

fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    pending: &mut HashMap<String, Pending>,
) -> std::result::Result<(), String> {
    let parents = pending.get(group).map(|p| p.parents.clone()).unwrap_or_default();
    for parent in parents {
        inv.add_child(&parent, group)?;
        if pending.get(&parent).is_some_and(|p| p.state == State::Children) {
            add_pending_children(inv, &parent, pending)?;
        }
    }
    pending.remove(group);
    Ok(())
}

fn host_line(inv: &mut Inventory, group: &str, line: &str, at: &dyn Fn(usize) -> Loc, col0: usize) -> Result<()> {
    let tokens = shlex_split(line).map_err(|e| {
        OrcError::at(&at(col0), format!("Error parsing host definition '{line}': {e}"))
            .help("close every quote in the host line")
    })?;
    let Some(first) = tokens.first() else {
        return Ok(());
    };
    let (hosts, port) = expand_hostpattern(first).map_err(|e| {
        OrcError::at(&at(col0), format!("{e} (in host entry '{first}')"))
            .help("a range is written [begin:end] or [begin:end:step], e.g. web[01:10] or db-[a:c]")
    })?;
    if first.trim().ends_with(':') && port.is_none() {
        return Err(OrcError::at(
            &at(col0),
            format!("Invalid host pattern '{first}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."),
        )
        .help("write host:port with a numeric port, or a [group] section header"));
    }
    if hosts.iter().any(|h| h.trim() == "---") {
        return Err(OrcError::at(
            &at(col0),
            format!("Invalid host pattern '{first}' supplied, '---' is normally a sign this is a YAML file."),
        )
        .help("YAML inventories must have a .yml or .yaml extension, or no extension"));
    }
    let mut vars = Vec::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            let col = line.find(t.as_str()).map(|i| col0 + line[..i].chars().count()).unwrap_or(col0);
            return Err(OrcError::at(&at(col), format!("Expected key=value host variable assignment, got: {t}"))
                .help("host variables are written name=value after the host name; quote values with spaces"));
        };
        vars.push((k.to_string(), parse_value(v)));
    }
    for h in &hosts {
        inv.add_host(h, Some(group), port);
        for (k, v) in &vars {
            inv.set_host_var(h, k, v.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Inventory {
        let mut inv = Inventory::empty();
        parse(&mut inv, SourceFile::new("hosts.ini", text)).unwrap_or_else(|e| panic!("{e}"));
        inv.reconcile();
        inv.compute_group_hosts();
        inv.compute_merged();
        inv
    }

    #[test]
    fn children_and_vars_may_come_before_their_group() {
        let inv = load("[top:children]\nmid\n[mid:vars]\nx=1\n[mid:children]\nleaf\n[leaf]\nh1 y='a b'\n");
        assert_eq!(inv.group_names("h1"), ["leaf", "mid", "top"]);
        let v = inv.host_vars("h1");
        assert_eq!((&v["x"], &v["y"]), (&json!(1), &json!("a b")));
    }

    #[test]
    fn first_port_wins_and_hosts_leave_ungrouped() {
        let inv = load("h1:2200\n[g]\nh1:2300\nh2\n");
        assert_eq!(inv.host_vars("h1")["ansible_port"], json!(2200));
        assert_eq!(inv.hosts_of_group("ungrouped"), [] as [String; 0]);
        assert_eq!(inv.hosts_of_group("g"), ["h1", "h2"]);
    }

    #[test]
    fn group_vars_by_depth_then_priority_then_name() {
        let inv = load(
            "[a]\nh\n[b]\nh\n[p:children]\nb\n[a:vars]\nv=a\nansible_group_priority=9\n[b:vars]\nv=b\n[p:vars]\nv=p\n",
        );
        // a and p are at depth 1 (a's priority 9 puts it after p), b at depth 2
        assert_eq!(inv.host_vars("h")["v"], json!("b"));
        let inv = load("[a]\nh\n[b]\nh\n[a:vars]\nv=a\nansible_group_priority=9\n[b:vars]\nv=b\n");
        assert_eq!(inv.host_vars("h")["v"], json!("a"));
    }

    #[test]
    fn loops_are_refused() {
        let mut inv = Inventory::empty();
        let e =
            parse(&mut inv, SourceFile::new("hosts.ini", "[a:children]\nb\n[b:children]\na\n")).unwrap_err().report();
        assert!(e.contains("hosts.ini:4:1") && e.contains("recursive dependency loop"), "{e}");
    }
}
