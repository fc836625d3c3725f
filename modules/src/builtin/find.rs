//! `find`: lists files matching Ansible's `find` filters. One `find` on the host prints every
//! entry's metadata (NUL-separated); matching, ordering (as Python's `os.walk`), age and size
//! filters run here. Only `contains` (on the files passing the other filters, before `limit`
//! counts them, as Ansible) and `get_checksum` (on the matches) need another command.

use std::collections::HashMap;

use base64::Engine;
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::builtin::fetch::normpath;
use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// Which kinds of entries to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum FileTypeArg {
    /// Regular files.
    #[default]
    File,
    /// Directories.
    Directory,
    /// Symbolic links.
    Link,
    /// Everything.
    Any,
}

/// Which timestamp `age` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum AgeStamp {
    /// Modification time.
    #[default]
    Mtime,
    /// Access time.
    Atime,
    /// Change time.
    Ctime,
}

/// `find` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct FindArgs {
    /// Directories to search.
    #[serde(alias = "name", alias = "path", deserialize_with = "crate::args::list")]
    pub paths: Vec<String>,
    /// Globs (or regexes with `use_regex`) matched against base names.
    #[serde(default, alias = "pattern", deserialize_with = "crate::args::list")]
    pub patterns: Vec<String>,
    /// Patterns of base names to leave out.
    #[serde(default, alias = "exclude", deserialize_with = "crate::args::list")]
    pub excludes: Vec<String>,
    /// Regex a line of the file must match (files only).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub contains: Option<String>,
    /// Search `contains` in the whole file instead of line by line.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub read_whole_file: bool,
    /// file, directory, link or any.
    #[serde(default)]
    pub file_type: FileTypeArg,
    /// Age (`2d`, `-1h`, seconds by default): older than, or younger than when negative.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub age: Option<String>,
    /// mtime, atime or ctime.
    #[serde(default)]
    pub age_stamp: AgeStamp,
    /// Size (`10k`, `-1m`): at least, or at most when negative.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub size: Option<String>,
    /// Descend into subdirectories.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub recurse: bool,
    /// Include names starting with a dot.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub hidden: bool,
    /// Follow symbolic links to directories.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
    /// Add each file's checksum.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub get_checksum: bool,
    /// Checksum algorithm (sha1 by default).
    #[serde(default, alias = "checksum", alias = "checksum_algo", deserialize_with = "crate::args::opt_string")]
    pub checksum_algorithm: Option<String>,
    /// Patterns are Python regular expressions matched at the start of the name.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub use_regex: bool,
    /// Maximum depth when recursing.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub depth: Option<u64>,
    /// Stop after this many matches.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub limit: Option<u64>,
    /// Text encoding of the files `contains` reads (Python's codec names; utf-8 by default).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub encoding: Option<String>,
    /// Permissions to match, octal (`0644`) or symbolic (`u=rw,g=r,o=r`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub mode: Option<String>,
    /// With `mode`: match exactly those permissions; when false, any of their bits.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub exact_mode: bool,
}

/// `mode` as permission bits, as Ansible's find reads it: octal digits, else a symbolic mode
/// applied to no permissions.
fn wanted_mode(mode: &str) -> Result<u32, String> {
    let m = mode.trim();
    if !m.is_empty() && m.chars().all(|c| c.is_digit(8)) {
        return u32::from_str_radix(m, 8).map(|v| v & 0o7777).map_err(|e| format!("mode {m}: {e}"));
    }
    let valid = m.split(',').all(|c| {
        c.find(['+', '-', '=']).is_some_and(|p| {
            c[..p].chars().all(|w| "ugoa".contains(w)) && c[p..].chars().all(|x| "+-=rwxXst".contains(x))
        })
    });
    if !valid {
        return Err(format!("mode must be in octal or symbolic form: {mode}"));
    }
    Ok(crate::fileops::apply_symbolic(m, 0, false) & 0o7777)
}

/// Whether an entry's permissions pass `mode` (Ansible's `mode_filter`).
fn mode_ok(entry_mode: u32, want: Option<u32>, exact: bool) -> bool {
    match want {
        None => true,
        Some(w) if exact => entry_mode & 0o7777 == w,
        Some(w) => entry_mode & w != 0,
    }
}

/// The `find` module.
pub struct Find;

