//! The dashboard's error pages. A 5xx logs its cause and shows a fixed message.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::tenant::ManagementError;

#[derive(Debug)]
pub enum DashError {
    NotSignedIn,
    /// A state-changing request without the right CSRF token.
    Csrf,
    NotFound(String),
    BadRequest(String),
    TooLarge,
    Internal(String),
}

impl From<ManagementError> for DashError {
    fn from(e: ManagementError) -> Self {
        match e {
            ManagementError::NotFound { message, .. } => Self::NotFound(message),
            ManagementError::Invalid(i) => Self::BadRequest(i.to_string()),
            ManagementError::Conflict(m) | ManagementError::NotAllowed(m) => Self::BadRequest(m),
            ManagementError::Internal(cause) => Self::Internal(cause.to_string()),
        }
    }
}

impl From<crate::admins::DashboardError> for DashError {
    fn from(e: crate::admins::DashboardError) -> Self {
        Self::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

pub fn render_error(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage { title, message };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        match self {
            Self::NotSignedIn => Redirect::to("/dashboard/login").into_response(),
            Self::Csrf => render_error(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form did not carry a valid security token, so nothing was changed. It may \
                 come from another site, or your session may have changed. Go back, reload the \
                 page and try again.",
            ),
            Self::NotFound(m) => render_error(StatusCode::NOT_FOUND, "Not found", &m),
            Self::BadRequest(m) => render_error(StatusCode::BAD_REQUEST, "Not possible", &m),
            Self::TooLarge => render_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form was larger than the dashboard accepts (64 KB). A public key or \
                 certificate file is at most 16 KB.",
            ),
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "dashboard request failed");
                render_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete this request. Nothing secret was shown; try \
                     again, and check the server's log if it keeps happening.",
                )
            }
        }
    }
}
