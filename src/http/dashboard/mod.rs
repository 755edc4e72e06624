//! The web dashboard at `/dashboard`: server-rendered pages (askama templates in `templates/`),
//! plain forms with POST-redirect-GET, no JavaScript needed. Handlers are thin: check the
//! session and the CSRF token, call `crate::tenant` or `crate::admins`, render or redirect.

mod apis;
mod applications;
mod chart;
mod confirm;
mod credentials;
mod error;
mod explain;
mod federated;
mod form;
pub mod forms;
mod integration;
mod login;
mod logs;
mod paging;
mod reasons;
mod session;
mod signing_keys;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};

use super::AppState;
pub use error::DashError;
pub use session::Admin;

/// Dashboard bodies: forms are small, and a PEM upload is at most 16 KB plus multipart framing.
pub const MAX_BODY: usize = 64 * 1024;

const CSS: &str = include_str!("../../../static/dashboard.css");
const JS: &str = include_str!("../../../static/dashboard.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", any(root))
        .route("/dashboard", get(home))
        .route("/dashboard/", get(home))
        .route("/dashboard/static/dashboard.css", get(css))
        .route("/dashboard/static/dashboard.js", get(js))
        .merge(login::router())
        .merge(applications::router())
        .merge(logs::router())
        .merge(credentials::router())
        .merge(integration::router())
        .merge(apis::router())
        .merge(signing_keys::router())
        .merge(explain::router())
        .merge(federated::router())
        .route("/dashboard/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_unstorable_uri))
        .layer(map_response(security_headers))
}

async fn home(admin: Option<Admin>) -> Redirect {
    match admin {
        Some(_) => Redirect::to("/dashboard/applications"),
        None => Redirect::to("/dashboard/login"),
    }
}

/// The server's root: a browser is taken to the dashboard; anything else gets the API's 404, as
/// for any other address that is not a route.
async fn root(method: axum::http::Method, headers: axum::http::HeaderMap) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if browser && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
        Redirect::to("/dashboard").into_response()
    } else {
        crate::http::not_found().await.into_response()
    }
}

/// Unknown dashboard pages answer with a page, not the Management API's JSON.
async fn not_found() -> DashError {
    DashError::NotFound("There is no such page in the dashboard.".into())
}

/// A link or reload that lands on a form's address (a GET where only POST exists) gets a page
/// with a way on, not the Management API's JSON.
async fn method_not_allowed() -> Response {
    error::render_error(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "Nothing to show here",
        "This address only takes a submitted form. Go back to the page the form was on.",
    )
}

/// Path segments and query values become lookups: one with a NUL gets a page, before any
/// handler (see `crate::domain::text`).
async fn refuse_unstorable_uri(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if crate::http::extract::unstorable_uri_part(req.uri()).is_some() {
        return DashError::BadRequest(
            "The address contains a NUL character, which no page or record can have.".into(),
        )
        .into_response();
    }
    next.run(req).await
}

async fn css() -> Response {
    static_asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    static_asset(JS, "text/javascript; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// No inline script or style anywhere (CSP), no framing (clickjacking), forms only back to us,
/// and pages that hold secrets are never cached.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
