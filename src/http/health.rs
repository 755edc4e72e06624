//! `GET /healthz` (liveness): 200 when the database answers, 503 otherwise.
//! `GET /readyz` (readiness): 200 when the database answers within [`READY_TIMEOUT`], its
//! migrations are applied and a signing key is loaded, and the server is not shutting down;
//! 503 with a one-line reason otherwise. Neither is rate limited: each costs a query or two.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// A database that does not answer within this is reported unreachable: a probe must answer
/// in time itself (orchestrators give up after a few seconds), not hang with the database.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the server still takes new work. Turned off once, when the shutdown signal arrives,
/// before the listener closes: load balancers see the 503 and stop routing here while the
/// requests already sent are still served.
#[derive(Debug, Default)]
pub struct Readiness {
    shutting_down: AtomicBool,
}

impl Readiness {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

/// Why the server is not ready; the display text is the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("shutting down")]
    ShuttingDown,
    #[error("database unreachable")]
    DatabaseUnreachable,
    #[error("migrations not applied")]
    MigrationsNotApplied,
    #[error("no signing key loaded")]
    NoSigningKey,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    description = "Liveness: the database answers.",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String),
              (status = 503, description = "`database unreachable`", content_type = "text/plain",
               body = String)),
    extensions(("x-signet-extension" = json!(true))))]
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.tenant.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    description = "Readiness: the database answers in time, its migrations are applied, a \
                   signing key is loaded, and the server is not shutting down.",
    responses((status = 200, description = "`ready`", content_type = "text/plain", body = String),
              (status = 503, description = "One line saying why not: `shutting down`, \
                   `database unreachable`, `migrations not applied`, `no signing key loaded`",
               content_type = "text/plain", body = String)),
    extensions(("x-signet-extension" = json!(true))))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match check(&state).await {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

/// Shutting down is checked first: it needs no database, and must win over everything else.
async fn check(state: &AppState) -> Result<(), NotReady> {
    if state.readiness.is_shutting_down() {
        return Err(NotReady::ShuttingDown);
    }
    let store = &state.tenant.store;
    let database = async {
        store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            NotReady::DatabaseUnreachable
        })?;
        match store.migrations_applied().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotReady::MigrationsNotApplied),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check: migration history unreadable");
                Err(NotReady::MigrationsNotApplied)
            }
        }
    };
    match tokio::time::timeout(READY_TIMEOUT, database).await {
        Ok(checked) => checked?,
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer in time");
            return Err(NotReady::DatabaseUnreachable);
        }
    }
    if !state.keys.has_current() {
        return Err(NotReady::NoSigningKey);
    }
    Ok(())
}
