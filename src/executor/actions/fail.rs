//! `fail`: fails the host with a message.

use serde_json::json;

use super::{ActionResult, Arg, Call, EngineAction};
use orc_modules::doc::ModuleText;

/// `fail: msg=...`.
#[derive(Debug)]
pub struct Fail;

const ARGS: &[Arg] = &[("msg", false, "Why the host fails.")];

impl EngineAction for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Fails the host with a message (usually under a when).",
            notes: "",
            returns: &[],
            example:
                "- ansible.builtin.fail:\n    msg: this playbook needs Debian\n  when: ansible_os_family != 'Debian'\n",
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        Err(json!({
            "changed": false,
            "failed": true,
            "msg": call.args.get("msg").map(crate::yaml::display).unwrap_or_else(|| "Failed as requested from task".into()),
        }))
    }
}
