//! `orc vault`: ansible-vault's commands (create, decrypt, edit, view, encrypt, encrypt_string,
//! rekey) over the vault library in src/vault (docs/vault.md). Every input is read and
//! decrypted before anything is written, so a bad file leaves every file as it was.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::terminal::{ask_visible, page, TerminalPrompter};
use crate::cli::{
    VaultAction, VaultArgs, VaultCreateArgs, VaultDecryptArgs, VaultEditArgs, VaultEncryptArgs, VaultEncryptStringArgs,
    VaultPasswordArgs, VaultRekeyArgs, VaultSecretArgs, VaultViewArgs,
};
use crate::error::{OrcError, Result};
use crate::vault::{self, Keyring, Mode, Origin, PasswordError, Prompter, Purpose, Request, VaultConfig, VaultSecret};

/// Runs `orc vault ACTION`; returns the exit code.
pub fn vault(args: &VaultArgs) -> Result<i32> {
    // ANSIBLE_VAULT_* over ansible.cfg's vault keys, as ansible-vault reads them.
    let settings = super::settings()?;
    let cfg = VaultConfig::resolve(|k| std::env::var(k).ok(), |k| settings.vault_ini(k));
    match &args.action {
        VaultAction::Create(a) => create(a, &cfg)?,
        VaultAction::Decrypt(a) => decrypt(a, &cfg)?,
        VaultAction::Edit(a) => edit(a, &cfg)?,
        VaultAction::View(a) => view(a, &cfg)?,
        VaultAction::Encrypt(a) => encrypt(a, &cfg)?,
        VaultAction::EncryptString(a) => encrypt_string(a, &cfg)?,
        VaultAction::Rekey(a) => rekey(a, &cfg)?,
    }
    Ok(0)
}

/// Where data comes from or goes to: a file, or `-` (standard input or output).
#[derive(Debug, Clone)]
enum Stream {
    Std,
    File(PathBuf),
}

impl Stream {
    fn from_path(p: &Path) -> Stream {
        if p.as_os_str() == "-" {
            Stream::Std
        } else {
            Stream::File(p.to_path_buf())
        }
    }

    fn origin(&self) -> Origin {
        match self {
            Stream::Std => Origin::stdin(),
            Stream::File(p) => Origin::file(p),
        }
    }

    /// Reads all of it.
    fn read(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut data = Zeroizing::new(Vec::new());
        match self {
            Stream::Std => std::io::stdin()
                .lock()
                .read_to_end(&mut data)
                .map(|_| ())
                .map_err(|e| OrcError::input(format!("could not read standard input: {e}")))?,
            Stream::File(p) => {
                *data = std::fs::read(p).map_err(|source| OrcError::Read { path: p.clone(), source })?;
            }
        }
        Ok(data)
    }

    /// Writes `data` (a file atomically, with the permissions `mode` says).
    fn write(&self, data: &[u8], mode: Mode) -> Result<()> {
        match self {
            Stream::Std => {
                let mut out = std::io::stdout().lock();
                out.write_all(data)
                    .and_then(|()| out.flush())
                    .map_err(|e| OrcError::input(format!("could not write to standard output: {e}")))
            }
            Stream::File(p) => vault::write_atomic(p, data, mode)
                .map_err(|e| OrcError::input(format!("could not write {}: {e}", p.display()))),
        }
    }
}

/// The inputs named (none: standard input).
fn inputs(files: &[PathBuf]) -> Vec<Stream> {
    if files.is_empty() {
        vec![Stream::Std]
    } else {
        files.iter().map(|f| Stream::from_path(f)).collect()
    }
}

/// Where the result for `input` goes: `--output`, else back where it came from.
fn output_for(input: &Stream, output: Option<&Path>) -> Stream {
    output.map(Stream::from_path).unwrap_or_else(|| input.clone())
}

/// `--output` takes one input at most (as ansible-vault).
fn one_input_with_output(files: &[PathBuf], output: Option<&Path>) -> Result<()> {
    if output.is_some() && files.len() > 1 {
        return Err(OrcError::Usage("--output takes one input FILE at most".into()));
    }
    Ok(())
}

