//! `stat`: reports a path's metadata (type, mode, owner, size, times, link target, checksum, MIME
//! type, file attributes) with Ansible's keys, gathered by one remote command.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::sh_words::ShWords;

/// `stat` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct StatArgs {
    /// The path to examine (`~` and `$VAR` are expanded on the host, as Ansible's `path` type).
    #[serde(alias = "dest", alias = "name", deserialize_with = "crate::args::string")]
    pub path: String,
    /// Follow a symbolic link and report on its target.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
    /// Compute the checksum of a readable regular file.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub get_checksum: bool,
    /// Which hash: md5, sha1 (default), sha224, sha256, sha384, sha512.
    #[serde(default = "sha1", alias = "checksum", alias = "checksum_algo", deserialize_with = "crate::args::string")]
    pub checksum_algorithm: String,
    /// Report `mimetype` and `charset` (with `file`; `unknown` when it is not installed).
    #[serde(
        default = "crate::args::default_true",
        alias = "mime",
        alias = "mime_type",
        alias = "mime-type",
        deserialize_with = "crate::args::bool"
    )]
    pub get_mime: bool,
    /// Report `attributes`, `attr_flags` and `version` (with `lsattr`).
    #[serde(
        default = "crate::args::default_true",
        alias = "attr",
        alias = "attributes",
        deserialize_with = "crate::args::bool"
    )]
    pub get_attributes: bool,
}

fn sha1() -> String {
    "sha1".into()
}

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// Linux file attribute letters as `lsattr` prints them, named as Ansible names them.
const FILE_ATTRIBUTES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// The `stat` module.
pub struct Stat;

impl TypedModule for Stat {
    type Args = StatArgs;
    const NAME: &'static str = "stat";

    const DOC: ModuleText = ModuleText {
        short: "Reports a path's metadata (type, mode, owner, size, times, link target, checksum, MIME type, file \
                attributes) under Ansible's keys.",
        notes: "One command on the host gathers everything. It uses GNU stat, the `sha1sum`-style tool of \
                `checksum_algorithm`, `file` for the MIME type (`unknown` when it is not installed) and `lsattr` for \
                the attributes (none when it is not installed). `path` is expanded on the host (`~`, `$VAR`). Never \
                changes anything; runs in check mode too.",
        returns: &[(
            "stat",
            "A dict: `exists`, and for an existing path `path`, `mode`, `isdir`, `isreg`, `islnk` and the \
                other type flags, `uid`, `gid`, `pw_name`, `gr_name`, `size`, `inode`, `dev`, `nlink`, `atime`, \
                `mtime`, `ctime`, `blocks`, `block_size`, `device_type`, `readable`, `writeable`, `executable`, the \
                permission bits (`rusr`, `wusr`...), `checksum`, `mimetype`, `charset`, `attributes`, `attr_flags`, \
                `version`, and `lnk_source`/`lnk_target` for a link.",
        )],
        example: "- name: Look at the TLS certificate\n  \
                  ansible.builtin.stat:\n    \
                  path: /etc/ssl/certs/app.pem\n    \
                  checksum_algorithm: sha256\n  \
                  register: cert\n",
    };

    fn check_args(a: &StatArgs) -> Result<(), ArgError> {
        if !ALGORITHMS.contains(&a.checksum_algorithm.as_str()) {
            return Err(ArgError {
                msg: format!(
                    "value of checksum_algorithm must be one of: {}, got: {}",
                    ALGORITHMS.join(", "),
                    a.checksum_algorithm
                ),
            });
        }
        Ok(())
    }

    fn run(&self, a: StatArgs, ctx: &mut ModuleCtx) -> RunResult {
        let script = build_script(&a);
        let out = ctx.conn.exec(&script, None)?;
        let text = out.stdout_str();
        if text.starts_with("ABSENT") {
            return Ok(ModuleResult::ok().with("stat", json!({"exists": false})));
        }
        match parse_output(&text, &a) {
            Some(stat) => Ok(ModuleResult::ok().with("stat", stat)),
            None => Err(ModuleError::msg(
                format_err(&out.stderr_str())
                    .unwrap_or_else(|| format!("cannot stat {}: unexpected output from stat", a.path)),
            )),
        }
    }
}

/// `stat: cannot statx 'x': Permission denied` -> `Permission denied`, as Python's strerror.
fn format_err(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| !l.trim().is_empty())?;
    Some(line.rsplit_once(": ").map(|(_, e)| e.to_string()).unwrap_or_else(|| line.to_string()))
}

