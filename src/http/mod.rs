//! HTTP: axum routers per area, merged in one place. Handlers are thin: extract, authorise,
//! call one function, map to the wire type.

pub mod client_origin;
pub mod dashboard;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod health;
pub mod management;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod server;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::oauth::token::TokenIssuer;
use crate::tenant::Tenant;
use crate::tenant::signing_keys::LiveKeys;
use error::ApiError;

/// What every handler shares. Extractors and middleware clone the state once or more per
/// request, so it is one `Arc`: a clone is one atomic increment, not a dozen plus two `String`
/// copies.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub tenant: Tenant,
    pub keys: Arc<LiveKeys>,
    pub token_issuer: Arc<TokenIssuer>,
    pub limits: Arc<crate::rate_limit::RateLimiters>,
    /// The turns at Argon2 that dashboard sign-ins wait for.
    pub hashing: Arc<crate::admins::admin::Hashing>,
    /// What every handler reads the time from.
    pub clock: crate::clock::SharedClock,
    pub management_audience: String,
    /// Rendered once at start: it only changes with the configuration.
    pub discovery_document: Arc<serde_json::Value>,
    /// Turned off at the shutdown signal, so `/readyz` fails before the listener closes.
    pub readiness: Arc<health::Readiness>,
    /// `/metrics` is served here, not on an address of its own (`--metrics-listen`).
    pub metrics_public: bool,
}

pub fn build_router(state: AppState) -> Router {
    let management = Router::from(management::router().merge(openapi::route()))
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(
            rate_limit::management_rate_headers,
        ))
        .layer(axum::middleware::from_fn(extract::refuse_unstorable_uri))
        .layer(axum::middleware::from_fn(
            metrics::count_management_requests,
        ));
    Router::new()
        .merge(Router::from(discovery::router()))
        .merge(Router::from(health::router()))
        .merge(Router::from(token::router()).route_layer(axum::middleware::from_fn(
            metrics::time_token_requests,
        )))
        .merge(metrics::public_route(&state))
        .nest("/api/v2", management)
        .merge(dashboard::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(close_after_unread_body))
        // One line per request only at debug (`RUST_LOG=tower_http=debug`): every token
        // request is already an audit event, and at thousands of requests a second the line
        // would cost the token path a tenth of an RSA signature. Server errors stay at error.
        //
        // The span names the path, never the query string: a caller may put a secret there.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        // Authorization headers and cookies never reach the logs.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
}

pub(crate) async fn not_found() -> impl IntoResponse {
    ApiError::new(StatusCode::NOT_FOUND, "inexistent_route", "Not Found")
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method Not Allowed",
    )
}

/// A body refused as too large was not read to its end, so the connection cannot carry another
/// request: saying `Connection: close` lets an HTTP/1.1 client know before it reuses it
/// (RFC 9112 §9.6), instead of finding out from a reset.
async fn close_after_unread_body(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let http1 = req.version() <= axum::http::Version::HTTP_11;
    let mut res = next.run(req).await;
    if http1 && res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        res.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    res
}
