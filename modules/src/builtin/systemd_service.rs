//! `systemd_service` (alias `systemd`): starts, stops, restarts, reloads, enables, disables, masks
//! and unmasks systemd units with Ansible's decisions, reading the unit's whole state (`systemctl
//! show`, `is-enabled`, its init script) in one remote command.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connection::Connection;
use crate::contract::{ArgError, Decision, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// The `state` a service should be in (`service`, `systemd_service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Running; started when it is not.
    Started,
    /// Not running; stopped when it is.
    Stopped,
    /// Restarted (started when not running). Always a change.
    Restarted,
    /// Reloaded (started when not running). Always a change.
    Reloaded,
}

impl ServiceState {
    /// The name Ansible reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceState::Started => "started",
            ServiceState::Stopped => "stopped",
            ServiceState::Restarted => "restarted",
            ServiceState::Reloaded => "reloaded",
        }
    }
}

/// Which systemd instance to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The system manager (default).
    #[default]
    System,
    /// The calling user's manager (`--user`).
    User,
    /// All users' managers (`--global`).
    Global,
}

/// `systemd_service` arguments.
#[derive(Debug, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct SystemdArgs {
    /// The unit (`.service` may be left out).
    #[serde(default, alias = "service", alias = "unit", deserialize_with = "crate::args::opt_string")]
    pub name: Option<String>,
    /// started, stopped, restarted or reloaded.
    #[serde(default)]
    pub state: Option<ServiceState>,
    /// Start at boot.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub enabled: Option<bool>,
    /// Pass `--force` to systemctl.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub force: Option<bool>,
    /// Masked (cannot be started at all).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub masked: Option<bool>,
    /// Run `systemctl daemon-reload` first.
    #[serde(default, alias = "daemon-reload", deserialize_with = "crate::args::bool")]
    pub daemon_reload: bool,
    /// Run `systemctl daemon-reexec` first.
    #[serde(default, alias = "daemon-reexec", deserialize_with = "crate::args::bool")]
    pub daemon_reexec: bool,
    /// system, user or global.
    #[serde(default)]
    pub scope: Scope,
    /// Do not wait for jobs to finish (`--no-block`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub no_block: bool,
}

/// The `systemd_service` module.
pub struct SystemdService;

impl TypedModule for SystemdService {
    type Args = SystemdArgs;
    const NAME: &'static str = "systemd_service";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Starts, stops, restarts, reloads, enables, disables, masks or unmasks a systemd unit, \
                running systemctl only for what differs.",
        notes: "Also available as `systemd`. One command reads the unit's `systemctl show` properties, \
                `systemctl is-enabled` and whether `/etc/init.d/NAME` exists; `masked` is applied first, \
                then `enabled`, then `state`. `restarted` and `reloaded` always report a change (a \
                stopped unit is started). `daemon_reload` and `daemon_reexec` run before the rest, and \
                not in check mode. Glob patterns in `name` are refused. A unit known neither to \
                systemd nor as an init script fails with `Could not find the requested service NAME: \
                host`. systemctl runs with XDG_RUNTIME_DIR set (to /run/user/UID when unset), as \
                `scope: user` needs.",
        returns: SYSTEMD_RETURNS,
        example: "- name: Start nginx now and at boot\n  ansible.builtin.systemd_service:\n    name: nginx\n    \
                  state: started\n    enabled: true\n    daemon_reload: true\n",
    };

    fn check_args(a: &SystemdArgs) -> Result<(), ArgError> {
        check_systemd_args(a)
    }

    fn decide(&self, a: &SystemdArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        decide_systemd(a, ctx)
    }

    fn apply(&self, a: SystemdArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<SystemdAction>(Self::NAME)?;
        apply_systemd(&a, act, ctx)
    }
}

