//! Path filters and tests of ansible-core not in `filters.rs` (`ansible/plugins/filter/core.py`,
//! `test/files.py`): `normpath`, `relpath`, `commonpath`, `expandvars`, `fileglob`, the `win_*`
//! filters, and the `is_abs`, `link_exists`, `same_file` and `mount` tests; plus the `all`,
//! `any`, `timedout` and `vaulted_file` tests of `test/core.py`.

use std::path::{Component, Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::err;
use super::pyfmt;

/// Registers the filters and tests of this file.
pub(crate) fn register(env: &mut Environment<'static>) {
    filter!(env, "normpath", |p: String| normpath(&p));
    filter!(env, "relpath", |p: String, start: Option<String>| relpath(&p, start.as_deref()));
    filter!(env, "commonpath", |v: Value| {
        let paths: Vec<String> = v.try_iter()?.map(|p| pyfmt::to_str(&p)).collect();
        commonpath(&paths)
    });
    filter!(env, "expandvars", |p: String| expandvars(&p));
    filter!(env, "fileglob", |pattern: String| fileglob(&pattern));
    filter!(env, "win_basename", |p: String| win_split(&p).1);
    filter!(env, "win_dirname", |p: String| win_split(&p).0);
    filter!(env, "win_splitdrive", |p: String| {
        let (drive, rest) = win_splitdrive(&p);
        Value::from(vec![Value::from(drive), Value::from(rest)])
    });
    test!(env, "is_abs", |p: String| Path::new(&p).is_absolute());
    test!(env, "link_exists", |p: String| std::fs::symlink_metadata(&p).is_ok());
    test!(env, "same_file", |a: String, b: String| same_file(&a, &b));
    test!(env, "is_same_file", |a: String, b: String| same_file(&a, &b));
    test!(env, "mount", |p: String| is_mount(&p));
    test!(env, "is_mount", |p: String| is_mount(&p));
    test!(env, "all", |v: &Value| Ok::<_, Error>(v.try_iter()?.all(|x| x.is_true())));
    test!(env, "any", |v: &Value| Ok::<_, Error>(v.try_iter()?.any(|x| x.is_true())));
    test!(env, "timedout", |r: &Value| {
        if r.kind() != ValueKind::Map {
            return Err(err("The 'timedout' test expects a dictionary"));
        }
        let t = r.get_attr("timedout").unwrap_or_default();
        Ok(t.is_true() && t.get_attr("period").map(|p| p.is_true()).unwrap_or(false))
    });
    test!(env, "vaulted_file", |p: String| {
        let head = std::fs::read(&p).map_err(|e| err(format!("Cannot test if the file '{p}' is a vault: {e}")))?;
        Ok::<_, Error>(head.starts_with(b"$ANSIBLE_VAULT;"))
    });
}

/// Python's `os.path.normpath`: `.` and `..` folded lexically, repeated slashes collapsed.
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    // POSIX keeps exactly two leading slashes.
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if absolute {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (lead, joined.is_empty()) {
        ("", true) => ".".into(),
        (l, _) => format!("{l}{joined}"),
    }
}

/// Python's `os.path.relpath` (lexical, against the current directory when `start` is absent).
fn relpath(p: &str, start: Option<&str>) -> Result<String, Error> {
    if p.is_empty() {
        return Err(err("no path specified"));
    }
    let cwd = std::env::current_dir().map_err(|e| err(e.to_string()))?;
    let abs = |s: &str| -> PathBuf { PathBuf::from(normpath(&cwd.join(s).to_string_lossy())) };
    let target = abs(p);
    let base = abs(start.unwrap_or("."));
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out: Vec<String> = vec!["..".to_string(); b.len() - common];
    out.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    Ok(if out.is_empty() { ".".into() } else { out.join("/") })
}

/// Python's `os.path.commonpath`.
fn commonpath(paths: &[String]) -> Result<String, Error> {
    if paths.is_empty() {
        return Err(err("commonpath() arg is an empty sequence"));
    }
    let absolute = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(err("Can't mix absolute and relative paths"));
    }
    let split: Vec<Vec<&str>> =
        paths.iter().map(|p| p.split('/').filter(|s| !s.is_empty() && *s != ".").collect()).collect();
    let mut common: Vec<&str> = split[0].clone();
    for s in &split[1..] {
        let n = common.iter().zip(s).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    Ok(format!("{}{}", if absolute { "/" } else { "" }, common.join("/")))
}

/// Python's `os.path.expandvars`: `$NAME` and `${NAME}` from the environment; unknown ones stay.
fn expandvars(p: &str) -> String {
    let re = match regex::Regex::new(r"\$(\w+|\{[^}]*\})") {
        Ok(re) => re,
        Err(_) => return p.to_string(),
    };
    re.replace_all(p, |c: &regex::Captures| {
        let name = c[1].trim_start_matches('{').trim_end_matches('}');
        std::env::var(name).unwrap_or_else(|_| c[0].to_string())
    })
    .into_owned()
}

/// The `fileglob` filter: controller files matching a pattern (not directories), sorted.
fn fileglob(pattern: &str) -> Vec<String> {
    let (dir, pat) = match pattern.rfind('/') {
        Some(i) => (if i == 0 { "/" } else { &pattern[..i] }, &pattern[i + 1..]),
        None => (".", pattern),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| (!n.starts_with('.') || pat.starts_with('.')) && super::lookup_files::fnmatch(pat, n))
        .map(
            |n| if dir == "." && !pattern.starts_with("./") { n } else { format!("{}/{n}", dir.trim_end_matches('/')) },
        )
        .collect();
    out.sort();
    out
}

/// Python's `ntpath.splitdrive`: `C:` or `\\server\share`.
fn win_splitdrive(p: &str) -> (String, String) {
    let norm = p.replace('/', "\\");
    if norm.starts_with("\\\\") && !norm.starts_with("\\\\\\") {
        let rest = &norm[2..];
        if let Some(i) = rest.find('\\') {
            let after = &rest[i + 1..];
            let j = after.find('\\').map_or(norm.len(), |j| 2 + i + 1 + j);
            return (p[..j].to_string(), p[j..].to_string());
        }
        return (String::new(), p.to_string());
    }
    if p.len() >= 2 && p.as_bytes()[1] == b':' && p.is_char_boundary(2) {
        return (p[..2].to_string(), p[2..].to_string());
    }
    (String::new(), p.to_string())
}

/// Python's `ntpath.split`: (head, tail).
fn win_split(p: &str) -> (String, String) {
    let (drive, rest) = win_splitdrive(p);
    let i = rest.rfind(['\\', '/']).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(i);
    let trimmed = head.trim_end_matches(['\\', '/']);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{drive}{head}"), tail.to_string())
}

fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Python's `os.path.ismount`: a directory on another device than its parent, or the same inode.
fn is_mount(p: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(p) else { return false };
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return false;
    }
    let Ok(parent) = std::fs::metadata(Path::new(p).join("..")) else { return false };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_like_python() {
        assert_eq!(normpath("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(normpath("../x/.."), "..");
        assert_eq!(normpath(""), ".");
        assert_eq!(relpath("/a/b/c", Some("/a/d")).unwrap(), "../b/c");
        assert_eq!(commonpath(&["/a/b/c".into(), "/a/b/d".into()]).unwrap(), "/a/b");
        assert_eq!(win_split("C:\\x\\y.txt"), ("C:\\x".into(), "y.txt".into()));
        assert_eq!(win_splitdrive("C:\\x"), ("C:".into(), "\\x".into()));
        assert!(is_mount("/"));
    }
}
