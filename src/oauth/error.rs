//! The token endpoint's one vocabulary of refusals (BEHAVIOUR A.5, B.7). Each refusal has one
//! `error` code and description, which both the answer (`http/token.rs`, which alone picks the
//! status) and the audit event use; a failed authentication also has a typed reason, which only
//! the audit event shows.

use std::borrow::Cow;

use super::assertion::Reason;
use super::federated::FederatedReason;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// Any client authentication failure. The caller learns nothing more (BEHAVIOUR B.7);
    /// `reason` is for the audit log only.
    #[error("invalid_client ({})", reason.code())]
    InvalidClient {
        reason: AuthFailure,
        /// The client tried HTTP Basic, so the answer carries `WWW-Authenticate: Basic`.
        basic: bool,
    },
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("access_denied: {0}")]
    AccessDenied(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// A rate limit refused the request (BEHAVIOUR C.1).
    #[error("too_many_requests (rate limit)")]
    TooManyRequests(crate::rate_limit::Exceeded),
    /// The application's enforced token quota is spent (BEHAVIOUR C.2).
    #[error("too_many_requests (client quota exceeded)")]
    QuotaExceeded(super::quota::QuotaExceeded),
    #[error("server_error")]
    ServerError,
}

/// Why a client was not authenticated: the `code` in the audit event (BEHAVIOUR B.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No such application, or a client id that cannot exist.
    UnknownClient,
    BadClientSecret,
    /// A secret for an application on `none` or Private Key JWT.
    AuthMethodNotAllowed,
    MalformedBasicHeader,
    /// A client id and neither a secret nor an assertion.
    NoClientAuthentication,
    /// A `client_id` parameter other than the assertion's `iss`.
    ClientIdMismatch,
    PrivateKeyJwtNotEnabled,
    /// The assertion's `jti` was used before (BEHAVIOUR B.6).
    Replayed,
    /// The assertion broke one of its rules.
    Assertion(Reason),
    /// The assertion's `kid` is in no key set of the client's `jwks_uri` credentials, even after
    /// fetching them again (BEHAVIOUR B.12).
    KidNotInJwks,
    /// A `jwks_uri` credential's set could not be fetched, or is past its age limit, and no
    /// other key could be tried (BEHAVIOUR B.12).
    JwksUnavailable,
    /// A workload platform's token broke one of its credential's rules (BEHAVIOUR B.13).
    Federated(FederatedReason),
}

/// Declares [`AuthFailure::code`] and [`AuthFailure::all`] from one list: `code`'s match is
/// exhaustive, so a new failure cannot get a code without also being in `all` (which the
/// dashboard's explanations are checked against).
macro_rules! failure_codes {
    ($($variant:ident => $code:literal,)*) => {
        impl AuthFailure {
            /// Stable snake_case code; never changes once shipped.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Assertion(reason) => reason.code(),
                    Self::Federated(reason) => reason.code(),
                }
            }

            /// Every failure, each assertion reason among them.
            pub fn all() -> impl Iterator<Item = Self> {
                [$(Self::$variant,)*]
                    .into_iter()
                    .chain(Reason::ALL.iter().map(|r| Self::Assertion(*r)))
                    .chain(FederatedReason::ALL.iter().map(|r| Self::Federated(*r)))
            }
        }
    };
}

failure_codes! {
    UnknownClient => "unknown_client",
    BadClientSecret => "bad_client_secret",
    AuthMethodNotAllowed => "auth_method_not_allowed",
    MalformedBasicHeader => "malformed_basic_header",
    NoClientAuthentication => "no_client_authentication",
    ClientIdMismatch => "client_id_mismatch",
    PrivateKeyJwtNotEnabled => "private_key_jwt_not_enabled",
    Replayed => "replayed",
    KidNotInJwks => "kid_not_in_jwks",
    JwksUnavailable => "jwks_unavailable",
}

impl AuthFailure {
    /// How a key not found is worded for an application that publishes keys at a URL
    /// (BEHAVIOUR B.12): `jwks_unavailable` when a set could not be had, `kid_not_in_jwks` for
    /// a `kid` that no held set knows. `None`: the refusal keeps its own reason.
    pub fn of_published_keys(reason: Reason, set_unavailable: bool) -> Option<Self> {
        match reason {
            Reason::UnknownKid | Reason::NoUsableCredential if set_unavailable => {
                Some(Self::JwksUnavailable)
            }
            Reason::UnknownKid => Some(Self::KidNotInJwks),
            _ => None,
        }
    }
}

