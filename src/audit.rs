//! The audit log writer: events are queued in memory and written in batches by a background
//! task, so recording them adds no database write to the request path. On shutdown the queue
//! is drained before the server exits.
//!
//! Hostile traffic makes events too, so everything here is bounded:
//! - every text field is cut to a fixed size and cleaned of control characters before it is
//!   queued (a failed request with 2 KB of `client_id` and `audience` stores a few hundred
//!   bytes, and no row can fail the batch it is written in);
//! - of identical failures from one address within [`AuditLimits::repeat_window`], the first
//!   [`AuditLimits::written_before_counting`] are written as they come and the rest counted into
//!   one more event at the end of the window (`details.repeats`); and of all failures from one
//!   address, at most [`AuditLimits::written_per_address`] are written in a window, the rest
//!   counted the same way. A flood of failing requests costs a few rows a second, however it
//!   varies them, while an application retrying a few times shows every attempt;
//! - the queue has a fixed length: when it is full an event is dropped and counted, and the
//!   count is written as an event of its own ([`DROPPED`]) with the next batch;
//! - a batch the database refuses is written again row by row, so a bad row loses only itself.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::crypto::random;
use crate::domain::log as event_log;
use crate::store::Store;
use crate::store::logs::{self, LogEvent};
use crate::time_util::{Millis, format_millis};

const QUEUE: usize = 16 * 1024;
const BATCH: usize = 512;
/// Pause between writes, so that under load one commit carries many events rather than one
/// commit per event; it is also the most an event waits to be readable.
const LINGER: Duration = Duration::from_millis(50);
/// Failure kinds with a repeat window open at once; beyond this, failures are queued one by
/// one (and the queue's bound applies).
const MAX_OPEN_WINDOWS: usize = 4096;

/// Auth0's event types for the client credentials exchange.
pub const SUCCESS: &str = "seccft";
pub const FAILURE: &str = "feccft";
/// Auth0's event type for a request refused by a rate limit.
pub const RATE_LIMITED: &str = "api_limit";
/// Auth0's event type for a token quota's share (60, 80, 100 %) reached.
pub const QUOTA_WARNING: &str = "token_quota_consumption_warning";
/// A signet event type: events were dropped because the queue was full or the database
/// refused them; `details.dropped` says how many.
pub const DROPPED: &str = "signet_events_dropped";

/// Longest stored value of each field, in characters. Longer values are cut and end in `…`,
/// which no client id or identifier can contain, so a cut value never names a real one.
const MAX_DESCRIPTION: usize = 256;
const MAX_CLIENT_ID: usize = 64;
const MAX_CLIENT_NAME: usize = 255;
const MAX_AUDIENCE: usize = 600;
const MAX_SCOPE: usize = 1024;
const MAX_IP: usize = 64;
const MAX_USER_AGENT: usize = 256;
/// `details` is our own JSON, small by construction; this is the backstop.
const MAX_DETAILS_BYTES: usize = 2048;

/// How the log bounds itself (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct AuditLimits {
    pub repeat_window: Duration,
    pub written_before_counting: u64,
    pub written_per_address: u64,
}

impl Default for AuditLimits {
    fn default() -> Self {
        Self {
            repeat_window: Duration::from_secs(10),
            written_before_counting: 10,
            written_per_address: 100,
        }
    }
}

/// What one event says; `AuditLog::record` stamps id, order and time.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub kind: &'static str,
    pub description: String,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

pub struct AuditLog {
    queue: mpsc::Sender<LogEvent>,
    seq: AtomicI64,
    /// Events lost since the last [`DROPPED`] event was queued for writing.
    dropped: Arc<AtomicU64>,
    /// Every event lost since start (for metrics).
    dropped_total: Arc<AtomicU64>,
    repeats: Mutex<Repeats>,
    limits: AuditLimits,
    clock: SharedClock,
}

/// A failure seen in a window: the first event, how many were written, and how many counted
/// instead.
struct OpenWindow {
    first: LogEvent,
    written: u64,
    repeats: u64,
    last_at: Millis,
}

