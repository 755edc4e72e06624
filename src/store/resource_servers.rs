//! The `resource_servers` table (APIs), including the built-in Management API row.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::conditions::Conditions;
use super::{Conn, StoreError, conflict_on_unique, corrupt, sql};
use crate::crypto::sealing::MasterKey;
use crate::crypto::secret::Secret;
use crate::domain::paging::Page;
use crate::domain::resource_server::{
    AccessTokenAlg, ResourceServer, ResourceServerFilter, TokenDialect,
};

const COLUMNS: &str = "id, identifier, name, scopes, signing_alg, signing_secret, token_dialect, \
     token_lifetime, is_system, created_at, updated_at";

/// HS256 secrets are sealed under the master key, bound to their API.
fn secret_context(id: &str) -> String {
    format!("signing_secret:{id}")
}

fn seal_secret(key: &MasterKey, rs: &ResourceServer) -> Option<String> {
    rs.signing_secret
        .as_ref()
        .map(|s| key.seal(s.expose().as_bytes(), &secret_context(&rs.id)))
}

/// Opens an API's sealed HS256 secret, if it has one.
pub fn open_secret(
    key: &MasterKey,
    id: &str,
    sealed: Option<String>,
) -> Result<Option<Secret>, StoreError> {
    sealed
        .map(|sealed| {
            let bytes = key
                .open(&sealed, &secret_context(id))
                .map_err(|e| corrupt("signing secret", e))?;
            String::from_utf8(bytes)
                .map(Secret::new)
                .map_err(|e| corrupt("signing secret", e))
        })
        .transpose()
}

pub fn parse_alg(text: &str) -> Result<AccessTokenAlg, StoreError> {
    AccessTokenAlg::parse(text).map_err(|e| corrupt("signing_alg", e))
}

pub fn parse_dialect(text: &str) -> Result<TokenDialect, StoreError> {
    TokenDialect::parse(text).map_err(|e| corrupt("token_dialect", e))
}

fn from_row(r: &AnyRow, key: &MasterKey) -> Result<ResourceServer, StoreError> {
    let id: String = r.try_get("id")?;
    Ok(ResourceServer {
        signing_secret: open_secret(key, &id, r.try_get("signing_secret")?)?,
        id,
        identifier: r.try_get("identifier")?,
        name: r.try_get("name")?,
        scopes: serde_json::from_str(&r.try_get::<String, _>("scopes")?)
            .map_err(|e| corrupt("scopes", e))?,
        signing_alg: parse_alg(&r.try_get::<String, _>("signing_alg")?)?,
        token_dialect: parse_dialect(&r.try_get::<String, _>("token_dialect")?)?,
        token_lifetime: r.try_get("token_lifetime")?,
        is_system: r.try_get::<Option<i64>, _>("is_system")?.is_some(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn duplicate(identifier: &str) -> String {
    format!("A resource server with the same identifier already exists: {identifier}")
}

pub async fn insert(
    conn: &mut Conn,
    key: &MasterKey,
    rs: &ResourceServer,
) -> Result<(), StoreError> {
    sqlx::query(sql(format!(
        "INSERT INTO resource_servers ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(&rs.id)
    .bind(&rs.identifier)
    .bind(&rs.name)
    .bind(serde_json::to_string(&rs.scopes).expect("scopes serialise"))
    .bind(rs.signing_alg.as_str())
    .bind(seal_secret(key, rs))
    .bind(rs.token_dialect.as_str())
    .bind(rs.token_lifetime)
    .bind(rs.is_system.then_some(1i64))
    .bind(rs.created_at)
    .bind(rs.updated_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| conflict_on_unique(e, || duplicate(&rs.identifier)))?;
    Ok(())
}

/// Inserts the Management API row unless one exists, then brings its identifier and scopes up to
/// date (the issuer or this version's scope list may have changed since the last start).
pub async fn ensure_system(conn: &mut Conn, rs: &ResourceServer) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO resource_servers (id, identifier, name, scopes, signing_alg, \
         token_lifetime, is_system, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&rs.id)
    .bind(&rs.identifier)
    .bind(&rs.name)
    .bind(serde_json::to_string(&rs.scopes).expect("scopes serialise"))
    .bind(rs.signing_alg.as_str())
    .bind(rs.token_lifetime)
    .bind(rs.created_at)
    .bind(rs.updated_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| conflict_on_unique(e, || duplicate(&rs.identifier)))?;
    sqlx::query(
        "UPDATE resource_servers SET identifier = $1, scopes = $2 WHERE is_system = 1 \
         AND (identifier <> $1 OR scopes <> $2)",
    )
    .bind(&rs.identifier)
    .bind(serde_json::to_string(&rs.scopes).expect("scopes serialise"))
    .execute(&mut *conn)
    .await
    .map_err(|e| conflict_on_unique(e, || duplicate(&rs.identifier)))?;
    Ok(())
}

pub async fn get(
    conn: &mut Conn,
    key: &MasterKey,
    id: &str,
) -> Result<Option<ResourceServer>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM resource_servers WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| from_row(r, key)).transpose()
}

pub async fn get_by_identifier(
    conn: &mut Conn,
    key: &MasterKey,
    identifier: &str,
) -> Result<Option<ResourceServer>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM resource_servers WHERE identifier = $1"
    )))
    .bind(identifier)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| from_row(r, key)).transpose()
}