/// One entry as `find -printf` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Path as printed (normalised later).
    pub path: String,
    /// `%y`: f d l c b p s.
    pub kind: char,
    /// Permission bits with setuid/setgid/sticky.
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// Size in bytes.
    pub size: u64,
    /// Inode.
    pub inode: u64,
    /// Device number.
    pub dev: u64,
    /// Link count.
    pub nlink: u64,
    /// Access time.
    pub atime: f64,
    /// Modification time.
    pub mtime: f64,
    /// Change time.
    pub ctime: f64,
    /// Owner name.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// Depth below the searched path (1 = direct child).
    pub depth: u64,
}

const FIELDS: usize = 15;
const PRINTF: &str = r"E\0%p\0%y\0%m\0%U\0%G\0%s\0%i\0%D\0%n\0%A@\0%T@\0%C@\0%u\0%g\0%d\0";

/// Compiled name patterns.
pub struct NameFilter {
    patterns: Vec<Regex>,
    excludes: Vec<Regex>,
}

impl NameFilter {
    /// Compiles globs, or regexes anchored at the start when `use_regex` (Python's `re.match`).
    pub fn new(patterns: &[String], excludes: &[String], use_regex: bool) -> Result<Self, String> {
        let comp = |p: &String| -> Result<Regex, String> {
            let src =
                if use_regex { format!("^(?:{})", crate::pyre::translate(p)) } else { crate::fnmatch::translate(p) };
            Regex::new(&src).map_err(|e| format!("invalid pattern '{p}': {e}"))
        };
        let default = if use_regex { ".*" } else { "*" };
        let patterns = if patterns.is_empty() { vec![default.to_string()] } else { patterns.to_vec() };
        Ok(NameFilter {
            patterns: patterns.iter().map(comp).collect::<Result<_, _>>()?,
            excludes: excludes.iter().map(comp).collect::<Result<_, _>>()?,
        })
    }

    /// Ansible's `pfilter` on a base name.
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name)) && !self.excludes.iter().any(|e| e.is_match(name))
    }
}

fn parse_unit(v: &str, units: &[(char, i64)], what: &str) -> Result<i64, String> {
    let re = Regex::new(r"^(-?\d+)([a-z])?$").map_err(|e| e.to_string())?;
    let v = v.to_lowercase();
    let fail = || format!("failed to process {what}");
    let caps = re.captures(&v).ok_or_else(fail)?;
    let n: i64 = caps[1].parse().map_err(|_| fail())?;
    let mult = match caps.get(2) {
        None => 1,
        Some(u) => units.iter().find(|(c, _)| u.as_str().starts_with(*c)).map(|(_, m)| *m).ok_or_else(fail)?,
    };
    Ok(n * mult)
}

/// `age` in seconds.
pub fn parse_age(v: &str) -> Result<i64, String> {
    parse_unit(v, &[('s', 1), ('m', 60), ('h', 3600), ('d', 86400), ('w', 604800)], "age")
}

/// `size` in bytes.
pub fn parse_size(v: &str) -> Result<i64, String> {
    parse_unit(v, &[('b', 1), ('k', 1 << 10), ('m', 1 << 20), ('g', 1 << 30), ('t', 1 << 40)], "size")
}

/// One searched path and its entries (`None`: not a directory).
pub type Searched = (String, Option<Vec<Entry>>);

/// Parses the NUL-separated output: the host's time, then per path a `P` record followed by
/// entries, or an `X` record when the path is not a directory.
pub fn parse_output(out: &[u8]) -> (f64, Vec<Searched>) {
    let fields: Vec<String> = out.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    let mut now = 0.0;
    let mut paths: Vec<Searched> = Vec::new();
    let mut i = 0;
    while i < fields.len() {
        match fields[i].as_str() {
            "T" => {
                now = fields.get(i + 1).and_then(|t| t.parse().ok()).unwrap_or(0.0);
                i += 2;
            }
            "P" => {
                paths.push((fields.get(i + 1).cloned().unwrap_or_default(), Some(Vec::new())));
                i += 2;
            }
            "X" => {
                if let Some(last) = paths.last_mut() {
                    last.1 = None;
                }
                i += 1;
            }
            "E" if i + FIELDS < fields.len() => {
                let f = &fields[i + 1..i + 1 + FIELDS];
                let num = |s: &str| s.parse::<u64>().unwrap_or(0);
                let fl = |s: &str| s.parse::<f64>().unwrap_or(0.0);
                let e = Entry {
                    path: f[0].clone(),
                    kind: f[1].chars().next().unwrap_or('U'),
                    mode: u32::from_str_radix(&f[2], 8).unwrap_or(0),
                    uid: num(&f[3]),
                    gid: num(&f[4]),
                    size: num(&f[5]),
                    inode: num(&f[6]),
                    dev: num(&f[7]),
                    nlink: num(&f[8]),
                    atime: fl(&f[9]),
                    mtime: fl(&f[10]),
                    ctime: fl(&f[11]),
                    owner: f[12].clone(),
                    group: f[13].clone(),
                    depth: num(&f[14]),
                };
                if let Some((_, Some(list))) = paths.last_mut() {
                    list.push(e);
                }
                i += FIELDS + 1;
            }
            _ => i += 1,
        }
    }
    (now, paths)
}

