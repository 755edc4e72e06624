//! The audit log (`GET /api/v2/logs`): token endpoint successes and failures, Auth0-style.

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::conditions::Conditions;
use super::{Conn, StoreError, corrupt, push_values, sql};
pub use crate::domain::log::{LogEvent, LogFilter as Filter, LogOrder};
use crate::domain::log_query::Condition;
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

/// Rows per statement: 13 parameters each stays far below SQLite's and PostgreSQL's limits.
const ROWS_PER_INSERT: usize = 64;

/// Writes a batch in one transaction, many rows per statement (one round trip per statement
/// matters on PostgreSQL, where each costs both processes CPU on the same cores).
///
/// **Checkpoint order.** Each event also gets an `ordinal`, the order in which events became
/// readable, which checkpoint paging (`from`/`take`) follows. The batch takes its ordinals
/// from the one-row counter `log_ordinals` *inside its transaction*, by an `UPDATE` that
/// holds the row's lock until commit. A second writer (another server instance on one
/// PostgreSQL) therefore waits at that `UPDATE` until the first has committed, and only then
/// takes higher ordinals: ordinals are handed out in commit order. So once any event is
/// readable, every event with a lower ordinal is readable too, and a reader that resumes after
/// the highest ordinal it saw can never miss one committed later (a sequence would not do: its
/// values are taken at insert time, and two transactions may commit in the other order).
/// SQLite has one writer at a time anyway; the same statement serves both.
pub async fn insert_batch(conn: &mut Conn, events: &[LogEvent]) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let last: i64 =
        sqlx::query("UPDATE log_ordinals SET issued = issued + $1 WHERE id = 1 RETURNING issued")
            .bind(count)
            .fetch_one(&mut *tx)
            .await?
            .try_get("issued")?;
    let mut ordinal = last - count;
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let mut text = format!("INSERT INTO logs ({COLUMNS}, ordinal) VALUES ");
        push_values(&mut text, &tx, chunk.len(), 13);
        let mut query = sqlx::query(sql(text));
        for e in chunk {
            ordinal += 1;
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
                .bind(e.details.to_string())
                .bind(ordinal);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The filter as SQL conditions, values bound.
fn conditions(filter: &Filter) -> Conditions {
    let mut c = Conditions::default();
    if let Some(kind) = &filter.kind {
        c.any_of("type", std::slice::from_ref(kind));
    }
    if let Some(client_id) = &filter.client_id {
        c.any_of("client_id", std::slice::from_ref(client_id));
    }
    for condition in &filter.query.conditions {
        match condition {
            Condition::Text { field, any_of } => c.any_of(field.column(), any_of),
            Condition::Date { since, before } => {
                if let Some(since) = since {
                    let p = c.int(*since);
                    c.push(format!("date >= {p}"));
                }
                if let Some(before) = before {
                    let p = c.int(*before);
                    c.push(format!("date < {p}"));
                }
            }
        }
    }
    c
}

/// A page of the events the filter matches, by date in `order`.
pub async fn list(
    pool: &AnyPool,
    filter: &Filter,
    order: LogOrder,
    page: Page,
) -> Result<Vec<LogEvent>, StoreError> {
    let mut c = conditions(filter);
    let direction = match order {
        LogOrder::NewestFirst => "DESC",
        LogOrder::OldestFirst => "ASC",
    };
    let limit = c.int(page.per_page);
    let offset = c.int(page.offset());
    let text = format!(
        "SELECT {COLUMNS} FROM logs {} ORDER BY date {direction}, seq {direction}, \
         id {direction} LIMIT {limit} OFFSET {offset}",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(pool: &AnyPool, filter: &Filter) -> Result<i64, StoreError> {
    let c = conditions(filter);
    let text = format!("SELECT COUNT(*) AS n FROM logs {}", c.where_sql());
    Ok(c.bind(sqlx::query(sql(text)))
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}

/// The checkpoint order of an event (see [`insert_batch`]), if it exists.
pub async fn ordinal_of(pool: &AnyPool, id: &str) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT ordinal FROM logs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get("ordinal")).transpose()?)
}

/// Up to `take` events that became readable after the one at `ordinal` (0: from the oldest
/// kept), in that order.
pub async fn after(pool: &AnyPool, ordinal: i64, take: i64) -> Result<Vec<LogEvent>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM logs WHERE ordinal > $1 ORDER BY ordinal LIMIT $2"
    )))
    .bind(ordinal)
    .bind(take)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
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
        let first = list(
            store.pool(),
            &all,
            LogOrder::NewestFirst,
            Page::parse(Some(0), Some(2)).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(first, vec![events[149].clone(), events[148].clone()]);
        let failures = Filter {
            kind: Some("feccft".into()),
            client_id: Some("client-1".into()),
            ..Filter::default()
        };
        // Odd n with n % 3 == 1: 1, 7, 13, ... below 150.
        assert_eq!(count(store.pool(), &failures).await.unwrap(), 25);
        assert_eq!(
            get(store.pool(), "log-0077").await.unwrap(),
            Some(events[77].clone())
        );
    }
}
