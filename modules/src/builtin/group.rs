//! `group`: ensures a local group exists with the given gid (or does not exist), through
//! groupadd/groupmod/groupdel, after one `getent group` query.

use serde::Deserialize;
use serde_json::Map;

use crate::builtin::lineinfile::PresentAbsent;
use crate::contract::{Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `group` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct GroupArgs {
    /// The group's name.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// present or absent.
    #[serde(default)]
    pub state: PresentAbsent,
    /// The numeric group id to set.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub gid: Option<u64>,
    /// Create a system group (`groupadd -r`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub system: bool,
    /// Delete even when it is some user's primary group (`groupdel -f`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Allow a gid another group already has (`-o`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub non_unique: bool,
    /// Use the libuser commands (lgroupadd, lgroupmod, lgroupdel) and look the group up in
    /// /etc/group only, for hosts with centralized accounts.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub local: bool,
    /// GID_MIN for a new group's gid (`groupadd -K GID_MIN=N`); not with `local`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub gid_min: Option<u64>,
    /// GID_MAX for a new group's gid (`groupadd -K GID_MAX=N`); not with `local`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub gid_max: Option<u64>,
}

/// The `group` module.
pub struct Group;

/// One `/etc/group`-format line: name, gid and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Numeric id.
    pub gid: u64,
    /// Supplementary members listed in the entry.
    pub members: Vec<String>,
}

/// Parses `getent group` output (the `/etc/group` format), skipping malformed lines.
pub fn parse_groups(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

/// Joins words into one shell command line, each quoted.
pub fn shell_words(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// Runs an account command and turns a non-zero exit into Ansible's failure (`msg` = stderr).
pub fn run_account_cmd(ctx: &mut ModuleCtx, name: &str, words: &[String]) -> RunResult {
    let out = ctx.conn.exec(&shell_words(words), None)?;
    if out.rc != 0 {
        let err = out.stderr_str();
        let msg = if err.trim().is_empty() { format!("{} failed with rc {}", words[0], out.rc) } else { err };
        return Err(ModuleError::Fail(Box::new(
            ModuleResult::failed(msg).with("name", name.to_string()).with("rc", out.rc),
        )));
    }
    let mut r = ModuleResult::changed(true);
    if !out.stdout.is_empty() {
        r = r.with("stdout", out.stdout_str());
    }
    if !out.stderr.is_empty() {
        r = r.with("stderr", out.stderr_str());
    }
    Ok(r)
}

/// The group's entry: from `getent group`, or with `local` from /etc/group alone (as Ansible's
/// `group_exists` reads the local file, so that a directory group does not count).
fn lookup(ctx: &mut ModuleCtx, a: &GroupArgs) -> Result<Option<GroupEntry>, ModuleError> {
    let name = &a.name;
    if a.local {
        let out = ctx.conn.exec("cat /etc/group", None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(
                "'local: true' specified but unable to find local group file /etc/group to parse.",
            ));
        }
        return Ok(parse_groups(&out.stdout_str()).into_iter().rev().find(|g| &g.name == name));
    }
    let out = ctx.conn.exec(&format!("getent group {}", quote(name)), None)?;
    Ok(parse_groups(&out.stdout_str()).into_iter().find(|g| &g.name == name))
}

/// Ansible's checks that run in the module (a failed task, not a refused playbook): `force`
/// and `gid_min`/`gid_max` do not go with `local`.
fn runtime_checks(a: &GroupArgs) -> Result<(), ModuleError> {
    if a.local && a.force {
        return Err(ModuleError::msg(
            "force is not a valid option for local, force=True and local=True are mutually exclusive",
        ));
    }
    if a.local && a.gid_min.is_some() {
        return Err(ModuleError::msg("'gid_min' can not be used with 'local'"));
    }
    if a.local && a.gid_max.is_some() {
        return Err(ModuleError::msg("'gid_max' can not be used with 'local'"));
    }
    Ok(())
}

/// With `local`, Ansible refuses a gid another group has (libuser's commands would take it).
fn local_gid_check(a: &GroupArgs, ctx: &mut ModuleCtx) -> Result<(), ModuleError> {
    let Some(gid) = a.gid.filter(|_| a.local) else { return Ok(()) };
    let out = ctx.conn.exec("getent group", None)?;
    if let Some(g) = parse_groups(&out.stdout_str()).into_iter().find(|g| g.gid == gid && g.name != a.name) {
        return Err(ModuleError::Fail(Box::new(ModuleResult::failed(format!(
            "GID '{gid}' already exists with group '{}'",
            g.name
        )))));
    }
    Ok(())
}

/// The command name, or its libuser variant with `local`.
fn cmd_name(a: &GroupArgs, base: &str) -> String {
    if a.local {
        format!("l{base}")
    } else {
        base.to_string()
    }
}

impl TypedModule for Group {
    type Args = GroupArgs;
    const NAME: &'static str = "group";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Makes sure a local group exists, with a given gid, or does not exist, with groupadd, groupmod and \
                groupdel.",
        notes: "One `getent group` reads the current entry; a command runs only when something differs. The host \
                needs groupadd, groupmod and groupdel (the shadow utilities). Check mode reports without changing \
                anything. With `local`, the libuser commands (lgroupadd...) \
                and /etc/group alone.",
        returns: &[
            ("name, state", "The group and the state asked for."),
            ("gid, system", "When the group exists after the task: its gid, and the `system` argument."),
            ("stdout, stderr", "What groupadd, groupmod or groupdel printed, when it printed something."),
        ],
        example: "- name: Create the app group\n  \
                  ansible.builtin.group:\n    \
                  name: app\n    \
                  gid: 2001\n    \
                  system: true\n",
    };

    fn check_args(a: &GroupArgs) -> Result<(), crate::contract::ArgError> {
        if a.non_unique && a.gid.is_none() {
            return Err(crate::contract::ArgError {
                msg: "non_unique is True but all of the following are missing: gid".into(),
            });
        }
        Ok(())
    }

    fn decide(&self, a: &GroupArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        runtime_checks(a)?;
        let current = lookup(ctx, a)?;
        let mut observed = Map::new();
        observed.insert("exists".into(), current.is_some().into());
        if let Some(g) = &current {
            observed.insert("gid".into(), g.gid.into());
        }
        let result = converge(a, ctx, current.clone(), true)?;
        Ok(Decision { result, observed, action: Box::new(GroupAction { current }) })
    }

    fn apply(&self, a: GroupArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, GroupAction { current }) = decision.take_action::<GroupAction>(Self::NAME)?;
        converge(&a, ctx, current, false)
    }
}