/// Groups and orders entries as Python's `os.walk(topdown=True)` yields them: one group per
/// directory (its files, then its subdirectories), then recursively each subdirectory's group.
pub fn walk_order(root: &str, entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut children: HashMap<String, Vec<Entry>> = HashMap::new();
    for e in entries {
        let parent = match e.path.rfind('/') {
            Some(i) => e.path[..i].to_string(),
            None => String::new(),
        };
        children.entry(parent).or_default().push(e);
    }
    let mut out = Vec::new();
    let root = match root.trim_end_matches('/') {
        "" => "/",
        r => r,
    };
    fn visit(dir: &str, children: &mut HashMap<String, Vec<Entry>>, out: &mut Vec<Vec<Entry>>) {
        let key = if dir == "/" { String::new() } else { dir.to_string() };
        let Some(list) = children.remove(&key) else { return };
        let (dirs, mut files): (Vec<Entry>, Vec<Entry>) = list.into_iter().partition(|e| e.kind == 'd');
        let subdirs: Vec<String> = dirs.iter().map(|d| d.path.clone()).collect();
        files.extend(dirs);
        out.push(files);
        for d in subdirs {
            visit(&d, children, out);
        }
    }
    visit(root, &mut children, &mut out);
    out
}

/// Ansible's `statinfo` plus `path`.
pub fn stat_json(e: &Entry) -> Map<String, Value> {
    let m = e.mode;
    let v = json!({
        "path": normpath(&e.path),
        "mode": format!("{:04o}", m & 0o7777),
        "isdir": e.kind == 'd', "ischr": e.kind == 'c', "isblk": e.kind == 'b', "isreg": e.kind == 'f',
        "isfifo": e.kind == 'p', "islnk": e.kind == 'l', "issock": e.kind == 's',
        "uid": e.uid, "gid": e.gid, "size": e.size, "inode": e.inode, "dev": e.dev, "nlink": e.nlink,
        "atime": e.atime, "mtime": e.mtime, "ctime": e.ctime,
        "gr_name": if e.group.parse::<u64>().is_ok() { "" } else { e.group.as_str() },
        "pw_name": if e.owner.parse::<u64>().is_ok() { "" } else { e.owner.as_str() },
        "wusr": m & 0o200 != 0, "rusr": m & 0o400 != 0, "xusr": m & 0o100 != 0,
        "wgrp": m & 0o020 != 0, "rgrp": m & 0o040 != 0, "xgrp": m & 0o010 != 0,
        "woth": m & 0o002 != 0, "roth": m & 0o004 != 0, "xoth": m & 0o001 != 0,
        "isuid": m & 0o4000 != 0, "isgid": m & 0o2000 != 0,
    });
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

fn find_cmd(a: &FindArgs) -> String {
    let maxdepth = match (a.recurse, a.depth.filter(|d| *d > 0)) {
        (false, _) => " -maxdepth 1".to_string(),
        (true, Some(d)) => format!(" -maxdepth {}", d + 1),
        (true, None) => String::new(),
    };
    let follow = if a.follow { "-L " } else { "" };
    let mut cmd = String::from("printf 'T\\0%s\\0' \"$(date +%s.%N)\"; ");
    for p in &a.paths {
        let q = quote(p);
        cmd.push_str(&format!(
            "printf 'P\\0%s\\0' {q}; if [ -d {q} ]; then find {follow}{q} -mindepth 1{maxdepth} -printf '{PRINTF}'; else printf 'X\\0'; fi; "
        ));
    }
    cmd.push_str("true");
    cmd
}

/// The directories GNU find could not read (`find: 'PATH': Permission denied` on its stderr),
/// each with Python's text of the error os.walk met there (`[Errno 13] Permission denied:
/// 'PATH'`), for the errors Ansible's walk error handler keeps (EPERM, EACCES, ENOENT).
fn walk_errors(stderr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("find: ") else { continue };
        let Some(rest) = rest.strip_prefix(['\'', '\u{2018}']) else { continue };
        let Some((path, reason)) = rest.rsplit_once("': ").or_else(|| rest.rsplit_once("\u{2019}: ")) else {
            continue;
        };
        let errno = match reason.trim() {
            "Operation not permitted" => 1,
            "No such file or directory" => 2,
            "Permission denied" => 13,
            _ => continue,
        };
        out.push((path.to_string(), format!("[Errno {errno}] {}: '{path}'", reason.trim())));
    }
    out
}

