//! A private Docker registry for tests (Debian's docker-registry) with htpasswd
//! authentication on a free loopback port, storing into a temporary directory; stopped when
//! dropped. The daemon treats 127.0.0.0/8 registries as insecure, so plain HTTP works.

use std::process::Command;

/// The registry's user.
pub const REG_USER: &str = "orc";
/// The registry's password; [`REG_HTPASSWD`] holds its bcrypt hash (cost 4).
pub const REG_PASSWORD: &str = "orc-test-pw";
const REG_HTPASSWD: &str = "orc:$2b$04$tO8.qclVIRU1VOeZm2uxzOVDv.kGmiflXlH3fns.x04Y8tBF/YY/O\n";

/// A running registry.
pub struct Registry {
    child: std::process::Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts one and waits until it listens.
    pub fn start() -> Registry {
        let bin = "/usr/bin/docker-registry";
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: apt-get install docker-registry (tests/run.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(dir.path().join("htpasswd"), REG_HTPASSWD).unwrap();
        let config = format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {d}/data}}\n  delete: {{enabled: true}}\n\
             http: {{addr: \"127.0.0.1:{port}\"}}\nauth:\n  htpasswd: {{realm: orc-test, path: {d}/htpasswd}}\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let reg = Registry { child, port, dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the registry did not listen: {}", reg.log());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        reg
    }

    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
