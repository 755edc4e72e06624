//! What each reason code in the audit log means, in one plain sentence with the likely fix, for
//! the people reading the Logs pages. The caller of `/oauth/token` only ever sees
//! `invalid_client` (BEHAVIOUR B.7); these sentences are for the tenant's own administrators.

use crate::oauth::error::{AuthFailure, OAuthError};

/// Every reason code the token endpoint can log: each authentication failure (assertion
/// reasons among them) and each OAuth `error` (the reason of a failure that is not about
/// authentication). Sorted, without duplicates (`client_id_mismatch` is both an assertion
/// reason and a failure of its own).
pub fn codes() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = AuthFailure::all()
        .map(AuthFailure::code)
        .chain(OAuthError::CODES)
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The codes an event can be filtered by: `invalid_client` is never a reason of its own, since
/// every such failure records the authentication failure's code instead.
pub fn filterable() -> Vec<&'static str> {
    codes()
        .into_iter()
        .filter(|c| *c != "invalid_client")
        .collect()
}

/// The sentence for `code`, with `issuer` (the `aud` an assertion must carry) filled in where
/// it helps; `None` for a code this version does not know.
pub fn explain(code: &str, issuer: &str) -> Option<String> {
    let text = sentence(code)?;
    Some(text.replace("{issuer}", issuer))
}

