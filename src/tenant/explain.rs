//! Explaining an assertion for one application: its stored credentials, the tenant's issuer and
//! the server's audience option, handed to [`crate::oauth::assertion::explain`].
//!
//! Read-only by design: the `jti` is looked up, never recorded, so the assertion still works
//! afterwards; no audit event is written, no credential's `last_used_at` moves, and no rate
//! limit or token quota is counted. The assertion is neither stored nor logged.

use aws_lc_rs::signature::ParsedPublicKey;

use super::{ManagementError, Tenant};
use crate::domain::credential::CredentialKey;
use crate::oauth::assertion::explain::{self, Explanation, Input};
use crate::oauth::assertion::{CandidateKey, Expectations};
use crate::oauth::replay::ReplayGuard;
use crate::store;
use crate::time_util::Millis;

/// The explanation, and what it could not cover.
pub struct Explained {
    pub explanation: Explanation,
    /// Credentials whose keys are published at a URL (`jwks_uri`): their keys are not among
    /// those the explainer checks.
    pub key_url_credentials: Vec<String>,
}

/// Explains `input` as the token endpoint would judge it for `client_id` at `now`.
pub async fn explain(
    tenant: &Tenant,
    client_id: &str,
    input: Input<'_>,
    accept_legacy_audience: bool,
    replay: &ReplayGuard,
    now: Millis,
) -> Result<Explained, ManagementError> {
    let mut conn = tenant.store.acquire().await?;
    let client = store::clients::get(&mut conn, &tenant.master_key, client_id)
        .await?
        .ok_or_else(ManagementError::client_not_found)?;
    // Every credential, enabled or not: the explanation names the one a key belongs to.
    let credentials = store::credentials::list(&mut conn, client_id).await?;
    let mut keys = Vec::with_capacity(credentials.len());
    let mut key_url_credentials = Vec::new();
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
            CredentialKey::JwksUri(_) => key_url_credentials.push(c.id.clone()),
            // Platform tokens have their own explain route (BEHAVIOUR B.13).
            CredentialKey::Federated(_) => {}
        }
    }
    let candidates: Vec<CandidateKey<'_>> = keys
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
    let token_endpoint = tenant.issuer.token_endpoint();
    let expect = Expectations {
        client_id: &client.client_id,
        issuer: tenant.issuer.as_str(),
        token_endpoint: &token_endpoint,
        accept_legacy_audience,
        now: now.div_euclid(1000),
    };
    let mut explanation =
        explain::explain(input, &candidates, &expect, client.uses_private_key_jwt());
    if let Some(jti) = explanation.jti_to_look_up() {
        let used = replay.is_used(client_id, jti).await?;
        explanation.record_jti_use(used);
    }
    Ok(Explained {
        explanation,
        key_url_credentials,
    })
}
