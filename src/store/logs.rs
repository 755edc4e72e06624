//! The audit log (`GET /api/v2/logs`): token endpoint successes and failures, Auth0-style.

use std::sync::LazyLock;

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::conditions::Conditions;
use super::{
    Conn, PaddedStatements, StoreError, corrupt, padded_insert, postgres_int_array,
    postgres_text_array, sql,
};
pub use crate::domain::log::{HourCount, LogEvent, LogFilter as Filter, LogOrder, ReasonCount};
use crate::domain::log::{LogIdForm, UNDATED_ID_LEN};
use crate::domain::log_query::{Condition, TextField};
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

/// Writes a batch atomically.
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
/// SQLite has one writer at a time anyway; the same order holds there.
///
/// Each event's id must carry its date ([`crate::domain::log::event_id`]): lookups by id go
/// by that date (see [`id_condition`]), so a batch with an event whose id does not is refused
/// whole, before anything is written.
pub async fn insert_batch(conn: &mut Conn, events: &[LogEvent]) -> Result<(), StoreError> {
    if let Some(e) = events
        .iter()
        .find(|e| LogIdForm::of(&e.id) != LogIdForm::Dated(e.date))
    {
        return Err(StoreError::Refused(format!(
            "audit event {:?} of date {}: its id does not carry its date",
            e.id, e.date
        )));
    }
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        insert_batch_as_rows(conn, events).await
    } else {
        insert_batch_as_arrays(conn, events).await
    }
}

/// SQLite's text for a chunk of a batch: the counter's `UPDATE` and the rows' `INSERT` as one
/// statement list, so that one round trip to sqlx's SQLite thread writes the chunk (see
/// [`super::padded_chunks`]). The rows take the ordinals the `UPDATE` has just handed out: the
/// first two parameters are both the chunk's row count, and each row's 14th value is its place
/// in the chunk, from 1.
static SQLITE_INSERTS: LazyLock<PaddedStatements> = LazyLock::new(|| {
    PaddedStatements::new(|rows| {
        let insert = padded_insert(
            &format!("logs ({COLUMNS}, reason, ordinal)"),
            "column1, column2, column3, column4, column5, column6, column7, column8, column9, \
             column10, column11, column12, column13, \
             (SELECT issued FROM log_ordinals WHERE id = 1) - ? + column14",
            rows,
            14,
        );
        format!("UPDATE log_ordinals SET issued = issued + ? WHERE id = 1; {insert}")
    })
});

