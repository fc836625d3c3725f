//! `lineinfile`: ensures one line is present in (or absent from) a text file, with Ansible's exact
//! matching rules (`regexp`, `search_string`, `insertafter`/`insertbefore`, `backrefs`, `firstmatch`).

use serde::Deserialize;

use crate::args::Mode;
use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite::{self, WriteError};
use crate::pyre;
use crate::shell_quote::quote;

/// `state` of lineinfile and blockinfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum PresentAbsent {
    /// The line/block must be there.
    #[default]
    Present,
    /// The line/block must not be there.
    Absent,
}

/// `lineinfile` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct LineinfileArgs {
    /// The file to edit.
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    /// present or absent.
    #[serde(default)]
    pub state: PresentAbsent,
    /// Python regular expression selecting the line to replace or remove.
    #[serde(default, alias = "regex", deserialize_with = "crate::args::opt_string")]
    pub regexp: Option<String>,
    /// Literal string selecting the line to replace or remove.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub search_string: Option<String>,
    /// The line to ensure.
    #[serde(default, alias = "value", deserialize_with = "crate::args::opt_string")]
    pub line: Option<String>,
    /// Insert after the last line matching this regex, or `EOF`/`BOF`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub insertafter: Option<String>,
    /// Insert before the last line matching this regex, or `BOF`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub insertbefore: Option<String>,
    /// Expand `\1` in `line` from `regexp`'s groups; leave the file alone when nothing matches.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backrefs: bool,
    /// Create the file when missing.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub create: bool,
    /// Keep a timestamped copy of the old file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// Use the first match instead of the last.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub firstmatch: bool,
    /// Command run on the new content (`%s` = its path) before it replaces the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub validate: Option<String>,
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

/// The `lineinfile` module.
pub struct Lineinfile;

fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

