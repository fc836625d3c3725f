//! The lab harness for end-to-end tests: real Debian hosts (systemd + sshd + sudo + python3) in
//! Docker containers on a private network, started for one test and removed when it ends.
//!
//! ```ignore
//! #[path = "lab/mod.rs"]
//! mod lab;
//!
//! let Some(lab) = lab::Lab::start(2) else { return }; // None only when ORC_LAB=skip
//! let host = &lab.hosts()[0];
//! lab.exec(&host.name, "systemctl is-system-running").ok();
//! // orc ... -i lab.inventory_path() ...
//! // dropping `lab` removes its containers and networks
//! ```
//!
//! A lab host can also run Docker and a private registry with the container tests' app images:
//!
//! ```ignore
//! let registry = lab.start_registry(&lab.hosts()[0].name); // "172.18.0.2:5000"
//! lab.push_app_images(&lab.hosts()[0].name, &[1, 2, 3]);   // app:1 .. app:3 in it
//! // other hosts pull "{registry}/app:2" with "{registry}" in their insecure-registries
//! ```
//!
//! The heavy lifting is done by the scripts beside this file (`build-image.sh`, `lab.sh`,
//! `registry.sh`), so what a test gets is exactly what they give by hand. Each `Lab` has a unique
//! name (process id, a counter and a random part), so tests run in parallel, in one process or
//! many. The image is built at most once (a file lock in build-image.sh serializes processes, a
//! `OnceLock` threads). Labs left behind by a killed test process are removed by the next start
//! (`lab.sh gc`, which checks the owning process id and start time).
//!
//! Without Docker the harness panics with the reason: a lab test never passes silently. Setting
//! `ORC_LAB=skip` makes `start` print a SKIPPED line and return `None` instead.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// How long building the image may take (it takes one to two minutes; the rest is for waiting on
/// another process that is building it).
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
/// How long `lab.sh up` may take in all; it waits at most `HOST_WAIT_SECS` for the hosts.
const UP_TIMEOUT: Duration = Duration::from_secs(150);
/// How long each host may take to boot and answer on SSH.
const HOST_WAIT_SECS: u32 = 60;
/// Bound on every other docker or ssh command the harness runs.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `registry.sh start` may take: installing docker.io (when absent) and docker-registry
/// from Debian's mirror takes 3 to 15 s on an idle machine; the rest is for a loaded one.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(300);
/// The port the lab's private registry listens on.
pub const REGISTRY_PORT: u16 = 5000;

/// What to start: `hosts` hosts, of which the last `isolated` are reachable only through host 1
/// (the bastion), on a second network this machine cannot reach. `isolated` must be below `hosts`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabSpec {
    /// Number of hosts, named `<lab>-1` .. `<lab>-<hosts>`.
    pub hosts: usize,
    /// How many of the last hosts are reachable only through host 1.
    pub isolated: usize,
}

/// One lab host. Its inventory name, container name and hostname (`uname -n`) are all `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHost {
    /// Inventory hostname, also the host's own hostname.
    pub name: String,
    /// The address to connect to (`ansible_host` in the inventory): on the lab network, or for an
    /// isolated host on the inner network (reachable from the bastion only).
    pub ip: String,
    /// Docker container name (for `docker exec` and friends); equal to `name`.
    pub container: String,
    /// Whether this machine cannot reach the host directly (only through the bastion, host 1).
    pub isolated: bool,
}

/// The result of a command run on a host (`exec`) or over SSH (`ssh`).
#[derive(Debug, Clone)]
pub struct ExecOutput {
    /// What was run, for messages.
    pub what: String,
    /// Exit code (-1 when killed by a signal or timed out).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl ExecOutput {
    /// Asserts exit code 0 and returns stdout; panics showing the command and its output.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed:\n{self}");
        &self.stdout
    }

    /// Asserts a non-zero exit code; panics showing the command and its output.
    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert_ne!(self.code, 0, "command was expected to fail:\n{self}");
        self
    }
}

