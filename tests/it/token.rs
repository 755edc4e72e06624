//! The token endpoint with client secrets: success shapes and every error row of BEHAVIOUR A.5 that
//! applies before Private Key JWT.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, assert_oauth_error, send_oversize};
use crate::on_both_databases;

const API: &str = "https://orders.example.com/";

/// An app with an API, a client granted `read` (of `read`, `write`), and its credentials.
async fn setup(app: &TestApp) -> (String, String, String) {
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read", "write"]).await;
    let client = app.create_client(&admin, "worker").await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    app.grant(&admin, &id, API, &["read"]).await;
    (
        admin,
        id,
        client["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

on_both_databases!(
    json_bodies_work_and_unknown_or_null_fields_are_ignored,
    client_authentication_failures_are_401_invalid_client,
    malformed_requests_are_400,
    grants_and_audiences_are_enforced_with_403,
    requested_scopes_narrow_the_token,
    token_lifetime_comes_from_the_api,
    rotated_secret_replaces_the_old_one,
    resource_names_the_api_in_place_of_audience,
);

/// RFC 8707's `resource` (MCP's client-credentials profile sends it instead of `audience`).
async fn resource_names_the_api_in_place_of_audience(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, id, secret) = setup(&app).await;
    let aud_of = |body: &Value| -> Value {
        let token = body["access_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["aud"].clone()
    };
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    for extra in [
        vec![("resource", API)],
        vec![("resource", API), ("audience", API)],
    ] {
        let form: Vec<_> = base.iter().copied().chain(extra).collect();
        let res = post_form(&app, &form).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(aud_of(&res.json().await.unwrap()), API);
    }
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": id,
                      "client_secret": secret, "resource": API}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(aud_of(&res.json().await.unwrap()), API);

    let conflicting: Vec<_> = base
        .iter()
        .copied()
        .chain([
            ("resource", API),
            ("audience", "https://other.example.com/"),
        ])
        .collect();
    let body =
        assert_oauth_error(post_form(&app, &conflicting).await, 400, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("resource"),
        "{body}"
    );
    let twice: Vec<_> = base
        .iter()
        .copied()
        .chain([("resource", API), ("resource", API)])
        .collect();
    assert_oauth_error(post_form(&app, &twice).await, 400, "invalid_request").await;
    let unknown: Vec<_> = base
        .iter()
        .copied()
        .chain([("resource", "https://unknown.example.com/")])
        .collect();
    assert_oauth_error(post_form(&app, &unknown).await, 403, "access_denied").await;
}

async fn json_bodies_work_and_unknown_or_null_fields_are_ignored(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, id, secret) = setup(&app).await;
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": id,
            "client_secret": secret,
            "audience": API,
            "organization": null,
            "extra": {"nested": true},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "read");
}

async fn client_authentication_failures_are_401_invalid_client(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, id, secret) = setup(&app).await;
    let wrong = format!("{secret}x");
    // Wrong secret (post).
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &wrong),
            ("audience", API),
        ],
    )
    .await;
    assert!(res.headers().get("www-authenticate").is_none());
    let body = assert_oauth_error(res, 401, "invalid_client").await;
    assert_eq!(body["error_description"], "Client authentication failed");
    // Unknown client.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "no-such-client-id"),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // Wrong secret (basic) answers with a Basic challenge.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&id, Some(&wrong))
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_oauth_error(res, 401, "invalid_client").await;
    // No secret at all.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    // A client whose method is `none` cannot use a secret.
    let admin = app.management_token().await;
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/clients/{id}"),
            &json!({"token_endpoint_auth_method": "none"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
}

async fn malformed_requests_are_400(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, id, secret) = setup(&app).await;
    // Missing grant_type.
    let res = post_form(
        &app,
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // Other grants.
    let res = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    // A duplicated parameter.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // Two authentication methods at once.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    // Unknown client_assertion_type.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_assertion_type", "urn:example:other"),
            ("client_assertion", "a.b.c"),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // Missing audience.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // Neither form nor JSON.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    // Malformed JSON and wrong JSON types.
    for body in ["{", "[]", r#"{"grant_type": 1}"#] {
        let res = app
            .http
            .post(app.url("/oauth/token"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_oauth_error(res, 400, "invalid_request").await;
    }
    // A body far over the limit.
    let huge = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024)
    );
    let res = send_oversize(|| {
        app.http
            .post(app.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge.clone())
    })
    .await;
    assert_eq!(res.headers()["connection"], "close");
    assert_oauth_error(res, 413, "invalid_request").await;
    // Wrong method. On a new connection: the server closes the one it refused the body on, and
    // a pooled client may still pick that one for its next request.
    let res = reqwest::Client::new()
        .get(app.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    // A malformed Basic header.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("no-colon")
            ),
        )
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
}

