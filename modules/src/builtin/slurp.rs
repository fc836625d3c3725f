//! `slurp`: returns a host file's content base64-encoded, as Ansible's `slurp`.

use base64::Engine;
use serde::Deserialize;

use crate::connection::Connection;
use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `slurp` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct SlurpArgs {
    /// The file to read on the host.
    #[serde(alias = "path", deserialize_with = "crate::args::string")]
    pub src: String,
}

/// The `slurp` module.
pub struct Slurp;

/// What a host says about a file before it is read: the cases Ansible's `slurp` tells apart by
/// the error of its `open()` (ENOENT, EACCES, EISDIR, anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteFile {
    /// Nothing at that path (ENOENT).
    Missing,
    /// A directory the connecting (or become) user can read (`open()` gives EISDIR).
    Directory,
    /// A directory that user cannot read (`open()` gives EACCES before it sees a directory).
    UnreadableDirectory,
    /// Exists, or lies in a directory that user cannot search, and cannot be read (EACCES).
    Unreadable,
    /// A component of the path is not a directory (ENOTDIR, e.g. `file.txt/x`).
    NotADirectory,
    /// A readable file with its SHA-1 (links followed).
    File(String),
}

/// Checks `path` on the host in one command: missing, directory, unreadable, or its SHA-1.
/// A missing path is told apart as `open()` would: the nearest ancestor that exists decides
/// (not a directory: ENOTDIR; a directory the user cannot search: EACCES; else ENOENT).
pub fn check_remote_file(conn: &mut dyn Connection, path: &str) -> Result<RemoteFile, ModuleError> {
    let cmd = format!(
        "p={}; if [ -d \"$p\" ]; then if [ -r \"$p\" ]; then echo D; else echo DR; fi; \
         elif [ -e \"$p\" ]; then if [ -r \"$p\" ]; then sha1sum < \"$p\"; else echo R; fi; \
         else a=$p; while :; do case $a in */*) a=${{a%/*}}; [ -n \"$a\" ] || a=/ ;; *) a=. ;; esac; \
         [ -e \"$a\" ] && break; case $a in /|.) break ;; esac; done; \
         if [ ! -d \"$a\" ]; then echo N; elif [ ! -x \"$a\" ]; then echo R; else echo M; fi; fi",
        quote(path)
    );
    let out = conn.exec(&cmd, None)?;
    let text = out.stdout_str();
    Ok(match text.trim() {
        "D" => RemoteFile::Directory,
        "DR" => RemoteFile::UnreadableDirectory,
        "M" => RemoteFile::Missing,
        "R" => RemoteFile::Unreadable,
        "N" => RemoteFile::NotADirectory,
        s if s.len() >= 40 => RemoteFile::File(s[..40].to_string()),
        _ => return Err(ModuleError::msg(format!("Unable to slurp file: {}", out.stderr_str().trim()))),
    })
}

impl TypedModule for Slurp {
    type Args = SlurpArgs;
    const NAME: &'static str = "slurp";

    const DOC: ModuleText = ModuleText {
        short: "Reads a file on the host and returns its content base64-encoded.",
        notes: "The whole file comes through the connection, so it is meant for small files; decode it with the \
                `b64decode` filter. A missing path, a directory or an unreadable file fails with Ansible's messages. \
                The host needs `sha1sum` for the check made before the read. Never changes anything; runs in check \
                mode too.",
        returns: &[
            ("content", "The file's bytes, base64-encoded."),
            ("source", "The path read."),
            ("encoding", "Always `base64`."),
        ],
        example: "- name: Read the cluster join token\n  \
                  ansible.builtin.slurp:\n    \
                  src: /var/lib/cluster/token\n  \
                  register: token\n",
    };

    fn run(&self, a: SlurpArgs, ctx: &mut ModuleCtx) -> RunResult {
        let src = a.src;
        match check_remote_file(ctx.conn, &src)? {
            RemoteFile::Missing => return Err(ModuleError::msg(format!("File not found: {src}"))),
            RemoteFile::Directory => {
                return Err(ModuleError::msg(format!("Source is a directory and must be a file: {src}")))
            }
            RemoteFile::Unreadable | RemoteFile::UnreadableDirectory => {
                return Err(ModuleError::msg(format!("File is not readable: {src}")))
            }
            // Ansible's message for any other error is this literal text: its format string
            // lacks the `f` prefix (lib/ansible/modules/slurp.py, 2.19), so it names no path.
            RemoteFile::NotADirectory => return Err(ModuleError::msg("Unable to slurp file: {source}")),
            RemoteFile::File(_) => {}
        }
        let data = ctx.conn.read_file(&src)?.ok_or_else(|| ModuleError::msg(format!("File not found: {src}")))?;
        Ok(ModuleResult::ok()
            .with("content", base64::engine::general_purpose::STANDARD.encode(data))
            .with("source", src)
            .with("encoding", "base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;

    #[test]
    fn reads_base64_and_reports_missing_and_dirs() {
        let mut sb = Sandbox::new();
        let p = sb.write("a.txt", "hello\n");
        let r = sb.ok(&Slurp, json!({"src": p}));
        assert_eq!(r.data["content"], "aGVsbG8K");
        assert_eq!(r.data["encoding"], "base64");
        assert!(!r.changed);
        let missing = sb.path("nope");
        let e = sb.run(&Slurp, json!({"path": missing}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), format!("File not found: {missing}"));
        let dir = sb.path("");
        let e = sb.run(&Slurp, json!({"src": dir}), false, false).unwrap_err();
        assert!(fail_msg(e).starts_with("Source is a directory"));
    }

    #[test]
    fn tells_a_file_used_as_a_directory_from_a_missing_file() {
        // As `open()` does: ENOTDIR under a file, ENOENT under a missing directory.
        let mut sb = Sandbox::new();
        let file = sb.write("qux.txt", "Hello");
        let e = sb.run(&Slurp, json!({"src": format!("{file}/somefile")}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), "Unable to slurp file: {source}");
        let e = sb.run(&Slurp, json!({"src": format!("{file}/a/b/")}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), "Unable to slurp file: {source}");
        let deep = sb.path("no/such/dir/f");
        let e = sb.run(&Slurp, json!({"src": deep}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), format!("File not found: {deep}"));
        assert_eq!(check_remote_file(&mut sb.conn, "no-such-relative-file").unwrap(), RemoteFile::Missing);
    }
}
