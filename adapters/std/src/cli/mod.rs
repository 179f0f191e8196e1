//! The `plover` subcommands: the command-line grammar (clap), logging and dispatch. Each
//! subcommand returns `anyhow::Result`; an error becomes one line on stderr and exit code 1
//! (bad flags are clap's: exit code 2). Log levels on stderr: error = data lost, warn = retried
//! or degraded, debug = recovery decisions, trace = one line per item; -v raises, -q lowers.

mod common;
mod demo;
mod dlq;
mod inspect;
mod jobs;
mod json;
mod run;

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// plover: events through Ktor-style phases, bounded queues, and a durable log.
#[derive(Debug, Parser)]
#[command(name = "plover", version, propagate_version = true)]
#[command(about = "plover: events through Ktor-style phases, bounded queues and a durable log")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr; no status line or progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A producer, a bounded queue, a slow stage and a consumer, with a live status line.
    Demo(demo::DemoArgs),
    /// Reads JSON lines from files or stdin and passes each through the five phases.
    Run(run::RunArgs),
    /// Shows what a data directory holds: segments, positions, pending records, damage
    /// (read-only: recovery runs on a temporary copy, so a damaged log is left as it is).
    Inspect(inspect::InspectArgs),
    /// Lists or replays the dead letters of a data directory.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Lists dead letters not yet replayed (with --all, every one still stored).
    List(dlq::ListArgs),
    /// Passes dead letters through the pipeline again; those that pass leave the dead letters.
    Replay(dlq::ReplayArgs),
}

/// What the user asked for about output on stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verbosity {
    /// `-q` was given.
    pub(crate) quiet: bool,
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // RUST_LOG, when set, refines the level the flags chose.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Parses the command line, runs the subcommand, and maps the outcome to an exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let verbosity = Verbosity { quiet: cli.quiet };
    let result = match cli.command {
        Command::Demo(args) => demo::run(args, verbosity),
        Command::Run(args) => run::run(args, verbosity),
        Command::Inspect(args) => inspect::run(args),
        Command::Dlq(DlqCommand::List(args)) => dlq::list(args),
        Command::Dlq(DlqCommand::Replay(args)) => dlq::replay(args, verbosity),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("plover: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