async fn grants_and_audiences_are_enforced_with_403(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (admin, id, secret) = setup(&app).await;
    // Unknown audience.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://nowhere.example/"),
        ],
    )
    .await;
    assert_oauth_error(res, 403, "access_denied").await;
    // A known API without a grant for this client.
    app.create_api(&admin, "https://other.example/", &["x"])
        .await;
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", "https://other.example/"),
        ],
    )
    .await;
    assert_oauth_error(res, 403, "access_denied").await;
    // The Management API itself without a grant.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", &app.management_audience()),
        ],
    )
    .await;
    assert_oauth_error(res, 403, "access_denied").await;
    // A client that may not use client_credentials.
    let res = app
        .post_json(&admin, "/api/v2/clients", &json!({"name": "web", "app_type": "regular_web", "grant_types": ["authorization_code"]}))
        .await;
    let web: Value = res.json().await.unwrap();
    let web_id = web["client_id"].as_str().unwrap();
    app.grant(&admin, web_id, API, &["read"]).await;
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", web_id),
            ("client_secret", web["client_secret"].as_str().unwrap()),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 403, "unauthorized_client").await;
    // Deleting the grant takes access away at once.
    let grants: Value = app
        .get(&admin, &format!("/api/v2/client-grants?client_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    let grant_id = grants[0]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&admin, &format!("/api/v2/client-grants/{grant_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 403, "access_denied").await;
}

async fn requested_scopes_narrow_the_token(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (admin, id, secret) = setup(&app).await;
    let grants: Value = app
        .get(&admin, &format!("/api/v2/client-grants?client_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    let grant_id = grants[0]["id"].as_str().unwrap();
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/client-grants/{grant_id}"),
            &json!({"scope": ["read", "write"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
            ("scope", "write"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "write");
    // Scopes never granted are refused by name.
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
            ("scope", "read admin"),
        ],
    )
    .await;
    let body = assert_oauth_error(res, 403, "access_denied").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("admin")
    );
    // A scope removed from the API disappears from new tokens.
    let api_id = app.resource_server_id(&admin, API).await;
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{api_id}"),
            &json!({"scopes": [{"value": "read"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    // With no scope left the response omits `scope`.
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{api_id}"),
            &json!({"scopes": []}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert!(body.get("scope").is_none(), "{body}");
}

async fn token_lifetime_comes_from_the_api(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (admin, id, secret) = setup(&app).await;
    let api_id = app.resource_server_id(&admin, API).await;
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{api_id}"),
            &json!({"token_lifetime": 600}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
        ],
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_in"], 600);
}

async fn rotated_secret_replaces_the_old_one(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (admin, id, old) = setup(&app).await;
    let res = app
        .post_json(
            &admin,
            &format!("/api/v2/clients/{id}/rotate-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let new = body["client_secret"].as_str().unwrap();
    assert_ne!(new, old);
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &old),
            ("audience", API),
        ],
    )
    .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", new),
            ("audience", API),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}
