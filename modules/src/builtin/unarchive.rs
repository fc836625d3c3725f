//! `unarchive`: unpacks a tar (plain, gzip, bzip2, xz, zstd) or zip archive into an existing
//! directory on the host. The archive comes from the controller (found like `copy src=` and
//! uploaded to a private temp dir on the host), or is already on the host (`remote_src`), or is a
//! URL the host downloads. Idempotent as Ansible's module: for tar, GNU `tar --diff` against the
//! destination decides (missing files, size, mtime, content, symlinks, and mode/uid/gid unless
//! given); for zip, every member must exist with the same type and size. Then `mode`/`owner`/
//! `group` are applied to every extracted path.

use serde::Deserialize;
use serde_json::Value;

use crate::args::Mode;
use crate::builtin::http_client::{self, Request};
use crate::contract::{ArgError, FileKind, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::Attrs;
use crate::filewrite::{self, parse_stat, STAT_FMT};
use crate::fnmatch::fnmatch;
use crate::shell_quote::quote;

/// `unarchive` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveArgs {
    /// The archive: a controller file, or with `remote_src` a host path or URL.
    #[serde(deserialize_with = "crate::args::string")]
    pub src: String,
    /// Existing directory to unpack into.
    #[serde(deserialize_with = "crate::args::string")]
    pub dest: String,
    /// The archive is already on the host (or is a URL the host fetches).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub remote_src: Option<bool>,
    /// Deprecated inverse of `remote_src`.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub copy: Option<bool>,
    /// Skip when this host path exists.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub creates: Option<String>,
    /// Return the archive's members as `files`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub list_files: bool,
    /// Extra options for tar/unzip.
    #[serde(default, deserialize_with = "crate::args::list")]
    pub extra_opts: Vec<String>,
    /// Do not replace files newer than the archive's (tar).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub keep_newer: bool,
    /// Members not to extract (shell patterns).
    #[serde(default, deserialize_with = "crate::args::list")]
    pub exclude: Vec<String>,
    /// Only these members.
    #[serde(default, deserialize_with = "crate::args::list")]
    pub include: Vec<String>,
    /// Permissions for every extracted path.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of every extracted path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of every extracted path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// For a URL `src`: verify TLS certificates.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub validate_certs: bool,
    /// Accepted for compatibility (vaulted archives are not supported).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub decrypt: bool,
    /// Accepted for compatibility.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub io_buffer_size: Option<u64>,
}

/// The `unarchive` module.
pub struct Unarchive;

/// An archive format and the handler name Ansible reports for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Uncompressed tar.
    Tar,
    /// gzip tar.
    Tgz,
    /// bzip2 tar.
    Tbz,
    /// xz tar.
    Txz,
    /// zstd tar.
    Tzst,
    /// zip.
    Zip,
}

impl Format {
    /// From the hex of the first bytes (`od -An -tx1`).
    pub fn from_magic(hex: &str) -> Format {
        match hex {
            h if h.starts_with("1f8b") => Format::Tgz,
            h if h.starts_with("425a68") => Format::Tbz,
            h if h.starts_with("fd377a585a00") => Format::Txz,
            h if h.starts_with("28b52ffd") => Format::Tzst,
            h if h.starts_with("504b0304") || h.starts_with("504b0506") => Format::Zip,
            _ => Format::Tar,
        }
    }
    /// Ansible's handler class name.
    pub fn handler(self) -> &'static str {
        match self {
            Format::Tar => "TarArchive",
            Format::Tgz => "TgzArchive",
            Format::Tbz => "TarBzipArchive",
            Format::Txz => "TarXzArchive",
            Format::Tzst => "TarZstdArchive",
            Format::Zip => "ZipArchive",
        }
    }
    fn tar_flag(self) -> Option<&'static str> {
        match self {
            Format::Tgz => Some("-z"),
            Format::Tbz => Some("-j"),
            Format::Txz => Some("-J"),
            Format::Tzst => Some("--zstd"),
            _ => None,
        }
    }
}

/// Whether a `tar --diff` output line means the destination differs (Ansible's regexes).
pub fn tar_line_differs(line: &str, root: bool, attrs: &Attrs) -> bool {
    if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
        return false;
    }
    if line.ends_with(": Uid differs") {
        return root && attrs.owner.is_none();
    }
    if line.ends_with(": Gid differs") {
        return root && attrs.group.is_none();
    }
    if line.ends_with(": Mode differs") {
        return attrs.mode.is_none();
    }
    [
        ": Mod time differs",
        ": Warning: Cannot stat: No such file or directory",
        ": Symlink differs",
        ": Contents differ",
        ": Size differs",
    ]
    .iter()
    .any(|s| line.ends_with(s))
        || line.contains(": Invalid owner")
        || line.contains(": Invalid group")
}

