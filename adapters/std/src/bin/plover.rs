//! The `plover` command: a demo of bounded queues and the durable log, a JSON-lines runner, and
//! tools to inspect a data directory and its dead letters.
//!
//! This file only hands over to `src/cli/`, which owns the subcommands; it keeps no logic.

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
