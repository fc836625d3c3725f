//! `copy` with `remote_src: true`: the source is a file or directory on the host, copied there by
//! the host's shell (`cp`), no content passing through the controller. The rules are those of
//! Ansible's copy module (`ansible/modules/copy.py`, `main` and `copy_directory`), which the
//! action plugin runs unchanged when `remote_src` is set:
//!
//! - a file: its SHA-1 against the destination's; a differing file is copied to a temporary file
//!   beside the destination (with the source's mode and times, as `shutil.copystat`) and renamed
//!   over it; a new file gets the default mode (0666 less the umask), an existing one the source's
//!   mode (Ansible's `atomic_move(keep_dest_attrs=False)`); then `mode`, `owner`, `group`.
//! - a directory `src/` copies its contents into `dest`, `src` the directory itself into
//!   `dest/basename(src)`. A missing target is copied whole (`cp -R`, links kept unless
//!   `local_follow`); an existing one is compared as Python's `filecmp.dircmp`: files that differ
//!   are copied over, entries only in the source are copied, common directories are compared in
//!   turn, and `owner`/`group` are applied to the whole target.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::CopyArgs;
use crate::args::Mode;
use crate::contract::{Decision, ModuleCtx, ModuleError, ModuleResult, RunResult};
use crate::fileops::{Attrs, FileType, StatInfo};
use crate::filewrite;
use crate::sh_words::ShWords;
use crate::shell_quote::quote;

/// What `remote_src` decided.
#[derive(Debug)]
pub(super) enum RemoteAction {
    /// Nothing to do: the decided result stands.
    Keep,
    /// `dest/` names missing directories: create them, then decide and apply again.
    MakeDirs {
        /// The directory to create (with its missing parents).
        dir: String,
    },
    /// Copy one file.
    File(FileStep),
    /// Copy a directory tree.
    Tree(TreeStep),
}

/// One file to copy on the host.
#[derive(Debug)]
pub(super) struct FileStep {
    src: String,
    dest: String,
    exists: bool,
    is_link: bool,
    content_differs: bool,
    backup: bool,
    attrs: Attrs,
    base: ModuleResult,
}

/// A directory tree to copy on the host.
#[derive(Debug)]
pub(super) struct TreeStep {
    /// Shell commands copying what differs, in order.
    script: Vec<String>,
    /// The path whose attributes are set at the end (Ansible's adjusted `dest`).
    top: String,
    attrs: Attrs,
    base: ModuleResult,
}

/// What the first exchange learned: the expanded paths and the source's kind.
struct Source {
    src: String,
    dest: String,
    kind: SrcKind,
    dest_is_dir: bool,
    /// For a `dest/`: whether the directory it names exists.
    dest_dir_exists: bool,
    mode: Option<u32>,
}

enum SrcKind {
    Missing,
    Unreadable,
    File { sha1: String, md5: Option<String> },
    Dir,
    Other,
}

/// Reads the source on the host (after Ansible's `path` expansion of `$VAR` and `~` in `src` and
/// `dest`) in one exchange.
fn read_source(ctx: &mut ModuleCtx, a: &CopyArgs, src: &str) -> Result<Source, ModuleError> {
    let mut w = ShWords::default();
    let sw = w.word(src, true, false);
    let dw = w.word(&a.dest, true, false);
    let script = format!(
        "{prelude}s={sw}; d={dw}; printf '%s\\n' \"$s\" \"$d\"; \
         if [ -e \"$s\" ]; then if [ -r \"$s\" ]; then \
         if [ -f \"$s\" ]; then echo F; sha1sum < \"$s\"; md5sum < \"$s\" 2>/dev/null || echo; \
         elif [ -d \"$s\" ]; then echo D; else echo O; fi; \
         stat -L -c 'M:%a' -- \"$s\"; else echo U; fi; else echo N; fi; \
         [ -d \"$d\" ] && echo ISDIR; \
         case $d in */) [ -e \"${{d%/}}\" ] && echo DDIR;; esac; true",
        prelude = w.prelude
    );
    let out = ctx.conn.exec(&script, None)?;
    let text = out.stdout_str();
    let mut lines = text.lines();
    let src = lines.next().unwrap_or(src).to_string();
    let dest = lines.next().unwrap_or(&a.dest).to_string();
    let rest: Vec<&str> = lines.collect();
    let first = rest.first().copied().unwrap_or("N");
    let hash = |i: usize| rest.get(i).and_then(|l| l.get(..l.find(' ').unwrap_or(l.len()))).map(str::to_string);
    let kind = match first {
        "F" => SrcKind::File {
            sha1: hash(1).filter(|h| h.len() == 40).unwrap_or_default(),
            md5: hash(2).filter(|h| h.len() == 32),
        },
        "D" => SrcKind::Dir,
        "O" => SrcKind::Other,
        "U" => SrcKind::Unreadable,
        _ => SrcKind::Missing,
    };
    let mode = rest.iter().find_map(|l| l.strip_prefix("M:")).and_then(|m| u32::from_str_radix(m.trim(), 8).ok());
    Ok(Source { src, dest, kind, dest_is_dir: rest.contains(&"ISDIR"), dest_dir_exists: rest.contains(&"DDIR"), mode })
}

