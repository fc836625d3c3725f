//! `uri` and `get_url`'s own HTTP client: the request goes through a TCP stream opened FROM THE
//! MANAGED HOST (`crate::stream`: a `direct-tcpip` channel of its SSH connection, so the address
//! is resolved and reached from the host, as Ansible's module running there would), with HTTP/1.1
//! written by orc (`crate::http1`) and TLS terminated in orc (`crate::tls`). Nothing is needed on
//! the host. When the transport cannot open streams, or sshd forbids forwarding, the caller falls
//! back to curl on the host ([`super::http_client`]) and says so.
//!
//! Redirects follow Ansible's rules (module_utils/urls.py): 307/308 keep the method and body,
//! 301 turns POST into GET, 302/303 turn everything but HEAD into GET; at most 10 hops, as
//! Python's urllib. Basic auth answers a 401 challenge unless `force_basic_auth` sends it up front.

use std::io::{self, Read, Write};
use std::time::Duration;

use base64::Engine;

use super::http_client::{strip_userinfo, Request, Response};
use crate::connection::{ConnError, Connection};
use crate::shell_quote::quote;
use crate::stream::{HostStream, StreamTarget, FORWARDING_FORBIDDEN};
use crate::tls::{self, Trust};

/// Python urllib's `max_redirections`.
const MAX_REDIRECTS: usize = 10;

/// What came of a request.
#[derive(Debug)]
pub enum Outcome {
    /// The request was made (or failed on the network: status -1).
    Done(Response),
    /// This way cannot be used on this host; why, for the fallback's warning.
    Unavailable(String),
}

/// The parts of an `http`/`https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `true` for https.
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (the scheme's default when absent).
    pub port: u16,
    /// Path and query, `/` at least; never the fragment.
    pub path: String,
    /// `user:password@` credentials, percent-decoded.
    pub userinfo: Option<(String, String)>,
    /// `host[:port]` as the `Host` header carries it.
    pub authority: String,
}

/// Percent-decodes URL credentials.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `http://` or `https://` URL; `Err` says what is wrong with it.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("'{url}' is not an http(s) URL"))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        other => return Err(format!("the URL scheme '{other}' is not http or https")),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path = tail.split('#').next().unwrap_or("");
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((ui, hp)) => {
            let (u, p) = ui.split_once(':').unwrap_or((ui, ""));
            (Some((unquote(u), unquote(p))), hp)
        }
        None => (None, authority),
    };
    let default = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| format!("'{url}' has an unclosed '[' in its host"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let port = match port {
        None | Some("") => default,
        Some(p) => p.parse().map_err(|_| format!("'{url}' has an invalid port '{p}'"))?,
    };
    if host.is_empty() {
        return Err(format!("'{url}' has no host"));
    }
    Ok(Url { tls, host, port, path, userinfo, authority: hostport.to_string() })
}

/// Resolves a `Location` against the URL it answered (`urljoin` for the usual cases).
pub fn join_url(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else { return loc.to_string() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(net) = loc.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    if loc.starts_with('/') {
        return format!("{scheme}://{host}{loc}");
    }
    let path = rest[host.len()..].split(['?', '#']).next().unwrap_or("");
    if loc.starts_with('?') {
        return format!("{scheme}://{host}{path}{loc}");
    }
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    format!("{scheme}://{host}{dir}/{loc}")
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The bytes of one request.
fn request_bytes(
    url: &Url,
    method: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    extra: &[(String, String)],
) -> Vec<u8> {
    let given = |name: &str| headers.iter().chain(extra).any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {} HTTP/1.1\r\n", url.path.replace(' ', "%20"));
    let mut line = |k: &str, v: &str| head.push_str(&format!("{k}: {}\r\n", v.replace(['\r', '\n'], " ")));
    if !given("host") {
        line("Host", &url.authority);
    }
    if !given("accept-encoding") {
        line("Accept-Encoding", "identity");
    }
    for (k, v) in headers.iter().chain(extra) {
        if !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("content-length") {
            line(k, v);
        }
    }
    match body {
        Some(b) => line("Content-Length", &b.len().to_string()),
        None if matches!(method, "POST" | "PUT" | "PATCH") => line("Content-Length", "0"),
        None => {}
    }
    line("Connection", "close");
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    out
}

/// A stream with or without TLS. A TLS peer that closes without `close_notify` ends the body
/// (as Python's ssl does for a body read to the end); length and chunk framing still catch a
/// body cut short.
enum Wire {
    Plain(HostStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, HostStream>>),
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.read(buf),
            Wire::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.write(buf),
            Wire::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(s) => s.flush(),
            Wire::Tls(s) => s.flush(),
        }
    }
}

