//! `signet backup --out FILE`: a consistent copy of a SQLite database, taken while the server
//! runs. `VACUUM INTO` reads one snapshot of the database (write-ahead log included) inside a
//! read transaction, so writers carry on meanwhile and the copy is never half of one commit.
//! PostgreSQL has its own tool for this (`pg_dump`); the command says so and stops.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use sqlx::{Connection, Executor};

use crate::config::{ConfigError, DatabaseKind};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The database `serve` runs on: `sqlite://PATH`.
    #[arg(
        long = "database",
        env = "SIGNET_DATABASE_URL",
        default_value = "sqlite://signet.db"
    )]
    pub database_url: String,

    /// Where to write the copy; must not exist (a backup never overwrites a file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "backup copies SQLite databases only; for PostgreSQL use `pg_dump -Fc` (and `pg_restore` to restore)"
    )]
    Postgres,
    #[error("{0} already exists; a backup never overwrites a file")]
    OutExists(PathBuf),
    #[error("the output path {0} is not valid UTF-8")]
    OutNotUtf8(PathBuf),
    #[error("the database {0} does not exist")]
    NoDatabase(PathBuf),
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot copy the database: {0}")]
    Copy(#[from] sqlx::Error),
}

impl BackupError {
    /// 2 for a refused invocation (as `serve` does for bad settings), 1 when the copy failed.
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Config(_) | Self::Postgres => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

pub fn run(args: BackupArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(backup(&args.database_url, &args.out)) {
        Ok(bytes) => {
            println!("{} {bytes} bytes", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signet: {e}");
            e.exit_code()
        }
    }
}

/// Copies the database to `out` and returns the copy's size in bytes.
pub async fn backup(database_url: &str, out: &Path) -> Result<u64, BackupError> {
    let DatabaseKind::Sqlite(source) = DatabaseKind::parse(database_url)? else {
        return Err(BackupError::Postgres);
    };
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    let target = out
        .to_str()
        .ok_or_else(|| BackupError::OutNotUtf8(out.to_owned()))?;
    // Created empty here, owner-only, and only if absent: `VACUUM INTO` accepts an empty file
    // and keeps its mode, so the copy of secrets-at-rest is never readable by others, and a
    // file that appeared meanwhile is never overwritten.
    match crate::private_file::create_new(out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::OutExists(out.to_owned()));
        }
        Err(source) => {
            return Err(BackupError::Create {
                path: out.to_owned(),
                source,
            });
        }
    }
    let copied = vacuum_into(&source, target).await;
    match copied {
        Ok(()) => Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0)),
        Err(e) => {
            // Only the file this command created is removed.
            let _ = std::fs::remove_file(out);
            Err(e)
        }
    }
}

async fn vacuum_into(source: &Path, target: &str) -> Result<(), BackupError> {
    sqlx::any::install_default_drivers();
    // `mode=rw`: a mistyped path fails instead of creating an empty database to copy.
    let url = format!("sqlite://{}?mode=rw", source.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    // The server's writers hold the write lock for milliseconds at a time; wait them out.
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    copied.map(|_| ()).map_err(BackupError::Copy)
}
