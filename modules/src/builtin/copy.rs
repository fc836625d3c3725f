//! `copy`: puts a controller file, a controller directory tree or inline `content` on the host,
//! atomically, only when the checksum differs; then fixes mode and ownership.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::args::Mode;
use crate::contract::{ArgError, Decision, FileKind, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite::{self, WriteError};
use crate::shell_quote::quote;

/// `copy` arguments.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct CopyArgs {
    /// Controller file or directory (a trailing `/` copies a directory's contents).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub src: Option<String>,
    /// Inline content instead of `src`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub content: Option<String>,
    /// Destination path; a trailing `/` or an existing directory means `dest/basename(src)`.
    /// Required (checked with the other arguments, for Ansible's message).
    #[serde(default, deserialize_with = "crate::args::string")]
    pub dest: String,
    /// Permissions, or `preserve` to keep the source's.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// Keep a timestamped copy of the old file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// `no`: only copy when the destination is missing.
    #[serde(default = "yes", deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Command run on the new content (`%s` = its path) before it replaces the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub validate: Option<String>,
    /// Mode of directories created by a directory copy.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub directory_mode: Option<Mode>,
    /// Follow a destination symlink instead of replacing it.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
    /// Decrypt a vault-encrypted `src` on the controller (`no` copies the vault text as it is).
    #[serde(default = "yes", deserialize_with = "crate::args::bool")]
    pub decrypt: bool,
    /// When the file cannot be replaced atomically (an immutable directory, a bind-mounted
    /// file), write it in place. Unset: the host's `ANSIBLE_UNSAFE_WRITES` decides, as in Ansible.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub unsafe_writes: Option<bool>,
    /// `src` is a file or directory on the host, copied there (no content through the controller).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub remote_src: bool,
    /// Whether links inside a source directory are followed (`true`) or copied as links
    /// (`false`). Unset: followed for a controller `src`; with `remote_src`, kept as links when a
    /// new tree is copied, as Ansible does.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub local_follow: Option<bool>,
}

fn yes() -> bool {
    true
}

/// The `copy` module.
pub struct Copy;

/// One file to put on the host: what copy and template share.
#[derive(Debug, Clone)]
pub struct PutRequest {
    /// The bytes the destination must hold.
    pub data: Vec<u8>,
    /// Destination as given (may end in `/` or name a directory).
    pub dest: String,
    /// The source path reported back as `src`, if any.
    pub src_label: Option<String>,
    /// Name used when `dest` is a directory.
    pub basename: Option<String>,
    /// Desired mode/owner/group.
    pub attrs: Attrs,
    /// Keep a backup of the old file.
    pub backup: bool,
    /// Replace an existing file.
    pub force: bool,
    /// Validation command.
    pub validate: Option<String>,
    /// Follow a destination symlink.
    pub follow: bool,
    /// The parent directory is known to exist (or, in check mode, to be created earlier).
    pub parent_ready: bool,
    /// Write in place when the atomic replace fails (`None`: as the host's
    /// `ANSIBLE_UNSAFE_WRITES` says).
    pub unsafe_writes: Option<bool>,
}

/// Ansible's `max_file_size_for_diff` default: larger files get no content diff.
const MAX_DIFF_SIZE: u64 = 104_448;

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`decide_put`] decided for one file, handed back to [`apply_put`].
#[derive(Debug)]
pub struct PutAction {
    /// The file to put (its bytes, attributes, backup and validate settings).
    req: PutRequest,
    /// The directory a `dest/` names, missing: created first.
    mkdir: Option<String>,
    /// The path written (inside a directory dest, through a followed link).
    dest: String,
    /// The result's fields before those writing adds: `dest`, `src` and the content diff.
    base: ModuleResult,
    /// SHA-1 of the bytes to put.
    checksum: String,
    /// What to do.
    step: PutStep,
}

/// What applying a [`PutAction`] does.
#[derive(Debug)]
enum PutStep {
    /// Nothing: the decided result stands.
    Keep,
    /// The destination's directory is missing: applying fails with this message, as Ansible does
    /// (check mode reports the file as changed: an earlier task may create the directory).
    MissingDir(String),
    /// Write the bytes; `backup` first copies the old file, `is_link` first removes a link.
    Write { backup: bool, is_link: bool },
    /// Only the attributes differ from these.
    Attrs(crate::fileops::StatInfo),
}

