//! Auth0's request bodies for the Management API, exactly as its SDKs send them (unknown
//! properties refused, a `null` refused where a field is not nullable), and their conversion
//! into the domain's commands. What Auth0 spells as a combination of fields (an authentication
//! method as a pair, an expiry as text) becomes one typed value here.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::crypto::secret::Secret;
use crate::domain::Invalid;
use crate::domain::client::{AppType, JwtConfigAlg, TokenEndpointAuthMethod};
use crate::domain::client_change::{
    AuthMethodChange, ClientPatch, JwtConfigurationPatch, ListedCredentials, ListedUploads,
    NewClient, NewClientAuth,
};
use crate::domain::credential::{AssertionAlg, CredentialPatch, CredentialUpload, ExpiresAt};
use crate::domain::federated::FederatedUpload;
use crate::domain::grant::{GrantPatch, NewGrant};
use crate::domain::resource_server::{NewResourceServer, ResourceServerPatch, ScopeDefinition};
use crate::domain::token_quota::TokenQuota;
use crate::tenant::tenant_settings::TenantSettingsPatch;

/// For optional fields that are not nullable: absent is `None`, an explicit `null` is an error
/// naming the field (it must not silently mean "unchanged").
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// For nullable fields: absent is `None`, an explicit `null` is `Some(None)`.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

const EXCLUSIVE: &str = "token_endpoint_auth_method and client_authentication_methods are mutually \
    exclusive: send token_endpoint_auth_method: null to use Private Key JWT";

// ---- Credentials ----------------------------------------------------------------------------

/// A credential: `POST /clients/{id}/credentials`, or inside `POST /clients`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CredentialCreate)]
pub struct CredentialBody {
    /// `public_key` (a PEM public key or X.509 certificate in `pem`), or the signet extension
    /// `jwks_uri`.
    #[schema(value_type = CredentialType)]
    pub credential_type: String,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 128)]
    pub name: Option<String>,
    /// Required for `public_key`; `jwks_uri` credentials have none.
    #[serde(default)]
    pub pem: String,
    /// A signet extension: with `credential_type: jwks_uri`, where the keys are published.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    pub jwks_uri: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub alg: Option<AssertionAlg>,
    /// RFC 3339 date-time in the future; `null` or absent for no expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub parse_expiry_from_cert: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub kid: Option<String>,
    /// Federated credentials (a signet extension): the issuer whose tokens are trusted, exactly
    /// as their `iss` says. Presets fill in GitHub's and GitLab's.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 255, extensions(("x-signet-extension" = json!(true))))]
    pub issuer: Option<String>,
    /// Federated: the token's `sub`, exactly.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 255, extensions(("x-signet-extension" = json!(true))))]
    pub subject: Option<String>,
    /// Federated: claims the token must carry with exactly these values (strings or integers).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Object, extensions(("x-signet-extension" = json!(true))))]
    pub claims: Option<BTreeMap<String, serde_json::Value>>,
    /// Federated: the audience the token must name (default: this server's issuer URL).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 255, extensions(("x-signet-extension" = json!(true))))]
    pub audience: Option<String>,
    /// Federated: the issuer's keys as a JWK Set, for issuers the server cannot reach.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Object, extensions(("x-signet-extension" = json!(true))))]
    pub jwks: Option<serde_json::Value>,
    /// Federated: `github_actions`, `gitlab_ci`, `kubernetes` or `spiffe`.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    pub preset: Option<String>,
    /// Federated: longest accepted token lifetime in seconds (default 3600, or the preset's).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 31_622_400, extensions(("x-signet-extension" = json!(true))))]
    pub max_token_lifetime: Option<i64>,
    /// Federated: `once` (the token's `jti` is consumed) or `reuse_until_expiry`.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    pub replay: Option<String>,
}

impl CredentialBody {
    fn federated(&self) -> Option<FederatedUpload> {
        let any = self.issuer.is_some()
            || self.subject.is_some()
            || self.claims.is_some()
            || self.audience.is_some()
            || self.jwks.is_some()
            || self.preset.is_some()
            || self.max_token_lifetime.is_some()
            || self.replay.is_some();
        any.then(|| FederatedUpload {
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            claims: self.claims.clone(),
            audience: self.audience.clone(),
            jwks: self.jwks.clone(),
            preset: self.preset.clone(),
            max_token_lifetime: self.max_token_lifetime,
            replay: self.replay.clone(),
        })
    }
}

