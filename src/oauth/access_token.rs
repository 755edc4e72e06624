//! Access tokens: the claims we issue (BEHAVIOUR A.5) and verification of our own tokens, as the
//! Management API does for its Bearer tokens.

use serde::{Deserialize, Serialize};

use crate::crypto::jwt::{Compact, b64url_decode};
use crate::crypto::signing::KeyRing;
use crate::domain::resource_server::TokenDialect;

/// Longest Bearer token accepted; ours are well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub gty: String,
    pub azp: String,
}

impl AccessClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
    }
}

/// The claims of an access token as issued, shaped by its API's `token_dialect` (BEHAVIOUR A.5,
/// A.10). Borrowed, so that signing copies nothing.
#[derive(Debug, Serialize)]
pub struct IssuedClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gty: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<&'a str>>,
}

/// What every dialect says, in its own words.
pub struct TokenFacts<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// `{client_id}@clients`.
    pub subject: &'a str,
    pub audience: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    pub jti: &'a str,
    /// Space-separated granted scopes, if any.
    pub scope: Option<&'a str>,
}

impl<'a> IssuedClaims<'a> {
    pub fn new(dialect: TokenDialect, facts: &TokenFacts<'a>) -> Self {
        let rfc9068 = dialect.is_rfc9068();
        Self {
            iss: facts.issuer,
            sub: facts.subject,
            aud: facts.audience,
            iat: facts.issued_at,
            exp: facts.expires_at,
            jti: facts.jti,
            scope: facts.scope,
            client_id: rfc9068.then_some(facts.client_id),
            gty: (!rfc9068).then_some("client-credentials"),
            azp: (!rfc9068).then_some(facts.client_id),
            permissions: dialect.has_permissions().then(|| {
                facts
                    .scope
                    .unwrap_or_default()
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Why a token was refused (for logs; callers only learn "Invalid token.").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("malformed")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("unknown kid")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    NotYetValid,
}

/// Clock skew tolerated on `iat`, in seconds.
const LEEWAY: i64 = 10;

pub fn verify(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<AccessClaims, Rejected> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Rejected::Malformed);
    }
    let parts = Compact::split(token).ok_or(Rejected::Malformed)?;
    let header: Header = b64url_decode(parts.header)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(Rejected::Malformed)?;
    // Only what we issue: RS256 with one of our kids; `crit` is never understood.
    if header.alg != "RS256" || header.crit.is_some() || header.typ.is_some_and(|t| t != "JWT") {
        return Err(Rejected::Algorithm);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid))
        .ok_or(Rejected::UnknownKey)?;
    let signature = b64url_decode(parts.signature).ok_or(Rejected::Malformed)?;
    if !key.verify(parts.signing_input.as_bytes(), &signature) {
        return Err(Rejected::Signature);
    }
    let claims: AccessClaims = b64url_decode(parts.payload)
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(Rejected::Malformed)?;
    if claims.iss != issuer {
        return Err(Rejected::Issuer);
    }
    if claims.aud != audience {
        return Err(Rejected::Audience);
    }
    if claims.exp <= now {
        return Err(Rejected::Expired);
    }
    if claims.iat > now + LEEWAY {
        return Err(Rejected::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::signing::SigningKey;

    fn ring() -> KeyRing {
        KeyRing::new(vec![SigningKey::generate().unwrap().0]).unwrap()
    }

    fn claims(aud: &str, exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://t/".into(),
            sub: "c@clients".into(),
            aud: aud.into(),
            iat: 1000,
            exp,
            jti: "j".into(),
            scope: Some("read:clients".into()),
            gty: "client-credentials".into(),
            azp: "c".into(),
        }
    }

    #[test]
    fn accepts_our_own_token() {
        let keys = ring();
        let t = keys.current().sign_jwt(&claims("https://t/api/v2/", 2000));
        let c = verify(&keys, &t, "https://t/", "https://t/api/v2/", 1500).unwrap();
        assert_eq!(c.scopes().collect::<Vec<_>>(), vec!["read:clients"]);
    }

    #[test]
    fn rejects_expired_foreign_audience_and_foreign_key() {
        let keys = ring();
        let t = keys.current().sign_jwt(&claims("https://t/api/v2/", 2000));
        assert_eq!(
            verify(&keys, &t, "https://t/", "https://t/api/v2/", 2000),
            Err(Rejected::Expired)
        );
        assert_eq!(
            verify(&keys, &t, "https://t/", "https://other/", 1500),
            Err(Rejected::Audience)
        );
        assert_eq!(
            verify(&keys, &t, "https://x/", "https://t/api/v2/", 1500),
            Err(Rejected::Issuer)
        );
        assert_eq!(
            verify(&ring(), &t, "https://t/", "https://t/api/v2/", 1500),
            Err(Rejected::UnknownKey)
        );
    }

    fn facts<'a>(scope: Option<&'a str>) -> TokenFacts<'a> {
        TokenFacts {
            issuer: "https://t/",
            client_id: "c",
            subject: "c@clients",
            audience: "https://api/",
            issued_at: 1000,
            expires_at: 2000,
            jti: "j",
            scope,
        }
    }

    fn claim_names(dialect: TokenDialect, scope: Option<&str>) -> Vec<String> {
        let json = serde_json::to_value(IssuedClaims::new(dialect, &facts(scope))).unwrap();
        json.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn each_dialect_carries_exactly_its_claims() {
        let mut names = claim_names(TokenDialect::AccessToken, Some("a b"));
        names.sort();
        assert_eq!(
            names,
            [
                "aud", "azp", "exp", "gty", "iat", "iss", "jti", "scope", "sub"
            ]
        );
        let mut names = claim_names(TokenDialect::Rfc9068Profile, Some("a b"));
        names.sort();
        assert_eq!(
            names,
            [
                "aud",
                "client_id",
                "exp",
                "iat",
                "iss",
                "jti",
                "scope",
                "sub"
            ]
        );
        assert!(
            claim_names(TokenDialect::Rfc9068ProfileAuthz, None).contains(&"permissions".into())
        );
        let authz = serde_json::to_value(IssuedClaims::new(
            TokenDialect::AccessTokenAuthz,
            &facts(Some("read:a write:a")),
        ))
        .unwrap();
        assert_eq!(
            authz["permissions"],
            serde_json::json!(["read:a", "write:a"])
        );
        let none = serde_json::to_value(IssuedClaims::new(
            TokenDialect::AccessTokenAuthz,
            &facts(None),
        ))
        .unwrap();
        assert_eq!(none["permissions"], serde_json::json!([]));
    }

    #[test]
    fn rejects_a_tampered_payload() {
        let keys = ring();
        let t = keys.current().sign_jwt(&claims("https://t/api/v2/", 2000));
        let other = keys.current().sign_jwt(&claims("https://t/api/v2/", 9000));
        let (h, rest) = t.split_once('.').unwrap();
        let sig = rest.split_once('.').unwrap().1;
        let payload = other.split('.').nth(1).unwrap();
        let forged = format!("{h}.{payload}.{sig}");
        assert_eq!(
            verify(&keys, &forged, "https://t/", "https://t/api/v2/", 1500),
            Err(Rejected::Signature)
        );
    }
}
