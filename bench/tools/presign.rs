//! Pre-signs Private Key JWT client assertions (RFC 7523) for load tests, one per line, so the
//! load generator spends no CPU on RSA and each request carries a fresh `jti` (the server
//! accepts every `jti` once, BEHAVIOUR B.6).
//!
//! Run: `cargo run --release --example presign -- --issuer http://127.0.0.1:8080/ \
//!        --client-id ID --key key.pkcs8.pem --count 50000 --out assertions.txt [--alg RS256]`
//!
//! Each assertion: header `{"alg":…,"typ":"JWT"}` (no `kid`: the server tries the client's
//! credentials, BEHAVIOUR B.5), `iss` = `sub` = the client id, `aud` = the issuer, `iat` = now,
//! `exp` = now + `--lifetime` (290 s by default, under the 300 s limit of BEHAVIOUR A.6), and a
//! random `jti` (signet-client's `AssertionSigner`, as `signet assertion` makes them). Use the
//! file within that lifetime. Signing runs on every core.
//!
//! With `--platform-issuer URL --subject SUB`, it writes workload platform tokens instead, for a
//! federated credential (BEHAVIOUR B.13): shaped like GitHub Actions' OIDC tokens (`iss` the
//! platform, `sub`, `aud` = `--issuer`, a random `jti`, the repository and ref claims), RS256
//! with header `kid` `--kid`; the load test then sends them with `client_id`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use signet_client::{Alg, AssertionSigner, Kid, PrivateKey};

#[derive(Parser)]
#[command(about = "Write N pre-signed Private Key JWT client assertions, one per line")]
struct Args {
    /// The tenant issuer, e.g. `http://127.0.0.1:8080/`; the assertions' `aud`, exactly.
    #[arg(long)]
    issuer: String,
    /// The application's client id: `iss` and `sub`.
    #[arg(long)]
    client_id: String,
    /// The application's RSA private key, PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1.
    #[arg(long)]
    key: PathBuf,
    /// How many assertions to write.
    #[arg(long)]
    count: usize,
    /// Output file, one assertion per line.
    #[arg(long)]
    out: PathBuf,
    /// Signature algorithm; must be the credential's `alg`.
    #[arg(long, default_value = "RS256", value_parser = parse_alg)]
    alg: Alg,
    /// `exp - iat`, in seconds (the server refuses more than 300).
    #[arg(long, default_value_t = 290)]
    lifetime: u64,
    /// Signing threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Write platform tokens of this issuer instead of client assertions (RSA keys, RS256).
    #[arg(long, requires = "subject")]
    platform_issuer: Option<String>,
    /// The platform tokens' `sub`.
    #[arg(long)]
    subject: Option<String>,
    /// The platform tokens' header `kid`. A thumbprint is base64url and begins with `-` one
    /// time in 64 (as `signet keygen` makes them): taken as a value.
    #[arg(long, default_value = "platform-key-1", allow_hyphen_values = true)]
    kid: String,
}

/// Signs GitHub-Actions-shaped tokens of `--platform-issuer` with the RSA key.
struct PlatformSigner {
    pair: aws_lc_rs::rsa::KeyPair,
    header: String,
    issuer: String,
    subject: String,
    audience: String,
    lifetime: u64,
}

impl PlatformSigner {
    fn new(args: &Args, issuer: &str, subject: &str) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(&args.key)
            .with_context(|| format!("reading {}", args.key.display()))?;
        let der = pem::parse(&text).with_context(|| args.key.display().to_string())?;
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der.contents())
            .map_err(|e| anyhow::anyhow!("{}: not a PKCS#8 RSA key ({e})", args.key.display()))?;
        Ok(Self {
            pair,
            header: b64(
                &serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": args.kid}).to_string(),
            ),
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            audience: args.issuer.clone(),
            lifetime: args.lifetime,
        })
    }

    fn sign_at(&self, now: u64) -> anyhow::Result<String> {
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let claims = serde_json::json!({
            "iss": self.issuer, "sub": self.subject, "aud": self.audience,
            "jti": signet::crypto::jwt::b64url(&jti), "iat": now, "nbf": now, "exp": now + self.lifetime,
            "ref": "refs/heads/main", "repository": "load/test", "repository_id": "1000001",
            "repository_owner": "load", "repository_owner_id": "1000000",
            "event_name": "push", "ref_type": "branch", "runner_environment": "github-hosted",
        });
        let input = format!("{}.{}", self.header, b64(&claims.to_string()));
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| anyhow::anyhow!("signing failed"))?;
        Ok(format!("{input}.{}", signet::crypto::jwt::b64url(&sig)))
    }
}

fn b64(text: &str) -> String {
    signet::crypto::jwt::b64url(text.as_bytes())
}

/// Either kind of token the file holds.
enum Signer {
    Assertion(AssertionSigner),
    Platform(PlatformSigner),
}

impl Signer {
    fn sign_at(&self, now: u64) -> anyhow::Result<String> {
        match self {
            Self::Assertion(s) => Ok(s.sign_at(now)?),
            Self::Platform(s) => s.sign_at(now),
        }
    }
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

/// The same signer `signet assertion` and `signet token` use, so the load test measures the
/// assertions real clients send.
fn signer(args: &Args) -> anyhow::Result<AssertionSigner> {
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateKey::from_pem(&text).with_context(|| args.key.display().to_string())?;
    // No kid, as documented above: the load test measures the server trying the credentials.
    Ok(AssertionSigner::new(key, &args.client_id, &args.issuer)?
        .with_kid(Kid::Omit)
        .with_alg(args.alg)?
        .with_lifetime(Duration::from_secs(args.lifetime))?)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("presign: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let signer = match (&args.platform_issuer, &args.subject) {
        (Some(issuer), Some(subject)) => {
            Signer::Platform(PlatformSigner::new(&args, issuer, subject)?)
        }
        _ => Signer::Assertion(signer(&args)?),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, args.count.max(1));
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    let started = Instant::now();
    let per_thread = args.count.div_ceil(threads);
    let chunks: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let signer = &signer;
                let range = (t * per_thread)..((t + 1) * per_thread).min(args.count);
                scope.spawn(move || -> anyhow::Result<Vec<u8>> {
                    let mut out = Vec::with_capacity(range.len() * 700);
                    for _ in range {
                        out.extend_from_slice(signer.sign_at(now)?.as_bytes());
                        out.push(b'\n');
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signing thread panicked"))
            .collect::<anyhow::Result<_>>()
    })?;

    let file =
        File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    for chunk in &chunks {
        out.write_all(chunk)?;
    }
    out.flush()?;
    eprintln!(
        "presign: {} {} {} for {} in {:.1} s on {threads} threads -> {} (valid until {})",
        args.count,
        args.alg,
        if args.platform_issuer.is_some() {
            "platform tokens"
        } else {
            "assertions"
        },
        args.client_id,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        now + args.lifetime,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kid_that_begins_with_a_hyphen_is_taken_as_the_value() {
        let args = Args::try_parse_from([
            "presign",
            "--issuer",
            "http://127.0.0.1/",
            "--client-id",
            "c",
            "--key",
            "key.pem",
            "--count",
            "1",
            "--out",
            "out.txt",
            "--kid",
            "-Ab3_thumbprint",
        ])
        .expect("the kid is a value, not an option");
        assert_eq!(args.kid, "-Ab3_thumbprint");
    }
}
