//! Access-token signing keys (BEHAVIOUR A.8): Auth0's `/api/v2/keys/signing` lifecycle, the
//! JWKS across rotation and revocation checked with an independent library (jsonwebtoken), two
//! servers on one database, per-API PS256/HS256 and token dialects.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, assert_api_error};
use crate::on_both_databases;

async fn jwks(app: &TestApp) -> (JwkSet, Value) {
    let res = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert_eq!(cache, "public, max-age=60");
    let raw: Value = res.json().await.unwrap();
    (serde_json::from_value(raw.clone()).unwrap(), raw)
}

fn kids(raw: &Value) -> Vec<String> {
    raw["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Verifies `token` as a resource server would: the key named by its `kid`, from the JWKS.
fn verify(
    set: &JwkSet,
    token: &str,
    alg: Algorithm,
    issuer: &str,
    audience: &str,
) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

async fn keys(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.get(token, "/api/v2/keys/signing").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Vec<Value>>().await.unwrap()
}

fn kid_in(keys: &[Value], flag: &str) -> String {
    keys.iter()
        .find(|k| k[flag] == true)
        .unwrap_or_else(|| panic!("a {flag} key in {keys:?}"))["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn put(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .put(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn rotate(app: &TestApp, token: &str) -> Value {
    let res = app
        .post_json(token, "/api/v2/keys/signing/rotate", &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// An application with a secret, granted `scopes` on a new API at `audience`.
async fn app_for(app: &TestApp, admin: &str, audience: &str, api: Value) -> (String, String) {
    let res = app.post_json(admin, "/api/v2/resource-servers", &api).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{api}");
    let client = app.create_client(admin, "verifier test").await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    app.grant(admin, &id, audience, &["read:things", "write:things"])
        .await;
    (id, client["client_secret"].as_str().unwrap().to_owned())
}

on_both_databases!(rotation_and_revocation_as_a_resource_server_sees_them);

async fn rotation_and_revocation_as_a_resource_server_sees_them(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    const API: &str = "https://rotation.example.com/";
    let (id, secret) = app_for(
        &app,
        &admin,
        API,
        json!({"identifier": API, "scopes": [{"value": "read:things"}, {"value": "write:things"}]}),
    )
    .await;

    // A current and a next key from the start, both published with their certificates.
    let before = keys(&app, &admin).await;
    assert_eq!(before.len(), 2, "{before:?}");
    let first = kid_in(&before, "current");
    let next = kid_in(&before, "next");
    for k in &before {
        assert!(
            k["cert"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----\r\n")
        );
        assert!(
            k["pkcs7"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PKCS7-----\r\n")
        );
        assert_eq!(k["thumbprint"].as_str().unwrap().len(), 40);
        assert_eq!(k["fingerprint"].as_str().unwrap().split(':').count(), 20);
        assert_eq!(k["revoked"], false);
    }
    assert!(before.iter().any(|k| k["current_since"].is_string()));
    let (set, raw) = jwks(&app).await;
    assert_eq!(
        kids(&raw),
        [first.clone(), next.clone()],
        "current, then next"
    );
    for jwk in raw["keys"].as_array().unwrap() {
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert!(jwk["x5c"][0].is_string() && jwk["x5t"].is_string());
        assert!(jwk["x5t#S256"].is_string() && jwk.get("d").is_none());
    }
    let old_token = app.token_with_secret(&id, &secret, API).await;
    assert_eq!(decode_header(&old_token).unwrap().kid.unwrap(), first);
    verify(&set, &old_token, Algorithm::RS256, &app.issuer, API).unwrap();
    assert_eq!(decode_header(&admin).unwrap().kid.unwrap(), first);

    // Rotation answers with the new next key; the next key was published before it signs.
    let rotated = rotate(&app, &admin).await;
    let newest = rotated["kid"].as_str().unwrap().to_owned();
    assert!(
        rotated["cert"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let after = keys(&app, &admin).await;
    assert_eq!(kid_in(&after, "current"), next);
    assert_eq!(kid_in(&after, "next"), newest);
    assert_eq!(kid_in(&after, "previous"), first);
    let (set, raw) = jwks(&app).await;
    assert_eq!(kids(&raw), [next.clone(), newest.clone(), first.clone()]);
    let new_token = app.token_with_secret(&id, &secret, API).await;
    assert_eq!(decode_header(&new_token).unwrap().kid.unwrap(), next);
    verify(&set, &new_token, Algorithm::RS256, &app.issuer, API).unwrap();
    verify(&set, &old_token, Algorithm::RS256, &app.issuer, API)
        .expect("a token signed before the rotation still verifies");

    // Only a previous key can be revoked.
    let current_refused = put(&app, &admin, &format!("/api/v2/keys/signing/{next}/revoke")).await;
    let body = assert_api_error(current_refused, 400, "operation_not_supported").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("current signing key")
    );
    let next_refused = put(
        &app,
        &admin,
        &format!("/api/v2/keys/signing/{newest}/revoke"),
    )
    .await;
    assert_api_error(next_refused, 400, "operation_not_supported").await;
    let unknown = put(&app, &admin, "/api/v2/keys/signing/nope/revoke").await;
    assert_api_error(unknown, 404, "inexistent_signing_key").await;
    let unknown = app.get(&admin, "/api/v2/keys/signing/nope").await;
    assert_api_error(unknown, 404, "inexistent_signing_key").await;

    // Revoking the previous key: gone from the JWKS at once, its tokens no longer verify, and
    // the Management API token it signed is refused. A second revocation changes nothing.
    app.clock.advance(Duration::from_secs(5));
    let revoked = put(
        &app,
        &admin,
        &format!("/api/v2/keys/signing/{first}/revoke"),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked: Value = revoked.json().await.unwrap();
    assert_eq!(revoked["kid"], first.as_str());
    let (set, raw) = jwks(&app).await;
    assert_eq!(kids(&raw), [next.clone(), newest.clone()]);
    let err = verify(&set, &old_token, Algorithm::RS256, &app.issuer, API).unwrap_err();
    assert!(err.contains("not in the JWKS"), "{err}");
    for jwk in &set.keys {
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[API]);
        assert!(decode::<Value>(&old_token, &key, &validation).is_err());
    }
    let refused = app.get(&admin, "/api/v2/keys/signing").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let admin = app.management_token().await;
    let again = put(
        &app,
        &admin,
        &format!("/api/v2/keys/signing/{first}/revoke"),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    let shown: Value = app
        .get(&admin, &format!("/api/v2/keys/signing/{first}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["revoked"], true);
    assert_eq!(shown["previous"], false);
    assert!(shown["revoked_at"].is_string() && shown["current_until"].is_string());

    // The private halves are sealed at rest, and the revoked one is gone.
    let mut conn = raw_connection(&app).await;
    use sqlx::Row;
    let rows = sqlx::query("SELECT kid, private_key FROM signing_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let kid: String = row.get(0);
        let private: String = row.get(1);
        if kid == first {
            assert_eq!(private, "", "a revoked key's private half is wiped");
        } else {
            assert!(!private.contains("PRIVATE") && !private.starts_with("MII"));
            assert!(
                !private.contains(&base64_prefix_of_pkcs8()),
                "sealed, not plain PKCS#8"
            );
        }
    }

    // Restart: the states stay as they were.
    let db = app.stop().await;
    let app = TestApp::start(db, |s| s).await;
    let admin = app.management_token().await;
    let restarted = keys(&app, &admin).await;
    assert_eq!(kid_in(&restarted, "current"), next);
    assert_eq!(kid_in(&restarted, "next"), newest);
    assert_eq!(kid_in(&restarted, "revoked"), first);
    let (_, raw) = jwks(&app).await;
    assert_eq!(kids(&raw), [next, newest]);
}

/// Base64 of the bytes every RSA PKCS#8 key starts with (`SEQUENCE`, length, version 0).
fn base64_prefix_of_pkcs8() -> String {
    "MIIEv".into()
}

async fn raw_connection(app: &TestApp) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&app.db.url).await.unwrap()
}

on_both_databases!(each_key_route_needs_its_scope);

async fn each_key_route_needs_its_scope(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let reader = app.management_token_with(&["read:signing_keys"]).await;
    let creator = app.management_token_with(&["create:signing_keys"]).await;
    let updater = app.management_token_with(&["update:signing_keys"]).await;
    let other = app.management_token_with(&["read:clients"]).await;
    for token in [&creator, &updater, &other] {
        let res = app.get(token, "/api/v2/keys/signing").await;
        assert_api_error(res, 403, "insufficient_scope").await;
    }
    let kid = kid_in(&keys(&app, &reader).await, "current");
    let res = app
        .get(&other, &format!("/api/v2/keys/signing/{kid}"))
        .await;
    assert_api_error(res, 403, "insufficient_scope").await;
    for token in [&reader, &creator, &updater] {
        let res = app
            .post_json(token, "/api/v2/keys/signing/rotate", &json!({}))
            .await;
        let body = assert_api_error(res, 403, "insufficient_scope").await;
        assert!(
            body["message"].as_str().unwrap().contains("all of"),
            "{body}"
        );
    }
    for token in [&reader, &creator] {
        let res = put(&app, token, &format!("/api/v2/keys/signing/{kid}/revoke")).await;
        assert_api_error(res, 403, "insufficient_scope").await;
    }
    let both = app
        .management_token_with(&["create:signing_keys", "update:signing_keys"])
        .await;
    rotate(&app, &both).await;
    assert_eq!(kid_in(&keys(&app, &reader).await, "previous"), kid);
    app.clock.advance(Duration::from_secs(5));
    let res = put(
        &app,
        &updater,
        &format!("/api/v2/keys/signing/{kid}/revoke"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Two servers on one PostgreSQL database: a rotation on one is signed with on the other within
/// a second, and a revocation there drops the key from the other's JWKS within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_agree_on_the_keys_within_a_second() {
    let Some(database) = crate::helpers::Database::create(Db::Postgres).await else {
        return;
    };
    // Instances behind one load balancer share the issuer (and so the Management audience).
    let same_issuer = |mut s: signet::config::Settings| {
        s.issuer = Some(signet::domain::issuer::Issuer::parse("https://signet.example/").unwrap());
        s
    };
    let one = TestApp::start(database, same_issuer).await;
    let two = TestApp::start(one.db.share(), same_issuer).await;
    let admin = one.management_token().await;
    let before = keys(&one, &admin).await;
    let old = kid_in(&before, "current");
    let next = kid_in(&before, "next");
    assert_eq!(
        decode_header(&two.management_token().await)
            .unwrap()
            .kid
            .unwrap(),
        old
    );

    rotate(&one, &admin).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let token = two.management_token().await;
        if decode_header(&token).unwrap().kid.unwrap() == next {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other server still signs with {old}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    one.clock.advance(Duration::from_secs(5));
    let res = put(&one, &admin, &format!("/api/v2/keys/signing/{old}/revoke")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (_, raw) = jwks(&two).await;
        if !kids(&raw).contains(&old) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other server still publishes {old}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A Management API token signed with the revoked key is refused there too.
    let res = two.get(&admin, "/api/v2/keys/signing").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

on_both_databases!(apis_sign_with_their_own_algorithm_and_dialect);

async fn apis_sign_with_their_own_algorithm_and_dialect(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let scopes = json!([{"value": "read:things"}, {"value": "write:things"}]);

    // PS256 in the RFC 9068 profile: header and claims exactly as the RFC has them.
    const PS: &str = "https://ps256.example.com/";
    let (id, secret) = app_for(
        &app,
        &admin,
        PS,
        json!({"identifier": PS, "scopes": scopes, "signing_alg": "PS256",
               "token_dialect": "rfc9068_profile"}),
    )
    .await;
    let token = app.token_with_secret(&id, &secret, PS).await;
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::PS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let (set, _) = jwks(&app).await;
    let claims = verify(&set, &token, Algorithm::PS256, &app.issuer, PS).unwrap();
    let mut names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ]
    );
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["scope"], "read:things write:things");

    // HS256 with permissions: the secret is generated, shown to its creator, and verifies.
    const HS: &str = "https://hs256.example.com/";
    let res = app
        .post_json(
            &admin,
            "/api/v2/resource-servers",
            &json!({"identifier": HS, "scopes": scopes, "signing_alg": "HS256",
                    "token_dialect": "access_token_authz"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let api: Value = res.json().await.unwrap();
    let hs_secret = api["signing_secret"].as_str().unwrap().to_owned();
    assert!(hs_secret.len() >= 43, "≥ 32 random bytes");
    let client = app.create_client(&admin, "hs256 caller").await;
    let hs_id = client["client_id"].as_str().unwrap();
    let hs_client_secret = client["client_secret"].as_str().unwrap();
    app.grant(&admin, hs_id, HS, &["read:things"]).await;
    let token = app.token_with_secret(hs_id, hs_client_secret, HS).await;
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid, None);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[HS]);
    validation.set_issuer(&[app.issuer.as_str()]);
    let claims = decode::<Value>(
        &token,
        &DecodingKey::from_secret(hs_secret.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["permissions"], json!(["read:things"]));
    assert_eq!(claims["azp"], hs_id);
    assert_eq!(claims["gty"], "client-credentials");

    // The secret is shown only with read:client_keys; a new one replaces it at once.
    let reader = app.management_token_with(&["read:resource_servers"]).await;
    let api_id = api["id"].as_str().unwrap();
    let seen: Value = app
        .get(&reader, &format!("/api/v2/resource-servers/{api_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(seen.get("signing_secret").is_none(), "{seen}");
    assert_eq!(seen["signing_alg"], "HS256");
    assert_eq!(seen["token_dialect"], "access_token_authz");
    let key_reader = app
        .management_token_with(&["read:resource_servers", "read:client_keys"])
        .await;
    let seen: Value = app
        .get(&key_reader, &format!("/api/v2/resource-servers/{api_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["signing_secret"], hs_secret.as_str());
    let rotated_secret = "a-new-secret-of-forty-characters-0123456";
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{api_id}"),
            &json!({"signing_secret": rotated_secret}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = app.token_with_secret(hs_id, hs_client_secret, HS).await;
    let new_key = DecodingKey::from_secret(rotated_secret.as_bytes());
    decode::<Value>(&token, &new_key, &validation).unwrap();
    let old_key = DecodingKey::from_secret(hs_secret.as_bytes());
    assert!(decode::<Value>(&token, &old_key, &validation).is_err());
    for bad in [
        json!({"signing_secret": "short"}),
        json!({"signing_alg": "HS512"}),
        json!({"token_dialect": "jwt"}),
        json!({"signing_secret": "x\u{0}".repeat(20)}),
    ] {
        let res = app
            .patch_json(&admin, &format!("/api/v2/resource-servers/{api_id}"), &bad)
            .await;
        assert_api_error(res, 400, "invalid_body").await;
    }

    // No secret in discovery or the JWKS, none in plain text in the database.
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let text = app
            .http
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !text.contains(rotated_secret) && !text.contains(&hs_secret),
            "{path}"
        );
    }
    let mut conn = raw_connection(&app).await;
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT signing_secret FROM resource_servers WHERE id = $1")
        .bind(api_id)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert!(!stored.contains(rotated_secret));

    // The Management API stays RS256 in Auth0's dialect.
    let system = app
        .resource_server_id(&admin, &app.management_audience())
        .await;
    for change in [
        json!({"signing_alg": "HS256"}),
        json!({"token_dialect": "rfc9068_profile"}),
    ] {
        let res = app
            .patch_json(
                &admin,
                &format!("/api/v2/resource-servers/{system}"),
                &change,
            )
            .await;
        assert_api_error(res, 400, "operation_not_supported").await;
    }
}

on_both_databases!(the_dashboard_rotates_and_revokes_only_when_confirmed);

/// Settings → Signing Keys: nothing happens without the confirmation box; with it, rotation,
/// revocation and "rotate & revoke" do what the Management API does.
async fn the_dashboard_rotates_and_revokes_only_when_confirmed(db: Db) {
    use crate::dashboard::Session;
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let s = Session::sign_in(&app).await;
    let page = s.get(&app, "/dashboard/settings/signing-keys").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let before = keys(&app, &admin).await;
    let current = kid_in(&before, "current");
    let next = kid_in(&before, "next");
    assert!(html.contains(&current) && html.contains(&next));
    assert!(html.contains("stop verifying") || html.contains("stops verifying"));

    let res = s
        .post(&app, "/dashboard/settings/signing-keys/rotate", &[])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Tick the box"));
    assert_eq!(
        kid_in(&keys(&app, &admin).await, "current"),
        current,
        "nothing rotated"
    );

    let res = s
        .post(
            &app,
            "/dashboard/settings/signing-keys/rotate",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(kid_in(&keys(&app, &admin).await, "current"), next);

    // Revoke the previous key: refused unconfirmed, done confirmed.
    let path = format!("/dashboard/settings/signing-keys/{current}/revoke");
    let res = s.post(&app, &path, &[]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(Duration::from_secs(5));
    let res = s.post(&app, &path, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let admin = app.management_token().await;
    assert_eq!(kid_in(&keys(&app, &admin).await, "revoked"), current);
    let html = s
        .get(&app, "/dashboard/settings/signing-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"revoked-keys\"") && html.contains(&current));

    // The current key cannot be revoked from its page either.
    let path = format!("/dashboard/settings/signing-keys/{next}/revoke");
    let res = s.post(&app, &path, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("current signing key cannot be revoked")
    );

    // Rotate & revoke: the key shown as current is the one revoked, after the rotation.
    let res = s
        .post(
            &app,
            "/dashboard/settings/signing-keys/rotate-and-revoke",
            &[("confirm", "yes"), ("kid", next.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let admin = app.management_token().await;
    let after = keys(&app, &admin).await;
    assert!(
        after
            .iter()
            .any(|k| k["kid"] == next.as_str() && k["revoked"] == true)
    );
    let (_, raw) = jwks(&app).await;
    assert!(!kids(&raw).contains(&next));
}

on_both_databases!(the_dashboard_sets_an_apis_algorithm_and_dialect);

async fn the_dashboard_sets_an_apis_algorithm_and_dialect(db: Db) {
    use crate::dashboard::Session;
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let api = app
        .create_api(&admin, "https://dash-alg.example.com/", &["read:x"])
        .await;
    let id = api["id"].as_str().unwrap();
    let s = Session::sign_in(&app).await;
    let path = format!("/dashboard/apis/{id}");
    let html = s.get(&app, &path).await.text().await.unwrap();
    assert!(
        html.contains("<option value=\"RS256\" selected>"),
        "RS256 shown as chosen"
    );
    assert!(!html.contains("signing-secret"));
    let res = s
        .post(
            &app,
            &path,
            &[
                ("name", "Dash"),
                ("scopes", "read:x"),
                ("token_lifetime", "600"),
                ("signing_alg", "HS256"),
                ("token_dialect", "rfc9068_profile_authz"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let reader = app
        .management_token_with(&["read:resource_servers", "read:client_keys"])
        .await;
    let saved: Value = app
        .get(&reader, &format!("/api/v2/resource-servers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["signing_alg"], "HS256");
    assert_eq!(saved["token_dialect"], "rfc9068_profile_authz");
    assert_eq!(saved["token_lifetime"], 600);
    let secret = saved["signing_secret"].as_str().unwrap();
    let html = s.get(&app, &path).await.text().await.unwrap();
    assert!(
        html.contains(secret),
        "the HS256 secret is on the API's page"
    );
    let res = s
        .post(
            &app,
            &path,
            &[
                ("name", "Dash"),
                ("scopes", "read:x"),
                ("token_lifetime", "600"),
                ("signing_alg", "none"),
                ("token_dialect", "access_token"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("api-alg-error"));
}
