//! The `admin_sessions` table: dashboard sessions, found by the hash of their token.

use sqlx::Row;

use super::{Conn, StoreError};
use crate::time_util::Millis;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_hash: String,
    pub email: String,
    pub expires_at: Millis,
}

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    email: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(email)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
    let row = sqlx::query(
        "SELECT token_hash, email, expires_at FROM admin_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            token_hash: r.try_get("token_hash")?,
            email: r.try_get("email")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_for(conn: &mut Conn, email: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM admin_sessions WHERE email = $1")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes up to `batch` sessions that expired before `now`.
pub async fn prune(conn: &mut Conn, now: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM admin_sessions WHERE token_hash IN \
         (SELECT token_hash FROM admin_sessions WHERE expires_at <= $1 LIMIT $2)",
    )
    .bind(now)
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