/// The attributes to set: `mode: preserve` is the source's mode.
fn attrs_for(a: &CopyArgs, src_mode: Option<u32>) -> Attrs {
    let mode = match (&a.mode, src_mode) {
        (Some(Mode::Preserve), Some(m)) => Some(Mode::Octal(m & 0o7777)),
        (Some(Mode::Preserve), None) => None,
        (m, _) => m.clone(),
    };
    Attrs { mode, owner: a.owner.clone(), group: a.group.clone() }
}

/// Python's `os.path.join(dir, name)`.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Python's `os.path.basename`: what follows the last `/` (empty for `dir/`).
fn py_basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Python's `os.path.dirname`.
fn py_dirname(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => {
            let d = p[..i].trim_end_matches('/');
            if d.is_empty() {
                "/".to_string()
            } else {
                d.to_string()
            }
        }
        None => String::new(),
    }
}

/// Decides a `remote_src` copy, changing nothing.
pub(super) fn decide(ctx: &mut ModuleCtx, a: &CopyArgs, src: &str) -> Result<Decision, ModuleError> {
    let s = read_source(ctx, a, src)?;
    let src = s.src.clone();
    match s.kind {
        SrcKind::Missing => return Err(ModuleError::msg(format!("Source {src} not found"))),
        SrcKind::Unreadable => return Err(ModuleError::msg(format!("Source {src} not readable"))),
        SrcKind::Other => {
            return Err(ModuleError::msg(format!("Cannot copy invalid source '{src}': not a file")));
        }
        _ => {}
    }
    let mut dest = s.dest.clone();
    if dest.ends_with('/') && !s.dest_dir_exists {
        let dir = py_dirname(&dest);
        let res = ModuleResult::changed(true)
            .with_msg(format!("dest directory {dir} would be created"))
            .with("src", src.clone());
        return Ok(decision(res, Map::new(), RemoteAction::MakeDirs { dir }));
    }
    if s.dest_is_dir {
        dest = join(&dest, py_basename(&src));
    }
    let attrs = attrs_for(a, s.mode);
    let p = filewrite::probe(ctx.conn, &dest, true, filewrite::Read::Hash)?;
    let observed = crate::observe::path_state(&dest, p.stat.as_ref(), p.sha1.as_deref());
    let is_link = p.stat.as_ref().is_some_and(|st| st.link_target.is_some());
    let exists = p.stat.is_some();
    let (sha1, md5) = match &s.kind {
        SrcKind::File { sha1, md5 } => (Some(sha1.clone()), md5.clone()),
        _ => (None, None),
    };
    let mut is_link_now = is_link;
    if exists {
        if is_link && a.follow {
            dest = p.realpath.clone();
            is_link_now = false;
        }
        if !a.force {
            let mut res =
                ModuleResult::ok().with_msg("file already exists").with("src", src.clone()).with("dest", dest.clone());
            if let Some(st) = &p.stat {
                res = filewrite::with_path_info(res, st);
            }
            return Ok(decision(res, observed, RemoteAction::Keep));
        }
    } else if !p.parent_exists {
        return Err(ModuleError::msg(format!("Destination directory {} does not exist", py_dirname(&dest))));
    }
    let file_dest_sha1 = p.stat.as_ref().filter(|st| st.file_type == FileType::File).and(p.sha1.clone());
    if let Some(sha1) = sha1 {
        let content_differs = Some(&sha1) != file_dest_sha1.as_ref() || is_link_now;
        let base = ModuleResult::ok()
            .with("dest", dest.clone())
            .with("src", src.clone())
            .with("md5sum", md5.map(Value::from).unwrap_or(Value::Null))
            .with("checksum", sha1);
        let mut res = base.clone();
        res.changed = content_differs || p.stat.as_ref().is_some_and(|st| attrs.differs(st, false));
        res = match &p.stat {
            Some(st) => filewrite::with_path_info(res, st),
            None => res.with("state", "absent"),
        };
        let step = FileStep {
            src: src.clone(),
            dest,
            exists,
            is_link: is_link_now,
            content_differs,
            backup: a.backup,
            attrs,
            base,
        };
        return Ok(decision(res, observed, RemoteAction::File(step)));
    }
    decide_tree(ctx, a, &s, dest, p.stat, attrs, observed)
}

