//! Storage behind a narrow interface: one SQL text for SQLite and PostgreSQL through sqlx's `Any`
//! driver (`$n` placeholders, integers for instants, JSON as text). One file per table; every
//! function takes the connection it runs on, so callers compose them inside one transaction.
//!
//! **Locking.** A write that depends on what it read (change one field of a client and write
//! the row back, check a credential count and insert) first takes the row's lock with the
//! table's `lock_for_update`, an `UPDATE` of that row, inside a transaction from
//! [`Store::begin`], and only then reads. On PostgreSQL (read committed) the `UPDATE` holds the
//! row lock until commit: a concurrent writer of the same row waits, and its reads then see the
//! committed result, so neither write is lost. On SQLite `BEGIN IMMEDIATE` already lets one
//! writer in at a time. One SQL text serves both (SQLite has no `SELECT … FOR UPDATE`). Writes
//! that need no read are single statements (`INSERT … ON CONFLICT`, `SET n = n + 1`).

pub mod admin_sessions;
pub mod admins;
pub mod clients;
mod conditions;
pub mod credentials;
pub mod grants;
pub mod jti_log;
pub mod key_sets;
pub mod logs;
pub mod open;
pub mod replay;
pub mod resource_servers;
pub mod signin_attempts;
pub mod signing_keys;
pub mod tenant_settings;
pub mod token_quota;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Row;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migrator};

pub use open::OpenError;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

pub use sqlx::AnyConnection as Conn;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the message says what already exists.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The store refused to write what would break what it relies on to read it back.
    #[error("refused before writing: {0}")]
    Refused(String),
}

/// Every database error is counted as it enters the store's error type (`signet_db_errors_total`).
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        crate::metrics::database_error(&e);
        Self::Database(e)
    }
}

/// Turns a unique-constraint violation into a typed conflict at the store boundary (never a 500).
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => e.into(),
    }
}

pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    changes: Arc<Changes>,
    /// How write transactions start. SQLite needs `BEGIN IMMEDIATE`: a deferred transaction
    /// that reads and then writes cannot wait for the write lock and fails with SQLITE_BUSY.
    begin_statement: &'static str,
    /// SQLite only: the background writers' own connection, see [`Store::with_writer`].
    writer: Option<Arc<KeptConnection>>,
}

/// A connection kept from one write to the next by a frequent background writer.
///
/// SQLite: the one connection that the background writers (replay guard, audit log, pruning)
/// take in turns. SQLite has one writer at a time, and a writer that finds the lock taken
/// sleeps in SQLite's busy handler for whole milliseconds; queueing here instead, they never
/// meet there. And since these writes all go through this one connection, its page cache stays
/// valid from one batch to the next: a connection whose database another connection changed
/// must drop its cache and read the pages again.
///
/// PostgreSQL: the replay guard's own ([`Store::kept_writer`]). A pooled connection is checked
/// with a round trip each time it is taken, and the pool hands out its connections in turn, so
/// each batch ran in another backend process whose caches were cold; kept, PostgreSQL's
/// processes spent 3.8 µs less per token and signet issued 4 % more tokens (README, "PostgreSQL:
/// the used ids' writer keeps its connection").
pub struct KeptConnection {
    options: AnyConnectOptions,
    /// SQLite's, shared by its background writers; a PostgreSQL one is one writer's own.
    sqlite: bool,
    /// Opened on first use, and again after a failed write (its state is then unknown).
    conn: tokio::sync::Mutex<Option<Kept>>,
}

struct Kept {
    conn: Conn,
    last_used: std::time::Instant,
}

/// A PostgreSQL connection idle this long is checked before it is used again: the server, or
/// anything between, may have closed it meanwhile. Under load the writer never waits this long.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

