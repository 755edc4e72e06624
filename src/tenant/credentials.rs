//! An application's Private Key JWT credentials: upload, list, read, set expiry, delete.

use super::{ManagementError, Tenant};
use crate::crypto::random;
use crate::domain::Invalid;
use crate::domain::credential::{
    AcceptedCredential, Credential, CredentialKey, CredentialPatch, CredentialUpload,
    MAX_PER_CLIENT,
};
use crate::domain::federated::FederatedKeys;
use crate::jwks_uri::discovery::configuration_url;
use crate::store;
use crate::store::key_sets::StoredKeySet;
use crate::time_util::Millis;

pub fn new_credential_id() -> String {
    format!("cred_{}", random::base62(22))
}

/// Stores accepted credentials for `client_id` inside the caller's transaction, enforcing the
/// per-application limit and refusing a key (or kid) the application already has.
pub(super) async fn insert_accepted(
    conn: &mut store::Conn,
    client_id: &str,
    accepted: Vec<AcceptedCredential>,
    associated: bool,
    now: Millis,
) -> Result<Vec<Credential>, ManagementError> {
    let existing = store::credentials::list(conn, client_id).await?;
    if existing.len() + accepted.len() > MAX_PER_CLIENT {
        return Err(Invalid::new(format!(
            "An application can have at most {MAX_PER_CLIENT} credentials (it has {}); delete one \
             before adding another",
            existing.len()
        ))
        .into());
    }
    let mut stored: Vec<Credential> = Vec::with_capacity(accepted.len());
    for a in accepted {
        if let Some(twin) = existing
            .iter()
            .chain(&stored)
            .find(|c| is_same_source(&c.key, &a.key))
        {
            return Err(ManagementError::Conflict(match &a.key {
                CredentialKey::Uploaded(_) => format!(
                    "This public key is already registered for this application as credential {}",
                    twin.id
                ),
                CredentialKey::JwksUri(_) => format!(
                    "This jwks_uri is already registered for this application as credential {}",
                    twin.id
                ),
                CredentialKey::Federated(_) => format!(
                    "The same federated trust is already registered for this application as \
                     credential {}",
                    twin.id
                ),
            }));
        }
        if let Some((twin, kid)) = a.key.uploaded().and_then(|new| {
            existing
                .iter()
                .chain(&stored)
                .find(|c| c.key.uploaded().is_some_and(|k| k.kid == new.kid))
                .map(|twin| (twin, &new.kid))
        }) {
            return Err(ManagementError::Conflict(format!(
                "The kid {kid:?} is already used by credential {} of this application",
                twin.id
            )));
        }
        let c = Credential {
            id: new_credential_id(),
            client_id: client_id.to_owned(),
            name: a.name,
            key: a.key,
            expires_at: a.expires_at,
            associated,
            created_at: now,
            updated_at: now,
            last_used_at: None,
        };
        store::credentials::insert(conn, &c).await?;
        stored.push(c);
    }
    Ok(stored)
}

/// The same key, or the same key URL.
fn is_same_source(a: &CredentialKey, b: &CredentialKey) -> bool {
    match (a, b) {
        (CredentialKey::Uploaded(a), CredentialKey::Uploaded(b)) => a.thumbprint == b.thumbprint,
        (CredentialKey::JwksUri(a), CredentialKey::JwksUri(b)) => a == b,
        (CredentialKey::Federated(a), CredentialKey::Federated(b)) => a.identity() == b.identity(),
        _ => false,
    }
}

/// Uploads a credential. It is not enabled until the client lists it (BEHAVIOUR A.1).
pub async fn create(
    tenant: &Tenant,
    client_id: &str,
    upload: CredentialUpload,
    now: Millis,
) -> Result<Credential, ManagementError> {
    let accepted = upload.accept(now, "")?;
    check_key_url(tenant, &accepted, "").await?;
    let mut tx = tenant.store.begin().await?;
    if !store::clients::lock_for_update(&mut tx, client_id, now).await? {
        return Err(ManagementError::client_not_found());
    }
    let stored = insert_accepted(&mut tx, client_id, vec![accepted], false, now).await?;
    tenant.store.commit(tx).await?;
    fetch_new_key_sets(tenant, &stored).await;
    Ok(stored
        .into_iter()
        .next()
        .expect("one credential was stored"))
}