fn basename(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

impl TypedModule for Find {
    type Args = FindArgs;
    const NAME: &'static str = "find";

    const DOC: ModuleText = ModuleText {
        short: "Lists the files under one or more directories that match name patterns, age, size, type or content, \
                with the filters of Ansible's `find`.",
        notes: "One `find -printf` on the host (GNU findutils) lists every entry with its metadata; the filters run \
                in orc and the files come in the order Python's os.walk gives. `contains` (checked with `file_type: \
                file` only, before `limit` counts a match) and `get_checksum` read files in one more command each. `patterns` are shell \
                globs, or with `use_regex` Python regular expressions matched at the start of the name (on Rust's \
                regex engine). Names starting with a dot are left out unless `hidden`. `encoding` takes Python's \
                codec names (utf-8, latin-1, utf-16...) and the WHATWG ones (gbk, shift_jis, cp1252...). A path that is not a directory is listed in `skipped_paths`. Never changes anything; runs in \
                check mode too.",
        returns: &[
            (
                "files",
                "One dict per match: `path`, `mode`, `isdir`, `isreg`, `islnk`..., `uid`, `gid`, `pw_name`, \
                `gr_name`, `size`, `inode`, `dev`, `nlink`, `atime`, `mtime`, `ctime`, the permission bits, and \
                `checksum` with `get_checksum`.",
            ),
            ("matched", "How many files matched."),
            ("examined", "How many entries were looked at."),
            ("skipped_paths", "The paths that could not be searched, with the reason."),
        ],
        example: "- name: Find log files older than a week\n  \
                  ansible.builtin.find:\n    \
                  paths: /var/log/app\n    \
                  patterns: \"*.log\"\n    \
                  age: 7d\n    \
                  recurse: true\n  \
                  register: old_logs\n",
    };

    fn check_args(a: &FindArgs) -> Result<(), ArgError> {
        let err = |msg: String| ArgError { msg };
        if let Some(v) = &a.age {
            parse_age(v).map_err(err)?;
        }
        if let Some(v) = &a.mode {
            wanted_mode(v).map_err(err)?;
        }
        if let Some(v) = &a.size {
            parse_size(v).map_err(err)?;
        }
        if a.limit == Some(0) {
            return Err(ArgError { msg: "limit cannot be 0 (use None for unlimited)".into() });
        }
        if let Some(c) = &a.checksum_algorithm {
            if !["md5", "sha1", "sha224", "sha256", "sha384", "sha512"].contains(&c.as_str()) {
                return Err(ArgError {
                    msg: format!(
                        "checksum_algorithm must be one of md5, sha1, sha224, sha256, sha384, sha512, got {c}"
                    ),
                });
            }
        }
        NameFilter::new(&a.patterns, &a.excludes, a.use_regex).map_err(err)?;
        if let Some(c) = &a.contains {
            crate::pyre::compile(c).map_err(err)?;
        }
        Ok(())
    }

    fn run(&self, mut a: FindArgs, ctx: &mut ModuleCtx) -> RunResult {
        // `paths` are paths: a leading `~` is the (become) user's home on the host, as Ansible's
        // `type='path'` expands it there.
        for p in &mut a.paths {
            *p = crate::sh_words::expand_user(ctx, p)?;
        }
        let names = NameFilter::new(&a.patterns, &a.excludes, a.use_regex).map_err(ModuleError::msg)?;
        let age = a.age.as_deref().map(parse_age).transpose().map_err(ModuleError::msg)?;
        let size = a.size.as_deref().map(parse_size).transpose().map_err(ModuleError::msg)?;
        let mode = a.mode.as_deref().map(wanted_mode).transpose().map_err(ModuleError::msg)?;
        let out = ctx.conn.exec(&find_cmd(&a), None)?;
        let (now, paths) = parse_output(&out.stdout);
        let depth_limit = if a.recurse { a.depth.filter(|d| *d > 0) } else { None };
        // Directories the walk could not read: Ansible's os.walk error handler lists them.
        let mut skipped: Map<String, Value> =
            walk_errors(&out.stderr_str()).into_iter().map(|(p, why)| (p, Value::from(why))).collect();
        let mut msg = "All paths examined";
        // Every filter but `contains` first, on all entries; each walked directory's entries kept
        // with whether they passed, so the limit can then be applied as Ansible's walk does.
        let mut walked: Vec<Vec<Vec<(Entry, bool)>>> = Vec::new();
        let mut roots: Vec<String> = Vec::new();
        let mut warnings: Vec<Value> = Vec::new();
        for (root, entries) in paths {
            let Some(entries) = entries else {
                skipped.insert(root.clone(), Value::from(format!("'{root}' is not a directory")));
                msg = "Not all paths examined, check warnings for details";
                continue;
            };
            let dirs = walk_order(&root, entries);
            roots.push(root.clone());
            walked.push(
                dirs.into_iter()
                    .map(|dir| {
                        dir.into_iter()
                            .map(|e| {
                                let pass = passes(&a, &names, age, size, now, depth_limit, &e)
                                    && mode_ok(e.mode, mode, a.exact_mode);
                                (e, pass)
                            })
                            .collect()
                    })
                    .collect(),
            );
        }
        // `contains` reads the candidates' content in one command (only with file_type: file, as Ansible).
        let (contains_hits, unreadable) = if a.contains.is_some() && a.file_type == FileTypeArg::File {
            let cands: Vec<&Entry> = walked.iter().flatten().flatten().filter(|(_, p)| *p).map(|(e, _)| e).collect();
            let (hits, bad) = filter_contains(ctx, &a, &cands)?;
            (Some(hits), bad)
        } else {
            (None, std::collections::HashMap::new())
        };
        let limit = a.limit.map(|l| l as usize);
        let mut examined = 0usize;
        let mut matched: Vec<Entry> = Vec::new();
        for (dirs, root) in walked.into_iter().zip(roots) {
            // Ansible stops walking a path once the matches reach the limit; the next path is still
            // walked and stops at its first entry that leaves the count equal to the limit.
            'walk: for dir in dirs {
                examined += dir.len();
                for (e, pass) in dir {
                    if (!a.hidden && basename(&e.path).starts_with('.')) || depth_limit.is_some_and(|d| e.depth > d) {
                        continue;
                    }
                    if let Some(why) = unreadable.get(&e.path).filter(|_| pass) {
                        // Ansible's contentfilter raises, which ends the walk of this path.
                        let why = why.clone();
                        warnings.push(Value::from(format!("Skipped '{root}' path due to this access issue: {why}\n")));
                        skipped.insert(root.clone(), Value::from(why));
                        msg = "Not all paths examined, check warnings for details";
                        break 'walk;
                    }
                    if pass && contains_hits.as_ref().is_none_or(|h| h.contains(&e.path)) {
                        matched.push(e);
                    }
                    if limit == Some(matched.len()) {
                        msg = "Limit of matches reached";
                        break 'walk;
                    }
                }
            }
        }
        let mut files: Vec<Map<String, Value>> = matched.iter().map(stat_json).collect();
        if a.get_checksum {
            add_checksums(ctx, &a, &matched, &mut files)?;
        }
        let mut res = ModuleResult::ok()
            .with("files", Value::Array(files.into_iter().map(Value::Object).collect()))
            .with("matched", matched.len())
            .with("examined", examined)
            .with("skipped_paths", Value::Object(skipped));
        if !warnings.is_empty() {
            res = res.with("warnings", Value::Array(warnings));
        }
        res.msg = Some(msg.to_string());
        Ok(res)
    }
}

