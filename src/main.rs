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
    // A panic is a bug in orc: say so and exit 1 (DESIGN.md), not Rust's 101.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!("error: orc hit a bug (a panic); please report it with the command and input that caused it");
        std::process::exit(1);
    }));
    exit_130_on_interrupt();
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

/// Ctrl-C ends the run at once with exit code 130 (DESIGN.md). Hosts keep whatever finished: every
/// write is an atomic rename, so an interrupted run leaves no half-written file.
fn exit_130_on_interrupt() {
    extern "C" fn on_sigint(_: libc::c_int) {
        const MSG: &[u8] = b"\n[ERROR]: User interrupted execution\n";
        // Only async-signal-safe calls here: write(2) and _exit(2).
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(130);
        }
    }
    // SAFETY: installs a handler that only performs async-signal-safe calls.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_sigint as *const () as libc::sighandler_t);
    }
}
