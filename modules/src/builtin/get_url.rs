//! `get_url`: downloads a URL FROM THE MANAGED HOST (through a TCP stream the host opens,
//! `super::http_direct`; curl or wget there only when sshd forbids forwarding) into a temp file
//! next to the destination, verifies the checksum, then renames it into place atomically. Idempotent the
//! way Ansible's module is: an existing file whose checksum matches `checksum` is not downloaded
//! again; otherwise an existing file is only replaced when the server sends different content
//! (`If-Modified-Since` from its mtime unless `force`, then a SHA-1 comparison).

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use crate::args::Mode;
use crate::builtin::http_client::{self, Request, Response, Tool};
use crate::builtin::http_direct;
use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{Attrs, FileType};
use crate::filewrite;
use crate::shell_quote::quote;

/// `get_url` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct GetUrlArgs {
    /// http, https, ftp or file URL.
    #[serde(deserialize_with = "crate::args::string")]
    pub url: String,
    /// Destination file, or a directory (the file name then comes from the response).
    #[serde(deserialize_with = "crate::args::string")]
    pub dest: String,
    /// `algorithm:hexdigest` or `algorithm:URL-of-a-checksum-file`.
    #[serde(default, deserialize_with = "crate::args::string")]
    pub checksum: String,
    /// Permissions of the file.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// Download even when the file exists (and replace it when the content differs).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Request headers: a mapping or `name:value` pairs.
    #[serde(default, deserialize_with = "http_client::headers_arg")]
    pub headers: Vec<(String, String)>,
    /// Seconds the request may take.
    #[serde(default = "ten", deserialize_with = "u64_arg")]
    pub timeout: u64,
    /// Basic-auth user.
    #[serde(default, alias = "username", deserialize_with = "crate::args::opt_string")]
    pub url_username: Option<String>,
    /// Basic-auth password.
    #[serde(default, alias = "password", deserialize_with = "crate::args::opt_string")]
    pub url_password: Option<String>,
    /// Send credentials without waiting for a 401 challenge.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_basic_auth: bool,
    /// Verify TLS certificates.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub validate_certs: bool,
    /// Keep a timestamped copy of a replaced file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// Directory for the temp file (default: the destination's directory).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub tmp_dest: Option<String>,
    /// User-Agent header.
    #[serde(default = "agent", deserialize_with = "crate::args::string")]
    pub http_agent: String,
    /// Accepted for compatibility; orc connects from the host without a proxy (curl or wget, the
    /// fallback, honour the host's proxy environment).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub use_proxy: bool,
}

fn ten() -> u64 {
    10
}
fn agent() -> String {
    "ansible-httpget".into()
}

/// A whole-number argument also given as a string.
pub(crate) fn u64_arg<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::de::Error;
    crate::args::opt_u64(d)?.ok_or_else(|| D::Error::custom("expected a whole number"))
}

/// Hash algorithms `checksum` accepts, with the coreutils program computing each.
const ALGORITHMS: &[(&str, &str)] = &[
    ("md5", "md5sum"),
    ("sha1", "sha1sum"),
    ("sha224", "sha224sum"),
    ("sha256", "sha256sum"),
    ("sha384", "sha384sum"),
    ("sha512", "sha512sum"),
];

/// The parsed `checksum` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// Algorithm name (`sha256`).
    pub algorithm: String,
    /// The expected digest, or a URL of a checksum file.
    pub value: String,
}

/// Splits `algorithm:value`; the error is Ansible's message.
pub fn parse_checksum(s: &str) -> Result<Option<Checksum>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let (algorithm, value) =
        s.split_once(':').ok_or("The checksum parameter has to be in format <algorithm>:<checksum>")?;
    let algorithm = algorithm.to_lowercase();
    if !ALGORITHMS.iter().any(|(a, _)| *a == algorithm) {
        let names: Vec<&str> = ALGORITHMS.iter().map(|(a, _)| *a).collect();
        return Err(format!(
            "Could not hash file with algorithm '{algorithm}'. Available algorithms: {}",
            names.join(", ")
        ));
    }
    Ok(Some(Checksum { algorithm, value: value.to_string() }))
}

fn hash_program(algorithm: &str) -> &'static str {
    ALGORITHMS.iter().find(|(a, _)| *a == algorithm).map(|(_, p)| *p).unwrap_or("sha1sum")
}

