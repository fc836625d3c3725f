//! `file`: ensures a path is a file, a directory (created like `mkdir -p`), a symlink, a hard link,
//! touched, or absent; sets mode, ownership and timestamps. Diffs are Ansible's
//! `{path, state, mode...}` dicts printed as pretty JSON.

#[path = "file_time.rs"]
pub mod time;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::args::Mode;
use crate::contract::{ArgError, Decision, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType, StatInfo};
use crate::filewrite::{self, STAT_FMT};
use crate::shell_quote::quote;
use time::TimeSpec;

/// The `state` argument of `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// An existing regular file (never created).
    File,
    /// A directory, created with its parents.
    Directory,
    /// A symbolic link to `src`.
    Link,
    /// A hard link to `src`.
    Hard,
    /// Created if missing; timestamps updated.
    Touch,
    /// Removed (recursively).
    Absent,
}

/// `file` arguments.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct FileArgs {
    /// The path to manage.
    #[serde(alias = "dest", alias = "name", deserialize_with = "crate::args::string")]
    pub path: String,
    /// Desired state; defaults to the current one (or `file`).
    #[serde(default)]
    pub state: Option<FileState>,
    /// Link target for `link`/`hard`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub src: Option<String>,
    /// Apply attributes to everything under a directory.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub recurse: bool,
    /// Replace files/directories by links; create links to missing targets.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Act on a link's target.
    #[serde(default = "yes", deserialize_with = "crate::args::bool")]
    pub follow: bool,
    /// Permissions.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner name or uid.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group name or gid.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// `preserve`, `now`, or a time in `modification_time_format`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub modification_time: Option<String>,
    /// `strptime` format of `modification_time`.
    #[serde(default = "time_fmt", deserialize_with = "crate::args::string")]
    pub modification_time_format: String,
    /// `preserve`, `now`, or a time in `access_time_format`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub access_time: Option<String>,
    /// `strptime` format of `access_time`.
    #[serde(default = "time_fmt", deserialize_with = "crate::args::string")]
    pub access_time_format: String,
    /// File attributes set with `chattr` (`+i`, `-a`, or the whole set as `ie`), as Ansible's
    /// `attributes`; left alone on a host without `chattr`.
    #[serde(default, alias = "attr", deserialize_with = "crate::args::opt_string")]
    pub attributes: Option<String>,
    /// Accepted as in Ansible's file modules; `file` writes no content, so it changes nothing.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub unsafe_writes: Option<bool>,
    /// Internal (Ansible's action plugins pass it to learn whether a path holds binary data
    /// before showing its diff): when given, only `appears_binary` is returned.
    #[serde(default, rename = "_diff_peek")]
    pub diff_peek: Option<Value>,
}

fn yes() -> bool {
    true
}
fn time_fmt() -> String {
    "%Y%m%d%H%M.%S".into()
}

/// The `file` module.
pub struct File;

/// What one query command learns about the path (and, when asked, the link source and times).
#[derive(Debug, Default)]
struct Query {
    /// lstat of the path.
    lstat: Option<StatInfo>,
    /// stat of the link's target when the path is a link.
    target: Option<StatInfo>,
    /// `readlink -f` of the path when it is a link, else the path.
    realpath: String,
    /// The link `src` (resolved as Ansible does) exists.
    src_exists: bool,
    /// Inode of `src` for hard links.
    src_inode: Option<u64>,
    /// The path is a non-empty directory.
    nonempty: bool,
    /// Epoch seconds of the requested modification time.
    mtime: Option<i64>,
    /// Epoch seconds of the requested access time.
    atime: Option<i64>,
}

fn prev_state(st: Option<&StatInfo>) -> &'static str {
    match st {
        None => "absent",
        Some(s) => match s.file_type {
            FileType::Link => "link",
            FileType::Directory => "directory",
            _ if s.nlink > 1 => "hard",
            _ => "file",
        },
    }
}

fn query(
    ctx: &mut ModuleCtx,
    path: &str,
    src_check: Option<&str>,
    mtime: &TimeSpec,
    atime: &TimeSpec,
) -> Result<Query, ModuleError> {
    let out = ctx.conn.probe(&query_cmd(path, src_check, mtime, atime))?;
    parse_query(path, &out.stdout_str())
}

/// The probe [`query`] sends (read-only: `stat`, tests, `readlink`, `date -d` of given times).
fn query_cmd(path: &str, src_check: Option<&str>, mtime: &TimeSpec, atime: &TimeSpec) -> String {
    let mut cmd = format!(
        // No `ls` for the non-empty test (shell globbing is built in), and `_orcst` runs `stat`
        // or answers from the memo of a batch of probes (crate::stat_memo): a no-op `file` task
        // costs as few forks as the facts it needs.
        "p={q}; {function}if [ -e \"$p\" ] || [ -L \"$p\" ]; then \
         {stat} - \"$p\"; printf 'T:%s\\n' \"${{_orco#*|}}\"; \
         if [ -L \"$p\" ]; then printf L:; readlink -- \"$p\" || echo; printf F:; stat -L -c '{STAT_FMT}' -- \"$p\" 2>/dev/null || echo; \
         printf R:; readlink -f -- \"$p\" || echo; fi; \
         if [ -d \"$p\" ]; then for e in \"$p\"/* \"$p\"/.[!.]* \"$p\"/..?*; do \
         if [ -e \"$e\" ] || [ -L \"$e\" ]; then echo N; break; fi; done; fi; fi; unset _orco _orcx _orcy; ",
        q = quote(path),
        function = crate::stat_memo::function(),
        stat = crate::stat_memo::FUNCTION,
    );
    if let Some(src) = src_check {
        cmd.push_str(&format!("[ -e {s} ] && echo \"S:$(stat -L -c %i -- {s})\"; ", s = quote(src)));
    }
    for (tag, spec) in [("M", mtime), ("A", atime)] {
        if let TimeSpec::At(t) = spec {
            cmd.push_str(&format!("echo \"{tag}:$(date -d {} +%s)\"; ", quote(t)));
        }
    }
    cmd.push_str("true");
    cmd
}