/// Decides how to put one file on the host the way Ansible's copy action does, changing nothing:
/// the result a check run reports, what was observed of the destination, and what to do.
pub fn decide_put(
    ctx: &mut ModuleCtx,
    req: PutRequest,
) -> Result<(ModuleResult, Map<String, Value>, PutAction), ModuleError> {
    let mut dest = req.dest.clone();
    let mut changed = false;
    let mut parent_ready = req.parent_ready;
    let mut mkdir = None;
    if dest.ends_with('/') {
        let base = req
            .basename
            .as_deref()
            .ok_or_else(|| ModuleError::msg("can not use content with a dir as dest".to_string()))?;
        let dir = dest.trim_end_matches('/').to_string();
        let dir = if dir.is_empty() { "/".to_string() } else { dir };
        dest = format!("{}/{base}", dir.trim_end_matches('/'));
        let out = ctx.conn.exec(&format!("[ -d {} ]", quote(&dir)), None)?;
        if out.rc != 0 {
            mkdir = Some(dir);
            changed = true;
            parent_ready = true;
        }
    }
    let mut probe = filewrite::probe(ctx.conn, &dest, req.follow, filewrite::Read::Hash)?;
    if probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Directory) {
        let base = req
            .basename
            .as_deref()
            .ok_or_else(|| ModuleError::msg("can not use content with a dir as dest".to_string()))?;
        dest = format!("{}/{base}", dest.trim_end_matches('/'));
        probe = filewrite::probe(ctx.conn, &dest, req.follow, filewrite::Read::Hash)?;
    }
    let observed = crate::observe::path_state(&dest, probe.stat.as_ref(), probe.sha1.as_deref());
    let checksum = crate::fileops::sha1_hex(&req.data);
    let mut res = ModuleResult::ok().with("dest", dest.clone());
    if let Some(s) = &req.src_label {
        res = res.with("src", s.clone());
    }
    if probe.stat.is_some() && !req.force {
        let res = res.with_msg("file already exists");
        let act = PutAction { req, mkdir, dest, base: res.clone(), checksum, step: PutStep::Keep };
        return Ok((res, observed, act));
    }
    // Ansible's copy/template action reports a differing file as changed in check mode without
    // asking the host module, so a directory an earlier task would have created is no failure
    // there; applying fails.
    let missing_dir = (probe.stat.is_none() && !probe.parent_exists && !parent_ready)
        .then(|| format!("Destination directory {} does not exist", filewrite::dirname(&dest)));
    if req.follow && probe.realpath != dest && probe.stat.is_some() {
        dest = probe.realpath.clone();
    }
    let is_link = probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Link);
    let content_differs = probe.sha1.as_deref() != Some(checksum.as_str()) || is_link;
    let mut final_stat = probe.stat.clone();
    let base;
    let mut step = PutStep::Keep;
    if content_differs {
        changed = true;
        let small =
            req.data.len() as u64 <= MAX_DIFF_SIZE && probe.stat.as_ref().is_none_or(|s| s.size <= MAX_DIFF_SIZE);
        if ctx.diff && small {
            let before = match &probe.stat {
                Some(s) if s.file_type == FileType::File => ctx.conn.read_file(&dest)?.unwrap_or_default(),
                _ => Vec::new(),
            };
            if let Some(d) = filewrite::content_diff(&dest, &before, &req.data) {
                res = res.with_diff(d);
            }
        }
        base = res.clone();
        final_stat = probe.stat.as_ref().filter(|s| s.file_type == FileType::File).map(|s| {
            let mut s = filewrite::predicted(s, &req.attrs);
            s.size = req.data.len() as u64;
            s
        });
        let backup = req.backup && probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::File);
        step = PutStep::Write { backup, is_link };
        res = res.with("md5sum", md5_hex(&req.data));
    } else if let Some(st) = &probe.stat {
        base = res.clone();
        let (c, after) = filewrite::fix_attrs(ctx.conn, &dest, st, &req.attrs, true)?;
        if c {
            changed = true;
            step = PutStep::Attrs(st.clone());
            if let Some(d) = filewrite::attrs_diff(&dest, st, &after) {
                res = res.with_diff(d);
            }
        }
        final_stat = Some(after);
        res = res.with("path", dest.clone());
    } else {
        base = res.clone();
    }
    if let Some(msg) = missing_dir {
        step = PutStep::MissingDir(msg);
    }
    res.changed = changed;
    res = res.with("checksum", checksum.clone());
    if let Some(st) = &final_stat {
        res = filewrite::with_path_info(res, st);
    }
    Ok((res, observed, PutAction { req, mkdir, dest, base, checksum, step }))
}

