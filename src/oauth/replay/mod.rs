//! Replay protection (BEHAVIOUR B.6) with group commit: concurrent token requests hand their `jti`
//! to one writer task, which records everything waiting in a single statement. Under load one
//! database round trip and one commit serve a score of requests, instead of each request paying
//! its own; when idle, a request waits for nothing but its own insert.
//!
//! PostgreSQL checks each id against a table keyed by it, shared by every instance. On SQLite
//! every server keeps the used ids in memory ([`used_ids`]) and checks them there, and appends
//! new ones to a log in the database ([`crate::store::jti_log`]) before it answers: a restart
//! reads the log back, and the servers sharing one file read what the others appended in the
//! same write transaction that appends their own, so a `jti` is still accepted once in all.

mod used_ids;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::assertion::{MAX_LIFETIME, SKEW};
use crate::store::jti_log::{self, Logged};
use crate::store::replay::{self, MAX_BATCH, UsedJti};
use crate::store::{Conn, KeptConnection, Store, StoreError};
use crate::time_util::Millis;
use used_ids::UsedIds;

/// The longest any accepted assertion must be remembered, counted from its use: its `iat` up to
/// `SKEW` ahead of the clock, its `exp` up to `MAX_LIFETIME` after that, kept `SKEW` past `exp`.
const LONGEST_KEEP_MS: Millis = (MAX_LIFETIME + 2 * SKEW) * 1000;

/// Requests waiting beyond this many are refused rather than queued without bound.
const QUEUE: usize = 4 * MAX_BATCH;

/// Rows of the SQLite log read per statement, at start and when catching up with the other
/// servers on the file.
const READ_PAGE: u16 = 4096;

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

/// The last millisecond a used id must be remembered: until both of its bounds have passed, as
/// the database prunes it.
fn keep_through(used: &UsedJti) -> Millis {
    used.prune_after
        .max(used.keep_until.saturating_mul(1000).saturating_add(999))
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
    #[error("the replay check is not running")]
    Stopped,
}

/// Whether an id was fresh (`false`: a replay), or the error that kept it from being recorded.
type Freshness = Result<bool, Arc<StoreError>>;

struct Pending {
    used: UsedJti,
    fresh: Answer,
}

/// Where a request awaits the guard's answer for its id.
struct Answer {
    to: oneshot::Sender<Freshness>,
    handed_over: std::time::Instant,
}

impl Answer {
    fn new(to: oneshot::Sender<Freshness>) -> Self {
        Self {
            to,
            handed_over: std::time::Instant::now(),
        }
    }

    /// Timed here, not where the request reads it: the request signs its token meanwhile, and
    /// the wait is the queue, the statement and its commit alone.
    fn send(self, answer: Freshness) {
        crate::metrics::replay_wait(self.handed_over.elapsed());
        let _ = self.to.send(answer);
    }
}

#[derive(Clone)]
pub struct ReplayGuard {
    queue: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    /// Where batches are written: on PostgreSQL a connection of the guard's own.
    writer: Arc<KeptConnection>,
    /// SQLite only: the ids this server has seen used, here or by the others on the file.
    memory: Option<Mutex<Memory>>,
}

struct Memory {
    ids: UsedIds,
    /// The log's rows up to this one are in `ids`.
    read_up_to: i64,
}

impl Memory {
    fn contains(&self, client_id: &str, jti: &str) -> bool {
        self.ids.contains(self.ids.digest(client_id, jti))
    }

    fn remember(&mut self, used: &UsedJti) {
        let digest = self.ids.digest(&used.client_id, &used.jti);
        self.ids.insert(digest, keep_through(used));
    }

    fn learn(&mut self, logged: &[Logged]) {
        for row in logged {
            self.remember(&row.used);
            self.read_up_to = self.read_up_to.max(row.seq);
        }
    }
}

fn lock(memory: &Mutex<Memory>) -> std::sync::MutexGuard<'_, Memory> {
    // Nothing panics while holding it; should anything, the ids in it are still right.
    memory.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads into memory, a page at a time, what the log holds beyond what this server has read.
async fn catch_up(conn: &mut Conn, memory: &Mutex<Memory>) -> Result<(), StoreError> {
    loop {
        let after = lock(memory).read_up_to;
        let page = jti_log::read_after(conn, after, READ_PAGE).await?;
        lock(memory).learn(&page);
        if page.len() < usize::from(READ_PAGE) {
            return Ok(());
        }
    }
}

