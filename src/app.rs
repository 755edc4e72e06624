//! Wiring: settings → store → bootstrap → router, bound to a listener, served until a shutdown
//! signal with in-flight requests finished.

mod metrics;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::admins::admin::{self, CreatedAdmin};
use crate::audit::{AuditLimits, AuditLog};
use crate::clock::SharedClock;
use crate::config::{HttpLimits, ListenAddr, LogRetention, MasterKeySource, Settings};
use crate::crypto::sealing::MasterKey;
use crate::domain::issuer::Issuer;
use crate::http::server::Front;
use crate::http::server::tls::Tls;
use crate::http::{AppState, Shared, build_app, discovery};
use crate::jwks_uri::KeySets;
use crate::oauth::cache::TokenCache;
use crate::oauth::replay::ReplayGuard;
use crate::oauth::token::{Recorders, TokenIssuer};
use crate::rate_limit::RateLimiters;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::tenant::bootstrap::{self, CreatedBootstrapClient};
use crate::time_util::Millis;

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    http_limits: HttpLimits,
    front: Front,
    state: AppState,
    audit_writer: JoinHandle<()>,
    log_retention: LogRetention,
    /// Set when this start created the bootstrap client; its secret is shown once.
    pub created_bootstrap_client: Option<CreatedBootstrapClient>,
    /// Set when this start created the dashboard administrator with a generated password.
    pub created_admin: Option<CreatedAdmin>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, crate::clock::system()).await
    }

    /// As [`Application::build`], reading the time from `clock` (tests move it by hand).
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let tls = match settings.tls {
            Some(files) => Some(Arc::new(Tls::load(files).context("cannot serve HTTPS")?)),
            None => None,
        };
        let listener = settings
            .listen
            .bind()
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let metrics_listener = metrics::bind(&settings.metrics).await?;
        let issuer = match settings.issuer {
            Some(issuer) => issuer,
            None => default_issuer(&settings.listen, listener.local_addr()?, tls.is_some())?,
        };
        let store = Store::connect(&settings.database_url)
            .await
            .context("cannot open the database")?;
        // Before any key file is created: a database that already holds sealed data needs the
        // key it was sealed with, and a fresh key would only leave a useless file behind.
        let holds_sealed_data = store
            .holds_sealed_data()
            .await
            .context("cannot read the database")?;
        let master_key = load_master_key(&settings.master_key, holds_sealed_data)?;
        if settings.key_urls.allow_insecure {
            tracing::warn!(
                "--allow-insecure-key-urls is on: jwks_uri credentials may use plain http and \
                 loopback, private and link-local addresses; anyone who can manage an \
                 application can make this server send requests into its own network. Use it \
                 for tests and labs only"
            );
        }
        let tenant = Tenant {
            key_sets: KeySets::new(store.clone(), clock.clone(), settings.key_urls),
            store,
            master_key: Arc::new(master_key),
            issuer: issuer.clone(),
        };
        let booted = bootstrap::run(&tenant, settings.bootstrap.as_ref(), clock.now())
            .await
            .context("cannot prepare the tenant")?;
        let hashing = Arc::new(admin::Hashing::default());
        let created_admin = admin::ensure(
            &tenant.store,
            &hashing,
            &settings.admin_email,
            settings.admin_password.as_ref(),
            clock.now(),
        )
        .await
        .context("cannot prepare the dashboard administrator")?;
        let keys = Arc::new(booted.keys);
        let (audit, audit_writer) =
            AuditLog::spawn(tenant.store.clone(), AuditLimits::default(), clock.clone());
        let limits = Arc::new(RateLimiters::new(&settings.limits));
        // The writer stops by itself once the token issuer (its only handle) is dropped.
        let (replay, _writer) = ReplayGuard::start(tenant.store.clone(), clock.now())
            .await
            .context("cannot read the used assertion ids")?;
        let state = AppState::new(Shared {
            token_issuer: Arc::new(TokenIssuer::new(
                issuer.clone(),
                settings.accept_legacy_assertion_audience,
                keys.clone(),
                tenant.store.clone(),
                TokenCache::new(
                    tenant.store.clone(),
                    tenant.master_key.clone(),
                    tenant.key_sets.clone(),
                ),
                Recorders { audit, replay },
                limits.clone(),
            )),
            limits,
            hashing,
            clock,
            management_audience: issuer.management_audience(),
            discovery_document: Arc::new(discovery::document(&issuer)),
            keys,
            tenant,
            readiness: crate::http::health::Readiness::new(),
            metrics_public: metrics_listener.is_none(),
        });
        Ok(Self {
            listener,
            metrics_listener,
            http_limits: settings.http,
            front: Front {
                tls,
                trusted_proxies: settings.trusted_proxies,
            },
            state,
            audit_writer,
            log_retention: settings.log_retention,
            created_bootstrap_client: booted.created_client,
            created_admin,
        })
    }

    /// Whether `--tls-cert` is served (SIGHUP then reloads it).
    pub fn serves_tls(&self) -> bool {
        self.front.tls.is_some()
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
            tokio::spawn(prune_expired(
                store.clone(),
                self.state.token_issuer.replay.clone(),
                self.log_retention,
                self.state.clock.clone(),
            )),
            tokio::spawn(checkpoint_wal(store.clone())),
            tokio::spawn(limit_housekeeping(self.state.limits.clone())),
            tokio::spawn(sync_quotas(
                self.state.token_issuer.clone(),
                self.state.clock.clone(),
            )),
        ];
        // Readiness fails first: at the signal `/readyz` turns 503 while the listener stays open
        // for the drain, so a load balancer stops routing here before connections are refused.
        let readiness = self.state.readiness.clone();
        let drain = self.http_limits.shutdown_drain;
        let shutdown = async move {
            shutdown.await;
            readiness.begin_shutdown();
            if !drain.is_zero() {
                tracing::info!(?drain, "not ready any more; still serving during the drain");
                tokio::time::sleep(drain).await;
            }
        };
        let (shutdown, metrics_server) = metrics::serve_apart(
            self.metrics_listener,
            &self.state,
            &self.http_limits,
            shutdown,
        );
        let served = crate::http::server::serve(
            self.listener,
            build_app(self.state),
            &self.http_limits,
            self.front,
            shutdown,
        )
        .await;
        metrics_server.finished().await;
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

