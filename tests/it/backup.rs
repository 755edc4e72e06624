//! `signet backup`: a consistent copy of a running server's SQLite database, taken while it
//! writes, that a fresh server with the same master key serves from.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::helpers::{Database, Db, TestApp};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

fn backup(database_url: &str, out: &std::path::Path) -> std::process::Output {
    Command::new(SIGNET)
        .args(["backup", "--database", database_url, "--out"])
        .arg(out)
        .env_remove("SIGNET_DATABASE_URL")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_taken_under_writes_serves_the_same_application() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let admin = app.management_token().await;
    app.create_api(&admin, "https://backup.example/", &["b"])
        .await;
    let client = app.create_client(&admin, "kept").await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    app.grant(&admin, &id, "https://backup.example/", &["b"])
        .await;

    // Token requests (audit events, quota counts) and Management writes go on during the copy.
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (app, stop, writes) = (app.clone(), stop.clone(), writes.clone());
        let (id, secret, admin) = (id.clone(), secret.clone(), admin.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                app.token_with_secret(&id, &secret, "https://backup.example/")
                    .await;
                if n % 5 == 0 {
                    app.create_client(&admin, &format!("busy {n}")).await;
                }
                n += 1;
                writes.fetch_add(1, Ordering::AcqRel);
            }
        })
    };
    while writes.load(Ordering::Acquire) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.db");
    let url = app.db.url.clone();
    let out_for_backup = out.clone();
    let before = writes.load(Ordering::Acquire);
    let output = tokio::task::spawn_blocking(move || backup(&url, &out_for_backup))
        .await
        .unwrap();
    let during = writes.load(Ordering::Acquire) - before;
    stop.store(true, Ordering::Release);
    writer.await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let size = std::fs::metadata(&out).unwrap().len();
    assert_eq!(printed, format!("{} {size} bytes\n", out.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    eprintln!("writes while the copy was taken: {during}");

    let mut copy = app.db.share();
    copy.url = format!("sqlite://{}", out.display());
    let restored = TestApp::start(copy, |s| s).await;
    restored
        .token_with_secret(&id, &secret, "https://backup.example/")
        .await;
    restored.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_existing_out_file_and_leaves_it_alone() {
    let Some(db) = Database::create(Db::Sqlite).await else {
        return;
    };
    let app = TestApp::start(db, |s| s).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taken.db");
    std::fs::write(&out, b"keep me").unwrap();
    let output = backup(&app.db.url, &out);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    app.stop().await;
}

#[test]
fn points_postgres_users_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pg.db");
    let output = backup("postgres://postgres@127.0.0.1:5432/test", &out);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out.exists());
}
