//! Keys an application publishes at a `jwks_uri` (BEHAVIOUR B.12): fetched under the address
//! rules, kept per credential, refreshed when stale or when an assertion names a `kid` the set
//! does not hold — at most once a minute per credential, and by one request while the others
//! wait for its answer — and never fetched on the request path while a fresh set is held.
//!
//! The last good set survives failed fetches (and restarts: it is stored) for at most
//! [`MAX_STALE`] after it was fetched; a set that holds a private key is refused whole and
//! drops the set held before, since whoever published it has exposed a private key.

pub mod address;
pub mod discovery;
pub mod fetch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::ParsedPublicKey;

use crate::clock::SharedClock;
use crate::crypto::alg::AssertionAlg;
use crate::crypto::jwk;
use crate::store::key_sets::StoredKeySet;
use crate::store::{self, Store};
use crate::time_util::Millis;
use address::{KeyUrlPolicy, UrlRefused};

/// How long a set that can no longer be refreshed stays usable after it was fetched.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// Fewest seconds between two fetches of one credential's set that were not asked for by its
/// managers (an unknown `kid`, a stale set, a failed fetch being retried).
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A verified, parsed key set.
pub struct KeySet {
    /// One entry per key and algorithm it may verify: a key without `alg` fits every
    /// algorithm of its type.
    pub keys: Vec<SetKey>,
    /// The set's kids (a key without one is known by its RFC 7638 thumbprint).
    pub kids: Vec<String>,
    pub fetched_at: Millis,
    pub fresh_until: Millis,
    /// The set as served, kept to be stored.
    pub body: String,
}

pub struct SetKey {
    pub kid: String,
    pub alg: AssertionAlg,
    pub key: ParsedPublicKey,
}

impl KeySet {
    pub fn has_kid(&self, kid: &str) -> bool {
        self.kids.iter().any(|k| k == kid)
    }

