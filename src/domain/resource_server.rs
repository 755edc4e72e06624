//! APIs (Auth0 "resource servers"): the audiences tokens are issued for (BEHAVIOUR A.3).

use serde::{Deserialize, Serialize};

use super::scope::validate_scope_value;
use super::{Invalid, check_len};
use crate::crypto::secret::Secret;
use crate::time_util::Millis;

pub const DEFAULT_TOKEN_LIFETIME: i64 = 86_400;
pub const MAX_TOKEN_LIFETIME: i64 = 2_592_000;
pub const MAX_SCOPES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDefinition {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct ResourceServer {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<ScopeDefinition>,
    pub signing_alg: AccessTokenAlg,
    /// The HMAC key of HS256 tokens. Kept when the API moves to another algorithm, so that
    /// moving back does not break verifiers configured with it.
    pub signing_secret: Option<Secret>,
    pub token_dialect: TokenDialect,
    pub token_lifetime: i64,
    /// The built-in Management API: not deletable, identifier and scopes fixed (BEHAVIOUR B.11).
    pub is_system: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A new API.
#[derive(Debug, Clone, Default)]
pub struct NewResourceServer {
    pub identifier: String,
    /// The identifier when absent.
    pub name: Option<String>,
    pub scopes: Vec<ScopeDefinition>,
    /// `RS256` when absent.
    pub signing_alg: Option<String>,
    /// Generated when absent and the algorithm is HS256.
    pub signing_secret: Option<Secret>,
    /// `access_token` when absent.
    pub token_dialect: Option<String>,
    /// [`DEFAULT_TOKEN_LIFETIME`] when absent.
    pub token_lifetime: Option<i64>,
}

/// A change to an API: `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ResourceServerPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<ScopeDefinition>>,
    pub signing_alg: Option<String>,
    /// A new HS256 secret (the old one stops verifying at once).
    pub signing_secret: Option<Secret>,
    pub token_dialect: Option<String>,
    pub token_lifetime: Option<i64>,
}

impl ResourceServerPatch {
    /// What the built-in Management API refuses to change (BEHAVIOUR A.3).
    pub fn touches_more_than_lifetime(&self) -> bool {
        self.name.is_some()
            || self.scopes.is_some()
            || self.signing_alg.is_some()
            || self.signing_secret.is_some()
            || self.token_dialect.is_some()
    }
}

/// How an API's access tokens are signed (BEHAVIOUR A.10): with the tenant's current RSA key
/// (RS256, or PS256 with the same key), or with the API's own shared secret (HS256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessTokenAlg {
    RS256,
    PS256,
    HS256,
}

impl AccessTokenAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::HS256 => "HS256",
        }
    }

    /// Exact, as JWS compares `alg` names.
    pub fn parse(alg: &str) -> Result<Self, Invalid> {
        match alg {
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "HS256" => Ok(Self::HS256),
            _ => Err(Invalid::field(
                "signing_alg",
                format!("must be one of RS256, PS256, HS256 (got {alg:?})"),
            )),
        }
    }
}

/// The claims and header an API's access tokens carry (Auth0's `token_dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    /// Auth0's claims: `iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `scope`, `gty`, `azp`.
    AccessToken,
    /// As `access_token`, plus `permissions`: the granted scopes as an array.
    AccessTokenAuthz,
    /// RFC 9068: header `typ: at+jwt`; `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`,
    /// `scope`.
    Rfc9068Profile,
    /// As `rfc9068_profile`, plus `permissions`.
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    pub const ALL: [Self; 4] = [
        Self::AccessToken,
        Self::AccessTokenAuthz,
        Self::Rfc9068Profile,
        Self::Rfc9068ProfileAuthz,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::AccessTokenAuthz => "access_token_authz",
            Self::Rfc9068Profile => "rfc9068_profile",
            Self::Rfc9068ProfileAuthz => "rfc9068_profile_authz",
        }
    }

    pub fn parse(dialect: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == dialect)
            .ok_or_else(|| {
                Invalid::field(
                    "token_dialect",
                    format!(
                        "must be one of access_token, access_token_authz, rfc9068_profile, \
                         rfc9068_profile_authz (got {dialect:?})"
                    ),
                )
            })
    }

    pub fn is_rfc9068(self) -> bool {
        matches!(self, Self::Rfc9068Profile | Self::Rfc9068ProfileAuthz)
    }

    pub fn has_permissions(self) -> bool {
        matches!(self, Self::AccessTokenAuthz | Self::Rfc9068ProfileAuthz)
    }
}

/// Shortest HS256 secret accepted: 256 bits of key for a 256-bit MAC (RFC 7518 §3.2).
pub const MIN_SIGNING_SECRET_LEN: usize = 32;
pub const MAX_SIGNING_SECRET_LEN: usize = 512;

/// A fresh HS256 secret: 32 random bytes, base64url (43 characters).
/// Auth0's `identifiers` filter of `GET /api/v2/resource-servers`: at most this many.
pub const MAX_IDENTIFIERS: usize = 10;

/// Which APIs a listing shows; the default matches all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResourceServerFilter {
    /// One of these identifiers (Auth0's repeatable `identifiers`).
    pub identifiers: Option<Vec<String>>,
}

