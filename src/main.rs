use clap::Parser;
use signet::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => signet::cli::serve::run(args),
        Command::Keygen(args) => signet::cli::keygen::run(args),
        Command::Assertion(args) => signet::cli::assertion::run(args),
        Command::Token(args) => signet::cli::token::run(args),
    }
}