fn decision(result: ModuleResult, observed: Map<String, Value>, action: RemoteAction) -> Decision {
    Decision { result, observed, action: Box::new(super::CopyAction::Remote(Box::new(action))) }
}

/// One entry of a tree listing (`find -printf`), relative to the tree's top.
#[derive(Debug, Clone)]
struct Entry {
    /// `find`'s `%y`: the entry's own type (`l` for a link).
    own: char,
    /// `%Y`: the type a link points to (`N` when dangling).
    target: char,
    owner: String,
    group: String,
    uid: String,
    gid: String,
    link: String,
}

/// Lists a tree on the host: relative path (empty for the top) to entry. `None`: no directory.
type Listing = BTreeMap<String, Entry>;

fn list_cmd(dir: &str) -> String {
    format!("cd -- {} 2>/dev/null && find . -printf '%y\\t%Y\\t%u\\t%g\\t%U\\t%G\\t%P\\t%l\\n'", quote(dir))
}

fn parse_listing(text: &str) -> Listing {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(8, '\t').collect();
        if f.len() < 8 {
            continue;
        }
        let ch = |s: &str| s.chars().next().unwrap_or('?');
        out.insert(
            f[6].to_string(),
            Entry {
                own: ch(f[0]),
                target: ch(f[1]),
                owner: f[2].into(),
                group: f[3].into(),
                uid: f[4].into(),
                gid: f[5].into(),
                link: f[7].into(),
            },
        );
    }
    out
}

/// The names directly inside `dir` (relative path, empty for the top) of a listing, without
/// `filecmp`'s default ignores.
fn children<'a>(l: &'a Listing, dir: &str) -> BTreeSet<&'a str> {
    const IGNORE: [&str; 8] = ["RCS", "CVS", "tags", ".git", ".hg", ".bzr", "_darcs", "__pycache__"];
    l.keys()
        .filter_map(|k| {
            let rest = if dir.is_empty() { Some(k.as_str()) } else { k.strip_prefix(dir)?.strip_prefix('/') };
            rest.filter(|r| !r.is_empty() && !r.contains('/'))
        })
        .filter(|n| !IGNORE.contains(n))
        .collect()
}

fn rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether a followed type is a directory / a regular file.
fn followed(e: &Entry) -> char {
    if e.own == 'l' {
        e.target
    } else {
        e.own
    }
}

