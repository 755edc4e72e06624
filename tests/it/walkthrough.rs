//! The README's curl walkthrough, step by step, as a test.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(readme_walkthrough);

async fn readme_walkthrough(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    // 1. A Management API token for the bootstrap client.
    let admin = app.management_token().await;
    // 2. An API with scopes.
    let api = app
        .create_api(
            &admin,
            "https://billing.example.com/",
            &["read:invoices", "write:invoices"],
        )
        .await;
    assert_eq!(api["token_lifetime"], 86400);
    assert_eq!(api["id"].as_str().unwrap().len(), 24);
    // 3. A machine-to-machine application.
    let client = app.create_client(&admin, "Billing worker").await;
    let client_id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert_eq!(client_id.len(), 32);
    assert_eq!(client["app_type"], "non_interactive");
    assert_eq!(
        client["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(client["jwt_configuration"]["alg"], "RS256");
    // 4. Granted one of the API's scopes.
    let grant = app
        .grant(
            &admin,
            client_id,
            "https://billing.example.com/",
            &["read:invoices"],
        )
        .await;
    assert!(grant["id"].as_str().unwrap().starts_with("cgr_"));

    // 5a. client_secret_post.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", "https://billing.example.com/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let post: Value = res.json().await.unwrap();
    assert_eq!(post["token_type"], "Bearer");
    assert_eq!(post["expires_in"], 86400);
    assert_eq!(post["scope"], "read:invoices");

    // 5b. client_secret_basic.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", "https://billing.example.com/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let basic: Value = res.json().await.unwrap();

    // 6. Verify both tokens against the published JWKS with an independent JWT library.
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for body in [&post, &basic] {
        let token = body["access_token"].as_str().unwrap();
        let header = decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let kid = header.kid.expect("kid in header");
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("kid published in JWKS");
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["https://billing.example.com/"]);
        validation.set_issuer(&[app.issuer.as_str()]);
        let claims = decode::<Value>(token, &key, &validation).unwrap().claims;
        assert_eq!(claims["sub"], format!("{client_id}@clients"));
        assert_eq!(claims["azp"], client_id);
        assert_eq!(claims["gty"], "client-credentials");
        assert_eq!(claims["scope"], "read:invoices");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            86400
        );
        assert!(claims["jti"].as_str().unwrap().len() >= 16);
    }
    assert_ne!(
        post["access_token"], basic["access_token"],
        "every token has its own jti"
    );
}

on_both_databases!(discovery_and_health_describe_the_tenant);

async fn discovery_and_health_describe_the_tenant(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let doc: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], app.issuer);
    assert_eq!(doc["token_endpoint"], format!("{}oauth/token", app.issuer));
    assert_eq!(
        doc["jwks_uri"],
        format!("{}.well-known/jwks.json", app.issuer)
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["kid"].as_str().unwrap().len(), 43);
    assert!(key.get("d").is_none(), "no private parts in the JWKS");
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // RFC 8414 metadata: the same facts, for OAuth clients that discover servers this way.
    let metadata: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata, doc);
    assert_eq!(metadata["issuer"], app.issuer);
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        serde_json::json!(["RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA"])
    );
}
