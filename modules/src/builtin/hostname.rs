//! `hostname`: sets the host's current (kernel) and permanent (`/etc/hostname`) hostname, as
//! Ansible's systemd strategy does, reading both in one command. `hostnamectl` is used when systemd
//! runs the host; where it fails (containers without systemd-hostnamed), `/etc/hostname` is written
//! in place (it is often a bind mount that cannot be renamed over) and `hostname NAME` is run. An
//! explicit `use: systemd` has no fallback: it fails as Ansible's systemd strategy does.

use serde::Deserialize;
use serde_json::json;

use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `hostname` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct HostnameArgs {
    /// The hostname to set.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// The strategy: systemd, debian (= systemd), alpine, generic (default: systemd when systemd
    /// runs the host, else the file strategy).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub r#use: Option<String>,
}

/// The `hostname` module.
pub struct Hostname;

const STRATEGIES: &[&str] = &["systemd", "debian", "alpine", "generic"];
const SEP: &str = "__ORC_SEP__";

/// What the query reads: the kernel hostname, `/etc/hostname` (stripped; empty when absent), the
/// host's FQDN, and whether `hostnamectl` can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameState {
    /// `hostname` output.
    pub current: String,
    /// `/etc/hostname`, stripped.
    pub permanent: String,
    /// `hostname -f` (or the current name when it fails).
    pub fqdn: String,
    /// systemd runs the host and `hostnamectl` exists.
    pub hostnamectl: bool,
    /// With `use: systemd` (or debian): what `hostnamectl --transient status` did, as Ansible's
    /// systemd strategy runs it first; `None` when the query did not ask.
    pub ctl_status: Option<CtlStatus>,
}

/// The outcome of `hostnamectl --transient status` on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlStatus {
    /// It succeeded.
    Ok,
    /// It failed with this exit status and standard error.
    Failed(i32, String),
    /// hostnamectl is not installed; the host's PATH.
    Missing(String),
}

const QUERY: &str = "hostname; echo __ORC_SEP__; if [ -f /etc/hostname ]; then cat /etc/hostname; fi; \
                     echo __ORC_SEP__; hostname -f 2>/dev/null || hostname; echo __ORC_SEP__; \
                     if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo hostnamectl; fi";

/// Appended to [`QUERY`] for an explicit systemd strategy: `M <PATH>` when hostnamectl is
/// missing, else hostnamectl's standard error followed by `rc=N`.
const QUERY_CTL: &str = "; echo __ORC_SEP__; if command -v hostnamectl >/dev/null 2>&1; then \
                         hostnamectl --transient status 2>&1 >/dev/null; echo \"rc=$?\"; else echo \"M $PATH\"; fi";

/// Parses the query's output.
pub fn parse_state(out: &str) -> HostnameState {
    let parts: Vec<&str> = out.split(SEP).collect();
    let part = |i: usize| parts.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
    let ctl_status = parts.get(4).map(|p| {
        let p = p.trim();
        if let Some(path) = p.strip_prefix("M ") {
            return CtlStatus::Missing(path.to_string());
        }
        let (err, rc) = p.rsplit_once("rc=").unwrap_or(("", p));
        match rc.trim().parse::<i32>() {
            Ok(0) => CtlStatus::Ok,
            Ok(rc) => CtlStatus::Failed(rc, err.to_string()),
            Err(_) => CtlStatus::Failed(-1, p.to_string()),
        }
    });
    HostnameState {
        current: part(0),
        permanent: part(1),
        fqdn: part(2),
        hostnamectl: part(3) == "hostnamectl",
        ctl_status,
    }
}