/// Whether a checksum value is a URL to fetch.
pub fn is_url(s: &str) -> bool {
    ["http://", "https://", "ftp://", "file:/"].iter().any(|p| s.starts_with(p))
}

/// Ansible's normalisation of a digest (non-word characters removed, lower case); `None` when it
/// is not hex.
pub fn normalize_digest(s: &str) -> Option<String> {
    let d: String = s.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect::<String>().to_lowercase();
    if !d.is_empty() && d.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(d)
    } else {
        None
    }
}

/// The last path component of a URL (`index.html` when empty), as Ansible's `url_filename`.
pub fn url_filename(url: &str) -> String {
    let path = url.split_once("://").map(|(_, r)| r.find('/').map(|i| &r[i..]).unwrap_or("")).unwrap_or(url);
    let path = path.split(['?', '#']).next().unwrap_or("");
    match filewrite::basename(path) {
        "" => "index.html".into(),
        f => f.to_string(),
    }
}

/// Digest lines of a checksum file (GNU `digest  name`, `digest *name`, BSD `ALGO (name) = digest`,
/// or a lone digest) as (digest, file name) pairs.
pub fn parse_digest_lines(filename: &str, text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
        return vec![(lines[0].trim().to_string(), filename.to_string())];
    }
    let mut out = Vec::new();
    for line in lines {
        let line = line.trim_end();
        if let (Some(open), Some(eq)) = (line.find(" ("), line.rfind(") = ")) {
            if open < eq {
                out.push((line[eq + 4..].to_string(), line[open + 2..eq].to_string()));
                continue;
            }
        }
        if let Some((digest, rest)) = line.split_once(' ') {
            let path = rest.strip_prefix(['*', ' ']).unwrap_or(rest);
            let path = path.strip_prefix("./").unwrap_or(path);
            out.push((digest.to_string(), path.to_string()));
        }
    }
    out
}

/// The file name of a `Content-Disposition` header, if it has one.
pub fn disposition_filename(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let name = filewrite::basename(v.trim().trim_matches('"')).to_string();
        (!name.is_empty()).then_some(name)
    })
}

/// The `get_url` module.
pub struct GetUrl;

/// What the first probe learns about the destination and the host.
#[derive(Debug, Default)]
struct DestProbe {
    tool: Option<Tool>,
    is_dir: bool,
    exists: bool,
    digest: Option<String>,
}

fn probe_dest(ctx: &mut ModuleCtx, dest: &str, algorithm: Option<&str>) -> Result<DestProbe, ModuleError> {
    let hash =
        algorithm.map(|a| format!("echo \"A:$({} < \"$p\" 2>/dev/null)\";", hash_program(a))).unwrap_or_default();
    let cmd = format!(
        "{}; p={}; if [ -d \"$p\" ]; then echo DIR; elif [ -e \"$p\" ]; then echo EXISTS; {hash} fi",
        http_client::probe_tools_cmd(),
        quote(dest)
    );
    let out = ctx.conn.exec(&cmd, None)?;
    let text = out.stdout_str();
    Ok(DestProbe {
        tool: http_client::pick_tool(&text),
        is_dir: text.lines().any(|l| l == "DIR"),
        exists: text.lines().any(|l| l == "EXISTS"),
        digest: text
            .lines()
            .find_map(|l| l.strip_prefix("A:"))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string),
    })
}

fn base_result(url: &str, dest: &str) -> ModuleResult {
    ModuleResult::ok()
        .with("url", http_client::strip_userinfo(url))
        .with("dest", dest.to_string())
        .with("checksum_dest", Value::Null)
        .with("checksum_src", Value::Null)
        .with("elapsed", 0)
}

/// Adds a fallback's warning to the result's `warnings`.
fn add_warning(res: &mut ModuleResult, warning: Option<String>) {
    if let Some(w) = warning {
        let list = res.data.entry("warnings").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            if !items.contains(&Value::String(w.clone())) {
                items.push(Value::String(w));
            }
        }
    }
}

fn fail_with(res: &ModuleResult, msg: impl Into<String>) -> ModuleError {
    let mut r = res.clone();
    r.failed = true;
    r.msg = Some(msg.into());
    ModuleError::Fail(Box::new(r))
}

