//! Executable inventories (Ansible's `script` plugin: `<script> --list`, JSON with
//! `_meta.hostvars`, or `<script> --host <name>` per host when `_meta` is absent) and
//! comma-separated host lists (`-i 'a,b:2222,'`, Ansible's `host_list` plugin).

use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

use super::hostrange::parse_address;
use super::Inventory;
use crate::error::{OrcError, Result};

fn script_err(path: &Path, msg: impl Into<String>) -> OrcError {
    OrcError::input(format!("inventory script {}: {}", path.display(), msg.into()))
}

fn run(path: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(path).args(args).output().map_err(|e| {
        script_err(path, format!("could not run it with {}: {e}", args.join(" ")))
            .help("an executable inventory must start with a #! line naming its interpreter")
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let code = out.status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
        let mut e = script_err(path, format!("`{} {}` exited with {code}", path.display(), args.join(" ")));
        if !stderr.trim().is_empty() {
            e = e.help(format!("its standard error:\n{}", stderr.trim_end()));
        }
        return Err(e);
    }
    String::from_utf8(out.stdout)
        .map_err(|_| script_err(path, format!("the output of `{}` is not UTF-8", args.join(" "))))
}

fn parse_json(path: &Path, what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        script_err(
            path,
            format!("the output of {what} is not valid JSON: {e} (line {}, column {})", e.line(), e.column()),
        )
        .help("the script must print one JSON object: {\"group\": {\"hosts\": [...], \"vars\": {...}, \"children\": [...]}, \"_meta\": {\"hostvars\": {...}}}")
    })
}

/// Runs an executable inventory and loads its groups, hosts and variables.
pub fn load(inv: &mut Inventory, path: &Path) -> Result<()> {
    let text = run(path, &["--list"])?;
    let data = parse_json(path, "--list", &text)?;
    let Value::Object(top) = data else {
        return Err(script_err(path, "--list must print a JSON object"));
    };
    let mut meta_hostvars: Option<Map<String, Value>> = None;
    let mut hosts_seen: Vec<String> = Vec::new();
    for (group, gdata) in top {
        if group == "_meta" {
            match gdata.get("hostvars") {
                Some(Value::Object(m)) => meta_hostvars = Some(m.clone()),
                Some(other) => {
                    return Err(script_err(
                        path,
                        format!("'_meta.hostvars' must be an object, not {}", json_type(other)),
                    ))
                }
                None => {
                    return Err(script_err(path, "'_meta' has no 'hostvars' object"));
                }
            }
            continue;
        }
        load_group(inv, path, &group, gdata, &mut hosts_seen)?;
    }
    for h in hosts_seen {
        let vars = match &meta_hostvars {
            Some(m) => m.get(&h).cloned().unwrap_or(Value::Object(Map::new())),
            None => {
                let t = run(path, &["--host", &h])?;
                if t.trim().is_empty() {
                    Value::Object(Map::new())
                } else {
                    parse_json(path, &format!("--host {h}"), &t)?
                }
            }
        };
        let Value::Object(vars) = vars else {
            return Err(script_err(
                path,
                format!("the variables of host '{h}' must be an object, not {}", json_type(&vars)),
            ));
        };
        for (k, v) in vars {
            inv.set_host_var(&h, &k, v);
        }
    }
    Ok(())
}

fn load_group(inv: &mut Inventory, path: &Path, group: &str, data: Value, hosts_seen: &mut Vec<String>) -> Result<()> {
    let group = inv.add_group(group);
    let data = match data {
        Value::Object(m) if ["hosts", "vars", "children"].iter().any(|k| m.contains_key(*k)) => m,
        Value::Object(m) => {
            // a bare mapping: the group is its own sole host, the mapping its vars (legacy)
            let mut d = Map::new();
            d.insert("hosts".into(), Value::Array(vec![Value::String(group.clone())]));
            d.insert("vars".into(), Value::Object(m));
            d
        }
        other => {
            let mut d = Map::new();
            d.insert("hosts".into(), other);
            d
        }
    };
    if let Some(hosts) = data.get("hosts") {
        let Value::Array(list) = hosts else {
            return Err(script_err(path, format!("'{group}.hosts' must be a list, not {}", json_type(hosts))));
        };
        for h in list {
            let name = match h {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !hosts_seen.contains(&name) {
                hosts_seen.push(name.clone());
            }
            inv.add_host(&name, Some(&group), None);
        }
    }
    if let Some(vars) = data.get("vars") {
        let Value::Object(m) = vars else {
            return Err(script_err(path, format!("'{group}.vars' must be an object, not {}", json_type(vars))));
        };
        for (k, v) in m {
            inv.set_group_var(&group, k, v.clone()).map_err(|e| script_err(path, e))?;
        }
    }
    if let Some(children) = data.get("children") {
        let Value::Array(list) = children else {
            return Err(script_err(path, format!("'{group}.children' must be a list, not {}", json_type(children))));
        };
        for c in list {
            let name = match c {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            inv.add_group(&name);
            inv.add_child(&group, &name).map_err(|e| script_err(path, e))?;
        }
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Loads a comma-separated host list (`a,b:2222,`) into `ungrouped`; `ranges`: Ansible's
/// `advanced_host_list`, which expands host ranges (`web[1:9:2]`), leaving an entry that is not
/// a valid range as written.
pub fn load_host_list(inv: &mut Inventory, list: &str, ranges: bool) {
    for h in list.split(',') {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        let (hosts, port) = if ranges {
            super::expand_hostpattern(h).unwrap_or_else(|_| (vec![h.to_string()], None))
        } else {
            let (host, port) = parse_address(h, false).unwrap_or((h.to_string(), None));
            (vec![host], port)
        };
        for host in hosts {
            if !inv.has_host(&host) {
                inv.add_host(&host, Some("ungrouped"), port);
            }
        }
    }
}

#[cfg(test)]
mod host_list_tests {
    use super::*;

    fn hosts(list: &str, ranges: bool) -> Vec<String> {
        let mut inv = Inventory::empty();
        load_host_list(&mut inv, list, ranges);
        inv.reconcile();
        inv.compute_group_hosts();
        inv.hosts()
    }

    #[test]
    fn advanced_host_lists_expand_ranges_and_keep_what_is_not_one() {
        // Ansible's advanced_host_list: `[begin:end:step]` expands; `local[3:]` stays as written.
        assert_eq!(hosts("local100,local[100:106:2],", true), ["local100", "local102", "local104", "local106"]);
        assert_eq!(hosts("local[3:],web:2222,", true), ["local[3:]", "web"]);
        // host_list (the default) takes each entry as one host.
        assert_eq!(hosts("local100,local[100:106:2],", false), ["local100", "local[100:106:2]"]);
    }

    #[test]
    fn advanced_host_list_applies_when_enabled_before_host_list() {
        let list =
            |l: &[&str]| super::super::advanced_host_list_first(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(list(&["advanced_host_list"]));
        assert!(list(&["ansible.builtin.advanced_host_list", "host_list"]));
        assert!(!list(&["host_list", "advanced_host_list"]));
        assert!(!list(&["host_list", "ini"]));
    }
}
