//! Steps shared by the modules that write whole files (copy, template, lineinfile, blockinfile):
//! a one-round-trip probe of the destination, Ansible-named backups, validated atomic writes, and
//! Ansible's path return fields (`mode`, `owner`, `uid`, `state`...).

use crate::args::Mode;
use crate::connection::{ConnError, Connection};
use crate::contract::{FileDiff, ModuleError, ModuleResult};
use crate::fileops::{Attrs, FileType, StatInfo};
use crate::shell_quote::quote;

/// The `stat -c` format [`parse_stat`] reads.
pub const STAT_FMT: &str = "%F|%a|%u|%g|%U|%G|%s|%Y|%X|%h|%i";

/// What one probe command learns about a destination path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// Metadata, `None` when the path does not exist.
    pub stat: Option<StatInfo>,
    /// SHA-1 of the content when it is a readable regular file.
    pub sha1: Option<String>,
    /// `readlink -f` of the path when it is a link (where a write through it lands), else the
    /// path itself.
    pub realpath: String,
    /// Whether the parent directory exists.
    pub parent_exists: bool,
    /// The content, when the probe read it ([`Read::Small`], or [`Read::Hash`] of a small file).
    pub content: Option<Vec<u8>>,
}

/// What [`probe`] reads of a regular, readable file besides its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Nothing.
    Stat,
    /// Its SHA-1: a small file's bytes read by the shell (hashed here), a larger one hashed by
    /// `sha1sum` there (copy, template).
    Hash,
    /// A small file's bytes (at most [`BUILTIN_READ_MAX`]), read by the shell; nothing of a
    /// larger one, which the module reads itself (lineinfile, blockinfile: one round trip fewer
    /// for the usual small file).
    Small,
}

/// Parses one line of `stat -c STAT_FMT` output.
pub fn parse_stat(line: &str, link_target: Option<String>) -> Option<StatInfo> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 11 {
        return None;
    }
    let file_type = match f[0] {
        "regular file" | "regular empty file" => FileType::File,
        "directory" => FileType::Directory,
        "symbolic link" => FileType::Link,
        _ => FileType::Other,
    };
    Some(StatInfo {
        file_type,
        mode: u32::from_str_radix(f[1], 8).ok()?,
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        owner: f[4].to_string(),
        group: f[5].to_string(),
        size: f[6].parse().ok()?,
        mtime: f[7].parse().ok()?,
        atime: f[8].parse().ok()?,
        nlink: f[9].parse().ok()?,
        inode: f[10].parse().ok()?,
        link_target,
    })
}

/// The parent directory of a path as Python's `os.path.dirname` gives it ("" for a bare name).
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => match path[..i].trim_end_matches('/') {
            "" => "/",
            d => d,
        },
        None => "",
    }
}

/// The last component of a path (`os.path.basename`).
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The largest file [`probe`] reads with the shell's own `read` to hash it on the controller; a
/// larger one is hashed by `sha1sum` on the host. dash's `read` makes one `read(2)` per byte: below
/// about 2 KiB that is cheaper than starting a process (measured with dash on the benchmark
/// machine; docs/performance.md, "Scale").
pub const BUILTIN_READ_MAX: u64 = 2048;