impl GetUrl {
    fn request(&self, a: &GetUrlArgs, url: &str) -> Request {
        let mut headers = vec![("User-Agent".to_string(), a.http_agent.clone())];
        headers.extend(a.headers.iter().cloned());
        Request {
            url: url.to_string(),
            method: "GET".into(),
            headers,
            user: a.url_username.clone(),
            password: a.url_password.clone(),
            force_basic_auth: a.force_basic_auth,
            timeout: a.timeout,
            validate_certs: a.validate_certs,
            follow: true,
            ..Request::default()
        }
    }

    /// Fetches a checksum file and finds the digest for the URL's file name.
    fn remote_checksum(
        &self,
        ctx: &mut ModuleCtx,
        a: &GetUrlArgs,
        tool: Option<Tool>,
        checksum_url: &str,
        res: &mut ModuleResult,
    ) -> Result<String, ModuleError> {
        let (resp, warning) =
            http_direct::request_or_fallback(ctx.conn, &self.request(a, checksum_url), None, tool, "get_url")?;
        add_warning(res, warning);
        if resp.status != 200 {
            return Err(fail_with(res, format!("Request failed: {}", resp.msg())));
        }
        let filename = url_filename(&a.url);
        let text = String::from_utf8_lossy(&resp.body);
        parse_digest_lines(&filename, &text).into_iter().find(|(_, f)| *f == filename).map(|(d, _)| d).ok_or_else(
            || {
                ModuleError::msg(format!(
                    "Unable to find a checksum for file '{filename}' in '{}'",
                    http_client::strip_userinfo(checksum_url)
                ))
            },
        )
    }
}

impl TypedModule for GetUrl {
    type Args = GetUrlArgs;
    const NAME: &'static str = "get_url";

    const DOC: ModuleText = ModuleText {
        short: "Downloads a file from a URL to a path on the host; the request leaves from the host, which needs \
                nothing installed.",
        notes: "The download goes to a temporary file beside dest (or in `tmp_dest`), is checked against `checksum`, \
                then renamed into place; a replaced file keeps its mode and owner. As in Ansible, an existing dest \
                whose checksum matches `checksum` is not downloaded again; otherwise the request for an existing \
                file carries If-Modified-Since (unless `force`) and the file is replaced only when the content \
                differs. A dest that is a directory takes the file name from Content-Disposition or the URL. \
                `checksum` is `ALGORITHM:DIGEST` or `ALGORITHM:URL` of a checksum file. The request goes through a TCP \
                channel of the host's SSH connection (direct-tcpip: the address is resolved and reached from the \
                host); orc speaks HTTP and TLS itself, checking certificates against the host's CA bundle \
                (`validate_certs: false` skips the check). Only when sshd forbids forwarding do curl or wget on the \
                host download, with a warning saying so. The host needs coreutils' `sha1sum`-style tools. \
                `use_proxy` is accepted; the host's proxy variables are not used. \
                Check mode sends a HEAD request and reports a change unless the server answers 304. Not accepted: \
                `client_cert`, `client_key`, `ciphers`, `decompress`, `unredirected_headers`, `use_gssapi`, \
                `use_netrc`.",
        returns: &[
            ("dest", "The file written (inside dest when dest is a directory)."),
            ("url", "The URL, without credentials."),
            ("status_code", "The HTTP status of the download."),
            ("checksum_src", "SHA-1 of the downloaded content."),
            ("checksum_dest", "SHA-1 of the file that was at dest before, if any."),
            ("md5sum", "MD5 of the downloaded content."),
            ("src", "The temporary file the download went to."),
            ("elapsed", "Seconds the request took."),
            ("backup_file", "The backup's path, when `backup: true` made one."),
            ("mode, owner, group, uid, gid, state, size", "The file's attributes after the task."),
            ("response", "On an HTTP error: the server's message."),
            ("warnings", "When curl or wget on the host downloaded because sshd forbids forwarding: why."),
        ],
        example: "- name: Download the release\n  \
                  ansible.builtin.get_url:\n    \
                  url: https://downloads.example.com/app/app-1.4.0.tar.gz\n    \
                  dest: /opt/releases/app-1.4.0.tar.gz\n    \
                  checksum: sha256:https://downloads.example.com/app/SHA256SUMS\n    \
                  mode: \"0644\"\n",
    };

    fn check_args(a: &GetUrlArgs) -> Result<(), ArgError> {
        parse_checksum(&a.checksum).map_err(|msg| ArgError { msg })?;
        if a.mode == Some(Mode::Preserve) {
            return Err(ArgError { msg: "mode 'preserve' is only valid for copy and template".into() });
        }
        Ok(())
    }