impl From<CredentialBody> for CredentialUpload {
    fn from(b: CredentialBody) -> Self {
        Self {
            federated: b.federated(),
            credential_type: b.credential_type,
            name: b.name,
            pem: b.pem,
            jwks_uri: b.jwks_uri,
            alg: b.alg,
            expires_at: b.expires_at.map(ExpiresAt::Written),
            parse_expiry_from_cert: b.parse_expiry_from_cert == Some(true),
            kid: b.kid,
        }
    }
}

/// `PATCH /clients/{id}/credentials/{credential_id}`: only `expires_at` may change.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CredentialPatch)]
pub struct CredentialPatchBody {
    /// RFC 3339 date-time in the future, or `null` for no expiry.
    #[serde(default, deserialize_with = "nullable")]
    pub expires_at: Option<Option<String>>,
}

impl TryFrom<CredentialPatchBody> for CredentialPatch {
    type Error = Invalid;

    fn try_from(b: CredentialPatchBody) -> Result<Self, Invalid> {
        match b.expires_at {
            None => Err(Invalid::new(
                "expires_at is the only field that can be updated, and it is missing",
            )),
            Some(at) => Ok(Self {
                expires_at: at.map(ExpiresAt::Written),
            }),
        }
    }
}

// ---- Applications ---------------------------------------------------------------------------

/// `jwt_configuration` as a request may carry it (every field optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JwtConfiguration)]
pub struct JwtConfigurationBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub alg: Option<JwtConfigAlg>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 2_592_000)]
    pub lifetime_in_seconds: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub secret_encoded: Option<bool>,
}

impl From<JwtConfigurationBody> for JwtConfigurationPatch {
    fn from(b: JwtConfigurationBody) -> Self {
        Self {
            alg: b.alg,
            lifetime_in_seconds: b.lifetime_in_seconds,
            secret_encoded: b.secret_encoded,
        }
    }
}

/// Auth0's wrapper around a quota: `{"client_credentials": {...}}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenQuotaWrapper)]
pub struct QuotaBody {
    pub client_credentials: TokenQuota,
}

/// `client_authentication_methods` in `POST /clients`: full credential objects, under the
/// method each is for (`federated` is a signet extension).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientAuthenticationMethodsCreate)]
pub struct CreateAuthMethods {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub private_key_jwt: Option<CreatePrivateKeyJwt>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    pub federated: Option<CreatePrivateKeyJwt>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PrivateKeyJwtCreate)]
pub struct CreatePrivateKeyJwt {
    #[schema(max_items = 2)]
    pub credentials: Vec<CredentialBody>,
}

/// `client_authentication_methods` in `PATCH /clients/{id}`: references only (`[{"id"}]`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientAuthenticationMethodsPatch)]
pub struct PatchAuthMethods {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub private_key_jwt: Option<PatchPrivateKeyJwt>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    pub federated: Option<PatchPrivateKeyJwt>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PrivateKeyJwtPatch)]
pub struct PatchPrivateKeyJwt {
    #[schema(max_items = 2)]
    pub credentials: Vec<CredentialRef>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CredentialRefBody)]
pub struct CredentialRef {
    pub id: String,
}

/// `POST /api/v2/clients`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientCreate)]
pub struct ClientBody {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 140)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub app_type: Option<AppType>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub is_first_party: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub jwt_configuration: Option<JwtConfigurationBody>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = String)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_authentication_methods: Option<CreateAuthMethods>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub token_quota: Option<QuotaBody>,
}

impl TryFrom<ClientBody> for NewClient {
    type Error = Invalid;

    fn try_from(b: ClientBody) -> Result<Self, Invalid> {
        let auth = match (
            b.token_endpoint_auth_method,
            b.client_authentication_methods,
        ) {
            (Some(_), Some(_)) => return Err(Invalid::new(EXCLUSIVE)),
            (Some(m), None) => NewClientAuth::Method(m),
            (None, Some(methods)) => {
                let list = |m: Option<CreatePrivateKeyJwt>| -> Vec<CredentialUpload> {
                    m.map(|m| {
                        m.credentials
                            .into_iter()
                            .map(CredentialUpload::from)
                            .collect()
                    })
                    .unwrap_or_default()
                };
                NewClientAuth::PrivateKeyJwt(Box::new(ListedUploads {
                    private_key_jwt: list(methods.private_key_jwt),
                    federated: list(methods.federated),
                }))
            }
            (None, None) => NewClientAuth::Default,
        };
        Ok(Self {
            name: b.name,
            description: b.description,
            app_type: b.app_type,
            is_first_party: b.is_first_party,
            auth,
            grant_types: b.grant_types,
            jwt_configuration: b.jwt_configuration.unwrap_or_default().into(),
            client_metadata: b.client_metadata,
            client_secret: b.client_secret,
            token_quota: b.token_quota.map(|q| q.client_credentials),
        })
    }
}

