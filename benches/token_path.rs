//! In-process cost of `POST /oauth/token` with Private Key JWT, without HTTP: its pieces
//! (signing the access token, one RSA verification, parsing the form body, checking the client
//! assertion, recording used `jti`s and writing audit events in SQLite, and in PostgreSQL when
//! `SIGNET_BENCH_POSTGRES` names one) and the whole of `TokenIssuer::issue` on a SQLite tenant. Together with
//! `bench/tools/rsa_bound.rs` and `bench/load.sh` it shows how much of a token's cost is the
//! unavoidable RSA work.
//!
//! Run: `cargo bench --bench token_path` (one bench: `cargo bench --bench token_path -- issue`)
//!
//! Every input is built outside the timed loop, from fresh RSA-2048 keys.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use criterion::{Criterion, criterion_group, criterion_main};
use signet::audit::{AuditLimits, AuditLog};
use signet::crypto::jwt::{Compact, b64url, b64url_decode};
use signet::crypto::sealing::MasterKey;
use signet::crypto::secret::Secret;
use signet::crypto::signing::{RsaScheme, SigningKey, TokenTyp, hs256_key, sign_hs256};
use signet::domain::client_change::{NewClient, NewClientAuth};
use signet::domain::credential::CredentialUpload;
use signet::domain::grant::NewGrant;
use signet::domain::issuer::Issuer;
use signet::domain::resource_server::{NewResourceServer, ScopeDefinition};
use signet::jwks_uri::KeySets;
use signet::jwks_uri::address::KeyUrlPolicy;
use signet::oauth::access_token::AccessClaims;
use signet::oauth::assertion::{self, AssertionAlg, CandidateKey, Expectations};
use signet::oauth::cache::TokenCache;
use signet::oauth::replay::ReplayGuard;
use signet::oauth::request::TokenParams;
use signet::oauth::token::{ASSERTION_TYPE_JWT_BEARER, Recorders, TokenIssuer, TokenRequest};
use signet::rate_limit::{Limits, Period, Rate, RateLimiters};
use signet::store::Store;
use signet::tenant::{Tenant, bootstrap, clients, grants, resource_servers};

const ISSUER: &str = "https://tenant.example/";
const TOKEN_ENDPOINT: &str = "https://tenant.example/oauth/token";
const AUDIENCE: &str = "https://billing.example.com/";
const CLIENT_ID: &str = "Xq3bTz9LmN2pR7sV4wY6aC8dF1gH5jK0";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The application's side: a key pair and RS256 assertions signed with it, as
/// `bench/tools/presign.rs` makes them.
struct Client {
    pair: KeyPair,
    client_id: String,
}

impl Client {
    fn new() -> Self {
        Self {
            pair: KeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation"),
            client_id: CLIENT_ID.into(),
        }
    }

    fn public_key_pem(&self) -> String {
        pem::encode(&pem::Pem::new(
            "PUBLIC KEY",
            self.pair
                .public_key()
                .as_der()
                .expect("SPKI encoding")
                .as_ref(),
        ))
    }

    fn public_key(&self) -> ParsedPublicKey {
        ParsedPublicKey::new(
            AssertionAlg::RS256.verification_algorithm(),
            self.pair.public_key().as_ref(),
        )
        .expect("parse the client's public key")
    }

    fn assertion(&self, jti: &str, now: i64) -> String {
        let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
        let id = &self.client_id;
        let claims = serde_json::json!({
            "iss": id, "sub": id, "aud": ISSUER,
            "iat": now, "exp": now + 290, "jti": jti,
        });
        let input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA sign");
        format!("{input}.{}", b64url(&signature))
    }
}

fn access_claims(now: i64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: format!("{CLIENT_ID}@clients"),
        aud: AUDIENCE.into(),
        iat: now,
        exp: now + 86400,
        jti: "6f1c0d3e9b2a4c5d8e7f6a5b4c3d2e1f".into(),
        scope: Some("read:invoices write:invoices".into()),
        gty: "client-credentials".into(),
        azp: CLIENT_ID.into(),
    }
}

/// The body `bench/wrk-token.lua` sends.
fn form_body(assertion: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .append_pair("client_assertion", assertion)
        .append_pair("audience", AUDIENCE)
        .finish()
}