impl std::fmt::Display for ExecOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "$ {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}", self.what, self.code, self.stdout, self.stderr)
    }
}

/// A running lab. Dropping it removes its containers, networks and firewall rule.
pub struct Lab {
    name: String,
    hosts: Vec<LabHost>,
    dir: TempDir,
    inventory: PathBuf,
}

impl Lab {
    /// Starts `n` hosts reachable from this machine. `None` only when `ORC_LAB=skip` (a SKIPPED
    /// line is printed); panics with the reason when the lab cannot start.
    pub fn start(n: usize) -> Option<Lab> {
        Lab::start_with(LabSpec { hosts: n, isolated: 0 })
    }

    /// Starts the hosts `spec` describes. `None` only when `ORC_LAB=skip`; panics otherwise when
    /// the lab cannot start (no Docker, image build failed, hosts not ready within 60 s).
    pub fn start_with(spec: LabSpec) -> Option<Lab> {
        Lab::start_inner(spec, None)
    }

    /// Starts `n` hosts reachable from this machine from `image` (built by one of the scripts
    /// beside this file from the lab image, e.g. discovery-image.sh); otherwise as [`Lab::start`].
    pub fn start_from_image(n: usize, image: &str) -> Option<Lab> {
        Lab::start_inner(LabSpec { hosts: n, isolated: 0 }, Some(image))
    }

