//! Applications: create, read, update, delete, rotate the secret.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::tenant_settings::QuotaInput;
use super::{Listing, ManagementError, Tenant, credentials};
use crate::crypto::{random, secret::Secret};
use crate::domain::Invalid;
use crate::domain::client::{
    self, AppType, Client, JwtConfigAlg, JwtConfiguration, TokenEndpointAuthMethod,
};
use crate::domain::credential::{Credential, MAX_PER_CLIENT, NewCredential};
use crate::domain::paging::Page;
use crate::store;
use crate::time_util::Millis;

/// `jwt_configuration` as a request may carry it (every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfigurationInput {
    #[serde(default, deserialize_with = "crate::management::present")]
    pub alg: Option<JwtConfigAlg>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub lifetime_in_seconds: Option<i64>,
    /// Auth0 echoes this; only `false` is meaningful for asymmetric algorithms.
    #[serde(default, deserialize_with = "crate::management::present")]
    pub secret_encoded: Option<bool>,
}

impl JwtConfigurationInput {
    fn apply(&self, base: JwtConfiguration) -> Result<JwtConfiguration, Invalid> {
        if self.secret_encoded == Some(true) {
            return Err(Invalid::new(
                "jwt_configuration.secret_encoded: true is not supported",
            ));
        }
        let merged = JwtConfiguration {
            alg: self.alg.unwrap_or(base.alg),
            lifetime_in_seconds: self.lifetime_in_seconds.unwrap_or(base.lifetime_in_seconds),
        };
        merged.validate()?;
        Ok(merged)
    }
}

/// `client_authentication_methods` in `POST /clients`: full credential objects (SPEC A.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAuthMethods {
    pub private_key_jwt: CreatePrivateKeyJwt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePrivateKeyJwt {
    pub credentials: Vec<NewCredential>,
}

/// `client_authentication_methods` in `PATCH /clients/{id}`: references only (`[{"id"}]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchAuthMethods {
    pub private_key_jwt: PatchPrivateKeyJwt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchPrivateKeyJwt {
    pub credentials: Vec<CredentialRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRef {
    pub id: String,
}

/// `POST /api/v2/clients` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub app_type: Option<AppType>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub is_first_party: Option<bool>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub jwt_configuration: Option<JwtConfigurationInput>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_authentication_methods: Option<CreateAuthMethods>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub token_quota: Option<QuotaInput>,
}

impl CreateClient {
    pub fn carries_credentials(&self) -> bool {
        self.client_authentication_methods.is_some()
    }
}

/// `PATCH /api/v2/clients/{id}` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[serde(default, deserialize_with = "crate::management::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub app_type: Option<AppType>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub is_first_party: Option<bool>,
    #[serde(default, deserialize_with = "crate::management::nullable")]
    pub token_endpoint_auth_method: Option<Option<TokenEndpointAuthMethod>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub jwt_configuration: Option<JwtConfigurationInput>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_secret: Option<String>,
    #[serde(default, deserialize_with = "crate::management::nullable")]
    pub client_authentication_methods: Option<Option<PatchAuthMethods>>,
    /// `null` removes the application's own quota (the tenant's default applies again).
    #[serde(default, deserialize_with = "crate::management::nullable")]
    pub token_quota: Option<Option<QuotaInput>>,
}

impl UpdateClient {
    /// Whether this patch changes the secret (needs `update:client_keys`, SPEC A.2).
    pub fn changes_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    /// Whether this patch changes the authentication methods (needs `update:client_credentials`).
    pub fn changes_auth_methods(&self) -> bool {
        self.client_authentication_methods.is_some()
    }
}

const EXCLUSIVE: &str = "token_endpoint_auth_method and client_authentication_methods are mutually \
    exclusive: send token_endpoint_auth_method: null to use Private Key JWT";

/// Auth0 refuses HS256 as the application's JWT algorithm once Private Key JWT is on.
fn check_jwt_alg(jwt: &JwtConfiguration, private_key_jwt: bool) -> Result<(), Invalid> {
    if private_key_jwt && jwt.alg == JwtConfigAlg::HS256 {
        return Err(Invalid::new(
            "jwt_configuration.alg HS256 cannot be used with Private Key JWT; use RS256",
        ));
    }
    Ok(())
}

fn check_credential_count(n: usize) -> Result<(), Invalid> {
    if n == 0 {
        return Err(Invalid::new(
            "client_authentication_methods.private_key_jwt.credentials must list at least one credential",
        ));
    }
    if n > MAX_PER_CLIENT {
        return Err(Invalid(format!(
            "client_authentication_methods.private_key_jwt.credentials may list at most {MAX_PER_CLIENT} credentials"
        )));
    }
    Ok(())
}

