//! The engine actions' arguments and documentation, in one table: the up-front check
//! (`preflight`) accepts exactly the arguments listed here, and `orc doc` prints them, so the two
//! cannot disagree. Modules proper document themselves (orc-modules' `doc`).

use orc_modules::doc::{ArgDoc, ModuleDoc, ModuleText};

/// One argument of an engine action: name, required, description.
type Arg = (&'static str, bool, &'static str);

/// An engine action as documented.
struct Spec {
    name: &'static str,
    /// `None`: any argument names (set_fact's are the variables it sets).
    args: Option<&'static [Arg]>,
    text: ModuleText,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "debug",
        args: Some(&[
            ("msg", false, "The message to print (templated); default \"Hello world!\"."),
            ("var", false, "A variable name or expression whose value is printed instead of msg."),
            ("verbosity", false, "Print only at this -v level or above."),
        ]),
        text: ModuleText {
            short: "Prints a message or a variable's value in the run's output.",
            notes: "",
            returns: &[("msg", "The message printed."), ("<var>", "With var: the value, under the variable's name.")],
            example: "- ansible.builtin.debug:\n    msg: \"{{ inventory_hostname }} runs {{ ansible_distribution }}\"\n- ansible.builtin.debug:\n    var: result.stdout_lines\n",
        },
    },
    Spec {
        name: "set_fact",
        args: None,
        text: ModuleText {
            short: "Sets variables for this host, at set_fact precedence (above play and role vars).",
            notes: "Every argument is a variable to set (the value is templated). `cacheable` is accepted and has no effect: orc keeps no fact cache.",
            returns: &[("ansible_facts", "The variables set.")],
            example: "- ansible.builtin.set_fact:\n    app_url: \"http://{{ ansible_host }}:{{ app_port }}\"\n",
        },
    },
    Spec {
        name: "assert",
        args: Some(&[
            ("that", true, "Conditions (without {{ }}), all of which must hold."),
            ("fail_msg", false, "The message when a condition fails (alias msg)."),
            ("msg", false, "Same as fail_msg."),
            ("success_msg", false, "The message when all hold."),
            ("quiet", false, "Print less on success."),
        ]),
        text: ModuleText {
            short: "Fails the host unless every condition holds.",
            notes: "",
            returns: &[("assertion", "The condition that failed."), ("evaluated_to", "What it evaluated to.")],
            example: "- ansible.builtin.assert:\n    that:\n      - app_port | int > 1024\n    fail_msg: app_port must be above 1024\n",
        },
    },
    Spec {
        name: "fail",
        args: Some(&[("msg", false, "Why the host fails.")]),
        text: ModuleText {
            short: "Fails the host with a message (usually under a when).",
            notes: "",
            returns: &[],
            example: "- ansible.builtin.fail:\n    msg: this playbook needs Debian\n  when: ansible_os_family != 'Debian'\n",
        },
    },
    Spec {
        name: "meta",
        args: Some(&[(
            "_raw_params",
            true,
            "The action: flush_handlers, end_play, end_host, noop, clear_host_errors, clear_facts, refresh_inventory.",
        )]),
        text: ModuleText {
            short: "Acts on the run itself: runs notified handlers now, ends the play or the host...",
            notes: "",
            returns: &[],
            example: "- ansible.builtin.meta: flush_handlers\n",
        },
    },
    Spec {
        name: "include_vars",
        args: Some(&[
            ("file", false, "The YAML or JSON file to load (also the free-form value)."),
            ("_raw_params", false, "The file, written as `include_vars: file.yml`."),
            ("name", false, "Put the variables under this one variable instead of at the top level."),
        ]),
        text: ModuleText {
            short: "Loads variables from a file at run time, for this host.",
            notes: "",
            returns: &[("ansible_facts", "The variables loaded.")],
            example: "- ansible.builtin.include_vars: \"{{ ansible_distribution }}.yml\"\n",
        },
    },
];

/// The `meta:` actions orc carries out.
pub const META_ACTIONS: &[&str] =
    &["flush_handlers", "end_play", "end_host", "noop", "clear_host_errors", "clear_facts", "refresh_inventory"];

/// The argument names an engine action accepts (`None`: any, as set_fact's variables; also for a
/// name that is no engine action).
pub fn action_args(short: &str) -> Option<Vec<&'static str>> {
    let spec = SPECS.iter().find(|s| s.name == short)?;
    spec.args.map(|args| args.iter().map(|(n, _, _)| *n).collect())
}

/// The engine actions' short names, in the order `orc doc --list` shows them.
pub fn names() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.name).collect()
}

/// What `orc doc NAME` shows for an engine action.
pub fn doc(short: &str) -> Option<ModuleDoc> {
    let spec = SPECS.iter().find(|s| s.name == short)?;
    let args = spec
        .args
        .unwrap_or(&[])
        .iter()
        .filter(|(n, _, _)| *n != "_raw_params" || spec.name == "meta")
        .map(|(name, required, description)| ArgDoc {
            name: if *name == "_raw_params" { "free form" } else { name },
            aliases: &[],
            description,
            kind: if *name == "that" { "list of str".into() } else { "str".into() },
            choices: if spec.name == "meta" { META_ACTIONS.to_vec() } else { Vec::new() },
            suboptions: Vec::new(),
            required: *required,
            default: None,
        })
        .collect();
    Some(ModuleDoc { name: spec.name, collection: "ansible.builtin", text: spec.text, args, open: spec.args.is_none() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_action_is_documented() {
        for name in super::super::actions::ENGINE_ACTIONS {
            let d = doc(name).unwrap_or_else(|| panic!("{name} has no doc"));
            assert!(!d.text.short.is_empty() && d.text.example.contains(name), "{name}");
        }
        assert_eq!(action_args("debug"), Some(vec!["msg", "var", "verbosity"]));
        assert_eq!(action_args("set_fact"), None);
    }
}
