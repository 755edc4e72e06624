//! PostgreSQL's table of used assertion ids (BEHAVIOUR B.6), shared by every instance; SQLite's
//! log and in-memory check are covered by the unit tests of `oauth::replay` and `store::jti_log`.

use signet::store::Store;
use signet::store::replay::{UsedJti, consume_batch, count, is_used, prune};
use signet::time_util::Millis;

use crate::helpers::{Database, Db};

fn used(jti: &str, keep_until: i64, prune_after: Millis) -> UsedJti {
    UsedJti {
        client_id: "c".into(),
        jti: jti.into(),
        keep_until,
        prune_after,
    }
}

async fn postgres_store() -> Option<(Store, Database)> {
    let database = Database::create(Db::Postgres).await?;
    Some((Store::connect(&database.url).await.unwrap(), database))
}

#[tokio::test]
async fn looking_a_jti_up_records_nothing() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    let mut conn = store.acquire().await.unwrap();
    assert!(!is_used(&mut conn, "c", "j").await.unwrap());
    assert!(!is_used(&mut conn, "c", "j").await.unwrap(), "still unused");
    assert_eq!(
        consume_batch(&mut conn, &[used("j", 1, 0)]).await.unwrap(),
        [true]
    );
    assert!(is_used(&mut conn, "c", "j").await.unwrap());
    assert!(!is_used(&mut conn, "other-client", "j").await.unwrap());
    assert!(!is_used(&mut conn, "c", "J").await.unwrap());
}

#[tokio::test]
async fn a_batch_says_which_ids_were_fresh() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    let mut conn = store.acquire().await.unwrap();
    assert_eq!(
        consume_batch(&mut conn, &[used("a", 1, 0)]).await.unwrap(),
        [true]
    );
    let batch = [used("b", 1, 0), used("a", 1, 0), used("c", 1, 0)];
    assert_eq!(
        consume_batch(&mut conn, &batch).await.unwrap(),
        [true, false, true]
    );
    assert_eq!(count(&store).await.unwrap(), 3);
}

#[tokio::test]
async fn pruning_drops_only_ids_past_both_bounds_in_batches() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    let now: Millis = 1_800_000_000_000;
    let s = now / 1000;
    let batch = [
        used("a-gone", s - 1, now - 1),
        used("b-gone", s - 5, now - 1000),
        used("c-gone", s - 1, now - 1),
        used("d-prune-time-not-reached", s - 1, now),
        used("e-still-acceptable", s, now - 1),
        // As a server before prune times recorded them: prune_after 0.
        used("f-old-server-acceptable", s + 60, 0),
    ];
    let mut conn = store.acquire().await.unwrap();
    assert_eq!(consume_batch(&mut conn, &batch).await.unwrap(), [true; 6]);
    assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 2);
    assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 1);
    assert_eq!(prune(&mut conn, now, 2).await.unwrap(), 0);
    assert_eq!(count(&store).await.unwrap(), 3);
    // Until pruned, a used id stays used.
    let again = consume_batch(&mut conn, &batch[3..]).await.unwrap();
    assert_eq!(again, [false; 3]);
}

/// A batch travels to PostgreSQL as one array literal per column: ids holding what such a literal
/// quotes or escapes (quotes, backslashes, braces, commas, spaces, the word NULL) or anything
/// else unusual are recorded exactly as given, each found used afterwards and no other.
#[tokio::test]
async fn ids_with_characters_an_array_literal_escapes_are_recorded_exactly() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    let mut conn = store.acquire().await.unwrap();
    let awkward = [
        r#"quote"d"#,
        r"back\slash",
        r"\u0041",
        "line\u{2028}separator",
        "emoji-🔑",
        "é",
        "e\u{301}",
        "NULL",
        "{a,b}",
        " spaced ",
    ];
    let batch: Vec<UsedJti> = awkward.iter().map(|j| used(j, 1, 0)).collect();
    assert_eq!(
        consume_batch(&mut conn, &batch).await.unwrap(),
        vec![true; awkward.len()]
    );
    for jti in awkward {
        assert!(is_used(&mut conn, "c", jti).await.unwrap(), "{jti}");
    }
    assert!(
        !is_used(&mut conn, "c", "A").await.unwrap(),
        "not unescaped"
    );
    assert!(!is_used(&mut conn, "c", "back\\\\slash").await.unwrap());
    assert_eq!(
        consume_batch(&mut conn, &batch).await.unwrap(),
        vec![false; awkward.len()],
        "each one a replay the second time"
    );
}