/// SQLite: one transaction, one statement list per 64 events. A whole batch as one JSON
/// parameter was measured here too: a little faster, but the server's largest resident memory
/// at HS256 rates went from 85 to 113 MB with it (README, "What the two durable writes cost").
async fn insert_batch_as_rows(conn: &mut Conn, events: &[LogEvent]) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    for (chunk, text) in SQLITE_INSERTS.chunks(events) {
        let count = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        let mut query = sqlx::query(text).bind(count).bind(count);
        for (place, e) in (1..).zip(chunk) {
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
                .bind(e.details_json())
                .bind(e.reason())
                .bind(place);
        }
        // The counter's row and each event's.
        let written = query.execute(&mut *tx).await?.rows_affected();
        if written != 1 + chunk.len() as u64 {
            return Err(corrupt(
                "log ordinals",
                format!("{written} rows written for {count} events and their counter"),
            ));
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The whole batch and its ordinals in one statement and one round trip, the same text for
/// every batch size, each column as one array: PostgreSQL runs in other processes on the same
/// cores, each statement of a transaction costs both sides a round trip, and each new text a
/// parse and a plan. The `UPDATE` in the `WITH` holds the counter's row lock until this
/// statement commits, as the transaction's did. Measured against the statements this replaced
/// (README, "PostgreSQL: one statement per background write"): signet does about 15 % less of
/// its own work per token and PostgreSQL, which now parses the array literals, a few µs more;
/// one JSON parameter read with `json_to_recordset` cost PostgreSQL about 8 µs more still.
const INSERT_ARRAYS: &str = "WITH counter AS (\
    UPDATE log_ordinals SET issued = issued + $14 WHERE id = 1 RETURNING issued) \
    INSERT INTO logs (id, seq, date, type, description, client_id, client_name, audience, scope, \
    ip, user_agent, details, reason, ordinal) \
    SELECT e.id, e.seq, e.date, e.type, e.description, e.client_id, e.client_name, e.audience, \
    e.scope, e.ip, e.user_agent, e.details, e.reason, counter.issued - $14 + e.n \
    FROM counter, unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], \
    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
    $13::text[]) WITH ORDINALITY AS e(id, seq, date, type, description, client_id, client_name, \
    audience, scope, ip, user_agent, details, reason, n)";

async fn insert_batch_as_arrays(conn: &mut Conn, events: &[LogEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let text = |field: fn(&LogEvent) -> Option<&str>| postgres_text_array(events.iter().map(field));
    let details: Vec<String> = events.iter().map(|e| e.details_json()).collect();
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let written = sqlx::query(INSERT_ARRAYS)
        .bind(text(|e| Some(&e.id)))
        .bind(postgres_int_array(events.iter().map(|e| e.seq)))
        .bind(postgres_int_array(events.iter().map(|e| e.date)))
        .bind(text(|e| Some(&e.kind)))
        .bind(text(|e| Some(&e.description)))
        .bind(text(|e| e.client_id.as_deref()))
        .bind(text(|e| e.client_name.as_deref()))
        .bind(text(|e| e.audience.as_deref()))
        .bind(text(|e| e.scope.as_deref()))
        .bind(text(|e| e.ip.as_deref()))
        .bind(text(|e| e.user_agent.as_deref()))
        .bind(postgres_text_array(
            details.iter().map(|d| Some(d.as_str())),
        ))
        .bind(text(LogEvent::reason))
        .bind(count)
        .execute(conn)
        .await?
        .rows_affected();
    // Without its counter row the join is empty and nothing is written: say so.
    if written != events.len() as u64 {
        return Err(corrupt(
            "log ordinals",
            format!("{written} of {count} events written"),
        ));
    }
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
    if let Some(reason) = &filter.reason {
        c.any_of("reason", std::slice::from_ref(reason));
    }
    window(&mut c, filter.since, filter.until);
    for condition in &filter.query.conditions {
        match condition {
            Condition::Text {
                field: TextField::LogId,
                any_of,
            } => {
                let found: Vec<String> = any_of
                    .iter()
                    .filter_map(|id| id_condition(&mut c, id))
                    .collect();
                c.push(if found.is_empty() {
                    "1 = 0".into()
                } else {
                    format!("({})", found.join(" OR "))
                });
            }
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

/// `since <= date < until`, each end when given.
fn window(c: &mut Conditions, since: Option<Millis>, until: Option<Millis>) {
    if let Some(since) = since {
        let p = c.int(since);
        c.push(format!("date >= {p}"));
    }
    if let Some(until) = until {
        let p = c.int(until);
        c.push(format!("date < {p}"));
    }
}

/// The conditions of the charts' counts: events of `kinds` in `[since, until)`, of one client
/// when given.
fn counted(kinds: &[String], client_id: Option<&str>, since: Millis, until: Millis) -> Conditions {
    let mut c = Conditions::default();
    c.any_of("type", kinds);
    if let Some(client_id) = client_id {
        c.any_of("client_id", &[client_id.to_owned()]);
    }
    window(&mut c, Some(since), Some(until));
    c
}

/// How many events of each of `kinds` each UTC hour in `[since, until)` held (hours without
/// any are left out). One grouped query; integer division is the same on both databases.
pub async fn count_by_hour(
    pool: &AnyPool,
    kinds: &[String],
    client_id: Option<&str>,
    since: Millis,
    until: Millis,
) -> Result<Vec<HourCount>, StoreError> {
    let c = counted(kinds, client_id, since, until);
    let text = format!(
        "SELECT date / 3600000 AS hour, type, COUNT(*) AS n FROM logs {} \
         GROUP BY date / 3600000, type ORDER BY hour, type",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(HourCount {
                hour: r.try_get("hour")?,
                kind: r.try_get("type")?,
                count: r.try_get("n")?,
            })
        })
        .collect()
}

/// How many events of each of `kinds` had each reason in `[since, until)`, most first.
pub async fn count_by_reason(
    pool: &AnyPool,
    kinds: &[String],
    client_id: Option<&str>,
    since: Millis,
    until: Millis,
) -> Result<Vec<ReasonCount>, StoreError> {
    let c = counted(kinds, client_id, since, until);
    let text = format!(
        "SELECT type, reason, COUNT(*) AS n FROM logs {} \
         GROUP BY type, reason ORDER BY n DESC, type, reason",
        c.where_sql()
    );
    let rows = c.bind(sqlx::query(sql(text))).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(ReasonCount {
                kind: r.try_get("type")?,
                reason: r.try_get("reason")?,
                count: r.try_get("n")?,
            })
        })
        .collect()
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

/// The condition that finds the event `id`, its values bound to `c`; `None` when no event can
/// have that id. Neither database is asked for an id alone: neither keeps an index of ids
/// (migrations 0013), so an id that carries its date is found by the date's index, and one from
/// before ids did by the index kept of those alone (the same length test in the query lets the
/// database use that partial index).
fn id_condition(c: &mut Conditions, id: &str) -> Option<String> {
    match LogIdForm::of(id) {
        LogIdForm::Dated(date) => {
            let date = c.int(date);
            let id = c.text(id);
            Some(format!("(date = {date} AND id = {id})"))
        }
        LogIdForm::Undated => {
            let id = c.text(id);
            Some(format!("(length(id) = {UNDATED_ID_LEN} AND id = {id})"))
        }
        LogIdForm::Foreign => None,
    }
}

/// The event `id`'s `columns`, if it exists.
async fn by_id(pool: &AnyPool, columns: &str, id: &str) -> Result<Option<AnyRow>, StoreError> {
    let mut c = Conditions::default();
    let Some(found) = id_condition(&mut c, id) else {
        return Ok(None);
    };
    c.push(found);
    let text = format!("SELECT {columns} FROM logs {}", c.where_sql());
    Ok(c.bind(sqlx::query(sql(text))).fetch_optional(pool).await?)
}

/// The checkpoint order of an event (see [`insert_batch`]), if it exists.
pub async fn ordinal_of(pool: &AnyPool, id: &str) -> Result<Option<i64>, StoreError> {
    let row = by_id(pool, "ordinal", id).await?;
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
    by_id(pool, COLUMNS, id)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
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

/// Deletes up to `batch` events older than `before`; returns how many. By ordinal: SQLite's
/// rowid, and a unique index on PostgreSQL.
pub async fn prune(conn: &mut Conn, before: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM logs WHERE ordinal IN (SELECT ordinal FROM logs WHERE date < $1 LIMIT $2)",
    )
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

    /// The `n`th event, of date `date` (its id carries it, as every event's does).
    fn dated(n: i64, date: Millis) -> LogEvent {
        LogEvent {
            id: crate::domain::log::event_id(date, &format!("{n:016}")),
            seq: n,
            date,
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

    fn event(n: i64) -> LogEvent {
        dated(n, 1_700_000_000_000 + n)
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
            get(store.pool(), &events[77].id).await.unwrap(),
            Some(events[77].clone())
        );
    }

    #[tokio::test]
    async fn batches_of_every_padded_size_take_consecutive_ordinals_in_order() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        let mut written = Vec::new();
        // Below, at and above each statement size, and across three statements.
        for n in [1, 8, 9, 64, 65, 150] {
            let batch: Vec<LogEvent> = (0..n).map(|i| event(written.len() as i64 + i)).collect();
            insert_batch(&mut conn, &batch).await.unwrap();
            written.extend(batch);
        }
        let read = after(store.pool(), 0, 1000).await.unwrap();
        assert_eq!(read, written);
        for (ordinal, event) in (1..).zip(&written) {
            assert_eq!(
                ordinal_of(store.pool(), &event.id).await.unwrap(),
                Some(ordinal)
            );
        }
    }

    fn failure(n: i64, date: Millis, details: serde_json::Value) -> LogEvent {
        LogEvent {
            kind: "feccft".into(),
            details,
            ..dated(n, date)
        }
    }

    #[tokio::test]
    async fn the_reason_is_stored_filtered_on_and_counted_by_hour() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        const H: Millis = 3_600_000;
        let base = 1_796_083_200_000; // a midnight, UTC
        let events = vec![
            failure(
                1,
                base,
                serde_json::json!({"error": "invalid_client",
                    "client_authentication_error": {"code": "aud_mismatch"}}),
            ),
            failure(
                2,
                base + H - 1,
                serde_json::json!({"error": "access_denied"}),
            ),
            failure(3, base + H, serde_json::json!({"repeats": {"count": 5}})),
            LogEvent {
                kind: "seccft".into(),
                ..dated(4, base + H + 1)
            },
        ];
        insert_batch(&mut store.acquire().await.unwrap(), &events)
            .await
            .unwrap();
        let n = |filter: Filter| {
            let pool = store.pool().clone();
            async move { count(&pool, &filter).await.unwrap() }
        };
        let reason = |r: &str| Filter {
            reason: Some(r.into()),
            ..Filter::default()
        };
        assert_eq!(n(reason("aud_mismatch")).await, 1);
        assert_eq!(n(reason("access_denied")).await, 1);
        assert_eq!(n(reason("invalid_client")).await, 0);
        let window = |since, until| Filter {
            since,
            until,
            ..Filter::default()
        };
        assert_eq!(n(window(Some(base + H), None)).await, 2);
        assert_eq!(n(window(None, Some(base + H))).await, 2);
        assert_eq!(n(window(Some(base), Some(base + 1))).await, 1);

        let kinds = ["seccft".to_owned(), "feccft".to_owned()];
        let hours = count_by_hour(store.pool(), &kinds, None, base, base + 2 * H)
            .await
            .unwrap();
        let hour = |h: i64, kind: &str, count: i64| HourCount {
            hour: base / H + h,
            kind: kind.into(),
            count,
        };
        assert_eq!(
            hours,
            [
                hour(0, "feccft", 2),
                hour(1, "feccft", 1),
                hour(1, "seccft", 1)
            ]
        );
        // The window's end is excluded, and one client's counts are its own.
        let before = count_by_hour(store.pool(), &kinds, None, base, base + H)
            .await
            .unwrap();
        assert_eq!(before, [hour(0, "feccft", 2)]);
        let client = count_by_hour(store.pool(), &kinds, Some("client-1"), base, base + 2 * H)
            .await
            .unwrap();
        assert_eq!(client, [hour(0, "feccft", 1), hour(1, "seccft", 1)]);

        let reasons = count_by_reason(store.pool(), &kinds, None, base, base + 2 * H)
            .await
            .unwrap();
        let by = |kind: &str, reason: Option<&str>| {
            reasons
                .iter()
                .find(|r| r.kind == kind && r.reason.as_deref() == reason)
                .map(|r| r.count)
        };
        assert_eq!(by("feccft", Some("aud_mismatch")), Some(1));
        assert_eq!(by("feccft", Some("access_denied")), Some(1));
        assert_eq!(by("feccft", None), Some(1));
        assert_eq!(by("seccft", None), Some(1));
        assert_eq!(reasons.len(), 4);
    }

    #[tokio::test]
    async fn events_kept_before_the_reason_column_get_their_reason() {
        // The database as the previous version left it: every migration before 0010.
        let (_dir, old, url) = crate::store::sqlite_migrated_before("0010").await;
        for (ordinal, (id, kind, details)) in [
            (
                "a",
                "feccft",
                r#"{"error":"invalid_client","client_authentication_error":{"code":"unknown_kid"}}"#,
            ),
            ("b", "feccft", r#"{"error":"access_denied"}"#),
            ("c", "feccft", r#"{"error":5,"repeats":{"count":3}}"#),
            ("d", "seccft", r#"{"auth_method":"private_key_jwt"}"#),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO logs (id, seq, date, type, description, details, ordinal) \
                 VALUES ($1, 0, 0, $2, 'd', $3, $4)",
            )
            .bind(id)
            .bind(kind)
            .bind(details)
            .bind(ordinal as i64 + 1)
            .execute(&old)
            .await
            .unwrap();
        }
        old.close().await;

        let store = crate::store::Store::connect(&url).await.unwrap();
        let rows = sqlx::query("SELECT id, reason FROM logs ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let reasons: Vec<(String, Option<String>)> = rows
            .iter()
            .map(|r| (r.try_get("id").unwrap(), r.try_get("reason").unwrap()))
            .collect();
        let want = |id: &str, reason: Option<&str>| (id.to_owned(), reason.map(str::to_owned));
        assert_eq!(
            reasons,
            [
                want("a", Some("unknown_kid")),
                want("b", Some("access_denied")),
                want("c", None),
                want("d", None)
            ]
        );
    }

    #[tokio::test]
    async fn a_batch_with_an_id_that_does_not_carry_its_date_is_refused_whole() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        let mut wrong = event(2);
        wrong.date += 1;
        for batch in [
            vec![event(1), wrong],
            vec![LogEvent {
                id: "log_1".into(),
                ..event(3)
            }],
        ] {
            let refused = insert_batch(&mut conn, &batch).await;
            assert!(
                matches!(refused, Err(StoreError::Refused(_))),
                "{refused:?}"
            );
        }
        assert_eq!(count(store.pool(), &Filter::default()).await.unwrap(), 0);
        assert_eq!(after(store.pool(), 0, 10).await.unwrap(), []);
    }

    /// SQLite's plan for `text` with the values `c` holds, one line per step.
    async fn plan(store: &crate::store::Store, text: &str, c: &Conditions) -> Vec<String> {
        let rows = c
            .bind(sqlx::query(sql(format!("EXPLAIN QUERY PLAN {text}"))))
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get("detail").unwrap()).collect()
    }

    /// SQLite's plan for reading the events `c` selects.
    async fn select_plan(store: &crate::store::Store, c: &Conditions) -> Vec<String> {
        let text = format!("SELECT {COLUMNS} FROM logs {}", c.where_sql());
        plan(store, &text, c).await
    }

    #[tokio::test]
    async fn events_are_found_by_id_and_pruned_through_an_index_never_by_reading_the_table() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let dated_id = event(1).id;
        let undated_id = "log_Zx9aB3dE5gH7jK9mN1pQr2sT";
        for id in [dated_id.as_str(), undated_id] {
            let mut c = Conditions::default();
            let found = id_condition(&mut c, id).unwrap();
            c.push(found);
            let steps = select_plan(&store, &c).await;
            assert!(
                steps
                    .iter()
                    .all(|s| s.starts_with("SEARCH logs USING INDEX")),
                "{id}: {steps:?}"
            );
        }
        let search = Filter {
            query: crate::domain::log_query::LogQuery::parse(&format!(
                "log_id:({dated_id} OR {undated_id})"
            ))
            .unwrap(),
            ..Filter::default()
        };
        let c = conditions(&search);
        let steps = select_plan(&store, &c).await;
        assert!(
            !steps.iter().any(|s| s.starts_with("SCAN logs")),
            "{steps:?}"
        );
        assert!(
            steps.iter().any(|s| s.contains("logs_by_undated_id")),
            "{steps:?}"
        );
        let mut c = Conditions::default();
        let (before, batch) = (c.int(5), c.int(100));
        let steps = plan(
            &store,
            &format!(
                "DELETE FROM logs WHERE ordinal IN \
                 (SELECT ordinal FROM logs WHERE date < {before} LIMIT {batch})"
            ),
            &c,
        )
        .await;
        assert!(
            !steps.iter().any(|s| s.starts_with("SCAN logs")),
            "{steps:?}"
        );
    }

    #[tokio::test]
    async fn a_search_by_ids_no_event_can_have_matches_nothing() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        insert_batch(&mut store.acquire().await.unwrap(), &[event(1)])
            .await
            .unwrap();
        let search = |q: &str| Filter {
            query: crate::domain::log_query::LogQuery::parse(q).unwrap(),
            ..Filter::default()
        };
        assert_eq!(
            count(store.pool(), &search("log_id:log_1")).await.unwrap(),
            0
        );
        assert_eq!(get(store.pool(), "log_1").await.unwrap(), None);
        assert_eq!(ordinal_of(store.pool(), "nope").await.unwrap(), None);
        let q = format!("log_id:(log_1 OR {})", event(1).id);
        assert_eq!(count(store.pool(), &search(&q)).await.unwrap(), 1);
    }
}