    fn run(&self, a: GetUrlArgs, ctx: &mut ModuleCtx) -> RunResult {
        let attrs = Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() };
        let mut res = base_result(&a.url, &a.dest);
        let checksum = parse_checksum(&a.checksum).map_err(ModuleError::msg)?;
        let probe = probe_dest(ctx, &a.dest, checksum.as_ref().map(|c| c.algorithm.as_str()))?;
        let mut want = None;
        if let Some(c) = &checksum {
            let raw = if is_url(&c.value) {
                self.remote_checksum(ctx, &a, probe.tool, &c.value, &mut res)?
            } else {
                c.value.clone()
            };
            want = Some(normalize_digest(&raw).ok_or_else(|| fail_with(&res, "The checksum format is invalid"))?);
        }
        let mut force = a.force;
        if !probe.is_dir && probe.exists {
            let mismatch = !force && want.is_some() && want != probe.digest;
            if !force && want.is_some() && !mismatch {
                let st = crate::fileops::stat(ctx.conn, &a.dest, true)?
                    .ok_or_else(|| fail_with(&res, format!("{} disappeared", a.dest)))?;
                let (changed, _) = filewrite::fix_attrs(ctx.conn, &a.dest, &st, &attrs, ctx.check)?;
                res.changed = changed;
                let msg =
                    if changed { "file already exists but file attributes changed" } else { "file already exists" };
                return Ok(res.with_msg(msg));
            }
            if mismatch {
                force = true;
            }
        }
        let tmp_dir = match &a.tmp_dest {
            Some(t) => t.clone(),
            None if probe.is_dir => a.dest.clone(),
            None => match filewrite::dirname(&a.dest) {
                "" => ".".to_string(),
                d => d.to_string(),
            },
        };
        let tmp = format!("{}/.orc_get_url.{:016x}.tmp", tmp_dir.trim_end_matches('/'), fastrand::u64(..));
        let mut req = self.request(&a, &a.url);
        if probe.exists && !probe.is_dir && !force {
            req.if_modified_since = Some(a.dest.clone());
        }
        if ctx.check {
            req.method = "HEAD".into();
        } else {
            req.output = Some(tmp.clone());
        }
        let start = Instant::now();
        let (resp, warning) = http_direct::request_or_fallback(ctx.conn, &req, None, probe.tool, "get_url")?;
        add_warning(&mut res, warning);
        let elapsed = start.elapsed().as_secs();
        res = res.with("elapsed", elapsed);
        let cleanup = format!("rm -f -- {}", quote(&tmp));
        if resp.status == 304 {
            ctx.conn.exec(&cleanup, None)?;
            return Ok(res.with("status_code", 304).with_msg(resp.msg()));
        }
        if resp.status < 0 {
            ctx.conn.exec(&cleanup, None)?;
            return Err(fail_with(&res, resp.msg()));
        }
        if resp.status != 200 {
            ctx.conn.exec(&cleanup, None)?;
            return Err(fail_with(
                &res.with("status_code", resp.status).with("response", resp.msg()),
                "Request failed",
            ));
        }
        let mut dest = a.dest.clone();
        if probe.is_dir {
            let name = resp
                .header("content-disposition")
                .and_then(disposition_filename)
                .unwrap_or_else(|| url_filename(&resp.url));
            dest = format!("{}/{name}", a.dest.trim_end_matches('/'));
            res = res.with("dest", dest.clone());
        }
        if ctx.check {
            // Like Ansible, check mode only sends a HEAD request: anything but 304 would change.
            res.changed = true;
            return Ok(res.with_msg(resp.msg()));
        }
        finish_download(ctx, &a, &attrs, &tmp, &dest, want.as_deref(), checksum.as_ref(), &resp, res)
    }
}

