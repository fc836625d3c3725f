//! `debconf`: sets one answer in the debconf database (`debconf-set-selections`), after reading
//! the package's answers with `debconf-show` (and, for a password, `debconf-get-selections`) in
//! one round trip. Results are shaped as Ansible's: `current`, `previous`, `msg`, `diff`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `debconf` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DebconfArgs {
    /// The package whose answers to read or set.
    #[serde(alias = "pkg", deserialize_with = "crate::args::string")]
    pub name: String,
    /// The question (`tzdata/Areas`).
    #[serde(default, alias = "selection", alias = "setting", deserialize_with = "crate::args::opt_string")]
    pub question: Option<String>,
    /// The answer's type.
    #[serde(default)]
    pub vtype: Option<Vtype>,
    /// The answer; a list for `multiselect`.
    #[serde(default, alias = "answer")]
    pub value: Option<Value>,
    /// Do not mark the question as seen (`debconf-set-selections -u`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub unseen: bool,
}

/// `vtype` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum Vtype {
    /// true or false.
    Boolean,
    /// An error message.
    Error,
    /// Several choices, comma-separated (or a list).
    Multiselect,
    /// A note.
    Note,
    /// A password (read back with debconf-get-selections, from debconf-utils).
    Password,
    /// The seen flag.
    Seen,
    /// One choice.
    Select,
    /// A string.
    String,
    /// Text.
    Text,
    /// A title.
    Title,
}

impl Vtype {
    fn as_str(self) -> &'static str {
        match self {
            Vtype::Boolean => "boolean",
            Vtype::Error => "error",
            Vtype::Multiselect => "multiselect",
            Vtype::Note => "note",
            Vtype::Password => "password",
            Vtype::Seen => "seen",
            Vtype::Select => "select",
            Vtype::String => "string",
            Vtype::Text => "text",
            Vtype::Title => "title",
        }
    }
}

/// The `debconf` module.
pub struct Debconf;

const MARK: &str = "@@ORC-DEBCONF";

/// `debconf-show PKG` lines (`* key: value`, `  key: value`) as Ansible's `get_selections` reads them.
fn parse_show(text: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            m.insert(k.trim_matches('*').trim().to_string(), json!(v.trim()));
        }
    }
    m
}

/// Ansible's `get_password_value`: the first `pkg`-prefixed line of `debconf-get-selections`
/// for the question and type; an empty password when the line has no value.
fn password_value(text: &str, pkg: &str, question: &str, vtype: &str) -> String {
    for line in text.split('\n') {
        if !line.starts_with(pkg) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() <= 3 {
            return String::new();
        }
        if fields[1] == question && fields[2] == vtype {
            return fields[3].to_string();
        }
    }
    String::new()
}

/// A raw value as Python's `str()` writes it (`True`, `5`, `a`).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Null => "None".into(),
        other => crate::args::scalar_to_string(other).unwrap_or_else(|| other.to_string()),
    }
}

/// Sorts a list as Python's `sorted` does, failing as it does on items that cannot be compared:
/// numbers (and booleans) compare with numbers, strings with strings, and nothing else with
/// anything (lists of lists are not sorted here: they are refused as Python's `join` would).
fn py_sort(items: &mut [Value]) -> Result<(), String> {
    let class = |v: &Value| match v {
        Value::Bool(_) | Value::Number(_) => Some(0),
        Value::String(_) => Some(1),
        _ => None,
    };
    if let (Some(first), true) = (items.first(), items.len() > 1) {
        // Python's sort compares the second item with the first first.
        let bad = items.iter().find(|v| class(v).is_none() || class(v) != class(first));
        if let Some(b) = bad {
            let (x, y) = if std::ptr::eq(b, first) { (b, b) } else { (b, first) };
            return Err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                crate::pyrepr::py_type(x),
                crate::pyrepr::py_type(y)
            ));
        }
    }
    let num = |v: &Value| match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        v => v.as_f64().unwrap_or(0.0),
    };
    items.sort_by(|a, b| match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => num(a).partial_cmp(&num(b)).unwrap_or(std::cmp::Ordering::Equal),
    });
    Ok(())
}

/// `", ".join(items)` as Python runs it: every item must be a string.
fn py_join(items: &[Value]) -> Result<String, String> {
    let mut words = Vec::new();
    for (i, v) in items.iter().enumerate() {
        match v {
            Value::String(s) => words.push(s.as_str()),
            other => {
                return Err(format!(
                    "sequence item {i}: expected str instance, {} found",
                    crate::pyrepr::py_type(other)
                ))
            }
        }
    }
    Ok(words.join(", "))
}

