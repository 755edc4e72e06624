//! A workload platform's token as the client's proof (BEHAVIOUR B.13): the credentials of the
//! named client that trust the token's issuer, the issuer's keys (a static set, a `jwks_uri`,
//! or its OpenID discovery document), then the rules of `oauth::federated`. The token path
//! and the explain route run the same evaluation; only the token path consumes anything.

use std::sync::Arc;

use aws_lc_rs::digest;

use super::super::OAuthError;
use super::super::cache::{CachedClient, FederatedTrust};
use super::super::error::AuthFailure;
use super::super::federated::{
    self, Expectations, FederatedReason, IssuerKey, Refusal, Report, Verified,
};
use super::authenticate::{Authenticated, Proof};
use super::{Caller, Refused, TokenIssuer, server_error};
use crate::crypto::jwt::b64url;
use crate::domain::federated::{FederatedKeys, ReplayMode};
use crate::jwks_uri::{KeySet, Lookup};

/// How a token fared against the client's federated credentials.
struct Evaluation {
    outcome: Result<Accepted, Failed>,
    /// Each credential tried, with its checks.
    tried: Vec<(String, Report)>,
    /// Keys were used although their last fetch failed, or none could be had: why.
    warning: Option<String>,
}

struct Accepted {
    credential_id: String,
    issuer: String,
    verified: Verified,
    replay: ReplayMode,
}

struct Failed {
    credential_id: Option<String>,
    refusal: Refusal,
    /// Checks passed before the refusal: the credential that got furthest names the refusal.
    progress: usize,
}

/// One credential's checks, as the explain route shows them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FederatedCheck)]
pub struct Check {
    pub check: &'static str,
    pub passed: bool,
    pub note: String,
}

/// The explain route's answer: what the token endpoint would decide, and why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FederatedExplanation)]
pub struct Explanation {
    pub accepted: bool,
    /// The reason code the token endpoint would log; `null` when accepted.
    pub reason: Option<&'static str>,
    /// The credential that accepted the token, or that the refusal concerns.
    pub credential_id: Option<String>,
    /// The claim that did not match, and the value the credential expects.
    pub claim: Option<String>,
    pub expected: Option<String>,
    /// Each credential that trusts the token's issuer, with its checks in order.
    pub credentials: Vec<ExplainedCredential>,
    pub key_set_warning: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FederatedExplainedCredential)]
pub struct ExplainedCredential {
    pub credential_id: String,
    pub checks: Vec<Check>,
}

/// The replay store's key for a platform token's `jti`: the issuer's namespace and the `jti`,
/// hashed to a fixed length (a platform's `jti` may run to 255 characters).
fn replay_key(issuer: &str, jti: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(issuer.as_bytes());
    ctx.update(b"\n");
    ctx.update(jti.as_bytes());
    format!("fed:{}", b64url(ctx.finish().as_ref()))
}

impl TokenIssuer {
    /// The token endpoint's federated path; the `jti` (for `replay: once`) is consumed last
    /// by the caller, as a Private Key JWT assertion's.
    pub(super) async fn authenticate_federated(
        &self,
        text: &str,
        client: Arc<CachedClient>,
        now: i64,
        mut caller: Caller,
    ) -> Result<Authenticated, Refused> {
        caller.method = Some("federated");
        caller.client_id = Some(client.client.client_id.clone());
        caller.client_name = Some(client.client.name.clone());
        if let Err(e) = self.admit_client(&client.client.client_id) {
            return Err(caller.refused(e));
        }
        let evaluation = self.evaluate_federated(text, &client, now).await;
        caller.key_set_warning = evaluation.warning;
        match evaluation.outcome {
            Ok(accepted) => {
                caller.credential_id = Some(accepted.credential_id.clone());
                if accepted.replay == ReplayMode::ReuseUntilExpiry {
                    caller.replay_mode = Some(ReplayMode::ReuseUntilExpiry.as_str());
                }
                let exp = accepted.verified.exp;
                let once = accepted
                    .verified
                    .jti
                    .map(|jti| (replay_key(&accepted.issuer, &jti), exp));
                Ok(Authenticated {
                    client,
                    caller,
                    proof: Some(Proof {
                        credential_id: accepted.credential_id,
                        once,
                    }),
                })
            }
            Err(failed) => {
                caller.credential_id = failed.credential_id;
                caller.claim_mismatch = failed.refusal.claim;
                Err(caller.refused(OAuthError::unauthenticated(
                    AuthFailure::Federated(failed.refusal.reason),
                    false,
                )))
            }
        }
    }