/// After a download to `tmp`: verify, compare with `dest`, move into place, fix attributes.
#[allow(clippy::too_many_arguments)]
fn finish_download(
    ctx: &mut ModuleCtx,
    a: &GetUrlArgs,
    attrs: &Attrs,
    tmp: &str,
    dest: &str,
    want: Option<&str>,
    checksum: Option<&Checksum>,
    resp: &Response,
    mut res: ModuleResult,
) -> RunResult {
    let algo = checksum.map(|c| hash_program(&c.algorithm)).unwrap_or("sha1sum");
    let cmd = format!(
        "t={t}; d={d}; [ -r \"$t\" ] || {{ echo NOTMP; exit 0; }}; echo \"S:$(sha1sum < \"$t\")\"; \
         echo \"M:$(md5sum < \"$t\")\"; echo \"A:$({algo} < \"$t\")\"; \
         if [ -e \"$d\" ]; then echo \"D:$(sha1sum < \"$d\" 2>/dev/null)\"; [ -w \"$d\" ] || echo NOWRITE; \
         else [ -d {parent} ] || echo NOPARENT; fi",
        t = quote(tmp),
        d = quote(dest),
        parent = quote(match filewrite::dirname(dest) {
            "" => ".",
            p => p,
        }),
    );
    let out = ctx.conn.exec(&cmd, None)?.stdout_str();
    let field = |p: &str| out.lines().find_map(|l| l.strip_prefix(p)).and_then(|v| v.split_whitespace().next());
    if out.lines().any(|l| l == "NOTMP") {
        return Err(fail_with(&res, format!("Source {tmp} is not readable")));
    }
    let src_sum = field("S:").unwrap_or_default().to_string();
    res = res.with("checksum_src", src_sum.clone()).with("src", tmp.to_string());
    let dest_sum = field("D:").map(str::to_string);
    if let Some(d) = &dest_sum {
        res = res.with("checksum_dest", d.clone());
    }
    let cleanup = format!("rm -f -- {}", quote(tmp));
    if out.lines().any(|l| l == "NOWRITE") {
        ctx.conn.exec(&cleanup, None)?;
        return Err(fail_with(&res, format!("Destination {dest} is not writable")));
    }
    if out.lines().any(|l| l == "NOPARENT") {
        ctx.conn.exec(&cleanup, None)?;
        return Err(fail_with(&res, format!("Destination {} does not exist", filewrite::dirname(dest))));
    }
    if let Some(w) = want {
        let got = field("A:").unwrap_or_default();
        if got != w {
            ctx.conn.exec(&cleanup, None)?;
            return Err(fail_with(&res, format!("The checksum for {tmp} did not match {w}; it was {got}.")));
        }
    }
    let mut changed = false;
    if dest_sum.as_deref() != Some(src_sum.as_str()) {
        if a.backup && dest_sum.is_some() {
            let b = filewrite::backup(ctx.conn, dest)?;
            res = res.with("backup_file", b);
        }
        // As Ansible's atomic_move: a replaced file keeps its mode and owner, a new one gets
        // 0666 minus the umask instead of mktemp's 0600.
        let mv = format!(
            "t={t}; d={d}; if [ -e \"$d\" ]; then chmod --reference=\"$d\" \"$t\" && \
             {{ chown --reference=\"$d\" \"$t\" 2>/dev/null || true; }}; \
             else chmod \"$(printf %o $(( 0666 & ~0$(umask) )))\" \"$t\"; fi && mv -f -- \"$t\" \"$d\" || \
             {{ rc=$?; rm -f -- \"$t\"; exit $rc; }}",
            t = quote(tmp),
            d = quote(dest)
        );
        let o = ctx.conn.exec(&mv, None)?;
        if o.rc != 0 {
            return Err(fail_with(&res, format!("failed to copy {tmp} to {dest}: {}", o.stderr_str().trim())));
        }
        changed = true;
    } else {
        ctx.conn.exec(&cleanup, None)?;
    }
    let st = crate::fileops::stat(ctx.conn, dest, true)?
        .ok_or_else(|| fail_with(&res, format!("{dest} is missing after the download")))?;
    let (attr_changed, st) = if st.file_type == FileType::File {
        filewrite::fix_attrs(ctx.conn, dest, &st, attrs, false)?
    } else {
        (false, st)
    };
    res.changed = changed || attr_changed;
    res = filewrite::with_path_info(res, &st)
        .with("md5sum", field("M:").unwrap_or_default().to_string())
        .with("status_code", resp.status);
    Ok(res.with_msg(resp.msg()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;

    #[test]
    fn checksum_argument() {
        assert_eq!(
            parse_checksum("sha256:ABC").unwrap(),
            Some(Checksum { algorithm: "sha256".into(), value: "ABC".into() })
        );
        assert_eq!(parse_checksum("").unwrap(), None);
        assert!(parse_checksum("abc").unwrap_err().contains("<algorithm>:<checksum>"));
        assert!(parse_checksum("crc:1").unwrap_err().contains("Available algorithms"));
        assert_eq!(normalize_digest("AB:CD"), Some("abcd".into()));
        assert_eq!(normalize_digest("xyz"), None);
    }

    #[test]
    fn digest_files_and_names() {
        let gnu = "aaa  other.tgz\nbbb *app.tgz\n";
        assert_eq!(parse_digest_lines("app.tgz", gnu)[1], ("bbb".into(), "app.tgz".into()));
        assert_eq!(parse_digest_lines("app.tgz", "ccc\n"), vec![("ccc".into(), "app.tgz".into())]);
        assert_eq!(parse_digest_lines("app.tgz", "SHA256 (app.tgz) = ddd\nx y\n")[0], ("ddd".into(), "app.tgz".into()));
        assert_eq!(url_filename("http://h:8/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("http://h/"), "index.html");
        assert_eq!(disposition_filename("attachment; filename=\"r.bin\""), Some("r.bin".into()));
        assert_eq!(disposition_filename("inline"), None);
    }

    #[test]
    fn downloads_a_file_url_then_is_idempotent() {
        let mut sb = Sandbox::new();
        let src = sb.write("src/data.txt", "payload\n");
        std::fs::create_dir_all(sb.path("out")).unwrap();
        let url = format!("file://{src}");
        let dest = sb.path("out/data.txt");
        // A wrong checksum fails and leaves nothing behind.
        let bad = sb.run(
            &GetUrl,
            json!({"url": url, "dest": dest, "checksum": format!("sha256:{}", "0".repeat(64))}),
            false,
            false,
        );
        assert!(fail_msg(bad.unwrap_err()).contains("did not match"));
        assert_eq!(std::fs::read_dir(sb.path("out")).unwrap().count(), 0);
        let real = crate::fileops::sha1_hex(b"payload\n");
        let sha256 = {
            let o = std::process::Command::new("sha256sum").arg(&src).output().unwrap();
            String::from_utf8(o.stdout).unwrap().split_whitespace().next().unwrap().to_string()
        };
        let args = json!({"url": url, "dest": dest, "checksum": format!("sha256:{sha256}"), "mode": "0640"});
        let r = sb.ok(&GetUrl, args.clone());
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["checksum_src"], real);
        assert_eq!(r.data["mode"], "0640");
        assert_eq!(sb.read("out/data.txt"), "payload\n");
        sb.conn.log.clear();
        let again = sb.ok(&GetUrl, args);
        assert!(!again.changed);
        assert_eq!(again.msg.as_deref(), Some("file already exists"));
        assert!(!sb.conn.log.iter().any(|c| c.contains("curl -q")), "no download: {:?}", sb.conn.log);
        // force=yes downloads, but the same content is no change.
        let forced = sb.ok(&GetUrl, json!({"url": url, "dest": dest, "force": true}));
        assert!(!forced.changed, "{forced:?}");
        // New content with force replaces the file.
        std::fs::write(&src, "v2\n").unwrap();
        let r = sb.ok(&GetUrl, json!({"url": url, "dest": sb.path("out/"), "force": true}));
        assert!(r.changed);
        assert_eq!(r.data["dest"], dest);
        assert_eq!(sb.read("out/data.txt"), "v2\n");
        assert_eq!(std::fs::read_dir(sb.path("out")).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn a_host_without_curl_or_wget_downloads_through_a_stream() {
        let (port, server) = crate::builtin::test_support::serve_http("200 OK", b"payload\n".to_vec(), 1);
        let bin = crate::builtin::test_support::path_with_only(&[
            "sh", "sha1sum", "md5sum", "chmod", "chown", "mv", "rm", "stat", "date",
        ]);
        let mut sb = Sandbox::new();
        sb.conn.env.push(("PATH".into(), bin.path().display().to_string()));
        let dest = sb.path("data.txt");
        let r =
            sb.ok(&GetUrl, json!({"url": format!("http://127.0.0.1:{port}/data.txt"), "dest": dest, "mode": "0640"}));
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["status_code"], 200);
        assert_eq!(r.data["checksum_src"], crate::fileops::sha1_hex(b"payload\n"));
        assert_eq!(r.data["mode"], "0640");
        assert_eq!(sb.read("data.txt"), "payload\n");
        assert!(!sb.conn.log.iter().any(|c| c.contains("curl -q") || c.contains("WGETRC")), "{:?}", sb.conn.log);
        server.join().unwrap();
    }
}