pub async fn get_system(
    conn: &mut Conn,
    key: &MasterKey,
) -> Result<Option<ResourceServer>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM resource_servers WHERE is_system = 1"
    )))
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| from_row(r, key)).transpose()
}

/// The filter as SQL conditions, values bound.
fn conditions(filter: &ResourceServerFilter) -> Conditions {
    let mut c = Conditions::default();
    if let Some(identifiers) = &filter.identifiers {
        c.any_of("identifier", identifiers);
    }
    c
}

pub async fn list(
    conn: &mut Conn,
    key: &MasterKey,
    filter: &ResourceServerFilter,
    page: Page,
) -> Result<Vec<ResourceServer>, StoreError> {
    let mut c = conditions(filter);
    let limit = c.int(page.per_page);
    let offset = c.int(page.offset());
    let text = format!(
        "SELECT {COLUMNS} FROM resource_servers {} ORDER BY is_system IS NULL, created_at, id \
         LIMIT {limit} OFFSET {offset}",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| from_row(r, key)).collect()
}

pub async fn count(conn: &mut Conn, filter: &ResourceServerFilter) -> Result<i64, StoreError> {
    let c = conditions(filter);
    let text = format!(
        "SELECT COUNT(*) AS n FROM resource_servers {}",
        c.where_sql()
    );
    Ok(c.bind(sqlx::query(sql(text)))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?)
}

/// Writes the mutable fields (`name`, `scopes`, `signing_alg`, `signing_secret`,
/// `token_dialect`, `token_lifetime`).
pub async fn update(
    conn: &mut Conn,
    key: &MasterKey,
    rs: &ResourceServer,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE resource_servers SET name = $2, scopes = $3, signing_alg = $4, \
         signing_secret = $5, token_dialect = $6, token_lifetime = $7, updated_at = $8 \
         WHERE id = $1",
    )
    .bind(&rs.id)
    .bind(&rs.name)
    .bind(serde_json::to_string(&rs.scopes).expect("scopes serialise"))
    .bind(rs.signing_alg.as_str())
    .bind(seal_secret(key, rs))
    .bind(rs.token_dialect.as_str())
    .bind(rs.token_lifetime)
    .bind(rs.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the API's row lock until the transaction ends (see `crate::store` on locking); `false`
/// when there is no such API.
pub async fn lock_for_update(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE resource_servers SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM resource_servers WHERE id = $1 AND is_system IS NULL")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