/// Reads what [`query_cmd`] printed.
fn parse_query(path: &str, stdout: &str) -> Result<Query, ModuleError> {
    let mut q = Query { realpath: path.to_string(), ..Query::default() };
    let (mut t, mut l, mut f) = (None, None, None);
    for line in stdout.lines() {
        let (tag, rest) = line.split_once(':').unwrap_or((line, ""));
        match tag {
            "R" if !rest.is_empty() => q.realpath = rest.to_string(),
            "T" => t = Some(rest.to_string()),
            "L" => l = Some(rest.to_string()),
            "F" => f = Some(rest.to_string()),
            "N" => q.nonempty = true,
            "S" => {
                q.src_exists = true;
                q.src_inode = rest.parse().ok();
            }
            "M" => q.mtime = rest.parse().ok(),
            "A" => q.atime = rest.parse().ok(),
            _ => {}
        }
    }
    q.lstat = t.and_then(|t| filewrite::parse_stat(&t, l.clone()));
    q.target = f.and_then(|f| filewrite::parse_stat(&f, None));
    Ok(q)
}

/// Ansible's before/after dicts, turned into a [`FileDiff`] at the end.
struct DictDiff {
    before: BTreeMap<String, Value>,
    after: BTreeMap<String, Value>,
}

impl DictDiff {
    fn new(path: &str, state: &str, prev: &str) -> Self {
        let mut d = DictDiff { before: BTreeMap::new(), after: BTreeMap::new() };
        d.before.insert("path".into(), Value::from(path));
        d.after.insert("path".into(), Value::from(path));
        if state != prev {
            d.set("state", prev, state);
        }
        d
    }
    fn set(&mut self, key: &str, before: impl Into<Value>, after: impl Into<Value>) {
        self.before.insert(key.into(), before.into());
        self.after.insert(key.into(), after.into());
    }
    fn into_diff(self, path: &str) -> FileDiff {
        FileDiff {
            before_header: path.to_string(),
            after_header: path.to_string(),
            before: filewrite::json_diff_text(&self.before),
            after: filewrite::json_diff_text(&self.after),
        }
    }
}

/// Applies attributes and timestamps to `path` (whose current metadata is `st`), recording the
/// differences in `diff`. Returns whether anything changed and the metadata afterwards.
#[allow(clippy::too_many_arguments)]
fn settle(
    ctx: &mut ModuleCtx,
    path: &str,
    st: &StatInfo,
    attrs: &Attrs,
    times: (&TimeSpec, &TimeSpec),
    epochs: (Option<i64>, Option<i64>),
    diff: &mut DictDiff,
) -> Result<(bool, StatInfo), ModuleError> {
    let is_dir = st.file_type == FileType::Directory;
    let mut cmds = Vec::new();
    let mut changed = false;
    let after = filewrite::predicted(st, attrs);
    if attrs.differs(st, is_dir) {
        changed = true;
        if after.mode != st.mode {
            diff.set("mode", filewrite::mode_string(st.mode), filewrite::mode_string(after.mode));
        }
        if after.owner != st.owner && attrs.owner.as_deref() != Some(&st.uid.to_string()) {
            diff.set("owner", st.owner.clone(), after.owner.clone());
        }
        if after.group != st.group && attrs.group.as_deref() != Some(&st.gid.to_string()) {
            diff.set("group", st.group.clone(), after.group.clone());
        }
        cmds.push(attrs.apply_cmd(path));
    }
    let q = quote(path);
    match times {
        (TimeSpec::Preserve, TimeSpec::Preserve) => {}
        (TimeSpec::Now, TimeSpec::Now) => {
            changed = true;
            cmds.push(format!("touch -c -- {q}"));
        }
        (m, a) => {
            for (spec, epoch, prev, flag, key) in
                [(m, epochs.0, st.mtime, "-m", "mtime"), (a, epochs.1, st.atime, "-a", "atime")]
            {
                match spec {
                    TimeSpec::Preserve => {}
                    TimeSpec::Now => {
                        changed = true;
                        cmds.push(format!("touch -c {flag} -- {q}"));
                    }
                    TimeSpec::At(t) => {
                        let want =
                            epoch.ok_or_else(|| ModuleError::msg(format!("the host could not read the time {t}")))?;
                        if want != prev {
                            changed = true;
                            diff.set(key, prev, want);
                            cmds.push(format!("touch -c {flag} -d @{want} -- {q}"));
                        }
                    }
                }
            }
        }
    }
    if cmds.is_empty() || ctx.check {
        return Ok((changed, after));
    }
    let cmd = format!("{} && stat -c '{STAT_FMT}' -- {q}", cmds.join(" && "));
    let out = ctx.conn.exec(&cmd, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not set attributes of {path}: {}", out.stderr_str().trim())));
    }
    let st2 =
        out.stdout_str().lines().last().and_then(|l| filewrite::parse_stat(l, st.link_target.clone())).unwrap_or(after);
    Ok((changed, st2))
}

