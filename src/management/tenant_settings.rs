//! Tenant settings: for now Auth0's `default_token_quota` (the token quota of applications
//! without one of their own).

use serde::Deserialize;

use super::{ManagementError, Tenant};
use crate::domain::Invalid;
use crate::domain::token_quota::TokenQuota;
use crate::store;

/// `{"client_credentials": {...}}`, Auth0's wrapper around a quota.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    pub client_credentials: TokenQuota,
}

/// `default_token_quota` as a request carries it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultTokenQuotaInput {
    #[serde(default, deserialize_with = "super::nullable")]
    pub clients: Option<Option<QuotaInput>>,
    /// Auth0 has organization quotas too; signet has no organizations, so a value is refused
    /// by name rather than ignored.
    #[serde(default)]
    pub organizations: Option<serde_json::Value>,
}

/// `PATCH /api/v2/tenants/settings` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantSettings {
    #[serde(default, deserialize_with = "super::nullable")]
    pub default_token_quota: Option<Option<DefaultTokenQuotaInput>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    pub default_client_quota: Option<TokenQuota>,
}

pub async fn get(tenant: &Tenant) -> Result<TenantSettings, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    Ok(TenantSettings {
        default_client_quota: store::tenant_settings::default_client_quota(&mut conn).await?,
    })
}

pub async fn update(
    tenant: &Tenant,
    req: UpdateTenantSettings,
) -> Result<TenantSettings, ManagementError> {
    let quota = match req.default_token_quota {
        None => return get(tenant).await,
        Some(None) => None,
        Some(Some(input)) => {
            if input.organizations.as_ref().is_some_and(|v| !v.is_null()) {
                return Err(Invalid::new(
                    "default_token_quota.organizations is not supported: signet has no organizations",
                )
                .into());
            }
            match input.clients {
                None => return get(tenant).await,
                Some(None) => None,
                Some(Some(q)) => {
                    q.client_credentials
                        .validate("default_token_quota.clients.client_credentials")?;
                    Some(q.client_credentials)
                }
            }
        }
    };
    let mut tx = tenant.store.begin().await?;
    store::tenant_settings::set_default_client_quota(&mut tx, quota.as_ref()).await?;
    tenant.store.commit(tx).await?;
    Ok(TenantSettings {
        default_client_quota: quota,
    })
}
