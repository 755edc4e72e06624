//! The client side against a running signet: `signet keygen` output (every key type, its JWKS)
//! accepted by the Management API and by OpenSSL, `signet token` (the real binary) with keygen
//! and `openssl genrsa` keys, the `kid` and `typ` it sends, its hint when the key is refused, and
//! the `signet-client` library's cache, refresh and request sharing, counted through a proxy in
//! front of the token endpoint.
//!
//! `ec_assertions_get_tokens_end_to_end` needs a server that takes EC and Ed25519 credentials.

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
    signet_token_sends_the_thumbprint_as_kid_and_the_typ_asked_for,
    ec_assertions_get_tokens_end_to_end,
);

/// Every algorithm `signet keygen --alg` takes.
const ALGS: [&str; 6] = ["RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA"];

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
pub async fn signet(args: Vec<String>) -> Output {
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
    /// The one key of `jwks.json`.
    jwk: Value,
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
    let jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("jwks.json")).unwrap()).unwrap();
    let keys = jwks["keys"].as_array().expect("a JWKS");
    assert_eq!(keys.len(), 1, "{jwks}");
    let jwk = keys[0].clone();
    assert_eq!(
        jwk["kid"],
        kid.as_str(),
        "the JWKS names the key by the printed kid"
    );
    Keygen {
        dir,
        kid,
        body,
        jwk,
    }
}

/// RFC 7638 §3.2, written out here apart from the code under test: SHA-256 over the required
/// members in lexicographic order, without whitespace.
fn thumbprint_of_jwk(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "RSA" => json!({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}),
        "EC" => json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}),
        "OKP" => json!({"crv": jwk["crv"], "kty": "OKP", "x": jwk["x"]}),
        other => panic!("kty {other}"),
    };
    // serde_json's map is ordered by key, which is the order RFC 7638 wants.
    let text = serde_json::to_string(&canonical).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn assertion_args(issuer: &str, client_id: &str, key: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "assertion",
        "--issuer",
        issuer,
        "--client-id",
        client_id,
        "--key",
        &key.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
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

    /// Another application of the tenant, with `credentials` and granted the API.
    async fn another_client(&self, name: &str, credentials: &[&Value]) -> String {
        let res = self
            .app
            .post_json(&self.admin, "/api/v2/clients", &json!({
                "name": name, "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": credentials}}
            }))
            .await;
        let status = res.status();
        let client: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{client}");
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        self.app
            .grant(&self.admin, &client_id, API, &["read:stock", "write:stock"])
            .await;
        client_id
    }

    fn token_args(&self, key: &Path) -> Vec<String> {
        self.token_args_for(&self.client_id, key)
    }

    fn token_args_for(&self, client_id: &str, key: &Path) -> Vec<String> {
        [
            "token",
            "--issuer",
            &self.app.issuer,
            "--client-id",
            client_id,
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
    for alg in ["RS256", "ES256", "ES384", "EdDSA"] {
        let made = keygen(
            tmp.path(),
            alg,
            &[
                "--alg",
                alg,
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

        let out = run(openssl, &["pkey", "-in", &p(&private), "-noout", "-text"]);
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));
        let described = text(&out.stdout);
        let expected = match alg {
            "RS256" => "Private-Key: (2048 bit",
            "ES256" => "NIST CURVE: P-256",
            "ES384" => "NIST CURVE: P-384",
            _ => "ED25519 Private-Key",
        };
        assert!(described.contains(expected), "{alg}: {described}");
        let out = run(openssl, &["pkey", "-pubin", "-in", &p(&public), "-noout"]);
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));
        let out = run(
            openssl,
            &["x509", "-in", &p(&cert), "-noout", "-subject", "-enddate"],
        );
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));
        let described = text(&out.stdout);
        assert!(described.contains("stock-sync"), "{alg}: {described}");
        // Self-signed: the certificate verifies with its own key.
        let out = run(
            openssl,
            &["verify", "-CAfile", &p(&cert), "-check_ss_sig", &p(&cert)],
        );
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));

        // The public key file, and the key inside the certificate, are the private key's own.
        let derived = run(openssl, &["pkey", "-in", &p(&private), "-pubout"]);
        assert_eq!(
            text(&derived.stdout),
            std::fs::read_to_string(&public).unwrap(),
            "{alg}"
        );
        let in_cert = run(openssl, &["x509", "-in", &p(&cert), "-noout", "-pubkey"]);
        assert_eq!(
            text(&in_cert.stdout),
            std::fs::read_to_string(&public).unwrap(),
            "{alg}"
        );
        // PKCS#8, as Auth0's Node SDK wants it.
        assert!(
            std::fs::read_to_string(&private)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
    }
}

