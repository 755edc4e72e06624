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

/// Declines transparent huge pages for the process, unless mimalloc's own `MIMALLOC_ALLOW_THP`
/// is set: whoever sets it gets what it says. mimalloc marks its arena `MADV_HUGEPAGE`, so the
/// first 4 KiB the allocator touches in a fresh 2 MiB stretch makes all 2 MiB resident: an idle
/// server held 41 MB instead of 27, and one under HS256 load up to 100 MB instead of 78. What
/// huge pages save in page-table walks came to about 3 µs of CPU per token (`bench/pair.sh`,
/// README), which memory outweighs. The kernel checks the flag at each page fault, so it holds
/// for memory mapped before this call as well; only what was already touched keeps its huge
/// pages.
pub fn decline_transparent_huge_pages() {
    decline_unless_kept(std::env::var_os("MIMALLOC_ALLOW_THP").is_some());
}

fn decline_unless_kept(kept_by_user: bool) {
    if kept_by_user {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let (disable, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
        // SAFETY: PR_SET_THP_DISABLE reads only its integer arguments. A kernel without it
        // (before 3.15) refuses, and the server runs as before.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, disable, unused, unused, unused) };
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::decline_unless_kept;

    fn huge_pages_declined() -> bool {
        let unused: libc::c_ulong = 0;
        // SAFETY: PR_GET_THP_DISABLE reads only its integer arguments and returns the flag.
        unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, unused, unused, unused, unused) == 1 }
    }

    #[test]
    fn the_server_process_declines_transparent_huge_pages_unless_told_to_keep_them() {
        if huge_pages_declined() {
            // Inherited from whoever started the tests: nothing here can show the call works.
            panic!("transparent huge pages were already declined before the test ran");
        }
        decline_unless_kept(true);
        assert!(
            !huge_pages_declined(),
            "MIMALLOC_ALLOW_THP must leave them as they are"
        );
        decline_unless_kept(false);
        assert!(huge_pages_declined());
    }
}
