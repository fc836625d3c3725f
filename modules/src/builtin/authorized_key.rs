//! `authorized_key`: adds or removes SSH public keys in a user's `authorized_keys`, matching keys
//! by their base64 blob and rewriting the file the way ansible.posix's `authorized_key` does
//! (same ordering, options and comment handling, `exclusive`), with `.ssh` at 0700 and the file at
//! 0600 owned by the user.

use base64::Engine;
use serde::Deserialize;

use crate::builtin::http_client::{self, Request};
use crate::builtin::lineinfile::PresentAbsent;
use crate::contract::{FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `authorized_key` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedKeyArgs {
    /// Whose file to edit.
    #[serde(deserialize_with = "crate::args::string")]
    pub user: String,
    /// One or more public key lines.
    #[serde(deserialize_with = "crate::args::string")]
    pub key: String,
    /// Another file than `~user/.ssh/authorized_keys`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub path: Option<String>,
    /// Create the key file's directory (0700, owned by the user).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub manage_dir: bool,
    /// present or absent.
    #[serde(default)]
    pub state: PresentAbsent,
    /// Options put in front of the key(s), replacing theirs.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub key_options: Option<String>,
    /// Remove every other key.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub exclusive: bool,
    /// Comment replacing the keys' own.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub comment: Option<String>,
    /// Verify the TLS certificate when `key` is a URL.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub validate_certs: bool,
    /// Follow a symlinked key file instead of replacing it.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
}

/// The `authorized_key` module.
pub struct AuthorizedKey;

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519",
    "ssh-dss",
    "ssh-rsa",
];

/// One parsed line of an authorized_keys file (or of the `key` argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A key: blob, type, options (in order), comment.
    Key { blob: String, kind: String, options: Vec<(String, Option<String>)>, comment: String },
    /// A comment, blank or unparsable line, kept as it is.
    Other(String),
}

impl Entry {
    /// The identity Ansible keys its table with: the blob for keys, the line otherwise.
    pub fn id(&self) -> &str {
        match self {
            Entry::Key { blob, .. } => blob,
            Entry::Other(l) => l,
        }
    }

    fn same(&self, other: &Entry) -> bool {
        match (self, other) {
            (
                Entry::Key { blob: b1, kind: k1, options: o1, comment: c1 },
                Entry::Key { blob: b2, kind: k2, options: o2, comment: c2 },
            ) => {
                let mut s1 = o1.clone();
                let mut s2 = o2.clone();
                s1.sort();
                s2.sort();
                b1 == b2 && k1 == k2 && c1 == c2 && s1 == s2
            }
            (a, b) => a == b,
        }
    }

    /// The line as Ansible's `serialize` writes it (note the space before an empty comment).
    pub fn line(&self) -> String {
        match self {
            Entry::Other(l) => l.clone(),
            Entry::Key { blob, kind, options, comment } => {
                let mut opt = options
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                if !opt.is_empty() {
                    opt.push(' ');
                }
                format!("{opt}{kind} {blob} {comment}\n")
            }
        }
    }
}

/// Splits ssh key options on commas outside quotes, as Ansible's `parseoptions`.
pub fn parse_options(options: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote_ch: Option<char> = None;
    for c in options.chars() {
        match quote_ch {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote_ch = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote_ch = Some(c);
                cur.push(c);
            }
            None if c == ',' => parts.push(std::mem::take(&mut cur)),
            None => cur.push(c),
        }
    }
    parts.push(cur);
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p, None),
        };
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// Parses one line as Ansible's `parsekey`; `None` for a line with no known key type.
pub fn parse_key(raw: &str) -> Option<Entry> {
    let raw = raw.replace(r"\#", "#");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.first() == Some(&"#") {
        return Some(Entry::Other(raw));
    }
    let ti = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let blob = parts.get(ti + 1)?;
    let options = if ti > 0 { parse_options(&parts[..ti].join(" ")) } else { Vec::new() };
    Some(Entry::Key {
        blob: blob.to_string(),
        kind: parts[ti].to_string(),
        options,
        comment: parts[ti + 2..].join(" "),
    })
}

/// An insertion-ordered table keyed like Ansible's dict, with each entry's rank.
type Table = Vec<(String, Entry, usize)>;

fn put(t: &mut Table, e: Entry, rank: usize) {
    let id = e.id().to_string();
    match t.iter_mut().find(|(k, _, _)| *k == id) {
        Some(slot) => {
            slot.1 = e;
            slot.2 = rank;
        }
        None => t.push((id, e, rank)),
    }
}

/// Python's `str.splitlines(True)` for the file content.
fn splitlines(s: &str) -> Vec<String> {
    crate::pyre::splitlines_keepends(s.as_bytes())
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect()
}

