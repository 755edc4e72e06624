//! Counting tokens against quotas (`crate::domain::token_quota`). Each instance counts what it
//! issues in memory, where a request's check and its count are one step under a lock, and adds
//! its counts to the shared ones in the database about once a second
//! ([`QuotaCounter::sync`]), reading back the total of every instance. As in Auth0, the total
//! is eventually consistent: instances together can overrun a quota by what they issue
//! between two syncs, and never by more.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::token_quota::{Bucket, BucketState, TokenQuota, warning_crossed};
use crate::store::{self, Store, StoreError};
use crate::time_util::Millis;

/// One bucket's window as this instance knows it.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Millis,
    /// The shared count at the last sync (what this instance had added included).
    synced: i64,
    /// Issued here since the last sync.
    pending: i64,
}

impl Window {
    fn used(&self) -> i64 {
        self.synced + self.pending
    }
}

type Key = (String, Bucket);

pub struct QuotaCounter {
    store: Store,
    windows: Mutex<HashMap<Key, Window>>,
}

/// A token the quota let through; [`QuotaCounter::release`] gives it back when the request
/// fails after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub states: Vec<BucketState>,
    /// Shares of a quota (60, 80, 100 %) this token reached, per bucket.
    pub warnings: Vec<(BucketState, u8)>,
}

/// The quota refused the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub states: Vec<BucketState>,
    /// The exhausted bucket that resets last: when a token can next be issued.
    pub exhausted: BucketState,
}

impl QuotaCounter {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one token for `client_id` unless an enforced quota is spent. The first request of
    /// a window on this instance reads the window's shared count.
    pub async fn admit(
        &self,
        client_id: &str,
        quota: &TokenQuota,
        now: Millis,
    ) -> Result<Result<Admitted, QuotaExceeded>, StoreError> {
        for (bucket, _) in quota.buckets() {
            self.load_window(client_id, bucket, now).await?;
        }
        let mut windows = self.lock();
        let mut states = Vec::with_capacity(2);
        for (bucket, limit) in quota.buckets() {
            let used = windows
                .get(&(client_id.to_owned(), bucket))
                .filter(|w| w.start == bucket.window_start(now))
                .map_or(0, Window::used);
            states.push(BucketState {
                bucket,
                quota: limit,
                used,
                resets_at: bucket.window_end(now),
            });
        }
        if quota.enforce
            && let Some(exhausted) = states
                .iter()
                .filter(|s| s.exhausted())
                .max_by_key(|s| s.resets_at)
        {
            return Ok(Err(QuotaExceeded {
                exhausted: *exhausted,
                states,
            }));
        }
        let mut warnings = Vec::new();
        for state in &mut states {
            let start = state.bucket.window_start(now);
            let window = windows
                .entry((client_id.to_owned(), state.bucket))
                .or_insert(Window {
                    start,
                    synced: 0,
                    pending: 0,
                });
            if window.start != start {
                *window = Window {
                    start,
                    synced: 0,
                    pending: 0,
                };
            }
            window.pending += 1;
            state.used = window.used();
            if let Some(pct) = warning_crossed(state.quota, state.used) {
                warnings.push((*state, pct));
            }
        }
        Ok(Ok(Admitted { states, warnings }))
    }

    /// Gives back a token [`admit`](Self::admit) counted, for a request that failed later.
    pub fn release(&self, client_id: &str, admitted: &Admitted, now: Millis) {
        let mut windows = self.lock();
        for state in &admitted.states {
            if let Some(w) = windows.get_mut(&(client_id.to_owned(), state.bucket))
                && w.start == state.bucket.window_start(now)
            {
                w.pending -= 1;
            }
        }
    }

    async fn load_window(
        &self,
        client_id: &str,
        bucket: Bucket,
        now: Millis,
    ) -> Result<(), StoreError> {
        let start = bucket.window_start(now);
        let key = (client_id.to_owned(), bucket);
        if self.lock().get(&key).is_some_and(|w| w.start == start) {
            return Ok(());
        }
        let shared = {
            let mut conn = self.store.acquire().await?;
            store::token_quota::add(&mut conn, client_id, bucket, start, 0).await?
        };
        let mut windows = self.lock();
        match windows.get_mut(&key) {
            Some(w) if w.start == start => w.synced = w.synced.max(shared),
            _ => {
                windows.insert(
                    key,
                    Window {
                        start,
                        synced: shared,
                        pending: 0,
                    },
                );
            }
        }
        Ok(())
    }

