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
            notes: "Every argument is a variable to set (the value is templated). With `cacheable: true` the variables are facts too, which the fact cache keeps between runs (`fact_caching = jsonfile`, docs/config.md); without it they last this run.",
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
            if !valid_variable_name(k) {
                // Keys reach here as text: one that reads as an integer was one (a YAML or
                // template key), which Ansible's message names.
                let of_type = if k.parse::<i64>().is_ok() { " of type 'int'" } else { "" };
                return Err(fail(format!(
                    "Invalid variable name '{k}'{of_type}. Variable names must be strings starting with a letter or underscore \
                     character, and contain only letters, numbers and underscores."
                )));
            }
            // Values are kept as given: ansible-core 2.19 no longer turns "yes"/"true" strings
            // (quoted YAML or k=v) into booleans.
            let value = v.clone();
            // A value written without a template is the playbook's own text: trusted, as
            // Ansible's (`TrustedAsTemplate`), though set_fact values stay data.
            let raw = call.task.action().and_then(|a| a.args.get(k));
            let trusted = raw.is_some_and(|r| !crate::vars::has_template(r) && r == v);
            if trusted {
                call.host.set_fact_trusting(k, value.clone(), vec![Vec::new()]);
                call.host.result_trust.push(vec!["ansible_facts".to_string(), k.clone()]);
            } else {
                call.host.set_fact(k, value.clone());
            }
            facts.insert(k.clone(), value);
        }
        if facts.is_empty() {
            return Err(fail("No key/value pairs provided, at least one is required for this action to succeed"));
        }
        // `cacheable`: facts as well (set_host_facts), which the fact cache keeps, besides the
        // set_fact variables that keep their higher precedence for this run (Ansible's
        // StrategyBase sets both).
        if call.args.get("cacheable").is_some_and(|v| orc_modules::args::parse_bool(v) == Some(true)) {
            call.host.add_facts(&facts);
        }
        Ok((Status::Ok, json!({"ansible_facts": facts, "changed": false})))
    }
}

/// Ansible 2.19's `validate_variable_name`: an ASCII identifier that is not one of the names
/// Jinja gives a meaning (`true`, `none`, `not`...), so a key a template produced cannot set a
/// variable no template could read.
pub(crate) fn valid_variable_name(name: &str) -> bool {
    const JINJA_KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !JINJA_KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::valid_variable_name;

    #[test]
    fn variable_names_as_ansible_validates_them() {
        for ok in ["a", "_x", "my_key2", "item"] {
            assert!(valid_variable_name(ok), "{ok}");
        }
        for bad in ["", "true", "None", "not", "1a", "a-b", "a.b", "é"] {
            assert!(!valid_variable_name(bad), "{bad}");
        }
    }
}
