//! Verification of Private Key JWT client assertions (RFC 7523 §3, OpenID Connect Core §9,
//! BEHAVIOUR A.6 and B.1–B.7).
//!
//! This module owns every decision about the text of a `client_assertion`: its size and shape,
//! its header (algorithm allowlist, `typ`, `crit`, `kid`), the choice of key among the client's
//! credentials, the signature, and the claims with their time limits. It is pure: no I/O, no
//! clock (`now` is a parameter, unix seconds), no logging. What it does not own: loading the
//! client named by `iss`, recording the `jti` against replay (BEHAVIOUR B.6: the caller does
//! that last, once everything here has passed), the HTTP answer (always 401 `invalid_client`,
//! BEHAVIOUR B.7) and the audit log (which gets [`Reason::code`] and the credential id, never
//! the assertion).
//!
//! The token endpoint calls it in two steps, because the client, and so its keys, is known
//! only after reading `iss`:
//! 1. [`inspect`]: size, shape, header and algorithm allowlist, before any key lookup
//!    (`parse`, BEHAVIOUR B.4);
//! 2. [`verify`]: key choice (BEHAVIOUR B.5), signature, then the claims (`rules`, BEHAVIOUR
//!    A.6, B.1, B.3).
//!
//! Cost per request: the three parts are base64url-decoded once and the header and payload are
//! parsed once, by serde, into owned strings (measured: no slower than the byte ranges it kept
//! before, within the 0.2 µs noise of a 2 µs step). No PEM, no key parsing (keys arrive
//! parsed), no JSON re-serialisation, at most two signature verifications (RSA, ECDSA or
//! Ed25519).
//!
//! The assertion text is never logged, returned or printed: [`Unverified`]'s `Debug` shows only
//! the algorithm, `kid` and claimed issuer, and a [`Rejection`] holds only a reason code and a
//! credential id.

pub mod explain;
mod parse;
mod reason;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;

use aws_lc_rs::signature::ParsedPublicKey;
use serde::Deserialize;

pub use crate::crypto::alg::AssertionAlg;
use crate::crypto::jwt::{Compact, b64url_decode};
use parse::Claims;
pub use reason::{Reason, Rejection};

/// Largest accepted assertion, in bytes, checked before anything else is looked at (BEHAVIOUR A.6).
pub const MAX_ASSERTION_LEN: usize = 2048;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (BEHAVIOUR A.6).
///
/// Exact boundaries, with `now` in unix seconds:
/// - `exp`: accepted while `exp > now - SKEW`; `exp == now - SKEW` is expired.
/// - `nbf`: accepted while `nbf <= now + SKEW`; `nbf == now + SKEW + 1` is not yet valid.
/// - `iat`: accepted while `iat <= now + SKEW`; `iat == now + SKEW + 1` is in the future.
///
/// The caller keeps a used `jti` until `exp + SKEW` (BEHAVIOUR B.6): from then on `exp` alone
/// refuses the assertion, so forgetting the `jti` cannot let it be replayed.
pub const SKEW: i64 = 10;

/// Longest accepted assertion lifetime, in seconds (BEHAVIOUR A.6): `exp - iat <= MAX_LIFETIME`, or
/// `exp - now <= MAX_LIFETIME` when `iat` is absent. 300 is accepted, 301 refused. No skew is
/// added: the limit bounds how long a stolen assertion is worth anything, and how long the
/// replay store must remember its `jti`.
pub const MAX_LIFETIME: i64 = 300;

/// `iss` and `sub` are a client id: at most 64 characters (BEHAVIOUR A.6).
pub(super) const MAX_CLIENT_ID_CHARS: usize = 64;
/// `jti` is stored by the replay check: at most 64 characters (BEHAVIOUR A.6).
pub(super) const MAX_JTI_CHARS: usize = 64;
/// A client has at most 2 credentials (BEHAVIOUR A.1), so a `kid`-less assertion costs at most 2
/// verifications (BEHAVIOUR B.5), whatever the caller passes in.
pub(super) const MAX_VERIFICATIONS: usize = 2;

/// One of the client's credentials, its key already parsed (the caller caches these). Disabled
/// and expired ones never authenticate; they are passed in so that a refusal can name them.
#[derive(Debug, Clone, Copy)]
pub struct CandidateKey<'a> {
    pub credential_id: &'a str,
    pub kid: &'a str,
    pub alg: AssertionAlg,
    /// Built with `alg.verification_algorithm()`: the key's algorithm is what verifies, so a
    /// key built for another algorithm would verify under that one.
    pub key: &'a ParsedPublicKey,
    /// Unix seconds; `None` = never. The credential authenticates while `now < expires_at`
    /// (BEHAVIOUR A.1: "after it passes … can no longer authenticate"); no skew applies, both
    /// sides of the comparison are this server's clock.
    pub expires_at: Option<i64>,
    /// Associated with the client (BEHAVIOUR A.1: only these authenticate).
    pub enabled: bool,
}