#[tokio::test]
async fn keygen_makes_each_key_type_with_a_jwks_that_matches_it() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};

    let tmp = tempfile::tempdir().unwrap();
    for alg in ALGS {
        let made = keygen(tmp.path(), alg, &["--alg", alg]).await;
        assert_eq!(made.body["alg"], alg);
        assert!(
            made.body["pem"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );

        // The JWKS: the public key with kid = its RFC 7638 thumbprint, alg and use.
        let jwk = &made.jwk;
        let (kty, members) = match alg {
            "ES256" => ("EC", vec!["kty", "crv", "x", "y"]),
            "ES384" => ("EC", vec!["kty", "crv", "x", "y"]),
            "EdDSA" => ("OKP", vec!["kty", "crv", "x"]),
            _ => ("RSA", vec!["kty", "n", "e"]),
        };
        assert_eq!(jwk["kty"], kty, "{alg}");
        for m in members.iter().chain(&["kid", "alg", "use"]) {
            assert!(jwk.get(m).is_some(), "{alg}: {m} missing in {jwk}");
        }
        assert_eq!(
            jwk.as_object().unwrap().len(),
            members.len() + 3,
            "{alg}: {jwk}"
        );
        match alg {
            "ES256" => assert_eq!(jwk["crv"], "P-256"),
            "ES384" => assert_eq!(jwk["crv"], "P-384"),
            "EdDSA" => assert_eq!(jwk["crv"], "Ed25519"),
            _ => assert_eq!(jwk["e"], "AQAB"),
        }
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(thumbprint_of_jwk(jwk), made.kid, "{alg}");

        // The private key file is the JWKS key's private half: the client library computes the
        // same thumbprint from it ...
        let pem = std::fs::read_to_string(made.private_key()).unwrap();
        let key = signet_client::PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(key.thumbprint(), made.kid, "{alg}");

        // ... and what `signet assertion` signs with it verifies with the JWKS key and with the
        // public key file, in an independent JWT library.
        let out = signet(assertion_args(
            "https://tenant.example.com/",
            "app-0001",
            &made.private_key(),
            &["--alg", alg],
        ))
        .await;
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));
        let assertion = text(&out.stdout).trim().to_owned();
        assert_eq!(
            header_of(&assertion),
            json!({"alg": alg, "typ": "JWT", "kid": made.kid}),
            "{alg}"
        );
        let algorithm: Algorithm = alg.parse().unwrap();
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&["https://tenant.example.com/"]);
        validation.set_issuer(&["app-0001"]);
        let from_jwks =
            DecodingKey::from_jwk(&serde_json::from_value::<Jwk>(jwk.clone()).unwrap()).unwrap();
        let public = std::fs::read(made.dir.join("public_key.pem")).unwrap();
        let from_pem = match kty {
            "RSA" => DecodingKey::from_rsa_pem(&public),
            "EC" => DecodingKey::from_ec_pem(&public),
            _ => DecodingKey::from_ed_pem(&public),
        }
        .unwrap();
        for decoding in [from_jwks, from_pem] {
            jsonwebtoken::decode::<Value>(&assertion, &decoding, &validation)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
        }

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| {
                std::fs::metadata(made.dir.join(f))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("private_key.pem"), 0o600, "{alg}");
            assert_eq!(mode("jwks.json"), 0o644, "{alg}");
        }
    }
}

