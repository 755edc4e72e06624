//! `POST /oauth/token`: form or JSON body in, Auth0's success and error shapes out (BEHAVIOUR A.5).

use std::net::IpAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;

use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::AppState;
use super::client_origin::ClientOrigin;
use crate::domain::token_quota::{self, BucketState};
use crate::oauth::OAuthError;
use crate::oauth::error::AuthFailure;
use crate::oauth::request::{MAX_BODY, TokenParams, parse_basic};
use crate::oauth::token::TokenRequest;
use crate::rate_limit::Exceeded;
use crate::time_util::Millis;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/oauth/token",
        post(token)
            .fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

async fn method_not_allowed() -> Response {
    let mut res = error_response(
        OAuthError::invalid_request("Use POST for the token endpoint"),
        crate::time_util::now_millis(),
    );
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    res
}

/// The answer to a token request whose body did not arrive in time (`server::body_timeout`).
pub(in crate::http) fn request_timeout() -> Response {
    let mut res = error_response(
        OAuthError::invalid_request("The request body was not received in time"),
        crate::time_util::now_millis(),
    );
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    res
}

async fn token(State(state): State<AppState>, origin: ClientOrigin, req: Request) -> Response {
    let now = state.clock.now();
    let issuer = &state.token_issuer;
    // Before the body is read: an address over its limits costs the server next to nothing.
    if let Err(e) = issuer.admit_source(origin.ip, user_agent(req.headers()).as_deref(), now) {
        return error_response(e, now);
    }
    let issued = match parse(req, &state, origin.ip).await {
        Ok(request) => issuer.issue(request, now).await,
        Err(e) => Err(crate::oauth::token::counted_refusal(e)),
    };
    match issued {
        Ok(issued) => {
            let mut res = (no_store(), axum::Json(issued.response)).into_response();
            if !issued.quota.is_empty() {
                insert_quota_header(&mut res, &issued.quota, now);
            }
            res
        }
        Err(e) => {
            issuer.note_outcome(origin.ip, &e);
            error_response(e, now)
        }
    }
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect())
}

/// Auth0's `Auth0-Client-Quota-Limit`, on successes and quota refusals alike.
fn insert_quota_header(res: &mut Response, states: &[BucketState], now: Millis) {
    if let Ok(v) = HeaderValue::from_str(&token_quota::header_value(states, now)) {
        res.headers_mut().insert(QUOTA_HEADER, v);
    }
}

const QUOTA_HEADER: &str = "auth0-client-quota-limit";

async fn parse(req: Request, state: &AppState, ip: IpAddr) -> Result<TokenRequest, OAuthError> {
    let headers: HeaderMap = req.headers().clone();
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::PayloadTooLarge
        } else {
            OAuthError::invalid_request("The request body could not be read")
        }
    })?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let params = match media_type.as_str() {
        "application/x-www-form-urlencoded" => TokenParams::from_form(&bytes)?,
        "application/json" => TokenParams::from_json(&bytes)?,
        _ => {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded or application/json",
            ));
        }
    };
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(parse_basic(v.to_str().map_err(|_| {
            OAuthError::unauthenticated(AuthFailure::MalformedBasicHeader, true)
        })?)?),
    };
    Ok(TokenRequest {
        params,
        basic,
        ip: Some(ip),
        user_agent: user_agent(&headers),
    })
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// The token endpoint's answer to a refusal; the status is chosen here, the `error` and its
/// description come from the refusal itself (BEHAVIOUR A.5).
fn error_response(e: OAuthError, now: Millis) -> Response {
    let status = match &e {
        OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType(_) => {
            StatusCode::BAD_REQUEST
        }
        OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
        OAuthError::UnauthorizedClient(_) | OAuthError::AccessDenied(_) => StatusCode::FORBIDDEN,
        OAuthError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        OAuthError::TooManyRequests(_) | OAuthError::QuotaExceeded(_) => {
            StatusCode::TOO_MANY_REQUESTS
        }
        OAuthError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = json!({"error": e.code(), "error_description": e.description()});
    let mut res = (status, no_store(), axum::Json(body)).into_response();
    match &e {
        OAuthError::InvalidClient { basic: true, .. } => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"signet\""),
            );
        }
        OAuthError::TooManyRequests(exceeded) => {
            super::rate_limit::insert_exceeded_headers(res.headers_mut(), exceeded, now);
        }
        OAuthError::QuotaExceeded(q) => {
            insert_quota_header(&mut res, &q.states, now);
            let exceeded = Exceeded {
                limit: u32::try_from(q.exhausted.quota).unwrap_or(u32::MAX),
                retry_after: Duration::from_millis(
                    u64::try_from(q.exhausted.resets_at - now).unwrap_or(0),
                ),
            };
            super::rate_limit::insert_exceeded_headers(res.headers_mut(), &exceeded, now);
        }
        _ => {}
    }
    res
}
