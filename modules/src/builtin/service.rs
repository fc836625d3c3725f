//! `service`: the init-system-neutral service module. On a host run by systemd it is
//! `systemd_service` (as Ansible's `service` action dispatches on the `service_mgr` fact, dropping
//! `pattern`, `runlevel`, `sleep` and `arguments`); elsewhere it drives SysV init scripts with
//! `service NAME ACTION` and `update-rc.d`/`chkconfig`.

use serde::Deserialize;

use serde_json::Map;

use crate::builtin::systemd_service::{
    apply_systemd, decide_systemd, host_has_systemd, Scope, ServiceState, SystemdAction, SystemdArgs,
};
use crate::contract::{ArgError, Decision, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `service` arguments.
#[derive(Debug, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct ServiceArgs {
    /// The service.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// started, stopped, restarted or reloaded.
    #[serde(default)]
    pub state: Option<ServiceState>,
    /// Start at boot.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub enabled: Option<bool>,
    /// Seconds between stop and start when restarting (SysV only).
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub sleep: Option<u64>,
    /// A process pattern (`pgrep -f`) telling whether the service runs when its status lies (SysV only).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub pattern: Option<String>,
    /// Runlevel (accepted; SysV scripts use their own LSB defaults).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub runlevel: Option<String>,
    /// Extra arguments for the init script (SysV only).
    #[serde(default, alias = "args", deserialize_with = "crate::args::opt_string")]
    pub arguments: Option<String>,
    /// The service manager module to use: auto (default), systemd, sysvinit, service.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub r#use: Option<String>,
    /// Run `systemctl daemon-reload` first (systemd only, as `systemd_service`'s).
    #[serde(default, alias = "daemon-reload", deserialize_with = "crate::args::opt_bool")]
    pub daemon_reload: Option<bool>,
    /// Run `systemctl daemon-reexec` first (systemd only).
    #[serde(default, alias = "daemon-reexec", deserialize_with = "crate::args::opt_bool")]
    pub daemon_reexec: Option<bool>,
    /// Pass `--force` to systemctl (systemd only).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub force: Option<bool>,
    /// Masked (systemd only).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub masked: Option<bool>,
    /// system, user or global (systemd only).
    #[serde(default)]
    pub scope: Option<Scope>,
    /// Do not wait for jobs to finish (systemd only).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub no_block: Option<bool>,
}

impl ServiceArgs {
    /// The systemd-only arguments given, by name: Ansible's service action passes them on to the
    /// systemd module, and the SysV module refuses them.
    fn systemd_only(&self) -> Vec<&'static str> {
        [
            ("daemon_reload", self.daemon_reload.is_some()),
            ("daemon_reexec", self.daemon_reexec.is_some()),
            ("force", self.force.is_some()),
            ("masked", self.masked.is_some()),
            ("scope", self.scope.is_some()),
            ("no_block", self.no_block.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, given)| given.then_some(n))
        .collect()
    }
}

/// The `service` module.
pub struct Service;

impl TypedModule for Service {
    type Args = ServiceArgs;
    const NAME: &'static str = "service";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Starts, stops, restarts or reloads a service and enables or disables it at boot, on systemd or SysV \
                init.",
        notes: "On a host run by systemd (/run/systemd/system exists, or `use: systemd`) this is `systemd_service` \
                with `name`, `state`, `enabled` and the systemd-only `daemon_reload`, `daemon_reexec`, `force`, \
                `masked`, `scope` and `no_block` (refused on SysV, as Ansible's sysvinit module does); `pattern`, `sleep`, `arguments` and `runlevel` are then ignored. \
                Otherwise, or with `use: sysvinit` or `service`, it drives /etc/init.d/NAME: `service NAME status` \
                (or `pgrep -f` with `pattern`) tells whether it runs, `service NAME ACTION` acts, and update-rc.d or \
                chkconfig sets the boot links. `restarted` always reports a change; `reloaded` starts a stopped \
                service. Other service managers (OpenRC, upstart, BSD) are not supported. Check mode reports without \
                acting.",
        returns: &[
            ("name", "The service."),
            ("state", "With `state`: `started` or `stopped` (`restarted` and `reloaded` report `started`)."),
            ("enabled", "With `enabled`: the value asked for."),
            ("status", "On systemd: every property `systemctl show` printed for the unit."),
        ],
        example: "- name: Keep cron running\n  \
                  ansible.builtin.service:\n    \
                  name: cron\n    \
                  state: started\n    \
                  enabled: true\n",
    };

    fn check_args(a: &ServiceArgs) -> Result<(), ArgError> {
        let systemd_action = a.masked.is_some() || a.daemon_reload == Some(true) || a.daemon_reexec == Some(true);
        if a.state.is_none() && a.enabled.is_none() && !systemd_action {
            return Err(ArgError { msg: "one of the following is required: state, enabled".into() });
        }
        match a.r#use.as_deref() {
            None | Some("auto" | "systemd" | "sysvinit" | "service") => Ok(()),
            Some(other) => Err(ArgError {
                msg: format!("use: '{other}' is not a service manager orc supports; valid values are auto, systemd, sysvinit, service"),
            }),
        }
    }

    fn decide(&self, a: &ServiceArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let systemd = match a.r#use.as_deref() {
            Some("systemd") => true,
            Some("sysvinit" | "service") => false,
            _ => host_has_systemd(ctx.conn)?,
        };
        if systemd {
            let d = decide_systemd(&systemd_args(a), ctx)?;
            let needs = d.needs_apply();
            let observed = d.observed.clone();
            let (result, act) = d.take_action::<SystemdAction>(Self::NAME)?;
            let action = Housekeeping::when(needs, ServiceAction::Systemd(act));
            return Ok(Decision { result, observed, action });
        }
        let only = a.systemd_only();
        if !only.is_empty() {
            return Err(ModuleError::msg(format!(
                "Unsupported parameters for (sysvinit) module: {} (systemd only)",
                only.join(", ")
            )));
        }
        let obs = observe_sysv(a, ctx)?;
        let mut observed = Map::new();
        observed.insert("running".into(), obs.running.into());
        observed.insert("enabled".into(), obs.enabled.into());
        let result = act_sysv(a, ctx, &obs, true)?;
        Ok(Decision { result, observed, action: Box::new(ServiceAction::Sysv(obs)) })
    }

    fn apply(&self, a: ServiceArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        match decision.take_action::<ServiceAction>(Self::NAME)?.1 {
            ServiceAction::Systemd(act) => apply_systemd(&systemd_args(&a), act, ctx),
            ServiceAction::Sysv(obs) => act_sysv(&a, ctx, &obs, false),
        }
    }
}

