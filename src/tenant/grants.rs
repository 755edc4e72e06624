//! Client grants: authorise an application for an API with some of the API's scopes.

use super::{Listing, ManagementError, Tenant};
use crate::crypto::random;
use crate::domain::grant::GrantFilter as Filter;
use crate::domain::grant::{ClientGrant, GrantPatch, NewGrant, normalise_granted_scopes};
use crate::domain::paging::Page;
use crate::store;
use crate::time_util::Millis;

pub async fn create(
    tenant: &Tenant,
    req: NewGrant,
    now: Millis,
) -> Result<ClientGrant, ManagementError> {
    let mut tx = tenant.store.begin().await?;
    // The client's lock keeps a concurrent delete from leaving the grant pointing nowhere (a
    // foreign-key failure, not a 404).
    if !store::clients::lock_for_update(&mut tx, &req.client_id, now).await? {
        return Err(ManagementError::client_not_found());
    }
    let api =
        store::resource_servers::get_by_identifier(&mut tx, &tenant.master_key, &req.audience)
            .await?
            .ok_or_else(ManagementError::resource_server_not_found)?;
    if !store::resource_servers::lock_for_update(&mut tx, &api.id).await? {
        return Err(ManagementError::resource_server_not_found());
    }
    let grant = ClientGrant {
        id: format!("cgr_{}", random::base62(16)),
        scope: normalise_granted_scopes(&api, &req.scope)?,
        client_id: req.client_id,
        audience: api.identifier.clone(),
    };
    store::grants::insert(&mut tx, &grant, &api.id, now).await?;
    tenant.store.commit(tx).await?;
    Ok(grant)
}

/// Grants every scope of the API to the client, creating or widening its grant (used to keep the
/// bootstrap client in charge of the whole Management API).
pub async fn ensure_full_grant(
    conn: &mut store::Conn,
    client_id: &str,
    api: &crate::domain::resource_server::ResourceServer,
    now: Millis,
) -> Result<(), ManagementError> {
    let all: Vec<String> = api.scopes.iter().map(|s| s.value.clone()).collect();
    let grant = ClientGrant {
        id: format!("cgr_{}", random::base62(16)),
        client_id: client_id.to_owned(),
        audience: api.identifier.clone(),
        scope: all.clone(),
    };
    // Insert-or-widen in two statements that need no read: servers starting together each
    // run them, and whichever inserts first, both end with the full grant.
    if !store::grants::insert_if_absent(conn, &grant, &api.id, now).await? {
        store::grants::set_scope_for(conn, client_id, &api.id, &all).await?;
    }
    Ok(())
}

pub async fn get(tenant: &Tenant, id: &str) -> Result<ClientGrant, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    store::grants::get(&mut conn, id)
        .await?
        .ok_or_else(ManagementError::client_grant_not_found)
}

pub async fn list(
    tenant: &Tenant,
    filter: &Filter,
    page: Page,
    include_totals: bool,
) -> Result<Listing<ClientGrant>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let items = store::grants::list(&mut conn, filter, page).await?;
    let total = if include_totals {
        Some(store::grants::count(&mut conn, filter).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

/// Auth0's checkpoint paging of grants: up to `take` grants after the grant `from` (from the
/// first without it), and the cursor of the next page when there may be one. `None` when
/// `from` names no grant.
pub async fn list_after(
    tenant: &Tenant,
    filter: &Filter,
    from: Option<&str>,
    take: i64,
) -> Result<Option<(Vec<ClientGrant>, Option<String>)>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let after = match from {
        None => None,
        Some(id) => match store::grants::position_of(&mut conn, id).await? {
            Some(created_at) => Some((created_at, id)),
            None => return Ok(None),
        },
    };
    // One more than asked tells whether a next page exists.
    let mut items = store::grants::list_after(&mut conn, filter, after, take + 1).await?;
    let next = if items.len() as i64 > take {
        items.truncate(take as usize);
        items.last().map(|g| g.id.clone())
    } else {
        None
    };
    Ok(Some((items, next)))
}

pub async fn update(
    tenant: &Tenant,
    id: &str,
    req: GrantPatch,
) -> Result<ClientGrant, ManagementError> {
    let mut tx = tenant.store.begin().await?;
    // Read after the row lock: see `crate::store` on locking.
    if !store::grants::lock_for_update(&mut tx, id).await? {
        return Err(ManagementError::client_grant_not_found());
    }
    let mut grant = store::grants::get(&mut tx, id)
        .await?
        .ok_or_else(ManagementError::client_grant_not_found)?;
    let api =
        store::resource_servers::get_by_identifier(&mut tx, &tenant.master_key, &grant.audience)
            .await?
            .ok_or_else(ManagementError::resource_server_not_found)?;
    grant.scope = normalise_granted_scopes(&api, &req.scope)?;
    store::grants::update_scope(&mut tx, id, &grant.scope).await?;
    tenant.store.commit(tx).await?;
    Ok(grant)
}

pub async fn delete(tenant: &Tenant, id: &str) -> Result<(), ManagementError> {
    let mut tx = tenant.store.begin().await?;
    if !store::grants::delete(&mut tx, id).await? {
        return Err(ManagementError::client_grant_not_found());
    }
    tenant.store.commit(tx).await?;
    Ok(())
}
