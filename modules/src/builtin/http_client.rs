//! HTTP requests made ON THE MANAGED HOST with curl (or wget for plain downloads), for `get_url`
//! and `uri`. Nothing secret goes on a command line: the URL, headers, credentials and body are
//! handed to curl as a config file on stdin (`curl -K -`), and to wget as a 0600 wgetrc that is
//! removed in the same command. One round trip per request; the response status, the last header
//! block and (unless written to a file on the host) the body come back in one framed stdout.

use base64::Engine;
use serde_json::{Map, Value};

use crate::connection::{ConnError, Connection};
use crate::shell_quote::quote;

/// The HTTP client programs a host may have, as found by [`probe_tools_cmd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// curl: every feature.
    Curl,
    /// wget: downloads only (no custom method or body).
    Wget,
}

/// A shell snippet printing `TOOL:curl` and/or `TOOL:wget` for the clients in PATH.
pub fn probe_tools_cmd() -> &'static str {
    "command -v curl >/dev/null 2>&1 && echo TOOL:curl; command -v wget >/dev/null 2>&1 && echo TOOL:wget; true"
}

/// The preferred tool among `TOOL:` lines of a probe's output (curl first).
pub fn pick_tool(probe_out: &str) -> Option<Tool> {
    let has = |t: &str| probe_out.lines().any(|l| l.trim() == format!("TOOL:{t}"));
    if has("curl") {
        Some(Tool::Curl)
    } else if has("wget") {
        Some(Tool::Wget)
    } else {
        None
    }
}

/// One request to make on the host.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The URL (may carry `user:pass@`; it never reaches a command line).
    pub url: String,
    /// Upper-case method; `HEAD` asks for headers only.
    pub method: String,
    /// Extra request headers, in order.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Basic-auth user and password.
    pub user: Option<String>,
    /// Password for `user`.
    pub password: Option<String>,
    /// Send the Authorization header up front instead of after a 401 challenge.
    pub force_basic_auth: bool,
    /// Whole-request time limit in seconds.
    pub timeout: u64,
    /// Verify TLS certificates.
    pub validate_certs: bool,
    /// Follow redirects.
    pub follow: bool,
    /// Host path the body is written to instead of being returned.
    pub output: Option<String>,
    /// Host file whose mtime is sent as `If-Modified-Since`.
    pub if_modified_since: Option<String>,
}

/// What came back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// HTTP status; -1 when no response arrived (as Ansible's fetch_url).
    pub status: i64,
    /// The final URL after redirects.
    pub url: String,
    /// Headers of the final response, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Reason phrase of the final status line (`OK`, `Not Found`).
    pub reason: String,
    /// The body, unless it was written to `Request::output`.
    pub body: Vec<u8>,
    /// Why no response arrived (the client's error message), when status is -1.
    pub error: String,
}

impl Response {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Ansible's `msg` for the response: `OK (N bytes)` on 2xx, `HTTP Error N: reason`
    /// otherwise, `Request failed: ...` when nothing came back.
    pub fn msg(&self) -> String {
        if self.status < 0 {
            return format!("Request failed: {}", self.error);
        }
        if (200..300).contains(&self.status) {
            format!("OK ({} bytes)", self.header("content-length").unwrap_or("unknown"))
        } else {
            format!("HTTP Error {}: {}", self.status, self.reason)
        }
    }

    /// Headers as Ansible's `uri` returns them: lower-case, `-` turned to `_`, at the top level.
    pub fn ansible_headers(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (k, v) in &self.headers {
            let key = k.replace('-', "_").to_lowercase();
            // Repeated headers are joined as Python's http.client does.
            let val = match m.get(&key) {
                Some(Value::String(old)) => format!("{old}, {v}"),
                _ => v.clone(),
            };
            m.insert(key, Value::String(val));
        }
        m
    }
}

/// Quotes a value for a curl config file (double quotes, backslash escapes).
pub fn curl_cfg_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The curl config (read from stdin with `-K -`) for a request.
pub fn curl_config(req: &Request) -> String {
    let mut c = String::new();
    let mut line = |k: &str, v: &str| {
        c.push_str(k);
        c.push_str(" = ");
        c.push_str(&curl_cfg_quote(v));
        c.push('\n');
    };
    line("url", &req.url);
    if req.method == "HEAD" {
        line("head", "");
    } else if !req.method.is_empty() && req.method != "GET" || req.body.is_some() {
        line("request", if req.method.is_empty() { "GET" } else { &req.method });
    }
    for (k, v) in &req.headers {
        line("header", &format!("{k}: {v}"));
    }
    if let Some(u) = &req.user {
        let p = req.password.as_deref().unwrap_or("");
        if req.force_basic_auth {
            line("header", &format!("Authorization: {}", basic_auth(u, p)));
        } else {
            line("user", &format!("{u}:{p}"));
            line("anyauth", "");
        }
    }
    if let Some(b) = &req.body {
        line("data-raw", b);
    }
    if req.timeout > 0 {
        line("max-time", &req.timeout.to_string());
    }
    if !req.validate_certs {
        line("insecure", "");
    }
    if req.follow {
        line("location", "");
        line("max-redirs", "50");
    }
    if let Some(f) = &req.if_modified_since {
        line("time-cond", f);
    }
    c.replace(" = \"\"\n", "\n")
}