/// The tar command (as words) for `op` (`--list`, `--diff`, `--extract`).
fn tar_cmd(a: &UnarchiveArgs, fmt: Format, op: &str, src: &str) -> Vec<String> {
    let mut c = vec!["tar".to_string(), op.to_string(), "-C".into(), a.dest.clone()];
    if let Some(z) = fmt.tar_flag() {
        c.push(z.into());
    }
    if !a.extra_opts.is_empty() {
        c.push("--show-transformed-names".into());
        c.extend(a.extra_opts.iter().cloned());
    }
    if op != "--list" {
        if let Some(o) = &a.owner {
            c.push(format!("--owner={o}"));
        }
        if let Some(g) = &a.group {
            c.push(format!("--group={g}"));
        }
        if a.keep_newer {
            c.push("--keep-newer-files".into());
        }
    }
    c.extend(a.exclude.iter().map(|e| format!("--exclude={e}")));
    c.push("-f".into());
    c.push(src.to_string());
    c.extend(a.include.iter().cloned());
    c
}

fn zip_extract_cmd(a: &UnarchiveArgs, src: &str) -> Vec<String> {
    let mut c = vec!["unzip".to_string(), "-o".into()];
    c.extend(a.extra_opts.iter().cloned());
    c.push(src.to_string());
    c.extend(a.include.iter().cloned());
    if !a.exclude.is_empty() {
        c.push("-x".into());
        c.extend(a.exclude.iter().cloned());
    }
    c.push("-d".into());
    c.push(a.dest.clone());
    c
}

fn sh(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// Splits framed output: sections separated by lines `@@ORC:<name>@@`.
fn sections(text: &str) -> std::collections::HashMap<String, String> {
    let mut m = std::collections::HashMap::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.trim_end().strip_prefix("@@ORC:").and_then(|l| l.strip_suffix("@@")) {
            cur = name.to_string();
            m.entry(cur.clone()).or_insert_with(String::new);
        } else {
            m.entry(cur.clone()).or_insert_with(String::new).push_str(line);
        }
    }
    m
}

/// Members of a `unzip -Zl` listing: (name, size, is_dir).
pub fn parse_zipinfo(text: &str) -> Vec<(String, u64, bool)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // -rw-r--r--  3.0 unx  1234 tx  567 defN 24-Jan-01 10:00 name
        if f.len() < 10 || !matches!(f[0].chars().next(), Some('-' | 'd' | 'l')) || f[0].len() != 10 {
            continue;
        }
        let Ok(size) = f[3].parse::<u64>() else { continue };
        // The name is everything after the 9th field.
        let mut rest = line;
        for _ in 0..9 {
            rest = rest.trim_start();
            rest = rest.find(' ').map(|i| &rest[i..]).unwrap_or("");
        }
        let name = rest.trim_start().to_string();
        if name.is_empty() {
            continue;
        }
        out.push((name.clone(), size, f[0].starts_with('d') || name.ends_with('/')));
    }
    out
}

impl TypedModule for Unarchive {
    type Args = UnarchiveArgs;
    const NAME: &'static str = "unarchive";
    const DOC: ModuleText = ModuleText {
        short: "Unpacks a tar (plain, gzip, bzip2, xz, zstd) or zip archive into an existing directory \
                on the host, unless the directory already holds what it contains.",
        notes: "The archive is a controller file (found like copy's src and uploaded to a temporary \
                directory on the host), or with `remote_src: true` a path on the host or a URL the host \
                downloads with curl or wget. The host needs GNU tar (and the compressor) for a tar \
                archive, `unzip` for a zip. Whether to unpack is decided as Ansible does: for tar, \
                `tar --diff` against dest (missing files, size, mtime, content, symlinks, and the mode, \
                and as root the owner and group, unless given); for zip, every member must exist with \
                the same type and size. `mode`, `owner` and `group` are then applied to every \
                extracted path. Check mode reports whether it would unpack. Vaulted archives are not \
                supported.",
        returns: &[
            ("dest", "The destination directory."),
            ("src", "The archive's path on the host (a temporary copy for a controller file or a URL)."),
            ("handler", "The format, by Ansible's handler name (TarArchive, TgzArchive, ZipArchive...)."),
            ("extract_results", "When it unpacked: the command (`cmd`), its `rc`, `out` and `err`."),
            ("files", "With `list_files: true`: the archive's members (less the `exclude`d ones)."),
            ("mode, owner, group, uid, gid, state, size", "dest's attributes after the task."),
        ],
        example: "- name: Unpack the release\n  ansible.builtin.unarchive:\n    src: app-1.2.tar.gz\n    \
                  dest: /opt/app\n    owner: app\n    group: app\n",
    };

