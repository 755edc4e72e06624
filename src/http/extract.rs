//! Extractors that answer in our error shape: JSON bodies (size-capped, unknown fields refused,
//! errors naming the field), query strings, and the Management API's Bearer token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::rate_limit::LimitSlot;
use crate::oauth::access_token;

/// Management API bodies over this many bytes are refused with 413 (BEHAVIOUR A.4).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + utoipa::ToSchema, S: Send + Sync> FromRequest<S> for ApiJson<T> {
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
        let parsed = parse_json(&bytes)?;
        refuse_misplaced_array::<T>(&bytes)?;
        Ok(ApiJson(parsed))
    }
}

/// Where in a JSON document the first string holding a NUL is (a property name counts too),
/// as serde_path_to_error spells paths (`client_metadata.a`, `scopes[0].value`).
fn find_unstorable(value: &serde_json::Value, path: &mut String) -> bool {
    use crate::domain::text::is_storable;
    use serde_json::Value;
    match value {
        Value::String(s) => !is_storable(s),
        Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_unstorable(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = !is_storable(key) || find_unstorable(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

/// An array where the body's documented schema wants an object is refused, though serde
/// would read it (see [`crate::http::openapi::misplaced_array`]). Bodies without an array
/// where one could hide skip the second parse.
fn refuse_misplaced_array<T: utoipa::ToSchema>(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.contains(&b'[') {
        return Ok(());
    }
    let document: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_body(format!("Malformed JSON body: {e}")))?;
    match crate::http::openapi::misplaced_array(&T::name(), &document) {
        None => Ok(()),
        Some(path) if path.is_empty() => Err(ApiError::invalid_body(
            "Payload validation error: the body must be a JSON object, not an array",
        )),
        Some(path) => Err(ApiError::invalid_body(format!(
            "Payload validation error: expected an object, got an array (property {path})"
        ))),
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
    // JSON can only spell a NUL as the escape `\u0000`: documents without one skip the walk.
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        let document: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::invalid_body(format!("Malformed JSON body: {e}")))?;
        let mut path = String::new();
        if find_unstorable(&document, &mut path) {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" (property {path})")
            };
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: text must not contain NUL characters{at}"
            )));
        }
    }
    Ok(value)
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(ApiQuery)
            .map_err(|e| ApiError::invalid_query(format!("Query validation error: {e}")))
    }
}

/// The caller of the Management API: a valid access token issued by this server for the
/// Management API audience, whose application still exists and still holds the scopes used.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The application the token was issued to (`azp`).
    pub client_id: String,
    /// The token's scopes that the application's grant still holds: narrowing or deleting the
    /// grant takes effect on tokens already issued, on every instance within a poll of the
    /// change counter (`crate::app::CHANGE_POLL`).
    scopes: Vec<String>,
}

impl Principal {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn has_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.has(s))
    }

    /// Succeeds when the token carries any of `scopes`.
    /// Succeeds when the token carries every one of `scopes`.
    pub fn require_all(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if scopes.iter().all(|s| self.has(s)) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope_all(scopes))
        }
    }

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
        let keys = state.keys.view().await.map_err(|e| {
            tracing::error!(error = %e, "signing keys could not be read");
            ApiError::internal()
        })?;
        let claims = access_token::verify(
            &keys.ring,
            token,
            state.tenant.issuer.as_str(),
            &state.management_audience,
            state.clock.now() / 1000,
        )
        .map_err(|reason| {
            tracing::info!(%reason, "management API token refused");
            ApiError::invalid_token()
        })?;
        let cache = &state.token_issuer.cache;
        let failed = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "management API token check failed");
            ApiError::internal()
        };
        if cache
            .client(&claims.azp)
            .await
            .map_err(|e| failed(&e))?
            .is_none()
        {
            tracing::info!(client_id = %claims.azp, "management API token of a deleted application refused");
            return Err(ApiError::invalid_token());
        }
        let grant = cache
            .grant(&claims.azp, &state.management_audience)
            .await
            .map_err(|e| failed(&e))?;
        let Some(granted) = grant.as_ref().as_ref().and_then(|g| g.granted.as_ref()) else {
            tracing::info!(client_id = %claims.azp, "management API token without a grant refused");
            return Err(ApiError::invalid_token());
        };
        let scopes = claims
            .scopes()
            .filter(|s| granted.iter().any(|g| g == s))
            .map(str::to_owned)
            .collect();
        let allowed = state
            .limits
            .management_per_client
            .check(&claims.azp)
            .map_err(ApiError::too_many_requests)?;
        if let (Some(allowed), Some(slot)) = (allowed, parts.extensions.get::<LimitSlot>()) {
            slot.fill(allowed);
        }
        Ok(Principal {
            client_id: claims.azp,
            scopes,
        })
    }
}

/// Which part of a request's URI holds text the databases cannot store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnstorableUri {
    Path,
    Query,
}

/// Path segments and query parameters become lookups and filters: a NUL in them is refused
/// before any handler runs, for every route of a router at once.
pub fn unstorable_uri_part(uri: &axum::http::Uri) -> Option<UnstorableUri> {
    use crate::domain::text::percent_decoded_is_storable;
    if !percent_decoded_is_storable(uri.path()) {
        return Some(UnstorableUri::Path);
    }
    match uri.query() {
        Some(q) if !percent_decoded_is_storable(q) => Some(UnstorableUri::Query),
        _ => None,
    }
}

/// The Management API's guard (see [`unstorable_uri_part`]): Auth0's `invalid_uri` and
/// `invalid_query_string`.
pub async fn refuse_unstorable_uri(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match unstorable_uri_part(req.uri()) {
        Some(UnstorableUri::Path) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            "Path validation error: a path segment must not contain NUL characters",
        )
        .into_response(),
        Some(UnstorableUri::Query) => ApiError::invalid_query(
            "Query validation error: parameters must not contain NUL characters",
        )
        .into_response(),
        None => next.run(req).await,
    }
}
