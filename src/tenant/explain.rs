//! Explaining an assertion for one application: its stored credentials, the key sets this server
//! holds for its `jwks_uri` credentials, the tenant's issuer and the server's audience option,
//! handed to [`crate::oauth::assertion::explain`].
//!
//! Read-only by design: the `jti` is looked up, never recorded, so the assertion still works
//! afterwards; no audit event is written, no credential's `last_used_at` moves, no rate limit
//! or token quota is counted, and no key set is fetched. The assertion is neither stored
//! nor logged.

use aws_lc_rs::signature::ParsedPublicKey;

use super::{ManagementError, Tenant};
use crate::domain::credential::CredentialKey;
use crate::jwks_uri::Lookup;
use crate::oauth::assertion::explain::{self, Explanation, Input};
use crate::oauth::assertion::{CandidateKey, Expectations};
use crate::oauth::replay::ReplayGuard;
use crate::store;
use crate::time_util::Millis;

/// The explanation, and what it could not cover.
pub struct Explained {
    pub explanation: Explanation,
    /// For each credential whose keys are published at a URL (`jwks_uri`): the set its keys
    /// were judged with, or why it had none.
    pub key_sets: Vec<KeySetUsed>,
}

/// What a `jwks_uri` credential contributed to the explanation.
pub struct KeySetUsed {
    pub credential_id: String,
    pub state: KeySetState,
}

pub enum KeySetState {
    /// The set judged with, when it was fetched, and why it may be out of date.
    Held {
        fetched_at: Millis,
        warning: Option<String>,
    },
    /// No usable set: why. The token endpoint would refuse with `jwks_unavailable`.
    Unavailable(String),
    /// A disabled credential's keys are not tried, at the token endpoint or here.
    Disabled,
}

/// Explains `input` as the token endpoint would judge it for `client_id` at `now`. Keys
/// published at a URL are those this server holds: explaining fetches nothing, where the token
/// endpoint would fetch a set again for a `kid` it lacks.
pub async fn explain(
    tenant: &Tenant,
    client_id: &str,
    input: Input<'_>,
    context: &Context<'_>,
    now: Millis,
) -> Result<Explained, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let client = store::clients::get(&mut conn, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)?;
    // Every credential, enabled or not: the explanation names the one a key belongs to.
    let credentials = store::credentials::list(&mut conn, client_id).await?;
    drop(conn);
    let mut keys = Vec::with_capacity(credentials.len());
    let mut sets = Vec::new();
    let mut key_sets = Vec::new();
    for c in &credentials {
        match &c.key {
            CredentialKey::Uploaded(uploaded) => {
                let key = ParsedPublicKey::new(
                    uploaded.alg.verification_algorithm(),
                    &uploaded.public_key,
                )
                .map_err(|_| store::corrupt("credential public key", &c.id))?;
                keys.push((c, uploaded, key));
            }
            CredentialKey::JwksUri(_) if !c.associated => key_sets.push(KeySetUsed {
                credential_id: c.id.clone(),
                state: KeySetState::Disabled,
            }),
            CredentialKey::JwksUri(uri) => {
                let state = match tenant.key_sets.held(&c.id, uri).await {
                    Lookup::Usable { set, warning } => {
                        let fetched_at = set.fetched_at;
                        sets.push((c, set));
                        KeySetState::Held {
                            fetched_at,
                            warning,
                        }
                    }
                    Lookup::Unavailable(why) => KeySetState::Unavailable(why),
                };
                key_sets.push(KeySetUsed {
                    credential_id: c.id.clone(),
                    state,
                });
            }
            // Platform tokens have their own explain route (BEHAVIOUR B.13).
            CredentialKey::Federated(_) => {}
        }
    }
    let mut candidates: Vec<CandidateKey<'_>> = keys
        .iter()
        .map(|(c, uploaded, key)| CandidateKey {
            credential_id: &c.id,
            kid: &uploaded.kid,
            alg: uploaded.alg,
            key,
            expires_at: c.expires_at.map(|ms| ms.div_euclid(1000)),
            enabled: c.associated,
        })
        .collect();
    if let Some((kid, alg)) = explain::key_hints(input) {
        for (c, set) in &sets {
            candidates.extend(set.keys_for(kid.as_deref(), alg).into_iter().map(|k| {
                CandidateKey {
                    credential_id: &c.id,
                    kid: &k.kid,
                    alg: k.alg,
                    key: &k.key,
                    expires_at: c.expires_at.map(|ms| ms.div_euclid(1000)),
                    // Disabled credentials' sets were set aside above, as the token path does.
                    enabled: true,
                }
            }));
        }
    }
    let token_endpoint = tenant.issuer.token_endpoint();
    let expect = Expectations {
        client_id: &client.client_id,
        issuer: tenant.issuer.as_str(),
        token_endpoint: &token_endpoint,
        accept_legacy_audience: context.accept_legacy_audience,
        now: now.div_euclid(1000),
    };
    let mut explanation =
        explain::explain(input, &candidates, &expect, client.uses_private_key_jwt());
    // Worded as the token endpoint words a key not found for an application that publishes
    // keys at a URL.
    let enabled_urls = || {
        key_sets
            .iter()
            .filter(|k| !matches!(k.state, KeySetState::Disabled))
    };
    if client.uses_private_key_jwt() && enabled_urls().next().is_some() {
        let unavailable = enabled_urls().any(|k| matches!(k.state, KeySetState::Unavailable(_)));
        explanation.blame_key_source(unavailable);
    }
    if let Some(jti) = explanation.jti_to_look_up() {
        let used = context.replay.is_used(client_id, jti).await?;
        explanation.record_jti_use(used);
    }
    Ok(Explained {
        explanation,
        key_sets,
    })
}

/// What the token endpoint's judgement depends on besides the tenant's data.
pub struct Context<'a> {
    pub accept_legacy_audience: bool,
    pub replay: &'a ReplayGuard,
}