/// Ansible's `enforce_state` for `keys` (the `key` argument, or what its URL returned) on the
/// file content: the new content, or `None` when nothing changes.
pub fn enforce(a: &AuthorizedKeyArgs, keys: &str, existing: &str) -> Result<Option<String>, String> {
    let mut table: Table = Vec::new();
    for (rank, line) in splitlines(existing).into_iter().enumerate() {
        let e = parse_key(&line).unwrap_or(Entry::Other(line));
        put(&mut table, e, rank);
    }
    let max_rank = table.len();
    let new_keys: Vec<&str> = keys.lines().filter(|s| !s.is_empty() && !s.starts_with('#')).collect();
    let mut to_exist: Vec<String> = Vec::new();
    let mut write = false;
    for (rank, nk) in new_keys.iter().enumerate() {
        let mut parsed = parse_key(nk).ok_or_else(|| format!("invalid key specified: {nk}"))?;
        if let Entry::Key { options, comment, .. } = &mut parsed {
            if let Some(ko) = &a.key_options {
                *options = parse_options(ko);
            }
            if let Some(c) = &a.comment {
                *comment = c.clone();
            }
        }
        let id = parsed.id().to_string();
        let current = table.iter().position(|(k, _, _)| *k == id);
        let matched = match current {
            Some(i) => a.state == PresentAbsent::Absent || table[i].1.same(&parsed),
            None => false,
        };
        match a.state {
            PresentAbsent::Present => {
                to_exist.push(id.clone());
                if let (Some(i), false) = (current, matched) {
                    table.remove(i);
                    write = true;
                }
                if !matched {
                    put(&mut table, parsed, max_rank + rank);
                    write = true;
                }
            }
            PresentAbsent::Absent => {
                if let (Some(i), true) = (current, matched) {
                    table.remove(i);
                    write = true;
                }
            }
        }
    }
    if a.state == PresentAbsent::Present && a.exclusive {
        let before = table.len();
        table.retain(|(k, _, _)| to_exist.contains(k));
        write |= table.len() != before;
    }
    if !write {
        return Ok(None);
    }
    let mut ordered: Vec<&(String, Entry, usize)> = table.iter().collect();
    ordered.sort_by_key(|(_, _, r)| *r);
    Ok(Some(ordered.iter().map(|(_, e, _)| e.line()).collect()))
}

/// What the query learns: the account and the key file.
struct Found {
    uid: u64,
    gid: u64,
    keyfile: String,
    content: Option<String>,
}

fn query(ctx: &mut ModuleCtx, a: &AuthorizedKeyArgs) -> Result<Option<Found>, ModuleError> {
    let cmd = format!(
        "u={u}; e=$(getent passwd \"$u\") || exit 3; echo \"P:$e\"; f={p}; \
         [ -n \"$f\" ] || f=\"$(printf %s \"$e\" | cut -d: -f6)/.ssh/authorized_keys\"; {follow}echo \"F:$f\"; \
         if [ -f \"$f\" ]; then printf 'C:'; base64 -w0 < \"$f\"; echo; fi",
        u = quote(&a.user),
        p = quote(a.path.as_deref().unwrap_or("")),
        follow = if a.follow { "f=$(readlink -f -- \"$f\"); " } else { "" },
    );
    let out = ctx.conn.exec(&cmd, None)?;
    if out.rc == 3 {
        return Ok(None);
    }
    let text = out.stdout_str();
    let mut f = Found { uid: 0, gid: 0, keyfile: String::new(), content: None };
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("P:") {
            let fields: Vec<&str> = p.split(':').collect();
            f.uid = fields.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
            f.gid = fields.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if let Some(p) = line.strip_prefix("F:") {
            f.keyfile = p.to_string();
        } else if let Some(c) = line.strip_prefix("C:") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c.trim())
                .map_err(|e| ModuleError::msg(format!("could not read {}: {e}", f.keyfile)))?;
            f.content = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    if out.rc != 0 || f.keyfile.is_empty() {
        return Err(ModuleError::msg(format!(
            "could not read the key file of {}: {}",
            a.user,
            out.stderr_str().trim()
        )));
    }
    Ok(Some(f))
}

fn write_cmd(a: &AuthorizedKeyArgs, f: &Found) -> String {
    let q = quote(&f.keyfile);
    let dir = crate::filewrite::dirname(&f.keyfile);
    let dir = if dir.is_empty() { "." } else { dir };
    let qd = quote(dir);
    let owner = format!("{}:{}", f.uid, f.gid);
    let mut cmd = String::from("set -e; ");
    if a.manage_dir {
        cmd.push_str(&format!("[ -e {qd} ] || mkdir -m 0700 -- {qd}; chown {owner} {qd}; chmod 0700 {qd}; "));
    }
    cmd.push_str(&format!(
        "mkdir -p -- {qd}; t={qd}/.authorized_keys.orc-tmp-{r:016x}; trap 'rm -f \"$t\"' EXIT; cat > \"$t\"; \
         if [ -e {q} ]; then chmod --reference={q} \"$t\"; chown --reference={q} \"$t\" 2>/dev/null || true; fi; \
         chown {owner} \"$t\" 2>/dev/null || true; chmod 0600 \"$t\"; mv -f -- \"$t\" {q}",
        r = fastrand::u64(..)
    ));
    cmd
}

