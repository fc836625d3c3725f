//! The little HTTP/1.1 that orc speaks itself over a stream to a daemon or a web server (the
//! Docker Engine API's raw JSON reads, etcd's v3 JSON gateway, `uri` and `get_url`): one request
//! written whole, one response read back with its length, chunks or end of connection.

use std::io::{self, Read};

/// What an HTTP response head says about the body that follows.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `Content-Length`, when given.
    pub content_length: Option<usize>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// The server keeps the connection open after this response.
    pub keep_alive: bool,
}

/// A whole response: status line, headers and body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The status code.
    pub status: u16,
    /// The reason phrase of the status line (`Not Found`; empty when the server sent none).
    pub reason: String,
    /// Headers in order, names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The connection stays usable after this response.
    pub keep_alive: bool,
}

/// The reason phrase and the headers (names lower-cased) of a response head.
fn head_fields(head: &str) -> (String, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let reason = lines.next().and_then(|l| l.splitn(3, ' ').nth(2)).unwrap_or("").trim().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (reason, headers)
}

/// Parses a response head (status line and headers, without the blank line).
pub fn parse_head(head: &str) -> Option<Head> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut words = status_line.split_whitespace();
    let version = words.next()?;
    let status: u16 = words.next()?.parse().ok()?;
    let mut h = Head { status, content_length: None, chunked: false, keep_alive: version == "HTTP/1.1" };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => h.content_length = value.parse().ok(),
            "transfer-encoding" => h.chunked = value.contains("chunked"),
            "connection" if value.contains("close") => h.keep_alive = false,
            "connection" if value.contains("keep-alive") => h.keep_alive = true,
            _ => {}
        }
    }
    Some(h)
}

/// Reads one response from `s`: its status, its body (de-chunked) and whether the connection
/// stays usable. EOF before the head is `UnexpectedEof` (the server closed a kept connection);
/// `who` names the server in errors ("the daemon").
pub fn read_response(s: &mut impl Read, who: &str) -> io::Result<(u16, Vec<u8>, bool)> {
    read_message(s, who, false).map(|m| (m.status, m.body, m.keep_alive))
}

/// Reads one whole response from `s`, as [`read_response`]; `no_body` for the answer to a HEAD
/// request, whose `Content-Length` announces a body that is not sent. Informational (1xx)
/// responses before the final one are skipped.
pub fn read_message(s: &mut impl Read, who: &str, no_body: bool) -> io::Result<Message> {
    read_message_dyn(s, who, no_body)
}

fn read_message_dyn(s: &mut dyn Read, who: &str, no_body: bool) -> io::Result<Message> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut more = |s: &mut dyn Read, buf: &mut Vec<u8>| -> io::Result<bool> {
        let n = s.read(&mut chunk)?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    };
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if !more(s, &mut buf)? {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{who} closed the connection")));
        }
    };
    let not_http = || io::Error::new(io::ErrorKind::InvalidData, format!("{who}'s answer is not HTTP"));
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| not_http())?.to_string();
    let head = parse_head(&text).ok_or_else(not_http)?;
    let (reason, headers) = head_fields(&text);
    let start = end + 4;
    if (100..200).contains(&head.status) && head.status != 101 {
        // `100 Continue` and friends: the real answer follows.
        let rest = buf[start..].to_vec();
        let mut chained = rest.as_slice().chain(s);
        return read_message_dyn(&mut chained, who, no_body);
    }
    let message = |body: Vec<u8>, keep_alive: bool| Message {
        status: head.status,
        reason: reason.clone(),
        headers: headers.clone(),
        body,
        keep_alive,
    };
    if no_body || matches!(head.status, 204 | 304) {
        return Ok(message(Vec::new(), head.keep_alive));
    }
    let truncated = || io::Error::new(io::ErrorKind::InvalidData, format!("{who}'s answer ended early"));
    if head.chunked {
        loop {
            if let Some(body) = dechunk(&buf[start..]) {
                return Ok(message(body, head.keep_alive));
            }
            if !more(s, &mut buf)? {
                return Err(truncated());
            }
        }
    }
    if let Some(len) = head.content_length {
        while buf.len() < start + len {
            if !more(s, &mut buf)? {
                return Err(truncated());
            }
        }
        return Ok(message(buf[start..start + len].to_vec(), head.keep_alive));
    }
    // No length: the body runs to the end of the connection.
    while more(s, &mut buf)? {}
    Ok(message(buf[start..].to_vec(), false))
}

/// A chunked body decoded; `None` while incomplete.
pub fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_chunked_bodies() {
        let h = parse_head("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7").unwrap();
        assert_eq!(h, Head { status: 200, content_length: Some(7), chunked: false, keep_alive: true });
        let h = parse_head("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close").unwrap();
        assert_eq!(h, Head { status: 404, content_length: None, chunked: true, keep_alive: false });
        assert!(!parse_head("HTTP/1.0 200 OK").unwrap().keep_alive);
        assert_eq!(parse_head("garbage"), None);
        assert_eq!(dechunk(b"4\r\n{\"m\"\r\n3\r\n:1}\r\n0\r\n\r\n"), Some(b"{\"m\":1}".to_vec()));
        assert_eq!(dechunk(b"4\r\n{\"m\""), None, "incomplete: read more");
    }

    #[test]
    fn responses_by_length_chunks_and_end_of_stream() {
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra";
        assert_eq!(read_response(&mut r, "x").unwrap(), (200, b"{}".to_vec(), true));
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it";
        assert_eq!(read_response(&mut r, "x").unwrap(), (200, b"all of it".to_vec(), false));
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort";
        assert_eq!(read_response(&mut r, "etcd").unwrap_err().to_string(), "etcd's answer ended early");
        let mut r: &[u8] = b"";
        assert_eq!(read_response(&mut r, "etcd").unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn whole_messages_keep_reason_and_headers() {
        let mut r: &[u8] =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nno!";
        let m = read_message(&mut r, "x", false).unwrap();
        assert_eq!((m.status, m.reason.as_str(), m.body.as_slice()), (404, "Not Found", b"no!".as_slice()));
        assert_eq!(m.headers, vec![("x-a".into(), "1".into()), ("content-length".into(), "3".into())]);
        // The answer to HEAD announces a length but carries no body.
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(read_message(&mut r, "x", true).unwrap().body, b"");
    }
}