impl TypedModule for Debconf {
    type Args = DebconfArgs;
    const NAME: &'static str = "debconf";
    const DOC: ModuleText = ModuleText {
        short: "Sets an answer in the debconf database of Debian and Ubuntu hosts (pre-seeding a \
                package's questions).",
        notes: "Reads the package's answers with debconf-show, and a password with \
                debconf-get-selections (debconf-utils), then sets the answer with \
                debconf-set-selections when it differs. It does not reconfigure the package \
                (run dpkg-reconfigure yourself). A value that is not a string is compared and \
                set as Python's str() writes it (Ansible fails on such values for other types \
                than boolean and multiselect). A multiselect list is compared as a set (sorted, \
                with the answer's items trimmed); items that are not strings fail as in Ansible.",
        returns: &[
            ("current", "The question and its answer after the task (all the package's answers when nothing changed)."),
            ("previous", "The question and its answer before the task, when it changed."),
            ("diff", "With --diff and a change: {before, after} dicts."),
        ],
        example: "- name: Pre-seed the timezone\n  ansible.builtin.debconf:\n    name: tzdata\n    question: \
                  tzdata/Areas\n    value: Europe\n    vtype: select\n",
    };

    fn check_args(a: &DebconfArgs) -> Result<(), ArgError> {
        let given = [a.question.is_some(), a.vtype.is_some(), a.value.is_some()];
        if given.iter().any(|g| *g) && !given.iter().all(|g| *g) {
            return Err(ArgError { msg: "parameters are required together: question, vtype, value".into() });
        }
        Ok(())
    }

    fn run(&self, a: DebconfArgs, ctx: &mut ModuleCtx) -> RunResult {
        let pkg = a.name.clone();
        let password = a.vtype == Some(Vtype::Password);
        let mut script = format!(
            "export LC_ALL=C\ncommand -v debconf-show >/dev/null 2>&1 || {{ echo 'Failed to find required executable \"debconf-show\" in paths' >&2; exit 127; }}\ndebconf-show {} || exit $?\n",
            quote(&pkg)
        );
        if password {
            script += &format!("echo '{MARK}'\ndebconf-get-selections || exit $?\n");
        }
        let out = ctx.conn.exec(&script, None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(out.stderr_str().trim_end().to_string()));
        }
        let stdout = out.stdout_str();
        let (show, selections) = match stdout.split_once(&format!("{MARK}\n")) {
            Some((s, sel)) => (s.to_string(), sel.to_string()),
            None => (stdout.clone(), String::new()),
        };
        let mut prev = parse_show(&show);

