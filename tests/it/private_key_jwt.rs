//! Private Key JWT at the token endpoint (BEHAVIOUR A.5, A.6, B.1–B.7): happy paths with assertions
//! from an independent JWT library and from hand-built ones, one refusal per rule with its reason
//! code in the audit log, replay protection under concurrency and across server instances.

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Database, Db, TestApp, assert_oauth_error};
use crate::on_both_databases;

macro_rules! key {
    ($name:literal) => {
        include_str!(concat!("../fixtures/keys/", $name))
    };
}

const API: &str = "https://reports.example.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn now() -> i64 {
    signet::time_util::now_millis() / 1000
}

/// Signs `header.claims` by hand with a fixture PKCS#8 key, so any header or claim can be sent.
pub fn sign(key_pem: &str, header: &Value, claims: &Value) -> String {
    let der = pem_body(key_pem);
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
    let alg: &'static dyn RsaEncoding = match header["alg"].as_str().unwrap_or("RS256") {
        "RS384" => &RSA_PKCS1_SHA384,
        "PS256" => &RSA_PSS_SHA256,
        _ => &RSA_PKCS1_SHA256,
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        alg,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

pub(crate) fn unique_jti() -> String {
    signet::crypto::random::base62(20)
}

/// The form of a Private Key JWT token request for the API.
fn assertion_form(assertion: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
        ("audience", API),
    ]
}

/// A tenant with an API and a Private Key JWT application using `pem`/`alg`.
pub(crate) struct Setup {
    pub app: TestApp,
    pub admin: String,
    pub client_id: String,
    pub credential: Value,
}

