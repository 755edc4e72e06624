//! The rules an assertion is judged by (BEHAVIOUR A.6, B.1–B.5), one function per rule: the
//! size, the choice of key among the client's credentials and the signature, then the claims in
//! a fixed order (identity, audience, time, `jti`). Nothing an attacker writes without the key
//! influences more than which refusal is logged.
//!
//! Two callers run these functions: the token path ([`super::inspect`], [`super::verify`]),
//! which stops at the first failure, and the explainer ([`super::explain`]), which runs every
//! rule it can and reports each verdict. Neither restates a rule.

use super::parse::{Aud, Claims};
use super::reason::{Reason, Rejection};
use super::{
    AssertionAlg, CandidateKey, Expectations, MAX_ASSERTION_LEN, MAX_CLIENT_ID_CHARS,
    MAX_JTI_CHARS, MAX_LIFETIME, MAX_VERIFICATIONS, SKEW, Unverified,
};

/// BEHAVIOUR A.6: the size bounds all later work, so it is checked before anything is decoded.
pub(super) fn check_size(assertion: &str) -> Result<(), Reason> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(Reason::AssertionTooLarge);
    }
    Ok(())
}

/// Whether `candidate` is a credential the header's `kid` names; without a `kid`, every
/// credential is one the assertion may concern (BEHAVIOUR B.5).
pub(super) fn named_by(candidate: &CandidateKey<'_>, kid: Option<&str>) -> bool {
    kid.is_none_or(|kid| kid == candidate.kid)
}

/// Why `candidate` cannot verify an assertion signed with `alg` at `now`, or `None` when it
/// can. An expired key is reported first: enabling it again would not help, rotating it would.
pub(super) fn unusable(
    candidate: &CandidateKey<'_>,
    alg: AssertionAlg,
    now: i64,
) -> Option<Reason> {
    if candidate.expired_at(now) {
        Some(Reason::CredentialExpired)
    } else if !candidate.enabled {
        // BEHAVIOUR A.1: a credential authenticates only while it is associated.
        Some(Reason::CredentialDisabled)
    } else if candidate.alg != alg {
        // BEHAVIOUR B.4: the header `alg` must be the credential's. The check also keeps the
        // key's own algorithm (which is what verifies) equal to the one the header claims.
        Some(Reason::AlgMismatch)
    } else {
        None
    }
}

/// What the signature covers, and who may have made it.
pub(super) struct Signed<'a> {
    /// `header.payload`.
    pub message: &'a [u8],
    pub signature: &'a [u8],
    pub alg: AssertionAlg,
    pub kid: Option<&'a str>,
}

impl<'a> Signed<'a> {
    pub(super) fn of(unverified: &'a Unverified<'_>) -> Self {
        Self {
            message: unverified.signing_input.as_bytes(),
            signature: &unverified.signature,
            alg: unverified.alg,
            kid: unverified.kid(),
        }
    }
}

/// BEHAVIOUR B.5: choose the key and verify the signature. Returns the id of the credential whose
/// key verified.
///
/// Without a `kid`, when no usable credential's key verifies, the keys of the client's expired
/// or disabled credentials of the header's `alg` are tried next: a signature one of them
/// verifies is refused with that credential's own reason and id, so the log says
/// `credential_expired` rather than `no_usable_credential`. Both passes share one budget of
/// [`MAX_VERIFICATIONS`], and the second runs only after the first failed: an accepted
/// assertion costs what it did before.
pub(super) fn authenticate<'k>(
    signed: &Signed<'_>,
    candidates: &[CandidateKey<'k>],
    now: i64,
) -> Result<&'k str, Rejection> {
    let kid = signed.kid;
    // With a `kid`, the first reason a credential it names could not be used.
    let mut named_problem: Option<(Reason, &'k str)> = None;
    let mut attempts = 0;
    let mut last_attempted: Option<&'k str> = None;

    for candidate in candidates.iter().filter(|c| named_by(c, kid)) {
        if let Some(reason) = unusable(candidate, signed.alg, now) {
            if kid.is_some() && named_problem.is_none() {
                named_problem = Some((reason, candidate.credential_id));
            }
            continue;
        }
        match verify_within_budget(candidate, signed, &mut attempts) {
            None => break,
            Some(true) => return Ok(candidate.credential_id),
            Some(false) => last_attempted = Some(candidate.credential_id),
        }
    }

    let usable_attempts = attempts;
    if kid.is_none() {
        for candidate in candidates {
            let reason = match unusable(candidate, signed.alg, now) {
                Some(reason @ (Reason::CredentialExpired | Reason::CredentialDisabled))
                    if candidate.alg == signed.alg =>
                {
                    reason
                }
                _ => continue,
            };
            match verify_within_budget(candidate, signed, &mut attempts) {
                None => break,
                Some(true) => {
                    return Err(Rejection::for_credential(reason, candidate.credential_id));
                }
                Some(false) => {}
            }
        }
    }

    Err(
        match (usable_attempts, last_attempted, kid, named_problem) {
            // One usable key was tried: it is the one the assertion was meant for.
            (1, Some(id), _, _) => Rejection::for_credential(Reason::BadSignature, id),
            (1.., _, _, _) => Rejection::new(Reason::BadSignature),
            (_, _, Some(_), Some((reason, id))) => Rejection::for_credential(reason, id),
            (_, _, Some(_), None) => Rejection::new(Reason::UnknownKid),
            (_, _, None, _) => Rejection::new(Reason::NoUsableCredential),
        },
    )
}

