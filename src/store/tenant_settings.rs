//! Small named values that belong to the tenant (e.g. which client is the bootstrap client).

use sqlx::Row;

use super::{Conn, StoreError};

pub async fn get(conn: &mut Conn, name: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM tenant_settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

/// Inserts unless the name exists; `true` when this call wrote it.
pub async fn insert_if_absent(
    conn: &mut Conn,
    name: &str,
    value: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO tenant_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts or replaces.
pub async fn set(conn: &mut Conn, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenant_settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, name: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM tenant_settings WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const DEFAULT_CLIENT_QUOTA: &str = "default_token_quota.clients.client_credentials";

/// The tenant's default token quota for applications without one of their own.
pub async fn default_client_quota(
    conn: &mut Conn,
) -> Result<Option<crate::domain::token_quota::TokenQuota>, StoreError> {
    get(conn, DEFAULT_CLIENT_QUOTA)
        .await?
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| super::corrupt("default token quota", e))
        })
        .transpose()
}

pub async fn set_default_client_quota(
    conn: &mut Conn,
    quota: Option<&crate::domain::token_quota::TokenQuota>,
) -> Result<(), StoreError> {
    match quota {
        Some(q) => {
            let text = serde_json::to_string(q).expect("a quota serialises");
            set(conn, DEFAULT_CLIENT_QUOTA, &text).await
        }
        None => delete(conn, DEFAULT_CLIENT_QUOTA).await,
    }
}
