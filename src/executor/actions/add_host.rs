//! `add_host`: adds a host (and its groups and variables) to the inventory while the playbook
//! runs, for the later plays (and `hostvars`, `groups`) to use, as Ansible's add_host action and
//! `InventoryManager.add_dynamic_host`. Like Ansible's, it runs once per task, not per host
//! ([`EngineAction::bypasses_host_loop`]).

use serde_json::{json, Map, Value};

use super::{fail, ActionResult, Arg, Call, Defines, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// The arguments that are not host variables.
const SPECIAL: &[&str] = &["name", "hostname", "groupname", "groups"];

/// `add_host: name=... groups=... VAR=...`.
#[derive(Debug)]
pub struct AddHost;

impl EngineAction for AddHost {
    fn name(&self) -> &'static str {
        "add_host"
    }

    /// Any name: arguments other than the name and groups are the host's variables.
    fn args(&self) -> Option<&'static [Arg]> {
        None
    }

    fn free_form(&self) -> bool {
        true
    }

    fn bypasses_host_loop(&self) -> bool {
        true
    }

    /// The new host's variables (for the plays that target it); all of them are unknown when
    /// they come from one templated value.
    fn defines(&self, args: &Map<String, Value>) -> Defines {
        if args.contains_key("_raw_params") {
            return Defines::Unknown;
        }
        Defines::Names(args.keys().filter(|k| !SPECIAL.contains(&k.as_str())).cloned().collect())
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Adds a host to the inventory while the playbook runs, with its groups and variables.",
            notes: "`name` (or `host`, `hostname`; `host:port` sets `ansible_ssh_port`) names the host; `groups` \
                    (or `group`, `groupname`: a list or a comma-separated string) are created when missing; every \
                    other argument becomes a host variable. It runs once per task (with a loop, once per item), \
                    and is changed when the inventory changed. Later plays match the new host and groups; group_vars \
                    files are not read for groups made this way.",
            returns: &[("add_host", "host_name, groups and host_vars as given.")],
            example: "- ansible.builtin.add_host:\n    name: \"{{ new_ip }}\"\n    groups: just_created\n    \
                      ansible_user: admin\n",
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let mut args: Map<String, Value> = Map::new();
        match call.args.get("_raw_params") {
            None => {}
            Some(Value::Object(raw)) => args.extend(raw.clone()),
            Some(other) => {
                return Err(fail(format!(
                    "Invalid raw parameters passed, requires a dictionary/mapping got a  {}",
                    crate::output::pyrepr::py_type(other)
                )))
            }
        }
        args.extend(call.args.iter().filter(|(k, _)| *k != "_raw_params").map(|(k, v)| (k.clone(), v.clone())));
        let Some(given) = ["name", "hostname", "host"].iter().find_map(|k| args.get(*k)) else {
            return Err(fail("name, host or hostname needs to be provided"));
        };
        let given = crate::yaml::display(given);
        let (name, port) = match crate::inventory::parse_address(&given, false) {
            Some((name, port)) => (name, port),
            None => (given.clone(), None),
        };
        if let Some(p) = port {
            args.insert("ansible_ssh_port".into(), json!(p));
        }
        let groups: Vec<String> = match ["groupname", "groups", "group"].iter().find_map(|k| args.get(*k)) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.iter().map(crate::yaml::display).collect(),
            Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
            Some(other) => return Err(fail(format!("Groups must be specified as a list. (got {other})"))),
        };
        let mut unique: Vec<String> = Vec::new();
        for g in groups.iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()) {
            if !unique.contains(&g) {
                unique.push(g);
            }
        }
        let host_vars: Map<String, Value> =
            args.iter().filter(|(k, _)| !SPECIAL.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        let changed = call.runner.change_inventory(|inv| match inv.add_dynamic_host(&name, &unique, &host_vars) {
            Ok(c) => (c, Ok(c)),
            Err(e) => (true, Err(e)),
        });
        let changed = changed.map_err(fail)?;
        call.runner.record_dynamic(crate::executor::DynamicChange::AddHost {
            name: name.clone(),
            groups: unique.clone(),
            vars: host_vars.clone(),
        });
        let result = json!({
            "changed": changed,
            "failed": false,
            "add_host": {"host_name": name, "groups": unique, "host_vars": host_vars},
        });
        Ok((if changed { Status::Changed } else { Status::Ok }, result))
    }
}