/// Stats `path` (following links when `follow`), hashes it if it is a file and `hash` is set,
/// resolves it when it is a link and checks its parent, all in one inline command: no subshells,
/// so the host starts only `stat` (and `readlink` for a link). A small file to hash is read by
/// the shell's builtins (`read`, `printf`) and hashed here; a larger one by `sha1sum` there.
pub fn probe(conn: &mut dyn Connection, path: &str, follow: bool, read: Read) -> Result<Probe, ConnError> {
    let out = conn.probe(&probe_cmd(path, follow, read))?;
    let (text, content) = split_content(&out.stdout);
    let text = String::from_utf8_lossy(text);
    let mut p = Probe { realpath: path.to_string(), ..Probe::default() };
    let mut stat_line = None;
    let mut link = None;
    for line in text.lines() {
        if line == "D" {
            p.parent_exists = true;
        } else if let Some(r) = line.strip_prefix("R:") {
            if !r.is_empty() {
                p.realpath = r.to_string();
            }
        } else if let Some(t) = line.strip_prefix("T:") {
            stat_line = Some(t.to_string());
        } else if let Some(l) = line.strip_prefix("L:") {
            link = Some(l.to_string());
        } else if let Some(s) = line.strip_prefix("S:") {
            p.sha1 = s.get(..40).map(str::to_string);
        }
    }
    p.stat = stat_line.and_then(|l| parse_stat(&l, link));
    if let Some(content) = content {
        if p.stat.as_ref().is_some_and(|s| s.size == content.len() as u64) {
            p.sha1 = Some(crate::fileops::sha1_hex(content));
            p.content = Some(content.to_vec());
        } else if read == Read::Small {
            // The module reads the file itself.
        } else {
            // NUL bytes (which `read` drops) or a file that changed since `stat`: hash it there.
            let out = conn.probe(&format!("[ -f {q} ] && [ -r {q} ] && sha1sum < {q}; true", q = quote(path)))?;
            p.sha1 = out.stdout_str().get(..40).map(str::to_string);
        }
    }
    Ok(p)
}

/// The `first_probe` of a module whose run starts with [`probe`] of `path`: `None` for a path
/// starting with `~`, which the module expands on the host first, so that its probe's text
/// differs from one computed from the arguments (a probe sent ahead that never matches is only
/// a wasted exchange, but one on every run).
pub fn ahead_probe_cmd(path: &str, follow: bool, read: Read) -> Option<String> {
    (!path.starts_with('~')).then(|| probe_cmd(path, follow, read))
}

/// The command [`probe`] sends first: what a module that starts with it states as its
/// `first_probe`, so that the engine can send it ahead.
pub fn probe_cmd(path: &str, follow: bool, read: Read) -> String {
    let parent = match dirname(path) {
        "" => ".",
        d => d,
    };
    // The content follows a `C:` line and runs to the end of the output. Read in the shell only
    // what `stat` described (`follow`, or not a link), so its size checks the copy: `read` drops
    // NUL bytes, and a file that changed in between is caught too (then `sha1sum`, below).
    let same = if follow { "true" } else { "! [ -L \"$p\" ]" };
    let large = match read {
        Read::Hash => "else printf S:; sha1sum < \"$p\"; ",
        _ => "",
    };
    let hash = if read == Read::Stat {
        String::new()
    } else {
        format!(
            "if [ -f \"$p\" ] && [ -r \"$p\" ]; then _orcs=${{_orco%%|*}}; \
             if {same} && [ \"$_orcs\" -le {BUILTIN_READ_MAX} ] 2>/dev/null; then printf 'C:\\n'; \
             {{ while IFS= read -r _orcl; do printf '%s\\n' \"$_orcl\"; done; printf %s \"$_orcl\"; }} < \"$p\"; \
             {large}fi; fi; "
        )
    };
    // `_orcst` runs `stat` (one process: the shell execs a command substitution's only command),
    // or answers from the memo of a batch of probes (crate::stat_memo); the size in front of the
    // usual fields is for the shell's test above.
    let mode = if follow { "L" } else { "-" };
    format!(
        "p={q}; {function}[ -d {d} ] && echo D; \
         if [ -e \"$p\" ] || [ -L \"$p\" ]; then {stat} {mode} \"$p\"; \
         printf 'T:%s\\n' \"${{_orco#*|}}\"; \
         if [ -L \"$p\" ]; then printf L:; readlink -- \"$p\" || echo; printf R:; readlink -f -- \"$p\" || echo; fi; \
         {hash}fi; unset _orco _orcs _orcl _orcx _orcy; true",
        q = quote(path),
        d = quote(parent),
        function = crate::stat_memo::function(),
        stat = crate::stat_memo::FUNCTION,
    )
}

