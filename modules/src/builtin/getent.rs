//! `getent`: a Unix database (passwd, shadow, group, hosts, services...) read with `getent` and
//! returned as `ansible_facts.getent_DATABASE`, keyed by each line's first field, as Ansible's
//! module does.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `getent` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct GetentArgs {
    /// The database (`passwd`, `shadow`, `group`, `hosts`, ...).
    #[serde(deserialize_with = "crate::args::string")]
    pub database: String,
    /// The key to look up; without it, the whole database.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub key: Option<String>,
    /// The NSS service to query (`getent -s`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub service: Option<String>,
    /// The field separator (default `:` for passwd, shadow, group and gshadow, else whitespace).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub split: Option<String>,
    /// Fail when the key is not found; when false, the key maps to null.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub fail_key: bool,
}

/// The `getent` module.
pub struct Getent;

/// The facts tree for `getent`'s output: the first field -> the others; a key seen again
/// becomes a list of records (Ansible's `seen` handling). `split` None splits on whitespace,
/// as Python's `str.split(None)`.
pub fn parse(out: &str, split: Option<&str>) -> Map<String, Value> {
    let mut tree = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in out.lines() {
        let record: Vec<String> = match split {
            Some(sep) if !sep.is_empty() => line.split(sep).map(str::to_string).collect(),
            _ => line.split_whitespace().map(str::to_string).collect(),
        };
        let Some((first, rest)) = record.split_first() else { continue };
        let rest = Value::from(rest.to_vec());
        match seen.get_mut(first) {
            Some(n) => {
                if *n == 1 {
                    let old = tree.remove(first).unwrap_or(Value::Null);
                    tree.insert(first.clone(), Value::Array(vec![old]));
                }
                if let Some(Value::Array(list)) = tree.get_mut(first) {
                    list.push(rest);
                }
                *n += 1;
            }
            None => {
                tree.insert(first.clone(), rest);
                seen.insert(first.clone(), 1);
            }
        }
    }
    tree
}

impl TypedModule for Getent {
    type Args = GetentArgs;
    const NAME: &'static str = "getent";

    const DOC: ModuleText = ModuleText {
        short: "Reads a Unix database with getent (passwd, shadow, group, hosts, services...) into \
                ansible_facts.getent_DATABASE, keyed by each entry's first field.",
        notes: "Runs `getent DATABASE [KEY] [-s SERVICE]` on the host, as Ansible's module does: the \
                colon databases (passwd, shadow, group, gshadow) split on `:`, the others on \
                whitespace unless `split` says otherwise. A key found twice maps to a list of \
                records. Exit codes 1, 2 and 3 fail with Ansible's messages; with `fail_key: false` \
                a missing key maps to null. Never changes anything; runs in check mode too.",
        returns: &[(
            "ansible_facts.getent_DATABASE",
            "First field -> the other fields (a list of such lists when the key repeats).",
        )],
        example: "- name: Read root's passwd entry\n  \
                  ansible.builtin.getent:\n    \
                  database: passwd\n    \
                  key: root\n\n\
                  - ansible.builtin.debug:\n    \
                  msg: \"root's shell is {{ getent_passwd.root[5] }}\"\n",
    };

    fn run(&self, a: GetentArgs, ctx: &mut ModuleCtx) -> RunResult {
        let mut cmd = format!("getent {}", quote(&a.database));
        if let Some(k) = &a.key {
            cmd.push(' ');
            cmd.push_str(&quote(k));
        }
        if let Some(s) = &a.service {
            cmd.push_str(" -s ");
            cmd.push_str(&quote(s));
        }
        let colon = ["passwd", "shadow", "group", "gshadow"].contains(&a.database.as_str());
        let split = a.split.clone().or_else(|| colon.then(|| ":".to_string()));
        let out = ctx.conn.exec(&cmd, None)?;
        let db = format!("getent_{}", a.database);
        let facts = |tree: Map<String, Value>| {
            let mut f = Map::new();
            f.insert(db.clone(), Value::Object(tree));
            Value::Object(f)
        };
        let msg = match out.rc {
            0 => return Ok(ModuleResult::ok().with("ansible_facts", facts(parse(&out.stdout_str(), split.as_deref())))),
            1 => "Missing arguments, or database unknown.",
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                if !a.fail_key {
                    let mut tree = Map::new();
                    tree.insert(a.key.clone().unwrap_or_default(), Value::Null);
                    return Ok(ModuleResult::ok().with("ansible_facts", facts(tree)).with("msg", msg));
                }
                msg
            }
            3 => "Enumeration not supported on this database.",
            _ => "Unexpected failure!",
        };
        Err(ModuleError::msg(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_as_ansible_keys_them() {
        let t = parse("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/bin:\n", Some(":"));
        assert_eq!(t["root"], json!(["x", "0", "0", "root", "/root", "/bin/bash"]));
        assert_eq!(t["bin"], json!(["x", "1", "1", "", "/bin", ""]));
        let t = parse("http 80/tcp www\nhttp 80/udp\n", None);
        assert_eq!(t["http"], json!([["80/tcp", "www"], ["80/udp"]]));
    }

    #[test]
    fn reads_the_host_and_fails_as_ansible() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let r = sb.run(&Getent, json!({"database": "passwd", "key": "root"}), true, false).unwrap();
        assert!(!r.changed);
        assert_eq!(r.data["ansible_facts"]["getent_passwd"]["root"][1], "0");
        let e = sb.run(&Getent, json!({"database": "passwd", "key": "orc-no-such-user"}), false, false);
        assert!(matches!(e, Err(ModuleError::Fail(f)) if f.msg.as_deref()
            == Some("One or more supplied key could not be found in the database.")));
        let r = sb
            .run(&Getent, json!({"database": "passwd", "key": "orc-no-such-user", "fail_key": false}), false, false)
            .unwrap();
        assert_eq!(r.data["ansible_facts"]["getent_passwd"]["orc-no-such-user"], Value::Null);
    }
}