/// Carries out what [`decide_put`] decided (`decided` is the result it returned); the result is
/// Ansible's for the copy.
pub fn apply_put(ctx: &mut ModuleCtx, decided: ModuleResult, act: PutAction) -> RunResult {
    let PutAction { req, mkdir, dest, base, checksum, step } = act;
    if let Some(dir) = mkdir {
        let mk = ctx.conn.exec(&format!("mkdir -p -- {}", quote(&dir)), None)?;
        if mk.rc != 0 {
            return Err(ModuleError::msg(format!("could not create {dir}: {}", mk.stderr_str().trim())));
        }
    }
    let mut res = base;
    let final_stat;
    match step {
        PutStep::Keep => return Ok(decided),
        PutStep::MissingDir(msg) => {
            return Err(ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("checksum", checksum))))
        }
        PutStep::Write { backup, is_link } => {
            if backup {
                let b = filewrite::backup(ctx.conn, &dest)?;
                res = res.with("backup_file", b);
            }
            if is_link {
                ctx.conn.exec(&format!("rm -f -- {}", quote(&dest)), None)?;
            }
            match filewrite::write_validated(ctx.conn, &dest, &req.data, &req.attrs, req.validate.as_deref()) {
                Ok(st) => final_stat = st,
                Err(WriteError::Validate(v)) => {
                    return Err(ModuleError::Fail(Box::new(
                        ModuleResult::failed("failed to validate")
                            .with("checksum", checksum)
                            .with("exit_status", v.rc)
                            .with("stdout", v.stdout)
                            .with("stderr", v.stderr),
                    )))
                }
                Err(WriteError::Module(ModuleError::Fail(f))) => {
                    // The atomic replace was refused: Ansible's `unsafe_writes` writes in place.
                    if req.validate.is_some() || !filewrite::unsafe_writes_allowed(ctx.conn, req.unsafe_writes)? {
                        return Err(ModuleError::Fail(f));
                    }
                    final_stat = filewrite::write_in_place(ctx.conn, &dest, &req.data, &req.attrs)?;
                }
                Err(WriteError::Module(e)) => return Err(e),
            }
            res = res.with("md5sum", md5_hex(&req.data));
        }
        PutStep::Attrs(st) => {
            let (c, after) = filewrite::fix_attrs(ctx.conn, &dest, &st, &req.attrs, false)?;
            if c {
                if let Some(d) = filewrite::attrs_diff(&dest, &st, &after) {
                    res = res.with_diff(d);
                }
            }
            final_stat = Some(after);
            res = res.with("path", dest.clone());
        }
    }
    res.changed = decided.changed;
    res = res.with("checksum", checksum);
    if let Some(st) = &final_stat {
        res = filewrite::with_path_info(res, st);
    }
    Ok(res)
}

/// A controller directory tree as Ansible's copy action walks it (`_walk_dirs` in
/// `ansible/plugins/action/copy.py`): each path relative to the top.
#[derive(Debug, Default)]
struct Walk {
    /// Regular files: the file to read (a followed link's target) and where it goes.
    files: Vec<(PathBuf, String)>,
    /// Directories to make.
    dirs: Vec<String>,
    /// Links to make on the host: their target as read, and where they go.
    links: Vec<(String, String)>,
}

