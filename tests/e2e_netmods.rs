//! End-to-end tests of get_url, uri and unarchive on lab hosts. Host 1 serves files and echoes
//! POSTs with a tiny Python HTTP(S) server (bounded by `timeout`); host 2 is managed by orc, has
//! no curl, wget or python3, and knows host 1 by a name only its own /etc/hosts gives: the
//! requests leave from host 2 through its SSH connection (direct-tcpip), with TLS ended in orc.
//! Traffic only flows between the two lab hosts.
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::{Path, PathBuf};

use common::{unindent, Orc, Project};
use lab::Lab;

const ECHO_SERVER: &str = r#"
import functools, http.server, json
class H(http.server.SimpleHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode()
        out = json.dumps({"body": body, "content_type": self.headers.get('Content-Type'),
                          "auth": self.headers.get('Authorization')}).encode()
        self.send_response(201)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
import ssl, threading
tls = http.server.ThreadingHTTPServer(('', 8443), functools.partial(H, directory='/srv/www'))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('/srv/tls/leaf.pem', '/srv/tls/leaf.key')
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=tls.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(('', 8080), functools.partial(H, directory='/srv/www')).serve_forever()
"#;

/// The name host 2 knows host 1 by (its /etc/hosts only: the controller cannot resolve it).
const SERVER_NAME: &str = "websrv.orc-lab";

/// A CA and a certificate for [`SERVER_NAME`] signed by it, made by openssl in `dir`.
fn make_certs(dir: &Path) {
    let script = format!(
        "set -e
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
            -days 2 -subj /CN=orc-lab-ca 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr \
            -subj /CN={SERVER_NAME} 2>/dev/null
        printf 'subjectAltName=DNS:{SERVER_NAME}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
            -extfile ext 2>/dev/null"
    );
    let st = std::process::Command::new("sh").arg("-c").arg(script).current_dir(dir).status().unwrap();
    assert!(st.success());
}

fn home_for(lab: &Lab, p: &Project) -> PathBuf {
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    home
}

fn orc(home: &Path, p: &Project, lab: &Lab, playbook: &str) -> Orc {
    p.play(playbook).inventory(lab.inventory_path()).env("HOME", home).env("ORC_HOST_KEY_CHECKING", "strict")
}

/// Starts the HTTP server on `server` (for at most 10 minutes) and waits until it answers.
fn start_server(lab: &Lab, server: &str, certs: &Path) {
    let leaf = std::fs::read_to_string(certs.join("leaf.pem")).unwrap();
    let key = std::fs::read_to_string(certs.join("leaf.key")).unwrap();
    lab.exec(server, &format!("mkdir -p /srv/tls && cat > /srv/tls/leaf.pem <<'EOF'\n{leaf}EOF\n")).ok();
    lab.exec(server, &format!("cat > /srv/tls/leaf.key <<'EOF'\n{key}EOF\n")).ok();
    let setup = format!(
        "mkdir -p /srv/www && printf 'payload one\\n' > /srv/www/data.txt && printf 'other\\n' > /srv/www/other.txt \
         && printf '{{\"name\": \"orc\", \"n\": 3}}' > /srv/www/doc.json && cat > /srv/echo.py <<'EOF'\n{ECHO_SERVER}\nEOF\n\
         setsid nohup timeout 600 python3 /srv/echo.py >/dev/null 2>/srv/access.log </dev/null &"
    );
    lab.exec(server, &setup).ok();
    let wait =
        "for i in $(seq 100); do python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8080/')\" \
                2>/dev/null && exit 0; sleep 0.1; done; exit 1";
    lab.exec(server, wait).ok();
}

fn requests_for(lab: &Lab, server: &str, path: &str) -> usize {
    let log = lab.exec(server, "cat /srv/access.log");
    log.ok().lines().filter(|l| l.contains(&format!("\"GET {path} ")) || l.contains(&format!("\"HEAD {path} "))).count()
}

#[test]
fn get_url_uri_unarchive_against_a_lab_http_server() {
    let Some(lab) = Lab::start(2) else { return };
    let server = lab.hosts()[0].name.clone();
    let target = lab.hosts()[1].name.clone();
    let ip = lab.hosts()[0].ip.clone();
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    start_server(&lab, &server, certs.path());
    let sha256 = lab.exec(&server, "sha256sum < /srv/www/data.txt").ok().split_whitespace().next().unwrap().to_string();
    // The target: no HTTP client of any kind, the server known by a name only it resolves, and
    // the test CA in a file of its own.
    let ca = std::fs::read_to_string(certs.path().join("ca.pem")).unwrap();
    lab.exec(
        &target,
        &format!(
            "echo '{ip} {SERVER_NAME}' >> /etc/hosts && mkdir -p /root/hidden && mv /usr/bin/python3* /root/hidden/ \
             && cat > /etc/orc-test-ca.pem <<'EOF'\n{ca}EOF\n"
        ),
    )
    .ok();
    assert_eq!(lab.exec(&target, "command -v curl wget python3 python; true").ok(), "", "no client on the target");
    let base = format!("http://{SERVER_NAME}:8080");
    let tls = format!("https://{SERVER_NAME}:8443");

    // The archive lives on the controller, next to the playbook.
    let build = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(build.path().join("app/bin")).unwrap();
    std::fs::write(build.path().join("app/bin/run.sh"), "#!/bin/sh\necho run\n").unwrap();
    std::fs::write(build.path().join("app/README"), "readme\n").unwrap();
    let site = format!(
        r#"
        - hosts: {target}
          gather_facts: false
          tasks:
            - get_url: {{url: "{base}/data.txt", dest: /opt/data.txt, checksum: "sha256:{sha256}", mode: "0640"}}
            - get_url: {{url: "{base}/other.txt", dest: /opt/, force: true}}
            - uri: {{url: "{base}/doc.json"}}
              register: doc
            - uri:
                url: "{base}/echo"
                method: POST
                body_format: json
                body: {{a: 1, b: [x]}}
                status_code: 201
                url_username: bob
                url_password: s3cret-pw
                force_basic_auth: true
              register: posted
            - uri: {{url: "{base}/missing", status_code: [200, 404]}}
              register: missing
            - uri: {{url: "{tls}/doc.json", ca_path: /etc/orc-test-ca.pem, return_content: true}}
              register: secure
            - uri: {{url: "{tls}/doc.json", validate_certs: false}}
              register: unchecked
            - get_url: {{url: "{tls}/doc.json", dest: /opt/secure.json, validate_certs: false}}
            - unarchive: {{src: app.tar.gz, dest: /opt, list_files: true}}
              register: unpacked
            - assert:
                that:
                  - doc.status == 200
                  - doc.json.name == 'orc'
                  - doc.content_type == 'application/json'
                  - doc.msg == 'OK (23 bytes)'
                  - posted.status == 201
                  - "posted.json.body == '{{\"a\": 1, \"b\": [\"x\"]}}'"
                  - posted.json.content_type == 'application/json'
                  - posted.json.auth == 'Basic Ym9iOnMzY3JldC1wdw=='
                  - missing.status == 404
                  - secure.json.name == 'orc'
                  - "secure.content == '{{\"name\": \"orc\", \"n\": 3}}'"
                  - secure.url == '{tls}/doc.json'
                  - unchecked.status == 200
                  - "'app/bin/run.sh' in unpacked.files"
        "#
    );
    let check = format!(
        r#"
        - hosts: {target}
          gather_facts: false
          tasks:
            - get_url: {{url: "{base}/data.txt", dest: /opt/data.txt, checksum: "sha256:{sha256}"}}
            - unarchive: {{src: app.tar.gz, dest: /opt}}
        "#
    );
    let one = |task: &str| format!("- hosts: {target}\n  gather_facts: false\n  tasks:\n    - {task}\n");
    let fail = one(&format!("uri: {{url: \"{base}/missing\"}}"));
    // The host's own CA bundle does not know the test CA.
    let untrusted = one(&format!("uri: {{url: \"{tls}/doc.json\"}}"));
    let plain = one(&format!("uri: {{url: \"{base}/doc.json\"}}"));
    let p = Project::new()
        .file("site.yaml", &unindent(&site))
        .file("check.yaml", &unindent(&check))
        .file("fail.yaml", &fail)
        .file("untrusted.yaml", &untrusted)
        .file("plain.yaml", &plain);
    std::fs::create_dir_all(p.join("files")).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-czf")
        .arg(p.join("files/app.tar.gz"))
        .arg("-C")
        .arg(build.path())
        .arg("app")
        .status()
        .unwrap();
    assert!(tar.success());
    let home = home_for(&lab, &p);

    let first = orc(&home, &p, &lab, "site.yaml").run().success();
    assert_eq!(first.recap(&target).changed, 4, "{first}");
    assert_eq!(lab.exec(&target, "cat /opt/secure.json").ok(), "{\"name\": \"orc\", \"n\": 3}");
    assert_eq!(lab.exec(&target, "cat /opt/data.txt").ok(), "payload one\n");
    assert_eq!(lab.exec(&target, "stat -c %a /opt/data.txt").ok().trim(), "640");
    assert_eq!(lab.exec(&target, "cat /opt/other.txt /opt/app/README").ok(), "other\nreadme\n");
    assert_eq!(lab.exec(&target, "ls -a /opt | grep -c orc_get_url || true").ok().trim(), "0", "temp files left");
    // The password never reached a command line or the output.
    assert!(!first.stdout.contains("s3cret-pw"), "{first}");

    let second = orc(&home, &p, &lab, "site.yaml").run().success();
    assert_eq!(second.recap(&target).changed, 0, "{second}");
    // The checksummed file was downloaded once: the second run trusted the checksum.
    assert_eq!(requests_for(&lab, &server, "/data.txt"), 1);
    // force: yes downloaded again, and found the same content.
    assert_eq!(requests_for(&lab, &server, "/other.txt"), 2);

    // Check mode reports what would change and changes nothing.
    lab.exec(&target, "rm /opt/data.txt /opt/app/README").ok();
    let checked = orc(&home, &p, &lab, "check.yaml").arg("--check").run().success();
    assert_eq!(checked.recap(&target).changed, 2, "{checked}");
    assert_eq!(lab.exec(&target, "ls /opt/data.txt /opt/app/README 2>&1 | grep -c 'No such file'").ok().trim(), "2");
    let fixed = orc(&home, &p, &lab, "check.yaml").run().success();
    assert_eq!(fixed.recap(&target).changed, 2, "{fixed}");
    assert_eq!(lab.exec(&target, "cat /opt/data.txt /opt/app/README").ok(), "payload one\nreadme\n");

    // A status outside status_code fails the task with Ansible's message.
    let failed = orc(&home, &p, &lab, "fail.yaml").run().code(2);
    assert!(failed.stdout.contains("Status code was 404 and not [200]: HTTP Error 404: File not found"), "{failed}");
    // Certificates are checked: against the host's CA bundle, which lacks the test CA.
    let refused = orc(&home, &p, &lab, "untrusted.yaml").run().code(2);
    assert!(refused.stdout.contains("certificate verify failed for websrv.orc-lab"), "{refused}");

    // When sshd forbids forwarding, curl on the host is the fallback, and the task says so.
    lab.exec(
        &target,
        "echo 'AllowTcpForwarding no' > /etc/ssh/sshd_config.d/00-no-forwarding.conf && systemctl reload ssh",
    )
    .ok();
    wait_for_sshd(&lab.hosts()[1].ip);
    let no_curl = orc(&home, &p, &lab, "plain.yaml").run().code(2);
    assert!(no_curl.stdout.contains("sshd does not allow forwarding to websrv.orc-lab:8080"), "{no_curl}");
    assert!(no_curl.stdout.contains("and the fallback, curl, is not in the host's PATH"), "{no_curl}");
    lab.exec(
        &target,
        "apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null",
    )
    .ok();
    let with_curl = orc(&home, &p, &lab, "plain.yaml").run().success();
    assert!(with_curl.stderr.contains("uri made the request with curl on the host instead"), "{with_curl}");
}

/// Waits (up to 30 s) until sshd on `ip` accepts connections again: `systemctl reload ssh`
/// re-executes it, and a connection in that moment is refused.
fn wait_for_sshd(ip: &str) {
    let addr: std::net::SocketAddr = format!("{ip}:22").parse().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Give the reload's SIGHUP the time to land before the first try.
    std::thread::sleep(std::time::Duration::from_millis(300));
    while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_err() {
        assert!(std::time::Instant::now() < deadline, "sshd on {ip} did not come back after its reload");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
