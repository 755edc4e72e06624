//! Used assertion ids on SQLite (BEHAVIOUR B.6): appended in the order of use to a log that has
//! no key but its sequence. Each server checks ids in its memory (`oauth::replay`); the log
//! carries them across a restart, and to the other servers on the same file, which read what
//! was appended since they last looked in the same write transaction that appends their own.
//! New rows go at the end of the table's one B-tree and pruning takes them from its start, so a
//! batch of ids dirties a page or two, where a table keyed by the random ids dirtied one each.

use std::sync::LazyLock;

use sqlx::Row;

use super::replay::UsedJti;
use super::{Conn, PaddedStatements, StoreError};
use crate::time_util::Millis;

/// A row of the log: the id it was appended under, and what was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: i64,
    pub used: UsedJti,
}

/// Up to `limit` rows appended after `after`, in order.
///
/// The limit is written into the statement, not bound: SQLite compiles a bound `LIMIT` for the
/// value it first saw and recompiles the statement each time its parameters are bound again,
/// and this runs in every batch of the replay guard. The server reads with one limit, so the
/// statement is compiled once.
pub async fn read_after(
    conn: &mut Conn,
    after: i64,
    limit: u16,
) -> Result<Vec<Logged>, StoreError> {
    read(conn, "", after, limit).await
}

/// Opens a write transaction (`BEGIN IMMEDIATE`: the write lock, held to the commit) and reads
/// as [`read_after`] does, in one round trip to sqlx's SQLite thread. sqlx does not track this
/// transaction: [`append_and_commit`] ends it, and a caller that fails before must close the
/// connection, which rolls it back (`Store::with_writer` does).
pub async fn begin_and_read_after(
    conn: &mut Conn,
    after: i64,
    limit: u16,
) -> Result<Vec<Logged>, StoreError> {
    read(conn, "BEGIN IMMEDIATE; ", after, limit).await
}

async fn read(
    conn: &mut Conn,
    before: &str,
    after: i64,
    limit: u16,
) -> Result<Vec<Logged>, StoreError> {
    let rows = sqlx::query(super::sql(format!(
        "{before}SELECT id, client_id, jti, expires_at, prune_after FROM assertion_jti_log \
         WHERE id > ? ORDER BY id LIMIT {limit}"
    )))
    .bind(after)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Logged {
                seq: row.try_get(0)?,
                used: UsedJti {
                    client_id: row.try_get(1)?,
                    jti: row.try_get(2)?,
                    keep_until: row.try_get(3)?,
                    prune_after: row.try_get(4)?,
                },
            })
        })
        .collect()
}

/// SQLite's text for a chunk of a batch (see [`super::padded_chunks`]): the rows' `INSERT`, and
/// then the id the last of them was given and how many were written, read in the same round
/// trip; for the last chunk of [`append_and_commit`], then `COMMIT`. The ids of one `INSERT` are
/// consecutive and ascending (the log's `AUTOINCREMENT`, one writer at a time), so the last is
/// the highest.
fn inserts(then: &'static str) -> PaddedStatements {
    PaddedStatements::new(|rows| {
        let insert = super::padded_insert(
            "assertion_jti_log (client_id, jti, expires_at, prune_after)",
            "column1, column2, column3, column4",
            rows,
            4,
        );
        format!("{insert}; SELECT last_insert_rowid(), changes(){then}")
    })
}

static INSERTS: LazyLock<PaddedStatements> = LazyLock::new(|| inserts(""));
static INSERTS_THEN_COMMIT: LazyLock<PaddedStatements> = LazyLock::new(|| inserts("; COMMIT"));

/// Appends `batch`, in a statement list per 64 ids, and commits the transaction
/// [`begin_and_read_after`] opened, the `COMMIT` in the last chunk's round trip; returns the
/// highest id it was given (`None` for an empty batch). The caller has checked that none of
/// them was used. A last chunk whose count comes back wrong is reported after its commit: its
/// ids then stay used and their requests are refused, never the other way round.
pub async fn append_and_commit(
    conn: &mut Conn,
    batch: &[&UsedJti],
) -> Result<Option<i64>, StoreError> {
    if batch.is_empty() {
        sqlx::Executor::execute(&mut *conn, "COMMIT").await?;
        return Ok(None);
    }
    let mut highest = None;
    for (chunk, text) in INSERTS.chunks_ending_with(&INSERTS_THEN_COMMIT, batch) {
        let mut query = sqlx::query(text);
        for used in chunk {
            query = query
                .bind(&used.client_id)
                .bind(&used.jti)
                .bind(used.keep_until)
                .bind(used.prune_after);
        }
        // All of it: a statement left unfinished would still be open at the commit.
        let rows = query.fetch_all(&mut *conn).await?;
        let row = rows
            .first()
            .ok_or_else(|| super::corrupt("used assertion ids", "no id read back"))?;
        let (last, written): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if usize::try_from(written).ok() != Some(chunk.len()) {
            return Err(super::corrupt(
                "used assertion ids",
                format!("{written} of {} ids written", chunk.len()),
            ));
        }
        highest = highest.max(Some(last));
    }
    Ok(highest)
}

