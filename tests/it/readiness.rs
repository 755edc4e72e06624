//! `/readyz`: ready on both databases; 503 `database unreachable` while PostgreSQL is cut off
//! or hangs (through a proxy the test controls), and ready again when it returns; 503
//! `shutting down` from the shutdown signal on, while requests are still served.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{BOOTSTRAP_ID, BOOTSTRAP_SECRET, Database, Db, TestApp};
use crate::on_both_databases;

on_both_databases!(ready_when_the_database_answers_and_a_key_is_loaded);

async fn readyz(app: &TestApp) -> (StatusCode, String) {
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Polls `/readyz` until it answers `status`, for at most `within`.
async fn wait_for(app: &TestApp, status: StatusCode, within: Duration) -> (StatusCode, String) {
    let deadline = Instant::now() + within;
    loop {
        let answer = readyz(app).await;
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready_when_the_database_answers_and_a_key_is_loaded(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(res.text().await.unwrap(), "ready\n");

    // The latest migration's record gone (a database restored from before it, under a running
    // server): not ready, and why.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    let latest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let latest_row = sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(latest)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(latest_row.rows_affected(), 1);
    drop(conn);
    assert_eq!(
        readyz(&app).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations not applied\n".into()
        )
    );
    app.stop().await;
}

/// What the proxy does with the server's database connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Pass,
    /// Open connections are cut and new ones closed at once: the database is gone.
    Refuse,
    /// Open connections are cut and new ones accepted but never answered: a hung database.
    Hang,
}

/// A TCP proxy between the server and PostgreSQL, so the test can take the database away from
/// this one server (and give it back) without touching PostgreSQL itself.
struct Proxy {
    addr: SocketAddr,
    link: watch::Sender<Link>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, _) = watch::channel(Link::Pass);
        let links = link.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), links.subscribe()));
            }
        });
        Self { addr, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn relay(mut client: TcpStream, upstream: String, mut link: watch::Receiver<Link>) {
    let now = *link.borrow_and_update();
    match now {
        Link::Refuse => return,
        Link::Hang => {
            // Held open, unread, until the link changes.
            let _ = link.changed().await;
            return;
        }
        Link::Pass => {}
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut = async {
        while link.changed().await.is_ok() {
            if *link.borrow() != Link::Pass {
                break;
            }
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = cut => {}
    }
}

/// `host:port` of a `postgres://user@host:port/db?…` URL.
fn host_and_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_unreachable_while_postgres_is_cut_off_or_hangs_then_ready_again() {
    let Some(db) = Database::create(Db::Postgres).await else {
        return;
    };
    let upstream = host_and_port(&db.url).to_owned();
    let proxy = Proxy::start(upstream.clone()).await;
    let proxied = db.url.replacen(&upstream, &proxy.addr.to_string(), 1);
    let app = TestApp::start(db, |mut s| {
        s.database_url = proxied;
        s
    })
    .await;
    assert_eq!(readyz(&app).await, (StatusCode::OK, "ready\n".into()));

    proxy.set(Link::Refuse);
    let answer = wait_for(
        &app,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        answer,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into()
        )
    );

    proxy.set(Link::Pass);
    let answer = wait_for(&app, StatusCode::OK, Duration::from_secs(15)).await;
    assert_eq!(answer, (StatusCode::OK, "ready\n".into()));

    // A database that accepts connections and never answers: the probe answers within its
    // bound (2 s) instead of hanging with it.
    proxy.set(Link::Hang);
    let started = Instant::now();
    let answer = readyz(&app).await;
    assert_eq!(
        answer,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into()
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    proxy.set(Link::Pass);
    let answer = wait_for(&app, StatusCode::OK, Duration::from_secs(15)).await;
    assert_eq!(answer, (StatusCode::OK, "ready\n".into()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_at_the_signal_while_a_slow_request_and_new_ones_are_still_served() {
    let Some(db) = Database::create(Db::Sqlite).await else {
        return;
    };
    let mut app = TestApp::start(db, |mut s| {
        s.http.shutdown_drain = Duration::from_secs(3);
        s
    })
    .await;
    assert_eq!(readyz(&app).await, (StatusCode::OK, "ready\n".into()));

    // A token request whose body is only half sent when the signal arrives.
    let audience = app
        .management_audience()
        .replace(':', "%3A")
        .replace('/', "%2F");
    let body = format!(
        "grant_type=client_credentials&client_id={BOOTSTRAP_ID}\
         &client_secret={BOOTSTRAP_SECRET}&audience={audience}"
    );
    let (first, rest) = body.split_at(20);
    let mut slow = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    slow.write_all(
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: signet\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    app.signal_shutdown();
    let answer = wait_for(
        &app,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(
        answer,
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into())
    );
    // New requests are still served during the drain: only readiness has changed.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "the drain ended too soon to tell"
    );

    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"), "{response}");
    app.stop().await;
}