/// The tenant signs every access token: the dominant cost of the endpoint.
fn sign_access_token(c: &mut Criterion) {
    let (key, _der) = SigningKey::generate().expect("signing key");
    let claims = access_claims(now());
    c.bench_function("sign_access_token_rs256_2048", |b| {
        b.iter(|| key.sign_jwt(black_box(&claims)))
    });
    c.bench_function("sign_access_token_ps256_2048", |b| {
        b.iter(|| key.sign(RsaScheme::Ps256, TokenTyp::Jwt, black_box(&claims)))
    });
    // An HS256 API's token: the key made from the secret per token, as the token path does.
    let secret = "a-signing-secret-of-forty-three-characters!";
    c.bench_function("sign_access_token_hs256", |b| {
        b.iter(|| {
            sign_hs256(
                &hs256_key(black_box(secret)),
                TokenTyp::Jwt,
                black_box(&claims),
            )
        })
    });
}

/// One RSA-2048 PKCS#1 SHA-256 verification with a key parsed once, as the credential cache
/// keeps them: the assertion's signature check, without the JWT handling around it.
fn rsa_verify(c: &mut Criterion) {
    let client = Client::new();
    let key = ParsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA256,
        client.pair.public_key().as_ref(),
    )
    .expect("parse public key");
    let token = client.assertion("verify-bench", now());
    let parts = Compact::split(&token).expect("three parts");
    let signature = b64url_decode(parts.signature).expect("base64url signature");
    let message = parts.signing_input.as_bytes();
    c.bench_function("rsa_verify_pkcs1_sha256_2048", |b| {
        b.iter(|| {
            key.verify_sig(black_box(message), black_box(&signature))
                .expect("signature verifies")
        })
    });
}

/// Parsing a realistic Private Key JWT token request (about 750 bytes).
fn parse_form(c: &mut Criterion) {
    let client = Client::new();
    let body = form_body(&client.assertion("form-bench", now()));
    c.bench_function("token_params_from_form", |b| {
        b.iter(|| TokenParams::from_form(black_box(body.as_bytes())).expect("valid form"))
    });
}

/// `assertion::inspect` (shape, header, allowlist) and `assertion::verify` (key choice,
/// signature, claims) on a valid RS256 assertion without `kid`, against one credential.
fn check_assertion(c: &mut Criterion) {
    let client = Client::new();
    let key = client.public_key();
    let now = now();
    let text = client.assertion("assertion-bench", now);
    let candidates = [CandidateKey {
        credential_id: "cred_bench0000000000000000",
        kid: "bench-kid-0000000000",
        alg: AssertionAlg::RS256,
        key: &key,
        expires_at: None,
        enabled: true,
    }];
    let expect = Expectations {
        client_id: CLIENT_ID,
        issuer: ISSUER,
        token_endpoint: TOKEN_ENDPOINT,
        accept_legacy_audience: false,
        now,
    };
    // The inputs are valid: a refusal here means the bench measures the wrong path.
    let unverified = assertion::inspect(&text).expect("assertion passes inspect");
    assertion::verify(&unverified, &candidates, &expect).expect("assertion verifies");

    let mut group = c.benchmark_group("assertion");
    group.bench_function("inspect", |b| {
        b.iter(|| assertion::inspect(black_box(&text)).expect("inspect"))
    });
    group.bench_function("verify", |b| {
        b.iter(|| assertion::verify(black_box(&unverified), &candidates, &expect).expect("verify"))
    });
    group.bench_function("inspect_and_verify", |b| {
        b.iter(|| {
            let u = assertion::inspect(black_box(&text)).expect("inspect");
            assertion::verify(&u, &candidates, &expect).expect("verify")
        })
    });
    group.finish();
}