/// `PATCH /api/v2/clients/{id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientUpdate)]
pub struct ClientPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 140)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub app_type: Option<AppType>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub is_first_party: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub token_endpoint_auth_method: Option<Option<TokenEndpointAuthMethod>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub jwt_configuration: Option<JwtConfigurationBody>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = String)]
    pub client_secret: Option<Secret>,
    #[serde(default, deserialize_with = "nullable")]
    pub client_authentication_methods: Option<Option<PatchAuthMethods>>,
    #[serde(default, deserialize_with = "nullable")]
    pub token_quota: Option<Option<QuotaBody>>,
}

/// Auth0's pair (`token_endpoint_auth_method`, `client_authentication_methods`) as one change
/// (BEHAVIOUR A.2, B.9); `None` is "absent", `Some(None)` an explicit `null`.
fn auth_change(
    method: Option<Option<TokenEndpointAuthMethod>>,
    methods: Option<Option<PatchAuthMethods>>,
) -> Result<AuthMethodChange, Invalid> {
    match (method, methods) {
        (None, None) => Ok(AuthMethodChange::Keep),
        (None | Some(None), Some(Some(methods))) => {
            let ids = |m: Option<PatchPrivateKeyJwt>| -> Vec<String> {
                m.map(|m| m.credentials.into_iter().map(|r| r.id).collect())
                    .unwrap_or_default()
            };
            Ok(AuthMethodChange::UseListed(ListedCredentials {
                private_key_jwt: ids(methods.private_key_jwt),
                federated: ids(methods.federated),
            }))
        }
        (Some(Some(_)), Some(Some(_))) => Err(Invalid::new(EXCLUSIVE)),
        (Some(Some(m)), Some(None)) => Ok(AuthMethodChange::LeavePrivateKeyJwt(m)),
        (None, Some(None)) => Ok(AuthMethodChange::ClearPrivateKeyJwt),
        (Some(None), Some(None)) => Err(Invalid::new(
            "client_authentication_methods: null needs token_endpoint_auth_method set to the method \
             to use instead (e.g. client_secret_post)",
        )),
        (Some(Some(m)), None) => Ok(AuthMethodChange::SetMethod(m)),
        (Some(None), None) => Err(Invalid::new(
            "token_endpoint_auth_method can only be null together with \
             client_authentication_methods (Private Key JWT)",
        )),
    }
}

impl TryFrom<ClientPatchBody> for ClientPatch {
    type Error = Invalid;

    fn try_from(b: ClientPatchBody) -> Result<Self, Invalid> {
        Ok(Self {
            auth: auth_change(
                b.token_endpoint_auth_method,
                b.client_authentication_methods,
            )?,
            name: b.name,
            description: b.description,
            app_type: b.app_type,
            is_first_party: b.is_first_party,
            grant_types: b.grant_types,
            jwt_configuration: b.jwt_configuration.map(JwtConfigurationPatch::from),
            client_metadata: b.client_metadata,
            client_secret: b.client_secret,
            token_quota: b.token_quota.map(|q| q.map(|q| q.client_credentials)),
        })
    }
}

// ---- APIs, grants, tenant settings -----------------------------------------------------------

/// A scope as a request carries it (`description` optional).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ScopeDefinition)]
pub struct ScopeBody {
    #[schema(min_length = 1, max_length = 280)]
    pub value: String,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 500)]
    pub description: Option<String>,
}

fn scopes(list: Vec<ScopeBody>) -> Vec<ScopeDefinition> {
    list.into_iter()
        .map(|s| ScopeDefinition {
            value: s.value,
            description: s.description.unwrap_or_default(),
        })
        .collect()
}

