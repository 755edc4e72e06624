//! The Management API's error shape (Auth0's `{"statusCode","error","message","errorCode"}`),
//! chosen here and nowhere else. A 5xx logs its cause and answers a fixed message.

use super::openapi::ManagementErrorBody;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::Invalid;
use crate::rate_limit::Exceeded;
use crate::tenant::ManagementError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: &'static str,
    pub message: String,
    /// Set on a 429: the limit and the wait, for its headers.
    pub rate_limited: Option<Exceeded>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code,
            message: message.into(),
            rate_limited: None,
        }
    }

    /// Auth0's 429 (`too_many_requests`), with `Retry-After` and `X-RateLimit-*`.
    pub fn too_many_requests(exceeded: Exceeded) -> Self {
        Self {
            rate_limited: Some(exceeded),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "Too many requests: retry in {}",
                    crate::time_util::count_of(
                        i64::try_from(exceeded.retry_after_secs()).unwrap_or(i64::MAX),
                        "second"
                    )
                ),
            )
        }
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query_string", message)
    }

    pub fn invalid_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token.")
    }

    pub fn insufficient_scope(expected: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "Insufficient scope, expected any of: {}",
                expected.join(",")
            ),
        )
    }

    pub fn insufficient_scope_all(expected: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "Insufficient scope, expected all of: {}",
                expected.join(",")
            ),
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Payload content length greater than maximum allowed: {limit}"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error.",
        )
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::invalid_body(e.to_string())
    }
}

impl From<ManagementError> for ApiError {
    fn from(e: ManagementError) -> Self {
        match e {
            ManagementError::Invalid(i) => Self::invalid_body(i.to_string()),
            ManagementError::NotFound {
                error_code,
                message,
            } => Self::new(StatusCode::NOT_FOUND, error_code, message),
            ManagementError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            ManagementError::NotAllowed(m) => {
                Self::new(StatusCode::BAD_REQUEST, "operation_not_supported", m)
            }
            ManagementError::Internal(cause) => {
                tracing::error!(error = %cause, "management operation failed");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ManagementErrorBody {
            statusCode: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.message,
            errorCode: self.error_code.to_owned(),
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(exceeded) = &self.rate_limited {
            super::rate_limit::insert_exceeded_headers(
                res.headers_mut(),
                exceeded,
                crate::time_util::now_millis(),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
