//! Discovery document and JWKS (BEHAVIOUR A.7): only what is implemented is advertised.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::crypto::alg::AssertionAlg;
use crate::domain::issuer::Issuer;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openid_configuration))
        // RFC 8414: the same facts for OAuth clients that discover servers this way (MCP's
        // client-credentials profile among them).
        .routes(routes!(oauth_authorization_server))
        .routes(routes!(jwks))
}

/// The discovery document: what the token endpoint implements, nothing more.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryDocument {
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    scopes_supported: Vec<String>,
}

pub fn document(issuer: &Issuer) -> serde_json::Value {
    let doc = DiscoveryDocument {
        issuer: issuer.as_str().to_owned(),
        token_endpoint: issuer.token_endpoint(),
        jwks_uri: format!("{}.well-known/jwks.json", issuer.as_str()),
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        // Exactly what the token endpoint accepts (BEHAVIOUR B.4).
        token_endpoint_auth_signing_alg_values_supported: AssertionAlg::ALL
            .map(AssertionAlg::as_str)
            .to_vec(),
        response_types_supported: vec!["token"],
        scopes_supported: Vec::new(),
    };
    serde_json::to_value(doc).expect("the discovery document holds only strings")
}

/// The published signing keys (RFC 7517).
#[derive(Serialize, ToSchema)]
#[allow(dead_code, reason = "documentation only: the key cache writes the set")]
struct Jwks {
    keys: Vec<PublishedJwk>,
}

/// A published signing key: RSA, for RS256 (and PS256) access tokens.
#[derive(Serialize, ToSchema)]
#[allow(dead_code, reason = "documentation only: the key cache writes the set")]
struct PublishedJwk {
    kty: String,
    #[serde(rename = "use")]
    key_use: String,
    alg: String,
    kid: String,
    n: String,
    e: String,
    /// The key's certificate (base64 DER), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    x5c: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    x5t: Option<String>,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    x5t_s256: Option<String>,
}

const DISCOVERY_CACHE: &str = "public, max-age=300";

/// A verifier caching the key set for a minute sees a new next key within a minute of its
/// creation — a whole rotation before it signs — and stops trusting a revoked key within a
/// minute of its revocation (BEHAVIOUR A.10).
const JWKS_CACHE: &str = "public, max-age=60";

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, body = DiscoveryDocument)))]
async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    discovery(&state)
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "discovery",
    description = "RFC 8414's name for the same document.",
    responses((status = 200, body = DiscoveryDocument)),
    extensions(("x-signet-extension" = json!(true))))]
async fn oauth_authorization_server(State(state): State<AppState>) -> impl IntoResponse {
    discovery(&state)
}

fn discovery(state: &AppState) -> impl IntoResponse + use<> {
    (
        [(header::CACHE_CONTROL, DISCOVERY_CACHE)],
        Json(state.discovery_document.as_ref().clone()),
    )
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    description = "The keys access tokens are signed with: current, next and previous.",
    responses((status = 200, body = Jwks)))]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let keys = state.keys.published().await;
    (
        [(header::CACHE_CONTROL, JWKS_CACHE)],
        Json(keys.jwks.clone()),
    )
}
