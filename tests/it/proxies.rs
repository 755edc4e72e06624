//! `--trusted-proxies`: forwarding headers are believed only from the peers listed, for the
//! audit log's `ip`, the per-address rate limits and cookie `Secure`; from anyone else they
//! change nothing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use signet::config::{Settings, TrustedProxies};
use signet::rate_limit::{Limits, Rate};

use crate::helpers::{Database, Db, TestApp, test_limits};
use crate::on_both_databases;

const API: &str = "https://inventory.example.com/";

on_both_databases!(
    a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored,
    forwarded_addresses_from_a_trusted_proxy_reach_the_audit_log,
    the_per_address_token_limit_counts_forwarded_addresses_apart,
    a_trusted_proxy_saying_https_makes_cookies_secure,
);

fn trusting_loopback(settings: Settings) -> Settings {
    Settings {
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32, ::1").unwrap(),
        ..settings
    }
}

/// An application granted the API: its id and secret.
async fn granted(app: &TestApp, admin: &str, name: &str) -> (String, String) {
    let client = app.create_client(admin, name).await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    app.grant(admin, &id, API, &["read:stock"]).await;
    (id, client["client_secret"].as_str().unwrap().to_owned())
}

/// A successful token request for `id` sent with `header`; the `ip` its audit event records.
async fn recorded_ip(
    app: &TestApp,
    admin: &str,
    id: &str,
    secret: &str,
    header: (&str, &str),
) -> String {
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header(header.0, header.1)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The audit log is written in the background.
    for _ in 0..200 {
        let page: Value = app
            .get(admin, &format!("/api/v2/logs?type=seccft&client_id={id}"))
            .await
            .json()
            .await
            .unwrap();
        if let Some(event) = page.as_array().unwrap().first() {
            return event["ip"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no audit event for {id}");
}

async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read:stock"]).await;
    let (id, secret) = granted(&app, &admin, "spoofer").await;
    let ip = recorded_ip(
        &app,
        &admin,
        &id,
        &secret,
        ("x-forwarded-for", "203.0.113.9"),
    )
    .await;
    assert_eq!(ip, "127.0.0.1");
    let (id, secret) = granted(&app, &admin, "spoofer-rfc7239").await;
    let ip = recorded_ip(&app, &admin, &id, &secret, ("forwarded", "for=203.0.113.9")).await;
    assert_eq!(ip, "127.0.0.1");
}

async fn forwarded_addresses_from_a_trusted_proxy_reach_the_audit_log(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let app = TestApp::start(database, trusting_loopback).await;
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read:stock"]).await;

    let (id, secret) = granted(&app, &admin, "behind-proxy").await;
    // The client wrote the leftmost address itself; the proxy appended what it saw.
    let header = ("x-forwarded-for", "198.51.100.1, 203.0.113.9");
    assert_eq!(
        recorded_ip(&app, &admin, &id, &secret, header).await,
        "203.0.113.9"
    );

    let (id, secret) = granted(&app, &admin, "behind-rfc7239-proxy").await;
    let header = ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https");
    assert_eq!(
        recorded_ip(&app, &admin, &id, &secret, header).await,
        "2001:db8:cafe::17"
    );

    // A header the proxy could not have written is not believed at all.
    let (id, secret) = granted(&app, &admin, "malformed").await;
    let header = ("forwarded", "for=\"203.0.113.9");
    assert_eq!(
        recorded_ip(&app, &admin, &id, &secret, header).await,
        "127.0.0.1"
    );
}

async fn the_per_address_token_limit_counts_forwarded_addresses_apart(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let limits = Limits {
        token_per_address: "2/min".parse::<Rate>().unwrap(),
        ..test_limits()
    };
    let app = TestApp::start(database, |s| Settings {
        limits,
        ..trusting_loopback(s)
    })
    .await;
    let from = |address: &'static str| {
        let request = app
            .http
            .post(app.url("/oauth/token"))
            .header("x-forwarded-for", address)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "not-a-secret-0123456789"),
                ("audience", API),
            ]);
        async move { request.send().await.unwrap().status() }
    };
    for _ in 0..2 {
        assert_eq!(from("203.0.113.9").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(from("203.0.113.9").await, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has a budget of its own.
    assert_eq!(from("198.51.100.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(from("198.51.100.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(from("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
}

/// The `Set-Cookie` of the sign-in page's CSRF cookie.
async fn login_cookie(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut request = app.http.get(app.url("/dashboard/login"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("signet_login_csrf="))
        .expect("the sign-in page sets its CSRF cookie")
}

async fn a_trusted_proxy_saying_https_makes_cookies_secure(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    let shared = database.share();
    let trusted = TestApp::start(database, trusting_loopback).await;
    assert!(trusted.issuer.starts_with("http://"), "{}", trusted.issuer);
    let via_https = [
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
    ];
    assert!(
        login_cookie(&trusted, &via_https)
            .await
            .contains("; Secure")
    );
    let rfc7239 = [("forwarded", "for=203.0.113.9;proto=https")];
    assert!(login_cookie(&trusted, &rfc7239).await.contains("; Secure"));
    let via_http = [("x-forwarded-proto", "http")];
    assert!(!login_cookie(&trusted, &via_http).await.contains("Secure"));
    assert!(!login_cookie(&trusted, &[]).await.contains("Secure"));

    // The same claim from a peer that is not a trusted proxy changes nothing.
    let untrusted = TestApp::start(shared, |s| s).await;
    assert!(
        !login_cookie(&untrusted, &via_https)
            .await
            .contains("Secure")
    );
}
