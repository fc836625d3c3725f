//! `service_facts`: the host's services as `ansible_facts.services`, shaped as Ansible's module
//! returns them: `{"ssh.service": {"name", "state", "status", "source": "systemd"}, "ssh":
//! {"name", "state", "source": "sysv"}}`. The same commands Ansible runs (`service --status-all`,
//! `systemctl list-units`, `systemctl list-unit-files`, `systemctl show` for the unit files not
//! loaded) run in one shell script: one round trip.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{ModuleCtx, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `service_facts` takes no arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct ServiceFactsArgs {}

/// The `service_facts` module.
pub struct ServiceFacts;

/// Marks the sections of the script's output.
const MARK: &str = "@@ORC-SVC";

/// The script: sysv services when `service` exists and neither `chkconfig` nor `rc-status` does
/// (Ansible's condition), then systemd's units and unit files when systemd runs the host (the
/// canaries of Ansible's `is_systemd_managed`), then `ActiveState` of each unit file that
/// `list-units` did not show.
fn script() -> String {
    format!(
        r#"export LC_ALL=C LANG=C
_orch() {{ command -v "$1" >/dev/null 2>&1; }}
if _orch service && ! _orch chkconfig && ! _orch rc-status; then
  echo '{MARK} sysv'; service --status-all; echo "{MARK} rc $?"
fi
if _orch systemctl && {{ [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ] || [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }}; then
  _orcu=$(systemctl list-units --no-pager --type service --all --plain); _orcr=$?
  echo '{MARK} units'; printf '%s\n' "$_orcu"; echo "{MARK} rc $_orcr"
  _orcf=$(systemctl list-unit-files --no-pager --type service --all); _orcr=$?
  echo '{MARK} files'; printf '%s\n' "$_orcf"; echo "{MARK} rc $_orcr"
  if [ $_orcr = 0 ]; then
    _orck=" $(printf '%s\n' "$_orcu" | awk '/\.service/ {{ printf "%s ", $1 }}')"
    echo '{MARK} show'
    printf '%s\n' "$_orcf" | awk '/\.service/ {{ print $1 }}' | while read -r _orcn; do
      case "$_orck" in *" $_orcn "*) continue ;; esac
      _orcs=$(systemctl show "$_orcn" --property=ActiveState 2>/dev/null) && [ -n "$_orcs" ] || _orcs='@unknown'
      printf '%s\t%s\n' "$_orcn" "${{_orcs#ActiveState=}}"
    done
  fi
fi
"#
    )
}

/// The script's output cut into its sections: (name, text, exit status of the command).
fn sections(out: &str) -> Vec<(String, String, Option<i32>)> {
    let mut secs: Vec<(String, String, Option<i32>)> = Vec::new();
    for line in out.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if let Some(rest) = bare.strip_prefix(MARK).map(str::trim) {
            match rest.strip_prefix("rc ") {
                Some(rc) => {
                    if let Some(last) = secs.last_mut() {
                        last.2 = rc.trim().parse().ok();
                    }
                }
                None => secs.push((rest.to_string(), String::new(), None)),
            }
        } else if let Some(last) = secs.last_mut() {
            last.1.push_str(line);
        }
    }
    secs
}

/// Ansible's `_list_sysvinit`: ` [ + ]  name` is running, ` [ - ]  name` stopped.
fn parse_sysv(text: &str, services: &mut Map<String, Value>) {
    for line in text.lines() {
        let l = line.trim_start();
        let (state, rest) = if let Some(r) = l.strip_prefix("[ + ]") {
            ("running", r)
        } else if let Some(r) = l.strip_prefix("[ - ]") {
            ("stopped", r)
        } else {
            continue;
        };
        let name = rest.trim_start();
        if !rest.starts_with(char::is_whitespace) || name.is_empty() {
            continue;
        }
        services.insert(name.to_string(), json!({"name": name, "state": state, "source": "sysv"}));
    }
}

/// States that win over the ACTIVE column as the `status` of a listed unit.
const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

