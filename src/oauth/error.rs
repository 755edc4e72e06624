//! Token endpoint errors (SPEC A.5). Only `http/` turns them into status codes and bodies.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// Any client authentication failure. The caller learns nothing more (SPEC B.7); `reason`
    /// is for the server's log only.
    #[error("invalid_client ({reason})")]
    InvalidClient {
        reason: &'static str,
        /// The client tried HTTP Basic, so the answer carries `WWW-Authenticate: Basic`.
        basic: bool,
    },
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("access_denied: {0}")]
    AccessDenied(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// A rate limit refused the request (`crate::rate_limit`).
    #[error("too_many_requests (rate limit)")]
    TooManyRequests(crate::rate_limit::Exceeded),
    /// The application's enforced token quota is spent (Auth0's fine-grained quotas).
    #[error("too_many_requests (client quota exceeded)")]
    QuotaExceeded(super::quota::QuotaExceeded),
    #[error("server_error")]
    ServerError,
}

impl OAuthError {
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    /// A refusal the caller earned by what it sent: these spend its address's failure budget.
    /// A refusal by a limit or a quota, and a server error, do not.
    pub fn is_callers_failure(&self) -> bool {
        match self {
            Self::InvalidRequest(_)
            | Self::UnsupportedGrantType(_)
            | Self::InvalidClient { .. }
            | Self::UnauthorizedClient(_)
            | Self::AccessDenied(_)
            | Self::PayloadTooLarge => true,
            Self::TooManyRequests(_) | Self::QuotaExceeded(_) | Self::ServerError => false,
        }
    }
}