/// The password sources the flags and the configuration name, in Ansible's order.
/// `auto_prompt`: ask on the terminal when nothing is given (ansible-vault does, ansible-playbook
/// does not).
pub(crate) fn request(p: &VaultPasswordArgs, cfg: &VaultConfig, auto_prompt: bool) -> Request {
    let mut vault_ids = cfg.identity_list.clone();
    vault_ids.extend(p.vault_ids.iter().cloned());
    Request { vault_ids, password_files: p.vault_password_files.clone(), ask: p.ask_vault_pass, auto_prompt }
}

/// Reads the passwords of `request`, printing warnings about skipped or unsafe sources.
fn load(request: &Request, cfg: &VaultConfig, purpose: Purpose) -> Result<Keyring> {
    let mut prompter = TerminalPrompter;
    let loaded = vault::load(request, cfg, purpose, &mut prompter as &mut dyn Prompter)?;
    for w in &loaded.warnings {
        eprintln!("[WARNING]: {w}");
    }
    if loaded.keyring.is_empty() {
        return Err(PasswordError::NoPassword.into());
    }
    Ok(loaded.keyring)
}

/// The passwords to decrypt with.
fn decrypting(secrets: &VaultSecretArgs, cfg: &VaultConfig) -> Result<Keyring> {
    load(&request(&secrets.passwords, cfg, true), cfg, Purpose::Decrypt)
}

/// The one password to encrypt with (new passwords are asked twice).
fn encrypting(secrets: &VaultSecretArgs, encrypt_id: Option<&str>, cfg: &VaultConfig) -> Result<VaultSecret> {
    let ring = load(&request(&secrets.passwords, cfg, true), cfg, Purpose::Encrypt)?;
    let id = encrypt_id.or(cfg.encrypt_identity.as_deref());
    Ok(ring.encrypt_secret(id)?.clone())
}

/// Encrypts for the secret's own vault id, with the configured salt if any.
fn seal(plain: &[u8], secret: &VaultSecret, id: &str, cfg: &VaultConfig, origin: &Origin) -> Result<String> {
    Ok(vault::encrypt(plain, secret, id, cfg.encrypt_salt.as_deref().map(str::as_bytes), origin)?)
}

fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

fn encrypt(a: &VaultEncryptArgs, cfg: &VaultConfig) -> Result<()> {
    one_input_with_output(&a.files, a.output.as_deref())?;
    let secret = encrypting(&a.secrets, a.encrypt_vault_id.as_deref(), cfg)?;
    if a.files.is_empty() && std::io::stdin().is_terminal() {
        eprintln!("Reading plaintext input from stdin");
    }
    let mut results = Vec::new();
    for input in inputs(&a.files) {
        let plain = input.read()?;
        let text = seal(&plain, &secret, secret.id(), cfg, &input.origin())?;
        results.push((output_for(&input, a.output.as_deref()), text));
    }
    for (out, text) in results {
        out.write(text.as_bytes(), Mode::Private)?;
    }
    if stdout_is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(())
}

fn decrypt(a: &VaultDecryptArgs, cfg: &VaultConfig) -> Result<()> {
    one_input_with_output(&a.files, a.output.as_deref())?;
    let ring = decrypting(&a.secrets, cfg)?;
    if a.files.is_empty() && std::io::stdin().is_terminal() {
        eprintln!("Reading ciphertext input from stdin");
    }
    let mut results = Vec::new();
    for input in inputs(&a.files) {
        let data = input.read()?;
        let plain = ring.decrypt(&data, &input.origin())?.plaintext;
        results.push((output_for(&input, a.output.as_deref()), plain));
    }
    for (out, plain) in results {
        out.write(&plain, Mode::Private)?;
    }
    if stdout_is_terminal() {
        eprintln!("Decryption successful");
    }
    Ok(())
}

fn view(a: &VaultViewArgs, cfg: &VaultConfig) -> Result<()> {
    let ring = decrypting(&a.secrets, cfg)?;
    let mut shown = Vec::new();
    for input in inputs(&a.files) {
        let data = input.read()?;
        let mut plain = ring.decrypt(&data, &input.origin())?.plaintext;
        if !plain.ends_with(b"\n") {
            // As ansible-vault displays it.
            plain.push(b'\n');
        }
        shown.push(plain);
    }
    for plain in shown {
        if stdout_is_terminal() {
            page(&plain).map_err(|e| OrcError::input(format!("could not show the plaintext: {e}")))?;
        } else {
            Stream::Std.write(&plain, Mode::Private)?;
        }
    }
    Ok(())
}

