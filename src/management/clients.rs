//! Applications: create, read, update, delete, rotate the secret.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Listing, ManagementError, Tenant};
use crate::crypto::{random, secret::Secret};
use crate::domain::Invalid;
use crate::domain::client::{
    self, AppType, Client, JwtConfigAlg, JwtConfiguration, TokenEndpointAuthMethod,
};
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
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
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
    #[serde(default, deserialize_with = "nullable")]
    pub token_endpoint_auth_method: Option<Option<TokenEndpointAuthMethod>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub jwt_configuration: Option<JwtConfigurationInput>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "crate::management::present")]
    pub client_secret: Option<String>,
}

impl UpdateClient {
    /// Whether this patch changes the secret (needs `update:client_keys`, SPEC A.2).
    pub fn changes_secret(&self) -> bool {
        self.client_secret.is_some()
    }
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

pub async fn create(
    tenant: &Tenant,
    req: CreateClient,
    now: Millis,
) -> Result<Client, ManagementError> {
    client::validate_name(&req.name)?;
    validate_common(
        req.description.as_deref(),
        req.grant_types.as_deref(),
        req.client_metadata.as_ref(),
        req.client_secret.as_deref(),
    )?;
    let app_type = req.app_type.unwrap_or(AppType::NonInteractive);
    let jwt_configuration = req
        .jwt_configuration
        .unwrap_or_default()
        .apply(JwtConfiguration::default())?;
    let c = Client {
        client_id: random::base62(32),
        name: req.name,
        description: req.description.unwrap_or_default(),
        app_type,
        is_first_party: req.is_first_party.unwrap_or(true),
        token_endpoint_auth_method: Some(
            req.token_endpoint_auth_method
                .unwrap_or_else(|| app_type.default_auth_method()),
        ),
        grant_types: req
            .grant_types
            .unwrap_or_else(|| app_type.default_grant_types()),
        jwt_configuration,
        client_metadata: req.client_metadata.unwrap_or_default(),
        secret: req
            .client_secret
            .map(Secret::new)
            .unwrap_or_else(Secret::generate),
        created_at: now,
        updated_at: now,
    };
    let mut tx = tenant.store.begin().await?;
    store::clients::insert(&mut tx, &tenant.master_key, &c).await?;
    store::commit(tx).await?;
    Ok(c)
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
    let mut tx = tenant.store.begin().await?;
    let mut c = store::clients::get(&mut tx, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)?;
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
    match req.token_endpoint_auth_method {
        None => {}
        Some(Some(m)) => c.token_endpoint_auth_method = Some(m),
        Some(None) => {
            return Err(Invalid::new(
                "token_endpoint_auth_method can only be null together with \
                 client_authentication_methods (Private Key JWT)",
            )
            .into());
        }
    }
    if let Some(g) = req.grant_types {
        c.grant_types = g;
    }
    if let Some(j) = req.jwt_configuration {
        c.jwt_configuration = j.apply(c.jwt_configuration)?;
    }
    if let Some(m) = req.client_metadata {
        c.client_metadata = m;
    }
    if let Some(s) = req.client_secret {
        c.secret = Secret::new(s);
    }
    c.updated_at = now;
    store::clients::update(&mut tx, &tenant.master_key, &c).await?;
    store::commit(tx).await?;
    Ok(c)
}

/// Replaces the secret with a fresh one; the old one stops working at once.
pub async fn rotate_secret(
    tenant: &Tenant,
    client_id: &str,
    now: Millis,
) -> Result<Client, ManagementError> {
    let mut tx = tenant.store.begin().await?;
    let mut c = store::clients::get(&mut tx, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)?;
    c.secret = Secret::generate();
    c.updated_at = now;
    store::clients::update(&mut tx, &tenant.master_key, &c).await?;
    store::commit(tx).await?;
    Ok(c)
}

/// Deletes the client and, through the schema's cascades, its grants.
pub async fn delete(tenant: &Tenant, client_id: &str) -> Result<(), ManagementError> {
    let mut tx = tenant.store.begin().await?;
    if !store::clients::delete(&mut tx, client_id).await? {
        return Err(ManagementError::client_not_found());
    }
    store::commit(tx).await?;
    Ok(())
}