/// The one remote script: every section on its own tagged line.
fn build_script(a: &StatArgs) -> String {
    let mut words = ShWords::default();
    let p = words.word(&a.path, true, false);
    let (exists, l) = if a.follow { ("[ -e \"$p\" ]", "-L ") } else { ("{ [ -e \"$p\" ] || [ -L \"$p\" ]; }", "") };
    let mut s = words.prelude.clone();
    s += &format!("p={p}\n{exists} || {{ echo ABSENT; exit 0; }}\n");
    s += "printf 'P %s\\n' \"$p\"\n";
    s += &format!(
        "_s=$(stat {l}-c '%f|%u|%g|%s|%i|%d|%h|%.9X|%.9Y|%.9Z|%b|%o|%t|%T|%U|%G' -- \"$p\") || exit 1\nprintf 'S %s\\n' \"$_s\"\n"
    );
    s += "printf 'A %s%s%s\\n' \"$([ -r \"$p\" ] && echo r || echo -)\" \"$([ -w \"$p\" ] && echo w || echo -)\" \"$([ -x \"$p\" ] && echo x || echo -)\"\n";
    if !a.follow {
        s += "if [ -L \"$p\" ]; then printf 'T %s\\n' \"$(readlink -- \"$p\")\"; printf 'R %s\\n' \"$(readlink -m -- \"$p\" 2>/dev/null || realpath -- \"$p\")\"; fi\n";
    }
    if a.get_checksum {
        s += &format!(
            "if [ -f \"$p\" ] && [ -r \"$p\" ] && {{ [ -n \"{}\" ] || [ ! -L \"$p\" ]; }}; then printf 'C %s\\n' \"$({}sum < \"$p\" | cut -d' ' -f1)\"; fi\n",
            if a.follow { "1" } else { "" },
            a.checksum_algorithm
        );
    }
    if a.get_mime {
        s += "if command -v file >/dev/null 2>&1; then printf 'M %s\\n' \"$(file --mime-type --mime-encoding -- \"$p\" 2>/dev/null)\"; fi\n";
    }
    if a.get_attributes {
        s += "if command -v lsattr >/dev/null 2>&1; then _a=$(lsattr -vd -- \"$p\" 2>/dev/null) && printf 'V %s\\n' \"$_a\"; fi\n";
    }
    s += "exit 0\n";
    s
}

/// Python's `float(sec + nsec * 1e-9)` for a `%.9Y`-style `sec.nnnnnnnnn` string.
fn py_time(s: &str) -> Option<f64> {
    let (sec, frac) = s.split_once('.').unwrap_or((s, "0"));
    let sec: i64 = sec.parse().ok()?;
    let nsec: i64 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    Some(sec as f64 + nsec as f64 * 1e-9)
}

/// Linux `makedev`, for `device_type` (`st_rdev`) from stat's hex major/minor.
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

