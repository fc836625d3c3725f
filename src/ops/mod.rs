//! Operations under the thin CLI: each takes parsed arguments and returns the exit code.

mod adhoc;
mod doc;
mod embedded;
mod extra_vars;
mod inventory_cmd;
mod play_cmd;
mod playbooks_cmd;
mod terminal;
mod vault;

pub use adhoc::run;
pub use doc::doc;
pub use inventory_cmd::inventory;
pub use play_cmd::play;
pub use playbooks_cmd::playbooks;
pub use vault::vault;

use std::io::IsTerminal;

use crate::cli::{CommonArgs, OutputFormat};
use crate::error::Result;
use crate::executor::{Options, TagFilter};
use crate::inventory::Inventory;
use crate::output::EventSink;

/// Loads the inventory sources, or the implicit localhost when none is given.
pub(crate) fn load_inventory(sources: &[std::path::PathBuf]) -> Result<Inventory> {
    if sources.is_empty() {
        Ok(Inventory::implicit_localhost())
    } else {
        Inventory::load(sources)
    }
}

/// Reads the vault passwords the flags and the environment name, once, and gives them to the
/// loaders (src/secrets/run_keyring.rs). Without any, nothing is asked: vault data is then an
/// error only where it is needed (docs/vault.md).
pub(crate) fn vault_passwords(c: &CommonArgs) -> Result<()> {
    let cfg = crate::vault::VaultConfig::from_env();
    let request = vault::request(&c.vault, &cfg, false);
    let mut prompter = terminal::TerminalPrompter;
    let loaded = crate::vault::load(
        &request,
        &cfg,
        crate::vault::Purpose::Decrypt,
        &mut prompter as &mut dyn crate::vault::Prompter,
    )?;
    for w in &loaded.warnings {
        eprintln!("[WARNING]: {w}");
    }
    if !loaded.keyring.is_empty() {
        crate::secrets::install_keyring(loaded.keyring);
    }
    Ok(())
}

/// Builds run options from the shared flags (the vault passwords first: `-e @file` may be
/// encrypted).
pub(crate) fn options(c: &CommonArgs, tags: TagFilter, start_at_task: Option<String>) -> Result<Options> {
    Ok(Options {
        check: c.check,
        diff: c.diff,
        forks: c.forks.max(1),
        tags,
        extra_vars: extra_vars::parse_all(&c.extra_vars)?,
        limit: c.limit.clone(),
        start_at_task,
        syntax_check: false,
        r#become: if c.r#become { Some(true) } else { None },
        become_user: c.become_user.clone(),
        connection_defaults: connection_defaults(c)?,
        connection: c.connection.clone(),
        verbosity: c.verbose,
        connect: connect_options(c)?,
    })
}

/// The connection variables the flags give, for hosts whose inventory sets none.
fn connection_defaults(c: &CommonArgs) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut m = serde_json::Map::new();
    if let Some(u) = &c.user {
        m.insert("ansible_user".into(), Value::String(u.clone()));
    }
    if let Some(k) = &c.private_key {
        if !k.is_file() {
            return Err(crate::error::OrcError::Usage(format!("--private-key {}: no such file", k.display())));
        }
        m.insert("ansible_ssh_private_key_file".into(), Value::String(k.display().to_string()));
    }
    if let Some(method) = &c.become_method {
        if !matches!(method.as_str(), "sudo" | "su" | "ansible.builtin.sudo" | "ansible.builtin.su") {
            return Err(crate::error::OrcError::Usage(format!(
                "--become-method {method} is not supported; orc supports sudo and su"
            )));
        }
        m.insert("ansible_become_method".into(), Value::String(method.clone()));
    }
    if let Some(a) = &c.ssh_common_args {
        m.insert("ansible_ssh_common_args".into(), Value::String(a.clone()));
    }
    if let Some(a) = &c.ssh_extra_args {
        m.insert("ansible_ssh_extra_args".into(), Value::String(a.clone()));
    }
    Ok(m)
}

