//! `haproxy` (community.general.haproxy): enables, disables, drains and weighs a backend server
//! through HAProxy's runtime API (`crate::haproxy_api`), reached over a stream the LB host opens
//! to its admin socket: nothing (socat, nc, Python) runs on the host.
//!
//! Query first (`show servers state`: each server's administrative state and weight), then only
//! the `set server ... state ready|drain|maint` and `set weight` that differ. `drain: true` waits
//! for the server's current sessions (`show stat` scur) to reach 0, bounded by wait_retries x
//! wait_interval, before maintenance, as community.general documents it.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{
    ArgError, Decision, FileDiff, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule,
};
use crate::doc::ModuleText;
use crate::haproxy_api::{Admin, HaproxyApi, Server};
use crate::stream::StreamTarget;

/// `haproxy` arguments (community.general's names and defaults).
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct HaproxyArgs {
    /// Name of the HAProxy backend; unset: every backend that has the server.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub backend: Option<String>,
    /// Name of the backend server to change.
    #[serde(deserialize_with = "crate::args::string")]
    pub host: String,
    /// Desired administrative state of the server.
    pub state: State,
    /// Path of HAProxy's admin socket on the LB host (`stats socket ... level admin`).
    #[serde(default = "default_socket", deserialize_with = "crate::args::string")]
    pub socket: String,
    /// After the change, wait until the status is UP (enabled), MAINT (disabled) or DRAIN (drain).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub wait: bool,
    /// Seconds between two checks while waiting.
    #[serde(default = "default_interval", deserialize_with = "crate::args::whole")]
    pub wait_interval: u64,
    /// How many times to check while waiting.
    #[serde(default = "default_retries", deserialize_with = "crate::args::whole")]
    pub wait_retries: u64,
    /// With `state: disabled`: drain first and wait until the server has no sessions, then put
    /// it in maintenance (overrides shutdown_sessions).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub drain: bool,
    /// With `state: disabled`: end the server's sessions at once.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub shutdown_sessions: bool,
    /// The weight to set: 0 to 256, or a percentage (`50%`) of the configured weight.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub weight: Option<String>,
    /// Fail when the server is not found (in `backend`, or in any backend).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub fail_on_not_found: bool,
    /// Also enable or disable the server's agent checks.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub agent: bool,
    /// Also enable or disable the server's health checks.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub health: bool,
}

fn default_socket() -> String {
    "/var/run/haproxy.sock".into()
}

fn default_interval() -> u64 {
    5
}

fn default_retries() -> u64 {
    25
}

/// The desired state of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Takes traffic (`set server ... state ready`).
    Enabled,
    /// In maintenance (`state maint`).
    Disabled,
    /// No new traffic, sessions go on (`state drain`).
    Drain,
}

/// How long one runtime API command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The `haproxy` module.
pub struct Haproxy;

