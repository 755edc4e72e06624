//! The `token_quota_usage` table: tokens issued per application and UTC hour or day, summed
//! over every server instance, each adding what it issued with one atomic statement.

use sqlx::Row;

use super::{Conn, StoreError};
use crate::domain::token_quota::Bucket;
use crate::time_util::Millis;

/// Adds `issued` (possibly 0) to the window's count and returns the new total.
pub async fn add(
    conn: &mut Conn,
    client_id: &str,
    bucket: Bucket,
    window_start: Millis,
    issued: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO token_quota_usage (client_id, bucket, window_start, used) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (client_id, bucket, window_start) \
         DO UPDATE SET used = token_quota_usage.used + excluded.used \
         RETURNING used",
    )
    .bind(client_id)
    .bind(bucket.as_str())
    .bind(window_start)
    .bind(issued)
    .fetch_one(&mut *conn)
    .await?
    .try_get("used")?)
}

/// Deletes up to `batch` counts of windows that started before `before`; returns how many.
pub async fn prune(conn: &mut Conn, before: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM token_quota_usage WHERE (client_id, bucket, window_start) IN \
         (SELECT client_id, bucket, window_start FROM token_quota_usage \
          WHERE window_start < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_add_up_per_window_and_old_windows_are_pruned() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(add(&mut conn, "c", Bucket::PerHour, 0, 3).await.unwrap(), 3);
        assert_eq!(add(&mut conn, "c", Bucket::PerHour, 0, 2).await.unwrap(), 5);
        assert_eq!(add(&mut conn, "c", Bucket::PerHour, 0, 0).await.unwrap(), 5);
        assert_eq!(add(&mut conn, "c", Bucket::PerDay, 0, 1).await.unwrap(), 1);
        assert_eq!(
            add(&mut conn, "c", Bucket::PerHour, 3_600_000, 1)
                .await
                .unwrap(),
            1
        );
        assert_eq!(prune(&mut conn, 3_600_000, 10).await.unwrap(), 2);
        assert_eq!(add(&mut conn, "c", Bucket::PerHour, 0, 0).await.unwrap(), 0);
    }
}
