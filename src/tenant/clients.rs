//! Applications: create, read, update, delete, rotate the secret. The commands come from
//! `crate::domain::client_change`, built by the Management API from Auth0's JSON and by the
//! dashboard from its forms.

use super::{Listing, ManagementError, Tenant, credentials};
use crate::crypto::{random, secret::Secret};
use crate::domain::Invalid;
use crate::domain::client::{AppType, Client, ClientFilter, JwtConfiguration};
use crate::domain::client_change::{
    AuthEffect, ClientPatch, NewClient, NewClientAuth, check_credential_count, check_jwt_alg,
};
use crate::domain::credential::Credential;
use crate::domain::paging::Page;
use crate::store;
use crate::time_util::Millis;

/// Creates a client; credentials it carries are created and enabled in the same transaction
/// and returned with it.
pub async fn create(
    tenant: &Tenant,
    new: NewClient,
    now: Millis,
) -> Result<(Client, Vec<Credential>), ManagementError> {
    new.validate()?;
    let app_type = new.app_type.unwrap_or(AppType::NonInteractive);
    let jwt_configuration = new.jwt_configuration.apply(JwtConfiguration::default())?;
    let (method, accepted) = match &new.auth {
        NewClientAuth::Default => (Some(app_type.default_auth_method()), None),
        NewClientAuth::Method(m) => (Some(*m), None),
        NewClientAuth::PrivateKeyJwt(listed) => {
            check_credential_count(listed.len())?;
            check_jwt_alg(&jwt_configuration, true)?;
            let mut accepted = Vec::with_capacity(listed.len());
            for (prefix, method, upload) in listed.placed() {
                let a = upload.accept(now, &prefix)?;
                if a.key.method() != method {
                    return Err(Invalid::field(
                        "credential_type",
                        format!(
                            "{:?} is not listed under {method}: put it under \
                             client_authentication_methods.{}.credentials",
                            a.key.credential_type(),
                            a.key.method()
                        ),
                    )
                    .within(&prefix)
                    .into());
                }
                credentials::check_key_url(tenant, &a, &prefix).await?;
                accepted.push(a);
            }
            (None, Some(accepted))
        }
    };
    let mut c = Client {
        client_id: random::base62(32),
        name: new.name,
        description: new.description.unwrap_or_default(),
        app_type,
        is_first_party: new.is_first_party.unwrap_or(true),
        token_endpoint_auth_method: method,
        grant_types: new
            .grant_types
            .unwrap_or_else(|| app_type.default_grant_types()),
        jwt_configuration,
        client_metadata: new.client_metadata.unwrap_or_default(),
        secret: new.client_secret.unwrap_or_else(Secret::generate),
        credential_ids: Vec::new(),
        federated_credential_ids: Vec::new(),
        token_quota: new.token_quota,
        created_at: now,
        updated_at: now,
    };
    let mut tx = tenant.store.begin().await?;
    store::clients::insert(&mut tx, &tenant.master_key, &c).await?;
    let credentials = match accepted {
        Some(accepted) => {
            credentials::insert_accepted(&mut tx, &c.client_id, accepted, true, now).await?
        }
        None => Vec::new(),
    };
    tenant.store.commit(tx).await?;
    credentials::fetch_new_key_sets(tenant, &credentials).await;
    c.credential_ids = credentials.iter().map(|cr| cr.id.clone()).collect();
    c.federated_credential_ids = credentials
        .iter()
        .filter(|cr| cr.key.federated().is_some())
        .map(|cr| cr.id.clone())
        .collect();
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
    filter: &ClientFilter,
    page: Page,
    include_totals: bool,
) -> Result<Listing<Client>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let items = store::clients::list(&mut conn, &tenant.master_key, filter, page).await?;
    let total = if include_totals {
        Some(store::clients::count(&mut conn, filter).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

pub async fn update(
    tenant: &Tenant,
    client_id: &str,
    patch: ClientPatch,
    now: Millis,
) -> Result<Client, ManagementError> {
    patch.validate()?;
    let mut tx = tenant.store.begin().await?;
    let mut c = locked_client(&mut tx, tenant, client_id, now).await?;
    if let Some(q) = patch.token_quota {
        c.token_quota = q;
    }
    if let Some(name) = patch.name {
        c.name = name;
    }
    if let Some(d) = patch.description {
        c.description = d;
    }
    if let Some(t) = patch.app_type {
        c.app_type = t;
    }
    if let Some(f) = patch.is_first_party {
        c.is_first_party = f;
    }
    // Only credentials to enable need the list of those the application owns.
    let owned = if patch.auth.needs_owned_credentials() {
        store::credentials::list(&mut tx, client_id).await?
    } else {
        Vec::new()
    };
    let owned: Vec<(&str, &str)> = owned
        .iter()
        .map(|o| (o.id.as_str(), o.key.method()))
        .collect();
    match patch
        .auth
        .effect(c.uses_private_key_jwt(), &owned, &c.credential_ids)?
    {
        AuthEffect::Nothing => {}
        AuthEffect::SetMethod(m) => c.token_endpoint_auth_method = Some(m),
        AuthEffect::Enable(ids) => {
            store::credentials::set_associated(&mut tx, client_id, &ids, now).await?;
            c.token_endpoint_auth_method = None;
            c.federated_credential_ids = ids
                .iter()
                .filter(|id| owned.iter().any(|(o, m)| o == id && *m == "federated"))
                .cloned()
                .collect();
            c.credential_ids = ids;
        }
        AuthEffect::Disable(m) => {
            store::credentials::set_associated(&mut tx, client_id, &[], now).await?;
            c.token_endpoint_auth_method = Some(m);
            c.credential_ids = Vec::new();
            c.federated_credential_ids = Vec::new();
        }
    }
    if let Some(g) = patch.grant_types {
        c.grant_types = g;
    }
    if let Some(j) = patch.jwt_configuration {
        c.jwt_configuration = j.apply(c.jwt_configuration)?;
    }
    check_jwt_alg(&c.jwt_configuration, c.uses_private_key_jwt())?;
    if let Some(m) = patch.client_metadata {
        c.client_metadata = m;
    }
    if let Some(s) = patch.client_secret {
        c.secret = s;
    }
    c.updated_at = now;
    store::clients::update(&mut tx, &tenant.master_key, &c).await?;
    tenant.store.commit(tx).await?;
    Ok(c)
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
