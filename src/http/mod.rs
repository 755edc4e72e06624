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

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Service, ServiceBuilder};
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

/// The application as the server runs it: the router inside the request log's layers.
///
/// The layers wrap the finished router once instead of going on with `Router::layer`, which
/// wraps every route in a boxed service of its own that each request clones again (about
/// 2,300 instructions a layer on a token request, counted by `bench/instructions.sh`).
pub fn build_app(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    ServiceBuilder::new()
        // Authorization headers and cookies never reach the logs.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .map_response(IntoResponse::into_response as fn(_) -> Response)
        // One line per request only at debug (`RUST_LOG=tower_http=debug`): every token
        // request is already an audit event, and at thousands of requests a second the line
        // would cost the token path a tenth of an RSA signature. Server errors stay at error.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span as fn(&Request) -> tracing::Span)
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .service(build_router(state))
}

/// The span names the path, never the query string: a caller may put a secret there.
fn request_span(req: &Request) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
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
        .merge(Router::from(token::router()))
        .merge(metrics::public_route(&state))
        .nest("/api/v2", management)
        .merge(dashboard::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
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
