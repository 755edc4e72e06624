//! Tenant settings: for now Auth0's `default_token_quota` (the token quota of applications
//! without one of their own).

use super::{ManagementError, Tenant};
use crate::domain::token_quota::TokenQuota;
use crate::store;

/// A change to the tenant's settings: `None` leaves the default quota as it is, `Some(None)`
/// removes it.
#[derive(Debug, Clone, Default)]
pub struct TenantSettingsPatch {
    pub default_client_quota: Option<Option<TokenQuota>>,
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
    patch: TenantSettingsPatch,
) -> Result<TenantSettings, ManagementError> {
    let Some(quota) = patch.default_client_quota else {
        return get(tenant).await;
    };
    if let Some(q) = &quota {
        q.validate("default_token_quota.clients.client_credentials")?;
    }
    let mut tx = tenant.store.begin().await?;
    store::tenant_settings::set_default_client_quota(&mut tx, quota.as_ref()).await?;
    tenant.store.commit(tx).await?;
    Ok(TenantSettings {
        default_client_quota: quota,
    })
}
