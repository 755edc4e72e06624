//! HTTPS served by signet itself (`--tls-cert`/`--tls-key`), with a private CA made here: tokens
//! over HTTP/2 and HTTP/1.1, `signet token` trusting the CA, HSTS on HTTPS only, the handshake
//! under the header timeout, and the certificate replaced without a restart, both when its files
//! change and on SIGHUP to the real binary, with open connections kept and a bad certificate
//! refused.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use reqwest::{StatusCode, Version};
use serde_json::{Value, json};
use signet::config::{HttpLimits, Settings, TlsFiles};
use tokio::io::AsyncReadExt;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Database, Db, TestApp};
use crate::on_both_databases;
use crate::serve_process::{SIGNET, ServeProcess};

const API: &str = "https://inventory.example.com/";
const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keys/rsa2048.key.pem"
);
const PUBLIC_KEY: &str = include_str!("../fixtures/keys/rsa2048.pub.pem");
const HSTS: &str = "max-age=31536000";

on_both_databases!(
    tokens_over_https_with_http2_and_hsts,
    signet_token_reaches_an_https_issuer_when_told_to_trust_its_ca,
    a_changed_certificate_file_is_served_to_new_connections_while_open_ones_go_on,
);

// ---------------------------------------------------------------------------------------------
// helpers

/// A private CA, and certificates it issues for `localhost` and `127.0.0.1`.
pub struct Pki {
    pub ca_pem: String,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// One server certificate: its files' contents, and the DER a client sees.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Pki {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Names and usages OpenSSL's strict verification wants (Python's `ssl` uses it): a
        // leaf that shared the CA's name would look self-signed.
        params
            .distinguished_name
            .push(DnType::CommonName, "signet test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self {
            ca_pem: ca.pem(),
            ca,
        }
    }

    /// A certificate told apart from the others by its serial number (and its key).
    pub fn leaf(&self, serial: u64) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.serial_number = Some(SerialNumber::from(serial));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.use_authority_key_identifier_extension = true;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// An HTTP client that trusts this CA and reports the server's certificate.
    pub fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap()])
            .tls_info(true)
    }
}

/// The certificate and key files the server reads, in a directory of their own.
pub struct CertFiles {
    _dir: tempfile::TempDir,
    pub files: TlsFiles,
}

impl CertFiles {
    pub fn new(leaf: &Leaf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let this = Self { _dir: dir, files };
        this.install(leaf);
        this
    }

    /// Replaces both files, each by a rename, as deployment tools do.
    pub fn install(&self, leaf: &Leaf) {
        replace(&self.files.key, &leaf.key_pem);
        replace(&self.files.cert, &leaf.cert_pem);
    }
}

fn replace(path: &Path, text: &str) {
    let draft = path.with_extension("new");
    std::fs::write(&draft, text).unwrap();
    std::fs::rename(&draft, path).unwrap();
}

/// The certificate the server presented on the connection that carried `res`.
fn server_certificate(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("a TLS connection reports its certificate")
        .to_vec()
}

async fn start_with_tls(db: Db, files: &TlsFiles, pki: &Pki) -> Option<TestApp> {
    let database = Database::create(db).await?;
    let tls = files.clone();
    let mut app = TestApp::start(database, move |s| Settings {
        tls: Some(tls),
        ..s
    })
    .await;
    app.http = pki.client().build().unwrap();
    Some(app)
}

/// A Private Key JWT application granted the API, with the fixture key.
async fn key_app(app: &TestApp) -> String {
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read:stock"]).await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/clients",
            &json!({
                "name": "stock-sync", "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [
                    {"credential_type": "public_key", "pem": PUBLIC_KEY, "alg": "RS256"}]}}
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let client: Value = res.json().await.unwrap();
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    app.grant(&admin, &client_id, API, &["read:stock"]).await;
    client_id
}

// ---------------------------------------------------------------------------------------------
// serving HTTPS