        let (Some(question), Some(vtype), Some(raw)) = (a.question.clone(), a.vtype, a.value.clone()) else {
            return Ok(ModuleResult::ok().with_msg("").with("current", prev));
        };
        let vt = vtype.as_str();
        // The value as Ansible compares it: booleans lower-cased text; a multiselect list keeps
        // its items (Python sorts and joins them, failing on items that are not strings), sorted
        // when there is an answer to compare it with.
        let mut value: Value = match (&raw, vtype) {
            (_, Vtype::Boolean) => json!(py_str(&raw).to_lowercase()),
            (Value::Array(_), Vtype::Multiselect) => raw.clone(),
            (v, _) => json!(py_str(v)),
        };
        let changed = match prev.get(&question) {
            None => true,
            Some(existing) => {
                if let Value::Array(items) = &mut value {
                    py_sort(items)
                        .map_err(|e| ModuleError::msg(format!("Invalid value provided for 'multiselect': {e}")))?;
                }
                let existing = existing.as_str().unwrap_or_default();
                let existing: Value = match (vtype, &value) {
                    (Vtype::Boolean, _) => json!(existing.to_lowercase()),
                    (Vtype::Password, _) => json!(password_value(&selections, &pkg, &question, vt)),
                    (Vtype::Multiselect, Value::Array(_)) => {
                        let mut words: Vec<String> = existing.split(',').map(|w| w.trim().to_string()).collect();
                        words.sort();
                        json!(words)
                    }
                    _ => json!(existing),
                };
                value != existing
            }
        };
        if !changed {
            return Ok(ModuleResult::ok().with_msg("").with("current", prev));
        }
        let mut msg = String::new();
        if !ctx.check {
            if let Value::Array(items) = &value {
                let joined = py_join(items)
                    .map_err(|e| ModuleError::msg(format!("Invalid value provided for 'multiselect': {e}")))?;
                value = json!(joined);
            }
            // run_command(data=...) ends the text with a newline.
            let data = [pkg.as_str(), question.as_str(), vt, &py_str(&value)].join(" ") + "\n";
            let cmd = if a.unseen { "debconf-set-selections -u" } else { "debconf-set-selections" };
            let o = ctx.conn.exec(cmd, Some(data.as_bytes()))?;
            if o.rc != 0 {
                return Err(ModuleError::msg(o.stderr_str()));
            }
            msg = o.stdout_str();
        }
        let mut curr = Map::new();
        curr.insert(question.clone(), value);
        let previous = match prev.get(&question) {
            Some(v) => {
                let mut m = Map::new();
                m.insert(question.clone(), v.clone());
                m
            }
            None => {
                prev.insert(question.clone(), json!(""));
                prev
            }
        };
        let mut r = ModuleResult::changed(true).with_msg(msg).with("current", curr.clone());
        let mut diff = json!({});
        if ctx.diff {
            let mut after = previous.clone();
            after.extend(curr);
            let (before, after) = (Value::Object(previous.clone()), Value::Object(after));
            r = r.with_diff(FileDiff::structured(&before, &after));
            diff = json!({"before": before, "after": after});
        }
        Ok(r.with("previous", previous).with("diff", diff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_debconf_show_and_passwords_as_ansible() {
        let show = "* tzdata/Areas: Europe\n  tzdata/Zones/Europe: Paris\n  tzdata/Zones/Etc: UTC\n";
        let m = parse_show(show);
        assert_eq!(m["tzdata/Areas"], "Europe");
        assert_eq!(m["tzdata/Zones/Etc"], "UTC");
        let sel = "mysql-server\tmysql-server/root_password\tpassword\tsecret\nmysql-server\tmysql-server/x\tstring\n";
        assert_eq!(password_value(sel, "mysql-server", "mysql-server/root_password", "password"), "secret");
        assert_eq!(password_value("other\tq\tpassword\tx\n", "mysql-server", "q", "password"), "");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(5)), "5");
    }

    #[test]
    fn question_vtype_and_value_go_together() {
        let a: DebconfArgs = serde_json::from_value(json!({"name": "tzdata", "question": "tzdata/Areas"})).unwrap();
        assert_eq!(
            Debconf::check_args(&a).unwrap_err().msg,
            "parameters are required together: question, vtype, value"
        );
        let a: DebconfArgs = serde_json::from_value(json!({"pkg": "tzdata"})).unwrap();
        assert!(Debconf::check_args(&a).is_ok());
    }

    #[test]
    fn multiselect_items_sort_and_join_as_python() {
        let mut v = vec![json!("shadow"), json!("group"), json!("passwd")];
        py_sort(&mut v).unwrap();
        assert_eq!(v, [json!("group"), json!("passwd"), json!("shadow")]);
        let mut mixed = vec![json!("group"), json!(1), json!("passwd")];
        assert_eq!(py_sort(&mut mixed).unwrap_err(), "'<' not supported between instances of 'int' and 'str'");
        let mut one = vec![json!(null)];
        assert!(py_sort(&mut one).is_ok());
        assert_eq!(py_join(&[json!("a"), json!("b")]).unwrap(), "a, b");
        assert_eq!(
            py_join(&[json!("a"), json!(true)]).unwrap_err(),
            "sequence item 1: expected str instance, bool found"
        );
    }

    #[test]
    fn multiselect_with_an_item_that_is_not_a_string_fails_unchanged() {
        // debconf target: "Multiselect value to check if value contains invalid user input".
        use std::os::unix::fs::PermissionsExt;
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("debconf-show");
        std::fs::write(&show, "#!/bin/sh\necho '* libnss-ldapd/nsswitch: group, passwd, shadow'\n").unwrap();
        std::fs::set_permissions(&show, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
        sb.conn.env.push(("PATH".into(), path));
        let args = |value: Value| json!({"name": "libnss-ldapd", "question": "libnss-ldapd/nsswitch", "vtype": "multiselect", "value": value});
        let same = sb.run(&Debconf, args(json!(["shadow", "passwd", "group"])), false, false).unwrap();
        assert!(!same.changed);
        let err = sb.run(&Debconf, args(json!(["group", 1, "passwd"])), false, false).unwrap_err();
        assert!(format!("{err:?}").contains("Invalid value provided for 'multiselect'"), "{err:?}");
    }
}