impl ReplayGuard {
    /// Starts the writer; it stops once every handle to the guard is gone. On SQLite, first
    /// reads back the ids the log holds that must still be remembered at `now`.
    pub async fn start(store: Store, now: Millis) -> Result<(Self, JoinHandle<()>), StoreError> {
        let memory = if store.is_sqlite() {
            let memory = Mutex::new(Memory {
                ids: UsedIds::default(),
                read_up_to: 0,
            });
            catch_up(&mut *store.acquire().await?, &memory).await?;
            lock(&memory).ids.forget_before(now);
            Some(memory)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            writer: store.kept_writer(),
            store,
            memory,
        });
        let (queue, requests) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write_batches(shared.clone(), requests));
        Ok((Self { queue, shared }, writer))
    }

    /// Records the jti; `Ok(false)` when it was already used. Exactly one of any number of
    /// concurrent calls with the same `(client_id, jti)` gets `true`, on this instance or any
    /// other sharing the database.
    pub async fn consume(&self, used: UsedJti) -> Result<bool, ReplayError> {
        self.hand_over(used).await?.fresh().await
    }

    /// Hands the jti to the writer, which records it whether or not [`Consuming::fresh`] is
    /// awaited: the caller may do other work while the batch commits, and the id counts as
    /// used from here on.
    pub async fn hand_over(&self, used: UsedJti) -> Result<Consuming, ReplayError> {
        let (fresh, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                used,
                fresh: Answer::new(fresh),
            })
            .await
            .map_err(|_| ReplayError::Stopped)?;
        Ok(Consuming { answer })
    }

    /// Records a batch at once, as the writer does with the requests it collected, and says for
    /// each id whether it was fresh; the caller leaves out repeats within the batch. For the
    /// benches of the writer's step: requests go through [`Self::consume`].
    pub async fn record(&self, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
        self.shared.record(batch).await
    }

    /// Whether `(client_id, jti)` was used, recording nothing: for the assertion explainers,
    /// which must leave the `jti` usable.
    pub async fn is_used(&self, client_id: &str, jti: &str) -> Result<bool, StoreError> {
        let store = &self.shared.store;
        let Some(memory) = &self.shared.memory else {
            let mut conn = store.acquire().await?;
            return replay::is_used(&mut conn, client_id, jti).await;
        };
        // Used since this server last wrote, here or by another server on the file.
        catch_up(&mut *store.acquire().await?, memory).await?;
        Ok(lock(memory).contains(client_id, jti))
    }

    /// Forgets the ids that no longer need to be remembered at `now` (SQLite; the database's
    /// pruning covers PostgreSQL and the log).
    pub fn forget_expired(&self, now: Millis) {
        if let Some(memory) = &self.shared.memory {
            lock(memory).ids.forget_before(now);
        }
    }

    /// Ids remembered in memory: SQLite only.
    pub fn remembered(&self) -> Option<usize> {
        Some(lock(self.shared.memory.as_ref()?).ids.len())
    }
}

/// A jti handed to the writer, its answer still to come.
pub struct Consuming {
    answer: oneshot::Receiver<Freshness>,
}

impl Consuming {
    /// `Ok(false)` when the id was already used, as [`ReplayGuard::consume`].
    pub async fn fresh(self) -> Result<bool, ReplayError> {
        let answer = self.answer.await.map_err(|_| ReplayError::Stopped)?;
        Ok(answer?)
    }
}

async fn write_batches(shared: Arc<Shared>, mut requests: mpsc::Receiver<Pending>) {
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
            repeat.fresh.send(Ok(false));
        }
        let (batch, waiters): (Vec<UsedJti>, Vec<_>) =
            first_uses.into_iter().map(|p| (p.used, p.fresh)).unzip();
        crate::metrics::replay_batch(batch.len());
        let answers = consume_or_salvage(&shared, &batch).await;
        for (fresh, answer) in waiters.into_iter().zip(answers) {
            fresh.send(answer);
        }
    }
    shared.writer.retire().await;
}