/// Splits a probe's output at its `C:` line: the lines before it, and the file content after it
/// (`None` when the probe read no content).
fn split_content(out: &[u8]) -> (&[u8], Option<&[u8]>) {
    const MARK: &[u8] = b"\nC:\n";
    match out.windows(MARK.len()).position(|w| w == MARK) {
        Some(i) => (&out[..=i], Some(&out[i + MARK.len()..])),
        None => (out, None),
    }
}

/// Copies `path` to Ansible's backup name `path.<pid>.<YYYY-MM-DD@HH:MM:SS~>` (host local time),
/// keeping mode, owner and times; returns the backup's path.
pub fn backup(conn: &mut dyn Connection, path: &str) -> Result<String, ModuleError> {
    let cmd = format!(
        "p={q}; b=\"$p.$(sh -c 'echo $PPID').$(date +%Y-%m-%d@%H:%M:%S~)\"; cp -p -- \"$p\" \"$b\" && printf %s \"$b\"",
        q = quote(path)
    );
    let out = conn.exec(&cmd, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("Could not make backup of {path}: {}", out.stderr_str().trim())));
    }
    Ok(out.stdout_str())
}

/// A `validate` command that rejected the new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateFailure {
    /// The validator's exit status.
    pub rc: i32,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// The `validate` command failed; the destination was left untouched.
    Validate(ValidateFailure),
    /// Anything else (bad validate string, permissions, connection).
    Module(ModuleError),
}

impl From<ConnError> for WriteError {
    fn from(e: ConnError) -> Self {
        WriteError::Module(ModuleError::from(e))
    }
}

/// The shell command giving `qtmp` (a quoted temporary file about to replace `qdest`) the mode,
/// extended ACL and extended attributes of `qdest`, as Ansible's `atomic_move` does with Python's
/// `shutil.copystat` (module_utils/basic.py): without it, the rename would drop an ACL that
/// `setfacl` put on the file. GNU cp copies them without touching the content
/// (`--attributes-only`); where cp cannot (busybox, a file system without extended attributes,
/// an attribute the user may not set), the mode alone is copied, as before. No Python and no
/// acl package needed on the host.
pub fn keep_dest_attrs_cmd(qdest: &str, qtmp: &str) -> String {
    format!(
        "{{ cp --attributes-only --preserve=mode,xattr -- {qdest} {qtmp} 2>/dev/null || chmod --reference={qdest} {qtmp}; }}"
    )
}

/// Substitutes the file to check into a `validate` command, as Python's `validate % path`.
pub fn validate_command(validate: &str, path: &str) -> Result<String, String> {
    if !validate.contains("%s") {
        return Err(format!("validate must contain %s: {validate}"));
    }
    Ok(validate.replace("%%", "\u{0}").replace("%s", &quote(path)).replace('\u{0}', "%"))
}

