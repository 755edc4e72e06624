//! The `admins` table: dashboard administrators, their password hash and failed sign-in count.

use sqlx::Row;

use super::{Conn, StoreError};
use crate::time_util::Millis;

#[derive(Debug, Clone)]
pub struct AdminRow {
    pub email: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<Millis>,
}

pub async fn get(conn: &mut Conn, email: &str) -> Result<Option<AdminRow>, StoreError> {
    let row = sqlx::query(
        "SELECT email, password_hash, failed_logins, locked_until FROM admins WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(AdminRow {
            email: r.try_get("email")?,
            password_hash: r.try_get("password_hash")?,
            failed_logins: r.try_get("failed_logins")?,
            locked_until: r.try_get("locked_until")?,
        })
    })
    .transpose()
}

/// Inserts unless the email exists; `true` when this call created the administrator.
pub async fn insert_if_absent(
    conn: &mut Conn,
    email: &str,
    password_hash: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO admins (email, password_hash, failed_logins, locked_until, created_at, \
         updated_at) VALUES ($1, $2, 0, NULL, $3, $3) ON CONFLICT DO NOTHING",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the password (and lifts any lockout): the configured password always wins.
pub async fn set_password(
    conn: &mut Conn,
    email: &str,
    password_hash: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admins (email, password_hash, failed_logins, locked_until, created_at, \
         updated_at) VALUES ($1, $2, 0, NULL, $3, $3) \
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, \
         failed_logins = 0, locked_until = NULL, updated_at = excluded.updated_at",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts one more failure atomically (concurrent guesses cannot lose increments) and returns
/// the new count.
pub async fn count_failure(conn: &mut Conn, email: &str) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "UPDATE admins SET failed_logins = failed_logins + 1 WHERE email = $1 \
         RETURNING failed_logins",
    )
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("failed_logins")?,
        None => 0,
    })
}

/// Locks sign-ins until `until` and starts counting afresh.
pub async fn lock(conn: &mut Conn, email: &str, until: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE admins SET failed_logins = 0, locked_until = $2 WHERE email = $1")
        .bind(email)
        .bind(until)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn clear_failures(conn: &mut Conn, email: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE admins SET failed_logins = 0, locked_until = NULL WHERE email = $1")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