impl Shared {
    /// Records the batch atomically; says for each id whether it was fresh.
    async fn record(&self, batch: &[UsedJti]) -> Result<Vec<bool>, StoreError> {
        let Some(memory) = &self.memory else {
            return self
                .writer
                .write(async |conn| replay::consume_batch(conn, batch).await)
                .await;
        };
        self.writer
            .write(async |conn| {
                // The write lock is held from here to the commit: no other server on the file
                // can append an id between the check and the append. `BEGIN IMMEDIATE` goes
                // with the first read and `COMMIT` with the last append, two round trips to
                // sqlx's SQLite thread a batch instead of four; should anything between fail,
                // `write` closes the connection, which rolls the transaction back.
                let after = lock(memory).read_up_to;
                let page = jti_log::begin_and_read_after(conn, after, READ_PAGE).await?;
                lock(memory).learn(&page);
                if page.len() == usize::from(READ_PAGE) {
                    catch_up(conn, memory).await?;
                }
                // Each id's digest is taken once: to check it, and once committed, to keep it.
                let (mut digests, mut new) = (Vec::new(), Vec::with_capacity(batch.len()));
                let fresh: Vec<bool> = {
                    let memory = lock(memory);
                    batch
                        .iter()
                        .map(|used| {
                            let digest = memory.ids.digest(&used.client_id, &used.jti);
                            let fresh = !memory.ids.contains(digest);
                            if fresh {
                                digests.push(digest);
                                new.push(used);
                            }
                            fresh
                        })
                        .collect()
                };
                let appended = jti_log::append_and_commit(conn, &new).await?;
                let mut memory = lock(memory);
                for (digest, used) in digests.into_iter().zip(new) {
                    memory.ids.insert(digest, keep_through(used));
                }
                memory.read_up_to = memory.read_up_to.max(appended.unwrap_or(0));
                Ok(fresh)
            })
            .await
    }
}

