//! Bad input never yields a 500 or a partial write: every refusal is a 4xx in Auth0's shape and
//! the data is unchanged afterwards.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, assert_api_error, send_oversize};
use crate::on_both_databases;

on_both_databases!(
    malformed_bodies_are_refused_without_writes,
    query_strings_are_validated
);

async fn count(app: &TestApp, admin: &str, path: &str, key: &str) -> i64 {
    let body: Value = app
        .get(admin, &format!("{path}?include_totals=true"))
        .await
        .json()
        .await
        .unwrap();
    body["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("no total for {key}: {body}"))
}

async fn malformed_bodies_are_refused_without_writes(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let client_id = app.create_client(&admin, "victim").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_api(&admin, "https://api.example/", &["a"]).await;
    let before = (
        count(&app, &admin, "/api/v2/clients", "clients").await,
        count(&app, &admin, "/api/v2/resource-servers", "apis").await,
        count(&app, &admin, "/api/v2/client-grants", "grants").await,
    );
    let raw = |method: &str, path: &str, body: String| {
        app.http
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let client_path = format!("/api/v2/clients/{client_id}");
    // (method, path, body, words the message must contain)
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("POST", "/api/v2/clients", "{".into(), "Malformed JSON"),
        ("POST", "/api/v2/clients", "".into(), "Malformed JSON"),
        (
            "POST",
            "/api/v2/clients",
            "[1,2]".into(),
            "Payload validation",
        ),
        ("POST", "/api/v2/clients", r#"{"name": 5}"#.into(), "name"),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "app_type": "robot"}"#.into(),
            "app_type",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "expires_at ": "2030-01-01T00:00:00Z"}"#.into(),
            "expires_at ",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"description": "no name"}"#.into(),
            "name",
        ),
        ("POST", "/api/v2/clients", r#"{"name": ""}"#.into(), "name"),
        (
            "POST",
            "/api/v2/clients",
            format!(r#"{{"name": "{}"}}"#, "n".repeat(300)),
            "name",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "token_endpoint_auth_method": "private_key_jwt"}"#.into(),
            "token_endpoint_auth_method",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "grant_types": ["magic"]}"#.into(),
            "grant_types",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "jwt_configuration": {"lifetime_in_seconds": 0}}"#.into(),
            "lifetime_in_seconds",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "jwt_configuration": {"alg": "none"}}"#.into(),
            "alg",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x", "client_secret": "short"}"#.into(),
            "client_secret",
        ),
        (
            "POST",
            "/api/v2/clients",
            r#"{"name": "x"} trailing"#.into(),
            "Malformed JSON",
        ),
        ("PATCH", &client_path, r#"{"name": null}"#.into(), "name"),
        (
            "PATCH",
            &client_path,
            r#"{"client_id": "other"}"#.into(),
            "client_id",
        ),
        (
            "PATCH",
            &client_path,
            r#"{"token_endpoint_auth_method": null}"#.into(),
            "token_endpoint_auth_method",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"name": "no identifier"}"#.into(),
            "identifier",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "token_lifetime": 0}"#.into(),
            "token_lifetime",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "token_lifetime": 2592001}"#.into(),
            "token_lifetime",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "token_lifetime": "long"}"#.into(),
            "token_lifetime",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "signing_alg": "HS512"}"#.into(),
            "signing_alg",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "scopes": [{"value": "a b"}]}"#.into(),
            "scopes",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            r#"{"identifier": "https://a/", "scopes": [{"value": "a"}, {"value": "a"}]}"#.into(),
            "more than once",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            format!(r#"{{"identifier": "{}"}}"#, "i".repeat(601)),
            "identifier",
        ),
        (
            "POST",
            "/api/v2/client-grants",
            r#"{"client_id": "x", "audience": "y"}"#.into(),
            "scope",
        ),
        (
            "POST",
            "/api/v2/client-grants",
            r#"{"client_id": "x", "audience": "y", "scope": "a"}"#.into(),
            "scope",
        ),
    ];
    for (method, path, body, words) in cases {
        let res = raw(method, path, body.clone()).await.unwrap();
        let err = assert_api_error(res, 400, "invalid_body").await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{method} {path} {body}: message should name {words:?}: {err}"
        );
    }
    // Not JSON at all.
    let res = app
        .http
        .post(app.url("/api/v2/clients"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_api_error(res, 400, "invalid_body").await;
    // Over 1 MB.
    let huge = json!({"name": "x", "description": "d".repeat(1024 * 1024 + 10)}).to_string();
    let res = send_oversize(|| {
        app.http
            .post(app.url("/api/v2/clients"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(huge.clone())
    })
    .await;
    assert_api_error(res, 413, "payload_too_large").await;

    let after = (
        count(&app, &admin, "/api/v2/clients", "clients").await,
        count(&app, &admin, "/api/v2/resource-servers", "apis").await,
        count(&app, &admin, "/api/v2/client-grants", "grants").await,
    );
    assert_eq!(before, after, "no refused request wrote anything");
    let victim: Value = app.get(&admin, &client_path).await.json().await.unwrap();
    assert_eq!(victim["name"], "victim");
    assert_eq!(victim["token_endpoint_auth_method"], "client_secret_post");
}

async fn query_strings_are_validated(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    for path in [
        "/api/v2/clients?per_page=101",
        "/api/v2/clients?per_page=0",
        "/api/v2/clients?page=-1",
        "/api/v2/clients?page=abc",
        "/api/v2/clients?include_totals=maybe",
        "/api/v2/clients?unknown=1",
        "/api/v2/resource-servers?per_page=1000",
        "/api/v2/client-grants?per_page=x",
    ] {
        let res = app.get(&admin, path).await;
        assert_api_error(res, 400, "invalid_query_string").await;
    }
    let res = app
        .get(
            &admin,
            "/api/v2/client-grants?per_page=100&page=0&include_totals=false",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