/// Migration 0012 keyed the table by a digest of `(client_id, jti)` computed in SQL; the server
/// computes it in Rust. Ids used before the upgrade, non-ASCII ones among them, must still be
/// used after it, and must still be pruned by their bounds.
#[tokio::test]
async fn ids_used_before_the_digest_key_stay_used_after_the_upgrade() {
    let Some(database) = Database::create(Db::Postgres).await else {
        return;
    };
    let old = database.migrated_before("0012").await;
    let now: Millis = 1_800_000_000_000;
    let s = now / 1000;
    sqlx::query(
        "INSERT INTO assertion_jtis (client_id, jti, expires_at, prune_after) VALUES \
         ('c', 'live', $1, $2), ('c', 'emoji-🔑', $1, $2), ('cl', 'ient', $1, $2), \
         ('c', 'expired', $3, $4)",
    )
    .bind(s + 60)
    .bind(now + 60_000)
    .bind(s - 60)
    .bind(now - 60_000)
    .execute(&old)
    .await
    .unwrap();
    old.close().await;

    let store = Store::connect(&database.url).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    for (client_id, jti) in [
        ("c", "live"),
        ("c", "emoji-🔑"),
        ("cl", "ient"),
        ("c", "expired"),
    ] {
        assert!(
            is_used(&mut conn, client_id, jti).await.unwrap(),
            "{client_id} {jti}"
        );
    }
    assert!(!is_used(&mut conn, "c", "lient").await.unwrap());
    assert!(!is_used(&mut conn, "cli", "ent").await.unwrap());
    assert_eq!(
        consume_batch(
            &mut conn,
            &[used("live", s + 60, now), used("new", s + 60, now)]
        )
        .await
        .unwrap(),
        [false, true]
    );
    assert_eq!(
        prune(&mut conn, now, 100).await.unwrap(),
        1,
        "the expired one"
    );
    assert_eq!(count(&store).await.unwrap(), 4);
}

async fn backend_pid(conn: &mut signet::store::Conn) -> Result<i32, signet::store::StoreError> {
    use sqlx::Row as _;
    Ok(sqlx::query("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await?
        .try_get(0)?)
}

/// The replay guard writes on a connection of its own, kept from one batch to the next; one
/// the server closed while it stood idle is replaced before a batch is sent on it, so that no
/// request fails for it.
#[tokio::test]
async fn a_kept_connection_is_reused_and_replaced_once_closed_while_idle() {
    let Some((store, _db)) = postgres_store().await else {
        return;
    };
    let writer = store.kept_writer();
    let first = writer
        .write(async |conn| backend_pid(conn).await)
        .await
        .unwrap();
    let again = writer
        .write(async |conn| backend_pid(conn).await)
        .await
        .unwrap();
    assert_eq!(first, again, "the same backend, batch after batch");

    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(first)
        .execute(store.pool())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let replaced = writer
        .write(async |conn| {
            consume_batch(conn, &[used("after-restart", 1, 0)]).await?;
            backend_pid(conn).await
        })
        .await
        .expect("a new connection, not an error");
    assert_ne!(replaced, first);
    assert_eq!(count(&store).await.unwrap(), 1);

    writer.retire().await;
    // The backend exits once it has read the goodbye: give it a moment.
    for _ in 0..50 {
        let open: i64 =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1")
                .bind(replaced)
                .fetch_one(store.pool())
                .await
                .unwrap();
        if open == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the retired connection's backend is still there");
}