impl OpenWindow {
    fn new(first: LogEvent, now: Millis) -> Self {
        Self {
            first,
            written: 1,
            repeats: 0,
            last_at: now,
        }
    }
}

struct Repeats {
    hasher: RandomState,
    /// Per identical failure.
    open: HashMap<u64, OpenWindow>,
    /// Per address and kind: whatever the failures were.
    sources: HashMap<u64, OpenWindow>,
}

/// What a window decided about one event.
enum Verdict {
    /// Write it; `ended` is the window it closed by arriving after its end, if any.
    Write { ended: Option<Box<OpenWindow>> },
    /// Counted into its window instead.
    Counted,
}

/// Counts `event` into its window in `windows` (opening one if there is room), writing at most
/// `limit` a window.
fn count_into(
    windows: &mut HashMap<u64, OpenWindow>,
    key: u64,
    event: &LogEvent,
    now: Millis,
    window: Millis,
    limit: u64,
) -> Verdict {
    let room = windows.len() < MAX_OPEN_WINDOWS;
    match windows.get_mut(&key) {
        Some(open) if now < open.first.date + window => {
            open.last_at = now;
            if open.written < limit {
                open.written += 1;
                return Verdict::Write { ended: None };
            }
            open.repeats += 1;
            Verdict::Counted
        }
        Some(open) => Verdict::Write {
            ended: Some(Box::new(std::mem::replace(
                open,
                OpenWindow::new(event.clone(), now),
            ))),
        },
        None if room => {
            windows.insert(key, OpenWindow::new(event.clone(), now));
            Verdict::Write { ended: None }
        }
        // Every window is taken: the event goes to the queue, whose bound then applies.
        None => Verdict::Write { ended: None },
    }
}

impl AuditLog {
    /// Starts the writer (it ends once every `AuditLog` handle is dropped and the queue is
    /// empty) and the task that closes repeat windows.
    pub fn spawn(
        store: Store,
        limits: AuditLimits,
        clock: SharedClock,
    ) -> (Arc<Self>, JoinHandle<()>) {
        Self::spawn_lingering(store, limits, clock, LINGER)
    }