/// One signature verification with `candidate`'s key, counted against the request's budget:
/// `None` when the budget of [`MAX_VERIFICATIONS`] is spent (nothing was verified), else
/// whether the key verified.
fn verify_within_budget(
    candidate: &CandidateKey<'_>,
    signed: &Signed<'_>,
    attempts: &mut usize,
) -> Option<bool> {
    if *attempts == MAX_VERIFICATIONS {
        return None;
    }
    *attempts += 1;
    Some(
        candidate
            .key
            .verify_sig(signed.message, signed.signature)
            .is_ok(),
    )
}

/// What the claim checks hand back.
pub(super) struct Accepted<'u> {
    pub jti: &'u str,
    pub exp: i64,
    pub legacy_audience: bool,
}

/// The claim checks, in a fixed order (identity, audience, time, `jti`), run only after the
/// signature verified. `iss` was checked by `inspect`.
pub(super) fn check_claims<'u>(
    unverified: &'u Unverified<'_>,
    expect: &Expectations<'_>,
) -> Result<Accepted<'u>, Reason> {
    let claims = &unverified.claims;
    let now = expect.now;
    check_sub(claims)?;
    check_client_id(claims, expect)?;
    let legacy_audience = check_audience(claims.aud.as_ref(), expect)?;
    let exp = check_exp(claims, now)?;
    check_nbf(claims, now)?;
    check_iat(claims, now)?;
    check_lifetime(claims, exp, now)?;
    let jti = check_jti(claims)?;
    Ok(Accepted {
        jti,
        exp,
        legacy_audience,
    })
}

/// `iss` must be there, and short enough to be a client id: it is the key the client is looked
/// up by, before anything is verified (BEHAVIOUR A.6).
pub(super) fn check_iss(claims: &Claims) -> Result<&str, Reason> {
    match claims.iss.as_deref() {
        Some(iss) if !iss.is_empty() => {
            if iss.chars().count() > MAX_CLIENT_ID_CHARS {
                return Err(Reason::ClaimTooLong);
            }
            Ok(iss)
        }
        _ => Err(Reason::MissingIss),
    }
}

/// BEHAVIOUR A.6, B.3; RFC 7523 §3 items 1–2: `sub` == `iss`. `sub` can only equal `iss` if it
/// is as short, but its own length is reported first so the log says what was wrong with it.
pub(super) fn check_sub(claims: &Claims) -> Result<(), Reason> {
    let sub = claims.sub.as_deref().ok_or(Reason::IssSubMismatch)?;
    if sub.chars().count() > MAX_CLIENT_ID_CHARS {
        return Err(Reason::ClaimTooLong);
    }
    if sub != claims.issuer() {
        return Err(Reason::IssSubMismatch);
    }
    Ok(())
}

/// BEHAVIOUR B.3: `iss` is the client that was loaded.
pub(super) fn check_client_id(claims: &Claims, expect: &Expectations<'_>) -> Result<(), Reason> {
    if claims.issuer() != expect.client_id {
        return Err(Reason::ClientIdMismatch);
    }
    Ok(())
}

/// BEHAVIOUR A.6 and B.1: `aud` must be the issuer, byte for byte, as a single string: no case or
/// trailing-slash normalising, no arrays, not the token endpoint. With the legacy option the
/// token endpoint as a string, and an array containing the issuer or the token endpoint, are
/// also accepted, and reported (`Ok(true)`) so the use can be logged.
pub(super) fn check_audience(aud: Option<&Aud>, expect: &Expectations<'_>) -> Result<bool, Reason> {
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

// Time (BEHAVIOUR A.6; RFC 7523 §3 items 4–6). Saturating arithmetic: any i64 is a valid JSON
// integer, and an overflow must neither panic nor wrap into acceptance.

/// `exp` is required and must be later than `now - SKEW`.
pub(super) fn check_exp(claims: &Claims, now: i64) -> Result<i64, Reason> {
    let exp = claims.exp.ok_or(Reason::MissingExp)?;
    if exp <= now.saturating_sub(SKEW) {
        return Err(Reason::Expired);
    }
    Ok(exp)
}

/// `nbf`, when present, is at most `now + SKEW`.
pub(super) fn check_nbf(claims: &Claims, now: i64) -> Result<(), Reason> {
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(SKEW)) {
        return Err(Reason::NotYetValid);
    }
    Ok(())
}

/// `iat`, when present, is at most `now + SKEW`.
pub(super) fn check_iat(claims: &Claims, now: i64) -> Result<(), Reason> {
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(SKEW)) {
        return Err(Reason::IatInFuture);
    }
    Ok(())
}

/// `exp` at most [`MAX_LIFETIME`] after `iat`, or after `now` without `iat`.
pub(super) fn check_lifetime(claims: &Claims, exp: i64, now: i64) -> Result<(), Reason> {
    if exp.saturating_sub(lifetime_start(claims, now)) > MAX_LIFETIME {
        return Err(Reason::LifetimeTooLong);
    }
    Ok(())
}

/// Where the lifetime is counted from.
pub(super) fn lifetime_start(claims: &Claims, now: i64) -> i64 {
    claims.iat.unwrap_or(now)
}

/// BEHAVIOUR A.6 and OpenID Connect Core §9: `jti` is required (RFC 7523 makes it optional), as
/// it is what makes the assertion single-use (BEHAVIOUR B.6).
pub(super) fn check_jti(claims: &Claims) -> Result<&str, Reason> {
    let jti = claims
        .jti
        .as_deref()
        .filter(|jti| !jti.is_empty())
        .ok_or(Reason::MissingJti)?;
    if jti.chars().count() > MAX_JTI_CHARS {
        return Err(Reason::JtiTooLong);
    }
    // It is stored by the replay check, and a value one database cannot store must not fail
    // the batch it is written in.
    if jti.chars().any(char::is_control) {
        return Err(Reason::InvalidJti);
    }
    Ok(jti)
}
