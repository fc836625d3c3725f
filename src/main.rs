//! The `orc` binary: parse the command line, run the operation, map the result to an exit code.

use clap::Parser;
use orc::cli::{Cli, Command};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 64,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    init_tracing(&cli);
    // A panic is a bug in orc: say so and exit 1 (docs/cli.md, "Exit codes"), not Rust's 101.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!("error: orc hit a bug (a panic); please report it with the command and input that caused it");
        std::process::exit(1);
    }));
    orc::interrupt::install();
    let result = match &cli.command {
        Command::Play(a) => orc::ops::play(a),
        Command::Run(a) => orc::ops::run(a),
        Command::Inventory(a) => orc::ops::inventory(a),
        Command::Doc(a) => orc::ops::doc(a),
        Command::Vault(a) => orc::ops::vault(a),
        Command::Playbooks(a) => orc::ops::playbooks(a),
        Command::Completions(a) => orc::ops::completions(a),
        Command::Man(a) => orc::ops::man(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            // Error reports go through the censor too: a message may quote a secret's line.
            eprint!("{}", orc::secrets::censor(&e.report()));
            if wants_json(&cli) {
                // A consumer of the event stream learns why nothing ran (docs/output-json.md).
                println!("{}", orc::secrets::censor(&orc::output::json::error_json(&e).to_string()));
            }
            e.exit_code()
        }
    };
    if orc::interrupt::interrupted() {
        // What orc had running on the hosts when Ctrl-C came, and that it stopped.
        for line in orc::interrupt::stopped() {
            eprintln!("  {line}");
        }
        eprintln!("[ERROR]: interrupted: exiting with 130");
        std::process::exit(130);
    }
    std::process::exit(code);
}

/// Whether the command asked for `--output json`.
fn wants_json(cli: &Cli) -> bool {
    let output = match &cli.command {
        // The settings decide too; when they cannot be read, that error is the one reported.
        Command::Play(a) => orc::ops::play_output(&a.common, orc::config::Settings::load().ok().as_ref(), false),
        Command::Run(a) => a.common.output.unwrap_or_default(),
        _ => return false,
    };
    output == orc::cli::OutputFormat::Json
}

fn init_tracing(cli: &Cli) {
    let verbose = match &cli.command {
        Command::Play(a) => a.common.verbose,
        Command::Run(a) => a.common.verbose,
        Command::Inventory(_)
        | Command::Doc(_)
        | Command::Vault(_)
        | Command::Playbooks(_)
        | Command::Completions(_)
        | Command::Man(_) => 0,
    };
    let level = if verbose >= 3 { "orc=trace" } else { "orc=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colours only on a terminal: logs piped into files or CI stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // The censor sink (src/secrets/writer.rs): secrets masked, a no_log task's lines hidden.
        .with_writer(|| orc::secrets::CensorWriter::for_trace(std::io::stderr()))
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}