    fn start_inner(spec: LabSpec, image: Option<&str>) -> Option<Lab> {
        assert!(spec.hosts >= 1, "a lab needs at least one host");
        assert!(
            spec.isolated < spec.hosts,
            "LabSpec: isolated ({}) must be below hosts ({}): host 1 is the bastion",
            spec.isolated,
            spec.hosts
        );
        if std::env::var("ORC_LAB").as_deref() == Ok("skip") {
            // Written to the real stderr, past the test harness's capture, so the skip shows.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: lab test in {} (ORC_LAB=skip)",
                thread::current().name().unwrap_or("?")
            );
            return None;
        }
        let base = prepare();
        let image = image.map(str::to_string).unwrap_or(base);
        let dir =
            tempfile::Builder::new().prefix("orc-lab-").tempdir().expect("creating the lab's temporary directory");
        let inventory = dir.path().join("inventory.ini");
        let mut lab = Lab { name: unique_name(), hosts: Vec::new(), dir, inventory };
        // From here on, Drop cleans up whatever `up` managed to create.
        let mut up = Command::new("bash");
        up.arg(script("lab.sh"))
            .args(["up", &lab.name, &spec.hosts.to_string()])
            .args(["--isolated", &spec.isolated.to_string()])
            .args(["--image", &image])
            .args(["--wait", &HOST_WAIT_SECS.to_string()])
            .arg("--inventory")
            .arg(&lab.inventory)
            .env("ORC_LAB_OWNER", owner_id());
        let out = run(up, UP_TIMEOUT);
        assert_eq!(out.code, 0, "starting the lab failed:\n{out}");
        lab.hosts = parse_inventory(&lab.inventory);
        assert_eq!(
            lab.hosts.len(),
            spec.hosts,
            "the inventory {} lists other hosts than started",
            lab.inventory.display()
        );
        Some(lab)
    }

    /// The lab's unique name; hosts are `<name>-1` .. `<name>-N`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hosts, in order (host 1 first).
    pub fn hosts(&self) -> &[LabHost] {
        &self.hosts
    }

    /// The host called `name`; panics when there is none.
    #[track_caller]
    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("lab {} has no host {name}", self.name))
    }

    /// Host 1: on both networks when some hosts are isolated.
    pub fn bastion(&self) -> &LabHost {
        &self.hosts[0]
    }

    /// The INI inventory of the lab: group `lab` (every host, with `ansible_host`, `ansible_user=root`,
    /// `ansible_ssh_private_key_file`, `ansible_python_interpreter`), `reachable`, and when some hosts
    /// are isolated `bastion` and `isolated` (with `ansible_ssh_common_args='-o ProxyJump=root@<bastion>'`).
    pub fn inventory_path(&self) -> &Path {
        &self.inventory
    }

    /// The lab's private SSH key (ed25519, no passphrase); root, deploy and deploy2 accept it.
    pub fn key_path(&self) -> PathBuf {
        script(".cache/id_ed25519")
    }

    /// A temporary directory that lives as long as the lab (for known_hosts files, playbooks...).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the host's container at once (no shutdown): the host drops off the network, as a
    /// crashed machine does. Its connections are never closed cleanly.
    #[track_caller]
    pub fn stop_host(&self, name: &str) {
        let host = self.host(name);
        let mut cmd = Command::new("docker");
        cmd.args(["kill", &host.container]);
        run(cmd, COMMAND_TIMEOUT).ok();
    }

    /// Freezes every process of the host (`docker pause`): it stays on the network but never
    /// answers, as a hung machine does. `Drop` still removes it.
    #[track_caller]
    pub fn pause_host(&self, name: &str) {
        let host = self.host(name);
        let mut cmd = Command::new("docker");
        cmd.args(["pause", &host.container]);
        run(cmd, COMMAND_TIMEOUT).ok();
    }

    /// Runs `cmd` with `sh -c` as root on the host through `docker exec` (not SSH): for setting up
    /// and checking hosts independently of orc.
    #[track_caller]
    pub fn exec(&self, host: &str, cmd: &str) -> ExecOutput {
        let host = self.host(host);
        let mut c = Command::new("docker");
        c.args(["exec", &host.container, "sh", "-c", cmd]);
        let mut out = run(c, COMMAND_TIMEOUT);
        out.what = format!("[{}] {cmd}", host.name);
        out
    }

    /// Runs `cmd` on the host over SSH as `user` with the system ssh client and the lab key (an
    /// isolated host through the bastion). Host keys are neither checked nor recorded anywhere.
    #[track_caller]
    pub fn ssh(&self, host: &str, user: &str, cmd: &str) -> ExecOutput {
        let host = self.host(host);
        let key = self.key_path();
        let mut c = Command::new("ssh");
        c.args(ssh_options()).arg("-i").arg(&key);
        if host.isolated {
            let jump =
                format!("ssh {} -i {} -W %h:%p root@{}", ssh_options().join(" "), key.display(), self.bastion().ip);
            c.arg("-o").arg(format!("ProxyCommand={jump}"));
        }
        c.arg(format!("{user}@{}", host.ip)).arg(cmd);
        let mut out = run(c, COMMAND_TIMEOUT);
        out.what = format!("ssh {user}@{} ({}) {cmd}", host.ip, host.name);
        out
    }

    /// Installs Debian's docker.io on lab host `host` (without recommended packages; apt lists
    /// refreshed when older than an hour) when absent, starts dockerd and waits until it answers:
    /// for tests that need a daemon on a host without going through container-runtime.yaml. About
    /// 11 s on an idle machine, bounded at 300 s (`tests/lab/registry.sh docker`); panics with
    /// the script's output when it fails.
    #[track_caller]
    pub fn install_docker(&self, host: &str) {
        self.registry_script(&["docker", &self.host(host).container], "installing docker.io");
    }

    /// Starts a private Docker registry (Debian's `docker-registry`, plain HTTP, no authentication)
    /// on lab host `host`, installing and starting docker.io there first when absent, and returns
    /// its address as the other lab hosts reach it: `<ip>:5000`. Pull from it as
    /// `<address>/app:N` with the address in the puller's daemon.json `insecure-registries`
    /// (`container_runtime_insecure_registries`). The work is `tests/lab/registry.sh start`; panics
    /// with its output (each step's time included) when it fails.
    #[track_caller]
    pub fn start_registry(&self, host: &str) -> String {
        self.registry_script(&["start", &self.host(host).container], "starting the registry")
    }

    /// Like [`Lab::start_registry`], with HTTP basic authentication (htpasswd, bcrypt) for one
    /// user: pulls and pushes need `docker login <address>` (for `docker_login` tests).
    /// [`Lab::push_app_images`] logs in by itself.
    #[track_caller]
    pub fn start_registry_with_auth(&self, host: &str, user: &str, password: &str) -> String {
        let auth = format!("{user}:{password}");
        self.registry_script(&["start", &self.host(host).container, "--auth", &auth], "starting the registry")
    }

    /// Builds the app image of each version (`tests/lab/app-image.sh`: busybox httpd on port 8080
    /// serving `app version N`) and pushes it as `app:N` to the registry that
    /// [`Lab::start_registry`] started on `registry_host`. The images are built and imported on
    /// that host and pushed to its `localhost:5000`; its local tags are removed afterwards, so
    /// the registry has `app:N` and no lab host has the image yet. About 0.5 s per version.
    #[track_caller]
    pub fn push_app_images(&self, registry_host: &str, versions: &[u32]) {
        let mut args = vec!["push".to_string(), self.host(registry_host).container.clone()];
        args.extend(versions.iter().map(u32::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.registry_script(&args, "pushing the app images");
    }

    /// Runs `tests/lab/registry.sh` with `args`; panics naming `what` with its output when it
    /// fails. Returns the registry address of the host named in `args[1]`.
    #[track_caller]
    fn registry_script(&self, args: &[&str], what: &str) -> String {
        let host = self.host(args[1]);
        let mut cmd = Command::new("bash");
        cmd.arg(script("registry.sh")).args(args);
        let out = run(cmd, REGISTRY_TIMEOUT);
        assert_eq!(out.code, 0, "{what} on {} failed:\n{out}", host.name);
        format!("{}:{REGISTRY_PORT}", host.ip)
    }

    /// The host's ed25519 public host key, `ssh-ed25519 AAAA...` (no comment).
    #[track_caller]
    pub fn host_key(&self, host: &str) -> String {
        let out = self.exec(host, "cat /etc/ssh/ssh_host_ed25519_key.pub");
        let line = out.ok().trim();
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(kind), Some(key)) => format!("{kind} {key}"),
            _ => panic!("unexpected host key file content on {host}: {line:?}"),
        }
    }

    /// The known_hosts line for the host's ed25519 key at its address: `<ip> ssh-ed25519 AAAA...`.
    #[track_caller]
    pub fn known_hosts_line(&self, host: &str) -> String {
        format!("{} {}", self.host(host).ip, self.host_key(host))
    }

    /// Writes a known_hosts file holding every host's ed25519 key (one line per host).
    #[track_caller]
    pub fn write_known_hosts(&self, path: &Path) {
        let text: String = self.hosts.iter().map(|h| self.known_hosts_line(&h.name) + "\n").collect();
        std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut cmd = Command::new("bash");
        cmd.arg(script("lab.sh")).args(["down", &self.name]);
        let out = run(cmd, COMMAND_TIMEOUT);
        if out.code != 0 {
            // Never panic in drop (it may run while unwinding); say what is left behind.
            let _ = writeln!(
                std::io::stderr(),
                "lab {}: removing it failed (remove by hand: tests/lab/lab.sh down {}):\n{out}",
                self.name,
                self.name
            );
        }
    }
}

