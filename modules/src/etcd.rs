//! A client of etcd's v3 JSON gateway (`POST /v3/kv/range`, `/v3/kv/put`, `/v3/kv/deleterange`,
//! `/v3/auth/authenticate`; keys and values base64 in JSON), over any byte stream: a channel the
//! task's host opens to etcd (direct-tcpip, so an etcd bound to that host's loopback or private
//! network is reached without being exposed), or a plain TCP connection. Used by the `etcd3`
//! module and the `community.general.etcd3` lookup. Each request is one stream (`Connection:
//! close`): a channel costs far less than the task around it.

use std::io::Write;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::stream::HostStream;

/// One key and its value, as text (etcd stores bytes; orc reads them as UTF-8, lossily).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Why a request failed: etcd could not be reached at all, or it answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcdError {
    /// No stream to etcd (the message names the host and the address).
    Connect(String),
    /// etcd was reached but the request failed (the message says how).
    Request(String),
}

impl std::fmt::Display for EtcdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EtcdError::Connect(m) | EtcdError::Request(m) => f.write_str(m),
        }
    }
}

/// A client for one module run or lookup: how to open a stream to etcd, and the credentials.
pub struct EtcdClient<'a> {
    open: Box<dyn FnMut() -> Result<HostStream, String> + 'a>,
    timeout: Duration,
    credentials: Option<(String, String)>,
    token: Option<String>,
}

impl<'a> EtcdClient<'a> {
    /// A client that opens each request's stream with `open` (whose error already names the
    /// host and address), waits at most `timeout` for an answer, and authenticates as
    /// `credentials` (user, password) when given.
    pub fn new(
        open: impl FnMut() -> Result<HostStream, String> + 'a,
        timeout: Duration,
        credentials: Option<(String, String)>,
    ) -> Self {
        EtcdClient { open: Box::new(open), timeout, credentials, token: None }
    }

    /// The value of `key`, `None` when it does not exist.
    pub fn get(&mut self, key: &str) -> Result<Option<String>, EtcdError> {
        let answer = self.call("/v3/kv/range", &json!({ "key": B64.encode(key) }))?;
        Ok(entries(&answer)?.into_iter().next().map(|e| e.value))
    }

    /// Every key starting with `prefix`, in key order.
    pub fn get_prefix(&mut self, prefix: &str) -> Result<Vec<Entry>, EtcdError> {
        let body = json!({ "key": B64.encode(prefix), "range_end": B64.encode(prefix_end(prefix.as_bytes())) });
        entries(&self.call("/v3/kv/range", &body)?)
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str) -> Result<(), EtcdError> {
        self.call("/v3/kv/put", &json!({ "key": B64.encode(key), "value": B64.encode(value) })).map(|_| ())
    }

    /// Deletes `key`; returns how many keys were deleted (0 or 1).
    pub fn delete(&mut self, key: &str) -> Result<u64, EtcdError> {
        let answer = self.call("/v3/kv/deleterange", &json!({ "key": B64.encode(key) }))?;
        Ok(number(answer.get("deleted")))
    }

    /// POSTs `body` to `path` (authenticating first when credentials are given); the JSON answer.
    fn call(&mut self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        if self.token.is_none() {
            if let Some((user, password)) = self.credentials.clone() {
                let answer = self.post("/v3/auth/authenticate", &json!({"name": user, "password": password}), None)?;
                let token = answer.get("token").and_then(Value::as_str).unwrap_or_default();
                if token.is_empty() {
                    return Err(EtcdError::Request(format!(
                        "etcd did not authenticate {user}: no token in its answer"
                    )));
                }
                self.token = Some(token.to_string());
            }
        }
        let token = self.token.clone();
        self.post(path, body, token.as_deref())
    }