fn validate_common(
    description: Option<&str>,
    grant_types: Option<&[String]>,
    metadata: Option<&BTreeMap<String, String>>,
    secret: Option<&str>,
) -> Result<(), Invalid> {
    if let Some(d) = description {
        client::validate_description(d)?;
    }
    if let Some(g) = grant_types {
        client::validate_grant_types(g)?;
    }
    if let Some(m) = metadata {
        client::validate_metadata(m)?;
    }
    if let Some(s) = secret {
        client::validate_client_secret(s)?;
    }
    Ok(())
}

/// Creates a client; credentials it carries are created and associated in the same transaction
/// and returned with it.
pub async fn create(
    tenant: &Tenant,
    req: CreateClient,
    now: Millis,
) -> Result<(Client, Vec<Credential>), ManagementError> {
    client::validate_name(&req.name)?;
    validate_common(
        req.description.as_deref(),
        req.grant_types.as_deref(),
        req.client_metadata.as_ref(),
        req.client_secret.as_deref(),
    )?;
    let token_quota = req.token_quota.map(|q| q.client_credentials);
    if let Some(q) = &token_quota {
        q.validate("token_quota.client_credentials")?;
    }
    let app_type = req.app_type.unwrap_or(AppType::NonInteractive);
    let jwt_configuration = req
        .jwt_configuration
        .unwrap_or_default()
        .apply(JwtConfiguration::default())?;
    let accepted = match &req.client_authentication_methods {
        None => None,
        Some(methods) => {
            if req.token_endpoint_auth_method.is_some() {
                return Err(Invalid::new(EXCLUSIVE).into());
            }
            let list = &methods.private_key_jwt.credentials;
            check_credential_count(list.len())?;
            check_jwt_alg(&jwt_configuration, true)?;
            let accepted = list
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c.accept(
                        now,
                        &format!("client_authentication_methods.private_key_jwt.credentials[{i}]."),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(accepted)
        }
    };
    let c = Client {
        client_id: random::base62(32),
        name: req.name,
        description: req.description.unwrap_or_default(),
        app_type,
        is_first_party: req.is_first_party.unwrap_or(true),
        token_endpoint_auth_method: match accepted {
            Some(_) => None,
            None => Some(
                req.token_endpoint_auth_method
                    .unwrap_or_else(|| app_type.default_auth_method()),
            ),
        },
        grant_types: req
            .grant_types
            .unwrap_or_else(|| app_type.default_grant_types()),
        jwt_configuration,
        client_metadata: req.client_metadata.unwrap_or_default(),
        secret: req
            .client_secret
            .map(Secret::new)
            .unwrap_or_else(Secret::generate),
        credential_ids: Vec::new(),
        token_quota,
        created_at: now,
        updated_at: now,
    };
    let mut c = c;
    let mut tx = tenant.store.begin().await?;
    store::clients::insert(&mut tx, &tenant.master_key, &c).await?;
    let credentials = match accepted {
        Some(accepted) => {
            credentials::insert_accepted(&mut tx, &c.client_id, accepted, true, now).await?
        }
        None => Vec::new(),
    };
    tenant.store.commit(tx).await?;
    c.credential_ids = credentials.iter().map(|cr| cr.id.clone()).collect();
    Ok((c, credentials))
}

pub async fn get(tenant: &Tenant, client_id: &str) -> Result<Client, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    store::clients::get(&mut conn, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)
}

