use std::process::ExitCode;

use clap::Parser;
use mlpc::cli::{run, Cli};

/// A compile is a million small allocations, most freed together when the
/// syntax tree goes; glibc's malloc spent a third of a large compile in
/// free-list consolidation there. mimalloc's v2 line returns freed pages to
/// the system after 10 ms, which keeps the peak RSS within the budget.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(&cli);
    ExitCode::from(outcome.exit_code(cli.deny_warnings))
}