impl Setup {
    pub async fn new(app: TestApp, public_pem: &str, alg: &str) -> Self {
        let admin = app.management_token().await;
        app.create_api(&admin, API, &["read:reports"]).await;
        let res = app
            .post_json(&admin, "/api/v2/clients", &json!({
                "name": "reporter", "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [
                    {"credential_type": "public_key", "pem": public_pem, "alg": alg, "name": "k1"}]}}
            }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let client: Value = res.json().await.unwrap();
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        let credential =
            client["client_authentication_methods"]["private_key_jwt"]["credentials"][0].clone();
        app.grant(&admin, &client_id, API, &["read:reports"]).await;
        Self {
            app,
            admin,
            client_id,
            credential,
        }
    }

    pub fn claims(&self) -> Value {
        let now = now();
        json!({"iss": self.client_id, "sub": self.client_id, "aud": self.app.issuer,
               "iat": now, "exp": now + 60, "jti": unique_jti()})
    }

    /// A fresh RS256 assertion signed with the application's key.
    fn assertion(&self) -> String {
        sign(
            key!("rsa2048.key.pem"),
            &json!({"alg": "RS256"}),
            &self.claims(),
        )
    }

    pub fn kid(&self) -> &str {
        self.credential["kid"].as_str().unwrap()
    }

    pub async fn post_form(&self, assertion: &str, client_id: Option<&str>) -> reqwest::Response {
        let mut form = assertion_form(assertion);
        if let Some(id) = client_id {
            form.push(("client_id", id));
        }
        self.app
            .http
            .post(self.app.url("/oauth/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn post_json(&self, body: &Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url("/oauth/token"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Asserts a 401 invalid_client and that the audit log recorded `code` for this client.
    pub async fn assert_refused(&self, res: reqwest::Response, code: &str) {
        let body = assert_oauth_error(res, 401, "invalid_client").await;
        assert_eq!(
            body["error_description"], "Client authentication failed",
            "no detail to the caller"
        );
        let event = self.wait_for_failure(code).await;
        assert_eq!(event["type"], "feccft");
        assert_eq!(
            event["details"]["client_authentication_error"]["code"], code,
            "{event}"
        );
    }

    /// The newest failure event for this client with reason `code` (the log is written in the
    /// background, so it may take a moment to appear).
    async fn wait_for_failure(&self, code: &str) -> Value {
        self.wait_for_failure_of(&self.client_id, code).await
    }

    /// This client's failure events with reason `code`, newest first, as the log holds them now.
    async fn failures(&self, code: &str) -> Vec<Value> {
        let logs: Value = self
            .app
            .get(
                &self.admin,
                &format!(
                    "/api/v2/logs?type=feccft&client_id={}&per_page=100",
                    self.client_id
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        logs.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["details"]["client_authentication_error"]["code"] == code)
            .cloned()
            .collect()
    }

    /// The failure event with reason `code` logged after the `before` already there (the log
    /// is written in the background).
    async fn wait_for_new_failure(&self, code: &str, before: usize) -> Value {
        for _ in 0..100 {
            let events = self.failures(code).await;
            if events.len() > before {
                assert_eq!(events.len(), before + 1, "one event per request");
                return events[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("no new feccft event with reason {code}");
    }

    async fn wait_for_failure_of(&self, client_id: &str, code: &str) -> Value {
        for _ in 0..100 {
            let logs: Value = self
                .app
                .get(
                    &self.admin,
                    &format!("/api/v2/logs?type=feccft&client_id={client_id}&per_page=5"),
                )
                .await
                .json()
                .await
                .unwrap();
            if let Some(e) = logs
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["details"]["client_authentication_error"]["code"] == code)
            {
                return e.clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("no feccft event with reason {code} for {client_id}");
    }
}

pub(crate) async fn ok_token(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    body
}

on_both_databases!(
    every_algorithm_works_with_and_without_kid,
    sdk_shaped_requests_work,
    rotation_with_two_credentials,
    algorithm_and_header_rules,
    key_choice_rules,
    claim_rules,
    audience_rules,
    replay_is_refused_and_forgeries_do_not_burn_a_jti,
    concurrent_replays_succeed_exactly_once,
    a_used_jti_stays_used_across_a_restart,
    ids_and_log_fields_with_json_syntax_are_kept_as_sent,
    credentials_stop_working_at_once,
    successes_are_logged_and_last_use_recorded,
    request_and_client_rules,
);

async fn every_algorithm_works_with_and_without_kid(db: Db) {
    for (alg, algorithm, public, private) in [
        (
            "RS256",
            Algorithm::RS256,
            key!("rsa2048.pub.pem"),
            key!("rsa2048.key.pem"),
        ),
        (
            "RS384",
            Algorithm::RS384,
            key!("rsa3072.pub.pem"),
            key!("rsa3072.key.pem"),
        ),
        (
            "PS256",
            Algorithm::PS256,
            key!("rsa4096.cert.pem"),
            key!("rsa4096.key.pem"),
        ),
    ] {
        let Some(app) = TestApp::spawn(db).await else {
            return;
        };
        let s = Setup::new(app, public, alg).await;
        // Built by an independent library (jsonwebtoken), with and without kid.
        let encoding = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
        let mut header = Header::new(algorithm);
        ok_token(
            s.post_form(&encode(&header, &s.claims(), &encoding).unwrap(), None)
                .await,
        )
        .await;
        header.kid = Some(s.kid().to_owned());
        let body = ok_token(
            s.post_form(
                &encode(&header, &s.claims(), &encoding).unwrap(),
                Some(&s.client_id),
            )
            .await,
        )
        .await;
        assert_eq!(body["scope"], "read:reports");
        // The access token names the client.
        let payload = body["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["sub"], format!("{}@clients", s.client_id));
        assert_eq!(claims["gty"], "client-credentials");
        // Built by hand, typ client-authentication+jwt.
        let a = sign(
            private,
            &json!({"alg": alg, "typ": "client-authentication+jwt", "kid": s.kid()}),
            &s.claims(),
        );
        ok_token(s.post_form(&a, None).await).await;
    }
}

async fn sdk_shaped_requests_work(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    // auth0-python: JSON, "organization": null, no kid.
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "typ": "JWT"}),
        &s.claims(),
    );
    let body = json!({"grant_type": "client_credentials", "client_id": s.client_id, "client_assertion": a,
                      "client_assertion_type": ASSERTION_TYPE, "audience": API, "organization": null});
    ok_token(s.post_json(&body).await).await;
    // node-auth0: form body without kid and without client_id.
    let a = s.assertion();
    ok_token(s.post_form(&a, None).await).await;
}

async fn rotation_with_two_credentials(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let res = s
        .app
        .post_json(
            &s.admin,
            &format!("/api/v2/clients/{}/credentials", s.client_id),
            &json!({"credential_type": "public_key", "pem": key!("rsa3072.pub.pem")}),
        )
        .await;
    let second: Value = res.json().await.unwrap();
    let res = s.app.patch_json(&s.admin, &format!("/api/v2/clients/{}", s.client_id),
        &json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": s.credential["id"]}, {"id": second["id"]}]}}})).await;
    assert_eq!(res.status(), StatusCode::OK);
    for private in [key!("rsa2048.key.pem"), key!("rsa3072.key.pem")] {
        let a = sign(private, &json!({"alg": "RS256"}), &s.claims());
        ok_token(s.post_form(&a, None).await).await;
    }
    // After the switch to the new key only, the old key fails.
    s.app.patch_json(&s.admin, &format!("/api/v2/clients/{}", s.client_id),
        &json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": second["id"]}]}}})).await;
    // The old key, now disabled, is named in the log with and without its kid.
    let a = s.assertion();
    s.assert_refused(s.post_form(&a, None).await, "credential_disabled")
        .await;
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "kid": s.kid()}),
        &s.claims(),
    );
    let before = s.failures("credential_disabled").await.len();
    assert_oauth_error(s.post_form(&a, None).await, 401, "invalid_client").await;
    let event = s.wait_for_new_failure("credential_disabled", before).await;
    assert_eq!(
        event["details"]["client_authentication_error"]["credential_id"],
        s.credential["id"]
    );
    // A key the application never had, without a kid: the enabled key was the one tried.
    let a = sign(
        key!("rsa4096.key.pem"),
        &json!({"alg": "RS256"}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "bad_signature")
        .await;
    let event = s.wait_for_failure("bad_signature").await;
    assert_eq!(
        event["details"]["client_authentication_error"]["credential_id"],
        second["id"]
    );
    // Switched back to a secret, the application's keys are not consulted at all.
    let res = s.app.patch_json(&s.admin, &format!("/api/v2/clients/{}", s.client_id),
        &json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": null})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = s.assertion();
    s.assert_refused(s.post_form(&a, None).await, "private_key_jwt_not_enabled")
        .await;
}

async fn algorithm_and_header_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let claims = s.claims();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    // alg none, with an empty signature. The refusal is still filed under the claimed iss.
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims));
    s.assert_refused(s.post_form(&none, None).await, "malformed_assertion")
        .await;
    let none = format!("{}.{}.AA", b64(&json!({"alg": "none"})), b64(&s.claims()));
    s.assert_refused(s.post_form(&none, None).await, "unsupported_alg")
        .await;
    // HS256 keyed with the public key (algorithm confusion).
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &s.claims(),
        &EncodingKey::from_secret(key!("rsa2048.pub.pem").as_bytes()),
    )
    .unwrap();
    s.assert_refused(s.post_form(&hs, None).await, "unsupported_alg")
        .await;
    // Header alg differs from the credential's.
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "PS256", "kid": s.kid()}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "alg_mismatch")
        .await;
    // crit, and an unknown typ.
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "crit": ["exp"]}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "crit_header")
        .await;
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "typ": "at+jwt"}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "bad_typ")
        .await;
    // A key embedded in the header is never trusted: the attacker signs with their own key.
    let attacker = key!("rsa3072.key.pem");
    let jwk = json!({"kty": "RSA", "n": "attacker", "e": "AQAB"});
    let a = sign(
        attacker,
        &json!({"alg": "RS256", "jwk": jwk, "jku": "http://127.0.0.1:9/jwks"}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "bad_signature")
        .await;
    // Oversize.
    let mut big = s.claims();
    big["pad"] = json!("x".repeat(2100));
    let a = sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &big);
    // Too large to be read at all: only the client_id sent alongside names the application.
    s.assert_refused(
        s.post_form(&a, Some(&s.client_id)).await,
        "assertion_too_large",
    )
    .await;
    // Not a JWT at all: only the client_id sent alongside names the application.
    s.assert_refused(
        s.post_form("a.b", Some(&s.client_id)).await,
        "malformed_assertion",
    )
    .await;
}

