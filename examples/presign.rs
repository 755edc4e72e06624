//! Pre-signs Private Key JWT client assertions (RFC 7523) for load tests, one per line, so the
//! load generator spends no CPU on RSA and each request carries a fresh `jti` (the server
//! accepts every `jti` once, SPEC B.6).
//!
//! Run: `cargo run --release --example presign -- --issuer http://127.0.0.1:8080/ \
//!        --client-id ID --key key.pkcs8.pem --count 50000 --out assertions.txt [--alg RS256]`
//!
//! Each assertion: header `{"alg":…,"typ":"JWT"}` (no `kid`: the server tries the client's
//! credentials, SPEC B.5), `iss` = `sub` = the client id, `aud` = the issuer, `iat` = now,
//! `exp` = now + `--lifetime` (290 s by default, under the 300 s limit of SPEC A.6), and a
//! unique `jti`. Use the file within that lifetime. Signing runs on every core.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, ValueEnum};
use serde::Serialize;

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
    #[arg(long, value_enum, ignore_case = true, default_value_t = Alg::RS256)]
    alg: Alg,
    /// `exp - iat`, in seconds (the server refuses more than 300).
    #[arg(long, default_value_t = 290)]
    lifetime: i64,
    /// Signing threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "verbatim")]
#[allow(clippy::upper_case_acronyms)]
enum Alg {
    RS256,
    RS384,
    PS256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
        }
    }

    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            Self::RS256 => &RSA_PKCS1_SHA256,
            Self::RS384 => &RSA_PKCS1_SHA384,
            Self::PS256 => &RSA_PSS_SHA256,
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

fn load_key(path: &PathBuf) -> anyhow::Result<KeyPair> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let block = pem::parse(&text).with_context(|| format!("{} is not PEM", path.display()))?;
    let pair = match block.tag() {
        "PRIVATE KEY" => KeyPair::from_pkcs8(block.contents()),
        "RSA PRIVATE KEY" => KeyPair::from_der(block.contents()),
        other => bail!(
            "{}: expected an RSA private key, found `{other}`",
            path.display()
        ),
    };
    pair.map_err(|e| anyhow::anyhow!("{}: not a usable RSA private key: {e}", path.display()))
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
    let pair = load_key(&args.key)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, args.count.max(1));

    // One random prefix per run plus a counter: unique within the file and across runs.
    let mut nonce = [0u8; 12];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
    let run = URL_SAFE_NO_PAD.encode(nonce);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;

    let header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, args.alg.name());
    let header = URL_SAFE_NO_PAD.encode(header);
    let encoding = args.alg.encoding();

    let started = Instant::now();
    let per_thread = args.count.div_ceil(threads);
    let chunks: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (pair, header, run, args) = (&pair, &header, &run, &args);
                let range = (t * per_thread)..((t + 1) * per_thread).min(args.count);
                scope.spawn(move || -> anyhow::Result<Vec<u8>> {
                    let rng = SystemRandom::new();
                    let mut signature = vec![0u8; pair.public_modulus_len()];
                    let mut out = Vec::with_capacity(range.len() * 700);
                    for i in range {
                        let claims = Claims {
                            iss: &args.client_id,
                            sub: &args.client_id,
                            aud: &args.issuer,
                            iat: now,
                            exp: now + args.lifetime,
                            jti: format!("{run}-{i}"),
                        };
                        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
                        let signing_input = format!("{header}.{payload}");
                        pair.sign(encoding, &rng, signing_input.as_bytes(), &mut signature)
                            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                        out.extend_from_slice(signing_input.as_bytes());
                        out.push(b'.');
                        out.extend_from_slice(URL_SAFE_NO_PAD.encode(&signature).as_bytes());
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
        args.alg.name(),
        args.client_id,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        now + args.lifetime,
    );
    Ok(())
}
