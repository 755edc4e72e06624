//! The command line: one file per subcommand.

pub mod assertion;
pub mod backup;
pub mod client_args;
pub mod key_material;
pub mod keygen;
pub mod openapi;
pub mod serve;
pub mod token;

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
    Serve(Box<crate::config::ServeArgs>),
    /// Make an application's key pair (RSA, EC or Ed25519), its JWKS and optionally a self-signed certificate.
    Keygen(keygen::KeygenArgs),
    /// Print a fresh Private Key JWT client assertion (RFC 7523).
    Assertion(assertion::AssertionArgs),
    /// Get an access token with Private Key JWT and print the server's JSON response.
    Token(token::TokenArgs),
    /// Copy a SQLite database consistently while the server runs (PostgreSQL: use pg_dump).
    Backup(backup::BackupArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (as served at /api/v2/openapi.json).
    Openapi(openapi::OpenApiArgs),
}