async fn key_choice_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "kid": "some-other-kid-123"}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "unknown_kid")
        .await;
    // A tampered payload.
    let good = s.assertion();
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = s.claims();
    other["exp"] = json!(now() + 120);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(other.to_string()),
        parts[2]
    );
    s.assert_refused(s.post_form(&forged, None).await, "bad_signature")
        .await;
    // An expired credential, with and without kid.
    let cred_path = format!(
        "/api/v2/clients/{}/credentials/{}",
        s.client_id,
        s.credential["id"].as_str().unwrap()
    );
    let soon = signet::time_util::format_millis(signet::time_util::now_millis() + 1500);
    assert_eq!(
        s.app
            .patch_json(&s.admin, &cred_path, &json!({"expires_at": soon}))
            .await
            .status(),
        StatusCode::OK
    );
    let a = s.assertion();
    ok_token(s.post_form(&a, None).await).await;
    s.app.clock.advance(Duration::from_millis(2000));
    let a = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256", "kid": s.kid()}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "credential_expired")
        .await;
    let event = s.wait_for_failure("credential_expired").await;
    assert_eq!(
        event["details"]["client_authentication_error"]["credential_id"],
        s.credential["id"]
    );
    // Without a kid, the expired key is still the one whose signature verifies: the log names
    // it with its precise reason.
    let a = s.assertion();
    let before = s.failures("credential_expired").await.len();
    assert_oauth_error(s.post_form(&a, None).await, 401, "invalid_client").await;
    let event = s.wait_for_new_failure("credential_expired", before).await;
    assert_eq!(
        event["details"]["client_authentication_error"]["credential_id"],
        s.credential["id"]
    );
    // Signed by a key the application never had: nothing to name.
    let a = sign(
        key!("rsa3072.key.pem"),
        &json!({"alg": "RS256"}),
        &s.claims(),
    );
    s.assert_refused(s.post_form(&a, None).await, "no_usable_credential")
        .await;
}