/// What the client needs from the host besides streams, fetched once per request.
struct Session<'a> {
    conn: &'a mut dyn Connection,
    validate_certs: bool,
    ca_path: Option<String>,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Session<'_> {
    /// The trust for https: `ca_path` alone, else the host's CA bundle, else Mozilla's roots.
    fn tls_config(&mut self) -> Result<std::sync::Arc<rustls::ClientConfig>, Failure> {
        if let Some(c) = &self.tls {
            return Ok(c.clone());
        }
        let trust = if !self.validate_certs {
            Trust::Any
        } else if let Some(path) = &self.ca_path {
            match self.conn.read_file(path)? {
                Some(pem) => Trust::Pem { pem, source: format!("ca_path {path}") },
                None => return Err(Failure::Net(format!("ca_path {path} does not exist on the host"))),
            }
        } else {
            let mut found = Trust::Mozilla;
            for path in tls::HOST_CA_BUNDLES {
                if let Some(pem) = self.conn.read_file(path)? {
                    found = Trust::Pem { pem, source: format!("the host's CA bundle {path}") };
                    break;
                }
            }
            found
        };
        let config = tls::client_config(&trust).map_err(Failure::Net)?;
        self.tls = Some(config.clone());
        Ok(config)
    }

    /// One exchange: connect from the host, send, read the answer.
    fn exchange(
        &mut self,
        url: &Url,
        method: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        extra: &[(String, String)],
        timeout: Duration,
    ) -> Result<crate::http1::Message, Failure> {
        let target = StreamTarget::tcp(url.host.clone(), url.port);
        let stream = self.conn.open_stream(&target).map_err(|e| {
            if e.contains(FORWARDING_FORBIDDEN) {
                Failure::Unavailable(e)
            } else {
                Failure::Net(e)
            }
        })?;
        let _ = stream.set_timeouts(Some(timeout));
        let mut wire = if url.tls {
            let config = self.tls_config()?;
            Wire::Tls(Box::new(tls::connect(config, &url.host, stream).map_err(Failure::Net)?))
        } else {
            Wire::Plain(stream)
        };
        let io = |e: io::Error| {
            Failure::Net(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "The read operation timed out".to_string(),
                _ => crate::stream::os_error(&e),
            })
        };
        wire.write_all(&request_bytes(url, method, headers, body, extra)).and_then(|_| wire.flush()).map_err(io)?;
        crate::http1::read_message(&mut wire, "the server", method == "HEAD").map_err(io)
    }
}

/// Why an exchange gave no response.
enum Failure {
    /// The network or the server (status -1, `Request failed: ...`).
    Net(String),
    /// Streams cannot be used here: fall back.
    Unavailable(String),
    /// The host's connection itself broke.
    Conn(ConnError),
}

impl From<ConnError> for Failure {
    fn from(e: ConnError) -> Self {
        Failure::Conn(e)
    }
}

/// `If-Modified-Since` for a host file: its mtime as an HTTP date, `None` when it is missing.
fn modified_since(conn: &mut dyn Connection, path: &str) -> Result<Option<String>, ConnError> {
    let out =
        conn.exec(&format!("LC_ALL=C date -u -r {} '+%a, %d %b %Y %H:%M:%S GMT' 2>/dev/null", quote(path)), None)?;
    let date = out.stdout_str().trim().to_string();
    Ok((out.rc == 0 && !date.is_empty()).then_some(date))
}

/// A `file://` URL read on the host, answered as Python's `FileHandler` does.
fn file_url(conn: &mut dyn Connection, req: &Request) -> Result<Response, ConnError> {
    let path = req.url.trim_start_matches("file://");
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    let mut resp = Response { url: req.url.clone(), ..Response::default() };
    match conn.read_file(&path)? {
        Some(body) => {
            let ctype = match path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref() {
                Some("json") => "application/json",
                Some("html" | "htm") => "text/html",
                Some("xml") => "application/xml",
                Some("gz" | "tgz") => "application/gzip",
                _ => "text/plain",
            };
            resp.status = 200;
            resp.reason = "OK".into();
            resp.headers =
                vec![("content-type".into(), ctype.into()), ("content-length".into(), body.len().to_string())];
            resp.body = body;
        }
        None => {
            resp.status = -1;
            resp.error = format!("<urlopen error [Errno 2] No such file or directory: '{path}'>");
        }
    }
    Ok(resp)
}

/// Makes `req` through a stream from the host. `ca_path` is a PEM file on the host. With
/// `req.output`, a successful body is written to that host path instead of being returned.
pub fn execute(conn: &mut dyn Connection, req: &Request, ca_path: Option<&str>) -> Result<Outcome, ConnError> {
    let mut resp = if req.url.to_ascii_lowercase().starts_with("file:") {
        file_url(conn, req)?
    } else if !req.url.to_ascii_lowercase().starts_with("http") {
        return Ok(Outcome::Unavailable(format!("orc speaks only http and https itself, not {}", req.url)));
    } else {
        if let Err(why) = conn.streams() {
            return Ok(Outcome::Unavailable(why));
        }
        match fetch(conn, req, ca_path) {
            Ok(r) => r,
            Err(Failure::Conn(e)) => return Err(e),
            Err(Failure::Unavailable(why)) => return Ok(Outcome::Unavailable(why)),
            Err(Failure::Net(why)) => {
                Response { status: -1, url: strip_userinfo(&req.url), error: why, ..Response::default() }
            }
        }
    };
    if let (Some(out), true) = (&req.output, (200..300).contains(&resp.status)) {
        conn.write_file(out, &resp.body)?;
        resp.body.clear();
    }
    Ok(Outcome::Done(resp))
}

