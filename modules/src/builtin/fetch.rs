//! `fetch`: copies a file from the host to the controller, by default to
//! `dest/<inventory_hostname>/<src path>`, as Ansible's `fetch` action (skipped in check mode,
//! unchanged when the local copy already has the remote checksum).

use std::path::{Component, Path, PathBuf};

use md5::{Digest, Md5};
use serde::Deserialize;

use crate::builtin::slurp::{check_remote_file, RemoteFile};
use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::sha1_hex;

/// `fetch` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// The file on the host.
    #[serde(deserialize_with = "crate::args::string")]
    pub src: String,
    /// Where to put it on the controller (a directory unless `flat`).
    #[serde(deserialize_with = "crate::args::string")]
    pub dest: String,
    /// Use `dest` as the file name (or `dest/` + basename) without the host and path levels.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub flat: bool,
    /// Fail when the remote file is missing or unreadable.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub fail_on_missing: bool,
    /// Fail when the written copy's checksum differs from the remote one.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub validate_checksum: bool,
}

/// The `fetch` module.
pub struct Fetch;

/// Python's `os.path.normpath` for absolute or relative POSIX paths.
pub fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().unwrap_or("")),
            Component::ParentDir => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            _ => {}
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The controller-side path for `src` fetched from `host`, as Ansible computes it.
pub fn local_dest(a: &FetchArgs, host: &str) -> Result<String, String> {
    let dest = if a.flat {
        let mut d = a.dest.clone();
        if Path::new(&d).is_dir() && !d.ends_with('/') {
            return Err(
                "dest is an existing directory, use a trailing slash if you want to fetch src into that directory"
                    .into(),
            );
        }
        if d.ends_with('/') {
            d.push_str(crate::filewrite::basename(&a.src));
            if Path::new(&d).is_dir() {
                return Err(format!(
                    "calculated dest '{d}' is an existing directory, use another path that does not point to an existing directory"
                ));
            }
        }
        d
    } else {
        format!("{}/{}/{}", a.dest, host, a.src)
    };
    Ok(normpath(&dest))
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn write_local(path: &str, data: &[u8]) -> Result<(), String> {
    let p = PathBuf::from(path);
    if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("could not create {}: {e}", parent.display()))?;
    }
    let tmp = format!("{path}.orc-tmp-{:016x}", fastrand::u64(..));
    std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, &p)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Failed to fetch the file: {e}")
    })
}

impl TypedModule for Fetch {
    type Args = FetchArgs;
    const NAME: &'static str = "fetch";

    const DOC: ModuleText = ModuleText {
        short: "Copies a file from the host to the controller, by default to `dest/HOST/PATH` (HOST being the \
                inventory name).",
        notes: "With `flat: true`, `dest` is the file to write, or with a trailing `/` the directory to write it in. \
                One command checks the remote file (missing, unreadable, a directory, or its SHA-1 with `sha1sum`); \
                it is not transferred when the controller's copy has the same checksum. A missing or unreadable file \
                fails the task unless `fail_on_missing: false`; a directory always fails. The controller's file is \
                written atomically, its directories created. Check mode: skipped, as in Ansible.",
        returns: &[
            ("dest", "The path written on the controller."),
            ("file", "The remote path (when nothing was transferred)."),
            ("checksum", "SHA-1 of the controller's copy."),
            ("md5sum", "MD5 of the controller's copy."),
            ("remote_checksum", "SHA-1 of the remote file, when it was transferred."),
            ("remote_md5sum", "Always null, as in Ansible."),
        ],
        example: "- name: Collect each host's nginx configuration\n  \
                  ansible.builtin.fetch:\n    \
                  src: /etc/nginx/nginx.conf\n    \
                  dest: fetched/\n",
    };