fn dev_ino(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

fn read_link(p: &Path) -> String {
    std::fs::read_link(p).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Walks `top`. With `follow` (`local_follow`, Ansible's default) links to files are copied as
/// the files, links to directories as the directories unless that makes a loop (a link to a
/// directory being copied stays a link); without it every link is copied as a link. A dangling
/// link is copied as a link.
fn walk(top: &Path, follow: bool) -> Result<Walk, String> {
    fn recurse(
        dir: &Path,
        rel: &str,
        parents: &std::collections::HashSet<(u64, u64)>,
        follow: bool,
        out: &mut Walk,
    ) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("could not read {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        // As `os.walk` (top-down): this directory's files, then its subdirectories (a linked one
        // walked where it is met, as `_recurse` does), then the plain subdirectories' trees.
        entries.sort_by_key(|e| e.path().is_dir());
        let mut plain = Vec::new();
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let is_link = std::fs::symlink_metadata(&path).map(|m| m.file_type().is_symlink()).unwrap_or(false);
            if !path.is_dir() {
                if !is_link {
                    out.files.push((path, r));
                    continue;
                }
                match std::fs::canonicalize(&path) {
                    Ok(real) if follow && real.is_file() => out.files.push((real, r)),
                    _ => out.links.push((read_link(&path), r)),
                }
                continue;
            }
            if !is_link {
                out.dirs.push(r.clone());
                plain.push((path, r));
                continue;
            }
            let real = std::fs::canonicalize(&path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
            let id = dev_ino(&real);
            if !follow || id.is_some_and(|i| parents.contains(&i)) {
                out.links.push((read_link(&path), r));
                continue;
            }
            // The directories between this one and a directory already being copied: a link to
            // one of them is a loop.
            let mut new_parents = std::collections::HashSet::new();
            let mut up = path.parent();
            while let Some(p) = up {
                match dev_ino(p) {
                    Some(i) if parents.contains(&i) => break,
                    Some(i) => {
                        new_parents.insert(i);
                    }
                    None => break,
                }
                up = p.parent();
            }
            if id.is_some_and(|i| new_parents.contains(&i)) {
                out.links.push((read_link(&path), r));
                continue;
            }
            out.dirs.push(r.clone());
            let all: std::collections::HashSet<_> = parents.union(&new_parents).copied().collect();
            recurse(&real, &r, &all, follow, out)?;
        }
        for (path, r) in plain {
            recurse(&path, &r, parents, follow, out)?;
        }
        Ok(())
    }
    let mut out = Walk::default();
    let parents = dev_ino(top).into_iter().collect();
    recurse(top, "", &parents, follow, &mut out)?;
    Ok(out)
}

/// What copying a controller directory decided: the directories to make and each file's decision.
#[derive(Debug)]
struct TreeAction {
    /// The top directory on the host.
    base: String,
    /// Every directory of the tree on the host, top first.
    dirs: Vec<String>,
    /// Each file's decided result and action.
    files: Vec<(ModuleResult, PutAction)>,
    /// The `src` reported: the controller path found.
    label: String,
    /// Links to make or fix on the host: target and path (Ansible's `file: state=link
    /// force=yes`).
    links: Vec<(String, String)>,
}

/// What `copy` decided: one file, or a directory tree.
#[derive(Debug)]
enum CopyAction {
    /// One file (`content`, or a file `src`).
    One(Box<PutAction>),
    /// A controller directory, recursively.
    Tree(TreeAction),
    /// A copy on the host (`remote_src`).
    Remote(Box<copy_remote::RemoteAction>),
}

/// Decides a copy of a controller directory: `src/` copies its contents into `dest`, `src` copies
/// the directory itself into `dest/basename(src)`. Created directories get `directory_mode`.
fn decide_dir(ctx: &mut ModuleCtx, a: &CopyArgs, src: &str, local: &Path) -> Result<Decision, ModuleError> {
    let base = if src.ends_with('/') {
        a.dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", a.dest.trim_end_matches('/'), filewrite::basename(src.trim_end_matches('/')))
    };
    let walked = walk(local, a.local_follow.unwrap_or(true)).map_err(ModuleError::msg)?;
    let mut all_dirs = vec![base.clone()];
    all_dirs.extend(walked.dirs.iter().map(|d| format!("{base}/{d}")));
    let script: String =
        all_dirs.iter().enumerate().map(|(i, d)| format!("[ -d {} ] || echo C{i}; ", quote(d))).collect();
    let out = ctx.conn.exec(&script, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!(
            "could not create directories under {base}: {}",
            out.stderr_str().trim()
        )));
    }
    let text = out.stdout_str();
    let missing: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix('C').and_then(|i| i.parse::<usize>().ok()))
        .filter_map(|i| all_dirs.get(i).cloned().map(Value::from))
        .collect();
    let mut changed = text.contains('C');
    let mut diffs = Vec::new();
    let mut observed_files = Map::new();
    let mut decided = Vec::new();
    let attrs = attrs_of(a, None)?;
    for (lf, f) in &walked.files {
        let data = ctx
            .controller
            .read_source(lf, a.decrypt)
            .map_err(|e| ModuleError::msg(format!("could not read {}: {e}", lf.display())))?;
        let attrs = match a.mode {
            Some(Mode::Preserve) => attrs_of(a, Some(lf))?,
            _ => attrs.clone(),
        };
        let req = PutRequest {
            data,
            dest: format!("{base}/{f}"),
            src_label: None,
            basename: None,
            attrs,
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: true,
            unsafe_writes: a.unsafe_writes,
        };
        let (r, mut seen, act) = decide_put(ctx, req)?;
        changed |= r.changed;
        diffs.extend(r.diff.iter().cloned());
        let path = seen.remove("path").and_then(|p| p.as_str().map(str::to_string)).unwrap_or_default();
        observed_files.insert(path, Value::Object(seen));
        decided.push((r, act));
    }
    // Ansible reports the source found on the controller, keeping the trailing slash.
    let label = format!("{}{}", local.display(), if src.ends_with('/') { "/" } else { "" });
    let mut res = ModuleResult::changed(changed).with("dest", a.dest.clone()).with("src", label.clone());
    res.diff = diffs;
    let mut observed = Map::new();
    // Links: those missing or pointing elsewhere are (re)made.
    let mut links = Vec::new();
    if !walked.links.is_empty() {
        let script: String = walked
            .links
            .iter()
            .enumerate()
            .map(|(i, (t, r))| {
                let q = quote(&format!("{base}/{r}"));
                format!("{{ [ -L {q} ] && [ \"$(readlink -- {q})\" = {} ]; }} || echo {i}; ", quote(t))
            })
            .collect();
        let out = ctx.conn.exec(&script, None)?;
        for i in out.stdout_str().lines().filter_map(|l| l.trim().parse::<usize>().ok()) {
            if let Some((t, r)) = walked.links.get(i) {
                changed = true;
                links.push((t.clone(), format!("{base}/{r}")));
            }
        }
    }
    res.changed = changed;
    observed.insert("path".into(), base.clone().into());
    observed.insert("missing_directories".into(), Value::Array(missing));
    observed.insert("files".into(), Value::Object(observed_files));
    let links_observed: Vec<Value> = links.iter().map(|(_, p)| Value::from(p.clone())).collect();
    observed.insert("links_to_make".into(), Value::Array(links_observed));
    let action = CopyAction::Tree(TreeAction { base, dirs: all_dirs, files: decided, label, links });
    Ok(Decision { result: res, observed, action: Box::new(action) })
}