/// Two worker threads, as on the 2-core machine the figures come from.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A tenant on a fresh SQLite database with one application (one RS256 credential from
/// `client`'s key) granted one scope on one API, and the token issuer the server would build.
async fn sqlite_tenant(dir: &std::path::Path, client: &mut Client) -> TokenIssuer {
    let store = Store::connect(&format!("sqlite://{}", dir.join("bench.db").display()))
        .await
        .expect("open SQLite");
    let master_key = MasterKey::from_base64(&MasterKey::generate_base64()).expect("master key");
    let tenant = Tenant {
        key_sets: KeySets::new(
            store.clone(),
            signet::clock::system(),
            KeyUrlPolicy::default(),
        ),
        store: store.clone(),
        master_key: Arc::new(master_key),
        issuer: Issuer::parse(ISSUER).expect("issuer"),
    };
    let now_ms = now() * 1000;
    let booted = bootstrap::run(&tenant, None, now_ms)
        .await
        .expect("bootstrap");
    resource_servers::create(
        &tenant,
        NewResourceServer {
            identifier: AUDIENCE.into(),
            scopes: vec![ScopeDefinition {
                value: "read:invoices".into(),
                description: String::new(),
            }],
            ..NewResourceServer::default()
        },
        now_ms,
    )
    .await
    .expect("create the API");
    let (created, _) = clients::create(
        &tenant,
        NewClient {
            name: "Bench worker".into(),
            auth: NewClientAuth::with_keys(vec![CredentialUpload::of_pem(client.public_key_pem())]),
            ..NewClient::default()
        },
        now_ms,
    )
    .await
    .expect("create the application");
    client.client_id = created.client_id.clone();
    grants::create(
        &tenant,
        NewGrant {
            client_id: created.client_id.clone(),
            audience: AUDIENCE.into(),
            scope: vec!["read:invoices".into()],
        },
        now_ms,
    )
    .await
    .expect("create the grant");
    let (audit, _writer) = AuditLog::spawn(
        store.clone(),
        AuditLimits::default(),
        signet::clock::system(),
    );
    TokenIssuer::new(
        tenant.issuer.clone(),
        false,
        Arc::new(booted.keys),
        store.clone(),
        TokenCache::new(
            store.clone(),
            tenant.master_key.clone(),
            tenant.key_sets.clone(),
        ),
        Recorders {
            audit,
            replay: ReplayGuard::start(store.clone(), now_ms)
                .await
                .expect("start the replay check")
                .0,
        },
        // The limits stay on the measured path, set where one client at full speed never
        // meets them (by default one client id gets 1000 requests a second).
        Arc::new(RateLimiters::new(&Limits {
            token_per_client: Rate::per(1_000_000, Period::Second),
            ..Limits::default()
        })),
    )
}

