//! Opening the database at start, with every failure named by its cause in one line: a missing
//! directory, a read-only file, an unreachable or refusing server, a database that a newer
//! signet has migrated. sqlx's pool alone reports most of these as "pool timed out" after ten
//! seconds, which hides the cause.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::MigrateError;

/// How long the first connection may take before the server gives up: a server that accepts
/// the TCP connection and never answers would otherwise hold the start for ever.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the database directory {0} does not exist; create it (signet creates the database \
         file, not its directory)"
    )]
    MissingDirectory(PathBuf),
    #[error("the database file {path} is read-only: signet writes to it ({why})")]
    ReadOnly { path: PathBuf, why: String },
    #[error("cannot create the database file {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot connect to the database: {0}")]
    Unreachable(String),
    #[error("the database did not answer within {} s", CONNECT_TIMEOUT.as_secs())]
    NoAnswer,
    #[error(
        "the database was migrated by a newer signet (it has migration {version}, unknown to \
         signet {}): run that version or a newer one, or restore a backup taken before the \
         upgrade",
        env!("CARGO_PKG_VERSION")
    )]
    FromTheFuture { version: i64 },
    #[error(
        "migration {version} in the database differs from the one signet {} ships: the \
         database was migrated by a different build",
        env!("CARGO_PKG_VERSION")
    )]
    ChangedMigration { version: i64 },
    #[error("cannot migrate the database: {0}")]
    Migrate(MigrateError),
    #[error("invalid database URL: {0}")]
    Url(String),
}

/// Names the cause of a failed migration; `sqlite_file` is the file when the database is SQLite.
pub fn migrate_failed(e: MigrateError, sqlite_file: Option<&Path>) -> OpenError {
    match e {
        MigrateError::VersionMissing(version) => OpenError::FromTheFuture { version },
        MigrateError::VersionMismatch(version) => OpenError::ChangedMigration { version },
        MigrateError::Execute(e) => match (readonly_cause(&e), sqlite_file) {
            (Some(why), Some(path)) => OpenError::ReadOnly {
                path: path.to_path_buf(),
                why,
            },
            _ => OpenError::Migrate(MigrateError::Execute(e)),
        },
        other => OpenError::Migrate(other),
    }
}

/// Turns a failed first connection into the cause a person can act on: sqlx's own text nests
/// the operating system's or the server's message, which is what matters.
pub fn connect_failed(e: &sqlx::Error) -> OpenError {
    let cause = match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
        sqlx::Error::Configuration(c) => return OpenError::Url(c.to_string()),
        other => other.to_string(),
    };
    OpenError::Unreachable(cause)
}

fn readonly_cause(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let message = db.message();
    message
        .contains("readonly database")
        .then(|| message.to_owned())
}

/// Checks a SQLite file before sqlx opens it, and creates it readable by its owner only when it
/// does not exist yet (SQLite gives its write-ahead log and shared-memory files the same mode).
pub fn prepare_sqlite_file(path: &Path) -> Result<(), OpenError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(OpenError::MissingDirectory(dir.to_path_buf()));
    }
    match std::fs::metadata(path) {
        Ok(meta) => check_writable(path, &meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_private(path),
        Err(e) => Err(OpenError::Create {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn check_writable(path: &Path, meta: &std::fs::Metadata) -> Result<(), OpenError> {
    let read_only = |why: String| OpenError::ReadOnly {
        path: path.to_path_buf(),
        why,
    };
    // The mode says what the operator meant even where the process could write anyway (root).
    if meta.permissions().readonly() {
        return Err(read_only("its permissions allow no writing".into()));
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(read_only(e.to_string())),
        Err(e) if e.raw_os_error() == Some(EROFS) => Err(read_only(e.to_string())),
        Err(e) => Err(OpenError::Create {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// "Read-only file system" on Linux and the BSDs.
const EROFS: i32 = 30;

fn create_private(path: &Path) -> Result<(), OpenError> {
    match crate::private_file::create_new(path) {
        Ok(_) => Ok(()),
        // Another server starting on the same file created it first.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.raw_os_error() == Some(EROFS) => Err(OpenError::ReadOnly {
            path: path.to_path_buf(),
            why: e.to_string(),
        }),
        Err(e) => Err(OpenError::Create {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("signet.db");
        let err = prepare_sqlite_file(&path).unwrap_err();
        assert!(matches!(err, OpenError::MissingDirectory(d) if d == dir.path().join("nope")));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_private_and_a_read_only_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signet.db");
        prepare_sqlite_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        prepare_sqlite_file(&path).unwrap();

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        let err = prepare_sqlite_file(&path).unwrap_err();
        assert!(matches!(err, OpenError::ReadOnly { .. }), "{err}");
    }

    #[test]
    fn unknown_and_changed_migrations_are_told_apart() {
        assert!(matches!(
            migrate_failed(MigrateError::VersionMissing(42), None),
            OpenError::FromTheFuture { version: 42 }
        ));
        assert!(matches!(
            migrate_failed(MigrateError::VersionMismatch(3), None),
            OpenError::ChangedMigration { version: 3 }
        ));
    }
}
