//! Reading an assertion's header and claims (BEHAVIOUR A.6, B.4): JSON objects of the right
//! types, a duplicated member or a `null` where a value belongs being malformed. The header is
//! judged here, before any key is looked up; the claims' values are judged by `rules` once the
//! signature holds, except `iss`, which names the client to load.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};

use super::reason::{Reason, Rejection};
use super::{AssertionAlg, MAX_CLIENT_ID_CHARS};
use crate::crypto::jwt::b64url_decode;

/// Credential kids are at most 64 characters (BEHAVIOUR A.1); a header `kid` over 128 can
/// never name one and is refused as malformed before any lookup.
const MAX_KID_CHARS: usize = 128;

/// The `typ` values accepted (BEHAVIOUR B.4): the generic one, and the explicit type of
/// draft-ietf-oauth-rfc7523bis, which keeps an assertion from being mistaken for another JWT.
const TYP_JWT: &str = "JWT";
const TYP_CLIENT_AUTH: &str = "client-authentication+jwt";

/// Base64url-decodes one part and makes sure it is a UTF-8 JSON object.
pub(super) fn decode_json_object(part: &str) -> Result<Vec<u8>, Rejection> {
    let bytes = b64url_decode(part).ok_or(Reason::MalformedAssertion)?;
    // RFC 7515 §4 and RFC 7519 §7.2 require objects. serde's derived structs would also accept
    // a JSON array, filling fields by position, so the shape is checked here: JSON that starts
    // with `{` (after JSON whitespace) is an object or is invalid.
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return Err(Reason::MalformedAssertion.into());
    }
    Ok(bytes)
}

/// The header members read. Duplicates of these are refused by serde ("duplicate field");
/// every other member is skipped unread.
#[derive(Deserialize)]
struct Header {
    #[serde(default, deserialize_with = "non_null")]
    alg: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    typ: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// BEHAVIOUR B.4: the header's `alg` against the allowlist, `crit`, `typ` and `kid`. The
/// members `jwk`, `jku`, `x5u`, `x5c` and `x5t` are skipped uninterpreted: keys come only from
/// the client's stored credentials, and URLs in a header are never fetched.
pub(super) fn check_header(header: &[u8]) -> Result<(AssertionAlg, Option<String>), Rejection> {
    let parsed: Header = serde_json::from_slice(header).map_err(|_| Reason::MalformedAssertion)?;

    // Checked before any key lookup, so `none`, HS256 keyed with a public key, and every other
    // algorithm never meet a key.
    let alg = parsed
        .alg
        .as_deref()
        .and_then(AssertionAlg::parse)
        .ok_or(Reason::UnsupportedAlg)?;
    // RFC 7515 §4.1.11: we understand no extension, so any `crit` (even empty or null) means
    // the token asks for processing we do not do.
    if parsed.crit {
        return Err(Reason::CritHeader.into());
    }
    if let Some(typ) = &parsed.typ
        && typ != TYP_JWT
        && typ != TYP_CLIENT_AUTH
    {
        return Err(Reason::BadTyp.into());
    }
    if parsed
        .kid
        .as_ref()
        .is_some_and(|kid| kid.chars().count() > MAX_KID_CHARS)
    {
        return Err(Reason::MalformedAssertion.into());
    }
    Ok((alg, parsed.kid))
}

/// `aud` as sent: one string, or (refused unless legacy audiences are accepted) an array of
/// strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Aud {
    One(String),
    Many(Vec<String>),
}

/// The claims read. Timestamps are `i64`, so a float, a string or an integer out of range is a
/// type error (RFC 7519 §2 NumericDate is a number; whole seconds only).
#[derive(Deserialize)]
pub(super) struct Claims {
    #[serde(default, deserialize_with = "non_null")]
    pub iss: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub sub: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub aud: Option<Aud>,
    #[serde(default, deserialize_with = "non_null")]
    pub exp: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    pub nbf: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    pub iat: Option<i64>,
    #[serde(default, deserialize_with = "non_null")]
    pub jti: Option<String>,
}

impl Claims {
    /// Types are enforced here (a wrong one is malformed); values are judged after the
    /// signature, except `iss`, which the caller needs to find the client: it must be there,
    /// and short enough to be a client id (a bounded lookup key, BEHAVIOUR A.6).
    pub(super) fn parse(payload: &[u8]) -> Result<Self, Rejection> {
        let claims: Self =
            serde_json::from_slice(payload).map_err(|_| Reason::MalformedAssertion)?;
        match &claims.iss {
            Some(iss) if !iss.is_empty() => {
                if iss.chars().count() > MAX_CLIENT_ID_CHARS {
                    return Err(Reason::ClaimTooLong.into());
                }
            }
            _ => return Err(Reason::MissingIss.into()),
        }
        Ok(claims)
    }

    /// The `iss` that [`Claims::parse`] made sure of.
    pub(super) fn issuer(&self) -> &str {
        self.iss.as_deref().unwrap_or_default()
    }
}

/// For members whose absence is `None` but whose `null` is a type error: a `null` `iss` or
/// `exp` is not an absent one, and silently reading it as absent would hide a broken client.
fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// For members that matter by their presence alone (`crit`): any value, `null` included.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}