/// The shell code that sets the permanent name (when `set_permanent`) then the current one (when
/// `set_current`), then prints the new FQDN. `strict` (an explicit systemd strategy) uses
/// hostnamectl alone, failing when it fails, as Ansible's strategy does.
pub fn set_script(name: &str, hostnamectl: bool, strict: bool, set_permanent: bool, set_current: bool) -> String {
    let q = quote(name);
    let mut s = String::new();
    if strict {
        if set_permanent {
            s.push_str(&format!("hostnamectl --pretty --static set-hostname {q} && "));
        }
        if set_current {
            s.push_str(&format!("hostnamectl --transient set-hostname {q} && "));
        }
        s.push_str("{ hostname -f 2>/dev/null || hostname; }");
        return s;
    }
    if set_permanent {
        let file = format!("printf '%s\\n' {q} > /etc/hostname");
        if hostnamectl {
            s.push_str(&format!("{{ hostnamectl --pretty --static set-hostname {q} 2>/dev/null || {file}; }} && "));
        } else {
            s.push_str(&format!("{file} && "));
        }
    }
    if set_current {
        if hostnamectl {
            // hostnamed ignores a transient name while a static one is set: check, then fall back.
            s.push_str(&format!(
                "{{ hostnamectl --transient set-hostname {q} 2>/dev/null; [ \"$(hostname)\" = {q} ] || hostname {q}; }} && "
            ));
        } else {
            s.push_str(&format!("hostname {q} && "));
        }
    }
    s.push_str("{ hostname -f 2>/dev/null || hostname; }");
    s
}

impl TypedModule for Hostname {
    type Args = HostnameArgs;
    const NAME: &'static str = "hostname";

    const DOC: ModuleText = ModuleText {
        short: "Sets the host's current (kernel) hostname and its permanent one in /etc/hostname.",
        notes: "One command reads the current name, /etc/hostname and the FQDN. `use: systemd` (or `debian`, which \
                Ansible maps to it) needs hostnamectl and a running systemd, and fails as Ansible does without them. \
                Without `use`, when systemd runs the host hostnamectl sets the names (at most 64 characters); where \
                hostnamectl fails (containers without systemd-hostnamed), /etc/hostname is written in place and \
                `hostname NAME` is run; without systemd, and with `alpine` or `generic`, only the file and \
                `hostname NAME` are used. /etc/hosts \
                is not changed. Check mode and diff report the change without making it.",
        returns: &[
            ("name", "The hostname set."),
            (
                "ansible_facts",
                "`ansible_hostname`, `ansible_nodename`, `ansible_fqdn` and `ansible_domain` after the \
                change.",
            ),
            ("diff", "With --diff: `hostname = OLD` and `hostname = NEW`."),
        ],
        example: "- name: Name the host after its inventory entry\n  \
                  ansible.builtin.hostname:\n    \
                  name: \"{{ inventory_hostname }}\"\n",
    };

