//! APIs (resource servers): the audiences applications get tokens for.

use super::{Listing, ManagementError, Tenant};
use crate::crypto::random;
use crate::domain::paging::Page;
use crate::domain::resource_server::{
    self as rs, AccessTokenAlg, DEFAULT_TOKEN_LIFETIME, NewResourceServer, ResourceServer,
    ResourceServerFilter, ResourceServerPatch, ScopeDefinition, TokenDialect,
};
use crate::domain::scope::MANAGEMENT_SCOPES;
use crate::store;
use crate::time_util::Millis;

/// The built-in Management API as it must look for this issuer and version.
pub fn management_api(tenant: &Tenant, now: Millis) -> ResourceServer {
    ResourceServer {
        id: random::hex(24),
        name: "signet Management API".into(),
        identifier: tenant.issuer.management_audience(),
        scopes: MANAGEMENT_SCOPES
            .iter()
            .map(|s| ScopeDefinition {
                value: (*s).to_owned(),
                description: String::new(),
            })
            .collect(),
        signing_alg: AccessTokenAlg::RS256,
        signing_secret: None,
        token_dialect: TokenDialect::AccessToken,
        token_lifetime: DEFAULT_TOKEN_LIFETIME,
        is_system: true,
        created_at: now,
        updated_at: now,
    }
}

pub async fn create(
    tenant: &Tenant,
    req: NewResourceServer,
    now: Millis,
) -> Result<ResourceServer, ManagementError> {
    rs::validate_identifier(&req.identifier)?;
    let name = req.name.unwrap_or_else(|| req.identifier.clone());
    rs::validate_name(&name)?;
    let signing_alg = match req.signing_alg {
        Some(alg) => AccessTokenAlg::parse(&alg)?,
        None => AccessTokenAlg::RS256,
    };
    let token_dialect = match req.token_dialect {
        Some(dialect) => TokenDialect::parse(&dialect)?,
        None => TokenDialect::AccessToken,
    };
    if let Some(secret) = &req.signing_secret {
        rs::validate_signing_secret(secret)?;
    }
    let signing_secret = match (req.signing_secret, signing_alg) {
        (Some(secret), _) => Some(secret),
        (None, AccessTokenAlg::HS256) => Some(rs::generate_signing_secret()),
        (None, _) => None,
    };
    let token_lifetime = req.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
    rs::validate_token_lifetime(token_lifetime)?;
    let api = ResourceServer {
        id: random::hex(24),
        name,
        identifier: req.identifier,
        scopes: {
            rs::validate_scopes(&req.scopes)?;
            req.scopes
        },
        signing_alg,
        signing_secret,
        token_dialect,
        token_lifetime,
        is_system: false,
        created_at: now,
        updated_at: now,
    };
    let mut tx = tenant.store.begin().await?;
    store::resource_servers::insert(&mut tx, &tenant.master_key, &api).await?;
    tenant.store.commit(tx).await?;
    Ok(api)
}

pub async fn get(tenant: &Tenant, id: &str) -> Result<ResourceServer, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    store::resource_servers::get(&mut conn, &tenant.master_key, id)
        .await?
        .ok_or_else(ManagementError::resource_server_not_found)
}

pub async fn list(
    tenant: &Tenant,
    filter: &ResourceServerFilter,
    page: Page,
    include_totals: bool,
) -> Result<Listing<ResourceServer>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let items = store::resource_servers::list(&mut conn, &tenant.master_key, filter, page).await?;
    let total = if include_totals {
        Some(store::resource_servers::count(&mut conn, filter).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

pub async fn update(
    tenant: &Tenant,
    id: &str,
    req: ResourceServerPatch,
    now: Millis,
) -> Result<ResourceServer, ManagementError> {
    let mut tx = tenant.store.begin().await?;
    // Read after the row lock: see `crate::store` on locking.
    if !store::resource_servers::lock_for_update(&mut tx, id).await? {
        return Err(ManagementError::resource_server_not_found());
    }
    let mut api = store::resource_servers::get(&mut tx, &tenant.master_key, id)
        .await?
        .ok_or_else(ManagementError::resource_server_not_found)?;
    if api.is_system && req.touches_more_than_lifetime() {
        return Err(ManagementError::NotAllowed(
            "Only token_lifetime can be changed on the Management API".into(),
        ));
    }
    if let Some(name) = req.name {
        rs::validate_name(&name)?;
        api.name = name;
    }
    if let Some(scopes) = req.scopes {
        rs::validate_scopes(&scopes)?;
        api.scopes = scopes;
    }
    if let Some(alg) = req.signing_alg {
        api.signing_alg = AccessTokenAlg::parse(&alg)?;
    }
    if let Some(dialect) = req.token_dialect {
        api.token_dialect = TokenDialect::parse(&dialect)?;
    }
    if let Some(secret) = req.signing_secret {
        rs::validate_signing_secret(&secret)?;
        api.signing_secret = Some(secret);
    }
    if api.signing_alg == AccessTokenAlg::HS256 && api.signing_secret.is_none() {
        api.signing_secret = Some(rs::generate_signing_secret());
    }
    if let Some(lifetime) = req.token_lifetime {
        rs::validate_token_lifetime(lifetime)?;
        api.token_lifetime = lifetime;
    }
    api.updated_at = now;
    store::resource_servers::update(&mut tx, &tenant.master_key, &api).await?;
    tenant.store.commit(tx).await?;
    Ok(api)
}

/// Deletes an API and its grants. The Management API cannot be deleted.
pub async fn delete(tenant: &Tenant, id: &str) -> Result<(), ManagementError> {
    let mut tx = tenant.store.begin().await?;
    let api = store::resource_servers::get(&mut tx, &tenant.master_key, id)
        .await?
        .ok_or_else(ManagementError::resource_server_not_found)?;
    if api.is_system {
        return Err(ManagementError::NotAllowed(
            "The Management API cannot be deleted".into(),
        ));
    }
    store::resource_servers::delete(&mut tx, id).await?;
    tenant.store.commit(tx).await?;
    Ok(())
}