/// Records the batch in one statement; when the database refuses it, each id on its own, so
/// that an id the database cannot take fails only its own request, never the others sharing
/// its batch.
async fn consume_or_salvage(shared: &Shared, batch: &[UsedJti]) -> Vec<Freshness> {
    let e = match shared.record(batch).await {
        Ok(fresh) => return fresh.into_iter().map(Ok).collect(),
        Err(e) => e,
    };
    if batch.len() == 1 {
        return vec![Err(Arc::new(e))];
    }
    tracing::warn!(error = %e, ids = batch.len(), "replay batch refused; recording its ids one by one");
    let mut answers = Vec::with_capacity(batch.len());
    for used in batch {
        answers.push(match shared.record(std::slice::from_ref(used)).await {
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

    fn pending(client_id: &str, jti: &str) -> (Pending, oneshot::Receiver<Freshness>) {
        let (fresh, rx) = oneshot::channel();
        let used = used_jti(client_id.into(), jti.into(), 0, 0);
        (
            Pending {
                used,
                fresh: Answer::new(fresh),
            },
            rx,
        )
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

    async fn guard_on(store: Store) -> ReplayGuard {
        ReplayGuard::start(store, crate::time_util::now_millis())
            .await
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn an_id_the_database_refuses_fails_only_its_own_request() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        crate::store::refuse_poison(&store, "assertion_jti_log", "jti").await;
        let guard = guard_on(store).await;
        let batch = [
            used_jti("c".into(), "good-1".into(), 1, 0),
            used_jti("c".into(), "poison".into(), 1, 0),
            used_jti("c".into(), "good-2".into(), 1, 0),
        ];
        let answers = consume_or_salvage(&guard.shared, &batch).await;
        assert!(matches!(answers[0], Ok(true)));
        assert!(answers[1].is_err());
        assert!(matches!(answers[2], Ok(true)));
        // The good ids were recorded: they are now replays. The refused one was not.
        let again = consume_or_salvage(&guard.shared, &[batch[0].clone(), batch[2].clone()]).await;
        assert!(again.iter().all(|a| matches!(a, Ok(false))));
        assert!(!guard.is_used("c", "poison").await.unwrap());
    }

    #[tokio::test]
    async fn a_batch_of_replays_alone_ends_its_transaction() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let guard = guard_on(store).await;
        let used = |jti: &str| used_jti("c".into(), jti.into(), 1, 0);
        assert_eq!(guard.record(&[used("a")]).await.unwrap(), [true]);
        // Nothing to append: the batch still commits what it opened, or the next could not
        // begin on the same connection.
        assert_eq!(guard.record(&[used("a")]).await.unwrap(), [false]);
        assert_eq!(
            guard.record(&[used("b"), used("a")]).await.unwrap(),
            [true, false]
        );
        assert_eq!(guard.record(&[]).await.unwrap(), Vec::<bool>::new());
        assert_eq!(guard.record(&[used("c")]).await.unwrap(), [true]);
    }

    #[tokio::test]
    async fn concurrent_uses_of_one_jti_succeed_exactly_once() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let guard = guard_on(store).await;
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

    #[tokio::test]
    async fn an_id_handed_over_is_used_whether_or_not_its_answer_is_awaited() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let guard = guard_on(store).await;
        let used = |jti: &str| used_jti("c".into(), jti.into(), 1, 0);
        // A request dropped while its token is being signed still spent its id.
        drop(guard.hand_over(used("dropped")).await.unwrap());
        let awaited = guard.hand_over(used("awaited")).await.unwrap();
        assert!(awaited.fresh().await.unwrap());
        assert!(!guard.consume(used("dropped")).await.unwrap());
        assert!(!guard.consume(used("awaited")).await.unwrap());
    }

    fn live(jti: &str) -> UsedJti {
        used_jti("c".into(), jti.into(), 0, crate::time_util::now_millis())
    }

    #[tokio::test]
    async fn ids_used_before_a_restart_stay_used() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let first = guard_on(store.clone()).await;
        assert!(first.consume(live("before")).await.unwrap());
        drop(first);
        let restarted = guard_on(store).await;
        assert_eq!(restarted.remembered(), Some(1));
        assert!(restarted.is_used("c", "before").await.unwrap());
        assert!(!restarted.consume(live("before")).await.unwrap());
        assert!(restarted.consume(live("after")).await.unwrap());
        // Read back, an id is forgotten at the same time as one recorded in this run.
        restarted.forget_expired(crate::time_util::now_millis() + LONGEST_KEEP_MS + 20_000);
        assert_eq!(restarted.remembered(), Some(0));
    }

    #[tokio::test]
    async fn servers_sharing_a_sqlite_file_accept_each_id_once_in_all() {
        let (store, dir) = crate::store::temp_sqlite().await;
        let url = format!("sqlite://{}", dir.path().join("signet.db").display());
        let other = Store::connect(&url).await.unwrap();
        let (one, two) = (guard_on(store).await, guard_on(other).await);
        assert!(one.consume(live("first-here")).await.unwrap());
        // The other server knows it before writing anything itself, and refuses it.
        assert!(two.is_used("c", "first-here").await.unwrap());
        assert!(!two.consume(live("first-here")).await.unwrap());
        assert!(two.consume(live("then-there")).await.unwrap());
        assert!(!one.consume(live("then-there")).await.unwrap());
        // Raced from both sides, every id is accepted exactly once.
        let race = |guard: ReplayGuard| {
            tokio::spawn(async move {
                let mut accepted = 0;
                for i in 0..200 {
                    accepted +=
                        usize::from(guard.consume(live(&format!("race-{i}"))).await.unwrap());
                }
                accepted
            })
        };
        let (a, b) = (race(one.clone()), race(two.clone()));
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 200);
    }

    #[tokio::test]
    async fn ids_used_before_the_upgrade_stay_used_until_they_expire() {
        // The database as a version before the log left it, with used ids in its table: one a
        // minute past both of its bounds, one still acceptable, one not yet at its prune time.
        let (_dir, old, url) = crate::store::sqlite_migrated_before("0012").await;
        let now = crate::time_util::now_millis();
        sqlx::query(
            "INSERT INTO assertion_jtis (client_id, jti, expires_at, prune_after) \
             VALUES ('c', 'expired', $1, $2), ('c', 'live', $3, $4), ('c', 'prune-later', $1, $5)",
        )
        .bind(now / 1000 - 60)
        .bind(now - 60_000)
        .bind(now / 1000 + 60)
        .bind(now - 60_000)
        .bind(now + 60_000)
        .execute(&old)
        .await
        .unwrap();
        old.close().await;

        let store = Store::connect(&url).await.unwrap();
        let guard = guard_on(store.clone()).await;
        assert!(guard.is_used("c", "live").await.unwrap());
        assert!(guard.is_used("c", "prune-later").await.unwrap());
        assert!(!guard.is_used("c", "expired").await.unwrap());
        assert!(!guard.consume(live("live")).await.unwrap());
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(replay::prune(&mut conn, now, 100).await.unwrap(), 1);
        assert_eq!(replay::count(&store).await.unwrap(), 2);
    }
}