#[tokio::test]
async fn keygen_refuses_bits_for_ec_and_ed25519_keys() {
    let tmp = tempfile::tempdir().unwrap();
    for alg in ["ES256", "ES384", "EdDSA"] {
        let dir = tmp.path().join(alg);
        let out = signet(vec![
            "keygen".into(),
            "--alg".into(),
            alg.into(),
            "--bits".into(),
            "2048".into(),
            "--out".into(),
            dir.display().to_string(),
        ])
        .await;
        assert_eq!(out.status.code(), Some(1), "{alg}");
        assert!(
            text(&out.stderr).contains("--bits is for RSA keys"),
            "{alg}: {}",
            text(&out.stderr)
        );
        assert!(!dir.exists(), "{alg}: nothing written");
    }
    let out = signet(vec![
        "keygen".into(),
        "--alg".into(),
        "ES512".into(),
        "--out".into(),
        tmp.path().join("es512").display().to_string(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(!tmp.path().join("es512").exists());
}

#[cfg(unix)]
#[tokio::test]
async fn keygen_writes_the_private_key_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    for alg in ALGS {
        let made = keygen(tmp.path(), alg, &["--alg", alg]).await;
        let mode = std::fs::metadata(made.private_key())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{alg}");
    }
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
    for (stray, alg) in [
        ("credential.json", "RS256"),
        ("jwks.json", "ES256"),
        ("public_key.pem", "EdDSA"),
    ] {
        let other = tmp.path().join(format!("other-{alg}"));
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(stray), "{}").unwrap();
        let out = signet(vec![
            "keygen".into(),
            "--alg".into(),
            alg.into(),
            "--out".into(),
            other.display().to_string(),
        ])
        .await;
        assert!(!out.status.success(), "{stray}");
        assert!(
            text(&out.stderr).contains("refusing to overwrite"),
            "{}",
            text(&out.stderr)
        );
        assert!(!other.join("private_key.pem").exists(), "{stray}");
        let left: Vec<_> = std::fs::read_dir(&other).unwrap().collect();
        assert_eq!(left.len(), 1, "{stray}: only the stray file is there");
        assert_eq!(std::fs::read_to_string(other.join(stray)).unwrap(), "{}");
    }
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
        ("ed25519.pub.pem", "this is a public key"),
    ] {
        let out = signet(base(&fixture(file), "60")).await;
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(
            text(&out.stderr).contains(says),
            "{file}: {}",
            text(&out.stderr)
        );
    }

    // An algorithm the key does not sign is refused before anything is signed, saying which
    // algorithms the key does sign.
    for (file, alg, says) in [
        (
            made.private_key().display().to_string(),
            "ES256",
            "ES256 needs an EC P-256 key, but this key is RSA; with this key use RS256, RS384 or PS256",
        ),
        (
            fixture("ec-p256.key.pem"),
            "ES384",
            "ES384 needs an EC P-384 key, but this key is EC P-256; with this key use ES256",
        ),
        (
            fixture("ec-p256.sec1.key.pem"),
            "RS256",
            "RS256 needs an RSA key, but this key is EC P-256",
        ),
    ] {
        let mut args = base(&file, "60");
        args.extend(["--alg".to_owned(), alg.to_owned()]);
        let out = signet(args).await;
        assert_eq!(out.status.code(), Some(1), "{file} {alg}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains(says),
            "{file} {alg}: {}",
            text(&out.stderr)
        );
    }

    // EC keys, PKCS#8 or SEC1, sign ES256 without being told.
    for file in ["ec-p256.key.pem", "ec-p256.sec1.key.pem"] {
        let out = signet(base(&fixture(file), "60")).await;
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert_eq!(header_of(text(&out.stdout).trim())["alg"], "ES256");
    }
}

#[tokio::test]
async fn signet_assertion_sends_the_kid_and_typ_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &["--alg", "EdDSA"]).await;
    let header = |extra: &'static [&'static str]| {
        let args = assertion_args(
            "https://tenant.example.com/",
            "app-0001",
            &made.private_key(),
            extra,
        );
        async move {
            let out = signet(args).await;
            assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
            header_of(text(&out.stdout).trim())
        }
    };
    assert_eq!(
        header(&[]).await,
        json!({"alg": "EdDSA", "typ": "JWT", "kid": made.kid})
    );
    assert_eq!(
        header(&["--kid", "my-own-kid-0001"]).await,
        json!({"alg": "EdDSA", "typ": "JWT", "kid": "my-own-kid-0001"})
    );
    assert_eq!(
        header(&["--no-kid", "--typ", "client-authentication+jwt"]).await,
        json!({"alg": "EdDSA", "typ": "client-authentication+jwt"})
    );

    let mut args = assertion_args(
        "https://tenant.example.com/",
        "app-0001",
        &made.private_key(),
        &["--kid", "k", "--no-kid"],
    );
    let out = signet(args.clone()).await;
    assert!(!out.status.success(), "--kid and --no-kid conflict");
    args.truncate(args.len() - 3);
    args.extend(["--typ".to_owned(), "at+jwt".to_owned()]);
    let out = signet(args).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("client-authentication+jwt"));
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

