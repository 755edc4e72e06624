//! Restarts keep everything (same signing key, same data, same secrets), and several servers
//! may start against one database at once.

use reqwest::StatusCode;
use serde_json::Value;
use signet::app::Application;

use crate::helpers::{Database, Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    restart_keeps_key_data_and_secrets,
    concurrent_first_starts_agree
);

async fn jwks(app: &TestApp) -> Value {
    app.http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn restart_keeps_key_data_and_secrets(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    app.create_api(&admin, "https://keep.example/", &["k"])
        .await;
    let client = app.create_client(&admin, "survivor").await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    app.grant(&admin, &id, "https://keep.example/", &["k"])
        .await;
    let keys_before = jwks(&app).await;

    let database = app.stop().await;
    let app = TestApp::start(database, |s| s).await;

    assert_eq!(
        jwks(&app).await,
        keys_before,
        "same signing key after restart"
    );
    // A token issued before the restart is still accepted (same key, same issuer is not
    // guaranteed on a new port, so check with a fresh one and the stored secret).
    let admin = app.management_token().await;
    let fetched: Value = app
        .get(&admin, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["name"], "survivor");
    assert_eq!(fetched["client_secret"], secret.as_str());
    let token = app
        .token_with_secret(&id, &secret, "https://keep.example/")
        .await;
    assert!(!token.is_empty());
}

async fn concurrent_first_starts_agree(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let generated = |mut s: signet::config::Settings| {
        s.bootstrap = None;
        s
    };
    let (a, b) = tokio::join!(
        Application::build(generated(database.settings())),
        Application::build(generated(database.settings())),
    );
    let (a, b) = (
        a.expect("first server starts"),
        b.expect("second server starts"),
    );
    let created = usize::from(a.created_bootstrap_client.is_some())
        + usize::from(b.created_bootstrap_client.is_some());
    assert_eq!(created, 1, "exactly one start creates the bootstrap client");
    drop((a, b));
    // Both agree on the signing keys: a third start sees exactly one current and one next key.
    let app = TestApp::start(database, generated).await;
    let keys = jwks(&app).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
