//! Prometheus metrics (`GET /metrics`, every one listed in `docs/METRICS.md`): the one recorder
//! of the process, installed on first use, and what each part of the server records into it.
//!
//! Every label value comes from a fixed set of `&'static str` (a reason code, an auth method, a
//! route template), never from a client id, a raw path or any other caller-chosen text, so the
//! number of series stays bounded whatever the traffic. On the token path a recording costs an
//! atomic add on a handle registered once: no allocation and no lookup by name.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, Label, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const BUILD_INFO: &str = "signet_build_info";
pub const TOKEN_REQUESTS: &str = "signet_token_requests_total";
pub const TOKEN_DURATION: &str = "signet_token_request_duration_seconds";
pub const MANAGEMENT_REQUESTS: &str = "signet_management_requests_total";
pub const REPLAY_BATCH_SIZE: &str = "signet_replay_batch_size";
pub const REPLAY_WAIT: &str = "signet_replay_wait_seconds";
pub const CACHE_LOOKUPS: &str = "signet_cache_lookups_total";
pub const DB_CONNECTIONS: &str = "signet_db_connections";
pub const DB_CONNECTIONS_MAX: &str = "signet_db_connections_max";
pub const DB_ERRORS: &str = "signet_db_errors_total";
pub const AUDIT_QUEUE_DEPTH: &str = "signet_audit_queue_depth";
pub const AUDIT_QUEUE_CAPACITY: &str = "signet_audit_queue_capacity";
pub const AUDIT_DROPPED: &str = "signet_audit_events_dropped_total";
pub const SIGNING_KEY_AGE: &str = "signet_signing_key_age_seconds";
pub const RETENTION_PRUNED: &str = "signet_retention_pruned_total";
pub const USED_JTIS: &str = "signet_used_jtis";
pub const USED_JTIS_IN_MEMORY: &str = "signet_used_jtis_in_memory";
pub const JWKS_FETCHES: &str = "signet_jwks_fetches_total";

/// Token latency: from half a millisecond (a refusal, or an HS256 token) to a second (a server
/// far behind). An RS256 token takes 0.5–2 ms alone and tens of milliseconds under full load.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// The replay guard's wait: a lone request waits for one insert and commit (a fraction of a
/// millisecond); under load, for the batch ahead of its own.
const WAIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Ids per statement, up to the guard's `MAX_BATCH` (256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often histogram samples are folded into their buckets when no one scrapes: without it
/// the samples of an unscraped server would pile up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed by the first caller. Servers started in one process (the
/// tests start many) share it: counters add up across them.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(TOKEN_DURATION.into()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(REPLAY_WAIT.into()), WAIT_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(REPLAY_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .expect("the bucket lists are constant and not empty")
            .build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder was installed first: /metrics shows none of signet's metrics"
            );
        }
        describe();
        ::metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread; histograms are folded at each scrape only");
        }
        handle
    })
}

/// Installs the recorder and registers the series whose labels are known in advance, so that
/// the first scrape already shows them at zero: a rate over a series that appears only with its
/// first event misses that event.
pub fn init() {
    handle();
    LazyLock::force(&TOKEN_ISSUED_TIME);
    LazyLock::force(&TOKEN_REFUSED_TIME);
    LazyLock::force(&REPLAY_BATCHES);
    LazyLock::force(&REPLAY_WAITS);
    LazyLock::force(&CLIENT_CACHE);
    LazyLock::force(&GRANT_CACHE);
    LazyLock::force(&PRUNED);
    LazyLock::force(&USED_JTI_ROWS);
}

