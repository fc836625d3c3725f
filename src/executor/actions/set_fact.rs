//! `set_fact`: sets variables for this host at set_fact precedence.

use serde_json::{json, Map, Value};

use super::{fail, ActionResult, Arg, Call, Defines, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `set_fact: NAME=VALUE ...`.
#[derive(Debug)]
pub struct SetFact;

impl EngineAction for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        None
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Sets variables for this host, at set_fact precedence (above play and role vars).",
            notes: "Every argument is a variable to set (the value is templated). `cacheable` is accepted and has no effect: orc keeps no fact cache.",
            returns: &[("ansible_facts", "The variables set.")],
            example: "- ansible.builtin.set_fact:\n    app_url: \"http://{{ ansible_host }}:{{ app_port }}\"\n",
        }
    }

    fn defines(&self, args: &Map<String, Value>) -> Defines {
        if args.keys().any(|k| k.contains("{{")) {
            return Defines::Unknown;
        }
        Defines::Names(args.keys().filter(|k| *k != "cacheable").cloned().collect())
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let mut facts = Map::new();
        for (k, v) in call.args {
            if k == "cacheable" {
                continue;
            }
            let value = match v {
                // Ansible converts "yes"/"true"-like strings given as k=v to booleans.
                Value::String(s) if ["true", "True", "yes", "false", "False", "no"].contains(&s.as_str()) => {
                    orc_modules::args::parse_bool(v).map(Value::Bool).unwrap_or_else(|| v.clone())
                }
                _ => v.clone(),
            };
            call.host.set_fact(k, value.clone());
            facts.insert(k.clone(), value);
        }
        if facts.is_empty() {
            return Err(fail("No key/value pairs provided, at least one is required for this action to succeed"));
        }
        Ok((Status::Ok, json!({"ansible_facts": facts, "changed": false})))
    }
}