    fn run(&self, a: FetchArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            let mut r = ModuleResult::ok().with_msg("check mode not (yet) supported for this module");
            r.skipped = true;
            return Ok(r);
        }
        let mut a = a;
        a.src = crate::sh_words::expand_user(ctx, &a.src)?;
        let src = a.src.clone();
        let remote_sum = match check_remote_file(ctx.conn, &src)? {
            RemoteFile::File(s) => s,
            other => {
                let msg = match other {
                    RemoteFile::Directory | RemoteFile::UnreadableDirectory => {
                        "remote file is a directory, fetch cannot work on directories"
                    }
                    RemoteFile::Unreadable => "no read permission on remote file",
                    _ => "the remote file does not exist, not transferring, ignored",
                };
                let r = ModuleResult::ok().with("file", src.clone());
                if a.fail_on_missing || matches!(other, RemoteFile::Directory | RemoteFile::UnreadableDirectory) {
                    return Err(ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("file", src))));
                }
                let msg = if msg.ends_with("ignored") {
                    msg.to_string()
                } else {
                    format!("{msg}, not transferring, ignored")
                };
                return Ok(r.with_msg(msg));
            }
        };
        let dest = local_dest(&a, ctx.conn.host()).map_err(ModuleError::msg)?;
        if let Ok(local) = std::fs::read(&dest) {
            if sha1_hex(&local) == remote_sum {
                return Ok(ModuleResult::ok()
                    .with("md5sum", md5_hex(&local))
                    .with("file", src)
                    .with("dest", dest)
                    .with("checksum", remote_sum));
            }
        }
        let data = ctx
            .conn
            .read_file(&src)?
            .ok_or_else(|| ModuleError::msg("the remote file does not exist, not transferring, ignored".to_string()))?;
        write_local(&dest, &data).map_err(ModuleError::msg)?;
        let new_sum = sha1_hex(&data);
        let md5 = md5_hex(&data);
        if a.validate_checksum && new_sum != remote_sum {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed("checksum mismatch")
                    .with("md5sum", md5)
                    .with("file", src)
                    .with("dest", dest)
                    .with("remote_md5sum", serde_json::Value::Null)
                    .with("checksum", new_sum)
                    .with("remote_checksum", remote_sum),
            )));
        }
        Ok(ModuleResult::changed(true)
            .with("md5sum", md5)
            .with("dest", dest)
            .with("remote_md5sum", serde_json::Value::Null)
            .with("checksum", new_sum)
            .with("remote_checksum", remote_sum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;

    #[test]
    fn dest_layout_like_ansible() {
        let a = |dest: &str, flat: bool| FetchArgs {
            src: "/etc/hosts".into(),
            dest: dest.into(),
            flat,
            fail_on_missing: true,
            validate_checksum: true,
        };
        assert_eq!(local_dest(&a("/tmp/f", false), "web1").unwrap(), "/tmp/f/web1/etc/hosts");
        assert_eq!(local_dest(&a("out/", false), "web1").unwrap(), "out/web1/etc/hosts");
        assert_eq!(local_dest(&a("/nonexistent-orc/x/", true), "web1").unwrap(), "/nonexistent-orc/x/hosts");
        assert_eq!(local_dest(&a("/nonexistent-orc/y.txt", true), "w").unwrap(), "/nonexistent-orc/y.txt");
        assert!(local_dest(&a("/tmp", true), "w").is_err());
        assert_eq!(normpath("a/../b/./c"), "b/c");
    }

    #[test]
    fn fetches_once_then_unchanged() {
        let mut sb = Sandbox::new();
        let src = sb.write("remote/app.conf", "x=1\n");
        let dest = sb.path("fetched");
        let r = sb.ok(&Fetch, json!({"src": src, "dest": dest}));
        assert!(r.changed);
        let local = format!("{dest}/localhost{src}");
        assert_eq!(r.data["dest"], json!(local));
        assert_eq!(std::fs::read_to_string(&local).unwrap(), "x=1\n");
        assert_eq!(r.data["md5sum"], "f968f33f844c98de1d3b4fe70f2e1a0f");
        let r = sb.ok(&Fetch, json!({"src": src, "dest": dest}));
        assert!(!r.changed);
        let missing = sb.path("remote/nope");
        let e = sb.run(&Fetch, json!({"src": missing, "dest": dest}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), "the remote file does not exist, not transferring, ignored");
        let r = sb.run(&Fetch, json!({"src": missing, "dest": dest, "fail_on_missing": false}), false, false).unwrap();
        assert!(!r.changed && !r.failed);
        let r = sb.run(&Fetch, json!({"src": src, "dest": dest}), true, false).unwrap();
        assert!(r.skipped);
    }
}