    fn check_args(a: &UnarchiveArgs) -> Result<(), ArgError> {
        if !a.include.is_empty() && !a.exclude.is_empty() {
            return Err(ArgError { msg: "parameters are mutually exclusive: include|exclude".into() });
        }
        if a.mode == Some(Mode::Preserve) {
            return Err(ArgError { msg: "mode 'preserve' is only valid for copy and template".into() });
        }
        Ok(())
    }

    fn run(&self, a: UnarchiveArgs, ctx: &mut ModuleCtx) -> RunResult {
        let remote = a.remote_src.unwrap_or(a.copy.map(|c| !c).unwrap_or(false));
        let attrs = Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() };
        // 1. creates, dest, tools, uid and a private temp dir, in one command.
        let creates = a.creates.as_ref().map(|c| format!("[ -e {} ] && echo CREATES;", quote(c))).unwrap_or_default();
        let probe = format!(
            "{creates} [ -d {d} ] && echo DESTDIR; echo \"UID:$(id -u)\"; {}; \
             command -v unzip >/dev/null 2>&1 && echo TOOL:unzip; echo \"TMP:$(mktemp -d)\"",
            http_client::probe_tools_cmd(),
            d = quote(&a.dest)
        );
        let out = ctx.conn.exec(&probe, None)?.stdout_str();
        let tmp = out.lines().find_map(|l| l.strip_prefix("TMP:")).unwrap_or("").to_string();
        let res = self.with_tmp(&a, ctx, &attrs, remote, &out, &tmp);
        if !tmp.is_empty() {
            ctx.conn.exec(&format!("rm -rf -- {}", quote(&tmp)), None)?;
        }
        res
    }
}

