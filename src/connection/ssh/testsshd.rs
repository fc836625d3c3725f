//! Test support: a throwaway OpenSSH server on the loopback, with its own host key, authorized
//! keys, log and pid file in a temporary directory, plus client keys, known_hosts and an SSH
//! config there too. Nothing touches the real `~/.ssh`. Needs root (as on CI) and `sshd`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::connection::options::{ConnectOptions, HostKeyChecking};

/// A running `sshd -D` and its files.
pub struct TestSshd {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

/// Runs a program, panicking with its stderr when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generates a key pair at `path` (type `kind`, optional passphrase).
pub fn keygen(path: &Path, kind: &str, passphrase: &str) {
    run(Command::new("ssh-keygen").args(["-q", "-t", kind, "-N", passphrase, "-C", "orc-test", "-f"]).arg(path));
}

/// A free TCP port on the loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TestSshd {
    /// Starts sshd in `dir/<name>/` accepting the keys listed in `authorized_keys`.
    pub fn start(dir: &Path, name: &str, authorized_keys: &Path) -> TestSshd {
        let sdir = dir.join(name);
        std::fs::create_dir_all(&sdir).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let host_key = sdir.join("host_ed25519");
        keygen(&host_key, "ed25519", "");
        // A second host key type, so that tests see which type the client asks for.
        let ecdsa_key = sdir.join("host_ecdsa");
        keygen(&ecdsa_key, "ecdsa", "");
        let port = free_port();
        let config = sdir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nHostKey {ek}\nPidFile {pid}\n\
                 AuthorizedKeysFile {ak}\nUsePAM no\nStrictModes no\nPermitRootLogin yes\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 AllowTcpForwarding yes\nSubsystem sftp internal-sftp\nLogLevel DEBUG\n",
                hk = host_key.display(),
                ek = ecdsa_key.display(),
                pid = sdir.join("sshd.pid").display(),
                ak = authorized_keys.display(),
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(sdir.join("sshd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd runs");
        let mut server = TestSshd { port, dir: sdir.clone(), child };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("sshd exited ({status}): {}", server.log());
            }
            assert!(Instant::now() < until, "sshd did not listen: {}", server.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// The `[127.0.0.1]:port ssh-ed25519 AAAA...` known_hosts line of this server.
    pub fn known_hosts_line(&self) -> String {
        self.known_hosts_line_of("ed25519")
    }

    /// The known_hosts line of this server's host key of type `kind` (`ed25519`, `ecdsa`).
    pub fn known_hosts_line_of(&self, kind: &str) -> String {
        let path = self.dir.join(format!("host_{kind}.pub"));
        let text = std::fs::read_to_string(path).unwrap();
        let mut parts = text.split_whitespace();
        let (t, k) = (parts.next().unwrap(), parts.next().unwrap());
        format!("[127.0.0.1]:{} {t} {k}\n", self.port)
    }

    /// The server's host key fingerprint as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        let out = run(Command::new("ssh-keygen").arg("-lf").arg(self.dir.join("host_ed25519.pub")));
        out.split_whitespace().nth(1).unwrap().to_string()
    }

    /// Stops (or lets go on) every session process the server started, as a server too busy
    /// to read would: what the client sends piles up in its socket.
    pub fn pause_sessions(&self, paused: bool) {
        let sig = if paused { libc::SIGSTOP } else { libc::SIGCONT };
        for p in tree_of(self.child.id()).into_iter().skip(1) {
            // SAFETY: kill(2) with a pid we found as a descendant of the sshd we started.
            unsafe {
                libc::kill(p as libc::pid_t, sig);
            }
        }
    }

    /// Kills the server and every session process it started.
    pub fn kill(&mut self) {
        kill_tree(self.child.id());
        let _ = self.child.wait();
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SIGKILLs `pid` and all its descendants (found through /proc), children first.
fn kill_tree(pid: u32) {
    for p in tree_of(pid).iter().rev() {
        // SAFETY: kill(2) with a pid we found as a descendant of the sshd we started.
        unsafe {
            libc::kill(*p as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// `pid` and all its descendants (found through /proc), parents before children.
fn tree_of(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The field after the `(comm)` and the state is the parent pid.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let cur = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    tree
}

/// A temporary client environment: keys, authorized_keys, known_hosts and an SSH config.
pub struct ClientEnv {
    pub tmp: tempfile::TempDir,
    pub key: PathBuf,
    pub authorized_keys: PathBuf,
    pub known_hosts: PathBuf,
    pub ssh_config: PathBuf,
}

impl ClientEnv {
    /// A new environment with one ed25519 client key, authorized.
    pub fn new() -> ClientEnv {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("id_ed25519");
        keygen(&key, "ed25519", "");
        let authorized_keys = tmp.path().join("authorized_keys");
        std::fs::write(&authorized_keys, std::fs::read_to_string(key.with_extension("pub")).unwrap()).unwrap();
        let known_hosts = tmp.path().join("known_hosts");
        let ssh_config = tmp.path().join("ssh_config");
        std::fs::write(&ssh_config, "").unwrap();
        ClientEnv { tmp, key, authorized_keys, known_hosts, ssh_config }
    }

    /// Authorizes one more public key file.
    pub fn authorize(&self, pubkey: &Path) {
        let mut text = std::fs::read_to_string(&self.authorized_keys).unwrap();
        text.push_str(&std::fs::read_to_string(pubkey).unwrap());
        std::fs::write(&self.authorized_keys, text).unwrap();
    }

    /// Connect options using this environment's known_hosts and config.
    pub fn options(&self, mode: HostKeyChecking) -> ConnectOptions {
        ConnectOptions {
            host_key_checking: mode,
            known_hosts: Some(self.known_hosts.clone()),
            ssh_config: Some(self.ssh_config.clone()),
            connect_timeout: Duration::from_secs(5),
            ..ConnectOptions::default()
        }
    }

    /// Inventory variables reaching `server` as root with this environment's key.
    pub fn vars(&self, server: &TestSshd) -> Map<String, Value> {
        json!({
            "ansible_host": "127.0.0.1",
            "ansible_port": server.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": self.key,
        })
        .as_object()
        .unwrap()
        .clone()
    }
}

/// A local user created for a test, removed (with its home and sudoers entry) when dropped.
pub struct TestUser {
    pub name: String,
    sudoers: Option<PathBuf>,
}

impl TestUser {
    /// Creates `name` with `password`; with `sudo_all` it may run anything through sudo after
    /// giving its own password.
    pub fn create(name: &str, password: &str, sudo_all: bool) -> TestUser {
        let _ = Command::new("userdel").args(["-r", name]).output();
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", name]));
        let mut child = Command::new("chpasswd").stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{name}:{password}\n").as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        let sudoers = sudo_all.then(|| {
            let path = PathBuf::from(format!("/etc/sudoers.d/{name}"));
            std::fs::write(&path, format!("{name} ALL=(ALL) ALL\n")).unwrap();
            path
        });
        TestUser { name: name.to_string(), sudoers }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        if let Some(path) = &self.sudoers {
            let _ = std::fs::remove_file(path);
        }
        // The user's last sshd session may still be ending: retry for a moment, then force.
        for _ in 0..50 {
            let _ = Command::new("userdel").args(["-r", &self.name]).output();
            let gone = Command::new("id").arg(&self.name).output().is_ok_and(|o| !o.status.success());
            if gone {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("userdel").args(["-r", "-f", &self.name]).output();
    }
}
