//! Replay protection (BEHAVIOUR B.6) with group commit: concurrent token requests hand their `jti`
//! to one writer task, which records everything waiting in a single statement. Under load one
//! database round trip and one commit serve a score of requests, instead of each request paying
//! its own; when idle, a request waits for nothing but its own insert.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::assertion::{MAX_LIFETIME, SKEW};
use crate::store::replay::{self, MAX_BATCH, UsedJti};
use crate::store::{Store, StoreError};
use crate::time_util::Millis;

/// The longest any accepted assertion must be remembered, counted from its use: its `iat` up to
/// `SKEW` ahead of the clock, its `exp` up to `MAX_LIFETIME` after that, kept `SKEW` past `exp`.
const LONGEST_KEEP_MS: Millis = (MAX_LIFETIME + 2 * SKEW) * 1000;

/// Requests waiting beyond this many are refused rather than queued without bound.
const QUEUE: usize = 4 * MAX_BATCH;

/// What to record for an assertion with `exp` used at `now_ms`: kept until `exp + SKEW`
/// (BEHAVIOUR B.6), and pruned no earlier than the longest any assertion is kept from its use. That
/// second bound follows the order of use, where `exp` alone does not.
pub fn used_jti(client_id: String, jti: String, exp: i64, now_ms: Millis) -> UsedJti {
    let keep_until = exp.saturating_add(SKEW);
    UsedJti {
        client_id,
        jti,
        keep_until,
        prune_after: keep_until
            .saturating_mul(1000)
            .max(now_ms.saturating_add(LONGEST_KEEP_MS)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
    #[error("the replay check is not running")]
    Stopped,
}

struct Pending {
    used: UsedJti,
    fresh: oneshot::Sender<Result<bool, Arc<StoreError>>>,
}

#[derive(Clone)]
pub struct ReplayGuard {
    queue: mpsc::Sender<Pending>,
}

impl ReplayGuard {
    /// Starts the writer; it stops once every handle to the guard is gone.
    pub fn spawn(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, requests) = mpsc::channel(QUEUE);
        (Self { queue }, tokio::spawn(write_batches(store, requests)))
    }

    /// Records the jti; `Ok(false)` when it was already used. Exactly one of any number of
    /// concurrent calls with the same `(client_id, jti)` gets `true`, on this instance or any
    /// other sharing the database.
    pub async fn consume(&self, used: UsedJti) -> Result<bool, ReplayError> {
        let started = std::time::Instant::now();
        let (fresh, answer) = oneshot::channel();
        self.queue
            .send(Pending { used, fresh })
            .await
            .map_err(|_| ReplayError::Stopped)?;
        let answer = answer.await.map_err(|_| ReplayError::Stopped)?;
        crate::metrics::replay_wait(started.elapsed());
        Ok(answer?)
    }
}

async fn write_batches(store: Store, mut requests: mpsc::Receiver<Pending>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while requests.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        // Woken by the first id, the writer runs right after that request and would record it
        // alone: about one statement and one commit per token under load. Stepping aside once
        // lets the requests that are already runnable reach this point too; when idle there
        // are none, and the writer goes on at once.
        tokio::task::yield_now().await;
        while waiting.len() < MAX_BATCH
            && let Ok(more) = requests.try_recv()
        {
            waiting.push(more);
        }
        let (first_uses, repeats) = split_repeats(std::mem::take(&mut waiting));
        // A repeat within one batch is a replay of an id the same batch records.
        for repeat in repeats {
            let _ = repeat.fresh.send(Ok(false));
        }
        let (batch, waiters): (Vec<UsedJti>, Vec<_>) =
            first_uses.into_iter().map(|p| (p.used, p.fresh)).unzip();
        crate::metrics::replay_batch(batch.len());
        let answers = consume_or_salvage(&store, &batch).await;
        for (fresh, answer) in waiters.into_iter().zip(answers) {
            let _ = fresh.send(answer);
        }
    }
}

/// Records the batch in one statement; when the database refuses it, each id on its own, so
/// that an id the database cannot take fails only its own request, never the others sharing
/// its batch.
async fn consume_or_salvage(
    store: &Store,
    batch: &[UsedJti],
) -> Vec<Result<bool, Arc<StoreError>>> {
    let written = store
        .with_writer(async |conn| replay::consume_batch(conn, batch).await)
        .await;
    let e = match written {
        Ok(fresh) => return fresh.into_iter().map(Ok).collect(),
        Err(e) => e,
    };
    if batch.len() == 1 {
        return vec![Err(Arc::new(e))];
    }
    tracing::warn!(error = %e, ids = batch.len(), "replay batch refused; recording its ids one by one");
    let mut answers = Vec::with_capacity(batch.len());
    for used in batch {
        let one = store
            .with_writer(async |conn| replay::consume_batch(conn, std::slice::from_ref(used)).await)
            .await;
        answers.push(match one {
            Ok(fresh) => Ok(fresh.first().copied().unwrap_or(false)),
            Err(e) => Err(Arc::new(e)),
        });
    }
    answers
}

