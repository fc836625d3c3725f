//! Plain JSON requests to the Engine API over the daemon's Unix socket, for answers the modules
//! return verbatim (`/info`, inspect and list results, `/auth`).
//!
//! bollard decodes answers into its models, which drop fields newer API versions removed (e.g.
//! `LayersSize` of `/system/df`) and reorder the rest; community.docker returns the daemon's JSON
//! as it is, and so does this client. Requests are HTTP/1.1 on one kept-alive connection to the
//! socket the connection gives (a local socket even over SSH, where each new connection is a new
//! channel, and through become a sudo handshake), without a version prefix, so the daemon answers
//! in its own API version as a negotiating client would see it.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::contract::{ModuleCtx, ModuleError};
use crate::docker::DockerApi;

/// A JSON client for one module run, next to the bollard one.
pub struct RawApi {
    socket: PathBuf,
    timeout: Duration,
    /// The kept-alive connection, opened at the first request.
    conn: Mutex<Option<UnixStream>>,
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
        RawApi { socket: api.socket.clone(), timeout: api.docker().timeout(), conn: Mutex::new(None) }
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
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: orc\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        match &body {
            Some(b) => req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len())),
            None if method != "GET" => req.push_str("Content-Length: 0\r\n"),
            None => {}
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend(body.unwrap_or_default());
        let (status, body) = self.exchange(&bytes).map_err(transport)?;
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

impl RawApi {
    /// Sends one request on the kept-alive connection (opening it first) and reads the answer.
    /// A kept connection the daemon closed meanwhile is replaced once, when nothing came back.
    fn exchange(&self, request: &[u8]) -> io::Result<(u16, Vec<u8>)> {
        let mut slot = self.conn.lock().map_err(|_| io::Error::other("the raw client's lock is poisoned"))?;
        let reused = slot.is_some();
        let first = self.exchange_on(&mut slot, request);
        match first {
            Err(e) if reused && e.kind() == io::ErrorKind::UnexpectedEof => self.exchange_on(&mut slot, request),
            other => other,
        }
    }

    fn exchange_on(&self, slot: &mut Option<UnixStream>, request: &[u8]) -> io::Result<(u16, Vec<u8>)> {
        let mut s = match slot.take() {
            Some(s) => s,
            None => {
                let s = UnixStream::connect(&self.socket)?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                s
            }
        };
        if let Err(e) = s.write_all(request) {
            // A closed kept connection: say so the way a closed read does, so it is retried.
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e));
        }
        let (status, body, keep) = crate::http1::read_response(&mut s, "the daemon")?;
        if keep {
            *slot = Some(s);
        }
        Ok((status, body))
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
    use std::io::Read;

    #[test]
    fn one_connection_carries_many_requests() {
        use std::os::unix::net::UnixListener;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let listener = UnixListener::bind(&path).unwrap();
        // A daemon that answers three requests on its first connection, then accepts no other.
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            for i in 0..3 {
                let n = c.read(&mut buf).unwrap();
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /n HTTP/1.1\r\n"));
                let body = if i == 1 {
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n5\r\nn\":1}\r\n0\r\n\r\n"
                        .to_string()
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{{\"n\":{i}}}")
                };
                c.write_all(body.as_bytes()).unwrap();
            }
        });
        let raw = RawApi { socket: path, timeout: Duration::from_secs(5), conn: Mutex::new(None) };
        assert_eq!(raw.get("/n").unwrap(), serde_json::json!({"n": 0}));
        assert_eq!(raw.get("/n").unwrap(), serde_json::json!({"n": 1}));
        assert_eq!(raw.get("/n").unwrap(), serde_json::json!({"n": 2}));
        server.join().unwrap();
    }

    #[test]
    fn escapes() {
        assert_eq!(query_escape("{\"a\":[\"b c\"]}"), "%7B%22a%22%3A%5B%22b%20c%22%5D%7D");
        assert_eq!(path_escape("reg:5000/app:1"), "reg:5000/app:1");
        assert_eq!(path_escape("a b"), "a%20b");
    }
}
