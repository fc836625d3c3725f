//! Where vault passwords come from, as in Ansible (docs/vault.md): `--vault-id [LABEL@]SOURCE`
//! where SOURCE is `prompt`, a file holding the password, or an executable printing it;
//! `--vault-password-file FILE`; `--ask-vault-pass`; and the configured defaults
//! ([`VaultConfig`]). A source that cannot be read is a warning when another one works, and an
//! error when none does, as in Ansible.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::config::{expand_home, VaultConfig};
use super::envelope;
use super::error::{Origin, PasswordError};
use super::keyring::Keyring;
use super::secret::VaultSecret;

/// Where one password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `prompt`: asked on the terminal, the prompt naming the vault id.
    Prompt,
    /// `--ask-vault-pass`: asked on the terminal with Ansible's classic `Vault password: `.
    AskVaultPass,
    /// A file holding the password, or an executable printing it on stdout.
    Path(PathBuf),
}

/// One `--vault-id [LABEL@]SOURCE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultId {
    /// The label before `@` (None without `@`; an empty label counts as none).
    pub label: Option<String>,
    /// Where the password comes from.
    pub source: Source,
}

impl VaultId {
    /// Parses `[LABEL@]SOURCE` as Ansible splits it (at the first `@`); `;` is refused since it
    /// would break the vault header.
    pub fn parse(spec: &str) -> Result<VaultId, PasswordError> {
        if spec.contains(';') {
            return Err(PasswordError::InvalidVaultId { spec: spec.to_string() });
        }
        let (label, source) = match spec.split_once('@') {
            Some((l, s)) => (Some(l.to_string()).filter(|l| !l.is_empty()), s),
            None => (None, spec),
        };
        let source = match source {
            "prompt" => Source::Prompt,
            "prompt_ask_vault_pass" => Source::AskVaultPass,
            path => Source::Path(expand_home(path)),
        };
        Ok(VaultId { label, source })
    }
}

/// What the passwords are for: decrypting (asked once) or encrypting (a new password, asked twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Passwords to decrypt with.
    Decrypt,
    /// A new password to encrypt with: prompts ask for a confirmation.
    Encrypt,
}

/// Asks for passwords on a terminal. The vault library never talks to the terminal itself; the
/// command (src/ops/vault.rs) gives it a prompter, tests give it scripted answers.
pub trait Prompter {
    /// Whether there is a terminal to ask on.
    fn available(&self) -> bool;
    /// Shows `prompt` and reads an answer without echoing it.
    fn ask_hidden(&mut self, prompt: &str) -> std::io::Result<Zeroizing<String>>;
}

/// The password sources of one command, before they are read.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--vault-id` values, after the configured `vault_identity_list`.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file` values (the configured `vault_password_file` is added after them).
    pub password_files: Vec<PathBuf>,
    /// `--ask-vault-pass`.
    pub ask: bool,
    /// Ask on the terminal when no source is given at all (ansible-vault does, ansible-playbook
    /// does not).
    pub auto_prompt: bool,
}

/// The passwords read, and the warnings to show about sources that were skipped or are unsafe.
#[derive(Debug)]
pub struct Loaded {
    /// The passwords, in the order given.
    pub keyring: Keyring,
    /// One line each, for `[WARNING]: `.
    pub warnings: Vec<String>,
}

/// Reads every password `request` names, in Ansible's order: `--vault-id`s, then password
/// files as `default@FILE`, then a prompt for `--ask-vault-pass` (or when nothing was given
/// and `auto_prompt`).
pub fn load(
    request: &Request,
    cfg: &VaultConfig,
    purpose: Purpose,
    prompter: &mut dyn Prompter,
) -> Result<Loaded, PasswordError> {
    let mut ids = request.vault_ids.iter().map(|s| VaultId::parse(s)).collect::<Result<Vec<_>, _>>()?;
    let files = request.password_files.iter().chain(cfg.password_file.as_ref());
    ids.extend(files.map(|f| VaultId { label: None, source: Source::Path(f.clone()) }));
    if request.ask || cfg.ask_vault_pass || (ids.is_empty() && request.auto_prompt) {
        ids.push(VaultId { label: None, source: Source::AskVaultPass });
    }
    let mut keyring = Keyring::new(Vec::new(), &cfg.identity, cfg.id_match);
    let mut warnings = Vec::new();
    let mut last_error = None;
    for vid in ids {
        let id = vid.label.clone().unwrap_or_else(|| cfg.identity.clone());
        let path = match &vid.source {
            Source::Prompt | Source::AskVaultPass => {
                let password = ask(&vid.source, &id, purpose, prompter)?;
                keyring.push(VaultSecret::new(id, password));
                continue;
            }
            Source::Path(p) => p,
        };
        match read_path(path, &id, vid.label.as_deref(), &keyring, &mut warnings) {
            Ok(password) => keyring.push(VaultSecret::new(id, password)),
            Err(e) => {
                warnings.push(format!("skipping vault id '{id}': {e}"));
                last_error = Some(e);
            }
        }
    }
    if keyring.is_empty() {
        if let Some(e) = last_error {
            // Nothing worked: the last problem is the error, not a warning.
            warnings.pop();
            return Err(e);
        }
    }
    Ok(Loaded { keyring, warnings })
}