/// Writes `data` to `dest` atomically: temp file in the same directory, `validate` run on it (the
/// old file stays untouched if it fails), the old file's mode and owner (or 0644 for a new file),
/// then `attrs`, then rename. Returns the new file's metadata.
pub fn write_validated(
    conn: &mut dyn Connection,
    dest: &str,
    data: &[u8],
    attrs: &Attrs,
    validate: Option<&str>,
) -> Result<Option<StatInfo>, WriteError> {
    let dir = match dirname(dest) {
        "" => ".",
        d => d,
    };
    let tmp = format!("{}/.{}.orc-tmp-{:016x}", dir.trim_end_matches('/'), basename(dest), fastrand::u64(..));
    conn.write_file(&tmp, data)?;
    let qt = quote(&tmp);
    if let Some(v) = validate {
        let cmd = match validate_command(v, &tmp) {
            Ok(c) => c,
            Err(e) => {
                conn.exec(&format!("rm -f -- {qt}"), None)?;
                return Err(WriteError::Module(ModuleError::msg(e)));
            }
        };
        let out = conn.exec(&cmd, None)?;
        if out.rc != 0 {
            conn.exec(&format!("rm -f -- {qt}"), None)?;
            return Err(WriteError::Validate(ValidateFailure {
                rc: out.rc,
                stdout: out.stdout_str(),
                stderr: out.stderr_str(),
            }));
        }
    }
    let qd = quote(dest);
    // The temp file takes the old file's mode, extended ACL and extended attributes and its owner
    // (a new file 0644), then the task's; an absolute mode makes the new file's 0644 pointless.
    // Run inline (no subshell, no `exit`): on failure the temp file is removed and the status is
    // false.
    let absolute_mode = matches!(attrs.mode, Some(Mode::Octal(_)));
    let default_mode = if absolute_mode { "true".to_string() } else { format!("chmod 0644 {qt}") };
    let keep = keep_dest_attrs_cmd(&qd, &qt);
    let mut cmd = format!(
        "if {{ if [ -e {qd} ]; then {keep} && {{ chown --reference={qd} {qt} 2>/dev/null; true; }}; else {default_mode}; fi"
    );
    let apply = attrs.apply_cmd(&tmp);
    if !apply.is_empty() {
        cmd.push_str(" && ");
        cmd.push_str(&apply);
    }
    cmd.push_str(&format!(
        " && mv -f -- {qt} {qd}; }}; then stat -c '{STAT_FMT}' -- {qd}; else rm -f -- {qt}; false; fi"
    ));
    let out = conn.exec_inline(&cmd)?;
    if out.rc != 0 {
        return Err(WriteError::Module(ModuleError::msg(format!(
            "could not write {dest}: {}",
            out.stderr_str().trim()
        ))));
    }
    Ok(out.stdout_str().lines().last().and_then(|l| parse_stat(l, None)))
}

/// Whether a file that cannot be replaced atomically may be written in place: `unsafe_writes` as
/// given, else the host's `ANSIBLE_UNSAFE_WRITES` (the task's `environment:` included), read as
/// Ansible's boolean, as the fallback of Ansible's argument spec.
pub fn unsafe_writes_allowed(conn: &mut dyn Connection, given: Option<bool>) -> Result<bool, ModuleError> {
    if let Some(b) = given {
        return Ok(b);
    }
    let out = conn.exec_inline("printf '%s' \"${ANSIBLE_UNSAFE_WRITES-}\"")?;
    Ok(crate::args::parse_bool(&serde_json::Value::String(out.stdout_str())) == Some(true))
}

/// Ansible's `unsafe_writes`: overwrites `dest` where it is (truncated, then written), for a
/// file whose directory refuses the temporary file or the rename; then `attrs`. Returns the
/// file's metadata.
pub fn write_in_place(
    conn: &mut dyn Connection,
    dest: &str,
    data: &[u8],
    attrs: &Attrs,
) -> Result<Option<StatInfo>, ModuleError> {
    conn.write_file(dest, data).map_err(|e| match e {
        ConnError::File(m) => ModuleError::msg(format!("could not write {dest} in place (unsafe_writes): {m}")),
        e => ModuleError::Conn(e),
    })?;
    let apply = attrs.apply_cmd(dest);
    let cmd = if apply.is_empty() {
        format!("stat -c '{STAT_FMT}' -- {}", quote(dest))
    } else {
        format!("{apply} && stat -c '{STAT_FMT}' -- {}", quote(dest))
    };
    let out = conn.exec(&cmd, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not set attributes on {dest}: {}", out.stderr_str().trim())));
    }
    Ok(out.stdout_str().lines().last().and_then(|l| parse_stat(l, None)))
}

/// Applies `attrs` to `path` if they differ from `st`; returns whether anything changed (or would,
/// in check mode) and the metadata after the change.
pub fn fix_attrs(
    conn: &mut dyn Connection,
    path: &str,
    st: &StatInfo,
    attrs: &Attrs,
    check: bool,
) -> Result<(bool, StatInfo), ModuleError> {
    let is_dir = st.file_type == FileType::Directory;
    if !attrs.differs(st, is_dir) {
        return Ok((false, st.clone()));
    }
    if check {
        return Ok((true, predicted(st, attrs)));
    }
    let cmd = format!("{} && stat -c '{STAT_FMT}' -- {}", attrs.apply_cmd(path), quote(path));
    let out = conn.exec(&cmd, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not set attributes on {path}: {}", out.stderr_str().trim())));
    }
    let after = out
        .stdout_str()
        .lines()
        .last()
        .and_then(|l| parse_stat(l, st.link_target.clone()))
        .unwrap_or_else(|| predicted(st, attrs));
    Ok((true, after))
}

