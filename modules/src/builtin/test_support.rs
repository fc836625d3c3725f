//! Helpers for the file modules' tests: run a module for real against a temp dir.

use serde_json::{Map, Value};

use crate::contract::{Decision, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::testing::{DirController, ShConnection};

/// A temp dir playing both the managed host's filesystem and the playbook directory.
pub struct Sandbox {
    /// The temp dir (removed on drop).
    pub dir: tempfile::TempDir,
    /// The connection, with its command log.
    pub conn: ShConnection,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox { dir: tempfile::tempdir().unwrap(), conn: ShConnection::default() }
    }
}

impl Sandbox {
    /// A fresh sandbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Absolute path of `rel` inside the sandbox.
    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_str().unwrap().to_string()
    }

    /// Writes a file inside the sandbox.
    pub fn write(&self, rel: &str, data: &str) -> String {
        let p = self.path(rel);
        if let Some(parent) = std::path::Path::new(&p).parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        p
    }

    /// Reads a file inside the sandbox.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Runs `module` with `args` (a JSON object) and the given flags.
    pub fn run(
        &mut self,
        module: &dyn Module,
        args: Value,
        check: bool,
        diff: bool,
    ) -> Result<ModuleResult, ModuleError> {
        let args: Map<String, Value> = match args {
            Value::Object(m) => m,
            _ => panic!("args must be an object"),
        };
        module.validate(&args).map_err(|e| ModuleError::msg(e.msg))?;
        let controller = DirController { root: self.dir.path().to_path_buf() };
        let mut ctx = ModuleCtx { conn: &mut self.conn, check, diff, controller: &controller };
        module.run(&args, &mut ctx)
    }

    /// Runs a two-phase module's `decide` with check mode off: it must change nothing anyway.
    pub fn decide(&mut self, module: &dyn Module, args: &Value) -> Decision {
        let args = args.as_object().expect("args must be an object");
        let controller = DirController { root: self.dir.path().to_path_buf() };
        let mut ctx = ModuleCtx { conn: &mut self.conn, check: false, diff: true, controller: &controller };
        match module.decide(args, &mut ctx) {
            Ok(d) => d,
            Err(e) => panic!("decide failed: {e:?}"),
        }
    }

    /// Applies a decision `decide` returned for the same arguments.
    pub fn apply(&mut self, module: &dyn Module, args: &Value, decision: Decision) -> ModuleResult {
        let args = args.as_object().expect("args must be an object");
        let controller = DirController { root: self.dir.path().to_path_buf() };
        let mut ctx = ModuleCtx { conn: &mut self.conn, check: false, diff: true, controller: &controller };
        match module.apply(args, decision, &mut ctx) {
            Ok(r) => r,
            Err(e) => panic!("apply failed: {e:?}"),
        }
    }

    /// Runs and unwraps, panicking with the failure message.
    pub fn ok(&mut self, module: &dyn Module, args: Value) -> ModuleResult {
        match self.run(module, args, false, true) {
            Ok(r) => r,
            Err(e) => panic!("module failed: {e:?}"),
        }
    }
}

/// The decide/apply contract of a module that edits one text file in place (lineinfile,
/// blockinfile, replace), checked the same way for each: on a file holding `before`, `decide`
/// reports a change, records the file's checksum and size and writes nothing (check mode gives the
/// same result); an edit made to the file shows in `observed`; `apply` writes `after`; deciding
/// again reports nothing to change. `args` take the file's path.
pub fn assert_edit_decided_then_applied(module: &dyn Module, args: impl Fn(&str) -> Value, before: &str, after: &str) {
    use crate::fileops::sha1_hex;
    let mut sb = Sandbox::new();
    let args = args(&sb.write("f.conf", before));
    let d = sb.decide(module, &args);
    assert!(d.result.changed);
    assert_eq!(d.observed["checksum"], sha1_hex(before.as_bytes()));
    assert_eq!(d.observed["size"], before.len());
    assert_eq!(sb.read("f.conf"), before, "decide wrote to the host");
    assert_eq!(sb.run(module, args.clone(), true, true).unwrap(), d.result);
    let edited = format!("#{before}");
    sb.write("f.conf", &edited);
    assert_eq!(sb.decide(module, &args).observed["checksum"], sha1_hex(edited.as_bytes()));
    sb.write("f.conf", before);
    let d = sb.decide(module, &args);
    assert!(sb.apply(module, &args, d).changed);
    assert_eq!(sb.read("f.conf"), after);
    let again = sb.decide(module, &args);
    assert!(!again.result.changed);
    assert_eq!(again.observed["checksum"], sha1_hex(after.as_bytes()));
}

/// The same module on a file whose text already matches (`content`) but whose mode differs:
/// `decide` reports the change and observes the old mode without touching it, `apply` sets the
/// mode, and deciding again finds nothing to do. `args` take the file's path.
pub fn assert_mode_decided_then_applied(module: &dyn Module, args: impl Fn(&str) -> Value, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    let p = sb.write("f.conf", content);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = args(&p);
    args["mode"] = Value::from("0600");
    let d = sb.decide(module, &args);
    assert!(d.result.changed);
    assert_eq!(d.observed["mode"], "0644");
    let mode = || std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(), 0o644, "decide changed the mode");
    assert!(sb.apply(module, &args, d).changed);
    assert_eq!(mode(), 0o600);
    assert!(!sb.decide(module, &args).result.changed);
}