/// Asks on the terminal: once to decrypt, twice (and compared) for a new password.
fn ask(
    source: &Source,
    id: &str,
    purpose: Purpose,
    prompter: &mut dyn Prompter,
) -> Result<Zeroizing<Vec<u8>>, PasswordError> {
    if !prompter.available() {
        return Err(PasswordError::NoTerminal { id: id.to_string() });
    }
    let prompts: Vec<String> = match (source, purpose) {
        (Source::AskVaultPass, Purpose::Decrypt) => vec!["Vault password: ".into()],
        (Source::AskVaultPass, Purpose::Encrypt) => {
            vec!["New Vault password: ".into(), "Confirm New Vault password: ".into()]
        }
        (_, Purpose::Decrypt) => vec![format!("Vault password ({id}): ")],
        (_, Purpose::Encrypt) => {
            vec![format!("New vault password ({id}): "), format!("Confirm new vault password ({id}): ")]
        }
    };
    let mut first: Option<Zeroizing<Vec<u8>>> = None;
    for prompt in prompts {
        let answer =
            prompter.ask_hidden(&prompt).map_err(|source| PasswordError::Prompt { id: id.to_string(), source })?;
        let answer = strip(answer.as_bytes(), |b| b.is_ascii_whitespace());
        if answer.is_empty() {
            return Err(PasswordError::Empty { from: "the prompt".into(), id: id.to_string() });
        }
        match &first {
            None => first = Some(answer),
            Some(f) if **f != *answer => return Err(PasswordError::Mismatch { id: id.to_string() }),
            Some(_) => {}
        }
    }
    first.ok_or(PasswordError::NoPassword)
}

/// Reads a password file, or runs it when it is executable.
fn read_path(
    path: &Path,
    id: &str,
    label: Option<&str>,
    earlier: &Keyring,
    warnings: &mut Vec<String>,
) -> Result<Zeroizing<Vec<u8>>, PasswordError> {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PasswordError::FileMissing { path: shown, id: id.to_string() })
        }
        Err(source) => return Err(PasswordError::FileUnreadable { path: shown, id: id.to_string(), source }),
    };
    if meta.is_dir() {
        let source = std::io::Error::other("it is a directory");
        return Err(PasswordError::FileUnreadable { path: shown, id: id.to_string(), source });
    }
    let mode = meta.permissions().mode();
    if mode & 0o111 != 0 {
        return run_script(path, id, label);
    }
    if mode & 0o004 != 0 {
        warnings.push(format!(
            "the vault password file {shown} is readable by every user of this machine (mode {:04o}); chmod o-r {shown}",
            mode & 0o7777
        ));
    }
    let raw = Zeroizing::new(std::fs::read(path).map_err(|source| PasswordError::FileUnreadable {
        path: shown.clone(),
        id: id.to_string(),
        source,
    })?);
    let mut password = strip(&raw, |b| b.is_ascii_whitespace());
    if envelope::is_encrypted(&password) {
        // A password file may itself be encrypted with a password given before it (Ansible).
        let d = earlier.decrypt(&password, &Origin::file(path)).map_err(|e| PasswordError::EncryptedFile {
            path: shown.clone(),
            id: id.to_string(),
            source: Box::new(e),
        })?;
        password = strip(&d.plaintext, |b| b == b'\r' || b == b'\n');
    }
    if password.is_empty() {
        return Err(PasswordError::Empty { from: format!("file {shown}"), id: id.to_string() });
    }
    Ok(password)
}