/// `POST /api/v2/resource-servers`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResourceServerCreate)]
pub struct ResourceServerBody {
    /// The audience tokens for the API carry; it cannot change later.
    #[schema(min_length = 1, max_length = 600)]
    pub identifier: String,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 1000)]
    pub scopes: Option<Vec<ScopeBody>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = AccessTokenSigningAlg)]
    pub signing_alg: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = String, max_length = 512)]
    pub signing_secret: Option<Secret>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = TokenDialect)]
    pub token_dialect: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 2_592_000)]
    pub token_lifetime: Option<i64>,
}

impl From<ResourceServerBody> for NewResourceServer {
    fn from(b: ResourceServerBody) -> Self {
        Self {
            identifier: b.identifier,
            name: b.name,
            scopes: scopes(b.scopes.unwrap_or_default()),
            signing_alg: b.signing_alg,
            signing_secret: b.signing_secret,
            token_dialect: b.token_dialect,
            token_lifetime: b.token_lifetime,
        }
    }
}

/// `PATCH /api/v2/resource-servers/{id}` (`identifier` is immutable).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResourceServerUpdate)]
pub struct ResourceServerPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 1000)]
    pub scopes: Option<Vec<ScopeBody>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = AccessTokenSigningAlg)]
    pub signing_alg: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = String, max_length = 512)]
    pub signing_secret: Option<Secret>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = TokenDialect)]
    pub token_dialect: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 2_592_000)]
    pub token_lifetime: Option<i64>,
}

impl From<ResourceServerPatchBody> for ResourceServerPatch {
    fn from(b: ResourceServerPatchBody) -> Self {
        Self {
            name: b.name,
            scopes: b.scopes.map(scopes),
            signing_alg: b.signing_alg,
            signing_secret: b.signing_secret,
            token_dialect: b.token_dialect,
            token_lifetime: b.token_lifetime,
        }
    }
}

/// `POST /api/v2/client-grants`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientGrantCreate)]
pub struct GrantBody {
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

impl From<GrantBody> for NewGrant {
    fn from(b: GrantBody) -> Self {
        Self {
            client_id: b.client_id,
            audience: b.audience,
            scope: b.scope,
        }
    }
}

/// `PATCH /api/v2/client-grants/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientGrantUpdate)]
pub struct GrantPatchBody {
    pub scope: Vec<String>,
}

impl From<GrantPatchBody> for GrantPatch {
    fn from(b: GrantPatchBody) -> Self {
        Self { scope: b.scope }
    }
}

/// `default_token_quota` as a request carries it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DefaultTokenQuotaUpdate)]
pub struct DefaultTokenQuotaBody {
    #[serde(default, deserialize_with = "nullable")]
    pub clients: Option<Option<QuotaBody>>,
    /// Auth0 has organization quotas too; signet has no organizations, so a value is refused
    /// by name rather than ignored.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub organizations: Option<serde_json::Value>,
}

/// `PATCH /api/v2/tenants/settings`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TenantSettingsUpdate)]
pub struct TenantSettingsBody {
    #[serde(default, deserialize_with = "nullable")]
    pub default_token_quota: Option<Option<DefaultTokenQuotaBody>>,
}

impl TryFrom<TenantSettingsBody> for TenantSettingsPatch {
    type Error = Invalid;

    fn try_from(b: TenantSettingsBody) -> Result<Self, Invalid> {
        let default_client_quota = match b.default_token_quota {
            None => None,
            Some(None) => Some(None),
            Some(Some(q)) => {
                if q.organizations.as_ref().is_some_and(|v| !v.is_null()) {
                    return Err(Invalid::new(
                        "default_token_quota.organizations is not supported: signet has no organizations",
                    ));
                }
                q.clients.map(|c| c.map(|c| c.client_credentials))
            }
        };
        Ok(Self {
            default_client_quota,
        })
    }
}

// ---- Values the domain checks as text, documented as the enums they are ------------------------

/// `credential_type` of a new credential.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code, reason = "documentation only: the domain checks the text")]
pub enum CredentialType {
    PublicKey,
    /// A signet extension.
    JwksUri,
    /// A signet extension: tokens a workload platform issues.
    Federated,
}

/// An API's `signing_alg`.
#[derive(ToSchema)]
#[allow(dead_code, reason = "documentation only: the domain checks the text")]
pub enum AccessTokenSigningAlg {
    RS256,
    PS256,
    HS256,
}

/// An API's `token_dialect`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code, reason = "documentation only: the domain checks the text")]
pub enum TokenDialect {
    AccessToken,
    AccessTokenAuthz,
    Rfc9068Profile,
    Rfc9068ProfileAuthz,
}
