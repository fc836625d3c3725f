//! `uri`: makes an HTTP request FROM THE MANAGED HOST and returns what Ansible's `uri` returns:
//! `status`, `url`, `redirected`, `msg`, every response header at the top level (lower-case, `-`
//! as `_`: `content_type`), `json` when the response is JSON, `content` with `return_content`. It
//! fails, with Ansible's message, when the status is not in `status_code`. The request goes
//! through a TCP stream the host opens (`super::http_direct`): nothing is needed on the host;
//! curl there is only the fallback when sshd forbids forwarding.

use std::time::Instant;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::args::Mode;
use crate::builtin::http_client::{self, Request, Tool};
use crate::builtin::http_direct::{self, join_url};
use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::Attrs;
use crate::filewrite;
use crate::shell_quote::quote;

/// `uri` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct UriArgs {
    /// The URL.
    #[serde(deserialize_with = "crate::args::string")]
    pub url: String,
    /// HTTP method, one upper-case word.
    #[serde(default = "get", deserialize_with = "crate::args::string")]
    pub method: String,
    /// Request body: a string, or data encoded per `body_format`.
    #[serde(default)]
    pub body: Option<Value>,
    /// raw, json or form-urlencoded.
    #[serde(default = "raw", deserialize_with = "crate::args::string")]
    pub body_format: String,
    /// Statuses that count as success.
    #[serde(default = "ok_codes", deserialize_with = "status_codes")]
    pub status_code: Vec<i64>,
    /// Return the body as `content`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub return_content: bool,
    /// Request headers.
    #[serde(default, deserialize_with = "http_client::headers_arg")]
    pub headers: Vec<(String, String)>,
    /// Seconds the request may take.
    #[serde(default = "thirty", deserialize_with = "crate::builtin::get_url::u64_arg")]
    pub timeout: u64,
    /// Verify TLS certificates.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub validate_certs: bool,
    /// PEM file of CA certificates on the host, trusted instead of the host's CA bundle.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ca_path: Option<String>,
    /// all, safe (GET/HEAD only), none (and the deprecated yes/no/urllib2).
    #[serde(default = "safe", deserialize_with = "crate::args::string")]
    pub follow_redirects: String,
    /// Write the response body to this host path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub dest: Option<String>,
    /// Skip when this host path exists.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub creates: Option<String>,
    /// Skip when this host path does not exist.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub removes: Option<String>,
    /// Basic-auth user.
    #[serde(default, alias = "user", deserialize_with = "crate::args::opt_string")]
    pub url_username: Option<String>,
    /// Basic-auth password.
    #[serde(default, alias = "password", deserialize_with = "crate::args::opt_string")]
    pub url_password: Option<String>,
    /// Send credentials without waiting for a 401 challenge.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_basic_auth: bool,
    /// User-Agent header.
    #[serde(default = "agent", deserialize_with = "crate::args::string")]
    pub http_agent: String,
    /// Accepted for compatibility; orc connects from the host without a proxy (curl, the
    /// fallback, honours the host's proxy environment).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub use_proxy: bool,
    /// With `dest`: do not send `If-Modified-Since`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Permissions of `dest`.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of `dest`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of `dest`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
}

fn get() -> String {
    "GET".into()
}
fn raw() -> String {
    "raw".into()
}
fn safe() -> String {
    "safe".into()
}
fn agent() -> String {
    "ansible-httpget".into()
}
fn thirty() -> u64 {
    30
}
fn ok_codes() -> Vec<i64> {
    vec![200]
}

/// `status_code`: an integer, a list of integers, or their string forms (`"200,201"`).
fn status_codes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    use serde::de::Error;
    let v = Value::deserialize(d)?;
    let items: Vec<Value> = match v {
        Value::Array(a) => a,
        Value::String(s) => s.split(',').map(|p| Value::String(p.trim().to_string())).collect(),
        other => vec![other],
    };
    items
        .iter()
        .map(|i| match i {
            Value::Number(n) => {
                n.as_i64().ok_or_else(|| D::Error::custom(format!("status_code {n} is not an integer")))
            }
            Value::String(s) => s.parse().map_err(|_| D::Error::custom(format!("status_code '{s}' is not an integer"))),
            other => Err(D::Error::custom(format!("status_code {other} is not an integer"))),
        })
        .collect()
}

