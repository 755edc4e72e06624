//! `TestApp`: the real server, in-process on an ephemeral port, over SQLite or PostgreSQL.
//! Each PostgreSQL test gets a schema of its own so tests run in parallel without touching
//! each other.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

use signet::app::Application;
use signet::clock::ManualClock;
use signet::config::{HttpLimits, LogFormat, MasterKeySource, Settings};
use signet::crypto::sealing::MasterKey;
use signet::crypto::secret::Secret;
use signet::jwks_uri::address::KeyUrlPolicy;
use signet::rate_limit::{Limits, Rate};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const BOOTSTRAP_ID: &str = "bootstrap-test-client";
pub const BOOTSTRAP_SECRET: &str = "bootstrap-test-secret-0123456789";
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub fn postgres_base_url() -> String {
    std::env::var("SIGNET_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Where a test's data lives; kept across restarts of the server.
pub struct Database {
    pub url: String,
    pub master_key: String,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl Database {
    /// A fresh, empty database; `None` (with a visible message) when PostgreSQL is wanted but
    /// unreachable on a developer machine. Under CI=true that is a failure instead.
    pub async fn create(db: Db) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let master_key = MasterKey::generate_base64();
        match db {
            Db::Sqlite => Some(Self {
                url: format!("sqlite://{}", dir.path().join("signet.db").display()),
                master_key,
                schema: None,
                _dir: dir,
            }),
            Db::Postgres => {
                let base = postgres_base_url();
                let schema = format!("signet_test_{}", signet::crypto::random::hex(16));
                sqlx::any::install_default_drivers();
                let created = async {
                    use sqlx::Connection;
                    let mut conn = sqlx::AnyConnection::connect(&base).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                        .execute(&mut conn)
                        .await?;
                    conn.close().await
                }
                .await;
                if let Err(e) = created {
                    if in_ci() {
                        panic!("PostgreSQL is required under CI=true but {base} failed: {e}");
                    }
                    eprintln!("SKIPPED: PostgreSQL test (no database at {base}: {e})");
                    return None;
                }
                let sep = if base.contains('?') { '&' } else { '?' };
                Some(Self {
                    url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                    master_key,
                    schema: Some(schema),
                    _dir: dir,
                })
            }
        }
    }

    /// A pool on this database with only the migrations named before `first_new` (e.g.
    /// `"0013"`) applied: the database as an earlier version left it, to write old-shaped rows
    /// with before `Store::connect` applies the rest.
    pub async fn migrated_before(&self, first_new: &str) -> sqlx::AnyPool {
        let (migrations, url) = if self.schema.is_some() {
            ("migrations/postgres", self.url.clone())
        } else {
            ("migrations/sqlite", format!("{}?mode=rwc", self.url))
        };
        let before = tempfile::tempdir().unwrap();
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(migrations);
        for entry in std::fs::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.as_str() < first_new {
                std::fs::copy(&path, before.path().join(name)).unwrap();
            }
        }
        sqlx::any::install_default_drivers();
        let old = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(before.path())
            .await
            .unwrap()
            .run(&old)
            .await
            .unwrap();
        old
    }

    /// The same database for a second server instance (the first one owns the clean-up).
    pub fn share(&self) -> Self {
        Self {
            url: self.url.clone(),
            master_key: self.master_key.clone(),
            schema: None,
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            issuer: None,
            database_url: self.url.clone(),
            accept_legacy_assertion_audience: false,
            log_format: LogFormat::Text,
            key_urls: KeyUrlPolicy::default(),
            bootstrap: Some((BOOTSTRAP_ID.into(), Secret::new(BOOTSTRAP_SECRET.into()))),
            master_key: MasterKeySource::Inline(Secret::new(self.master_key.clone())),
            admin_email: ADMIN_EMAIL.into(),
            admin_password: Some(Secret::new(ADMIN_PASSWORD.into())),
            limits: test_limits(),
            log_retention: Default::default(),
            http: HttpLimits::default(),
            tls: None,
            trusted_proxies: Default::default(),
            metrics: Default::default(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        let base = postgres_base_url();
        // Drop runs inside the test's runtime: clean up on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await {
                    let _ =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                            .execute(&mut conn)
                            .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// The server's rate limits with the failure budgets and per-caller limits out of the way:
/// tests of other behaviour send dozens of refused requests and hundreds of Management calls
/// from one address in a second. The tests of the limits themselves start from
/// `Limits::default()`.
pub fn test_limits() -> Limits {
    Limits {
        token_failures_per_address: Rate::Off,
        management_per_client: Rate::Off,
        signin_per_address: Rate::Off,
        signin_per_email: Rate::Off,
        ..Limits::default()
    }
}

pub struct TestApp {
    pub base: String,
    pub issuer: String,
    pub http: reqwest::Client,
    pub db: Database,
    /// The server's clock: `app.clock.advance(…)` moves its time forward, instead of a sleep.
    pub clock: Arc<ManualClock>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(db: Db) -> Option<Self> {
        let database = Database::create(db).await?;
        Some(Self::start(database, |s| s).await)
    }

    /// Starts a server on `db` with settings adjusted by `tweak`.
    pub async fn start(db: Database, tweak: impl FnOnce(Settings) -> Settings) -> Self {
        let clock = ManualClock::new();
        let settings = tweak(db.settings());
        let scheme = if settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let app = Application::build_with_clock(settings, clock.clone())
            .await
            .expect("the server starts");
        let addr = app.local_addr();
        let issuer = app.issuer().to_string();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Self {
            base: format!("{scheme}://{addr}"),
            issuer,
            http: reqwest::Client::new(),
            db,
            clock,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Sends the shutdown signal without waiting for the server to stop (see [`TestApp::stop`]).
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully and hands back its database.
    pub async fn stop(mut self) -> Database {
        self.signal_shutdown();
        self.handle
            .take()
            .unwrap()
            .await
            .expect("server task")
            .expect("server stops cleanly");
        std::mem::replace(&mut self.db, placeholder_db())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn management_audience(&self) -> String {
        format!("{}api/v2/", self.issuer)
    }

    /// A Management API token for the bootstrap client (every scope).
    pub async fn management_token(&self) -> String {
        self.token_with_secret(BOOTSTRAP_ID, BOOTSTRAP_SECRET, &self.management_audience())
            .await
    }

    /// A Management API token with exactly `scopes`, through a client granted only those.
    pub async fn management_token_with(&self, scopes: &[&str]) -> String {
        let admin = self.management_token().await;
        let client = self
            .post_json(
                &admin,
                "/api/v2/clients",
                &json!({"name": "scoped", "app_type": "non_interactive"}),
            )
            .await;
        assert_eq!(client.status(), StatusCode::CREATED);
        let client: Value = client.json().await.unwrap();
        let grant = self
            .post_json(
                &admin,
                "/api/v2/client-grants",
                &json!({"client_id": client["client_id"], "audience": self.management_audience(), "scope": scopes}),
            )
            .await;
        assert_eq!(grant.status(), StatusCode::CREATED);
        self.token_with_secret(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str().unwrap(),
            &self.management_audience(),
        )
        .await
    }

    /// A client credentials request with `client_secret_post`, whatever its answer.
    pub async fn secret_token_request(&self, id: &str, secret: &str, audience: &str) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("audience", audience),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn token_with_secret(&self, id: &str, secret: &str, audience: &str) -> String {
        let res = self.secret_token_request(id, secret, audience).await;
        assert_eq!(res.status(), StatusCode::OK, "token request failed");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The id of the resource server with `identifier` (through the Management API).
    pub async fn resource_server_id(&self, token: &str, identifier: &str) -> String {
        let apis: Value = self
            .get(token, "/api/v2/resource-servers")
            .await
            .json()
            .await
            .unwrap();
        apis.as_array()
            .unwrap()
            .iter()
            .find(|a| a["identifier"] == identifier)
            .unwrap_or_else(|| panic!("no resource server {identifier}: {apis}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates an API with `scopes` and returns its JSON.
    pub async fn create_api(&self, token: &str, identifier: &str, scopes: &[&str]) -> Value {
        let scopes: Vec<Value> = scopes.iter().map(|s| json!({"value": s})).collect();
        let res = self
            .post_json(
                token,
                "/api/v2/resource-servers",
                &json!({"identifier": identifier, "name": "Test API", "scopes": scopes}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// Creates a `non_interactive` application and returns its JSON (with the secret).
    pub async fn create_client(&self, token: &str, name: &str) -> Value {
        let res = self
            .post_json(
                token,
                "/api/v2/clients",
                &json!({"name": name, "app_type": "non_interactive"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn grant(
        &self,
        token: &str,
        client_id: &str,
        audience: &str,
        scopes: &[&str],
    ) -> Value {
        let res = self
            .post_json(
                token,
                "/api/v2/client-grants",
                &json!({"client_id": client_id, "audience": audience, "scope": scopes}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }
}

fn placeholder_db() -> Database {
    Database {
        url: String::new(),
        master_key: String::new(),
        schema: None,
        _dir: tempfile::tempdir().expect("temp dir"),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts an Auth0 Management API error body.
pub async fn assert_api_error(res: Response, status: u16, error_code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["statusCode"], status, "{body}");
    assert_eq!(body["errorCode"], error_code, "{body}");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    body
}

/// Asserts a token endpoint error body.
pub async fn assert_oauth_error(res: Response, status: u16, error: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

/// Defines `mod $name { sqlite, postgres }`, running `$test(Db)` against each database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Db::Postgres).await
                }
            }
        )*
    };
}

/// Sends a request whose body the server refuses before reading it (413). The server answers at
/// once and closes the connection; when that races the rest of the upload, the client can see
/// a reset instead of the answer. The race is the transport's, not the server's behaviour, so
/// the request is tried again a few times and the answer is what the test checks.
pub async fn send_oversize(make: impl Fn() -> reqwest::RequestBuilder) -> Response {
    let mut last = None;
    for _ in 0..5 {
        match make().send().await {
            Ok(res) => return res,
            Err(e) => last = Some(e),
        }
    }
    panic!("every attempt was reset by the server: {last:?}");
}
