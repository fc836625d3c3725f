//! Secrets into containers (issue 12, docs/vault.md), against this machine's dockerd over the
//! local connection: `docker_container` `env` and `env_file` values and `docker_login`
//! passwords that come from vault files never appear in orc's output (human at -v..-vvvv,
//! `--output json`, `--check --diff` plans and diffs, a failed login's error), while the
//! container and the registry get them; and examples/vault-deploy runs as its README says.
//! Every test names its Docker objects `orc-t-dv-<test>-<pid>` and removes them at the end.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::registry::{Registry, REG_PASSWORD, REG_USER};
use common::{repo, Orc, Outcome, Project};
use serde_json::Value;

/// Removes a test's container and image, pass or fail.
struct Objects {
    name: String,
    image: String,
}

impl Objects {
    /// Names for test `what`, and the test app image (tests/lab/app-image.sh) imported as
    /// `<name>:1`.
    fn new(what: &str) -> Objects {
        let name = format!("orc-t-dv-{what}-{}", std::process::id());
        let image = format!("{name}:1");
        let st =
            Command::new("bash").arg(repo("tests/lab/app-image.sh")).args(["import", "1", &image]).status().unwrap();
        assert!(st.success(), "app-image.sh import failed");
        Objects { name, image }
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.name]).output();
        let _ = Command::new("docker").args(["rmi", "-f", &self.image]).output();
    }
}

fn inspect(name: &str) -> Option<Value> {
    let out = Command::new("docker").args(["inspect", name]).output().unwrap();
    out.status.success().then(|| serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone())
}