    /// Every check the token endpoint would run on `token` for `client_id`, reported one by
    /// one; nothing is consumed or recorded (the `jti` is looked up, not spent).
    pub async fn explain_federated(
        &self,
        client_id: &str,
        token: &str,
        now: i64,
    ) -> Result<Option<Explanation>, OAuthError> {
        let Some(client) = self.known_client(client_id).await? else {
            return Ok(None);
        };
        let evaluation = self.evaluate_federated(token, &client, now).await;
        let mut credentials: Vec<ExplainedCredential> = evaluation
            .tried
            .into_iter()
            .map(|(credential_id, report)| ExplainedCredential {
                credential_id,
                checks: report
                    .steps
                    .into_iter()
                    .map(|(check, passed, note)| Check {
                        check,
                        passed,
                        note,
                    })
                    .collect(),
            })
            .collect();
        let mut explanation = Explanation {
            accepted: false,
            reason: None,
            credential_id: None,
            claim: None,
            expected: None,
            credentials: Vec::new(),
            key_set_warning: evaluation.warning,
        };
        match evaluation.outcome {
            Ok(accepted) => {
                let used = match &accepted.verified.jti {
                    Some(jti) => self
                        .replay
                        .is_used(client_id, &replay_key(&accepted.issuer, jti))
                        .await
                        .map_err(|e| server_error(&e))?,
                    None => false,
                };
                if let Some(c) = credentials
                    .iter_mut()
                    .find(|c| c.credential_id == accepted.credential_id)
                    && accepted.verified.jti.is_some()
                {
                    c.checks.push(Check {
                        check: "replay",
                        passed: !used,
                        note: if used {
                            "replay once: this token was already exchanged".into()
                        } else {
                            "replay once: not used yet (explaining does not use it)".into()
                        },
                    });
                }
                explanation.accepted = !used;
                explanation.reason = used.then_some(AuthFailure::Replayed.code());
                explanation.credential_id = Some(accepted.credential_id);
            }
            Err(failed) => {
                explanation.reason = Some(failed.refusal.reason.code());
                explanation.credential_id = failed.credential_id;
                if let Some((claim, expected)) = failed.refusal.claim {
                    explanation.claim = Some(claim);
                    explanation.expected = Some(expected);
                }
            }
        }
        explanation.credentials = credentials;
        Ok(Some(explanation))
    }

    /// Tries each enabled federated credential that trusts the token's issuer (at most two,
    /// BEHAVIOUR A.1); the first that accepts wins, else the one that got furthest names the
    /// refusal.
    async fn evaluate_federated(&self, text: &str, client: &CachedClient, now: i64) -> Evaluation {
        let mut evaluation = Evaluation {
            outcome: Err(Failed {
                credential_id: None,
                refusal: FederatedReason::IssuerNotTrusted.into(),
                progress: 0,
            }),
            tried: Vec::new(),
            warning: None,
        };
        let unverified = match federated::inspect(text) {
            Ok(unverified) => unverified,
            Err(reason) => {
                evaluation.outcome = Err(Failed {
                    credential_id: None,
                    refusal: reason.into(),
                    progress: 0,
                });
                return evaluation;
            }
        };
        let iss = unverified.issuer_claim();
        let expect = Expectations {
            default_audience: self.issuer.as_str(),
            now,
        };
        let mut best: Option<Failed> = None;
        for trust in client
            .federated
            .iter()
            .filter(|t| federated::trusts_issuer(&t.rule, iss))
        {
            let mut report = Report::default();
            let result = if trust.expires_at.is_some_and(|at| at <= now) {
                Err(Refusal::from(FederatedReason::CredentialExpired))
            } else {
                self.verify_with_issuer_keys(
                    &unverified,
                    trust,
                    &expect,
                    &mut report,
                    &mut evaluation.warning,
                )
                .await
            };
            match result {
                Ok(verified) => {
                    evaluation.tried.push((trust.credential_id.clone(), report));
                    evaluation.outcome = Ok(Accepted {
                        credential_id: trust.credential_id.clone(),
                        issuer: iss.unwrap_or_default().to_owned(),
                        verified,
                        replay: trust.rule.replay,
                    });
                    return evaluation;
                }
                Err(refusal) => {
                    let progress = report.steps.iter().filter(|s| s.1).count();
                    if best.as_ref().is_none_or(|b| progress > b.progress) {
                        best = Some(Failed {
                            credential_id: Some(trust.credential_id.clone()),
                            refusal,
                            progress,
                        });
                    }
                    evaluation.tried.push((trust.credential_id.clone(), report));
                }
            }
        }
        if let Some(best) = best {
            evaluation.outcome = Err(best);
        }
        evaluation
    }

