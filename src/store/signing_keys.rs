//! The tenant's signing keys, private halves sealed under the master key (BEHAVIOUR A.10).
//! Every change of state happens in one transaction that first takes the change counter's row
//! lock, so two rotations (or a rotation and a revocation) on any instances run one after the
//! other, on both databases.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Conn, StoreError, corrupt};
use crate::domain::signing_key::{KeyState, SigningKeyInfo};
use crate::time_util::Millis;

const COLUMNS: &str =
    "kid, private_key, is_current, is_next, cert, current_since, current_until, revoked_at";

pub struct StoredKey {
    pub sealed_private_key: String,
    pub info: SigningKeyInfo,
}

/// The role a newly stored key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewRole {
    Current,
    Next,
}

fn state_of(r: &AnyRow) -> Result<KeyState, StoreError> {
    let flag = |column: &str| -> Result<bool, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(column)?.is_some())
    };
    Ok(if r.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
        KeyState::Revoked
    } else if flag("is_current")? {
        KeyState::Current
    } else if flag("is_next")? {
        KeyState::Next
    } else {
        KeyState::Previous
    })
}

fn from_row(r: &AnyRow) -> Result<StoredKey, StoreError> {
    let kid: String = r.try_get("kid")?;
    Ok(StoredKey {
        sealed_private_key: r.try_get("private_key")?,
        info: SigningKeyInfo {
            state: state_of(r)?,
            cert_pem: r.try_get::<Option<String>, _>("cert")?.unwrap_or_default(),
            current_since: r.try_get("current_since")?,
            current_until: r.try_get("current_until")?,
            revoked_at: r.try_get("revoked_at")?,
            kid,
        },
    })
}

/// Stores a key in `role` unless a key already holds it (two servers starting at once both
/// generate keys; exactly one wins each role). `true` when this key took the role.
pub async fn insert_if_vacant(
    conn: &mut Conn,
    kid: &str,
    sealed_private_key: &str,
    cert_pem: &str,
    role: NewRole,
    now: Millis,
) -> Result<bool, StoreError> {
    let (is_current, is_next, current_since) = match role {
        NewRole::Current => (Some(1i64), None, Some(now)),
        NewRole::Next => (None, Some(1i64), None),
    };
    let done = sqlx::query(
        "INSERT INTO signing_keys \
         (kid, private_key, is_current, is_next, cert, current_since, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(kid)
    .bind(sealed_private_key)
    .bind(is_current)
    .bind(is_next)
    .bind(cert_pem)
    .bind(current_since)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a key stored before keys had certificates its certificate (once; a concurrent start
/// that got there first wins).
pub async fn set_cert_if_missing(
    conn: &mut Conn,
    kid: &str,
    cert_pem: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE signing_keys SET cert = $1 WHERE kid = $2 AND cert IS NULL")
        .bind(cert_pem)
        .bind(kid)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every key, revoked ones included: current, next, then previous and revoked keys, the most
/// recently current first.
pub async fn all(conn: &mut Conn) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(super::sql(format!(
        "SELECT {COLUMNS} FROM signing_keys \
         ORDER BY is_current IS NULL, is_next IS NULL, revoked_at IS NOT NULL, \
         current_until DESC, created_at DESC, kid"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut Conn, kid: &str) -> Result<Option<StoredKey>, StoreError> {
    let row = sqlx::query(super::sql(format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE kid = $1"
    )))
    .bind(kid)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Takes the lock every key change holds until its transaction ends (see the module doc).
pub async fn lock(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("UPDATE change_counter SET version = version + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// In a transaction holding [`lock`]: the current key becomes previous, the next key current,
/// and `new_next` the next key. Returns the kid of the key that was current.
pub async fn rotate(
    conn: &mut Conn,
    new_kid: &str,
    sealed_private_key: &str,
    cert_pem: &str,
    now: Millis,
) -> Result<String, StoreError> {
    let previous: String = sqlx::query(
        "UPDATE signing_keys SET is_current = NULL, current_until = $1 WHERE is_current = 1 \
         RETURNING kid",
    )
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| corrupt("signing keys", "no current key"))?
    .try_get("kid")?;
    let promoted = sqlx::query(
        "UPDATE signing_keys SET is_next = NULL, is_current = 1, current_since = $1 \
         WHERE is_next = 1",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if promoted.rows_affected() != 1 {
        return Err(corrupt("signing keys", "no next key"));
    }
    if !insert_if_vacant(
        conn,
        new_kid,
        sealed_private_key,
        cert_pem,
        NewRole::Next,
        now,
    )
    .await?
    {
        return Err(corrupt("signing keys", "the next key's place was taken"));
    }
    Ok(previous)
}

/// In a transaction holding [`lock`]: marks a previous key revoked and wipes its private half,
/// so that it can never sign again, whatever happens later.
pub async fn revoke(conn: &mut Conn, kid: &str, now: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE signing_keys SET revoked_at = $1, private_key = '' \
         WHERE kid = $2 AND revoked_at IS NULL AND is_current IS NULL AND is_next IS NULL",
    )
    .bind(now)
    .bind(kid)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