/// Ansible's `_list_from_units`: every line naming a `.service`.
fn parse_units(text: &str, services: &mut Map<String, Value>) {
    for line in text.lines().filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let head = &fields[..fields.len() - 1];
        let status = BAD_STATES.iter().find(|b| head.contains(b)).copied().unwrap_or(fields[2]);
        let state = if fields[3] == "running" { "running" } else { "stopped" };
        services.insert(
            fields[0].to_string(),
            json!({"name": fields[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
}

/// Ansible's `_list_from_unit_files`: a unit file already listed gets its file state as status
/// (unless that is a bad state); others get the `ActiveState` the script read.
fn parse_unit_files(text: &str, shown: &str, services: &mut Map<String, Value>) {
    let states: std::collections::HashMap<&str, &str> = shown.lines().filter_map(|l| l.split_once('\t')).collect();
    for line in text.lines().filter(|l| l.contains(".service")) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(status)) = (words.next(), words.next()) else { continue };
        match services.get_mut(name) {
            Some(Value::Object(svc)) => {
                let bad = svc.get("status").and_then(Value::as_str).is_some_and(|s| BAD_STATES.contains(&s));
                if !bad {
                    svc.insert("status".into(), json!(status));
                }
            }
            _ => {
                let state = match states.get(name).map(|s| s.trim_end()) {
                    Some(s) if !s.is_empty() && s != "@unknown" => s,
                    _ => "unknown",
                };
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                );
            }
        }
    }
}

/// The facts and warnings from the script's output (`err`: what the commands wrote to stderr).
fn collect(out: &str, err: &str) -> (Map<String, Value>, Vec<String>) {
    let mut services = Map::new();
    let mut warnings = Vec::new();
    let secs = sections(out);
    let text = |name: &str| secs.iter().find(|s| s.0 == name);
    if let Some((_, t, rc)) = text("sysv") {
        if rc.is_some_and(|rc| rc != 0) {
            warnings.push(format!("Unable to query 'service' tool ({}): {}", rc.unwrap_or(-1), err.trim()));
        }
        parse_sysv(t, &mut services);
    }
    if let Some((_, t, rc)) = text("units") {
        if *rc == Some(0) {
            parse_units(t, &mut services);
        } else {
            warnings.push(format!("Could not list units from systemd: {}", err.trim()));
        }
    }
    if let Some((_, t, rc)) = text("files") {
        if *rc == Some(0) {
            let shown = text("show").map(|s| s.1.as_str()).unwrap_or("");
            parse_unit_files(t, shown, &mut services);
        } else {
            warnings.push(format!("Could not get unit files data from systemd: {}", err.trim()));
        }
    }
    (services, warnings)
}

impl TypedModule for ServiceFacts {
    type Args = ServiceFactsArgs;
    const NAME: &'static str = "service_facts";
    const DOC: ModuleText = ModuleText {
        short: "Returns the state of the host's services as ansible_facts.services, keyed by \
                service name.",
        notes: "systemd services (`name.service`, with `status` enabled/disabled/static/masked/...) \
                and SysV init scripts listed by `service --status-all` (source sysv), read with \
                the commands Ansible's module runs, in one round trip. Upstart, OpenRC, AIX SRC \
                and the BSDs are not read. Without any service found the task is skipped, as in \
                Ansible. Access services by key: `ansible_facts.services['ssh.service']`.",
        returns: &[(
            "ansible_facts.services",
            "Name -> {name, state (running, stopped, inactive, unknown...), status (systemd: \
             enabled, disabled, static, masked, not-found...), source (systemd or sysv)}.",
        )],
        example: "- name: Read the services\n  ansible.builtin.service_facts:\n\n- name: Restart ntp if \
                  installed\n  ansible.builtin.service:\n    name: ntp\n    state: restarted\n  when: \
                  \"'ntp.service' in ansible_facts.services\"\n",
    };

    fn run(&self, _a: ServiceFactsArgs, ctx: &mut ModuleCtx) -> RunResult {
        let out = ctx.conn.exec(&script(), None)?;
        let (services, warnings) = collect(&out.stdout_str(), &out.stderr_str());
        let mut r = if services.is_empty() {
            let mut r = ModuleResult::ok().with_msg(
                "Failed to find any services. This can be due to privileges or some other configuration issue.",
            );
            r.skipped = true;
            r
        } else {
            ModuleResult::ok().with("ansible_facts", json!({"services": services}))
        };
        if !warnings.is_empty() {
            r = r.with("warnings", warnings);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded on a Debian 12 lab host (systemd 252), abridged.
    const OUT: &str = "@@ORC-SVC sysv
 [ + ]  dbus
 [ - ]  hwclock.sh
 [ + ]  ssh
@@ORC-SVC rc 0
@@ORC-SVC units
UNIT                                 LOAD      ACTIVE   SUB     DESCRIPTION
auditd.service                       not-found inactive dead    auditd.service
console-getty.service                masked    inactive dead    console-getty.service
dbus.service                         loaded    active   running D-Bus System Message Bus
ssh.service                          loaded    active   running OpenBSD Secure Shell server
systemd-networkd.service             loaded    failed   failed  Network Configuration

LOAD   = Reflects whether the unit definition was properly loaded.
5 loaded units listed.
@@ORC-SVC rc 0
@@ORC-SVC files
UNIT FILE                              STATE    PRESET
apt-daily.service                      static   -
autovt@.service                        alias    -
console-getty.service                  masked   disabled
ssh.service                            enabled  enabled
systemd-networkd.service               enabled  enabled

5 unit files listed.
@@ORC-SVC rc 0
@@ORC-SVC show
apt-daily.service\tinactive
autovt@.service\t@unknown
";

    #[test]
    fn parses_like_ansibles_module() {
        let (s, warnings) = collect(OUT, "");
        assert!(warnings.is_empty());
        assert_eq!(s["ssh"], json!({"name": "ssh", "state": "running", "source": "sysv"}));
        assert_eq!(s["hwclock.sh"]["state"], "stopped");
        assert_eq!(
            s["ssh.service"],
            json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        // A bad state from list-units is kept over the unit file's state.
        assert_eq!(s["console-getty.service"]["status"], "masked");
        assert_eq!(s["systemd-networkd.service"]["status"], "failed");
        assert_eq!(s["systemd-networkd.service"]["state"], "stopped");
        assert_eq!(s["auditd.service"]["status"], "not-found");
        // Unit files not loaded: the state systemctl show gave, or unknown.
        assert_eq!(
            s["apt-daily.service"],
            json!({"name": "apt-daily.service", "state": "inactive", "status": "static", "source": "systemd"})
        );
        assert_eq!(s["autovt@.service"]["state"], "unknown");
        assert_eq!(s["autovt@.service"]["status"], "alias");
        assert_eq!(s.len(), 10);
    }

    #[test]
    fn nothing_found_is_skipped_and_failures_warn() {
        let (s, _) = collect("", "");
        assert!(s.is_empty());
        let (_, w) = collect("@@ORC-SVC units\n@@ORC-SVC rc 1\n", "Failed to connect to bus\n");
        assert_eq!(w, ["Could not list units from systemd: Failed to connect to bus"]);
    }
}