impl Unarchive {
    fn with_tmp(
        &self,
        a: &UnarchiveArgs,
        ctx: &mut ModuleCtx,
        attrs: &Attrs,
        remote: bool,
        probe: &str,
        tmp: &str,
    ) -> RunResult {
        let has = |w: &str| probe.lines().any(|l| l == w);
        if let (true, Some(c)) = (has("CREATES"), &a.creates) {
            let mut r = ModuleResult::ok().with_msg(format!("skipped, since {c} exists"));
            r.skipped = true;
            return Ok(r);
        }
        if !has("DESTDIR") {
            return Err(ModuleError::msg(format!("dest '{}' must be an existing dir", a.dest)));
        }
        if tmp.is_empty() {
            return Err(ModuleError::msg("could not create a temporary directory on the host (mktemp -d failed)"));
        }
        let root = probe.lines().any(|l| l == "UID:0");
        // 2. Get the archive onto the host.
        let src = if remote && a.src.contains("://") {
            let tool = http_client::pick_tool(probe).ok_or_else(|| {
                ModuleError::msg(
                    "unarchive needs curl or wget on the managed host to fetch a URL src; neither is in its PATH",
                )
            })?;
            let path = format!("{tmp}/{}", crate::builtin::get_url::url_filename(&a.src));
            let req = Request {
                url: a.src.clone(),
                method: "GET".into(),
                headers: vec![("User-Agent".into(), "ansible-httpget".into())],
                timeout: 10,
                validate_certs: a.validate_certs,
                follow: true,
                output: Some(path.clone()),
                ..Request::default()
            };
            let resp = http_client::execute(ctx.conn, tool, &req)?;
            if resp.status != 200 {
                return Err(ModuleError::msg(format!("Failure downloading {}, {}", a.src, resp.msg())));
            }
            path
        } else if remote {
            a.src.clone()
        } else {
            let local = ctx.controller.find_file(FileKind::Files, &a.src).map_err(ModuleError::msg)?;
            let data = std::fs::read(&local)
                .map_err(|e| ModuleError::msg(format!("could not read {}: {e}", local.display())))?;
            let path = format!("{tmp}/{}", filewrite::basename(&local.to_string_lossy()));
            ctx.conn.write_file(&path, &data)?;
            path
        };
        // 3. Format, listing and comparison in one command.
        let inspect = format!(
            "s={s}; [ -e \"$s\" ] || {{ echo NOSRC; exit 0; }}; [ -r \"$s\" ] || {{ echo UNREADABLE; exit 0; }}; \
             [ -s \"$s\" ] || {{ echo EMPTY; exit 0; }}; echo \"MAGIC:$(od -An -tx1 -N6 \"$s\" | tr -d ' \\n')\"",
            s = quote(&src)
        );
        let out = ctx.conn.exec(&inspect, None)?.stdout_str();
        let has_line = |w: &str| out.lines().any(|l| l == w);
        if has_line("NOSRC") {
            return Err(ModuleError::msg(if remote {
                format!("Source '{src}' does not exist")
            } else {
                format!("Source '{src}' failed to transfer")
            }));
        }
        if has_line("UNREADABLE") {
            return Err(ModuleError::msg(format!("Source '{src}' not readable")));
        }
        if has_line("EMPTY") {
            return Err(ModuleError::msg(format!("Invalid archive '{src}', the file is 0 bytes")));
        }
        let magic = out.lines().find_map(|l| l.strip_prefix("MAGIC:")).unwrap_or("");
        let fmt = Format::from_magic(magic);
        let mut res =
            ModuleResult::ok().with("dest", a.dest.clone()).with("src", src.clone()).with("handler", fmt.handler());
        let (files, unarchived) = if fmt == Format::Zip {
            if !probe.lines().any(|l| l == "TOOL:unzip") {
                return Err(ModuleError::msg(format!(
                    "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n\
                     Unable to find required 'unzip' binary in the path; install it on the host (apt: name: unzip)"
                )));
            }
            self.zip_state(a, ctx, &src)?
        } else {
            self.tar_state(a, ctx, fmt, &src, root, attrs, tmp)?
        };
        if ctx.check {
            res.changed = !unarchived;
        } else if !unarchived {
            let cmd = if fmt == Format::Zip { zip_extract_cmd(a, &src) } else { tar_cmd(a, fmt, "--extract", &src) };
            let o = ctx.conn.exec(&format!("cd {} && LC_ALL=C {}", quote(&a.dest), sh(&cmd)), None)?;
            let er = serde_json::json!({
                "cmd": cmd, "rc": o.rc, "out": o.stdout_str(), "err": o.stderr_str(),
            });
            res = res.with("extract_results", er);
            if o.rc != 0 {
                res.failed = true;
                res.msg = Some(format!("failed to unpack {src} to {}", a.dest));
                return Err(ModuleError::Fail(Box::new(res)));
            }
            res.changed = true;
        }
        if !ctx.check && (attrs.mode.is_some() || attrs.owner.is_some() || attrs.group.is_some()) {
            let mut paths: Vec<String> = Vec::new();
            for f in &files {
                paths.push(format!("{}/{}", a.dest.trim_end_matches('/'), f.trim_end_matches('/')));
                if let Some((top, _)) = f.split_once('/') {
                    let p = format!("{}/{top}", a.dest.trim_end_matches('/'));
                    if !paths.contains(&p) {
                        paths.push(p);
                    }
                }
            }
            if self.apply_attrs(ctx, &paths, attrs)? {
                res.changed = true;
            }
        }
        if a.list_files {
            res = res.with("files", files.into_iter().map(Value::String).collect::<Vec<_>>());
        }
        if let Some(st) = crate::fileops::stat(ctx.conn, &a.dest, true)? {
            res = filewrite::with_path_info(res, &st);
        }
        Ok(res)
    }

