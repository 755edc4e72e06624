//! `GET /metrics` in Prometheus' text format (docs/METRICS.md), on the public router or on its
//! own listener (`--metrics-listen`); and the middleware that times token requests and counts
//! Management API requests by route template.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::ManagementErrorBody;
use crate::audit::AuditLog;
use crate::clock::SharedClock;
use crate::domain::signing_key::KeyState;
use crate::tenant::Tenant;

/// Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape waits this long at most for the database (the signing key's age); past it the
/// metrics are served without a fresh value, so a slow database never makes a scrape time out.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a scrape reads besides the recorder: gauges sampled at that moment. It holds the audit
/// log weakly, so that a metrics listener never keeps the audit writer from finishing at
/// shutdown.
#[derive(Clone)]
pub struct Scrape {
    tenant: Tenant,
    audit: Weak<AuditLog>,
    clock: SharedClock,
}

impl Scrape {
    pub fn of(state: &AppState) -> Self {
        crate::metrics::init();
        Self {
            tenant: state.tenant.clone(),
            audit: Arc::downgrade(&state.token_issuer.audit),
            clock: state.clock.clone(),
        }
    }

    async fn sample(&self) {
        let pool = self.tenant.store.pool();
        crate::metrics::database_pool(
            pool.size(),
            pool.num_idle(),
            pool.options().get_max_connections(),
        );
        if let Some(audit) = self.audit.upgrade() {
            crate::metrics::audit_queue(
                audit.queue_depth(),
                audit.queue_capacity(),
                audit.dropped_total(),
            );
        }
        let keys = tokio::time::timeout(
            SAMPLE_TIMEOUT,
            crate::tenant::signing_keys::list(&self.tenant),
        )
        .await;
        match keys {
            Ok(Ok(keys)) => {
                let since = keys
                    .iter()
                    .find(|k| k.state == KeyState::Current)
                    .and_then(|k| k.current_since);
                if let Some(since) = since {
                    let age = self.clock.now().saturating_sub(since).max(0);
                    crate::metrics::signing_key_age(Duration::from_millis(age as u64));
                }
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "metrics: cannot read the signing keys"),
            Err(_) => tracing::debug!("metrics: the signing keys took too long to read"),
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "metrics",
    description = "Prometheus text format (docs/METRICS.md). With `--metrics-listen` it is served \
                   only on that address, and this one answers 404.",
    responses((status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4",
               body = String),
              (status = 404, description = "Served on the `--metrics-listen` address instead",
               body = ManagementErrorBody)),
    extensions(("x-signet-extension" = json!(true))))]
async fn metrics(State(scrape): State<Scrape>) -> Response {
    scrape.sample().await;
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        crate::metrics::render(),
    )
        .into_response()
}

/// `/metrics` and its documentation, wherever it is served.
pub fn documented_route() -> OpenApiRouter<Scrape> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// `/metrics` on the public router, unless it is served on an address of its own.
pub fn public_route(state: &AppState) -> Router<AppState> {
    if !state.metrics_public {
        return Router::new();
    }
    Router::from(documented_route()).with_state(Scrape::of(state))
}

/// The router of the `--metrics-listen` address: `/metrics` and nothing else.
pub fn router(scrape: Scrape) -> Router {
    Router::from(documented_route())
        .fallback(super::not_found)
        .method_not_allowed_fallback(super::method_not_allowed)
        .with_state(scrape)
}

/// Counts each Management API request under its route template, never its path: ids in paths
/// would make a series per application.
pub async fn count_management_requests(req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = route_label(req.extensions().get::<MatchedPath>());
    let res = next.run(req).await;
    crate::metrics::management_request(method, route, res.status().as_str().to_owned());
    res
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// The matched route template, or `unmatched` for a path no route takes.
fn route_label(matched: Option<&MatchedPath>) -> String {
    match matched {
        Some(path) if !path.as_str().contains("{*") => path.as_str().to_owned(),
        _ => "unmatched".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_apis_own_are_counted_together() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::OPTIONS), "other");
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "other");
    }
}