    fn spawn_lingering(
        store: Store,
        limits: AuditLimits,
        clock: SharedClock,
        linger: Duration,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let dropped_total = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Self {
            queue,
            seq: AtomicI64::new(0),
            dropped: dropped.clone(),
            dropped_total: dropped_total.clone(),
            repeats: Mutex::new(Repeats {
                hasher: RandomState::new(),
                open: HashMap::new(),
                sources: HashMap::new(),
            }),
            limits,
            clock: clock.clone(),
        });
        let writer = Writer {
            store,
            dropped,
            dropped_total,
            clock,
            linger,
        };
        let handle = tokio::spawn(writer.run(rx));
        tokio::spawn(close_windows(Arc::downgrade(&log)));
        (log, handle)
    }

    /// Events dropped since start: the queue was full, or the database refused them.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    /// Events queued and not yet taken by the writer.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Events the queue holds at most; beyond, they are dropped and counted.
    pub fn queue_capacity(&self) -> usize {
        self.queue.max_capacity()
    }

    pub fn record(&self, entry: Entry, now: Millis) {
        let event = self.stamp(entry, now);
        if aggregates(&event.kind) && !self.absorb_repeat(&event, now) {
            return;
        }
        self.enqueue(event);
    }

    fn stamp(&self, entry: Entry, now: Millis) -> LogEvent {
        let mut details = entry.details;
        if crate::domain::log::details_json(&details).len() > MAX_DETAILS_BYTES {
            details = json!({"truncated": true});
        }
        LogEvent {
            id: event_id(now),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            date: now,
            kind: entry.kind.to_owned(),
            description: clip(entry.description, MAX_DESCRIPTION),
            client_id: entry.client_id.map(|v| clip(v, MAX_CLIENT_ID)),
            client_name: entry.client_name.map(|v| clip(v, MAX_CLIENT_NAME)),
            audience: entry.audience.map(|v| clip(v, MAX_AUDIENCE)),
            scope: entry.scope.map(|v| clip(v, MAX_SCOPE)),
            ip: entry.ip.map(|v| clip(v, MAX_IP)),
            user_agent: entry.user_agent.map(|v| clip(v, MAX_USER_AGENT)),
            details,
        }
    }

    /// `true` when the event must be written; `false` when it was counted instead.
    fn absorb_repeat(&self, event: &LogEvent, now: Millis) -> bool {
        let window = self.limits.repeat_window.as_millis() as Millis;
        let ended = {
            let mut guard = self.repeats.lock().unwrap_or_else(|p| p.into_inner());
            let repeats = &mut *guard;
            let same = repeat_key(&repeats.hasher, event);
            let source = source_key(&repeats.hasher, event);
            let limits = self.limits;
            let Verdict::Write { ended: same_ended } = count_into(
                &mut repeats.open,
                same,
                event,
                now,
                window,
                limits.written_before_counting,
            ) else {
                return false;
            };
            let Verdict::Write {
                ended: source_ended,
            } = count_into(
                &mut repeats.sources,
                source,
                event,
                now,
                window,
                limits.written_per_address,
            )
            else {
                return false;
            };
            [
                same_ended.and_then(|w| self.summary(*w, now)),
                source_ended.and_then(|w| self.source_summary(*w, now)),
            ]
        };
        for summary in ended.into_iter().flatten() {
            self.enqueue(summary);
        }
        true
    }

    /// The event that reports a window's repeats, if there were any.
    fn summary(&self, window: OpenWindow, now: Millis) -> Option<LogEvent> {
        if window.repeats == 0 {
            return None;
        }
        let first_at = window.first.date;
        let mut event = window.first;
        event.id = event_id(now);
        event.seq = self.seq.fetch_add(1, Ordering::Relaxed);
        event.date = now;
        if let serde_json::Value::Object(map) = &mut event.details {
            map.insert(
                "repeats".into(),
                json!({
                    "count": window.repeats,
                    "first": format_millis(first_at),
                    "last": format_millis(window.last_at),
                }),
            );
        }
        Some(event)
    }

    /// The event that reports how many failures from one address were counted rather than
    /// written, whatever they were.
    fn source_summary(&self, window: OpenWindow, now: Millis) -> Option<LogEvent> {
        if window.repeats == 0 {
            return None;
        }
        let first = window.first;
        Some(LogEvent {
            id: event_id(now),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            date: now,
            description: format!(
                "More failures from this address than the {} written per {} s",
                self.limits.written_per_address,
                self.limits.repeat_window.as_secs()
            ),
            client_id: None,
            client_name: None,
            audience: None,
            scope: None,
            user_agent: None,
            details: json!({"repeats": {
                "count": window.repeats,
                "first": format_millis(first.date),
                "last": format_millis(window.last_at),
            }}),
            ..first
        })
    }

    /// Writes the repeat counts of windows that ended before `now` (all of them with
    /// `everything`).
    fn close_expired_windows(&self, now: Millis, everything: bool) {
        let window = self.limits.repeat_window.as_millis() as Millis;
        let ended = |windows: &mut HashMap<u64, OpenWindow>| -> Vec<OpenWindow> {
            let keys: Vec<u64> = windows
                .iter()
                .filter(|(_, w)| everything || now >= w.first.date + window)
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| windows.remove(k)).collect()
        };
        let (same, sources) = {
            let mut repeats = self.repeats.lock().unwrap_or_else(|p| p.into_inner());
            (ended(&mut repeats.open), ended(&mut repeats.sources))
        };
        let summaries = same.into_iter().filter_map(|w| self.summary(w, now)).chain(
            sources
                .into_iter()
                .filter_map(|w| self.source_summary(w, now)),
        );
        for summary in summaries {
            self.enqueue(summary);
        }
    }

    /// Never blocks the request that made the event, and never holds more than the queue: when
    /// it is full the event is dropped and counted.
    fn enqueue(&self, event: LogEvent) {
        if self.queue.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.dropped_total.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for AuditLog {
    /// The last handle is going (shutdown): the open windows' counts go to the writer too.
    fn drop(&mut self) {
        self.close_expired_windows(self.clock.now(), true);
    }
}

/// Failures and refusals repeat under attack; successes are each an issued token and are
/// always written one by one.
fn aggregates(kind: &str) -> bool {
    kind == FAILURE || kind == RATE_LIMITED
}

/// Identical failures: same kind, address, client, audience, description and details.
fn repeat_key(hasher: &RandomState, e: &LogEvent) -> u64 {
    hasher.hash_one((
        &e.kind,
        &e.ip,
        &e.client_id,
        &e.audience,
        &e.description,
        &e.scope,
        e.details_json(),
    ))
}

/// All failures of one kind from one address.
fn source_key(hasher: &RandomState, e: &LogEvent) -> u64 {
    hasher.hash_one(("source", &e.kind, &e.ip))
}

/// At most `max` characters, control characters replaced: what every stored field becomes.
fn clip(value: String, max: usize) -> String {
    // Nearly every value is short and clean, and is kept as it came, without a copy. Printable
    // ASCII, the common case, is told by its bytes, a pass the compiler makes vector code of.
    let printable_ascii = value
        .bytes()
        .fold(true, |printable, b| printable & (0x20..0x7f).contains(&b));
    if value.len() <= max && (printable_ascii || !value.chars().any(char::is_control)) {
        return value;
    }
    let clean = |c: char| if c.is_control() { '\u{fffd}' } else { c };
    if value.chars().count() <= max {
        return value.chars().map(clean).collect();
    }
    let mut out: String = value.chars().take(max - 1).map(clean).collect();
    out.push('…');
    out
}

async fn close_windows(log: Weak<AuditLog>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(log) = log.upgrade() else { return };
        log.close_expired_windows(log.clock.now(), false);
    }
}

