//! Reading an assertion's header and claims (BEHAVIOUR A.6, B.4): JSON objects of the right
//! types, a duplicated member or a `null` where a value belongs being malformed. The header is
//! judged here, one rule per function, before any key is looked up; the claims' values are
//! judged by `rules`. The token path and the explainer (`explain`) call the same functions.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};

use super::AssertionAlg;
use super::reason::Reason;
use crate::crypto::jwt::b64url_decode;

/// Credential kids are at most 64 characters (BEHAVIOUR A.1); a header `kid` over 128 can
/// never name one and is refused as malformed before any lookup.
const MAX_KID_CHARS: usize = 128;

/// The `typ` values accepted (BEHAVIOUR B.4): the generic one, and the explicit type of
/// draft-ietf-oauth-rfc7523bis, which keeps an assertion from being mistaken for another JWT.
const TYP_JWT: &str = "JWT";
const TYP_CLIENT_AUTH: &str = "client-authentication+jwt";

/// Base64url-decodes one part and makes sure it is a UTF-8 JSON object.
pub(super) fn decode_json_object(part: &str) -> Result<Vec<u8>, Reason> {
    let bytes = b64url_decode(part).ok_or(Reason::MalformedAssertion)?;
    require_object(&bytes)?;
    Ok(bytes)
}

/// RFC 7515 §4 and RFC 7519 §7.2 require objects. serde's derived structs would also accept a
/// JSON array, filling fields by position, so the shape is checked here: JSON that starts with
/// `{` (after JSON whitespace) is an object or is invalid.
pub(super) fn require_object(json: &[u8]) -> Result<(), Reason> {
    let first = json
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return Err(Reason::MalformedAssertion);
    }
    Ok(())
}

/// The header members read. Duplicates of these are refused by serde ("duplicate field");
/// every other member is skipped unread. The members `jwk`, `jku`, `x5u`, `x5c` and `x5t` are
/// among those skipped: keys come only from the client's stored credentials, and URLs in a
/// header are never fetched (BEHAVIOUR B.4).
#[derive(Deserialize)]
pub(super) struct Header {
    #[serde(default, deserialize_with = "non_null")]
    pub alg: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub typ: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub crit: bool,
}

impl Header {
    /// The header's members with their types, and a `kid` short enough to be looked up.
    pub(super) fn parse(header: &[u8]) -> Result<Self, Reason> {
        let parsed: Self =
            serde_json::from_slice(header).map_err(|_| Reason::MalformedAssertion)?;
        if parsed
            .kid
            .as_ref()
            .is_some_and(|kid| kid.chars().count() > MAX_KID_CHARS)
        {
            return Err(Reason::MalformedAssertion);
        }
        Ok(parsed)
    }
}

/// BEHAVIOUR B.4: the header's `alg` against the allowlist. Checked before any key lookup, so
/// `none`, HS256 keyed with a public key, and every other algorithm never meet a key.
pub(super) fn check_alg(header: &Header) -> Result<AssertionAlg, Reason> {
    header
        .alg
        .as_deref()
        .and_then(AssertionAlg::parse)
        .ok_or(Reason::UnsupportedAlg)
}

/// RFC 7515 §4.1.11: we understand no extension, so any `crit` (even empty or null) means the
/// token asks for processing we do not do (BEHAVIOUR B.4).
pub(super) fn check_crit(header: &Header) -> Result<(), Reason> {
    if header.crit {
        return Err(Reason::CritHeader);
    }
    Ok(())
}

/// BEHAVIOUR B.4: `typ` absent, `JWT` or `client-authentication+jwt`.
pub(super) fn check_typ(header: &Header) -> Result<(), Reason> {
    match header.typ.as_deref() {
        None | Some(TYP_JWT | TYP_CLIENT_AUTH) => Ok(()),
        Some(_) => Err(Reason::BadTyp),
    }
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
    /// Types are enforced here (a wrong one is malformed); values are judged by `rules`, `iss`
    /// at inspection (the caller needs it to find the client), the others once the signature
    /// holds.
    pub(super) fn parse(payload: &[u8]) -> Result<Self, Reason> {
        serde_json::from_slice(payload).map_err(|_| Reason::MalformedAssertion)
    }

    /// The `iss`, once `rules::check_iss` made sure of it.
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
