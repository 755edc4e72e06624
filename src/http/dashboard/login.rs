//! Signing in and out.

use axum::Router;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::FormFields;
use super::session::{self, LOGIN_COOKIE, cookie};
use super::views::{LoginPage, page};
use super::{Admin, DashError};
use crate::admins::admin::{self, LoginError};
use crate::admins::{csrf, lockout};
use crate::crypto::random;
use crate::http::AppState;
use crate::http::client_origin::ClientOrigin;
use crate::rate_limit::AddressKey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/login", get(show).post(submit))
        .route("/dashboard/logout", post(logout))
}

/// The sign-in form's CSRF token: a double-submit cookie, since no session exists yet. It is
/// reused while valid so that two open tabs both work.
fn login_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, LOGIN_COOKIE) {
        Some(t)
            if t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (t.to_owned(), false)
        }
        _ => (random::base64url(32), true),
    }
}

fn with_cookie(mut res: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn render(
    secure: bool,
    status: StatusCode,
    token: String,
    fresh: bool,
    email: String,
    error: Option<String>,
) -> Result<Response, DashError> {
    let res = page(
        status,
        &LoginPage {
            csrf: token.clone(),
            email,
            error,
        },
    )?;
    Ok(if fresh {
        with_cookie(
            res,
            &session::set_cookie(LOGIN_COOKIE, &token, "/dashboard/login", 3600, secure),
        )
    } else {
        res
    })
}

async fn show(
    State(state): State<AppState>,
    origin: ClientOrigin,
    admin: Option<Admin>,
    headers: HeaderMap,
) -> Result<Response, DashError> {
    if admin.is_some() {
        return Ok(Redirect::to("/dashboard/applications").into_response());
    }
    let (token, fresh) = login_token(&headers);
    let secure = session::secure_cookies(&state.tenant.issuer, origin);
    render(secure, StatusCode::OK, token, fresh, String::new(), None)
}

async fn submit(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    mut form: FormFields,
) -> Result<Response, DashError> {
    let secure = session::secure_cookies(&state.tenant.issuer, origin);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !csrf::matches(expected, form.csrf()) {
        return Err(DashError::Csrf);
    }
    let email = form.get("email").trim().to_owned();
    let password = form.take_secret("password");
    let mut missing = None;
    if email.is_empty() {
        missing = Some("Enter your email address.");
    } else if password.expose().is_empty() {
        missing = Some("Enter your password.");
    }
    if let Some(m) = missing {
        let (token, fresh) = login_token(&headers);
        return render(
            secure,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            fresh,
            email,
            Some(m.into()),
        );
    }
    // Per address and per email (known or not), before any database work or hashing.
    let now = state.clock.now();
    let limited = state
        .limits
        .signin_per_address
        .check(&AddressKey::from(origin.ip))
        .and_then(|_| {
            state
                .limits
                .signin_per_email
                .check(&lockout::email_key(&email))
        });
    if let Err(exceeded) = limited {
        let (token, fresh) = login_token(&headers);
        let message = format!(
            "Too many sign-in attempts. Try again in {}.",
            crate::time_util::count_of(
                i64::try_from(exceeded.retry_after_secs()).unwrap_or(i64::MAX),
                "second"
            )
        );
        let mut res = render(
            secure,
            StatusCode::TOO_MANY_REQUESTS,
            token,
            fresh,
            email,
            Some(message),
        )?;
        crate::http::rate_limit::insert_exceeded_headers(res.headers_mut(), &exceeded, now);
        return Ok(res);
    }
    match admin::login(&state.tenant.store, &state.hashing, &email, &password, now).await {
        Ok(new) => {
            let res = Redirect::to("/dashboard/applications").into_response();
            let res = with_cookie(res, &session::session_cookie(new.token.expose(), secure));
            Ok(with_cookie(
                res,
                &session::set_cookie(LOGIN_COOKIE, "", "/dashboard/login", 0, secure),
            ))
        }
        Err(LoginError::Dashboard(e)) => Err(e.into()),
        Err(e) => {
            let status = match e {
                LoginError::Locked { .. } | LoginError::Busy => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let (token, fresh) = login_token(&headers);
            // The email is kept; the password never goes back into the page.
            render(secure, status, token, fresh, email, Some(e.to_string()))
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    origin: ClientOrigin,
    admin: Admin,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    admin::logout(&state.tenant.store, &admin.0).await?;
    let res = Redirect::to("/dashboard/login").into_response();
    Ok(with_cookie(
        res,
        &session::clear_session_cookie(session::secure_cookies(&state.tenant.issuer, origin)),
    ))
}