/// The whole of `TokenIssuer::issue` for one Private Key JWT request, one request at a time:
/// assertion checks against the cached application and key, the grant, the `jti` consumed
/// through the replay guard into SQLite (a real commit), the access token signed, the audit
/// event queued. Compare with sign + verify above: the difference is everything else on the
/// path, database round trip included. Each iteration uses an assertion of its own.
fn issue_end_to_end(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut client = Client::new();
    let issuer = runtime.block_on(sqlite_tenant(dir.path(), &mut client));
    let request = |assertion: String| TokenRequest {
        params: TokenParams {
            grant_type: Some("client_credentials".into()),
            audience: Some(AUDIENCE.into()),
            client_assertion_type: Some(ASSERTION_TYPE_JWT_BEARER.into()),
            client_assertion: Some(Secret::new(assertion)),
            ..TokenParams::default()
        },
        basic: None,
        ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        user_agent: None,
    };
    let mut round = 0u64;
    let mut group = c.benchmark_group("issue");
    // Each iteration needs a freshly signed assertion (made before the clock starts), so
    // fewer, longer samples keep the run short.
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("private_key_jwt_sqlite", |b| {
        b.iter_custom(|iters| {
            round += 1;
            let assertions: Vec<String> = (0..iters)
                .map(|i| client.assertion(&format!("bench-{round}-{i}"), now()))
                .collect();
            runtime.block_on(async {
                let start = Instant::now();
                for assertion in assertions {
                    let token = issuer
                        .issue(request(assertion), now() * 1000)
                        .await
                        .expect("the bench's assertions are valid and fresh");
                    black_box(token);
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// A refused `client_secret_post` request naming a known client (wrong secret) against one
/// naming an unknown client: the two must cost the same, or the time of a refusal tells which
/// client ids exist. Both are answered from the cache after the first request.
fn refuse_secret(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut client = Client::new();
    let issuer = runtime.block_on(sqlite_tenant(dir.path(), &mut client));
    let known = runtime.block_on(async {
        let mut conn = issuer.store.acquire().await.expect("a connection");
        signet::store::tenant_settings::get(&mut conn, "bootstrap_client_id")
            .await
            .expect("read the bootstrap client id")
            .expect("a bootstrap client")
    });
    let request = |client_id: &str| TokenRequest {
        params: TokenParams {
            grant_type: Some("client_credentials".into()),
            audience: Some(AUDIENCE.into()),
            client_id: Some(client_id.into()),
            client_secret: Some(Secret::new("not-the-secret-of-this-client".into())),
            ..TokenParams::default()
        },
        basic: None,
        ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        user_agent: None,
    };
    let mut group = c.benchmark_group("refuse_secret");
    for (name, client_id) in [
        ("known_client", known.as_str()),
        ("unknown_client", "UnknownClientId0123456789abcdefg"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime
                    .block_on(issuer.issue(request(client_id), now() * 1000))
                    .expect_err("the secret is wrong")
            })
        });
    }
    group.finish();
}

/// The two durable writes of every token, as the background writers make them: used `jti`s
/// checked and recorded in one transaction per batch (the replay guard's group commit: on
/// SQLite the other servers' new ids read, the batch checked in memory, appended to the log; on
/// PostgreSQL one insert into the shared keyed table), and audit events in one transaction per
/// batch. Batches take every size from 1 to 63 in turn, 32 on average, as they do under load
/// (and the writers' statements must serve every size). The guard first holds 100,000 ids,
/// about 25 seconds of tokens at full load, as random as the UUIDs clients send; audit events
/// are appended in time order. SQLite's log is copied back every 125 batches, as the server's
/// once-a-second checkpoint does at 4,000 tokens a second, and that copy is counted too. Divide
/// by 32 for the cost per token.
///
/// The figure is CPU time, not wall time: each statement goes to SQLite's thread or
/// PostgreSQL's process and back, and wall time would count those hand-offs, which cost no CPU
/// and overlap under load. On SQLite it is the process's CPU time, every thread's (tokio's and
/// SQLite's). On PostgreSQL, which must run on this machine, each write is measured twice: this
/// process's CPU (`…_postgres`: encoding, the driver, TLS) and the CPU of PostgreSQL's
/// processes (`…_postgres_backend`: parsing, planning, the rows and their indexes, the WAL and
/// its flush), which on a machine shared with the server is as much a token's cost as its own.
/// Set `SIGNET_BENCH_POSTGRES` to a PostgreSQL URL to measure them; each run works in a fresh
/// schema and drops it at the end.
fn durable_writes(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = runtime
        .block_on(Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("writes.db").display()
        )))
        .expect("open SQLite");
    bench_durable_writes(c, &runtime, &sqlite, &[("sqlite", process_cpu)]);
    let Ok(base) = std::env::var("SIGNET_BENCH_POSTGRES") else {
        eprintln!(
            "durable_writes on PostgreSQL: skipped (set SIGNET_BENCH_POSTGRES=postgres://… to measure them)"
        );
        return;
    };
    let schema = format!("signet_bench_{}", signet::crypto::random::hex(8));
    runtime.block_on(run_on(&base, &format!("CREATE SCHEMA {schema}")));
    let sep = if base.contains('?') { '&' } else { '?' };
    let postgres = runtime
        .block_on(Store::connect(&format!(
            "{base}{sep}options=-c%20search_path%3D{schema}"
        )))
        .expect("open PostgreSQL");
    bench_durable_writes(
        c,
        &runtime,
        &postgres,
        &[
            ("postgres", process_cpu),
            ("postgres_backend", postgres_cpu),
        ],
    );
    runtime.block_on(postgres.close());
    runtime.block_on(run_on(&base, &format!("DROP SCHEMA {schema} CASCADE")));
}

/// A CPU clock: this process's ([`process_cpu`]) or PostgreSQL's processes' ([`postgres_cpu`]).
type CpuMeter = fn() -> Duration;

/// One bench per write and meter: `record_used_jtis_{label}` and `write_audit_events_{label}`.
fn bench_durable_writes(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    meters: &[(&str, CpuMeter)],
) {
    use signet::domain::log::LogEvent;
    use signet::store::logs;

    let mut batches_made = 0usize;
    let mut next_size = move || {
        batches_made += 1;
        1 + batches_made % 63
    };
    let mut next = 0u64;
    let mut used_jtis = |count: usize| -> Vec<signet::store::replay::UsedJti> {
        let now_ms = now() * 1000;
        (0..count)
            .map(|_| {
                next += 1;
                // Random-looking ids, as clients send (UUIDs): spread over the whole key range.
                let jti = format!("{:016x}-{next}", next.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                signet::oauth::replay::used_jti(CLIENT_ID.into(), jti, now() + 60, now_ms)
            })
            .collect()
    };
    let guard = runtime
        .block_on(ReplayGuard::start(store.clone(), now() * 1000))
        .expect("start the replay check")
        .0;
    runtime.block_on(async {
        for _ in 0..100_000 / 250 {
            guard
                .record(&used_jtis(250))
                .await
                .expect("fill the used-jti table");
        }
        store.checkpoint().await.expect("checkpoint");
    });
    let mut seq = 0i64;
    let mut events = |count: usize| -> Vec<LogEvent> {
        let date = now() * 1000;
        (0..count)
            .map(|_| {
                seq += 1;
                LogEvent {
                    id: format!("log_{date:013}{seq:016}"),
                    seq,
                    date,
                    kind: "seccft".into(),
                    description: "Client Credentials for Access Token".into(),
                    client_id: Some(CLIENT_ID.into()),
                    client_name: Some("Bench worker".into()),
                    audience: Some(AUDIENCE.into()),
                    scope: Some("read:invoices".into()),
                    ip: Some("127.0.0.1".into()),
                    user_agent: Some("wrk".into()),
                    details: serde_json::json!({"credential_id": "cred_0123456789abcdef"}),
                }
            })
            .collect()
    };
    let mut group = c.benchmark_group("durable_writes");
    for &(label, meter) in meters {
        group.bench_function(format!("record_used_jtis_{label}"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| used_jtis(next_size())).collect();
                runtime.block_on(cpu_of_writes(store, meter, &batches, async |batch| {
                    guard.record(batch).await.map(black_box)
                }))
            })
        });
        group.bench_function(format!("write_audit_events_{label}"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| events(next_size())).collect();
                runtime.block_on(cpu_of_writes(store, meter, &batches, async |batch| {
                    store
                        .with_writer(async |conn| logs::insert_batch(conn, batch).await)
                        .await
                }))
            })
        });
    }
    group.finish();
}

