//! Used assertion ids (BEHAVIOUR B.6) on PostgreSQL: `(client_id, jti)` recorded atomically in a
//! table keyed by their [`digest`], shared by every server instance, kept until the assertion
//! could no longer be accepted anyway. On SQLite the servers check ids in memory and share them
//! through the log in [`super::jti_log`]; pruning and counting here cover both.

use std::collections::HashMap;

use aws_lc_rs::digest::{Context, SHA256};
use sqlx::Row;

use super::{Conn, StoreError, postgres_int_array};
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

/// The key of `(client_id, jti)` in PostgreSQL's table: the first 8 bytes (big-endian, signed)
/// of SHA-256 over the client_id's length in bytes (8 bytes, big-endian), the client_id and the
/// jti. A 64-bit key costs PostgreSQL about half of what the two random texts did per insert
/// (README, "PostgreSQL: used ids keyed by a digest"). Unkeyed, so that every server and the
/// migration that converted the texts (0012) agree; choosing a collision with an id nobody
/// knows yet is a second preimage, out of reach, and a collision only ever refuses the second
/// id as a replay, with odds of about one in 10^13 per token with a million ids kept.
pub fn digest(client_id: &str, jti: &str) -> i64 {
    let mut context = Context::new(&SHA256);
    context.update(&(client_id.len() as u64).to_be_bytes());
    context.update(client_id.as_bytes());
    context.update(jti.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&context.finish().as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// The whole batch in one statement whose text is the same for every batch size, so that
/// PostgreSQL parses and plans it once per connection (a multi-row `VALUES` list is a new
/// statement for each row count, and batches take every size from 1 to [`MAX_BATCH`]). Each
/// column travels as one array.
const CONSUME_ARRAYS: &str = "INSERT INTO assertion_jtis (digest, expires_at, prune_after) \
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) \
    ON CONFLICT DO NOTHING RETURNING digest";

/// Records up to [`MAX_BATCH`] ids in one atomic statement and says, for each, whether it was
/// fresh (`false`: already used, a replay). The caller removes repeats within `batch`: the
/// statement inserts the first and reports it fresh, so it cannot tell the repeat apart. Two
/// distinct ids of one batch with the same digest are told apart the same way: the first is
/// fresh. PostgreSQL only: SQLite's servers check ids in memory ([`super::jti_log`]).
pub async fn consume_batch(conn: &mut Conn, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let digests: Vec<i64> = batch.iter().map(|u| digest(&u.client_id, &u.jti)).collect();
    let rows = sqlx::query(CONSUME_ARRAYS)
        .bind(postgres_int_array(digests.iter().copied()))
        .bind(postgres_int_array(batch.iter().map(|u| u.keep_until)))
        .bind(postgres_int_array(batch.iter().map(|u| u.prune_after)))
        .fetch_all(conn)
        .await?;
    let mut position: HashMap<i64, usize> = HashMap::with_capacity(batch.len());
    for (i, &d) in digests.iter().enumerate() {
        position.entry(d).or_insert(i);
    }
    let mut fresh = vec![false; batch.len()];
    for row in &rows {
        if let Some(&i) = position.get(&row.try_get::<i64, _>(0)?) {
            fresh[i] = true;
        }
    }
    Ok(fresh)
}

/// Whether `(client_id, jti)` is recorded as used, recording nothing: for the assertion
/// explainer, which must leave the `jti` usable. A row past its `keep_until` but not yet pruned
/// still counts, as it does for [`consume_batch`].
pub async fn is_used(conn: &mut Conn, client_id: &str, jti: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS used FROM assertion_jtis WHERE digest = $1")
        .bind(digest(client_id, jti))
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
        "DELETE FROM assertion_jtis WHERE digest IN \
         (SELECT digest FROM assertion_jtis \
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

#[cfg(test)]
mod tests {
    use super::digest;

    /// Fixed values, computed apart from this code (Python's hashlib): the rows kept in a
    /// database were keyed with this function and with migration 0012's SQL, so any change
    /// to it would make used ids usable again.
    #[test]
    fn the_digest_is_the_documented_function() {
        assert_eq!(digest("client-1", "jti-1"), -4_143_687_521_267_334_627);
        assert_eq!(digest("c", "emoji-🔑"), 7_239_044_334_352_836_790);
    }

    #[test]
    fn the_client_id_s_length_keeps_the_two_parts_apart() {
        assert_eq!(digest("ab", "c"), 2_957_243_908_281_160_298);
        assert_eq!(digest("a", "bc"), -1_617_983_570_760_238_644);
    }
}
