//! Operations under the thin CLI: each takes parsed arguments and returns the exit code.

mod adhoc;
mod doc;
mod embedded;
mod extra_vars;
mod inventory_cmd;
mod plan_file;
mod play_cmd;
mod playbooks_cmd;
mod prompt;
mod reports;
mod shell_cmd;
mod terminal;
mod vault;

pub use adhoc::run;
pub use doc::doc;
pub use inventory_cmd::inventory;
pub use play_cmd::play;
pub use playbooks_cmd::playbooks;
pub use shell_cmd::{completions, man};
pub use vault::vault;

use std::io::IsTerminal;

use crate::cli::{CommonArgs, OutputFormat};
use crate::config::Settings;
use crate::error::Result;
use crate::executor::{Options, TagFilter};
use crate::inventory::Inventory;
use crate::output::EventSink;

/// orc's default for `--forks` when neither the command line nor the settings give one.
const DEFAULT_FORKS: usize = 50;

/// Loads ansible.cfg and the ANSIBLE_* variables, shows their warnings, and installs the roles
/// path for role lookups, the `hash_behaviour` for variable merges and the inventory plugins'
/// order for host lists: the first step of every command that reads playbooks or inventories.
pub(crate) fn settings() -> Result<Settings> {
    let s = Settings::load()?;
    for w in &s.warnings {
        eprintln!("[WARNING]: {w}");
    }
    crate::config::install_roles_path(s.roles_path.clone());
    crate::config::install_collections_path(s.collections_path.clone());
    crate::vars::install_hash_behaviour(s.hash_merge);
    crate::config::install_private_role_vars(s.private_role_vars);
    crate::config::install_source(&s);
    if let Some(enabled) = &s.inventory_enabled {
        crate::inventory::install_enabled_plugins(enabled);
    }
    Ok(s)
}

/// Loads the inventory: the `-i` sources, else the settings' (`inventory` in ansible.cfg,
/// ANSIBLE_INVENTORY), else /etc/ansible/hosts when it exists, else the implicit localhost.
/// A `-i` source that does not exist is left out with Ansible's warning (with none left: the
/// implicit localhost), as ansible-playbook does.
pub(crate) fn load_inventory(sources: &[std::path::PathBuf], settings: &Settings) -> Result<Inventory> {
    if !sources.is_empty() {
        let (found, missing): (Vec<_>, Vec<_>) = sources.iter().cloned().partition(|s| Inventory::source_exists(s));
        for m in &missing {
            let shown = std::path::absolute(m).unwrap_or_else(|_| m.clone());
            eprintln!("[WARNING]: Unable to parse {} as an inventory source", shown.display());
        }
        if found.is_empty() {
            eprintln!("[WARNING]: No inventory was parsed, only implicit localhost is available");
            return Ok(Inventory::implicit_localhost());
        }
        return Inventory::load(&found);
    }
    if let Some(configured) = settings.inventory.as_ref().filter(|c| !c.is_empty()) {
        // Ansible warns and runs with no hosts; a source that is not there is a mistake to show.
        if let Some(missing) = configured.iter().find(|p| !p.exists()) {
            let origin = settings.inventory_origin.as_deref().unwrap_or("the settings");
            return Err(crate::error::OrcError::input(format!(
                "inventory source {} (from {origin}) does not exist",
                missing.display()
            ))
            .help(format!("fix {origin}, or give -i")));
        }
        return Inventory::load(configured);
    }
    let default = std::path::Path::new(crate::config::DEFAULT_INVENTORY);
    if default.exists() {
        return Inventory::load(&[default.to_path_buf()]);
    }
    Ok(Inventory::implicit_localhost())
}