/// The CPU time `meter` counts while `batches` are written one after another, with SQLite's
/// log copied back every 125 batches as the server's once-a-second checkpoint does at 4,000
/// tokens a second (on PostgreSQL the checkpoint is its own business and costs nothing here).
async fn cpu_of_writes<B, T>(
    store: &Store,
    meter: CpuMeter,
    batches: &[B],
    write: impl AsyncFn(&B) -> Result<T, signet::store::StoreError>,
) -> Duration {
    const CHECKPOINT_EVERY: usize = 125;
    let start = meter();
    for (i, batch) in batches.iter().enumerate() {
        write(batch).await.expect("write");
        if i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            store.checkpoint().await.expect("checkpoint");
        }
    }
    meter() - start
}

/// One statement on a connection of its own, for the bench's schema.
async fn run_on(url: &str, statement: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("SIGNET_BENCH_POSTGRES={url}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    conn.close().await.expect("close");
}

/// CPU time used so far by this machine's PostgreSQL processes (the server, its backends, the
/// WAL writer, the checkpointer), from each one's `/proc/PID/schedstat`, in nanoseconds. The
/// bench's connections stay open throughout, so no backend that did its work exits between
/// two readings.
fn postgres_cpu() -> Duration {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let path = entry.path();
        let is_postgres = std::fs::read_to_string(path.join("comm"))
            .is_ok_and(|comm| comm.trim_end() == "postgres");
        if !is_postgres {
            continue;
        }
        // Gone since the listing: its time is no longer anyone's to count.
        let Ok(schedstat) = std::fs::read_to_string(path.join("schedstat")) else {
            continue;
        };
        total += schedstat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .expect("schedstat starts with the time on the CPU in ns");
    }
    Duration::from_nanos(total)
}

/// CPU time used so far by every thread of this process.
fn process_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec, and the clock id is one Linux always has.
    let read = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(read, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

// The token path's pieces. Add a bench of a new piece to this list (it needs nothing but
// `signet`'s public API and inputs built outside the timed loop).
criterion_group!(
    token_path,
    sign_access_token,
    rsa_verify,
    parse_form,
    check_assertion,
    issue_end_to_end,
    durable_writes,
    refuse_secret,
);
criterion_main!(token_path);