    fn check_args(a: &HostnameArgs) -> Result<(), ArgError> {
        if let Some(u) = &a.r#use {
            if !STRATEGIES.contains(&u.as_str()) {
                return Err(ArgError {
                    msg: format!(
                        "use: '{u}' is not a strategy orc supports; valid values are {}",
                        STRATEGIES.join(", ")
                    ),
                });
            }
        }
        if a.name.is_empty() {
            return Err(ArgError { msg: "name must not be empty".into() });
        }
        Ok(())
    }

    fn run(&self, a: HostnameArgs, ctx: &mut ModuleCtx) -> RunResult {
        let name = a.name.clone();
        // Ansible's systemd strategy (also `debian`'s) needs hostnamectl and a running systemd.
        let strict = matches!(a.r#use.as_deref(), Some("systemd" | "debian"));
        let query = if strict { format!("{QUERY}{QUERY_CTL}") } else { QUERY.to_string() };
        let out = ctx.conn.exec(&query, None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Command failed rc={}, out={}, err={}",
                out.rc,
                out.stdout_str(),
                out.stderr_str()
            )));
        }
        let st = parse_state(&out.stdout_str());
        match &st.ctl_status {
            Some(CtlStatus::Missing(path)) => {
                return Err(ModuleError::msg(format!(
                    "Failed to find required executable \"hostnamectl\" in paths: {path}"
                )))
            }
            Some(CtlStatus::Failed(rc, err)) => {
                return Err(ModuleError::msg(format!("Command failed rc={rc}, out=, err={err}")))
            }
            _ => {}
        }
        let use_ctl = match a.r#use.as_deref() {
            Some("alpine" | "generic") => false,
            _ => strict || st.hostnamectl,
        };
        if use_ctl && name.len() > 64 {
            return Err(ModuleError::msg(
                "name cannot be longer than 64 characters on systemd servers, try a shorter name",
            ));
        }
        let set_permanent = st.permanent != name;
        let set_current = st.current != name;
        let changed = set_permanent || set_current;
        let mut fqdn = st.fqdn.clone();
        if changed && !ctx.check {
            let o = ctx.conn.exec(&set_script(&name, use_ctl, strict, set_permanent, set_current), None)?;
            if o.rc != 0 {
                return Err(ModuleError::msg(format!(
                    "Command failed rc={}, out={}, err={}",
                    o.rc,
                    o.stdout_str().trim(),
                    o.stderr_str().trim()
                )));
            }
            fqdn = o.stdout_str().trim().to_string();
        }
        let domain = fqdn.split_once('.').map(|(_, d)| d.to_string()).unwrap_or_default();
        let short = name.split('.').next().unwrap_or(&name).to_string();
        let mut res = ModuleResult::changed(changed).with("name", name.clone()).with(
            "ansible_facts",
            json!({"ansible_hostname": short, "ansible_nodename": name, "ansible_fqdn": fqdn, "ansible_domain": domain}),
        );
        if changed {
            let before = if name != st.current { &st.current } else { &st.permanent };
            res = res.with_diff(FileDiff {
                before: format!("hostname = {before}\n"),
                after: format!("hostname = {name}\n"),
                ..Default::default()
            });
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_output_parses() {
        let st = parse_state("web-1\n__ORC_SEP__\nold\n__ORC_SEP__\nweb-1.lan\n__ORC_SEP__\nhostnamectl\n");
        assert_eq!(st.current, "web-1");
        assert_eq!(st.permanent, "old");
        assert_eq!(st.fqdn, "web-1.lan");
        assert!(st.hostnamectl);
        let bare = parse_state("web-1\n__ORC_SEP__\n__ORC_SEP__\nweb-1\n__ORC_SEP__\n");
        assert_eq!(bare.permanent, "");
        assert!(!bare.hostnamectl);
    }

    #[test]
    fn set_script_falls_back_to_the_file_and_hostname_command() {
        let s = set_script("db 1", true, false, true, true);
        assert!(s.contains("hostnamectl --pretty --static set-hostname 'db 1' 2>/dev/null || printf '%s\\n' 'db 1' > /etc/hostname"), "{s}");
        assert!(s.contains("[ \"$(hostname)\" = 'db 1' ] || hostname 'db 1'"), "{s}");
        assert_eq!(
            set_script("db", true, true, true, true),
            "hostnamectl --pretty --static set-hostname db && hostnamectl --transient set-hostname db && { hostname -f 2>/dev/null || hostname; }"
        );
        let s = set_script("db", false, false, false, true);
        assert_eq!(s, "hostname db && { hostname -f 2>/dev/null || hostname; }");
    }

    #[test]
    fn use_systemd_fails_without_systemd_as_ansible() {
        // Check mode: nothing is changed on this machine whatever happens.
        let name = "orc-test-never-set";
        for strategy in ["systemd", "debian"] {
            // No hostnamectl at all: Ansible's get_bin_path error.
            let bin = crate::builtin::test_support::path_with_only(&["sh", "hostname", "cat"]);
            let mut sb = crate::builtin::test_support::Sandbox::new();
            sb.conn.env = vec![("PATH".into(), bin.path().display().to_string())];
            let e = sb.run(&Hostname, serde_json::json!({"name": name, "use": strategy}), true, false).unwrap_err();
            let msg = crate::builtin::test_support::fail_msg(e);
            assert!(msg.starts_with("Failed to find required executable \"hostnamectl\" in paths: "), "{msg}");
        }
        // hostnamectl present but systemd not running (this machine, a container): hostnamectl's error.
        let has_systemd = std::path::Path::new("/run/systemd/system").exists();
        let has_ctl =
            std::process::Command::new("sh").arg("-c").arg("command -v hostnamectl").status().unwrap().success();
        if has_ctl && !has_systemd {
            let mut sb = crate::builtin::test_support::Sandbox::new();
            let e = sb.run(&Hostname, serde_json::json!({"name": name, "use": "systemd"}), true, false).unwrap_err();
            let msg = crate::builtin::test_support::fail_msg(e);
            assert!(msg.starts_with("Command failed rc=1, out=, err="), "{msg}");
        }
    }
}