async fn signet_token_sends_the_thumbprint_as_kid_and_the_typ_asked_for(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let made = keygen(tmp.path(), "svc", &[]).await;
    // The same kind of key uploaded with its own kid instead of the thumbprint.
    let own = keygen(tmp.path(), "own", &[]).await;
    let mut own_body = own.body.clone();
    own_body["kid"] = json!("stock-sync-key-2026");
    let tenant = Tenant::new(app, &[&made.body, &own_body]).await;

    // By default the kid is the thumbprint, which the server gave the credential.
    let ok = |extra: &'static [&'static str], key: PathBuf| {
        let mut args = tenant.token_args(&key);
        args.extend(extra.iter().map(|s| s.to_string()));
        async move {
            let out = signet(args).await;
            assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
            let response: Value = serde_json::from_slice(&out.stdout).unwrap();
            response["access_token"].as_str().unwrap().to_owned()
        }
    };
    let token = ok(&[], made.private_key()).await;
    tenant.assert_token_for_this_app(&token);
    ok(&["--typ", "client-authentication+jwt"], made.private_key()).await;
    ok(&["--no-kid"], made.private_key()).await;

    // A credential with its own kid needs that kid, or none: the thumbprint names no credential.
    let out = signet(tenant.token_args(&own.private_key())).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(
        stderr.contains(&format!("the kid sent ({}, the key's thumbprint)", own.kid)),
        "{stderr}"
    );
    assert!(stderr.contains("--kid KID, or --no-kid"), "{stderr}");
    ok(&["--kid", "stock-sync-key-2026"], own.private_key()).await;
    ok(&["--no-kid"], own.private_key()).await;

    // The library alike.
    let client = tenant.library(&made.private_key()).build().unwrap();
    assert_eq!(client.kid(), Some(made.kid.as_str()));
    client.token(API).await.unwrap();
    let refused = tenant
        .library(&own.private_key())
        .build()
        .unwrap()
        .request_token(API, None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Rejected(ref r) if r.status == 401),
        "{refused}"
    );
    for builder in [
        tenant
            .library(&own.private_key())
            .kid("stock-sync-key-2026"),
        tenant
            .library(&own.private_key())
            .without_kid()
            .typ(signet_client::Typ::ClientAuthentication),
    ] {
        builder.build().unwrap().token(API).await.unwrap();
    }
}

/// Needs a server that takes EC P-256, EC P-384 and Ed25519 credentials (ES256, ES384, EdDSA):
/// keys made by `signet keygen`, uploaded as it prints them, get tokens through `signet token`,
/// `signet assertion` and the library.
async fn ec_assertions_get_tokens_end_to_end(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let es256 = keygen(tmp.path(), "es256", &["--alg", "ES256", "--cert"]).await;
    let es384 = keygen(tmp.path(), "es384", &["--alg", "ES384"]).await;
    let eddsa = keygen(tmp.path(), "eddsa", &["--alg", "EdDSA"]).await;
    // At most two credentials per application: Ed25519 gets an application of its own.
    let tenant = Tenant::new(app, &[&es256.body, &es384.body]).await;
    let ed_client = tenant.another_client("stock-audit", &[&eddsa.body]).await;

    for (made, client_id, alg) in [
        (&es256, &tenant.client_id, "ES256"),
        (&es384, &tenant.client_id, "ES384"),
        (&eddsa, &ed_client, "EdDSA"),
    ] {
        let key = made.private_key();
        let claims_ok = |token: &str| {
            let claims = claims_of(token);
            assert_eq!(claims["sub"], format!("{client_id}@clients"), "{alg}");
            assert_eq!(claims["aud"], API, "{alg}");
        };

        // The credential the server made has the kid keygen printed.
        let listed = tenant
            .app
            .get(
                &tenant.admin,
                &format!("/api/v2/clients/{client_id}/credentials"),
            )
            .await;
        let listed: Value = listed.json().await.unwrap();
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["kid"] == made.kid.as_str() && c["alg"] == alg),
            "{alg}: {listed}"
        );

        // signet token: alg from the key, kid the thumbprint; then no kid and the explicit typ.
        for extra in [
            &[][..],
            &["--no-kid", "--typ", "client-authentication+jwt"][..],
            &["--alg", alg, "--kid", &made.kid][..],
        ] {
            let mut args = tenant.token_args_for(client_id, &key);
            args.extend(extra.iter().map(|s| s.to_string()));
            let out = signet(args).await;
            assert!(
                out.status.success(),
                "{alg} {extra:?}: {}",
                text(&out.stderr)
            );
            let response: Value = serde_json::from_slice(&out.stdout).unwrap();
            claims_ok(response["access_token"].as_str().unwrap());
        }

        // signet assertion, sent by hand.
        let out = signet(assertion_args(&tenant.app.issuer, client_id, &key, &[])).await;
        assert!(out.status.success(), "{alg}: {}", text(&out.stderr));
        let assertion = text(&out.stdout).trim().to_owned();
        assert_eq!(header_of(&assertion)["alg"], alg);
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
        assert_eq!(res.status(), StatusCode::OK, "{alg}");

        // The library.
        let client = Client::builder(
            tenant.app.issuer.as_str(),
            client_id.as_str(),
            std::fs::read_to_string(&key).unwrap(),
        )
        .build()
        .unwrap();
        assert_eq!(client.alg().map(signet_client::Alg::as_str), Some(alg));
        claims_ok(client.token(API).await.unwrap().as_str());
    }

    // The ES256 key signing for the ES384 credential's application with the wrong alg: refused
    // before anything is sent.
    let mut args = tenant.token_args(&es256.private_key());
    args.extend(["--alg".to_owned(), "ES384".to_owned()]);
    let out = signet(args).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ES384 needs an EC P-384 key"),
        "{}",
        text(&out.stderr)
    );
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
