//! Gets an access token with Private Key JWT, twice, to show the cache at work.
//!
//! ```sh
//! cargo run -p signet-client --example fetch_token -- \
//!   http://127.0.0.1:8080/ "$APP_ID" keys/private_key.pem https://reports.example.com/
//! ```
//!
//! Arguments: issuer, client id, private key file (RSA, EC or Ed25519 PEM), audience, and
//! optionally the token endpoint (skips discovery).

use std::process::ExitCode;
use std::time::Instant;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [issuer, client_id, key_file, audience, rest @ ..] = args.as_slice() else {
        eprintln!("usage: fetch_token ISSUER CLIENT_ID KEY_FILE AUDIENCE [TOKEN_ENDPOINT]");
        return ExitCode::from(2);
    };
    let pem = match std::fs::read_to_string(key_file) {
        Ok(pem) => pem,
        Err(e) => {
            eprintln!("cannot read {key_file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = signet_client::Client::builder(issuer.as_str(), client_id.as_str(), pem);
    if let Some(endpoint) = rest.first() {
        builder = builder.token_endpoint(endpoint.as_str());
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };

    for attempt in 1..=2 {
        let started = Instant::now();
        match client.token(audience).await {
            Ok(token) => println!(
                "call {attempt}: {} token, scope {:?}, expires in {} s, took {:?}; first 20 chars: {}…",
                token.token_type(),
                token.scope().unwrap_or(""),
                token.expires_in().unwrap_or_default().as_secs(),
                started.elapsed(),
                &token.as_str()[..token.as_str().len().min(20)],
            ),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