/// Carries out a directory copy [`decide_dir`] decided.
fn apply_dir(ctx: &mut ModuleCtx, a: &CopyArgs, tree: TreeAction) -> RunResult {
    let TreeAction { base, dirs, files, label, links } = tree;
    let mut script = String::new();
    for d in &dirs {
        let q = quote(d);
        let chmod = match &a.directory_mode {
            Some(m) if *m != Mode::Preserve => {
                format!(" && chmod {} {q}", quote(&m.chmod_arg()))
            }
            _ => String::new(),
        };
        script.push_str(&format!("[ -d {q} ] || {{ mkdir -p -- {q}{chmod} && echo C || exit 1; }}; "));
    }
    let out = ctx.conn.exec(&script, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!(
            "could not create directories under {base}: {}",
            out.stderr_str().trim()
        )));
    }
    let mut changed = out.stdout_str().contains('C');
    let mut diffs = Vec::new();
    for (t, p) in &links {
        let q = quote(p);
        let mut cmd = format!("if [ -d {q} ] && [ ! -L {q} ]; then rmdir -- {q}; fi; ln -sfn -- {} {q}", quote(t));
        let own = Attrs { mode: None, owner: a.owner.clone(), group: a.group.clone() }.apply_cmd(p);
        if !own.is_empty() {
            cmd = format!("{cmd} && {own}");
        }
        let out = ctx.conn.exec(&cmd, None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!("could not link {p} to {t}: {}", out.stderr_str().trim())));
        }
        changed = true;
    }
    for (decided, act) in files {
        let r = apply_put(ctx, decided, act)?;
        changed |= r.changed;
        diffs.extend(r.diff);
    }
    let mut res = ModuleResult::changed(changed).with("dest", a.dest.clone()).with("src", label);
    res.diff = diffs;
    Ok(res)
}

