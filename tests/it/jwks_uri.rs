//! `jwks_uri` credentials (BEHAVIOUR B.12): keys fetched from a set an application publishes,
//! served here by a test HTTP server on loopback that counts every request it gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::helpers::{Database, Db, TestApp, assert_api_error, assert_oauth_error};
use crate::on_both_databases;
use crate::private_key_jwt::sign;

macro_rules! key {
    ($name:literal) => {
        include_str!(concat!("../fixtures/keys/", $name))
    };
}

const API: &str = "https://ledger.example.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const KEY_A: (&str, &str) = (key!("rsa2048.pub.pem"), key!("rsa2048.key.pem"));
const KEY_B: (&str, &str) = (key!("rsa3072.pub.pem"), key!("rsa3072.key.pem"));

/// What the key host answers.
#[derive(Clone)]
enum Answer {
    Set(Value),
    Status(u16),
    /// The set, after this long.
    Slow(Duration),
    /// A body over the 64 KiB limit.
    Oversize,
    /// A redirect to this URL.
    RedirectTo(String),
    /// A raw body, served as is.
    Raw(String),
}

struct KeyHost {
    answer: Mutex<Answer>,
    /// The set `Slow` and same-host redirects serve.
    set: Mutex<Value>,
    cache_control: Mutex<Option<String>>,
    hits: AtomicUsize,
}

/// A JWKS server on loopback.
struct JwksServer {
    host: Arc<KeyHost>,
    base: String,
}

impl JwksServer {
    async fn start(set: Value) -> Self {
        let host = Arc::new(KeyHost {
            answer: Mutex::new(Answer::Set(set.clone())),
            set: Mutex::new(set),
            cache_control: Mutex::new(None),
            hits: AtomicUsize::new(0),
        });
        let router = axum::Router::new()
            .route("/jwks.json", get(serve_set))
            .route("/moved.json", get(serve_moved))
            .with_state(host.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { host, base }
    }

    fn url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    async fn publish(&self, set: Value) {
        *self.host.set.lock().await = set.clone();
        *self.host.answer.lock().await = Answer::Set(set);
    }

    async fn answer(&self, answer: Answer) {
        *self.host.answer.lock().await = answer;
    }

    fn hits(&self) -> usize {
        self.host.hits.load(Ordering::SeqCst)
    }
}

async fn serve_set(State(host): State<Arc<KeyHost>>) -> Response {
    host.hits.fetch_add(1, Ordering::SeqCst);
    let answer = host.answer.lock().await.clone();
    let mut headers = HeaderMap::new();
    if let Some(cc) = host.cache_control.lock().await.clone() {
        headers.insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    match answer {
        Answer::Set(set) => (headers, axum::Json(set)).into_response(),
        Answer::Status(code) => AxumStatus::from_u16(code).unwrap().into_response(),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            axum::Json(host.set.lock().await.clone()).into_response()
        }
        Answer::Oversize => {
            let padding = "x".repeat(70 * 1024);
            axum::Json(json!({"keys": [], "padding": padding})).into_response()
        }
        Answer::RedirectTo(to) => Redirect::temporary(&to).into_response(),
        Answer::Raw(body) => body.into_response(),
    }
}

async fn serve_moved(State(host): State<Arc<KeyHost>>) -> Response {
    host.hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(host.set.lock().await.clone()).into_response()
}

/// The public JWK of an RSA fixture key.
fn jwk(public_pem: &str, kid: Option<&str>) -> Value {
    let key = signet::crypto::public_key::parse_public_key_pem(public_pem).unwrap();
    let mut jwk = signet::crypto::jwk::public_jwk(&key);
    jwk["use"] = json!("sig");
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

fn set(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// An application whose only credential is a `jwks_uri`, granted one scope on one API.
struct Setup {
    app: TestApp,
    admin: String,
    client_id: String,
    credential: Value,
}

fn lab(settings: signet::config::Settings) -> signet::config::Settings {
    let mut settings = settings;
    settings.key_urls.allow_insecure = true;
    settings
}

impl Setup {
    async fn new(app: TestApp, jwks_uri: &str) -> Self {
        let admin = app.management_token().await;
        app.create_api(&admin, API, &["read:ledger"]).await;
        let res = app
            .post_json(&admin, "/api/v2/clients", &json!({
                "name": "ledger-sync", "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [
                    {"credential_type": "jwks_uri", "jwks_uri": jwks_uri, "name": "published"}]}}
            }))
            .await;
        let client: Value = res.json().await.unwrap();
        let client_id = client["client_id"].as_str().expect("created").to_owned();
        let credential =
            client["client_authentication_methods"]["private_key_jwt"]["credentials"][0].clone();
        app.grant(&admin, &client_id, API, &["read:ledger"]).await;
        Self {
            app,
            admin,
            client_id,
            credential,
        }
    }