/// The wgetrc for a download with wget (credentials and headers stay off the command line).
fn wget_config(req: &Request) -> String {
    let mut c = String::from("verbose = off\nserver_response = on\n");
    for (k, v) in &req.headers {
        c.push_str(&format!("header = {k}: {}\n", v.replace('\n', " ")));
    }
    if let Some(u) = &req.user {
        let p = req.password.as_deref().unwrap_or("");
        if req.force_basic_auth {
            c.push_str(&format!("header = Authorization: {}\n", basic_auth(u, p)));
        } else {
            c.push_str(&format!("user = {u}\npassword = {p}\n"));
        }
    }
    if req.timeout > 0 {
        c.push_str(&format!("timeout = {}\n", req.timeout));
    }
    c.push_str(if req.validate_certs { "check_certificate = on\n" } else { "check_certificate = off\n" });
    c.push_str(if req.follow { "max_redirect = 50\n" } else { "max_redirect = 0\n" });
    c.push_str("tries = 1\n");
    c
}

/// Runs `req` on the host with `tool`. A transport failure is `Err`; an HTTP or network failure is
/// a `Response` (status -1 when nothing came back).
pub fn execute(conn: &mut dyn Connection, tool: Tool, req: &Request) -> Result<Response, ConnError> {
    match tool {
        Tool::Curl => execute_curl(conn, req),
        Tool::Wget => execute_wget(conn, req),
    }
}

/// The shell tail run after the client: prints its rc and the header dump's length, then the
/// header dump, then the body file unless it was kept on the host.
fn frame_tail(keep_body: bool) -> String {
    format!(
        "rc=$?; printf '\\n%s\\n%s\\n' \"$rc\" \"$(wc -c < \"$t/h\" | tr -d ' ')\"; cat \"$t/h\"; {}rm -rf \"$t\"",
        if keep_body { "" } else { "cat \"$t/b\" 2>/dev/null; " }
    )
}

fn out_path(req: &Request) -> String {
    match &req.output {
        Some(o) => quote(o),
        None => "\"$t/b\"".to_string(),
    }
}

fn execute_curl(conn: &mut dyn Connection, req: &Request) -> Result<Response, ConnError> {
    let cmd = format!(
        "t=$(mktemp -d) || exit 97; : > \"$t/h\"; curl -q -sS -K - -D \"$t/h\" -o {} \
         -w '%{{http_code}} %{{url_effective}}' 2>\"$t/e\"; {}; cat \"$t/e\" >&2 2>/dev/null; rm -rf \"$t\"",
        out_path(req),
        frame_tail(req.output.is_some()).replace("rm -rf \"$t\"", "true")
    );
    let out = conn.exec(&cmd, Some(curl_config(req).as_bytes()))?;
    Ok(parse_framed(&out.stdout, &out.stderr_str(), req))
}

fn execute_wget(conn: &mut dyn Connection, req: &Request) -> Result<Response, ConnError> {
    let head = if req.method == "HEAD" { "--spider " } else { "" };
    // wget reads no config from stdin: the wgetrc goes to a 0600 file in the private temp dir.
    let cmd = format!(
        "t=$(mktemp -d) || exit 97; cat > \"$t/rc\"; WGETRC=\"$t/rc\" wget {head}-O {} -- {url} 2>\"$t/h\"; \
         w=$?; printf '0 %s' {url}; (exit $w); {}",
        out_path(req),
        frame_tail(req.output.is_some()),
        url = quote(&strip_userinfo(&req.url)),
    );
    let mut cfg_req = req.clone();
    if let Some((u, p)) = userinfo(&req.url) {
        cfg_req.user.get_or_insert(u);
        cfg_req.password.get_or_insert(p);
    }
    let out = conn.exec(&cmd, Some(wget_config(&cfg_req).as_bytes()))?;
    let mut resp = parse_framed(&out.stdout, "", req);
    if resp.status < 0 {
        // wget's messages are in the dump: keep its last line as the reason.
        let last = resp.error.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("wget failed");
        resp.error = last.trim().to_string();
    }
    if req.follow {
        if let Some(loc) = resp.headers.iter().rev().find(|(k, _)| k == "location") {
            resp.url = loc.1.clone();
        }
    }
    Ok(resp)
}