async fn claim_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = s.claims();
        f(&mut c);
        sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c)
    };
    let now = now();
    let id = s.client_id.clone();
    let cases: Vec<(String, &str)> = vec![
        (
            with(&|c| c["sub"] = json!("someone-else")),
            "iss_sub_mismatch",
        ),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "missing_exp",
        ),
        (
            with(&|c| {
                c["iat"] = json!(now - 30);
                c["exp"] = json!(now - 11);
            }),
            "expired",
        ),
        (with(&|c| c["exp"] = json!(now + 400)), "lifetime_too_long"),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("iat");
                c["exp"] = json!(now + 320);
            }),
            "lifetime_too_long",
        ),
        (
            with(&|c| {
                c["iat"] = json!(now + 30);
                c["exp"] = json!(now + 60);
            }),
            "iat_in_future",
        ),
        (with(&|c| c["nbf"] = json!(now + 30)), "not_yet_valid"),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "missing_jti",
        ),
        (with(&|c| c["jti"] = json!("j".repeat(65))), "jti_too_long"),
        (with(&|c| c["exp"] = json!("soon")), "malformed_assertion"),
    ];
    for (assertion, code) in cases {
        s.assert_refused(s.post_form(&assertion, None).await, code)
            .await;
    }
    // A body client_id that differs from iss.
    let a = s.assertion();
    s.assert_refused(
        s.post_form(&a, Some("another-client-id")).await,
        "client_id_mismatch",
    )
    .await;
    // Within the tolerated skew: expired 5 s ago, lifetime exactly 300 s, nbf 5 s ahead.
    for c in [
        json!({"iss": id, "sub": id, "aud": s.app.issuer, "iat": now - 60, "exp": now - 5, "jti": unique_jti()}),
        json!({"iss": id, "sub": id, "aud": s.app.issuer, "iat": now, "exp": now + 300, "jti": unique_jti()}),
        json!({"iss": id, "sub": id, "aud": s.app.issuer, "nbf": now + 5, "exp": now + 60, "jti": unique_jti()}),
    ] {
        ok_token(
            s.post_form(
                &sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c),
                None,
            )
            .await,
        )
        .await;
    }
}

