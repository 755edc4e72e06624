//! The rules an assertion is judged by once its client is known (BEHAVIOUR A.6, B.1–B.5): the
//! choice of key among the client's credentials and the signature, then the claims in a fixed
//! order (identity, audience, time, `jti`). Nothing an attacker writes without the key
//! influences more than which refusal is logged.

use super::parse::Aud;
use super::reason::{Reason, Rejection};
use super::{
    CandidateKey, Expectations, MAX_CLIENT_ID_CHARS, MAX_JTI_CHARS, MAX_LIFETIME,
    MAX_VERIFICATIONS, SKEW, Unverified,
};

/// BEHAVIOUR B.5: choose the key and verify the signature. Returns the id of the credential whose
/// key verified.
pub(super) fn authenticate<'k>(
    unverified: &Unverified<'_>,
    candidates: &[CandidateKey<'k>],
    now: i64,
) -> Result<&'k str, Rejection> {
    let kid = unverified.kid();
    let message = unverified.signing_input.as_bytes();
    // With a `kid`, the first reason a credential it names could not be used.
    let mut named_problem: Option<(Reason, &'k str)> = None;
    let mut attempts = 0;
    let mut last_attempted: Option<&'k str> = None;

    for candidate in candidates {
        if kid.is_some_and(|kid| kid != candidate.kid) {
            continue;
        }
        let problem = if candidate.expired_at(now) {
            Some(Reason::CredentialExpired)
        } else if candidate.alg != unverified.alg {
            // BEHAVIOUR B.4: the header `alg` must be the credential's. The check also keeps the
            // key's own algorithm (which is what verifies) equal to the one the header claims.
            Some(Reason::AlgMismatch)
        } else {
            None
        };
        if let Some(reason) = problem {
            if kid.is_some() && named_problem.is_none() {
                named_problem = Some((reason, candidate.credential_id));
            }
            continue;
        }
        if attempts == MAX_VERIFICATIONS {
            break;
        }
        attempts += 1;
        if candidate
            .key
            .verify_sig(message, &unverified.signature)
            .is_ok()
        {
            return Ok(candidate.credential_id);
        }
        last_attempted = Some(candidate.credential_id);
    }

    Err(match (attempts, last_attempted, kid, named_problem) {
        // One key was tried: it is the one the assertion was meant for.
        (1, Some(id), _, _) => Rejection::for_credential(Reason::BadSignature, id),
        (1.., _, _, _) => Rejection::new(Reason::BadSignature),
        (_, _, Some(_), Some((reason, id))) => Rejection::for_credential(reason, id),
        (_, _, Some(_), None) => Rejection::new(Reason::UnknownKid),
        (_, _, None, _) => Rejection::new(Reason::NoUsableCredential),
    })
}

/// What the claim checks hand back.
pub(super) struct Accepted<'u> {
    pub jti: &'u str,
    pub exp: i64,
    pub legacy_audience: bool,
}

/// The claim checks, in a fixed order (identity, audience, time, `jti`), run only after the
/// signature verified.
pub(super) fn check_claims<'u>(
    unverified: &'u Unverified<'_>,
    expect: &Expectations<'_>,
) -> Result<Accepted<'u>, Reason> {
    let claims = &unverified.claims;
    let now = expect.now;

    // Identity (BEHAVIOUR A.6, B.3; RFC 7523 §3 items 1–2): iss == sub == client_id. `iss` was
    // length-checked by `inspect`; `sub` can only equal it if it is as short, but its own
    // length is reported first so the log says what was wrong with it.
    let iss = claims.issuer();
    let sub = claims.sub.as_deref().ok_or(Reason::IssSubMismatch)?;
    if sub.chars().count() > MAX_CLIENT_ID_CHARS {
        return Err(Reason::ClaimTooLong);
    }
    if sub != iss {
        return Err(Reason::IssSubMismatch);
    }
    if iss != expect.client_id {
        return Err(Reason::ClientIdMismatch);
    }

    let legacy_audience = check_audience(claims.aud.as_ref(), expect)?;

    // Time (BEHAVIOUR A.6; RFC 7523 §3 items 4–6). Saturating arithmetic: any i64 is a valid JSON
    // integer, and an overflow must neither panic nor wrap into acceptance.
    let exp = claims.exp.ok_or(Reason::MissingExp)?;
    if exp <= now.saturating_sub(SKEW) {
        return Err(Reason::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(SKEW)) {
        return Err(Reason::NotYetValid);
    }
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(SKEW)) {
        return Err(Reason::IatInFuture);
    }
    let issued = claims.iat.unwrap_or(now);
    if exp.saturating_sub(issued) > MAX_LIFETIME {
        return Err(Reason::LifetimeTooLong);
    }

    // BEHAVIOUR A.6 and OpenID Connect Core §9: `jti` is required (RFC 7523 makes it optional), as
    // it is what makes the assertion single-use (BEHAVIOUR B.6).
    let jti = claims
        .jti
        .as_deref()
        .filter(|jti| !jti.is_empty())
        .ok_or(Reason::MissingJti)?;
    if jti.chars().count() > MAX_JTI_CHARS {
        return Err(Reason::JtiTooLong);
    }
    if jti.chars().any(char::is_control) {
        return Err(Reason::InvalidJti);
    }

    Ok(Accepted {
        jti,
        exp,
        legacy_audience,
    })
}

/// BEHAVIOUR A.6 and B.1: `aud` must be the issuer, byte for byte, as a single string: no case or
/// trailing-slash normalising, no arrays, not the token endpoint. With the legacy option the
/// token endpoint as a string, and an array containing the issuer or the token endpoint, are
/// also accepted, and reported (`Ok(true)`) so the use can be logged.
fn check_audience(aud: Option<&Aud>, expect: &Expectations<'_>) -> Result<bool, Reason> {
    let legacy_target = |value: &String| value == expect.issuer || value == expect.token_endpoint;
    match aud {
        Some(Aud::One(value)) if value == expect.issuer => Ok(false),
        Some(Aud::One(value)) if expect.accept_legacy_audience && legacy_target(value) => Ok(true),
        Some(Aud::Many(values))
            if expect.accept_legacy_audience && values.iter().any(legacy_target) =>
        {
            Ok(true)
        }
        _ => Err(Reason::AudMismatch),
    }
}
