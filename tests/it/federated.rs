//! Federated workload credentials (BEHAVIOUR B.13): fake workload platforms on loopback (the
//! server runs with `--allow-insecure-key-urls`) publish OpenID discovery and JWKS and mint
//! tokens shaped like GitHub Actions', GitLab CI's, Kubernetes' projected service-account
//! tokens and SPIFFE JWT-SVIDs, claims as their public documentation shows them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
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

const API: &str = "https://deploy.example.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const KEY_A: (&str, &str) = (key!("rsa2048.pub.pem"), key!("rsa2048.key.pem"));
const KEY_B: (&str, &str) = (key!("rsa3072.pub.pem"), key!("rsa3072.key.pem"));

struct Platform {
    keys: Mutex<Value>,
    up: Mutex<bool>,
    issuer: Mutex<String>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    /// What the stand-in GitHub runner endpoint hands out: (audience asked for, token).
    runner: Mutex<Option<(String, String)>>,
}

/// A workload platform's token issuer on loopback: discovery and JWKS.
struct FakeIssuer {
    platform: Arc<Platform>,
    issuer: String,
}

impl FakeIssuer {
    async fn start(keys: &[Value]) -> Self {
        let platform = Arc::new(Platform {
            keys: Mutex::new(json!({ "keys": keys })),
            up: Mutex::new(true),
            issuer: Mutex::new(String::new()),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            runner: Mutex::new(None),
        });
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks", get(jwks))
            .route("/_apis/token", get(runner_token))
            .with_state(platform.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        *platform.issuer.lock().await = issuer.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { platform, issuer }
    }

    async fn publish(&self, keys: &[Value]) {
        *self.platform.keys.lock().await = json!({ "keys": keys });
    }

    async fn set_up(&self, up: bool) {
        *self.platform.up.lock().await = up;
    }

    fn jwks_hits(&self) -> usize {
        self.platform.jwks_hits.load(Ordering::SeqCst)
    }

    /// A token signed with `private_pem` under `kid`.
    fn mint(&self, private_pem: &str, kid: &str, claims: &Value) -> String {
        sign(
            private_pem,
            &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
            claims,
        )
    }
}

async fn discovery(State(p): State<Arc<Platform>>) -> Response {
    p.discovery_hits.fetch_add(1, Ordering::SeqCst);
    if !*p.up.lock().await {
        return AxumStatus::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = p.issuer.lock().await.clone();
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

async fn jwks(State(p): State<Arc<Platform>>) -> Response {
    p.jwks_hits.fetch_add(1, Ordering::SeqCst);
    if !*p.up.lock().await {
        return AxumStatus::SERVICE_UNAVAILABLE.into_response();
    }
    axum::Json(p.keys.lock().await.clone()).into_response()
}

/// The GitHub runner's OIDC endpoint as a job sees it: the request token as a bearer token,
/// the audience in the query, `{"value": token}` back.
async fn runner_token(
    State(p): State<Arc<Platform>>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("bearer runner-request-token"));
    let Some((audience, token)) = p.runner.lock().await.clone() else {
        return AxumStatus::NOT_FOUND.into_response();
    };
    if !authorized || query.get("audience") != Some(&audience) || !query.contains_key("api-version")
    {
        return AxumStatus::FORBIDDEN.into_response();
    }
    axum::Json(json!({ "value": token })).into_response()
}

fn jwk(public_pem: &str, kid: &str) -> Value {
    let key = signet::crypto::public_key::parse_public_key_pem(public_pem).unwrap();
    let mut jwk = signet::crypto::jwk::public_jwk(&key);
    jwk["use"] = json!("sig");
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!("RS256");
    jwk
}

fn lab(settings: signet::config::Settings) -> signet::config::Settings {
    let mut settings = settings;
    settings.key_urls.allow_insecure = true;
    settings
}

/// The claims of a GitHub Actions OIDC token for a push to `main` of octo-org/deploy, as
/// GitHub documents them (ids as strings; 6 hours from `iat` to `exp`, `nbf` 5 minutes
/// before `iat`).
fn github_claims(issuer: &str, audience: &str, now: i64) -> Value {
    json!({
        "jti": signet::crypto::random::base62(20),
        "sub": "repo:octo-org/deploy:ref:refs/heads/main",
        "aud": audience,
        "ref": "refs/heads/main",
        "sha": "d3b07384d113edec49eaa6238ad5ff00c86e9d2b",
        "repository": "octo-org/deploy",
        "repository_owner": "octo-org",
        "repository_owner_id": "654321",
        "repository_id": "123456",
        "repository_visibility": "private",
        "run_id": "9876543210",
        "run_number": "42",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor": "octocat",
        "actor_id": "583231",
        "workflow": "deploy",
        "workflow_ref": "octo-org/deploy/.github/workflows/deploy.yml@refs/heads/main",
        "workflow_sha": "d3b07384d113edec49eaa6238ad5ff00c86e9d2b",
        "job_workflow_ref": "octo-org/deploy/.github/workflows/deploy.yml@refs/heads/main",
        "job_workflow_sha": "d3b07384d113edec49eaa6238ad5ff00c86e9d2b",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_protected": "true",
        "ref_type": "branch",
        "iss": issuer,
        "nbf": now - 300,
        "exp": now + 21_600,
        "iat": now,
    })
}

/// The claims of a projected Kubernetes service-account token (`kubernetes.io` claims as the
/// API server writes them; 3,607 s, the kubelet's default).
fn kubernetes_claims(issuer: &str, audience: &str, now: i64, jti: bool) -> Value {
    let mut claims = json!({
        "aud": [audience],
        "exp": now + 3607,
        "iat": now,
        "iss": issuer,
        "nbf": now,
        "sub": "system:serviceaccount:payments:api",
        "kubernetes.io": {
            "namespace": "payments",
            "node": {"name": "node-1", "uid": "6a6b0b4c-2d6e-4c1b-8b9b-1c7a0d8f9e10"},
            "pod": {"name": "api-7d9f8", "uid": "1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
            "serviceaccount": {"name": "api", "uid": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"},
            "warnafter": now + 3607
        }
    });
    if jti {
        claims["jti"] = json!(signet::crypto::random::base62(20));
    }
    claims
}

/// An application whose only credentials are federated ones, granted one scope on one API.
struct Setup {
    app: TestApp,
    admin: String,
    client_id: String,
    credentials: Vec<Value>,
}

impl Setup {
    async fn new(app: TestApp, credentials: &[Value]) -> Self {
        let admin = app.management_token().await;
        app.create_api(&admin, API, &["deploy"]).await;
        let (client_id, credentials) = create_client(&app, &admin, "deployer", credentials).await;
        Self {
            app,
            admin,
            client_id,
            credentials,
        }
    }

    fn now(&self) -> i64 {
        signet::clock::Clock::now(&*self.app.clock) / 1000
    }

    async fn exchange(&self, client_id: &str, token: &str) -> reqwest::Response {
        exchange(&self.app, client_id, token).await
    }

    async fn assert_token(&self, token: &str) -> Value {
        self.assert_token_for(&self.client_id, token).await
    }

    async fn assert_token_for(&self, client_id: &str, token: &str) -> Value {
        let res = self.exchange(client_id, token).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A 401 whose audit event carries `code`; returns the event's error details.
    async fn assert_refused(&self, token: &str, code: &str) -> Value {
        self.assert_refused_for(&self.client_id, token, code).await
    }

    async fn assert_refused_for(&self, client_id: &str, token: &str, code: &str) -> Value {
        let res = self.exchange(client_id, token).await;
        assert_oauth_error(res, 401, "invalid_client").await;
        let event = self
            .event(client_id, "feccft", |e| {
                e["details"]["client_authentication_error"]["code"] == code
            })
            .await;
        event["details"]["client_authentication_error"].clone()
    }

    async fn event(&self, client_id: &str, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let admin = self.app.management_token().await;
        for _ in 0..100 {
            let logs: Value = self
                .app
                .get(
                    &admin,
                    &format!("/api/v2/logs?type={kind}&client_id={client_id}&per_page=30"),
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
        panic!("no {kind} event as expected for {client_id}");
    }

    async fn explain(&self, token: &str) -> Value {
        let res = self
            .app
            .post_json(
                &self.admin,
                &format!("/api/v2/clients/{}/federated/explain", self.client_id),
                &json!({ "token": token }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// A token request with `token` as the client assertion.
async fn exchange(app: &TestApp, client_id: &str, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", token),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap()
}

/// Creates an application with `credentials` under `client_authentication_methods.federated`,
/// granted the API.
async fn create_client(
    app: &TestApp,
    admin: &str,
    name: &str,
    credentials: &[Value],
) -> (String, Vec<Value>) {
    let res = app
        .post_json(
            admin,
            "/api/v2/clients",
            &json!({
                "name": name, "app_type": "non_interactive",
                "client_authentication_methods": {"federated": {"credentials": credentials}}
            }),
        )
        .await;
    let status = res.status();
    let client: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    assert!(
        client["client_authentication_methods"]
            .get("private_key_jwt")
            .is_none(),
        "{client}"
    );
    let created = client["client_authentication_methods"]["federated"]["credentials"]
        .as_array()
        .unwrap()
        .clone();
    app.grant(admin, &client_id, API, &["deploy"]).await;
    (client_id, created)
}

/// Trusts the service account `payments/api` of `cluster`, whose keys are given with it.
fn kubernetes_credential(cluster: &str) -> Value {
    json!({
        "credential_type": "federated", "preset": "kubernetes", "issuer": cluster,
        "subject": "system:serviceaccount:payments:api",
        "jwks": {"keys": [jwk(KEY_A.0, "k8s-1")]}
    })
}

/// A stand-in GitHub (key `gh-1`) and an application trusting its `main` branch.
async fn github_setup(database: Database) -> (FakeIssuer, Setup) {
    let github = FakeIssuer::start(&[jwk(KEY_A.0, "gh-1")]).await;
    let s = Setup::new(
        TestApp::start(database, lab).await,
        &[github_credential(&github.issuer)],
    )
    .await;
    (github, s)
}

fn github_credential(issuer: &str) -> Value {
    json!({
        "credential_type": "federated", "name": "deploy from main", "preset": "github_actions",
        "issuer": issuer,
        "claims": {"repository_id": 123456, "repository_owner_id": "654321", "ref": "refs/heads/main"}
    })
}

on_both_databases!(
    github_actions_tokens_authenticate_once_and_every_pinned_claim_counts,
    kubernetes_tokens_are_reused_until_they_expire_and_legacy_ones_are_refused,
    issuer_keys_rotate_through_the_throttled_refetch_and_outlive_an_outage_for_a_day,
);

async fn github_actions_tokens_authenticate_once_and_every_pinned_claim_counts(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let (github, s) = github_setup(database).await;
    let credential = &s.credentials[0];
    assert_eq!(credential["credential_type"], "federated");
    assert_eq!(credential["preset"], "github_actions");
    assert_eq!(credential["issuer"], github.issuer.as_str());
    // GitHub sends ids as strings: a number written for one is kept as the string it matches.
    assert_eq!(credential["claims"]["repository_id"], "123456");
    assert_eq!(credential["replay"], "once");
    assert_eq!(credential["max_token_lifetime"], 21_600);
    assert_eq!(credential["key_source"], "discovery");
    assert_eq!(credential["jwks"]["kids"], json!(["gh-1"]));
    let credential_id = credential["id"].as_str().unwrap();

    let claims = github_claims(&github.issuer, &s.app.issuer, s.now());
    let token = github.mint(KEY_A.1, "gh-1", &claims);
    // Explaining runs every check and spends nothing: the same token still works afterwards.
    let explained = s.explain(&token).await;
    assert_eq!(explained["accepted"], true, "{explained}");
    assert_eq!(explained["credential_id"], credential_id);
    let checks: Vec<&str> = explained["credentials"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "signature",
            "iss",
            "aud",
            "exp",
            "nbf/iat",
            "claims",
            "replay"
        ]
    );
    let issued = s.assert_token(&token).await;
    assert!(issued["access_token"].is_string());
    let ok = s.event(&s.client_id, "seccft", |_| true).await;
    assert_eq!(ok["details"]["auth_method"], "federated");
    assert_eq!(ok["details"]["credential_id"], credential_id);

    // replay: once — the token's jti is spent.
    s.assert_refused(&token, "replayed").await;
    let again = s.explain(&token).await;
    assert_eq!(again["accepted"], false);
    assert_eq!(again["reason"], "replayed");

    // Each pinned claim changed by one character is refused, naming the claim and the
    // expected value (never the token's).
    for (claim, value, expected) in [
        ("repository_id", "123457", "\"123456\""),
        ("repository_owner_id", "654322", "\"654321\""),
        ("ref", "refs/heads/maim", "\"refs/heads/main\""),
    ] {
        let mut changed = github_claims(&github.issuer, &s.app.issuer, s.now());
        changed[claim] = json!(value);
        let res = s
            .exchange(&s.client_id, &github.mint(KEY_A.1, "gh-1", &changed))
            .await;
        assert_oauth_error(res, 401, "invalid_client").await;
        // Events are written off the request path: wait for this claim's.
        let event = s
            .event(&s.client_id, "feccft", |e| {
                let error = &e["details"]["client_authentication_error"];
                error["code"] == "federated_claim_mismatch" && error["claim"] == claim
            })
            .await;
        let error = &event["details"]["client_authentication_error"];
        assert_eq!(error["expected"], expected);
        assert_eq!(error["credential_id"], credential_id);
        assert!(
            !event.to_string().contains(value),
            "the token's value is never logged: {event}"
        );
    }
    // Another repository of the same owner, even one named like it.
    let mut sibling = github_claims(&github.issuer, &s.app.issuer, s.now());
    sibling["repository"] = json!("octo-org/deploy-tools");
    sibling["repository_id"] = json!("123999");
    let res = s
        .exchange(&s.client_id, &github.mint(KEY_A.1, "gh-1", &sibling))
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let explained = s.explain(&github.mint(KEY_A.1, "gh-1", &sibling)).await;
    assert_eq!(explained["reason"], "federated_claim_mismatch");
    assert_eq!(explained["claim"], "repository_id");

    // A token for another audience; an expired one; one living longer than the preset allows.
    let mut elsewhere = github_claims(&github.issuer, "https://github.com/octo-org", s.now());
    elsewhere["aud"] = json!("https://github.com/octo-org");
    s.assert_refused(
        &github.mint(KEY_A.1, "gh-1", &elsewhere),
        "federated_aud_mismatch",
    )
    .await;
    let mut expired = github_claims(&github.issuer, &s.app.issuer, s.now() - 30_000);
    expired["exp"] = json!(s.now() - 60);
    s.assert_refused(&github.mint(KEY_A.1, "gh-1", &expired), "federated_expired")
        .await;
    let mut long = github_claims(&github.issuer, &s.app.issuer, s.now());
    long["exp"] = json!(s.now() + 21_601);
    s.assert_refused(
        &github.mint(KEY_A.1, "gh-1", &long),
        "federated_lifetime_too_long",
    )
    .await;
    // Signed with a key the issuer does not publish under that kid.
    s.assert_refused(
        &github.mint(
            KEY_B.1,
            "gh-1",
            &github_claims(&github.issuer, &s.app.issuer, s.now()),
        ),
        "federated_bad_signature",
    )
    .await;

    // A token whose issuer this application does not trust is refused, even though another
    // application trusts that issuer; that application gets its token.
    let gitlab = FakeIssuer::start(&[jwk(KEY_B.0, "gl-1")]).await;
    let (other_id, _) = create_client(
        &s.app,
        &s.admin,
        "gitlab-deployer",
        &[json!({
            "credential_type": "federated", "preset": "gitlab_ci", "issuer": gitlab.issuer,
            "claims": {"project_id": "20", "namespace_id": "72", "ref": "main"}
        })],
    )
    .await;
    let now = s.now();
    let gitlab_token = gitlab.mint(
        KEY_B.1,
        "gl-1",
        &json!({
            "namespace_id": "72", "namespace_path": "group", "project_id": "20",
            "project_path": "group/project", "user_id": "1", "user_login": "ci",
            "pipeline_id": "574", "pipeline_source": "push", "job_id": "302", "ref": "main",
            "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
            "environment": "production", "environment_protected": "true",
            "runner_id": 1, "runner_environment": "gitlab-hosted", "sha": "714a629c",
            "project_visibility": "private", "ci_config_ref_uri": "gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main",
            "jti": signet::crypto::random::base62(20), "iss": gitlab.issuer,
            "iat": now, "nbf": now - 5, "exp": now + 3600,
            "sub": "project_path:group/project:ref_type:branch:ref:main", "aud": s.app.issuer
        }),
    );
    s.assert_refused(&gitlab_token, "federated_issuer_not_trusted")
        .await;
    s.assert_token_for(&other_id, &gitlab_token).await;

    // The same trust twice on one application is a conflict.
    let twice = s
        .app
        .post_json(
            &s.admin,
            &format!("/api/v2/clients/{}/credentials", s.client_id),
            &github_credential(&github.issuer),
        )
        .await;
    assert_api_error(twice, 409, "conflict").await;
}

async fn kubernetes_tokens_are_reused_until_they_expire_and_legacy_ones_are_refused(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    // An air-gapped cluster: its keys are given with the credential, nothing is fetched.
    let cluster = "https://kubernetes.default.svc.cluster.local";
    let s = Setup::new(
        TestApp::start(database, lab).await,
        &[kubernetes_credential(cluster)],
    )
    .await;
    assert_eq!(s.credentials[0]["replay"], "reuse_until_expiry");
    assert_eq!(s.credentials[0]["key_source"], "static");
    assert_eq!(s.credentials[0]["max_token_lifetime"], 3607);

    for with_jti in [false, true] {
        let claims = kubernetes_claims(cluster, &s.app.issuer, s.now(), with_jti);
        let token = sign(KEY_A.1, &json!({"alg": "RS256", "kid": "k8s-1"}), &claims);
        // Reused by design: the same projected token works until it expires, and the audit
        // event says the credential allows it.
        s.assert_token(&token).await;
        s.assert_token(&token).await;
        let ok = s.event(&s.client_id, "seccft", |_| true).await;
        assert_eq!(ok["details"]["replay"], "reuse_until_expiry");
        s.app.clock.advance(Duration::from_secs(3607 + 11));
        s.assert_refused(&token, "federated_expired").await;
    }

    // Another service account of the namespace.
    let mut other = kubernetes_claims(cluster, &s.app.issuer, s.now(), false);
    other["sub"] = json!("system:serviceaccount:payments:apj");
    let error = s
        .assert_refused(
            &sign(KEY_A.1, &json!({"alg": "RS256", "kid": "k8s-1"}), &other),
            "federated_claim_mismatch",
        )
        .await;
    assert_eq!(error["claim"], "sub");
    // A legacy token the API server extended to a year stays refused unless allowed by name.
    let mut legacy = kubernetes_claims(cluster, &s.app.issuer, s.now(), false);
    legacy["exp"] = json!(s.now() + 365 * 86_400);
    s.assert_refused(
        &sign(KEY_A.1, &json!({"alg": "RS256", "kid": "k8s-1"}), &legacy),
        "federated_lifetime_too_long",
    )
    .await;
}

async fn issuer_keys_rotate_through_the_throttled_refetch_and_outlive_an_outage_for_a_day(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let (github, s) = github_setup(database).await;
    let token = |key: &str, kid: &str| {
        github.mint(
            key,
            kid,
            &github_claims(&github.issuer, &s.app.issuer, s.now()),
        )
    };
    s.assert_token(&token(KEY_A.1, "gh-1")).await;
    let hits = github.jwks_hits();

    // The platform rotates: a kid the held set lacks makes one fetch, at most once a minute.
    github
        .publish(&[jwk(KEY_A.0, "gh-1"), jwk(KEY_B.0, "gh-2")])
        .await;
    s.assert_refused(&token(KEY_B.1, "gh-2"), "federated_unknown_kid")
        .await;
    assert_eq!(
        github.jwks_hits(),
        hits,
        "within a minute of the last fetch"
    );
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_token(&token(KEY_B.1, "gh-2")).await;
    assert_eq!(github.jwks_hits(), hits + 1);

    // The issuer goes down: its last good keys keep working for a day after they were fetched…
    github.set_up(false).await;
    s.app.clock.advance(Duration::from_secs(12 * 3600));
    s.assert_token(&token(KEY_A.1, "gh-1")).await;
    s.assert_token(&token(KEY_B.1, "gh-2")).await;
    // …and then no longer.
    s.app.clock.advance(Duration::from_secs(12 * 3600 + 60));
    let mut refused = None;
    for _ in 0..50 {
        let res = s.exchange(&s.client_id, &token(KEY_A.1, "gh-1")).await;
        if res.status() == StatusCode::UNAUTHORIZED {
            refused = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_oauth_error(refused.expect("refused after a day"), 401, "invalid_client").await;
    s.event(&s.client_id, "feccft", |e| {
        e["details"]["client_authentication_error"]["code"] == "federated_keys_unavailable"
    })
    .await;
    // Back up: the next fetch (a minute after the last attempt) restores it.
    github.set_up(true).await;
    s.app.clock.advance(Duration::from_secs(61));
    s.assert_token(&token(KEY_A.1, "gh-1")).await;
}

on_both_databases!(federated_credentials_are_checked_and_listed_under_their_method);

async fn federated_credentials_are_checked_and_listed_under_their_method(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let client = app.create_client(&admin, "mixed").await;
    let client_id = client["client_id"].as_str().unwrap();
    let path = format!("/api/v2/clients/{client_id}/credentials");
    // A preset refuses to be saved without its immutable identifiers, naming the missing one.
    let res = app
        .post_json(
            &admin,
            &path,
            &json!({
                "credential_type": "federated", "preset": "github_actions",
                "claims": {"repository_id": "1", "ref": "refs/heads/main"}
            }),
        )
        .await;
    let body = assert_api_error(res, 400, "invalid_body").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("claims.repository_owner_id"),
        "{body}"
    );
    // Federated fields on a key credential, and a key on a federated one, are refused.
    let res = app
        .post_json(&admin, &path, &json!({
            "credential_type": "public_key", "pem": key!("rsa2048.pub.pem"), "issuer": "https://x.example"
        }))
        .await;
    assert_api_error(res, 400, "invalid_body").await;
    // An issuer on an internal address needs --allow-insecure-key-urls (this server has not).
    let res = app
        .post_json(
            &admin,
            &path,
            &json!({
                "credential_type": "federated", "issuer": "https://127.0.0.1", "subject": "x"
            }),
        )
        .await;
    let body = assert_api_error(res, 400, "invalid_body").await;
    assert!(
        body["message"].as_str().unwrap().starts_with("issuer"),
        "{body}"
    );
    // A key and a federated credential side by side, each listed under its own method.
    let key = app
        .post_json(
            &admin,
            &path,
            &json!({"credential_type": "public_key", "pem": key!("rsa2048.pub.pem")}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let federated = app
        .post_json(&admin, &path, &json!({
            "credential_type": "federated", "preset": "kubernetes",
            "issuer": "https://kubernetes.example", "subject": "system:serviceaccount:ci:runner",
            "jwks": {"keys": [jwk(KEY_A.0, "k8s-1")]}
        }))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (key_id, federated_id) = (
        key["id"].as_str().unwrap(),
        federated["id"].as_str().unwrap(),
    );
    let res = app
        .patch_json(&admin, &format!("/api/v2/clients/{client_id}"), &json!({
            "token_endpoint_auth_method": null,
            "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": federated_id}]}}
        }))
        .await;
    let body = assert_api_error(res, 400, "invalid_body").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("client_authentication_methods.federated.credentials"),
        "{body}"
    );
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/clients/{client_id}"),
            &json!({
                "token_endpoint_auth_method": null,
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": key_id}]},
                    "federated": {"credentials": [{"id": federated_id}]}
                }
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let shown: Value = app
        .get(&admin, &format!("/api/v2/clients/{client_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["client_authentication_methods"],
        json!({"private_key_jwt": {"credentials": [{"id": key_id}]},
               "federated": {"credentials": [{"id": federated_id}]}})
    );
    // Private Key JWT is unchanged beside a federated credential: an assertion of the key
    // works, and one that breaks a rule is refused for that rule, not as a platform token.
    app.create_api(&admin, API, &["deploy"]).await;
    app.grant(&admin, client_id, API, &["deploy"]).await;
    let now = signet::clock::Clock::now(&*app.clock) / 1000;
    let assertion = |typ: &str| {
        sign(
            key!("rsa2048.key.pem"),
            &json!({"alg": "RS256", "typ": typ}),
            &json!({"iss": client_id, "sub": client_id, "aud": app.issuer, "iat": now,
                    "exp": now + 60, "jti": signet::crypto::random::base62(20)}),
        )
    };
    let res = exchange(&app, client_id, &assertion("JWT")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = exchange(&app, client_id, &assertion("at+jwt")).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let mut logged = None;
    for _ in 0..100 {
        let logs: Value = app
            .get(
                &admin,
                &format!("/api/v2/logs?type=feccft&client_id={client_id}"),
            )
            .await
            .json()
            .await
            .unwrap();
        if let Some(e) = logs.as_array().unwrap().first() {
            logged = Some(e["details"]["client_authentication_error"]["code"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(logged, Some(json!("bad_typ")));

    // Counted toward the limit of two.
    let res = app
        .post_json(
            &admin,
            &path,
            &json!({
                "credential_type": "federated", "issuer": "https://issuer.example", "subject": "s",
                "jwks": {"keys": [jwk(KEY_B.0, "other-1")]}
            }),
        )
        .await;
    let body = assert_api_error(res, 400, "invalid_body").await;
    assert!(
        body["message"].as_str().unwrap().contains("at most 2"),
        "{body}"
    );
}

on_both_databases!(signet_token_federated_reads_the_platform_token_file_for_each_request);

/// `signet token --federated file:PATH`, the real binary: the file is read for each request,
/// so a token the platform rotated is the one sent.
async fn signet_token_federated_reads_the_platform_token_file_for_each_request(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let cluster = "https://oidc.cluster.example";
    let s = Setup::new(
        TestApp::start(database, lab).await,
        &[kubernetes_credential(cluster)],
    )
    .await;
    let dir = std::env::temp_dir().join(format!(
        "signet-federated-{}",
        signet::crypto::random::base62(12)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    let write = |sub: &str| {
        let mut claims = kubernetes_claims(cluster, &s.app.issuer, s.now(), false);
        claims["sub"] = json!(sub);
        let token = sign(KEY_A.1, &json!({"alg": "RS256", "kid": "k8s-1"}), &claims);
        std::fs::write(&path, format!("{token}\n")).unwrap();
    };
    let args = vec![
        "token".to_owned(),
        "--issuer".into(),
        s.app.issuer.clone(),
        "--client-id".into(),
        s.client_id.clone(),
        "--federated".into(),
        format!("file:{}", path.display()),
        "--audience".into(),
        API.into(),
    ];

    write("system:serviceaccount:payments:api");
    let out = crate::client_side::signet(args.clone()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(issued["access_token"].is_string(), "{issued}");
    let ok = s.event(&s.client_id, "seccft", |_| true).await;
    assert_eq!(ok["details"]["auth_method"], "federated");

    // The library does the same, with its cache: a second call is served without a request.
    let library = signet_client::ClientBuilder::federated(
        s.app.issuer.as_str(),
        s.client_id.as_str(),
        signet_client::PlatformToken::File(path.clone()),
    )
    .build()
    .unwrap();
    assert!(library.is_federated());
    let first = library.token(API).await.unwrap();
    let second = library.token(API).await.unwrap();
    assert_eq!(first.as_str(), second.as_str(), "served from the cache");
    assert!(
        library.assertion().is_err(),
        "a federated client signs nothing"
    );

    // The platform rotated the file to a token for another service account: that one is sent.
    write("system:serviceaccount:payments:batch");
    let out = crate::client_side::signet(args.clone()).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(stderr.contains("federated/explain"), "{stderr}");
    s.event(&s.client_id, "feccft", |e| {
        e["details"]["client_authentication_error"]["claim"] == "sub"
    })
    .await;

    // A missing file is named, and no request is sent.
    std::fs::remove_file(&path).unwrap();
    let out = crate::client_side::signet(args).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("platform token from file"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

on_both_databases!(the_dashboard_adds_a_preset_credential_and_tests_a_token_without_using_it);

async fn the_dashboard_adds_a_preset_credential_and_tests_a_token_without_using_it(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let github = FakeIssuer::start(&[jwk(KEY_A.0, "gh-1")]).await;
    let app = TestApp::start(database, lab).await;
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["deploy"]).await;
    let client = app.create_client(&admin, "deployer").await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    app.grant(&admin, &client_id, API, &["deploy"]).await;
    let session = crate::dashboard::Session::sign_in(&app).await;
    let path = format!("/dashboard/applications/{client_id}/federation");

    let html = session.get(&app, &path).await.text().await.unwrap();
    assert!(html.contains("id=\"no-federated\""), "{html}");
    // The preset's form asks for exactly its fields.
    let html = session
        .get(&app, &format!("{path}?preset=github_actions"))
        .await
        .text()
        .await
        .unwrap();
    for field in [
        "repository_id",
        "repository_owner_id",
        "ref",
        "environment",
        "issuer",
    ] {
        assert!(html.contains(&format!("id=\"fed-{field}\"")), "{field}");
    }
    assert!(!html.contains("id=\"fed-namespace\""));
    let k8s = session
        .get(&app, &format!("{path}?preset=kubernetes"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        k8s.contains("id=\"fed-service_account\"") && !k8s.contains("id=\"fed-repository_id\"")
    );

    // A missing pinned id is named next to its input; nothing is saved.
    let res = session
        .post(
            &app,
            &path,
            &[
                ("preset", "github_actions"),
                ("issuer", &github.issuer),
                ("repository_id", "123456"),
                ("ref", "refs/heads/main"),
                ("enable", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"fed-repository_owner_id-error\""),
        "{html}"
    );

    let res = session
        .post(
            &app,
            &path,
            &[
                ("preset", "github_actions"),
                ("issuer", &github.issuer),
                ("name", "deploy from main"),
                ("repository_id", "123456"),
                ("repository_owner_id", "654321"),
                ("ref", "refs/heads/main"),
                ("enable", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = session.get(&app, &path).await.text().await.unwrap();
    assert!(html.contains(&github.issuer), "{html}");
    assert!(
        html.contains("repository_id = &#34;123456&#34;")
            || html.contains("repository_id = &quot;123456&quot;"),
        "{html}"
    );
    assert!(html.contains(">active<"), "{html}");
    let tab = session
        .get(
            &app,
            &format!("/dashboard/applications/{client_id}/credentials"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(tab.contains("federated: "), "{tab}");

    // Testing a token runs every check and uses nothing: the token works afterwards.
    let now = signet::clock::Clock::now(&*app.clock) / 1000;
    let token = github.mint(
        KEY_A.1,
        "gh-1",
        &github_claims(&github.issuer, &app.issuer, now),
    );
    let res = session
        .post(&app, &format!("{path}/test"), &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Accepted"), "{html}");
    assert!(
        html.contains("data-check=\"claims\" data-verdict=\"pass\""),
        "{html}"
    );
    assert!(!html.contains(&token), "the token is never echoed");
    let res = exchange(&app, &client_id, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Now used: testing it again says so.
    let html = session
        .post(&app, &format!("{path}/test"), &[("token", &token)])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-reason=\"replayed\""), "{html}");
}

on_both_databases!(spiffe_jwt_svids_without_iss_authenticate_with_the_trust_bundle);

/// A SPIFFE JWT-SVID (the JWT-SVID specification's claims: `sub` the SPIFFE ID, `aud`, `exp`,
/// `iat`; no `iss`, no `jti`), verified with the trust domain's bundle endpoint.
async fn spiffe_jwt_svids_without_iss_authenticate_with_the_trust_bundle(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    // A trust bundle as SPIRE serves it: the JWT authority with `use: jwt-svid`, beside an
    // X.509 authority that is not for JWTs, and the bundle's own members.
    let mut authority = jwk(KEY_B.0, "spire-1");
    authority["use"] = json!("jwt-svid");
    let mut x509 = jwk(KEY_A.0, "x509-ca");
    x509["use"] = json!("x509-svid");
    let bundle = FakeIssuer::start(&[authority, x509]).await;
    let s = Setup::new(
        TestApp::start(database, lab).await,
        &[json!({
            "credential_type": "federated", "preset": "spiffe",
            "subject": "spiffe://prod.example.org/ns/payments/sa/api",
            "jwks_uri": format!("{}/.well-known/jwks", bundle.issuer)
        })],
    )
    .await;
    assert_eq!(s.credentials[0]["issuer"], Value::Null);
    assert_eq!(s.credentials[0]["key_source"], "jwks_uri");
    assert_eq!(s.credentials[0]["max_token_lifetime"], 300);
    let svid = |sub: &str| {
        let now = s.now();
        sign(
            KEY_B.1,
            &json!({"alg": "RS256", "typ": "JWT", "kid": "spire-1"}),
            &json!({"sub": sub, "aud": [s.app.issuer], "iat": now, "exp": now + 300}),
        )
    };
    let token = svid("spiffe://prod.example.org/ns/payments/sa/api");
    s.assert_token(&token).await;
    s.assert_token(&token).await;
    let error = s
        .assert_refused(
            &svid("spiffe://prod.example.org/ns/payments/sa/apj"),
            "federated_claim_mismatch",
        )
        .await;
    assert_eq!(error["claim"], "sub");
}

on_both_databases!(signet_token_federated_github_asks_the_runner_for_a_token_for_the_issuer);

/// `signet token --federated github` in a job: it asks the runner's OIDC endpoint (from
/// `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`) for a token whose audience is signet's issuer.
async fn signet_token_federated_github_asks_the_runner_for_a_token_for_the_issuer(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let (github, s) = github_setup(database).await;
    let token = github.mint(
        KEY_A.1,
        "gh-1",
        &github_claims(&github.issuer, &s.app.issuer, s.now()),
    );
    *github.platform.runner.lock().await = Some((s.app.issuer.clone(), token));
    let args: Vec<String> = [
        "token",
        "--issuer",
        &s.app.issuer,
        "--client-id",
        &s.client_id,
        "--federated",
        "github",
        "--audience",
        API,
    ]
    .map(str::to_owned)
    .to_vec();
    let url = format!("{}/_apis/token?api-version=2.0", github.issuer);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(&args)
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
            .output()
            .expect("run signet")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let issued: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(issued["access_token"].is_string(), "{issued}");
}

on_both_databases!(a_restart_during_an_issuer_outage_keeps_the_stored_keys_for_a_day);

/// An instance that starts while the issuer's discovery document is down has no `jwks_uri` for
/// it yet: the set stored before serves, within its day, and the event says why.
async fn a_restart_during_an_issuer_outage_keeps_the_stored_keys_for_a_day(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let (github, s) = github_setup(database).await;
    let token = |app: &TestApp| {
        let now = signet::clock::Clock::now(&*app.clock) / 1000;
        github.mint(
            KEY_A.1,
            "gh-1",
            &github_claims(&github.issuer, &app.issuer, now),
        )
    };
    s.assert_token(&token(&s.app)).await;

    github.set_up(false).await;
    let Setup { app, client_id, .. } = s;
    let restarted = TestApp::start(app.stop().await, lab).await;
    let admin = restarted.management_token().await;
    let s = Setup {
        app: restarted,
        admin,
        client_id,
        credentials: Vec::new(),
    };
    s.assert_token(&token(&s.app)).await;
    let event = s
        .event(&s.client_id, "seccft", |e| {
            e["details"]["key_set_warning"].is_string()
        })
        .await;
    let warning = event["details"]["key_set_warning"].as_str().unwrap();
    assert!(warning.contains("discovery document"), "{warning}");

    // A day after the set was fetched, it is no longer used.
    s.app.clock.advance(Duration::from_secs(24 * 3600 + 60));
    s.assert_refused(&token(&s.app), "federated_keys_unavailable")
        .await;
}