async fn audience_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let issuer = s.app.issuer.clone();
    let token_endpoint = format!("{issuer}oauth/token");
    let with_aud = |aud: Value| {
        let mut c = s.claims();
        c["aud"] = aud;
        sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c)
    };
    for aud in [
        json!(token_endpoint),
        json!([issuer]),
        json!(issuer.trim_end_matches('/')),
        json!(issuer.to_uppercase()),
        json!("https://some-other-tenant.example/"),
    ] {
        s.assert_refused(s.post_form(&with_aud(aud), None).await, "aud_mismatch")
            .await;
    }
    // With --accept-legacy-assertion-audience the token endpoint and arrays are accepted.
    let database = s.app.stop().await;
    let app = TestApp::start(database, |mut st| {
        st.accept_legacy_assertion_audience = true;
        st
    })
    .await;
    let legacy = Setup {
        admin: app.management_token().await,
        app,
        ..s
    };
    let issuer = legacy.app.issuer.clone();
    let with_aud = |aud: Value| {
        let mut c = legacy.claims();
        c["aud"] = aud;
        sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c)
    };
    ok_token(
        legacy
            .post_form(&with_aud(json!(format!("{issuer}oauth/token"))), None)
            .await,
    )
    .await;
    ok_token(
        legacy
            .post_form(&with_aud(json!([issuer, "https://x/"])), None)
            .await,
    )
    .await;
    legacy
        .assert_refused(
            legacy.post_form(&with_aud(json!("https://x/")), None).await,
            "aud_mismatch",
        )
        .await;
}