/// `systemd_service`'s arguments for a `service` task on a host run by systemd.
fn systemd_args(a: &ServiceArgs) -> SystemdArgs {
    SystemdArgs {
        name: Some(a.name.clone()),
        state: a.state,
        enabled: a.enabled,
        force: a.force,
        masked: a.masked,
        daemon_reload: a.daemon_reload.unwrap_or(false),
        daemon_reexec: a.daemon_reexec.unwrap_or(false),
        scope: a.scope.unwrap_or_default(),
        no_block: a.no_block.unwrap_or(false),
    }
}

/// What `service` decided: systemd_service's decision, or the SysV state it read.
enum ServiceAction {
    Systemd(SystemdAction),
    Sysv(SysvObserved),
}

/// What the SysV query read.
struct SysvObserved {
    missing: bool,
    running: bool,
    enabled: bool,
    tool: String,
}

/// What the one SysV query prints: `running`/`stopped`, `enabled`/`disabled`, and the tools found.
fn sysv_query(a: &ServiceArgs) -> String {
    let q = quote(&a.name);
    let status = match &a.pattern {
        Some(p) => format!("pgrep -f -- {} >/dev/null 2>&1", quote(p)),
        None => format!("service {q} status >/dev/null 2>&1"),
    };
    format!(
        "if [ ! -e /etc/init.d/{q} ]; then echo missing; fi; \
         if {status}; then echo running; else echo stopped; fi; \
         if ls /etc/rc?.d/S??{q} >/dev/null 2>&1; then echo enabled; else echo disabled; fi; \
         if command -v update-rc.d >/dev/null 2>&1; then echo tool=update-rc.d; \
         elif command -v chkconfig >/dev/null 2>&1; then echo tool=chkconfig; fi"
    )
}

fn fail(res: ModuleResult, msg: String) -> ModuleError {
    let mut r = res.with_msg(msg);
    r.failed = true;
    ModuleError::Fail(Box::new(r))
}

/// Reads the SysV service's state: `service NAME status` (or `pattern`), its boot links, the tool.
fn observe_sysv(a: &ServiceArgs, ctx: &mut ModuleCtx) -> Result<SysvObserved, ModuleError> {
    let out = ctx.conn.exec(&sysv_query(a), None)?.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    let tool = lines.iter().find_map(|l| l.strip_prefix("tool=")).unwrap_or("").to_string();
    Ok(SysvObserved {
        missing: lines.contains(&"missing"),
        running: lines.contains(&"running"),
        enabled: lines.contains(&"enabled"),
        tool,
    })
}

