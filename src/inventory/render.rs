//! `orc inventory --list` and `--host` output, shaped as ansible-inventory 2.19 prints it: groups
//! with their direct `hosts` and `children` (empty keys and empty groups left out, group vars not
//! shown), and every host's merged variables under `_meta.hostvars`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Inventory;
use crate::error::{OrcError, Result};

/// Variables ansible-inventory leaves out of its output (`C.INTERNAL_STATIC_VARS`).
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

fn public_vars(mut vars: Map<String, Value>) -> Map<String, Value> {
    vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
    vars
}

/// The `--list` document.
pub fn list_json(inv: &Inventory) -> Value {
    list_json_for(inv, inv.hosts_of_group("all"))
}

/// The `--list --export` document: each group's own vars (inventory file plus group_vars/ files)
/// under its `vars`, and each host's own vars (inventory file plus host_vars/ files) in
/// `_meta.hostvars`, without merging groups into hosts.
pub fn list_json_export(inv: &Inventory) -> Value {
    let mut doc = list_json(inv);
    let Some(top) = doc.as_object_mut() else {
        return doc;
    };
    for name in inv.groups.keys() {
        let vars = public_vars(inv.group_own_vars(name));
        if vars.is_empty() {
            continue;
        }
        let entry = top.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(e) = entry {
            e.insert("vars".into(), Value::Object(vars));
        }
    }
    let mut hostvars = Map::new();
    for h in inv.hosts_of_group("all") {
        let vars = public_vars(inv.host_own_vars(h));
        if !vars.is_empty() {
            hostvars.insert(h.clone(), Value::Object(vars));
        }
    }
    if let Some(Value::Object(meta)) = top.get_mut("_meta") {
        meta.insert("hostvars".into(), Value::Object(hostvars));
    }
    doc
}

/// The `--list` document restricted to `hosts` (what `--list --limit` prints): group host lists
/// and `_meta.hostvars` only name those hosts.
pub fn list_json_for(inv: &Inventory, hosts: &[String]) -> Value {
    let available: HashSet<&str> = hosts.iter().map(String::as_str).collect();
    let mut out = Map::new();
    let mut seen: HashSet<String> = HashSet::new();
    format_group(inv, "all", &available, &mut seen, &mut out);
    let mut hostvars = Map::new();
    for h in inv.hosts_of_group("all").iter().filter(|h| available.contains(h.as_str())) {
        let vars = public_vars(inv.host_vars(h));
        if !vars.is_empty() {
            hostvars.insert(h.clone(), Value::Object(vars));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    meta.insert("profile".into(), Value::String("inventory_legacy".into()));
    out.insert("_meta".into(), Value::Object(meta));
    Value::Object(out)
}

fn format_group(
    inv: &Inventory,
    name: &str,
    available: &HashSet<&str>,
    seen: &mut HashSet<String>,
    out: &mut Map<String, Value>,
) {
    let Some(g) = inv.groups.get(name) else {
        return;
    };
    let mut entry = Map::new();
    if name != "all" {
        let hosts: Vec<Value> =
            g.hosts.iter().filter(|h| available.contains(h.as_str())).map(|h| Value::String(h.clone())).collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Value::Array(hosts));
        }
    }
    let mut children = Vec::new();
    let mut sub = Map::new();
    for c in &g.children {
        children.push(Value::String(c.clone()));
        if seen.insert(c.clone()) {
            format_group(inv, c, available, seen, &mut sub);
        }
    }
    if !children.is_empty() {
        entry.insert("children".into(), Value::Array(children));
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Value::Object(entry));
    }
    for (k, v) in sub {
        out.insert(k, v);
    }
}

/// The `--host NAME` document: the host's merged variables.
pub fn host_json(inv: &Inventory, host: &str) -> Result<Value> {
    let hosts = super::pattern::evaluate(inv, &super::pattern::split_host_pattern(host))?;
    if hosts.len() != 1 {
        return Err(OrcError::Usage(format!(
            "You must pass a single valid host to --host parameter (got '{host}', which matches {} hosts)",
            hosts.len()
        )));
    }
    Ok(Value::Object(public_vars(inv.host_vars(&hosts[0]))))
}

/// JSON text exactly as Ansible's `json.dumps(..., sort_keys=True, indent=4)` writes it: sorted
/// keys, 4-space indent, non-ASCII escaped, Python float spelling.
pub fn to_ansible_json(v: &Value) -> String {
    orc_modules::pyjson::dumps_with(
        v,
        orc_modules::pyjson::Style { indent: Some(4), sort_keys: true, ensure_ascii: true },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_like_python() {
        let v = json!({"b": [1, 1.5, 1000.0], "a": {}, "c": "é\"", "d": []});
        assert_eq!(
            to_ansible_json(&v),
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        1.5,\n        1000.0\n    ],\n    \"c\": \"\\u00e9\\\"\",\n    \"d\": []\n}"
        );
    }
}
