//! Used assertion ids (BEHAVIOUR B.6): `(client_id, jti)` recorded atomically, shared by every server
//! instance through the database, kept until the assertion could no longer be accepted anyway.

use std::collections::HashMap;

use sqlx::Row;

use super::{Conn, StoreError, push_values, sql};
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

/// Rows per statement: 4 parameters each stays far below SQLite's and PostgreSQL's limits.
pub const MAX_BATCH: usize = 256;

/// Records up to [`MAX_BATCH`] ids in one atomic statement and says, for each, whether it was
/// fresh (`false`: already used, a replay). The caller removes repeats within `batch`: the
/// statement inserts the first and reports it fresh, so it cannot tell the repeat apart.
pub async fn consume_batch(conn: &mut Conn, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = String::from(
        "INSERT INTO assertion_jtis (client_id, jti, expires_at, prune_after) VALUES ",
    );
    push_values(&mut text, conn, batch.len(), 4);
    text.push_str(" ON CONFLICT DO NOTHING RETURNING client_id, jti");
    let mut query = sqlx::query(sql(text));
    for used in batch {
        query = query
            .bind(&used.client_id)
            .bind(&used.jti)
            .bind(used.keep_until)
            .bind(used.prune_after);
    }
    let rows = query.fetch_all(conn).await?;
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
    crate::metrics::pruned(crate::metrics::Pruned::UsedJtis, done.rows_affected());
    Ok(done.rows_affected())
}

/// Rows in the table. A full count, on both databases: the table holds the ids of a few
/// minutes of tokens (about a million at 4,000 tokens a second), which counts in tens of
/// milliseconds, so this runs with the pruning every 30 seconds rather than at each scrape.
pub async fn count(pool: &sqlx::AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM assertion_jtis")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(jti: &str, keep_until: i64, prune_after: Millis) -> UsedJti {
        UsedJti {
            client_id: "c".into(),
            jti: jti.into(),
            keep_until,
            prune_after,
        }
    }

    async fn remaining(pool: &sqlx::AnyPool) -> Vec<String> {
        sqlx::query("SELECT jti FROM assertion_jtis ORDER BY jti")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("jti"))
            .collect()
    }

    #[tokio::test]
    async fn looking_a_jti_up_records_nothing() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        assert!(!is_used(&mut conn, "c", "j").await.unwrap());
        assert!(!is_used(&mut conn, "c", "j").await.unwrap(), "still unused");
        assert_eq!(
            consume_batch(&mut conn, &[used("j", 1, 0)]).await.unwrap(),
            [true]
        );
        assert!(is_used(&mut conn, "c", "j").await.unwrap());
        assert!(!is_used(&mut conn, "other-client", "j").await.unwrap());
        assert!(!is_used(&mut conn, "c", "J").await.unwrap());
    }

    #[tokio::test]
    async fn pruning_drops_only_ids_past_both_bounds_in_batches() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let now: Millis = 1_800_000_000_000;
        let s = now / 1000;
        let batch = [
            used("a-gone", s - 1, now - 1),
            used("b-gone", s - 5, now - 1000),
            used("c-gone", s - 1, now - 1),
            used("d-prune-time-not-reached", s - 1, now),
            used("e-still-acceptable", s, now - 1),
            // As a server of the previous version records them: prune_after 0.
            used("f-old-server-acceptable", s + 60, 0),
        ];
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(consume_batch(&mut conn, &batch).await.unwrap(), [true; 6]);
        assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 2);
        assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 1);
        assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 0);
        assert_eq!(
            remaining(store.pool()).await,
            [
                "d-prune-time-not-reached",
                "e-still-acceptable",
                "f-old-server-acceptable"
            ]
        );
        // Until pruned, a used id stays used.
        let again = consume_batch(&mut conn, &batch[3..]).await.unwrap();
        assert_eq!(again, [false; 3]);
    }

    #[tokio::test]
    async fn ids_used_before_the_upgrade_are_kept_until_they_expire() {
        // The database as the previous version left it: every migration before 0005.
        let (_dir, old, url) = crate::store::sqlite_migrated_before("0005").await;
        let now: Millis = crate::time_util::now_millis();
        sqlx::query(
            "INSERT INTO assertion_jtis (client_id, jti, expires_at) \
             VALUES ('c', 'expired', $1), ('c', 'live', $2)",
        )
        .bind(now / 1000 - 1)
        .bind(now / 1000 + 60)
        .execute(&old)
        .await
        .unwrap();
        old.close().await;

        let store = crate::store::Store::connect(&url).await.unwrap();
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(prune(&mut conn, now, 100).await.unwrap(), 1);
        assert_eq!(remaining(store.pool()).await, ["live"]);
        let replay = used("live", 0, 0);
        assert_eq!(consume_batch(&mut conn, &[replay]).await.unwrap(), [false]);
    }
}