#[allow(clippy::too_many_arguments)]
fn decide_tree(
    ctx: &mut ModuleCtx,
    a: &CopyArgs,
    s: &Source,
    top: String,
    top_stat: Option<StatInfo>,
    attrs: Attrs,
    observed: Map<String, Value>,
) -> Result<Decision, ModuleError> {
    // Ansible copies into the `dest` given (not the adjusted one) when it is a directory or
    // missing; `src` without a trailing slash into `dest/basename(src)`.
    let (csrc, target) = if s.src.ends_with('/') {
        (s.src.clone(), s.dest.clone())
    } else {
        (format!("{}/", s.src), join(&s.dest, py_basename(&s.src)))
    };
    let base = ModuleResult::ok()
        .with("dest", top.clone())
        .with("src", s.src.clone())
        .with("md5sum", Value::Null)
        .with("checksum", Value::Null);
    let mut script = Vec::new();
    let mut changed = false;
    let chown_all = {
        let a = Attrs { mode: None, owner: attrs.owner.clone(), group: attrs.group.clone() };
        let c = a.apply_cmd(&target);
        (!c.is_empty()).then(|| c.replacen("chown -h", "chown -R -h", 1).replacen("chgrp -h", "chgrp -R -h", 1))
    };
    // Python's `os.path.isdir(dest)` of the dest as given, or a missing one (when it is not a
    // directory, the adjusted destination is the one given); a file there stops the copy.
    let top_is_file = top_stat.as_ref().is_some_and(|st| st.file_type != FileType::Directory);
    if s.dest_is_dir && !top_is_file || top_stat.is_none() {
        let out = ctx
            .conn
            .exec(&format!("echo '#S'; ({}); echo '#T'; ({}); true", list_cmd(&csrc), list_cmd(&target)), None)?;
        let text = out.stdout_str();
        let (stext, ttext) = match text.split_once("#T\n") {
            Some((s, t)) => (s.trim_start_matches("#S\n"), t),
            None => ("", ""),
        };
        let src_l = parse_listing(stext);
        let dst_l = parse_listing(ttext);
        if dst_l.is_empty() {
            changed = true;
            let follow = if a.local_follow == Some(true) { "-L" } else { "-P" };
            script.push(format!(
                "mkdir -p -- {parent} && cp -R {follow} --preserve=mode,timestamps -- {s} {t}",
                parent = quote(&py_dirname(&target)),
                s = quote(&csrc),
                t = quote(&target),
            ));
            if let Some(c) = &chown_all {
                script.push(c.clone());
            }
        } else {
            let mut pairs = Vec::new();
            let mut dirs = vec![String::new()];
            let mut ops = Vec::new();
            while let Some(d) = dirs.pop() {
                let sn = children(&src_l, &d);
                for n in &sn {
                    let r = rel(&d, n);
                    let (Some(se), te) = (src_l.get(&r), dst_l.get(&r)) else { continue };
                    match te {
                        None => {
                            changed = true;
                            ops.push(left_only(a, &csrc, &target, &r, se));
                        }
                        Some(te) => match (followed(se), followed(te)) {
                            ('d', 'd') => dirs.push(r),
                            ('f', 'f') => pairs.push((r, se.clone())),
                            _ => {}
                        },
                    }
                }
            }
            if !pairs.is_empty() {
                let cmp: String = pairs
                    .iter()
                    .enumerate()
                    .map(|(i, (r, _))| {
                        format!("cmp -s -- {} {} || echo {i}; ", quote(&join(&csrc, r)), quote(&join(&target, r)))
                    })
                    .collect();
                let out = ctx.conn.exec(&cmp, None)?;
                let differing: BTreeSet<usize> =
                    out.stdout_str().lines().filter_map(|l| l.trim().parse().ok()).collect();
                for (i, (r, se)) in pairs.iter().enumerate() {
                    if differing.contains(&i) {
                        changed = true;
                        ops.push(diff_file(a, &csrc, &target, r, se));
                    }
                }
            }
            script.extend(ops.into_iter().filter(|o| !o.is_empty()));
            let differs = |e: &Entry| {
                attrs.owner.as_ref().is_some_and(|o| o != &e.owner && o != &e.uid)
                    || attrs.group.as_ref().is_some_and(|g| g != &e.group && g != &e.gid)
            };
            if dst_l.values().any(differs) {
                changed = true;
            }
            if let Some(c) = &chown_all {
                script.push(c.clone());
            }
        }
    }
    if let Some(st) = &top_stat {
        changed |= attrs.differs(st, st.file_type == FileType::Directory);
    }
    let mut res = base.clone();
    res.changed = changed;
    res = match &top_stat {
        Some(st) => filewrite::with_path_info(res, st),
        None => res.with("state", "absent"),
    };
    let step = TreeStep { script, top, attrs, base };
    Ok(decision(res, observed, RemoteAction::Tree(step)))
}

