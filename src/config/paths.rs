//! Paths in settings resolved as Ansible's `unfrackpath` does: `~` and `$VAR` / `${VAR}`
//! expanded, a relative path taken from a base directory (the config file's directory for
//! ansible.cfg values, the current directory for environment variables), `.` and `..` folded,
//! symlinks left alone.

use std::path::{Component, Path, PathBuf};

/// `value` as a path: expanded, made absolute against `base`, normalized.
pub fn resolve(value: &str, base: &Path, env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> PathBuf {
    let value = value.replace("{{CWD}}", &std::env::current_dir().unwrap_or_default().display().to_string());
    let expanded = expand_vars(&expand_user(&value, home), env);
    let p = Path::new(&expanded);
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    normalize(&joined)
}

/// `value` with `~` and `$VAR` / `${VAR}` expanded, as Python's `expanduser(expandvars(...))`
/// (the `path` type of Ansible's argument specs), left relative if it is.
pub fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> String {
    expand_user(&expand_vars(value, env), home)
}

/// `~` and `~/...` as the home directory (Python's `expanduser`; `~user` is left as it is).
fn expand_user(value: &str, home: Option<&Path>) -> String {
    match (value.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", h.display()),
        _ => value.to_string(),
    }
}

/// `$NAME` and `${NAME}` replaced by set variables; unset ones stay as written (`expandvars`).
fn expand_vars(value: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(r) = after.strip_prefix('{') {
            match r.find('}') {
                Some(end) => (&r[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..end], end)
        };
        match (name.is_empty(), env(name)) {
            (false, Some(v)) => out.push_str(&v),
            _ => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &rest[i + 1 + len..];
    }
    out.push_str(rest);
    out
}

/// Folds `.` and `..` without touching the file system (`os.path.normpath`).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_anchors_like_unfrackpath() {
        let env = |k: &str| (k == "PROJ").then(|| "/srv/proj".to_string());
        let home = Path::new("/home/u");
        let r = |v: &str| resolve(v, Path::new("/etc/ansible"), &env, Some(home));
        assert_eq!(r("~/.ssh/id"), PathBuf::from("/home/u/.ssh/id"));
        assert_eq!(r("$PROJ/roles"), PathBuf::from("/srv/proj/roles"));
        assert_eq!(r("${PROJ}/x/../y"), PathBuf::from("/srv/proj/y"));
        assert_eq!(r("hosts"), PathBuf::from("/etc/ansible/hosts"));
        assert_eq!(r("./inv/../hosts"), PathBuf::from("/etc/ansible/hosts"));
        assert_eq!(r("$NOPE/x"), PathBuf::from("/etc/ansible/$NOPE/x"));
        assert_eq!(r("~other/x"), PathBuf::from("/etc/ansible/~other/x"));
    }
}