/// The failure message of a module error.
pub fn fail_msg(e: ModuleError) -> String {
    match e {
        ModuleError::Fail(r) => r.msg.unwrap_or_default(),
        ModuleError::Conn(c) => panic!("connection error {c}"),
    }
}

/// A directory to use as PATH holding only `tools` (links to this machine's), for a connection
/// that plays a host lacking every other command.
pub fn path_with_only(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for t in tools {
        let out = std::process::Command::new("sh").arg("-c").arg(format!("command -v {t}")).output().unwrap();
        let real = String::from_utf8(out.stdout).unwrap();
        assert!(!real.trim().is_empty(), "{t} is not installed here");
        std::os::unix::fs::symlink(real.trim(), dir.path().join(t)).unwrap();
    }
    dir
}

/// Answers `n` HTTP requests on a loopback port with `status` (`200 OK`) and `body`, then ends.
pub fn serve_http(status: &str, body: Vec<u8>, n: usize) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut reply =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    reply.extend(body);
    let t = std::thread::spawn(move || {
        for _ in 0..n {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            s.write_all(&reply).unwrap();
        }
    });
    (port, t)
}

/// Runs `docker ARGS` on this machine and returns its stdout (trimmed); `None` when it failed.
pub fn docker(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("docker").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether this machine's dockerd answers: the Docker modules' decide/apply tests run against
/// it (through [`ShConnection`]'s socket), and say they were skipped without it.
pub fn dockerd(test: &str) -> bool {
    let up = docker(&["info", "--format", "{{.ServerVersion}}"]).is_some();
    if !up {
        eprintln!("{test}: skipped, no Docker daemon answers on this machine");
    }
    up
}

/// A name for a Docker object of a unit test, unique to this process.
pub fn docker_name(what: &str) -> String {
    format!("orc-u-{what}-{}", std::process::id())
}

/// Imports an empty image `name` (enough for `docker create`), removed with the returned guard.
pub fn empty_image(name: &str) -> DockerCleanup {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let st = std::process::Command::new("tar")
        .args(["cf"])
        .arg(empty.path())
        .args(["--files-from", "/dev/null"])
        .status()
        .unwrap();
    assert!(st.success());
    docker(&["import", empty.path().to_str().unwrap(), name]).expect("docker import failed");
    DockerCleanup(vec![vec!["rmi".into(), "-f".into(), name.into()]])
}

/// Imports an image `name` holding only this machine's static `/bin/busybox` (tests/lab/app-image.sh
/// needs the same), enough to run `busybox sleep`; removed with the returned guard.
pub fn busybox_image(name: &str) -> DockerCleanup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("bin/busybox")).expect("no /bin/busybox (busybox-static)");
    let tar = dir.path().join("rootfs.tar");
    let st =
        std::process::Command::new("tar").arg("cf").arg(&tar).arg("-C").arg(dir.path()).arg("bin").status().unwrap();
    assert!(st.success());
    docker(&["import", tar.to_str().unwrap(), name]).expect("docker import failed");
    DockerCleanup(vec![vec!["rmi".into(), "-f".into(), name.into()]])
}

/// `docker` commands run when a test ends, pass or fail (removing what it made).
pub struct DockerCleanup(pub Vec<Vec<String>>);

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = docker(&args);
        }
    }
}

/// A stand-in `systemctl` (first on PATH for `sb`'s connection) keeping one unit's state in
/// files of the returned dir: `active` (ActiveState) and `enabled` (what is-enabled prints),
/// logging every call to `log`.
pub fn fake_systemctl(sb: &mut Sandbox, active: &str, enabled: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!(
        "#!/bin/sh\nverb=; unit=\nfor a in \"$@\"; do case \"$a\" in -*) ;; *) if [ -z \"$verb\" ]; then verb=$a; else unit=$a; fi;; esac; done\n\
         echo \"$verb $unit\" >> {d}/log\n\
         case $verb in\n\
         show) printf 'Id=%s\\nLoadState=loaded\\nActiveState=%s\\n' \"$unit\" \"$(cat {d}/active)\";;\n\
         is-enabled) s=$(cat {d}/enabled); echo $s; [ $s = enabled ];;\n\
         enable|disable) echo ${{verb}}d > {d}/enabled;;\n\
         start|restart|reload) echo active > {d}/active;;\n\
         stop) echo inactive > {d}/active;;\n\
         esac\n"
    );
    std::fs::write(dir.path().join("systemctl"), script).unwrap();
    std::fs::set_permissions(dir.path().join("systemctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("active"), format!("{active}\n")).unwrap();
    std::fs::write(dir.path().join("enabled"), format!("{enabled}\n")).unwrap();
    std::fs::write(dir.path().join("log"), "").unwrap();
    let path = format!("{d}:{}", std::env::var("PATH").unwrap_or_default());
    sb.conn.env.push(("PATH".into(), path));
    dir
}

/// A stand-in `tool` (first on PATH for `sb`'s connection) that does nothing but append
/// `tool ARGS...` to the returned dir's `log` file: tests that must not change this machine
/// (usermod on root, say) check what would have run.
pub fn logging_stand_in(sb: &mut Sandbox, tool: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = format!("#!/bin/sh\necho \"{tool} $*\" >> {}\n", log.display());
    std::fs::write(dir.path().join(tool), script).unwrap();
    std::fs::set_permissions(dir.path().join(tool), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    sb.conn.env.push(("PATH".into(), path));
    (dir, log)
}
