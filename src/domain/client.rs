//! Applications (Auth0 "clients") and their rules (BEHAVIOUR A.2, B.9, B.11).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Invalid, check_len};
use crate::crypto::secret::Secret;
use crate::time_util::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    NonInteractive,
    Spa,
    Native,
    RegularWeb,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonInteractive => "non_interactive",
            Self::Spa => "spa",
            Self::Native => "native",
            Self::RegularWeb => "regular_web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "non_interactive" => Self::NonInteractive,
            "spa" => Self::Spa,
            "native" => Self::Native,
            "regular_web" => Self::RegularWeb,
            _ => return None,
        })
    }

    /// Auth0's defaults when a client is created without `grant_types`; a `non_interactive`
    /// client may then use `client_credentials` (BEHAVIOUR B.11).
    pub fn default_grant_types(self) -> Vec<String> {
        let list: &[&str] = match self {
            Self::NonInteractive => &["client_credentials"],
            Self::RegularWeb => &[
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
            ],
            Self::Spa | Self::Native => &["authorization_code", "implicit", "refresh_token"],
        };
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Browser and native apps cannot keep a secret, so they start without one in use.
    pub fn default_auth_method(self) -> TokenEndpointAuthMethod {
        match self {
            Self::Spa | Self::Native => TokenEndpointAuthMethod::None,
            Self::NonInteractive | Self::RegularWeb => TokenEndpointAuthMethod::ClientSecretPost,
        }
    }
}

/// Auth0's `token_endpoint_auth_method` values. `private_key_jwt` is not one of them: Private
/// Key JWT lives in `client_authentication_methods` (BEHAVIOUR B.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "client_secret_post" => Self::ClientSecretPost,
            "client_secret_basic" => Self::ClientSecretBasic,
            _ => return None,
        })
    }

    pub fn uses_secret(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// Algorithms Auth0 accepts in `jwt_configuration.alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum JwtConfigAlg {
    HS256,
    RS256,
    RS512,
    PS256,
}

pub const DEFAULT_JWT_LIFETIME: i64 = 36_000;
pub const MAX_JWT_LIFETIME: i64 = 2_592_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtConfiguration {
    pub alg: JwtConfigAlg,
    pub lifetime_in_seconds: i64,
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        Self {
            alg: JwtConfigAlg::RS256,
            lifetime_in_seconds: DEFAULT_JWT_LIFETIME,
        }
    }
}

impl JwtConfiguration {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=MAX_JWT_LIFETIME).contains(&self.lifetime_in_seconds) {
            return Err(Invalid::field(
                "jwt_configuration.lifetime_in_seconds",
                format!("must be between 1 and {MAX_JWT_LIFETIME}"),
            ));
        }
        Ok(())
    }
}

pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub app_type: AppType,
    pub is_first_party: bool,
    /// `None` while Private Key JWT is the client's method (they are mutually exclusive).
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    pub grant_types: Vec<String>,
    pub jwt_configuration: JwtConfiguration,
    pub client_metadata: BTreeMap<String, String>,
    /// Auth0's `token_quota.client_credentials`; `None`: the tenant's default applies.
    pub token_quota: Option<super::token_quota::TokenQuota>,
    pub secret: Secret,
    /// Ids of the associated Private Key JWT credentials; non-empty exactly while
    /// `token_endpoint_auth_method` is `None`.
    pub credential_ids: Vec<String>,
    /// Those of `credential_ids` that are federated credentials (BEHAVIOUR B.13), listed under
    /// `client_authentication_methods.federated`; the rest are Private Key JWT's.
    pub federated_credential_ids: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Client {
    /// Private Key JWT is the client's method (BEHAVIOUR A.2: exclusive with the secret methods).
    pub fn uses_private_key_jwt(&self) -> bool {
        self.token_endpoint_auth_method.is_none()
    }

    pub fn may_use_client_credentials(&self) -> bool {
        self.grant_types.iter().any(|g| g == "client_credentials")
    }
}

/// Every `app_type` Auth0 knows, signet's four and the ones it never creates (SSO
/// integrations and the like): filtering by the latter is valid and matches nothing.
pub const AUTH0_APP_TYPES: &[&str] = &[
    "native",
    "spa",
    "regular_web",
    "non_interactive",
    "resource_server",
    "express_configuration",
    "rms",
    "box",
    "cloudbees",
    "concur",
    "dropbox",
    "mscrm",
    "echosign",
    "egnyte",
    "newrelic",
    "office365",
    "salesforce",
    "sentry",
    "sharepoint",
    "slack",
    "springcm",
    "zendesk",
    "zoom",
    "sso_integration",
    "oag",
];