/// Runs a password script and takes its stdout (without surrounding newlines). A client script
/// (its name without extension ends in `-client`) gets `--vault-id LABEL` and may exit 2 to say
/// it has no password for that label; other scripts get no arguments and keep the terminal's
/// stderr, to prompt on it (both as in Ansible).
fn run_script(path: &Path, id: &str, label: Option<&str>) -> Result<Zeroizing<Vec<u8>>, PasswordError> {
    let shown = path.display().to_string();
    let client = path.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.ends_with("-client"));
    // A bare name would be looked up in PATH: run the file the user named.
    let program = if path.components().count() == 1 { Path::new(".").join(path) } else { path.to_path_buf() };
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::inherit()).stdout(Stdio::piped());
    if client {
        cmd.stderr(Stdio::piped());
        if let Some(l) = label {
            cmd.args(["--vault-id", l]);
        }
    } else {
        cmd.stderr(Stdio::inherit());
    }
    let out = cmd.output().map_err(|source| PasswordError::ScriptStart {
        path: shown.clone(),
        id: id.to_string(),
        source,
    })?;
    let stdout = Zeroizing::new(out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if client && out.status.code() == Some(2) {
        return Err(PasswordError::ClientUnknownId { path: shown, id: id.to_string(), stderr });
    }
    if !out.status.success() {
        let status = match out.status.code() {
            Some(c) => format!("exit code {c}"),
            None => "killed by a signal".to_string(),
        };
        return Err(PasswordError::ScriptFailed { path: shown, id: id.to_string(), status, stderr });
    }
    let password = strip(&stdout, |b| b == b'\r' || b == b'\n');
    if password.is_empty() {
        return Err(PasswordError::Empty { from: format!("script {shown}"), id: id.to_string() });
    }
    Ok(password)
}