    fn post(&mut self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, EtcdError> {
        let mut stream = (self.open)().map_err(EtcdError::Connect)?;
        let io = |e: std::io::Error| {
            EtcdError::Request(format!("etcd did not answer {path}: {}", crate::stream::os_error(&e)))
        };
        stream.set_timeouts(Some(self.timeout)).map_err(io)?;
        let body = body.to_string();
        let auth = token.map(|t| format!("Authorization: {t}\r\n")).unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: etcd\r\nUser-Agent: orc\r\nContent-Type: application/json\r\n{auth}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(io)?;
        let (status, answer, _) = crate::http1::read_response(&mut stream, "etcd").map_err(io)?;
        let json: Value = serde_json::from_slice(&answer).map_err(|_| {
            EtcdError::Request(format!(
                "the answer to {path} is not etcd's JSON gateway (HTTP {status}): {}",
                String::from_utf8_lossy(&answer).chars().take(200).collect::<String>()
            ))
        })?;
        if status != 200 {
            let msg = json.get("message").or_else(|| json.get("error")).and_then(Value::as_str).unwrap_or("no message");
            return Err(EtcdError::Request(format!("etcd refused {path} (HTTP {status}): {msg}")));
        }
        Ok(json)
    }
}

/// The key/value pairs of a range answer.
fn entries(answer: &Value) -> Result<Vec<Entry>, EtcdError> {
    let Some(kvs) = answer.get("kvs").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    kvs.iter()
        .map(|kv| {
            Ok(Entry {
                key: decode(kv.get("key"))?,
                // etcd leaves out empty values.
                value: decode(kv.get("value"))?,
            })
        })
        .collect()
}

/// A base64 field as text (absent: empty).
fn decode(v: Option<&Value>) -> Result<String, EtcdError> {
    let text = v.and_then(Value::as_str).unwrap_or_default();
    let bytes = B64
        .decode(text)
        .map_err(|e| EtcdError::Request(format!("etcd sent a key or value that is not base64: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A count etcd's gateway sends as a JSON string ("1"), or a number.
fn number(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// The end of the range of keys starting with `prefix` (etcdctl's `--prefix`): the prefix with
/// its last byte below 0xff incremented and what follows dropped; all of the key space (`\0`)
/// for an empty or all-0xff prefix.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[test]
    fn prefix_ends_as_etcdctl_computes_them() {
        assert_eq!(prefix_end(b"/services/app/"), b"/services/app0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b""), vec![0]);
    }

    /// A stand-in for etcd's gateway that keeps a map, and records the requests it saw.
    pub(crate) fn fake_etcd() -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut store: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
            for conn in listener.incoming() {
                let mut c = conn.unwrap();
                let mut buf = vec![0u8; 8192];
                let mut req = Vec::new();
                loop {
                    let n = c.read(&mut buf).unwrap();
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .map(|v| v.parse().unwrap())
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&req).to_string();
                let (head, body) = text.split_once("\r\n\r\n").unwrap();
                let path = head.split_whitespace().nth(1).unwrap().to_string();
                log.lock().unwrap().push(format!("{path} {body}"));
                let b: Value = serde_json::from_str(body).unwrap();
                let key = B64.decode(b["key"].as_str().unwrap_or("")).unwrap();
                let answer = match path.as_str() {
                    "/v3/kv/put" => {
                        store.insert(key, B64.decode(b["value"].as_str().unwrap()).unwrap());
                        json!({"header": {}})
                    }
                    "/v3/kv/range" => {
                        let end = b["range_end"].as_str().map(|e| B64.decode(e).unwrap());
                        let kvs: Vec<Value> = store
                            .iter()
                            .filter(|(k, _)| match &end {
                                Some(end) => **k >= key && *k < end,
                                None => **k == key,
                            })
                            .map(|(k, v)| json!({"key": B64.encode(k), "value": B64.encode(v)}))
                            .collect();
                        if kvs.is_empty() {
                            json!({"header": {}})
                        } else {
                            json!({"header": {}, "count": kvs.len().to_string(), "kvs": kvs})
                        }
                    }
                    "/v3/kv/deleterange" => json!({"deleted": if store.remove(&key).is_some() { "1" } else { "0" }}),
                    _ => json!({"error": "Not Found", "message": "Not Found", "code": 5}),
                };
                let status = if answer.get("code").is_some() { "404 Not Found" } else { "200 OK" };
                let body = answer.to_string();
                let _ = write!(c, "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            }
        });
        (port, seen)
    }

    #[test]
    fn puts_gets_prefixes_and_deletes_over_the_gateway() {
        let (port, seen) = fake_etcd();
        let target = crate::stream::StreamTarget::tcp("127.0.0.1", port);
        let open = || HostStream::connect_here(&target, Duration::from_secs(5));
        let mut etcd = EtcdClient::new(open, Duration::from_secs(5), None);
        assert_eq!(etcd.get("/services/app/a").unwrap(), None);
        etcd.put("/services/app/a", "{\"port\": 8080}").unwrap();
        etcd.put("/services/app/b", "2").unwrap();
        etcd.put("/services/other/c", "3").unwrap();
        assert_eq!(etcd.get("/services/app/a").unwrap().as_deref(), Some("{\"port\": 8080}"));
        let all = etcd.get_prefix("/services/app/").unwrap();
        let keys: Vec<&str> = all.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["/services/app/a", "/services/app/b"]);
        assert_eq!(etcd.delete("/services/app/a").unwrap(), 1);
        assert_eq!(etcd.delete("/services/app/a").unwrap(), 0);
        let log = seen.lock().unwrap();
        assert!(log[0].starts_with("/v3/kv/range {\"key\":\"L3NlcnZpY2VzL2FwcC9h\"}"), "{log:?}");
    }

    #[test]
    fn failures_say_what_happened() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut c = conn.unwrap();
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
            }
        });
        let target = crate::stream::StreamTarget::tcp("127.0.0.1", port);
        let mut etcd =
            EtcdClient::new(|| HostStream::connect_here(&target, Duration::from_secs(5)), Duration::from_secs(5), None);
        let err = etcd.get("k").unwrap_err();
        assert_eq!(
            err,
            EtcdError::Request("the answer to /v3/kv/range is not etcd's JSON gateway (HTTP 200): hello".into())
        );
        let mut down = EtcdClient::new(|| Err("reg1: nothing there".to_string()), Duration::from_secs(1), None);
        assert_eq!(down.put("k", "v").unwrap_err(), EtcdError::Connect("reg1: nothing there".into()));
    }
}
