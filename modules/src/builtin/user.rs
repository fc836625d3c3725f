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
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
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
    /// With state=absent: remove even if logged in (`userdel -f`); with `generate_ssh_key`:
    /// overwrite an existing key.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Account expiry, in seconds since the epoch; negative: never (`useradd -e ''`).
    #[serde(default, deserialize_with = "crate::args::opt_f64")]
    pub expires: Option<f64>,
    /// Minimum days between password changes (`chage -m`).
    #[serde(default, deserialize_with = "crate::args::opt_i64")]
    pub password_expire_min: Option<i64>,
    /// Maximum days a password is valid (`chage -M`).
    #[serde(default, deserialize_with = "crate::args::opt_i64")]
    pub password_expire_max: Option<i64>,
    /// Days of warning before the password expires (`chage -W`).
    #[serde(default, deserialize_with = "crate::args::opt_i64")]
    pub password_expire_warn: Option<i64>,
    /// Days after the password expires until the account is disabled (`-f`).
    #[serde(default, deserialize_with = "crate::args::opt_i64")]
    pub password_expire_account_disable: Option<i64>,
    /// UID_MIN for a new account's uid (`useradd -K UID_MIN=N`); not with `local`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub uid_min: Option<u64>,
    /// UID_MAX for a new account's uid (`useradd -K UID_MAX=N`); not with `local`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub uid_max: Option<u64>,
    /// The umask a new home is created with (`useradd -K UMASK=...`); not with `local`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub umask: Option<String>,
    /// Use the libuser commands (luseradd, lusermod, luserdel, lgroupmod, lchage) and look the
    /// account up in /etc/passwd alone, for hosts with centralized accounts.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub local: bool,
    /// Generate an SSH key pair for the account (ssh-keygen) unless one exists.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub generate_ssh_key: bool,
    /// The key's bits (`ssh-keygen -b`); 0: ssh-keygen's default.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub ssh_key_bits: Option<u64>,
    /// The key's type (`ssh-keygen -t`).
    #[serde(default = "default_key_type", deserialize_with = "crate::args::string")]
    pub ssh_key_type: String,
    /// The private key's path, relative to the home directory unless absolute
    /// (default `.ssh/id_TYPE`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ssh_key_file: Option<String>,
    /// The key's comment (default `ansible-generated on HOSTNAME`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ssh_key_comment: Option<String>,
    /// The private key's passphrase.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ssh_key_passphrase: Option<String>,
}

fn default_key_type() -> String {
    "rsa".into()
}

/// The aging fields of a shadow entry (`-1` where the field is empty, as Python's spwd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Aging {
    /// Minimum days between changes.
    pub min: i64,
    /// Maximum days.
    pub max: i64,
    /// Warning days.
    pub warn: i64,
    /// Account expiry, days since the epoch.
    pub expire: i64,
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
    /// The shadow entry's aging fields, when there is a shadow entry.
    pub aging: Option<Aging>,
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
    let mut aging = None;
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
                        aging: None,
                    });
                }
            }
        } else if let Some(s) = line.strip_prefix("S:") {
            let f: Vec<&str> = s.split(':').collect();
            if f.len() >= 2 && f[0] == name {
                shadow = Some(f[1].to_string());
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
                aging = Some(Aging { min: num(3), max: num(4), warn: num(5), expire: num(7) });
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
        i.aging = aging;
    }
    st.groups = parse_groups(&group_text);
    st
}

