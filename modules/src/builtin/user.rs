//! `user`: ensures a local account exists with the given attributes (or does not), as Ansible's
//! Linux `user` module does with useradd/usermod/userdel. The account, its shadow entry, every
//! group and whether its home exists are read in one command.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::builtin::group::{parse_groups, run_account_cmd, GroupEntry};
use crate::builtin::lineinfile::PresentAbsent;
use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `update_password`: when a given password hash is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePassword {
    /// Whenever it differs from the shadow entry.
    #[default]
    Always,
    /// Only when the account is created.
    OnCreate,
}

/// `user` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// Login name.
    #[serde(alias = "user", deserialize_with = "crate::args::string")]
    pub name: String,
    /// present or absent.
    #[serde(default)]
    pub state: PresentAbsent,
    /// Numeric user id.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub uid: Option<u64>,
    /// Allow a duplicate uid (`-o`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub non_unique: bool,
    /// Primary group (name or gid).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// Supplementary groups; an empty list removes all (unless `append`).
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub groups: Option<Vec<String>>,
    /// Add `groups` to the current ones instead of replacing them.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub append: bool,
    /// GECOS field.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub comment: Option<String>,
    /// Home directory.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub home: Option<String>,
    /// Move the old home when `home` changes.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub move_home: bool,
    /// Login shell.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub shell: Option<String>,
    /// Create the home directory.
    #[serde(default = "crate::args::default_true", alias = "createhome", deserialize_with = "crate::args::bool")]
    pub create_home: bool,
    /// Skeleton directory for a new home (`-k`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub skeleton: Option<String>,
    /// System account (`-r`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub system: bool,
    /// Crypted password, compared with the shadow entry.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub password: Option<String>,
    /// always or on_create.
    #[serde(default)]
    pub update_password: UpdatePassword,
    /// Lock (`true`) or unlock (`false`) the password.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub password_lock: Option<bool>,
    /// With state=absent: remove the home directory and mail spool (`userdel -r`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub remove: bool,
    /// With state=absent: remove even if logged in (`userdel -f`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
}

/// The `user` module.
pub struct User;

/// A passwd entry merged with its shadow password, as Ansible's `user_info()`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    /// Login name.
    pub name: String,
    /// Password field from the shadow entry (or passwd when there is none).
    pub password: String,
    /// Numeric uid.
    pub uid: u64,
    /// Primary gid.
    pub gid: u64,
    /// GECOS.
    pub comment: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// Everything the query command learns.
#[derive(Debug, Clone, Default)]
pub struct UserState {
    /// The account, if it exists.
    pub info: Option<UserInfo>,
    /// All groups.
    pub groups: Vec<GroupEntry>,
    /// Whether the home directory (given, else current) exists.
    pub home_exists: bool,
}

/// Parses the query's tagged output (`P:` passwd, `S:` shadow, `G:` group, `H` home exists).
pub fn parse_state(text: &str, name: &str) -> UserState {
    let mut st = UserState::default();
    let mut shadow = None;
    let mut group_text = String::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("P:") {
            let f: Vec<&str> = p.split(':').collect();
            if f.len() >= 7 && f[0] == name {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    st.info = Some(UserInfo {
                        name: f[0].into(),
                        password: f[1].into(),
                        uid,
                        gid,
                        comment: f[4].into(),
                        home: f[5].into(),
                        shell: f[6..].join(":"),
                    });
                }
            }
        } else if let Some(s) = line.strip_prefix("S:") {
            let f: Vec<&str> = s.split(':').collect();
            if f.len() >= 2 && f[0] == name {
                shadow = Some(f[1].to_string());
            }
        } else if let Some(g) = line.strip_prefix("G:") {
            group_text.push_str(g);
            group_text.push('\n');
        } else if line == "H" {
            st.home_exists = true;
        }
    }
    if let (Some(i), Some(s)) = (st.info.as_mut(), shadow) {
        i.password = s;
    }
    st.groups = parse_groups(&group_text);
    st
}

fn query(ctx: &mut ModuleCtx, name: &str, home: Option<&str>) -> Result<UserState, ModuleError> {
    let cmd = format!(
        "n={n}; getent passwd \"$n\" | sed 's/^/P:/'; getent shadow \"$n\" 2>/dev/null | sed 's/^/S:/'; \
         getent group | sed 's/^/G:/'; h={h}; [ -n \"$h\" ] || h=$(getent passwd \"$n\" | cut -d: -f6); \
         [ -n \"$h\" ] && [ -e \"$h\" ] && echo H; true",
        n = quote(name),
        h = quote(home.unwrap_or("")),
    );
    let out = ctx.conn.exec(&cmd, None)?;
    Ok(parse_state(&out.stdout_str(), name))
}

