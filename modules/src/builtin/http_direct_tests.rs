//! Tests of `http_direct` against loopback servers that answer from a script and record what
//! they were sent; TLS with a CA and a server certificate made by openssl at test time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use super::*;
use crate::builtin::http_client::Tool;
use crate::testing::ShConnection;

/// Reads one request (head, then a body of its Content-Length) from `s`.
fn read_request(s: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap() == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let len = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// Answers one connection per reply, in order; gives back the requests received.
fn script_server(replies: Vec<&'static str>) -> (u16, JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for reply in replies {
            let (mut s, _) = l.accept().unwrap();
            seen.push(read_request(&mut s));
            s.write_all(reply.replace("{PORT}", &port.to_string()).as_bytes()).unwrap();
        }
        seen
    });
    (port, t)
}

fn request(url: String) -> Request {
    Request { url, method: "GET".into(), timeout: 5, validate_certs: true, follow: true, ..Request::default() }
}

fn done(o: Outcome) -> Response {
    match o {
        Outcome::Done(r) => r,
        Outcome::Unavailable(why) => panic!("unavailable: {why}"),
    }
}

#[test]
fn urls_are_split_and_joined() {
    let u = parse_url("https://bob:p%40ss@[::1]:8443/a b?x=1#frag").unwrap();
    assert_eq!((u.tls, u.host.as_str(), u.port, u.path.as_str()), (true, "::1", 8443, "/a b?x=1"));
    assert_eq!(u.userinfo, Some(("bob".into(), "p@ss".into())));
    assert_eq!(u.authority, "[::1]:8443");
    let u = parse_url("http://example.org?q").unwrap();
    assert_eq!((u.port, u.path.as_str(), u.authority.as_str()), (80, "/?q", "example.org"));
    assert!(parse_url("ftp://h/x").unwrap_err().contains("not http or https"));
    assert!(parse_url("http://h:99999/").unwrap_err().contains("invalid port"));
    assert_eq!(join_url("http://h:8/a/b", "/x"), "http://h:8/x");
    assert_eq!(join_url("http://h:8/a/b?q=1", "c"), "http://h:8/a/c");
    assert_eq!(join_url("http://h/a", "//o/p"), "http://o/p");
    assert_eq!(join_url("http://h/a", "https://o/p"), "https://o/p");
}