impl TypedModule for AuthorizedKey {
    type Args = AuthorizedKeyArgs;
    const NAME: &'static str = "authorized_key";
    const COLLECTION: &'static str = "ansible.posix";

    const DOC: ModuleText = ModuleText {
        short: "Adds or removes SSH public keys in a user's authorized_keys file, leaving the other lines alone.",
        notes: "Keys are matched by their base64 blob and the file is rewritten as ansible.posix's module writes it \
                (same order, options and comments); `exclusive` removes every other key. `key` may hold several \
                lines, or be a URL (starting with http) whose keys the managed host fetches with curl or wget, as \
                ansible.posix fetches them from the host. The user must exist (in check mode, giving `path` is \
                enough). With `manage_dir`, the key file's directory is created if needed and set to 0700, owned by \
                the user; the file is written atomically with mode 0600, owned by the user. Check mode and diff show \
                the file before and after.",
        returns: &[
            ("keyfile", "The authorized_keys file edited."),
            (
                "user, key, path, state, key_options, exclusive, comment, manage_dir, follow, validate_certs",
                "The arguments, as given.",
            ),
            ("diff", "With --diff: the file before and after."),
        ],
        example: "- name: Let the CI key in\n  \
                  ansible.posix.authorized_key:\n    \
                  user: deploy\n    \
                  key: \"{{ lookup('file', 'files/ci.pub') }}\"\n    \
                  key_options: no-port-forwarding,no-agent-forwarding\n",
    };

    fn run(&self, a: AuthorizedKeyArgs, ctx: &mut ModuleCtx) -> RunResult {
        let keys = if a.key.starts_with("http") { fetch_key(ctx, &a)? } else { a.key.clone() };
        let found = match query(ctx, &a)? {
            Some(f) => f,
            None if ctx.check && a.path.is_none() => {
                return Err(ModuleError::msg(
                    "Either user must exist or you must provide full path to key file in check mode",
                ))
            }
            None if ctx.check => Found { uid: 0, gid: 0, keyfile: a.path.clone().unwrap_or_default(), content: None },
            None => {
                return Err(ModuleError::msg(format!(
                    "Failed to lookup user {}: \"getpwnam(): name not found: '{}'\"",
                    a.user, a.user
                )))
            }
        };
        let existing = found.content.clone().unwrap_or_default();
        let new = enforce(&a, &keys, &existing).map_err(ModuleError::msg)?;
        let Some(new) = new else {
            return Ok(result_fields(ModuleResult::ok(), &a, &found.keyfile));
        };
        let mut res = ModuleResult::changed(true);
        if ctx.diff {
            res = res.with_diff(FileDiff::content(&found.keyfile, existing, new.clone()));
        }
        if ctx.check {
            // ansible.posix returns its parameters and `keyfile` in check mode too.
            return Ok(result_fields(res, &a, &found.keyfile));
        }
        let out = ctx.conn.exec(&write_cmd(&a, &found), Some(new.as_bytes()))?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Failed to write to file {}: {}",
                found.keyfile,
                out.stderr_str().trim()
            )));
        }
        Ok(result_fields(res, &a, &found.keyfile))
    }
}

/// The keys at the URL `a.key`, fetched on the managed host as ansible.posix's module does
/// (`fetch_url`: redirects followed, `validate_certs` honoured, anything but 200 is an error).
fn fetch_key(ctx: &mut ModuleCtx, a: &AuthorizedKeyArgs) -> Result<String, ModuleError> {
    let fail = || ModuleError::msg(format!("Error getting key from: {}", a.key));
    let probe = ctx.conn.exec(http_client::probe_tools_cmd(), None)?;
    let tool = http_client::pick_tool(&probe.stdout_str()).ok_or_else(|| {
        ModuleError::msg(format!("Error getting key from: {}: neither curl nor wget is installed on the host", a.key))
    })?;
    let req = Request {
        url: a.key.clone(),
        method: "GET".into(),
        timeout: 10,
        validate_certs: a.validate_certs,
        follow: true,
        ..Request::default()
    };
    let resp = http_client::execute(ctx.conn, tool, &req)?;
    if resp.status != 200 {
        return Err(fail());
    }
    String::from_utf8(resp.body).map_err(|_| fail())
}

