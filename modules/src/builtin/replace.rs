//! `replace`: Python `re.subn` with MULTILINE over a whole file (or the section between `after` and
//! `before`), written atomically with optional `validate` and `backup`, as Ansible's `replace`.

use regex::bytes::Regex;
use serde::Deserialize;

use crate::args::Mode;
use crate::builtin::lineinfile::write_checked;
use crate::contract::{ArgError, Decision, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite;
use crate::pyre;

/// `replace` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct ReplaceArgs {
    /// The file to edit.
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    /// Python regular expression (MULTILINE) to replace.
    #[serde(deserialize_with = "crate::args::string")]
    pub regexp: String,
    /// Replacement, with `\1` / `\g<name>` backreferences.
    #[serde(default, deserialize_with = "crate::args::string")]
    pub replace: String,
    /// Only replace after the first match of this expression.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub after: Option<String>,
    /// Only replace before the last match of this expression.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub before: Option<String>,
    /// Keep a timestamped copy of the old file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// Command run on the new content (`%s`) before it replaces the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub validate: Option<String>,
    /// Text encoding of the file (utf-8 only).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub encoding: Option<String>,
    /// Permissions of the file.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
}

/// The `replace` module.
pub struct Replace;

/// Python's `re.subn(re, template, text)`: the new text and the number of substitutions.
pub fn subn(re: &Regex, template: &[u8], text: &[u8]) -> Result<(Vec<u8>, usize), String> {
    pyre::check_template(template)?;
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        out.extend_from_slice(&text[last..m.start()]);
        out.extend(pyre::expand(&caps, template)?);
        last = m.end();
        n += 1;
    }
    out.extend_from_slice(&text[last..]);
    Ok((out, n))
}

/// The section `after`/`before` select, as (start, end) byte offsets; `Ok(None)` when the section
/// pattern does not match (Ansible then changes nothing), `Err` for a bad pattern. The pattern text
/// is returned for the message.
fn section(a: &ReplaceArgs, text: &[u8]) -> Result<(String, Option<(usize, usize)>), String> {
    let after = a.after.as_deref().filter(|s| !s.is_empty());
    let before = a.before.as_deref().filter(|s| !s.is_empty());
    let pattern = match (after, before) {
        (Some(x), Some(y)) => format!("{x}(?P<subsection>.*?){y}"),
        (Some(x), None) => format!("{x}(?P<subsection>.*)"),
        (None, Some(y)) => format!("(?P<subsection>.*){y}"),
        (None, None) => return Ok((String::new(), Some((0, text.len())))),
    };
    let re = Regex::new(&format!("(?s){}", pyre::translate(&pattern)))
        .map_err(|e| format!("invalid after/before pattern: {e}"))?;
    let span = re.captures(text).and_then(|c| c.name("subsection")).map(|m| (m.start(), m.end()));
    Ok((pattern, span))
}

/// What a replace run computes before touching the host: the new content and the message.
pub fn compute(a: &ReplaceArgs, contents: &[u8]) -> Result<Result<(Vec<u8>, usize), String>, String> {
    let (pattern, span) = section(a, contents)?;
    let Some((start, end)) = span else {
        return Ok(Err(format!("Pattern for before/after params did not match the given file: {pattern}")));
    };
    let re = Regex::new(&format!("(?m){}", pyre::translate(&a.regexp)))
        .map_err(|e| format!("Unable to process replace due to error: {e}"))?;
    let sec = &contents[start..end];
    let (new_sec, n) =
        subn(&re, a.replace.as_bytes(), sec).map_err(|e| format!("Unable to process replace due to error: {e}"))?;
    if n == 0 || new_sec == sec {
        return Ok(Ok((contents.to_vec(), 0)));
    }
    let mut full = contents[..start].to_vec();
    full.extend(new_sec);
    full.extend_from_slice(&contents[end..]);
    Ok(Ok((full, n)))
}

fn fail_rc(msg: String, rc: i32) -> ModuleError {
    ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("rc", rc)))
}