/// The `user:pass` of a URL, if any.
fn userinfo(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (ui, _) = authority.rsplit_once('@')?;
    let (u, p) = ui.split_once(':').unwrap_or((ui, ""));
    Some((u.to_string(), p.to_string()))
}

/// The URL without `user:pass@` (Ansible's `mask_url` removes it from results the same way).
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_string(),
    }
}

/// Splits the framed stdout: `write-out`, rc, header length, headers, body.
fn parse_framed(stdout: &[u8], stderr: &str, req: &Request) -> Response {
    let mut resp = Response { status: -1, url: strip_userinfo(&req.url), ..Response::default() };
    // The write-out comes first, without newline, then "\n<rc>\n<hlen>\n".
    let mut rest = stdout;
    let mut fields = Vec::new();
    for _ in 0..3 {
        let Some(i) = rest.iter().position(|b| *b == b'\n') else { break };
        fields.push(String::from_utf8_lossy(&rest[..i]).into_owned());
        rest = &rest[i + 1..];
    }
    if fields.len() < 3 {
        resp.error = format!("unexpected output from the HTTP client: {}", stderr.trim());
        return resp;
    }
    let rc: i32 = fields[1].trim().parse().unwrap_or(-1);
    let hlen: usize = fields[2].trim().parse().unwrap_or(0).min(rest.len());
    let hdr = String::from_utf8_lossy(&rest[..hlen]).into_owned();
    resp.body = rest[hlen..].to_vec();
    let (code, url) = fields[0].split_once(' ').unwrap_or((fields[0].as_str(), ""));
    if !url.is_empty() && !url.starts_with("http") && url.contains("://") || url.starts_with("http") {
        resp.url = strip_userinfo(url);
    }
    let (status, reason, headers) = parse_header_dump(&hdr);
    let code: i64 = code.trim().parse().unwrap_or(0);
    if code > 0 {
        resp.status = code;
        resp.reason = if reason.is_empty() { default_reason(code).to_string() } else { reason };
        resp.headers = headers;
    } else if rc == 0 && req.url.starts_with("file:") {
        // A file: URL has no status line; like Ansible, a readable file is a 200.
        resp.status = 200;
        resp.reason = "OK".into();
        resp.headers = headers;
    } else if status > 0 {
        resp.status = status;
        resp.reason = reason;
        resp.headers = headers;
    } else {
        resp.error =
            if stderr.trim().is_empty() { format!("client exited with {rc}") } else { stderr.trim().to_string() };
        // For wget the error text is the header dump itself.
        if resp.error.starts_with("client exited") && !hdr.is_empty() {
            resp.error = hdr;
        }
    }
    resp
}

/// Parses a header dump with possibly several responses (redirects, `100 Continue`): the status,
/// reason and headers (lower-case names) of the last one.
pub fn parse_header_dump(dump: &str) -> (i64, String, Vec<(String, String)>) {
    let mut status = 0;
    let mut reason = String::new();
    let mut headers = Vec::new();
    for line in dump.split('\n') {
        // wget's -S dump indents each line.
        let line = line.trim_end_matches('\r').trim_start();
        if line.starts_with("HTTP/") {
            let mut parts = line.splitn(3, ' ');
            parts.next();
            status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            reason = parts.next().unwrap_or("").trim().to_string();
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            if !k.is_empty() && !k.contains(' ') {
                headers.push((k.trim().to_lowercase(), v.trim().to_string()));
            }
        }
    }
    if reason.is_empty() {
        reason = default_reason(status).to_string();
    }
    (status, reason, headers)
}

/// The standard reason phrase (HTTP/2 status lines carry none).
pub fn default_reason(code: i64) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Parses a `headers` argument: a mapping, a JSON object string, or `k:v`/`k=v` pairs separated by
/// commas (Ansible's dict coercion of a string).
pub fn parse_headers(v: &Value) -> Result<Vec<(String, String)>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Object(m) => Ok(m
            .iter()
            .map(|(k, v)| (k.clone(), crate::args::scalar_to_string(v).unwrap_or_else(|| v.to_string())))
            .collect()),
        Value::String(s) if s.trim_start().starts_with('{') => {
            let parsed: Value = serde_json::from_str(s).map_err(|e| format!("headers is not valid JSON: {e}"))?;
            parse_headers(&parsed)
        }
        Value::String(s) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (k, v) = p
                    .split_once(':')
                    .or_else(|| p.split_once('='))
                    .ok_or_else(|| format!("header '{}' is not of the form name:value", p.trim()))?;
                Ok((k.trim().to_string(), v.trim().to_string()))
            })
            .collect(),
        other => Err(format!("headers must be a mapping or 'name:value' pairs, got {other}")),
    }
}

