//! Tasks run in the background (`async:`): each job runs its module on a thread of its own, over
//! a connection of its own (the host's pooled one stays free for the following tasks), until it
//! ends or its `async:` time is up. `poll: N` waits for it, checking every N seconds; `poll: 0`
//! leaves it running and `async_status` asks about it later. Jobs live in orc's process: they end
//! with the run (Ansible's keep running on the host).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One background job.
#[derive(Debug)]
pub struct Job {
    /// Its module's result once it ended (`changed`, `failed`... as a task result).
    result: Mutex<Option<Value>>,
    /// When it started.
    pub started: Instant,
}

impl Job {
    /// The result, if the job ended.
    pub fn result(&self) -> Option<Value> {
        self.result.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records the job's end.
    pub fn finish(&self, result: Value) {
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    }

    /// A result as Ansible shapes an async task's: the module's, with the job's id and state.
    pub fn shaped(jid: &str, result: Option<Value>) -> Value {
        match result {
            Some(Value::Object(mut m)) => {
                m.insert("ansible_job_id".into(), json!(jid));
                m.insert("finished".into(), json!(true));
                m.insert("started".into(), json!(true));
                Value::Object(m)
            }
            Some(other) => other,
            None => json!({"ansible_job_id": jid, "changed": false, "finished": false, "started": true}),
        }
    }
}

/// The run's background jobs, by id.
#[derive(Debug, Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl Jobs {
    /// A new job: its id (Ansible's shape, `j<digits>.<pid>`) and the job.
    pub fn start(&self) -> (String, Arc<Job>) {
        let jid = format!("j{}.{}", fastrand::u64(100_000_000_000..1_000_000_000_000), std::process::id());
        let job = Arc::new(Job { result: Mutex::new(None), started: Instant::now() });
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).insert(jid.clone(), job.clone());
        (jid, job)
    }

    /// The job `jid`, if this run started it.
    pub fn get(&self, jid: &str) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).get(jid).cloned()
    }

    /// Forgets the job `jid` (`async_status: mode=cleanup`).
    pub fn remove(&self, jid: &str) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).remove(jid)
    }
}

/// How long past its deadline a job may take to report that it was ended.
const GRACE: Duration = Duration::from_secs(5);

/// Waits for `job` as `poll: N` does: every `poll` seconds it looks; `on_poll` is told each time
/// the job is still running. At the job's deadline (`limit`) its command is ended
/// (executor/async_task.rs), so the last look waits for that result, up to [`GRACE`]. `None`
/// when no result came (or the run was interrupted).
pub fn wait(job: &Job, poll: Duration, limit: Duration, mut on_poll: impl FnMut()) -> Option<Value> {
    let poll = poll.max(Duration::from_millis(10));
    loop {
        let left = limit.saturating_sub(job.started.elapsed());
        if left.is_zero() {
            return wait_until(job, limit + GRACE);
        }
        std::thread::sleep(poll.min(left));
        if let Some(r) = job.result() {
            return Some(r);
        }
        if crate::interrupt::interrupted() {
            return None;
        }
        if job.started.elapsed() < limit {
            on_poll();
        }
    }
}

/// The job's result, looked for until `deadline` after its start.
fn wait_until(job: &Job, deadline: Duration) -> Option<Value> {
    while job.started.elapsed() < deadline && !crate::interrupt::interrupted() {
        if let Some(r) = job.result() {
            return Some(r);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    job.result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_ending_before_its_limit_is_waited_for_and_polled() {
        let jobs = Jobs::default();
        let (jid, job) = jobs.start();
        assert!(jid.starts_with('j') && jid.contains('.'));
        let worker = job.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(120));
            worker.finish(json!({"changed": true}));
        });
        let mut polls = 0;
        let got = wait(&job, Duration::from_millis(50), Duration::from_secs(30), || polls += 1);
        t.join().unwrap();
        assert_eq!(got, Some(json!({"changed": true})));
        assert!(polls >= 1, "still running at the first look");
        assert!(jobs.get(&jid).is_some());
        assert!(jobs.remove(&jid).is_some() && jobs.get(&jid).is_none());
    }

    #[test]
    fn the_last_look_waits_past_the_deadline_for_the_ended_jobs_result() {
        let jobs = Jobs::default();
        let (_, job) = jobs.start();
        // `limit` zero: straight to the last look, which ends after GRACE with nothing.
        let mut polls = 0;
        let job2 = job.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            job2.finish(json!({"late": true}));
        });
        assert_eq!(wait(&job, Duration::from_secs(1), Duration::ZERO, || polls += 1), Some(json!({"late": true})));
        t.join().unwrap();
        assert_eq!(polls, 0);
    }

    #[test]
    fn shaped_results_carry_the_job_id_and_state() {
        assert_eq!(
            Job::shaped("j1.2", None),
            json!({"ansible_job_id": "j1.2", "changed": false, "finished": false, "started": true})
        );
        assert_eq!(
            Job::shaped("j1.2", Some(json!({"rc": 0}))),
            json!({"ansible_job_id": "j1.2", "finished": true, "started": true, "rc": 0})
        );
    }
}
