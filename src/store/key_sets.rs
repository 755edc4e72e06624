//! The `key_sets` table: for each `jwks_uri` credential, the last good set fetched and how the
//! last fetch went. Writes here are not changes of tenant data: no cache is invalidated.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Conn, StoreError, corrupt};
use crate::time_util::Millis;

/// A credential's fetch state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKeySet {
    pub credential_id: String,
    /// The last good set as served; `None` before the first good fetch, or after a set was
    /// refused for holding a private key.
    pub body: Option<String>,
    pub kids: Vec<String>,
    pub fetched_at: Option<Millis>,
    pub fresh_until: Option<Millis>,
    pub attempted_at: Millis,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
}

const COLUMNS: &str =
    "credential_id, body, kids, fetched_at, fresh_until, attempted_at, last_error, last_error_at";

fn from_row(r: &AnyRow) -> Result<StoredKeySet, StoreError> {
    let kids: Option<String> = r.try_get("kids")?;
    Ok(StoredKeySet {
        credential_id: r.try_get("credential_id")?,
        body: r.try_get("body")?,
        kids: match kids {
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("key set kids", e))?,
            None => Vec::new(),
        },
        fetched_at: r.try_get("fetched_at")?,
        fresh_until: r.try_get("fresh_until")?,
        attempted_at: r.try_get("attempted_at")?,
        last_error: r.try_get("last_error")?,
        last_error_at: r.try_get("last_error_at")?,
    })
}

pub async fn get(conn: &mut Conn, credential_id: &str) -> Result<Option<StoredKeySet>, StoreError> {
    let row = sqlx::query(super::sql(format!(
        "SELECT {COLUMNS} FROM key_sets WHERE credential_id = $1"
    )))
    .bind(credential_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every fetch state of one application's credentials.
pub async fn for_client(conn: &mut Conn, client_id: &str) -> Result<Vec<StoredKeySet>, StoreError> {
    let rows = sqlx::query(super::sql(format!(
        "SELECT {COLUMNS} FROM key_sets WHERE credential_id IN \
         (SELECT id FROM credentials WHERE client_id = $1)"
    )))
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Writes the whole state. A credential deleted meanwhile leaves nothing behind: the insert
/// finds no credential row and writes nothing.
pub async fn save(pool: &sqlx::AnyPool, s: &StoredKeySet) -> Result<(), StoreError> {
    let kids = serde_json::to_string(&s.kids).map_err(|e| corrupt("key set kids", e))?;
    sqlx::query(
        "INSERT INTO key_sets (credential_id, body, kids, fetched_at, fresh_until, attempted_at, \
         last_error, last_error_at) \
         SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM credentials WHERE id = $1 \
         ON CONFLICT (credential_id) DO UPDATE SET body = excluded.body, kids = excluded.kids, \
         fetched_at = excluded.fetched_at, fresh_until = excluded.fresh_until, \
         attempted_at = excluded.attempted_at, last_error = excluded.last_error, \
         last_error_at = excluded.last_error_at",
    )
    .bind(&s.credential_id)
    .bind(&s.body)
    .bind(kids)
    .bind(s.fetched_at)
    .bind(s.fresh_until)
    .bind(s.attempted_at)
    .bind(&s.last_error)
    .bind(s.last_error_at)
    .execute(pool)
    .await?;
    Ok(())
}
