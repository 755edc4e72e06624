//! Verification of a workload platform's token presented as a client assertion (BEHAVIOUR
//! B.13): a GitHub Actions or GitLab CI OIDC token, a projected Kubernetes service-account
//! token, a SPIFFE JWT-SVID, any OpenID Connect issuer's ID token.
//!
//! Pure, like `assertion`: no I/O, `now` a parameter. The checks run in a fixed order —
//! size and shape, header and algorithm allowlist ([`inspect`]), then per credential that
//! trusts the token's issuer: signature with the issuer's keys, `iss`, `aud`, `exp` and the
//! lifetime cap, `nbf` and `iat`, subject and pinned claims, and for `replay: once` the `jti`
//! ([`verify`]); the caller consumes the `jti` last, as for a Private Key JWT assertion.
//! [`Report`] records each check for the explain route, which runs the same code.
//!
//! The token text is never logged or returned: a refusal names a reason code, the credential,
//! and for a claim that differs its name and the expected value (the credential's own data).

mod reason;

use aws_lc_rs::signature::ParsedPublicKey;
use serde_json::{Map, Value};

pub use self::reason::FederatedReason;
use super::assertion::SKEW;
use crate::crypto::alg::AssertionAlg;
use crate::crypto::jwt::{Compact, b64url_decode};
use crate::domain::federated::{FederatedRule, ReplayMode};

/// Largest accepted platform token. GitHub Actions tokens carry some thirty claims and run to
/// about 2 KB; 8 KiB leaves room for any issuer while bounding the work.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Longest `jti` kept by the replay check (it is stored hashed).
const MAX_JTI_CHARS: usize = 255;
/// A header `kid` longer than this names no key.
const MAX_KID_CHARS: usize = 255;
/// Without a `kid`, at most this many keys of the header's algorithm are tried.
const MAX_KIDLESS_TRIES: usize = 4;

/// A token that passed [`inspect`]: well-formed, an allowed algorithm; trusted in no way yet.
pub struct Unverified<'a> {
    signing_input: &'a str,
    signature: Vec<u8>,
    alg: AssertionAlg,
    kid: Option<String>,
    claims: Map<String, Value>,
}

impl Unverified<'_> {
    /// The unverified `iss`, only to choose the credentials that trust it.
    pub fn issuer_claim(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn alg(&self) -> AssertionAlg {
        self.alg
    }
}

impl std::fmt::Debug for Unverified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unverified")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("iss", &self.issuer_claim())
            .finish_non_exhaustive()
    }
}

/// Size, shape, header and algorithm: before any key is looked up.
pub fn inspect(token: &str) -> Result<Unverified<'_>, FederatedReason> {
    use FederatedReason::*;
    if token.len() > MAX_TOKEN_LEN {
        return Err(TooLarge);
    }
    let parts = Compact::split(token).ok_or(Malformed)?;
    let signature = b64url_decode(parts.signature).ok_or(Malformed)?;
    let header = json_object(parts.header)?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => AssertionAlg::parse(alg).ok_or(UnsupportedAlg)?,
        _ => return Err(UnsupportedAlg),
    };
    if header.contains_key("crit") {
        return Err(CritHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") || typ == "JOSE" => {}
        Some(_) => return Err(BadTyp),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.chars().count() <= MAX_KID_CHARS => Some(kid.clone()),
        Some(_) => return Err(Malformed),
    };
    let claims = json_object(parts.payload)?;
    for name in ["iss", "sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(Malformed);
        }
    }
    for name in ["exp", "nbf", "iat"] {
        if claims.get(name).is_some_and(|v| v.as_i64().is_none()) {
            return Err(Malformed);
        }
    }
    Ok(Unverified {
        signing_input: parts.signing_input,
        signature,
        alg,
        kid,
        claims,
    })
}

fn json_object(part: &str) -> Result<Map<String, Value>, FederatedReason> {
    let bytes = b64url_decode(part).ok_or(FederatedReason::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| FederatedReason::Malformed)
}

/// One of the issuer's keys.
#[derive(Clone, Copy)]
pub struct IssuerKey<'a> {
    pub kid: &'a str,
    pub alg: AssertionAlg,
    pub key: &'a ParsedPublicKey,
}

/// What the credential expects beyond its rule.
pub struct Expectations<'a> {
    /// The server's issuer URL: the audience when the credential names none.
    pub default_audience: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// An accepted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// With `replay: once`, the `jti` to consume; `None` for `reuse_until_expiry`.
    pub jti: Option<String>,
    pub exp: i64,
}

/// A refusal, with the claim that differed when that was the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: FederatedReason,
    pub claim: Option<(String, String)>,
}

impl From<FederatedReason> for Refusal {
    fn from(reason: FederatedReason) -> Self {
        Self {
            reason,
            claim: None,
        }
    }
}

/// Each check as it went, for the explain route: `(check, passed, note)`.
#[derive(Debug, Default)]
pub struct Report {
    pub steps: Vec<(&'static str, bool, String)>,
}

impl Report {
    fn pass(&mut self, check: &'static str, note: impl Into<String>) {
        self.steps.push((check, true, note.into()));
    }

