//! `assert`: fails the host unless every condition holds.

use serde_json::{json, Value};

use super::{fail, ActionResult, Arg, Call, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `assert: that=[...]`.
#[derive(Debug)]
pub struct Assert;

const ARGS: &[Arg] = &[
    ("that", true, "Conditions (without {{ }}), all of which must hold."),
    ("fail_msg", false, "The message when a condition fails (alias msg)."),
    ("msg", false, "Same as fail_msg."),
    ("success_msg", false, "The message when all hold."),
    ("quiet", false, "Print less on success."),
];

impl EngineAction for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Fails the host unless every condition holds.",
            notes: "",
            returns: &[("assertion", "The condition that failed."), ("evaluated_to", "What it evaluated to.")],
            example: "- ansible.builtin.assert:\n    that:\n      - app_port | int > 1024\n    fail_msg: app_port must be above 1024\n",
        }
    }

    fn untemplated_args(&self) -> &'static [&'static str] {
        &["that"]
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let args = call.args;
        // `that` comes untemplated: a whole template is resolved only when it gives a list, as
        // Ansible's assert `finalize_task_arg`; otherwise each condition is evaluated as written.
        let resolved = match args.get("that") {
            Some(Value::String(s)) if crate::template::is_single_expression(s) => {
                match call.runner.templar.render_str(s, &call.ctx.value()) {
                    Ok(Value::Array(a)) => Some(Value::Array(a)),
                    _ => None,
                }
            }
            _ => None,
        };
        let that: Vec<Value> = match resolved.as_ref().or(args.get("that")) {
            Some(Value::Array(a)) => a.clone(),
            Some(v) => vec![v.clone()],
            None => return Err(fail("conditional required in \"that\" string")),
        };
        let quiet = args.get("quiet").and_then(orc_modules::args::parse_bool).unwrap_or(false);
        for cond in &that {
            let ok = crate::executor::run_task::eval_condition(&call.runner.templar, cond, call.ctx).map_err(|e| {
                fail(format!("The conditional check '{}' failed. The error was: {e}", crate::yaml::display(cond)))
            })?;
            if !ok {
                let msg = args
                    .get("fail_msg")
                    .or_else(|| args.get("msg"))
                    .cloned()
                    .unwrap_or_else(|| json!("Assertion failed"));
                return Err(
                    json!({"assertion": cond, "changed": false, "evaluated_to": false, "failed": true, "msg": msg}),
                );
            }
        }
        let mut r = json!({"changed": false, "msg": args.get("success_msg").cloned().unwrap_or_else(|| json!("All assertions passed"))});
        if quiet {
            r["msg"] = json!("All assertions passed");
        }
        Ok((Status::Ok, r))
    }
}