impl TypedModule for Replace {
    type Args = ReplaceArgs;
    const NAME: &'static str = "replace";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Replaces every match of a regular expression in a file, or only in the part between `after` and \
                `before`.",
        notes: "This is Python's re.subn with MULTILINE over the file, on Rust's regex engine: look-around assertions \
                and backreferences inside the pattern are not supported; `replace` may use `\\1` and `\\g<name>`. \
                `after` and `before` (matched with DOTALL) limit the change to the text after the first match of \
                `after` and before the match of `before`; when they do not match, nothing changes. The file must \
                exist and be UTF-8 text (`encoding` accepts utf-8 only). The new content is written to a temporary \
                file, checked with `validate`, then renamed into place; check mode computes it without writing.",
        returns: &[
            ("rc", "0; on failure 256 when path is a directory, 257 when it does not exist."),
            ("backup_file", "The backup's path, when `backup: true` made one."),
            ("diff", "With --diff: the content before and after."),
        ],
        example: "- name: Point the app at the new database host\n  \
                  ansible.builtin.replace:\n    \
                  path: /etc/app/app.conf\n    \
                  regexp: '^db_host\\s*=.*$'\n    \
                  replace: db_host = db2.internal\n    \
                  backup: true\n",
    };

    fn check_args(a: &ReplaceArgs) -> Result<(), ArgError> {
        if let Some(e) = &a.encoding {
            let e = e.to_ascii_lowercase().replace('_', "-");
            if e != "utf-8" && e != "utf8" {
                return Err(ArgError {
                    msg: format!("encoding '{e}' is not supported; orc's replace reads utf-8 only"),
                });
            }
        }
        Ok(())
    }

    fn decide(&self, a: &ReplaceArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let path = a.path.clone();
        let probe = filewrite::probe(ctx.conn, &path, true, filewrite::Read::Stat)?;
        let Some(st) = probe.stat.clone() else {
            return Err(fail_rc(format!("Path {path} does not exist !"), 257));
        };
        if st.file_type == FileType::Directory {
            return Err(fail_rc(format!("Path {path} is a directory !"), 256));
        }
        let contents = ctx.conn.read_file(&probe.realpath)?.unwrap_or_default();
        if std::str::from_utf8(&contents).is_err() {
            return Err(ModuleError::msg(format!("{path} is not valid utf-8 text")));
        }
        let sha1 = crate::fileops::sha1_hex(&contents);
        let observed = crate::observe::path_state(&path, Some(&st), Some(&sha1));
        let (new, n) = match compute(a, &contents).map_err(ModuleError::msg)? {
            Ok(x) => x,
            Err(msg) => return Ok(Decision::unchanged(ModuleResult::ok().with("rc", 0).with_msg(msg), observed)),
        };
        let changed = n > 0;
        let mut res = ModuleResult::changed(changed).with("rc", 0);
        let mut msg = String::new();
        if changed {
            msg = format!("{n} replacements made");
            if ctx.diff {
                res = res.with_diff(FileDiff::content(
                    &path,
                    String::from_utf8_lossy(&contents),
                    String::from_utf8_lossy(&new),
                ));
            }
        }
        let base = res.clone();
        let attrs = attrs_of(a);
        let (c, m, _) =
            filewrite::finish_attrs(ctx.conn, &probe.realpath, Some(&st), &attrs, true, changed, msg.clone())?;
        res.changed = c;
        let action = ReplaceAction { realpath: probe.realpath, st, new, changed, msg, base };
        Ok(Decision { result: res.with_msg(m), observed, action: Box::new(action) })
    }

    fn apply(&self, a: ReplaceArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<ReplaceAction>(Self::NAME)?;
        let ReplaceAction { realpath, st, new, changed, msg, base: mut res } = act;
        let attrs = attrs_of(&a);
        if changed {
            if a.backup {
                let b = filewrite::backup(ctx.conn, &realpath)?;
                res = res.with("backup_file", b);
            }
            write_checked(ctx, &realpath, &new, &attrs, a.validate.as_deref())?;
        }
        let (c, m, _) = filewrite::finish_attrs(ctx.conn, &realpath, Some(&st), &attrs, false, changed, msg)?;
        res.changed = c;
        Ok(res.with_msg(m))
    }
}

