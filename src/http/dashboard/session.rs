//! The session cookie and the `Admin` extractor: a request without a live session is sent to
//! the sign-in page.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;

use super::DashError;
use crate::admins::admin::{self, AdminSession};
use crate::admins::session::LIFETIME;
use crate::domain::issuer::Issuer;
use crate::http::AppState;
use crate::http::client_origin::ClientOrigin;

pub const SESSION_COOKIE: &str = "signet_session";
pub const LOGIN_COOKIE: &str = "signet_login_csrf";

/// The first value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether cookies are marked `Secure`: when the issuer is https (behind a TLS proxy the browser
/// sees https even though signet itself is reached over plain http), when the request came
/// over TLS, or when a trusted proxy says its client used https.
pub fn secure_cookies(issuer: &Issuer, origin: ClientOrigin) -> bool {
    issuer.is_https() || origin.https
}

pub fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    set_cookie(SESSION_COOKIE, token, "/dashboard", LIFETIME / 1000, secure)
}

pub fn clear_session_cookie(secure: bool) -> String {
    set_cookie(SESSION_COOKIE, "", "/dashboard", 0, secure)
}

/// A signed-in administrator.
pub struct Admin(pub AdminSession);

impl FromRequestParts<AppState> for Admin {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, DashError> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(DashError::NotSignedIn);
        };
        match admin::authenticate(&state.tenant.store, token, state.clock.now()).await {
            Ok(Some(session)) => Ok(Self(session)),
            Ok(None) => Err(DashError::NotSignedIn),
            Err(e) => Err(DashError::Internal(e.to_string())),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Admin {
    type Rejection = DashError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, DashError> {
        match <Self as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(a) => Ok(Some(a)),
            Err(DashError::NotSignedIn) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Admin {
    /// Every state-changing form carries the session's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), DashError> {
        if self.0.csrf_ok(submitted) {
            Ok(())
        } else {
            Err(DashError::Csrf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; signet_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_on_https() {
        let c = session_cookie("tok", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!session_cookie("tok", false).contains("Secure"));
    }
}