fn fail(msg: String, path: &str) -> ModuleError {
    ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("path", path)))
}

/// Runs a state-changing shell command, failing with `what` and its stderr.
fn act(ctx: &mut ModuleCtx, cmd: &str, what: &str) -> Result<(), ModuleError> {
    let out = ctx.conn.exec(cmd, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("{what}: {}", out.stderr_str().trim())));
    }
    Ok(())
}

fn tmp_sibling(path: &str) -> String {
    let dir = match filewrite::dirname(path) {
        "" => ".",
        d => d,
    };
    format!("{}/.{}.orc-tmp-{:016x}", dir.trim_end_matches('/'), filewrite::basename(path), fastrand::u64(..))
}

impl TypedModule for File {
    type Args = FileArgs;
    const NAME: &'static str = "file";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Makes a path a file, a directory (created with its parents), a symbolic or hard link, touches it or \
                removes it; sets its mode, owner, group and times.",
        notes: "Without `state` the path keeps its current type. `state: file` never creates a file (a missing path \
                fails; use `touch`). `absent` removes a directory with its content. `recurse` applies mode and \
                ownership to everything below a directory. `touch` and `modification_time: now` always report a \
                change, as in Ansible. The time formats support the strptime directives %Y, %y, %m, %d, %H, %M, %S \
                and %%. Check mode reports what would change. `attributes` runs `chattr` when `lsattr` shows other \
                flags (compared as Ansible does: `+i` on a path with `ie` acts again, `-i` always acts). Not \
                accepted: the SELinux context arguments.",
        returns: &[
            ("path", "The path managed (`dest` instead for `link`, `hard` and `touch`)."),
            ("src", "The link target, for `link` and `hard`."),
            ("state", "What the path is after the task (`absent`, `file`, `directory`, `link`, `hard`)."),
            ("mode, owner, group, uid, gid, size", "The path's attributes after the task."),
            ("diff", "With --diff: the keys that changed (`path`, `state`, `mode`, `owner`...), before and after."),
        ],
        example: "- name: Create the data directory\n  \
                  ansible.builtin.file:\n    \
                  path: /srv/app/data\n    \
                  state: directory\n    \
                  owner: app\n    \
                  group: app\n    \
                  mode: \"0750\"\n",
    };

    fn check_args(a: &FileArgs) -> Result<(), ArgError> {
        if a.src.is_some() && a.state.is_some_and(|s| !matches!(s, FileState::Link | FileState::Hard)) {
            return Err(ArgError { msg: "src option requires state to be 'link' or 'hard'".into() });
        }
        if a.recurse && a.state.is_some_and(|s| s != FileState::Directory) {
            return Err(ArgError { msg: "recurse option requires state to be 'directory'".into() });
        }
        Ok(())
    }

    /// The query `observe` sends first, for the plain cases: no link source, no times to set.
    fn first_probe(a: &FileArgs) -> Option<String> {
        if a.src.is_some()
            || a.path.starts_with('~')
            || a.state == Some(FileState::Touch)
            || a.modification_time.is_some()
            || a.access_time.is_some()
        {
            return None;
        }
        let mtime = time::parse(None, &a.modification_time_format, false).ok()?;
        let atime = time::parse(None, &a.access_time_format, false).ok()?;
        Some(query_cmd(&a.path, None, &mtime, &atime))
    }

    fn decide(&self, a: &FileArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let expanded;
        let a = if needs_home(a) {
            expanded = with_home(a.clone(), ctx)?;
            &expanded
        } else {
            a
        };
        if a.diff_peek.is_some() {
            return diff_peek(&a.path, ctx);
        }
        let plan = observe(a, ctx)?;
        let mut observed = plan.observed(a);
        // Check mode's own code path: it reads the host and changes nothing.
        let mut result = with_check(ctx, true, |ctx| execute(ctx, a, &plan))?;
        if let Some(want) = attributes_of(a, &plan) {
            if let Some(flags) = crate::fileops::attr_flags(ctx.conn, &plan.path)? {
                result.changed |= crate::fileops::chattr_arg(want, &flags).is_some();
                observed.insert("attr_flags".into(), Value::from(flags));
            }
        }
        Ok(Decision { result, observed, action: Box::new(plan) })
    }

    fn apply(&self, a: FileArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, plan) = decision.take_action::<FilePlan>(Self::NAME)?;
        let a = if needs_home(&a) { with_home(a, ctx)? } else { a };
        let mut result = with_check(ctx, false, |ctx| execute(ctx, &a, &plan))?;
        if let Some(want) = attributes_of(&a, &plan) {
            // Read again: the path may have just been made.
            let arg = crate::fileops::attr_flags(ctx.conn, &plan.path)?
                .and_then(|flags| crate::fileops::chattr_arg(want, &flags));
            if let Some(arg) = arg {
                let out = ctx.conn.exec(&format!("chattr {} -- {}", quote(&arg), quote(&plan.path)), None)?;
                if out.rc != 0 || !out.stderr.is_empty() {
                    let details = format!("Error while setting attributes: {}{}", out.stdout_str(), out.stderr_str());
                    return Err(ModuleError::Fail(Box::new(
                        ModuleResult::failed("chattr failed").with("path", plan.path.clone()).with("details", details),
                    )));
                }
                result.changed = true;
            }
        }
        Ok(result)
    }
}

