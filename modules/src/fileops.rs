//! File operations modules share: stat in one round trip, atomic writes, and ownership/mode fixes.

use sha1::{Digest, Sha1};

use crate::args::Mode;
use crate::connection::{ConnError, Connection};
use crate::shell_quote::quote;

/// What kind of filesystem object a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (only when not following links).
    Link,
    /// Anything else (socket, fifo, device).
    Other,
}

impl FileType {
    /// The name Ansible's `file` module reports as `state`.
    pub fn ansible_state(&self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Directory => "directory",
            FileType::Link => "link",
            FileType::Other => "file",
        }
    }
}

/// A path's metadata, read with one `stat` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatInfo {
    /// Kind of object.
    pub file_type: FileType,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Owner name (or the uid when it has none).
    pub owner: String,
    /// Group name (or the gid when it has none).
    pub group: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Access time, seconds since the epoch.
    pub atime: i64,
    /// Number of hard links.
    pub nlink: u64,
    /// Inode number.
    pub inode: u64,
    /// Link target, for links.
    pub link_target: Option<String>,
}

/// Stats `path` (following links when `follow`); `None` when it does not exist.
pub fn stat(conn: &mut dyn Connection, path: &str, follow: bool) -> Result<Option<StatInfo>, ConnError> {
    let flag = if follow { "-L " } else { "" };
    let cmd = format!(
        "p={q}; if [ -e \"$p\" ] || [ -L \"$p\" ]; then stat {flag}-c '%F|%a|%u|%g|%U|%G|%s|%Y|%X|%h|%i' -- \"$p\" && {{ [ -L \"$p\" ] && readlink -- \"$p\" || true; }}; else echo ABSENT; fi",
        q = quote(path)
    );
    let out = conn.exec(&cmd, None)?;
    let text = out.stdout_str();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if first == "ABSENT" || out.rc != 0 {
        return Ok(None);
    }
    let f: Vec<&str> = first.split('|').collect();
    if f.len() < 11 {
        return Ok(None);
    }
    let file_type = match f[0] {
        "regular file" | "regular empty file" => FileType::File,
        "directory" => FileType::Directory,
        "symbolic link" => FileType::Link,
        _ => FileType::Other,
    };
    let link_target = if file_type == FileType::Link || (!follow && lines.clone().next().is_some()) {
        lines.next().map(str::to_string)
    } else {
        None
    };
    Ok(Some(StatInfo {
        file_type,
        mode: u32::from_str_radix(f[1], 8).unwrap_or(0),
        uid: f[2].parse().unwrap_or(0),
        gid: f[3].parse().unwrap_or(0),
        owner: f[4].to_string(),
        group: f[5].to_string(),
        size: f[6].parse().unwrap_or(0),
        mtime: f[7].parse().unwrap_or(0),
        atime: f[8].parse().unwrap_or(0),
        nlink: f[9].parse().unwrap_or(1),
        inode: f[10].parse().unwrap_or(0),
        link_target,
    }))
}

/// SHA-1 of bytes as lowercase hex: Ansible's `checksum` return value.
pub fn sha1_hex(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(data);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Desired ownership and permissions of a path; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits or symbolic mode.
    pub mode: Option<Mode>,
    /// Owner name or uid.
    pub owner: Option<String>,
    /// Group name or gid.
    pub group: Option<String>,
}

impl Attrs {
    /// Whether `st` already has these attributes. Symbolic modes are resolved by `mode_after`.
    pub fn differs(&self, st: &StatInfo, is_dir: bool) -> bool {
        if let Some(m) = &self.mode {
            if let Some(want) = mode_after(m, st.mode, is_dir) {
                if want != st.mode & 0o7777 {
                    return true;
                }
            }
        }
        if let Some(o) = &self.owner {
            if o != &st.owner && o != &st.uid.to_string() {
                return true;
            }
        }
        if let Some(g) = &self.group {
            if g != &st.group && g != &st.gid.to_string() {
                return true;
            }
        }
        false
    }

    /// Shell commands (joined with `&&`) that apply these attributes to `path`; empty when none.
    pub fn apply_cmd(&self, path: &str) -> String {
        let q = quote(path);
        let mut parts = Vec::new();
        match (&self.owner, &self.group) {
            (Some(o), Some(g)) => parts.push(format!("chown -h {}:{} {q}", quote(o), quote(g))),
            (Some(o), None) => parts.push(format!("chown -h {} {q}", quote(o))),
            (None, Some(g)) => parts.push(format!("chgrp -h {} {q}", quote(g))),
            (None, None) => {}
        }
        if let Some(m) = &self.mode {
            if *m != Mode::Preserve {
                parts.push(format!("chmod {} {q}", quote(&m.chmod_arg())));
            }
        }
        parts.join(" && ")
    }
}

/// The permission bits a mode yields on a file that has `current` bits; `None` for `preserve`.
pub fn mode_after(m: &Mode, current: u32, is_dir: bool) -> Option<u32> {
    match m {
        Mode::Octal(v) => Some(*v),
        Mode::Preserve => None,
        Mode::Symbolic(s) => Some(apply_symbolic(s, current & 0o7777, is_dir)),
    }
}

