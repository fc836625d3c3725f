//! `async_status`: asks about a task started with `async:` and `poll: 0` (executor/jobs.rs).

use serde_json::json;

use super::{fail, ActionResult, Arg, Call, EngineAction};
use crate::executor::jobs::Job;
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `async_status: jid=JOB_ID`.
#[derive(Debug)]
pub struct AsyncStatus;

const ARGS: &[Arg] = &[
    ("jid", true, "The job's id: the `ansible_job_id` the async task registered."),
    ("mode", false, "status (the default) reports on the job; cleanup forgets it."),
];

impl EngineAction for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Reports on a task started in the background with async and poll: 0.",
            notes: "Jobs run in orc's process, over a connection of their own, and end with the run.",
            returns: &[
                ("finished", "Whether the job ended (with the module's own result then)."),
                ("started", "Always true."),
                ("ansible_job_id", "The job's id."),
            ],
            example: "- ansible.builtin.async_status:\n    jid: \"{{ job.ansible_job_id }}\"\n  register: result\n  until: result.finished\n  retries: 30\n  delay: 2\n",
        }
    }

    fn fails_as_module(&self) -> bool {
        true
    }

    fn check(&self, args: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
        match args.get("mode").and_then(|m| m.as_str()) {
            None | Some("status" | "cleanup") => Ok(()),
            Some(other) => Err(format!("async_status: mode must be status or cleanup, not '{other}'")),
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let jid = call.args.get("jid").map(crate::yaml::display).unwrap_or_default();
        let cleanup = call.args.get("mode").and_then(|m| m.as_str()) == Some("cleanup");
        let jobs = &call.runner.jobs;
        let Some(job) = (if cleanup { jobs.remove(&jid) } else { jobs.get(&jid) }) else {
            // Ansible's shape, which has a command's output keys.
            let mut r = fail("could not find job");
            for (k, v) in [
                ("ansible_job_id", json!(jid)),
                ("started", json!(true)),
                ("finished", json!(true)),
                ("stderr", json!("")),
                ("stderr_lines", json!([])),
                ("stdout", json!("")),
                ("stdout_lines", json!([])),
            ] {
                r[k] = v;
            }
            return Err(r);
        };
        if cleanup {
            return Ok((Status::Ok, json!({"ansible_job_id": jid, "changed": false, "erased": jid})));
        }
        let done = crate::executor::async_task::status_of(Job::shaped(&jid, job.result()));
        match done.status {
            Status::Failed { .. } | Status::Unreachable => Err(done.result),
            status => Ok((status, done.result)),
        }
    }
}