/// Turns the tagged lines into Ansible's `stat` dict.
fn parse_output(text: &str, a: &StatArgs) -> Option<Value> {
    let mut tags: Map<String, Value> = Map::new();
    for line in text.lines() {
        if let Some((tag, rest)) = line.split_once(' ') {
            tags.entry(tag.to_string()).or_insert_with(|| Value::String(rest.to_string()));
        }
    }
    let get = |t: &str| tags.get(t).and_then(Value::as_str);
    let f: Vec<&str> = get("S")?.split('|').collect();
    if f.len() != 16 {
        return None;
    }
    let raw = u32::from_str_radix(f[0], 16).ok()?;
    let num = |i: usize| f[i].parse::<u64>().ok();
    let fmt = raw & 0o170000;
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("exists", true.into());
    put("path", get("P").unwrap_or(&a.path).into());
    put("mode", format!("{:04o}", raw & 0o7777).into());
    put("isdir", (fmt == 0o040000).into());
    put("ischr", (fmt == 0o020000).into());
    put("isblk", (fmt == 0o060000).into());
    put("isreg", (fmt == 0o100000).into());
    put("isfifo", (fmt == 0o010000).into());
    put("islnk", (fmt == 0o120000).into());
    put("issock", (fmt == 0o140000).into());
    put("uid", num(1)?.into());
    put("gid", num(2)?.into());
    put("size", num(3)?.into());
    put("inode", num(4)?.into());
    put("dev", num(5)?.into());
    put("nlink", num(6)?.into());
    put("atime", py_time(f[7])?.into());
    put("mtime", py_time(f[8])?.into());
    put("ctime", py_time(f[9])?.into());
    let bit = |b: u32| Value::Bool(raw & b != 0);
    for (k, b) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        put(k, bit(b));
    }
    put("blocks", num(10)?.into());
    put("block_size", num(11)?.into());
    let major = u64::from_str_radix(f[12], 16).ok()?;
    let minor = u64::from_str_radix(f[13], 16).ok()?;
    put("device_type", makedev(major, minor).into());
    let access = get("A").unwrap_or("---").as_bytes().to_vec();
    put("readable", (access.first() == Some(&b'r')).into());
    put("writeable", (access.get(1) == Some(&b'w')).into());
    put("executable", (access.get(2) == Some(&b'x')).into());
    if fmt == 0o120000 {
        put("lnk_source", get("R").unwrap_or("").into());
        put("lnk_target", get("T").unwrap_or("").into());
    }
    if f[14] != "UNKNOWN" {
        put("pw_name", f[14].into());
    }
    if f[15] != "UNKNOWN" {
        put("gr_name", f[15].into());
    }
    if let Some(c) = get("C") {
        put("checksum", c.into());
    }
    if a.get_mime {
        let (mut mime, mut charset) = ("unknown".to_string(), "unknown".to_string());
        if let Some(m) = get("M") {
            // "path: text/plain; charset=us-ascii", parsed as Ansible does.
            if let Some((_, tail)) = m.rsplit_once(':') {
                if let Some((t, c)) = tail.split_once(';') {
                    if let Some((_, cs)) = c.split_once('=') {
                        mime = t.trim().to_string();
                        charset = cs.trim().to_string();
                    }
                }
            }
        }
        put("mimetype", mime.into());
        put("charset", charset.into());
    }
    if a.get_attributes {
        let (mut version, mut flags) = (Value::Null, String::new());
        if let Some(v) = get("V") {
            let mut parts = v.split_whitespace();
            if let (Some(ver), Some(fl)) = (parts.next(), parts.next()) {
                version = ver.into();
                flags = fl.replace('-', "");
            }
        }
        let attrs: Vec<&str> =
            flags.chars().filter_map(|c| FILE_ATTRIBUTES.iter().find(|(l, _)| *l == c).map(|x| x.1)).collect();
        put("version", version);
        put("attributes", attrs.into());
        put("attr_flags", flags.into());
    }
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::command::tests::run_module;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn stat_of(args: Value) -> Value {
        run_module(&Stat, args, false).unwrap()["stat"].clone()
    }

    #[test]
    fn regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a b$x.txt");
        std::fs::write(&f, "hello\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let md = std::fs::metadata(&f).unwrap();
        let s = stat_of(json!({"path": f}));
        assert_eq!(s["exists"], true);
        assert_eq!(s["path"], f.to_str().unwrap());
        assert_eq!(s["mode"], "0640");
        assert_eq!(s["isreg"], true);
        assert_eq!(s["isdir"], false);
        assert_eq!(s["islnk"], false);
        assert_eq!(s["size"], 6);
        assert_eq!(s["uid"], md.uid());
        assert_eq!(s["gid"], md.gid());
        assert_eq!(s["inode"], md.ino());
        assert_eq!(s["dev"], md.dev());
        assert_eq!(s["nlink"], 1);
        assert_eq!(s["rusr"], true);
        assert_eq!(s["wgrp"], false);
        assert_eq!(s["roth"], false);
        let mtime = md.mtime() as f64 + md.mtime_nsec() as f64 * 1e-9;
        assert_eq!(s["mtime"].as_f64().unwrap(), mtime);
        // sha1 of "hello\n"
        assert_eq!(s["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert!(s.get("lnk_source").is_none());
        assert_eq!(s["readable"], true);
        let s = stat_of(json!({"path": f, "checksum_algorithm": "sha256", "get_mime": false, "get_attributes": false}));
        assert_eq!(s["checksum"], "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
        assert!(s.get("mimetype").is_none());
        assert!(s.get("attributes").is_none());
        let s = stat_of(json!({"path": f, "get_checksum": "no"}));
        assert!(s.get("checksum").is_none());
    }

    #[test]
    fn directory_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let s = stat_of(json!({"path": dir.path()}));
        assert_eq!(s["isdir"], true);
        assert_eq!(s["isreg"], false);
        assert!(s.get("checksum").is_none());
        assert_eq!(s["executable"], true);
        let s = stat_of(json!({"path": dir.path().join("nope")}));
        assert_eq!(s, json!({"exists": false}));
    }

    #[test]
    fn symlinks_follow_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("t", &link).unwrap();
        let s = stat_of(json!({"path": link}));
        assert_eq!(s["islnk"], true);
        assert_eq!(s["isreg"], false);
        assert_eq!(s["mode"], "0777");
        assert_eq!(s["lnk_target"], "t");
        assert_eq!(s["lnk_source"], std::fs::canonicalize(&target).unwrap().to_str().unwrap());
        assert!(s.get("checksum").is_none());
        let s = stat_of(json!({"path": link, "follow": true}));
        assert_eq!(s["islnk"], false);
        assert_eq!(s["isreg"], true);
        assert_eq!(s["size"], 1);
        assert!(s["checksum"].is_string());
        let broken = dir.path().join("b");
        std::os::unix::fs::symlink("missing", &broken).unwrap();
        assert_eq!(stat_of(json!({"path": broken}))["islnk"], true);
        assert_eq!(stat_of(json!({"path": broken, "follow": true})), json!({"exists": false}));
    }

    #[test]
    fn device_numbers_and_bad_algorithm() {
        let s = stat_of(json!({"path": "/dev/null", "get_mime": false}));
        assert_eq!(s["ischr"], true);
        assert_eq!(s["device_type"], 259); // makedev(1, 3)
        let bad: Map<String, Value> =
            serde_json::from_value(json!({"path": "/", "checksum_algorithm": "crc"})).unwrap();
        use crate::contract::Module;
        assert!(Stat.validate(&bad).unwrap_err().msg.contains("sha256"));
        assert_eq!(py_time("1795267638.769188572"), Some(1795267638.7691886));
    }
}
