//! The command line: one file per subcommand.

pub mod serve;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    about = "Auth0-compatible OAuth 2.0 authorization server with Private Key JWT"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authorization server.
    Serve(crate::config::ServeArgs),
}