/// Whether `path` or `src` starts with `~`: both are path arguments in Ansible's file module,
/// which `expanduser` turns into the home directory on the host.
fn needs_home(a: &FileArgs) -> bool {
    a.path.starts_with('~') || a.src.as_deref().is_some_and(|s| s.starts_with('~'))
}

/// The arguments with a leading `~` of `path` and `src` replaced by that home on the host.
fn with_home(mut a: FileArgs, ctx: &mut ModuleCtx) -> Result<FileArgs, ModuleError> {
    a.path = crate::sh_words::expand_user(ctx, &a.path)?;
    if let Some(src) = &a.src {
        a.src = Some(crate::sh_words::expand_user(ctx, src)?);
    }
    Ok(a)
}

/// The `attributes` to set, for a state that leaves a path behind.
fn attributes_of<'a>(a: &'a FileArgs, plan: &FilePlan) -> Option<&'a str> {
    a.attributes.as_deref().filter(|s| !s.is_empty() && plan.state != FileState::Absent)
}

/// `_diff_peek`: whether the path's first 8192 bytes hold a NUL byte (Ansible's
/// `execute_diff_peek`; false for a path that cannot be read). Changes nothing.
fn diff_peek(path: &str, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
    let cmd =
        format!("if head -c 8192 -- {} 2>/dev/null | od -An -v -tx1 | grep -qw 00; then echo binary; fi", quote(path));
    let binary = ctx.conn.exec(&cmd, None)?.stdout_str().trim() == "binary";
    let result = ModuleResult::ok().with("path", path).with("appears_binary", binary);
    Ok(Decision::unchanged(result, serde_json::Map::new()))
}

/// What `file` observed and concluded before acting: the path (rewritten for a hard link into a
/// directory), what the query learnt, the state the path is in and the one it must reach.
struct FilePlan {
    path: String,
    q: Query,
    prev: &'static str,
    state: FileState,
    mtime: TimeSpec,
    atime: TimeSpec,
}

impl FilePlan {
    /// The decision's `observed`: the path's type, mode, owner, group and link target, the link's
    /// target when it is one, and what the state compares besides (the link source's existence, a
    /// hard link's inode match, a directory's emptiness, timestamps that were given).
    fn observed(&self, a: &FileArgs) -> serde_json::Map<String, Value> {
        let q = &self.q;
        let mut m = crate::observe::path_state(&self.path, q.lstat.as_ref(), None);
        m.remove("size");
        if q.lstat.as_ref().is_some_and(|s| s.file_type == FileType::Link) {
            let mut t = crate::observe::path_state(&q.realpath, q.target.as_ref(), None);
            t.remove("size");
            m.insert("target".into(), Value::Object(t));
        }
        if a.src.is_some() && matches!(self.state, FileState::Link | FileState::Hard) {
            m.insert("src_exists".into(), q.src_exists.into());
        }
        if self.state == FileState::Hard {
            let same = q.src_inode.is_some() && q.lstat.as_ref().map(|s| s.inode) == q.src_inode;
            m.insert("same_inode_as_src".into(), same.into());
        }
        if self.state == FileState::Link && self.prev == "directory" {
            m.insert("nonempty".into(), q.nonempty.into());
        }
        for (spec, key, st_time) in [
            (&self.mtime, "mtime", q.lstat.as_ref().map(|s| s.mtime)),
            (&self.atime, "atime", q.lstat.as_ref().map(|s| s.atime)),
        ] {
            if matches!(spec, TimeSpec::At(_)) {
                m.insert(key.into(), st_time.map_or(Value::Null, Value::from));
            }
        }
        m
    }
}

/// Runs `f` with check mode set to `check`: `file` decides by running its check-mode path and
/// applies by running the normal one, so both keep Ansible's results exactly.
fn with_check<T>(ctx: &mut ModuleCtx, check: bool, f: impl FnOnce(&mut ModuleCtx) -> T) -> T {
    let saved = std::mem::replace(&mut ctx.check, check);
    let r = f(ctx);
    ctx.check = saved;
    r
}

