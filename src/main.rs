use clap::Parser;
use signet::cli::{Cli, Command};

// The token endpoint allocates many small, short-lived buffers per request on two threads;
// mimalloc's thread-local free lists make that a fraction of what glibc's malloc costs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // First, so that as few pages as possible are touched before it.
    signet::cli::decline_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => signet::cli::serve::run(*args),
        Command::Keygen(args) => signet::cli::keygen::run(args),
        Command::Assertion(args) => signet::cli::assertion::run(args),
        Command::Token(args) => signet::cli::token::run(args),
        Command::Backup(args) => signet::cli::backup::run(args),
        Command::Openapi(args) => signet::cli::openapi::run(args),
    }
}