fn attrs_of(a: &ReplaceArgs) -> Attrs {
    Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() }
}

/// What replace decided: the file written (through a link), its metadata, its new content, whether
/// the content changes, and the result's fields before backup and attributes (`rc`, the diff).
struct ReplaceAction {
    realpath: String,
    st: crate::fileops::StatInfo,
    new: Vec<u8>,
    changed: bool,
    msg: String,
    base: ModuleResult,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;

    fn args(v: serde_json::Value) -> ReplaceArgs {
        serde_json::from_value(v).unwrap()
    }

    fn run(a: serde_json::Value, text: &str) -> (String, usize) {
        let (t, n) = compute(&args(a), text.as_bytes()).unwrap().unwrap();
        (String::from_utf8(t).unwrap(), n)
    }

    #[test]
    fn multiline_backrefs_like_python() {
        let (t, n) = run(json!({"path": "x", "regexp": r"^(\w+)=(.*)$", "replace": r"\2=\g<1>"}), "a=1\nb=2\n");
        assert_eq!((t.as_str(), n), ("1=a\n2=b\n", 2));
        let (t, n) = run(json!({"path": "x", "regexp": "old"}), "old old\n");
        assert_eq!((t.as_str(), n), (" \n", 2));
    }

    #[test]
    fn after_and_before_bound_the_section() {
        let text = "x=1\n[s]\nx=1\n[t]\nx=1\n";
        let (t, n) =
            run(json!({"path": "p", "regexp": "x=1", "replace": "x=2", "after": r"\[s\]", "before": r"\[t\]"}), text);
        assert_eq!((t.as_str(), n), ("x=1\n[s]\nx=2\n[t]\nx=1\n", 1));
        let miss = compute(&args(json!({"path": "p", "regexp": "x", "after": "nomatch"})), b"x").unwrap();
        assert_eq!(
            miss.unwrap_err(),
            "Pattern for before/after params did not match the given file: nomatch(?P<subsection>.*)"
        );
    }

    #[test]
    fn same_text_is_no_change() {
        assert_eq!(run(json!({"path": "p", "regexp": "a", "replace": "a"}), "aaa").1, 0);
    }

    #[test]
    fn file_round_trip_with_check_diff_backup() {
        let mut sb = Sandbox::new();
        let p = sb.write("f.conf", "port = 80\nhost = a\n");
        let a = json!({"path": p, "regexp": r"^port = (\d+)$", "replace": r"port = 8\1", "backup": true});
        let r = sb.run(&Replace, a.clone(), true, true).unwrap();
        assert!(r.changed);
        assert_eq!(r.diff[0].after, "port = 880\nhost = a\n");
        assert_eq!(sb.read("f.conf"), "port = 80\nhost = a\n");
        let r = sb.ok(&Replace, a.clone());
        assert_eq!(r.msg.as_deref(), Some("1 replacements made"));
        assert!(r.data["backup_file"].as_str().unwrap().contains("f.conf."));
        assert_eq!(sb.read("f.conf"), "port = 880\nhost = a\n");
        let r = sb.ok(&Replace, json!({"path": p, "regexp": r"^port = 8(\d+)0$", "replace": r"port = 8\g<1>0"}));
        assert!(!r.changed);
        let e = sb.run(&Replace, json!({"path": sb.path("nope"), "regexp": "x"}), false, false).unwrap_err();
        assert!(fail_msg(e).ends_with("does not exist !"));
    }
}

#[cfg(test)]
mod two_phase_tests {
    use serde_json::json;

    use super::Replace;
    use crate::builtin::test_support::{assert_edit_decided_then_applied, assert_mode_decided_then_applied};

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        assert_edit_decided_then_applied(
            &Replace,
            |p| json!({"path": p, "regexp": "^b=2$", "replace": "b=9"}),
            "a=1\nb=2\n",
            "a=1\nb=9\n",
        );
    }

    #[test]
    fn attributes_alone_are_decided_then_applied() {
        assert_mode_decided_then_applied(
            &Replace,
            |p| json!({"path": p, "regexp": "^b=2$", "replace": "b=9"}),
            "a=1\nb=9\n",
        );
    }
}
