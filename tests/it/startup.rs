//! `signet serve` refusing to start: each cause named in one line on stderr, with exit code 1
//! (2 for settings refused before anything is opened), and nothing left behind. Also what a
//! first start creates: files readable by their owner only.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{in_ci, postgres_base_url};

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

fn serve(args: &[&str]) -> Command {
    let mut cmd = Command::new(SIGNET);
    cmd.arg("serve")
        .args(args)
        .env_clear()
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a start that must fail; returns its exit code and stderr.
async fn refused_with(mut cmd: Command) -> (i32, String) {
    let run = tokio::task::spawn_blocking(move || cmd.output());
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("a refused start ends within 30 s")
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    (out.status.code().unwrap_or(-1), stderr)
}

async fn refused(args: &[&str]) -> (i32, String) {
    refused_with(serve(args)).await
}

/// The one line naming the failure: the only line of stderr that is not a log line.
fn error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("signet: "))
        .collect();
    assert_eq!(lines.len(), 1, "exactly one error line in:\n{stderr}");
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("WARN"),
        "no other complaint in:\n{stderr}"
    );
    lines[0]
}

/// A server that started: waits for its "listening" line and returns what it logged so far.
fn started(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    // Reads stderr to its end, so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("signet is listening") {
            return (child, seen);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start:\n{seen}");
}

fn stop(mut child: Child) {
    // SAFETY: plain kill(2) on a child this test owns.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server stops within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_missing_database_directory_is_named_and_no_key_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("signet.db");
    let (code, stderr) =
        refused(&["--listen", "127.0.0.1:0", "--database", &sqlite_url(&db)]).await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains(&format!(
            "the database directory {} does not exist",
            dir.path().join("data").display()
        )),
        "{line}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_once_at_once() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let started_at = std::time::Instant::now();
    let (code, stderr) = refused(&[
        "--listen",
        "127.0.0.1:0",
        "--database",
        "postgres://postgres@127.0.0.1:1/signet",
        "--master-key-file",
        "/nonexistent/signet.key",
    ])
    .await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.starts_with("signet: cannot open the database: cannot connect to the database: ")
            && line.contains("refused"),
        "{line}"
    );
    assert!(
        started_at.elapsed() < Duration::from_secs(9),
        "no pool timeout waited for"
    );
}

#[tokio::test]
async fn a_missing_postgres_role_or_database_is_named_once() {
    let base = postgres_base_url();
    let Ok(mut url) = url::Url::parse(&base) else {
        panic!("SIGNET_TEST_DATABASE_URL is not a URL: {base}");
    };
    // Is PostgreSQL there at all? Without it the causes below cannot be shown.
    sqlx::any::install_default_drivers();
    if let Err(e) = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await {
        assert!(!in_ci(), "PostgreSQL is required under CI=true: {e}");
        eprintln!("SKIPPED: PostgreSQL start-up errors (no database at {base}: {e})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signet.key");
    let key = key.to_str().unwrap();

    let mut no_role = url.clone();
    no_role.set_username("signet_no_such_role").unwrap();
    url.set_path("/signet_no_such_database");
    let cases = [
        (no_role, "role \"signet_no_such_role\" does not exist"),
        (url, "database \"signet_no_such_database\" does not exist"),
    ];
    for (url, cause) in cases {
        let (code, stderr) = refused(&[
            "--listen",
            "127.0.0.1:0",
            "--database",
            url.as_str(),
            "--master-key-file",
            key,
        ])
        .await;
        assert_eq!(code, 1, "{stderr}");
        assert!(error_line(&stderr).contains(cause), "{stderr}");
        assert_eq!(stderr.matches("does not exist").count(), 1, "{stderr}");
    }
    assert!(
        !Path::new(key).exists(),
        "no key file for a database never opened"
    );
}

#[tokio::test]
async fn settings_refused_before_anything_is_opened_exit_2() {
    let (code, stderr) = refused(&["--listen", "localhost"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("expected HOST:PORT"), "{stderr}");
    let (code, stderr) = refused(&["--database", "mysql://x"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("expected sqlite://PATH or postgres://"),
        "{stderr}"
    );
}

/// One data directory through its life: a first start (by host name) creates private files;
/// then each way it can be broken is refused with its cause, and nothing is created meanwhile.
#[cfg(unix)]
#[tokio::test]
async fn a_data_directory_through_the_ways_it_breaks() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("signet.db");
    let key = dir.path().join("signet.key");
    let url = sqlite_url(&db);
    let args = ["--listen", "localhost:0", "--database", &url];

    // First start, by host name: the default issuer keeps the name.
    let (mut child, log) = started(serve(&args));
    assert!(log.contains("issuer=http://localhost:"), "{log}");
    // `systemctl reload` sends SIGHUP: without TLS there is nothing to reload, and the server
    // must live on (SIGHUP's default action would end it).
    // SAFETY: plain kill(2) on a child this test owns.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGHUP);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    stop(child);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&key), 0o600);
    for side in ["signet.db-wal", "signet.db-shm"] {
        let path = dir.path().join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{side}");
        }
    }

    // A key file others can read: a loud warning, and the server still starts.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (child, log) = started(serve(&args));
    assert!(
        log.contains("the master key file can be read by other users"),
        "{log}"
    );
    stop(child);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The key file missing beside a database that holds sealed data: refused, none created.
    let missing = dir.path().join("missing.key");
    let (code, stderr) = refused(&[
        "--listen",
        "127.0.0.1:0",
        "--database",
        &url,
        "--master-key-file",
        missing.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains(&format!(
            "the master key file {} does not exist",
            missing.display()
        )) && line.contains("no new key was created"),
        "{line}"
    );
    assert!(!missing.exists());

    // Another master key than the one the database was sealed with.
    let other_key = signet::crypto::sealing::MasterKey::generate_base64();
    let mut cmd = serve(&args);
    cmd.env("SIGNET_MASTER_KEY", &other_key);
    let (code, stderr) = refused_with(cmd).await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("the master key is not the one this database was created with"),
        "{line}"
    );

    // A read-only database file.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    let (code, stderr) = refused(&args).await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains(&format!("the database file {} is read-only", db.display())),
        "{line}"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A database a newer signet has migrated.
    {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer signet', TRUE, x'00', 1)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let (code, stderr) = refused(&args).await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("the database was migrated by a newer signet (it has migration 9999"),
        "{line}"
    );

    // The port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let (code, stderr) = refused(&[
        "--listen",
        &port,
        "--database",
        &sqlite_url(&dir.path().join("other.db")),
    ])
    .await;
    assert_eq!(code, 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(line.contains(&format!("cannot listen on {port}")), "{line}");
    assert!(!dir.path().join("other.db").exists());
}
