//! `orc completions SHELL` and `orc man`: shell completion scripts and the manual page, both
//! generated from the clap definitions in src/cli.rs, so they list exactly the commands and flags
//! orc parses (tests/shell_integration.rs compares them with clap's model).

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{OrcError, Result};

/// Runs `orc completions`: the completion script for the shell, on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "orc", &mut out);
    write_stdout(&out)?;
    Ok(0)
}

/// Runs `orc man`: one page with every command on stdout, or with `--dir` one page per command.
pub fn man(args: &ManArgs) -> Result<i32> {
    match &args.dir {
        Some(dir) => write_pages(dir)
            .map_err(|e| OrcError::Usage(format!("cannot write man pages into {}: {e}", dir.display())))?,
        None => write_stdout(&man_page().map_err(|e| OrcError::Usage(format!("cannot render the man page: {e}")))?)?,
    }
    Ok(0)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`orc man | head`) is not an error worth reporting.
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(OrcError::Usage(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// The command tree for the pages: clap's `help` subcommands left out (they have no page of their
/// own), and each flag's visible aliases named in its help (clap_mangen shows no aliases).
fn command() -> clap::Command {
    let mut cmd = aliases_in_help(Cli::command().disable_help_subcommand(true));
    cmd.build();
    cmd
}

/// `cmd` with ` (also --ALIAS)` after the help of every flag that has visible long aliases, in
/// every subcommand.
fn aliases_in_help(mut cmd: clap::Command) -> clap::Command {
    let with_aliases: Vec<(clap::Id, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let aliases = a.get_visible_aliases()?;
            let names: Vec<String> = aliases.iter().map(|n| format!("--{n}")).collect();
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            Some((a.get_id().clone(), format!("{} (also {})", help.trim_end_matches('.'), names.join(", "))))
        })
        .collect();
    for (id, help) in with_aliases {
        cmd = cmd.mut_arg(id, |a| a.help(help));
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, aliases_in_help);
    }
    cmd
}

fn write_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(command(), dir)
}

/// orc.1 with every command: clap_mangen's page of `orc`, then a COMMANDS section in which each
/// command (`orc play`, `orc vault`, `orc vault create`...), in order, has its description,
/// synopsis and options, as its own page would have them.
fn man_page() -> std::io::Result<Vec<u8>> {
    let cmd = command();
    let top = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH COMMANDS\n");
    let mut stack: Vec<clap::Command> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned().collect();
    stack.reverse();
    while let Some(sub) = stack.pop() {
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name()).to_string();
        let page = clap_mangen::Man::new(sub.clone());
        writeln!(out, ".SS \"{}\"", name.replace('"', ""))?;
        let mut section = Vec::new();
        page.render_description_section(&mut section)?;
        page.render_synopsis_section(&mut section)?;
        page.render_options_section(&mut section)?;
        // The sections of a page become paragraphs of this command's subsection.
        for line in String::from_utf8_lossy(&section).lines() {
            if PREAMBLE.contains(&line) {
                continue;
            }
            match line.strip_prefix(".SH ") {
                Some("DESCRIPTION") => {}
                Some(heading) => {
                    let heading = heading.trim_matches('"').to_lowercase();
                    let mut chars = heading.chars();
                    let first = chars.next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
                    writeln!(out, ".PP\n\\fB{first}{}:\\fR\n.br", chars.as_str())?
                }
                None => writeln!(out, "{line}")?,
            }
        }
        let mut children: Vec<clap::Command> = sub.get_subcommands().filter(|c| !c.is_hide_set()).cloned().collect();
        children.reverse();
        stack.extend(children);
    }
    top.render_version_section(&mut out)?;
    // clap_mangen starts every section with the same two lines defining `\*(Aq`: once is enough.
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut page = String::with_capacity(text.len());
    for (n, line) in text.lines().enumerate() {
        if n >= PREAMBLE.len() && PREAMBLE.contains(&line) {
            continue;
        }
        page.push_str(line);
        page.push('\n');
    }
    Ok(page.into_bytes())
}

/// What clap_mangen writes before each section.
const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