/// Ansible's `group_info`: a group by gid (when numeric) or by name.
fn find_group<'a>(groups: &'a [GroupEntry], g: &str) -> Option<&'a GroupEntry> {
    g.parse::<u64>()
        .ok()
        .and_then(|gid| groups.iter().find(|e| e.gid == gid))
        .or_else(|| groups.iter().find(|e| e.name == g))
}

fn fail(name: &str, msg: String) -> ModuleError {
    ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("name", name.to_string())))
}

/// The groups the user lists, checked to exist; `None` when `groups` is not given.
fn wanted_groups(a: &UserArgs, st: &UserState) -> Result<Option<Vec<GroupEntry>>, ModuleError> {
    let Some(gs) = &a.groups else { return Ok(None) };
    let mut out: Vec<GroupEntry> = Vec::new();
    for g in gs.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        let e = find_group(&st.groups, g).ok_or_else(|| fail(&a.name, format!("Group {g} does not exist")))?;
        if !out.iter().any(|o| o.name == e.name) {
            out.push(e.clone());
        }
    }
    Ok(Some(out))
}

/// The useradd command line for a new account.
pub fn useradd_cmd(a: &UserArgs, st: &UserState) -> Result<Vec<String>, ModuleError> {
    let mut cmd = vec!["useradd".to_string()];
    if let Some(uid) = a.uid {
        cmd.extend(["-u".into(), uid.to_string()]);
        if a.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &a.group {
        if find_group(&st.groups, g).is_none() {
            return Err(fail(&a.name, format!("Group {g} does not exist")));
        }
        cmd.extend(["-g".into(), g.clone()]);
    } else if st.groups.iter().any(|e| e.name == a.name) {
        cmd.push("-N".into());
    }
    if let Some(groups) = wanted_groups(a, st)? {
        let primary = a.group.as_deref().and_then(|g| find_group(&st.groups, g)).map(|e| e.gid);
        let names: Vec<String> = groups.iter().filter(|g| Some(g.gid) != primary).map(|g| g.name.clone()).collect();
        if !names.is_empty() {
            cmd.extend(["-G".into(), names.join(",")]);
        }
    }
    if let Some(c) = &a.comment {
        cmd.extend(["-c".into(), c.clone()]);
    }
    if let Some(h) = &a.home {
        cmd.extend(["-d".into(), h.clone()]);
    }
    if let Some(s) = &a.shell {
        cmd.extend(["-s".into(), s.clone()]);
    }
    if let Some(p) = &a.password {
        let p = if a.password_lock == Some(true) { format!("!{p}") } else { p.clone() };
        cmd.extend(["-p".into(), p]);
    }
    if a.create_home {
        cmd.push("-m".into());
        if let Some(k) = &a.skeleton {
            cmd.extend(["-k".into(), k.clone()]);
        }
    } else {
        cmd.push("-M".into());
    }
    if a.system {
        cmd.push("-r".into());
    }
    cmd.push(a.name.clone());
    Ok(cmd)
}

/// The usermod command line for an existing account; `None` when nothing differs.
pub fn usermod_cmd(a: &UserArgs, st: &UserState, info: &UserInfo) -> Result<Option<Vec<String>>, ModuleError> {
    let mut cmd = vec!["usermod".to_string()];
    if let Some(uid) = a.uid.filter(|u| *u != info.uid) {
        cmd.extend(["-u".into(), uid.to_string()]);
        if a.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &a.group {
        let e = find_group(&st.groups, g).ok_or_else(|| fail(&a.name, format!("Group {g} does not exist")))?;
        if e.gid != info.gid {
            cmd.extend(["-g".into(), e.gid.to_string()]);
        }
    }
    if let Some(wanted) = wanted_groups(a, st)? {
        let current: Vec<&str> =
            st.groups.iter().filter(|g| g.members.iter().any(|m| m == &a.name)).map(|g| g.name.as_str()).collect();
        let names: Vec<&str> = wanted.iter().map(|g| g.name.as_str()).collect();
        let need = if names.is_empty() {
            !current.is_empty() && !a.append
        } else {
            let missing = names.iter().any(|n| !current.contains(n));
            let extra = current.iter().any(|c| !names.contains(c));
            if a.append {
                missing
            } else {
                missing || extra
            }
        };
        if need {
            if a.append {
                cmd.push("-a".into());
            }
            cmd.extend(["-G".into(), names.join(",")]);
        }
    }
    if let Some(c) = a.comment.as_ref().filter(|c| **c != info.comment) {
        cmd.extend(["-c".into(), c.clone()]);
    }
    if let Some(h) = a.home.as_ref().filter(|h| **h != info.home) {
        cmd.extend(["-d".into(), h.clone()]);
        if a.move_home {
            cmd.push("-m".into());
        }
    }
    if let Some(s) = a.shell.as_ref().filter(|s| **s != info.shell) {
        cmd.extend(["-s".into(), s.clone()]);
    }
    let locked = info.password.starts_with('!');
    match a.password_lock {
        Some(true) if !locked => cmd.push("-L".into()),
        Some(false) if locked => cmd.push("-U".into()),
        _ => {}
    }
    if let Some(p) = &a.password {
        if a.update_password == UpdatePassword::Always
            && info.password.trim_start_matches('!') != p.trim_start_matches('!')
        {
            cmd.retain(|c| c != "-L" && c != "-U");
            let p = if a.password_lock == Some(true) { format!("!{p}") } else { p.clone() };
            cmd.extend(["-p".into(), p]);
        }
    }
    if cmd.len() == 1 {
        return Ok(None);
    }
    cmd.push(a.name.clone());
    Ok(Some(cmd))
}

fn mkhome_cmd(home: &str, skel: &str, uid: u64, gid: u64) -> String {
    format!(
        "h={h}; m=$(awk '$1==\"HOME_MODE\"{{print $2}}' /etc/login.defs 2>/dev/null); mkdir -p -- \"$h\" && \
         {{ [ ! -d {s} ] || cp -a {s}/. \"$h\"/; }} && chown -R {uid}:{gid} \"$h\" && chmod \"${{m:-0755}}\" \"$h\"",
        h = quote(home),
        s = quote(skel),
    )
}

impl TypedModule for User {
    type Args = UserArgs;
    const NAME: &'static str = "user";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Makes sure a local user account exists with the given attributes, or does not exist, with useradd, \
                usermod and userdel.",
        notes: "One command reads the passwd and shadow entries, every group and whether the home directory exists; \
                usermod then runs with only the options that differ. The host needs the shadow utilities (useradd, \
                usermod, userdel), as Ansible's Linux user module does; BusyBox's adduser is not used. `password` is \
                a crypted hash compared with the shadow entry (`update_password: on_create` sets it only for a new \
                account). `groups` replaces the supplementary groups unless `append`; every group named must exist. \
                With `create_home` a missing home directory is created from `skeleton` (or /etc/skel), also for an \
                existing account. Check mode reports without changing anything. Ansible's other arguments (SSH key \
                generation, `expires`, `password_expire_*`, `local`, `umask`, `seuser`...) are not accepted.",
        returns: &[
            ("name, state", "The account and the state asked for."),
            (
                "uid, group, comment, home, shell",
                "The account after the task (`group` is the primary gid), when it \
                exists.",
            ),
            ("groups", "With `groups`: the groups given, comma-separated."),
            ("password", "`NOT_LOGGING_PASSWORD` when `password` was given."),
            ("system, create_home", "When the account was created: the arguments used."),
            ("append, move_home", "For an existing account: the arguments used."),
            ("force, remove", "When the account was removed: the arguments used."),
            ("stdout, stderr", "What useradd, usermod or userdel printed, when it printed something."),
        ],
        example: "- name: Create the deploy user\n  \
                  ansible.builtin.user:\n    \
                  name: deploy\n    \
                  shell: /bin/bash\n    \
                  groups: [sudo, docker]\n    \
                  append: true\n",
    };

    fn check_args(a: &UserArgs) -> Result<(), ArgError> {
        if a.name.is_empty() {
            return Err(ArgError { msg: "name must not be empty".into() });
        }
        if a.non_unique && a.uid.is_none() {
            return Err(ArgError { msg: "non_unique requires uid".into() });
        }
        Ok(())
    }

    fn decide(&self, a: &UserArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let st = query(ctx, &a.name, a.home.as_deref())?;
        let observed = observed(a, &st);
        let result = converge(a, ctx, st.clone(), true)?;
        Ok(Decision { result, observed, action: Box::new(UserAction { st }) })
    }

    fn apply(&self, a: UserArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, UserAction { st }) = decision.take_action::<UserAction>(Self::NAME)?;
        converge(&a, ctx, st, false)
    }
}

