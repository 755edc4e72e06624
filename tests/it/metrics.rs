//! `/metrics` (docs/METRICS.md), read with a Prometheus text parser: the counters move by
//! exactly what each request does, and `--metrics-listen` takes them off the public port.
//!
//! The metrics recorder is one per process, and the tests of this binary run in parallel in one
//! process: exact counts come from the real binary, started for each test, which serves
//! nothing but what the test sends it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, BOOTSTRAP_ID, BOOTSTRAP_SECRET, Database, Db, assert_oauth_error,
};
use crate::on_both_databases;
use crate::serve_process::ServeProcess;

const API: &str = "https://metrics.example.com/";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PRIVATE_KEY: &str = include_str!("../fixtures/keys/rsa2048.key.pem");
const PUBLIC_KEY: &str = include_str!("../fixtures/keys/rsa2048.pub.pem");

/// `signet serve` in a process of its own, on ephemeral ports.
struct Server {
    process: ServeProcess,
    base: String,
    /// The `--metrics-listen` address's base URL, when one was given.
    metrics_base: Option<String>,
    http: reqwest::Client,
}

impl Server {
    /// Starts the binary on `db` with `args` after `serve`, and waits until it says where it
    /// listens (and, with `--metrics-listen`, where the metrics are).
    fn start(db: &Database, args: &[&str]) -> Self {
        let mut process = ServeProcess::spawn(|command| {
            command
                .args(args)
                .env("SIGNET_LISTEN", "127.0.0.1:0")
                .env("SIGNET_DATABASE_URL", &db.url)
                .env("SIGNET_MASTER_KEY", &db.master_key)
                .env("SIGNET_BOOTSTRAP_CLIENT_ID", BOOTSTRAP_ID)
                .env("SIGNET_BOOTSTRAP_CLIENT_SECRET", BOOTSTRAP_SECRET)
                .env("SIGNET_ADMIN_EMAIL", ADMIN_EMAIL)
                .env("SIGNET_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("SIGNET_LOG_FORMAT", "json")
                .env("RUST_LOG", "info")
                .env_remove("SIGNET_METRICS_LISTEN")
                .env_remove("SIGNET_ISSUER")
        });
        let wants_metrics_address = args.contains(&"--metrics-listen");
        let (mut base, mut metrics_base) = (None, None);
        while base.is_none() || (wants_metrics_address && metrics_base.is_none()) {
            let event = process.wait_for_event(|e| {
                e["message"] == "signet is listening" || e["message"] == "metrics are served"
            });
            let address = format!("http://{}", event["address"].as_str().unwrap());
            if event["message"] == "signet is listening" {
                base = Some(address);
            } else {
                metrics_base = Some(address);
            }
        }
        Self {
            process,
            base: base.unwrap(),
            metrics_base,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /metrics` where it is served, parsed.
    async fn scrape(&self) -> Scrape {
        let base = self.metrics_base.as_deref().unwrap_or(&self.base);
        let res = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        Scrape::parse(&res.text().await.unwrap())
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn secret_token(&self, secret: &str) -> reqwest::Response {
        self.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", BOOTSTRAP_ID),
            ("client_secret", secret),
            ("audience", &format!("{}/api/v2/", self.base)),
        ])
        .await
    }

    async fn management(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// SIGTERM, as a service manager stops it; the server must exit by itself, and cleanly.
    fn stop(mut self) {
        self.process.signal("-TERM");
        self.process.wait_for_exit();
    }
}

/// One scrape, as Prometheus reads it.
struct Scrape {
    samples: Vec<prometheus_parse::Sample>,
    types: HashMap<String, String>,
    text: String,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("the exposition parses");
        assert!(!scrape.samples.is_empty(), "{text}");
        let types = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
            .collect();
        Self {
            samples: scrape.samples,
            types,
            text: text.to_owned(),
        }
    }

    /// The sum of the samples of `name` whose labels include every pair in `labels`; zero when
    /// there is none (a series appears with its first event).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{name} is not a single value: {other:?}"),
            })
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.metric == name)
    }

    fn kind(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(String::as_str)
    }
}

fn sign(claims: &Value) -> String {
    crate::private_key_jwt::sign(PRIVATE_KEY, &json!({"alg": "RS256"}), claims)
}

on_both_databases!(counters_move_by_exactly_what_each_request_did);

async fn counters_move_by_exactly_what_each_request_did(kind: Db) {
    let Some(db) = Database::create(kind).await else {
        return;
    };
    let server = Server::start(&db, &[]);
    let before = server.scrape().await;

    // A token, and a refusal whose reason code is known: the wrong secret.
    let res = server.secret_token(BOOTSTRAP_SECRET).await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = server.secret_token("not-the-bootstrap-secret-at-all").await;
    assert_oauth_error(res, 401, "invalid_client").await;

    // An application on Private Key JWT: one token, then the same assertion again.
    use reqwest::Method;
    let res = server
        .management(
            &admin,
            Method::POST,
            "/api/v2/resource-servers",
            Some(json!({
            "identifier": API, "name": "Metrics API", "scopes": [{"value": "read:m"}]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = server
        .management(
            &admin,
            Method::POST,
            "/api/v2/clients",
            Some(json!({
            "name": "scraped", "app_type": "non_interactive",
            "client_authentication_methods": {"private_key_jwt": {"credentials": [
                {"credential_type": "public_key", "pem": PUBLIC_KEY, "alg": "RS256"}]}}})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let client_id = res.json::<Value>().await.unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = server
        .management(
            &admin,
            Method::POST,
            "/api/v2/client-grants",
            Some(json!({
            "client_id": client_id, "audience": API, "scope": ["read:m"]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // A path with an id in it is counted under its route template.
    let res = server
        .management(
            &admin,
            Method::GET,
            "/api/v2/clients/no-such-client-here",
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A path no route takes is counted as unmatched, whatever it is.
    let res = server
        .management(&admin, Method::GET, "/api/v2/made-up/route", None)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let now = signet::time_util::now_millis() / 1000;
    let assertion = sign(&json!({"iss": client_id, "sub": client_id,
        "aud": format!("{}/", server.base), "iat": now, "exp": now + 60,
        "jti": signet::crypto::random::base62(20)}));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
        ("audience", API),
    ];
    assert_eq!(server.token_request(&form).await.status(), StatusCode::OK);
    let replayed = server.token_request(&form).await;
    assert_oauth_error(replayed, 401, "invalid_client").await;

    let after = server.scrape().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let tokens = |outcome, method, reason| {
        moved(
            "signet_token_requests_total",
            &[("outcome", outcome), ("method", method), ("reason", reason)],
        )
    };
    assert_eq!(after.kind("signet_token_requests_total"), Some("counter"));
    assert_eq!(tokens("issued", "client_secret_post", "none"), 1.0);
    assert_eq!(
        tokens("refused", "client_secret_post", "bad_client_secret"),
        1.0
    );
    assert_eq!(tokens("issued", "private_key_jwt", "none"), 1.0);
    assert_eq!(tokens("refused", "private_key_jwt", "replayed"), 1.0);
    assert_eq!(
        moved("signet_token_requests_total", &[]),
        4.0,
        "nothing else"
    );

    let duration = "signet_token_request_duration_seconds";
    assert_eq!(after.kind(duration), Some("histogram"));
    let timed = |outcome| moved(&format!("{duration}_count"), &[("outcome", outcome)]);
    assert_eq!((timed("issued"), timed("refused")), (2.0, 2.0));
    assert!(moved(&format!("{duration}_sum"), &[]) > 0.0);

    let management = |method, route, status| {
        moved(
            "signet_management_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(management("POST", "/api/v2/resource-servers", "201"), 1.0);
    assert_eq!(management("POST", "/api/v2/clients", "201"), 1.0);
    assert_eq!(management("POST", "/api/v2/client-grants", "201"), 1.0);
    assert_eq!(management("GET", "unmatched", "404"), 1.0);
    // prometheus-parse ends a label set at the first `}`, even inside a quoted value, and skips
    // the line; Prometheus reads it. This series is new in this process, so its line with 1 is
    // the move.
    assert!(
        after.text.lines().any(|l| l
            == r#"signet_management_requests_total{method="GET",route="/api/v2/clients/{id}",status="404"} 1"#),
        "{}",
        after.text
    );
    assert_eq!(
        moved("signet_management_requests_total", &[]),
        4.0,
        "nothing else, besides the line the parser skips"
    );

    // Two ids went to the replay guard, one request at a time: two batches of one.
    assert_eq!(moved("signet_replay_batch_size_count", &[]), 2.0);
    assert_eq!(moved("signet_replay_batch_size_sum", &[]), 2.0);
    assert_eq!(moved("signet_replay_wait_seconds_count", &[]), 2.0);

    // Each token request looked its client up; the first after a change misses.
    let client_lookups = moved("signet_cache_lookups_total", &[("cache", "client")]);
    assert!(client_lookups >= 4.0, "{client_lookups} client lookups");
    assert!(
        moved(
            "signet_cache_lookups_total",
            &[("cache", "client"), ("result", "miss")]
        ) >= 1.0
    );

    // Gauges sampled at the scrape.
    assert_eq!(
        after.value(
            "signet_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    let max = after.value("signet_db_connections_max", &[]);
    assert!(max == 8.0 || max == 16.0, "pool of {max}");
    let open = after.value("signet_db_connections", &[]);
    assert!((1.0..=max).contains(&open), "{open} connections open");
    assert_eq!(after.value("signet_audit_queue_capacity", &[]), 16384.0);
    assert!(after.has("signet_audit_queue_depth"));
    assert_eq!(after.value("signet_audit_events_dropped_total", &[]), 0.0);
    let key_age = after.value("signet_signing_key_age_seconds", &[]);
    assert!((0.0..600.0).contains(&key_age), "key age {key_age}");
    assert_eq!(after.value("signet_db_errors_total", &[]), 0.0);
    server.stop();

    // Started again on the same database, the server counts the one id it keeps: the
    // replayed assertion added none.
    let again = Server::start(&db, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scrape = again.scrape().await;
        if scrape.value("signet_used_jtis", &[]) == 1.0 {
            // SQLite: read back from the log into memory, where its ids are checked.
            match kind {
                Db::Sqlite => assert_eq!(scrape.value("signet_used_jtis_in_memory", &[]), 1.0),
                Db::Postgres => assert!(!scrape.has("signet_used_jtis_in_memory")),
            }
            // Nothing was old enough to prune.
            let pruned = |table| scrape.value("signet_retention_pruned_total", &[("table", table)]);
            assert!(scrape.has("signet_retention_pruned_total"));
            assert_eq!((pruned("used_jtis"), pruned("audit_events")), (0.0, 0.0));
            break;
        }
        assert!(Instant::now() < deadline, "used ids never counted as 1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    again.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_them_apart_and_stops_with_the_server() {
    let Some(db) = Database::create(Db::Sqlite).await else {
        return;
    };
    let server = Server::start(&db, &["--metrics-listen", "127.0.0.1:0"]);
    let metrics_base = server.metrics_base.clone().unwrap();
    assert_ne!(metrics_base, server.base);

    let scrape = server.scrape().await;
    assert_eq!(
        scrape.value(
            "signet_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // The public port has no /metrics any more; the metrics port has nothing else.
    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    for path in ["/healthz", "/oauth/token", "/api/v2/clients"] {
        let res = server
            .http
            .get(format!("{metrics_base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = server
        .http
        .post(format!("{metrics_base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The public port still serves everything else.
    let res = server.secret_token(BOOTSTRAP_SECRET).await;
    assert_eq!(res.status(), StatusCode::OK);
    let scrape = server.scrape().await;
    assert_eq!(
        scrape.value(
            "signet_token_requests_total",
            &[("outcome", "issued"), ("method", "client_secret_post")]
        ),
        1.0
    );
    // Both listeners close at the signal and the process exits cleanly.
    server.stop();
    let refused = reqwest::Client::new()
        .get(format!("{metrics_base}/metrics"))
        .send()
        .await;
    assert!(refused.is_err(), "the metrics port still answers");
}
