//! The load generator of `bench/soak.sh`: `POST /oauth/token` with Private Key JWT (RFC 7523)
//! at a fixed rate for as long as asked, one line of figures per interval.
//!
//! Run: `cargo run --release --example soak_load -- --url http://127.0.0.1:8080 \
//!        --issuer http://127.0.0.1:8080/ --client-id ID --key ed25519.pem \
//!        --audience https://api.example/ --rate 2000 --duration 30m [--alg EdDSA]`
//!
//! Why not wrk and pre-signed assertions, as `bench/load.sh` uses: the server accepts each `jti`
//! once (BEHAVIOUR B.6), so half an hour at thousands of tokens a second needs millions of
//! assertions, far too many to pre-sign with RSA; and wrk sends as fast as it can, where a soak
//! holds one rate. So each assertion is signed just before it is sent, with signet-client's
//! `AssertionSigner` (what `signet token` uses), by default with an Ed25519 key: about 20 µs
//! per assertion, so the client takes little of the cores it shares with the server. The API's
//! access tokens are still RS256, so each token still costs the server one assertion verify and
//! one RSA-2048 signature. `--alg RS256` (with an RSA key) works too, at about one RSA signature
//! of client CPU per token.
//!
//! Pacing (`--rate N`): the connections share one schedule, token k due at start + k / N, so the
//! rate does not depend on how many connections are waiting; a connection whose slot is due
//! sends at once. When the schedule falls more than a second behind (the server stalled), the
//! missed slots are dropped instead of being sent in a burst. `--rate 0` sends as fast as the
//! connections allow: the peak.
//!
//! Output, on stdout, one line per interval, then one for the whole run:
//!   `interval elapsed_s=10.0 ok=20000 errors=0 tokens_per_s=2000.0 p50_ms=1.52 p99_ms=4.10`
//!   `total elapsed_s=1800.0 ok=3600000 errors=0 tokens_per_s=2000.0`
//! `ok` counts 200 responses; `errors` every other status and every transport failure or
//! timeout; the latencies are those of the 200 responses in the interval (a request is counted in
//! the interval in which its response ends). The first few errors are described on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use signet_client::{Alg, AssertionSigner, PrivateKey};
use tokio::time::Instant;

