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
    let signer = signer(&args)?;
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
        "presign: {} {} assertions for {} in {:.1} s on {threads} threads -> {} (valid until {})",
        args.count,
        args.alg,
        args.client_id,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        now + args.lifetime,
    );
    Ok(())
}