/// The task that writes queued events in batches.
struct Writer {
    store: Store,
    dropped: Arc<AtomicU64>,
    dropped_total: Arc<AtomicU64>,
    clock: SharedClock,
    /// The pause after a batch that was not full (see [`LINGER`]).
    linger: Duration,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<LogEvent>) {
        let mut batch = Vec::with_capacity(BATCH + 1);
        let mut seq = 0;
        loop {
            // 0 only once every handle is gone and the queue is empty.
            let received = rx.recv_many(&mut batch, BATCH).await;
            let lost_before = self.dropped.swap(0, Ordering::Relaxed);
            if lost_before > 0 {
                seq += 1;
                batch.push(dropped_event(lost_before, seq, self.clock.now()));
            }
            if batch.is_empty() {
                break;
            }
            let lost = write_or_salvage(&self.store, &batch).await;
            if lost > 0 {
                self.dropped.fetch_add(lost, Ordering::Relaxed);
                self.dropped_total.fetch_add(lost, Ordering::Relaxed);
            }
            batch.clear();
            if received == 0 {
                break;
            }
            // A full batch means events arrive faster than one batch per pause: pausing would
            // cap the log at BATCH / LINGER events a second (about 10,000) and let the queue
            // fill until events are dropped, so the next batch is written at once.
            if received < BATCH {
                tokio::time::sleep(self.linger).await;
            }
        }
    }
}

/// An event's id ([`event_log::event_id`]): its date, then random characters, unique but no secret.
fn event_id(now: Millis) -> String {
    event_log::event_id(now, &random::id_base62(event_log::EVENT_ID_UNIQUE_LEN))
}

/// The event that says how many were lost.
fn dropped_event(count: u64, seq: i64, now: Millis) -> LogEvent {
    LogEvent {
        id: event_id(now),
        seq,
        date: now,
        kind: DROPPED.into(),
        description: format!("Audit events dropped: {count}"),
        client_id: None,
        client_name: None,
        audience: None,
        scope: None,
        ip: None,
        user_agent: None,
        details: json!({"dropped": count}),
    }
}