fn sentence(code: &str) -> Option<&'static str> {
    Some(match code {
        // Authentication failures other than the assertion's rules.
        "unknown_client" => {
            "No application in this tenant has this client ID; check the client_id (or the assertion's iss) the caller sends against the application's page, and that the application was not deleted."
        }
        "bad_client_secret" => {
            "The client secret does not match; use the application's current secret (rotating it replaces the old one at once)."
        }
        "auth_method_not_allowed" => {
            "The caller sent a client secret but the application does not authenticate with one; send a signed client_assertion, or switch the application to a client secret on its Credentials tab."
        }
        "malformed_basic_header" => {
            "The Authorization: Basic header is not base64 of client_id:client_secret; encode the two joined by a colon."
        }
        "no_client_authentication" => {
            "The request names a client but carries neither a client secret nor a client_assertion; send one of them."
        }
        "client_id_mismatch" => {
            "The client_id parameter and the assertion's iss name different applications (or iss is not the expected client); set client_id, iss and sub all to the application's client ID."
        }
        "private_key_jwt_not_enabled" => {
            "The caller sent a client_assertion but the application does not use Private Key JWT; enable a credential on its Credentials tab, or authenticate with its client secret."
        }
        "replayed" => {
            "This assertion's jti was used before; sign a new assertion with a new random jti for every token request."
        }
        "kid_not_in_jwks" => {
            "The assertion's kid is in none of the key sets at the application's jwks_uri, even after fetching them again; publish the key there or fix the kid in the assertion's header."
        }
        "jwks_unavailable" => {
            "The key set at the application's jwks_uri could not be fetched (or is too old to use) and no other key could be tried; make the URL reachable from this server and serve a valid JWKS."
        }
        "credential_disabled" => {
            "The credential the assertion's key belongs to is disabled for the application; enable it on the Credentials tab or sign with an enabled one."
        }
        // Federated workload credentials (src/oauth/federated/reason.rs, BEHAVIOUR B.13).
        "federated_token_too_large" => {
            "The platform token is longer than 8192 bytes and was not read; check that the caller sends the platform's ID token itself, not a file or response holding it."
        }
        "federated_token_malformed" => {
            "The platform token is not a well-formed JWT (three base64url parts, JSON objects, iss, sub and jti as strings, exp, nbf and iat as integers); send the token exactly as the platform issued it."
        }
        "federated_unsupported_alg" => {
            "The platform token is signed with an algorithm outside RS256, RS384, PS256, ES256, ES384 and EdDSA; configure the issuer to sign with one of them."
        }
        "federated_bad_typ" => {
            "The platform token's typ header is neither JWT nor JOSE, so it is another kind of token; send the platform's ID token."
        }
        "federated_crit_header" => {
            "The platform token has a crit header, which this server does not process; such tokens are refused."
        }
        "federated_issuer_not_trusted" => {
            "No enabled, unexpired federated credential of this application trusts the token's issuer (iss); add one for that issuer, or check that the workload asks its own platform for the token."
        }
        "federated_keys_unavailable" => {
            "The issuer's keys could not be fetched (its OpenID discovery document or jwks_uri is unreachable or invalid) and no usable copy was held; make them reachable from this server, or give the keys in the credential's jwks."
        }
        "federated_unknown_kid" => {
            "The token's kid is in none of the issuer's keys, even after fetching them again; check the issuer (a token from another cluster or platform instance has other keys)."
        }
        "federated_bad_signature" => {
            "No key of the issuer verifies the token's signature; the token was altered or comes from another issuer with the same name."
        }
        "federated_aud_mismatch" => {
            "The token's aud does not contain the credential's audience ({issuer} unless the credential names another); request the platform token for that audience."
        }
        "federated_missing_exp" => {
            "The platform token has no exp; only tokens that expire are accepted."
        }
        "federated_expired" => {
            "The platform token has expired (10 seconds of clock skew allowed); request a fresh one from the platform."
        }
        "federated_not_yet_valid" => {
            "The platform token's nbf is in the future; check the clocks of the platform and of this server."
        }
        "federated_iat_in_future" => {
            "The platform token's iat is in the future; check the clocks of the platform and of this server."
        }
        "federated_lifetime_too_long" => {
            "The platform token lives longer than the credential's max_token_lifetime; shorten the token's lifetime on the platform (for Kubernetes, a projected token with expirationSeconds), or raise the credential's limit knowingly."
        }
        "federated_claim_mismatch" => {
            "The token's subject or a pinned claim is not what the credential expects; the event names the claim and the expected value, so compare it with the workload's repository, branch, environment or service account."
        }
        "federated_missing_jti" => {
            "The credential's replay mode is once, which needs the token's jti, and the token has none; use replay reuse_until_expiry for platforms whose tokens carry no jti."
        }
        "federated_invalid_jti" => {
            "The platform token's jti is longer than 255 characters or holds a control character."
        }
        "federated_credential_expired" => {
            "The federated credential that trusts this issuer has passed its expires_at; extend it or add a new one."
        }
        // The assertion's own rules (src/oauth/assertion/reason.rs).
        "assertion_too_large" => {
            "The client_assertion is longer than 2048 bytes and was not read; leave out unneeded claims and headers (an x5c certificate chain is the usual cause)."
        }
        "malformed_assertion" => {
            "The client_assertion is not a well-formed JWT (three base64url parts, JSON objects, claims of the right types, no null values); build it with a JWT library."
        }
        "unsupported_alg" => {
            "The assertion's alg is missing or not one of RS256, RS384, PS256, ES256, ES384 or EdDSA; sign with the algorithm of the application's credential."
        }
        "bad_typ" => {
            "The assertion's typ header is neither JWT nor client-authentication+jwt; set typ to JWT or leave it out."
        }
        "crit_header" => "The assertion has a crit header, which is never accepted; remove it.",
        "missing_iss" => {
            "The assertion has no iss claim; set iss and sub to the application's client ID."
        }
        "iss_sub_mismatch" => {
            "The assertion's sub is missing or differs from its iss; set both to the application's client ID."
        }
        "unknown_kid" => {
            "The assertion's kid names none of the application's credentials; put the kid shown on the Credentials tab in the header, or add the key that signed it."
        }
        "alg_mismatch" => {
            "The assertion's alg differs from that of the credential its kid names; sign with the credential's algorithm, shown on the Credentials tab."
        }
        "no_usable_credential" => {
            "The application has no enabled, unexpired credential for the assertion's alg; add or enable one on the Credentials tab (and name it with kid in the header)."
        }
        "credential_expired" => {
            "The credential that signed the assertion has expired; add a new credential and sign with its key."
        }
        "bad_signature" => {
            "No credential's public key verifies the signature; sign with the private key whose public key is uploaded for this application, and check the kid."
        }
        "aud_mismatch" => {
            "The assertion's aud is not this tenant's issuer ({issuer}); set aud to exactly the issuer, with the trailing slash, as a single string."
        }
        "missing_exp" => {
            "The assertion has no exp claim; set exp to at most 300 seconds after iat."
        }
        "expired" => {
            "The assertion's exp has passed; sign a new assertion for each request and check the caller's clock (10 seconds of skew are allowed)."
        }
        "not_yet_valid" => {
            "The assertion's nbf is in the future; the caller's clock is ahead: synchronise it, or leave nbf out."
        }
        "iat_in_future" => {
            "The assertion's iat is in the future; the caller's clock is ahead: synchronise it."
        }
        "lifetime_too_long" => {
            "The assertion's exp is more than 300 seconds after its iat; use a lifetime of at most 5 minutes (some libraries default to an hour)."
        }
        "missing_jti" => {
            "The assertion has no jti; give every assertion a new random jti, such as a UUID."
        }
        "jti_too_long" => {
            "The assertion's jti is longer than 64 characters; use a shorter random value, such as a UUID."
        }
        "invalid_jti" => {
            "The assertion's jti contains a control character; use printable characters only, such as a UUID."
        }
        "claim_too_long" => {
            "The assertion's iss or sub is longer than 64 characters; both must be exactly the application's client ID."
        }
        // Failures that are not about authentication: the OAuth `error` itself.
        "invalid_request" => {
            "The request is missing a parameter or has a malformed one (often audience); the event's description says which."
        }
        "unsupported_grant_type" => {
            "The grant_type is not client_credentials; machine-to-machine applications send grant_type=client_credentials."
        }
        "invalid_client" => {
            "Client authentication failed; the reason recorded with the event says why."
        }
        "unauthorized_client" => {
            "The application may not use the client credentials grant; only Machine to Machine applications can, so check the application's type."
        }
        "access_denied" => {
            "The application is not authorized for the requested API or scopes; authorize it on the application's APIs tab."
        }
        "too_many_requests" => {
            "A rate limit or the application's token quota refused the request; retry after the Retry-After time and reuse tokens until they expire."
        }
        "server_error" => {
            "The server failed while handling the request; its own log has the cause. Retry, and look there if it persists."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::assertion::{MAX_ASSERTION_LEN, MAX_LIFETIME, Reason, SKEW};

    const ISSUER: &str = "https://tenant.example/";

    #[test]
    fn every_code_the_token_endpoint_can_log_is_explained() {
        // Iterates the enums' own lists, so a new code fails here until it has a sentence.
        let logged = AuthFailure::all()
            .map(AuthFailure::code)
            .chain(OAuthError::CODES)
            .chain(Reason::ALL.iter().map(|r| r.code()));
        for code in logged {
            let text = explain(code, ISSUER).unwrap_or_else(|| panic!("{code} is not explained"));
            assert!(text.ends_with('.'), "{code}: one sentence");
            assert!(!text.contains('{'), "{code}: a placeholder left");
        }
        assert!(codes().contains(&"no_usable_credential"));
        assert!(codes().contains(&"credential_disabled"));
        assert!(!filterable().contains(&"invalid_client"));
        assert_eq!(explain("no_such_code", ISSUER), None);
    }

    #[test]
    fn the_audience_explanation_names_the_issuer() {
        let text = explain("aud_mismatch", ISSUER).unwrap();
        assert!(text.contains("(https://tenant.example/)"), "{text}");
    }

    #[test]
    fn the_limits_the_sentences_quote_are_the_enforced_ones() {
        let quoted = |code| explain(code, ISSUER).unwrap();
        assert!(quoted("lifetime_too_long").contains(&format!("{MAX_LIFETIME} seconds")));
        assert!(quoted("missing_exp").contains(&format!("{MAX_LIFETIME} seconds")));
        assert!(quoted("expired").contains(&format!("{SKEW} seconds")));
        assert!(quoted("assertion_too_large").contains(&format!("{MAX_ASSERTION_LEN} bytes")));
    }
}