/// A file beside this module.
pub fn script(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab").join(rel)
}

/// Once per process: checks Docker, removes labs of dead test processes, builds the image if
/// absent, and returns its tag. Panics (every caller, with the same message) when impossible.
fn prepare() -> String {
    static IMAGE: OnceLock<Result<String, String>> = OnceLock::new();
    let result = IMAGE.get_or_init(|| {
        let mut info = Command::new("docker");
        info.args(["info", "--format", "{{.ServerVersion}}"]);
        let out = run(info, COMMAND_TIMEOUT);
        if out.code != 0 {
            return Err(format!(
                "the lab needs Docker, and `docker info` failed (start dockerd, as tests/run.sh \
                 does, and run the tests as root; or set ORC_LAB=skip to skip lab tests):\n{out}"
            ));
        }
        let mut gc = Command::new("bash");
        gc.arg(script("lab.sh")).arg("gc");
        let _ = run(gc, COMMAND_TIMEOUT);
        let mut build = Command::new("bash");
        build.arg(script("build-image.sh"));
        let out = run(build, BUILD_TIMEOUT);
        let tag = out.stdout.trim().to_string();
        if out.code != 0 || !tag.starts_with("orc-lab:") {
            return Err(format!("building the lab image failed:\n{out}"));
        }
        Ok(tag)
    });
    match result {
        Ok(tag) => tag.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// A lab name unique on this machine: process id, a per-process counter and a random part.
fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("orc-lab-{}-{n}-{:04x}", std::process::id(), nanos & 0xffff)
}

/// `PID:STARTTIME:PIDNS` of this process (start time: field 22 of /proc/self/stat; PIDNS: the
/// pid namespace's inode), with which `lab.sh gc` tells a live owner from a dead one whose pid was
/// reused, and leaves alone the labs of processes in other pid namespaces.
fn owner_id() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    let start = after_comm.split_whitespace().nth(19).unwrap_or("0");
    let ns: String = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    format!("{}:{start}:{ns}", std::process::id())
}

