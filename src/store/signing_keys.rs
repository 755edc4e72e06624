//! The tenant's signing keys, private halves sealed under the master key.

use sqlx::Row;

use super::{Conn, StoreError};
use crate::time_util::Millis;

pub struct StoredKey {
    pub kid: String,
    pub sealed_private_key: String,
    pub is_current: bool,
}

/// Stores `kid` as the current key unless another current key exists (two servers starting at
/// once both generate a key; exactly one wins). `true` when this key became current.
pub async fn insert_current_if_none(
    conn: &mut Conn,
    kid: &str,
    sealed_private_key: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, is_current, created_at) \
         VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING",
    )
    .bind(kid)
    .bind(sealed_private_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every stored key, the current one first.
pub async fn all(conn: &mut Conn) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, private_key, is_current FROM signing_keys \
         ORDER BY is_current IS NULL, created_at DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredKey {
                kid: r.try_get("kid")?,
                sealed_private_key: r.try_get("private_key")?,
                is_current: r.try_get::<Option<i64>, _>("is_current")?.is_some(),
            })
        })
        .collect()
}