    fn credential_id(&self) -> &str {
        self.credential["id"].as_str().unwrap()
    }

    fn assertion(&self, private_pem: &str, kid: Option<&str>) -> String {
        // The server's clock, which the tests move forward.
        let now = signet::clock::Clock::now(&*self.app.clock) / 1000;
        let mut header = json!({"alg": "RS256"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        sign(
            private_pem,
            &header,
            &json!({"iss": self.client_id, "sub": self.client_id, "aud": self.app.issuer,
                    "iat": now, "exp": now + 60, "jti": signet::crypto::random::base62(20)}),
        )
    }

    async fn token(&self, private_pem: &str, kid: Option<&str>) -> reqwest::Response {
        let assertion = self.assertion(private_pem, kid);
        self.app
            .http
            .post(self.app.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
                ("audience", API),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn assert_token(&self, private_pem: &str, kid: Option<&str>) {
        let res = self.token(private_pem, kid).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A 401 whose audit event carries `code`; returns the event.
    async fn assert_refused(&self, private_pem: &str, kid: Option<&str>, code: &str) -> Value {
        let res = self.token(private_pem, kid).await;
        assert_oauth_error(res, 401, "invalid_client").await;
        self.event("feccft", |e| {
            e["details"]["client_authentication_error"]["code"] == code
        })
        .await
    }

    /// The newest audit event of this application of `kind` that `wanted` accepts.
    async fn event(&self, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        // The tests move the server's clock by hours: a token from before may have expired.
        let admin = self.app.management_token().await;
        for _ in 0..100 {
            let logs: Value = self
                .app
                .get(
                    &admin,
                    &format!(
                        "/api/v2/logs?type={kind}&client_id={}&per_page=20",
                        self.client_id
                    ),
                )
                .await
                .json()
                .await
                .unwrap();
            if let Some(e) = logs.as_array().unwrap().iter().find(|e| wanted(e)) {
                return e.clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("no {kind} event as expected for {}", self.client_id);
    }

    /// The credential once `wanted` holds for it (its fetch state is stored after the fetch).
    async fn credential_when(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut shown = Value::Null;
        for _ in 0..100 {
            shown = self.credential_now().await;
            if wanted(&shown) {
                return shown;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the credential never showed what was expected: {shown}");
    }

    async fn credential_now(&self) -> Value {
        let admin = self.app.management_token().await;
        self.app
            .get(
                &admin,
                &format!(
                    "/api/v2/clients/{}/credentials/{}",
                    self.client_id,
                    self.credential_id()
                ),
            )
            .await
            .json()
            .await
            .unwrap()
    }
}

on_both_databases!(
    keys_published_at_a_url_authenticate_and_rotate_without_an_api_call,
    the_last_good_set_outlives_an_outage_and_a_restart,
);

async fn keys_published_at_a_url_authenticate_and_rotate_without_an_api_call(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let s = Setup::new(TestApp::start(database, lab).await, &host.url()).await;

    // Created with its first fetch done: the answer shows what was found.
    assert_eq!(s.credential["credential_type"], "jwks_uri");
    assert_eq!(s.credential["jwks_uri"], host.url());
    assert_eq!(s.credential["jwks"]["kids"], json!(["key-a"]));
    assert!(s.credential["jwks"]["fetched_at"].is_string());
    assert_eq!(s.credential["jwks"]["last_error"], Value::Null);
    assert!(s.credential.get("kid").is_none() && s.credential.get("alg").is_none());
    assert_eq!(host.hits(), 1);

    s.assert_token(KEY_A.1, Some("key-a")).await;
    // Without a kid: the set holds exactly one RS256 key, so that key is the one.
    s.assert_token(KEY_A.1, None).await;
    let ok = s.event("seccft", |_| true).await;
    assert_eq!(ok["details"]["credential_id"], s.credential_id());
    assert_eq!(
        host.hits(),
        1,
        "a fresh set is never fetched on the request path"
    );

    // Rotation: the application publishes a new key; the first assertion naming it makes the
    // server fetch once (a minute after the last fetch, the creation's), and it works.
    s.app.clock.advance(Duration::from_secs(61));
    host.publish(set(&[
        jwk(KEY_A.0, Some("key-a")),
        jwk(KEY_B.0, Some("key-b")),
    ]))
    .await;
    s.assert_token(KEY_B.1, Some("key-b")).await;
    assert_eq!(host.hits(), 2);
    assert_eq!(
        s.credential_now().await["jwks"]["kids"],
        json!(["key-a", "key-b"])
    );

    // Two RS256 keys and no kid: which one is meant cannot be told.
    s.assert_refused(KEY_A.1, None, "no_usable_credential")
        .await;

    // A kid the set does not hold: refused, and the fetch that just happened is not repeated.
    s.assert_refused(KEY_A.1, Some("key-zz"), "kid_not_in_jwks")
        .await;
    assert_eq!(host.hits(), 2, "at most one fetch a minute per credential");
    // The right key under the wrong kid is not accepted either.
    s.assert_refused(KEY_A.1, Some("key-b"), "bad_signature")
        .await;

    // A minute later an unknown kid may cause one fetch again.
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_refused(KEY_A.1, Some("key-zz"), "kid_not_in_jwks")
        .await;
    assert_eq!(host.hits(), 3);

    // A removed key works until the set goes stale (10 minutes without Cache-Control); the
    // first request after that is served from the stale set while one background fetch
    // replaces it, and from then on the key is refused.
    host.publish(set(&[jwk(KEY_B.0, Some("key-b"))])).await;
    s.assert_token(KEY_A.1, Some("key-a")).await;
    s.app.clock.advance(Duration::from_secs(11 * 60));
    let hits = host.hits();
    s.assert_token(KEY_A.1, Some("key-a")).await;
    s.credential_when(|c| c["jwks"]["kids"] == json!(["key-b"]))
        .await;
    assert_eq!(host.hits(), hits + 1);
    s.assert_refused(KEY_A.1, Some("key-a"), "kid_not_in_jwks")
        .await;
    s.assert_token(KEY_B.1, Some("key-b")).await;

    // The same URL twice on one application is refused; deleting needs disassociation first.
    let again = s
        .app
        .post_json(
            &s.admin,
            &format!("/api/v2/clients/{}/credentials", s.client_id),
            &json!({"credential_type": "jwks_uri", "jwks_uri": host.url()}),
        )
        .await;
    assert_api_error(again, 409, "conflict").await;
}

async fn the_last_good_set_outlives_an_outage_and_a_restart(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let s = Setup::new(TestApp::start(database, lab).await, &host.url()).await;
    s.assert_token(KEY_A.1, Some("key-a")).await;

    // The host goes down and the set goes stale (10 minutes without Cache-Control).
    host.answer(Answer::Status(503)).await;
    s.app.clock.advance(Duration::from_secs(11 * 60));
    s.assert_token(KEY_A.1, Some("key-a")).await;
    // The background refresh fails; later requests say which set they used and why.
    let mut warned = None;
    for _ in 0..50 {
        s.assert_token(KEY_A.1, Some("key-a")).await;
        let event = s.event("seccft", |_| true).await;
        if event["details"]["key_set_warning"].is_string() {
            warned = Some(event);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let warned = warned.expect("an event says the last good set was used");
    let warning = warned["details"]["key_set_warning"].as_str().unwrap();
    assert!(warning.contains("HTTP 503"), "{warning}");
    // The fetch state is stored just after the fetch: wait for it.
    let shown = s
        .credential_when(|c| c["jwks"]["last_error"].is_string())
        .await;
    assert!(
        shown["jwks"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503"),
        "{shown}"
    );
    assert_eq!(shown["jwks"]["kids"], json!(["key-a"]));

    // A restart during the outage keeps the stored set.
    let client_id = s.client_id.clone();
    let credential = s.credential.clone();
    let admin_app = s.app.stop().await;
    let s = Setup {
        app: TestApp::start(admin_app, lab).await,
        admin: String::new(),
        client_id,
        credential,
    };
    let s = Setup {
        admin: s.app.management_token().await,
        ..s
    };
    // This instance's clock starts where the stored set is fresh again: move it past that.
    s.app.clock.advance(Duration::from_secs(11 * 60));
    s.assert_token(KEY_A.1, Some("key-a")).await;

    // 24 hours after its fetch the set is no longer used.
    s.app.clock.advance(Duration::from_secs(24 * 3600));
    let refused = s
        .assert_refused(KEY_A.1, Some("key-a"), "jwks_unavailable")
        .await;
    assert_eq!(
        refused["details"]["client_authentication_error"]["credential_id"],
        s.credential_id()
    );
    // The host is back: the next fetch (a minute after the last attempt) restores service.
    host.publish(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_token(KEY_A.1, Some("key-a")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kids_cause_one_fetch() {
    let Some(database) = Database::create(Db::Sqlite).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let s = Arc::new(Setup::new(TestApp::start(database, lab).await, &host.url()).await);
    assert_eq!(host.hits(), 1);
    host.publish(set(&[
        jwk(KEY_A.0, Some("key-a")),
        jwk(KEY_B.0, Some("key-b")),
    ]))
    .await;
    *host.host.cache_control.lock().await = Some("public, max-age=7200".into());
    s.app.clock.advance(Duration::from_secs(61));

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.token(KEY_B.1, Some("key-b")).await.status() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        host.hits(),
        2,
        "50 concurrent requests for a new kid: one fetch"
    );
    let shown = s.credential_now().await;
    let at = |field: &str| {
        time::OffsetDateTime::parse(
            shown["jwks"][field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!(
        at("fresh_until") - at("fetched_at"),
        time::Duration::hours(2),
        "Cache-Control: max-age is honoured"
    );

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.token(KEY_B.1, Some("key-new")).await.status() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        host.hits(),
        2,
        "another unknown kid within a minute: no fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sets_and_bad_answers_are_refused_and_shown() {
    let Some(database) = Database::create(Db::Sqlite).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let s = Setup::new(TestApp::start(database, lab).await, &host.url()).await;
    s.assert_token(KEY_A.1, Some("key-a")).await;

    let refetch = |why: &'static str| {
        let s = &s;
        async move {
            s.app.clock.advance(Duration::from_secs(61));
            s.assert_refused(KEY_A.1, Some("key-new"), "kid_not_in_jwks")
                .await;
            let error = s.credential_now().await["jwks"]["last_error"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!error.is_empty(), "{why}: the credential shows the error");
            error
        }
    };

    host.answer(Answer::Oversize).await;
    assert!(refetch("oversize").await.contains("64 KiB"));

    let started = std::time::Instant::now();
    host.answer(Answer::Slow(Duration::from_secs(8))).await;
    assert!(refetch("slow").await.contains("5 s"));
    assert!(started.elapsed() < Duration::from_secs(8), "cut off at 5 s");

    let elsewhere = host.base.replace("127.0.0.1", "localhost");
    host.answer(Answer::RedirectTo(format!("{elsewhere}/moved.json")))
        .await;
    let hits = host.hits();
    assert!(refetch("redirect").await.contains("redirect"));
    assert_eq!(host.hits(), hits + 1, "the other host is never asked");

    host.answer(Answer::Raw("not json".into())).await;
    refetch("not json").await;
    // Through all of that, the last good set kept working.
    s.assert_token(KEY_A.1, Some("key-a")).await;

    // A redirect within the same host is followed.
    host.answer(Answer::RedirectTo(format!("{}/moved.json", host.base)))
        .await;
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_refused(KEY_A.1, Some("key-new"), "kid_not_in_jwks")
        .await;
    assert_eq!(s.credential_now().await["jwks"]["last_error"], Value::Null);

    // A set holding a private key is refused whole, and the set held before is dropped: the
    // publisher has exposed a private key.
    let mut leaked = jwk(KEY_A.0, Some("key-a"));
    leaked["d"] = json!("c2VjcmV0");
    host.publish(set(&[leaked])).await;
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_refused(KEY_A.1, Some("key-new"), "jwks_unavailable")
        .await;
    let shown = s.credential_now().await;
    assert!(
        shown["jwks"]["last_error"]
            .as_str()
            .unwrap()
            .contains("private"),
        "{shown}"
    );
    assert_eq!(shown["jwks"]["kids"], json!([]));
    s.assert_refused(KEY_A.1, Some("key-a"), "jwks_unavailable")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_and_plain_http_urls_are_refused_at_creation_and_at_fetch() {
    let Some(database) = Database::create(Db::Sqlite).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let port = host.base.rsplit(':').next().unwrap().to_owned();
    let strict = TestApp::start(database.share(), |s| s).await;
    let admin = strict.management_token().await;
    let client = strict.create_client(&admin, "fetcher").await;
    let client_id = client["client_id"].as_str().unwrap();
    for (uri, says) in [
        (host.url(), "https"),
        (format!("https://127.0.0.1:{port}/jwks.json"), "127.0.0.1"),
        (format!("https://localhost:{port}/jwks.json"), "internal"),
        (
            "https://169.254.169.254/latest/meta-data".into(),
            "169.254.169.254",
        ),
        ("https://[::1]/jwks.json".into(), "::1"),
        ("https://10.0.0.8/jwks.json".into(), "10.0.0.8"),
        ("https://[fd00:ec2::254]/jwks.json".into(), "fd00:ec2::254"),
        ("https://2130706433/jwks.json".into(), "127.0.0.1"),
    ] {
        let res = strict
            .post_json(
                &admin,
                &format!("/api/v2/clients/{client_id}/credentials"),
                &json!({"credential_type": "jwks_uri", "jwks_uri": uri}),
            )
            .await;
        let body = assert_api_error(res, 400, "invalid_body").await;
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with("jwks_uri"), "{uri}: {message}");
        assert!(message.contains(says), "{uri}: {message}");
    }
    assert_eq!(host.hits(), 0, "no request reached the key host");

    // Stored by an instance allowed to (a lab), a loopback URL is refused again when an
    // instance without the setting fetches it.
    host.answer(Answer::Status(503)).await;
    let lab_app = TestApp::start(database, lab).await;
    let s = Setup::new(lab_app, &host.url()).await;
    assert_eq!(host.hits(), 1);
    let strict_setup = Setup {
        admin,
        client_id: s.client_id.clone(),
        credential: s.credential.clone(),
        app: strict,
    };
    // Past the minute since the lab instance's fetch: this instance tries, and is refused.
    strict_setup.app.clock.advance(Duration::from_secs(61));
    let refused = strict_setup
        .assert_refused(KEY_A.1, Some("key-a"), "jwks_unavailable")
        .await;
    let warning = refused["details"]["key_set_warning"].as_str().unwrap();
    assert!(warning.contains("https"), "{warning}");
    assert_eq!(host.hits(), 1, "the strict instance made no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_adds_a_key_url_and_shows_its_fetch_state() {
    let Some(database) = Database::create(Db::Sqlite).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let app = TestApp::start(database, lab).await;
    let s = crate::dashboard::Session::sign_in(&app).await;
    let id = s.create_app(&app, "published keys").await;
    let tab = format!("/dashboard/applications/{id}/credentials");

    // Both a key and a URL: the form says which to give, next to the URL field.
    let res = s
        .add_credential(
            &app,
            &id,
            &[
                ("name", "both"),
                ("jwks_uri", &host.url()),
                ("pem", KEY_A.0),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"jwks-uri-error\""), "{html}");
    assert!(html.contains("not both"), "{html}");

    let res = s
        .add_credential(
            &app,
            &id,
            &[
                ("name", "published"),
                ("jwks_uri", &host.url()),
                ("enable", "1"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = s.get(&app, &tab).await.text().await.unwrap();
    assert!(html.contains(&host.url()), "{html}");
    assert!(html.contains("key-a · fetched"), "{html}");

    // A failed fetch shows on the row.
    host.answer(Answer::Status(500)).await;
    let mgmt = app.management_token().await;
    let cred: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    let setup = Setup {
        app,
        admin: mgmt,
        client_id: id.clone(),
        credential: cred[0].clone(),
    };
    setup.app.clock.advance(Duration::from_secs(61));
    setup
        .assert_refused(KEY_A.1, Some("key-b"), "kid_not_in_jwks")
        .await;
    let html = s.get(&setup.app, &tab).await.text().await.unwrap();
    assert!(
        html.contains("Last fetch failed: answered HTTP 500"),
        "{html}"
    );
}

/// The dashboard's explainer judges an assertion with the keys of the set this server holds
/// for a `jwks_uri` credential, as the token endpoint would, and fetches nothing doing so; a
/// credential without a usable set is named as not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explainer_checks_keys_published_at_a_url_without_fetching() {
    use crate::explain::{row, verdict};

    let Some(database) = Database::create(Db::Sqlite).await else {
        return;
    };
    let host = JwksServer::start(set(&[jwk(KEY_A.0, Some("key-a"))])).await;
    let s = Setup::new(TestApp::start(database, lab).await, &host.url()).await;
    let session = crate::dashboard::Session::sign_in(&s.app).await;
    let explain = async |client_id: &str, assertion: &str| -> String {
        let res = session
            .post(
                &s.app,
                &format!("/dashboard/applications/{client_id}/explain"),
                &[("assertion", assertion)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap()
    };
    let fetches = host.hits();
    let note_id = format!("id=\"key-set-{}\"", s.credential_id());

    // Signed with the published key: the credential and the signature pass.
    let html = explain(&s.client_id, &s.assertion(KEY_A.1, Some("key-a"))).await;
    for check in ["kid", "credential", "signature", "replay"] {
        assert_eq!(
            verdict(&html, check),
            "pass",
            "{check}: {}",
            row(&html, check)
        );
    }
    assert!(row(&html, "credential").contains(s.credential_id()));
    assert!(html.contains("Every check passes"), "{html}");
    let note = &html[html.find(&note_id).expect("a note on the set used")..];
    assert!(
        note.starts_with(&format!("{note_id}>Keys of jwks_uri credential")),
        "{note}"
    );
    assert!(note[..note.find("</p>").unwrap()].contains("fetched at"));

    // Without a kid the set's one RS256 key is tried, as at the token endpoint.
    let html = explain(&s.client_id, &s.assertion(KEY_A.1, None)).await;
    assert_eq!(
        verdict(&html, "signature"),
        "pass",
        "{}",
        row(&html, "signature")
    );

    // Signed with another key under the published kid: the signature fails.
    let html = explain(&s.client_id, &s.assertion(KEY_B.1, Some("key-a"))).await;
    assert_eq!(verdict(&html, "signature"), "fail");

    // A kid the set lacks: refused with the reason the token endpoint logs for it (which would
    // fetch the set again first; the explainer does not).
    let html = explain(&s.client_id, &s.assertion(KEY_A.1, Some("key-new"))).await;
    assert_eq!(verdict(&html, "kid"), "fail");
    assert!(
        row(&html, "kid").contains("kid_not_in_jwks"),
        "{}",
        row(&html, "kid")
    );
    assert!(html.contains("log the reason kid_not_in_jwks"), "{html}");
    assert_eq!(host.hits(), fetches, "explaining fetched nothing");
    s.assert_token(KEY_A.1, Some("key-a")).await;

    // An application whose key host never answered: its credential's keys are not checked,
    // and the page says so.
    let down = JwksServer::start(set(&[])).await;
    down.answer(Answer::Status(503)).await;
    let res = s
        .app
        .post_json(
            &s.admin,
            "/api/v2/clients",
            &json!({
                "name": "unpublished", "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [
                    {"credential_type": "jwks_uri", "jwks_uri": down.url(), "name": "down"}]}}
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let other: Value = res.json().await.unwrap();
    let other_id = other["client_id"].as_str().unwrap();
    let down_credential = other["client_authentication_methods"]["private_key_jwt"]["credentials"]
        [0]["id"]
        .as_str()
        .unwrap();
    let down_hits = down.hits();
    let now = signet::clock::Clock::now(&*s.app.clock) / 1000;
    let assertion = sign(
        KEY_A.1,
        &json!({"alg": "RS256", "kid": "key-a"}),
        &json!({"iss": other_id, "sub": other_id, "aud": s.app.issuer,
                "iat": now, "exp": now + 60, "jti": signet::crypto::random::base62(20)}),
    );
    let html = explain(other_id, &assertion).await;
    assert_eq!(verdict(&html, "kid"), "fail");
    assert!(
        row(&html, "kid").contains("jwks_unavailable"),
        "{}",
        row(&html, "kid")
    );
    let marker = format!("class=\"form-error\" id=\"key-set-{down_credential}\">");
    let note = &html[html
        .find(&marker)
        .expect("the unchecked credential is named")..];
    let note = &note[..note.find("</p>").unwrap()];
    assert!(
        note.contains("were not checked") && note.contains("503"),
        "{note}"
    );
    assert_eq!(down.hits(), down_hits, "explaining fetched nothing");
}