/// Splits requests into the first use of each `(client_id, jti)` and the repeats after it.
fn split_repeats(batch: Vec<Pending>) -> (Vec<Pending>, Vec<Pending>) {
    let first: Vec<bool> = {
        let mut seen = HashSet::with_capacity(batch.len());
        batch
            .iter()
            .map(|p| seen.insert((p.used.client_id.as_str(), p.used.jti.as_str())))
            .collect()
    };
    let (first_uses, repeats): (Vec<_>, Vec<_>) =
        batch.into_iter().zip(first).partition(|(_, first)| *first);
    (
        first_uses.into_iter().map(|(p, _)| p).collect(),
        repeats.into_iter().map(|(p, _)| p).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(
        client_id: &str,
        jti: &str,
    ) -> (Pending, oneshot::Receiver<Result<bool, Arc<StoreError>>>) {
        let (fresh, rx) = oneshot::channel();
        let used = used_jti(client_id.into(), jti.into(), 0, 0);
        (Pending { used, fresh }, rx)
    }

    #[test]
    fn only_the_first_use_in_a_batch_is_kept() {
        let batch = vec![
            pending("a", "1").0,
            pending("a", "1").0,
            pending("b", "1").0,
            pending("a", "2").0,
        ];
        let (first, repeats) = split_repeats(batch);
        let ids: Vec<_> = first
            .iter()
            .map(|p| (p.used.client_id.as_str(), p.used.jti.as_str()))
            .collect();
        assert_eq!(ids, [("a", "1"), ("b", "1"), ("a", "2")]);
        assert_eq!(repeats.len(), 1);
        assert_eq!(
            (
                repeats[0].used.client_id.as_str(),
                repeats[0].used.jti.as_str()
            ),
            ("a", "1")
        );
    }

    #[test]
    fn a_used_jti_is_never_pruned_before_it_could_no_longer_be_accepted() {
        let now_ms = 1_800_000_000_000;
        let now = now_ms / 1000;
        // Any accepted exp is at most now + SKEW + MAX_LIFETIME: pruning follows the time of use.
        for exp in [now - SKEW + 1, now, now + SKEW + MAX_LIFETIME] {
            let used = used_jti("c".into(), "j".into(), exp, now_ms);
            assert_eq!(used.keep_until, exp + SKEW);
            assert_eq!(used.prune_after, now_ms + LONGEST_KEEP_MS);
            assert!(used.prune_after >= used.keep_until * 1000);
        }
        // Should the lifetime rules ever allow a later exp, the row is still kept long enough.
        let used = used_jti("c".into(), "j".into(), now + 10 * MAX_LIFETIME, now_ms);
        assert_eq!(used.prune_after, (now + 10 * MAX_LIFETIME + SKEW) * 1000);
        let used = used_jti("c".into(), "j".into(), i64::MAX, now_ms);
        assert_eq!(used.prune_after, i64::MAX);
    }

    #[tokio::test]
    async fn an_id_the_database_refuses_fails_only_its_own_request() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        // SQLite stores any text, so a NOT NULL violation stands in for a value the database
        // cannot take (PostgreSQL refuses NUL the same way, for the whole statement).
        sqlx::query(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON assertion_jtis \
             WHEN NEW.jti = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let batch = [
            used_jti("c".into(), "good-1".into(), 1, 0),
            used_jti("c".into(), "poison".into(), 1, 0),
            used_jti("c".into(), "good-2".into(), 1, 0),
        ];
        let answers = consume_or_salvage(&store, &batch).await;
        assert!(matches!(answers[0], Ok(true)));
        assert!(answers[1].is_err());
        assert!(matches!(answers[2], Ok(true)));
        // The good ids were recorded: they are now replays.
        let again = consume_or_salvage(&store, &[batch[0].clone(), batch[2].clone()]).await;
        assert!(again.iter().all(|a| matches!(a, Ok(false))));
    }

    #[tokio::test]
    async fn concurrent_uses_of_one_jti_succeed_exactly_once() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let (guard, _writer) = ReplayGuard::spawn(store);
        let used = |jti: &str| used_jti("c".into(), jti.into(), 1, 0);
        let attempts: Vec<_> = (0..50)
            .map(|i| {
                let guard = guard.clone();
                let jti = if i % 2 == 0 {
                    "same".to_owned()
                } else {
                    format!("own-{i}")
                };
                tokio::spawn(async move { (i, guard.consume(used(&jti)).await.unwrap()) })
            })
            .collect();
        let mut fresh_same = 0;
        for a in attempts {
            let (i, fresh) = a.await.unwrap();
            if i % 2 == 0 {
                fresh_same += usize::from(fresh);
            } else {
                assert!(fresh, "a distinct jti is fresh");
            }
        }
        assert_eq!(fresh_same, 1);
        assert!(!guard.consume(used("same")).await.unwrap());
        assert!(!guard.consume(used("own-1")).await.unwrap());
    }
}
