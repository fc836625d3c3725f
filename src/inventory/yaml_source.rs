//! YAML (and JSON) inventories, as Ansible's `yaml` plugin reads them: top-level keys are groups,
//! each with optional `hosts` (host patterns to vars), `vars` and `children` (nested groups).

use super::hostrange::expand_hostpattern;
use super::Inventory;
use crate::error::{OrcError, Result};
use crate::yaml::{Kind, Node};

/// Why a YAML document is not a YAML inventory (the caller may then try INI, as Ansible does).
pub enum NotYamlInventory {
    /// Empty, or not a mapping: another format may fit.
    WrongShape(OrcError),
    /// A real error in a YAML inventory.
    Error(OrcError),
}

/// Loads a parsed YAML document into `inv`.
pub fn load(inv: &mut Inventory, doc: &Node) -> std::result::Result<(), NotYamlInventory> {
    let Some(pairs) = doc.as_map() else {
        let msg = if doc.is_null() {
            "the inventory file is empty".to_string()
        } else {
            format!("a YAML inventory must be a mapping of group names to groups, not {}", doc.type_name())
        };
        return Err(NotYamlInventory::WrongShape(
            OrcError::at(&doc.loc, msg).help("start with `all:` and put `hosts:`, `children:` and `vars:` under it"),
        ));
    };
    if let Some(p) = doc.get("plugin") {
        if !p.is_null() {
            return Err(NotYamlInventory::Error(
                OrcError::at(
                    &p.loc,
                    "this is an inventory plugin configuration, not a YAML inventory; orc does not run inventory plugins",
                )
                .help("use a static YAML/INI inventory or an executable inventory script"),
            ));
        }
    }
    for (name, data) in pairs {
        group(inv, name, data).map_err(NotYamlInventory::Error)?;
    }
    Ok(())
}

fn group(inv: &mut Inventory, name: &str, data: &Node) -> Result<String> {
    if !(data.is_null() || data.as_map().is_some()) {
        inv.warn(format!("{}: Skipping '{name}' as this is not a valid group definition", data.loc));
        return Ok(name.to_string());
    }
    if name.is_empty() {
        return Err(OrcError::at(&data.loc, "a group name cannot be empty").help("write a group name before the colon"));
    }
    let name = inv.add_group(name);
    let Some(pairs) = data.as_map() else {
        return Ok(name);
    };
    // strings are allowed for sections: `hosts: web1` means `hosts: {web1: }`
    for section in ["vars", "children", "hosts"] {
        if let Some(v) = data.get(section) {
            let ok = v.is_null() || v.as_map().is_some() || v.as_str().is_some();
            if !ok {
                return Err(OrcError::at(
                    &v.loc,
                    format!(
                        "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found {} instead.",
                        v.type_name()
                    ),
                )
                .help(format!(
                    "write `{section}:` as a mapping, one `name:` per line under it (a list like [a, b] is not accepted)"
                )));
            }
        }
    }
    for (key, value) in pairs {
        let single: Vec<(String, Node)>;
        let entries: &[(String, Node)] = match (&value.kind, value.as_str()) {
            (_, Some(s)) if matches!(key.as_str(), "vars" | "children" | "hosts") => {
                single =
                    vec![(s.to_string(), Node { kind: Kind::Scalar(serde_json::Value::Null), loc: value.loc.clone() })];
                &single
            }
            (Kind::Map(p), _) => p,
            (Kind::Scalar(serde_json::Value::Null), _) => continue,
            _ => {
                inv.warn(format!(
                    "{}: Skipping key ({key}) in group ({name}) as it is not a mapping, it is {}",
                    value.loc,
                    value.type_name()
                ));
                continue;
            }
        };
        match key.as_str() {
            "vars" => {
                for (k, v) in entries {
                    inv.set_group_var(&name, k, v.to_value())
                        .map_err(|e| OrcError::at(&v.loc, e))?;
                }
            }
            "children" => {
                for (child, cdata) in entries {
                    if !(cdata.is_null() || cdata.as_map().is_some()) {
                        // Ansible skips the definition, then fails adding the unknown child
                        return Err(OrcError::at(
                            &cdata.loc,
                            format!(
                                "child group '{child}' of '{name}' must be a mapping (or empty), not {}",
                                cdata.type_name()
                            ),
                        )
                        .help("a group holds `hosts:`, `children:` and `vars:` mappings"));
                    }
                    let child = group(inv, child, cdata)?;
                    inv.add_child(&name, &child)
                        .map_err(|e| OrcError::at(&cdata.loc, e))?;
                }
            }
            "hosts" => {
                for (pattern, hdata) in entries {
                    let (hosts, port) = expand_hostpattern(pattern).map_err(|e| {
                        OrcError::at(&hdata.loc, format!("{e} (in host entry '{pattern}')"))
                            .help("a range is written [begin:end] or [begin:end:step], e.g. web[01:10]")
                    })?;
                    let vars = match &hdata.kind {
                        Kind::Map(p) => p.as_slice(),
                        Kind::Scalar(serde_json::Value::Null) => &[],
                        _ => {
                            return Err(OrcError::at(
                                &hdata.loc,
                                format!(
                                    "the variables of host '{pattern}' must be a mapping, not {}",
                                    hdata.type_name()
                                ),
                            )
                            .help("write `host:` alone, or `host:` followed by indented `name: value` lines"));
                        }
                    };
                    for h in &hosts {
                        inv.add_host(h, Some(&name), port);
                        for (k, v) in vars {
                            inv.set_host_var(h, k, v.to_value());
                        }
                    }
                }
            }
            other => inv.warn(format!(
                "{}: Skipping unexpected key ({other}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid",
                value.loc
            )),
        }
    }
    Ok(name)
}
