//! Used assertion ids (BEHAVIOUR B.6) on PostgreSQL: `(client_id, jti)` recorded atomically in a
//! table keyed by them, shared by every server instance, kept until the assertion could no
//! longer be accepted anyway. On SQLite the servers check ids in memory and share them through
//! the log in [`super::jti_log`]; pruning and counting here cover both.

use std::collections::HashMap;

use sqlx::Row;

use super::{Conn, StoreError, postgres_int_array, postgres_text_array};
use crate::time_util::Millis;

/// One assertion id to record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsedJti {
    pub client_id: String,
    pub jti: String,
    /// Unix seconds: kept at least until then.
    pub keep_until: i64,
    /// Unix milliseconds, never before `keep_until`: pruned once past both. Ids are recorded
    /// in about this order, so the index that pruning reads only grows at its end.
    pub prune_after: Millis,
}

/// Ids per batch of the replay guard: one statement on PostgreSQL, one statement list per 64
/// ids on SQLite's log (4 parameters a row, far below SQLite's limit).
pub const MAX_BATCH: usize = 256;

/// The whole batch in one statement whose text is the same for every batch size, so that
/// PostgreSQL parses and plans it once per connection (a multi-row `VALUES` list is a new
/// statement for each row count, and batches take every size from 1 to [`MAX_BATCH`]). Each
/// column travels as one array.
const CONSUME_ARRAYS: &str = "INSERT INTO assertion_jtis (client_id, jti, expires_at, prune_after) \
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) \
    ON CONFLICT DO NOTHING RETURNING client_id, jti";

/// Records up to [`MAX_BATCH`] ids in one atomic statement and says, for each, whether it was
/// fresh (`false`: already used, a replay). The caller removes repeats within `batch`: the
/// statement inserts the first and reports it fresh, so it cannot tell the repeat apart.
/// PostgreSQL only: SQLite's servers check ids in memory ([`super::jti_log`]).
pub async fn consume_batch(conn: &mut Conn, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(CONSUME_ARRAYS)
        .bind(postgres_text_array(
            batch.iter().map(|u| Some(u.client_id.as_str())),
        ))
        .bind(postgres_text_array(
            batch.iter().map(|u| Some(u.jti.as_str())),
        ))
        .bind(postgres_int_array(batch.iter().map(|u| u.keep_until)))
        .bind(postgres_int_array(batch.iter().map(|u| u.prune_after)))
        .fetch_all(conn)
        .await?;
    // Borrowed keys: under load this runs for every token, and owned ones would copy both ids.
    let position: HashMap<(&str, &str), usize> = batch
        .iter()
        .enumerate()
        .map(|(i, u)| ((u.client_id.as_str(), u.jti.as_str()), i))
        .collect();
    let mut fresh = vec![false; batch.len()];
    for row in &rows {
        let key: (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(&i) = position.get(&key) {
            fresh[i] = true;
        }
    }
    Ok(fresh)
}

/// Whether `(client_id, jti)` is recorded as used, recording nothing: for the assertion
/// explainer, which must leave the `jti` usable. A row past its `keep_until` but not yet pruned
/// still counts, as it does for [`consume_batch`].
pub async fn is_used(conn: &mut Conn, client_id: &str, jti: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS used FROM assertion_jtis WHERE client_id = $1 AND jti = $2")
        .bind(client_id)
        .bind(jti)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Deletes up to `batch` ids past both their `prune_after` and their `keep_until` at `now`;
/// returns how many.
pub async fn prune(conn: &mut Conn, now: Millis, batch: i64) -> Result<u64, StoreError> {
    let pruned = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        super::jti_log::prune(conn, now, batch).await?
    } else {
        prune_table(conn, now, batch).await?
    };
    crate::metrics::pruned(crate::metrics::Pruned::UsedJtis, pruned);
    Ok(pruned)
}

async fn prune_table(conn: &mut Conn, now: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM assertion_jtis WHERE (client_id, jti) IN \
         (SELECT client_id, jti FROM assertion_jtis \
          WHERE prune_after < $1 AND expires_at < $2 LIMIT $3)",
    )
    .bind(now)
    .bind(now.div_euclid(1000))
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Rows in the table, or in SQLite's log. A full count, on both databases: they hold the ids of a few
/// minutes of tokens (about a million at 4,000 tokens a second), which counts in tens of
/// milliseconds, so this runs with the pruning every 30 seconds rather than at each scrape.
pub async fn count(store: &super::Store) -> Result<i64, StoreError> {
    if store.is_sqlite() {
        return super::jti_log::count(store.pool()).await;
    }
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM assertion_jtis")
        .fetch_one(store.pool())
        .await?
        .try_get("n")?)
}
