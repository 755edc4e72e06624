//! Used assertion ids (SPEC B.6): `(client_id, jti)` recorded atomically, shared by every server
//! instance through the database, kept until the assertion could no longer be accepted anyway.

use std::collections::HashSet;
use std::fmt::Write;

use sqlx::Row;

use super::{Conn, StoreError, sql};

/// One assertion id to record, kept until `keep_until` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsedJti {
    pub client_id: String,
    pub jti: String,
    pub keep_until: i64,
}

/// Rows per statement: 3 parameters each stays far below SQLite's and PostgreSQL's limits.
pub const MAX_BATCH: usize = 256;

/// Records up to [`MAX_BATCH`] ids in one atomic statement and says, for each, whether it was
/// fresh (`false`: already used, a replay). The caller removes repeats within `batch`: the
/// statement inserts the first and reports it fresh, so it cannot tell the repeat apart.
pub async fn consume_batch(conn: &mut Conn, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = String::from("INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ");
    for i in 0..batch.len() {
        let n = 3 * i;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(text, "{sep}(${}, ${}, ${})", n + 1, n + 2, n + 3);
    }
    text.push_str(" ON CONFLICT DO NOTHING RETURNING client_id, jti");
    let mut query = sqlx::query(sql(text));
    for used in batch {
        query = query
            .bind(&used.client_id)
            .bind(&used.jti)
            .bind(used.keep_until);
    }
    let inserted: HashSet<(String, String)> = query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("client_id")?, row.try_get("jti")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(batch
        .iter()
        .map(|u| inserted.contains(&(u.client_id.clone(), u.jti.clone())))
        .collect())
}

/// Deletes up to `batch` entries that expired before `now` (unix seconds); returns how many.
pub async fn prune(conn: &mut Conn, now: i64, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM assertion_jtis WHERE (client_id, jti) IN \
         (SELECT client_id, jti FROM assertion_jtis WHERE expires_at < $1 LIMIT $2)",
    )
    .bind(now)
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn count(pool: &sqlx::AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM assertion_jtis")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}
