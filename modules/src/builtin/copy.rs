//! `copy`: puts a controller file, a controller directory tree or inline `content` on the host,
//! atomically, only when the checksum differs; then fixes mode and ownership.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Deserialize;

use crate::args::Mode;
use crate::contract::{ArgError, FileKind, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite::{self, WriteError};
use crate::shell_quote::quote;

/// `copy` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct CopyArgs {
    /// Controller file or directory (a trailing `/` copies a directory's contents).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub src: Option<String>,
    /// Inline content instead of `src`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub content: Option<String>,
    /// Destination path; a trailing `/` or an existing directory means `dest/basename(src)`.
    #[serde(deserialize_with = "crate::args::string")]
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
}

/// Ansible's `max_file_size_for_diff` default: larger files get no content diff.
const MAX_DIFF_SIZE: u64 = 104_448;

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Puts one file on the host the way Ansible's copy action does; returns Ansible's result.
pub fn put_file(ctx: &mut ModuleCtx, req: &PutRequest) -> RunResult {
    let mut dest = req.dest.clone();
    let mut changed = false;
    let mut parent_ready = req.parent_ready;
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
            if !ctx.check {
                let mk = ctx.conn.exec(&format!("mkdir -p -- {}", quote(&dir)), None)?;
                if mk.rc != 0 {
                    return Err(ModuleError::msg(format!("could not create {dir}: {}", mk.stderr_str().trim())));
                }
            }
            changed = true;
            parent_ready = true;
        }
    }
    let mut probe = filewrite::probe(ctx.conn, &dest, req.follow, true)?;
    if probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Directory) {
        let base = req
            .basename
            .as_deref()
            .ok_or_else(|| ModuleError::msg("can not use content with a dir as dest".to_string()))?;
        dest = format!("{}/{base}", dest.trim_end_matches('/'));
        probe = filewrite::probe(ctx.conn, &dest, req.follow, true)?;
    }
    let checksum = crate::fileops::sha1_hex(&req.data);
    let mut res = ModuleResult::ok().with("dest", dest.clone());
    if let Some(s) = &req.src_label {
        res = res.with("src", s.clone());
    }
    if probe.stat.is_some() && !req.force {
        return Ok(res.with_msg("file already exists"));
    }
    // In check mode Ansible's copy/template action reports a differing file as changed without
    // asking the host module, so a directory an earlier task would have created is no failure.
    if probe.stat.is_none() && !probe.parent_exists && !parent_ready && !ctx.check {
        return Err(ModuleError::Fail(Box::new(
            ModuleResult::failed(format!("Destination directory {} does not exist", filewrite::dirname(&dest)))
                .with("checksum", checksum),
        )));
    }
    if req.follow && probe.realpath != dest && probe.stat.is_some() {
        dest = probe.realpath.clone();
    }
    let is_link = probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Link);
    let content_differs = probe.sha1.as_deref() != Some(checksum.as_str()) || is_link;
    let mut final_stat = probe.stat.clone();
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
        if ctx.check {
            final_stat = probe.stat.as_ref().filter(|s| s.file_type == FileType::File).map(|s| {
                let mut s = filewrite::predicted(s, &req.attrs);
                s.size = req.data.len() as u64;
                s
            });
        } else {
            if req.backup && probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::File) {
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
                Err(WriteError::Module(e)) => return Err(e),
            }
        }
        res = res.with("md5sum", md5_hex(&req.data));
    } else if let Some(st) = &probe.stat {
        let (c, after) = filewrite::fix_attrs(ctx.conn, &dest, st, &req.attrs, ctx.check)?;
        if c {
            changed = true;
            if let Some(d) = filewrite::attrs_diff(&dest, st, &after) {
                res = res.with_diff(d);
            }
        }
        final_stat = Some(after);
        res = res.with("path", dest.clone());
    }
    res.changed = changed;
    res = res.with("checksum", checksum);
    if let Some(st) = &final_stat {
        res = filewrite::with_path_info(res, st);
    }
    Ok(res)
}

/// Files and directories under `root`, relative, sorted, directories first in walk order.
fn walk(root: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let full = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&full)
            .map_err(|e| format!("could not read {}: {e}", full.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries.into_iter().rev() {
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                dirs.push(r.clone());
                stack.push(r);
            } else {
                files.push(r);
            }
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// Copies a controller directory: `src/` copies its contents into `dest`, `src` copies the
/// directory itself into `dest/basename(src)`. Created directories get `directory_mode`.
fn copy_dir(ctx: &mut ModuleCtx, a: &CopyArgs, src: &str, local: &Path) -> RunResult {
    let base = if src.ends_with('/') {
        a.dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", a.dest.trim_end_matches('/'), filewrite::basename(src.trim_end_matches('/')))
    };
    let (dirs, files) = walk(local).map_err(ModuleError::msg)?;
    let mut all_dirs = vec![base.clone()];
    all_dirs.extend(dirs.iter().map(|d| format!("{base}/{}", d.to_string_lossy())));
    let mut script = String::new();
    for d in &all_dirs {
        let q = quote(d);
        if ctx.check {
            script.push_str(&format!("[ -d {q} ] || echo C; "));
        } else {
            let chmod = match &a.directory_mode {
                Some(m) if *m != Mode::Preserve => {
                    format!(" && chmod {} {q}", quote(&m.chmod_arg()))
                }
                _ => String::new(),
            };
            script.push_str(&format!("[ -d {q} ] || {{ mkdir -p -- {q}{chmod} && echo C || exit 1; }}; "));
        }
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
    let attrs = attrs_of(a, None)?;
    for f in &files {
        let lf = local.join(f);
        let data = ctx
            .controller
            .read_source(&lf, a.decrypt)
            .map_err(|e| ModuleError::msg(format!("could not read {}: {e}", lf.display())))?;
        let attrs = match a.mode {
            Some(Mode::Preserve) => attrs_of(a, Some(&lf))?,
            _ => attrs.clone(),
        };
        let req = PutRequest {
            data,
            dest: format!("{base}/{}", f.to_string_lossy()),
            src_label: None,
            basename: None,
            attrs,
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: true,
        };
        let r = put_file(ctx, &req)?;
        changed |= r.changed;
        diffs.extend(r.diff);
    }
    let mut res = ModuleResult::changed(changed).with("dest", a.dest.clone()).with("src", src.to_string());
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
        match (&a.src, &a.content) {
            (None, None) => Err(ArgError { msg: "src (or content) is required".into() }),
            (Some(_), Some(_)) => Err(ArgError { msg: "src and content are mutually exclusive".into() }),
            (None, Some(_)) if a.mode == Some(Mode::Preserve) => {
                Err(ArgError { msg: "Cannot use mode=preserve with content".into() })
            }
            _ => Ok(()),
        }
    }

    fn run(&self, a: CopyArgs, ctx: &mut ModuleCtx) -> RunResult {
        let (data, src_label, basename) = match (&a.src, &a.content) {
            (Some(src), _) => {
                let local = ctx.controller.find_file(FileKind::Files, src).map_err(|e| {
                    ModuleError::msg(format!("Could not find or access '{src}' on the Ansible Controller: {e}"))
                })?;
                if local.is_dir() {
                    return copy_dir(ctx, &a, src, &local);
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
            attrs: attrs_of(&a, local)?,
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: false,
        };
        put_file(ctx, &req)
    }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
