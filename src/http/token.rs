//! `POST /oauth/token`: form or JSON body in, Auth0's success and error shapes out (BEHAVIOUR A.5).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::AppState;
use super::client_origin::ClientOrigin;
use super::openapi::OAuthErrorBody;
use crate::domain::token_quota::{self, BucketState};
use crate::oauth::OAuthError;
use crate::oauth::error::AuthFailure;
use crate::oauth::request::{MAX_BODY, TokenParams, parse_basic};
use crate::oauth::token::TokenRequest;
use crate::rate_limit::Exceeded;
use crate::time_util::Millis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token).map(|method_router| {
        method_router
            .fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY))
    }))
}

/// A token request (RFC 6749 §4.4, RFC 7523 §2.2), form-encoded or JSON. Unknown parameters
/// are ignored, as RFC 6749 §3.2 asks; a parameter given twice is refused.
#[derive(Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "documentation only: `TokenParams` reads the request"
)]
struct TokenRequestBody {
    /// `client_credentials`.
    grant_type: String,
    /// The API's identifier: what the token is for.
    audience: String,
    /// RFC 8707's name for `audience` (one of the two).
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    resource: Option<String>,
    /// Space-separated scopes; absent for every granted one.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// Required with a secret; optional with an assertion (its `sub` names the client).
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// `client_secret_post`.
    #[schema(nullable = false)]
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` for Private Key JWT.
    #[schema(nullable = false)]
    client_assertion_type: Option<String>,
    /// The signed assertion (Private Key JWT).
    #[schema(nullable = false)]
    client_assertion: Option<String>,
}

/// An issued access token.
#[derive(Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "documentation only: `TokenResponse` is the answer"
)]
struct TokenResponseBody {
    /// A JWT signed by one of the keys in `/.well-known/jwks.json` (or HS256 with the API's secret).
    access_token: String,
    /// The granted scopes, space-separated; absent when none.
    #[schema(nullable = false)]
    scope: Option<String>,
    expires_in: i64,
    /// `Bearer`.
    token_type: String,
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

#[utoipa::path(post, path = "/oauth/token", tag = "token",
    description = "The client credentials grant. The client authenticates with Private Key JWT \
                   (`client_assertion`), a secret in the body (`client_secret_post`), or HTTP \
                   Basic (`client_secret_basic`).",
    request_body(content(
        (TokenRequestBody = "application/x-www-form-urlencoded"),
        (TokenRequestBody = "application/json"),
    )),
    responses(
        (status = 200, body = TokenResponseBody,
         headers(("Auth0-Client-Quota-Limit" = String, description = "With a token quota"))),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`",
         body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 403, description = "`unauthorized_client`, `access_denied`",
         body = OAuthErrorBody),
        (status = 405, description = "Not POST", body = OAuthErrorBody),
        (status = 408, description = "The body did not arrive in time", body = OAuthErrorBody),
        (status = 413, description = "The body is over its limit", body = OAuthErrorBody),
        (status = 429, description = "`too_many_requests`: a rate limit or the token quota",
         body = OAuthErrorBody),
    ),
    security((), ("client_secret_basic" = [])))]
async fn token(State(state): State<AppState>, origin: ClientOrigin, req: Request) -> Response {
    // Timed here rather than by a middleware layer, which would box a future and clone the
    // route's service for every token request.
    let started = Instant::now();
    let res = answer(&state, origin, req).await;
    crate::metrics::token_duration(res.status() == StatusCode::OK, started.elapsed());
    res
}

async fn answer(state: &AppState, origin: ClientOrigin, req: Request) -> Response {
    let now = state.clock.now();
    let issuer = &state.token_issuer;
    // Before the body is read: an address over its limits costs the server next to nothing.
    let user_agent = user_agent(req.headers());
    if let Err(e) = issuer.admit_source(origin.ip, user_agent.as_deref(), now) {
        return error_response(e, now);
    }
    let issued = match parse(req, state, origin.ip, user_agent).await {
        Ok(request) => issuer.issue(request, now).await,
        Err(e) => Err(crate::oauth::token::counted_refusal(e)),
    };
    match issued {
        Ok(issued) => {
            let json = [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )];
            let mut res = (no_store(), json, issued.response.to_json()).into_response();
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
        .map(|v| {
            // Up to 256 characters: no more bytes than that is the common case, taken whole.
            if v.len() <= 256 {
                v.to_owned()
            } else {
                v.chars().take(256).collect()
            }
        })
}

/// Auth0's `Auth0-Client-Quota-Limit`, on successes and quota refusals alike.
fn insert_quota_header(res: &mut Response, states: &[BucketState], now: Millis) {
    if let Ok(v) = HeaderValue::from_str(&token_quota::header_value(states, now)) {
        res.headers_mut().insert(QUOTA_HEADER, v);
    }
}

const QUOTA_HEADER: &str = "auth0-client-quota-limit";

async fn parse(
    req: Request,
    state: &AppState,
    ip: IpAddr,
    user_agent: Option<String>,
) -> Result<TokenRequest, OAuthError> {
    // Only what the rules read is kept from the headers; the body takes the request.
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::PayloadTooLarge
        } else {
            OAuthError::invalid_request("The request body could not be read")
        }
    })?;
    let params = match media_type.as_str() {
        "application/x-www-form-urlencoded" => TokenParams::from_form(&bytes)?,
        "application/json" => TokenParams::from_json(&bytes)?,
        _ => {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded or application/json",
            ));
        }
    };
    let basic = match authorization {
        None => None,
        Some(v) => Some(parse_basic(v.to_str().map_err(|_| {
            OAuthError::unauthenticated(AuthFailure::MalformedBasicHeader, true)
        })?)?),
    };
    Ok(TokenRequest {
        params,
        basic,
        ip: Some(ip),
        user_agent,
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
    let body = OAuthErrorBody {
        error: e.code().to_owned(),
        error_description: e.description().into_owned(),
    };
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