async fn tokens_over_https_with_http2_and_hsts(db: Db) {
    let pki = Pki::new();
    let cert = CertFiles::new(&pki.leaf(1));
    let Some(app) = start_with_tls(db, &cert.files, &pki).await else {
        return;
    };
    assert!(
        app.issuer.starts_with("https://127.0.0.1:"),
        "without --issuer the issuer is https://<listen>/: {}",
        app.issuer
    );

    // HTTP/2, chosen by ALPN, with HSTS.
    let res = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.headers()["strict-transport-security"], HSTS);
    let discovery: Value = res.json().await.unwrap();
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}oauth/token", app.issuer)
    );

    // A Management API token, and an access token for an API, over that connection.
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read:stock"]).await;
    let client = app.create_client(&admin, "over-tls").await;
    let id = client["client_id"].as_str().unwrap();
    app.grant(&admin, id, API, &["read:stock"]).await;
    let res = app
        .secret_token_request(id, client["client_secret"].as_str().unwrap(), API)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.headers()["strict-transport-security"], HSTS);
    let body: Value = res.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() > 100));

    // HTTP/1.1 over TLS too, and HSTS on errors as well.
    let http1 = pki.client().http1_only().build().unwrap();
    let res = http1.get(app.url("/no/such/route")).send().await.unwrap();
    assert_eq!(res.version(), Version::HTTP_11);
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["strict-transport-security"], HSTS);

    // A client that does not trust the CA is refused at the handshake.
    let untrusting = reqwest::Client::new();
    let refused = untrusting
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{refused:?}")
            .to_lowercase()
            .contains("certificate"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_never_sends_hsts() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    for path in ["/.well-known/openid-configuration", "/no/such/route"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert!(
            !res.headers().contains_key("strict-transport-security"),
            "{path}"
        );
    }
    let res = app
        .secret_token_request("nobody", "wrong-secret-0123456789", API)
        .await;
    assert!(!res.headers().contains_key("strict-transport-security"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_says_hello_is_closed_at_the_header_timeout() {
    let pki = Pki::new();
    let cert = CertFiles::new(&pki.leaf(1));
    let database = Database::create(Db::Sqlite).await.unwrap();
    let tls = cert.files.clone();
    let app = TestApp::start(database, move |s| Settings {
        tls: Some(tls),
        http: HttpLimits {
            header_timeout: Duration::from_secs(1),
            ..HttpLimits::default()
        },
        ..s
    })
    .await;
    let addr = app.base.trim_start_matches("https://").to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 64];
    // Without the bound the handshake would wait for ever, and so would this read.
    let read = tokio::time::timeout(Duration::from_secs(30), silent.read(&mut buf))
        .await
        .expect("the server closes a connection that sends no ClientHello");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // Other clients are served meanwhile and after.
    let http = pki.client().build().unwrap();
    let res = http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_at_start_is_a_fatal_error_naming_the_file() {
    let pki = Pki::new();
    let good = pki.leaf(1);
    let other = pki.leaf(2);
    let cert = CertFiles::new(&good);
    // The key of another certificate.
    replace(&cert.files.key, &other.key_pem);
    let database = Database::create(Db::Sqlite).await.unwrap();
    let settings = Settings {
        tls: Some(cert.files.clone()),
        ..database.settings()
    };
    let error = match signet::app::Application::build(settings).await {
        Ok(_) => panic!("the server started with a key that is not its certificate's"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        error.contains("does not belong") && error.contains("key.pem"),
        "{error}"
    );

    // A certificate file that is not there.
    let missing = TlsFiles {
        cert: cert.files.cert.with_file_name("missing.pem"),
        key: cert.files.key.clone(),
    };
    let settings = Settings {
        tls: Some(missing),
        ..database.settings()
    };
    let error = match signet::app::Application::build(settings).await {
        Ok(_) => panic!("the server started without its certificate file"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("missing.pem"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// signet token

async fn signet_token_reaches_an_https_issuer_when_told_to_trust_its_ca(db: Db) {
    let pki = Pki::new();
    let cert = CertFiles::new(&pki.leaf(1));
    let Some(app) = start_with_tls(db, &cert.files, &pki).await else {
        return;
    };
    let client_id = key_app(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "token",
            "--issuer",
            &app.issuer,
            "--client-id",
            &client_id,
            "--key",
            KEY,
            "--audience",
            API,
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };

    let out = run_signet(args(&["--ca-cert", &ca_file.display().to_string()]), None).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(body["access_token"].is_string(), "{body}");

    // The same through the environment.
    let out = run_signet(args(&[]), Some(&ca_file)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without the CA, the server's certificate is not trusted, and the error says so.
    let out = run_signet(args(&[]), None).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

async fn run_signet(args: Vec<String>, ca_env: Option<&Path>) -> std::process::Output {
    let ca_env = ca_env.map(Path::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(SIGNET);
        command.args(&args).env_remove("SIGNET_CA_CERT");
        if let Some(ca) = ca_env {
            command.env("SIGNET_CA_CERT", ca);
        }
        command.output().expect("run signet")
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// certificate reload

async fn a_changed_certificate_file_is_served_to_new_connections_while_open_ones_go_on(db: Db) {
    let pki = Pki::new();
    let first = pki.leaf(1);
    let second = pki.leaf(2);
    let cert = CertFiles::new(&first);
    let Some(app) = start_with_tls(db, &cert.files, &pki).await else {
        return;
    };
    let open = app.http.clone();
    let res = open.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(server_certificate(&res), first.der);

    cert.install(&second);
    let reloaded = wait_for_certificate(&pki, &app.url("/healthz"), &second.der).await;
    assert!(
        reloaded,
        "new connections get the new certificate without a restart"
    );

    // The connection opened before the change is still up, still on the first certificate.
    let res = open.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(server_certificate(&res), first.der);
    let token = app.management_token().await;
    assert!(!token.is_empty());
}

/// Whether a new connection gets `expected` within a few reload polls.
async fn wait_for_certificate(pki: &Pki, url: &str, expected: &[u8]) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        // A client of its own: a new connection, hence a new handshake.
        let fresh = pki.client().build().unwrap();
        if let Ok(res) = fresh.get(url).send().await
            && server_certificate(&res) == expected
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The real binary: SIGHUP reloads the certificate; a bad certificate, on SIGHUP or when the
/// files change, is refused with a warning naming the cause and the one in use stays; a good
/// one written later is taken up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_a_bad_one_is_refused() {
    let pki = Pki::new();
    let leaves: Vec<Leaf> = (10..13).map(|serial| pki.leaf(serial)).collect();
    let cert = CertFiles::new(&leaves[0]);
    let mut server = Server::start(&cert.files);
    let health = format!("{}/healthz", server.base);
    let open = pki.client().build().unwrap();
    let res = open.get(&health).send().await.unwrap();
    assert_eq!(server_certificate(&res), leaves[0].der);

    // SIGHUP after new files: the new certificate for new connections.
    cert.install(&leaves[1]);
    server.hangup();
    server.wait_for_log(
        "reloaded the TLS certificate; new connections use it",
        "SIGHUP",
    );
    assert_eq!(
        new_connection_certificate(&pki, &health).await,
        leaves[1].der
    );

    // A broken certificate file, then SIGHUP: refused, with the file named.
    replace(
        &cert.files.cert,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n",
    );
    server.hangup();
    let warning = server.wait_for_log(
        "kept the TLS certificate in use: the new one cannot be loaded",
        "SIGHUP",
    );
    assert!(
        warning["error"].as_str().unwrap().contains("cert.pem"),
        "{warning}"
    );
    assert_eq!(
        new_connection_certificate(&pki, &health).await,
        leaves[1].der
    );

    // A key that is not the certificate's, noticed as a file change: refused too.
    replace(&cert.files.cert, &leaves[2].cert_pem);
    let warning = server.wait_for_log(
        "kept the TLS certificate in use: the new one cannot be loaded",
        "the certificate or key file changed",
    );
    assert!(
        warning["error"]
            .as_str()
            .unwrap()
            .contains("does not belong"),
        "{warning}"
    );
    assert_eq!(
        new_connection_certificate(&pki, &health).await,
        leaves[1].der
    );

    // Its key arrives: the pair is taken up.
    replace(&cert.files.key, &leaves[2].key_pem);
    server.wait_for_log(
        "reloaded the TLS certificate; new connections use it",
        "the certificate or key file changed",
    );
    assert_eq!(
        new_connection_certificate(&pki, &health).await,
        leaves[2].der
    );

    // The first connection lived through all of it.
    let res = open.get(&health).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(server_certificate(&res), leaves[0].der);
}

async fn new_connection_certificate(pki: &Pki, url: &str) -> Vec<u8> {
    let fresh = pki.client().build().unwrap();
    let res = fresh.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server_certificate(&res)
}

/// `signet serve` over TLS as a child process, on a database of its own.
struct Server {
    process: ServeProcess,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(files: &TlsFiles) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut process = ServeProcess::spawn(|command| {
            command
                .env("SIGNET_LISTEN", "127.0.0.1:0")
                .env(
                    "SIGNET_DATABASE_URL",
                    format!("sqlite://{}", dir.path().join("s.db").display()),
                )
                .env(
                    "SIGNET_MASTER_KEY",
                    signet::crypto::sealing::MasterKey::generate_base64(),
                )
                .env("SIGNET_ADMIN_EMAIL", ADMIN_EMAIL)
                .env("SIGNET_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("SIGNET_TLS_CERT", &files.cert)
                .env("SIGNET_TLS_KEY", &files.key)
                .env("SIGNET_LOG_FORMAT", "json")
                .env("RUST_LOG", "info")
        });
        let base = process.listening("https");
        Self {
            process,
            base,
            _dir: dir,
        }
    }

    fn hangup(&self) {
        self.process.signal("-HUP");
    }

    /// The next log event with this message and cause.
    fn wait_for_log(&mut self, message: &str, cause: &str) -> Value {
        self.process
            .wait_for_event(|e| e["message"] == message && e["cause"] == cause)
    }
}

/// Auth0's Python SDK over HTTPS with the test CA trusted: `.ci/run` installs `auth0-python`;
/// elsewhere the test skips with a message when Python or the SDK is missing.
#[tokio::test]
async fn auth0_python_sdk_gets_tokens_over_https() {
    let sdk = Command::new("python3")
        .args(["-c", "import auth0.authentication, auth0.management"])
        .output();
    if !sdk.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !crate::helpers::in_ci(),
            "auth0-python is required under CI=true (pip install auth0-python)"
        );
        eprintln!("SKIPPED: Auth0 Python SDK over HTTPS (pip install auth0-python)");
        return;
    }
    let pki = Pki::new();
    let cert = CertFiles::new(&pki.leaf(1));
    let Some(app) = start_with_tls(Db::Sqlite, &cert.files, &pki).await else {
        return;
    };
    let client_id = key_app(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let domain = app
        .issuer
        .strip_prefix("https://")
        .and_then(|rest| rest.strip_suffix('/'))
        .expect("an https issuer")
        .to_owned();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/auth0_python_https.py"
    );
    let mut run = Command::new("python3");
    run.arg(script)
        .env("REQUESTS_CA_BUNDLE", &ca_file)
        .env("SSL_CERT_FILE", &ca_file)
        .env("SIGNET_DOMAIN", &domain)
        .env("SIGNET_BOOTSTRAP_ID", crate::helpers::BOOTSTRAP_ID)
        .env("SIGNET_BOOTSTRAP_SECRET", crate::helpers::BOOTSTRAP_SECRET)
        .env("SIGNET_KEY_CLIENT_ID", &client_id)
        .env("SIGNET_KEY_FILE", KEY)
        .env("SIGNET_API", API);
    let out = tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = answer["client_ids"].as_array().unwrap();
    assert!(ids.iter().any(|id| id == &json!(client_id)), "{answer}");
    assert_eq!(answer["token_type"], "Bearer");

    // The token the SDK got names the application and the API, signed by the tenant.
    let token = answer["access_token"].as_str().unwrap();
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], format!("{client_id}@clients"));
    assert_eq!(claims["iss"], app.issuer);
}