impl CandidateKey<'_> {
    fn expired_at(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// What the verified assertion must say, known once the client is loaded.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The client that was loaded (== `iss`), and == the body `client_id` if one was sent.
    pub client_id: &'a str,
    /// The tenant issuer, e.g. `https://tenant.example/`; `aud` must equal it exactly.
    pub issuer: &'a str,
    /// `<issuer>oauth/token`, accepted as `aud` only with `accept_legacy_audience`.
    pub token_endpoint: &'a str,
    /// `--accept-legacy-assertion-audience` (BEHAVIOUR B.1).
    pub accept_legacy_audience: bool,
    /// Unix seconds.
    pub now: i64,
}

/// An accepted assertion: what the caller needs for the replay check and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub credential_id: String,
    pub jti: String,
    /// The caller keeps the `jti` until `exp + SKEW` (BEHAVIOUR B.6).
    pub exp: i64,
    /// True when only the legacy option made `aud` acceptable (to be logged, BEHAVIOUR B.1).
    pub legacy_audience: bool,
}

/// An assertion that passed [`inspect`]: well-formed, with an allowed algorithm, and not yet
/// trusted in any way. Only [`Unverified::issuer_claim`] may be used before [`verify`], and
/// only to find the client.
pub struct Unverified<'a> {
    /// `header.payload`, borrowed from the caller's text: what the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
    alg: AssertionAlg,
    kid: Option<String>,
    claims: Claims,
}

impl Unverified<'_> {
    /// The unverified `iss`, non-empty and at most 64 characters: only for looking the client
    /// up. [`verify`] checks it against the loaded client once the signature holds.
    pub fn issuer_claim(&self) -> &str {
        self.claims.issuer()
    }

    pub fn alg(&self) -> AssertionAlg {
        self.alg
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// Shows what the audit log may show; never the assertion text or its signature.
impl fmt::Debug for Unverified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unverified")
            .field("alg", &self.alg)
            .field("kid", &self.kid())
            .field("iss", &self.issuer_claim())
            .finish_non_exhaustive()
    }
}

/// Step 1: size and shape limits, header checks, algorithm allowlist — before any key lookup.
/// The order is [`explain::Check`]'s, so the first check the explainer fails is the reason
/// logged here.
/// Returns the unverified assertion; [`Unverified::issuer_claim`] tells the caller which client
/// to load. Never panics, whatever the input.
pub fn inspect(assertion: &str) -> Result<Unverified<'_>, Rejection> {
    rules::check_size(assertion)?;
    // RFC 7515 §7.1: three non-empty base64url parts. An unsecured JWT (`alg: none`, RFC 7519
    // §6) has an empty signature part, so it already stops here, as malformed.
    let parts = Compact::split(assertion).ok_or(Reason::MalformedAssertion)?;
    let signature = b64url_decode(parts.signature).ok_or(Reason::MalformedAssertion)?;
    let header = parse::Header::parse(&parse::decode_json_object(parts.header)?)?;
    let alg = parse::check_alg(&header)?;
    parse::check_crit(&header)?;
    parse::check_typ(&header)?;
    let claims = Claims::parse(&parse::decode_json_object(parts.payload)?)?;
    rules::check_iss(&claims)?;
    Ok(Unverified {
        signing_input: parts.signing_input,
        signature,
        alg,
        kid: header.kid,
        claims,
    })
}

/// The `iss` an assertion claims, read with no check at all, so that a refusal at
/// [`inspect`] can still be filed under the application it names. It must never decide
/// anything; only a well-formed, short value is returned.
pub fn claimed_issuer_for_log(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    if assertion.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let payload = b64url_decode(assertion.split('.').nth(1)?)?;
    let Iss { iss } = serde_json::from_slice(&payload).ok()?;
    let printable = iss.chars().all(|c| c.is_ascii_graphic());
    (!iss.is_empty() && iss.chars().count() <= MAX_CLIENT_ID_CHARS && printable).then_some(iss)
}

/// Step 2: choose the key (BEHAVIOUR B.5), verify the signature, then check the claims
/// (BEHAVIOUR A.6, B.1, B.3). Claims are judged only once the signature holds, so nothing an
/// attacker writes without the key influences more than which refusal is logged.
pub fn verify(
    unverified: &Unverified<'_>,
    candidates: &[CandidateKey<'_>],
    expect: &Expectations<'_>,
) -> Result<Verified, Rejection> {
    let credential_id =
        rules::authenticate(&rules::Signed::of(unverified), candidates, expect.now)?;
    let accepted = rules::check_claims(unverified, expect)
        .map_err(|reason| Rejection::for_credential(reason, credential_id))?;
    Ok(Verified {
        credential_id: credential_id.to_owned(),
        jti: accepted.jti.to_owned(),
        exp: accepted.exp,
        legacy_audience: accepted.legacy_audience,
    })
}