    /// The keys an assertion may have been signed with: with a `kid`, every entry of that kid;
    /// without, the set's key for the header's algorithm only when it is the one the set holds
    /// (BEHAVIOUR B.5, B.12).
    pub fn keys_for(&self, kid: Option<&str>, alg: AssertionAlg) -> Vec<&SetKey> {
        match kid {
            Some(kid) => self.keys.iter().filter(|k| k.kid == kid).collect(),
            None => {
                let mut usable = self.keys.iter().filter(|k| k.alg == alg);
                match (usable.next(), usable.next()) {
                    (Some(only), None) => vec![only],
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Reads a served set under the same rules as an uploaded key (BEHAVIOUR B.8, B.12).
    pub fn parse(body: &[u8], fetched_at: Millis, fresh_until: Millis) -> Result<Self, SetRefused> {
        let body = std::str::from_utf8(body).map_err(|_| SetRefused {
            holds_private_key: false,
            message: "the response is not UTF-8 JSON".into(),
        })?;
        let parsed = jwk::parse_jwks(body.as_bytes()).map_err(|e| SetRefused {
            holds_private_key: matches!(e, jwk::JwksError::PrivateKey { .. }),
            message: e.to_string(),
        })?;
        let mut keys = Vec::new();
        let mut kids = Vec::new();
        for k in parsed {
            let kid = k.kid.clone().unwrap_or_else(|| k.key.thumbprint.clone());
            let algs: Vec<AssertionAlg> = match k.alg {
                Some(alg) => vec![alg],
                None => AssertionAlg::for_kind(k.key.kind).collect(),
            };
            for alg in algs {
                let key = ParsedPublicKey::new(alg.verification_algorithm(), &k.key.verifier_bytes)
                    .map_err(|_| SetRefused {
                        holds_private_key: false,
                        message: format!("the key {kid:?} cannot verify {alg}"),
                    })?;
                keys.push(SetKey {
                    kid: kid.clone(),
                    alg,
                    key,
                });
            }
            kids.push(kid);
        }
        Ok(Self {
            keys,
            kids,
            fetched_at,
            fresh_until,
            body: body.to_owned(),
        })
    }
}

/// Why a served set was not used.
#[derive(Debug, Clone)]
pub struct SetRefused {
    pub holds_private_key: bool,
    pub message: String,
}

/// What the token endpoint can use of a credential's set.
pub enum Lookup {
    /// A set, and why it may be out of date (the last fetch failed), for the audit event.
    Usable {
        set: Arc<KeySet>,
        warning: Option<String>,
    },
    /// No set within its age limit: why.
    Unavailable(String),
}

struct Entry {
    uri: String,
    state: Mutex<State>,
    /// Held by the one request fetching; the others wait for its answer.
    fetching: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

#[derive(Default)]
struct State {
    /// The stored state was read (once per entry).
    loaded: bool,
    set: Option<Arc<KeySet>>,
    attempted_at: Option<Millis>,
    /// Counts fetches, so that a request that waited for another's fetch uses its answer.
    attempts: u64,
    last_error: Option<String>,
    last_error_at: Option<Millis>,
}

/// The key sets of every `jwks_uri` credential this instance has used.
pub struct KeySets {
    store: Store,
    clock: SharedClock,
    policy: KeyUrlPolicy,
    http: reqwest::Client,
    entries: moka::sync::Cache<String, Arc<Entry>>,
    /// Issuers' discovered `jwks_uri`s, for federated credentials (BEHAVIOUR B.13).
    discovered: moka::sync::Cache<String, Arc<discovery::Discovered>>,
}

impl KeySets {
    pub fn new(store: Store, clock: SharedClock, policy: KeyUrlPolicy) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            policy,
            http: fetch::client(policy),
            // Unused entries go after a day: their sets are past MAX_STALE by then anyway.
            entries: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(MAX_STALE)
                .build(),
            discovered: moka::sync::Cache::builder()
                .max_capacity(1_000)
                .time_to_idle(MAX_STALE)
                .build(),
        })
    }

    pub fn policy(&self) -> KeyUrlPolicy {
        self.policy
    }

    /// The checks a new `jwks_uri` gets before it is stored: the URL rules, and every address
    /// its host resolves to now. No request is made to it.
    pub async fn check_new_url(&self, uri: &str) -> Result<(), UrlRefused> {
        let url = self.policy.check_url(uri)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let resolved =
            tokio::time::timeout(fetch::FETCH_TIMEOUT, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| UrlRefused::Unresolvable)?
                .map_err(|_| UrlRefused::Unresolvable)?;
        let mut any = false;
        for addr in resolved {
            self.policy.check_address(addr.ip())?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(UrlRefused::NoPublicAddress)
        }
    }

    /// The set to verify with, for the token endpoint. Fetches only when there is no usable
    /// set at all; a stale one is used while one background fetch replaces it.
    pub async fn lookup(self: &Arc<Self>, credential_id: &str, uri: &str) -> Lookup {
        let entry = self.entry(credential_id, uri).await;
        let now = self.clock.now();
        let (set, may_fetch) = {
            let s = lock(&entry.state);
            (s.set.clone(), self.may_fetch(&s, now))
        };
        match set {
            Some(set) if now < set.fresh_until => self.usable(&entry, set),
            Some(set) if now < set.fetched_at.saturating_add(millis(MAX_STALE)) => {
                if may_fetch && !entry.refreshing.swap(true, Ordering::AcqRel) {
                    let this = self.clone();
                    let (id, entry) = (credential_id.to_owned(), entry.clone());
                    tokio::spawn(async move {
                        this.fetch_once(&id, &entry, false).await;
                        entry.refreshing.store(false, Ordering::Release);
                    });
                }
                self.usable(&entry, set)
            }
            _ => {
                if may_fetch {
                    self.fetch_once(credential_id, &entry, false).await;
                }
                self.current(&entry)
            }
        }
    }

    /// The set this instance holds (or, before its first use here, the one last stored), as
    /// the token endpoint would use it, without fetching: for explaining an assertion, which
    /// must not change anything.
    pub async fn held(&self, credential_id: &str, uri: &str) -> Lookup {
        let entry = self.entry(credential_id, uri).await;
        self.current(&entry)
    }

    /// An assertion named a `kid` the held set lacks: fetch again, unless a fetch happened
    /// within [`REFETCH_INTERVAL`]; concurrent callers share one fetch.
    pub async fn refetch_for_unknown_kid(
        self: &Arc<Self>,
        credential_id: &str,
        uri: &str,
    ) -> Lookup {
        let entry = self.entry(credential_id, uri).await;
        self.fetch_once(credential_id, &entry, false).await;
        self.current(&entry)
    }

    /// Fetches now, whatever the throttle says: for a credential just created or on its
    /// managers' request. The outcome is stored, for the credential's view to show.
    pub async fn fetch_now(self: &Arc<Self>, credential_id: &str, uri: &str) {
        let entry = self.entry(credential_id, uri).await;
        self.fetch_once(credential_id, &entry, true).await;
    }

    /// The stored set of a credential whose key URL cannot be had now: an issuer's discovery
    /// document that has been down since this instance started (BEHAVIOUR B.13). A credential's
    /// issuer never changes, so its stored set came from that issuer; it is used within
    /// [`MAX_STALE`] of its fetch, as any held set.
    pub async fn stored_set(&self, credential_id: &str, why: &str) -> Lookup {
        let stored = match self.store.acquire().await {
            Ok(mut conn) => store::key_sets::get(&mut conn, credential_id).await,
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        let set = match stored {
            Ok(Some(StoredKeySet {
                body: Some(body),
                fetched_at: Some(fetched_at),
                fresh_until: Some(fresh_until),
                ..
            })) if now < fetched_at.saturating_add(millis(MAX_STALE)) => {
                KeySet::parse(body.as_bytes(), fetched_at, fresh_until).ok()
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(credential_id, error = %e, "cannot read the stored key set");
                None
            }
        };
        match set {
            Some(set) => Lookup::Usable {
                warning: Some(format!(
                    "used the key set fetched at {} because {why}",
                    crate::time_util::format_millis(set.fetched_at)
                )),
                set: Arc::new(set),
            },
            None => Lookup::Unavailable(why.to_owned()),
        }
    }

    fn usable(&self, entry: &Entry, set: Arc<KeySet>) -> Lookup {
        let s = lock(&entry.state);
        let warning = s.last_error.as_ref().map(|e| {
            format!(
                "used the key set fetched at {} because the last fetch failed: {e}",
                crate::time_util::format_millis(set.fetched_at)
            )
        });
        Lookup::Usable { set, warning }
    }

    fn current(&self, entry: &Entry) -> Lookup {
        let now = self.clock.now();
        let set = lock(&entry.state).set.clone();
        match set {
            Some(set) if now < set.fetched_at.saturating_add(millis(MAX_STALE)) => {
                self.usable(entry, set)
            }
            _ => Lookup::Unavailable(
                lock(&entry.state)
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "no key set has been fetched yet".into()),
            ),
        }
    }

    fn may_fetch(&self, s: &State, now: Millis) -> bool {
        s.attempted_at
            .is_none_or(|at| now >= at.saturating_add(millis(REFETCH_INTERVAL)))
    }

    async fn entry(&self, credential_id: &str, uri: &str) -> Arc<Entry> {
        let entry = match self.entries.get(credential_id) {
            Some(e) if e.uri == uri => e,
            _ => {
                let e = Arc::new(Entry {
                    uri: uri.to_owned(),
                    state: Mutex::new(State::default()),
                    fetching: tokio::sync::Mutex::new(()),
                    refreshing: AtomicBool::new(false),
                });
                self.entries.insert(credential_id.to_owned(), e.clone());
                e
            }
        };
        if !lock(&entry.state).loaded {
            self.load_stored(credential_id, &entry).await;
        }
        entry
    }

    /// Takes over what another instance (or this one before a restart) fetched last.
    async fn load_stored(&self, credential_id: &str, entry: &Entry) {
        let stored = match self.store.acquire().await {
            Ok(mut conn) => store::key_sets::get(&mut conn, credential_id).await,
            Err(e) => Err(e),
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(credential_id, error = %e, "cannot read the stored key set");
                return;
            }
        };
        let mut s = lock(&entry.state);
        if s.loaded {
            return;
        }
        s.loaded = true;
        let Some(stored) = stored else { return };
        s.attempted_at = Some(stored.attempted_at);
        s.last_error = stored.last_error;
        s.last_error_at = stored.last_error_at;
        if let (Some(body), Some(fetched_at), Some(fresh_until)) =
            (stored.body, stored.fetched_at, stored.fresh_until)
        {
            s.set = KeySet::parse(body.as_bytes(), fetched_at, fresh_until)
                .ok()
                .map(Arc::new);
        }
    }

    /// One fetch of the set, unless another finished while this caller waited for it, or (not
    /// `forced`) one happened within [`REFETCH_INTERVAL`].
    async fn fetch_once(&self, credential_id: &str, entry: &Entry, forced: bool) {
        let seen = lock(&entry.state).attempts;
        // A holder's fetch is bounded by FETCH_TIMEOUT; the margin covers writing its outcome.
        let Ok(_guard) =
            tokio::time::timeout(fetch::FETCH_TIMEOUT * 2, entry.fetching.lock()).await
        else {
            return;
        };
        {
            let s = lock(&entry.state);
            if s.attempts != seen || (!forced && !self.may_fetch(&s, self.clock.now())) {
                return;
            }
        }
        let outcome = match fetch::fetch(&self.http, self.policy, &entry.uri).await {
            Ok(fetched) => {
                let now = self.clock.now();
                let fresh_until = now.saturating_add(millis(fetched.fresh_for));
                let parsed = KeySet::parse(&fetched.body, now, fresh_until);
                crate::metrics::jwks_fetch(if parsed.is_ok() { "ok" } else { "invalid_set" });
                parsed
            }
            Err(e) => {
                crate::metrics::jwks_fetch(e.kind());
                Err(SetRefused {
                    holds_private_key: false,
                    message: e.to_string(),
                })
            }
        };
        let now = self.clock.now();
        let stored = {
            let mut s = lock(&entry.state);
            s.attempts += 1;
            s.attempted_at = Some(now);
            match outcome {
                Ok(set) => {
                    s.set = Some(Arc::new(set));
                    s.last_error = None;
                    s.last_error_at = None;
                }
                Err(refused) => {
                    tracing::warn!(credential_id, uri = %entry.uri, error = %refused.message,
                        "jwks_uri fetch failed");
                    if refused.holds_private_key {
                        s.set = None;
                    }
                    s.last_error = Some(refused.message);
                    s.last_error_at = Some(now);
                }
            }
            let set = s.set.as_ref();
            StoredKeySet {
                credential_id: credential_id.to_owned(),
                body: set.map(|s| s.body.clone()),
                kids: set.map(|s| s.kids.clone()).unwrap_or_default(),
                fetched_at: set.map(|s| s.fetched_at),
                fresh_until: set.map(|s| s.fresh_until),
                attempted_at: now,
                last_error: s.last_error.clone(),
                last_error_at: s.last_error_at,
            }
        };
        if let Err(e) = store::key_sets::save(self.store.pool(), &stored).await {
            tracing::warn!(credential_id, error = %e, "cannot store the key set's fetch state");
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, KeyPair as _};

    use super::*;
    use crate::crypto::public_key::parse_public_key_pem;

    const PUB: &str = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem");
    const KEY: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");

    fn body_of(jwks: serde_json::Value) -> Vec<u8> {
        jwks.to_string().into_bytes()
    }

    #[test]
    fn a_key_without_alg_verifies_each_algorithm_of_its_type_under_its_kid() {
        let mut jwk = jwk::public_jwk(&parse_public_key_pem(PUB).unwrap());
        jwk["kid"] = "key-a".into();
        let set = KeySet::parse(&body_of(serde_json::json!({"keys": [jwk]})), 0, 1).unwrap();
        assert_eq!(set.kids, ["key-a"]);
        let algs: Vec<_> = set.keys.iter().map(|k| k.alg).collect();
        assert_eq!(
            algs,
            [
                AssertionAlg::RS256,
                AssertionAlg::RS384,
                AssertionAlg::PS256
            ]
        );
        let der = pem::parse(KEY).unwrap();
        let pair = signature::RsaKeyPair::from_pkcs8(der.contents()).unwrap();
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"msg",
            &mut sig,
        )
        .unwrap();
        assert!(set.keys[0].key.verify_sig(b"msg", &sig).is_ok());
        assert!(set.keys[1].key.verify_sig(b"msg", &sig).is_err());
        let _ = pair.public_key();
    }

    #[test]
    fn an_assertion_without_kid_gets_a_key_only_when_the_set_holds_one_for_its_alg() {
        let jwk_of = |pem: &str, kid: &str| {
            let mut jwk = jwk::public_jwk(&parse_public_key_pem(pem).unwrap());
            jwk["kid"] = kid.into();
            jwk
        };
        let rsa3072 = include_str!("../../tests/fixtures/keys/rsa3072.pub.pem");
        let ec = include_str!("../../tests/fixtures/keys/ec-p256.pub.pem");
        let one = KeySet::parse(
            &body_of(serde_json::json!({"keys": [jwk_of(PUB, "a"), jwk_of(ec, "e")]})),
            0,
            1,
        )
        .unwrap();
        let kids = |keys: Vec<&SetKey>| {
            keys.iter()
                .map(|k| (k.kid.clone(), k.alg))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kids(one.keys_for(None, AssertionAlg::RS256)),
            [("a".into(), AssertionAlg::RS256)]
        );
        assert_eq!(
            kids(one.keys_for(None, AssertionAlg::ES256)),
            [("e".into(), AssertionAlg::ES256)]
        );
        assert_eq!(
            kids(one.keys_for(Some("e"), AssertionAlg::RS256)),
            [("e".into(), AssertionAlg::ES256)]
        );
        assert!(one.keys_for(Some("z"), AssertionAlg::RS256).is_empty());

        let two = KeySet::parse(
            &body_of(serde_json::json!({"keys": [jwk_of(PUB, "a"), jwk_of(rsa3072, "b")]})),
            0,
            1,
        )
        .unwrap();
        assert!(
            two.keys_for(None, AssertionAlg::RS256).is_empty(),
            "which one is ambiguous"
        );
        assert_eq!(
            two.keys_for(Some("b"), AssertionAlg::RS256).len(),
            3,
            "each alg of kid b"
        );
    }

    #[test]
    fn a_set_with_a_private_key_is_refused_as_such() {
        let mut jwk = jwk::public_jwk(&parse_public_key_pem(PUB).unwrap());
        jwk["d"] = "AQAB".into();
        let refused = KeySet::parse(&body_of(serde_json::json!({"keys": [jwk]})), 0, 1)
            .err()
            .unwrap();
        assert!(refused.holds_private_key);
        assert!(refused.message.contains("private"), "{}", refused.message);
    }
}