/// Python's `json.dumps` with its default separators (`", "`, `": "`) and `ensure_ascii`, so the
/// bytes sent are the ones Ansible sends.
pub fn python_json(v: &Value) -> String {
    crate::pyjson::dumps_with(v, crate::pyjson::Style { indent: None, sort_keys: false, ensure_ascii: true })
}

fn form_quote(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn form_value(v: &Value) -> String {
    crate::args::scalar_to_string(v).unwrap_or_else(|| v.to_string())
}

/// `form-urlencoded` body from a mapping or a list of pairs (Python's `urlencode`, lists of values
/// repeated per key).
pub fn form_urlencoded(v: &Value) -> Result<String, String> {
    let mut pairs = Vec::new();
    let mut push = |k: &str, v: &Value| match v {
        Value::Array(items) => {
            for i in items {
                pairs.push(format!("{}={}", form_quote(k), form_quote(&form_value(i))));
            }
        }
        v => pairs.push(format!("{}={}", form_quote(k), form_quote(&form_value(v)))),
    };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| push(k, v)),
        Value::Array(items) => {
            for i in items {
                match i {
                    Value::Array(kv) if kv.len() == 2 => push(&form_value(&kv[0]), &kv[1]),
                    other => return Err(format!("cannot form-urlencode {other}; give a mapping or a list of pairs")),
                }
            }
        }
        other => return Err(format!("cannot form-urlencode {other}; give a mapping or a list of pairs")),
    }
    Ok(pairs.join("&"))
}

/// The body to send and the Content-Type it implies.
fn encode_body(body: &Value, format: &str) -> Result<(String, Option<&'static str>), String> {
    match format {
        "json" => Ok((
            match body {
                Value::String(s) => s.clone(),
                v => python_json(v),
            },
            Some("application/json"),
        )),
        "form-urlencoded" => Ok((
            match body {
                Value::String(s) => s.clone(),
                v => form_urlencoded(v).map_err(|e| format!("failed to parse body as form_urlencoded: {e}"))?,
            },
            Some("application/x-www-form-urlencoded"),
        )),
        _ => Ok((
            match body {
                Value::String(s) => s.clone(),
                v => python_json(v),
            },
            None,
        )),
    }
}

/// Whether a Content-Type is one Ansible parses as JSON (`json`/`javascript`, or a `+json` suffix).
pub fn is_json_type(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_lowercase();
    let sub = mime.split_once('/').map(|(_, s)| s).unwrap_or("");
    let sub = sub.rsplit_once('+').map(|(_, s)| s).unwrap_or(sub);
    matches!(sub, "json" | "javascript")
}

/// Python's repr of a list of ints (`[200, 404]`), as Ansible's failure message shows it.
fn py_list(codes: &[i64]) -> String {
    format!("[{}]", codes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))
}

/// Cookies set by the response (`name=value` of each `Set-Cookie`).
fn cookies(headers: &[(String, String)]) -> (Map<String, Value>, String) {
    let mut m = Map::new();
    for (k, v) in headers {
        if k == "set-cookie" {
            if let Some((name, val)) = v.split(';').next().and_then(|c| c.split_once('=')) {
                m.insert(name.trim().to_string(), Value::String(val.trim().to_string()));
            }
        }
    }
    let s = m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join("; ");
    (m, s)
}

/// The `uri` module.
pub struct Uri;

