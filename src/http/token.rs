//! `POST /oauth/token`: form or JSON body in, Auth0's success and error shapes out (SPEC A.5).

use axum::Router;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::AppState;
use crate::oauth::OAuthError;
use crate::oauth::request::{MAX_BODY, TokenParams, parse_basic};
use crate::oauth::token::TokenRequest;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/oauth/token",
        post(token)
            .fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

async fn method_not_allowed() -> Response {
    let mut res = error_response(OAuthError::invalid_request(
        "Use POST for the token endpoint",
    ));
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    res
}

/// The answer to a token request whose body did not arrive in time (`server::body_timeout`).
pub(in crate::http) fn request_timeout() -> Response {
    let mut res = error_response(OAuthError::invalid_request(
        "The request body was not received in time",
    ));
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    res
}

async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    match parse(req, &state, peer).await {
        Ok(request) => {
            let now = crate::time_util::now_millis();
            match state.token_issuer.issue(request, now).await {
                Ok(body) => (no_store(), axum::Json(body)).into_response(),
                Err(e) => error_response(e),
            }
        }
        Err(e) => error_response(e),
    }
}

async fn parse(
    req: Request,
    state: &AppState,
    peer: SocketAddr,
) -> Result<TokenRequest, OAuthError> {
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
            OAuthError::InvalidClient {
                reason: "malformed_basic_header",
                basic: true,
            }
        })?)?),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect());
    Ok(TokenRequest {
        params,
        basic,
        ip: Some(peer.ip().to_string()),
        user_agent,
    })
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

fn error_response(e: OAuthError) -> Response {
    let (status, error, description) = match &e {
        OAuthError::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m.as_str()),
        OAuthError::UnsupportedGrantType(m) => (
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            m.as_str(),
        ),
        OAuthError::InvalidClient { .. } => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        ),
        OAuthError::UnauthorizedClient(m) => {
            (StatusCode::FORBIDDEN, "unauthorized_client", m.as_str())
        }
        OAuthError::AccessDenied(m) => (StatusCode::FORBIDDEN, "access_denied", m.as_str()),
        OAuthError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large",
        ),
        OAuthError::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error",
        ),
    };
    let body = json!({"error": error, "error_description": description});
    let mut res = (status, no_store(), axum::Json(body)).into_response();
    if matches!(e, OAuthError::InvalidClient { basic: true, .. }) {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"signet\""),
        );
    }
    res
}