/// Everything recorded so far, in Prometheus' text format (version 0.0.4).
pub fn render() -> String {
    handle().render()
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label names the running build"
    );
    describe_counter!(
        TOKEN_REQUESTS,
        "Token endpoint requests by outcome (issued, refused), client authentication method and refusal reason code"
    );
    describe_histogram!(
        TOKEN_DURATION,
        Unit::Seconds,
        "Time from a token request's arrival at the endpoint to its answer, by outcome"
    );
    describe_counter!(
        MANAGEMENT_REQUESTS,
        "Management API requests by HTTP method, route template and status code"
    );
    describe_histogram!(
        REPLAY_BATCH_SIZE,
        "Assertion ids recorded by one statement of the replay guard (group commit)"
    );
    describe_histogram!(
        REPLAY_WAIT,
        Unit::Seconds,
        "Time from a token request handing its assertion id to the replay guard to the guard's answer"
    );
    describe_counter!(
        CACHE_LOOKUPS,
        "Token-path cache lookups by cache (client, grant) and result (hit, miss)"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections by state (in_use, idle), sampled at each scrape"
    );
    describe_gauge!(DB_CONNECTIONS_MAX, "The database pool's largest size");
    describe_counter!(DB_ERRORS, "Database errors by kind");
    describe_gauge!(
        AUDIT_QUEUE_DEPTH,
        "Audit events queued in memory for the background writer, sampled at each scrape"
    );
    describe_gauge!(
        AUDIT_QUEUE_CAPACITY,
        "Audit events the queue holds at most; beyond, events are dropped"
    );
    describe_counter!(
        AUDIT_DROPPED,
        "Audit events dropped because the queue was full or the database refused them"
    );
    describe_gauge!(
        SIGNING_KEY_AGE,
        Unit::Seconds,
        "Time since the current access-token signing key became current, sampled at each scrape"
    );
    describe_counter!(
        RETENTION_PRUNED,
        "Rows deleted by the background pruning, by table (audit_events, used_jtis)"
    );
    describe_gauge!(
        USED_JTIS,
        "Rows in the used assertion id table, counted every 30 seconds after pruning"
    );
    describe_gauge!(
        USED_JTIS_IN_MEMORY,
        "Used assertion ids this server keeps in memory (SQLite), counted every 30 seconds"
    );
    describe_counter!(
        JWKS_FETCHES,
        "Fetches of jwks_uri key sets by result (ok, or why it failed)"
    );
}

