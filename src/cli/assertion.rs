//! `signet assertion`: prints one fresh client assertion, for tools that build the token request
//! themselves (curl, Auth0's SDKs with a pre-signed assertion).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::client_args::ClientArgs;

#[derive(Debug, Clone, Args)]
pub struct AssertionArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Seconds from `iat` to `exp`, at most 300 (servers refuse longer-lived assertions).
    #[arg(long, default_value_t = 60)]
    pub lifetime: u64,
}

pub fn run(args: AssertionArgs) -> ExitCode {
    match assertion(&args) {
        Ok(jwt) => {
            println!("{jwt}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signet assertion: {e}");
            ExitCode::FAILURE
        }
    }
}

fn assertion(args: &AssertionArgs) -> Result<String, String> {
    args.client
        .signer()?
        .with_lifetime(Duration::from_secs(args.lifetime))
        .and_then(|s| s.sign())
        .map_err(|e| e.to_string())
}