/// Options for the system ssh client: key only, no prompts, no host key checking or recording.
fn ssh_options() -> Vec<&'static str> {
    vec![
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
    ]
}

/// Reads the hosts from the inventory lab.sh wrote: the `[lab]` section has one line per host
/// (`name ansible_host=IP ...`), the `[isolated]` section names the isolated ones.
fn parse_inventory(path: &Path) -> Vec<LabHost> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading the lab inventory {}: {e}", path.display()));
    let mut section = "";
    let mut hosts: Vec<LabHost> = Vec::new();
    let mut isolated: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        match section {
            "lab" => {
                let ip = words
                    .find_map(|w| w.strip_prefix("ansible_host="))
                    .unwrap_or_else(|| panic!("no ansible_host for {name} in {}", path.display()));
                hosts.push(LabHost {
                    name: name.to_string(),
                    ip: ip.to_string(),
                    container: name.to_string(),
                    isolated: false,
                });
            }
            "isolated" => isolated.push(name.to_string()),
            _ => {}
        }
    }
    for host in &mut hosts {
        host.isolated = isolated.contains(&host.name);
    }
    hosts
}

/// Runs `cmd` to completion with a time limit, collecting its output (stdin is /dev/null). On
/// timeout the process is killed and the exit code is -1, with a note in stderr.
pub fn run(mut cmd: Command, timeout: Duration) -> ExecOutput {
    let what = format!("{cmd:?}");
    // Its own process group, so that a timeout kills what it started too (they hold the pipes).
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return ExecOutput { what, code: -1, stdout: String::new(), stderr: format!("could not run it: {e}") }
        }
    };
    let stdout = reader(&mut child, true);
    let stderr = reader(&mut child, false);
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
                let _ = child.kill();
                timed_out = true;
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let mut stderr = stderr.join().unwrap_or_default();
    if timed_out {
        stderr.push_str(&format!("\n(killed after {} s)", timeout.as_secs()));
    }
    ExecOutput {
        what,
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr,
    }
}

/// Reads the child's stdout (or stderr) to the end on a thread.
fn reader(child: &mut Child, stdout: bool) -> thread::JoinHandle<String> {
    let mut pipe: Box<dyn Read + Send> = if stdout {
        Box::new(child.stdout.take().expect("piped stdout"))
    } else {
        Box::new(child.stderr.take().expect("piped stderr"))
    };
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}