/// Reads the vault passwords the flags and the environment name, once, and gives them to the
/// loaders (src/secrets/run_keyring.rs). Without any, nothing is asked: vault data is then an
/// error only where it is needed (docs/vault.md).
pub(crate) fn vault_passwords(flags: &crate::cli::VaultPasswordArgs, settings: &Settings) -> Result<()> {
    // ANSIBLE_VAULT_* over ansible.cfg's vault keys, as Ansible reads them.
    let cfg = crate::vault::VaultConfig::resolve(|k| std::env::var(k).ok(), |k| settings.vault_ini(k));
    let request = vault::request(flags, &cfg, false);
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

/// Builds run options from the shared flags, then the settings (command line first).
pub(crate) fn options(
    c: &CommonArgs,
    tags: TagFilter,
    start_at_task: Option<String>,
    settings: &Settings,
) -> Result<Options> {
    Ok(Options {
        check: c.check,
        diff: c.diff,
        forks: c.forks.or(settings.forks).unwrap_or(DEFAULT_FORKS).max(1),
        tags,
        extra_vars: extra_vars::parse_all(&c.extra_vars)?,
        limit: c.limit.clone(),
        start_at_task,
        syntax_check: false,
        r#become: if c.r#become || settings.r#become { Some(true) } else { None },
        become_user: c.become_user.clone().or_else(|| settings.become_user.clone()),
        connection_defaults: connection_defaults(c, settings)?,
        connection: c.connection.clone(),
        verbosity: c.verbose,
        connect: connect_options(c, settings)?,
        gathering: settings.gathering,
        exclude_hosts: Vec::new(),
        missing_handler_warns: !settings.error_on_missing_handler,
        fact_cache: None,
    })
}

/// The connection variables the flags (else the settings) give, for hosts whose inventory sets
/// none.
fn connection_defaults(c: &CommonArgs, settings: &Settings) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut m = serde_json::Map::new();
    if let Some(u) = c.user.as_ref().or(settings.remote_user.as_ref()) {
        m.insert("ansible_user".into(), Value::String(u.clone()));
    }
    if let Some(k) = &c.private_key {
        if !k.is_file() {
            return Err(crate::error::OrcError::Usage(format!("--private-key {}: no such file", k.display())));
        }
        m.insert("ansible_ssh_private_key_file".into(), Value::String(k.display().to_string()));
    } else if let Some(k) = &settings.private_key_file {
        m.insert("ansible_ssh_private_key_file".into(), Value::String(k.display().to_string()));
    }
    if let Some(method) = c.become_method.as_ref().or(settings.become_method.as_ref()) {
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

/// The run's fact cache (docs/config.md, "The fact cache"): the jsonfile cache the settings name,
/// emptied for every inventory host with `--flush-cache` before anything runs, as
/// ansible-playbook's `_flush_cache`. A cache that cannot be used is a warning, and the run keeps
/// its facts for itself (Ansible falls back to the memory plugin the same way).
pub(crate) fn fact_cache(
    c: &CommonArgs,
    settings: &Settings,
    inventory: &crate::inventory::Inventory,
    sink: &dyn crate::output::EventSink,
) -> Option<std::sync::Arc<crate::executor::fact_cache::FactCache>> {
    let cache = match crate::executor::fact_cache::from_settings(settings) {
        Ok(cache) => cache,
        Err(warning) => {
            sink.emit(&crate::output::Event::Warning(warning));
            None
        }
    };
    if let (Some(cache), true) = (&cache, c.flush_cache) {
        for host in inventory.hosts() {
            cache.delete(&host);
        }
    }
    cache.map(std::sync::Arc::new)
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
    let pw = terminal::ask_hidden(prompt)
        .map_err(|e| OrcError::Usage(format!("could not read the password for {flag}: {e}")))?;
    Ok(Some(Secret::new(pw.to_string())))
}

/// Connection options: the flags, then ORC_HOST_KEY_CHECKING, then the settings.
fn connect_options(c: &CommonArgs, settings: &Settings) -> Result<crate::connection::ConnectOptions> {
    use crate::connection::{ConnectOptions, HostKeyChecking};
    let mut o = ConnectOptions::default();
    let orc_mode = match std::env::var("ORC_HOST_KEY_CHECKING") {
        Ok(v) => Some(HostKeyChecking::parse(&v).ok_or_else(|| {
            crate::error::OrcError::Usage(format!(
                "ORC_HOST_KEY_CHECKING={v} is not valid; use strict, accept-new or off"
            ))
        })?),
        Err(_) => None,
    };
    let from_settings =
        settings.host_key_checking.map(|on| if on { HostKeyChecking::Strict } else { HostKeyChecking::Off });
    o.host_key_checking = c
        .host_key_checking
        .as_deref()
        .and_then(HostKeyChecking::parse)
        .or(orc_mode)
        .or(from_settings)
        .unwrap_or_default();
    if let Some(t) = c.connect_timeout.or(settings.timeout) {
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

/// The output format of `orc play`: `--output`, else the settings' `stdout_callback` (default
/// and json are orc's; any other callback prints orc's default output, with a warning when
/// `warn`), else human.
pub fn play_output(c: &CommonArgs, settings: Option<&Settings>, warn: bool) -> OutputFormat {
    if let Some(o) = c.output {
        return o;
    }
    match settings.and_then(|s| s.stdout_callback.as_deref()) {
        None | Some("default" | "ansible.builtin.default") => OutputFormat::Human,
        Some("json" | "ansible.posix.json") => OutputFormat::Json,
        Some(other) => {
            if warn {
                eprintln!(
                    "[WARNING]: stdout_callback '{other}' is not available in orc: using its default output \
                     (orc has default and json)"
                );
            }
            OutputFormat::Human
        }
    }
}

/// Prints "Using FILE as config file" with -v, as ansible-playbook does (human output only).
pub(crate) fn say_config_file(c: &CommonArgs, format: OutputFormat, settings: &Settings) {
    if c.verbose >= 1 && format == OutputFormat::Human {
        match &settings.config_file {
            Some(p) => println!("Using {} as config file", p.display()),
            None => println!("No config file found; using defaults"),
        }
    }
}

/// The printer for `format`, writing to stdout.
pub(crate) fn printer(c: &CommonArgs, format: OutputFormat) -> Box<dyn EventSink> {
    // Everything printed goes through the censor sink (src/secrets/writer.rs).
    let out: Box<dyn std::io::Write + Send> = Box::new(crate::secrets::CensorWriter::new(std::io::stdout()));
    match format {
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