/// `copy_diff_files` for one file: a link kept as a link with `local_follow: false`, else the
/// content and mode copied over.
fn diff_file(a: &CopyArgs, csrc: &str, target: &str, r: &str, se: &Entry) -> String {
    let s = quote(&join(csrc, r));
    let t = quote(&join(target, r));
    let mut cmd = if se.own == 'l' && a.local_follow == Some(false) {
        format!("ln -s -- {} {t}", quote(&se.link))
    } else {
        format!("cp -- {s} {t} && chmod --reference={s} {t}")
    };
    let own = Attrs { mode: None, owner: a.owner.clone(), group: a.group.clone() }.apply_cmd(&join(target, r));
    if !own.is_empty() {
        cmd.push_str(" && ");
        cmd.push_str(&own);
    }
    cmd
}

/// `copy_left_only` for one entry only in the source.
fn left_only(a: &CopyArgs, csrc: &str, target: &str, r: &str, se: &Entry) -> String {
    let s = quote(&join(csrc, r));
    let tp = join(target, r);
    let t = quote(&tp);
    let own = Attrs { mode: None, owner: a.owner.clone(), group: a.group.clone() }.apply_cmd(&tp);
    let own_r =
        (!own.is_empty()).then(|| own.replacen("chown -h", "chown -R -h", 1).replacen("chgrp -h", "chgrp -R -h", 1));
    let with = |cmd: String, own: Option<String>| match own {
        Some(o) => format!("{cmd} && {o}"),
        None => cmd,
    };
    let own1 = (!own.is_empty()).then(|| own.clone());
    let link = se.own == 'l';
    match (link, se.target, se.own, a.local_follow) {
        (true, 'd', _, Some(true)) => with(format!("cp -R -L --preserve=mode,timestamps -- {s} {t}"), own_r),
        (true, 'd' | 'f', _, Some(false)) => format!("ln -s -- {} {t}", quote(&se.link)),
        (true, 'f', _, Some(true)) => with(format!("cat -- {s} > {t}"), own1),
        (false, _, 'f', _) => with(format!("cp -- {s} {t} && chmod --reference={s} {t}"), own1),
        (false, _, 'd', lf) => {
            let follow = if lf == Some(true) { "-L" } else { "-P" };
            with(format!("cp -R {follow} --preserve=mode,timestamps -- {s} {t}"), own_r)
        }
        _ => String::new(),
    }
}

/// Carries out what [`decide`] decided.
pub(super) fn apply(ctx: &mut ModuleCtx, a: &CopyArgs, decided: ModuleResult, act: RemoteAction) -> RunResult {
    match act {
        RemoteAction::Keep => Ok(decided),
        RemoteAction::MakeDirs { dir } => {
            make_dirs(ctx, a, &dir)?;
            let d = decide(ctx, a, a.src.as_deref().unwrap_or_default())?;
            let (res, act) = d.take_action::<super::CopyAction>("copy")?;
            let mut r = match act {
                super::CopyAction::Remote(act) if !matches!(*act, RemoteAction::MakeDirs { .. }) => {
                    apply(ctx, a, res, *act)?
                }
                _ => return Err(ModuleError::msg(format!("could not create {dir}"))),
            };
            r.changed = true;
            Ok(r)
        }
        RemoteAction::File(step) => apply_file(ctx, a, step),
        RemoteAction::Tree(step) => {
            if !step.script.is_empty() {
                let script = step.script.join(" && ");
                let out = ctx.conn.exec(&script, None)?;
                if out.rc != 0 {
                    return Err(ModuleError::msg(format!(
                        "Failed to copy {} to {}: {}",
                        a.src.as_deref().unwrap_or_default(),
                        step.top,
                        out.stderr_str().trim()
                    )));
                }
            }
            let mut res = step.base;
            res.changed = decided.changed;
            finish(ctx, res, &step.top, &step.attrs)
        }
    }
}