/// What `systemd_service` and `systemd` return besides `changed`/`msg`.
pub const SYSTEMD_RETURNS: &[(&str, &str)] = &[
    ("name", "The unit given (null when only daemon_reload/daemon_reexec ran)."),
    ("status", "Every property `systemctl show` printed for the unit, as a dict (empty when it printed none)."),
    ("enabled", "With `enabled`: whether the unit is enabled after the task."),
    ("state", "With `state`: `started` or `stopped` (`restarted` and `reloaded` report `started`)."),
];

/// Ansible's `required_one_of` and `required_by` rules for systemd_service.
pub fn check_systemd_args(a: &SystemdArgs) -> Result<(), ArgError> {
    if a.state.is_none() && a.enabled.is_none() && a.masked.is_none() && !a.daemon_reload && !a.daemon_reexec {
        return Err(ArgError {
            msg: "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec".into(),
        });
    }
    if a.name.is_none() {
        for (set, key) in
            [(a.state.is_some(), "state"), (a.enabled.is_some(), "enabled"), (a.masked.is_some(), "masked")]
        {
            if set {
                return Err(ArgError { msg: format!("missing parameter(s) required by '{key}': name") });
            }
        }
    }
    Ok(())
}

/// Ansible's `parse_systemctl_show`: `Key=value` lines; only `Exec*` values in braces may span
/// several lines.
pub fn parse_systemctl_show(text: &str) -> Map<String, Value> {
    let mut parsed = Map::new();
    let mut multival: Vec<String> = Vec::new();
    let mut key: Option<String> = None;
    for line in text.split('\n') {
        match &key {
            None => {
                if let Some((k, v)) = line.split_once('=') {
                    if k.starts_with("Exec") && v.trim_start().starts_with('{') && !v.trim_end().ends_with('}') {
                        multival.push(v.to_string());
                        key = Some(k.to_string());
                        continue;
                    }
                    parsed.insert(k.to_string(), Value::String(v.trim().to_string()));
                }
            }
            Some(k) => {
                multival.push(line.to_string());
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.clone(), Value::String(multival.join("\n").trim().to_string()));
                    multival.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

/// What one query command learnt about a unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitInfo {
    /// `systemctl show` exit status.
    pub show_rc: i32,
    /// `systemctl show` output.
    pub show: String,
    /// `systemctl is-enabled` exit status.
    pub enabled_rc: i32,
    /// `systemctl is-enabled -l` output, trimmed: the state, then (`-l`) the files that make
    /// it so, which Ansible's enablement decision reads ([`is_enabled`]).
    pub enabled_out: String,
    /// `/etc/init.d/NAME` exists.
    pub initd: bool,
    /// A `/etc/rc?.d/S??NAME` link exists.
    pub sysv_enabled: bool,
    /// The host is a chroot or systemd is offline (`SYSTEMD_OFFLINE=1`), as Ansible's
    /// `is_chroot` and the module's environment check decide it.
    pub offline: bool,
}

const SEP: &str = "__ORC_SEP__";

/// Ansible's warning for a unit whose state cannot be read in a chroot or with systemd offline.
const OFFLINE_WARNING: &str =
    "Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.";

/// The systemctl command with the scope, `--no-block` and `--force` switches.
fn systemctl(a: &SystemdArgs) -> String {
    let mut s = String::from("systemctl");
    match a.scope {
        Scope::System => {}
        Scope::User => s.push_str(" --user"),
        Scope::Global => s.push_str(" --global"),
    }
    if a.no_block {
        s.push_str(" --no-block");
    }
    if a.force == Some(true) {
        s.push_str(" --force");
    }
    s
}

/// Environment prefix: a user manager needs XDG_RUNTIME_DIR, as Ansible sets it.
const ENV: &str = "XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR; ";

/// Prints `offline` when Ansible's systemd module would call the target a chroot or systemd
/// offline: `SYSTEMD_OFFLINE=1` or `debian_chroot` in the environment, else `/` is not the root
/// of process 1 (or, where `/proc/1/root` cannot be read, `/` is not the file system's root
/// inode: 256 on btrfs, 128 on xfs, 2 elsewhere), as `is_chroot` in Ansible's
/// module_utils/common/sys_info.py.
const OFFLINE_CHECK: &str = "if [ \"${SYSTEMD_OFFLINE:-}\" = 1 ] || [ -n \"${debian_chroot:-}\" ]; then echo offline; \
     elif p=$(stat -c %d:%i /proc/1/root/. 2>/dev/null); then [ \"$(stat -c %d:%i / 2>/dev/null)\" = \"$p\" ] || echo offline; \
     elif i=$(stat -c %i / 2>/dev/null); then case $(stat -f -c %T / 2>/dev/null) in btrfs) f=256;; xfs) f=128;; *) f=2;; esac; \
     [ \"$i\" = \"$f\" ] || echo offline; fi";

/// The shell code that prints everything `parse_unit_info` reads.
pub fn query_script(a: &SystemdArgs, unit: &str) -> String {
    let sc = systemctl(a);
    let q = quote(unit);
    format!(
        "{ENV}LC_ALL=C; export LC_ALL; {sc} show -- {q} 2>&1; r=$?; echo; echo \"{SEP} $r\"; \
         {sc} is-enabled -l -- {q} 2>/dev/null; r=$?; echo \"{SEP} $r\"; \
         if [ -e /etc/init.d/{q} ]; then echo initd; fi; \
         if ls /etc/rc?.d/S??{q} >/dev/null 2>&1; then echo sysv-enabled; fi; {OFFLINE_CHECK}"
    )
}

/// Parses the output of `query_script`.
pub fn parse_unit_info(out: &str) -> UnitInfo {
    let sep = format!("{SEP} ");
    let mut parts = out.splitn(3, sep.as_str());
    let show = parts.next().unwrap_or("");
    let rest1 = parts.next().unwrap_or("");
    let rest2 = parts.next().unwrap_or("");
    let (rc1, enabled_out) = rest1.split_once('\n').unwrap_or((rest1, ""));
    let (rc2, tail) = rest2.split_once('\n').unwrap_or((rest2, ""));
    UnitInfo {
        show_rc: rc1.trim().parse().unwrap_or(1),
        show: show.strip_suffix('\n').unwrap_or(show).to_string(),
        enabled_rc: rc2.trim().parse().unwrap_or(1),
        enabled_out: enabled_out.trim().to_string(),
        initd: tail.lines().any(|l| l == "initd"),
        sysv_enabled: tail.lines().any(|l| l == "sysv-enabled"),
        offline: tail.lines().any(|l| l == "offline"),
    }
}

fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

const VALID_ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// A failure: Ansible's module fails with `fail_json`, which reports no change even when the
/// failing step was one (systemd target, "Try to mask already masked service").
fn fail(res: ModuleResult, msg: String) -> ModuleError {
    let mut r = res.with_msg(msg);
    r.failed = true;
    r.changed = false;
    ModuleError::Fail(Box::new(r))
}

fn sh(ctx: &mut ModuleCtx, cmd: &str) -> Result<(i32, String, String), ModuleError> {
    let out = ctx.conn.exec(&format!("{ENV}{cmd}"), None)?;
    Ok((out.rc, out.stdout_str(), out.stderr_str()))
}

impl UnitInfo {
    /// The unit file state `is-enabled` names (its first line), as `is-enabled` without `-l`
    /// prints it.
    pub fn enabled_state(&self) -> &str {
        self.enabled_out.lines().next().unwrap_or("").trim()
    }
}

/// Whether `is-enabled -l` output and exit status mean "enabled" the way Ansible decides it:
/// `indirect` or `alias` alone is not enabled, but followed by the files that enable the unit
/// (a socket's `sockets.target.wants` link) it is.
pub fn is_enabled(info: &UnitInfo, scope: Scope) -> bool {
    match info.enabled_rc {
        0 => !matches!(info.enabled_out.as_str(), "enabled-runtime" | "indirect" | "alias"),
        1 => scope == Scope::System && info.initd && !info.enabled_out.ends_with("disabled") && info.sysv_enabled,
        _ => false,
    }
}

/// Re-reads only `is-enabled` (after a mask/unmask changed it).
fn requery_enabled(ctx: &mut ModuleCtx, a: &SystemdArgs, unit: &str, info: &mut UnitInfo) -> Result<(), ModuleError> {
    let out = ctx.conn.exec(&format!("{ENV}{} is-enabled -l -- {} 2>/dev/null", systemctl(a), quote(unit)), None)?;
    info.enabled_rc = out.rc;
    info.enabled_out = out.stdout_str().trim().to_string();
    Ok(())
}

/// What the one query read about the unit, which every decision is made from.
#[derive(Debug, Clone)]
pub struct UnitObserved {
    info: UnitInfo,
    status: Map<String, Value>,
    found: bool,
}

/// What systemd_service decided: the unit state it read. Applying takes the same decisions
/// from it (after a daemon_reload or daemon_reexec it reads the unit again, as the reload can
/// change what systemd reports).
pub struct SystemdAction {
    unit: Option<UnitObserved>,
}

fn first_result(a: &SystemdArgs) -> ModuleResult {
    ModuleResult::ok()
        .with("name", a.name.clone().map(Value::String).unwrap_or(Value::Null))
        .with("status", Value::Object(Map::new()))
}

/// Reads the unit's state (one command); a unit systemd fails to load is a failure.
fn observe_unit(a: &SystemdArgs, unit: &str, ctx: &mut ModuleCtx) -> Result<UnitObserved, ModuleError> {
    let out = ctx.conn.exec(&query_script(a, unit), None)?;
    let info = parse_unit_info(&out.stdout_str());
    let mut status = Map::new();
    let mut is_systemd = false;
    if info.show_rc == 0 && !request_was_ignored(&info.show) {
        status = parse_systemctl_show(&info.show);
        let load = status.get("LoadState").and_then(Value::as_str);
        is_systemd = load.is_some_and(|l| l != "not-found");
        let masked = load == Some("masked");
        if is_systemd && !masked {
            if let Some(err) = status.get("LoadError").and_then(Value::as_str) {
                return Err(fail(first_result(a), format!("Error loading unit file '{unit}': {err}")));
            }
        }
    } else if VALID_ENABLED_STATES.contains(&info.enabled_state()) {
        is_systemd = true;
    }
    let found = is_systemd || info.initd;
    Ok(UnitObserved { info, status, found })
}

/// Decides for systemd_service (and `systemd`, and `service` on systemd), changing nothing: the
/// unit's state is read and check mode's result computed from it. `observed` holds what the
/// decision compared: the load state, and the active state, enablement and mask as the arguments
/// ask about them.
pub fn decide_systemd(a: &SystemdArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
    if let Some(unit) = &a.name {
        for g in ["*", "?", "["] {
            if unit.contains(g) {
                return Err(ModuleError::msg(format!(
                    "This module does not currently support using glob patterns, found '{g}' in service name: {unit}"
                )));
            }
        }
    }
    let mut observed = Map::new();
    let unit = match &a.name {
        Some(unit) => Some(observe_unit(a, unit, ctx)?),
        None => None,
    };
    if let Some(u) = &unit {
        let text = |k: &str| u.status.get(k).cloned().unwrap_or(Value::Null);
        observed.insert("load_state".into(), text("LoadState"));
        observed.insert("found".into(), u.found.into());
        if a.masked.is_some() {
            observed.insert("masked".into(), (u.info.enabled_state() == "masked").into());
        }
        if a.enabled.is_some() {
            observed.insert("unit_file_state".into(), u.info.enabled_state().into());
            observed.insert("enabled".into(), is_enabled(&u.info, a.scope).into());
        }
        if a.state.is_some() {
            observed.insert("active_state".into(), text("ActiveState"));
        }
    }
    let result = act(a, ctx, unit.clone(), true)?;
    // daemon_reload and daemon_reexec run in a real run even when the unit is already as asked.
    let action = Housekeeping::when(a.daemon_reload || a.daemon_reexec, SystemdAction { unit });
    Ok(Decision { result, observed, action })
}

/// Carries out what `decide_systemd` decided and returns the run's result.
pub fn apply_systemd(a: &SystemdArgs, act_: SystemdAction, ctx: &mut ModuleCtx) -> RunResult {
    let sc = systemctl(a);
    let mut unit = act_.unit;
    for (want, verb) in [(a.daemon_reload, "daemon-reload"), (a.daemon_reexec, "daemon-reexec")] {
        if want {
            let (rc, _, err) = sh(ctx, &format!("{sc} {verb}"))?;
            if rc != 0 {
                return Err(fail(first_result(a), format!("failure {rc} during {verb}: {err}")));
            }
        }
    }
    if a.daemon_reload || a.daemon_reexec {
        if let Some(name) = &a.name {
            unit = Some(observe_unit(a, name, ctx)?);
        }
    }
    act(a, ctx, unit, false)
}

/// Ansible's decisions on mask, enablement and state from the unit's state; with `check` off,
/// systemctl carries each out (reading the enablement again after a mask or unmask).
fn act(a: &SystemdArgs, ctx: &mut ModuleCtx, unit_state: Option<UnitObserved>, check: bool) -> RunResult {
    let sc = systemctl(a);
    let mut res = first_result(a);
    let (Some(unit), Some(obs)) = (a.name.clone(), unit_state) else { return Ok(res) };
    let UnitObserved { mut info, status, found } = obs;
    res = res.with("status", Value::Object(status.clone()));
    let missing = || format!("Could not find the requested service {unit}: host");

    if let Some(want) = a.masked {
        let masked = info.enabled_state() == "masked";
        if masked != want {
            res.changed = true;
            let action = if want { "mask" } else { "unmask" };
            if !check {
                let (rc, _, err) = sh(ctx, &format!("{sc} {action} -- {}", quote(&unit)))?;
                if rc != 0 {
                    if !found {
                        return Err(fail(res, missing()));
                    }
                    return Err(fail(res, format!("Failed to {action} the service ({unit}): {}", err.trim())));
                }
                if a.enabled.is_some() {
                    requery_enabled(ctx, a, &unit, &mut info)?;
                }
            }
        }
    }
    if let Some(want) = a.enabled {
        if !found {
            return Err(fail(res, missing()));
        }
        let enabled = is_enabled(&info, a.scope);
        res = res.with("enabled", enabled);
        if enabled != want {
            res.changed = true;
            let action = if want { "enable" } else { "disable" };
            if !check {
                let (rc, o, err) = sh(ctx, &format!("{sc} {action} -- {}", quote(&unit)))?;
                if rc != 0 {
                    return Err(fail(res, format!("Unable to {action} service {unit}: {o}{err}")));
                }
            }
            res = res.with("enabled", !enabled);
        }
    }

    if let Some(state) = a.state {
        if !found {
            return Err(fail(res, missing()));
        }
        let active = status.get("ActiveState").and_then(Value::as_str).map(str::to_string);
        let Some(active) = active else {
            // systemctl show says nothing without a running systemd: Ansible then only warns.
            if info.offline {
                return Ok(res.with("state", state.as_str()).with("warnings", vec![OFFLINE_WARNING]));
            }
            return Err(fail(res, "Service is in unknown state".into()));
        };
        let running = active == "active" || active == "activating";
        let mut reported = state.as_str();
        let action = match state {
            ServiceState::Started => (!running).then_some("start"),
            ServiceState::Stopped => (running || active == "deactivating").then_some("stop"),
            ServiceState::Restarted | ServiceState::Reloaded => {
                reported = "started";
                Some(if !running {
                    "start"
                } else if state == ServiceState::Restarted {
                    "restart"
                } else {
                    "reload"
                })
            }
        };
        res = res.with("state", reported);
        if let Some(action) = action {
            res.changed = true;
            if !check {
                let (rc, _, err) = sh(ctx, &format!("{sc} {action} -- {}", quote(&unit)))?;
                if rc != 0 {
                    return Err(fail(res, format!("Unable to {action} service {unit}: {err}")));
                }
            }
        }
    }
    Ok(res)
}

/// Whether the host is run by systemd (`/run/systemd/system` exists), as Ansible's `service_mgr`
/// fact decides for the `service` action.
pub fn host_has_systemd(conn: &mut dyn Connection) -> Result<bool, ModuleError> {
    Ok(conn.exec("[ -d /run/systemd/system ]", None)?.rc == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn show_output_parses_like_ansible() {
        let text = "Id=x.service\nDescription={weird\nExecStart={ path=/bin/true ; argv[]=/bin/true ;\n more }\nActiveState=active\n";
        let m = parse_systemctl_show(text);
        assert_eq!(m["Description"], json!("{weird"));
        assert_eq!(m["ExecStart"], json!("{ path=/bin/true ; argv[]=/bin/true ;\n more }"));
        assert_eq!(m["ActiveState"], json!("active"));
    }

    #[test]
    fn query_output_splits_into_its_parts() {
        let out = format!("LoadState=loaded\nActiveState=inactive\n\n{SEP} 0\ndisabled\n{SEP} 1\ninitd\n");
        let i = parse_unit_info(&out);
        assert_eq!(i.show, "LoadState=loaded\nActiveState=inactive\n");
        assert_eq!((i.show_rc, i.enabled_rc, i.enabled_out.as_str()), (0, 1, "disabled"));
        assert!(i.initd && !i.sysv_enabled);
    }

    #[test]
    fn enabled_decision_follows_ansible() {
        let mut i = UnitInfo { enabled_rc: 0, enabled_out: "static".into(), ..Default::default() };
        assert!(is_enabled(&i, Scope::System));
        i.enabled_out = "indirect".into();
        assert!(!is_enabled(&i, Scope::System));
        // systemd_service target, "Enable indirect service 2": `is-enabled -l` lists the link
        // that enables an indirect unit once it is enabled.
        i.enabled_out = "indirect\n  /etc/systemd/system/sockets.target.wants/dummy.socket".into();
        assert!(is_enabled(&i, Scope::System));
        assert_eq!(i.enabled_state(), "indirect");
        let sysv = UnitInfo { enabled_rc: 1, initd: true, sysv_enabled: true, ..Default::default() };
        assert!(is_enabled(&sysv, Scope::System));
        assert!(!is_enabled(&sysv, Scope::User));
    }

    #[test]
    fn argument_rules() {
        let none = SystemdArgs::default();
        assert!(check_systemd_args(&none).unwrap_err().msg.contains("one of the following is required"));
        let no_name = SystemdArgs { enabled: Some(true), ..Default::default() };
        assert_eq!(check_systemd_args(&no_name).unwrap_err().msg, "missing parameter(s) required by 'enabled': name");
        let reload = SystemdArgs { daemon_reload: true, ..Default::default() };
        assert!(check_systemd_args(&reload).is_ok());
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let fake = crate::builtin::test_support::fake_systemctl(&mut sb, "inactive", "disabled");
        let read = |f: &str| std::fs::read_to_string(fake.path().join(f)).unwrap();
        let args = json!({"name": "orc-test.service", "state": "started", "enabled": true});
        let d = sb.decide(&SystemdService, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("active_state"), Some(&json!("inactive")));
        assert_eq!(d.observed.get("unit_file_state"), Some(&json!("disabled")));
        assert_eq!(d.observed.get("enabled"), Some(&json!(false)));
        assert_eq!(d.observed.get("load_state"), Some(&json!("loaded")));
        assert_eq!(read("log"), "show orc-test.service\nis-enabled orc-test.service\n", "decide acted");
        let r = sb.apply(&SystemdService, &args, d);
        assert!(r.changed);
        assert_eq!((r.data["enabled"].clone(), r.data["state"].clone()), (json!(true), json!("started")));
        assert_eq!((read("active"), read("enabled")), ("active\n".into(), "enabled\n".into()));
        let again = sb.decide(&SystemdService, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("active_state"), Some(&json!("active")));
    }

    #[test]
    fn daemon_reload_runs_although_nothing_else_changes() {
        // Ansible reloads without reporting a change; the engine still applies such a decision.
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let fake = crate::builtin::test_support::fake_systemctl(&mut sb, "active", "enabled");
        let args = json!({"name": "orc-test.service", "state": "started", "daemon_reload": true});
        let d = sb.decide(&SystemdService, &args);
        assert!(!d.result.changed && d.needs_apply());
        let log = || std::fs::read_to_string(fake.path().join("log")).unwrap();
        assert!(!log().contains("daemon-reload"), "decide reloaded");
        assert!(!sb.apply(&SystemdService, &args, d).changed);
        assert!(log().contains("daemon-reload"));
        let r = sb.run(&SystemdService, args.clone(), true, false).unwrap();
        assert!(!r.changed);
        assert_eq!(log().matches("daemon-reload").count(), 1, "check mode reloaded");
    }

    #[test]
    fn offline_systemd_warns_instead_of_failing() {
        // systemctl show fails when systemd is offline (a chroot, SYSTEMD_OFFLINE=1): Ansible
        // warns and reports the requested state (systemd target, "systemd is offline").
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let fake = crate::builtin::test_support::fake_systemctl(&mut sb, "active", "enabled");
        let script = fake.path().join("systemctl");
        let text = std::fs::read_to_string(&script).unwrap();
        let offline =
            "#!/bin/sh\nif [ \"$1\" = show ] && [ \"$SYSTEMD_OFFLINE\" = 1 ]; then echo 'offline' >&2; exit 1; fi\n";
        std::fs::write(&script, text.replacen("#!/bin/sh\n", offline, 1)).unwrap();
        let args = json!({"name": "orc-test.service", "state": "started"});
        assert!(sb.run(&SystemdService, args.clone(), false, false).is_ok_and(|r| r.data.get("warnings").is_none()));
        sb.conn.env.push(("SYSTEMD_OFFLINE".into(), "1".into()));
        let r = sb.run(&SystemdService, args, false, false).unwrap();
        assert!(!r.changed);
        assert_eq!(r.data["state"], json!("started"));
        assert_eq!(r.data["warnings"], json!([OFFLINE_WARNING]));
    }

    #[test]
    fn a_failed_step_reports_no_change() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let fake = crate::builtin::test_support::fake_systemctl(&mut sb, "inactive", "enabled");
        let script = fake.path().join("systemctl");
        let text = std::fs::read_to_string(&script).unwrap();
        let failing = "#!/bin/sh\nif [ \"$1\" = mask ]; then echo 'File exists.' >&2; exit 1; fi\n";
        std::fs::write(&script, text.replacen("#!/bin/sh\n", failing, 1)).unwrap();
        let args = json!({"name": "orc-test.service", "masked": true});
        match sb.run(&SystemdService, args, false, false) {
            Err(ModuleError::Fail(r)) => {
                assert!(!r.changed && r.failed);
                assert!(r.msg.as_deref().is_some_and(|m| m.starts_with("Failed to mask")), "{:?}", r.msg);
            }
            other => panic!("{other:?}"),
        }
    }
}
