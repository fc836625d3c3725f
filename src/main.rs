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
    let result = match &cli.command {
        Command::Play(a) => orc::ops::play(a),
        Command::Run(a) => orc::ops::run(a),
        Command::Inventory(a) => orc::ops::inventory(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.report());
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn init_tracing(cli: &Cli) {
    let verbose = match &cli.command {
        Command::Play(a) => a.common.verbose,
        Command::Run(a) => a.common.verbose,
        Command::Inventory(_) => 0,
    };
    let level = if verbose >= 3 { "orc=trace" } else { "orc=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time().try_init();
}