/// A `jwks_uri` must be one the server may fetch (BEHAVIOUR B.12): checked, with the addresses
/// its host resolves to now, before anything is stored and without any request to it.
pub(super) async fn check_key_url(
    tenant: &Tenant,
    accepted: &AcceptedCredential,
    prefix: &str,
) -> Result<(), ManagementError> {
    let (field, url) = match &accepted.key {
        CredentialKey::JwksUri(uri) => ("jwks_uri", uri.clone()),
        CredentialKey::Federated(rule) => match (&rule.keys, &rule.issuer) {
            (FederatedKeys::JwksUri(uri), _) => ("jwks_uri", uri.clone()),
            // The keys are found through the issuer's discovery document.
            (FederatedKeys::Discovery, Some(issuer)) => ("issuer", configuration_url(issuer)),
            _ => return Ok(()),
        },
        CredentialKey::Uploaded(_) => return Ok(()),
    };
    tenant
        .key_sets
        .check_new_url(&url)
        .await
        .map_err(|e| Invalid::found_in(field, e.to_string()).within(prefix))?;
    Ok(())
}

/// The first fetch of new `jwks_uri` credentials' sets, so that the answer shows at once what
/// was found (a failure is recorded on the credential, not refused: the host may come later).
pub(super) async fn fetch_new_key_sets(tenant: &Tenant, stored: &[Credential]) {
    for c in stored {
        match &c.key {
            CredentialKey::JwksUri(uri) => tenant.key_sets.fetch_now(&c.id, uri).await,
            CredentialKey::Federated(rule) => {
                let uri = match (&rule.keys, &rule.issuer) {
                    (FederatedKeys::JwksUri(uri), _) => Some(uri.clone()),
                    (FederatedKeys::Discovery, Some(issuer)) => {
                        tenant.key_sets.issuer_jwks_uri(issuer).await.ok()
                    }
                    _ => None,
                };
                if let Some(uri) = uri {
                    tenant.key_sets.fetch_now(&c.id, &uri).await;
                }
            }
            CredentialKey::Uploaded(_) => {}
        }
    }
}

/// The fetch state of each of the application's `jwks_uri` credentials.
pub async fn key_set_states(
    tenant: &Tenant,
    client_id: &str,
) -> Result<Vec<StoredKeySet>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    Ok(store::key_sets::for_client(&mut conn, client_id).await?)
}

async fn require_client(
    conn: &mut store::Conn,
    tenant: &Tenant,
    client_id: &str,
) -> Result<(), ManagementError> {
    store::clients::get(conn, &tenant.master_key, client_id)
        .await?
        .map(|_| ())
        .ok_or_else(ManagementError::client_not_found)
}

pub async fn list(tenant: &Tenant, client_id: &str) -> Result<Vec<Credential>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    require_client(&mut conn, tenant, client_id).await?;
    Ok(store::credentials::list(&mut conn, client_id).await?)
}

pub async fn get(
    tenant: &Tenant,
    client_id: &str,
    id: &str,
) -> Result<Credential, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    require_client(&mut conn, tenant, client_id).await?;
    store::credentials::get(&mut conn, client_id, id)
        .await?
        .ok_or_else(ManagementError::credential_not_found)
}

/// Sets or clears `expires_at`; a past instant is refused as on create (BEHAVIOUR B.11).
pub async fn update(
    tenant: &Tenant,
    client_id: &str,
    id: &str,
    patch: CredentialPatch,
    now: Millis,
) -> Result<Credential, ManagementError> {
    let expires_at = patch.expires_at.map(|at| at.resolve(now)).transpose()?;
    let mut tx = tenant.store.begin().await?;
    if !store::clients::lock_for_update(&mut tx, client_id, now).await? {
        return Err(ManagementError::client_not_found());
    }
    if !store::credentials::set_expires_at(&mut tx, client_id, id, expires_at, now).await? {
        return Err(ManagementError::credential_not_found());
    }
    let updated = store::credentials::get(&mut tx, client_id, id)
        .await?
        .ok_or_else(ManagementError::credential_not_found)?;
    tenant.store.commit(tx).await?;
    Ok(updated)
}

/// Deletes a credential that is not associated; an associated one is a 409 (BEHAVIOUR B.9).
pub async fn delete(
    tenant: &Tenant,
    client_id: &str,
    id: &str,
    now: Millis,
) -> Result<(), ManagementError> {
    let mut tx = tenant.store.begin().await?;
    if !store::clients::lock_for_update(&mut tx, client_id, now).await? {
        return Err(ManagementError::client_not_found());
    }
    let credential = store::credentials::get(&mut tx, client_id, id)
        .await?
        .ok_or_else(ManagementError::credential_not_found)?;
    if credential.associated {
        return Err(ManagementError::Conflict(
            "The credential is enabled for the application: remove it from the application's \
             client_authentication_methods first"
                .into(),
        ));
    }
    store::credentials::delete(&mut tx, client_id, id).await?;
    tenant.store.commit(tx).await?;
    Ok(())
}