/// What `user` decided from: the account, groups and home as read.
struct UserAction {
    st: UserState,
}

/// The account fields the decision compared, as named fields: whether it exists, then only the
/// fields the arguments set (the password as `matches`/`differs`, never the hash).
fn observed(a: &UserArgs, st: &UserState) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("exists".into(), st.info.is_some().into());
    let Some(info) = &st.info else { return m };
    if a.state == PresentAbsent::Absent {
        return m;
    }
    let mut put = |k: &str, on: bool, v: Value| {
        if on {
            m.insert(k.into(), v);
        }
    };
    put("uid", a.uid.is_some(), info.uid.into());
    put("gid", a.group.is_some(), info.gid.into());
    put("comment", a.comment.is_some(), info.comment.clone().into());
    put("home", a.home.is_some(), info.home.clone().into());
    put("shell", a.shell.is_some(), info.shell.clone().into());
    let member: Vec<Value> =
        st.groups.iter().filter(|g| g.members.iter().any(|n| n == &a.name)).map(|g| g.name.clone().into()).collect();
    put("groups", a.groups.is_some(), member.into());
    let same =
        a.password.as_deref().is_some_and(|p| info.password.trim_start_matches('!') == p.trim_start_matches('!'));
    put(
        "password",
        a.password.is_some() && a.update_password == UpdatePassword::Always,
        if same { "matches" } else { "differs" }.into(),
    );
    put("locked", a.password_lock.is_some(), info.password.starts_with('!').into());
    put("home_exists", a.create_home, st.home_exists.into());
    m
}

