//! Operations under the thin CLI: each takes parsed arguments and returns the exit code.

mod adhoc;
mod embedded;
mod extra_vars;
mod inventory_cmd;
mod play_cmd;

pub use adhoc::run;
pub use inventory_cmd::inventory;
pub use play_cmd::play;

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

/// Builds run options from the shared flags.
pub(crate) fn options(c: &CommonArgs, tags: TagFilter, start_at_task: Option<String>) -> Result<Options> {
    Ok(Options {
        check: c.check,
        diff: c.diff,
        forks: c.forks.max(1),
        tags,
        extra_vars: extra_vars::parse_all(&c.extra_vars)?,
        limit: c.limit.clone(),
        start_at_task,
        r#become: if c.r#become { Some(true) } else { None },
        become_user: c.become_user.clone(),
        user: c.user.clone(),
        connection: c.connection.clone(),
        verbosity: c.verbose,
        connect: connect_options(c)?,
    })
}

/// Connection options: the environment first, then the flags.
fn connect_options(c: &CommonArgs) -> Result<crate::connection::ConnectOptions> {
    use crate::connection::{ConnectOptions, HostKeyChecking, Secret};
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
    if c.ask_become_pass {
        let pw = rpassword::prompt_password("BECOME password: ")
            .map_err(|e| crate::error::OrcError::Usage(format!("could not read the become password: {e}")))?;
        o.become_password = Some(Secret::new(pw));
    }
    Ok(o)
}

/// The printer the flags ask for, writing to stdout.
pub(crate) fn printer(c: &CommonArgs) -> Box<dyn EventSink> {
    let out: Box<dyn std::io::Write + Send> = Box::new(std::io::stdout());
    match c.output {
        OutputFormat::Json => Box::new(crate::output::JsonPrinter::new(out)),
        OutputFormat::Human => {
            let color =
                crate::output::HumanPrinter::color_wanted(std::io::stdout().is_terminal(), |k| std::env::var(k).ok());
            let printer = crate::output::HumanPrinter::new(out, color)
                .with_verbosity(c.verbose)
                .with_stderr(Box::new(std::io::stderr()));
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