impl KeptConnection {
    fn new(options: AnyConnectOptions, sqlite: bool) -> Self {
        Self {
            options,
            sqlite,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs `write` on the kept connection, in turns with the other writers that share it.
    /// Out of its place while it writes: a write that fails, or is dropped before it ends,
    /// leaves no connection behind in the middle of a transaction (the replay guard opens and
    /// commits its own in its statement lists, unseen by sqlx). Closing or dropping the
    /// connection rolls back what it had not committed; the next write opens another.
    pub async fn write<T>(
        &self,
        write: impl AsyncFnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut turn = self.conn.lock().await;
        let mut conn = match turn.take() {
            Some(kept) => self.checked(kept).await?,
            None => self.connect().await?,
        };
        let written = write(&mut conn).await;
        if written.is_ok() {
            *turn = Some(Kept {
                conn,
                last_used: std::time::Instant::now(),
            });
        } else {
            let _ = conn.close().await;
        }
        written
    }

    /// The kept connection, or a new one where a PostgreSQL connection idle for a while no
    /// longer answers.
    async fn checked(&self, kept: Kept) -> Result<Conn, StoreError> {
        if self.sqlite || kept.last_used.elapsed() < CHECK_AFTER_IDLE {
            return Ok(kept.conn);
        }
        let mut conn = kept.conn;
        match tokio::time::timeout(open::CONNECT_TIMEOUT, conn.ping()).await {
            Ok(Ok(())) => Ok(conn),
            _ => {
                drop(conn);
                self.connect().await
            }
        }
    }

    async fn connect(&self) -> Result<Conn, StoreError> {
        let mut conn =
            tokio::time::timeout(open::CONNECT_TIMEOUT, Conn::connect_with(&self.options))
                .await
                .map_err(|_| {
                    sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the database did not answer a new connection in time",
                    ))
                })??;
        if self.sqlite {
            conn.execute(SQLITE_PRAGMAS).await?;
            conn.execute(SQLITE_WRITER_CACHE).await?;
        }
        Ok(conn)
    }

    /// Closes a writer's own connection, when the writer stops; the one SQLite's writers share
    /// stays open for the others ([`Store::close`] closes it).
    pub async fn retire(&self) {
        if !self.sqlite {
            self.close().await;
        }
    }

    async fn close(&self) {
        if let Some(kept) = self.conn.lock().await.take() {
            let _ = kept.conn.close().await;
        }
    }
}

const SQLITE_PRAGMAS: &str =
    // Once rewound, a log a burst of writes made large is cut back to 64 MiB on disk. No memory
    // map: the used-`jti` table of a busy server is hundreds of megabytes, and every page of it
    // the writers touched would count in the server's resident memory; reads go through each
    // connection's bounded page cache instead.
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 10000; PRAGMA cache_size = -2048; PRAGMA mmap_size = 0; \
     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;";

/// The background writers' connection: a larger page cache spares the `jti` inserts and the
/// pruning most re-reads of the index pages they touch with read(2). 8 MiB holds every interior
/// page of a table of millions of used ids; a leaf is a random page either way once the table
/// outgrows the cache, and each further MiB counted in resident memory under HS256 load (16 MiB:
/// 91-103 MB at 11,000-13,000 tokens/s; 8 MiB: 88-91 MB).
const SQLITE_WRITER_CACHE: &str = "PRAGMA cache_size = -8192";

/// Copies what it can without waiting for readers or writers (see [`Store::checkpoint`]).
const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";
/// Frames (4 KiB pages) appended during a checkpoint pass that are few enough to copy while
/// holding the background writers up: a few milliseconds' work.
const CATCH_UP_FRAMES: i64 = 1000;
const MAX_PASSES_BESIDE: usize = 4;