/// Queries the path (and the link source and times when they matter) and settles which state
/// applies; changes nothing.
fn observe(a: &FileArgs, ctx: &mut ModuleCtx) -> Result<FilePlan, ModuleError> {
    let touch = a.state == Some(FileState::Touch);
    let mtime =
        time::parse(a.modification_time.as_deref(), &a.modification_time_format, touch).map_err(ModuleError::msg)?;
    let atime = time::parse(a.access_time.as_deref(), &a.access_time_format, touch).map_err(ModuleError::msg)?;
    let mut path = a.path.clone();
    // The link source as Ansible resolves it (relative to the link's directory).
    let src_abs = |path: &str, src: &str, path_is_dir: bool| -> String {
        if src.starts_with('/') {
            return src.to_string();
        }
        let rel = if path_is_dir { path } else { filewrite::dirname(path) };
        if rel.is_empty() {
            src.to_string()
        } else {
            format!("{}/{src}", rel.trim_end_matches('/'))
        }
    };
    let src_check = match (a.state, &a.src) {
        (Some(FileState::Hard), Some(s)) => Some(s.clone()),
        (Some(FileState::Link), Some(s)) => Some(src_abs(&path, s, false)),
        _ => None,
    };
    let mut q = query(ctx, &path, src_check.as_deref(), &mtime, &atime)?;
    // A hard link into an existing directory lands inside it, as Ansible's path rewrite does.
    if a.state == Some(FileState::Hard) {
        if let (Some(s), Some(FileType::Directory)) = (&a.src, q.lstat.as_ref().map(|s| s.file_type)) {
            path = format!("{}/{}", path.trim_end_matches('/'), filewrite::basename(s));
            q = query(ctx, &path, src_check.as_deref(), &mtime, &atime)?;
        }
    }
    // A link to a directory named with a relative src resolves against the directory itself.
    if a.state == Some(FileState::Link) && q.lstat.as_ref().is_some_and(|s| s.file_type == FileType::Directory) {
        if let Some(s) = &a.src {
            let abs = src_abs(&path, s, true);
            q = query(ctx, &path, Some(&abs), &mtime, &atime)?;
        }
    }
    let prev = prev_state(q.lstat.as_ref());
    let state = match a.state {
        Some(s) => s,
        None if prev == "directory" => FileState::Directory,
        None if prev == "link" => FileState::Link,
        None if prev == "hard" => FileState::Hard,
        None if prev == "file" => FileState::File,
        None if a.recurse => FileState::Directory,
        None => FileState::File,
    };
    if a.src.is_some() && !matches!(state, FileState::Link | FileState::Hard) {
        return Err(fail("src option requires state to be 'link' or 'hard'".into(), &path));
    }
    if a.recurse && state != FileState::Directory {
        return Err(fail("recurse option requires state to be 'directory'".into(), &path));
    }
    Ok(FilePlan { path, q, prev, state, mtime, atime })
}

/// Brings the path to the planned state; with `ctx.check` it only reports what would change.
fn execute(ctx: &mut ModuleCtx, a: &FileArgs, plan: &FilePlan) -> RunResult {
    let FilePlan { path, q, prev, state, mtime, atime } = plan;
    let (path, q, prev, state) = (path.clone(), q, *prev, *state);
    let attrs = Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() };
    let times = (mtime, atime);
    let epochs = (q.mtime, q.atime);
    match state {
        FileState::Absent => absent(ctx, &path, prev),
        FileState::File => {
            let (mut p, mut st) = (path.clone(), q.lstat.clone());
            let mut prev = prev;
            if prev == "link" && a.follow {
                p = q.realpath.clone();
                st = q.target.clone();
                prev = prev_state(st.as_ref());
            }
            let st = match st {
                Some(st) if prev == "file" || prev == "hard" => st,
                _ => {
                    return Err(ModuleError::Fail(Box::new(
                        ModuleResult::failed(format!("file ({p}) is {prev}, cannot continue"))
                            .with("path", p.clone())
                            .with("state", prev),
                    )))
                }
            };
            let mut diff = DictDiff::new(&p, "file", prev);
            let (changed, after) = settle(ctx, &p, &st, &attrs, times, epochs, &mut diff)?;
            Ok(finish(ModuleResult::changed(changed).with("path", p.clone()), &p, Some(&after), diff, changed))
        }
        FileState::Directory => directory(ctx, a, &path, q, &attrs, times, epochs),
        FileState::Touch => {
            let mut diff = DictDiff::new(&path, "touch", prev);
            let res = ModuleResult::ok().with("dest", path.clone());
            let st = match &q.lstat {
                Some(st) => st.clone(),
                None if ctx.check => return Ok(ModuleResult { changed: true, ..res }),
                None => {
                    let cmd = format!("p={}; : >> \"$p\" && stat -c '{STAT_FMT}' -- \"$p\"", quote(&path));
                    let out = ctx.conn.exec(&cmd, None)?;
                    match filewrite::parse_stat(out.stdout_str().trim(), None) {
                        Some(st) if out.rc == 0 => st,
                        _ => {
                            return Err(fail(
                                format!("Error, could not touch target: {}", out.stderr_str().trim()),
                                &path,
                            ))
                        }
                    }
                }
            };
            let created = q.lstat.is_none();
            let (c, after) = settle(ctx, &path, &st, &attrs, times, epochs, &mut diff)?;
            let changed = c || created;
            Ok(finish(ModuleResult::changed(changed).with("dest", path.clone()), &path, Some(&after), diff, changed))
        }
        FileState::Link => link(ctx, a, &path, q, prev, &attrs, times),
        FileState::Hard => hard(ctx, a, &path, q, prev, &attrs, times),
    }
}

/// Adds path info and (when something changed) the dict diff.
fn finish(mut res: ModuleResult, path: &str, st: Option<&StatInfo>, diff: DictDiff, changed: bool) -> ModuleResult {
    if let Some(st) = st {
        res = filewrite::with_path_info(res, st);
    }
    if changed {
        res = res.with_diff(diff.into_diff(path));
    }
    res
}