#[test]
fn bodies_by_length_chunks_and_end_of_connection() {
    let (port, server) = script_server(vec![
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        "HTTP/1.0 404 Not Here\r\nX-Why: gone\r\n\r\nnothing",
    ]);
    let mut conn = ShConnection::default();
    let base = format!("http://127.0.0.1:{port}");
    let r = done(execute(&mut conn, &request(format!("{base}/j")), None).unwrap());
    assert_eq!((r.status, r.body.as_slice(), r.msg()), (200, b"{\"a\": 1}".as_slice(), "OK (8 bytes)".into()));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = done(execute(&mut conn, &request(format!("{base}/c")), None).unwrap());
    assert_eq!((r.status, r.body.as_slice()), (200, b"abcde".as_slice()));
    let r = done(execute(&mut conn, &request(format!("{base}/e")), None).unwrap());
    assert_eq!((r.status, r.body.as_slice(), r.msg()), (404, b"nothing".as_slice(), "HTTP Error 404: Not Here".into()));
    let seen = server.join().unwrap();
    assert!(seen[0].starts_with("GET /j HTTP/1.1\r\n"), "{}", seen[0]);
    assert!(seen[0].contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")), "{}", seen[0]);
    assert!(seen[0].contains("\r\nConnection: close\r\n"), "{}", seen[0]);
}

#[test]
fn posts_headers_auth_and_redirects_follow_ansibles_rules() {
    let (port, server) = script_server(vec![
        // POST, redirected by 302: the follow-up is a GET without the body.
        "HTTP/1.1 302 Found\r\nLocation: /after\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        // POST, redirected by 307: method and body kept, to an absolute URL.
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{PORT}/kept\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        // A Basic challenge is answered once with the credentials.
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        // Not following: the 301 itself comes back.
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
    ]);
    let mut conn = ShConnection::default();
    let base = format!("http://127.0.0.1:{port}");
    let post = Request {
        method: "POST".into(),
        body: Some("{\"a\": 1}".into()),
        headers: vec![("Content-Type".into(), "application/json".into()), ("X-Token".into(), "t".into())],
        ..request(format!("{base}/form"))
    };
    let r = done(execute(&mut conn, &post, None).unwrap());
    assert_eq!((r.status, r.url.as_str()), (200, format!("{base}/after").as_str()));
    let r = done(execute(&mut conn, &Request { url: format!("{base}/temp"), ..post.clone() }, None).unwrap());
    assert_eq!((r.status, r.url.as_str()), (201, format!("{base}/kept").as_str()));
    let auth = Request { user: Some("bob".into()), password: Some("pw".into()), ..request(format!("{base}/auth")) };
    assert_eq!(done(execute(&mut conn, &auth, None).unwrap()).status, 200);
    let stay = Request { follow: false, ..request(format!("{base}/moved")) };
    let r = done(execute(&mut conn, &stay, None).unwrap());
    assert_eq!((r.status, r.header("location")), (301, Some("/elsewhere")));
    assert_eq!(r.msg(), "HTTP Error 301: Moved Permanently");

    let seen = server.join().unwrap();
    assert!(seen[0].starts_with("POST /form HTTP/1.1\r\n"), "{}", seen[0]);
    assert!(seen[0].contains("\r\nContent-Length: 8\r\n") && seen[0].ends_with("\r\n\r\n{\"a\": 1}"), "{}", seen[0]);
    assert!(seen[0].contains("\r\nX-Token: t\r\n"), "{}", seen[0]);
    assert!(seen[1].starts_with("GET /after HTTP/1.1\r\n"), "{}", seen[1]);
    assert!(!seen[1].contains("Content-Type") && !seen[1].contains("{\"a\""), "{}", seen[1]);
    assert!(seen[1].contains("\r\nX-Token: t\r\n"), "other headers are kept: {}", seen[1]);
    assert!(seen[3].starts_with("POST /kept HTTP/1.1\r\n") && seen[3].ends_with("{\"a\": 1}"), "{}", seen[3]);
    assert!(!seen[4].contains("Authorization"), "{}", seen[4]);
    assert!(seen[5].contains("\r\nAuthorization: Basic Ym9iOnB3\r\n"), "{}", seen[5]);
}

#[test]
fn output_goes_to_a_host_file_and_failures_are_status_minus_one() {
    let (port, server) = script_server(vec!["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndata"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin").to_str().unwrap().to_string();
    let mut conn = ShConnection::default();
    let req = Request { output: Some(out.clone()), ..request(format!("http://127.0.0.1:{port}/f")) };
    let r = done(execute(&mut conn, &req, None).unwrap());
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(std::fs::read(&out).unwrap(), b"data");
    server.join().unwrap();
    // Nobody listens there any more.
    let r = done(execute(&mut conn, &request(format!("http://127.0.0.1:{port}/f")), None).unwrap());
    assert_eq!(r.status, -1);
    assert_eq!(
        r.msg(),
        format!("Request failed: <urlopen error cannot connect to 127.0.0.1:{port}: connection refused>")
    );
}

/// A connection like `ShConnection` whose sshd refuses every forwarding.
struct NoForwarding(ShConnection);

impl Connection for NoForwarding {
    fn host(&self) -> &str {
        "web1"
    }
    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<crate::connection::CmdOutput, ConnError> {
        self.0.exec(cmd, stdin)
    }
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        self.0.read_file(path)
    }
    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        self.0.write_file(path, data)
    }
    fn streams(&mut self) -> Result<std::sync::Arc<dyn crate::stream::StreamOpener>, String> {
        self.0.streams()
    }
    fn open_stream(&mut self, target: &StreamTarget) -> Result<HostStream, String> {
        Err(format!("web1: {FORWARDING_FORBIDDEN} to {target} (AllowTcpForwarding in sshd_config)"))
    }
}

#[test]
fn forbidden_forwarding_falls_back_to_curl_and_says_so() {
    let (port, server) = script_server(vec!["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"]);
    let mut conn = NoForwarding(ShConnection::default());
    let req = request(format!("http://127.0.0.1:{port}/x"));
    let e = request_or_fallback(&mut conn, &req, None, None, "uri").unwrap_err();
    assert_eq!(
        crate::builtin::test_support::fail_msg(e),
        format!(
            "uri cannot make the request through the host's SSH connection (web1: sshd does not allow forwarding \
             to 127.0.0.1:{port} (AllowTcpForwarding in sshd_config)), and the fallback, curl, is not in the host's \
             PATH"
        )
    );
    let (r, warning) = request_or_fallback(&mut conn, &req, None, Some(Tool::Curl), "uri").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, b"hi".as_slice()));
    assert!(warning.unwrap().ends_with("; uri made the request with curl on the host instead"));
    assert!(conn.0.log.iter().any(|c| c.contains("curl -q")), "{:?}", conn.0.log);
    server.join().unwrap();
}