#[derive(Parser)]
#[command(about = "Paced Private Key JWT token requests, with figures per interval")]
struct Args {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`; requests go to `<url>/oauth/token`.
    #[arg(long)]
    url: String,
    /// The tenant issuer, e.g. `http://127.0.0.1:8080/`: the assertions' `aud`, exactly.
    #[arg(long)]
    issuer: String,
    /// The application's client id: the assertions' `iss` and `sub`.
    #[arg(long)]
    client_id: String,
    /// The application's private key, PEM (PKCS#8; Ed25519 for EdDSA, RSA for RS256).
    #[arg(long)]
    key: PathBuf,
    /// Signature algorithm of the assertions; must be the credential's `alg`.
    #[arg(long, default_value = "EdDSA", value_parser = parse_alg)]
    alg: Alg,
    /// The API identifier to ask tokens for.
    #[arg(long)]
    audience: String,
    /// Concurrent connections (each sends its next request once its response is in).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Tokens per second to ask for; 0: as fast as the connections allow.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// How long to run: `90s`, `30m`, `1h` (plain numbers are seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// How often to print a line of figures.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    interval: Duration,
    /// The longest one request may take, connecting included, before it counts as an error.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Runtime threads. One drives thousands of requests a second; each more takes CPU from
    /// the server on the same machine.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (e.g. 90s, 30m, 1h)"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit in {s:?} (ms, s, m or h)")),
    };
    if seconds.is_nan() || seconds <= 0.0 || seconds >= 1e7 {
        return Err(format!("out of range: {s:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Figures of the current interval; the reporter swaps them out.
#[derive(Default)]
struct Figures {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

struct Shared {
    signer: AssertionSigner,
    client: reqwest::Client,
    token_url: String,
    audience: String,
    start: Instant,
    deadline: Instant,
    /// Seconds between two slots of the schedule; `None`: unpaced.
    spacing: Option<f64>,
    next_slot: AtomicU64,
    figures: Mutex<Figures>,
    errors_described: AtomicU64,
    stop: AtomicBool,
}

/// Errors described on stderr; the rest are only counted, so a failing server cannot flood the
/// output of a long run.
const ERRORS_DESCRIBED: u64 = 5;

/// How far the schedule may fall behind before missed slots are dropped.
const MAX_LAG: Duration = Duration::from_secs(1);

impl Shared {
    /// Waits for this connection's next slot of the schedule.
    async fn pace(&self) {
        let Some(spacing) = self.spacing else { return };
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let due = self.start + Duration::from_secs_f64(slot as f64 * spacing);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due).await;
        } else if now - due > MAX_LAG {
            let current = ((now - self.start).as_secs_f64() / spacing) as u64;
            self.next_slot.fetch_max(current, Ordering::Relaxed);
        }
    }

    fn record_ok(&self, latency: Duration) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        let mut figures = self.figures.lock().expect("figures lock");
        figures.ok += 1;
        figures.latencies_us.push(us);
    }

    fn record_error(&self, what: impl FnOnce() -> String) {
        self.figures.lock().expect("figures lock").errors += 1;
        if self.errors_described.fetch_add(1, Ordering::Relaxed) < ERRORS_DESCRIBED {
            eprintln!("soak_load: error: {}", what());
        }
    }
}

async fn connection(shared: Arc<Shared>) -> anyhow::Result<()> {
    loop {
        shared.pace().await;
        if shared.stop.load(Ordering::Relaxed) || Instant::now() >= shared.deadline {
            return Ok(());
        }
        let assertion = shared.signer.sign().context("signing an assertion")?;
        let sent = Instant::now();
        let response = shared
            .client
            .post(&shared.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("audience", shared.audience.as_str()),
            ])
            .send()
            .await;
        // The body is read in full either way, so that the connection can be reused.
        let outcome = match response {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((status, _)) if status == reqwest::StatusCode::OK => {
                shared.record_ok(sent.elapsed())
            }
            Ok((status, body)) => shared.record_error(|| {
                let body = String::from_utf8_lossy(&body);
                format!("{status}: {}", body.chars().take(300).collect::<String>())
            }),
            Err(e) => {
                shared.record_error(|| format!("{:#}", anyhow::Error::from(e)));
                // A server that is gone refuses at once: without a pause an unpaced run would
                // spin on the cores until its end.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The `q`-quantile (0..=1) of sorted latencies, in milliseconds; 0 when there are none.
fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak_load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections >= 1, "--connections must be at least 1");
    anyhow::ensure!(
        args.rate.is_finite() && args.rate >= 0.0,
        "--rate must be 0 or more"
    );
    let text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateKey::from_pem(&text).with_context(|| args.key.display().to_string())?;
    let signer = AssertionSigner::new(key, &args.client_id, &args.issuer)?.with_alg(args.alg)?;
    let client = reqwest::Client::builder()
        // A proxy from the environment would put a third program between the two measured.
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(args.connections)
        .connect_timeout(args.timeout.min(Duration::from_secs(5)))
        .timeout(args.timeout)
        .build()
        .context("building the HTTP client")?;

    let start = Instant::now();
    let shared = Arc::new(Shared {
        signer,
        client,
        token_url: format!("{}/oauth/token", args.url.trim_end_matches('/')),
        audience: args.audience.clone(),
        start,
        deadline: start + args.duration,
        spacing: (args.rate > 0.0).then_some(1.0 / args.rate),
        next_slot: AtomicU64::new(0),
        figures: Mutex::new(Figures::default()),
        errors_described: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    eprintln!(
        "soak_load: {} {} connection(s), {}, {:.0} s, a line every {:.0} s",
        args.alg,
        args.connections,
        if args.rate > 0.0 {
            format!("{} tokens/s", args.rate)
        } else {
            "unpaced".to_owned()
        },
        args.duration.as_secs_f64(),
        args.interval.as_secs_f64(),
    );
    let connections: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(connection(shared.clone())))
        .collect();

    let (mut total_ok, mut total_errors) = (0u64, 0u64);
    let mut previous = start;
    let mut k = 1u32;
    loop {
        let due = (start + args.interval * k).min(shared.deadline);
        tokio::time::sleep_until(due).await;
        let last = due >= shared.deadline;
        if last {
            shared.stop.store(true, Ordering::Relaxed);
            // Requests still in flight end within the request timeout; they count in this
            // last interval.
            for handle in &connections {
                while !handle.is_finished() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        let figures = std::mem::take(&mut *shared.figures.lock().expect("figures lock"));
        let mut latencies = figures.latencies_us;
        latencies.sort_unstable();
        let seconds = (due - previous).as_secs_f64();
        println!(
            "interval elapsed_s={:.1} ok={} errors={} tokens_per_s={:.1} p50_ms={:.2} p99_ms={:.2}",
            (due - start).as_secs_f64(),
            figures.ok,
            figures.errors,
            figures.ok as f64 / seconds,
            quantile_ms(&latencies, 0.50),
            quantile_ms(&latencies, 0.99),
        );
        total_ok += figures.ok;
        total_errors += figures.errors;
        previous = due;
        k += 1;
        // A connection ends before the deadline only on an error that stops the run (signing
        // failed); awaiting it below returns that error.
        if last || connections.iter().any(|handle| handle.is_finished()) {
            break;
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for handle in connections {
        handle.await.context("a connection task panicked")??;
    }
    let elapsed = (previous - start).as_secs_f64();
    println!(
        "total elapsed_s={elapsed:.1} ok={total_ok} errors={total_errors} tokens_per_s={:.1}",
        total_ok as f64 / elapsed,
    );
    Ok(())
}