/// The `headers` argument deserializer.
pub fn headers_arg<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    use serde::de::Error;
    use serde::Deserialize;
    let v = Value::deserialize(d)?;
    parse_headers(&v).map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_quotes_and_keeps_secrets_off_the_command_line() {
        let req = Request {
            url: "http://h/x".into(),
            method: "POST".into(),
            headers: vec![("X-A".into(), "q\"uote\\".into())],
            body: Some("{\"a\":\n1}".into()),
            user: Some("bob".into()),
            password: Some("s3cr\"t".into()),
            force_basic_auth: true,
            timeout: 5,
            validate_certs: false,
            follow: true,
            ..Request::default()
        };
        let c = curl_config(&req);
        assert!(c.contains("url = \"http://h/x\"\n"), "{c}");
        assert!(c.contains("request = \"POST\"\n"));
        assert!(c.contains("header = \"X-A: q\\\"uote\\\\\"\n"), "{c}");
        assert!(c.contains("data-raw = \"{\\\"a\\\":\\n1}\"\n"), "{c}");
        assert!(c.contains("header = \"Authorization: Basic Ym9iOnMzY3IidA==\"\n"), "{c}");
        assert!(c.contains("insecure\n") && c.contains("location\n") && c.contains("max-time = \"5\""));
        let plain = curl_config(&Request {
            url: "http://h/".into(),
            method: "GET".into(),
            validate_certs: true,
            ..Request::default()
        });
        assert_eq!(plain, "url = \"http://h/\"\n");
    }

    #[test]
    fn header_dump_keeps_the_last_response() {
        let dump = "HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n";
        let (s, r, h) = parse_header_dump(dump);
        assert_eq!((s, r.as_str()), (200, "OK"));
        assert_eq!(h, vec![("content-type".into(), "application/json".into()), ("content-length".into(), "7".into())]);
        let (s, r, _) = parse_header_dump("HTTP/2 404\r\n\r\n");
        assert_eq!((s, r.as_str()), (404, "Not Found"));
    }

    #[test]
    fn framed_output_is_split() {
        let req = Request { url: "http://u:p@h/x".into(), ..Request::default() };
        let out = b"200 http://h/y\n0\n38\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let r = parse_framed(out, "", &req);
        assert_eq!(r.status, 200);
        assert_eq!(r.url, "http://h/y");
        assert_eq!(r.body, b"hi");
        assert_eq!(r.msg(), "OK (2 bytes)");
        let failed = parse_framed(b"000 \n7\n0\n", "curl: (7) Failed to connect", &req);
        assert_eq!(failed.status, -1);
        assert_eq!(failed.msg(), "Request failed: curl: (7) Failed to connect");
        assert_eq!(failed.url, "http://h/x");
    }

    #[test]
    fn headers_argument_forms() {
        assert_eq!(
            parse_headers(&json!({"A": "1", "B": 2})).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(
            parse_headers(&json!("A:1, B=x")).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), "x".into())]
        );
        assert!(parse_headers(&json!("nope")).is_err());
        assert_eq!(pick_tool("TOOL:wget\nTOOL:curl\n"), Some(Tool::Curl));
        assert_eq!(pick_tool(""), None);
    }

    #[test]
    fn ansible_header_names() {
        let r = Response {
            headers: vec![("content-type".into(), "text/plain".into()), ("x-a".into(), "1".into())],
            ..Response::default()
        };
        let h = r.ansible_headers();
        assert_eq!(h["content_type"], "text/plain");
        assert_eq!(h["x_a"], "1");
    }

    /// A python http.server on a loopback port, killed on drop.
    struct LocalServer(std::process::Child, u16);
    impl Drop for LocalServer {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    fn local_server(dir: &std::path::Path) -> LocalServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.split(" port ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        LocalServer(child, port)
    }

    #[test]
    fn curl_and_wget_agree_on_a_loopback_server() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.txt"), "hello\n").unwrap();
        let srv = local_server(dir.path());
        let mut conn = crate::testing::ShConnection::default();
        for tool in [Tool::Curl, Tool::Wget] {
            let req = Request {
                url: format!("http://127.0.0.1:{}/f.txt", srv.1),
                method: "GET".into(),
                timeout: 5,
                validate_certs: true,
                follow: true,
                ..Request::default()
            };
            let r = execute(&mut conn, tool, &req).unwrap();
            assert_eq!((r.status, r.body.as_slice()), (200, b"hello\n".as_slice()), "{tool:?}: {r:?}");
            assert_eq!(r.header("content-length"), Some("6"), "{tool:?}");
            let missing = Request { url: format!("http://127.0.0.1:{}/nope", srv.1), ..req.clone() };
            let r = execute(&mut conn, tool, &missing).unwrap();
            assert_eq!(r.status, 404, "{tool:?}: {r:?}");
            assert_eq!(r.msg(), "HTTP Error 404: File not found", "{tool:?}");
        }
    }
}