/// Deletes, among the `batch` oldest rows, those past both their `prune_after` and their
/// `expires_at` at `now`; returns how many. Only the start of the log is read: rows are
/// appended in about the order they may be pruned, so what is prunable is there.
pub async fn prune(conn: &mut Conn, now: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM assertion_jti_log WHERE id IN \
         (SELECT id FROM (SELECT id, expires_at, prune_after FROM assertion_jti_log \
                          ORDER BY id LIMIT $3) \
          WHERE prune_after < $1 AND expires_at < $2)",
    )
    .bind(now)
    .bind(now.div_euclid(1000))
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Rows in the log.
pub async fn count(pool: &sqlx::AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM assertion_jti_log")
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

    /// Appends as the replay guard does: in the write transaction that reads first.
    async fn append(conn: &mut Conn, batch: &[&UsedJti]) -> Result<Option<i64>, StoreError> {
        begin_and_read_after(conn, i64::MAX, 1).await?;
        append_and_commit(conn, batch).await
    }

    async fn remaining(conn: &mut Conn) -> Vec<String> {
        read_after(conn, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.used.jti)
            .collect()
    }

    #[tokio::test]
    async fn rows_are_read_back_in_order_from_where_a_reader_left_off() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(append(&mut conn, &[]).await.unwrap(), None);
        let first = append(&mut conn, &[&used("a", 1, 2), &used("b", 3, 4)])
            .await
            .unwrap()
            .unwrap();
        let second = append(&mut conn, &[&used("c", 5, 6)])
            .await
            .unwrap()
            .unwrap();
        assert!(second > first);
        let all = read_after(&mut conn, 0, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|l| &l.used).cloned().collect::<Vec<_>>(),
            [used("a", 1, 2), used("b", 3, 4), used("c", 5, 6)]
        );
        assert_eq!(all[1].seq, first);
        let after_first = read_after(&mut conn, first, 10).await.unwrap();
        assert_eq!(after_first.len(), 1);
        assert_eq!(after_first[0].seq, second);
        assert_eq!(read_after(&mut conn, 0, 2).await.unwrap().len(), 2);
        assert!(read_after(&mut conn, second, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn batches_of_every_padded_size_are_appended_whole_with_their_highest_id() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        let mut expected = Vec::new();
        let mut last_seen = 0;
        // Below, at and above each statement size, across statements, and fewer rows after
        // more in each statement: nothing of a larger chunk may stay bound.
        for n in [1, 7, 8, 9, 63, 64, 65, 130, 9] {
            let batch: Vec<UsedJti> = (0..n)
                .map(|i| used(&format!("{n}-{i}"), i, i * 10))
                .collect();
            let highest = append(&mut conn, &batch.iter().collect::<Vec<_>>())
                .await
                .unwrap()
                .unwrap();
            let appended = read_after(&mut conn, last_seen, 4096).await.unwrap();
            assert_eq!(
                appended.iter().map(|l| l.used.clone()).collect::<Vec<_>>(),
                batch,
                "a batch of {n}"
            );
            assert_eq!(appended.last().unwrap().seq, highest, "a batch of {n}");
            last_seen = highest;
            expected.extend(batch);
        }
        assert_eq!(count(store.pool()).await.unwrap(), expected.len() as i64);
    }

    #[tokio::test]
    async fn ids_are_never_handed_out_twice_even_once_the_log_was_pruned_empty() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        let now: Millis = 1_800_000_000_000;
        let last = append(&mut conn, &[&used("a", 0, 0), &used("b", 0, 0)])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prune(&mut conn, now, 10).await.unwrap(), 2);
        assert_eq!(count(store.pool()).await.unwrap(), 0);
        // A reader that had read up to `last` still finds the next row.
        let next = append(&mut conn, &[&used("c", 0, 0)])
            .await
            .unwrap()
            .unwrap();
        assert!(next > last);
        assert_eq!(read_after(&mut conn, last, 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn pruning_drops_only_rows_past_both_bounds_from_the_start_of_the_log() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let now: Millis = 1_800_000_000_000;
        let s = now / 1000;
        let mut conn = store.acquire().await.unwrap();
        append(
            &mut conn,
            &[
                &used("a-gone", s - 1, now - 1),
                &used("b-prune-time-not-reached", s - 1, now),
                &used("c-still-acceptable", s, now - 1),
                &used("d-gone", s - 5, now - 1000),
                &used("e-gone", s - 1, now - 1),
                &used("f-gone-but-beyond-the-first-five", s - 1, now - 1),
            ],
        )
        .await
        .unwrap();
        assert_eq!(prune(&mut conn, now, 5).await.unwrap(), 3);
        assert_eq!(
            remaining(&mut conn).await,
            [
                "b-prune-time-not-reached",
                "c-still-acceptable",
                "f-gone-but-beyond-the-first-five"
            ]
        );
        assert_eq!(prune(&mut conn, now, 5).await.unwrap(), 1);
        assert_eq!(prune(&mut conn, now, 5).await.unwrap(), 0);
        assert_eq!(count(store.pool()).await.unwrap(), 2);
    }
}