pub async fn list(
    tenant: &Tenant,
    page: Page,
    include_totals: bool,
) -> Result<Listing<Client>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let items = store::clients::list(&mut conn, &tenant.master_key, page).await?;
    let total = if include_totals {
        Some(store::clients::count(&mut conn).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

pub async fn update(
    tenant: &Tenant,
    client_id: &str,
    req: UpdateClient,
    now: Millis,
) -> Result<Client, ManagementError> {
    if let Some(name) = &req.name {
        client::validate_name(name)?;
    }
    validate_common(
        req.description.as_deref(),
        req.grant_types.as_deref(),
        req.client_metadata.as_ref(),
        req.client_secret.as_deref(),
    )?;
    let token_quota = req.token_quota.map(|q| q.map(|q| q.client_credentials));
    if let Some(Some(q)) = &token_quota {
        q.validate("token_quota.client_credentials")?;
    }
    let mut tx = tenant.store.begin().await?;
    let mut c = locked_client(&mut tx, tenant, client_id, now).await?;
    if let Some(q) = token_quota {
        c.token_quota = q;
    }
    if let Some(name) = req.name {
        c.name = name;
    }
    if let Some(d) = req.description {
        c.description = d;
    }
    if let Some(t) = req.app_type {
        c.app_type = t;
    }
    if let Some(f) = req.is_first_party {
        c.is_first_party = f;
    }
    apply_auth_methods(
        &mut tx,
        &mut c,
        req.token_endpoint_auth_method,
        req.client_authentication_methods,
        now,
    )
    .await?;
    if let Some(g) = req.grant_types {
        c.grant_types = g;
    }
    if let Some(j) = req.jwt_configuration {
        c.jwt_configuration = j.apply(c.jwt_configuration)?;
    }
    check_jwt_alg(&c.jwt_configuration, c.uses_private_key_jwt())?;
    if let Some(m) = req.client_metadata {
        c.client_metadata = m;
    }
    if let Some(s) = req.client_secret {
        c.secret = Secret::new(s);
    }
    c.updated_at = now;
    store::clients::update(&mut tx, &tenant.master_key, &c).await?;
    tenant.store.commit(tx).await?;
    Ok(c)
}

/// The authentication-method part of a PATCH (SPEC A.2, B.9): switch to Private Key JWT with a
/// list that replaces the associated set, or back to a secret method; nothing else.
async fn apply_auth_methods(
    tx: &mut store::Conn,
    c: &mut Client,
    method: Option<Option<TokenEndpointAuthMethod>>,
    methods: Option<Option<PatchAuthMethods>>,
    now: Millis,
) -> Result<(), ManagementError> {
    match (method, methods) {
        (None, None) => Ok(()),
        // Switch to (or re-list) Private Key JWT.
        (None | Some(None), Some(Some(pkj))) => {
            let ids: Vec<String> = pkj.private_key_jwt.credentials.into_iter().map(|r| r.id).collect();
            check_credential_count(ids.len())?;
            let owned = store::credentials::list(tx, &c.client_id).await?;
            for (i, id) in ids.iter().enumerate() {
                if ids[..i].contains(id) {
                    return Err(Invalid(format!("credential {id} is listed more than once")).into());
                }
                if !owned.iter().any(|o| &o.id == id) {
                    return Err(Invalid(format!(
                        "credential {id} does not exist or does not belong to this application"
                    ))
                    .into());
                }
            }
            store::credentials::set_associated(tx, &c.client_id, &ids, now).await?;
            c.token_endpoint_auth_method = None;
            c.credential_ids = ids;
            Ok(())
        }
        (Some(Some(_)), Some(Some(_))) => Err(Invalid::new(EXCLUSIVE).into()),
        // Switch back to a secret method (or `none`).
        (Some(Some(m)), Some(None)) => {
            store::credentials::set_associated(tx, &c.client_id, &[], now).await?;
            c.token_endpoint_auth_method = Some(m);
            c.credential_ids = Vec::new();
            Ok(())
        }
        (None, Some(None)) if !c.uses_private_key_jwt() => Ok(()),
        (None | Some(None), Some(None)) => Err(Invalid::new(
            "client_authentication_methods: null needs token_endpoint_auth_method set to the method \
             to use instead (e.g. client_secret_post)",
        )
        .into()),
        (Some(Some(m)), None) => {
            if c.uses_private_key_jwt() {
                return Err(Invalid::new(
                    "the application uses Private Key JWT: send client_authentication_methods: null \
                     together with token_endpoint_auth_method to switch back",
                )
                .into());
            }
            c.token_endpoint_auth_method = Some(m);
            Ok(())
        }
        (Some(None), None) => Err(Invalid::new(
            "token_endpoint_auth_method can only be null together with \
             client_authentication_methods (Private Key JWT)",
        )
        .into()),
    }
}

/// The client, read after taking its row lock: a concurrent change to it is either committed
/// and seen here, or waits for this transaction (see `crate::store` on locking).
async fn locked_client(
    tx: &mut store::Conn,
    tenant: &Tenant,
    client_id: &str,
    now: Millis,
) -> Result<Client, ManagementError> {
    if !store::clients::lock_for_update(tx, client_id, now).await? {
        return Err(ManagementError::client_not_found());
    }
    store::clients::get(tx, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)
}

/// Replaces the secret with a fresh one; the old one stops working at once.
pub async fn rotate_secret(
    tenant: &Tenant,
    client_id: &str,
    now: Millis,
) -> Result<Client, ManagementError> {
    let mut tx = tenant.store.begin().await?;
    let mut c = locked_client(&mut tx, tenant, client_id, now).await?;
    c.secret = Secret::generate();
    c.updated_at = now;
    store::clients::update(&mut tx, &tenant.master_key, &c).await?;
    tenant.store.commit(tx).await?;
    Ok(c)
}

/// Deletes the client and, through the schema's cascades, its grants.
pub async fn delete(tenant: &Tenant, client_id: &str) -> Result<(), ManagementError> {
    let mut tx = tenant.store.begin().await?;
    if !store::clients::delete(&mut tx, client_id).await? {
        return Err(ManagementError::client_not_found());
    }
    tenant.store.commit(tx).await?;
    Ok(())
}