    /// Adds what this instance issued since the last sync to the shared counts, reads the
    /// totals back, and forgets windows that have ended.
    pub async fn sync(&self, now: Millis) -> Result<(), StoreError> {
        let work: Vec<(Key, Millis, i64)> = {
            let mut windows = self.lock();
            windows.retain(|(_, bucket), w| w.start == bucket.window_start(now));
            windows
                .iter_mut()
                .map(|(key, w)| {
                    let delta = w.pending;
                    w.pending = 0;
                    w.synced += delta;
                    (key.clone(), w.start, delta)
                })
                .collect()
        };
        let mut failure = None;
        for ((client_id, bucket), start, delta) in work {
            let added = self
                .store
                .with_writer(async |conn| {
                    store::token_quota::add(conn, &client_id, bucket, start, delta).await
                })
                .await;
            let mut windows = self.lock();
            let Some(w) = windows
                .get_mut(&(client_id, bucket))
                .filter(|w| w.start == start)
            else {
                continue;
            };
            match added {
                Ok(total) => w.synced = total,
                Err(e) => {
                    // Kept for the next sync.
                    w.synced -= delta;
                    w.pending += delta;
                    failure = Some(e);
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_796_033_700_000;

    fn quota(per_hour: i64, enforce: bool) -> TokenQuota {
        TokenQuota {
            per_hour: Some(per_hour),
            per_day: None,
            enforce,
        }
    }

    #[tokio::test]
    async fn an_enforced_quota_refuses_the_token_past_it_until_the_window_ends() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let counter = QuotaCounter::new(store);
        let q = quota(3, true);
        for i in 1..=3 {
            let admitted = counter.admit("c", &q, NOW).await.unwrap().unwrap();
            assert_eq!(admitted.states[0].used, i);
        }
        let refused = counter.admit("c", &q, NOW).await.unwrap().unwrap_err();
        assert_eq!(refused.exhausted.remaining(), 0);
        assert_eq!(refused.exhausted.resets_at, Bucket::PerHour.window_end(NOW));
        // Another application has its own count; the next hour starts afresh.
        assert!(counter.admit("d", &q, NOW).await.unwrap().is_ok());
        let next_hour = Bucket::PerHour.window_end(NOW);
        assert!(counter.admit("c", &q, next_hour).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn an_unenforced_quota_counts_and_warns_but_refuses_nothing() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let counter = QuotaCounter::new(store);
        let q = quota(5, false);
        let mut warned = Vec::new();
        for _ in 0..7 {
            let admitted = counter.admit("c", &q, NOW).await.unwrap().unwrap();
            warned.extend(admitted.warnings.iter().map(|(s, pct)| (s.used, *pct)));
        }
        assert_eq!(warned, [(3, 60), (4, 80), (5, 100)]);
    }

    #[tokio::test]
    async fn a_released_token_is_not_counted() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let counter = QuotaCounter::new(store);
        let q = quota(1, true);
        let admitted = counter.admit("c", &q, NOW).await.unwrap().unwrap();
        counter.release("c", &admitted, NOW);
        assert!(counter.admit("c", &q, NOW).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn instances_sharing_a_database_share_the_count() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let one = QuotaCounter::new(store.clone());
        let two = QuotaCounter::new(store);
        let q = quota(4, true);
        for _ in 0..3 {
            one.admit("c", &q, NOW).await.unwrap().unwrap();
        }
        one.sync(NOW).await.unwrap();
        // The second instance reads the shared count when it first sees the window.
        two.admit("c", &q, NOW).await.unwrap().unwrap();
        assert!(two.admit("c", &q, NOW).await.unwrap().is_err());
        two.sync(NOW).await.unwrap();
        one.sync(NOW).await.unwrap();
        assert!(one.admit("c", &q, NOW).await.unwrap().is_err());
    }
}