    /// Members and whether the destination already has them all, for tar formats.
    #[allow(clippy::too_many_arguments)]
    fn tar_state(
        &self,
        a: &UnarchiveArgs,
        ctx: &mut ModuleCtx,
        fmt: Format,
        src: &str,
        root: bool,
        attrs: &Attrs,
        tmp: &str,
    ) -> Result<(Vec<String>, bool), ModuleError> {
        let cmd = format!(
            "cd {d} || exit 99; echo '@@ORC:list@@'; LC_ALL=C {list} 2>{e}; r=$?; echo '@@ORC:listrc@@'; echo $r; \
             echo '@@ORC:listerr@@'; cat {e}; echo '@@ORC:diff@@'; LC_ALL=C {diff} 2>&1; echo '@@ORC:end@@'",
            d = quote(&a.dest),
            e = quote(&format!("{tmp}/list.err")),
            list = sh(&tar_cmd(a, fmt, "--list", src)),
            diff = sh(&tar_cmd(a, fmt, "--diff", src)),
        );
        let o = ctx.conn.exec(&cmd, None)?;
        let s = sections(&o.stdout_str());
        let list_rc = s.get("listrc").map(|r| r.trim().to_string()).unwrap_or_default();
        let list = s.get("list").cloned().unwrap_or_default();
        if list_rc != "0" {
            let list = s.get("listerr").cloned().unwrap_or_default();
            return Err(ModuleError::msg(format!(
                "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n\
                 Unable to list files in the archive: {}",
                list.trim()
            )));
        }
        let files: Vec<String> = list
            .lines()
            .map(|f| f.trim_start_matches('/').to_string())
            .filter(|f| !f.is_empty() && !a.exclude.iter().any(|e| fnmatch(f, e)))
            .collect();
        let diff = s.get("diff").cloned().unwrap_or_default();
        let differs = diff.lines().any(|l| tar_line_differs(l, root, attrs));
        Ok((files, !differs))
    }