/// Applies a chmod symbolic mode (`u=rw,g+x,o-r`) to permission bits.
pub fn apply_symbolic(spec: &str, mut bits: u32, is_dir: bool) -> u32 {
    for clause in spec.split(',') {
        let op_pos = match clause.find(['+', '-', '=']) {
            Some(p) => p,
            None => continue,
        };
        let who = &clause[..op_pos];
        let who_mask = if who.is_empty() || who.contains('a') {
            0o7777
        } else {
            let mut m = 0;
            if who.contains('u') {
                m |= 0o4700;
            }
            if who.contains('g') {
                m |= 0o2070;
            }
            if who.contains('o') {
                m |= 0o1007;
            }
            m
        };
        let op = clause.as_bytes()[op_pos];
        let mut perm = 0u32;
        for c in clause[op_pos + 1..].chars() {
            perm |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || bits & 0o111 != 0 => 0o111,
                's' => 0o6000,
                't' => 0o1000,
                _ => 0,
            };
        }
        let perm = perm & who_mask;
        match op {
            b'+' => bits |= perm,
            b'-' => bits &= !perm,
            _ => bits = (bits & !(who_mask & 0o777 | (who_mask & 0o7000))) | perm,
        }
    }
    bits
}

/// A path's file attributes as `lsattr -d` shows them, without the dashes (`ie`): `Some("")` when
/// `lsattr` cannot tell (absent path, a filesystem without them), `None` when the host has no
/// `chattr` (Ansible then leaves `attributes` alone).
pub fn attr_flags(conn: &mut dyn Connection, path: &str) -> Result<Option<String>, ConnError> {
    let cmd = format!(
        "if command -v chattr >/dev/null 2>&1; then lsattr -d -- {} 2>/dev/null || true; else echo NOCHATTR; fi",
        quote(path)
    );
    let out = conn.exec_inline(&cmd)?.stdout_str();
    if out.trim() == "NOCHATTR" {
        return Ok(None);
    }
    Ok(Some(out.split_whitespace().next().unwrap_or("").replace('-', "")))
}

/// The `chattr` argument that Ansible's `set_attributes_if_different` runs for `attributes`
/// (`+i`, `-a`, `ie`: `=` when no operator) on a path whose flags are `current`: `None` when
/// nothing is to change. As Ansible compares: the flags as a string against the wanted ones, and
/// `-` always acts.
pub fn chattr_arg(attributes: &str, current: &str) -> Option<String> {
    let (op, flags) = match attributes.chars().next() {
        Some(c @ ('+' | '-')) => (c, &attributes[1..]),
        _ => ('=', attributes),
    };
    (!flags.is_empty() && (current != flags || op == '-')).then(|| format!("{op}{flags}"))
}

/// Writes `data` to `dest` atomically: a temp file in the same directory, fsynced, given the old
/// file's mode, ACL, extended attributes and owner (or `attrs`), then renamed over `dest`. An interrupted run leaves either the
/// old file or the new one, never half of one.
pub fn atomic_write(conn: &mut dyn Connection, dest: &str, data: &[u8], attrs: &Attrs) -> Result<(), String> {
    let (dir, base) = match dest.rfind('/') {
        Some(0) => ("/", &dest[1..]),
        Some(i) => (&dest[..i], &dest[i + 1..]),
        None => (".", dest),
    };
    let tmp = format!("{dir}/.{base}.orc-tmp-{:016x}", fastrand::u64(..));
    conn.write_file(&tmp, data).map_err(|e| format!("could not write {tmp}: {e}"))?;
    let qt = quote(&tmp);
    let qd = quote(dest);
    let keep = crate::filewrite::keep_dest_attrs_cmd(&qd, &qt);
    let mut cmd = format!(
        "if [ -e {qd} ]; then {keep} && chown --reference={qd} {qt} 2>/dev/null; else chmod 0644 {qt}; fi; true"
    );
    let apply = attrs.apply_cmd(&tmp);
    if !apply.is_empty() {
        cmd.push_str(" && ");
        cmd.push_str(&apply);
    }
    cmd.push_str(&format!(" && mv -f -- {qt} {qd} || {{ rc=$?; rm -f -- {qt}; exit $rc; }}"));
    let out = conn.exec(&cmd, None).map_err(|e| e.to_string())?;
    if out.rc != 0 {
        return Err(format!("could not write {dest}: {}", out.stderr_str().trim()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_modes() {
        assert_eq!(apply_symbolic("u=rw,g=r,o=r", 0o777, false), 0o644);
        assert_eq!(apply_symbolic("u+x", 0o644, false), 0o744);
        assert_eq!(apply_symbolic("go-w", 0o666, false), 0o644);
        assert_eq!(apply_symbolic("a+X", 0o644, true), 0o755);
        assert_eq!(apply_symbolic("a+X", 0o644, false), 0o644);
    }

    #[test]
    fn chattr_compares_as_ansible() {
        assert_eq!(chattr_arg("+i", "e").as_deref(), Some("+i"));
        // The flags are compared as a string: `+i` on `ie` acts again, as in Ansible.
        assert_eq!(chattr_arg("+i", "ie").as_deref(), Some("+i"));
        assert_eq!(chattr_arg("+i", "i"), None);
        assert_eq!(chattr_arg("-i", "").as_deref(), Some("-i"));
        assert_eq!(chattr_arg("e", "e"), None);
        assert_eq!(chattr_arg("ie", "e").as_deref(), Some("=ie"));
        assert_eq!(chattr_arg("", "e"), None);
    }

    #[test]
    fn sha1_matches_known_value() {
        assert_eq!(sha1_hex(b"hello\n"), "f572d396fae9206628714fb2ce00f72e94f2258f");
    }
}