async fn replay_is_refused_and_forgeries_do_not_burn_a_jti(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let claims = s.claims();
    // A forged assertion (signed by another key) carrying the legitimate jti comes first.
    let forged = sign(key!("rsa3072.key.pem"), &json!({"alg": "RS256"}), &claims);
    s.assert_refused(s.post_form(&forged, None).await, "bad_signature")
        .await;
    // So does one for an audience the client has no grant for: refused, jti not burnt.
    let legit = sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &claims);
    let res = s
        .app
        .http
        .post(s.app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", legit.as_str()),
            ("audience", "https://not-granted.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 403, "access_denied").await;
    ok_token(s.post_form(&legit, None).await).await;
    s.assert_refused(s.post_form(&legit, None).await, "replayed")
        .await;
}

async fn concurrent_replays_succeed_exactly_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let a = s.assertion();
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (http, url, a) = (s.app.http.clone(), s.app.url("/oauth/token"), a.clone());
            tokio::spawn(async move {
                http.post(url)
                    .form(&assertion_form(&a))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((ok, refused), (1, 23), "{statuses:?}");
}

async fn a_used_jti_stays_used_across_a_restart(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    // The same issuer after the restart (whose port changes), so the assertion's audience holds.
    let fixed_issuer = |mut s: signet::config::Settings| {
        s.issuer = Some(signet::domain::issuer::Issuer::parse("https://signet.example/").unwrap());
        s
    };
    let app = TestApp::start(database, fixed_issuer).await;
    let Setup {
        app,
        admin,
        client_id,
        credential,
    } = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let used = sign(
        key!("rsa2048.key.pem"),
        &json!({"alg": "RS256"}),
        &json!({"iss": client_id, "sub": client_id, "aud": app.issuer,
                "iat": now(), "exp": now() + 60, "jti": unique_jti()}),
    );
    let form = assertion_form(&used);
    let post = |app: &TestApp| app.http.post(app.url("/oauth/token")).form(&form).send();
    ok_token(post(&app).await.unwrap()).await;
    let app = TestApp::start(app.stop().await, fixed_issuer).await;
    let s = Setup {
        app,
        admin,
        client_id,
        credential,
    };
    s.assert_refused(s.post_form(&used, None).await, "replayed")
        .await;
    ok_token(s.post_form(&s.assertion(), None).await).await;
}

/// Used ids and audit fields are written in batches, whatever the statement that carries them:
/// text that looks like JSON, or holds its quotes and escapes, must come back as sent.
async fn ids_and_log_fields_with_json_syntax_are_kept_as_sent(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    // Header values are visible ASCII; an id may be any text without control characters.
    let user_agent = r#"agent "quoted" \u0041 \ [1,{"a":null}]"#;
    for jti in ["123", "null", r#"q"uote\back é🙂"#, r#"{"jti":1}"#] {
        let mut claims = s.claims();
        claims["jti"] = json!(jti);
        let a = sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &claims);
        let post = || {
            s.app
                .http
                .post(s.app.url("/oauth/token"))
                .header("user-agent", user_agent)
                .form(&assertion_form(&a))
                .send()
        };
        ok_token(post().await.unwrap()).await;
        let res = post().await.unwrap();
        assert_oauth_error(res, 401, "invalid_client").await;
    }
    let mut events = Vec::new();
    for _ in 0..100 {
        let page: Value = s
            .app
            .get(
                &s.admin,
                &format!("/api/v2/logs?client_id={}&per_page=50", s.client_id),
            )
            .await
            .json()
            .await
            .unwrap();
        events = page.as_array().unwrap().clone();
        if events.len() == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(events.len(), 8, "{events:?}");
    for event in &events {
        assert_eq!(event["user_agent"], user_agent, "{event}");
    }
    let replays = events
        .iter()
        .filter(|e| e["details"]["client_authentication_error"]["code"] == "replayed")
        .count();
    assert_eq!(replays, 4, "each id is refused the second time only");
}

async fn credentials_stop_working_at_once(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    // Two server instances on one database.
    // Instances behind one load balancer share the issuer (and so the assertion audience).
    let same_issuer = |mut s: signet::config::Settings| {
        s.issuer = Some(signet::domain::issuer::Issuer::parse("https://signet.example/").unwrap());
        s
    };
    let first = TestApp::start(database, same_issuer).await;
    let shared = Database::share(&first.db);
    let second = TestApp::start(shared, same_issuer).await;
    let s = Setup::new(first, key!("rsa2048.pub.pem"), "RS256").await;
    let claims_for = |app: &TestApp| {
        let now = now();
        json!({"iss": s.client_id, "sub": s.client_id, "aud": app.issuer, "iat": now, "exp": now + 60, "jti": unique_jti()})
    };
    let post = |app: &TestApp, assertion: String| {
        let url = app.url("/oauth/token");
        let http = app.http.clone();
        async move {
            http.post(url)
                .form(&assertion_form(&assertion))
                .send()
                .await
                .unwrap()
        }
    };
    // The same jti is refused on the other instance.
    let jti = unique_jti();
    let mut c1 = claims_for(&s.app);
    c1["jti"] = json!(jti);
    ok_token(
        post(
            &s.app,
            sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c1),
        )
        .await,
    )
    .await;
    let mut c2 = claims_for(&second);
    c2["jti"] = json!(jti);
    let res = post(
        &second,
        sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &c2),
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // The second instance caches the client and its key ...
    ok_token(
        post(
            &second,
            sign(
                key!("rsa2048.key.pem"),
                &json!({"alg": "RS256"}),
                &claims_for(&second),
            ),
        )
        .await,
    )
    .await;
    // ... and still refuses within a second of the credential being disassociated on the first.
    let res = s.app.patch_json(&s.admin, &format!("/api/v2/clients/{}", s.client_id),
        &json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": null})).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The second instance learns of it at its next read of the change counter.
    let started = std::time::Instant::now();
    let res = loop {
        let res = post(
            &second,
            sign(
                key!("rsa2048.key.pem"),
                &json!({"alg": "RS256"}),
                &claims_for(&second),
            ),
        )
        .await;
        if res.status() != StatusCode::OK || started.elapsed() > Duration::from_secs(1) {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_oauth_error(res, 401, "invalid_client").await;
    // Deleting the client takes effect on this instance at once.
    assert_eq!(
        s.app
            .delete(&s.admin, &format!("/api/v2/clients/{}", s.client_id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = post(
        &s.app,
        sign(
            key!("rsa2048.key.pem"),
            &json!({"alg": "RS256"}),
            &claims_for(&s.app),
        ),
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    drop(second);
}

async fn successes_are_logged_and_last_use_recorded(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let a = s.assertion();
    ok_token(s.post_form(&a, None).await).await;
    let mut event = Value::Null;
    for _ in 0..100 {
        let logs: Value = s
            .app
            .get(
                &s.admin,
                &format!(
                    "/api/v2/logs?type=seccft&client_id={}&include_totals=true",
                    s.client_id
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        // The writer runs in the background: the event may land between the page and the count.
        if logs["logs"].as_array().unwrap().len() == 1 {
            assert_eq!(logs["total"], 1, "{logs}");
            event = logs["logs"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(event["type"], "seccft", "{event}");
    assert_eq!(event["client_name"], "reporter");
    assert_eq!(event["audience"], API);
    assert_eq!(event["ip"], "127.0.0.1");
    assert_eq!(event["details"]["credential_id"], s.credential["id"]);
    assert!(event["date"].as_str().unwrap().ends_with('Z'));
    assert!(
        !event.to_string().contains(&a),
        "the assertion is never logged"
    );
    // last_used_at appears on the credential (written off the request path).
    let path = format!(
        "/api/v2/clients/{}/credentials/{}",
        s.client_id,
        s.credential["id"].as_str().unwrap()
    );
    let mut seen = Value::Null;
    for _ in 0..100 {
        let c: Value = s.app.get(&s.admin, &path).await.json().await.unwrap();
        if !c["last_used_at"].is_null() {
            seen = c;
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(seen["last_used_at"].as_str().unwrap().ends_with('Z'));
    // read:logs is required.
    let outsider = s.app.management_token_with(&["read:clients"]).await;
    crate::helpers::assert_api_error(
        s.app.get(&outsider, "/api/v2/logs").await,
        403,
        "insufficient_scope",
    )
    .await;
}

async fn request_and_client_rules(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, key!("rsa2048.pub.pem"), "RS256").await;
    let a = s.assertion();
    let url = s.app.url("/oauth/token");
    let base = [
        ("grant_type", "client_credentials"),
        ("audience", API),
        ("client_assertion", a.as_str()),
    ];
    // Two authentication methods in one request (BEHAVIOUR B.3).
    let mut form = base.to_vec();
    form.extend([
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_secret", "x"),
    ]);
    let res = s.app.http.post(&url).form(&form).send().await.unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    let mut form = base.to_vec();
    form.push(("client_assertion_type", ASSERTION_TYPE));
    let res = s
        .app
        .http
        .post(&url)
        .basic_auth(&s.client_id, Some("x"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    // A wrong or missing assertion type.
    let mut form = base.to_vec();
    form.push((
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    ));
    let res = s.app.http.post(&url).form(&form).send().await.unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = s.app.http.post(&url).form(&base).send().await.unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    // None of these burnt the jti.
    ok_token(s.post_form(&a, None).await).await;

    // An assertion for an application that does not exist, filed under the id it claims.
    let now = now();
    let ghost = "no-such-application-0123";
    let claims = json!({"iss": ghost, "sub": ghost, "aud": s.app.issuer, "iat": now, "exp": now + 60, "jti": unique_jti()});
    let res = s
        .post_form(
            &sign(key!("rsa2048.key.pem"), &json!({"alg": "RS256"}), &claims),
            None,
        )
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    s.wait_for_failure_of(ghost, "unknown_client").await;

    // An application on a client secret cannot use an assertion, even signed by a key it once had.
    let res = s.app.patch_json(&s.admin, &format!("/api/v2/clients/{}", s.client_id),
        &json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": null})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = s.assertion();
    s.assert_refused(s.post_form(&a, None).await, "private_key_jwt_not_enabled")
        .await;
}
