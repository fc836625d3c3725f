//! `hostname`: sets the host's current (kernel) and permanent (`/etc/hostname`) hostname, as
//! Ansible's systemd strategy does, reading both in one command. `hostnamectl` is used when systemd
//! runs the host; where it fails (containers without systemd-hostnamed), `/etc/hostname` is written
//! in place (it is often a bind mount that cannot be renamed over) and `hostname NAME` is run.

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
}

const QUERY: &str = "hostname; echo __ORC_SEP__; if [ -f /etc/hostname ]; then cat /etc/hostname; fi; \
                     echo __ORC_SEP__; hostname -f 2>/dev/null || hostname; echo __ORC_SEP__; \
                     if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo hostnamectl; fi";

/// Parses the query's output.
pub fn parse_state(out: &str) -> HostnameState {
    let parts: Vec<&str> = out.split(SEP).collect();
    let part = |i: usize| parts.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
    HostnameState { current: part(0), permanent: part(1), fqdn: part(2), hostnamectl: part(3) == "hostnamectl" }
}

/// The shell code that sets the permanent name (when `set_permanent`) then the current one (when
/// `set_current`), then prints the new FQDN.
pub fn set_script(name: &str, hostnamectl: bool, set_permanent: bool, set_current: bool) -> String {
    let q = quote(name);
    let mut s = String::new();
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
        notes: "One command reads the current name, /etc/hostname and the FQDN. When systemd runs the host and `use` \
                is not `alpine` or `generic`, hostnamectl sets the names (at most 64 characters); where hostnamectl \
                fails (containers without systemd-hostnamed), /etc/hostname is written in place and `hostname NAME` \
                is run. Without systemd only the file and `hostname NAME` are used, whatever `use` says. /etc/hosts \
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
        let out = ctx.conn.exec(QUERY, None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Command failed rc={}, out={}, err={}",
                out.rc,
                out.stdout_str(),
                out.stderr_str()
            )));
        }
        let st = parse_state(&out.stdout_str());
        let use_ctl = match a.r#use.as_deref() {
            Some("alpine" | "generic") => false,
            _ => st.hostnamectl,
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
            let o = ctx.conn.exec(&set_script(&name, use_ctl, set_permanent, set_current), None)?;
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
        let s = set_script("db 1", true, true, true);
        assert!(s.contains("hostnamectl --pretty --static set-hostname 'db 1' 2>/dev/null || printf '%s\\n' 'db 1' > /etc/hostname"), "{s}");
        assert!(s.contains("[ \"$(hostname)\" = 'db 1' ] || hostname 'db 1'"), "{s}");
        let s = set_script("db", false, false, true);
        assert_eq!(s, "hostname db && { hostname -f 2>/dev/null || hostname; }");
    }
}