impl ResourceServerFilter {
    pub fn parse(identifiers: Vec<String>) -> Result<Self, Invalid> {
        if identifiers.is_empty() {
            return Ok(Self::default());
        }
        if identifiers.len() > MAX_IDENTIFIERS {
            return Err(Invalid::field(
                "identifiers",
                format!("may be given at most {MAX_IDENTIFIERS} times"),
            ));
        }
        if identifiers.iter().any(String::is_empty) {
            return Err(Invalid::field("identifiers", "must not be empty"));
        }
        Ok(Self {
            identifiers: Some(identifiers),
        })
    }
}

pub fn generate_signing_secret() -> Secret {
    Secret::new(crate::crypto::random::base64url(32))
}

pub fn validate_signing_secret(secret: &Secret) -> Result<(), Invalid> {
    let text = secret.expose();
    if !(MIN_SIGNING_SECRET_LEN..=MAX_SIGNING_SECRET_LEN).contains(&text.len()) {
        return Err(Invalid::field(
            "signing_secret",
            format!(
                "must be between {MIN_SIGNING_SECRET_LEN} and {MAX_SIGNING_SECRET_LEN} characters long"
            ),
        ));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Invalid::field(
            "signing_secret",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

impl ResourceServer {
    pub fn defines_scope(&self, value: &str) -> bool {
        self.scopes.iter().any(|s| s.value == value)
    }
}

pub fn validate_identifier(identifier: &str) -> Result<(), Invalid> {
    check_len("identifier", identifier, 1, 600)?;
    if identifier.trim() != identifier {
        return Err(Invalid::field(
            "identifier",
            "must not start or end with whitespace",
        ));
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), Invalid> {
    check_len("name", name, 1, 200)?;
    if name.contains(['<', '>']) {
        return Err(Invalid::field("name", "must not contain '<' or '>'"));
    }
    Ok(())
}

pub fn validate_scopes(scopes: &[ScopeDefinition]) -> Result<(), Invalid> {
    if scopes.len() > MAX_SCOPES {
        return Err(Invalid::field(
            "scopes",
            format!("may have at most {MAX_SCOPES} entries"),
        ));
    }
    for (i, s) in scopes.iter().enumerate() {
        validate_scope_value(&format!("scopes[{i}].value"), &s.value)?;
        check_len(&format!("scopes[{i}].description"), &s.description, 0, 500)?;
        if scopes[..i].iter().any(|o| o.value == s.value) {
            return Err(Invalid::found_in(
                "scopes",
                format!("{:?} is defined more than once", s.value),
            ));
        }
    }
    Ok(())
}

pub fn validate_token_lifetime(seconds: i64) -> Result<(), Invalid> {
    if !(1..=MAX_TOKEN_LIFETIME).contains(&seconds) {
        return Err(Invalid::field(
            "token_lifetime",
            format!("must be between 1 and {MAX_TOKEN_LIFETIME} seconds (got {seconds})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(v: &str) -> ScopeDefinition {
        ScopeDefinition {
            value: v.into(),
            description: String::new(),
        }
    }

    #[test]
    fn duplicate_scope_values_are_refused() {
        assert!(validate_scopes(&[scope("a"), scope("b")]).is_ok());
        let err = validate_scopes(&[scope("a"), scope("a")]).unwrap_err();
        assert!(err.to_string().contains("more than once"));
    }

    #[test]
    fn token_lifetime_is_bounded() {
        assert!(validate_token_lifetime(86_400).is_ok());
        assert!(validate_token_lifetime(2_592_000).is_ok());
        assert!(validate_token_lifetime(2_592_001).is_err());
        assert!(validate_token_lifetime(0).is_err());
    }

    #[test]
    fn signing_alg_and_dialect_parse_exactly() {
        assert_eq!(AccessTokenAlg::parse("PS256"), Ok(AccessTokenAlg::PS256));
        assert!(AccessTokenAlg::parse("hs256").is_err());
        assert!(AccessTokenAlg::parse("none").is_err());
        for d in TokenDialect::ALL {
            assert_eq!(TokenDialect::parse(d.as_str()), Ok(d));
        }
        assert!(TokenDialect::parse("jwt").is_err());
    }

    #[test]
    fn signing_secrets_are_long_and_printable() {
        assert!(validate_signing_secret(&generate_signing_secret()).is_ok());
        assert!(validate_signing_secret(&Secret::new("x".repeat(31))).is_err());
        assert!(validate_signing_secret(&Secret::new("x".repeat(32))).is_ok());
        assert!(validate_signing_secret(&Secret::new(format!("{} y", "x".repeat(32)))).is_err());
        assert!(validate_signing_secret(&Secret::new("x".repeat(513))).is_err());
    }

    #[test]
    fn identifier_length_is_bounded() {
        assert!(validate_identifier("https://api.example.com/").is_ok());
        assert!(validate_identifier("").is_err());
        assert!(validate_identifier(&"x".repeat(601)).is_err());
    }

    #[test]
    fn identifier_filters_are_capped_and_never_empty() {
        assert_eq!(
            ResourceServerFilter::parse(vec![]).unwrap(),
            ResourceServerFilter::default()
        );
        let two = ResourceServerFilter::parse(vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(two.identifiers, Some(vec!["a".into(), "b".into()]));
        assert!(ResourceServerFilter::parse(vec!["".into()]).is_err());
        let eleven = (0..=MAX_IDENTIFIERS).map(|i| i.to_string()).collect();
        assert!(ResourceServerFilter::parse(eleven).is_err());
    }
}