    /// The signature and claims against the issuer's keys; an unknown `kid` makes a fetched
    /// set be fetched again, within the fetcher's once-a-minute limit.
    async fn verify_with_issuer_keys(
        &self,
        token: &federated::Unverified<'_>,
        trust: &FederatedTrust,
        expect: &Expectations<'_>,
        report: &mut Report,
        warning: &mut Option<String>,
    ) -> Result<Verified, Refusal> {
        let set = match self.issuer_keys(trust, false, warning).await {
            Ok(set) => set,
            Err(why) => {
                report.steps.push(("keys", false, why.clone()));
                *warning = Some(format!("no usable key set: {why}"));
                return Err(FederatedReason::KeysUnavailable.into());
            }
        };
        let result = verify_with(token, &set, trust, expect, report);
        let unknown_kid = matches!(&result, Err(r) if r.reason == FederatedReason::UnknownKid);
        if !unknown_kid || trust.static_set.is_some() {
            return result;
        }
        match self.issuer_keys(trust, true, warning).await {
            Ok(fresh) => {
                report.steps.clear();
                verify_with(token, &fresh, trust, expect, report)
            }
            Err(_) => result,
        }
    }

    async fn issuer_keys(
        &self,
        trust: &FederatedTrust,
        refetch: bool,
        warning: &mut Option<String>,
    ) -> Result<Arc<KeySet>, String> {
        let sets = &self.cache.key_sets;
        let uri = match &trust.rule.keys {
            FederatedKeys::Static(_) => {
                return trust
                    .static_set
                    .clone()
                    .ok_or_else(|| "the static key set could not be read".to_owned());
            }
            FederatedKeys::JwksUri(uri) => uri.clone(),
            FederatedKeys::Discovery => {
                let issuer =
                    trust.rule.issuer.as_deref().ok_or_else(|| {
                        "the credential names neither an issuer nor keys".to_owned()
                    })?;
                match sets.issuer_jwks_uri(issuer).await {
                    Ok(uri) => uri,
                    // Down since this instance started: the set stored before still serves.
                    Err(why) => {
                        return usable(sets.stored_set(&trust.credential_id, &why).await, warning);
                    }
                }
            }
        };
        let found = if refetch {
            sets.refetch_for_unknown_kid(&trust.credential_id, &uri)
                .await
        } else {
            sets.lookup(&trust.credential_id, &uri).await
        };
        usable(found, warning)
    }
}

/// The set a lookup found, noting why it may be out of date.
fn usable(found: Lookup, warning: &mut Option<String>) -> Result<Arc<KeySet>, String> {
    match found {
        Lookup::Usable { set, warning: w } => {
            if w.is_some() {
                *warning = w;
            }
            Ok(set)
        }
        Lookup::Unavailable(why) => Err(why),
    }
}

fn verify_with(
    token: &federated::Unverified<'_>,
    set: &KeySet,
    trust: &FederatedTrust,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<Verified, Refusal> {
    let keys: Vec<IssuerKey<'_>> = set
        .keys
        .iter()
        .map(|k| IssuerKey {
            kid: &k.kid,
            alg: k.alg,
            key: &k.key,
        })
        .collect();
    federated::verify(token, &keys, &trust.rule, expect, report)
}
