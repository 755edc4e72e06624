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
    #[error("server_error")]
    ServerError,
}

impl OAuthError {
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }
}