fn absent(ctx: &mut ModuleCtx, path: &str, prev: &str) -> RunResult {
    let res = ModuleResult::ok().with("path", path).with("state", "absent");
    if prev == "absent" {
        return Ok(res);
    }
    let mut diff = DictDiff::new(path, "absent", prev);
    let q = quote(path);
    if prev == "directory" && ctx.diff {
        let out = ctx.conn.exec(
            &format!("find {q} -mindepth 1 -type d -print; echo ---; find {q} -mindepth 1 ! -type d -print"),
            None,
        )?;
        let text = out.stdout_str();
        let (dirs, files) = text.split_once("---\n").unwrap_or((&text, ""));
        let list = |s: &str| Value::from(s.lines().map(str::to_string).collect::<Vec<_>>());
        let mut walk = serde_json::Map::new();
        walk.insert("directories".into(), list(dirs));
        walk.insert("files".into(), list(files));
        diff.before.insert("path_content".into(), Value::Object(walk));
    }
    if !ctx.check {
        let what = if prev == "directory" { "rmtree failed" } else { "Unlinking failed" };
        act(ctx, &format!("rm -rf -- {q}"), what)?;
    }
    Ok(ModuleResult { changed: true, ..res }.with_diff(diff.into_diff(path)))
}

fn directory(
    ctx: &mut ModuleCtx,
    a: &FileArgs,
    path: &str,
    q: &Query,
    attrs: &Attrs,
    times: (&TimeSpec, &TimeSpec),
    epochs: (Option<i64>, Option<i64>),
) -> RunResult {
    let (mut p, mut st) = (path.to_string(), q.lstat.clone());
    if a.follow && prev_state(st.as_ref()) == "link" {
        p = q.realpath.clone();
        st = q.target.clone();
    }
    let prev = prev_state(st.as_ref());
    let mut diff = DictDiff::new(&p, "directory", prev);
    let res = ModuleResult::ok().with("path", p.clone());
    match st {
        None => {
            if ctx.check {
                return Ok(finish(ModuleResult { changed: true, ..res }, &p, None, diff, true));
            }
            // mkdir -p, one component at a time so that each created directory gets the attributes.
            let mut script = String::new();
            let mut cur = String::new();
            let parts: Vec<&str> = p.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
            for (i, part) in parts.iter().enumerate() {
                if p.starts_with('/') || !cur.is_empty() {
                    cur.push('/');
                }
                cur.push_str(part);
                let qc = quote(&cur);
                let apply = attrs.apply_cmd(&cur);
                let apply = if apply.is_empty() { String::new() } else { format!(" && {apply}") };
                // The leaf's mode before the attributes, for the diff.
                let before =
                    if i + 1 == parts.len() { format!(" && echo \"B:$(stat -c %a -- {qc})\"") } else { String::new() };
                script.push_str(&format!("[ -d {qc} ] || {{ mkdir -- {qc}{before}{apply} || exit 1; }}; "));
            }
            script.push_str(&format!("stat -c '{STAT_FMT}' -- {}", quote(&p)));
            let out = ctx.conn.exec(&script, None)?;
            let text = out.stdout_str();
            let created_mode =
                text.lines().find_map(|l| l.strip_prefix("B:")).and_then(|m| u32::from_str_radix(m, 8).ok());
            let after = match text.lines().last().and_then(|l| filewrite::parse_stat(l, None)) {
                Some(s) if out.rc == 0 => s,
                _ => {
                    return Err(fail(
                        format!("There was an issue creating {p} as requested: {}", out.stderr_str().trim()),
                        &p,
                    ))
                }
            };
            if let Some(m) = created_mode {
                if attrs.mode.is_some() && m != after.mode & 0o7777 {
                    diff.set("mode", filewrite::mode_string(m), filewrite::mode_string(after.mode));
                }
            }
            let (_, after) = settle(ctx, &p, &after, &Attrs::default(), times, epochs, &mut diff)?;
            Ok(finish(ModuleResult { changed: true, ..res }, &p, Some(&after), diff, true))
        }
        Some(st) if st.file_type != FileType::Directory => Err(fail(format!("{p} already exists as a {prev}"), &p)),
        Some(st) => {
            let (mut changed, after) = settle(ctx, &p, &st, attrs, times, epochs, &mut diff)?;
            if a.recurse {
                changed |= recurse(ctx, &p, attrs, a.follow)?;
            }
            Ok(finish(ModuleResult { changed, ..res }, &p, Some(&after), diff, changed))
        }
    }
}

