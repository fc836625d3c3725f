//! `blockinfile`: inserts, updates or removes a block of lines between marker lines, producing the
//! same bytes as Ansible's module so that blocks written by either tool are recognised by the other.

use serde::Deserialize;

use crate::args::Mode;
use crate::builtin::lineinfile::{write_checked, PresentAbsent};
use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite;
use crate::pyre;
use crate::shell_quote::quote;

/// `blockinfile` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct BlockinfileArgs {
    /// The file to edit.
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    /// present or absent.
    #[serde(default)]
    pub state: PresentAbsent,
    /// Marker line template; `{mark}` becomes `marker_begin` or `marker_end`.
    #[serde(default = "default_marker", deserialize_with = "crate::args::string")]
    pub marker: String,
    /// The text between the markers.
    #[serde(default, alias = "content", deserialize_with = "crate::args::string")]
    pub block: String,
    /// Insert after the last line matching this regex, or `EOF`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub insertafter: Option<String>,
    /// Insert before the last line matching this regex, or `BOF`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub insertbefore: Option<String>,
    /// Create the file when missing.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub create: bool,
    /// Keep a timestamped copy of the old file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// Command run on the new content (`%s` = its path) before it replaces the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub validate: Option<String>,
    /// Replaces `{mark}` in the opening marker.
    #[serde(default = "default_begin", deserialize_with = "crate::args::string")]
    pub marker_begin: String,
    /// Replaces `{mark}` in the closing marker.
    #[serde(default = "default_end", deserialize_with = "crate::args::string")]
    pub marker_end: String,
    /// Add a blank line after the block unless one is there.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub append_newline: bool,
    /// Add a blank line before the block unless one is there.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub prepend_newline: bool,
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

fn default_marker() -> String {
    "# {mark} ANSIBLE MANAGED BLOCK".into()
}
fn default_begin() -> String {
    "BEGIN".into()
}
fn default_end() -> String {
    "END".into()
}

/// The `blockinfile` module.
pub struct Blockinfile;