    /// Members and whether they all exist with the same type and size, for zip.
    fn zip_state(&self, a: &UnarchiveArgs, ctx: &mut ModuleCtx, src: &str) -> Result<(Vec<String>, bool), ModuleError> {
        let o = ctx.conn.exec(&format!("LC_ALL=C unzip -Zl {}", quote(src)), None)?;
        if o.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n{}",
                o.stderr_str().trim()
            )));
        }
        let members: Vec<(String, u64, bool)> = parse_zipinfo(&o.stdout_str())
            .into_iter()
            .filter(|(n, _, _)| {
                !a.exclude.iter().any(|e| fnmatch(n, e))
                    && (a.include.is_empty() || a.include.iter().any(|i| fnmatch(n, i)))
            })
            .collect();
        let mut script = format!("cd {} || exit 99;", quote(&a.dest));
        for (n, _, _) in &members {
            script.push_str(&format!(
                " stat -c '{STAT_FMT}' -- {} 2>/dev/null || echo MISSING;",
                quote(n.trim_end_matches('/'))
            ));
        }
        let out = ctx.conn.exec(&script, None)?.stdout_str();
        let lines: Vec<&str> = out.lines().collect();
        let mut unarchived = lines.len() == members.len();
        for ((_, size, is_dir), line) in members.iter().zip(&lines) {
            match parse_stat(line, None) {
                Some(st) if *is_dir => unarchived &= st.file_type == crate::fileops::FileType::Directory,
                Some(st) => unarchived &= st.file_type == crate::fileops::FileType::File && st.size == *size,
                None => unarchived = false,
            }
        }
        Ok((members.into_iter().map(|(n, _, _)| n).collect(), unarchived))
    }

    /// Applies mode/owner/group to `paths` where they differ (two commands); whether any changed.
    fn apply_attrs(&self, ctx: &mut ModuleCtx, paths: &[String], attrs: &Attrs) -> Result<bool, ModuleError> {
        let mut script = String::new();
        for p in paths {
            script.push_str(&format!("stat -c '{STAT_FMT}' -- {} 2>/dev/null || echo MISSING; ", quote(p)));
        }
        let out = ctx.conn.exec(&script, None)?.stdout_str();
        let mut fix = Vec::new();
        for (p, line) in paths.iter().zip(out.lines()) {
            if let Some(st) = parse_stat(line, None) {
                if st.file_type != crate::fileops::FileType::Link
                    && attrs.differs(&st, st.file_type == crate::fileops::FileType::Directory)
                {
                    fix.push(attrs.apply_cmd(p));
                }
            }
        }
        if fix.is_empty() {
            return Ok(false);
        }
        let o = ctx.conn.exec(&fix.join(" && "), None)?;
        if o.rc != 0 {
            return Err(ModuleError::msg(format!("could not set attributes: {}", o.stderr_str().trim())));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;
    use std::process::Command;

    #[test]
    fn formats_and_diff_lines() {
        assert_eq!(Format::from_magic("1f8b08000000"), Format::Tgz);
        assert_eq!(Format::from_magic("504b03040a00"), Format::Zip);
        assert_eq!(Format::from_magic("616263"), Format::Tar);
        let none = Attrs::default();
        assert!(tar_line_differs("a/b: Mod time differs", false, &none));
        assert!(tar_line_differs("tar: a/b: Warning: Cannot stat: No such file or directory", false, &none));
        assert!(!tar_line_differs("a/b: Uid differs", false, &none));
        assert!(tar_line_differs("a/b: Uid differs", true, &none));
        let with_mode = Attrs { mode: Some(Mode::Octal(0o600)), ..Attrs::default() };
        assert!(!tar_line_differs("a/b: Mode differs", false, &with_mode));
        let z = parse_zipinfo(
            "Archive:  x.zip\n-rw-r--r--  3.0 unx        6 tx        6 stor 24-Jan-01 10:00 dir/a file.txt\n\
             drwxr-xr-x  3.0 unx        0 bx        0 stor 24-Jan-01 10:00 dir/\n2 files, 6 bytes",
        );
        assert_eq!(z, vec![("dir/a file.txt".into(), 6, false), ("dir/".into(), 0, true)]);
        assert!(fnmatch("a/b.log", "*.log") && !fnmatch("a/b.txt", "*.log"));
    }

    fn make_tgz(sb: &Sandbox) {
        sb.write("build/app/bin/run.sh", "#!/bin/sh\necho hi\n");
        sb.write("build/app/README", "readme\n");
        std::fs::create_dir_all(sb.path("files")).unwrap();
        let ok = Command::new("tar")
            .args(["-czf", &sb.path("files/app.tar.gz"), "-C", &sb.path("build"), "app"])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    #[test]
    fn controller_tgz_unpacks_once_and_check_mode_changes_nothing() {
        let mut sb = Sandbox::new();
        make_tgz(&sb);
        std::fs::create_dir_all(sb.path("dest")).unwrap();
        let args = json!({"src": "app.tar.gz", "dest": sb.path("dest"), "list_files": true});
        let r = sb.run(&Unarchive, args.clone(), true, false).unwrap();
        assert!(r.changed);
        assert!(!std::path::Path::new(&sb.path("dest/app")).exists(), "check mode extracted");
        let r = sb.ok(&Unarchive, args.clone());
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["handler"], "TgzArchive");
        assert!(r.data["files"].as_array().unwrap().iter().any(|f| f == "app/bin/run.sh"));
        assert_eq!(sb.read("dest/app/README"), "readme\n");
        let again = sb.ok(&Unarchive, args.clone());
        assert!(!again.changed, "{again:?}");
        // A modified file is restored.
        std::fs::write(sb.path("dest/app/README"), "changed locally, longer\n").unwrap();
        assert!(sb.ok(&Unarchive, args.clone()).changed);
        assert_eq!(sb.read("dest/app/README"), "readme\n");
        // mode is applied to every member, then idempotent.
        let with_mode = json!({"src": "app.tar.gz", "dest": sb.path("dest"), "mode": "u+rwX,go-rwx"});
        assert!(sb.ok(&Unarchive, with_mode.clone()).changed);
        let m = std::fs::metadata(sb.path("dest/app/README")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert!(!sb.ok(&Unarchive, with_mode).changed);
        // creates skips.
        let r =
            sb.ok(&Unarchive, json!({"src": "app.tar.gz", "dest": sb.path("dest"), "creates": sb.path("dest/app")}));
        assert!(r.skipped);
        // Not a directory.
        let e = sb.run(&Unarchive, json!({"src": "app.tar.gz", "dest": sb.path("nope")}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), format!("dest '{}' must be an existing dir", sb.path("nope")));
    }

    #[test]
    fn remote_zip_unpacks_once() {
        let mut sb = Sandbox::new();
        sb.write("z/d/one.txt", "1\n");
        sb.write("z/two.txt", "22\n");
        let ok =
            Command::new("sh").arg("-c").arg(format!("cd {} && zip -qr ../a.zip .", sb.path("z"))).status().unwrap();
        assert!(ok.success());
        std::fs::create_dir_all(sb.path("dest")).unwrap();
        let args = json!({"src": sb.path("a.zip"), "dest": sb.path("dest"), "remote_src": true});
        let r = sb.ok(&Unarchive, args.clone());
        assert!(r.changed);
        assert_eq!(r.data["handler"], "ZipArchive");
        assert_eq!(sb.read("dest/d/one.txt"), "1\n");
        assert!(!sb.ok(&Unarchive, args.clone()).changed);
        std::fs::remove_file(sb.path("dest/two.txt")).unwrap();
        assert!(sb.ok(&Unarchive, args).changed);
    }
}
