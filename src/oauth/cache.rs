//! Token-path caches: a client with its parsed keys, and a client's grant for an audience. An
//! entry is valid only for the store generation it was loaded in, and the generation moves on
//! every committed change here and, through the shared change counter, on other instances
//! within one poll — so disassociated or deleted credentials stop working everywhere promptly.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::ParsedPublicKey;
use moka::sync::Cache;

use super::assertion::AssertionAlg;
use crate::crypto::sealing::MasterKey;
use crate::domain::client::Client;
use crate::domain::credential::{Credential, CredentialKey, UploadedKey};
use crate::domain::federated::{FederatedKeys, FederatedRule};
use crate::domain::token_quota::TokenQuota;
use crate::jwks_uri::{KeySet, KeySets};
use crate::store::{self, Store, StoreError};

/// A credential as the verifier needs it: the key parsed once.
pub struct CachedKey {
    pub credential_id: String,
    pub kid: String,
    pub alg: AssertionAlg,
    pub key: ParsedPublicKey,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Associated with the client. A disabled key never authenticates; it is kept so that a
    /// signature it verifies is refused under its own name (`credential_disabled`).
    pub enabled: bool,
}

/// A `jwks_uri` credential: its keys come from [`crate::jwks_uri::KeySets`].
pub struct KeyUrl {
    pub credential_id: String,
    pub uri: String,
    /// Unix seconds.
    pub expires_at: Option<i64>,
}

/// An enabled federated credential (BEHAVIOUR B.13).
pub struct FederatedTrust {
    pub credential_id: String,
    pub rule: FederatedRule,
    /// A static set, parsed once.
    pub static_set: Option<Arc<KeySet>>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
}

pub struct CachedClient {
    pub client: Client,
    pub keys: Vec<CachedKey>,
    pub key_urls: Vec<KeyUrl>,
    pub federated: Vec<FederatedTrust>,
}

fn unix_seconds(ms: Option<i64>) -> Option<i64> {
    ms.map(|ms| ms.div_euclid(1000))
}

fn cached_key(c: &Credential, uploaded: &UploadedKey) -> Result<CachedKey, StoreError> {
    let alg = uploaded.alg;
    let key = ParsedPublicKey::new(alg.verification_algorithm(), &uploaded.public_key)
        .map_err(|_| store::corrupt("credential public key", &c.id))?;
    Ok(CachedKey {
        credential_id: c.id.clone(),
        kid: uploaded.kid.clone(),
        alg,
        key,
        expires_at: unix_seconds(c.expires_at),
        enabled: c.associated,
    })
}

fn federated_trust(c: &Credential, rule: &FederatedRule) -> Result<FederatedTrust, StoreError> {
    let static_set = match &rule.keys {
        FederatedKeys::Static(body) => Some(Arc::new(
            KeySet::parse(body.as_bytes(), 0, i64::MAX)
                .map_err(|e| store::corrupt("federated credential key set", e.message))?,
        )),
        FederatedKeys::Discovery | FederatedKeys::JwksUri(_) => None,
    };
    Ok(FederatedTrust {
        credential_id: c.id.clone(),
        rule: rule.clone(),
        static_set,
        expires_at: unix_seconds(c.expires_at),
    })
}

type Stamped<T> = (u64, Arc<T>);

pub struct TokenCache {
    store: Store,
    master_key: Arc<MasterKey>,
    /// The sets of `jwks_uri` credentials, kept per credential (BEHAVIOUR B.12).
    pub key_sets: Arc<KeySets>,
    /// `None` entries remember unknown ids, so that a request naming an unknown client costs
    /// what one naming a known client costs (no database round trip for either), and a flood
    /// of made-up ids does not become a flood of queries.
    clients: Cache<String, (u64, Option<Arc<CachedClient>>)>,
    grants: Cache<(String, String), Stamped<Option<store::grants::TokenGrant>>>,
    default_quota: std::sync::Mutex<Option<(u64, Option<TokenQuota>)>>,
}

