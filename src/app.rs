//! Wiring: settings → store → bootstrap → router, bound to a listener, served until a shutdown
//! signal with in-flight requests finished.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::audit::AuditLog;
use crate::config::{HttpLimits, MasterKeySource, Settings};
use crate::crypto::sealing::MasterKey;
use crate::dashboard::admin::{self, CreatedAdmin};
use crate::domain::issuer::Issuer;
use crate::http::{AppState, build_router, discovery};
use crate::management::Tenant;
use crate::management::bootstrap::{self, CreatedBootstrapClient};
use crate::oauth::cache::TokenCache;
use crate::oauth::token::TokenIssuer;
use crate::store::Store;
use crate::time_util::{Millis, now_millis};

pub struct Application {
    listener: TcpListener,
    http_limits: HttpLimits,
    state: AppState,
    audit_writer: JoinHandle<()>,
    /// Set when this start created the bootstrap client; its secret is shown once.
    pub created_bootstrap_client: Option<CreatedBootstrapClient>,
    /// Set when this start created the dashboard administrator with a generated password.
    pub created_admin: Option<CreatedAdmin>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let master_key = load_master_key(&settings.master_key)?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let issuer = match settings.issuer {
            Some(issuer) => issuer,
            None => Issuer::parse(&format!("http://{}/", listener.local_addr()?))
                .map_err(anyhow::Error::msg)?,
        };
        let store = Store::connect(&settings.database_url)
            .await
            .context("cannot open the database")?;
        let tenant = Tenant {
            store,
            master_key: Arc::new(master_key),
            issuer: issuer.clone(),
        };
        let booted = bootstrap::run(&tenant, settings.bootstrap.as_ref(), now_millis())
            .await
            .context("cannot prepare the tenant")?;
        let created_admin = admin::ensure(
            &tenant.store,
            &settings.admin_email,
            settings.admin_password.as_ref(),
            now_millis(),
        )
        .await
        .context("cannot prepare the dashboard administrator")?;
        let keys = Arc::new(booted.keys);
        let (audit, audit_writer) = AuditLog::spawn(tenant.store.clone());
        let state = AppState {
            token_issuer: Arc::new(TokenIssuer::new(
                issuer.clone(),
                settings.accept_legacy_assertion_audience,
                keys.clone(),
                tenant.store.clone(),
                TokenCache::new(tenant.store.clone(), tenant.master_key.clone()),
                audit,
            )),
            management_audience: issuer.management_audience(),
            discovery_document: Arc::new(discovery::document(&issuer)),
            jwks: Arc::new(keys.jwks()),
            keys,
            tenant,
        };
        Ok(Self {
            listener,
            http_limits: settings.http,
            state,
            audit_writer,
            created_bootstrap_client: booted.created_client,
            created_admin,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn issuer(&self) -> &Issuer {
        &self.state.tenant.issuer
    }

    /// Serves until `shutdown` completes, then waits for in-flight requests, writes the queued
    /// audit events and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.tenant.store.clone();
        let maintenance = [
            tokio::spawn(watch_changes(store.clone())),
            tokio::spawn(prune_expired(store.clone())),
            tokio::spawn(checkpoint_wal(store.clone())),
        ];
        let router = build_router(self.state);
        let served =
            crate::http::server::serve(self.listener, router, &self.http_limits, shutdown).await;
        for task in maintenance {
            task.abort();
        }
        // Every handle to the audit log went with the router: the writer drains and stops.
        let _ = self.audit_writer.await;
        store.close().await;
        served
    }
}

/// How often each instance reads the shared change counter: the bound on how long another
/// instance's cached view of clients, credentials and grants can be stale.
pub const CHANGE_POLL: Duration = Duration::from_millis(250);

async fn watch_changes(store: Store) {
    let mut tick = tokio::time::interval(CHANGE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = store.poll_changes().await {
            tracing::warn!(error = %e, "could not read the change counter");
        }
    }
}

/// SQLite's write-ahead log is copied back every second, off the request path (see
/// `Store::checkpoint`); with PostgreSQL this returns at once.
async fn checkpoint_wal(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.checkpoint().await {
            Ok(None) => return,
            Ok(Some(_)) => {}
            Err(e) => tracing::warn!(error = %e, "could not checkpoint the SQLite log"),
        }
    }
}

/// Audit events are kept this long.
pub const LOG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Removes used assertion ids past their expiry and old audit events, in small batches, off
/// the request path: neither table grows without bound.
async fn prune_expired(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_millis();
        prune_in_batches(&store, Prunable::UsedJtis { now }).await;
        let before = now - LOG_RETENTION.as_millis() as i64;
        prune_in_batches(&store, Prunable::AuditEvents { before }).await;
    }
}

/// What the background pruning removes, and what it has expired before.
#[derive(Clone, Copy)]
enum Prunable {
    UsedJtis { now: Millis },
    AuditEvents { before: Millis },
}

/// Deletes in small batches, each in its own write turn, so token requests never wait long:
/// used ids sit at random places in their table, and on SQLite 1,000 of them took 8-10 ms to
/// delete from 600,000, against 2 ms for 256.
async fn prune_in_batches(store: &Store, what: Prunable) {
    const BATCH: i64 = 256;
    loop {
        let pruned = store
            .with_writer(async |conn| match what {
                Prunable::UsedJtis { now } => crate::store::replay::prune(conn, now, BATCH).await,
                Prunable::AuditEvents { before } => {
                    crate::store::logs::prune(conn, before, BATCH).await
                }
            })
            .await;
        match pruned {
            Ok(n) if n as i64 == BATCH => tokio::task::yield_now().await,
            Ok(_) => break,
            Err(e) => {
                let what = match what {
                    Prunable::UsedJtis { .. } => "used assertion ids",
                    Prunable::AuditEvents { .. } => "old audit events",
                };
                tracing::warn!(error = %e, "could not prune {what}");
                break;
            }
        }
    }
}

/// The master key from SIGNET_MASTER_KEY, or from its key file, created (mode 0600) on first
/// start. Two servers creating it at once: the loser reads the winner's file.
fn load_master_key(source: &MasterKeySource) -> anyhow::Result<MasterKey> {
    match source {
        MasterKeySource::Inline(secret) => {
            MasterKey::from_base64(secret.expose()).context("invalid SIGNET_MASTER_KEY")
        }
        MasterKeySource::File(path) => {
            if !path.exists() {
                create_key_file(path)?;
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the master key file {}", path.display()))?;
            MasterKey::from_base64(&text)
                .with_context(|| format!("invalid master key in {}", path.display()))
        }
    }
}

fn create_key_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(MasterKey::generate_base64().as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new master key file; back it up");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the master key file {}", path.display()))
        }
    }
}
