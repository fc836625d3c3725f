//! End-to-end tests of the streams to a host's sockets over SSH (src/connection/ssh/stream_bridge.rs),
//! first as the Docker modules use them (a local socket bridged to a lab host's
//! /var/run/docker.sock): as root through direct-streamlocal, as a sudo user through the become
//! relay (with a sudo password), several connections at once, a login user without rights refused
//! with a clear message, and a host without Docker. dockerd never listens on TCP. Then the same
//! mechanism for any socket: TCP addresses as the host sees them (direct-tcpip), a root-only Unix
//! socket through become, and the failures (nothing listening, no socket, no rights).
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

#[path = "lab/mod.rs"]
mod lab;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use lab::Lab;
use orc::connection::{ConnectOptions, HostKeyChecking, SshConnection};
use orc_modules::stream::StreamTarget;
use orc_modules::Connection;
use serde_json::{json, Map, Value};

const SOCKET: &str = "/var/run/docker.sock";

fn connect(lab: &Lab, host: &str, user: &str, become_user: Option<&str>, extra: Value) -> SshConnection {
    let h = lab.host(host);
    let mut vars: Map<String, Value> = json!({
        "ansible_host": h.ip,
        "ansible_user": user,
        "ansible_ssh_private_key_file": lab.key_path().display().to_string(),
    })
    .as_object()
    .cloned()
    .unwrap();
    if let Value::Object(m) = extra {
        vars.extend(m);
    }
    let opts = ConnectOptions { host_key_checking: HostKeyChecking::Off, ..ConnectOptions::default() };
    SshConnection::open(host, &vars, become_user, &opts).unwrap_or_else(|e| panic!("connect {user}@{host}: {e}"))
}

/// One HTTP/1.1 request over the bridged socket; returns the whole response.
fn request(socket: &Path, path: &str) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_docker_socket_is_reached_over_ssh_only() {
    let Some(lab) = Lab::start(2) else { return };
    let with = lab.hosts()[0].name.clone();
    let without = lab.hosts()[1].name.clone();
    lab.install_docker(&with);

    // root: direct-streamlocal to the socket.
    let mut root = connect(&lab, &with, "root", None, json!({}));
    let socket = root.docker_socket(SOCKET).unwrap();
    assert_eq!(root.docker_socket(SOCKET).unwrap(), socket, "one bridge per host and socket for the run");
    let ping = request(&socket, "/_ping");
    assert!(ping.starts_with("HTTP/1.1 200 OK") && ping.ends_with("OK"), "{ping}");
    // Several connections at once, and a response bigger than one SSH window packet.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || request(&socket, "/info"))
        })
        .collect();
    for t in threads {
        let info = t.join().unwrap();
        assert!(info.contains("\"ServerVersion\""), "{info}");
    }
    // The commands still run on the main session meanwhile.
    assert_eq!(root.exec("echo still here", None).unwrap().stdout_str(), "still here\n");

    // A sudo user with a password: through the become shell and `docker system dial-stdio`.
    let mut sudoer = connect(&lab, &with, "deploy2", Some("root"), json!({"ansible_become_password": "orc-lab-pw"}));
    let socket2 = sudoer.docker_socket(SOCKET).unwrap();
    let version = request(&socket2, "/version");
    assert!(version.contains("\"ApiVersion\""), "{version}");
    assert!(request(&socket2, "/_ping").ends_with("OK"));

    // A login user without rights to the socket and no become: refused, saying why.
    let mut plain = connect(&lab, &with, "deploy", None, json!({}));
    let err = plain.docker_socket(SOCKET).unwrap_err();
    assert_eq!(
        err,
        format!(
            "cannot reach the Docker daemon on {with}: deploy may not use /var/run/docker.sock \
             (use become, or add deploy to the docker group)"
        )
    );

    // No Docker on the host.
    let mut bare = connect(&lab, &without, "root", None, json!({}));
    let err = bare.docker_socket(SOCKET).unwrap_err();
    assert_eq!(
        err,
        format!(
            "cannot reach the Docker daemon on {without}: no socket at /var/run/docker.sock \
             (is Docker installed and running?)"
        )
    );

    // Nothing on the host listens on TCP beyond loopback but sshd (port 22 = 0x0016): dockerd is
    // not exposed (loopback has containerd's stream server and Docker's embedded DNS).
    let listeners = lab.exec(&with, "awk '$4 == \"0A\" {print $2}' /proc/net/tcp /proc/net/tcp6").ok().to_string();
    let exposed: Vec<&str> = listeners
        .lines()
        .filter(|l| !l.ends_with(":0016"))
        .filter(|l| !(l.len() == 13 && l[6..8].eq_ignore_ascii_case("7F")))
        .collect();
    assert!(listeners.contains(":0016") && exposed.is_empty(), "TCP listeners: {listeners}");
    // Streams to any socket, through the same bridge. TCP as the host sees it: its own sshd on
    // its loopback answers with its banner.
    let mut banner = [0u8; 8];
    let mut sshd = root.open_stream(&StreamTarget::tcp("127.0.0.1", 22)).unwrap();
    sshd.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sshd.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    let err = root.open_stream(&StreamTarget::tcp("127.0.0.1", 1)).unwrap_err();
    assert!(
        err.starts_with(&format!("{with}: nothing accepts connections at 127.0.0.1:1 as seen from the host")),
        "{err}"
    );
    // A root-only Unix socket (systemd's private bus): refused to a plain login user, naming who
    // and what; reached through become (the perl relay); a missing one named.
    let private = StreamTarget::Unix("/run/systemd/private".into());
    let err = plain.open_stream(&private).unwrap_err();
    assert_eq!(
        err,
        format!("{with}: deploy may not use /run/systemd/private (use become, or give deploy access to the socket)")
    );
    assert!(sudoer.open_stream(&private).is_ok(), "through become, root may open it");
    let err = sudoer.open_stream(&StreamTarget::Unix("/run/nope.sock".into())).unwrap_err();
    assert_eq!(err, format!("{with}: no socket at /run/nope.sock"));
    let err = root.open_stream(&StreamTarget::Unix("/run/nope.sock".into())).unwrap_err();
    assert_eq!(err, format!("{with}: no socket at /run/nope.sock"));
    // Streams may be opened from other threads while the connection runs commands.
    let opener = root.streams().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let opener = opener.clone();
            std::thread::spawn(move || {
                let mut s = opener.open(&StreamTarget::tcp("127.0.0.1", 22)).unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).unwrap();
                b
            })
        })
        .collect();
    assert_eq!(root.exec("echo busy", None).unwrap().stdout_str(), "busy\n");
    for t in threads {
        assert_eq!(&t.join().unwrap(), b"SSH-");
    }
    drop(opener);
    drop(root);
    assert!(!socket.exists(), "the bridge's socket is removed with the connection");
}