/// Applies attributes to everything below `path`; true when anything differed.
fn recurse(ctx: &mut ModuleCtx, path: &str, attrs: &Attrs, follow: bool) -> Result<bool, ModuleError> {
    let q = quote(path);
    let follow_flag = if follow { "-L " } else { "" };
    if ctx.check {
        let mut tests = Vec::new();
        if let Some(m) = &attrs.mode {
            if *m != Mode::Preserve {
                tests.push(format!("! -perm {}", quote(&m.chmod_arg())));
            }
        }
        if let Some(o) = &attrs.owner {
            tests.push(format!("! -user {}", quote(o)));
        }
        if let Some(g) = &attrs.group {
            tests.push(format!("! -group {}", quote(g)));
        }
        if tests.is_empty() {
            return Ok(false);
        }
        let out = ctx.conn.exec(
            &format!("find {follow_flag}{q} -mindepth 1 \\( {} \\) -print | head -n 1", tests.join(" -o ")),
            None,
        )?;
        return Ok(!out.stdout.is_empty());
    }
    let mut cmds = Vec::new();
    let h = if follow { "" } else { "-h " };
    match (&attrs.owner, &attrs.group) {
        (Some(o), Some(g)) => cmds.push(format!("chown -R -c {h}{}:{} {q}", quote(o), quote(g))),
        (Some(o), None) => cmds.push(format!("chown -R -c {h}{} {q}", quote(o))),
        (None, Some(g)) => cmds.push(format!("chgrp -R -c {h}{} {q}", quote(g))),
        (None, None) => {}
    }
    if let Some(m) = &attrs.mode {
        if *m != Mode::Preserve {
            cmds.push(format!("chmod -R -c {} {q}", quote(&m.chmod_arg())));
        }
    }
    if cmds.is_empty() {
        return Ok(false);
    }
    let out = ctx.conn.exec(&cmds.join(" && "), None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not set attributes under {path}: {}", out.stderr_str().trim())));
    }
    Ok(!out.stdout.is_empty())
}

fn link(
    ctx: &mut ModuleCtx,
    a: &FileArgs,
    path: &str,
    q: &Query,
    prev: &str,
    attrs: &Attrs,
    times: (&TimeSpec, &TimeSpec),
) -> RunResult {
    let mut src = a.src.clone();
    if src.is_none() && a.follow {
        src = q.lstat.as_ref().and_then(|s| s.link_target.clone());
    }
    let is_dir = q.lstat.as_ref().is_some_and(|s| s.file_type == FileType::Directory);
    let rel = if is_dir { path } else { filewrite::dirname(path) };
    if let Some(s) = &src {
        if !a.force && a.src.is_some() && !q.src_exists {
            let absrc = if s.starts_with('/') || rel.is_empty() {
                s.clone()
            } else {
                format!("{}/{s}", rel.trim_end_matches('/'))
            };
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed(format!(
                    "src file does not exist, use 'force=yes' if you really want to create the link: {absrc}"
                ))
                .with("path", path)
                .with("src", s.clone()),
            )));
        }
    }
    match prev {
        "directory" if !a.force => {
            return Err(fail(format!("refusing to convert from {prev} to symlink for {path}"), path))
        }
        "directory" if q.nonempty => {
            return Err(fail(format!("the directory {path} is not empty, refusing to convert it"), path))
        }
        "file" | "hard" if !a.force => {
            return Err(fail(format!("refusing to convert from {prev} to symlink for {path}"), path))
        }
        _ => {}
    }
    let mut diff = DictDiff::new(path, "link", prev);
    let mut changed = false;
    match prev {
        "link" => {
            let old = q.lstat.as_ref().and_then(|s| s.link_target.clone()).unwrap_or_default();
            if let Some(s) = &a.src {
                if &old != s {
                    diff.set("src", old, s.clone());
                    changed = true;
                }
            }
        }
        _ => {
            if src.is_none() {
                return Err(ModuleError::msg("src is required for creating new symlinks"));
            }
            changed = true;
        }
    }
    let src = src.unwrap_or_default();
    let qp = quote(path);
    if changed && !ctx.check {
        if prev == "absent" {
            act(ctx, &format!("ln -s -- {} {qp}", quote(&src)), "Error while linking")?;
        } else {
            let tmp = quote(&tmp_sibling(path));
            let rmdir = if prev == "directory" { format!("rmdir -- {qp} && ") } else { String::new() };
            act(
                ctx,
                &format!(
                    "{rmdir}ln -s -- {} {tmp} && mv -Tf -- {tmp} {qp} || {{ rc=$?; rm -f -- {tmp}; exit $rc; }}",
                    quote(&src)
                ),
                "Error while replacing",
            )?;
        }
    }
    let mut res = ModuleResult::ok().with("dest", path).with("src", src.clone());
    if ctx.check && prev == "absent" {
        res.changed = changed;
        return Ok(res.with_diff(diff.into_diff(path)));
    }
    // Attributes: on the link itself (chown -h); chmod acts on the target, as Python's chmod does.
    let after = if ctx.check {
        q.lstat.clone()
    } else {
        let out = ctx.conn.exec(&format!("stat -c '{STAT_FMT}' -- {qp}; readlink -- {qp}"), None)?;
        let text = out.stdout_str();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        filewrite::parse_stat(first, lines.next().map(str::to_string))
    };
    let target_exists = ctx.check || {
        let out = ctx.conn.exec(&format!("[ -e {qp} ]"), None)?;
        out.rc == 0
    };
    let mut final_st = after.clone();
    if let (Some(st), true) = (after, target_exists) {
        let link_attrs = Attrs { mode: if a.follow { attrs.mode.clone() } else { None }, ..attrs.clone() };
        let (c, st2) = settle(ctx, path, &st, &link_attrs, times, (q.mtime, q.atime), &mut diff)?;
        changed |= c;
        final_st = Some(st2);
    }
    res.changed = changed;
    Ok(finish(res, path, final_st.as_ref(), diff, changed))
}

