//! The audit log (`GET /api/v2/logs`): token endpoint successes and failures, Auth0-style.

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Conn, StoreError, corrupt, push_values, sql};
pub use crate::domain::log::{LogEvent, LogFilter as Filter};
use crate::domain::paging::Page;
use crate::time_util::Millis;

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

/// Rows per statement: 12 parameters each stays far below SQLite's and PostgreSQL's limits.
const ROWS_PER_INSERT: usize = 64;

/// Writes a batch in one transaction, many rows per statement (one round trip per statement
/// matters on PostgreSQL, where each costs both processes CPU on the same cores).
pub async fn insert_batch(conn: &mut Conn, events: &[LogEvent]) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let mut text = format!("INSERT INTO logs ({COLUMNS}) VALUES ");
        push_values(&mut text, &tx, chunk.len(), 12);
        let mut query = sqlx::query(sql(text));
        for e in chunk {
            query = query
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
                .bind(e.details.to_string());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
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

/// The date of the newest event beyond the `keep` newest, if there are more than `keep`:
/// pruning what is older keeps the log at about `keep` events (those that share that
/// millisecond stay too).
pub async fn date_beyond(pool: &AnyPool, keep: u64) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query("SELECT date FROM logs ORDER BY date DESC, seq DESC LIMIT 1 OFFSET $1")
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get("date")).transpose()?)
}

/// Deletes up to `batch` events older than `before`; returns how many.
pub async fn prune(conn: &mut Conn, before: Millis, batch: i64) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE date < $1 LIMIT $2)")
            .bind(before)
            .bind(batch)
            .execute(conn)
            .await?;
    crate::metrics::pruned(crate::metrics::Pruned::AuditEvents, done.rows_affected());
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> LogEvent {
        LogEvent {
            id: format!("log-{n:04}"),
            seq: n,
            date: 1_700_000_000_000 + n,
            kind: if n % 2 == 0 { "seccft" } else { "feccft" }.into(),
            description: "d".into(),
            client_id: Some(format!("client-{}", n % 3)),
            client_name: None,
            audience: Some("https://api.example/".into()),
            scope: None,
            ip: Some("127.0.0.1".into()),
            user_agent: None,
            details: serde_json::json!({"n": n}),
        }
    }

    #[tokio::test]
    async fn a_batch_larger_than_one_statement_is_written_whole_and_read_newest_first() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let events: Vec<LogEvent> = (0..150).map(event).collect();
        insert_batch(&mut store.acquire().await.unwrap(), &events)
            .await
            .unwrap();

        let all = Filter::default();
        assert_eq!(count(store.pool(), &all).await.unwrap(), 150);
        let first = list(store.pool(), &all, Page::parse(Some(0), Some(2)).unwrap())
            .await
            .unwrap();
        assert_eq!(first, vec![events[149].clone(), events[148].clone()]);
        let failures = Filter {
            kind: Some("feccft".into()),
            client_id: Some("client-1".into()),
        };
        // Odd n with n % 3 == 1: 1, 7, 13, ... below 150.
        assert_eq!(count(store.pool(), &failures).await.unwrap(), 25);
        assert_eq!(
            get(store.pool(), "log-0077").await.unwrap(),
            Some(events[77].clone())
        );
    }
}