/// `--flush-cache` is accepted for Ansible users' scripts; it has nothing to do in orc, and a
/// note says so.
pub(crate) fn flush_cache_note(c: &CommonArgs) {
    if c.flush_cache {
        eprintln!(
            "[WARNING]: --flush-cache: orc keeps no fact cache (facts are gathered on every run); nothing to flush"
        );
    }
}

/// Whether this process can ask the user something: a terminal it can open.
fn has_terminal() -> bool {
    std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok()
}

/// Reads a password: the first line of `file`, or a prompt on the terminal when `ask` (`flag`
/// names the option, `var` the inventory variable, for the message without a terminal).
fn password(
    ask: bool,
    file: Option<&std::path::Path>,
    flag: &str,
    prompt: &str,
    var: &str,
) -> Result<Option<crate::connection::Secret>> {
    use crate::connection::Secret;
    use crate::error::OrcError;
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| OrcError::Usage(format!("cannot read the password file {}: {e}", f.display())))?;
        let first = text.lines().next().unwrap_or("");
        return Ok(Some(Secret::new(first)));
    }
    if !ask {
        return Ok(None);
    }
    if !has_terminal() {
        return Err(OrcError::Usage(format!(
            "{flag} needs a terminal to ask for the password; set {var} or use a password file ({})",
            if flag.starts_with("-K") { "--become-password-file FILE" } else { "--connection-password-file FILE" }
        )));
    }
    let pw = rpassword::prompt_password(prompt)
        .map_err(|e| OrcError::Usage(format!("could not read the password for {flag}: {e}")))?;
    Ok(Some(Secret::new(pw)))
}

/// Connection options: the environment first, then the flags.
fn connect_options(c: &CommonArgs) -> Result<crate::connection::ConnectOptions> {
    use crate::connection::{ConnectOptions, HostKeyChecking};
    let mut o = ConnectOptions::from_env();
    if let Ok(v) = std::env::var("ORC_HOST_KEY_CHECKING") {
        if HostKeyChecking::parse(&v).is_none() {
            return Err(crate::error::OrcError::Usage(format!(
                "ORC_HOST_KEY_CHECKING={v} is not valid; use strict, accept-new or off"
            )));
        }
    }
    if let Some(m) = c.host_key_checking.as_deref().and_then(HostKeyChecking::parse) {
        o.host_key_checking = m;
    }
    if let Some(t) = c.connect_timeout {
        o.connect_timeout = std::time::Duration::from_secs(t.max(1));
    }
    if let Some(t) = c.task_timeout {
        o.command_timeout = Some(std::time::Duration::from_secs(t.max(1)));
    }
    o.ssh_password = password(
        c.ask_pass,
        c.connection_password_file.as_deref(),
        "-k/--ask-pass",
        "SSH password: ",
        "ansible_password",
    )?;
    if let Some(pw) = password(
        c.ask_become_pass,
        c.become_password_file.as_deref(),
        "-K/--ask-become-pass",
        "BECOME password: ",
        "ansible_become_password",
    )? {
        o.become_password = Some(pw);
    }
    Ok(o)
}

/// The printer the flags ask for, writing to stdout.
pub(crate) fn printer(c: &CommonArgs) -> Box<dyn EventSink> {
    // Everything printed goes through the censor sink (src/secrets/writer.rs).
    let out: Box<dyn std::io::Write + Send> = Box::new(crate::secrets::CensorWriter::new(std::io::stdout()));
    match c.output {
        OutputFormat::Json => Box::new(crate::output::JsonPrinter::new(out)),
        OutputFormat::Human => {
            let color =
                crate::output::HumanPrinter::color_wanted(std::io::stdout().is_terminal(), |k| std::env::var(k).ok());
            let printer = crate::output::HumanPrinter::new(out, color)
                .with_verbosity(c.verbose)
                .with_stderr(Box::new(crate::secrets::CensorWriter::new(std::io::stderr())));
            if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
                // On a terminal, a progress bar shows hosts done while a task runs.
                let progress = Box::new(crate::output::ProgressSink::new());
                Box::new(crate::output::MultiSink::new().with(progress).with(Box::new(printer)))
            } else {
                Box::new(printer)
            }
        }
    }
}
