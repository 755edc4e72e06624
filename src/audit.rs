//! The audit log writer: token endpoint events are queued in memory and written in batches by a
//! background task, so recording them adds no database write to the request path. On shutdown
//! the queue is drained before the server exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::crypto::random;
use crate::store::Store;
use crate::store::logs::{self, LogEvent};
use crate::time_util::Millis;

const QUEUE: usize = 64 * 1024;
const BATCH: usize = 512;
/// Pause between writes, so that under load one commit carries many events rather than one
/// commit per event; it is also the most an event waits to be readable.
const LINGER: Duration = Duration::from_millis(50);

/// Auth0's event types for the client credentials exchange.
pub const SUCCESS: &str = "seccft";
pub const FAILURE: &str = "feccft";

pub struct AuditLog {
    queue: mpsc::Sender<LogEvent>,
    seq: AtomicI64,
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

impl AuditLog {
    /// Starts the writer; it ends once every `AuditLog` handle is dropped and the queue is empty.
    pub fn spawn(store: Store) -> (Arc<Self>, JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let handle = tokio::spawn(write_batches(store, rx));
        (
            Arc::new(Self {
                queue,
                seq: AtomicI64::new(0),
            }),
            handle,
        )
    }

    pub fn record(&self, entry: Entry, now: Millis) {
        let event = LogEvent {
            // Time first: ids follow the order of events, so new index entries go at the end.
            id: format!("log_{now:013}{}", random::base62(16)),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            date: now,
            kind: entry.kind.to_owned(),
            description: entry.description,
            client_id: entry.client_id,
            client_name: entry.client_name,
            audience: entry.audience,
            scope: entry.scope,
            ip: entry.ip,
            user_agent: entry.user_agent,
            details: entry.details,
        };
        if let Err(mpsc::error::TrySendError::Full(event)) = self.queue.try_send(event) {
            // Never block a token request on the log, and never drop an event: wait elsewhere.
            let queue = self.queue.clone();
            tokio::spawn(async move {
                let _ = queue.send(event).await;
            });
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<LogEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(e) = write(&store, &batch).await {
            tracing::error!(error = %e, events = batch.len(), "audit log write failed; retrying once");
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Err(e) = write(&store, &batch).await {
                tracing::error!(error = %e, events = batch.len(), "audit log events lost");
            }
        }
        batch.clear();
        tokio::time::sleep(LINGER).await;
    }
}

async fn write(store: &Store, batch: &[LogEvent]) -> Result<(), crate::store::StoreError> {
    store
        .with_writer(async |conn| logs::insert_batch(conn, batch).await)
        .await
}