/// Idle rate-limit state is dropped every few seconds, so memory follows the addresses that
/// are active, not every address ever seen.
async fn limit_housekeeping(limits: Arc<RateLimiters>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        limits.housekeeping();
    }
}

/// Token quota counts are shared with the other instances about once a second.
async fn sync_quotas(issuer: Arc<TokenIssuer>, clock: SharedClock) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = issuer.quotas.sync(clock.now()).await {
            tracing::warn!(error = %e, "could not share the token quota counts");
        }
    }
}

/// Counts of quota windows are kept a day past the longest window, then pruned.
const QUOTA_USAGE_KEPT: Millis = 2 * 86_400_000;

/// Removes used assertion ids past their expiry, audit events past the retention (by age, and
/// beyond the most kept) and ended quota windows, in small batches, off the request path:
/// no table grows without bound; and on SQLite the used ids kept in memory.
async fn prune_expired(
    store: Store,
    replay: ReplayGuard,
    retention: LogRetention,
    clock: SharedClock,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = clock.now();
        replay.forget_expired(now);
        if let Some(ids) = replay.remembered() {
            crate::metrics::used_jtis_in_memory(ids);
        }
        prune_once(&store, retention, now).await;
    }
}

async fn prune_once(store: &Store, retention: LogRetention, now: Millis) {
    prune_in_batches(store, Prunable::UsedJtis { now }).await;
    metrics::count_used_jtis(store).await;
    let by_age = now - retention.max_age.as_millis() as i64;
    let by_count = match crate::store::logs::date_beyond(store.pool(), retention.max_events).await {
        Ok(date) => date,
        Err(e) => {
            tracing::warn!(error = %e, "could not find the audit log's size cut-off");
            None
        }
    };
    let before = by_count.map_or(by_age, |date| date.max(by_age));
    prune_in_batches(store, Prunable::AuditEvents { before }).await;
    prune_in_batches(
        store,
        Prunable::QuotaWindows {
            before: now - QUOTA_USAGE_KEPT,
        },
    )
    .await;
}

/// What the background pruning removes, and what it has expired before.
#[derive(Clone, Copy)]
enum Prunable {
    UsedJtis { now: Millis },
    AuditEvents { before: Millis },
    QuotaWindows { before: Millis },
}

/// Deletes in small batches, each in its own write turn, so token requests never wait long:
/// on PostgreSQL used ids sit at random places in their table's key, and on SQLite 1,000 of
/// them took 8-10 ms to delete from 600,000 when it was keyed the same way, against 2 ms for 256.
async fn prune_in_batches(store: &Store, what: Prunable) {
    const BATCH: i64 = 256;
    loop {
        let pruned = store
            .with_writer(async |conn| match what {
                Prunable::UsedJtis { now } => crate::store::replay::prune(conn, now, BATCH).await,
                Prunable::AuditEvents { before } => {
                    crate::store::logs::prune(conn, before, BATCH).await
                }
                Prunable::QuotaWindows { before } => {
                    crate::store::token_quota::prune(conn, before, BATCH).await
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
                    Prunable::QuotaWindows { .. } => "ended token quota windows",
                };
                tracing::warn!(error = %e, "could not prune {what}");
                break;
            }
        }
    }
}

/// `http://<listen>/` (`https://` with TLS) when `--issuer` is not set: the host as written
/// when it is a name (so `localhost:8080` gives `http://localhost:8080/`), else the bound
/// address (its real port when the port asked for was 0).
fn default_issuer(listen: &ListenAddr, bound: SocketAddr, tls: bool) -> anyhow::Result<Issuer> {
    let scheme = if tls { "https" } else { "http" };
    let authority = if listen.is_name() {
        format!("{}:{}", listen.host(), bound.port())
    } else {
        bound.to_string()
    };
    Issuer::parse(&format!("{scheme}://{authority}/")).map_err(anyhow::Error::msg)
}