/// The metadata `st` would have once `attrs` are applied (for check mode results).
pub fn predicted(st: &StatInfo, attrs: &Attrs) -> StatInfo {
    let mut s = st.clone();
    if let Some(m) = &attrs.mode {
        if let Some(bits) = crate::fileops::mode_after(m, st.mode, st.file_type == FileType::Directory) {
            s.mode = bits;
        }
    }
    if let Some(o) = &attrs.owner {
        s.owner = o.clone();
    }
    if let Some(g) = &attrs.group {
        s.group = g.clone();
    }
    s
}

/// A mode as Ansible returns it: `'0%03o'` of the permission bits (`0644`, `04755`).
pub fn mode_string(mode: u32) -> String {
    format!("0{:03o}", mode & 0o7777)
}

/// Ansible's path state for a stat: link, directory, hard (more than one link) or file.
pub fn path_state(st: &StatInfo) -> &'static str {
    match st.file_type {
        FileType::Link => "link",
        FileType::Directory => "directory",
        _ if st.nlink > 1 => "hard",
        _ => "file",
    }
}

/// Adds Ansible's path info (`uid`, `gid`, `owner`, `group`, `mode`, `state`, `size`).
pub fn with_path_info(res: ModuleResult, st: &StatInfo) -> ModuleResult {
    res.with("uid", st.uid)
        .with("gid", st.gid)
        .with("owner", st.owner.clone())
        .with("group", st.group.clone())
        .with("mode", mode_string(st.mode))
        .with("state", path_state(st))
        .with("size", st.size)
}

/// Whether bytes look binary (contain NUL), in which case no text diff is produced.
pub fn is_binary(data: &[u8]) -> bool {
    data.contains(&0)
}

/// A content diff, or `None` when either side is binary.
pub fn content_diff(header: &str, before: &[u8], after: &[u8]) -> Option<FileDiff> {
    if is_binary(before) || is_binary(after) {
        return None;
    }
    Some(FileDiff::content(header, String::from_utf8_lossy(before), String::from_utf8_lossy(after)))
}

/// The `mode` given by the user is `preserve`: the mode of the controller-side source.
pub fn preserve_mode(src: &std::path::Path) -> Result<Mode, String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(src)
        .map(|m| Mode::Octal(m.permissions().mode() & 0o7777))
        .map_err(|e| format!("could not read the mode of {}: {e}", src.display()))
}

/// Python's `json.dumps(v, sort_keys=True, indent=4) + "\n"`: how Ansible prints dict diffs.
pub fn json_diff_text(v: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let map: serde_json::Map<String, serde_json::Value> = v.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if map.serialize(&mut ser).is_err() {
        return String::new();
    }
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    s.push('\n');
    s
}

/// The `(file attributes)` diff between two states of a path: only the attributes that differ.
pub fn attrs_diff(path: &str, before: &StatInfo, after: &StatInfo) -> Option<FileDiff> {
    use serde_json::Value;
    let mut b = std::collections::BTreeMap::new();
    let mut a = std::collections::BTreeMap::new();
    if before.mode & 0o7777 != after.mode & 0o7777 {
        b.insert("mode".to_string(), Value::from(mode_string(before.mode)));
        a.insert("mode".to_string(), Value::from(mode_string(after.mode)));
    }
    if before.owner != after.owner {
        b.insert("owner".to_string(), Value::from(before.owner.clone()));
        a.insert("owner".to_string(), Value::from(after.owner.clone()));
    }
    if before.group != after.group {
        b.insert("group".to_string(), Value::from(before.group.clone()));
        a.insert("group".to_string(), Value::from(after.group.clone()));
    }
    if b.is_empty() {
        return None;
    }
    let header = format!("{path} (file attributes)");
    Some(FileDiff {
        before_header: header.clone(),
        after_header: header,
        before: json_diff_text(&b),
        after: json_diff_text(&a),
    })
}

