//! The service-discovery topology on the lab (issue "Service discovery", reused by the rolling
//! upgrade tests): 1 load balancer, 1 registry, 3 app hosts and a 4th for scale-out, all from the
//! discovery image (tests/lab/discovery-image.sh: the lab image with Docker installed, haproxy and
//! etcd-server in apt's cache), with the app images (tests/lab/app-image.sh) loaded into every
//! app host's Docker.
//!
//! ```ignore
//! #[path = "lab/mod.rs"]
//! mod lab;
//! #[path = "lab/topology.rs"]
//! mod topology;
//!
//! let Some(t) = topology::Topology::start(&[1, 2]) else { return }; // app:1, app:2 on every app host
//! let inv = t.inventory("three", &t.apps[..3]);                    // groups lb, registry, app
//! // orc play service-discovery -i inv -e app_image=app -e app_tag=1
//! ```
//!
//! One topology per test binary: start it once and run every step on it (starting six hosts
//! takes about 15 s; the image is built once per machine, about 40 s). Dropping it removes the
//! hosts. A trap records any run of python3, socat, curl or etcdctl on any host
//! ([`Topology::trapped_calls`]): nothing in service discovery may run them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::lab::{self, Lab, LabHost};

/// How long building the discovery image may take (about 40 s; the rest is for a loaded machine
/// or another process building it).
const IMAGE_TIMEOUT: Duration = Duration::from_secs(900);
/// Where the trap records calls, on each host.
const TRAP_LOG: &str = "/var/tmp/orc-trapped-calls";
/// The programs nothing may run on the hosts (issue "Service discovery", acceptance 6).
pub const TRAPPED: &[&str] = &["python3", "socat", "curl", "etcdctl"];

/// A running topology.
pub struct Topology {
    /// The lab (its hosts in the order lb, registry, app1..app4).
    pub lab: Lab,
    /// The load balancer host (group `lb`).
    pub lb: LabHost,
    /// The registry host (group `registry`).
    pub registry: LabHost,
    /// The app hosts: three, then the one for scale-out.
    pub apps: Vec<LabHost>,
}

impl Topology {
    /// Starts the topology with app images `app:V` for each of `versions` loaded on every app
    /// host, and the trap set on every host. `None` only when `ORC_LAB=skip`.
    pub fn start(versions: &[u32]) -> Option<Topology> {
        if std::env::var("ORC_LAB").as_deref() == Ok("skip") {
            // Lab::start prints the SKIPPED line and starts nothing.
            return Lab::start(1).and(None);
        }
        let image = discovery_image();
        let lab = Lab::start_from_image(6, &image)?;
        let hosts = lab.hosts().to_vec();
        let t = Topology { lb: hosts[0].clone(), registry: hosts[1].clone(), apps: hosts[2..].to_vec(), lab };
        t.load_app_images(versions);
        for h in t.lab.hosts() {
            t.trap(&h.name);
        }
        Some(t)
    }

    /// Loads `app:V` for each version into every app host's Docker (discovery-lab.sh load:
    /// built with app-image.sh, copied in, `docker load`ed): no registry needed, nothing pulled.
    pub fn load_app_images(&self, versions: &[u32]) {
        let names: Vec<String> = versions.iter().map(u32::to_string).collect();
        self.load_app_images_named(&names);
    }

    /// Loads app images named as discovery-lab.sh takes them (`"3"`, or `"3-unhealthy"` for an
    /// app:3 that answers 500 on /cgi-bin/health) into every app host's Docker.
    pub fn load_app_images_named(&self, versions: &[String]) {
        for h in &self.apps {
            let mut c = Command::new("bash");
            c.arg(lab::script("discovery-lab.sh")).arg("load").arg(&h.container);
            c.args(versions);
            let out = lab::run(c, Duration::from_secs(300));
            assert_eq!(out.code, 0, "loading the app images on {} failed:\n{out}", h.name);
        }
    }

