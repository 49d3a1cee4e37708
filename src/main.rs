use std::process::ExitCode;

use clap::Parser;
use mlpc::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(&cli);
    ExitCode::from(outcome.exit_code(cli.deny_warnings))
}