/// Whether `e` passes every filter but `contains`: depth, hidden, age, size, type and name.
fn passes(
    a: &FindArgs,
    names: &NameFilter,
    age: Option<i64>,
    size: Option<i64>,
    now: f64,
    depth_limit: Option<u64>,
    e: &Entry,
) -> bool {
    if depth_limit.is_some_and(|d| e.depth > d) {
        return false;
    }
    let name = basename(&e.path);
    if name.starts_with('.') && !a.hidden {
        return false;
    }
    let stamp = match a.age_stamp {
        AgeStamp::Mtime => e.mtime,
        AgeStamp::Atime => e.atime,
        AgeStamp::Ctime => e.ctime,
    };
    let age_ok = match age {
        None => true,
        Some(x) if x >= 0 => now - stamp >= x as f64,
        Some(x) => now - stamp <= x.unsigned_abs() as f64,
    };
    let size_ok = match size {
        None => true,
        Some(x) if x >= 0 => e.size >= x as u64,
        Some(x) => e.size <= x.unsigned_abs(),
    };
    let type_ok = match a.file_type {
        FileTypeArg::Any => e.kind != 'f' || size_ok,
        FileTypeArg::Directory => e.kind == 'd',
        FileTypeArg::File => e.kind == 'f' && size_ok,
        FileTypeArg::Link => e.kind == 'l',
    };
    type_ok && age_ok && names.matches(name)
}