fn result_fields(res: ModuleResult, a: &AuthorizedKeyArgs, keyfile: &str) -> ModuleResult {
    let state = if a.state == PresentAbsent::Present { "present" } else { "absent" };
    res.with("user", a.user.clone())
        .with("key", a.key.clone())
        .with("path", a.path.clone())
        .with("manage_dir", a.manage_dir)
        .with("state", state)
        .with("key_options", a.key_options.clone())
        .with("exclusive", a.exclusive)
        .with("comment", a.comment.clone())
        .with("validate_certs", a.validate_certs)
        .with("follow", a.follow)
        .with("keyfile", keyfile.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, serve_http, Sandbox};
    use serde_json::json;

    fn args(v: serde_json::Value) -> AuthorizedKeyArgs {
        serde_json::from_value(v).unwrap()
    }

    const K1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1 alice@a";
    const K2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ2 bob@b";

    #[test]
    fn parses_options_and_comment() {
        let e = parse_key(r#"no-pty,command="echo a,b" ssh-ed25519 AAAA x y"#).unwrap();
        assert_eq!(
            e,
            Entry::Key {
                blob: "AAAA".into(),
                kind: "ssh-ed25519".into(),
                options: vec![("no-pty".into(), None), ("command".into(), Some("\"echo a,b\"".into()))],
                comment: "x y".into(),
            }
        );
        assert_eq!(e.line(), "no-pty,command=\"echo a,b\" ssh-ed25519 AAAA x y\n");
        assert_eq!(parse_key("ssh-ed25519 AAAA").unwrap().line(), "ssh-ed25519 AAAA \n");
        assert!(parse_key("garbage line").is_none());
    }

    #[test]
    fn adds_after_existing_and_is_idempotent() {
        let a = args(json!({"user": "u", "key": K2}));
        let existing = format!("# keep\n{K1}\n");
        let new = enforce(&a, &a.key, &existing).unwrap().unwrap();
        assert_eq!(new, format!("# keep\n{K1}\n{K2}\n"));
        assert_eq!(enforce(&a, &a.key, &new).unwrap(), None);
    }

    #[test]
    fn matches_by_blob_and_updates_comment_or_options() {
        let a =
            args(json!({"user": "u", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1 other", "key_options": "no-pty"}));
        let new = enforce(&a, &a.key, &format!("{K1}\n{K2}\n")).unwrap().unwrap();
        assert_eq!(new, format!("{K2}\nno-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1 other\n"));
    }

    #[test]
    fn exclusive_and_absent() {
        let a = args(json!({"user": "u", "key": format!("{K2}\n{K1}\n"), "exclusive": true}));
        let new = enforce(&a, &a.key, &format!("# c\n{K1}\n")).unwrap().unwrap();
        assert_eq!(new, format!("{K1}\n{K2}\n"));
        let a = args(json!({"user": "u", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1", "state": "absent"}));
        assert_eq!(enforce(&a, &a.key, &format!("{K1}\n{K2}\n")).unwrap().unwrap(), format!("{K2}\n"));
        assert_eq!(enforce(&a, &a.key, &format!("{K2}\n")).unwrap(), None);
        assert!(enforce(&args(json!({"user": "u", "key": "nonsense"})), "nonsense", "").is_err());
    }

    fn me() -> String {
        String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().into()
    }

    #[test]
    fn a_url_key_is_fetched_on_the_host() {
        // As ansible.posix: a key starting with http is fetched (from the managed host) and used.
        let body = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1 alice@a\n";
        let (port, t) = serve_http("200 OK", body.as_bytes().to_vec(), 1);
        let mut sb = Sandbox::new();
        let path = sb.path("keys");
        let url = format!("http://127.0.0.1:{port}/alice.keys");
        let r = sb.ok(&AuthorizedKey, json!({"user": me(), "key": url, "path": path, "manage_dir": false}));
        t.join().unwrap();
        assert!(r.changed);
        assert_eq!(sb.read("keys"), body);
        assert_eq!(r.data["key"], url, "the result echoes the argument, as Ansible's params");
        let (port, t) = serve_http("404 Not Found", vec![], 1);
        let url = format!("http://127.0.0.1:{port}/nobody.keys");
        let e = sb.run(&AuthorizedKey, json!({"user": me(), "key": url, "path": path}), false, false).unwrap_err();
        t.join().unwrap();
        assert_eq!(fail_msg(e), format!("Error getting key from: {url}"));
    }

    #[test]
    fn check_mode_returns_the_same_fields_as_a_real_run() {
        let mut sb = Sandbox::new();
        let path = sb.path("keys");
        let a = json!({"user": me(), "key": K1, "path": path, "manage_dir": false});
        let checked = sb.run(&AuthorizedKey, a.clone(), true, false).unwrap();
        assert!(checked.changed);
        let real = sb.run(&AuthorizedKey, a, false, false).unwrap();
        let keys = |r: &ModuleResult| r.data.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&checked), keys(&real));
        assert_eq!(checked.data["keyfile"], path);
    }
}