fn attrs_of(a: &CopyArgs, local_src: Option<&Path>) -> Result<Attrs, ModuleError> {
    let mode = match (&a.mode, local_src) {
        (Some(Mode::Preserve), Some(p)) => Some(filewrite::preserve_mode(p).map_err(ModuleError::msg)?),
        (Some(Mode::Preserve), None) => None,
        (m, _) => m.clone(),
    };
    Ok(Attrs { mode, owner: a.owner.clone(), group: a.group.clone() })
}

impl TypedModule for Copy {
    type Args = CopyArgs;
    const NAME: &'static str = "copy";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Copies a file from the controller (src) or a text (content) to a path on the host, \
                atomically, changing it only when its bytes or attributes differ.",
        notes: "src is looked up in the role's files/, the playbook's files/ and the playbook's \
                directory, as Ansible does; a directory src is copied recursively. The file is \
                written to a temporary file beside dest, checked with `validate`, then renamed \
                into place.",
        returns: &[
            ("dest", "The destination path."),
            ("checksum", "SHA-1 of the file's content after the copy."),
            ("md5sum", "MD5 of the content."),
            ("size", "Size in bytes."),
            ("mode, owner, group, uid, gid", "The file's attributes after the copy."),
            ("backup_file", "The backup's path, when `backup: true` made one."),
            ("diff", "With --diff: the content before and after."),
        ],
        example: "- name: Install the app's configuration\n  ansible.builtin.copy:\n    src: app.conf\n    \
                  dest: /etc/app/app.conf\n    owner: root\n    mode: \"0644\"\n    backup: true\n",
    };

    fn check_args(a: &CopyArgs) -> Result<(), ArgError> {
        // As Ansible's action plugin: an empty src is none; dest is checked after src.
        match (a.src.as_deref().filter(|s| !s.is_empty()), &a.content) {
            (None, None) => Err(ArgError { msg: "src (or content) is required".into() }),
            _ if a.dest.is_empty() => Err(ArgError { msg: "dest is required".into() }),
            (Some(_), Some(_)) => Err(ArgError { msg: "src and content are mutually exclusive".into() }),
            (None, Some(_)) if a.mode == Some(Mode::Preserve) => {
                Err(ArgError { msg: "Cannot use mode=preserve with content".into() })
            }
            _ => Ok(()),
        }
    }

    /// `decide_put`'s first probe of the destination (a `dest/` asks about the directory first;
    /// a directory `src` probes otherwise: then the probe sent ahead is not used).
    fn first_probe(a: &CopyArgs) -> Option<String> {
        if a.dest.ends_with('/') || (a.remote_src && a.content.is_none()) {
            return None;
        }
        filewrite::ahead_probe_cmd(&a.dest, a.follow, filewrite::Read::Hash)
    }

    fn decide(&self, a: &CopyArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let mut d = self.decide_inner(a, ctx)?;
        d.result = diff_list(d.result);
        Ok(d)
    }

    fn apply(&self, mut a: CopyArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        a.dest = crate::sh_words::expand_user(ctx, &a.dest)?;
        let (decided, act) = decision.take_action::<CopyAction>(Self::NAME)?;
        let res = match act {
            CopyAction::One(act) => apply_put(ctx, decided, *act),
            CopyAction::Tree(tree) => apply_dir(ctx, &a, tree),
            CopyAction::Remote(act) => copy_remote::apply(ctx, &a, decided, *act),
        }?;
        Ok(diff_list(res))
    }
}

/// Ansible's copy action registers its `diff` as a list (one entry per file written), where
/// most modules register one mapping.
fn diff_list(mut res: ModuleResult) -> ModuleResult {
    if !res.diff.is_empty() && !res.data.contains_key("diff") {
        let list = res.diff.iter().map(crate::contract::FileDiff::to_json).collect();
        res.data.insert("diff".into(), Value::Array(list));
    }
    res
}