fn env_of(container: &Value) -> Vec<String> {
    container["Config"]["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// No secret of `secrets` in `out`'s stdout or stderr.
#[track_caller]
fn assert_no_secret(out: &Outcome, secrets: &[&str], mode: &str) {
    for s in secrets {
        assert!(!out.stdout.contains(s), "{mode}: {s} leaked on stdout\n{out}");
        assert!(!out.stderr.contains(s), "{mode}: {s} leaked on stderr\n{out}");
    }
}

const PW: &str = "docker-vault-test-password";
const DB1: &str = "Dock3r-Env-S3cret-one";
const DB2: &str = "Dock3r-Env-S3cret-two";
const ENV_FILE: &str = "EnvF1le-S3cret-value";
const WRONG: &str = "Wr0ng-Registry-S3cret";
/// Every secret the project's vault files hold (the registry's real password among them).
const SECRETS: [&str; 5] = [DB1, DB2, ENV_FILE, WRONG, REG_PASSWORD];

#[test]
fn vault_secrets_in_container_env_env_file_and_docker_login_never_reach_the_output() {
    let o = Objects::new("leak");
    let reg = Registry::start();
    let registry = format!("127.0.0.1:{}", reg.port);
    let p = Project::new()
        .file("pw.txt", &format!("{PW}\n"))
        .file(
            "group_vars/all/vault.yml",
            &format!(
                "db_password: {DB1}\ndb_password_next: {DB2}\nregistry_password: {REG_PASSWORD}\nwrong_registry_password: {WRONG}\n"
            ),
        )
        // The env file ships encrypted in the project and is decrypted onto the host.
        .file("files/app.env", &format!("# app settings\nAPI_KEY={ENV_FILE}\n"))
        .file(
            "site.yaml",
            &format!(
                r#"
                - hosts: localhost
                  connection: local
                  gather_facts: false
                  tasks:
                    - copy: {{src: app.env, dest: "{{{{ playbook_dir }}}}/host/app.env", mode: "0600"}}
                    - name: container
                      community.docker.docker_container:
                        name: {name}
                        image: {image}
                        stop_timeout: 1
                        env:
                          DB_PASSWORD: "{{{{ db_password_next if rotate | default(false) | bool else db_password }}}}"
                          MODE: demo
                        env_file: "{{{{ playbook_dir }}}}/host/app.env"
                        state: started
                      register: c
                    - debug: {{var: c}}
                    - community.docker.docker_login: {{registry_url: "{registry}", username: {REG_USER}, password: "{{{{ registry_password }}}}"}}
                      register: l
                    - debug: {{var: l}}
                    - name: a wrong registry password from the vault
                      community.docker.docker_login: {{registry_url: "{registry}", username: {REG_USER}, password: "{{{{ wrong_registry_password }}}}"}}
                      ignore_errors: true
                "#,
                name = o.name,
                image = o.image,
            ),
        );
    std::fs::set_permissions(p.join("pw.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    for f in ["group_vars/all/vault.yml", "files/app.env"] {
        Orc::new().arg("vault").args(["encrypt", "--vault-password-file", "pw.txt", f]).dir(p.path()).run().success();
    }
    // The host already has the env file (an earlier deploy), so the first plan can read it.
    std::fs::create_dir_all(p.join("host")).unwrap();
    std::fs::write(p.join("host/app.env"), format!("# app settings\nAPI_KEY={ENV_FILE}\n")).unwrap();
    std::fs::set_permissions(p.join("host/app.env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        p.play("site.yaml")
            .args(["--vault-password-file", "pw.txt"])
            .args(args)
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .run()
            .success()
    };

    // The check-mode plan of a container that does not exist yet, human and JSON.
    for (mode, args) in
        [("plan", vec!["--check", "--diff", "-v"]), ("plan json", vec!["--check", "--diff", "--output", "json"])]
    {
        let out = run(&args);
        assert_no_secret(&out, &SECRETS, mode);
        assert!(out.stdout.contains("********"), "{mode}: no censored value shown\n{out}");
    }
    assert!(inspect(&o.name).is_none(), "check mode created the container");

    // For real at the highest verbosity, then again (nothing changes) at every other one.
    let out = run(&["-vvvv", "--diff"]);
    assert_no_secret(&out, &SECRETS, "-vvvv");
    let c = inspect(&o.name).unwrap();
    let env = env_of(&c);
    for want in [format!("DB_PASSWORD={DB1}"), format!("API_KEY={ENV_FILE}"), "MODE=demo".into()] {
        assert!(env.contains(&want), "the container lacks {want}: {env:?}");
    }
    let config = std::fs::read_to_string(home.path().join(".docker/config.json")).unwrap();
    assert!(config.contains(&registry), "docker_login stored no credentials: {config}");
    for (mode, args) in [
        ("default", vec![]),
        ("-v", vec!["-v"]),
        ("-vv", vec!["-vv", "--diff"]),
        ("-vvv", vec!["-vvv"]),
        ("json", vec!["--output", "json", "-vvv"]),
    ] {
        let out = run(&args);
        assert_no_secret(&out, &SECRETS, mode);
    }
    assert_eq!(inspect(&o.name).unwrap()["Id"], c["Id"], "an unchanged task recreated the container");

    // A new password from the vault: the plan and the diff show the change, censored.
    let out = run(&["-e", "rotate=true", "--check", "--diff", "-v"]);
    assert_no_secret(&out, &SECRETS, "rotate plan");
    assert!(out.stdout.contains("DB_PASSWORD=********"), "rotate plan: no censored env change\n{out}");
    assert_eq!(inspect(&o.name).unwrap()["Id"], c["Id"], "check mode recreated the container");
    let out = run(&["-e", "rotate=true", "--diff", "--output", "json"]);
    assert_no_secret(&out, &SECRETS, "rotate json");
    assert!(env_of(&inspect(&o.name).unwrap()).contains(&format!("DB_PASSWORD={DB2}")));
}

/// The password examples/vault-deploy/group_vars/all/vault.yml holds.
const EXAMPLE_SECRET: &str = "Demo-Db-Passw0rd-7f3e91";

#[test]
fn the_vault_deploy_example_mounts_its_secret_read_only_and_never_prints_it() {
    let o = Objects::new("example");
    let example = repo("examples/vault-deploy");
    let view = Orc::new()
        .arg("vault")
        .args(["view", "group_vars/all/vault.yml", "--vault-password-file", "vault-password.txt"])
        .dir(&example)
        .run()
        .success();
    assert!(view.stdout.contains(&format!("vault_db_password: {EXAMPLE_SECRET}")), "{view}");
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets");
    let run = |args: &[&str]| {
        Orc::play("site.yml")
            .dir(&example)
            .args(["-i", "hosts.ini", "--vault-password-file", "vault-password.txt"])
            .extra_var("app_name", o.name.as_str())
            .extra_var("app_image", o.image.as_str())
            .extra_var("secrets_dir", secrets.to_str().unwrap())
            .args(args)
            .run()
            .success()
    };

    // The plan changes nothing.
    let out = run(&["--check", "--diff"]);
    assert_no_secret(&out, &[EXAMPLE_SECRET], "plan");
    assert!(!secrets.exists() && inspect(&o.name).is_none(), "check mode changed something\n{out}");

    // Deploy: the directory, the password file, the container, and the handler's restart.
    let out = run(&["-v", "--diff"]).recap_is("localhost", "ok=4 changed=4");
    assert_no_secret(&out, &[EXAMPLE_SECRET], "deploy");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let file = secrets.join("db_password");
    assert_eq!((mode(&secrets), mode(&file)), (0o700, 0o400));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), EXAMPLE_SECRET);

    let c = inspect(&o.name).unwrap();
    assert_eq!(c["State"]["Running"], true, "{c}");
    let mounts = c["Mounts"].as_array().unwrap();
    let mount = mounts.iter().find(|m| m["Destination"] == "/run/secrets/db_password").expect("the secret's mount");
    assert_eq!((mount["Source"].as_str(), mount["RW"].as_bool()), (file.to_str(), Some(false)));
    // The container reads the password from the file; it is in neither its environment nor its image.
    let inside = Command::new("docker").args(["exec", &o.name, "cat", "/run/secrets/db_password"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&inside.stdout), EXAMPLE_SECRET);
    let env = env_of(&c);
    assert!(env.contains(&"DB_PASSWORD_FILE=/run/secrets/db_password".to_string()), "{env:?}");
    assert!(!c["Config"].to_string().contains(EXAMPLE_SECRET), "the secret is in the container's config");
    let image = Command::new("docker").args(["image", "inspect", &o.image]).output().unwrap();
    assert!(!String::from_utf8_lossy(&image.stdout).contains(EXAMPLE_SECRET));

    // Again: nothing to do, and the container keeps running as it was.
    let out = run(&["-v"]).recap_is("localhost", "ok=3 changed=0");
    assert_no_secret(&out, &[EXAMPLE_SECRET], "second run");
    assert_eq!(inspect(&o.name).unwrap()["Id"], c["Id"]);
}