impl TokenCache {
    pub fn new(store: Store, master_key: Arc<MasterKey>, key_sets: Arc<KeySets>) -> Self {
        // The time limit is a backstop only; the generation check is what keeps entries fresh.
        let ttl = Duration::from_secs(300);
        Self {
            store,
            master_key,
            key_sets,
            clients: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            grants: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(ttl)
                .build(),
            default_quota: std::sync::Mutex::new(None),
        }
    }

    /// The tenant's `default_token_quota.clients.client_credentials`, if set.
    pub async fn default_token_quota(&self) -> Result<Option<TokenQuota>, StoreError> {
        let generation = self.store.generation();
        if let Some((stamp, quota)) = *self.default_quota.lock().unwrap_or_else(|p| p.into_inner())
            && stamp == generation
        {
            return Ok(quota);
        }
        let mut conn = self.store.acquire().await?;
        let quota = store::tenant_settings::default_client_quota(&mut conn).await?;
        *self.default_quota.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, quota));
        Ok(quota)
    }

    /// The client with its uploaded credentials' parsed keys (enabled or not; at most two,
    /// BEHAVIOUR A.1) and its associated `jwks_uri` credentials; `None` for an unknown client.
    /// Both answers hold for the store generation they were read in: a client created here is
    /// seen at once, one created on another instance within one poll of the change counter.
    pub async fn client(&self, client_id: &str) -> Result<Option<Arc<CachedClient>>, StoreError> {
        let generation = self.store.generation();
        if let Some((stamp, entry)) = self.clients.get(client_id)
            && stamp == generation
        {
            crate::metrics::cache_lookup(crate::metrics::Cache::Client, true);
            return Ok(entry);
        }
        crate::metrics::cache_lookup(crate::metrics::Cache::Client, false);
        let mut conn = self.store.acquire().await?;
        let Some(client) = store::clients::get(&mut conn, &self.master_key, client_id).await?
        else {
            self.clients
                .insert(client_id.to_owned(), (generation, None));
            return Ok(None);
        };
        let mut keys = Vec::new();
        let mut key_urls = Vec::new();
        let mut federated = Vec::new();
        if client.uses_private_key_jwt() {
            for c in store::credentials::list(&mut conn, client_id).await? {
                match &c.key {
                    CredentialKey::Uploaded(uploaded) => keys.push(cached_key(&c, uploaded)?),
                    // A disabled URL's keys would cost a fetch on the token path: not held.
                    CredentialKey::JwksUri(_) if !c.associated => {}
                    CredentialKey::JwksUri(uri) => key_urls.push(KeyUrl {
                        credential_id: c.id.clone(),
                        uri: uri.clone(),
                        expires_at: unix_seconds(c.expires_at),
                    }),
                    CredentialKey::Federated(_) if !c.associated => {}
                    CredentialKey::Federated(rule) => federated.push(federated_trust(&c, rule)?),
                }
            }
        }
        let entry = Arc::new(CachedClient {
            client,
            keys,
            key_urls,
            federated,
        });
        self.clients
            .insert(client_id.to_owned(), (generation, Some(entry.clone())));
        Ok(Some(entry))
    }

    /// The API and the client's grant for `audience` (`None`: no such API).
    pub async fn grant(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Arc<Option<store::grants::TokenGrant>>, StoreError> {
        let generation = self.store.generation();
        let key = (client_id.to_owned(), audience.to_owned());
        if let Some((stamp, entry)) = self.grants.get(&key)
            && stamp == generation
        {
            crate::metrics::cache_lookup(crate::metrics::Cache::Grant, true);
            return Ok(entry);
        }
        crate::metrics::cache_lookup(crate::metrics::Cache::Grant, false);
        let mut conn = self.store.acquire().await?;
        let entry = Arc::new(
            store::grants::for_token(&mut conn, &self.master_key, client_id, audience).await?,
        );
        self.grants.insert(key, (generation, entry.clone()));
        Ok(entry)
    }
}
