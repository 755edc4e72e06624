//! The audit log's table after migration 0013, which took the index of event ids away (SQLite
//! re-keyed the table by its ordinal, PostgreSQL dropped its key on ids): events are found by
//! the date their id carries, or, for ids made before they carried it, by an index of those
//! alone. SQLite's plans are checked by the unit tests of `store::logs`.

use signet::domain::log::{UNDATED_ID_LEN, event_id};
use signet::domain::log_query::LogQuery;
use signet::store::Store;
use signet::store::logs::{Filter, LogEvent, after, count, get, insert_batch, ordinal_of, prune};
use signet::time_util::Millis;
use sqlx::Row;

use crate::helpers::{Database, Db};

const UNDATED_ID: &str = "log_Zx9aB3dE5gH7jK9mN1pQr2sT";

fn dated(n: i64, date: Millis, details: serde_json::Value) -> LogEvent {
    LogEvent {
        id: event_id(date, &format!("{n:016}")),
        seq: n,
        date,
        kind: "feccft".into(),
        description: "d".into(),
        client_id: Some(format!("client-{}", n % 3)),
        client_name: None,
        audience: Some("https://api.example/".into()),
        scope: None,
        ip: Some("127.0.0.1".into()),
        user_agent: None,
        details,
    }
}

fn event(n: i64) -> LogEvent {
    dated(n, 1_700_000_000_000 + n, serde_json::json!({"n": n}))
}

fn search(q: &str) -> Filter {
    Filter {
        query: LogQuery::parse(q).unwrap(),
        ..Filter::default()
    }
}

/// PostgreSQL's plan for `text`, told to avoid reading the table whole wherever an index can
/// serve: a sequential scan left in it means no index can.
async fn plan_avoiding_table_scans(store: &Store, text: &str) -> String {
    let mut conn = store.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {text}")))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::query("RESET enable_seqscan")
        .execute(&mut *conn)
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn sqlite_events_kept_before_the_index_of_ids_went_are_found_paged_and_pruned_as_before() {
    events_kept_before_the_index_of_ids_went_are_found_paged_and_pruned_as_before(Db::Sqlite).await;
}

#[tokio::test]
async fn postgres_events_kept_before_the_index_of_ids_went_are_found_paged_and_pruned_as_before() {
    events_kept_before_the_index_of_ids_went_are_found_paged_and_pruned_as_before(Db::Postgres)
        .await;
}

async fn events_kept_before_the_index_of_ids_went_are_found_paged_and_pruned_as_before(db: Db) {
    let Some(database) = Database::create(db).await else {
        return;
    };
    // The database as the previous version left it: an event whose id predates dated ids, and
    // two that carry their date, written by this version's statements.
    let old = database.migrated_before("0013").await;
    let undated = LogEvent {
        id: UNDATED_ID.into(),
        client_id: None,
        audience: None,
        ip: None,
        ..event(1)
    };
    sqlx::query(
        "INSERT INTO logs (id, seq, date, type, description, details, ordinal) \
         VALUES ($1, $2, $3, $4, $5, $6, 1)",
    )
    .bind(&undated.id)
    .bind(undated.seq)
    .bind(undated.date)
    .bind(&undated.kind)
    .bind(&undated.description)
    .bind(undated.details_json())
    .execute(&old)
    .await
    .unwrap();
    sqlx::query("UPDATE log_ordinals SET issued = 1")
        .execute(&old)
        .await
        .unwrap();
    let kept = [
        undated,
        event(2),
        dated(
            3,
            1_700_000_000_003,
            serde_json::json!({"error": "invalid_client"}),
        ),
    ];
    insert_batch(&mut old.acquire().await.unwrap(), &kept[1..])
        .await
        .unwrap();
    old.close().await;

    let store = Store::connect(&database.url).await.unwrap();
    for (ordinal, e) in (1..).zip(&kept) {
        assert_eq!(get(store.pool(), &e.id).await.unwrap().as_ref(), Some(e));
        assert_eq!(
            ordinal_of(store.pool(), &e.id).await.unwrap(),
            Some(ordinal)
        );
    }
    let both = format!("log_id:({} OR {})", kept[0].id, kept[2].id);
    assert_eq!(count(store.pool(), &search(&both)).await.unwrap(), 2);
    let failures = Filter {
        reason: Some("invalid_client".into()),
        ..Filter::default()
    };
    assert_eq!(count(store.pool(), &failures).await.unwrap(), 1);

    // New events take the next ordinals, after the kept ones in checkpoint order.
    let new = [event(4), event(5)];
    insert_batch(&mut store.acquire().await.unwrap(), &new)
        .await
        .unwrap();
    let all: Vec<LogEvent> = kept.iter().chain(&new).cloned().collect();
    assert_eq!(after(store.pool(), 0, 10).await.unwrap(), all);
    assert_eq!(after(store.pool(), 3, 10).await.unwrap(), new);

    let mut conn = store.acquire().await.unwrap();
    assert_eq!(prune(&mut conn, 1_700_000_000_003, 10).await.unwrap(), 2);
    assert_eq!(after(store.pool(), 0, 10).await.unwrap(), all[2..]);
    assert_eq!(get(store.pool(), &kept[0].id).await.unwrap(), None);
}

#[tokio::test]
async fn events_are_found_by_id_through_an_index_though_ids_have_no_key() {
    let Some(database) = Database::create(Db::Postgres).await else {
        return;
    };
    let store = Store::connect(&database.url).await.unwrap();
    let keys: i64 = sqlx::query(
        "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         WHERE t.relname = 'logs' AND t.relnamespace = current_schema()::regnamespace \
         AND i.indisprimary",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(
        keys, 0,
        "the audit log has no key to keep up on every insert"
    );

    let e = event(7);
    insert_batch(
        &mut store.acquire().await.unwrap(),
        std::slice::from_ref(&e),
    )
    .await
    .unwrap();
    assert_eq!(get(store.pool(), &e.id).await.unwrap().as_ref(), Some(&e));
    // The two lookups by id, in the form store::logs::id_condition gives them.
    for lookup in [
        format!(
            "SELECT id FROM logs WHERE (date = {} AND id = '{}')",
            e.date, e.id
        ),
        format!(
            "SELECT id FROM logs WHERE (length(id) = {UNDATED_ID_LEN} AND id = '{UNDATED_ID}')"
        ),
    ] {
        let plan = plan_avoiding_table_scans(&store, &lookup).await;
        assert!(!plan.contains("Seq Scan"), "{lookup}:\n{plan}");
    }
}