/// The metadata a file created by a write gets before `attrs` (mode 0644, the connecting user).
fn new_file_stat(attrs: &Attrs) -> StatInfo {
    StatInfo {
        file_type: FileType::File,
        mode: 0o644,
        uid: 0,
        gid: 0,
        owner: attrs.owner.clone().unwrap_or_default(),
        group: attrs.group.clone().unwrap_or_default(),
        size: 0,
        mtime: 0,
        atime: 0,
        nlink: 1,
        inode: 0,
        link_target: None,
    }
}

/// The result of a line or block edit (lineinfile, blockinfile): `changed` with the content diff
/// when the text changed, then the attributes applied as [`finish_attrs`] does (not in check mode
/// on a file that does not exist yet: there is nothing to compare with), and `msg`.
#[allow(clippy::too_many_arguments)]
pub fn edit_result(
    conn: &mut dyn Connection,
    path: &str,
    probe: &Probe,
    attrs: &Attrs,
    check: bool,
    (before, after): (&[u8], &[u8]),
    changed: bool,
    msg: String,
) -> Result<ModuleResult, ModuleError> {
    let mut res = ModuleResult::changed(changed);
    if changed {
        if let Some(d) = content_diff(&format!("{path} (content)"), before, after) {
            res = res.with_diff(d);
        }
    }
    let mut msg = msg;
    if !check || probe.stat.is_some() {
        let (c, m, d) = finish_attrs(conn, &probe.realpath, probe.stat.as_ref(), attrs, check, changed, msg)?;
        res.changed = c;
        msg = m;
        if let Some(d) = d {
            res = res.with_diff(d);
        }
    }
    Ok(res.with_msg(msg))
}

