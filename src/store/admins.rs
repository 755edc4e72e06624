//! The `admins` table: dashboard administrators and their password hash. (Sign-in attempts are
//! counted in `signin_attempts`, for every email; the table's old counting columns are kept
//! only for servers of an earlier version during an upgrade.)

use sqlx::Row;

use super::{Conn, StoreError};
use crate::time_util::Millis;

#[derive(Debug, Clone)]
pub struct AdminRow {
    pub email: String,
    pub password_hash: String,
}

pub async fn get(conn: &mut Conn, email: &str) -> Result<Option<AdminRow>, StoreError> {
    let row = sqlx::query("SELECT email, password_hash FROM admins WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(AdminRow {
            email: r.try_get("email")?,
            password_hash: r.try_get("password_hash")?,
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