impl TypedModule for Uri {
    type Args = UriArgs;
    const NAME: &'static str = "uri";
    const DOC: ModuleText = ModuleText {
        short: "Makes an HTTP request from the managed host and returns the status, the headers and, \
                when asked, the body.",
        notes: "The request leaves from the managed host, which needs nothing installed: orc opens a TCP \
                channel of the host's SSH connection (direct-tcpip), so the address is resolved and reached \
                from the host, speaks HTTP/1.1 itself and terminates TLS itself, checking the certificate \
                against the host's CA bundle (or `ca_path`, a PEM file on the host; `validate_certs: false` \
                skips the check). Only when the host's sshd forbids forwarding does curl on the host make the \
                request, with a warning saying so; its config then arrives on stdin, never on a command \
                line. The host's proxy variables are not used (`use_proxy` is accepted). The \
                task fails, with Ansible's message, when the status is not in `status_code`. \
                `body_format: json` or `form-urlencoded` encodes a structured body (JSON as \
                Python's json.dumps writes it) and sets Content-Type unless `headers` does; `form-multipart` is \
                not supported. It reports a change only when it writes `dest`. Not accepted: `src`, \
                `remote_src`, `client_cert`, `client_key`, `unix_socket`, \
                `unredirected_headers`, `use_gssapi`, `use_netrc`, `ciphers`, `decompress`. Check \
                mode: skipped, as in Ansible.",
        returns: &[
            ("status", "The HTTP status code (-1 when no response came)."),
            ("url", "The URL of the final response, after redirects."),
            ("redirected", "Whether the request was redirected."),
            ("elapsed", "Seconds the request took."),
            ("content_type, location... (every header)", "Response headers, lower-case with `-` as `_`."),
            ("cookies", "The cookies a successful (2xx) response set, as a name: value dict."),
            ("cookies_string", "The same cookies as one `name=value; ...` string."),
            ("json", "The body parsed, when the response is JSON."),
            ("content", "With `return_content: true`: the body as text."),
            ("path", "With `dest`: the file written (`dest` as given when nothing was written)."),
            ("stdout", "When `creates` or `removes` skipped the request: why."),
            ("warnings", "When curl on the host made the request because sshd forbids forwarding: why."),
        ],
        example: "- name: Register the node with the API\n  ansible.builtin.uri:\n    \
                  url: https://api.example.com/nodes\n    method: POST\n    body_format: json\n    \
                  body:\n      name: \"{{ inventory_hostname }}\"\n    status_code: [200, 201]\n    \
                  return_content: true\n  register: reply\n",
    };

    fn check_args(a: &UriArgs) -> Result<(), ArgError> {
        if !a.method.chars().all(|c| c.is_ascii_uppercase()) || a.method.is_empty() {
            return Err(ArgError {
                msg: "Parameter 'method' needs to be a single word in uppercase, like GET or POST.".into(),
            });
        }
        if !["raw", "json", "form-urlencoded"].contains(&a.body_format.to_lowercase().as_str()) {
            return Err(ArgError {
                msg: format!(
                    "value of body_format must be one of: form-urlencoded, json, raw, got: {}{}",
                    a.body_format,
                    if a.body_format == "form-multipart" { " (form-multipart is not supported by orc)" } else { "" }
                ),
            });
        }
        if !["all", "no", "none", "safe", "urllib2", "yes"].contains(&a.follow_redirects.as_str()) {
            return Err(ArgError {
                msg: format!(
                    "value of follow_redirects must be one of: all, no, none, safe, urllib2, yes, got: {}",
                    a.follow_redirects
                ),
            });
        }
        if let Some(b) = &a.body {
            encode_body(b, &a.body_format.to_lowercase()).map_err(|msg| ArgError { msg })?;
        }
        Ok(())
    }

