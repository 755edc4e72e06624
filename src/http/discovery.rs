//! Discovery document and JWKS (BEHAVIOUR A.7): only what is implemented is advertised.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::crypto::alg::AssertionAlg;
use crate::domain::issuer::Issuer;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        // RFC 8414: the same facts for OAuth clients that discover servers this way (MCP's
        // client-credentials profile among them).
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration),
        )
        .route("/.well-known/jwks.json", get(jwks))
}

pub fn document(issuer: &Issuer) -> serde_json::Value {
    json!({
        "issuer": issuer.as_str(),
        "token_endpoint": issuer.token_endpoint(),
        "jwks_uri": format!("{}.well-known/jwks.json", issuer.as_str()),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        // Exactly what the token endpoint accepts (BEHAVIOUR B.4).
        "token_endpoint_auth_signing_alg_values_supported":
            AssertionAlg::ALL.map(AssertionAlg::as_str),
        "response_types_supported": ["token"],
        "scopes_supported": [],
    })
}

const DISCOVERY_CACHE: &str = "public, max-age=300";

/// A verifier caching the key set for a minute sees a new next key within a minute of its
/// creation — a whole rotation before it signs — and stops trusting a revoked key within a
/// minute of its revocation (BEHAVIOUR A.10).
const JWKS_CACHE: &str = "public, max-age=60";

async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, DISCOVERY_CACHE)],
        Json(state.discovery_document.as_ref().clone()),
    )
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys = state.keys.published().await;
    (
        [(header::CACHE_CONTROL, JWKS_CACHE)],
        Json(keys.jwks.clone()),
    )
}
