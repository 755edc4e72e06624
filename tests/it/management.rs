//! The Management API: shapes, paging, scopes per endpoint, visibility of secrets, errors,
//! and Bearer token validation.

use reqwest::StatusCode;
use serde_json::{Value, json};
use signet::crypto::signing::SigningKey;
use signet::oauth::access_token::AccessClaims;

use crate::helpers::{Db, TestApp, assert_api_error};
use crate::on_both_databases;

on_both_databases!(
    clients_crud_and_paging,
    client_secret_is_shown_only_with_key_scopes,
    every_endpoint_requires_its_scope,
    missing_things_are_404_and_duplicates_409,
    the_management_api_is_built_in_and_protected,
    bearer_tokens_are_validated,
);

async fn clients_crud_and_paging(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            app.create_client(&admin, &format!("app {i}")).await["client_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The bootstrap client plus three.
    let page: Value = app
        .get(
            &admin,
            "/api/v2/clients?per_page=2&page=0&include_totals=true",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 4);
    assert_eq!(page["start"], 0);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["clients"].as_array().unwrap().len(), 2);
    let last: Value = app
        .get(&admin, "/api/v2/clients?per_page=2&page=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last.as_array().unwrap().len(), 2);
    let all: Vec<Value> = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .chain(last.as_array().unwrap())
        .cloned()
        .collect();
    for id in &ids {
        assert_eq!(
            all.iter().filter(|c| c["client_id"] == id.as_str()).count(),
            1
        );
    }
    // fields + include_fields.
    let only: Value = app
        .get(
            &admin,
            &format!("/api/v2/clients/{}?fields=client_id,name", ids[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only, json!({"client_id": ids[0], "name": "app 0"}));
    // PATCH.
    let res = app
        .patch_json(&admin, &format!("/api/v2/clients/{}", ids[0]), &json!({"name": "renamed", "description": "d", "client_metadata": {"team": "billing"}, "jwt_configuration": {"lifetime_in_seconds": 600}}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["name"], "renamed");
    assert_eq!(patched["client_metadata"]["team"], "billing");
    assert_eq!(patched["jwt_configuration"]["alg"], "RS256");
    assert_eq!(patched["jwt_configuration"]["lifetime_in_seconds"], 600);
    let fetched: Value = app
        .get(&admin, &format!("/api/v2/clients/{}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["description"], "d");
    // DELETE, then it is gone, and its grants with it.
    app.create_api(&admin, "https://api.example/", &["a"]).await;
    app.grant(&admin, &ids[1], "https://api.example/", &["a"])
        .await;
    assert_eq!(
        app.delete(&admin, &format!("/api/v2/clients/{}", ids[1]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_api_error(
        app.get(&admin, &format!("/api/v2/clients/{}", ids[1]))
            .await,
        404,
        "inexistent_client",
    )
    .await;
    let grants: Value = app
        .get(
            &admin,
            &format!("/api/v2/client-grants?client_id={}", ids[1]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants, json!([]));
}

async fn client_secret_is_shown_only_with_key_scopes(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let id = app.create_client(&admin, "x").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = app.management_token_with(&["read:clients"]).await;
    let c: Value = app
        .get(&reader, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        c.get("client_secret").is_none(),
        "hidden fields are left out, not null: {c}"
    );
    let list: Value = app
        .get(&reader, "/api/v2/clients")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none())
    );
    let key_reader = app.management_token_with(&["read:client_keys"]).await;
    let c: Value = app
        .get(&key_reader, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["client_secret"].as_str().unwrap().len(), 64);
    // Changing the secret needs update:client_keys, not just update:clients.
    let updater = app.management_token_with(&["update:clients"]).await;
    let res = app
        .patch_json(
            &updater,
            &format!("/api/v2/clients/{id}"),
            &json!({"client_secret": "a-new-secret-of-enough-length"}),
        )
        .await;
    assert_api_error(res, 403, "insufficient_scope").await;
    let res = app
        .patch_json(
            &updater,
            &format!("/api/v2/clients/{id}"),
            &json!({"name": "ok"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("client_secret").is_none());
}

async fn every_endpoint_requires_its_scope(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let client_id = app.create_client(&admin, "x").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = app
        .create_api(&admin, "https://scoped.example/", &["s"])
        .await;
    let api_id = api["id"].as_str().unwrap().to_owned();
    let grant = app
        .grant(&admin, &client_id, "https://scoped.example/", &["s"])
        .await;
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    // A valid Management API token that holds none of the needed scopes.
    let outsider = app.management_token_with(&["read:logs"]).await;
    let cases: Vec<(&str, String, Value, &str)> = vec![
        ("GET", "/api/v2/clients".into(), Value::Null, "read:clients"),
        (
            "POST",
            "/api/v2/clients".into(),
            json!({"name": "n"}),
            "create:clients",
        ),
        (
            "GET",
            format!("/api/v2/clients/{client_id}"),
            Value::Null,
            "read:clients",
        ),
        (
            "PATCH",
            format!("/api/v2/clients/{client_id}"),
            json!({"name": "n"}),
            "update:clients",
        ),
        (
            "POST",
            format!("/api/v2/clients/{client_id}/rotate-secret"),
            json!({}),
            "update:client_keys",
        ),
        (
            "DELETE",
            format!("/api/v2/clients/{client_id}"),
            Value::Null,
            "delete:clients",
        ),
        (
            "GET",
            "/api/v2/resource-servers".into(),
            Value::Null,
            "read:resource_servers",
        ),
        (
            "POST",
            "/api/v2/resource-servers".into(),
            json!({"identifier": "https://n/"}),
            "create:resource_servers",
        ),
        (
            "GET",
            format!("/api/v2/resource-servers/{api_id}"),
            Value::Null,
            "read:resource_servers",
        ),
        (
            "PATCH",
            format!("/api/v2/resource-servers/{api_id}"),
            json!({"name": "n"}),
            "update:resource_servers",
        ),
        (
            "DELETE",
            format!("/api/v2/resource-servers/{api_id}"),
            Value::Null,
            "delete:resource_servers",
        ),
        (
            "GET",
            "/api/v2/client-grants".into(),
            Value::Null,
            "read:client_grants",
        ),
        (
            "POST",
            "/api/v2/client-grants".into(),
            json!({"client_id": client_id, "audience": "https://scoped.example/", "scope": []}),
            "create:client_grants",
        ),
        (
            "GET",
            format!("/api/v2/client-grants/{grant_id}"),
            Value::Null,
            "read:client_grants",
        ),
        (
            "PATCH",
            format!("/api/v2/client-grants/{grant_id}"),
            json!({"scope": []}),
            "update:client_grants",
        ),
        (
            "DELETE",
            format!("/api/v2/client-grants/{grant_id}"),
            Value::Null,
            "delete:client_grants",
        ),
    ];
    for (method, path, body, scope) in &cases {
        let send = |token: String| {
            let mut req = app
                .http
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(token);
            if !body.is_null() {
                req = req.json(body);
            }
            req.send()
        };
        let res = send(outsider.clone()).await.unwrap();
        let err = assert_api_error(res, 403, "insufficient_scope").await;
        assert!(
            err["message"].as_str().unwrap().contains(scope),
            "{method} {path}: {err}"
        );
        // The named scope alone is enough (whatever the outcome, it is not a 401/403).
        let allowed = app.management_token_with(&[scope]).await;
        let res = send(allowed).await.unwrap();
        assert!(
            ![401, 403].contains(&res.status().as_u16()),
            "{method} {path} with {scope}: {}",
            res.status()
        );
    }
}

async fn missing_things_are_404_and_duplicates_409(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    assert_api_error(
        app.get(&admin, "/api/v2/clients/nope").await,
        404,
        "inexistent_client",
    )
    .await;
    assert_api_error(
        app.patch_json(&admin, "/api/v2/clients/nope", &json!({"name": "x"}))
            .await,
        404,
        "inexistent_client",
    )
    .await;
    assert_api_error(
        app.delete(&admin, "/api/v2/clients/nope").await,
        404,
        "inexistent_client",
    )
    .await;
    assert_api_error(
        app.get(&admin, "/api/v2/resource-servers/nope").await,
        404,
        "inexistent_resource_server",
    )
    .await;
    assert_api_error(
        app.delete(&admin, "/api/v2/resource-servers/nope").await,
        404,
        "inexistent_resource_server",
    )
    .await;
    assert_api_error(
        app.get(&admin, "/api/v2/client-grants/nope").await,
        404,
        "inexistent_client_grant",
    )
    .await;
    assert_api_error(
        app.delete(&admin, "/api/v2/client-grants/nope").await,
        404,
        "inexistent_client_grant",
    )
    .await;
    assert_api_error(
        app.get(&admin, "/api/v2/no-such-route").await,
        404,
        "inexistent_route",
    )
    .await;
    // Grants name a real client and a real API.
    let client_id = app.create_client(&admin, "x").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_api(&admin, "https://dup.example/", &["a"]).await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/client-grants",
            &json!({"client_id": "nope", "audience": "https://dup.example/", "scope": []}),
        )
        .await;
    assert_api_error(res, 404, "inexistent_client").await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/client-grants",
            &json!({"client_id": client_id, "audience": "https://nowhere/", "scope": []}),
        )
        .await;
    assert_api_error(res, 404, "inexistent_resource_server").await;
    // Scopes must belong to the API.
    let res = app
        .post_json(
            &admin,
            "/api/v2/client-grants",
            &json!({"client_id": client_id, "audience": "https://dup.example/", "scope": ["b"]}),
        )
        .await;
    assert_api_error(res, 400, "invalid_body").await;
    // Duplicates.
    app.grant(&admin, &client_id, "https://dup.example/", &["a"])
        .await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/client-grants",
            &json!({"client_id": client_id, "audience": "https://dup.example/", "scope": ["a"]}),
        )
        .await;
    assert_api_error(res, 409, "conflict").await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/resource-servers",
            &json!({"identifier": "https://dup.example/"}),
        )
        .await;
    assert_api_error(res, 409, "conflict").await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/resource-servers",
            &json!({"identifier": app.management_audience()}),
        )
        .await;
    assert_api_error(res, 409, "conflict").await;
}

async fn the_management_api_is_built_in_and_protected(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let list: Value = app
        .get(&admin, "/api/v2/resource-servers?include_totals=true")
        .await
        .json()
        .await
        .unwrap();
    let system = list["resource_servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == true)
        .unwrap()
        .clone();
    assert_eq!(system["identifier"], app.management_audience());
    let id = system["id"].as_str().unwrap();
    assert_api_error(
        app.delete(&admin, &format!("/api/v2/resource-servers/{id}"))
            .await,
        400,
        "operation_not_supported",
    )
    .await;
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{id}"),
            &json!({"scopes": []}),
        )
        .await;
    assert_api_error(res, 400, "operation_not_supported").await;
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{id}"),
            &json!({"token_lifetime": 3600}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .patch_json(
            &admin,
            &format!("/api/v2/resource-servers/{id}"),
            &json!({"identifier": "https://x/"}),
        )
        .await;
    assert_api_error(res, 400, "invalid_body").await;
}

fn forged_claims(app: &TestApp, aud: &str, exp: i64) -> AccessClaims {
    let now = signet::time_util::now_millis() / 1000;
    AccessClaims {
        iss: app.issuer.clone(),
        sub: "attacker@clients".into(),
        aud: aud.into(),
        iat: now,
        exp,
        jti: "j".into(),
        scope: Some("read:clients".into()),
        gty: "client-credentials".into(),
        azp: "attacker".into(),
    }
}

async fn bearer_tokens_are_validated(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let now = signet::time_util::now_millis() / 1000;
    // No token, a malformed one, and a non-Bearer scheme.
    let res = app
        .http
        .get(app.url("/api/v2/clients"))
        .send()
        .await
        .unwrap();
    let body = assert_api_error(res, 401, "invalid_token").await;
    assert_eq!(body["message"], "Invalid token.");
    assert_api_error(
        app.get("not.a.jwt", "/api/v2/clients").await,
        401,
        "invalid_token",
    )
    .await;
    let res = app
        .http
        .get(app.url("/api/v2/clients"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_api_error(res, 401, "invalid_token").await;
    // Signed by a different key, with every claim right.
    let (foreign, _) = SigningKey::generate().unwrap();
    let token = foreign.sign_jwt(&forged_claims(&app, &app.management_audience(), now + 600));
    assert_api_error(
        app.get(&token, "/api/v2/clients").await,
        401,
        "invalid_token",
    )
    .await;
    // A real token for another audience.
    let admin = app.management_token().await;
    let client = app.create_client(&admin, "x").await;
    app.create_api(&admin, "https://elsewhere.example/", &["read:clients"])
        .await;
    app.grant(
        &admin,
        client["client_id"].as_str().unwrap(),
        "https://elsewhere.example/",
        &["read:clients"],
    )
    .await;
    let other = app
        .token_with_secret(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str().unwrap(),
            "https://elsewhere.example/",
        )
        .await;
    assert_api_error(
        app.get(&other, "/api/v2/clients").await,
        401,
        "invalid_token",
    )
    .await;
    // An expired token: make Management API tokens live one second, then wait it out.
    let apis: Value = app
        .get(&admin, "/api/v2/resource-servers")
        .await
        .json()
        .await
        .unwrap();
    let mgmt = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The shortest lifetime is accepted. The token below gets one long enough that real time
    // passing during its request cannot expire it; the clock is then moved past it.
    for lifetime in [1, 30] {
        let res = app
            .patch_json(
                &admin,
                &format!("/api/v2/resource-servers/{mgmt}"),
                &json!({ "token_lifetime": lifetime }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let short = app.management_token().await;
    assert_eq!(
        app.get(&short, "/api/v2/clients").await.status(),
        StatusCode::OK
    );
    app.clock.advance(std::time::Duration::from_secs(31));
    assert_api_error(
        app.get(&short, "/api/v2/clients").await,
        401,
        "invalid_token",
    )
    .await;
}