impl Store {
    /// Connects and applies the versioned migrations of the URL's dialect. Concurrent starts
    /// against one PostgreSQL are safe: sqlx holds an advisory lock while migrating.
    pub async fn connect(database_url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = database_url.starts_with("sqlite:");
        let sqlite_file = database_url
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.split('?').next())
            .filter(|path| !path.is_empty() && *path != ":memory:")
            .map(std::path::PathBuf::from);
        if let Some(path) = &sqlite_file {
            open::prepare_sqlite_file(path)?;
        }
        let url = if is_sqlite && !database_url.contains("mode=") {
            let sep = if database_url.contains('?') { '&' } else { '?' };
            format!("{database_url}{sep}mode=rwc")
        } else {
            database_url.to_owned()
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| OpenError::Url(e.to_string()))?;
        // One connection first, so its failure is reported with its cause, once; the pool
        // would retry it until its timeout and then say only that it timed out.
        match tokio::time::timeout(open::CONNECT_TIMEOUT, Conn::connect_with(&options)).await {
            Ok(Ok(probe)) => {
                let _ = probe.close().await;
            }
            Ok(Err(e)) => return Err(open::connect_failed(&e)),
            Err(_) => return Err(OpenError::NoAnswer),
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(|e| open::connect_failed(&e))?;
        let migrator = if is_sqlite {
            &SQLITE_MIGRATIONS
        } else {
            &POSTGRES_MIGRATIONS
        };
        let mut attempt = 0;
        loop {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(e @ (MigrateError::VersionMissing(_) | MigrateError::VersionMismatch(_))) => {
                    return Err(open::migrate_failed(e, None));
                }
                // SQLite has no migration lock: when two servers start on one file, the loser's
                // migration finds the winner's tables. Once the winner has committed, a second
                // run sees the migration recorded and has nothing to do.
                Err(_) if is_sqlite && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(open::migrate_failed(e, sqlite_file.as_deref())),
            }
        }
        Ok(Self {
            pool,
            changes: Arc::new(Changes {
                generation: AtomicU64::new(0),
                seen_version: AtomicI64::new(-1),
                origin: std::time::Instant::now(),
                seen_at: AtomicU64::new(NEVER_SEEN),
            }),
            begin_statement: if is_sqlite {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN"
            },
            writer: is_sqlite.then(|| Arc::new(KeptConnection::new(options, true))),
        })
    }

    /// SQLite: copies the write-ahead log back into the database file, and returns (frames in
    /// the log, frames copied) as the last step saw them. Automatic checkpoints are off: they
    /// run inside whichever commit crosses the threshold, so a token request would wait for the
    /// copy and its fsync; the server calls this every second instead.
    ///
    /// The log is only rewound from its start once a checkpoint has copied every frame in it.
    /// Under steady writes a checkpoint beside the writers never gets there (they append while
    /// it copies), and the log would grow without bound. So the bulk is copied beside the
    /// writers, then the few frames they appended meanwhile are copied in the background
    /// writers' turn, when none of them can append; their next write rewinds the log. Each
    /// pass beside the writers copies what they appended during the one before; passes repeat
    /// (a few at most) until that is little, so the pass that holds their writes up has little
    /// left to copy, even on a slow disk or a starved CPU.
    pub async fn checkpoint(&self) -> Result<Option<(i64, i64)>, StoreError> {
        if self.writer.is_none() {
            return Ok(None);
        }
        let pass_beside = async || -> Result<i64, StoreError> {
            Ok(sqlx::query(CHECKPOINT)
                .fetch_one(&self.pool)
                .await?
                .try_get(1)?)
        };
        let mut logged = pass_beside().await?;
        for _ in 0..MAX_PASSES_BESIDE - 1 {
            let before = logged;
            logged = pass_beside().await?;
            // Negative when the log was rewound meanwhile.
            if logged - before < CATCH_UP_FRAMES {
                break;
            }
        }
        let last = self
            .with_writer(async |conn| Ok(sqlx::query(CHECKPOINT).fetch_one(conn).await?))
            .await?;
        Ok(Some((last.try_get(1)?, last.try_get(2)?)))
    }

    /// Runs one write of a frequent background writer. SQLite: on the writers' own connection,
    /// in turns (see [`KeptConnection`]); PostgreSQL: on a pooled connection, no turns needed.
    pub async fn with_writer<T>(
        &self,
        write: impl AsyncFnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.writer {
            Some(writer) => writer.write(write).await,
            None => write(&mut *self.pool.acquire().await?).await,
        }
    }

    /// A connection of its own for a background writer that writes many times a second:
    /// PostgreSQL, a new one kept apart from the pool; SQLite, the one its writers share.
    pub fn kept_writer(&self) -> Arc<KeptConnection> {
        match &self.writer {
            Some(shared) => shared.clone(),
            None => Arc::new(KeptConnection::new(
                (*self.pool.connect_options()).clone(),
                false,
            )),
        }
    }

    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(self.pool.begin_with(self.begin_statement).await?)
    }

    /// SQLite, where one file is shared only by servers on one machine; else PostgreSQL.
    pub fn is_sqlite(&self) -> bool {
        self.writer.is_some()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Commits a write transaction and records that tenant data changed: the shared counter in
    /// the database (seen by other server instances within one poll) and this instance's
    /// generation (seen at once).
    pub async fn commit(&self, mut tx: Transaction<'static, Any>) -> Result<(), StoreError> {
        sqlx::query("UPDATE change_counter SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changes.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// This instance's view of the data's generation: it moves whenever tenant data changed here
    /// or (after `poll_changes`) anywhere. Caches stamp entries with it.
    pub fn generation(&self) -> u64 {
        self.changes.generation.load(Ordering::Acquire)
    }

    /// Reads the shared change counter; a new value moves this instance's generation.
    pub async fn poll_changes(&self) -> Result<(), StoreError> {
        let version: i64 = sqlx::query("SELECT version FROM change_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("version")?;
        if self.changes.seen_version.swap(version, Ordering::AcqRel) != version {
            self.changes.generation.fetch_add(1, Ordering::AcqRel);
        }
        let since_origin = self.changes.origin.elapsed().as_millis() as u64;
        self.changes.seen_at.store(since_origin, Ordering::Release);
        Ok(())
    }

    /// Whether the shared change counter was read successfully within `age`: when it was, the
    /// generation reflects every change another instance committed before then.
    pub fn changes_seen_within(&self, age: Duration) -> bool {
        let seen_at = self.changes.seen_at.load(Ordering::Acquire);
        seen_at != NEVER_SEEN
            && self.changes.origin.elapsed().as_millis() as u64 <= seen_at + age.as_millis() as u64
    }

    /// Liveness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Readiness: the newest migration this binary carries is recorded as applied. `connect`
    /// applies them, so this fails only when the history was changed under a running server
    /// (a restore from an older copy, a manual rollback).
    pub async fn migrations_applied(&self) -> Result<bool, StoreError> {
        let migrator = if self.is_sqlite() {
            &SQLITE_MIGRATIONS
        } else {
            &POSTGRES_MIGRATIONS
        };
        let Some(latest) = migrator.iter().map(|m| m.version).max() else {
            return Ok(true);
        };
        let applied: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE version = $1 AND success",
        )
        .bind(latest)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(applied > 0)
    }

    /// Whether anything sealed under a master key is stored yet: the tenant's signing keys are
    /// written at the first start, before anything else that is sealed.
    pub async fn holds_sealed_data(&self) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT 1 FROM signing_keys LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

struct Changes {
    generation: AtomicU64,
    seen_version: AtomicI64,
    /// When the counter was last read, in milliseconds since `origin`.
    origin: std::time::Instant,
    seen_at: AtomicU64,
}

const NEVER_SEEN: u64 = u64::MAX;

/// SQL assembled from this module's own constants (column lists, shared clauses) — never from
/// input, which always travels as bound parameters.
pub(crate) fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// The row counts SQLite's multi-row statements are written for (see [`padded_chunks`]).
const PADDED_ROWS: [usize; 4] = [8, 16, 32, 64];

/// Cuts `rows` into chunks of at most 64, each with the statement that takes it: the index in
/// [`PADDED_ROWS`] of the smaller row count that holds it. The statement is written for that
/// many rows and the chunk binds the first of them; the rest stay unbound, which SQLite reads
/// as `NULL` (sqlx clears a statement's bindings before each use, so nothing of a larger chunk
/// before stays bound), and the statement leaves those rows out (`WHERE column1 IS NOT NULL`).
/// So every batch of the background writers, of any size, goes out as one or a few statements
/// of four fixed texts per table:
///
/// - a multi-row `INSERT` is another statement for each row count, and each connection keeps
///   only its 100 most recent statements compiled: batches of every size from 1 to 256 pushed
///   each other out, and compiling a 64-row statement again cost SQLite about 265,000
///   instructions, what writing the rows of eight tokens costs it;
/// - cutting batches into chunks of seven fixed sizes instead cost up to nine statements per
///   batch, and every statement is a round trip to sqlx's SQLite thread: two thread wake-ups,
///   which a profile of the audit write found to be 42 % of its time, against 7 % in SQLite.
///
/// Unused rows of a padded statement still cost SQLite: each parameter is cleared before every
/// use (about ten instructions each, 14 a row for the audit log) and each row is produced by the
/// `VALUES` before the `WHERE` drops it. Sizes a factor of two apart keep that under the cost of
/// the rows written; with only 8 and 64, a batch of nine paid for 55 empty rows.
fn padded_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = (&[T], usize)> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let (chunk, rest) = rows.split_at(rows.len().min(PADDED_ROWS[PADDED_ROWS.len() - 1]));
        rows = rest;
        let statement = PADDED_ROWS.iter().position(|&size| size >= chunk.len())?;
        Some((chunk, statement))
    })
}