/// `bytes` without leading and trailing bytes matching `drop`, in a buffer zeroed when dropped.
fn strip(bytes: &[u8], drop: impl Fn(u8) -> bool) -> Zeroizing<Vec<u8>> {
    let start = bytes.iter().position(|&b| !drop(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| !drop(b)).map_or(start, |i| i + 1);
    Zeroizing::new(bytes[start..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers prompts from a list, and records the prompts.
    struct Scripted {
        answers: Vec<&'static str>,
        asked: Vec<String>,
        tty: bool,
    }

    impl Prompter for Scripted {
        fn available(&self) -> bool {
            self.tty
        }
        fn ask_hidden(&mut self, prompt: &str) -> std::io::Result<Zeroizing<String>> {
            self.asked.push(prompt.to_string());
            if self.answers.is_empty() {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(Zeroizing::new(self.answers.remove(0).to_string()))
        }
    }

    fn scripted(answers: &[&'static str]) -> Scripted {
        Scripted { answers: answers.to_vec(), asked: Vec::new(), tty: true }
    }

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn ids(loaded: &Loaded) -> Vec<String> {
        loaded.keyring.ids().0
    }

    #[test]
    fn parses_vault_ids_as_ansible() {
        let p = |s| VaultId::parse(s).unwrap();
        assert_eq!(p("dev@pw.txt"), VaultId { label: Some("dev".into()), source: Source::Path("pw.txt".into()) });
        assert_eq!(p("pw.txt"), VaultId { label: None, source: Source::Path("pw.txt".into()) });
        assert_eq!(p("@pw"), VaultId { label: None, source: Source::Path("pw".into()) });
        assert_eq!(p("prod@prompt").source, Source::Prompt);
        assert_eq!(p("a@b@c").source, Source::Path("b@c".into()));
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(p("prod@~/pw").source, Source::Path(PathBuf::from(home).join("pw")));
        }
        assert!(VaultId::parse("a;b@f").is_err());
    }

    #[test]
    fn files_scripts_and_prompts_in_ansibles_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "pw", "  secret-one \n", 0o600);
        let script = write(dir.path(), "pw.sh", "#!/bin/sh\nprintf 'from-script\\r\\n'\n", 0o700);
        let request = Request {
            vault_ids: vec![format!("dev@{}", script.display()), "prod@prompt".into()],
            password_files: vec![file],
            ask: false,
            auto_prompt: true,
        };
        let mut prompter = scripted(&[" typed "]);
        let loaded = load(&request, &VaultConfig::default(), Purpose::Decrypt, &mut prompter).unwrap();
        assert_eq!(ids(&loaded), vec!["dev", "prod", "default"]);
        let pw: Vec<&[u8]> = loaded.keyring.secrets().iter().map(|s| s.password()).collect();
        assert_eq!(pw, vec![&b"from-script"[..], b"typed", b"secret-one"]);
        assert_eq!(prompter.asked, vec!["Vault password (prod): "]);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn a_client_script_gets_the_label() {
        let dir = tempfile::tempdir().unwrap();
        let script = write(
            dir.path(),
            "keys-client.sh",
            "#!/bin/sh\n[ \"$1\" = --vault-id ] && [ \"$2\" = prod ] && echo pw-for-$2 && exit 0\necho \"no key for $2\" >&2; exit 2\n",
            0o700,
        );
        let req =
            |label: &str| Request { vault_ids: vec![format!("{label}@{}", script.display())], ..Default::default() };
        let loaded = load(&req("prod"), &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&[])).unwrap();
        assert_eq!(loaded.keyring.secrets()[0].password(), b"pw-for-prod");
        let e = load(&req("qa"), &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&[])).unwrap_err();
        assert!(e.to_string().contains("has no password for vault id 'qa': no key for qa"), "{e}");
    }

    #[test]
    fn a_missing_file_is_a_warning_when_another_source_works_and_an_error_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "pw", "x\n", 0o644);
        let missing = dir.path().join("nope");
        let request = Request {
            vault_ids: vec![format!("a@{}", missing.display())],
            password_files: vec![good],
            ..Default::default()
        };
        let loaded = load(&request, &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&[])).unwrap();
        assert_eq!(ids(&loaded), vec!["default"]);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("skipping vault id 'a': the vault password file"));
        assert!(loaded.warnings[1].contains("readable by every user of this machine (mode 0644)"));
        let request = Request { vault_ids: vec![format!("a@{}", missing.display())], ..Default::default() };
        let e = load(&request, &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&[])).unwrap_err();
        assert!(matches!(e, PasswordError::FileMissing { .. }), "{e}");
    }

    #[test]
    fn new_passwords_are_confirmed_and_empty_ones_refused() {
        let req = Request { ask: true, ..Default::default() };
        let mut p = scripted(&["a", "a"]);
        let loaded = load(&req, &VaultConfig::default(), Purpose::Encrypt, &mut p).unwrap();
        assert_eq!(p.asked, vec!["New Vault password: ", "Confirm New Vault password: "]);
        assert_eq!(loaded.keyring.secrets()[0].password(), b"a");
        let e = load(&req, &VaultConfig::default(), Purpose::Encrypt, &mut scripted(&["a", "b"])).unwrap_err();
        assert!(matches!(e, PasswordError::Mismatch { .. }));
        let e = load(&req, &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&["  "])).unwrap_err();
        assert!(matches!(e, PasswordError::Empty { .. }));
        let mut no_tty = scripted(&[]);
        no_tty.tty = false;
        let auto = Request { auto_prompt: true, ..Default::default() };
        let e = load(&auto, &VaultConfig::default(), Purpose::Decrypt, &mut no_tty).unwrap_err();
        assert!(matches!(e, PasswordError::NoTerminal { .. }));
    }

    #[test]
    fn an_encrypted_password_file_opens_with_an_earlier_password() {
        let dir = tempfile::tempdir().unwrap();
        let first = write(dir.path(), "first", "outer\n", 0o600);
        let inner = VaultSecret::new("default", Zeroizing::new(b"outer".to_vec()));
        let text = super::super::keyring::encrypt(b"inner-pw\n", &inner, "default", None, &Origin::file("x")).unwrap();
        let second = write(dir.path(), "second", &text, 0o600);
        let request = Request {
            vault_ids: vec![format!("a@{}", first.display()), format!("b@{}", second.display())],
            ..Default::default()
        };
        let loaded = load(&request, &VaultConfig::default(), Purpose::Decrypt, &mut scripted(&[])).unwrap();
        assert_eq!(loaded.keyring.secrets()[1].password(), b"inner-pw");
    }
}
