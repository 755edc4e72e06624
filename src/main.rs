use clap::Parser;
use signet::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => signet::cli::serve::run(args),
    }
}
