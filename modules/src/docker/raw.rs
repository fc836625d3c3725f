//! Plain JSON requests to the Engine API over the daemon's Unix socket, for answers the modules
//! return verbatim (`/info`, inspect and list results, `/auth`).
//!
//! bollard decodes answers into its models, which drop fields newer API versions removed (e.g.
//! `LayersSize` of `/system/df`) and reorder the rest; community.docker returns the daemon's JSON
//! as it is, and so does this client. Requests are HTTP/1.0 on a fresh connection to the socket
//! the connection gives (a local socket even over SSH), without a version prefix, so the daemon
//! answers in its own API version as a negotiating client would see it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::contract::{ModuleCtx, ModuleError};
use crate::docker::DockerApi;

/// A JSON client for one module run, next to the bollard one.
pub struct RawApi {
    socket: PathBuf,
    timeout: Duration,
}

/// A failed raw request: the HTTP status (0 when the socket failed) and the daemon's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawError {
    /// HTTP status, or 0 for a transport failure.
    pub status: u16,
    /// The daemon's `message`, or what went wrong.
    pub message: String,
}

impl RawError {
    /// True for a 404 (no such object).
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Connects both clients: bollard's (which negotiates and proves the daemon answers) and the raw
/// one on the same socket.
pub fn connect(
    ctx: &mut ModuleCtx,
    docker_host: Option<&str>,
    timeout: Option<u64>,
) -> Result<(DockerApi, RawApi), ModuleError> {
    let api = DockerApi::connect(ctx, docker_host, timeout)?;
    let raw = RawApi::of(&api);
    Ok((api, raw))
}

impl RawApi {
    /// The raw client on the socket and with the time limit of a connected bollard client.
    pub fn of(api: &DockerApi) -> RawApi {
        RawApi { socket: api.socket.clone(), timeout: api.docker().timeout() }
    }

    /// `GET path` (with its query), decoded as JSON.
    pub fn get(&self, path: &str) -> Result<Value, RawError> {
        self.request("GET", path, &[], None)
    }

    /// `POST path` with a JSON body and extra headers, decoded as JSON (null for an empty answer).
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Result<Value, RawError> {
        self.request("POST", path, headers, Some(body.to_string().into_bytes()))
    }

    /// `POST path` with no body (the prune endpoints), decoded as JSON.
    pub fn post(&self, path: &str) -> Result<Value, RawError> {
        self.request("POST", path, &[], None)
    }

    /// `DELETE path`, decoded as JSON (null for an empty answer).
    pub fn delete(&self, path: &str) -> Result<Value, RawError> {
        self.request("DELETE", path, &[], None)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Value, RawError> {
        let transport = |e: std::io::Error| RawError {
            status: 0,
            message: format!("{method} {path} on the Docker socket {} failed: {e}", self.socket.display()),
        };
        let mut s = UnixStream::connect(&self.socket).map_err(transport)?;
        s.set_read_timeout(Some(self.timeout)).map_err(transport)?;
        s.set_write_timeout(Some(self.timeout)).map_err(transport)?;
        let mut req = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: orc\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = &body {
            req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend(body.unwrap_or_default());
        s.write_all(&bytes).map_err(transport)?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).map_err(transport)?;
        let (status, body) = parse_response(&answer).ok_or_else(|| RawError {
            status: 0,
            message: format!("{method} {path}: the daemon's answer is not HTTP"),
        })?;
        let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| RawError {
                status,
                message: format!("{method} {path}: the daemon's answer is not JSON ({e})"),
            })?
        };
        if !(200..300).contains(&status) {
            let message = json
                .get("message")
                .and_then(Value::as_str)
                .map(|m| m.trim().to_string())
                .unwrap_or_else(|| format!("{method} {path}: HTTP {status}"));
            return Err(RawError { status, message });
        }
        Ok(json)
    }
}

/// Splits an HTTP response into its status and body (de-chunked when chunked).
fn parse_response(answer: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &answer[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    Some((status, if chunked { dechunk(body)? } else { body.to_vec() }))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// Percent-encodes a query parameter value (filters are JSON).
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes an object name for a URL path (`/images/{name}/json`; names may hold `/` and `:`).
pub fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let plain = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        assert_eq!(parse_response(plain), Some((200, b"{\"a\":1}".to_vec())));
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"m\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((404, b"{\"m\":1}".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(query_escape("{\"a\":[\"b c\"]}"), "%7B%22a%22%3A%5B%22b%20c%22%5D%7D");
        assert_eq!(path_escape("reg:5000/app:1"), "reg:5000/app:1");
        assert_eq!(path_escape("a b"), "a%20b");
    }
}
