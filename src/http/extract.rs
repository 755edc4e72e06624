//! Extractors that answer in our error shape: JSON bodies (size-capped, unknown fields refused,
//! errors naming the field), query strings, and the Management API's Bearer token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::oauth::access_token::{self, AccessClaims};

/// Management API bodies over this many bytes are refused with 413 (SPEC A.4).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(MAX_JSON_BODY)
            } else {
                ApiError::invalid_body("The request body could not be read")
            }
        })?;
        if !is_json {
            return Err(ApiError::invalid_body(
                "Content-Type must be application/json",
            ));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialises `bytes`, naming the offending property on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid_body(format!("Malformed JSON body: {inner}"))
        } else if path == "." {
            ApiError::invalid_body(format!("Payload validation error: {inner}"))
        } else {
            ApiError::invalid_body(format!(
                "Payload validation error: {inner} (property {path})"
            ))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid_body(format!("Malformed JSON body: {e}")))?;
    Ok(value)
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::invalid_query(format!("Query validation error: {detail}"))
            })
    }
}

/// The caller of the Management API: a valid access token issued by this server for the
/// Management API audience.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: AccessClaims,
}

impl Principal {
    pub fn has(&self, scope: &str) -> bool {
        self.claims.scopes().any(|s| s == scope)
    }

    pub fn has_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.has(s))
    }

    /// Succeeds when the token carries any of `scopes`.
    pub fn require_any(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if self.has_any(scopes) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope(scopes))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(ApiError::invalid_token)?;
        let claims = access_token::verify(
            &state.keys,
            token,
            state.tenant.issuer.as_str(),
            &state.management_audience,
            crate::time_util::now_millis() / 1000,
        )
        .map_err(|reason| {
            tracing::info!(%reason, "management API token refused");
            ApiError::invalid_token()
        })?;
        Ok(Principal { claims })
    }
}