/// PostgreSQL's text form of a one-dimensional `text[]`: `{"a","b\"c",NULL}`. Every element is
/// quoted, with `"` and `\` escaped, so no value can be read as anything but itself.
pub(crate) fn postgres_text_array<'a>(
    values: impl Iterator<Item = Option<&'a str>> + Clone,
) -> String {
    let size: usize = values.clone().map(|v| v.map_or(5, |v| v.len() + 3)).sum();
    let mut text = String::with_capacity(size + 2);
    text.push('{');
    for (i, value) in values.enumerate() {
        if i > 0 {
            text.push(',');
        }
        let Some(mut rest) = value else {
            text.push_str("NULL");
            continue;
        };
        text.push('"');
        while let Some(at) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) {
            // Both are ASCII: `at` and `at + 1` are character boundaries.
            text.push_str(&rest[..at]);
            text.push('\\');
            text.push_str(&rest[at..=at]);
            rest = &rest[at + 1..];
        }
        text.push_str(rest);
        text.push('"');
    }
    text.push('}');
    text
}

/// PostgreSQL's text form of a one-dimensional `bigint[]`: `{1,-2,3}`.
pub(crate) fn postgres_int_array(values: impl Iterator<Item = i64>) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("{");
    for (i, value) in values.enumerate() {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(text, "{value}");
    }
    text.push('}');
    text
}

