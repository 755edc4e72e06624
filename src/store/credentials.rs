//! The `credentials` table: an application's public keys and which of them are associated
//! (enabled for Private Key JWT).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Conn, StoreError, conflict_on_unique, corrupt, sql};
use crate::domain::credential::{AssertionAlg, Credential};
use crate::time_util::Millis;

const COLUMNS: &str = "id, client_id, name, kid, alg, public_key, thumbprint, expires_at, \
    associated, created_at, updated_at, last_used_at";

fn from_row(r: &AnyRow) -> Result<Credential, StoreError> {
    let alg: String = r.try_get("alg")?;
    Ok(Credential {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        kid: r.try_get("kid")?,
        alg: AssertionAlg::parse(&alg).ok_or_else(|| corrupt("credential alg", &alg))?,
        public_key: STANDARD
            .decode(r.try_get::<String, _>("public_key")?)
            .map_err(|e| corrupt("credential public key", e))?,
        thumbprint: r.try_get("thumbprint")?,
        expires_at: r.try_get("expires_at")?,
        associated: r.try_get::<i64, _>("associated")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

pub async fn insert(conn: &mut Conn, c: &Credential) -> Result<(), StoreError> {
    sqlx::query(sql(format!(
        "INSERT INTO credentials ({COLUMNS}, credential_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'public_key')"
    )))
    .bind(&c.id)
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(&c.kid)
    .bind(c.alg.as_str())
    .bind(STANDARD.encode(&c.public_key))
    .bind(&c.thumbprint)
    .bind(c.expires_at)
    .bind(i64::from(c.associated))
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.last_used_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        conflict_on_unique(e, || {
            "This public key or kid is already registered for this application".into()
        })
    })?;
    Ok(())
}

pub async fn list(conn: &mut Conn, client_id: &str) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM credentials WHERE client_id = $1 ORDER BY created_at, id"
    )))
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(
    conn: &mut Conn,
    client_id: &str,
    id: &str,
) -> Result<Option<Credential>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM credentials WHERE client_id = $1 AND id = $2"
    )))
    .bind(client_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Ids of the client's associated credentials, oldest first.
pub async fn associated_ids(conn: &mut Conn, client_id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM credentials WHERE client_id = $1 AND associated = 1 ORDER BY created_at, id",
    )
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Makes exactly `ids` the client's associated credentials.
pub async fn set_associated(
    conn: &mut Conn,
    client_id: &str,
    ids: &[String],
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE credentials SET associated = 0, updated_at = $2 WHERE client_id = $1 AND associated = 1",
    )
    .bind(client_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for id in ids {
        sqlx::query(
            "UPDATE credentials SET associated = 1, updated_at = $3 WHERE client_id = $1 AND id = $2",
        )
        .bind(client_id)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn set_expires_at(
    conn: &mut Conn,
    client_id: &str,
    id: &str,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE credentials SET expires_at = $3, updated_at = $4 WHERE client_id = $1 AND id = $2",
    )
    .bind(client_id)
    .bind(id)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, client_id: &str, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM credentials WHERE client_id = $1 AND id = $2")
        .bind(client_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records when a credential last authenticated. Not a change of tenant data: caches stay valid.
pub async fn set_last_used(pool: &sqlx::AnyPool, id: &str, at: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE credentials SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The client's associated credentials, for the token endpoint.
pub async fn associated(conn: &mut Conn, client_id: &str) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM credentials WHERE client_id = $1 AND associated = 1 ORDER BY created_at, id"
    )))
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}
