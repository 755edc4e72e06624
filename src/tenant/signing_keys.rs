//! The tenant's access-token signing keys (BEHAVIOUR A.10): made at start, rotated and revoked
//! through the Management API and the dashboard, and the live view that every token is signed
//! and every Management API token verified with — on every instance, within a poll of a change.

use std::sync::{Arc, RwLock};

use crate::crypto::signing::{Certificate, KeyRing, SigningKey, SigningKeyError};
use crate::domain::signing_key::{self, KEY_VIEW_MAX_AGE, KeyState, Revocation, SigningKeyInfo};
use crate::store::signing_keys::{self as stored, NewRole, StoredKey};
use crate::store::{self, StoreError};
use crate::time_util::Millis;

use super::{ManagementError, Tenant};

/// The keys as one instance sees them at one store generation.
pub struct KeyView {
    generation: u64,
    pub ring: KeyRing,
    pub jwks: serde_json::Value,
}

/// The tenant's keys as this instance signs and verifies with them.
pub struct LiveKeys {
    tenant: Tenant,
    view: RwLock<Arc<KeyView>>,
    /// One reload at a time; the others wait for it and use what it read.
    reload: tokio::sync::Mutex<()>,
}

impl LiveKeys {
    /// Reads the keys [`ensure`] made sure exist.
    pub async fn load(tenant: &Tenant) -> Result<Self, StoreError> {
        let generation = tenant.store.generation();
        let view = read_view(tenant, generation, None).await?;
        Ok(Self {
            tenant: tenant.clone(),
            view: RwLock::new(Arc::new(view)),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The keys to sign or verify with now: this instance's view, read again first when the
    /// tenant's data changed since it was read (here or, through the change counter, anywhere)
    /// or when this instance has not heard of changes for longer than [`KEY_VIEW_MAX_AGE`].
    /// So a key another instance revoked is never used here (see `REVOKE_SETTLE`).
    pub async fn view(&self) -> Result<Arc<KeyView>, StoreError> {
        let view = self.cached();
        let store = &self.tenant.store;
        if view.generation == store.generation() && store.changes_seen_within(KEY_VIEW_MAX_AGE) {
            return Ok(view);
        }
        let _one = self.reload.lock().await;
        if !store.changes_seen_within(KEY_VIEW_MAX_AGE) {
            store.poll_changes().await?;
        }
        let generation = store.generation();
        let view = self.cached();
        if view.generation == generation {
            return Ok(view);
        }
        let fresh = Arc::new(read_view(&self.tenant, generation, Some(&view.ring)).await?);
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    /// The keys to publish: as [`LiveKeys::view`], but when the database cannot be reached the
    /// last keys read are published rather than nothing — public keys a few seconds stale harm
    /// no one, while an empty answer fails every verifier.
    /// While another request is reading the keys again, the last keys read are published at
    /// once: an unauthenticated endpoint must not queue behind a database that is slow to answer.
    pub async fn published(&self) -> Arc<KeyView> {
        if self.reload.try_lock().is_err() {
            return self.cached();
        }
        match self.view().await {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(error = %e, "signing keys could not be read; publishing the last ones read");
                self.cached()
            }
        }
    }

    /// Readiness: a current signing key was loaded. Reads only what is cached (the view is
    /// never empty once loaded), so a probe costs no key parsing.
    pub fn has_current(&self) -> bool {
        !self.cached().ring.current().kid().is_empty()
    }

    fn cached(&self) -> Arc<KeyView> {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Reads the published keys, reusing the keys `known` already parsed.
async fn read_view(
    tenant: &Tenant,
    generation: u64,
    known: Option<&KeyRing>,
) -> Result<KeyView, StoreError> {
    let mut conn = tenant.store.acquire().await?;
    let stored = stored::all(&mut conn).await?;
    drop(conn);
    let mut keys = Vec::new();
    for key in stored.iter().filter(|k| k.info.state != KeyState::Revoked) {
        match known.and_then(|ring| ring.shared(&key.info.kid)) {
            Some(parsed) => keys.push(parsed),
            None => keys.push(Arc::new(open(tenant, key)?)),
        }
    }
    let ring = KeyRing::from_shared(keys).ok_or_else(|| store::corrupt("signing keys", "none"))?;
    if ring.current().kid() != stored[0].info.kid || stored[0].info.state != KeyState::Current {
        return Err(store::corrupt("signing keys", "no current key"));
    }
    Ok(KeyView {
        generation,
        jwks: ring.jwks(),
        ring,
    })
}

fn open(tenant: &Tenant, key: &StoredKey) -> Result<SigningKey, StoreError> {
    let der = tenant
        .master_key
        .open(&key.sealed_private_key, &key_context(&key.info.kid))
        .map_err(|e| store::corrupt("signing key", e))?;
    let parsed = SigningKey::from_pkcs8(&der).map_err(|e| store::corrupt("signing key", e))?;
    if parsed.kid() != key.info.kid {
        return Err(store::corrupt("signing key", "kid does not match the key"));
    }
    Ok(match Certificate::from_pem(&key.info.cert_pem) {
        Some(cert) => parsed.with_certificate(cert),
        None => parsed,
    })
}

fn key_context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// A new key, its certificate and its sealed private half. RSA key generation takes tens of
/// milliseconds of CPU, so it runs off the async threads.
async fn generate(tenant: &Tenant, now: Millis) -> Result<(SigningKey, String), ManagementError> {
    let subject = certificate_subject(tenant);
    let (key, der) = tokio::task::spawn_blocking(move || {
        let (key, der) = SigningKey::generate()?;
        let cert = certificate(&der, &subject, now)?;
        Ok::<_, SigningKeyError>((key.with_certificate(cert), der))
    })
    .await
    .map_err(|e| ManagementError::Internal(store::corrupt("key generation", e)))?
    .map_err(|e| ManagementError::Internal(store::corrupt("key generation", e)))?;
    let sealed = tenant.master_key.seal(&der, &key_context(key.kid()));
    Ok((key, sealed))
}

/// The self-signed certificate of a key, valid from `now`.
fn certificate(der: &[u8], subject: &str, now: Millis) -> Result<Certificate, SigningKeyError> {
    let at = time::OffsetDateTime::from_unix_timestamp(now.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    SigningKey::self_signed_certificate(der, subject, at)
}

/// The certificates name the issuer's host, as Auth0's name the tenant's domain.
fn certificate_subject(tenant: &Tenant) -> String {
    url::Url::parse(tenant.issuer.as_str())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "signet".into())
}

fn cert_pem(key: &SigningKey) -> &str {
    key.certificate().map_or("", |c| c.pem.as_str())
}

/// At start: a current and a next key exist, and every published key has a certificate. Safe
/// when several servers start at once: each role is taken by exactly one key.
pub async fn ensure(tenant: &Tenant, now: Millis) -> Result<(), ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let keys = stored::all(&mut conn).await?;
    for role in [NewRole::Current, NewRole::Next] {
        let wanted = match role {
            NewRole::Current => KeyState::Current,
            NewRole::Next => KeyState::Next,
        };
        if !keys.iter().any(|k| k.info.state == wanted) {
            let (key, sealed) = generate(tenant, now).await?;
            stored::insert_if_vacant(&mut conn, key.kid(), &sealed, cert_pem(&key), role, now)
                .await?;
        }
    }
    for key in keys
        .iter()
        .filter(|k| k.info.cert_pem.is_empty() && k.info.state != KeyState::Revoked)
    {
        let der = tenant
            .master_key
            .open(&key.sealed_private_key, &key_context(&key.info.kid))
            .map_err(|e| ManagementError::Internal(store::corrupt("signing key", e)))?;
        let cert = certificate(&der, &certificate_subject(tenant), now)
            .map_err(|e| ManagementError::Internal(store::corrupt("signing key", e)))?;
        stored::set_cert_if_missing(&mut conn, &key.info.kid, &cert.pem).await?;
    }
    Ok(())
}

/// Every key, revoked ones included, current first.
pub async fn list(tenant: &Tenant) -> Result<Vec<SigningKeyInfo>, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    Ok(stored::all(&mut conn)
        .await?
        .into_iter()
        .map(|k| k.info)
        .collect())
}

pub async fn get(tenant: &Tenant, kid: &str) -> Result<SigningKeyInfo, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    stored::get(&mut conn, kid)
        .await?
        .map(|k| k.info)
        .ok_or_else(not_found)
}

fn not_found() -> ManagementError {
    ManagementError::NotFound {
        error_code: "inexistent_signing_key",
        message: "The signing key does not exist".into(),
    }
}

/// The next key becomes current, the current key previous, and a new next key is made.
/// Returns the new next key, as Auth0's rotation answers.
pub async fn rotate(tenant: &Tenant, now: Millis) -> Result<SigningKeyInfo, ManagementError> {
    let (key, sealed) = generate(tenant, now).await?;
    let mut tx = tenant.store.begin().await?;
    stored::lock(&mut tx).await?;
    stored::rotate(&mut tx, key.kid(), &sealed, cert_pem(&key), now).await?;
    tenant.store.commit(tx).await?;
    get(tenant, key.kid()).await
}

/// Revokes a previous key: it leaves the JWKS at once and its private half is wiped. Current
/// and next keys are refused; revoking a revoked key changes nothing. A key that stopped being
/// current moments ago is revoked once no instance can still be signing with it (at most
/// `REVOKE_SETTLE` after the rotation).
pub async fn revoke(
    tenant: &Tenant,
    kid: &str,
    now: Millis,
) -> Result<SigningKeyInfo, ManagementError> {
    let before = get(tenant, kid).await?;
    if signing_key::revocation(before.state).map_err(refused)? == Revocation::AlreadyRevoked {
        return Ok(before);
    }
    let wait = signing_key::revoke_wait(before.current_until, now);
    tokio::time::sleep(wait).await;
    let mut tx = tenant.store.begin().await?;
    stored::lock(&mut tx).await?;
    let key = stored::get(&mut tx, kid).await?.ok_or_else(not_found)?;
    if signing_key::revocation(key.info.state).map_err(refused)? == Revocation::Revoke {
        stored::revoke(&mut tx, kid, now + wait.as_millis() as Millis).await?;
    }
    tenant.store.commit(tx).await?;
    get(tenant, kid).await
}

fn refused(e: signing_key::RevokeRefused) -> ManagementError {
    ManagementError::NotAllowed(e.to_string())
}