    fn run(&self, a: UriArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            // Ansible's uri does not support check mode: the task is skipped.
            let mut r = ModuleResult::ok().with_msg("remote module (uri) does not support check mode");
            r.skipped = true;
            return Ok(r);
        }
        let mut headers = vec![("User-Agent".to_string(), a.http_agent.clone())];
        let mut body = None;
        if let Some(b) = &a.body {
            let (text, ctype) = encode_body(b, &a.body_format.to_lowercase()).map_err(ModuleError::msg)?;
            if let Some(ct) = ctype {
                if !a.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                    headers.push(("Content-Type".into(), ct.into()));
                }
            }
            body = Some(text);
        }
        headers.extend(a.headers.iter().cloned());
        // One probe: the client, creates/removes, and what dest is.
        let mut probe = format!("{};", http_client::probe_tools_cmd());
        if let Some(c) = &a.creates {
            probe.push_str(&format!(" [ -e {} ] && echo CREATES;", quote(c)));
        }
        if let Some(r) = &a.removes {
            probe.push_str(&format!(" [ -e {} ] || echo REMOVES;", quote(r)));
        }
        if let Some(d) = &a.dest {
            probe.push_str(&format!(" [ -d {q} ] && echo DESTDIR; [ -f {q} ] && echo DESTFILE;", q = quote(d)));
        }
        probe.push_str(" true");
        let out = ctx.conn.exec(&probe, None)?.stdout_str();
        let has = |w: &str| out.lines().any(|l| l == w);
        if let (true, Some(c)) = (has("CREATES"), &a.creates) {
            return Ok(ModuleResult::ok().with("stdout", format!("skipped, since '{c}' exists")));
        }
        if let (true, Some(r)) = (has("REMOVES"), &a.removes) {
            return Ok(ModuleResult::ok().with("stdout", format!("skipped, since '{r}' does not exist")));
        }
        let follow = match a.follow_redirects.as_str() {
            "all" | "yes" | "urllib2" => true,
            "safe" => a.method == "GET" || a.method == "HEAD",
            _ => false,
        };
        let req = Request {
            url: a.url.clone(),
            method: a.method.clone(),
            headers,
            body,
            user: a.url_username.clone(),
            password: a.url_password.clone(),
            force_basic_auth: a.force_basic_auth,
            timeout: a.timeout,
            validate_certs: a.validate_certs,
            follow,
            output: None,
            if_modified_since: a.dest.clone().filter(|_| has("DESTFILE") && !a.force),
        };
        let start = Instant::now();
        let curl = (http_client::pick_tool(&out) == Some(Tool::Curl)).then_some(Tool::Curl);
        let (resp, warning) = http_direct::request_or_fallback(ctx.conn, &req, a.ca_path.as_deref(), curl, "uri")?;
        let masked = http_client::strip_userinfo(&a.url);
        let mut res = ModuleResult::ok();
        if let Some(w) = warning {
            res = res.with("warnings", vec![w]);
        }
        for (k, v) in resp.ansible_headers() {
            res.data.insert(k, v);
        }
        if let Some(Value::String(loc)) = res.data.get("location").cloned() {
            res.data.insert("location".into(), Value::String(join_url(&resp.url, &loc)));
        }
        if (200..300).contains(&resp.status) {
            // As Ansible's fetch_url: cookies only come with a successful answer, not an HTTP
            // error (a 3xx not followed, a 4xx) nor a failed request.
            let (cookie_map, cookie_string) = cookies(&resp.headers);
            res = res.with("cookies", Value::Object(cookie_map)).with("cookies_string", cookie_string);
        }
        res = res
            .with("url", resp.url.clone())
            .with("redirected", resp.url != masked)
            .with("status", resp.status)
            .with("elapsed", start.elapsed().as_secs());
        let content = String::from_utf8_lossy(&resp.body).into_owned();
        if resp.header("content-type").is_some_and(is_json_type) {
            if let Ok(j) = serde_json::from_str::<Value>(&content) {
                res = res.with("json", j);
            }
        }
        if a.return_content {
            res = res.with("content", content);
        }
        let ok = a.status_code.contains(&resp.status);
        if let (Some(d), true) = (&a.dest, ok && resp.status != 304 && resp.status > 0) {
            let dest = if has("DESTDIR") {
                let name = resp
                    .header("content-disposition")
                    .and_then(crate::builtin::get_url::disposition_filename)
                    .unwrap_or_else(|| "index.html".into());
                format!("{}/{name}", d.trim_end_matches('/'))
            } else {
                d.clone()
            };
            let attrs = Attrs { mode: a.mode.clone(), owner: a.owner.clone(), group: a.group.clone() };
            match filewrite::write_validated(ctx.conn, &dest, &resp.body, &attrs, None) {
                Ok(_) => {}
                Err(filewrite::WriteError::Module(e)) => return Err(e),
                Err(filewrite::WriteError::Validate(v)) => return Err(ModuleError::msg(v.stderr)),
            }
            res.changed = true;
            res = res.with("path", dest);
        } else if let Some(d) = &a.dest {
            res = res.with("path", d.clone());
        }
        if !ok {
            res.failed = true;
            res.msg =
                Some(format!("Status code was {} and not {}: {}", resp.status, py_list(&a.status_code), resp.msg()));
            return Err(ModuleError::Fail(Box::new(res)));
        }
        Ok(res.with_msg(resp.msg()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{fail_msg, Sandbox};
    use serde_json::json;

    #[test]
    fn bodies_are_encoded_like_python() {
        assert_eq!(python_json(&json!({"a": [1, "é"], "b": null})), "{\"a\": [1, \"\\u00e9\"], \"b\": null}");
        assert_eq!(form_urlencoded(&json!({"q": "a b&c", "n": 1})).unwrap(), "q=a+b%26c&n=1");
        assert_eq!(form_urlencoded(&json!([["k", ["1", "2"]]])).unwrap(), "k=1&k=2");
        assert!(is_json_type("application/json; charset=utf-8"));
        assert!(is_json_type("application/problem+json"));
        assert!(!is_json_type("text/html"));
        assert_eq!(py_list(&[200, 404]), "[200, 404]");
        assert_eq!(join_url("http://h:8/a/b", "/x"), "http://h:8/x");
        assert_eq!(join_url("http://h:8/a/b", "c"), "http://h:8/a/c");
    }

    #[test]
    fn argument_checks() {
        let mut sb = Sandbox::new();
        let e = sb.run(&Uri, json!({"url": "http://x/", "method": "get"}), false, false).unwrap_err();
        assert!(fail_msg(e).contains("single word in uppercase"));
        let e = sb.run(&Uri, json!({"url": "http://x/", "body_format": "yaml"}), false, false).unwrap_err();
        assert!(fail_msg(e).contains("body_format must be one of"));
        let e = sb.run(&Uri, json!({"url": "http://x/", "status_code": "abc"}), false, false).unwrap_err();
        assert!(fail_msg(e).contains("not an integer"));
    }

    #[test]
    fn file_url_content_json_and_status_codes() {
        let mut sb = Sandbox::new();
        let f = sb.write("doc.json", "{\"a\": 1}");
        let url = format!("file://{f}");
        let r = sb.ok(&Uri, json!({"url": url, "return_content": true}));
        assert_eq!(r.data["status"], 200);
        assert_eq!(r.data["content"], "{\"a\": 1}");
        assert!(!r.changed);
        let e = sb.run(&Uri, json!({"url": url, "status_code": [201, 202]}), false, false).unwrap_err();
        assert_eq!(fail_msg(e), "Status code was 200 and not [201, 202]: OK (8 bytes)");
        // creates short-circuits without a request.
        let r = sb.ok(&Uri, json!({"url": "http://192.0.2.1/", "creates": f}));
        assert_eq!(r.data["stdout"], format!("skipped, since '{f}' exists"));
        // dest writes the body.
        let r = sb.ok(&Uri, json!({"url": url, "dest": sb.path("copy.json")}));
        assert!(r.changed);
        assert_eq!(sb.read("copy.json"), "{\"a\": 1}");
        // Check mode is not supported, as in Ansible: skipped.
        let r = sb.run(&Uri, json!({"url": url}), true, false).unwrap();
        assert!(r.skipped);
    }

    #[test]
    fn a_host_without_curl_is_served_through_a_stream() {
        let (port, server) = crate::builtin::test_support::serve_http(
            "200 OK\r\nContent-Type: application/json",
            b"{\"up\": true}".to_vec(),
            1,
        );
        let bin = crate::builtin::test_support::path_with_only(&["sh"]);
        let mut sb = Sandbox::new();
        sb.conn.env.push(("PATH".into(), bin.path().display().to_string()));
        let r = sb.ok(&Uri, json!({"url": format!("http://127.0.0.1:{port}/health"), "return_content": true}));
        assert_eq!(r.data["status"], 200);
        assert_eq!(r.data["json"], json!({"up": true}));
        assert_eq!(r.data["content_type"], "application/json");
        assert_eq!(r.data["redirected"], false);
        assert_eq!(r.msg.as_deref(), Some("OK (12 bytes)"));
        assert!(r.data.get("warnings").is_none());
        server.join().unwrap();
    }
}