    /// Writes an inventory named `name` in the lab's directory: group `lb` (the LB), `registry`,
    /// `app` (the given app hosts), each host with its address, root login and the lab key.
    pub fn inventory(&self, name: &str, apps: &[LabHost]) -> PathBuf {
        let line = |h: &LabHost| {
            format!(
                "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={}\n",
                h.name,
                h.ip,
                self.lab.key_path().display()
            )
        };
        let mut text = format!("# The service-discovery topology of lab {}.\n[lb]\n", self.lab.name());
        text.push_str(&line(&self.lb));
        text.push_str("\n[registry]\n");
        text.push_str(&line(&self.registry));
        text.push_str("\n[app]\n");
        for h in apps {
            text.push_str(&line(h));
        }
        let path = self.lab.dir().join(format!("{name}.ini"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The LB's address for the app (its lab address, port 80).
    pub fn lb_addr(&self) -> std::net::SocketAddr {
        format!("{}:80", self.lb.ip).parse().unwrap()
    }

    /// Every trapped call recorded on any host since the topology started, as `host: command`.
    pub fn trapped_calls(&self) -> Vec<String> {
        let mut calls = Vec::new();
        for h in self.lab.hosts() {
            let out = self.lab.exec(&h.name, &format!("cat {TRAP_LOG} 2>/dev/null; true"));
            calls.extend(out.ok().lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{}: {l}", h.name)));
        }
        calls
    }

    /// Replaces every trapped program on `host` by a script that records its command line and
    /// fails: those on PATH are moved aside, and a recording stand-in is put first on PATH
    /// (/usr/local/bin) for the ones the host does not have, so a call by name is recorded too.
    fn trap(&self, host: &str) {
        let names = TRAPPED.join(" ");
        let script = format!(
            "set -e
            for name in {names}; do
                fake=\"#!/bin/sh\\necho \\\"\\$0 \\$*\\\" >>{TRAP_LOG}\\nexit 127\\n\"
                for f in /usr/bin/$name* /usr/local/bin/$name; do
                    [ -f \"$f\" ] && [ ! -L \"$f\" ] || continue
                    case \"$f\" in *.orc-real) continue ;; esac
                    mv \"$f\" \"$f.orc-real\"
                    printf \"$fake\" >\"$f\"; chmod 755 \"$f\"
                done
                printf \"$fake\" >/usr/local/bin/$name; chmod 755 /usr/local/bin/$name
            done
            ! python3 -c 'print(1)' 2>/dev/null
            test -s {TRAP_LOG}
            rm -f {TRAP_LOG}"
        );
        self.lab.exec(host, &script).ok();
    }

    /// The entries under `prefix` in etcd, read on the registry host through etcd's JSON gateway
    /// with bash's /dev/tcp (not through orc, and without etcdctl): `(key, value)` in key order.
    pub fn etcd_entries(&self, prefix: &str) -> Vec<(String, String)> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let body = format!("{{\"key\":\"{}\",\"range_end\":\"{}\"}}", b64.encode(prefix), b64.encode(&end));
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/2379 && printf 'POST /v3/kv/range HTTP/1.1\\r\\nHost: etcd\\r\\n\
             Content-Length: {}\\r\\nConnection: close\\r\\n\\r\\n%s' '{body}' >&3 && cat <&3",
            body.len()
        );
        let mut c = Command::new("docker");
        c.args(["exec", &self.registry.container, "bash", "-c", &script]);
        let out = lab::run(c, Duration::from_secs(30));
        let text = out.ok();
        let json = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("etcd's answer {text:?}: {e}"));
        let decode =
            |v: &serde_json::Value| String::from_utf8(b64.decode(v.as_str().unwrap_or_default()).unwrap()).unwrap();
        v.get("kvs")
            .and_then(|k| k.as_array())
            .map(|kvs| kvs.iter().map(|kv| (decode(&kv["key"]), decode(&kv["value"]))).collect())
            .unwrap_or_default()
    }

    /// A runtime API command sent to HAProxy on the LB host (perl, already there, talks to the
    /// socket: the test's own check, independent of orc's modules). Returns the answer.
    pub fn haproxy(&self, command: &str) -> String {
        let perl = format!(
            "perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Peer => q(/run/haproxy/admin.sock)) or die $!; \
             print $s qq({command}\\n); shutdown($s, 1); print while <$s>;'"
        );
        self.lab.exec(&self.lb.name, &perl).ok().to_string()
    }

    /// The administrative state of server `server` of backend `backend`: ready, drain or maint
    /// (from `show servers state`), `None` when it is not there.
    pub fn server_admin(&self, backend: &str, server: &str) -> Option<&'static str> {
        let answer = self.haproxy("show servers state");
        answer.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() > 6 && f[1] == backend && f[3] == server {
                let flags: u32 = f[6].parse().unwrap_or(0);
                Some(if flags & 0x67 != 0 {
                    "maint"
                } else if flags & 0x18 != 0 {
                    "drain"
                } else {
                    "ready"
                })
            } else {
                None
            }
        })
    }

    /// Whether HAProxy's health checks hold server `server` of backend `backend` for up (its
    /// operational state in `show servers state` is RUNNING); `None` when it is not there.
    #[allow(dead_code)] // e2e_rollout's; e2e_discovery shares this file
    pub fn server_up(&self, backend: &str, server: &str) -> Option<bool> {
        let answer = self.haproxy("show servers state");
        answer.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 6 && f[1] == backend && f[3] == server).then(|| f[5] == "2")
        })
    }

    /// A directory for the test's own files (playbooks, inventories), living as long as the lab.
    pub fn dir(&self) -> &Path {
        self.lab.dir()
    }
}

/// Builds the discovery image when absent (once per machine) and returns its tag.
fn discovery_image() -> String {
    let mut c = Command::new("bash");
    c.arg(lab::script("discovery-image.sh"));
    let out = lab::run(c, IMAGE_TIMEOUT);
    let tag = out.stdout.trim().to_string();
    assert!(out.code == 0 && tag.starts_with("orc-lab-sd:"), "building the discovery image failed:\n{out}");
    tag
}
