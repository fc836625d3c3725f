//! `orc vault` against the real ansible-vault (ansible-core 2.19 in tests/.venv, run at test
//! time): files and encrypt_string values go both ways, byte for byte with the same salt;
//! rekey, edit and create round-trip; password sources; every bad input is exit 3 with its
//! message snapshotted and the file left as it was (docs/vault.md, issue 12).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::ansible::ansible_vault;
use common::vault_text::tamper;
use common::{redact, tty, Orc, Outcome};
use tempfile::TempDir;

// ---- helpers ------------------------------------------------------------------------------

/// Writes `name` in `dir` with `bytes` and `mode`.
fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>, mode: u32) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// A password file (0600, with the trailing newline editors leave).
fn password_file(dir: &Path, name: &str, password: &str) -> PathBuf {
    write(dir, name, format!("{password}\n"), 0o600)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// `orc vault ARGS...` run in `dir`.
fn orc(dir: &Path, args: &[&str]) -> Orc {
    Orc::new().arg("vault").args(args).dir(dir)
}

/// Runs the real ansible-vault in `dir` (its own HOME there, Python warnings off) and returns
/// its output; panics with it when it fails.
fn ansible_vault_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let out = ansible_vault_run(dir, args, env);
    assert!(
        out.status.success(),
        "ansible-vault {args:?} failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ansible_vault_run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(ansible_vault());
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("HOME", dir)
        .env("PYTHONWARNINGS", "ignore")
        .env("ANSIBLE_NOCOLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The first line of a file.
fn header(p: &Path) -> String {
    String::from_utf8_lossy(&read(p)).lines().next().unwrap_or_default().to_string()
}

/// The vault text of a `name: !vault |` block ansible-vault or orc printed (its 10-space
/// indentation removed).
fn vault_text_of_yaml(yaml: &str) -> String {
    let mut out = String::new();
    for line in yaml.lines().skip_while(|l| !l.contains("!vault |")).skip(1) {
        let Some(text) = line.strip_prefix("          ") else { break };
        out.push_str(text);
        out.push('\n');
    }
    out
}

/// Plaintexts of different shapes: empty, YAML, UTF-8, every byte value, and a seeded random
/// 100 KiB block.
fn sample_plaintexts() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(20);
    let random: Vec<u8> = (0..100 * 1024).map(|_| rng.u8(..)).collect();
    vec![
        ("empty", Vec::new()),
        ("yaml", b"db_password: s3cr3t\nport: 5432\n".to_vec()),
        ("utf8-no-newline", "mot de passe: élan ✓".as_bytes().to_vec()),
        ("every-byte", (0..=255u8).cycle().take(4096).collect()),
        ("random-100k", random),
    ]
}

/// The two ways of naming a password: as `default` (format 1.1) and with a label (1.2).
fn id_flags(pw: &Path, label: Option<&str>) -> Vec<String> {
    match label {
        None => vec!["--vault-password-file".into(), pw.display().to_string()],
        Some(l) => vec!["--vault-id".into(), format!("{l}@{}", pw.display())],
    }
}

/// `args` followed by the password flags `ids`.
fn with_ids<'a>(args: &[&'a str], ids: &'a [String]) -> Vec<&'a str> {
    args.iter().copied().chain(ids.iter().map(String::as_str)).collect()
}

// ---- compatibility with ansible-vault ----------------------------------------------------

#[test]
fn files_encrypted_by_ansible_vault_decrypt_in_orc() {
    let d = TempDir::new().unwrap();
    let pw = password_file(d.path(), "pw", "correct horse");
    for label in [None, Some("dev")] {
        let ids = id_flags(&pw, label);
        for (name, plain) in sample_plaintexts() {
            let file = write(d.path(), &format!("{name}.vault"), &plain, 0o644);
            let args = with_ids(&["encrypt", file.to_str().unwrap()], &ids);
            ansible_vault_ok(d.path(), &args, &[]);
            let expected = match label {
                None => "$ANSIBLE_VAULT;1.1;AES256".to_string(),
                Some(l) => format!("$ANSIBLE_VAULT;1.2;AES256;{l}"),
            };
            assert_eq!(header(&file), expected);
            // To another file, then in place.
            let out = d.path().join(format!("{name}.out"));
            let args = with_ids(&["decrypt", "--output", out.to_str().unwrap(), file.to_str().unwrap()], &ids);
            orc(d.path(), &args).run().success();
            assert_eq!(read(&out), plain, "{name} ({label:?})");
            assert_eq!(mode(&out), 0o600);
            let args = with_ids(&["decrypt", file.to_str().unwrap()], &ids);
            orc(d.path(), &args).run().success();
            assert_eq!(read(&file), plain, "{name} ({label:?}) in place");
        }
    }
}

#[test]
fn encrypt_string_values_made_by_ansible_vault_decrypt_in_orc() {
    let d = TempDir::new().unwrap();
    let pw = password_file(d.path(), "pw", "pw-for-strings");
    for label in [None, Some("prod")] {
        let ids = id_flags(&pw, label);
        let args = with_ids(&["encrypt_string", "--name", "db_password", "s3cr3t value"], &ids);
        let yaml = String::from_utf8(ansible_vault_ok(d.path(), &args, &[])).unwrap();
        assert!(yaml.starts_with("db_password: !vault |\n"), "{yaml}");
        let text = vault_text_of_yaml(&yaml);
        let file = write(d.path(), "value.txt", &text, 0o600);
        let args = with_ids(&["view", file.to_str().unwrap()], &ids);
        // view adds the newline the value lacks, as ansible-vault view does.
        orc(d.path(), &args).run().success().stdout_line("s3cr3t value");
        let args = with_ids(&["decrypt", "--output", "-", file.to_str().unwrap()], &ids);
        let out = orc(d.path(), &args).run().success();
        assert_eq!(out.stdout, "s3cr3t value");
    }
}

#[test]
fn files_and_strings_encrypted_by_orc_decrypt_with_ansible() {
    let d = TempDir::new().unwrap();
    let pw = password_file(d.path(), "pw", "orc wrote this");
    for label in [None, Some("dev")] {
        let ids = id_flags(&pw, label);
        for (name, plain) in sample_plaintexts() {
            let file = write(d.path(), &format!("{name}.orc"), &plain, 0o644);
            let args = with_ids(&["encrypt", file.to_str().unwrap()], &ids);
            orc(d.path(), &args).run().success();
            assert_eq!(mode(&file), 0o600, "encrypted files are private");
            let text = String::from_utf8(read(&file)).unwrap();
            assert!(text.lines().skip(1).all(|l| l.len() <= 80), "80 columns\n{text}");
            let out = d.path().join(format!("{name}.plain"));
            let args = with_ids(&["decrypt", "--output", out.to_str().unwrap(), file.to_str().unwrap()], &ids);
            ansible_vault_ok(d.path(), &args, &[]);
            assert_eq!(read(&out), plain, "{name} ({label:?})");
        }
    }
    // Standard input to standard output.
    let out = orc(d.path(), &["encrypt", "--vault-id", &format!("dev@{}", pw.display())])
        .stdin("from stdin\n")
        .run()
        .success();
    let file = write(d.path(), "stdin.orc", &out.stdout, 0o600);
    let got = ansible_vault_ok(d.path(), &["view", "--vault-id", &format!("dev@{}", pw.display()), "stdin.orc"], &[]);
    assert_eq!(got, b"from stdin\n");
    assert_eq!(header(&file), "$ANSIBLE_VAULT;1.2;AES256;dev");

    // encrypt_string values in a vars file, read by ansible-playbook with two vault ids.
    let pw2 = password_file(d.path(), "pw2", "second password");
    let a = orc(d.path(), &["encrypt_string", "--vault-password-file", "pw", "-n", "a", "alpha"]).run().success();
    let b =
        orc(d.path(), &["encrypt_string", "--vault-id", "dev@pw2", "--stdin-name", "b"]).stdin("beta").run().success();
    write(d.path(), "vars.yml", format!("{}{}", a.stdout, b.stdout), 0o600);
    write(
        d.path(),
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - debug:\n        msg: \"{{ a }}+{{ b }}\"\n",
        0o644,
    );
    let out = Command::new(common::ansible::ansible_playbook())
        .args(["site.yml", "--vault-password-file", "pw", "--vault-id"])
        .arg(format!("dev@{}", pw2.display()))
        .current_dir(d.path())
        .env("HOME", d.path())
        .env("PYTHONWARNINGS", "ignore")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\"msg\": \"alpha+beta\""),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn with_the_same_salt_orc_and_ansible_vault_write_identical_bytes() {
    let d = TempDir::new().unwrap();
    let pw = password_file(d.path(), "pw", "same salt");
    let salt = [("ANSIBLE_VAULT_ENCRYPT_SALT", "a fixed salt, for reproducible output")];
    for label in [None, Some("dev")] {
        let ids = id_flags(&pw, label);
        for (name, plain) in sample_plaintexts() {
            let ours = write(d.path(), &format!("{name}.orc"), &plain, 0o600);
            let theirs = write(d.path(), &format!("{name}.ansible"), &plain, 0o600);
            let args = with_ids(&["encrypt", ours.to_str().unwrap()], &ids);
            orc(d.path(), &args).env(salt[0].0, salt[0].1).run().success();
            let args = with_ids(&["encrypt", theirs.to_str().unwrap()], &ids);
            ansible_vault_ok(d.path(), &args, &salt);
            assert_eq!(read(&ours), read(&theirs), "{name} ({label:?}): orc and ansible-vault differ");
        }
        let args = with_ids(&["encrypt_string", "-n", "x", "-n", "y", "v1", "v2"], &ids);
        let ours = orc(d.path(), &args).env(salt[0].0, salt[0].1).run().success();
        let theirs = ansible_vault_ok(d.path(), &args, &salt);
        assert_eq!(ours.stdout, String::from_utf8(theirs).unwrap());
    }
}

// ---- rekey, edit, create --------------------------------------------------------------------

#[test]
fn rekey_round_trips_with_ansible_vault_and_keeps_the_mode() {
    let d = TempDir::new().unwrap();
    password_file(d.path(), "old", "old password");
    password_file(d.path(), "new", "new password");
    let f = write(d.path(), "secrets.yml", "token: abc\n", 0o640);
    orc(d.path(), &["encrypt", "--vault-password-file", "old", "secrets.yml"]).run().success();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    orc(d.path(), &["rekey", "--vault-password-file", "old", "--new-vault-id", "prod@new", "secrets.yml"])
        .run()
        .success()
        .stderr_has("Rekey successful");
    assert_eq!(header(&f), "$ANSIBLE_VAULT;1.2;AES256;prod");
    assert_eq!(mode(&f), 0o640, "rekey keeps the file's mode, as ansible-vault");
    let shown = ansible_vault_ok(d.path(), &["view", "--vault-id", "prod@new", "secrets.yml"], &[]);
    assert_eq!(shown, b"token: abc\n");
    orc(d.path(), &["view", "--vault-password-file", "old", "secrets.yml"]).run().code(3);
    // ansible-vault rekeys it back; orc reads the result.
    ansible_vault_ok(
        d.path(),
        &["rekey", "--vault-id", "prod@new", "--new-vault-password-file", "old", "secrets.yml"],
        &[],
    );
    assert_eq!(header(&f), "$ANSIBLE_VAULT;1.1;AES256");
    orc(d.path(), &["view", "--vault-password-file", "old", "secrets.yml"]).run().success().stdout_line("token: abc");
}

/// An editor script: records the modes of the scratch directory and file and the file's path
/// in $EDIT_LOG, then appends a line (or does nothing when $EDIT_APPEND is empty).
const EDITOR: &str = r#"#!/bin/sh
f="$1"
stat -c '%a' "$(dirname "$f")" "$f" > "$EDIT_LOG"
echo "$f" >> "$EDIT_LOG"
if [ -n "$EDIT_APPEND" ]; then printf '%s\n' "$EDIT_APPEND" >> "$f"; fi
"#;

#[test]
fn edit_works_in_a_private_scratch_directory_and_keeps_an_unchanged_file() {
    let d = TempDir::new().unwrap();
    let editor = write(d.path(), "editor.sh", EDITOR, 0o755);
    let log = d.path().join("edit.log");
    password_file(d.path(), "pw", "edit me");
    let f = write(d.path(), "secrets.yml", "a: 1\n", 0o600);
    ansible_vault_ok(d.path(), &["encrypt", "--vault-id", "dev@pw", "secrets.yml"], &[]);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let edit = |append: &str| {
        orc(d.path(), &["edit", "--vault-id", "dev@pw", "secrets.yml"])
            .env("EDITOR", &editor)
            .env("EDIT_LOG", &log)
            .env("EDIT_APPEND", append)
            .run()
            .success()
    };
    edit("b: 2");
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    assert_eq!(&lines[..2], &["700", "600"], "scratch directory 0700, file 0600\n{logged}");
    let scratch = Path::new(lines[2]);
    assert!(scratch.to_string_lossy().ends_with(".yml"), "keeps the extension: {logged}");
    assert!(!scratch.exists() && !scratch.parent().unwrap().exists(), "scratch directory removed: {logged}");
    assert_eq!(header(&f), "$ANSIBLE_VAULT;1.2;AES256;dev", "the file keeps its vault id");
    assert_eq!(mode(&f), 0o640, "and its mode");
    assert_eq!(ansible_vault_ok(d.path(), &["view", "--vault-id", "dev@pw", "secrets.yml"], &[]), b"a: 1\nb: 2\n");

    // Unchanged: the same bytes, not a new salt.
    let before = read(&f);
    edit("");
    assert_eq!(read(&f), before);

    // ansible-vault edits what orc wrote, with the same editor.
    let out = ansible_vault_run(
        d.path(),
        &["edit", "--vault-id", "dev@pw", "secrets.yml"],
        &[("EDITOR", editor.to_str().unwrap()), ("EDIT_LOG", log.to_str().unwrap()), ("EDIT_APPEND", "c: 3")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    orc(d.path(), &["view", "--vault-id", "dev@pw", "secrets.yml"]).run().success().stdout_line("c: 3");
}

#[test]
fn create_writes_a_new_private_vault_file() {
    let d = TempDir::new().unwrap();
    let editor = write(d.path(), "editor.sh", EDITOR, 0o755);
    let log = d.path().join("edit.log");
    password_file(d.path(), "pw", "created");
    let create = |extra: &[&str]| {
        let mut args = vec!["create", "--vault-password-file", "pw", "new/dir/secret.yml"];
        args.extend_from_slice(extra);
        orc(d.path(), &args).env("EDITOR", &editor).env("EDIT_LOG", &log).env("EDIT_APPEND", "x: 1")
    };
    // Standard output is not a terminal here: like ansible-vault, no editor without the flag.
    create(&[]).run().code(64).stderr_has("--skip-tty-check");
    create(&["--skip-tty-check"]).run().success().stderr_has("new/dir does not exist, creating");
    let f = d.path().join("new/dir/secret.yml");
    assert_eq!(mode(&f), 0o600);
    assert_eq!(
        ansible_vault_ok(d.path(), &["view", "--vault-password-file", "pw", "new/dir/secret.yml"], &[]),
        b"x: 1\n"
    );
    let before = read(&f);
    create(&["--skip-tty-check"]).run().code(64).stderr_has("exists; use `orc vault edit");
    assert_eq!(read(&f), before);
}

// ---- password sources -------------------------------------------------------------------------

#[test]
fn passwords_from_scripts_client_scripts_the_environment_and_several_ids() {
    let d = TempDir::new().unwrap();
    let dir = d.path();
    password_file(dir, "pw-dev", "dev password");
    password_file(dir, "pw-prod", "prod password");
    let dev = write(dir, "dev.yml", "env: dev\n", 0o600);
    let prod = write(dir, "prod.yml", "env: prod\n", 0o600);
    ansible_vault_ok(dir, &["encrypt", "--vault-id", "dev@pw-dev", "dev.yml"], &[]);
    ansible_vault_ok(dir, &["encrypt", "--vault-id", "prod@pw-prod", "prod.yml"], &[]);

    // Several vault ids at once: each file opens with its own.
    orc(dir, &["view", "--vault-id", "dev@pw-dev", "--vault-id", "prod@pw-prod", "dev.yml", "prod.yml"])
        .run()
        .success()
        .stdout_line("env: dev")
        .stdout_line("env: prod");
    // The label is a preference, not a requirement (vault_id_match is off by default) ...
    orc(dir, &["view", "--vault-id", "other@pw-prod", "prod.yml"]).run().success().stdout_line("env: prod");
    // ... unless ANSIBLE_VAULT_ID_MATCH says so.
    orc(dir, &["view", "--vault-id", "other@pw-prod", "prod.yml"]).env("ANSIBLE_VAULT_ID_MATCH", "true").run().code(3);

    // A plain script: its stdout, no arguments.
    write(dir, "pw.sh", "#!/bin/sh\necho \"args:$*\" > script.log\necho 'prod password'\n", 0o700);
    orc(dir, &["view", "--vault-id", "prod@pw.sh", "prod.yml"]).run().success().stdout_line("env: prod");
    assert_eq!(std::fs::read_to_string(dir.join("script.log")).unwrap(), "args:\n");

    // A client script gets --vault-id LABEL, as Ansible's vault client scripts expect.
    write(
        dir,
        "keys-client.py",
        "#!/bin/sh\nif [ \"$1 $2\" = '--vault-id dev' ]; then echo 'dev password'; exit 0; fi\necho \"unknown vault id $2\" >&2; exit 2\n",
        0o700,
    );
    orc(dir, &["view", "--vault-id", "dev@keys-client.py", "dev.yml"]).run().success().stdout_line("env: dev");
    let out = orc(dir, &["view", "--vault-id", "qa@keys-client.py", "dev.yml"]).run().code(64);
    assert_eq!(
        out.stderr_redacted(dir),
        "error: the vault password client script keys-client.py has no password for vault id 'qa': unknown vault id qa\n"
    );

    // ANSIBLE_VAULT_PASSWORD_FILE, as a password file given last.
    orc(dir, &["view", "dev.yml"])
        .env("ANSIBLE_VAULT_PASSWORD_FILE", dir.join("pw-dev"))
        .run()
        .success()
        .stdout_line("env: dev");
    // ANSIBLE_VAULT_IDENTITY_LIST, as vault ids given first.
    orc(dir, &["view", "dev.yml", "prod.yml"])
        .env("ANSIBLE_VAULT_IDENTITY_LIST", "dev@pw-dev,prod@pw-prod")
        .run()
        .success()
        .stdout_line("env: prod");

    // A password file others can read works, with a warning.
    std::fs::set_permissions(dir.join("pw-dev"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = orc(dir, &["view", "--vault-id", "dev@pw-dev", "dev.yml"]).run().success();
    insta::assert_snapshot!("world_readable_password_file", out.stderr_redacted(dir));
    // A missing password file is skipped with a warning when another source works.
    let out = orc(dir, &["view", "--vault-id", "x@missing", "--vault-id", "prod@pw-prod", "prod.yml"]).run().success();
    assert!(
        out.stderr.contains("[WARNING]: skipping vault id 'x': the vault password file missing was not found"),
        "{out}"
    );
    // Reading never rewrote the files.
    assert!(
        read(&dev).starts_with(b"$ANSIBLE_VAULT;1.2;AES256;dev\n")
            && read(&prod).starts_with(b"$ANSIBLE_VAULT;1.2;AES256;prod\n")
    );
}

// ---- property: random plaintexts round-trip ------------------------------------------------------

/// Encrypt then decrypt, in process, on random plaintexts from 0 bytes to 1 MiB: a seeded
/// generator (fastrand, seed 1212) picks sizes (log-uniform, plus the block edges and 1 MiB),
/// contents, passwords and labels; a wrong password tried first must fail over to the right one,
/// and one flipped ciphertext digit must be refused. A failure prints the case to reproduce.
#[test]
fn random_plaintexts_from_0_bytes_to_1_mib_round_trip() {
    use orc::vault::{encrypt, Keyring, Origin, VaultError, VaultSecret};
    use zeroize::Zeroizing;
    const MIB: usize = 1024 * 1024;
    let mut rng = fastrand::Rng::with_seed(1212);
    let mut sizes = vec![0, 1, 15, 16, 17, 4095, 4096, MIB - 1, MIB];
    sizes.extend((0..16).map(|_| (2f64.powf(rng.f64() * 20.0)) as usize));
    let origin = Origin::file("random");
    for (case, size) in sizes.into_iter().enumerate() {
        let plain: Vec<u8> = (0..size).map(|_| rng.u8(..)).collect();
        let password: Vec<u8> = (0..rng.usize(1..40)).map(|_| rng.u8(b'!'..=b'~')).collect();
        let label = ["default", "dev", "prod-eu"][rng.usize(..3)];
        let right = VaultSecret::new(label, Zeroizing::new(password.clone()));
        let wrong = VaultSecret::new("other", Zeroizing::new(b"not it".to_vec()));
        let text = encrypt(&plain, &right, label, None, &origin).unwrap();
        let ring = Keyring::new(vec![wrong, right.clone()], "default", false);
        let d = ring.decrypt(text.as_bytes(), &origin).unwrap();
        assert!(*d.plaintext == plain, "case {case}: size {size}, label {label}: plaintext differs");
        assert_eq!(d.secret.id(), label);
        // Flip one hex digit of the payload (not the header): refused, never garbage.
        let mut bytes = text.into_bytes();
        let body_start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        let i = loop {
            let i = rng.usize(body_start..bytes.len());
            if bytes[i].is_ascii_hexdigit() {
                break i;
            }
        };
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        let err = ring.decrypt(&bytes, &origin).unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::WrongPassword { .. } | VaultError::Truncated { .. } | VaultError::BadPadding { .. }
            ),
            "case {case}: size {size}: a flipped digit gave {err}"
        );
    }
}

// ---- bad input: exit 3, one message, nothing changed ------------------------------------------------

/// Hexlify, for building damaged files.
/// Runs `args` in `dir` and asserts exit 3, that `file` did not change, and the message (with
/// the directory redacted) against snapshot `name`.
fn refused(dir: &Path, name: &str, args: &[&str], file: &Path) -> Outcome {
    let before = read(file);
    let out = orc(dir, args).run().code(3);
    assert_eq!(read(file), before, "{name}: the file changed\n{out}");
    assert!(!out.stderr.contains("hunter2"), "{name}: the password leaked\n{out}");
    assert!(!out.stderr.contains("plain secret"), "{name}: the plaintext leaked\n{out}");
    insta::assert_snapshot!(name, redact(&out.stderr, dir));
    out
}

#[test]
fn each_bad_vault_input_is_exit_3_with_one_message_and_nothing_changed() {
    let d = TempDir::new().unwrap();
    let dir = d.path();
    password_file(dir, "pw", "hunter2");
    password_file(dir, "wrong", "not hunter2");
    let good = write(dir, "good.yml", "plain secret\n", 0o600);
    ansible_vault_ok(dir, &["encrypt", "--vault-password-file", "pw", "good.yml"], &[]);
    let labelled = write(dir, "prod.yml", "plain secret\n", 0o600);
    ansible_vault_ok(dir, &["encrypt", "--vault-id", "prod@pw", "prod.yml"], &[]);
    let text = String::from_utf8(read(&good)).unwrap();

    let f = write(dir, "wrong_password.yml", &text, 0o600);
    refused(dir, "wrong_password", &["decrypt", "--vault-password-file", "wrong", "wrong_password.yml"], &f);
    refused(dir, "missing_vault_id", &["decrypt", "--vault-id", "dev@wrong", "prod.yml"], &labelled);
    let f = write(dir, "tampered.yml", tamper(&text), 0o600);
    refused(dir, "tampered_hmac_mismatch", &["decrypt", "--vault-password-file", "pw", "tampered.yml"], &f);
    let f = write(dir, "truncated.yml", &text[..text.len() - 7], 0o600);
    refused(dir, "truncated", &["decrypt", "--vault-password-file", "pw", "truncated.yml"], &f);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2].replace_range(10..11, "z");
    let f = write(dir, "not_hex.yml", lines.join("\n") + "\n", 0o600);
    refused(dir, "non_hex_body", &["decrypt", "--vault-password-file", "pw", "not_hex.yml"], &f);
    let f = write(dir, "version.yml", text.replacen("1.1", "1.3", 1), 0o600);
    refused(dir, "unknown_format_version", &["decrypt", "--vault-password-file", "pw", "version.yml"], &f);
    let f = write(dir, "plain.yml", "plain secret\n", 0o600);
    refused(dir, "not_encrypted", &["decrypt", "--vault-password-file", "pw", "plain.yml"], &f);
    refused(dir, "already_encrypted", &["encrypt", "--vault-password-file", "pw", "good.yml"], &good);

    // The other commands refuse the same input the same way, changing nothing.
    let f = dir.join("tampered.yml");
    for cmd in ["view", "edit", "rekey"] {
        let mut args = vec![cmd, "--vault-password-file", "pw", "tampered.yml"];
        if cmd == "rekey" {
            args.extend(["--new-vault-password-file", "wrong"]);
        }
        let before = read(&f);
        orc(dir, &args).env("EDITOR", "false").run().code(3).stderr_has("tampered.yml: decryption failed");
        assert_eq!(read(&f), before, "{cmd} changed the file");
    }
    // Several files: one bad one means none is written.
    let out = orc(dir, &["decrypt", "--vault-password-file", "pw", "good.yml", "tampered.yml"]).run().code(3);
    assert!(out.stderr.contains("tampered.yml"), "{out}");
    assert!(
        read(&good).starts_with(b"$ANSIBLE_VAULT;1.1;AES256\n"),
        "good.yml was decrypted although tampered.yml failed"
    );
}

#[test]
fn usage_errors_are_exit_64() {
    let d = TempDir::new().unwrap();
    let dir = d.path();
    password_file(dir, "pw", "hunter2");
    password_file(dir, "pw2", "other");
    write(dir, "a.yml", "a\n", 0o600);
    write(dir, "b.yml", "b\n", 0o600);
    let usage = |args: &[&str]| redact(&orc(dir, args).run().code(64).stderr, dir);
    insta::assert_snapshot!("semicolon_in_vault_id", usage(&["encrypt", "--vault-id", "a;b@pw", "a.yml"]));
    insta::assert_snapshot!(
        "output_with_two_inputs",
        usage(&["encrypt", "--vault-password-file", "pw", "--output", "o", "a.yml", "b.yml"])
    );
    insta::assert_snapshot!(
        "several_ids_to_encrypt_with",
        usage(&["encrypt", "--vault-id", "dev@pw", "--vault-id", "prod@pw2", "a.yml"])
    );
    insta::assert_snapshot!(
        "unknown_encrypt_vault_id",
        usage(&["encrypt", "--vault-id", "dev@pw", "--encrypt-vault-id", "qa", "a.yml"])
    );
    insta::assert_snapshot!("missing_password_file", usage(&["view", "--vault-password-file", "nope", "a.yml"]));
    assert_eq!(read(&dir.join("a.yml")), b"a\n");

    // No password source and no terminal (setsid: no controlling terminal, as in CI).
    let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let out = Command::new("setsid")
        .arg(bin)
        .args(["vault", "view", "a.yml"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    insta::assert_snapshot!("no_password_and_no_terminal", String::from_utf8_lossy(&out.stderr));
}

// ---- prompts on a terminal ------------------------------------------------------------------------

#[test]
fn passwords_typed_at_a_terminal_prompt() {
    let d = TempDir::new().unwrap();
    let dir = d.path();
    write(dir, "s.yml", "typed: yes\n", 0o600);
    // A new password is asked twice; the label is named in the prompt.
    let s = tty::run(
        dir,
        &["vault", "encrypt", "--vault-id", "dev@prompt", "s.yml"],
        &[],
        &[("New vault password (dev): ", "hunter2"), ("Confirm new vault password (dev): ", "hunter2")],
    );
    assert_eq!(s.code, Some(0), "{}", s.screen);
    assert!(!s.screen.contains("hunter2"), "the password was echoed:\n{}", s.screen);
    assert!(s.screen.contains("Encryption successful"), "{}", s.screen);
    assert_eq!(header(&dir.join("s.yml")), "$ANSIBLE_VAULT;1.2;AES256;dev");
    // --ask-vault-pass asks with Ansible's classic prompt; view pages through $PAGER.
    let s = tty::run(
        dir,
        &["vault", "view", "--ask-vault-pass", "s.yml"],
        &[("PAGER", "cat")],
        &[("Vault password: ", "hunter2")],
    );
    assert_eq!(s.code, Some(0), "{}", s.screen);
    assert!(s.screen.contains("typed: yes"), "{}", s.screen);
    assert!(!s.screen.contains("hunter2"), "{}", s.screen);
    // A confirmation that differs is refused, and nothing is written.
    let before = read(&dir.join("s.yml"));
    let s = tty::run(
        dir,
        &["vault", "rekey", "--vault-id", "dev@prompt", "s.yml"],
        &[],
        &[("Vault password (dev): ", "hunter2"), ("New Vault password: ", "a"), ("Confirm New Vault password: ", "b")],
    );
    assert_eq!(s.code, Some(64), "{}", s.screen);
    assert!(s.screen.contains("the vault passwords typed for vault id 'default' do not match"), "{}", s.screen);
    assert_eq!(read(&dir.join("s.yml")), before);
    // A wrong password typed: exit 3.
    let s = tty::run(
        dir,
        &["vault", "view", "--vault-id", "dev@prompt", "s.yml"],
        &[],
        &[("Vault password (dev): ", "nope")],
    );
    assert_eq!(s.code, Some(3), "{}", s.screen);
    assert!(s.screen.contains("s.yml: decryption failed with vault id 'dev'"), "{}", s.screen);
}
