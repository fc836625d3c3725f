//! End-to-end tests of get_url, uri and unarchive on lab hosts. Host 1 serves files and echoes
//! POSTs with a tiny Python HTTP server (bounded by `timeout`); host 2 is managed by orc and makes
//! the requests itself. Traffic only flows between the two lab hosts.
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
http.server.ThreadingHTTPServer(('', 8080), functools.partial(H, directory='/srv/www')).serve_forever()
"#;

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
fn start_server(lab: &Lab, server: &str) {
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
    start_server(&lab, &server);
    let sha256 = lab.exec(&server, "sha256sum < /srv/www/data.txt").ok().split_whitespace().next().unwrap().to_string();
    let base = format!("http://{ip}:8080");

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
    let fail = format!("- hosts: {target}\n  gather_facts: false\n  tasks:\n    - uri: {{url: \"{base}/missing\"}}\n");
    let p = Project::new()
        .file("site.yaml", &unindent(&site))
        .file("check.yaml", &unindent(&check))
        .file("fail.yaml", &unindent(&fail));
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

    // Without curl or wget on the host, get_url says so.
    let none = orc(&home, &p, &lab, "check.yaml").run().code(2);
    assert!(none.stdout.contains("get_url needs curl or wget on the managed host"), "{none}");
    lab.exec(
        &target,
        "apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null",
    )
    .ok();

    let first = orc(&home, &p, &lab, "site.yaml").run().success();
    assert_eq!(first.recap(&target).changed, 3, "{first}");
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
}
