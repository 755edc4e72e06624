//! The RSA bound of the token endpoint on this machine: every Private Key JWT token costs one
//! RSA-2048 verification (the client assertion) and one RSA-2048 signature (the access token),
//! so no server can issue more than `cores / (sign + verify)` tokens per second. `bench/load.sh`
//! prints its figures next to this bound, measured in the same run.
//!
//! Run: `cargo run --release --example rsa_bound [-- --sign-iterations N --verify-iterations N]`
//!
//! Single thread, aws-lc-rs (what the server uses), RSASSA-PKCS1-v1_5 with SHA-256 over a
//! JWT-sized message, after a warm-up. The last four lines are `name value` pairs that
//! `bench/load.sh` reads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Measure one RSA-2048 sign and verify, and the token endpoint's RSA bound")]
struct Args {
    /// Timed signatures (after a warm-up of a tenth of this, at least 50).
    #[arg(long, default_value_t = 3000)]
    sign_iterations: u32,
    /// Timed verifications (after a warm-up of a tenth of this, at least 50).
    #[arg(long, default_value_t = 20000)]
    verify_iterations: u32,
}

/// Mean duration of `f` over `iterations` calls, after `iterations / 10` (≥ 50) untimed ones.
fn mean(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..(iterations / 10).max(50) {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations.max(1)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation");
    let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
        .expect("parse the public key");
    let rng = SystemRandom::new();
    // About the size of an access token's signing input (header.payload, base64url).
    let message = vec![b'x'; 420];
    let mut signature = vec![0u8; pair.public_modulus_len()];

    let sign = mean(args.sign_iterations, || {
        pair.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature)
            .expect("RSA sign");
        black_box(&signature);
    });
    let verify = mean(args.verify_iterations, || {
        verifier
            .verify_sig(black_box(&message), black_box(&signature))
            .expect("RSA verify");
    });

    let bound = cores as f64 / (sign + verify).as_secs_f64();
    println!(
        "# RSA-2048 PKCS#1 SHA-256 (aws-lc-rs), single thread: sign x{}, verify x{}",
        args.sign_iterations, args.verify_iterations
    );
    println!(
        "# bound = cores / (sign + verify): one verify (assertion) + one sign (access token) per token"
    );
    println!("cores {cores}");
    println!("sign_ms {:.4}", ms(sign));
    println!("verify_ms {:.4}", ms(verify));
    println!("bound_tokens_per_s {bound:.0}");
}
