//! `group_by`: puts the host in a group named from its variables (made when missing) while the
//! playbook runs, as Ansible's group_by action and `InventoryManager.add_dynamic_group`.

use serde_json::{json, Value};

use super::{fail, ActionResult, Arg, Call, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `group_by: key=... parents=...`.
#[derive(Debug)]
pub struct GroupBy;

const ARGS: &[Arg] = &[
    ("key", true, "The group to put the host in (spaces become dashes)."),
    ("parents", false, "The groups the new group is a child of (a name or a list; default all)."),
];

impl EngineAction for GroupBy {
    fn name(&self) -> &'static str {
        "group_by"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Puts each host in a group named from its variables, for later plays to target.",
            notes: "Changed when the host joined the group (or a parent group was made). group_vars files are not \
                    read for groups made this way.",
            returns: &[("add_group", "The group's name."), ("parent_groups", "Its parents' names.")],
            example: "- ansible.builtin.group_by:\n    key: os_{{ ansible_distribution }}\n    parents: linux\n",
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let Some(key) = call.args.get("key") else {
            return Err(fail("the 'key' param is required when using group_by"));
        };
        let group = crate::yaml::display(key).replace(' ', "-");
        let parents: Vec<String> = match call.args.get("parents") {
            None | Some(Value::Null) => vec!["all".to_string()],
            Some(Value::Array(list)) => list.iter().map(|p| crate::yaml::display(p).replace(' ', "-")).collect(),
            Some(other) => vec![crate::yaml::display(other).replace(' ', "-")],
        };
        let host = call.host.name.clone();
        let changed = call.runner.change_inventory(|inv| match inv.add_dynamic_group(&host, &group, &parents) {
            Ok(c) => (c, Ok(c)),
            Err(e) => (false, Err(e)),
        });
        let changed = changed.map_err(fail)?;
        call.runner.record_dynamic(crate::executor::DynamicChange::GroupBy {
            host: host.clone(),
            group: group.clone(),
            parents: parents.clone(),
        });
        let result = json!({"changed": changed, "failed": false, "add_group": group, "parent_groups": parents});
        Ok((if changed { Status::Changed } else { Status::Ok }, result))
    }
}
