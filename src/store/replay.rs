//! Used assertion ids (SPEC B.6): `(client_id, jti)` recorded atomically, shared by every server
//! instance through the database, kept until the assertion could no longer be accepted anyway.

use sqlx::AnyPool;

use super::StoreError;

/// Records the jti; `false` when it was already used (a replay). One atomic statement: with many
/// concurrent requests carrying the same assertion exactly one insert wins.
pub async fn consume(
    pool: &AnyPool,
    client_id: &str,
    jti: &str,
    keep_until: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(client_id)
    .bind(jti)
    .bind(keep_until)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes up to `batch` entries that expired before `now` (unix seconds); returns how many.
pub async fn prune(pool: &AnyPool, now: i64, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM assertion_jtis WHERE (client_id, jti) IN \
         (SELECT client_id, jti FROM assertion_jtis WHERE expires_at < $1 LIMIT $2)",
    )
    .bind(now)
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub async fn count(pool: &AnyPool) -> Result<i64, StoreError> {
    use sqlx::Row;
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM assertion_jtis")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}
