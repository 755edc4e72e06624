//! The `client_grants` table. Grants point at the API by id; the audience shown is the API's
//! identifier, joined in.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::conditions::Conditions;
use super::{Conn, StoreError, conflict_on_unique, corrupt, sql};
use crate::domain::grant::ClientGrant;
pub use crate::domain::grant::GrantFilter as Filter;
use crate::domain::paging::Page;
use crate::time_util::Millis;

const SELECT: &str = "SELECT g.id, g.client_id, rs.identifier AS audience, g.scope \
    FROM client_grants g JOIN resource_servers rs ON rs.id = g.resource_server_id";

fn from_row(r: &AnyRow) -> Result<ClientGrant, StoreError> {
    Ok(ClientGrant {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        audience: r.try_get("audience")?,
        scope: serde_json::from_str(&r.try_get::<String, _>("scope")?)
            .map_err(|e| corrupt("grant scope", e))?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    grant: &ClientGrant,
    resource_server_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_grants (id, client_id, resource_server_id, scope, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&grant.id)
    .bind(&grant.client_id)
    .bind(resource_server_id)
    .bind(serde_json::to_string(&grant.scope).expect("scopes serialise"))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        conflict_on_unique(e, || {
            format!(
                "A client grant for client {:?} and audience {:?} already exists",
                grant.client_id, grant.audience
            )
        })
    })?;
    Ok(())
}

/// Inserts unless the client already has a grant for that API; `true` when this call did.
pub async fn insert_if_absent(
    conn: &mut Conn,
    grant: &ClientGrant,
    resource_server_id: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO client_grants (id, client_id, resource_server_id, scope, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id, resource_server_id) DO NOTHING",
    )
    .bind(&grant.id)
    .bind(&grant.client_id)
    .bind(resource_server_id)
    .bind(serde_json::to_string(&grant.scope).expect("scopes serialise"))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the scopes of the client's grant for that API, whatever they were.
pub async fn set_scope_for(
    conn: &mut Conn,
    client_id: &str,
    resource_server_id: &str,
    scope: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE client_grants SET scope = $3 WHERE client_id = $1 AND resource_server_id = $2",
    )
    .bind(client_id)
    .bind(resource_server_id)
    .bind(serde_json::to_string(scope).expect("scopes serialise"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ClientGrant>, StoreError> {
    let row = sqlx::query(sql(format!("{SELECT} WHERE g.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The filter as SQL conditions, values bound.
fn conditions(filter: &Filter) -> Conditions {
    let mut c = Conditions::default();
    if filter.nothing {
        c.push("1 = 0".into());
    }
    if let Some(audience) = &filter.audience {
        c.any_of("rs.identifier", std::slice::from_ref(audience));
    }
    if let Some(client_id) = &filter.client_id {
        c.any_of("g.client_id", std::slice::from_ref(client_id));
    }
    c
}

pub async fn list(
    conn: &mut Conn,
    filter: &Filter,
    page: Page,
) -> Result<Vec<ClientGrant>, StoreError> {
    let mut c = conditions(filter);
    let limit = c.int(page.per_page);
    let offset = c.int(page.offset());
    let text = format!(
        "{SELECT} {} ORDER BY g.created_at, g.id LIMIT {limit} OFFSET {offset}",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Where a grant stands in the listing order (for checkpoint paging), if it exists.
pub async fn position_of(conn: &mut Conn, id: &str) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query("SELECT created_at FROM client_grants WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("created_at")).transpose()?)
}

/// Up to `take` grants the filter matches that come after the grant `(created_at, id)` in
/// the listing order (from the first without one).
pub async fn list_after(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<(Millis, &str)>,
    take: i64,
) -> Result<Vec<ClientGrant>, StoreError> {
    let mut c = conditions(filter);
    if let Some((created_at, id)) = after {
        let (at, at_again, id) = (c.int(created_at), c.int(created_at), c.text(id));
        c.push(format!(
            "(g.created_at > {at} OR (g.created_at = {at_again} AND g.id > {id}))"
        ));
    }
    let limit = c.int(take);
    let text = format!(
        "{SELECT} {} ORDER BY g.created_at, g.id LIMIT {limit}",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(conn: &mut Conn, filter: &Filter) -> Result<i64, StoreError> {
    let c = conditions(filter);
    let text = format!(
        "SELECT COUNT(*) AS n FROM client_grants g \
         JOIN resource_servers rs ON rs.id = g.resource_server_id {}",
        c.where_sql()
    );
    Ok(c.bind(sqlx::query(sql(text)))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?)
}

pub async fn update_scope(conn: &mut Conn, id: &str, scope: &[String]) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE client_grants SET scope = $2 WHERE id = $1")
        .bind(id)
        .bind(serde_json::to_string(scope).expect("scopes serialise"))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the grant's row lock until the transaction ends (see `crate::store` on locking);
/// `false` when there is no such grant.
pub async fn lock_for_update(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE client_grants SET scope = scope WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM client_grants WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What the token endpoint needs about one audience for one client, in one query: the API's
/// lifetime and scopes, and the client's grant if it has one.
pub struct TokenGrant {
    pub token_lifetime: i64,
    pub api_scopes: Vec<String>,
    pub granted: Option<Vec<String>>,
    pub signing_alg: crate::domain::resource_server::AccessTokenAlg,
    pub signing_secret: Option<crate::crypto::secret::Secret>,
    pub token_dialect: crate::domain::resource_server::TokenDialect,
}

pub async fn for_token(
    conn: &mut Conn,
    key: &crate::crypto::sealing::MasterKey,
    client_id: &str,
    audience: &str,
) -> Result<Option<TokenGrant>, StoreError> {
    use super::resource_servers::{open_secret, parse_alg, parse_dialect};
    let row = sqlx::query(
        "SELECT rs.token_lifetime, rs.scopes, g.scope, rs.id, rs.signing_alg, \
         rs.signing_secret, rs.token_dialect FROM resource_servers rs \
         LEFT JOIN client_grants g ON g.resource_server_id = rs.id AND g.client_id = $1 \
         WHERE rs.identifier = $2",
    )
    .bind(client_id)
    .bind(audience)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let defs: Vec<crate::domain::resource_server::ScopeDefinition> =
        serde_json::from_str(&r.try_get::<String, _>(1)?).map_err(|e| corrupt("scopes", e))?;
    let granted = r
        .try_get::<Option<String>, _>(2)?
        .map(|s| serde_json::from_str(&s).map_err(|e| corrupt("grant scope", e)))
        .transpose()?;
    let id: String = r.try_get(3)?;
    Ok(Some(TokenGrant {
        token_lifetime: r.try_get(0)?,
        api_scopes: defs.into_iter().map(|d| d.value).collect(),
        granted,
        signing_alg: parse_alg(&r.try_get::<String, _>(4)?)?,
        signing_secret: open_secret(key, &id, r.try_get(5)?)?,
        token_dialect: parse_dialect(&r.try_get::<String, _>(6)?)?,
    }))
}