fn create(a: &VaultCreateArgs, cfg: &VaultConfig) -> Result<()> {
    let [path] = a.files.as_slice() else {
        return Err(OrcError::Usage("orc vault create takes exactly one FILE".into()));
    };
    if !stdout_is_terminal() && !a.skip_tty_check {
        return Err(OrcError::Usage(
            "standard output is not a terminal, so no editor is opened; --skip-tty-check opens it anyway".into(),
        ));
    }
    let secret = encrypting(&a.secrets, a.encrypt_vault_id.as_deref(), cfg)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        eprintln!("[WARNING]: {} does not exist, creating...", dir.display());
        std::fs::create_dir_all(dir)
            .map_err(|e| OrcError::input(format!("could not create the directory {}: {e}", dir.display())))?;
    }
    if path.exists() {
        return Err(OrcError::Usage(format!(
            "{} exists; use `orc vault edit {}` to change it",
            path.display(),
            path.display()
        )));
    }
    let plain = edit_in_editor(b"", path)?;
    let text = seal(&plain, &secret, secret.id(), cfg, &Origin::file(path))?;
    Stream::File(path.clone()).write(text.as_bytes(), Mode::Private)
}

fn edit(a: &VaultEditArgs, cfg: &VaultConfig) -> Result<()> {
    let ring = decrypting(&a.secrets, cfg)?;
    for path in &a.files {
        let input = Stream::File(path.clone());
        let data = input.read()?;
        let origin = input.origin();
        let d = ring.decrypt(&data, &origin)?;
        let edited = edit_in_editor(&d.plaintext, path)?;
        if *edited == *d.plaintext {
            // Unchanged: the file keeps its bytes (no new salt, no new mtime).
            continue;
        }
        // The file keeps its vault id, re-encrypted with the password that opened it.
        let id = d.label.clone().unwrap_or_else(|| cfg.identity.clone());
        let text = seal(&edited, d.secret, &id, cfg, &origin)?;
        input.write(text.as_bytes(), Mode::Keep)?;
    }
    Ok(())
}

/// Puts `initial` in a private scratch file named like `path` (same extension), runs the
/// editor on it, and returns what it holds afterwards; the scratch directory is then removed.
fn edit_in_editor(initial: &[u8], path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let suffix = real.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let scratch = vault::Scratch::new(initial, &suffix)
        .map_err(|e| OrcError::input(format!("could not create a private temporary file for the editor: {e}")))?;
    let editor = vault::editor_command(|k| std::env::var(k).ok());
    vault::run_editor(&editor, scratch.path()).map_err(OrcError::Usage)?;
    scratch.read().map_err(|e| OrcError::input(format!("could not read back the edited file: {e}")))
}

fn rekey(a: &VaultRekeyArgs, cfg: &VaultConfig) -> Result<()> {
    let ring = decrypting(&a.secrets, cfg)?;
    let encrypt_id = a.encrypt_vault_id.as_deref().or(cfg.encrypt_identity.as_deref());
    // The new password: --new-vault-id / --new-vault-password-file, else a prompt. Unlike
    // ansible-vault, the configured password file is not a candidate: it holds the old one.
    let mut vault_ids = if encrypt_id.is_some() { cfg.identity_list.clone() } else { Vec::new() };
    vault_ids.extend(a.new_vault_id.iter().cloned());
    let new_request = Request {
        vault_ids,
        password_files: a.new_vault_password_file.iter().cloned().collect(),
        ask: a.secrets.passwords.ask_vault_pass,
        auto_prompt: true,
    };
    let new_cfg = VaultConfig { password_file: None, ask_vault_pass: false, ..cfg.clone() };
    let new_ring = load(&new_request, &new_cfg, Purpose::Encrypt)?;
    let new_secret = match encrypt_id {
        Some(id) => new_ring.encrypt_secret(Some(id))?,
        None => new_ring.secrets().first().ok_or(PasswordError::NoPassword)?,
    };
    let mut results = Vec::new();
    for path in &a.files {
        let input = Stream::File(path.clone());
        let data = input.read()?;
        let origin = input.origin();
        let plain = ring.decrypt(&data, &origin)?.plaintext;
        results.push((input, seal(&plain, new_secret, new_secret.id(), cfg, &origin)?));
    }
    for (out, text) in results {
        out.write(text.as_bytes(), Mode::Keep)?;
    }
    eprintln!("Rekey successful");
    Ok(())
}