/// Which applications `GET /api/v2/clients` lists; the default matches all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientFilter {
    /// Auth0's `app_type`: one of these types.
    pub app_types: Option<Vec<String>>,
    /// Auth0's `is_first_party`.
    pub is_first_party: Option<bool>,
    /// Auth0's `is_global=true` asks for the tenant's global client, which signet does not
    /// have: nothing matches.
    pub nothing: bool,
}

impl ClientFilter {
    /// From Auth0's parameters; `app_type` is a comma-separated list.
    pub fn parse(
        app_type: Option<&str>,
        is_global: Option<bool>,
        is_first_party: Option<bool>,
    ) -> Result<Self, Invalid> {
        let app_types = match app_type.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(list) => {
                let mut types = Vec::new();
                for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !AUTH0_APP_TYPES.contains(&t) {
                        return Err(Invalid::found_in(
                            "app_type",
                            format!(
                                "{t:?} is not an application type (one of {})",
                                AUTH0_APP_TYPES.join(", ")
                            ),
                        ));
                    }
                    if !types.iter().any(|k: &String| k == t) {
                        types.push(t.to_owned());
                    }
                }
                Some(types)
            }
        };
        Ok(Self {
            app_types,
            is_first_party,
            nothing: is_global == Some(true),
        })
    }
}

/// Client ids are what assertions carry in `iss`/`sub` (≤ 64 characters, BEHAVIOUR A.6).
pub fn validate_client_id(id: &str) -> Result<(), String> {
    if !(8..=64).contains(&id.len()) {
        return Err("a client id must be 8 to 64 characters long".into());
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("a client id may only contain A-Z, a-z, 0-9, '-' and '_'".into());
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), Invalid> {
    check_len("name", name, 1, 255)?;
    if name.trim().is_empty() {
        return Err(Invalid::field("name", "must not be blank"));
    }
    if name.contains(['<', '>']) {
        return Err(Invalid::field("name", "must not contain '<' or '>'"));
    }
    Ok(())
}

pub fn validate_description(description: &str) -> Result<(), Invalid> {
    check_len("description", description, 0, 140)
}

pub fn validate_grant_types(grant_types: &[String]) -> Result<(), Invalid> {
    if grant_types.len() > GRANT_TYPES.len() {
        return Err(Invalid::field("grant_types", "has too many entries"));
    }
    for g in grant_types {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(Invalid::found_in(
                "grant_types",
                format!("{g:?} is not a supported grant type"),
            ));
        }
    }
    Ok(())
}

pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), Invalid> {
    if metadata.len() > 10 {
        return Err(Invalid::field(
            "client_metadata",
            "may have at most 10 keys",
        ));
    }
    for (k, v) in metadata {
        if k.is_empty()
            || k.len() > 255
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Invalid::field(
                "client_metadata",
                format!("key {k:?} must be 1 to 255 characters of A-Z, a-z, 0-9, '_' or '-'"),
            ));
        }
        check_len(&format!("client_metadata.{k}"), v, 0, 255)?;
    }
    Ok(())
}

pub fn validate_client_secret(secret: &str) -> Result<(), Invalid> {
    if !(16..=256).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid::field(
            "client_secret",
            "must be 16 to 256 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_interactive_clients_default_to_client_credentials() {
        assert_eq!(
            AppType::NonInteractive.default_grant_types(),
            vec!["client_credentials"]
        );
        assert!(
            !AppType::Spa
                .default_grant_types()
                .contains(&"client_credentials".to_owned())
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("Billing worker").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("   ").is_err());
        assert!(validate_name("<script>").is_err());
        assert!(validate_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn unknown_grant_types_are_refused() {
        assert!(validate_grant_types(&["client_credentials".into()]).is_ok());
        assert!(validate_grant_types(&["magic".into()]).is_err());
    }

    #[test]
    fn client_ids_fit_assertion_limits() {
        assert!(validate_client_id("abcdefgh").is_ok());
        assert!(validate_client_id("short").is_err());
        assert!(validate_client_id(&"a".repeat(65)).is_err());
        assert!(validate_client_id("has space1").is_err());
    }

    #[test]
    fn client_filters_take_auth0_app_types_and_refuse_others() {
        let f = ClientFilter::parse(Some("non_interactive, spa,,spa"), None, Some(true)).unwrap();
        assert_eq!(
            f.app_types,
            Some(vec!["non_interactive".into(), "spa".into()])
        );
        assert_eq!(f.is_first_party, Some(true));
        assert!(!f.nothing);
        assert!(ClientFilter::parse(Some("sso_integration"), None, None).is_ok());
        assert_eq!(
            ClientFilter::parse(Some(""), None, None).unwrap(),
            ClientFilter::default()
        );
        let refused = ClientFilter::parse(Some("spa,m2m"), None, None).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("\"m2m\" is not an application type")
        );
        assert!(ClientFilter::parse(None, Some(true), None).unwrap().nothing);
        assert!(
            !ClientFilter::parse(None, Some(false), None)
                .unwrap()
                .nothing
        );
    }
}