/// The SysV path's decisions from what was read; with `check` off, `service NAME ACTION` and
/// `update-rc.d`/`chkconfig` carry them out.
fn act_sysv(a: &ServiceArgs, ctx: &mut ModuleCtx, obs: &SysvObserved, check: bool) -> RunResult {
    let mut res = ModuleResult::ok().with("name", a.name.clone());
    if obs.missing {
        return Err(fail(res, format!("Could not find the requested service {}: host", a.name)));
    }
    let (running, enabled, tool) = (obs.running, obs.enabled, obs.tool.as_str());
    let q = quote(&a.name);
    if let Some(want) = a.enabled {
        if want != enabled {
            res.changed = true;
            if !check {
                let cmd = match (tool, want) {
                    ("update-rc.d", true) => format!("update-rc.d {q} defaults >/dev/null && update-rc.d {q} enable"),
                    ("update-rc.d", false) => format!("update-rc.d {q} disable"),
                    ("chkconfig", true) => format!("chkconfig {q} on"),
                    ("chkconfig", false) => format!("chkconfig {q} off"),
                    _ => {
                        return Err(fail(res, "no service or tool found for: enabling (update-rc.d, chkconfig)".into()))
                    }
                };
                let o = ctx.conn.exec(&cmd, None)?;
                if o.rc != 0 {
                    return Err(fail(
                        res,
                        format!("Error when trying to enable {}: rc={} {}", a.name, o.rc, o.stderr_str().trim()),
                    ));
                }
            }
        }
        res = res.with("enabled", want);
    }
    let Some(state) = a.state else { return Ok(res) };
    let args = a.arguments.as_deref().filter(|s| !s.is_empty()).map(|s| format!(" {s}")).unwrap_or_default();
    let cmd = match state {
        ServiceState::Started if !running => Some(format!("service {q} start{args}")),
        ServiceState::Stopped if running => Some(format!("service {q} stop{args}")),
        ServiceState::Restarted => Some(match a.sleep {
            Some(s) => format!("service {q} stop{args}; sleep {s}; service {q} start{args}"),
            None => format!("service {q} restart{args}"),
        }),
        ServiceState::Reloaded if running => Some(format!("service {q} reload{args}")),
        ServiceState::Reloaded => Some(format!("service {q} start{args}")),
        _ => None,
    };
    res = res.with("state", if state == ServiceState::Stopped { "stopped" } else { "started" });
    if let Some(cmd) = cmd {
        res.changed = true;
        if !check {
            let o = ctx.conn.exec(&cmd, None)?;
            if o.rc != 0 {
                let err = o.stderr_str();
                return Err(fail(res, if err.trim().is_empty() { o.stdout_str() } else { err }));
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::parse_args;
    use serde_json::json;

    #[test]
    fn needs_state_or_enabled() {
        let a: ServiceArgs = parse_args(json!({"name": "x"}).as_object().unwrap()).unwrap();
        assert_eq!(Service::check_args(&a).unwrap_err().msg, "one of the following is required: state, enabled");
        let a: ServiceArgs =
            parse_args(json!({"name": "x", "state": "started", "args": "-q"}).as_object().unwrap()).unwrap();
        assert!(Service::check_args(&a).is_ok());
        assert_eq!(a.arguments.as_deref(), Some("-q"));
    }

    #[test]
    fn systemd_only_arguments_reach_systemd_and_are_refused_on_sysv() {
        let a: ServiceArgs =
            parse_args(json!({"name": "cron", "daemon-reload": true, "state": "restarted"}).as_object().unwrap())
                .unwrap();
        assert!(Service::check_args(&a).is_ok());
        assert!(systemd_args(&a).daemon_reload);
        assert_eq!(a.systemd_only(), ["daemon_reload"]);
        // daemon_reload alone is an action, as in the systemd module.
        let a: ServiceArgs = parse_args(json!({"name": "cron", "daemon_reload": true}).as_object().unwrap()).unwrap();
        assert!(Service::check_args(&a).is_ok());
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let args = json!({"name": "cron", "state": "started", "masked": false, "use": "sysvinit"});
        let e = sb.run(&Service, args, true, false).unwrap_err();
        assert_eq!(
            crate::builtin::test_support::fail_msg(e),
            "Unsupported parameters for (sysvinit) module: masked (systemd only)"
        );
    }

    #[test]
    fn sysv_query_uses_pattern_when_given() {
        let a = ServiceArgs { name: "web".into(), pattern: Some("httpd -f".into()), ..Default::default() };
        let q = sysv_query(&a);
        assert!(q.contains("pgrep -f -- 'httpd -f'"), "{q}");
        assert!(q.contains("/etc/rc?.d/S??web"), "{q}");
    }

    #[test]
    fn deciding_on_systemd_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let fake = crate::builtin::test_support::fake_systemctl(&mut sb, "active", "enabled");
        let read = |f: &str| std::fs::read_to_string(fake.path().join(f)).unwrap();
        let args = json!({"name": "orc-test", "state": "stopped", "enabled": false, "use": "systemd"});
        let d = sb.decide(&Service, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("active_state"), Some(&json!("active")));
        assert_eq!(d.observed.get("enabled"), Some(&json!(true)));
        assert_eq!((read("active"), read("enabled")), ("active\n".into(), "enabled\n".into()), "decide acted");
        assert!(sb.apply(&Service, &args, d).changed);
        assert_eq!((read("active"), read("enabled")), ("inactive\n".into(), "disabled\n".into()));
        assert!(!sb.decide(&Service, &args).result.changed);
    }
}