/// The master key from SIGNET_MASTER_KEY, or from its key file, created (mode 0600) on first
/// start, and only then: when the database already holds sealed data, a missing file is an
/// error. Servers starting together all end up with the same key (see [`create_key_file`]).
fn load_master_key(source: &MasterKeySource, holds_sealed_data: bool) -> anyhow::Result<MasterKey> {
    match source {
        MasterKeySource::Inline(secret) => {
            MasterKey::from_base64(secret.expose()).context("invalid SIGNET_MASTER_KEY")
        }
        MasterKeySource::File(path) => {
            if !path.exists() {
                if holds_sealed_data {
                    anyhow::bail!(
                        "the master key file {} does not exist, but the database holds data \
                         sealed with a master key: restore the file from its backup or set \
                         SIGNET_MASTER_KEY (no new key was created)",
                        path.display()
                    );
                }
                create_key_file(path)?;
            }
            warn_if_others_can_read(path);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the master key file {}", path.display()))?;
            MasterKey::from_base64(&text)
                .with_context(|| format!("invalid master key in {}", path.display()))
        }
    }
}

/// The master key opens every secret in the database: a key file others can read is worth a
/// loud warning at every start (not a refusal, which would take a running service down on an
/// upgrade; `docs/DEPLOYMENT.md` shows the mode to use).
fn warn_if_others_can_read(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the master key file can be read by other users, and it opens every secret \
                     in the database: chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes a new key to a file of its own, then links it into place. The link either creates
/// `path` with the whole key in it or fails because `path` exists, so a server starting at the
/// same moment never reads a file another one has created but not yet written; the loser of
/// the race reads the winner's key.
fn create_key_file(path: &Path) -> anyhow::Result<()> {
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut draft_name = file_name.to_os_string();
    draft_name.push(format!(".{}.new", crate::crypto::random::hex(8)));
    let draft = path.with_file_name(draft_name);
    let written = (|| -> std::io::Result<()> {
        let mut file = crate::private_file::create_new(&draft)?;
        file.write_all(MasterKey::generate_base64().as_bytes())?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new master key file; back it up");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the master key file {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::log::LogEvent;

    /// An event named `name` (its description), of date `date`.
    fn event(name: &str, date: Millis) -> LogEvent {
        let unique = format!("{:x>16}", name.replace('-', ""));
        LogEvent {
            id: crate::domain::log::event_id(date, &unique),
            seq: 0,
            date,
            kind: "seccft".into(),
            description: name.into(),
            client_id: None,
            client_name: None,
            audience: None,
            scope: None,
            ip: None,
            user_agent: None,
            details: serde_json::Value::Null,
        }
    }

    async fn kept(store: &Store) -> Vec<String> {
        let mut ids: Vec<String> = sqlx::query_scalar("SELECT description FROM logs")
            .fetch_all(store.pool())
            .await
            .unwrap();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn retention_prunes_only_what_is_older_than_the_window_or_beyond_the_cap() {
        const DAY: Millis = 86_400_000;
        let (store, _dir) = crate::store::temp_sqlite().await;
        let now: Millis = 1_800_000_000_000;
        // 600 events past the 30-day window (more than one batch), and some just inside it.
        let mut events: Vec<LogEvent> = (0..600)
            .map(|i| event(&format!("old-{i:03}"), now - 31 * DAY - i))
            .collect();
        events.push(event("edge-inside", now - 30 * DAY + 1_000));
        events.push(event("recent-1", now - DAY));
        events.push(event("recent-2", now - 1));
        store
            .with_writer(async |conn| crate::store::logs::insert_batch(conn, &events).await)
            .await
            .unwrap();

        let retention = LogRetention {
            max_age: Duration::from_secs(30 * 86_400),
            max_events: 1_000,
        };
        prune_once(&store, retention, now).await;
        assert_eq!(kept(&store).await, ["edge-inside", "recent-1", "recent-2"]);

        // The cap by count keeps about that many: those newer than the first event beyond the
        // cap, and that event itself.
        let capped = LogRetention {
            max_events: 1,
            ..retention
        };
        prune_once(&store, capped, now).await;
        assert_eq!(kept(&store).await, ["recent-1", "recent-2"]);
    }

    #[test]
    fn servers_creating_the_key_file_at_once_all_read_the_same_key() {
        for round in 0..100 {
            let dir = tempfile::tempdir().unwrap();
            let source = MasterKeySource::File(dir.path().join("signet.key"));
            let start = Arc::new(std::sync::Barrier::new(4));
            let loaded: Vec<MasterKey> = (0..4)
                .map(|_| {
                    let (source, start) = (source.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        load_master_key(&source, false)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("round {round}: {e:#}"))
                })
                .collect();
            let sealed = loaded[0].seal(b"probe", "test");
            for key in &loaded[1..] {
                assert_eq!(
                    key.open(&sealed, "test").unwrap(),
                    b"probe",
                    "round {round}"
                );
            }
            // Nothing is left behind but the key file.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }
}
