//! The client side against a running signet: `signet keygen` output accepted by the Management
//! API and by OpenSSL, `signet token` (the real binary) with keygen and `openssl genrsa` keys,
//! its hint when the key is refused, and the `signet-client` library's cache, refresh and
//! request sharing, counted through a proxy in front of the token endpoint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_client::{Client, Error};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

const API: &str = "https://inventory.example.com/";
const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

on_both_databases!(
    keygen_output_is_accepted_by_the_management_api,
    signet_token_gets_a_token_with_a_keygen_key,
    signet_token_skips_discovery_with_token_endpoint,
    signet_token_explains_a_refused_key,
    signet_token_works_with_openssl_genrsa_keys,
    library_caches_tokens_and_shares_one_request_among_concurrent_callers,
    library_renews_a_token_before_it_expires,
    library_reports_a_refused_key_and_caches_nothing,
    library_refuses_an_issuer_the_server_does_not_publish,
);

// ---------------------------------------------------------------------------------------------
// helpers

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `openssl` when present; without it a test is skipped visibly, except under CI=true where
/// it must be there.
fn openssl() -> Option<&'static str> {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("openssl");
    }
    assert!(
        !in_ci(),
        "openssl is required under CI=true but was not found"
    );
    eprintln!("SKIPPED: openssl not found; the OpenSSL interoperability checks did not run");
    None
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs the real `signet` binary off the async workers (the server under test shares them).
async fn signet(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(SIGNET)
            .args(&args)
            .output()
            .expect("run signet")
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Keygen {
    dir: PathBuf,
    kid: String,
    body: Value,
}

impl Keygen {
    fn private_key(&self) -> PathBuf {
        self.dir.join("private_key.pem")
    }
}

async fn keygen(parent: &Path, name: &str, extra: &[&str]) -> Keygen {
    let dir = parent.join(name);
    let mut args = vec![
        "keygen".to_owned(),
        "--out".into(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = signet(args).await;
    assert!(out.status.success(), "keygen failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let kid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("kid: "))
        .unwrap_or_else(|| panic!("no kid line in {stdout}"))
        .to_owned();
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credential.json")).unwrap())
            .unwrap();
    assert!(
        stdout.contains(&serde_json::to_string_pretty(&body).unwrap()),
        "the printed body is the saved one"
    );
    Keygen { dir, kid, body }
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A tenant with the API, and an application using Private Key JWT with `credentials`
/// (request bodies as `signet keygen` prints them) and granted the API.
struct Tenant {
    app: TestApp,
    admin: String,
    client_id: String,
}

impl Tenant {
    async fn new(app: TestApp, credentials: &[&Value]) -> Self {
        let admin = app.management_token().await;
        app.create_api(&admin, API, &["read:stock", "write:stock"])
            .await;
        let res = app
            .post_json(&admin, "/api/v2/clients", &json!({
                "name": "stock-sync", "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": credentials}}
            }))
            .await;
        let status = res.status();
        let client: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{client}");
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        app.grant(&admin, &client_id, API, &["read:stock", "write:stock"])
            .await;
        Self {
            app,
            admin,
            client_id,
        }
    }

    fn token_args(&self, key: &Path) -> Vec<String> {
        [
            "token",
            "--issuer",
            &self.app.issuer,
            "--client-id",
            &self.client_id,
            "--key",
            &key.display().to_string(),
            "--audience",
            API,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn library(&self, key: &Path) -> signet_client::ClientBuilder {
        Client::builder(
            self.app.issuer.as_str(),
            self.client_id.as_str(),
            std::fs::read_to_string(key).unwrap(),
        )
    }

    fn assert_token_for_this_app(&self, access_token: &str) {
        let claims = claims_of(access_token);
        assert_eq!(claims["sub"], format!("{}@clients", self.client_id));
        assert_eq!(claims["aud"], API);
        assert_eq!(claims["iss"], self.app.issuer);
    }
}

/// A proxy in front of the token endpoint that counts the requests it forwards.
struct CountingProxy {
    url: String,
    count: Arc<AtomicUsize>,
}

impl CountingProxy {
    async fn start(upstream: String) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
        use axum::response::IntoResponse;

        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let http = reqwest::Client::new();
        let forward = move |headers: HeaderMap, body: Bytes| {
            let (counter, http, upstream) = (counter.clone(), http.clone(), upstream.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut req = http.post(&upstream).body(body.to_vec());
                if let Some(ct) = headers.get(header::CONTENT_TYPE) {
                    req = req.header("content-type", ct.to_str().unwrap());
                }
                let res = req.send().await.unwrap();
                let status = AxumStatus::from_u16(res.status().as_u16()).unwrap();
                let body = res.bytes().await.unwrap();
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
        };
        let router = axum::Router::new().route("/oauth/token", axum::routing::post(forward));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://{addr}/oauth/token"),
            count,
        }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// keygen

async fn keygen_output_is_accepted_by_the_management_api(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let tmp = tempfile::tempdir().unwrap();
    for bits in ["2048", "3072", "4096"] {
        // One application per size: at most two credentials each (BEHAVIOUR A.1).
        let client = app.create_client(&admin, &format!("app-{bits}")).await;
        let path = format!(
            "/api/v2/clients/{}/credentials",
            client["client_id"].as_str().unwrap()
        );
        for cert in [false, true] {
            let name = format!("k{bits}-{cert}");
            let extra: &[&str] = if cert {
                &["--bits", bits, "--cert", "--days", "90"]
            } else {
                &["--bits", bits]
            };
            let made = keygen(tmp.path(), &name, extra).await;
            assert_eq!(made.body["credential_type"], "public_key");
            assert_eq!(made.body["alg"], "RS256");
            assert_eq!(made.body["name"], name);
            let pem = made.body["pem"].as_str().unwrap();
            let expected_label = if cert { "CERTIFICATE" } else { "PUBLIC KEY" };
            assert!(pem.starts_with(&format!("-----BEGIN {expected_label}-----")));

            let res = app.post_json(&admin, &path, &made.body).await;
            let status = res.status();
            let credential: Value = res.json().await.unwrap();
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{bits} cert={cert}: {credential}"
            );
            assert_eq!(
                credential["kid"], made.kid,
                "the printed kid is the server's"
            );
            assert_eq!(credential["alg"], "RS256");
            if cert {
                let expires = time::OffsetDateTime::parse(
                    credential["expires_at"].as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
                assert!(
                    (89..=90).contains(&days),
                    "expiry from the certificate: {days}"
                );
            } else {
                assert_eq!(credential["expires_at"], Value::Null);
            }
        }
    }
}

#[tokio::test]
async fn keygen_files_are_read_by_openssl() {
    let Some(openssl) = openssl() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(
        tmp.path(),
        "svc",
        &[
            "--cert",
            "--subject",
            "CN=stock-sync,O=Example",
            "--days",
            "30",
        ],
    )
    .await;
    let private = made.private_key();
    let public = made.dir.join("public_key.pem");
    let cert = made.dir.join("certificate.pem");
    let p = |p: &Path| p.display().to_string();

    let out = run(openssl, &["pkey", "-in", &p(&private), "-noout"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(openssl, &["pkey", "-pubin", "-in", &p(&public), "-noout"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        openssl,
        &["x509", "-in", &p(&cert), "-noout", "-subject", "-enddate"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let described = text(&out.stdout);
    assert!(described.contains("stock-sync"), "{described}");

    // The public key file, and the key inside the certificate, are the private key's own.
    let derived = run(openssl, &["pkey", "-in", &p(&private), "-pubout"]);
    assert_eq!(
        text(&derived.stdout),
        std::fs::read_to_string(&public).unwrap()
    );
    let in_cert = run(openssl, &["x509", "-in", &p(&cert), "-noout", "-pubkey"]);
    assert_eq!(
        text(&in_cert.stdout),
        std::fs::read_to_string(&public).unwrap()
    );
    // PKCS#8, as Auth0's Node SDK wants it.
    assert!(
        std::fs::read_to_string(&private)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn keygen_writes_the_private_key_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let mode = std::fs::metadata(made.private_key())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn keygen_refuses_to_overwrite_any_existing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let before = std::fs::read_to_string(made.private_key()).unwrap();

    let again = signet(vec![
        "keygen".into(),
        "--out".into(),
        made.dir.display().to_string(),
    ])
    .await;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("refusing to overwrite"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(made.private_key()).unwrap(), before);

    // Even one stray file of the set stops it, before anything is written.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("credential.json"), "{}").unwrap();
    let out = signet(vec![
        "keygen".into(),
        "--out".into(),
        other.display().to_string(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(!other.join("private_key.pem").exists());
    assert_eq!(
        std::fs::read_to_string(other.join("credential.json")).unwrap(),
        "{}"
    );
}

#[tokio::test]
async fn keygen_refuses_sizes_the_server_would_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    for bits in ["1024", "8192"] {
        let out = signet(vec![
            "keygen".into(),
            "--bits".into(),
            bits.into(),
            "--out".into(),
            tmp.path().join(bits).display().to_string(),
        ])
        .await;
        assert!(!out.status.success(), "{bits}");
        assert!(!tmp.path().join(bits).exists());
    }
}

// ---------------------------------------------------------------------------------------------
// signet token and signet assertion

#[tokio::test]
async fn signet_assertion_refuses_lifetimes_servers_refuse_and_keys_it_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let key = made.private_key().display().to_string();
    let base = |key: &str, lifetime: &str| {
        [
            "assertion",
            "--issuer",
            "https://tenant.example.com/",
            "--client-id",
            "app-0001",
            "--key",
            key,
            "--lifetime",
            lifetime,
        ]
        .map(str::to_owned)
        .to_vec()
    };

    let out = signet(base(&key, "301")).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("1 to 300 seconds"),
        "{}",
        text(&out.stderr)
    );

    let out = signet(base(&key, "300")).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let claims = claims_of(text(&out.stdout).trim());
    assert_eq!(claims["aud"], "https://tenant.example.com/");
    assert_eq!(claims["iss"], "app-0001");
    assert_eq!(claims["sub"], "app-0001");

    let fixture = |name: &str| format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    for (file, says) in [
        ("rsa2048.pub.pem", "this is a public key"),
        ("rsa2048.cert.pem", "this is a certificate"),
        ("rsa2048.encrypted.key.pem", "encrypted"),
        ("ec-p256.key.pem", "this key is EC"),
    ] {
        let out = signet(base(&fixture(file), "60")).await;
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(
            text(&out.stderr).contains(says),
            "{file}: {}",
            text(&out.stderr)
        );
    }
}

async fn signet_token_gets_a_token_with_a_keygen_key(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &["--alg", "PS256"]).await;
    assert_eq!(made.body["alg"], "PS256");
    let tenant = Tenant::new(app, &[&made.body]).await;

    let mut args = tenant.token_args(&made.private_key());
    args.extend(["--alg", "PS256", "--scope", "read:stock"].map(str::to_owned));
    let out = signet(args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["token_type"], "Bearer");
    assert_eq!(response["scope"], "read:stock");
    tenant.assert_token_for_this_app(response["access_token"].as_str().unwrap());

    // With the kid the server showed, too.
    let mut args = tenant.token_args(&made.private_key());
    args.extend(["--alg", "PS256", "--kid", &made.kid].map(str::to_owned));
    let out = signet(args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // `signet assertion` makes an assertion the token endpoint takes as it is.
    let out = signet(
        [
            "assertion",
            "--issuer",
            &tenant.app.issuer,
            "--client-id",
            &tenant.client_id,
            "--key",
            &made.private_key().display().to_string(),
            "--alg",
            "PS256",
            "--lifetime",
            "300",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let assertion = text(&out.stdout).trim().to_owned();
    let claims = claims_of(&assertion);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let res = tenant
        .app
        .http
        .post(tenant.app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn signet_token_skips_discovery_with_token_endpoint(db: Db) {
    // The issuer is https, but the server is reached over plain http (TLS ends at a proxy).
    let Some(database) = crate::helpers::Database::create(db).await else {
        return;
    };
    let app = TestApp::start(database, |mut s| {
        s.issuer =
            Some(signet::domain::issuer::Issuer::parse("https://auth.signet.invalid/").unwrap());
        s
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let tenant = Tenant::new(app, &[&made.body]).await;
    assert_eq!(tenant.app.issuer, "https://auth.signet.invalid/");

    let mut args = tenant.token_args(&made.private_key());
    args.extend(["--token-endpoint".into(), tenant.app.url("/oauth/token")]);
    let out = signet(args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    tenant.assert_token_for_this_app(response["access_token"].as_str().unwrap());

    // Without it, discovery goes to the issuer's host, which does not exist here.
    let out = signet(tenant.token_args(&made.private_key())).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--token-endpoint"),
        "{}",
        text(&out.stderr)
    );
}

async fn signet_token_explains_a_refused_key(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let enabled = keygen(tmp.path(), "enabled", &[]).await;
    let stranger = keygen(tmp.path(), "stranger", &[]).await;
    let tenant = Tenant::new(app, &[&enabled.body]).await;

    let out = signet(tenant.token_args(&stranger.private_key())).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("key not enabled"), "{stderr}");
    assert!(stderr.contains("wrong issuer"), "{stderr}");
    assert!(stderr.contains("clock skew"), "{stderr}");

    // A wrong issuer is caught at discovery, before any assertion is sent.
    let mut args = tenant.token_args(&enabled.private_key());
    let issuer_at = args.iter().position(|a| a == "--issuer").unwrap() + 1;
    args[issuer_at] = tenant.app.issuer.trim_end_matches('/').to_owned();
    let out = signet(args).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("issuer"), "{stderr}");
    assert!(
        stderr.contains(&format!("--issuer {}", tenant.app.issuer)),
        "{stderr}"
    );

    // A public key given as --key is refused before anything is sent, saying what it is.
    let out = signet(tenant.token_args(&enabled.dir.join("public_key.pem"))).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("this is a public key"),
        "{}",
        text(&out.stderr)
    );
}

async fn signet_token_works_with_openssl_genrsa_keys(db: Db) {
    let Some(openssl) = openssl() else {
        return;
    };
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    // OpenSSL 3 writes PKCS#8 by default and PKCS#1 with -traditional (OpenSSL 1.1 always
    // wrote PKCS#1); both must work.
    let mut keys = Vec::new();
    for (name, traditional) in [("default", false), ("traditional", true)] {
        let key = p(&format!("{name}.pem"));
        let mut args = vec!["genrsa", "-out", &key];
        if traditional {
            args.insert(1, "-traditional");
        }
        args.push("2048");
        let out = run(openssl, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let public = p(&format!("{name}.pub.pem"));
        let out = run(openssl, &["rsa", "-in", &key, "-pubout", "-out", &public]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        keys.push((key, std::fs::read_to_string(&public).unwrap()));
    }
    let header = |k: &str| std::fs::read_to_string(k).unwrap();
    assert!(header(&keys[1].0).starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    let bodies: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, (_, public))| {
            json!({"credential_type": "public_key", "name": format!("k{i}"), "pem": public, "alg": "RS256"})
        })
        .collect();
    let tenant = Tenant::new(app, &bodies.iter().collect::<Vec<_>>()).await;
    for (key, _) in &keys {
        let out = signet(tenant.token_args(Path::new(key))).await;
        assert!(out.status.success(), "{key}: {}", text(&out.stderr));
        let response: Value = serde_json::from_slice(&out.stdout).unwrap();
        tenant.assert_token_for_this_app(response["access_token"].as_str().unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// the library

async fn library_caches_tokens_and_shares_one_request_among_concurrent_callers(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let tenant = Tenant::new(app, &[&made.body]).await;
    let proxy = CountingProxy::start(tenant.app.url("/oauth/token")).await;
    let client = tenant
        .library(&made.private_key())
        .token_endpoint(proxy.url.as_str())
        .build()
        .unwrap();

    // Sixteen tasks ask at once: one request, one token for all.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.token(API).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap().as_str().to_owned());
    }
    assert_eq!(proxy.count(), 1, "concurrent callers share one request");
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    tenant.assert_token_for_this_app(&tokens[0]);

    // Later calls within the lifetime come from the cache.
    for _ in 0..5 {
        assert_eq!(client.token(API).await.unwrap().as_str(), tokens[0]);
    }
    assert_eq!(proxy.count(), 1, "repeated calls are served from the cache");

    // Another scope is another token; forgetting one forces a new request for it.
    let narrow = client
        .token_with_scope(API, Some("read:stock"))
        .await
        .unwrap();
    assert_eq!(narrow.scope(), Some("read:stock"));
    assert_eq!(proxy.count(), 2);
    client.forget(API, None);
    let renewed = client.token(API).await.unwrap();
    assert_eq!(proxy.count(), 3);
    assert_ne!(renewed.as_str(), tokens[0]);
    let left = renewed.expires_in().unwrap();
    assert!(left > Duration::from_secs(86_000) && left <= Duration::from_secs(86_400));
}

async fn library_renews_a_token_before_it_expires(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let tenant = Tenant::new(app, &[&made.body]).await;
    // A 4 s token: renewed once less than half of it is left (the margin's cap).
    let api_id = tenant.app.resource_server_id(&tenant.admin, API).await;
    let res = tenant
        .app
        .patch_json(
            &tenant.admin,
            &format!("/api/v2/resource-servers/{api_id}"),
            &json!({"token_lifetime": 4}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let proxy = CountingProxy::start(tenant.app.url("/oauth/token")).await;
    let client = tenant
        .library(&made.private_key())
        .token_endpoint(proxy.url.as_str())
        .build()
        .unwrap();
    let first = client.token(API).await.unwrap();
    assert!(first.expires_in().unwrap() <= Duration::from_secs(4));
    assert_eq!(client.token(API).await.unwrap().as_str(), first.as_str());
    assert_eq!(proxy.count(), 1);

    // Past the renewal point (2 s) but before expiry (4 s): a new token, still unexpired.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let second = client.token(API).await.unwrap();
    assert_eq!(proxy.count(), 2, "renewed before expiry");
    assert_ne!(second.as_str(), first.as_str());
    assert!(second.expires_in().unwrap() > Duration::from_secs(2));
    assert_eq!(client.token(API).await.unwrap().as_str(), second.as_str());
    assert_eq!(proxy.count(), 2);
}

async fn library_reports_a_refused_key_and_caches_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let enabled = keygen(tmp.path(), "enabled", &[]).await;
    let stranger = keygen(tmp.path(), "stranger", &[]).await;
    let tenant = Tenant::new(app, &[&enabled.body]).await;
    let proxy = CountingProxy::start(tenant.app.url("/oauth/token")).await;
    let client = tenant
        .library(&stranger.private_key())
        .token_endpoint(proxy.url.as_str())
        .build()
        .unwrap();
    for attempt in 1..=2 {
        match client.token(API).await {
            Err(Error::Rejected(r)) => {
                assert_eq!(r.status, 401);
                assert_eq!(r.error, "invalid_client");
                assert!(r.server_date.is_some());
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(proxy.count(), attempt, "a failure is not cached");
    }
}

async fn library_refuses_an_issuer_the_server_does_not_publish(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    let tenant = Tenant::new(app, &[&made.body]).await;

    // Through discovery, with the issuer as published: works.
    let client = tenant.library(&made.private_key()).build().unwrap();
    let token = client.token(API).await.unwrap();
    tenant.assert_token_for_this_app(token.as_str());
    assert_eq!(
        client.token_endpoint().await.unwrap(),
        format!("{}oauth/token", tenant.app.issuer)
    );

    // Without the trailing slash every assertion would be refused for its aud: discovery says so.
    let wrong = Client::builder(
        tenant.app.issuer.trim_end_matches('/'),
        tenant.client_id.as_str(),
        std::fs::read_to_string(made.private_key()).unwrap(),
    )
    .build()
    .unwrap();
    match wrong.token(API).await {
        Err(Error::IssuerMismatch {
            configured,
            discovered,
        }) => {
            assert_eq!(discovered, tenant.app.issuer);
            assert_eq!(configured, tenant.app.issuer.trim_end_matches('/'));
        }
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }
}
