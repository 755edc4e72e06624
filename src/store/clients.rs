//! The `clients` table. Client secrets are sealed under the master key on the way in and opened
//! on the way out, bound to their client id.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::conditions::Conditions;
use super::{Conn, StoreError, conflict_on_unique, corrupt, sql};
use crate::crypto::sealing::MasterKey;
use crate::crypto::secret::Secret;
use crate::domain::client::{AppType, Client, ClientFilter, TokenEndpointAuthMethod};
use crate::domain::paging::Page;
use crate::time_util::Millis;

const COLUMNS: &str = "client_id, name, description, app_type, is_first_party, \
    token_endpoint_auth_method, grant_types, jwt_configuration, client_metadata, client_secret, \
    created_at, updated_at, token_quota";
const VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13";

fn secret_context(client_id: &str) -> String {
    format!("client_secret:{client_id}")
}

fn from_row(key: &MasterKey, r: &AnyRow) -> Result<Client, StoreError> {
    let client_id: String = r.try_get("client_id")?;
    let app_type: String = r.try_get("app_type")?;
    let method: Option<String> = r.try_get("token_endpoint_auth_method")?;
    let sealed: String = r.try_get("client_secret")?;
    let secret = key
        .open(&sealed, &secret_context(&client_id))
        .map_err(|e| corrupt("client secret", e))?;
    let secret = String::from_utf8(secret).map_err(|e| corrupt("client secret", e))?;
    Ok(Client {
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        app_type: AppType::parse(&app_type).ok_or_else(|| corrupt("app_type", &app_type))?,
        is_first_party: r.try_get::<i64, _>("is_first_party")? != 0,
        token_endpoint_auth_method: method
            .map(|m| TokenEndpointAuthMethod::parse(&m).ok_or_else(|| corrupt("auth method", m)))
            .transpose()?,
        grant_types: serde_json::from_str(&r.try_get::<String, _>("grant_types")?)
            .map_err(|e| corrupt("grant_types", e))?,
        jwt_configuration: serde_json::from_str(&r.try_get::<String, _>("jwt_configuration")?)
            .map_err(|e| corrupt("jwt_configuration", e))?,
        client_metadata: serde_json::from_str(&r.try_get::<String, _>("client_metadata")?)
            .map_err(|e| corrupt("client_metadata", e))?,
        token_quota: r
            .try_get::<Option<String>, _>("token_quota")?
            .map(|q| serde_json::from_str(&q).map_err(|e| corrupt("token_quota", e)))
            .transpose()?,
        secret: Secret::new(secret),
        credential_ids: Vec::new(),
        federated_credential_ids: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        client_id,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises to JSON")
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds every column, in `COLUMNS` order.
fn bind_row<'q>(query: AnyQuery<'q>, key: &MasterKey, c: &'q Client) -> AnyQuery<'q> {
    query
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.app_type.as_str())
        .bind(i64::from(c.is_first_party))
        .bind(c.token_endpoint_auth_method.map(|m| m.as_str()))
        .bind(json(&c.grant_types))
        .bind(json(&c.jwt_configuration))
        .bind(json(&c.client_metadata))
        .bind(key.seal(c.secret.expose().as_bytes(), &secret_context(&c.client_id)))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.token_quota.as_ref().map(json))
}

pub async fn insert(conn: &mut Conn, key: &MasterKey, c: &Client) -> Result<(), StoreError> {
    let text = sql(format!("INSERT INTO clients ({COLUMNS}) VALUES ({VALUES})"));
    bind_row(sqlx::query(text), key, c)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            conflict_on_unique(e, || {
                format!("a client with id {:?} already exists", c.client_id)
            })
        })?;
    Ok(())
}

/// Inserts unless a client with that id exists; `true` when this call created it.
pub async fn insert_if_absent(
    conn: &mut Conn,
    key: &MasterKey,
    c: &Client,
) -> Result<bool, StoreError> {
    let text = sql(format!(
        "INSERT INTO clients ({COLUMNS}) VALUES ({VALUES}) ON CONFLICT (client_id) DO NOTHING"
    ));
    let done = bind_row(sqlx::query(text), key, c)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes every mutable field of `c` (the id and creation time never change). Callers hold
/// the row's lock (see `crate::store` on locking).
pub async fn update(conn: &mut Conn, key: &MasterKey, c: &Client) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE clients SET name = $2, description = $3, app_type = $4, is_first_party = $5, \
         token_endpoint_auth_method = $6, grant_types = $7, jwt_configuration = $8, \
         client_metadata = $9, client_secret = $10, updated_at = $11, token_quota = $12 \
         WHERE client_id = $1",
    )
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.app_type.as_str())
    .bind(i64::from(c.is_first_party))
    .bind(c.token_endpoint_auth_method.map(|m| m.as_str()))
    .bind(json(&c.grant_types))
    .bind(json(&c.jwt_configuration))
    .bind(json(&c.client_metadata))
    .bind(key.seal(c.secret.expose().as_bytes(), &secret_context(&c.client_id)))
    .bind(c.updated_at)
    .bind(c.token_quota.as_ref().map(json))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(
    conn: &mut Conn,
    key: &MasterKey,
    client_id: &str,
) -> Result<Option<Client>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM clients WHERE client_id = $1"
    )))
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut client = from_row(key, &row)?;
    (client.credential_ids, client.federated_credential_ids) =
        super::credentials::associated_ids(conn, client_id).await?;
    Ok(Some(client))
}

/// The filter as SQL conditions, values bound.
fn conditions(filter: &ClientFilter) -> Conditions {
    let mut c = Conditions::default();
    if filter.nothing {
        c.push("1 = 0".into());
    }
    if let Some(types) = &filter.app_types {
        c.any_of("app_type", types);
    }
    if let Some(first_party) = filter.is_first_party {
        let p = c.int(i64::from(first_party));
        c.push(format!("is_first_party = {p}"));
    }
    c
}

pub async fn list(
    conn: &mut Conn,
    key: &MasterKey,
    filter: &ClientFilter,
    page: Page,
) -> Result<Vec<Client>, StoreError> {
    let mut c = conditions(filter);
    let limit = c.int(page.per_page);
    let offset = c.int(page.offset());
    let text = format!(
        "SELECT {COLUMNS} FROM clients {} ORDER BY created_at, client_id \
         LIMIT {limit} OFFSET {offset}",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(&mut *conn).await?;
    let mut clients = rows
        .iter()
        .map(|r| from_row(key, r))
        .collect::<Result<Vec<_>, _>>()?;
    for c in &mut clients {
        (c.credential_ids, c.federated_credential_ids) =
            super::credentials::associated_ids(conn, &c.client_id).await?;
    }
    Ok(clients)
}

pub async fn count(conn: &mut Conn, filter: &ClientFilter) -> Result<i64, StoreError> {
    let c = conditions(filter);
    let text = format!("SELECT COUNT(*) AS n FROM clients {}", c.where_sql());
    Ok(c.bind(sqlx::query(sql(text)))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?)
}

pub async fn delete(conn: &mut Conn, client_id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the client's row lock until the transaction ends and bumps `updated_at`; `false` when
/// the client does not exist. Every read-modify-write of a client or of what hangs off it
/// (credentials, the per-client limits) starts with this (see `crate::store` on locking).
pub async fn lock_for_update(
    conn: &mut Conn,
    client_id: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE clients SET updated_at = $2 WHERE client_id = $1")
        .bind(client_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