impl TypedModule for Haproxy {
    type Args = HaproxyArgs;
    const NAME: &'static str = "haproxy";
    const COLLECTION: &'static str = "community.general";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Enables, disables, drains and weighs HAProxy backend servers through the runtime API, \
                over the LB host's connection.",
        notes: "orc speaks HAProxy's runtime API itself, over a stream the LB host's connection opens to \
                `socket` (over SSH a direct-streamlocal channel, or through become a relay already on \
                the host: perl or the docker CLI): no socat, nc or Python, and the socket is never \
                exposed. It reads `show servers state` first and sends only the `set server ... state \
                ready|drain|maint` and `set weight` that differ, so it is idempotent (community.general \
                compares status and session counts, which change under traffic). Check mode reports \
                the change and sends nothing; diff mode shows each server's state and weight before \
                and after. `drain: true` (with `state: disabled`) drains, waits until the server's \
                current sessions reach 0 (at most wait_retries x wait_interval; failing otherwise, as \
                community.general does), then sets maintenance. A `backend` that does not exist is an \
                error (community.general silently does nothing); a server found nowhere is an error \
                only with `fail_on_not_found`. `health` and `agent` checks are switched only along \
                with a state change.",
        returns: &[
            ("state_before", "Each matching server before the task: backend, server, status, weight, scur."),
            ("state_after", "The same after the task."),
            ("command", "The runtime API commands sent that change something."),
            ("output", "HAProxy's answer to each of them (empty when it worked)."),
            ("sessions", "The server's current sessions when the task began (summed over its backends)."),
            ("drain_seconds", "With `drain: true`: how long the sessions took to reach 0."),
        ],
        example: "- name: Take this host out of the web backend, waiting for its sessions to end\n  \
                  community.general.haproxy:\n    state: disabled\n    drain: true\n    host: \"{{ inventory_hostname }}\"\n    \
                  backend: web\n    socket: /run/haproxy/admin.sock\n    wait_interval: 1\n    wait_retries: 30\n  \
                  delegate_to: \"{{ item }}\"\n  loop: \"{{ groups['lb'] }}\"\n",
    };

    fn check_args(a: &HaproxyArgs) -> Result<(), ArgError> {
        if let Some(w) = &a.weight {
            parse_weight(w).map_err(|msg| ArgError { msg })?;
        }
        if a.wait_interval == 0 && (a.wait || a.drain) {
            return Err(ArgError { msg: "wait_interval must be at least 1 (seconds)".into() });
        }
        Ok(())
    }

    fn decide(&self, a: &HaproxyArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let (check, diff) = (ctx.check, ctx.diff);
        let target = StreamTarget::Unix(a.socket.clone());
        let conn = &mut *ctx.conn;
        let mut api = HaproxyApi::new(
            || conn.open_stream(&target).map_err(|e| format!("cannot reach HAProxy's runtime API: {e}")),
            COMMAND_TIMEOUT,
        );
        let all = match &a.backend {
            Some(b) => {
                let answer = api.command(&format!("show servers state {b}")).map_err(ModuleError::msg)?;
                if answer.contains("Can't find backend") {
                    let known = api.servers().map_err(ModuleError::msg)?;
                    let mut names: Vec<String> = known.into_iter().map(|s| s.backend).collect();
                    names.dedup();
                    return Err(ModuleError::msg(format!(
                        "HAProxy has no backend '{b}' (its backends with servers: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    )));
                }
                crate::haproxy_api::parse_servers_state(&answer).map_err(ModuleError::msg)?
            }
            None => api.servers().map_err(ModuleError::msg)?,
        };
        let targets: Vec<Server> = all.into_iter().filter(|s| s.name == a.host).collect();
        // The servers' state and weight as the runtime API reports them, one field per server.
        let observed: Map<String, Value> = targets
            .iter()
            .map(|s| (format!("{}/{}", s.backend, s.name), json!({"state": s.admin().word(), "weight": s.weight})))
            .collect();
        if targets.is_empty() {
            let where_ = a.backend.as_deref().unwrap_or("any backend");
            let msg = match &a.backend {
                Some(b) => format!("The specified backend '{b}/{}' was not found!", a.host),
                None => format!("The server '{}' was not found in any backend!", a.host),
            };
            if a.fail_on_not_found {
                return Err(ModuleError::msg(msg));
            }
            let result = ModuleResult::ok()
                .with_msg(format!("server '{}' is not in {where_}: nothing to do", a.host))
                .with("state_before", json!([]))
                .with("state_after", json!([]))
                .with("command", json!([]));
            return Ok(Decision::unchanged(result, observed));
        }
        let before_stats = api.stats().map_err(ModuleError::msg)?;
        let state_before = described(&targets, &before_stats);
        let sessions: u64 = sessions_of(&before_stats, &targets);
        let plan = plan(a, &targets)?;
        let changed = !plan.is_empty();
        let mut result = ModuleResult::changed(changed).with("sessions", sessions);
        if diff && changed {
            result = result.with_diff(state_diff(a, &targets));
        }
        let commands: Vec<String> = plan.iter().flat_map(|p| p.commands.clone()).collect();
        let action = HaproxyAction { plan, targets, state_before: state_before.clone(), result: result.clone() };
        if check {
            let result = result
                .with("state_before", state_before.clone())
                .with("state_after", state_before)
                .with("command", json!([]))
                .with("would_send", commands);
            return Ok(Decision { result, observed, action: Box::new(action) });
        }
        if !changed && !a.wait {
            // Nothing to send and nothing to wait for: the run's own result, the servers as read.
            let result = result
                .with("state_before", state_before.clone())
                .with("state_after", state_before)
                .with("command", json!([]))
                .with("output", json!([]));
            return Ok(Decision { result, observed, action: Box::new(action) });
        }
        // `wait: true` waits for the status even when nothing is sent: applying runs although
        // nothing is reported as changed yet (the applied result says whether anything changed).
        let housekeeping = !result.changed;
        Ok(Decision { result, observed, action: Housekeeping::when(housekeeping, action) })
    }

    fn apply(&self, a: HaproxyArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<HaproxyAction>(Self::NAME)?;
        let HaproxyAction { plan, targets, state_before, mut result } = act;
        let target = StreamTarget::Unix(a.socket.clone());
        let conn = &mut *ctx.conn;
        let mut api = HaproxyApi::new(
            || conn.open_stream(&target).map_err(|e| format!("cannot reach HAProxy's runtime API: {e}")),
            COMMAND_TIMEOUT,
        );
        for step in &plan {
            if step.drain_first {
                if step.server.admin() != Admin::Drain {
                    api.act(&format!("set server {}/{} state drain", step.server.backend, step.server.name))
                        .map_err(ModuleError::msg)?;
                }
                let waited = wait_sessions_gone(&mut api, &step.server, &a)?;
                result = result.with("drain_seconds", (waited.as_secs_f64() * 10.0).round() / 10.0);
            }
            for c in &step.commands {
                api.act(c).map_err(ModuleError::msg)?;
            }
        }
        if a.wait {
            let want = match a.state {
                State::Enabled => "UP",
                State::Disabled => "MAINT",
                State::Drain => "DRAIN",
            };
            for s in &targets {
                wait_status(&mut api, s, want, &a)?;
            }
        }
        let after_servers = api.servers().map_err(ModuleError::msg)?;
        let after: Vec<Server> = after_servers
            .into_iter()
            .filter(|s| targets.iter().any(|t| t.backend == s.backend && t.name == s.name))
            .collect();
        let after_stats = api.stats().map_err(ModuleError::msg)?;
        let command: Vec<String> = plan.iter().flat_map(|p| p.commands.clone()).collect();
        let output = api.answers.clone();
        Ok(result
            .with("state_before", state_before)
            .with("state_after", described(&after, &after_stats))
            .with("command", command)
            .with("output", output))
    }
}

/// What haproxy decided: the steps to take, the servers they concern, and the start of the
/// result (`changed`, `sessions`, the diff) with the servers as they were.
struct HaproxyAction {
    plan: Vec<Step>,
    targets: Vec<Server>,
    state_before: Value,
    result: ModuleResult,
}

/// What to do to one server.
struct Step {
    server: Server,
    /// Drain and wait for its sessions to end before `commands` (disabled with `drain: true`).
    drain_first: bool,
    /// The runtime API commands that bring it to the desired state.
    commands: Vec<String>,
}

/// The steps for the servers whose state or weight differ from what `a` asks.
fn plan(a: &HaproxyArgs, targets: &[Server]) -> Result<Vec<Step>, ModuleError> {
    let mut steps = Vec::new();
    for s in targets {
        let id = format!("{}/{}", s.backend, s.name);
        let admin = s.admin();
        let mut commands = Vec::new();
        let mut drain_first = false;
        match a.state {
            State::Enabled => {
                if admin != Admin::Ready {
                    if a.health {
                        commands.push(format!("enable health {id}"));
                    }
                    if a.agent {
                        commands.push(format!("enable agent {id}"));
                    }
                    commands.push(format!("set server {id} state ready"));
                }
                if let Some(w) = &a.weight {
                    let want = parse_weight(w).map_err(ModuleError::msg)?.absolute(s.initial_weight);
                    if want != s.weight {
                        commands.push(format!("set weight {id} {w}"));
                    }
                }
            }
            State::Disabled if admin != Admin::Maint => {
                drain_first = a.drain;
                if a.agent {
                    commands.push(format!("disable agent {id}"));
                }
                if a.health {
                    commands.push(format!("disable health {id}"));
                }
                commands.push(format!("set server {id} state maint"));
                if a.shutdown_sessions && !a.drain {
                    commands.push(format!("shutdown sessions server {id}"));
                }
            }
            State::Drain if admin != Admin::Drain => commands.push(format!("set server {id} state drain")),
            State::Disabled | State::Drain => {}
        }
        if !commands.is_empty() {
            steps.push(Step { server: s.clone(), drain_first, commands });
        }
    }
    Ok(steps)
}

/// A `weight` argument: absolute (0 to 256) or relative to the configured weight (0 to 100%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Absolute(u32),
    Percent(u32),
}

impl Weight {
    /// The weight HAProxy ends up with for a server configured with `initial`.
    fn absolute(self, initial: u32) -> u32 {
        match self {
            Weight::Absolute(w) => w,
            Weight::Percent(p) => initial * p / 100,
        }
    }
}

fn parse_weight(w: &str) -> Result<Weight, String> {
    let bad = || format!("weight '{w}' is not valid: use 0 to 256, or 0% to 100% of the configured weight");
    match w.trim().strip_suffix('%') {
        Some(p) => p.trim().parse::<u32>().ok().filter(|p| *p <= 100).map(Weight::Percent).ok_or_else(bad),
        None => w.trim().parse::<u32>().ok().filter(|v| *v <= 256).map(Weight::Absolute).ok_or_else(bad),
    }
}

/// The servers as community.general's `state_before`/`state_after` show them (status, weight,
/// scur from `show stat`), with their backend and name.
fn described(servers: &[Server], stats: &[crate::haproxy_api::Stat]) -> Value {
    let rows: Vec<Value> = servers
        .iter()
        .map(|s| {
            let st = stats.iter().find(|t| t.backend == s.backend && t.server == s.name);
            json!({
                "backend": s.backend,
                "server": s.name,
                "status": st.map(|t| t.status.clone()).unwrap_or_default(),
                "weight": st.map(|t| t.weight.clone()).unwrap_or_else(|| s.weight.to_string()),
                "scur": st.map(|t| t.sessions.to_string()).unwrap_or_else(|| "0".into()),
            })
        })
        .collect();
    Value::Array(rows)
}

/// The current sessions of `targets`, summed.
fn sessions_of(stats: &[crate::haproxy_api::Stat], targets: &[Server]) -> u64 {
    stats
        .iter()
        .filter(|t| targets.iter().any(|s| s.backend == t.backend && s.name == t.server))
        .map(|t| t.sessions)
        .sum()
}

/// Each server's administrative state and weight, before and as the task wants them.
fn state_diff(a: &HaproxyArgs, targets: &[Server]) -> FileDiff {
    let mut before = String::new();
    let mut after = String::new();
    for s in targets {
        let admin = s.admin();
        let want_admin = match a.state {
            State::Enabled => Admin::Ready,
            State::Disabled => Admin::Maint,
            State::Drain => Admin::Drain,
        };
        let want_weight = match (&a.state, &a.weight) {
            (State::Enabled, Some(w)) => parse_weight(w).map(|w| w.absolute(s.initial_weight)).unwrap_or(s.weight),
            _ => s.weight,
        };
        before.push_str(&format!("{}/{}: state {} weight {}\n", s.backend, s.name, admin.word(), s.weight));
        after.push_str(&format!("{}/{}: state {} weight {}\n", s.backend, s.name, want_admin.word(), want_weight));
    }
    let socket = &a.socket;
    FileDiff {
        before_header: format!("haproxy {socket} (before)"),
        after_header: format!("haproxy {socket} (after)"),
        before,
        after,
    }
}

/// Waits until `s` has no current session, checking every wait_interval at most wait_retries
/// times; returns how long it took. Failing, says how many sessions were left.
fn wait_sessions_gone(api: &mut HaproxyApi, s: &Server, a: &HaproxyArgs) -> Result<Duration, ModuleError> {
    let start = Instant::now();
    let mut left = 0;
    for i in 0..a.wait_retries.max(1) {
        let stats = api.stats().map_err(ModuleError::msg)?;
        left = sessions_of(&stats, std::slice::from_ref(s));
        if left == 0 {
            return Ok(start.elapsed());
        }
        if i + 1 < a.wait_retries {
            std::thread::sleep(Duration::from_secs(a.wait_interval));
        }
    }
    Err(ModuleError::msg(format!(
        "server {}/{} still has {left} session(s) after {} checks {} s apart: not put in maintenance",
        s.backend, s.name, a.wait_retries, a.wait_interval
    )))
}

/// Waits until the `show stat` status of `s` contains `want` (as community.general does).
fn wait_status(api: &mut HaproxyApi, s: &Server, want: &str, a: &HaproxyArgs) -> Result<(), ModuleError> {
    let mut seen = String::new();
    for i in 0..a.wait_retries.max(1) {
        let stats = api.stats().map_err(ModuleError::msg)?;
        if let Some(t) = stats.iter().find(|t| t.backend == s.backend && t.server == s.name) {
            seen = t.status.clone();
            if seen.contains(want) {
                return Ok(());
            }
        }
        if i + 1 < a.wait_retries {
            std::thread::sleep(Duration::from_secs(a.wait_interval));
        }
    }
    Err(ModuleError::msg(format!(
        "server {}/{} not status '{want}' after {} retries (last status: {seen}). Aborting.",
        s.backend, s.name, a.wait_retries
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(admin_flags: u32, weight: u32) -> Server {
        Server { backend: "app".into(), name: "web1".into(), admin_flags, op_state: 2, weight, initial_weight: 10 }
    }

    fn args(v: serde_json::Value) -> HaproxyArgs {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_what_differs_is_planned() {
        let ready = server(0, 10);
        let a = args(json!({"host": "web1", "state": "enabled"}));
        assert!(plan(&a, std::slice::from_ref(&ready)).unwrap().is_empty(), "already enabled");
        let a = args(json!({"host": "web1", "state": "enabled", "weight": "50%"}));
        let p = plan(&a, std::slice::from_ref(&ready)).unwrap();
        assert_eq!(p[0].commands, ["set weight app/web1 50%"]);
        assert!(plan(&a, &[server(0, 5)]).unwrap().is_empty(), "50% of 10 is already 5");
        let a = args(json!({"host": "web1", "state": "disabled", "drain": true, "shutdown_sessions": true}));
        let p = plan(&a, std::slice::from_ref(&ready)).unwrap();
        assert!(p[0].drain_first);
        assert_eq!(p[0].commands, ["set server app/web1 state maint"], "drain overrides shutdown_sessions");
        assert!(plan(&a, &[server(1, 10)]).unwrap().is_empty(), "already in maintenance");
        let a = args(json!({"host": "web1", "state": "drain"}));
        assert!(plan(&a, &[server(8, 10)]).unwrap().is_empty(), "already draining");
        let a = args(json!({"host": "web1", "state": "enabled", "health": true}));
        assert_eq!(
            plan(&a, &[server(1, 10)]).unwrap()[0].commands,
            ["enable health app/web1", "set server app/web1 state ready"]
        );
    }

    #[test]
    fn weights_as_community_general_accepts_them() {
        assert_eq!(parse_weight("10"), Ok(Weight::Absolute(10)));
        assert_eq!(parse_weight("50%"), Ok(Weight::Percent(50)));
        assert!(parse_weight("257").is_err());
        assert!(parse_weight("101%").is_err());
        assert!(parse_weight("heavy").is_err());
    }

    #[test]
    fn the_diff_shows_state_and_weight() {
        let a = args(json!({"host": "web1", "state": "disabled", "socket": "/run/haproxy/admin.sock"}));
        let d = state_diff(&a, &[server(0, 10)]);
        assert_eq!(d.before, "app/web1: state ready weight 10\n");
        assert_eq!(d.after, "app/web1: state maint weight 10\n");
        assert_eq!(d.before_header, "haproxy /run/haproxy/admin.sock (before)");
    }

    /// A stand-in for HAProxy's runtime API on a Unix socket: one server, app/web1 (configured
    /// weight 10), whose admin flags and weight the `set` commands change; every command seen is
    /// logged.
    fn fake_haproxy(dir: &std::path::Path) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{Read, Write};
        let path = dir.join("admin.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = log.clone();
        std::thread::spawn(move || {
            let (mut flags, mut weight) = (0u32, 10u32);
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { return };
                let mut line = String::new();
                let _ = c.read_to_string(&mut line);
                let line = line.trim().to_string();
                seen.lock().unwrap().push(line.clone());
                let answer = if line.starts_with("show servers state") {
                    format!(
                        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight \
                         srv_iweight\n3 app 1 web1 127.0.0.1 2 {flags} {weight} 10\n\n"
                    )
                } else if line == "show stat" {
                    let status = if flags & 1 != 0 { "MAINT" } else { "UP" };
                    format!("# pxname,svname,scur,status,weight\napp,web1,0,{status},{weight}\n\n")
                } else if let Some(state) = line.strip_prefix("set server app/web1 state ") {
                    flags = match state {
                        "maint" => 1,
                        "drain" => 8,
                        _ => 0,
                    };
                    String::new()
                } else if let Some(w) = line.strip_prefix("set weight app/web1 ") {
                    weight = w.parse().unwrap();
                    String::new()
                } else {
                    "Unknown command.\n".to_string()
                };
                let _ = c.write_all(answer.as_bytes());
            }
        });
        (path.to_str().unwrap().to_string(), log)
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let (socket, log) = fake_haproxy(sb.dir.path());
        let sets = || log.lock().unwrap().iter().filter(|c| c.starts_with("set ")).cloned().collect::<Vec<_>>();
        let args = json!({"host": "web1", "backend": "app", "state": "disabled", "socket": socket});
        let d = sb.decide(&Haproxy, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("app/web1"), Some(&json!({"state": "ready", "weight": 10})));
        assert!(sets().is_empty(), "decide sent {:?}", sets());
        let r = sb.apply(&Haproxy, &args, d);
        assert!(r.changed);
        assert_eq!(r.data["command"], json!(["set server app/web1 state maint"]));
        assert_eq!(sets(), ["set server app/web1 state maint"]);
        assert_eq!(r.data["state_after"][0]["status"], json!("MAINT"));
        let again = sb.decide(&Haproxy, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("app/web1"), Some(&json!({"state": "maint", "weight": 10})));

        // Outside check mode, a run that changes nothing returns what it always did.
        let run = sb.ok(&Haproxy, args.clone());
        assert!(!run.changed);
        assert_eq!(run.data["output"], json!([]));
        assert!(run.data.get("would_send").is_none());
        // Check mode: what would be sent, and nothing sent.
        let enable = json!({"host": "web1", "backend": "app", "state": "enabled", "weight": "5", "socket": socket});
        let check = sb.run(&Haproxy, enable, true, false).unwrap();
        assert!(check.changed);
        assert_eq!(check.data["would_send"], json!(["set server app/web1 state ready", "set weight app/web1 5"]));
        assert_eq!(sets().len(), 1, "check mode sent {:?}", sets());

        // `wait: true` waits for the status even when nothing is sent: outside check mode the
        // decision is applied, and the run reports no change.
        let waits = json!({"host": "web1", "backend": "app", "state": "disabled", "wait": true,
                           "wait_interval": 1, "wait_retries": 1, "socket": socket});
        let wait = sb.decide(&Haproxy, &waits);
        assert!(!wait.result.changed && wait.needs_apply(), "wait: true is applied");
        let run = sb.ok(&Haproxy, waits.clone());
        assert!(!run.changed);
        assert_eq!(run.data["command"], json!([]));
        assert!(!sb.run(&Haproxy, waits, true, false).unwrap().changed);
        assert_eq!(sets().len(), 1);
    }
}