impl Copy {
    /// [`TypedModule::decide`] before the diff is listed.
    fn decide_inner(&self, a: &CopyArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let expanded;
        let a = if a.dest.starts_with('~') {
            expanded = CopyArgs { dest: crate::sh_words::expand_user(ctx, &a.dest)?, ..a.clone() };
            &expanded
        } else {
            a
        };
        let (data, src_label, basename) = match (&a.src, &a.content) {
            (Some(src), None) if a.remote_src => return copy_remote::decide(ctx, a, src),
            (Some(src), _) => {
                let local = ctx.controller.find_file(FileKind::Files, src).map_err(|e| {
                    ModuleError::msg(format!("Could not find or access '{src}' on the Ansible Controller: {e}"))
                })?;
                if local.is_dir() {
                    return decide_dir(ctx, a, src, &local);
                }
                let data = ctx
                    .controller
                    .read_source(&local, a.decrypt)
                    .map_err(|e| ModuleError::msg(format!("Source {} not readable: {e}", local.display())))?;
                let label = local.to_string_lossy().into_owned();
                (data, Some(label), Some(filewrite::basename(src).to_string()))
            }
            (None, Some(c)) => (c.clone().into_bytes(), None, None),
            (None, None) => return Err(ModuleError::msg("src (or content) is required")),
        };
        let local = src_label.as_deref().map(Path::new);
        let req = PutRequest {
            data,
            dest: a.dest.clone(),
            src_label: src_label.clone(),
            basename,
            attrs: attrs_of(a, local)?,
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: false,
            unsafe_writes: a.unsafe_writes,
        };
        let (result, observed, act) = decide_put(ctx, req)?;
        Ok(Decision { result, observed, action: Box::new(CopyAction::One(Box::new(act))) })
    }
}

#[path = "copy_remote.rs"]
mod copy_remote;

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;

#[cfg(test)]
mod two_phase_tests {
    use serde_json::json;

    use super::Copy;
    use crate::builtin::test_support::Sandbox;
    use crate::fileops::sha1_hex;

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = Sandbox::new();
        let dest = sb.write("out.txt", "old\n");
        let args = json!({"content": "new\n", "dest": dest, "mode": "0600"});
        let d = sb.decide(&Copy, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed["checksum"], sha1_hex(b"old\n"));
        assert_eq!(d.observed["type"], "file");
        assert_eq!(sb.read("out.txt"), "old\n", "decide wrote to the host");
        // The decision is what check mode reports.
        assert_eq!(sb.run(&Copy, args.clone(), true, true).unwrap(), d.result);
        // Editing the file shows in what is observed.
        sb.write("out.txt", "edited\n");
        let d = sb.decide(&Copy, &args);
        assert_eq!(d.observed["checksum"], sha1_hex(b"edited\n"));
        assert_eq!(d.result.diff[0].before, "edited\n");
        let r = sb.apply(&Copy, &args, d);
        assert!(r.changed);
        assert_eq!(sb.read("out.txt"), "new\n");
        assert_eq!(r.data["mode"], "0600");
        let again = sb.decide(&Copy, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed["checksum"], sha1_hex(b"new\n"));
    }

    #[test]
    fn a_directory_copy_is_decided_without_creating_anything() {
        let mut sb = Sandbox::new();
        sb.write("files/tree/sub/a", "a\n");
        let args = json!({"src": "tree", "dest": sb.path("out/")});
        let d = sb.decide(&Copy, &args);
        assert!(d.result.changed);
        assert!(!std::path::Path::new(&sb.path("out")).exists(), "decide created a directory");
        assert_eq!(d.observed["missing_directories"].as_array().map(Vec::len), Some(2));
        assert_eq!(d.observed["files"][sb.path("out/tree/sub/a")]["type"], "absent");
        assert!(sb.apply(&Copy, &args, d).changed);
        assert_eq!(sb.read("out/tree/sub/a"), "a\n");
        assert!(!sb.decide(&Copy, &args).result.changed);
    }

    #[test]
    fn a_missing_directory_fails_when_applied_not_when_decided() {
        let mut sb = Sandbox::new();
        let args = json!({"content": "x", "dest": sb.path("no/such/f")});
        let d = sb.decide(&Copy, &args);
        assert!(d.result.changed);
        let e = sb.run(&Copy, args, false, false).unwrap_err();
        assert!(crate::builtin::test_support::fail_msg(e).contains("Destination directory"));
    }
}