/// What [`filter_contains`] found: the paths whose content matches, and the paths whose content
/// cannot be read as text with why (Python's exception text, which ends the walk of that path).
type ContainsHits = (std::collections::HashSet<String>, std::collections::HashMap<String, String>);

/// The paths among `files` whose content matches `contains` (Python `re.match` per line, or
/// `re.search` on the whole file), decoded from `encoding` as Python's `open` does.
fn filter_contains(ctx: &mut ModuleCtx, a: &FindArgs, files: &[&Entry]) -> Result<ContainsHits, ModuleError> {
    let mut keep = std::collections::HashSet::new();
    let mut unreadable = std::collections::HashMap::new();
    if files.is_empty() {
        return Ok((keep, unreadable));
    }
    let pat = a.contains.clone().unwrap_or_default();
    let src =
        if a.read_whole_file { crate::pyre::translate(&pat) } else { format!("^(?:{})", crate::pyre::translate(&pat)) };
    let re = regex::bytes::Regex::new(&src).map_err(|e| ModuleError::msg(format!("invalid contains '{pat}': {e}")))?;
    let list: Vec<String> = files.iter().map(|f| quote(&f.path)).collect();
    let cmd = format!("for f in {}; do base64 -w0 < \"$f\" 2>/dev/null; echo; done", list.join(" "));
    let out = ctx.conn.exec(&cmd, None)?;
    let text = out.stdout_str();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (f, line) in files.iter().zip(text.split('\n')) {
        let raw = b64.decode(line.trim()).unwrap_or_default();
        // Python's `open` without an encoding uses the locale's: UTF-8 on the hosts orc supports.
        let data = match crate::encoding::decode(&raw, a.encoding.as_deref().unwrap_or("utf-8")) {
            Ok(Some(text)) => text.into_bytes(),
            Ok(None) => {
                let enc = a
                    .encoding
                    .as_deref()
                    .unwrap_or("None (default determined by the Python built-in function \"open\")");
                let why =
                    format!("Failed to read the file {} due to an encoding error. current encoding: {enc}", f.path);
                unreadable.insert(f.path.clone(), why);
                continue;
            }
            // An unknown encoding is Python's LookupError, raised at the first file opened.
            Err(e) => {
                unreadable.insert(f.path.clone(), e);
                continue;
            }
        };
        let hit = if a.read_whole_file {
            // Python's `$` also matches before a final newline (`re.search` without MULTILINE).
            re.is_match(&data) || (!pat.contains("\\Z") && re.is_match(data.strip_suffix(b"\n").unwrap_or(&data)))
        } else {
            // `re.match` per line, `$` matching before the line's newline.
            crate::pyre::readlines(&data)
                .iter()
                .any(|l| re.is_match(l) || re.is_match(l.strip_suffix(b"\n").unwrap_or(l)))
        };
        if hit {
            keep.insert(f.path.clone());
        }
    }
    Ok((keep, unreadable))
}