/// Counters of one metric told apart by a few labels whose values come from fixed sets. Each
/// combination is registered on first use and kept: recording costs a hash of a few static
/// strings under a read lock, without allocating.
struct CounterFamily<const N: usize> {
    name: &'static str,
    labels: [&'static str; N],
    counters: RwLock<HashMap<[&'static str; N], Counter>>,
}

impl<const N: usize> CounterFamily<N> {
    fn new(name: &'static str, labels: [&'static str; N]) -> Self {
        handle();
        Self {
            name,
            labels,
            counters: RwLock::new(HashMap::new()),
        }
    }

    fn increment(&self, values: [&'static str; N], by: u64) {
        let known = self.counters.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(counter) = known.get(&values) {
            counter.increment(by);
            return;
        }
        drop(known);
        let labels: Vec<Label> = self
            .labels
            .iter()
            .zip(values)
            .map(|(&key, value)| Label::from_static_parts(key, value))
            .collect();
        let counter = ::metrics::counter!(self.name, labels);
        counter.increment(by);
        self.counters
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(values)
            .or_insert(counter);
    }
}

fn registered<T>(register: impl FnOnce() -> T) -> T {
    handle();
    register()
}

// ---- Token endpoint ----------------------------------------------------------------------------

static TOKEN_COUNTS: LazyLock<CounterFamily<3>> =
    LazyLock::new(|| CounterFamily::new(TOKEN_REQUESTS, ["outcome", "method", "reason"]));

/// One answered token request: `outcome` is `issued` or `refused`, `method` the client
/// authentication method tried (`none` when the request did not get that far), `reason` the
/// refusal's reason code (`none` for a token).
pub fn token_request(outcome: &'static str, method: &'static str, reason: &'static str) {
    TOKEN_COUNTS.increment([outcome, method, reason], 1);
}

static TOKEN_ISSUED_TIME: LazyLock<Histogram> =
    LazyLock::new(|| registered(|| ::metrics::histogram!(TOKEN_DURATION, "outcome" => "issued")));
static TOKEN_REFUSED_TIME: LazyLock<Histogram> =
    LazyLock::new(|| registered(|| ::metrics::histogram!(TOKEN_DURATION, "outcome" => "refused")));

pub fn token_duration(issued: bool, took: Duration) {
    let histogram = if issued {
        &TOKEN_ISSUED_TIME
    } else {
        &TOKEN_REFUSED_TIME
    };
    histogram.record(took.as_secs_f64());
}

// ---- Management API --------------------------------------------------------------------------

/// One Management API request. `route` is the matched route template (`/api/v2/clients/{id}`),
/// or `unmatched`. The route and status are owned strings here: these requests are limited per
/// caller and each reads the database, so a small allocation does not show.
pub fn management_request(method: &'static str, route: String, status: String) {
    handle();
    ::metrics::counter!(MANAGEMENT_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
}

// ---- Replay guard -------------------------------------------------------------------------------

static REPLAY_BATCHES: LazyLock<Histogram> =
    LazyLock::new(|| registered(|| ::metrics::histogram!(REPLAY_BATCH_SIZE)));
static REPLAY_WAITS: LazyLock<Histogram> =
    LazyLock::new(|| registered(|| ::metrics::histogram!(REPLAY_WAIT)));

/// One statement of the replay guard, recording `ids` assertion ids.
pub fn replay_batch(ids: usize) {
    REPLAY_BATCHES.record(ids as f64);
}

/// A request's wait for its assertion id to be recorded.
pub fn replay_wait(waited: Duration) {
    REPLAY_WAITS.record(waited.as_secs_f64());
}

// ---- Token-path caches --------------------------------------------------------------------------

/// The caches of `oauth::cache::TokenCache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Client,
    Grant,
}

struct CacheCounters {
    hit: Counter,
    miss: Counter,
}

impl CacheCounters {
    fn new(cache: &'static str) -> Self {
        registered(|| Self {
            hit: ::metrics::counter!(CACHE_LOOKUPS, "cache" => cache, "result" => "hit"),
            miss: ::metrics::counter!(CACHE_LOOKUPS, "cache" => cache, "result" => "miss"),
        })
    }
}

static CLIENT_CACHE: LazyLock<CacheCounters> = LazyLock::new(|| CacheCounters::new("client"));
static GRANT_CACHE: LazyLock<CacheCounters> = LazyLock::new(|| CacheCounters::new("grant"));

pub fn cache_lookup(cache: Cache, hit: bool) {
    let counters = match cache {
        Cache::Client => &CLIENT_CACHE,
        Cache::Grant => &GRANT_CACHE,
    };
    if hit {
        counters.hit.increment(1);
    } else {
        counters.miss.increment(1);
    }
}

// ---- Database -------------------------------------------------------------------------------

static DB_ERROR_COUNTS: LazyLock<CounterFamily<1>> =
    LazyLock::new(|| CounterFamily::new(DB_ERRORS, ["kind"]));

/// Counts a database error under its kind.
pub fn database_error(e: &sqlx::Error) {
    DB_ERROR_COUNTS.increment([database_error_kind(e)], 1);
}

/// The bounded kind of a database error: the pool ran out of connections or time, the
/// connection failed, or the database refused the statement.
fn database_error_kind(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::PoolTimedOut => "pool_timeout",
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => "pool_closed",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => "connection",
        sqlx::Error::Database(_) => "database",
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => "unexpected_result",
        _ => "other",
    }
}

/// The pool as a scrape finds it.
pub fn database_pool(open: u32, idle: usize, max: u32) {
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(open);
    handle();
    ::metrics::gauge!(DB_CONNECTIONS, "state" => "in_use").set(f64::from(open - idle));
    ::metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    ::metrics::gauge!(DB_CONNECTIONS_MAX).set(f64::from(max));
}

// ---- Audit log ------------------------------------------------------------------------------

/// The audit queue as a scrape finds it, and the events it dropped since start.
pub fn audit_queue(depth: usize, capacity: usize, dropped_total: u64) {
    handle();
    ::metrics::gauge!(AUDIT_QUEUE_DEPTH).set(depth as f64);
    ::metrics::gauge!(AUDIT_QUEUE_CAPACITY).set(capacity as f64);
    ::metrics::counter!(AUDIT_DROPPED).absolute(dropped_total);
}

// ---- Signing keys ---------------------------------------------------------------------------

pub fn signing_key_age(age: Duration) {
    handle();
    ::metrics::gauge!(SIGNING_KEY_AGE).set(age.as_secs_f64().floor());
}

// ---- Retention --------------------------------------------------------------------------------

/// The tables the background pruning keeps bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pruned {
    AuditEvents,
    UsedJtis,
}