fn query(ctx: &mut ModuleCtx, a: &UserArgs) -> Result<UserState, ModuleError> {
    let (name, home) = (a.name.as_str(), a.home.as_deref());
    // With `local`, the account counts only when /etc/passwd has it (Ansible's user_exists).
    let passwd = if a.local { "grep -- \"^$n:\" /etc/passwd | tail -n 1" } else { "getent passwd \"$n\"" };
    let cmd = format!(
        "n={n}; {passwd} | sed 's/^/P:/'; getent shadow \"$n\" 2>/dev/null | sed 's/^/S:/'; \
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
    let mut cmd = vec![if a.local { "luseradd" } else { "useradd" }.to_string()];
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
        // luseradd spells "no user group" -n.
        cmd.push(if a.local { "-n" } else { "-N" }.into());
    }
    if let Some(groups) = wanted_groups(a, st)?.filter(|_| !a.local) {
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
    if let Some(e) = a.expires.filter(|_| !a.local) {
        cmd.extend(["-e".into(), expiry_date(e).unwrap_or_default()]);
    }
    if let Some(i) = a.password_expire_account_disable {
        cmd.extend(["-f".into(), i.to_string()]);
    }
    if let Some(p) = &a.password {
        let p = if a.password_lock == Some(true) { format!("!{p}") } else { p.clone() };
        cmd.extend(["-p".into(), p]);
    }
    if a.create_home {
        if !a.local {
            cmd.push("-m".into());
        }
        if let Some(k) = &a.skeleton {
            cmd.extend(["-k".into(), k.clone()]);
        }
        if let Some(u) = &a.umask {
            cmd.extend(["-K".into(), format!("UMASK={u}")]);
        }
    } else {
        cmd.push("-M".into());
    }
    if a.system {
        cmd.push("-r".into());
    }
    if let Some(min) = a.uid_min {
        cmd.extend(["-K".into(), format!("UID_MIN={min}")]);
    }
    if let Some(max) = a.uid_max {
        cmd.extend(["-K".into(), format!("UID_MAX={max}")]);
    }
    cmd.push(a.name.clone());
    Ok(cmd)
}

/// The usermod command line for an existing account; `None` when nothing differs.
pub fn usermod_cmd(a: &UserArgs, st: &UserState, info: &UserInfo) -> Result<Option<Vec<String>>, ModuleError> {
    Ok(usermod_plan(a, st, info)?.cmd)
}

/// What modifying an existing account takes: the usermod (lusermod) command line, `None` when
/// no option differs, and with `local` the commands libuser needs besides (lchage for the
/// expiry, lgroupmod for the supplementary groups), as Ansible's `modify_user_usermod`.
pub struct UsermodPlan {
    /// The usermod or lusermod command line.
    pub cmd: Option<Vec<String>>,
    /// lchage and lgroupmod command lines (local only), run after `cmd`.
    pub extra: Vec<Vec<String>>,
}

/// Builds the [`UsermodPlan`] for an existing account.
pub fn usermod_plan(a: &UserArgs, st: &UserState, info: &UserInfo) -> Result<UsermodPlan, ModuleError> {
    let mut extra: Vec<Vec<String>> = Vec::new();
    let mut cmd = vec![if a.local { "lusermod" } else { "usermod" }.to_string()];
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
        if need && a.local {
            for n in names.iter().filter(|n| !current.contains(n)) {
                extra.push(vec!["lgroupmod".into(), "-M".into(), a.name.clone(), n.to_string()]);
            }
            if !a.append {
                for c in current.iter().filter(|c| !names.contains(c)) {
                    extra.push(vec!["lgroupmod".into(), "-m".into(), a.name.clone(), c.to_string()]);
                }
            }
        } else if need {
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
    if let Some(e) = a.expires {
        // Ansible: no shadow entry counts as day 0; an empty field as -1 (never).
        let current = info.aging.map_or(0, |g| g.expire);
        let secs = e.floor() as i64;
        let change = if secs < 0 { current >= 0 } else { current < 0 || civil(current * 86400) != civil(secs) };
        if change {
            if a.local {
                let days = if secs < 0 { -1 } else { secs.div_euclid(86400) };
                extra.insert(0, vec!["lchage".into(), "-E".into(), days.to_string(), a.name.clone()]);
            } else {
                cmd.extend(["-e".into(), expiry_date(e).unwrap_or_default()]);
            }
        }
    }
    if let Some(i) = a.password_expire_account_disable {
        // Ansible passes -f whenever it is given, so the task always changes.
        cmd.extend(["-f".into(), i.to_string()]);
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
        return Ok(UsermodPlan { cmd: None, extra });
    }
    cmd.push(a.name.clone());
    Ok(UsermodPlan { cmd: Some(cmd), extra })
}

/// The civil date (year, month, day) of a time in seconds since the epoch (UTC).
fn civil(secs: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days_from_civil inverse.
    let z = secs.div_euclid(86400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// useradd's `-e` value for `expires`: `YYYY-MM-DD`, or `None` (an empty value: never) when
/// negative.
fn expiry_date(expires: f64) -> Option<String> {
    let secs = expires.floor() as i64;
    if secs < 0 {
        return None;
    }
    let (y, m, d) = civil(secs);
    Some(format!("{y:04}-{m:02}-{d:02}"))
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
        runtime_checks(a)?;
        let a = &expand_paths(a, ctx)?;
        let st = query(ctx, a)?;
        let observed = observed(a, &st);
        let result = converge(a, ctx, st.clone(), true)?;
        Ok(Decision { result, observed, action: Box::new(UserAction { st }) })
    }

    fn apply(&self, a: UserArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, UserAction { st }) = decision.take_action::<UserAction>(Self::NAME)?;
        let a = expand_paths(&a, ctx)?;
        converge(&a, ctx, st, false)
    }
}

/// `home` and `shell` with a leading `~` expanded on the host, as Ansible's `type='path'`
/// arguments are (`os.path.expanduser` where the module runs: `~/custom_shell` is the
/// connecting user's home).
fn expand_paths(a: &UserArgs, ctx: &mut ModuleCtx) -> Result<UserArgs, ModuleError> {
    let mut a = a.clone();
    for p in [&mut a.home, &mut a.shell].into_iter().flatten() {
        if let Some(rest) = p.strip_prefix('~') {
            let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let cmd = if user.is_empty() {
                "printf %s \"$HOME\"".to_string()
            } else {
                format!("getent passwd {} | cut -d: -f6", quote(user))
            };
            let out = ctx.conn.exec(&cmd, None)?;
            let home = out.stdout_str().trim().to_string();
            // Python leaves the path as it is when it cannot find the home.
            if !home.is_empty() {
                let home = if home == "/" && !tail.is_empty() { String::new() } else { home };
                *p = format!("{home}{tail}");
            }
        }
    }
    Ok(a)
}

/// Ansible's checks that run in the module (a failed task, not a refused playbook).
fn runtime_checks(a: &UserArgs) -> Result<(), ModuleError> {
    if a.local {
        for (set, arg) in
            [(a.umask.is_some(), "umask"), (a.uid_min.is_some(), "uid_min"), (a.uid_max.is_some(), "uid_max")]
        {
            if set {
                return Err(ModuleError::msg(format!("'{arg}' can not be used with 'local'")));
            }
        }
    }
    Ok(())
}

/// Runs the commands one after the other, stopping at the first failure; the output joined.
fn run_all(ctx: &mut ModuleCtx, name: &str, cmds: &[Vec<String>]) -> RunResult {
    let mut res = ModuleResult::changed(true);
    for c in cmds {
        let r = run_account_cmd(ctx, name, c)?;
        for k in ["stdout", "stderr"] {
            if let Some(Value::String(v)) = r.data.get(k) {
                let joined = match res.data.get(k) {
                    Some(Value::String(old)) => format!("{old}{v}"),
                    _ => v.clone(),
                };
                res = res.with(k, joined);
            }
        }
    }
    Ok(res)
}

/// `chage` for the `password_expire_*` arguments that differ from the shadow entry; `None`
/// when none differs or there is no shadow entry (Ansible's `set_password_expire`).
fn chage_cmd(a: &UserArgs, info: &UserInfo) -> Option<Vec<String>> {
    let aging = info.aging?;
    let mut cmd = vec!["chage".to_string()];
    for (want, have, flag) in [
        (a.password_expire_min, aging.min, "-m"),
        (a.password_expire_max, aging.max, "-M"),
        (a.password_expire_warn, aging.warn, "-W"),
    ] {
        if let Some(w) = want.filter(|w| *w != have) {
            cmd.extend([flag.to_string(), w.to_string()]);
        }
    }
    if cmd.len() == 1 {
        return None;
    }
    cmd.push(a.name.clone());
    Some(cmd)
}

/// The shell script behind `generate_ssh_key` (Ansible's `ssh_key_gen`): creates the key's
/// directory (0700, the account's), keeps an existing key unless `force`, runs ssh-keygen and
/// gives the files to the account. It prints `W:` warnings, then one status line: `SKIP:msg`,
/// `WOULD` (check mode) or `GEN`; a failure exits non-zero with stderr.
fn ssh_keygen_script(a: &UserArgs, key: &str, uid: u64, gid: u64, check: bool) -> String {
    let comment = match &a.ssh_key_comment {
        Some(c) => quote(c),
        None => "\"ansible-generated on $(hostname)\"".to_string(),
    };
    let bits = match a.ssh_key_bits.filter(|b| *b > 0) {
        Some(b) => format!("-b {b} "),
        None => String::new(),
    };
    format!(
        "f={f}; d=$(dirname -- \"$f\"); force={force}; check={check}\n\
         if [ ! -e \"$d\" ]; then\n\
           if [ $check = 1 ]; then echo WOULD; exit 0; fi\n\
           mkdir -m 0700 -- \"$d\" && chown {uid}:{gid} -- \"$d\" || {{ echo \"Failed to create $d\" >&2; exit 1; }}\n\
         fi\n\
         if [ -e \"$f\" ]; then\n\
           if [ $force = 1 ]; then echo \"W:Overwriting existing ssh key private file \\\"$f\\\"\"; rm -f -- \"$f\";\n\
           else echo \"W:Found existing ssh key private file \\\"$f\\\", no force, so skipping ssh-keygen generation\"; \
                echo 'SKIP:Key already exists, use \"force: yes\" to overwrite'; exit 0; fi\n\
         fi\n\
         if [ -e \"$f.pub\" ]; then\n\
           if [ $force = 1 ]; then echo \"W:Overwriting existing ssh key public file \\\"$f.pub\\\"\"; [ $check = 1 ] || rm -f -- \"$f.pub\";\n\
           else echo \"W:Found existing ssh key public file \\\"$f.pub\\\", no force, so skipping ssh-keygen generation\"; \
                echo 'SKIP:Public key already exists, use \"force: yes\" to overwrite'; exit 0; fi\n\
         fi\n\
         if [ $check = 1 ]; then echo WOULD; exit 0; fi\n\
         ssh-keygen -q -t {t} {bits}-C {comment} -f \"$f\" -N {pass} </dev/null >&2 || exit 1\n\
         chown {uid}:{gid} -- \"$f\" \"$f.pub\" && echo GEN",
        f = quote(key),
        force = u8::from(a.force),
        check = u8::from(check),
        t = quote(&a.ssh_key_type),
        pass = quote(a.ssh_key_passphrase.as_deref().unwrap_or("")),
    )
}

/// `generate_ssh_key` on an existing account: the key generated unless one is there, then the
/// fingerprint, path and public key in the result.
fn ssh_key(
    a: &UserArgs,
    ctx: &mut ModuleCtx,
    info: &UserInfo,
    check: bool,
    res: &mut ModuleResult,
) -> Result<(), ModuleError> {
    let file = a.ssh_key_file.clone().unwrap_or_else(|| format!(".ssh/id_{}", a.ssh_key_type));
    let key = if file.starts_with('/') {
        file
    } else {
        let exists = ctx.conn.exec(&format!("test -e {}", quote(&info.home)), None)?.rc == 0;
        if !exists && !check {
            return Err(fail(&a.name, format!("User {} home directory does not exist", a.name)));
        }
        format!("{}/{}", info.home.trim_end_matches('/'), file)
    };
    let out = ctx.conn.exec(&ssh_keygen_script(a, &key, info.uid, info.gid, check), None)?;
    if out.rc != 0 {
        return Err(ModuleError::Fail(Box::new(
            ModuleResult::failed(out.stderr_str()).with("name", a.name.clone()).with("rc", out.rc),
        )));
    }
    let text = out.stdout_str();
    let mut warnings: Vec<Value> = match res.data.get("warnings") {
        Some(Value::Array(w)) => w.clone(),
        _ => Vec::new(),
    };
    for line in text.lines() {
        if let Some(w) = line.strip_prefix("W:") {
            warnings.push(w.into());
        } else if line == "GEN" || line == "WOULD" {
            res.changed = true;
        }
    }
    if !warnings.is_empty() {
        res.data.insert("warnings".into(), warnings.into());
    }
    let fp = ctx.conn.exec(&format!("ssh-keygen -l -f {}", quote(&key)), None)?;
    let fingerprint = if fp.rc == 0 { fp.stdout_str() } else { fp.stderr_str() };
    res.data.insert("ssh_fingerprint".into(), fingerprint.trim().into());
    res.data.insert("ssh_key_file".into(), key.clone().into());
    let pubkey = ctx.conn.exec(&format!("cat {}.pub", quote(&key)), None)?;
    let pubkey = if pubkey.rc == 0 { Value::from(pubkey.stdout_str().trim()) } else { Value::Null };
    res.data.insert("ssh_public_key".into(), pubkey);
    Ok(())
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
    let mut res = converge_account(a, ctx, st, check)?;
    // The warnings Ansible's module gives before it acts come first.
    let mut warnings: Vec<Value> = Vec::new();
    if a.password.as_deref().is_some_and(password_looks_unhashed) {
        warnings.push(
            "The input password appears not to have been hashed. The 'password' argument must be encrypted for \
             this module to work properly."
                .into(),
        );
    }
    if a.append && a.groups.is_none() {
        warnings.push(
            "'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will \
             change to an error in Ansible 2.14."
                .into(),
        );
    }
    if let Some(Value::Array(w)) = res.data.remove("warnings") {
        warnings.extend(w);
    }
    if !warnings.is_empty() {
        res.data.insert("warnings".into(), warnings.into());
    }
    Ok(res)
}

/// Ansible's `check_password_encrypted`: whether `password` looks like a plain text rather
/// than a crypt hash (a warning, never a refusal).
fn password_looks_unhashed(p: &str) -> bool {
    if ["*", "!", "*************"].contains(&p) || p.is_empty() {
        return false;
    }
    if p.contains([':', '*', '!']) || !p.contains('$') {
        return true;
    }
    let fields: Vec<&str> = p.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let want = match fields[1] {
        "1" => Some(22),
        "5" | "y" => Some(43),
        "6" => Some(86),
        _ => None,
    };
    last.chars().any(|c| !(c.is_ascii_alphanumeric() || "./=".contains(c))) || want.is_some_and(|n| last.len() != n)
}

/// [`converge`] without the warnings.
fn converge_account(a: &UserArgs, ctx: &mut ModuleCtx, st: UserState, check: bool) -> RunResult {
    let state = if a.state == PresentAbsent::Present { "present" } else { "absent" };
    if a.state == PresentAbsent::Absent {
        let mut res = ModuleResult::ok();
        if st.info.is_some() {
            if check {
                return Ok(ModuleResult::changed(true));
            }
            let mut cmd = vec![if a.local { "luserdel" } else { "userdel" }.to_string()];
            if a.force && !a.local {
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
            let mut cmds = vec![cmd];
            if a.local {
                if let Some(e) = a.expires {
                    let secs = e.floor() as i64;
                    let days = if secs < 0 { -1 } else { secs.div_euclid(86400) };
                    cmds.push(vec!["lchage".into(), "-E".into(), days.to_string(), a.name.clone()]);
                }
                for g in wanted_groups(a, &st)?.unwrap_or_default() {
                    cmds.push(vec!["lgroupmod".into(), "-M".into(), a.name.clone(), g.name]);
                }
            }
            run_all(ctx, &a.name, &cmds)?.with("system", a.system).with("create_home", a.create_home)
        }
        Some(info) => {
            let plan = usermod_plan(a, &st, info)?;
            let cmds: Vec<Vec<String>> = plan.cmd.into_iter().chain(plan.extra).collect();
            let r = if cmds.is_empty() {
                ModuleResult::ok()
            } else if check {
                ModuleResult::changed(true)
            } else {
                run_all(ctx, &a.name, &cmds)?
            };
            r.with("append", a.append).with("move_home", a.move_home)
        }
    };
    res = res.with("name", a.name.clone()).with("state", state);
    if a.password.is_some() {
        res = res.with("password", "NOT_LOGGING_PASSWORD");
    }
    let after = if res.changed && !check { query(ctx, a)? } else { st };
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
    if a.generate_ssh_key {
        ssh_key(a, ctx, &info, check, &mut res)?;
    }
    if let Some(cmd) = chage_cmd(a, &info) {
        if !check {
            run_account_cmd(ctx, &a.name, &cmd)?;
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
        let mut sb = crate::builtin::test_support::Sandbox::new();
        // usermod is a stand-in logging its arguments: this test must not change this machine's root.
        let (_bin, log) = crate::builtin::test_support::logging_stand_in(&mut sb, "usermod");
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

    #[test]
    fn expiry_and_password_aging_as_ansible() {
        // 2529881062 is 2050-03-03 (the user target's date), day 29281 in the shadow entry.
        assert_eq!(expiry_date(2_529_881_062.0).as_deref(), Some("2050-03-03"));
        assert_eq!(expiry_date(0.0).as_deref(), Some("1970-01-01"));
        assert_eq!(expiry_date(-1.0), None);
        let never = "P:alice:x:1001:1001::/home/alice:/bin/sh\nS:alice:!:19000:0:99999:7:::\n";
        let st = parse_state(never, "alice");
        let info = st.info.clone().unwrap();
        assert_eq!(info.aging, Some(Aging { min: 0, max: 99999, warn: 7, expire: -1 }));
        let a = args(json!({"name": "alice", "expires": -1}));
        assert_eq!(usermod_cmd(&a, &st, &info).unwrap(), None, "already never expires");
        let a = args(json!({"name": "alice", "expires": 2_529_881_062_u64}));
        assert_eq!(usermod_cmd(&a, &st, &info).unwrap().unwrap().join(" "), "usermod -e 2050-03-03 alice");
        let set = never.replace("7:::", "7::29281:");
        let st = parse_state(&set, "alice");
        let info = st.info.clone().unwrap();
        assert_eq!(usermod_cmd(&a, &st, &info).unwrap(), None, "same day");
        let a = args(json!({"name": "alice", "expires": -1}));
        assert_eq!(usermod_cmd(&a, &st, &info).unwrap().unwrap(), ["usermod", "-e", "", "alice"]);
        // chage only for what differs.
        let a = args(json!({"name": "alice", "password_expire_max": 99999, "password_expire_min": "5"}));
        assert_eq!(chage_cmd(&a, &info).unwrap().join(" "), "chage -m 5 alice");
        let a = args(json!({"name": "alice", "password_expire_max": 99999}));
        assert_eq!(chage_cmd(&a, &info), None);
    }

    #[test]
    fn useradd_ranges_umask_and_local() {
        let st = parse_state("G:carol:x:1500:\nG:sudo:x:27:\n", "carol");
        let a = args(json!({"name": "carol", "uid_min": 1000, "uid_max": 1999, "umask": "0027", "expires": -1}));
        assert_eq!(
            useradd_cmd(&a, &st).unwrap().join(" "),
            "useradd -N -e  -m -K UMASK=0027 -K UID_MIN=1000 -K UID_MAX=1999 carol"
        );
        let a = args(json!({"name": "carol", "local": true, "groups": "sudo", "expires": 0}));
        assert_eq!(useradd_cmd(&a, &st).unwrap().join(" "), "luseradd -n carol");
        assert!(runtime_checks(&args(json!({"name": "carol", "local": true, "uid_min": 5}))).is_err());
        // local: the supplementary groups through lgroupmod.
        let st = parse_state(STATE, "alice");
        let info = st.info.clone().unwrap();
        let a = args(json!({"name": "alice", "local": true, "groups": ["adm"]}));
        let plan = usermod_plan(&a, &st, &info).unwrap();
        assert_eq!(plan.cmd, None);
        assert_eq!(plan.extra, [["lgroupmod", "-M", "alice", "adm"], ["lgroupmod", "-m", "alice", "sudo"]]);
    }

    #[test]
    fn a_tilde_in_shell_is_the_hosts_home() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let (_bin, log) = crate::builtin::test_support::logging_stand_in(&mut sb, "usermod");
        sb.conn.env.push(("HOME".into(), "/orc-home".into()));
        let args = json!({"name": "root", "shell": "~/custom_shell", "create_home": false});
        let d = sb.decide(&User, &args);
        assert!(d.result.changed);
        sb.apply(&User, &args, d);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "usermod -s /orc-home/custom_shell root\n");
    }

    #[test]
    fn plain_text_passwords_are_warned_about() {
        assert!(password_looks_unhashed("plaintextpassword"));
        assert!(password_looks_unhashed(
            "$6$rounds=656000$tgK3gYTyRLUmhyv2$lAFrYUQwn7E6VsjPOwQwoSx30lmpiU9r/E0Al7tzKrR9mkodcMEZGe9OXD0H/clOn6qdsUnaL4zefy5fG+++++"
        ));
        assert!(!password_looks_unhashed("!"));
        let sha512 = format!("$6$salt${}", "a".repeat(86));
        assert!(!password_looks_unhashed(&sha512));
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let r = sb
            .run(&User, json!({"name": "orc-no-such-user", "password": "plain", "state": "absent"}), true, false)
            .unwrap();
        assert_eq!(r.data["warnings"].as_array().map(Vec::len), Some(1), "{:?}", r.data);
    }
}