/// Ansible's decisions for the account from its state `st`; with `check` off, useradd, usermod
/// or userdel carry them out and the account is read back for the result.
fn converge(a: &UserArgs, ctx: &mut ModuleCtx, st: UserState, check: bool) -> RunResult {
    let state = if a.state == PresentAbsent::Present { "present" } else { "absent" };
    if a.state == PresentAbsent::Absent {
        let mut res = ModuleResult::ok();
        if st.info.is_some() {
            if check {
                return Ok(ModuleResult::changed(true));
            }
            let mut cmd = vec!["userdel".to_string()];
            if a.force {
                cmd.push("-f".into());
            }
            if a.remove {
                cmd.push("-r".into());
            }
            cmd.push(a.name.clone());
            res = run_account_cmd(ctx, &a.name, &cmd)?.with("force", a.force).with("remove", a.remove);
        }
        return Ok(res.with("name", a.name.clone()).with("state", state));
    }
    let mut res = match &st.info {
        None => {
            if check {
                return Ok(ModuleResult::changed(true));
            }
            let cmd = useradd_cmd(a, &st)?;
            if let (Some(h), true) = (&a.home, a.create_home) {
                let parent = crate::filewrite::dirname(h);
                if !parent.is_empty() {
                    ctx.conn.exec(&format!("mkdir -p -- {}", quote(parent)), None)?;
                }
            }
            run_account_cmd(ctx, &a.name, &cmd)?.with("system", a.system).with("create_home", a.create_home)
        }
        Some(info) => {
            let r = match usermod_cmd(a, &st, info)? {
                Some(_) if check => ModuleResult::changed(true),
                Some(cmd) => run_account_cmd(ctx, &a.name, &cmd)?,
                None => ModuleResult::ok(),
            };
            r.with("append", a.append).with("move_home", a.move_home)
        }
    };
    res = res.with("name", a.name.clone()).with("state", state);
    if a.password.is_some() {
        res = res.with("password", "NOT_LOGGING_PASSWORD");
    }
    let after = if res.changed && !check { query(ctx, &a.name, a.home.as_deref())? } else { st };
    let Some(info) = after.info.clone() else {
        return Ok(res);
    };
    res = res
        .with("uid", info.uid)
        .with("group", info.gid)
        .with("comment", info.comment.clone())
        .with("home", info.home.clone())
        .with("shell", info.shell.clone());
    if let Some(g) = &a.groups {
        res = res.with("groups", g.join(","));
    }
    if !after.home_exists && a.create_home {
        let home = a.home.clone().unwrap_or(info.home.clone());
        if !check {
            let skel = a.skeleton.as_deref().unwrap_or("/etc/skel");
            let out = ctx.conn.exec(&mkhome_cmd(&home, skel, info.uid, info.gid), None)?;
            if out.rc != 0 {
                return Err(fail(&a.name, format!("failed to create home {home}: {}", out.stderr_str().trim())));
            }
        }
        res.changed = true;
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: serde_json::Value) -> UserArgs {
        serde_json::from_value(v).unwrap()
    }

    const STATE: &str = "P:alice:x:1001:1001:Alice:/home/alice:/bin/bash\nS:alice:$6$abc:19000:0:99999:7:::\n\
G:alice:x:1001:\nG:sudo:x:27:alice\nG:adm:x:4:\nG:docker:x:999:bob\nH\n";

    #[test]
    fn parses_passwd_shadow_groups() {
        let st = parse_state(STATE, "alice");
        let i = st.info.unwrap();
        assert_eq!((i.uid, i.gid, i.password.as_str(), i.shell.as_str()), (1001, 1001, "$6$abc", "/bin/bash"));
        assert_eq!(st.groups.len(), 4);
        assert!(st.home_exists);
        assert!(parse_state(STATE, "bob").info.is_none());
    }

    #[test]
    fn usermod_only_for_differences() {
        let st = parse_state(STATE, "alice");
        let info = st.info.clone().unwrap();
        let same =
            args(serde_json::json!({"name": "alice", "shell": "/bin/bash", "groups": ["sudo"], "password": "$6$abc"}));
        assert_eq!(usermod_cmd(&same, &st, &info).unwrap(), None);
        let app = args(serde_json::json!({"name": "alice", "groups": "adm", "append": true}));
        assert_eq!(usermod_cmd(&app, &st, &info).unwrap().unwrap().join(" "), "usermod -a -G adm alice");
        let repl = args(serde_json::json!({"name": "alice", "groups": "adm"}));
        assert_eq!(usermod_cmd(&repl, &st, &info).unwrap().unwrap().join(" "), "usermod -G adm alice");
        let none = args(serde_json::json!({"name": "alice", "groups": [], "append": true}));
        assert_eq!(usermod_cmd(&none, &st, &info).unwrap(), None);
        let lock = args(serde_json::json!({"name": "alice", "password_lock": true, "shell": "/bin/sh"}));
        assert_eq!(usermod_cmd(&lock, &st, &info).unwrap().unwrap().join(" "), "usermod -s /bin/sh -L alice");
        let missing = args(serde_json::json!({"name": "alice", "groups": "nope"}));
        assert!(usermod_cmd(&missing, &st, &info).is_err());
    }

    #[test]
    fn useradd_uses_no_user_group_when_group_exists() {
        let st = parse_state("G:carol:x:1500:\nG:sudo:x:27:\n", "carol");
        let a = args(serde_json::json!({"name": "carol", "groups": "sudo", "system": true, "create_home": false}));
        assert_eq!(useradd_cmd(&a, &st).unwrap().join(" "), "useradd -N -G sudo -M -r carol");
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        use std::os::unix::fs::PermissionsExt;
        let mut sb = crate::builtin::test_support::Sandbox::new();
        // usermod is a stand-in logging its arguments: this test must not change this machine's root.
        let bin = tempfile::tempdir().unwrap();
        let log = bin.path().join("log");
        std::fs::write(bin.path().join("usermod"), format!("#!/bin/sh\necho \"usermod $*\" >> {}\n", log.display()))
            .unwrap();
        std::fs::set_permissions(bin.path().join("usermod"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
        sb.conn.env.push(("PATH".into(), path));
        let passwd = std::process::Command::new("getent").args(["passwd", "root"]).output().unwrap();
        let shell = String::from_utf8(passwd.stdout).unwrap().trim().rsplit(':').next().unwrap().to_string();

        let args = json!({"name": "root", "shell": "/bin/orc-test-shell", "create_home": false});
        let d = sb.decide(&User, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("exists"), Some(&json!(true)));
        assert_eq!(d.observed.get("shell"), Some(&json!(shell)));
        assert!(d.observed.get("uid").is_none(), "uid was not compared");
        assert!(!log.exists(), "decide ran usermod");
        assert!(sb.apply(&User, &args, d).changed);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "usermod -s /bin/orc-test-shell root\n");

        // An account that does not exist: deciding creates nothing.
        let args = json!({"name": "orc-no-such-user", "password": "$6$x"});
        let d = sb.decide(&User, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed, json!({"exists": false}).as_object().unwrap().clone());
        assert!(!std::process::Command::new("getent").args(["passwd", "orc-no-such-user"]).status().unwrap().success());
    }
}