/// What `group` decided from: the group's entry as read (none: it does not exist).
struct GroupAction {
    current: Option<GroupEntry>,
}

/// Ansible's decision for the group from its entry `current`; with `check` off, groupadd,
/// groupmod or groupdel carries it out and the entry is read back for the result.
fn converge(a: &GroupArgs, ctx: &mut ModuleCtx, current: Option<GroupEntry>, check: bool) -> RunResult {
    let state = match a.state {
        PresentAbsent::Present => "present",
        PresentAbsent::Absent => "absent",
    };
    let mut res = match (a.state, &current) {
        (PresentAbsent::Absent, None) => ModuleResult::ok(),
        (PresentAbsent::Absent, Some(_)) => {
            if check {
                return Ok(ModuleResult::changed(true));
            }
            let mut cmd = vec![cmd_name(a, "groupdel")];
            if a.force {
                cmd.push("-f".into());
            }
            cmd.push(a.name.clone());
            run_account_cmd(ctx, &a.name, &cmd)?
        }
        (PresentAbsent::Present, None) => {
            if check {
                return Ok(ModuleResult::changed(true));
            }
            local_gid_check(a, ctx)?;
            let mut cmd = vec![cmd_name(a, "groupadd")];
            if let Some(g) = a.gid {
                cmd.extend(["-g".to_string(), g.to_string()]);
                if a.non_unique {
                    cmd.push("-o".into());
                }
            }
            if a.system {
                cmd.push("-r".into());
            }
            if let Some(min) = a.gid_min {
                cmd.extend(["-K".to_string(), format!("GID_MIN={min}")]);
            }
            if let Some(max) = a.gid_max {
                cmd.extend(["-K".to_string(), format!("GID_MAX={max}")]);
            }
            cmd.push(a.name.clone());
            run_account_cmd(ctx, &a.name, &cmd)?
        }
        (PresentAbsent::Present, Some(g)) => match a.gid {
            Some(want) if want != g.gid => {
                if check {
                    ModuleResult::changed(true)
                } else {
                    local_gid_check(a, ctx)?;
                    let mut cmd = vec![cmd_name(a, "groupmod"), "-g".into(), want.to_string()];
                    if a.non_unique {
                        cmd.push("-o".into());
                    }
                    cmd.push(a.name.clone());
                    run_account_cmd(ctx, &a.name, &cmd)?
                }
            }
            _ => ModuleResult::ok(),
        },
    };
    res = res.with("name", a.name.clone()).with("state", state);
    let after = if res.changed && !check { lookup(ctx, a)? } else { current };
    if let Some(g) = after {
        // In check mode the gid the group has now, as Ansible's grp lookup after a skipped groupmod.
        res = res.with("system", a.system).with("gid", g.gid);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_lines() {
        let g = parse_groups("sudo:x:27:alice,bob\nstaff:x:50:\nbroken\n");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0], GroupEntry { name: "sudo".into(), gid: 27, members: vec!["alice".into(), "bob".into()] });
        assert!(g[1].members.is_empty());
    }

    #[test]
    fn check_mode_results_are_ansibles() {
        // Measured with ansible-core 2.19 (`ansible localhost -C -m group`): a pending groupadd or
        // groupdel returns `changed` alone; a pending groupmod returns the gid the group has now.
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let r = sb.run(&Group, serde_json::json!({"name": "root", "gid": 4242}), true, false).unwrap();
        assert!(r.changed);
        assert_eq!(r.data["gid"], 0, "{:?}", r.data);
        assert_eq!((r.data["name"].as_str(), r.data["state"].as_str()), (Some("root"), Some("present")));
        let r = sb.run(&Group, serde_json::json!({"name": "orc-no-such-group"}), true, false).unwrap();
        assert!(r.changed && r.data.is_empty(), "{:?}", r.data);
    }

    #[test]
    fn words_are_quoted() {
        assert_eq!(shell_words(&["useradd".into(), "-c".into(), "A B".into()]), "useradd -c 'A B'");
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        use std::os::unix::fs::PermissionsExt;
        let mut sb = crate::builtin::test_support::Sandbox::new();
        // groupadd is a stand-in logging its arguments: this test must not add a group here.
        let bin = tempfile::tempdir().unwrap();
        let log = bin.path().join("log");
        std::fs::write(bin.path().join("groupadd"), format!("#!/bin/sh\necho \"groupadd $*\" >> {}\n", log.display()))
            .unwrap();
        std::fs::set_permissions(bin.path().join("groupadd"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
        sb.conn.env.push(("PATH".into(), path));
        let args = serde_json::json!({"name": "orc-no-such-group", "gid": 4242});
        let d = sb.decide(&Group, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("exists"), Some(&serde_json::json!(false)));
        assert!(!log.exists(), "decide ran groupadd");
        assert!(sb.apply(&Group, &args, d).changed);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "groupadd -g 4242 orc-no-such-group\n");
        // An existing group: its gid is what was compared.
        let d = sb.decide(&Group, &serde_json::json!({"name": "root", "gid": 0}));
        assert!(!d.result.changed);
        assert_eq!(d.observed, serde_json::json!({"exists": true, "gid": 0}).as_object().unwrap().clone());
    }

    #[test]
    fn gid_range_goes_to_groupadd_and_local_refuses_it() {
        use std::os::unix::fs::PermissionsExt;
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let bin = tempfile::tempdir().unwrap();
        let log = bin.path().join("log");
        for cmd in ["groupadd", "lgroupadd"] {
            std::fs::write(bin.path().join(cmd), format!("#!/bin/sh\necho \"{cmd} $*\" >> {}\n", log.display()))
                .unwrap();
            std::fs::set_permissions(bin.path().join(cmd), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
        sb.conn.env.push(("PATH".into(), path));
        let args = serde_json::json!({"name": "orc-no-such-group", "gid_min": 1500, "gid_max": 1501});
        let d = sb.decide(&Group, &args);
        sb.apply(&Group, &args, d);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "groupadd -K GID_MIN=1500 -K GID_MAX=1501 orc-no-such-group\n"
        );
        // local: /etc/group alone and lgroupadd.
        std::fs::remove_file(&log).unwrap();
        let args = serde_json::json!({"name": "orc-no-such-group", "local": true});
        let d = sb.decide(&Group, &args);
        sb.apply(&Group, &args, d);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "lgroupadd orc-no-such-group\n");
        // Ansible fails the task (not the playbook) for a range with local.
        let r = sb.run(&Group, serde_json::json!({"name": "x", "gid_min": 1000, "local": true}), false, false);
        match r {
            Err(ModuleError::Fail(f)) => assert_eq!(f.msg.as_deref(), Some("'gid_min' can not be used with 'local'")),
            other => panic!("{other:?}"),
        }
    }
}