impl OAuthError {
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    /// A failed authentication over a secret or an assertion (`basic`: over HTTP Basic).
    pub fn unauthenticated(reason: AuthFailure, basic: bool) -> Self {
        Self::InvalidClient { reason, basic }
    }

    /// Every OAuth `error` code [`Self::code`] answers with.
    pub const CODES: [&'static str; 7] = [
        "invalid_request",
        "unsupported_grant_type",
        "invalid_client",
        "unauthorized_client",
        "access_denied",
        "too_many_requests",
        "server_error",
    ];

    /// The OAuth `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::PayloadTooLarge => "invalid_request",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidClient { .. } => "invalid_client",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::AccessDenied(_) => "access_denied",
            Self::TooManyRequests(_) | Self::QuotaExceeded(_) => "too_many_requests",
            Self::ServerError => "server_error",
        }
    }

    /// The `error_description` the caller is shown; authentication failures carry no detail
    /// (BEHAVIOUR B.7).
    pub fn description(&self) -> Cow<'_, str> {
        match self {
            Self::InvalidRequest(m)
            | Self::UnsupportedGrantType(m)
            | Self::UnauthorizedClient(m)
            | Self::AccessDenied(m) => Cow::Borrowed(m),
            Self::InvalidClient { .. } => Cow::Borrowed("Client authentication failed"),
            Self::PayloadTooLarge => Cow::Borrowed("The request body is too large"),
            Self::TooManyRequests(_) => {
                Cow::Borrowed("Too many requests; retry after the time in the Retry-After header")
            }
            Self::QuotaExceeded(_) => Cow::Borrowed("Client quota exceeded"),
            Self::ServerError => Cow::Borrowed("Internal error"),
        }
    }

    /// The authentication failure, for the audit event.
    pub fn auth_failure(&self) -> Option<AuthFailure> {
        match self {
            Self::InvalidClient { reason, .. } => Some(*reason),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_listed() {
        let bucket = crate::domain::token_quota::BucketState {
            bucket: crate::domain::token_quota::Bucket::PerHour,
            quota: 1,
            used: 1,
            resets_at: 0,
        };
        let one_of_each = [
            OAuthError::invalid_request("m"),
            OAuthError::UnsupportedGrantType("m".into()),
            OAuthError::unauthenticated(AuthFailure::Replayed, false),
            OAuthError::UnauthorizedClient("m".into()),
            OAuthError::AccessDenied("m".into()),
            OAuthError::PayloadTooLarge,
            OAuthError::TooManyRequests(crate::rate_limit::Exceeded {
                limit: 1,
                retry_after: std::time::Duration::from_secs(1),
            }),
            OAuthError::QuotaExceeded(super::super::quota::QuotaExceeded {
                states: vec![bucket],
                exhausted: bucket,
            }),
            OAuthError::ServerError,
        ];
        for e in &one_of_each {
            // No wildcard: a new variant does not compile until it is added above.
            match e {
                OAuthError::InvalidRequest(_)
                | OAuthError::UnsupportedGrantType(_)
                | OAuthError::InvalidClient { .. }
                | OAuthError::UnauthorizedClient(_)
                | OAuthError::AccessDenied(_)
                | OAuthError::PayloadTooLarge
                | OAuthError::TooManyRequests(_)
                | OAuthError::QuotaExceeded(_)
                | OAuthError::ServerError => {}
            }
            assert!(OAuthError::CODES.contains(&e.code()), "{e}");
        }
        let failures: Vec<&str> = AuthFailure::all().map(AuthFailure::code).collect();
        assert!(failures.contains(&"unknown_client") && failures.contains(&"aud_mismatch"));
    }

    #[test]
    fn failure_codes_are_stable_and_assertion_reasons_pass_through() {
        assert_eq!(AuthFailure::UnknownClient.code(), "unknown_client");
        assert_eq!(AuthFailure::Replayed.code(), "replayed");
        assert_eq!(
            AuthFailure::Assertion(Reason::AudMismatch).code(),
            "aud_mismatch"
        );
    }

    #[test]
    fn an_authentication_failure_tells_the_caller_nothing_more() {
        let e = OAuthError::unauthenticated(AuthFailure::BadClientSecret, false);
        assert_eq!(
            (e.code(), &*e.description()),
            ("invalid_client", "Client authentication failed")
        );
        assert_eq!(e.auth_failure(), Some(AuthFailure::BadClientSecret));
        assert!(e.is_callers_failure());
    }
}
