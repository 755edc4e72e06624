//! The token endpoint's counts (`signet_token_requests_total`, docs/METRICS.md): each answered
//! request by outcome, client authentication method and reason code. The reason is the code
//! the audit event carries — the authentication failure's (`bad_signature`, `replayed`, …) or
//! else the OAuth `error` — with rate limits and quotas told apart.

use super::{Granted, Refused};
use crate::oauth::OAuthError;

const ISSUED: &str = "issued";
const REFUSED: &str = "refused";
/// The method or reason of a request that has none: not authenticated yet, or a token issued.
const NONE: &str = "none";

/// Counts a request that went through the rules (`TokenIssuer::issue`).
pub(super) fn count(outcome: &Result<Granted, Refused>) {
    match outcome {
        Ok(granted) => {
            crate::metrics::token_request(ISSUED, granted.caller.method.unwrap_or(NONE), NONE);
        }
        Err(Refused { error, caller }) => count_refused(caller.method, error),
    }
}

/// Counts a refusal; `method` is `None` when the request was refused before its client
/// authentication was looked at.
pub(super) fn count_refused(method: Option<&'static str>, error: &OAuthError) {
    crate::metrics::token_request(REFUSED, method.unwrap_or(NONE), reason(error));
}

/// Counts a request whose body could not be read as a token request, and hands its refusal
/// back. A malformed HTTP Basic header is counted under `client_secret_basic`.
pub fn counted_refusal(error: OAuthError) -> OAuthError {
    let method = matches!(error, OAuthError::InvalidClient { basic: true, .. })
        .then_some("client_secret_basic");
    count_refused(method, &error);
    error
}

/// The reason code of a refusal.
fn reason(error: &OAuthError) -> &'static str {
    match error {
        OAuthError::InvalidClient { reason, .. } => reason.code(),
        OAuthError::PayloadTooLarge => "payload_too_large",
        OAuthError::TooManyRequests(_) => "rate_limited",
        OAuthError::QuotaExceeded(_) => "quota_exceeded",
        OAuthError::InvalidRequest(_)
        | OAuthError::UnsupportedGrantType(_)
        | OAuthError::UnauthorizedClient(_)
        | OAuthError::AccessDenied(_)
        | OAuthError::ServerError => error.code(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::oauth::assertion::Reason;
    use crate::oauth::error::AuthFailure;

    #[test]
    fn an_authentication_failure_is_counted_under_the_audit_logs_reason_code() {
        let replayed = OAuthError::unauthenticated(AuthFailure::Replayed, false);
        assert_eq!(reason(&replayed), "replayed");
        let bad_signature =
            OAuthError::unauthenticated(AuthFailure::Assertion(Reason::BadSignature), false);
        assert_eq!(reason(&bad_signature), "bad_signature");
        let bad_secret = OAuthError::unauthenticated(AuthFailure::BadClientSecret, true);
        assert_eq!(reason(&bad_secret), "bad_client_secret");
    }

    #[test]
    fn other_refusals_are_counted_under_their_error_code() {
        assert_eq!(
            reason(&OAuthError::invalid_request("no audience")),
            "invalid_request"
        );
        assert_eq!(
            reason(&OAuthError::AccessDenied("no grant".into())),
            "access_denied"
        );
        assert_eq!(
            reason(&OAuthError::UnsupportedGrantType("password".into())),
            "unsupported_grant_type"
        );
        assert_eq!(reason(&OAuthError::ServerError), "server_error");
        assert_eq!(reason(&OAuthError::PayloadTooLarge), "payload_too_large");
    }

    #[test]
    fn a_rate_limit_and_a_spent_quota_are_told_apart() {
        let limited = OAuthError::TooManyRequests(crate::rate_limit::Exceeded {
            limit: 1,
            retry_after: Duration::from_secs(1),
        });
        assert_eq!(reason(&limited), "rate_limited");
        assert_eq!(limited.code(), "too_many_requests");
    }
}