fn hard(
    ctx: &mut ModuleCtx,
    a: &FileArgs,
    path: &str,
    q: &Query,
    prev: &str,
    attrs: &Attrs,
    times: (&TimeSpec, &TimeSpec),
) -> RunResult {
    let src = match &a.src {
        Some(s) => s.clone(),
        None if prev == "hard" => String::new(),
        None => return Err(ModuleError::msg("src is required for creating new hardlinks")),
    };
    if a.src.is_some() && !q.src_exists {
        return Err(ModuleError::Fail(Box::new(
            ModuleResult::failed("src does not exist").with("dest", path).with("src", src.clone()),
        )));
    }
    let mut diff = DictDiff::new(path, "hard", prev);
    let same_inode = q.lstat.as_ref().map(|s| s.inode) == q.src_inode && q.src_inode.is_some();
    let fail_link =
        |msg: &str| ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("dest", path).with("src", src.clone())));
    let changed = match prev {
        "absent" => true,
        "link" => {
            let old = q.lstat.as_ref().and_then(|s| s.link_target.clone()).unwrap_or_default();
            diff.set("src", old, src.clone());
            true
        }
        "hard" => {
            let c = a.src.is_some() && !same_inode;
            if c && !a.force {
                return Err(fail_link("Cannot link, different hard link exists at destination"));
            }
            c
        }
        "file" => {
            if !a.force {
                return Err(fail_link("Cannot link, file exists at destination"));
            }
            true
        }
        _ => return Err(fail_link("Cannot link: different hard link exists at destination")),
    };
    let qp = quote(path);
    if changed && !ctx.check {
        if prev == "absent" {
            act(ctx, &format!("ln -- {} {qp}", quote(&src)), "Error while linking")?;
        } else {
            let tmp = quote(&tmp_sibling(path));
            act(
                ctx,
                &format!(
                    "ln -- {} {tmp} && mv -Tf -- {tmp} {qp} || {{ rc=$?; rm -f -- {tmp}; exit $rc; }}",
                    quote(&src)
                ),
                "Error while replacing",
            )?;
        }
    }
    let mut res = ModuleResult::ok().with("dest", path).with("src", src.clone());
    if ctx.check && prev == "absent" {
        res.changed = true;
        return Ok(res.with_diff(diff.into_diff(path)));
    }
    let st = if ctx.check {
        q.lstat.clone()
    } else {
        let out = ctx.conn.exec(&format!("stat -c '{STAT_FMT}' -- {qp}"), None)?;
        filewrite::parse_stat(out.stdout_str().trim(), None)
    };
    let mut final_st = st.clone();
    let mut changed = changed;
    if let Some(st) = st {
        let (c, st2) = settle(ctx, path, &st, attrs, times, (q.mtime, q.atime), &mut diff)?;
        changed |= c;
        final_st = Some(st2);
    }
    res.changed = changed;
    Ok(finish(res, path, final_st.as_ref(), diff, changed))
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;

#[cfg(test)]
mod two_phase_tests {
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use super::File;
    use crate::builtin::test_support::Sandbox;

    fn mode_of(p: &str) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = Sandbox::new();
        let f = sb.write("f", "x\n");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let args = json!({"path": f, "mode": "0600"});
        let d = sb.decide(&File, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed["mode"], "0644");
        assert_eq!(d.observed["type"], "file");
        assert_eq!(mode_of(&f), 0o644, "decide changed the host");
        assert_eq!(sb.run(&File, args.clone(), true, true).unwrap(), d.result);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o700)).unwrap();
        let d = sb.decide(&File, &args);
        assert_eq!(d.observed["mode"], "0700");
        let r = sb.apply(&File, &args, d);
        assert!(r.changed);
        assert_eq!(mode_of(&f), 0o600);
        let again = sb.decide(&File, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed["mode"], "0600");
    }

    #[test]
    fn other_states_are_decided_without_acting() {
        let mut sb = Sandbox::new();
        let f = sb.write("d/f", "x\n");
        let dir = sb.path("d");
        let new_dir = sb.path("n/m");
        let link = sb.path("l");
        let cases = [
            json!({"path": dir, "state": "absent"}),
            json!({"path": new_dir, "state": "directory"}),
            json!({"path": link, "src": f, "state": "link"}),
            json!({"path": sb.path("t"), "state": "touch"}),
            json!({"path": sb.path("h"), "src": f, "state": "hard"}),
        ];
        for args in &cases {
            let d = sb.decide(&File, args);
            assert!(d.result.changed, "{args}");
        }
        for p in [&new_dir, &link, &sb.path("t"), &sb.path("h")] {
            assert!(std::fs::symlink_metadata(p).is_err(), "decide created {p}");
        }
        assert!(std::path::Path::new(&f).exists(), "decide removed {dir}");
        // Applied, the link points where the decision said.
        let args = &cases[2];
        let d = sb.decide(&File, args);
        assert_eq!(d.observed["type"], "absent");
        sb.apply(&File, args, d);
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some(f.as_str()));
        let again = sb.decide(&File, args);
        assert!(!again.result.changed);
        assert_eq!(again.observed["link_target"], f.as_str());
    }
}
