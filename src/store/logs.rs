//! The audit log (`GET /api/v2/logs`): token endpoint successes and failures, Auth0-style.

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, corrupt, sql};
use crate::domain::paging::Page;
use crate::time_util::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub id: String,
    /// Orders events of one instance that share a millisecond.
    pub seq: i64,
    pub date: Millis,
    pub kind: String,
    pub description: String,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

const COLUMNS: &str = "id, seq, date, type, description, client_id, client_name, audience, scope, \
    ip, user_agent, details";

fn from_row(r: &AnyRow) -> Result<LogEvent, StoreError> {
    Ok(LogEvent {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        date: r.try_get("date")?,
        kind: r.try_get("type")?,
        description: r.try_get("description")?,
        client_id: r.try_get("client_id")?,
        client_name: r.try_get("client_name")?,
        audience: r.try_get("audience")?,
        scope: r.try_get("scope")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        details: serde_json::from_str(&r.try_get::<String, _>("details")?)
            .map_err(|e| corrupt("log details", e))?,
    })
}

/// Writes a batch in one transaction.
pub async fn insert_batch(pool: &AnyPool, events: &[LogEvent]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for e in events {
        sqlx::query(sql(format!(
            "INSERT INTO logs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )))
        .bind(&e.id)
        .bind(e.seq)
        .bind(e.date)
        .bind(&e.kind)
        .bind(&e.description)
        .bind(e.client_id.as_deref())
        .bind(e.client_name.as_deref())
        .bind(e.audience.as_deref())
        .bind(e.scope.as_deref())
        .bind(e.ip.as_deref())
        .bind(e.user_agent.as_deref())
        .bind(e.details.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub kind: Option<String>,
    pub client_id: Option<String>,
}

const FILTER: &str = "WHERE ($1 IS NULL OR type = $1) AND ($2 IS NULL OR client_id = $2)";

/// Newest first.
pub async fn list(
    pool: &AnyPool,
    filter: &Filter,
    page: Page,
) -> Result<Vec<LogEvent>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM logs {FILTER} ORDER BY date DESC, seq DESC, id DESC LIMIT $3 OFFSET $4"
    )))
    .bind(filter.kind.as_deref())
    .bind(filter.client_id.as_deref())
    .bind(page.per_page)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(pool: &AnyPool, filter: &Filter) -> Result<i64, StoreError> {
    Ok(
        sqlx::query(sql(format!("SELECT COUNT(*) AS n FROM logs {FILTER}")))
            .bind(filter.kind.as_deref())
            .bind(filter.client_id.as_deref())
            .fetch_one(pool)
            .await?
            .try_get("n")?,
    )
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<LogEvent>, StoreError> {
    let row = sqlx::query(sql(format!("SELECT {COLUMNS} FROM logs WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes up to `batch` events older than `before`; returns how many.
pub async fn prune(pool: &AnyPool, before: Millis, batch: i64) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE date < $1 LIMIT $2)")
            .bind(before)
            .bind(batch)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}