/// Sets the attributes of `path` and adds its path info to the result.
fn finish(ctx: &mut ModuleCtx, mut res: ModuleResult, path: &str, attrs: &Attrs) -> RunResult {
    match crate::fileops::stat(ctx.conn, path, false)? {
        Some(st) => {
            let (c, after) = filewrite::fix_attrs(ctx.conn, path, &st, attrs, false)?;
            res.changed |= c;
            Ok(filewrite::with_path_info(res, &after))
        }
        None => Ok(res.with("state", "absent")),
    }
}

/// Creates `dir` and its missing parents, giving the new ones `directory_mode`, `owner` and
/// `group` (Ansible's `adjust_recursive_directory_permissions`).
fn make_dirs(ctx: &mut ModuleCtx, a: &CopyArgs, dir: &str) -> Result<(), ModuleError> {
    let q = quote(dir);
    let out = ctx.conn.exec(
        &format!(
            "p={q}; while [ -n \"$p\" ] && [ ! -e \"$p\" ]; do printf '%s\\n' \"$p\"; p=$(dirname -- \"$p\"); done; \
             mkdir -p -- {q}"
        ),
        None,
    )?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not create {dir}: {}", out.stderr_str().trim())));
    }
    let attrs = Attrs { mode: a.directory_mode.clone(), owner: a.owner.clone(), group: a.group.clone() };
    let cmds: Vec<String> =
        out.stdout_str().lines().rev().map(|d| attrs.apply_cmd(d)).filter(|c| !c.is_empty()).collect();
    if !cmds.is_empty() {
        let out = ctx.conn.exec(&cmds.join(" && "), None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!("could not set attributes under {dir}: {}", out.stderr_str().trim())));
        }
    }
    Ok(())
}

fn apply_file(ctx: &mut ModuleCtx, a: &CopyArgs, step: FileStep) -> RunResult {
    let FileStep { src, dest, exists, is_link, content_differs, backup, attrs, base } = step;
    let mut res = base;
    if content_differs {
        if backup && exists {
            let b = filewrite::backup(ctx.conn, &dest)?;
            res = res.with("backup_file", b);
        }
        if is_link {
            ctx.conn.exec(&format!("rm -f -- {}", quote(&dest)), None)?;
        }
        let dir = match py_dirname(&dest).as_str() {
            "" => ".".to_string(),
            d => d.to_string(),
        };
        let tmp =
            format!("{}/.{}.orc-tmp-{:016x}", dir.trim_end_matches('/'), filewrite::basename(&dest), fastrand::u64(..));
        let (qs, qt, qd) = (quote(&src), quote(&tmp), quote(&dest));
        let out = ctx.conn.exec(&format!("cp --preserve=mode,timestamps -- {qs} {qt}"), None)?;
        if out.rc != 0 {
            ctx.conn.exec(&format!("rm -f -- {qt}"), None)?;
            return Err(ModuleError::msg(format!("Failed to copy '{src}' to '{dest}': {}", out.stderr_str().trim())));
        }
        if let Some(v) = &a.validate {
            let prep = attrs.apply_cmd(&tmp);
            if !prep.is_empty() {
                ctx.conn.exec(&prep, None)?;
            }
            let cmd = match filewrite::validate_command(v, &tmp) {
                Ok(c) => c,
                Err(e) => {
                    ctx.conn.exec(&format!("rm -f -- {qt}"), None)?;
                    return Err(ModuleError::msg(e));
                }
            };
            let out = ctx.conn.exec(&cmd, None)?;
            if out.rc != 0 {
                ctx.conn.exec(&format!("rm -f -- {qt}"), None)?;
                return Err(ModuleError::Fail(Box::new(
                    ModuleResult::failed("failed to validate")
                        .with("exit_status", out.rc)
                        .with("stdout", out.stdout_str())
                        .with("stderr", out.stderr_str()),
                )));
            }
        }
        // A new file gets the default mode, as Ansible's atomic_move when creating.
        let out = ctx.conn.exec(
            &format!(
                "{{ [ -e {qd} ] || chmod \"$(printf %o $(( 0666 & ~0$(umask) )))\" {qt}; }} && mv -f -- {qt} {qd} \
                 || {{ rm -f -- {qt}; false; }}"
            ),
            None,
        )?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!("Could not replace '{dest}': {}", out.stderr_str().trim())));
        }
        res.changed = true;
    }
    finish(ctx, res, &dest, &attrs)
}