fn add_checksums(
    ctx: &mut ModuleCtx,
    a: &FindArgs,
    entries: &[Entry],
    files: &mut [Map<String, Value>],
) -> Result<(), ModuleError> {
    let regular: Vec<String> = entries.iter().filter(|e| e.kind == 'f').map(|e| quote(&e.path)).collect();
    if regular.is_empty() {
        return Ok(());
    }
    let algo = a.checksum_algorithm.clone().unwrap_or_else(|| "sha1".into());
    let cmd =
        format!("for f in {}; do {algo}sum < \"$f\" 2>/dev/null | cut -d' ' -f1 || echo; done", regular.join(" "));
    let out = ctx.conn.exec(&cmd, None)?;
    let text = out.stdout_str();
    let mut sums = text.lines();
    for (e, f) in entries.iter().zip(files.iter_mut()) {
        if e.kind == 'f' {
            if let Some(s) = sums.next().filter(|s| !s.is_empty()) {
                f.insert("checksum".into(), Value::from(s.to_string()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::Sandbox;

    #[test]
    fn regex_patterns_match_at_start() {
        let f = NameFilter::new(&["app".into()], &[r".*\.bak$".into()], true).unwrap();
        assert!(f.matches("app.log"));
        assert!(!f.matches("myapp"));
        assert!(!f.matches("app.bak"));
    }

    #[test]
    fn units() {
        assert_eq!(parse_age("2d"), Ok(172800));
        assert_eq!(parse_age("-30m"), Ok(-1800));
        assert_eq!(parse_size("10k"), Ok(10240));
        assert!(parse_size("10x").is_err());
    }

    fn names(r: &ModuleResult) -> Vec<String> {
        r.data["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn finds_in_walk_order_with_filters() {
        let mut sb = Sandbox::new();
        sb.write("t/a.conf", "port=1\n");
        sb.write("t/.hidden.conf", "x\n");
        sb.write("t/sub/b.conf", "listen 80\nport=2\n");
        sb.write("t/sub/deep/c.conf", "");
        sb.write("t/sub/d.txt", "");
        let root = sb.path("t");
        let r = sb.ok(&Find, serde_json::json!({"paths": root, "patterns": "*.conf"}));
        assert_eq!(names(&r), vec![format!("{root}/a.conf")]);
        assert_eq!(r.data["examined"], 3);
        let r = sb.ok(&Find, serde_json::json!({"paths": [root], "patterns": ["*.conf"], "recurse": true, "depth": 2, "get_checksum": true}));
        assert_eq!(names(&r), vec![format!("{root}/a.conf"), format!("{root}/sub/b.conf")]);
        assert_eq!(r.data["files"][0]["checksum"], crate::fileops::sha1_hex(b"port=1\n"));
        assert_eq!(r.data["files"][0]["isreg"], true);
        let r = sb.ok(&Find, serde_json::json!({"paths": root, "recurse": true, "contains": "port=2"}));
        assert_eq!(names(&r), vec![format!("{root}/sub/b.conf")]);
        let r =
            sb.ok(&Find, serde_json::json!({"paths": root, "recurse": true, "hidden": true, "file_type": "directory"}));
        assert_eq!(names(&r), vec![format!("{root}/sub"), format!("{root}/sub/deep")]);
        let r = sb.ok(&Find, serde_json::json!({"paths": [root.clone(), sb.path("nope")]}));
        assert_eq!(r.msg.as_deref(), Some("Not all paths examined, check warnings for details"));
        assert_eq!(r.data["matched"], 1);
    }

    #[test]
    fn limit_counts_only_files_that_pass_contains() {
        // Ansible checks `contains` with the other filters, then the limit: a first file that
        // does not contain the text does not use up `limit: 1`.
        let mut sb = Sandbox::new();
        sb.write("t/x.conf", "nope\n");
        sb.write("t/sub/y.conf", "port=2\n");
        sb.write("t/sub/z.conf", "port=3\n");
        let root = sb.path("t");
        let r = sb.ok(&Find, serde_json::json!({"paths": root, "recurse": true, "contains": "port", "limit": 1}));
        assert_eq!(r.data["matched"], 1, "{:?}", r.data);
        assert!(names(&r)[0].starts_with(&format!("{root}/sub/")), "{:?}", names(&r));
        assert_eq!(r.msg.as_deref(), Some("Limit of matches reached"));
        // Ansible counts the entries of each directory it walked before stopping: t (x.conf, sub), t/sub.
        assert_eq!(r.data["examined"], 4);
        // As Ansible (measured with ansible-playbook): the limit stops the walk of one path only; the
        // next path stops at the first entry that leaves the count equal to the limit, which two
        // matching files in a row never do.
        sb.write("u/a.conf", "port=5\n");
        sb.write("u/b.conf", "port=6\n");
        let paths = [root.clone(), sb.path("u")];
        let r = sb.ok(&Find, serde_json::json!({"paths": paths, "recurse": true, "contains": "port", "limit": 1}));
        assert_eq!(r.data["matched"], 3, "{:?}", names(&r));
    }

    #[test]
    fn mode_matches_exactly_or_any_bit_as_ansible() {
        use std::os::unix::fs::PermissionsExt;
        let mut sb = Sandbox::new();
        for m in ["0644", "0444", "0400", "0700", "0666"] {
            let p = sb.write(&format!("t/mode_{m}"), "");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(u32::from_str_radix(m, 8).unwrap())).unwrap();
        }
        let root = sb.path("t");
        let mut found = |mode: &str, exact: bool| {
            let r = sb.ok(&Find, serde_json::json!({"paths": root, "mode": mode, "exact_mode": exact}));
            let mut n: Vec<String> = names(&r).iter().map(|p| basename(p).to_string()).collect();
            n.sort();
            n
        };
        assert_eq!(found("0644", true), ["mode_0644"]);
        assert_eq!(found("u=rw,g=r,o=r", true), ["mode_0644"]);
        assert_eq!(found("0004", false), ["mode_0444", "mode_0644", "mode_0666"]);
        assert_eq!(found("o=r", false), ["mode_0444", "mode_0644", "mode_0666"]);
        assert_eq!(found("u=r", false).len(), 5);
        assert!(wanted_mode("u=rwq").is_err());
    }

    #[test]
    fn a_leading_tilde_in_paths_is_the_users_home_on_the_host() {
        let mut sb = Sandbox::new();
        let home = sb.path("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(format!("{home}/wharevs.txt"), "").unwrap();
        sb.conn.env.push(("HOME".into(), home.clone()));
        let r = sb.ok(&Find, serde_json::json!({"paths": "~/", "patterns": "whar*"}));
        assert_eq!(r.data["matched"], 1, "{:?}", r.data);
        assert_eq!(r.data["files"][0]["path"], format!("{home}/wharevs.txt"));
    }

    #[test]
    fn unreadable_directories_are_skipped_paths_with_pythons_error() {
        let err = "find: '/t/r/1-unreadable': Permission denied\nfind: \u{2018}/t/x\u{2019}: No such file or directory\nfind: odd\n";
        assert_eq!(
            super::walk_errors(err),
            vec![
                ("/t/r/1-unreadable".to_string(), "[Errno 13] Permission denied: '/t/r/1-unreadable'".to_string()),
                ("/t/x".to_string(), "[Errno 2] No such file or directory: '/t/x'".to_string()),
            ]
        );
    }

    #[test]
    fn contains_dollar_matches_before_a_final_newline_and_undecodable_files_skip_the_path() {
        let mut sb = Sandbox::new();
        sb.write("t/log.txt", "01/01 - OK\n01/03 - KO\n01/04 - OK\n");
        let root = sb.path("t");
        let whole = |sb: &mut Sandbox, pat: &str, whole: bool| {
            let r = sb.ok(&Find, serde_json::json!({"paths": root, "contains": pat, "read_whole_file": whole}));
            r.data["matched"].as_u64().unwrap()
        };
        assert_eq!(whole(&mut sb, "OK$", true), 1);
        assert_eq!(whole(&mut sb, "KO$", true), 0);
        assert_eq!(whole(&mut sb, ".*KO$", false), 1);
        std::fs::write(sb.path("t/hello.gbk"), b"\xc4\xe3\xba\xc3\n").unwrap();
        let r =
            sb.ok(&Find, serde_json::json!({"paths": root, "patterns": "*.gbk", "contains": "x", "encoding": "utf-8"}));
        assert_eq!(r.msg.as_deref(), Some("Not all paths examined, check warnings for details"));
        assert_eq!(
            r.data["skipped_paths"][&root],
            format!("Failed to read the file {root}/hello.gbk due to an encoding error. current encoding: utf-8")
        ); // Read in the file's own encoding it matches; an unknown encoding skips the path.
        std::fs::write(sb.path("t/hello.gbk"), b"\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7\n").unwrap();
        let gbk = serde_json::json!({"paths": root, "patterns": "*.gbk", "contains": "你好世界", "encoding": "gbk"});
        assert_eq!(sb.ok(&Find, gbk).data["matched"], 1);
        let r = sb.ok(
            &Find,
            serde_json::json!({"paths": root, "patterns": "*.gbk", "contains": "x", "encoding": "idontexist"}),
        );
        assert_eq!(r.data["skipped_paths"][&root], "unknown encoding: idontexist");
    }
}