/// One string to encrypt: its bytes, where it came from, its variable name.
struct Plain {
    text: Zeroizing<Vec<u8>>,
    from: &'static str,
    name: Option<String>,
}

fn encrypt_string(a: &VaultEncryptStringArgs, cfg: &VaultConfig) -> Result<()> {
    let read_stdin =
        a.strings.iter().any(|s| s == "-") || a.stdin_name.is_some() || (a.strings.is_empty() && !a.prompt);
    if a.prompt && read_stdin {
        return Err(OrcError::Usage(
            "--prompt cannot be used while reading the string from standard input (- or --stdin-name)".into(),
        ));
    }
    let secret = encrypting(&a.secrets, a.encrypt_vault_id.as_deref(), cfg)?;
    let mut plains = Vec::new();
    if a.prompt {
        plains.push(prompted(a.show_input)?);
    }
    if read_stdin {
        if stdout_is_terminal() {
            eprintln!("Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)");
        }
        let text = Stream::Std.read()?;
        if text.is_empty() {
            return Err(OrcError::Usage("standard input was empty: nothing to encrypt".into()));
        }
        if stdout_is_terminal() && !text.ends_with(b"\n") {
            println!();
        }
        plains.push(Plain { text, from: "stdin", name: a.stdin_name.clone() });
    }
    let args: Vec<&String> = a.strings.iter().filter(|s| *s != "-").collect();
    if !a.names.is_empty() && args.len() > a.names.len() {
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            a.names.last().map(String::as_str).unwrap_or_default()
        );
    }
    for (i, s) in args.iter().enumerate() {
        if s.is_empty() {
            return Err(OrcError::Usage("an empty STRING was given: nothing to encrypt".into()));
        }
        let text = Zeroizing::new(s.as_bytes().to_vec());
        plains.push(Plain { text, from: "the command line args", name: a.names.get(i).cloned() });
    }
    let several = plains.len() > 1;
    let mut outs = Vec::new();
    for (i, p) in plains.iter().enumerate() {
        let origin = Origin { path: format!("the string #{} from {}", i + 1, p.from), line: None };
        let text = seal(&p.text, &secret, secret.id(), cfg, &origin)?;
        if several {
            match &p.name {
                Some(n) => {
                    eprintln!("# The encrypted version of variable (\"{n}\", the string #{} from {}).", i + 1, p.from)
                }
                None => eprintln!("# The encrypted version of the string #{} from {}.", i + 1, p.from),
            }
        }
        outs.push(yaml_value(&text, p.name.as_deref()));
    }
    outs.push(String::new());
    let out = a.output.as_deref().map(Stream::from_path).unwrap_or(Stream::Std);
    out.write(outs.join("\n").as_bytes(), Mode::Private)?;
    if stdout_is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(())
}

/// `--prompt`: the variable name (echoed) and the string (hidden unless `show`).
fn prompted(show: bool) -> Result<Plain> {
    if !super::has_terminal() {
        return Err(OrcError::Usage("--prompt needs a terminal to ask for the string".into()));
    }
    let fail = |e: std::io::Error| OrcError::Usage(format!("could not read from the terminal: {e}"));
    let name = ask_visible("Variable name (enter for no name): ").map_err(fail)?;
    let text = if show {
        ask_visible("String to encrypt:").map_err(fail)?
    } else {
        TerminalPrompter.ask_hidden("String to encrypt (hidden): ").map_err(fail)?
    };
    if text.is_empty() {
        return Err(OrcError::Usage("the string typed at the prompt is empty: nothing to encrypt".into()));
    }
    let name = Some(name.to_string()).filter(|n| !n.is_empty());
    Ok(Plain { text: Zeroizing::new(text.as_bytes().to_vec()), from: "the interactive prompt", name })
}

/// The `!vault |` block ansible-vault prints: `NAME: !vault |` (or `!vault |`), then the vault
/// text indented by 10 spaces.
fn yaml_value(vault_text: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(n) => format!("{n}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(vault_text.lines().map(|l| format!("{:10}{l}", "")));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_values_are_shaped_as_ansible_vaults() {
        let v = yaml_value("$ANSIBLE_VAULT;1.1;AES256\n6162\n", Some("db_password"));
        assert_eq!(v, "db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          6162");
        assert!(yaml_value("$ANSIBLE_VAULT;1.1;AES256\n", None).starts_with("!vault |\n"));
    }
}