/// Writes the batch; when the database refuses it, once more after a pause (a restart or a
/// lost connection passes), then row by row, so that a row the database cannot take loses
/// only itself. Returns how many events were lost.
async fn write_or_salvage(store: &Store, batch: &[LogEvent]) -> u64 {
    let Err(e) = write(store, batch).await else {
        return 0;
    };
    tracing::warn!(error = %e, events = batch.len(), "audit log write failed; retrying");
    tokio::time::sleep(Duration::from_millis(200)).await;
    if write(store, batch).await.is_ok() {
        return 0;
    }
    let mut lost = 0;
    for event in batch {
        if let Err(e) = write(store, std::slice::from_ref(event)).await {
            tracing::error!(error = %e, log_id = %event.id, "audit event lost");
            lost += 1;
        }
    }
    lost
}

async fn write(store: &Store, batch: &[LogEvent]) -> Result<(), crate::store::StoreError> {
    store
        .with_writer(async |conn| logs::insert_batch(conn, batch).await)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time_util::now_millis;

    fn failure(ip: &str, reason: &str) -> Entry {
        Entry {
            kind: FAILURE,
            description: "Client authentication failed".into(),
            client_id: Some("client-a".into()),
            ip: Some(ip.into()),
            details: json!({"error": "invalid_client", "code": reason}),
            ..Entry::default()
        }
    }

    async fn events(store: &Store) -> Vec<LogEvent> {
        let page = crate::domain::paging::Page::parse(Some(0), Some(100)).unwrap();
        logs::list(
            store.pool(),
            &logs::Filter::default(),
            logs::LogOrder::NewestFirst,
            page,
        )
        .await
        .unwrap()
    }

    #[test]
    fn long_fields_are_cut_and_cleaned() {
        assert_eq!(clip("short".into(), 10), "short");
        assert_eq!(clip("a\0b\nc".into(), 10), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clip("a\u{7f}b\u{85}c~".into(), 10), "a\u{fffd}b\u{fffd}c~");
        assert_eq!(clip(" ~Mozilla/5.0".into(), 20), " ~Mozilla/5.0");
        assert_eq!(
            clip("é".repeat(10), 10),
            "é".repeat(10),
            "ten characters in 20 bytes fit"
        );
        let cut = clip("x".repeat(2000), 64);
        assert_eq!(cut.chars().count(), 64);
        assert!(cut.ends_with('…'));
    }

    #[tokio::test]
    async fn repeated_failures_from_one_address_are_counted_past_the_first_few() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let limits = AuditLimits {
            repeat_window: Duration::from_secs(60),
            written_before_counting: 3,
            written_per_address: 100,
        };
        let (log, writer) = AuditLog::spawn(store.clone(), limits, crate::clock::system());
        let now = now_millis();
        for i in 0..1000 {
            log.record(failure("10.0.0.1", "bad_client_secret"), now + i);
        }
        // A different reason, and another address, are other failures.
        log.record(failure("10.0.0.1", "unknown_client"), now);
        log.record(failure("10.0.0.2", "bad_client_secret"), now);
        drop(log);
        writer.await.unwrap();
        let written = events(&store).await;
        // Three written as they came, one counting the other 997, and the two others.
        assert_eq!(written.len(), 6, "{written:#?}");
        let summary = written
            .iter()
            .find(|e| e.details.get("repeats").is_some())
            .expect("a summary event");
        assert_eq!(summary.details["repeats"]["count"], 997);
        assert_eq!(summary.ip.as_deref(), Some("10.0.0.1"));
    }

    #[tokio::test]
    async fn a_row_the_database_refuses_loses_only_itself_and_is_counted() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        crate::store::refuse_poison(&store, "logs", "description").await;
        let (log, writer) = AuditLog::spawn(
            store.clone(),
            AuditLimits::default(),
            crate::clock::system(),
        );
        let now = now_millis();
        for description in ["first", "poison", "last"] {
            log.record(
                Entry {
                    kind: SUCCESS,
                    description: description.into(),
                    ..Entry::default()
                },
                now,
            );
        }
        drop(log);
        writer.await.unwrap();
        let mut written: Vec<String> = events(&store)
            .await
            .into_iter()
            .map(|e| e.description)
            .collect();
        written.sort();
        assert_eq!(written, ["Audit events dropped: 1", "first", "last"]);
    }

    #[tokio::test]
    async fn failures_from_one_address_are_counted_past_a_cap_however_they_vary() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let limits = AuditLimits {
            repeat_window: Duration::from_secs(60),
            written_before_counting: 10,
            written_per_address: 20,
        };
        let (log, writer) = AuditLog::spawn(store.clone(), limits, crate::clock::system());
        let now = now_millis();
        for i in 0..500 {
            let mut e = failure("10.0.0.9", "unknown_client");
            e.client_id = Some(format!("made-up-{i}"));
            log.record(e, now + i);
        }
        log.record(failure("10.0.0.8", "unknown_client"), now);
        drop(log);
        writer.await.unwrap();
        let written = events(&store).await;
        // Twenty as they came, one counting the other 480, and the other address's one.
        assert_eq!(written.len(), 22, "{written:#?}");
        let summary = written
            .iter()
            .find(|e| e.details.get("repeats").is_some())
            .expect("a summary event");
        assert_eq!(summary.details["repeats"]["count"], 480);
        assert_eq!(summary.ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(summary.kind, FAILURE);
        assert_eq!(summary.client_id, None);
    }

    /// Successes are never aggregated: each takes its own place in the queue.
    fn record_successes(log: &AuditLog, count: usize, now: Millis) {
        for _ in 0..count {
            log.record(
                Entry {
                    kind: SUCCESS,
                    description: "Client Credentials for Access Token".into(),
                    ..Entry::default()
                },
                now,
            );
        }
    }

    #[tokio::test]
    async fn a_backlog_is_written_without_pausing_between_full_batches() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        // A pause far longer than the test may take: only a writer that skips it after a full
        // batch can write the whole backlog.
        let (log, _writer) = AuditLog::spawn_lingering(
            store.clone(),
            AuditLimits::default(),
            crate::clock::system(),
            Duration::from_secs(3600),
        );
        let now = now_millis();
        let sent = 2 * BATCH + 1;
        record_successes(&log, sent, now);
        let all = logs::Filter::default();
        let written = async {
            while logs::count(store.pool(), &all).await.unwrap() < sent as i64 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        // A guard against hanging for the hour, not a measure of speed.
        tokio::time::timeout(Duration::from_secs(120), written)
            .await
            .expect("the backlog was written without the pause after each full batch");
        assert_eq!(log.dropped_total(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_buffering() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let (log, writer) = AuditLog::spawn(
            store.clone(),
            AuditLimits::default(),
            crate::clock::system(),
        );
        let now = now_millis();
        // The writer (a task on this test's runtime) cannot run while this loop holds the
        // thread.
        let sent = QUEUE + 500;
        record_successes(&log, sent, now);
        assert_eq!(log.dropped_total(), 500);
        // What `/metrics` shows of the queue: full.
        assert_eq!(log.queue_capacity(), QUEUE);
        assert_eq!(log.queue_depth(), QUEUE);
        drop(log);
        writer.await.unwrap();
        let all = logs::Filter::default();
        assert_eq!(
            logs::count(store.pool(), &all).await.unwrap(),
            QUEUE as i64 + 1
        );
        let dropped = logs::Filter {
            kind: Some(DROPPED.into()),
            ..logs::Filter::default()
        };
        let page = crate::domain::paging::Page::parse(Some(0), Some(10)).unwrap();
        let reported = logs::list(store.pool(), &dropped, logs::LogOrder::NewestFirst, page)
            .await
            .unwrap();
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].details["dropped"], 500);
    }
}