/// A padded statement's text for each of [`PADDED_ROWS`], built once.
pub(crate) struct PaddedStatements([String; PADDED_ROWS.len()]);

impl PaddedStatements {
    pub(crate) fn new(text: impl Fn(usize) -> String) -> Self {
        Self(PADDED_ROWS.map(text))
    }

    /// `rows` in chunks, each with the text of the statement that takes it.
    pub(crate) fn chunks<'a, T>(
        &'static self,
        rows: &'a [T],
    ) -> impl Iterator<Item = (&'a [T], &'static str)> {
        padded_chunks(rows).map(move |(chunk, statement)| (chunk, self.0[statement].as_str()))
    }

    /// As [`Self::chunks`], with `last`'s text for the last chunk.
    pub(crate) fn chunks_ending_with<'a, T>(
        &'static self,
        last: &'static Self,
        rows: &'a [T],
    ) -> impl Iterator<Item = (&'a [T], &'static str)> {
        let count = padded_chunks(rows).count();
        padded_chunks(rows)
            .enumerate()
            .map(move |(i, (chunk, statement))| {
                let texts = if i + 1 == count { last } else { self };
                (chunk, texts.0[statement].as_str())
            })
    }
}

/// `INSERT INTO {into} SELECT {select} FROM (VALUES …) WHERE column1 IS NOT NULL`, the values
/// `rows` rows of `columns` anonymous parameters, which `select` reads as `column1`, `column2`,
/// …: the padded statement of [`padded_chunks`]. The parameters are anonymous `?`s, bound in
/// order: sqlx finds each numbered SQLite parameter by scanning the statement's list of names,
/// so binding n of them would cost n². (PostgreSQL takes each column of a batch as one array
/// instead: `store::logs`, `store::replay`.)
pub(crate) fn padded_insert(into: &str, select: &str, rows: usize, columns: usize) -> String {
    let mut text = format!("INSERT INTO {into} SELECT {select} FROM (VALUES ");
    for row in 0..rows {
        text.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            text.push_str(if column == 0 { "?" } else { ", ?" });
        }
        text.push(')');
    }
    text.push_str(") WHERE column1 IS NOT NULL");
    text
}