/// Ansible's block placement on `original` (`None` = the file does not exist); returns the new
/// content and the message ("" when unchanged).
pub fn edit(original: Option<&[u8]>, a: &BlockinfileArgs) -> Result<(Vec<u8>, &'static str), String> {
    let present = a.state == PresentAbsent::Present;
    let mut lines = pyre::splitlines_keepends(original.unwrap_or_default());
    let (insertafter, insertbefore) = match (&a.insertafter, &a.insertbefore) {
        (None, None) => (Some("EOF".to_string()), None),
        (ia, ib) => (ia.clone(), ib.clone()),
    };
    let insert_pat = match (insertafter.as_deref(), insertbefore.as_deref()) {
        (Some(ia), _) if ia != "EOF" => Some(ia.to_string()),
        (None, Some(ib)) if ib != "BOF" => Some(ib.to_string()),
        _ => None,
    };
    let insertre = insert_pat.as_deref().map(pyre::compile).transpose()?;
    let marker0 = format!("{}\n", a.marker.replace("{mark}", &a.marker_begin)).into_bytes();
    let marker1 = format!("{}\n", a.marker.replace("{mark}", &a.marker_end)).into_bytes();
    let blocklines: Vec<Vec<u8>> = if present && !a.block.is_empty() {
        let mut block = a.block.clone().into_bytes();
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(pyre::splitlines_keepends(&block));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let mut n0: usize = match (n0, n1) {
        (Some(b), Some(e)) if b < e => {
            lines.drain(b..=e);
            b
        }
        (Some(b), Some(e)) => {
            lines.drain(e..=b);
            e
        }
        _ => match (&insertre, &insert_pat) {
            (Some(re), Some(pat)) => {
                let mut found = None;
                if pyre::is_multiline(pat) {
                    let text = original.unwrap_or_default();
                    if let Some((start, end)) = re.find(text) {
                        let upto = if insertafter.is_some() { end } else { start };
                        found = Some(text[..upto].iter().filter(|b| **b == b'\n').count());
                    }
                } else {
                    for (i, l) in lines.iter().enumerate() {
                        if pyre::search_line(re, l) {
                            found = Some(i);
                        }
                    }
                }
                match found {
                    None => lines.len(),
                    Some(n) if insertafter.is_some() => n + 1,
                    Some(n) => n,
                }
            }
            _ if insertbefore.is_some() => 0,
            _ => lines.len(),
        },
    };
    if n0 > 0 && !lines[n0 - 1].ends_with(b"\n") {
        lines[n0 - 1].push(b'\n');
    }
    if a.prepend_newline && present && n0 != 0 && lines[n0 - 1] != b"\n" {
        lines.insert(n0, b"\n".to_vec());
        n0 += 1;
    }
    let nblock = blocklines.len();
    lines.splice(n0..n0, blocklines);
    if a.append_newline && present {
        let after = n0 + nblock;
        if after < lines.len() && lines[after] != b"\n" {
            lines.insert(after, b"\n".to_vec());
        }
    }
    let result = lines.concat();
    let msg = match original {
        Some(o) if o == result.as_slice() => "",
        None => "File created",
        _ if nblock == 0 => "Block removed",
        _ => "Block inserted",
    };
    Ok((result, msg))
}

impl TypedModule for Blockinfile {
    type Args = BlockinfileArgs;
    const NAME: &'static str = "blockinfile";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Inserts, updates or removes a block of lines between two marker lines in a text file.",
        notes: "The markers and the placement are Ansible's byte for byte, so a block written by Ansible is found and \
                updated, and the other way round. An empty `block` removes the block. The block goes after (or \
                before) the last line `insertafter` (or `insertbefore`) matches, at the end by default; these are \
                Python regular expressions run on Rust's regex engine, so look-around assertions and backreferences \
                are not supported. With `create`, missing parent directories are created. The new content is written \
                to a temporary file beside path, checked with `validate`, then renamed into place; check mode \
                computes it without writing.",
        returns: &[
            ("backup_file", "The backup's path, when `backup: true` made one."),
            ("rc", "On failure: 256 when path is a directory, 257 when it is missing and `create` is false."),
            ("diff", "With --diff: the content before and after (and the attributes that changed)."),
        ],
        example: "- name: Add the internal hosts\n  \
                  ansible.builtin.blockinfile:\n    \
                  path: /etc/hosts\n    \
                  marker: \"# {mark} internal hosts\"\n    \
                  block: |\n      \
                  10.0.0.10 db1\n      \
                  10.0.0.11 db2\n",
    };

    fn check_args(a: &BlockinfileArgs) -> Result<(), ArgError> {
        if a.insertafter.is_some() && a.insertbefore.is_some() {
            return Err(ArgError { msg: "parameters are mutually exclusive: insertbefore|insertafter".into() });
        }
        Ok(())
    }

    fn first_probe(a: &BlockinfileArgs) -> Option<String> {
        Some(filewrite::probe_cmd(&a.path, true, filewrite::Read::Small))
    }

    fn decide(&self, a: &BlockinfileArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let path = a.path.clone();
        let mut probe = filewrite::probe(ctx.conn, &path, true, filewrite::Read::Small)?;
        if probe.stat.as_ref().is_some_and(|s| s.file_type == FileType::Directory) {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed(format!("Path {path} is a directory !")).with("rc", 256),
            )));
        }
        let exists = probe.stat.is_some();
        if !exists && !a.create {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed(format!("Path {path} does not exist !")).with("rc", 257),
            )));
        }
        if !exists && a.state == PresentAbsent::Absent {
            let observed = crate::observe::path_state(&path, None, None);
            return Ok(Decision::unchanged(ModuleResult::ok().with_msg(format!("File {path} not present")), observed));
        }
        let original = match probe.content.take() {
            // A small file came with the probe (the same bytes: `stat`'s size checked them).
            Some(c) if exists => Some(c),
            _ if exists => Some(ctx.conn.read_file(&probe.realpath)?.unwrap_or_default()),
            _ => None,
        };
        let sha1 = original.as_deref().map(crate::fileops::sha1_hex);
        let observed = crate::observe::path_state(&path, probe.stat.as_ref(), sha1.as_deref());
        let (result, msg) = edit(original.as_deref(), a).map_err(ModuleError::msg)?;
        let changed = !msg.is_empty();
        let attrs = attrs_of(a);
        let before = original.as_deref().unwrap_or_default();
        let content = (before, result.as_slice());
        let res = filewrite::edit_result(ctx.conn, &path, &probe, &attrs, true, content, changed, msg.to_string())?;
        let action = BlockAction { probe, original, new: result, changed, msg: msg.to_string() };
        Ok(Decision { result: res, observed, action: Box::new(action) })
    }

    fn apply(&self, a: BlockinfileArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<BlockAction>(Self::NAME)?;
        let BlockAction { probe, original, new: result, changed, msg } = act;
        let path = a.path.clone();
        let exists = probe.stat.is_some();
        let attrs = attrs_of(&a);
        let mut backup_file = None;
        if changed {
            if !exists && !probe.parent_exists {
                let dir = filewrite::dirname(&path);
                if !dir.is_empty() {
                    let out = ctx.conn.exec(&format!("mkdir -p -- {}", quote(dir)), None)?;
                    if out.rc != 0 {
                        return Err(ModuleError::msg(format!(
                            "Error creating {dir} Error: {}",
                            out.stderr_str().trim()
                        )));
                    }
                }
            }
            if a.backup && exists {
                backup_file = Some(filewrite::backup(ctx.conn, &probe.realpath)?);
            }
            write_checked(ctx, &probe.realpath, &result, &attrs, a.validate.as_deref())?;
        }
        let before = original.as_deref().unwrap_or_default();
        let content = (before, result.as_slice());
        let mut res = filewrite::edit_result(ctx.conn, &path, &probe, &attrs, false, content, changed, msg)?;
        if let Some(b) = backup_file {
            res = res.with("backup_file", b);
        }
        Ok(res)
    }
}

fn attrs_of(a: &BlockinfileArgs) -> Attrs {
    Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() }
}

/// What blockinfile decided: the file as probed and read (`None`: missing), its new content, and
/// whether (and with which message) the content changes.
struct BlockAction {
    probe: filewrite::Probe,
    original: Option<Vec<u8>>,
    new: Vec<u8>,
    changed: bool,
    msg: String,
}

#[cfg(test)]
#[path = "blockinfile_tests.rs"]
mod tests;

#[cfg(test)]
mod two_phase_tests {
    use serde_json::json;

    use super::Blockinfile;
    use crate::builtin::test_support::{assert_edit_decided_then_applied, assert_mode_decided_then_applied};

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        assert_edit_decided_then_applied(
            &Blockinfile,
            |p| json!({"path": p, "block": "b=9"}),
            "a=1\nb=2\n",
            "a=1\nb=2\n# BEGIN ANSIBLE MANAGED BLOCK\nb=9\n# END ANSIBLE MANAGED BLOCK\n",
        );
    }

    #[test]
    fn attributes_alone_are_decided_then_applied() {
        assert_mode_decided_then_applied(
            &Blockinfile,
            |p| json!({"path": p, "block": "b=9"}),
            "a=1\nb=2\n# BEGIN ANSIBLE MANAGED BLOCK\nb=9\n# END ANSIBLE MANAGED BLOCK\n",
        );
    }
}