struct PrunedCounters {
    audit_events: Counter,
    used_jtis: Counter,
}

static PRUNED: LazyLock<PrunedCounters> = LazyLock::new(|| {
    registered(|| PrunedCounters {
        audit_events: ::metrics::counter!(RETENTION_PRUNED, "table" => "audit_events"),
        used_jtis: ::metrics::counter!(RETENTION_PRUNED, "table" => "used_jtis"),
    })
});

pub fn pruned(table: Pruned, rows: u64) {
    match table {
        Pruned::AuditEvents => PRUNED.audit_events.increment(rows),
        Pruned::UsedJtis => PRUNED.used_jtis.increment(rows),
    }
}

static USED_JTI_ROWS: LazyLock<Gauge> =
    LazyLock::new(|| registered(|| ::metrics::gauge!(USED_JTIS)));

pub fn used_jtis(rows: i64) {
    USED_JTI_ROWS.set(rows as f64);
}

static USED_JTIS_REMEMBERED: LazyLock<Gauge> =
    LazyLock::new(|| registered(|| ::metrics::gauge!(USED_JTIS_IN_MEMORY)));

pub fn used_jtis_in_memory(ids: usize) {
    USED_JTIS_REMEMBERED.set(ids as f64);
}

// ---- Key URLs ---------------------------------------------------------------------------------

static JWKS_FETCH_COUNTS: LazyLock<CounterFamily<1>> =
    LazyLock::new(|| CounterFamily::new(JWKS_FETCHES, ["result"]));

/// One fetch of a `jwks_uri` key set: `ok`, or the kind of failure.
pub fn jwks_fetch(result: &'static str) {
    JWKS_FETCH_COUNTS.increment([result], 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample of `name` whose labels include every pair of `labels`.
    fn sample(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let text = render();
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn a_counter_family_keeps_each_combination_apart_and_adds_up() {
        let family = CounterFamily::new("signet_test_family_total", ["a", "b"]);
        family.increment(["x", "y"], 1);
        family.increment(["x", "y"], 2);
        family.increment(["x", "z"], 5);
        let at = |b| sample("signet_test_family_total", &[("a", "x"), ("b", b)]);
        assert_eq!(at("y"), Some(3.0));
        assert_eq!(at("z"), Some(5.0));
        assert_eq!(family.counters.read().unwrap().len(), 2);
    }

    #[test]
    fn build_info_names_this_version() {
        assert_eq!(
            sample(BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))]),
            Some(1.0)
        );
    }

    #[test]
    fn database_errors_fall_in_a_few_kinds() {
        assert_eq!(
            database_error_kind(&sqlx::Error::PoolTimedOut),
            "pool_timeout"
        );
        assert_eq!(database_error_kind(&sqlx::Error::PoolClosed), "pool_closed");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(database_error_kind(&sqlx::Error::Io(refused)), "connection");
        assert_eq!(
            database_error_kind(&sqlx::Error::RowNotFound),
            "unexpected_result"
        );
        assert_eq!(
            database_error_kind(&sqlx::Error::Configuration("x".into())),
            "other"
        );
    }

    #[test]
    fn the_pool_gauges_never_count_more_idle_connections_than_open_ones() {
        // Sampled without a lock, `idle` can briefly exceed `open`.
        database_pool(2, 5, 8);
        assert_eq!(sample(DB_CONNECTIONS, &[("state", "in_use")]), Some(0.0));
        assert_eq!(sample(DB_CONNECTIONS, &[("state", "idle")]), Some(2.0));
    }

    #[test]
    fn histograms_are_rendered_with_their_buckets() {
        replay_batch(3);
        let text = render();
        assert!(
            text.contains(&format!("{REPLAY_BATCH_SIZE}_bucket{{le=\"4\"}}")),
            "{text}"
        );
    }
}