/// A CA and a certificate for 127.0.0.1 signed by it, made by openssl in `dir`.
fn make_certs(dir: &std::path::Path) {
    let script = "set -e
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
            -days 2 -subj /CN=orc-test-ca 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr \
            -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
            -extfile ext 2>/dev/null";
    let st = std::process::Command::new("sh").arg("-c").arg(script).current_dir(dir).status().unwrap();
    assert!(st.success());
}

/// An HTTPS server for `n` connections with the certificate of [`make_certs`].
fn tls_server(dir: &std::path::Path, n: usize) -> (u16, JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<_> = CertificateDer::pem_file_iter(dir.join("leaf.pem")).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = std::sync::Arc::new(config);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        for _ in 0..n {
            let (tcp, _) = l.accept().unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut s = rustls::StreamOwned::new(conn, tcp);
            // A client that refuses the certificate ends the handshake: nothing to answer.
            let mut byte = [0u8; 1];
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                match s.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            if head.ends_with(b"\r\n\r\n") {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
                s.conn.send_close_notify();
                let _ = s.flush();
            }
        }
    });
    (port, t)
}

#[test]
fn https_checks_certificates_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let (port, server) = tls_server(dir.path(), 4);
    let url = format!("https://127.0.0.1:{port}/s");
    let mut conn = ShConnection::default();
    // The host's CA bundle does not know the test CA.
    let r = done(execute(&mut conn, &request(url.clone()), None).unwrap());
    assert_eq!(r.status, -1);
    assert!(r.error.contains("certificate verify failed for 127.0.0.1"), "{}", r.error);
    // ca_path (a file on the host) trusts it.
    let ca = dir.path().join("ca.pem").to_str().unwrap().to_string();
    let r = done(execute(&mut conn, &request(url.clone()), Some(&ca)).unwrap());
    assert_eq!((r.status, r.body.as_slice()), (200, b"secure".as_slice()), "{}", r.error);
    // validate_certs: false accepts it without a CA.
    let r = done(execute(&mut conn, &Request { validate_certs: false, ..request(url.clone()) }, None).unwrap());
    assert_eq!((r.status, r.body.as_slice()), (200, b"secure".as_slice()), "{}", r.error);
    // A ca_path that is not on the host says so.
    let r = done(execute(&mut conn, &request(url.clone()), Some("/nonexistent/ca.pem")).unwrap());
    assert_eq!(r.error, "<urlopen error ca_path /nonexistent/ca.pem does not exist on the host>");
    // Let the server's last accept return.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    server.join().unwrap();
}
