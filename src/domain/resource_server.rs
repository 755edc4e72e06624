//! APIs (Auth0 "resource servers"): the audiences tokens are issued for (BEHAVIOUR A.3).

use serde::{Deserialize, Serialize};

use super::scope::validate_scope_value;
use super::{Invalid, check_len};
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
    pub signing_alg: String,
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
    /// [`DEFAULT_TOKEN_LIFETIME`] when absent.
    pub token_lifetime: Option<i64>,
}

/// A change to an API: `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ResourceServerPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<ScopeDefinition>>,
    pub signing_alg: Option<String>,
    pub token_lifetime: Option<i64>,
}

impl ResourceServerPatch {
    /// What the built-in Management API refuses to change (BEHAVIOUR A.3).
    pub fn touches_more_than_lifetime(&self) -> bool {
        self.name.is_some() || self.scopes.is_some() || self.signing_alg.is_some()
    }
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

/// Access tokens are always signed RS256 with the tenant key.
pub fn validate_signing_alg(alg: &str) -> Result<(), Invalid> {
    if alg != "RS256" {
        return Err(Invalid::field(
            "signing_alg",
            format!("{alg:?} is not supported; access tokens are signed with RS256"),
        ));
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
    fn identifier_length_is_bounded() {
        assert!(validate_identifier("https://api.example.com/").is_ok());
        assert!(validate_identifier("").is_err());
        assert!(validate_identifier(&"x".repeat(601)).is_err());
    }
}
