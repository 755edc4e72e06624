//! `/metrics` on an address of its own (`--metrics-listen`): bound at start beside the public
//! listener, served by the same server loop within the same limits, and stopped with it. And the
//! used-`jti` table's size, counted after each pruning.

use std::future::Future;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{HttpLimits, MetricsSettings};
use crate::http::AppState;
use crate::http::metrics::Scrape;
use crate::store::Store;

/// The metrics listener, when `/metrics` has an address of its own.
pub(super) async fn bind(settings: &MetricsSettings) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = settings.listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for /metrics (--metrics-listen)"))?;
    Ok(Some(listener))
}

/// The server of the metrics listener, if there is one.
pub(super) struct MetricsServer {
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Serves `/metrics` on `listener`, if any, and returns `shutdown` made to stop it as well: both
/// listeners stop accepting at the same moment, after the drain, so a scrape during the drain
/// still sees the server going down.
pub(super) fn serve_apart(
    listener: Option<TcpListener>,
    state: &AppState,
    limits: &HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (impl Future<Output = ()> + Send + 'static, MetricsServer) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = listener.map(|listener| {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "metrics are served");
        }
        let router = crate::http::metrics::router(Scrape::of(state));
        let limits = limits.clone();
        tokio::spawn(async move {
            // The sender dropped unsent (the public server failed) stops it too.
            let stopped = async {
                let _ = stopped.await;
            };
            // Plain HTTP even when the public port has TLS: the metrics address is meant for a
            // private network or loopback, where the scraper is.
            let front = crate::http::server::Front::default();
            crate::http::server::serve(listener, router, &limits, front, stopped).await
        })
    });
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(());
    };
    (shutdown, MetricsServer { task })
}

impl MetricsServer {
    /// Waits for the metrics server's in-flight scrapes to finish.
    pub(super) async fn finished(self) {
        let Some(task) = self.task else {
            return;
        };
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the metrics listener failed"),
            Err(e) => tracing::warn!(error = %e, "the metrics listener stopped abruptly"),
        }
    }
}

/// Counts the used-`jti` rows for `signet_used_jtis` (see `store::replay::count`).
pub(super) async fn count_used_jtis(store: &Store) {
    match crate::store::replay::count(store).await {
        Ok(rows) => crate::metrics::used_jtis(rows),
        Err(e) => tracing::warn!(error = %e, "could not count the used assertion ids"),
    }
}
