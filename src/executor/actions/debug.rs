//! `debug`: prints a message or a variable's value.

use serde_json::{json, Map, Value};

use super::{ActionResult, Arg, Call, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `debug: msg=...` / `debug: var=...`.
#[derive(Debug)]
pub struct Debug;

const ARGS: &[Arg] = &[
    ("msg", false, "The message to print (templated); default \"Hello world!\"."),
    ("var", false, "A variable name or expression whose value is printed instead of msg."),
    ("verbosity", false, "Print only at this -v level or above."),
];

impl EngineAction for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Prints a message or a variable's value in the run's output.",
            notes: "",
            returns: &[("msg", "The message printed."), ("<var>", "With var: the value, under the variable's name.")],
            example: "- ansible.builtin.debug:\n    msg: \"{{ inventory_hostname }} runs {{ ansible_distribution }}\"\n- ansible.builtin.debug:\n    var: result.stdout_lines\n",
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let args = call.args;
        let verbosity = args
            .get("verbosity")
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .unwrap_or(0);
        if u64::from(call.runner.opts.verbosity) < verbosity {
            return Ok((
                Status::Skipped,
                json!({"changed": false, "skipped": true, "skipped_reason": "Verbosity threshold not met."}),
            ));
        }
        if let Some(var) = args.get("var") {
            let name = crate::yaml::display(var);
            let expr = if name.contains("{{") { name.clone() } else { format!("{{{{ {name} }}}}") };
            let value = match call.runner.templar.render_str(&expr, &call.ctx.value()) {
                Ok(v) => v,
                // ansible-core 2.19's words for an undefined variable or attribute.
                Err(e) if e.undefined.is_some() => Value::String(format!("<< error 1 - {} >>", e.msg)),
                // Any other error in the expression fails the task, as in Ansible 2.19.
                Err(e) => return Err(super::fail(e.to_string())),
            };
            let mut m = Map::new();
            m.insert(name, value);
            m.insert("changed".into(), json!(false));
            return Ok((Status::Ok, Value::Object(m)));
        }
        let msg = args.get("msg").cloned().unwrap_or_else(|| json!("Hello world!"));
        Ok((Status::Ok, json!({"msg": msg, "changed": false})))
    }
}
