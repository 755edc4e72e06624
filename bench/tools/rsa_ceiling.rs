//! The ceiling of `bench/load.sh` on this machine: an HTTP server that does, per request, only
//! what no Private Key JWT token server can skip — read a form over HTTP/1.1, verify the
//! assertion's RS256 signature, sign an access token, answer JSON — and nothing else: no claim
//! checks, no client lookup, no replay record, no audit event.
//!
//! The RSA bound assumes both cores do nothing but RSA. The load generator shares those cores,
//! and the HTTP exchange over loopback TCP costs both sides kernel time, so even this server
//! stays below the bound; its figure is the most any server could show with the same harness,
//! and signet's figure is best read against both.
//!
//! Run: `cargo run --release --example rsa_ceiling -- --listen 127.0.0.1:8099 --public-key key.pub.pem`
//! (`bench/load.sh` runs it after signet with the same wrk script, assertions and connections,
//! unless given `--no-ceiling`.)
//!
//! `POST /oauth/token` answers 200 with a token when the signature verifies, 401 otherwise;
//! `GET /healthz` answers 200.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use signet::crypto::jwt::{Compact, b64url_decode};
use signet::crypto::public_key::parse_public_key_pem;
use signet::crypto::signing::SigningKey;

// The same allocator as the server's, so that the two differ only in what they do per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "HTTP server doing only one RSA verify and one RSA sign per token request")]
struct Args {
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// The public key (PEM) the load test's assertions are signed for.
    #[arg(long)]
    public_key: PathBuf,
}

struct Keys {
    assertion_key: ParsedPublicKey,
    token_key: SigningKey,
}

async fn token(State(keys): State<Arc<Keys>>, body: Bytes) -> Response {
    let assertion = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "client_assertion")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let verified = Compact::split(&assertion).is_some_and(|jws| {
        b64url_decode(jws.signature).is_some_and(|signature| {
            keys.assertion_key
                .verify_sig(jws.signing_input.as_bytes(), &signature)
                .is_ok()
        })
    });
    if !verified {
        return (StatusCode::UNAUTHORIZED, "{\"error\":\"invalid_client\"}").into_response();
    }
    // About the size of signet's access token claims.
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1/",
        "sub": "ceiling@clients",
        "aud": "https://load-test.signet.example/",
        "iat": 1_800_000_000,
        "exp": 1_800_086_400,
        "scope": "read:load",
        "gty": "client-credentials",
        "azp": "ceiling",
        "jti": "0123456789abcdef0123456789abcdef",
    });
    let body = serde_json::json!({
        "access_token": keys.token_key.sign_jwt(&claims),
        "token_type": "Bearer",
        "expires_in": 86_400,
    });
    axum::Json(body).into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pem = std::fs::read_to_string(&args.public_key)
        .with_context(|| format!("cannot read {}", args.public_key.display()))?;
    let public = parse_public_key_pem(&pem).context("the public key")?;
    let keys = Arc::new(Keys {
        assertion_key: ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public.verifier_bytes)
            .map_err(|_| anyhow::anyhow!("aws-lc-rs refused the public key"))?,
        token_key: SigningKey::generate()
            .context("generating the token signing key")?
            .0,
    });
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    axum::serve(listener, router).await?;
    Ok(())
}