/// The request loop: auth challenge, redirects. A network failure is a status -1 response.
fn fetch(conn: &mut dyn Connection, req: &Request, ca_path: Option<&str>) -> Result<Response, Failure> {
    let if_modified = match &req.if_modified_since {
        Some(p) => modified_since(conn, p)?,
        None => None,
    };
    let mut session =
        Session { conn, validate_certs: req.validate_certs, ca_path: ca_path.map(str::to_string), tls: None };
    let timeout = Duration::from_secs(if req.timeout == 0 { 3600 } else { req.timeout });
    let mut url_text = req.url.clone();
    let mut method = if req.method.is_empty() { "GET".to_string() } else { req.method.clone() };
    let mut headers = req.headers.clone();
    let mut body = req.body.as_ref().map(|b| b.as_bytes().to_vec());
    let failed = |url: &str, why: String| Response {
        status: -1,
        url: strip_userinfo(url),
        error: format!("<urlopen error {why}>"),
        ..Response::default()
    };
    for _hop in 0..=MAX_REDIRECTS {
        let url = match parse_url(&url_text) {
            Ok(u) => u,
            Err(why) => return Ok(failed(&url_text, why)),
        };
        let credentials =
            req.user.clone().map(|u| (u, req.password.clone().unwrap_or_default())).or_else(|| url.userinfo.clone());
        let mut extra = Vec::new();
        if let Some(d) = &if_modified {
            extra.push(("If-Modified-Since".to_string(), d.clone()));
        }
        if let (Some((u, p)), true) = (&credentials, req.force_basic_auth) {
            extra.push(("Authorization".to_string(), basic(u, p)));
        }
        let mut answer = session.exchange(&url, &method, &headers, body.as_deref(), &extra, timeout);
        let challenged = |m: &crate::http1::Message| {
            m.status == 401
                && m.headers.iter().any(|(k, v)| k == "www-authenticate" && v.to_ascii_lowercase().starts_with("basic"))
        };
        if let (Ok(m), Some((u, p)), false) = (&answer, &credentials, req.force_basic_auth) {
            if challenged(m) {
                extra.push(("Authorization".to_string(), basic(u, p)));
                answer = session.exchange(&url, &method, &headers, body.as_deref(), &extra, timeout);
            }
        }
        let m = match answer {
            Ok(m) => m,
            Err(Failure::Net(why)) => return Ok(failed(&url_text, why)),
            Err(other) => return Err(other),
        };
        let location = m.headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone());
        let redirect = matches!(m.status, 301 | 302 | 303 | 307 | 308);
        match (req.follow && redirect, location) {
            (true, Some(loc)) => {
                url_text = join_url(&url_text, &loc.replace(' ', "%20"));
                if !matches!(m.status, 307 | 308) {
                    body = None;
                    headers.retain(|(k, _)| {
                        !["content-length", "content-type", "transfer-encoding"]
                            .contains(&k.to_ascii_lowercase().as_str())
                    });
                    let to_get = match m.status {
                        302 | 303 => method != "HEAD",
                        _ => method == "POST",
                    };
                    if to_get {
                        method = "GET".into();
                    }
                }
            }
            _ => {
                return Ok(Response {
                    status: i64::from(m.status),
                    url: strip_userinfo(&url_text),
                    reason: if m.reason.is_empty() {
                        super::http_client::default_reason(i64::from(m.status)).to_string()
                    } else {
                        m.reason
                    },
                    headers: m.headers,
                    body: m.body,
                    error: String::new(),
                })
            }
        }
    }
    Ok(failed(&url_text, format!("more than {MAX_REDIRECTS} redirects")))
}

/// Makes `req` from the host ([`execute`]), or with `fallback` (curl or wget on the host) when
/// streams cannot be used there: the response, and the warning that says the fallback was taken.
/// With neither, the error names both reasons. `module` names the task's module in messages.
pub fn request_or_fallback(
    conn: &mut dyn Connection,
    req: &Request,
    ca_path: Option<&str>,
    fallback: Option<super::http_client::Tool>,
    module: &str,
) -> Result<(Response, Option<String>), crate::contract::ModuleError> {
    match execute(conn, req, ca_path)? {
        Outcome::Done(r) => Ok((r, None)),
        Outcome::Unavailable(why) => match fallback {
            Some(tool) => {
                let name = match tool {
                    super::http_client::Tool::Curl => "curl",
                    super::http_client::Tool::Wget => "wget",
                };
                let warning = format!("{why}; {module} made the request with {name} on the host instead");
                Ok((super::http_client::execute(conn, tool, req)?, Some(warning)))
            }
            None => Err(crate::contract::ModuleError::msg(format!(
                "{module} cannot make the request through the host's SSH connection ({why}), and the fallback, \
                 {}, is not in the host's PATH",
                if module == "get_url" { "curl or wget" } else { "curl" }
            ))),
        },
    }
}

#[cfg(test)]
#[path = "http_direct_tests.rs"]
mod tests;
