//! A raw `GET` on the Engine API over the daemon's Unix socket, returning the daemon's JSON
//! untouched. docker_container returns `docker inspect` as community.docker does, with every
//! field the daemon sends (bollard's models drop fields such as `NetworkSettings.IPAddress`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde_json::Value;

use crate::docker::DockerApi;

/// Percent-encodes one path segment (names and IDs are plain; anything else is escaped).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Splits an HTTP/1.0 response into its status code and body.
pub fn parse_response(raw: &[u8]) -> Result<(u16, &[u8]), String> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("the daemon's answer has no HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("the daemon's answer has no HTTP status: {}", head.lines().next().unwrap_or("")))?;
    Ok((status, &raw[end + 4..]))
}

/// `GET /containers/NAME/json`: the inspect JSON, `None` on 404.
pub fn inspect_container(api: &DockerApi, name: &str) -> Result<Option<Value>, String> {
    let timeout = api.docker().timeout();
    let mut s = UnixStream::connect(&api.socket).map_err(|e| format!("cannot reach the Docker daemon: {e}"))?;
    s.set_read_timeout(Some(timeout)).and_then(|()| s.set_write_timeout(Some(timeout))).map_err(|e| e.to_string())?;
    let req = format!("GET /containers/{}/json HTTP/1.0\r\nHost: docker\r\nConnection: close\r\n\r\n", segment(name));
    s.write_all(req.as_bytes()).map_err(|e| format!("cannot send to the Docker daemon: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("cannot read the Docker daemon's answer: {e}"))?;
    let (status, body) = parse_response(&raw)?;
    match status {
        200 => serde_json::from_slice(body).map(Some).map_err(|e| format!("the daemon's inspect is not JSON: {e}")),
        404 => Ok(None),
        code => {
            let msg = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
            Err(format!("HTTP {code}: {msg}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_and_segments() {
        let (code, body) =
            parse_response(b"HTTP/1.0 404 Not Found\r\nContent-Type: x\r\n\r\n{\"message\":\"no\"}").unwrap();
        assert_eq!((code, body), (404, &b"{\"message\":\"no\"}"[..]));
        assert!(parse_response(b"garbage").is_err());
        assert_eq!(segment("web-1_a.b"), "web-1_a.b");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