/// lineinfile/blockinfile's `check_file_attrs`: after the content step, applies `attrs` when the
/// content did not change (a content write applied them already), and extends `msg` with Ansible's
/// "ownership, perms or SE linux context changed". Returns (changed, msg, attributes diff).
pub fn finish_attrs(
    conn: &mut dyn Connection,
    path: &str,
    before: Option<&StatInfo>,
    attrs: &Attrs,
    check: bool,
    content_changed: bool,
    mut msg: String,
) -> Result<(bool, String, Option<FileDiff>), ModuleError> {
    let (attr_changed, diff) = if content_changed {
        let st = before.cloned().unwrap_or_else(|| new_file_stat(attrs));
        let is_dir = st.file_type == FileType::Directory;
        let differs = attrs.differs(&st, is_dir);
        let after = predicted(&st, attrs);
        (differs, if differs { attrs_diff(path, &st, &after) } else { None })
    } else {
        match before {
            Some(st) => {
                let (c, after) = fix_attrs(conn, path, st, attrs, check)?;
                (c, if c { attrs_diff(path, st, &after) } else { None })
            }
            None => (false, None),
        }
    };
    if attr_changed {
        if content_changed {
            msg.push_str(" and ");
        }
        msg.push_str("ownership, perms or SE linux context changed");
    }
    Ok((content_changed || attr_changed, msg, diff))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ShConnection;

    #[test]
    fn dirname_like_python() {
        assert_eq!(dirname("/etc/hosts"), "/etc");
        assert_eq!(dirname("/hosts"), "/");
        assert_eq!(dirname("hosts"), "");
        assert_eq!(basename("/a/b/c.txt"), "c.txt");
    }

    #[test]
    fn probe_sees_file_and_parent() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, "hello\n").unwrap();
        let mut c = ShConnection::default();
        let p = probe(&mut c, f.to_str().unwrap(), false, Read::Hash).unwrap();
        assert!(p.parent_exists);
        assert_eq!(p.sha1.as_deref(), Some("f572d396fae9206628714fb2ce00f72e94f2258f"));
        assert_eq!(p.stat.unwrap().size, 6);
        let missing = dir.path().join("nope/y");
        let p = probe(&mut c, missing.to_str().unwrap(), false, Read::Hash).unwrap();
        assert!(!p.parent_exists);
        assert!(p.stat.is_none());
        assert_eq!(c.log.len(), 2);
    }

    #[test]
    fn probe_hashes_small_files_in_one_round_trip_and_others_with_sha1sum() {
        let dir = tempfile::tempdir().unwrap();
        let mut big = b"line\n".repeat(1000);
        big.extend_from_slice(b"no newline at the end");
        let cases: [(&str, &[u8]); 7] = [
            ("plain", b"hello\n"),
            ("no_newline", b"a\\b\n  c\t\r\nlast"),
            ("empty", b""),
            ("blank_lines", b"\n\n\n"),
            ("high_bytes", b"caf\xc3\xa9 \xff\xfe\n-n\n-e\n%s\n"),
            ("nul", b"a\0b\n"),
            ("big", &big),
        ];
        for (name, data) in cases {
            let f = dir.path().join(name);
            std::fs::write(&f, data).unwrap();
            let mut c = ShConnection::default();
            let p = probe(&mut c, f.to_str().unwrap(), true, Read::Hash).unwrap();
            assert_eq!(p.sha1, Some(crate::fileops::sha1_hex(data)), "{name}");
            assert_eq!(p.stat.unwrap().size, data.len() as u64, "{name}");
            // A file with NUL bytes is read again by sha1sum: `read` drops them.
            assert_eq!(c.log.len(), if name == "nul" { 2 } else { 1 }, "{name}");
        }
        // A link not followed: its own stat, and the target's content hashed by sha1sum.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("plain"), &link).unwrap();
        let mut c = ShConnection::default();
        let p = probe(&mut c, link.to_str().unwrap(), false, Read::Hash).unwrap();
        assert_eq!(p.stat.as_ref().unwrap().file_type, FileType::Link);
        assert_eq!(p.sha1, Some(crate::fileops::sha1_hex(b"hello\n")));
        assert_eq!(p.realpath, dir.path().join("plain").to_str().unwrap());
        assert_eq!(c.log.len(), 1);
        let p = probe(&mut c, link.to_str().unwrap(), true, Read::Hash).unwrap();
        assert_eq!(p.stat.as_ref().unwrap().file_type, FileType::File);
        assert_eq!(p.sha1, Some(crate::fileops::sha1_hex(b"hello\n")));
    }

    #[test]
    fn probe_brings_a_small_files_content_and_nothing_of_a_large_one() {
        let dir = tempfile::tempdir().unwrap();
        let big = b"line\n".repeat(1000);
        let cases: [(&str, &[u8], bool); 4] = [
            ("plain", b"k=v\nlast without newline", true),
            ("empty", b"", true),
            ("nul", b"a\0b\n", false),
            ("big", &big, false),
        ];
        for (name, data, inline) in cases {
            let f = dir.path().join(name);
            std::fs::write(&f, data).unwrap();
            let mut c = ShConnection::default();
            let p = probe(&mut c, f.to_str().unwrap(), true, Read::Small).unwrap();
            assert_eq!(p.content.as_deref(), inline.then_some(data), "{name}");
            // Never a second command: a file it did not bring is read by the module.
            assert_eq!(c.log.len(), 1, "{name}");
            assert_eq!(c.log[0], probe_cmd(f.to_str().unwrap(), true, Read::Small), "{name}");
        }
    }

    #[test]
    fn backup_name_has_ansible_format() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, "a").unwrap();
        let mut c = ShConnection::default();
        let b = backup(&mut c, f.to_str().unwrap()).unwrap();
        let re = regex::Regex::new(r"/x\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$").unwrap();
        assert!(re.is_match(&b), "{b}");
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
    }

    #[test]
    fn validate_substitution() {
        assert_eq!(validate_command("visudo -cf %s", "/tmp/a b").unwrap(), "visudo -cf '/tmp/a b'");
        assert!(validate_command("true", "/x").is_err());
    }
}