/// A store on a fresh SQLite file, removed when the returned directory is dropped.
#[cfg(test)]
pub(crate) async fn temp_sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("signet.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

/// Makes SQLite refuse every insert into `table` whose `column` is `'poison'`. SQLite stores any
/// text, so this stands in for a value the database cannot take (PostgreSQL refuses NUL the
/// same way, for the whole statement).
#[cfg(test)]
pub(crate) async fn refuse_poison(store: &Store, table: &str, column: &str) {
    sqlx::query(sql(format!(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON {table} \
         WHEN NEW.{column} = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )))
    .execute(store.pool())
    .await
    .unwrap();
}

/// A SQLite database as an earlier version left it: only the migrations named before
/// `first_new` (e.g. `"0010"`) applied. Returns the directory (the database lives in it while it
/// is kept), a pool on it to write old-shaped rows with, and its URL for `Store::connect`, which
/// then applies the rest.
#[cfg(test)]
pub(crate) async fn sqlite_migrated_before(
    first_new: &str,
) -> (tempfile::TempDir, sqlx::AnyPool, String) {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("migrations");
    std::fs::create_dir(&before).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < first_new {
            std::fs::copy(&path, before.join(name)).unwrap();
        }
    }
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("signet.db").display()
    );
    sqlx::any::install_default_drivers();
    let old = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&old)
        .await
        .unwrap();
    (dir, old, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_every_element_and_escape_quotes_and_backslashes() {
        let values = [
            Some("plain"),
            None,
            Some(r#"a"b\c"#),
            Some(""),
            Some("NULL"),
            Some(r#"\"#),
            Some("{x,y} é"),
        ];
        assert_eq!(
            postgres_text_array(values.iter().copied()),
            r#"{"plain",NULL,"a\"b\\c","","NULL","\\","{x,y} é"}"#
        );
        assert_eq!(postgres_text_array(std::iter::empty()), "{}");
        assert_eq!(
            postgres_int_array([1, -2, i64::MAX].into_iter()),
            "{1,-2,9223372036854775807}"
        );
    }

    #[test]
    fn batches_are_cut_into_padded_chunks_at_least_half_full_in_order() {
        let chunks = |n: usize| {
            let rows: Vec<usize> = (0..n).collect();
            let chunks: Vec<(&[usize], usize)> = padded_chunks(&rows)
                .map(|(chunk, statement)| (chunk, PADDED_ROWS[statement]))
                .collect();
            let rows_again: Vec<usize> = chunks.iter().flat_map(|c| c.0.to_vec()).collect();
            assert_eq!(rows_again, rows, "every row once, in order ({n} rows)");
            for (chunk, padded) in &chunks {
                assert!(!chunk.is_empty() && chunk.len() <= *padded, "{n} rows");
                assert!(
                    chunk.len() * 2 > *padded || *padded == PADDED_ROWS[0],
                    "{n} rows: {} in a statement for {padded}",
                    chunk.len()
                );
            }
            chunks
                .iter()
                .map(|(chunk, padded)| (chunk.len(), *padded))
                .collect::<Vec<_>>()
        };
        assert!(chunks(0).is_empty());
        assert_eq!(chunks(1), [(1, 8)]);
        assert_eq!(chunks(8), [(8, 8)]);
        assert_eq!(chunks(9), [(9, 16)]);
        assert_eq!(chunks(16), [(16, 16)]);
        assert_eq!(chunks(17), [(17, 32)]);
        assert_eq!(chunks(33), [(33, 64)]);
        assert_eq!(chunks(64), [(64, 64)]);
        assert_eq!(chunks(70), [(64, 64), (6, 8)]);
        assert_eq!(chunks(256), [(64, 64); 4]);
        let mut sizes = std::collections::BTreeSet::new();
        for n in 0..=600 {
            sizes.extend(chunks(n).into_iter().map(|(_, padded)| padded));
        }
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), PADDED_ROWS);
    }

    #[test]
    fn only_the_last_chunk_takes_the_other_text() {
        use std::sync::LazyLock;
        static FIRST: LazyLock<PaddedStatements> =
            LazyLock::new(|| PaddedStatements::new(|rows| format!("first {rows}")));
        static LAST: LazyLock<PaddedStatements> =
            LazyLock::new(|| PaddedStatements::new(|rows| format!("last {rows}")));
        let texts = |n: usize| -> Vec<(usize, &'static str)> {
            let rows: Vec<usize> = (0..n).collect();
            FIRST
                .chunks_ending_with(&LAST, &rows)
                .map(|(chunk, text)| (chunk.len(), text))
                .collect()
        };
        assert!(texts(0).is_empty());
        assert_eq!(texts(3), [(3, "last 8")]);
        assert_eq!(texts(64), [(64, "last 64")]);
        assert_eq!(
            texts(150),
            [(64, "first 64"), (64, "first 64"), (22, "last 32")]
        );
    }

    #[tokio::test]
    async fn sqlite_writes_stay_in_the_log_until_the_background_checkpoint_copies_them() {
        let (store, _dir) = temp_sqlite().await;
        for i in 0..2000 {
            sqlx::query(
                "INSERT INTO assertion_jti_log (client_id, jti, expires_at, prune_after) \
                 VALUES ($1, $2, 0, 0)",
            )
            .bind("c")
            .bind(format!("jti-{i}"))
            .execute(store.pool())
            .await
            .unwrap();
        }
        // SQLite's own threshold is 1000 frames: with automatic checkpoints on, 2000 commits
        // would have copied them back already and left almost nothing in the log.
        let (logged, copied) = store.checkpoint().await.unwrap().unwrap();
        assert!(logged >= 2000, "{logged} frames in the log");
        assert_eq!(copied, logged);
    }

    #[tokio::test]
    async fn the_sqlite_log_is_rewound_while_background_writers_keep_writing() {
        let (store, _dir) = temp_sqlite().await;
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let writer = tokio::spawn({
            let (store, writing) = (store.clone(), writing.clone());
            async move {
                let mut i = 0u64;
                while writing.load(Ordering::Relaxed) {
                    store
                        .with_writer(async |conn| {
                            sqlx::query(
                                "INSERT INTO assertion_jti_log \
                                 (client_id, jti, expires_at, prune_after) VALUES ('c', $1, 0, 0)",
                            )
                            .bind(format!("jti-{i}"))
                            .execute(conn)
                            .await?;
                            Ok(())
                        })
                        .await
                        .unwrap();
                    i += 1;
                    tokio::task::yield_now().await;
                }
                i
            }
        });
        // Frames in the log as each checkpoint leaves it. Never rewound, the log only grows;
        // rewound, each count is what was written since the one before, up or down by chance.
        let mut logged = Vec::new();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            logged.push(store.checkpoint().await.unwrap().unwrap().0);
        }
        writing.store(false, Ordering::Relaxed);
        let commits = writer.await.unwrap();
        assert!(commits >= 200, "only {commits} commits");
        let rewinds = logged.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(
            rewinds >= 3,
            "frames in the log at each checkpoint: {logged:?}"
        );
    }

    #[tokio::test]
    async fn the_sqlite_writer_connection_is_reopened_after_a_failed_write() {
        let (store, _dir) = temp_sqlite().await;
        let insert = |id: i64| {
            async move |conn: &mut Conn| -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO assertion_jti_log (id, client_id, jti, expires_at, prune_after) \
                     VALUES ($1, 'c', 'j', 0, 0)",
                )
                .bind(id)
                .execute(conn)
                .await?;
                Ok(())
            }
        };
        store.with_writer(insert(1)).await.unwrap();
        // A duplicate key fails the statement; the connection is dropped with it.
        let failed = store.with_writer(insert(1)).await;
        assert!(failed.is_err());
        assert!(store.writer.as_ref().unwrap().conn.lock().await.is_none());
        store.with_writer(insert(2)).await.unwrap();
        // Writes made on the writer's own connection are seen by the pool's connections.
        assert_eq!(replay::count(&store).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_write_dropped_in_the_middle_of_its_transaction_leaves_none_open() {
        let (store, _dir) = temp_sqlite().await;
        // Opens a transaction sqlx does not track, as the replay guard does, and never ends it.
        let stalled = store.with_writer(async |conn| {
            conn.execute("BEGIN IMMEDIATE").await?;
            std::future::pending::<()>().await;
            Ok(())
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), stalled)
                .await
                .is_err()
        );
        // The next write is not handed a connection still inside that transaction, and the
        // dropped one's write lock was let go.
        store
            .with_writer(async |conn| {
                conn.execute(
                    "BEGIN IMMEDIATE; INSERT INTO assertion_jti_log \
                              (client_id, jti, expires_at, prune_after) VALUES ('c', 'j', 0, 0); \
                              COMMIT",
                )
                .await?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(replay::count(&store).await.unwrap(), 1);
    }
}