    fn fail(&mut self, check: &'static str, note: impl Into<String>) {
        self.steps.push((check, false, note.into()));
    }
}

/// Whether the token's `iss` is what the rule trusts: exactly, or anything for a SPIFFE
/// credential without an issuer.
pub fn trusts_issuer(rule: &FederatedRule, iss: Option<&str>) -> bool {
    match &rule.issuer {
        Some(issuer) => iss == Some(issuer.as_str()),
        None => true,
    }
}

/// Signature with the issuer's keys, then the claims in order; the first failure ends it.
pub fn verify(
    token: &Unverified<'_>,
    keys: &[IssuerKey<'_>],
    rule: &FederatedRule,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<Verified, Refusal> {
    use FederatedReason::*;
    check_signature(token, keys, report)?;
    let claims = &token.claims;
    if !trusts_issuer(rule, token.issuer_claim()) {
        report.fail("iss", "the credential trusts another issuer");
        return Err(IssuerNotTrusted.into());
    }
    report.pass("iss", token.issuer_claim().unwrap_or("(none)"));
    let audience = rule.audience.as_deref().unwrap_or(expect.default_audience);
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        report.fail("aud", format!("must contain {audience:?}"));
        return Err(AudMismatch.into());
    }
    report.pass("aud", format!("contains {audience:?}"));
    let now = expect.now;
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    let Some(exp) = int("exp") else {
        report.fail("exp", "missing");
        return Err(MissingExp.into());
    };
    if exp <= now.saturating_sub(SKEW) {
        report.fail("exp", "the token has expired");
        return Err(Expired.into());
    }
    let lifetime = exp.saturating_sub(int("iat").unwrap_or(now));
    if lifetime > rule.max_token_lifetime {
        report.fail(
            "exp",
            format!(
                "lives {lifetime} s; the credential allows at most {} s (max_token_lifetime)",
                rule.max_token_lifetime
            ),
        );
        return Err(LifetimeTooLong.into());
    }
    report.pass("exp", format!("{} s left", exp.saturating_sub(now)));
    if int("nbf").is_some_and(|nbf| nbf > now.saturating_add(SKEW)) {
        report.fail("nbf", "not valid yet");
        return Err(NotYetValid.into());
    }
    if int("iat").is_some_and(|iat| iat > now.saturating_add(SKEW)) {
        report.fail("iat", "issued in the future");
        return Err(IatInFuture.into());
    }
    report.pass("nbf/iat", "within the clock skew");
    if let Err(m) = rule.check_claims(claims) {
        report.fail("claims", format!("{} must be {}", m.claim, m.expected));
        return Err(Refusal {
            reason: ClaimMismatch,
            claim: Some((m.claim, m.expected)),
        });
    }
    report.pass("claims", rule.match_summary());
    let jti = match rule.replay {
        ReplayMode::ReuseUntilExpiry => {
            report.pass(
                "replay",
                "reuse_until_expiry: the token may be used until it expires",
            );
            None
        }
        ReplayMode::Once => {
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .filter(|j| !j.is_empty());
            let Some(jti) = jti else {
                report.fail(
                    "replay",
                    "replay once needs the token's jti, and it has none",
                );
                return Err(MissingJti.into());
            };
            if jti.chars().count() > MAX_JTI_CHARS || jti.chars().any(char::is_control) {
                report.fail("replay", "the jti is too long or holds a control character");
                return Err(InvalidJti.into());
            }
            Some(jti.to_owned())
        }
    };
    Ok(Verified { jti, exp })
}

/// With a `kid`, the keys of that kid and the header's algorithm; without one, at most
/// [`MAX_KIDLESS_TRIES`] keys of the algorithm.
fn check_signature(
    token: &Unverified<'_>,
    keys: &[IssuerKey<'_>],
    report: &mut Report,
) -> Result<(), Refusal> {
    let fits = |k: &&IssuerKey<'_>| k.alg == token.alg;
    let tried: Vec<&IssuerKey<'_>> = match token.kid() {
        Some(kid) => {
            let named: Vec<_> = keys.iter().filter(|k| k.kid == kid).collect();
            if named.is_empty() {
                report.fail("signature", format!("no key of the issuer has kid {kid:?}"));
                return Err(FederatedReason::UnknownKid.into());
            }
            named.into_iter().filter(fits).collect()
        }
        None => keys.iter().filter(fits).take(MAX_KIDLESS_TRIES).collect(),
    };
    let input = token.signing_input.as_bytes();
    if let Some(k) = tried
        .iter()
        .find(|k| k.key.verify_sig(input, &token.signature).is_ok())
    {
        report.pass(
            "signature",
            format!("{} with the issuer's key {:?}", token.alg, k.kid),
        );
        Ok(())
    } else {
        report.fail(
            "signature",
            format!("no key of the issuer verifies this {} signature", token.alg),
        );
        Err(FederatedReason::BadSignature.into())
    }
}

#[cfg(test)]
mod tests;