fn rstrip_eol(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && (l[end - 1] == b'\n' || l[end - 1] == b'\r') {
        end -= 1;
    }
    &l[..end]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn with_nl(line: &[u8]) -> Vec<u8> {
    let mut v = line.to_vec();
    v.push(b'\n');
    v
}

/// Ansible's `present()`: edits `lines` in place; returns whether they changed and the message.
pub fn present(lines: &mut Vec<Vec<u8>>, a: &LineinfileArgs, line: &str) -> Result<(bool, &'static str), String> {
    let b_line = line.as_bytes();
    let insertafter = match (&a.insertafter, &a.insertbefore) {
        (None, None) => Some("EOF".to_string()),
        (ia, _) => ia.clone(),
    };
    let insertafter = &insertafter;
    let bre_m = a.regexp.as_deref().map(pyre::compile).transpose()?;
    let bre_ins = match (insertafter.as_deref(), a.insertbefore.as_deref()) {
        (Some(ia), _) if ia != "BOF" && ia != "EOF" => Some(pyre::compile(ia)?),
        (None, Some(ib)) if ib != "BOF" => Some(pyre::compile(ib)?),
        _ => None,
    };
    let mut index: [isize; 2] = [-1, -1];
    let mut found = false;
    let mut exact = false;
    if let Some(re) = &bre_m {
        for (n, l) in lines.iter().enumerate() {
            if pyre::search_line(re, l) {
                index[0] = n as isize;
                found = true;
                if a.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(ss) = &a.search_string {
        for (n, l) in lines.iter().enumerate() {
            if contains(l, ss.as_bytes()) {
                index[0] = n as isize;
                found = true;
                if a.firstmatch {
                    break;
                }
            }
        }
    }
    if !found {
        for (n, l) in lines.iter().enumerate() {
            if b_line == rstrip_eol(l) {
                index[0] = n as isize;
                exact = true;
            } else if bre_ins.as_ref().is_some_and(|re| pyre::search_line(re, l)) {
                if truthy(insertafter) {
                    index[1] = n as isize + 1;
                    if a.firstmatch {
                        break;
                    }
                }
                if truthy(&a.insertbefore) {
                    index[1] = n as isize;
                    if a.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let _ = exact;
    let added = "line added";
    if index[0] != -1 {
        let i0 = index[0] as usize;
        let mut new_line = match (&bre_m, a.backrefs && found) {
            (Some(re), true) => match pyre::captures_line(re, &lines[i0]) {
                Some(caps) => pyre::expand(&caps, b_line)?,
                None => b_line.to_vec(),
            },
            _ => b_line.to_vec(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        if lines[i0] != new_line {
            lines[i0] = new_line;
            return Ok((true, "line replaced"));
        }
        return Ok((false, ""));
    }
    if a.backrefs {
        return Ok((false, ""));
    }
    let ia = insertafter.as_deref();
    if a.insertbefore.as_deref() == Some("BOF") || ia == Some("BOF") {
        lines.insert(0, with_nl(b_line));
        return Ok((true, added));
    }
    if ia == Some("EOF") || index[1] == -1 {
        if let Some(last) = lines.last() {
            if !matches!(last.last(), Some(b'\n') | Some(b'\r')) {
                lines.push(b"\n".to_vec());
            }
        }
        lines.push(with_nl(b_line));
        return Ok((true, added));
    }
    let i1 = index[1] as usize;
    if truthy(insertafter) {
        if lines.len() == i1 {
            if rstrip_eol(&lines[i1 - 1]) != b_line {
                lines.push(with_nl(b_line));
                return Ok((true, added));
            }
        } else if b_line != rstrip_eol(&lines[i1]) {
            lines.insert(i1, with_nl(b_line));
            return Ok((true, added));
        }
        return Ok((false, ""));
    }
    lines.insert(i1, with_nl(b_line));
    Ok((true, added))
}

/// Ansible's `absent()`: removes matching lines; returns how many were removed.
pub fn absent(lines: &mut Vec<Vec<u8>>, a: &LineinfileArgs) -> Result<usize, String> {
    let re = a.regexp.as_deref().map(pyre::compile).transpose()?;
    let line = a.line.as_deref().unwrap_or("").as_bytes();
    let before = lines.len();
    lines.retain(|l| {
        let hit = if let Some(re) = &re {
            pyre::search_line(re, l)
        } else if let Some(ss) = &a.search_string {
            contains(l, ss.as_bytes())
        } else {
            line == rstrip_eol(l)
        };
        !hit
    });
    Ok(before - lines.len())
}

impl TypedModule for Lineinfile {
    type Args = LineinfileArgs;
    const NAME: &'static str = "lineinfile";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Ensures one line is present in, or absent from, a text file: replaces the line `regexp` or \
                `search_string` selects, or inserts it after or before a matching line, or at the end.",
        notes: "Lines are matched with Ansible's rules: the last match wins unless `firstmatch`; with \
                `backrefs` and no match the file is left alone. `regexp`, `insertafter` and `insertbefore` \
                are Python regular expressions run on Rust's regex engine: look-around assertions and \
                backreferences inside a pattern are not supported (the task fails saying so). With \
                `create`, missing parent directories are created. The new content is written to a \
                temporary file beside path, checked with `validate`, then renamed into place; check mode \
                computes it without writing.",
        returns: &[
            ("backup", "The backup's path when `backup: true` made one, else an empty string."),
            ("found", "With `state: absent`: how many lines were removed."),
            ("rc", "On failure: 256 when path is a directory, 257 when it is missing and `create` is false."),
            ("diff", "With --diff: the content before and after (and the attributes that changed)."),
        ],
        example: "- name: Allow only key logins over SSH\n  ansible.builtin.lineinfile:\n    \
                  path: /etc/ssh/sshd_config\n    regexp: '^#?PasswordAuthentication'\n    \
                  line: PasswordAuthentication no\n    validate: /usr/sbin/sshd -t -f %s\n",
    };

    fn check_args(a: &LineinfileArgs) -> Result<(), ArgError> {
        let pairs = [
            ("insertbefore", a.insertbefore.is_some(), "insertafter", a.insertafter.is_some()),
            ("regexp", a.regexp.is_some(), "search_string", a.search_string.is_some()),
            ("backrefs", a.backrefs, "search_string", a.search_string.is_some()),
        ];
        for (x, xs, y, ys) in pairs {
            if xs && ys {
                return Err(ArgError { msg: format!("parameters are mutually exclusive: {x}|{y}") });
            }
        }
        match a.state {
            PresentAbsent::Present if a.backrefs && a.regexp.is_none() => {
                Err(ArgError { msg: "regexp is required with backrefs=true".into() })
            }
            PresentAbsent::Present if a.line.is_none() => {
                Err(ArgError { msg: "line is required with state=present".into() })
            }
            PresentAbsent::Absent if a.regexp.is_none() && a.search_string.is_none() && a.line.is_none() => {
                Err(ArgError { msg: "one of line, search_string, or regexp is required with state=absent".into() })
            }
            _ => Ok(()),
        }
    }

    fn first_probe(a: &LineinfileArgs) -> Option<String> {
        filewrite::ahead_probe_cmd(&a.path, true, filewrite::Read::Small)
    }

    fn decide(&self, a: &LineinfileArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        // `path` is a path argument: a leading `~` is the remote user's home, as in Ansible.
        let path = crate::sh_words::expand_user(ctx, &a.path)?;
        let mut probe = filewrite::probe(ctx.conn, &path, true, filewrite::Read::Small)?;
        if probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Directory) {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed(format!("Path {path} is a directory !")).with("rc", 256),
            )));
        }
        let exists = probe.stat.is_some();
        if !exists && a.state == PresentAbsent::Absent {
            let observed = crate::observe::path_state(&path, None, None);
            return Ok(Decision::unchanged(ModuleResult::ok().with_msg("file not present"), observed));
        }
        let original = if exists {
            match probe.content.take() {
                // A small file came with the probe (the same bytes: `stat`'s size checked them).
                Some(c) => c,
                None => ctx.conn.read_file(&probe.realpath)?.unwrap_or_default(),
            }
        } else {
            if !a.create {
                return Err(ModuleError::Fail(Box::new(
                    ModuleResult::failed(format!("Destination {path} does not exist !")).with("rc", 257),
                )));
            }
            Vec::new()
        };
        let sha1 = exists.then(|| crate::fileops::sha1_hex(&original));
        let observed = crate::observe::path_state(&path, probe.stat.as_ref(), sha1.as_deref());
        let mut lines = pyre::readlines(&original);
        let (changed, msg, found) = match a.state {
            PresentAbsent::Present => {
                let line = a.line.clone().unwrap_or_default();
                let (c, m) = present(&mut lines, a, &line).map_err(ModuleError::msg)?;
                (c, m.to_string(), None)
            }
            PresentAbsent::Absent => {
                let n = absent(&mut lines, a).map_err(ModuleError::msg)?;
                let m = if n > 0 { format!("{n} line(s) removed") } else { String::new() };
                (n > 0, m, Some(n))
            }
        };
        let new = lines.concat();
        let attrs = attrs_of(a);
        let content = (original.as_slice(), new.as_slice());
        let mut res = filewrite::edit_result(ctx.conn, &path, &probe, &attrs, true, content, changed, msg.clone())?;
        if let Some(n) = found {
            res = res.with("found", n);
        }
        let result = with_warnings(res.with("backup", String::new()), a);
        let action = EditAction { probe, original, new, changed, msg, found };
        Ok(Decision { result, observed, action: Box::new(action) })
    }

    fn apply(&self, a: LineinfileArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<EditAction>(Self::NAME)?;
        let EditAction { probe, original, new, changed, msg, found } = act;
        let path = crate::sh_words::expand_user(ctx, &a.path)?;
        let exists = probe.stat.is_some();
        let attrs = attrs_of(&a);
        let mut backup_dest = String::new();
        if changed {
            if !exists && !probe.parent_exists {
                let dir = filewrite::dirname(&path);
                if !dir.is_empty() {
                    let out = ctx.conn.exec(&format!("mkdir -p -- {}", quote(dir)), None)?;
                    if out.rc != 0 {
                        return Err(ModuleError::msg(format!("Error creating {dir} ({})", out.stderr_str().trim())));
                    }
                }
            }
            if a.backup && exists {
                backup_dest = filewrite::backup(ctx.conn, &probe.realpath)?;
            }
            write_checked(ctx, &probe.realpath, &new, &attrs, a.validate.as_deref())?;
        }
        let content = (original.as_slice(), new.as_slice());
        let mut res = filewrite::edit_result(ctx.conn, &path, &probe, &attrs, false, content, changed, msg)?;
        if let Some(n) = found {
            res = res.with("found", n);
        }
        Ok(with_warnings(res.with("backup", backup_dest), &a))
    }
}

/// Ansible's warning for an empty `regexp` or `search_string` (it matches every line), added to
/// the result's `warnings`.
fn with_warnings(res: ModuleResult, a: &LineinfileArgs) -> ModuleResult {
    let name = match (a.regexp.as_deref(), a.search_string.as_deref()) {
        (Some(""), _) => "regular expression",
        (_, Some("")) => "search string",
        _ => return res,
    };
    let mut msg = format!(
        "The {name} is an empty string, which will match every line in the file. This may have unintended \
         consequences, such as replacing the last line in the file rather than appending."
    );
    if a.regexp.as_deref() == Some("") {
        msg.push_str(" If this is desired, use '^' to match every line in the file and avoid this warning.");
    }
    res.with("warnings", serde_json::json!([msg]))
}

fn attrs_of(a: &LineinfileArgs) -> Attrs {
    Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() }
}

/// What lineinfile decided: the file as probed and read, its new content, and whether (and with
/// which message) the content changes.
struct EditAction {
    probe: filewrite::Probe,
    original: Vec<u8>,
    new: Vec<u8>,
    changed: bool,
    msg: String,
    found: Option<usize>,
}

/// Writes through `write_validated`, turning a validation failure into Ansible's message.
pub(crate) fn write_checked(
    ctx: &mut ModuleCtx,
    dest: &str,
    data: &[u8],
    attrs: &Attrs,
    validate: Option<&str>,
) -> Result<(), ModuleError> {
    match filewrite::write_validated(ctx.conn, dest, data, attrs, validate) {
        Ok(_) => Ok(()),
        Err(WriteError::Validate(v)) => {
            Err(ModuleError::msg(format!("failed to validate: rc:{} error:{}", v.rc, v.stderr)))
        }
        Err(WriteError::Module(e)) => Err(e),
    }
}

#[cfg(test)]
#[path = "lineinfile_tests.rs"]
mod tests;

#[cfg(test)]
mod two_phase_tests {
    use serde_json::json;

    use super::Lineinfile;
    use crate::builtin::test_support::{assert_edit_decided_then_applied, assert_mode_decided_then_applied};

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        assert_edit_decided_then_applied(
            &Lineinfile,
            |p| json!({"path": p, "regexp": "^b=", "line": "b=9"}),
            "a=1\nb=2\n",
            "a=1\nb=9\n",
        );
    }

    #[test]
    fn attributes_alone_are_decided_then_applied() {
        assert_mode_decided_then_applied(
            &Lineinfile,
            |p| json!({"path": p, "regexp": "^b=", "line": "b=9"}),
            "a=1\nb=9\n",
        );
    }
}
