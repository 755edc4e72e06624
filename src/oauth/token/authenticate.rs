//! Who the client is: a secret checked in constant time, or a Private Key JWT checked against
//! the application's enabled credentials, its disabled and expired ones only naming a refusal
//! (BEHAVIOUR A.6, B.1–B.5). Each refusal says who the
//! request claimed to be, so that its audit event lands where the application's owner looks.

use std::sync::Arc;

use super::super::OAuthError;
use super::super::assertion::{self, CandidateKey, Expectations, Rejection};
use super::super::cache::CachedClient;
use super::super::error::AuthFailure;
use super::shape::ClientAuth;
use super::{Caller, Refused, TokenIssuer, server_error};
use crate::jwks_uri::{KeySet, Lookup};

/// A client that proved who it is.
pub(super) struct Authenticated {
    pub client: Arc<CachedClient>,
    pub caller: Caller,
    /// The credential that authenticated; `None` for a secret.
    pub proof: Option<Proof>,
}

/// What the replay check and `last_used_at` need of the credential that authenticated.
pub(super) struct Proof {
    pub credential_id: String,
    /// The `jti` to consume last and the `exp` it is kept until (BEHAVIOUR B.6); `None` for a
    /// federated token its credential lets be reused until it expires (BEHAVIOUR B.13).
    pub once: Option<(String, i64)>,
}

impl TokenIssuer {
    pub(super) async fn authenticate(
        &self,
        auth: ClientAuth,
        now: i64,
    ) -> Result<Authenticated, Refused> {
        match auth {
            ClientAuth::Secret {
                client_id,
                secret,
                basic,
            } => {
                let caller = Caller {
                    method: Some(if basic {
                        "client_secret_basic"
                    } else {
                        "client_secret_post"
                    }),
                    client_id: Some(client_id.clone()),
                    ..Caller::default()
                };
                self.authenticate_secret(&client_id, secret.expose(), basic, caller)
                    .await
            }
            ClientAuth::Assertion {
                assertion,
                client_id,
            } => {
                let caller = Caller {
                    method: Some("private_key_jwt"),
                    ..Caller::default()
                };
                self.authenticate_assertion(assertion.expose(), client_id.as_deref(), now, caller)
                    .await
            }
        }
    }

    async fn authenticate_secret(
        &self,
        client_id: &str,
        secret: &str,
        basic: bool,
        mut caller: Caller,
    ) -> Result<Authenticated, Refused> {
        let client = match self.known_client(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return Err(caller.refused(OAuthError::unauthenticated(
                    AuthFailure::UnknownClient,
                    basic,
                )));
            }
            Err(e) => return Err(caller.refused(e)),
        };
        if let Err(e) = self.admit_client(client_id) {
            return Err(caller.refused(e));
        }
        caller.client_name = Some(client.client.name.clone());
        let fail = |reason| OAuthError::unauthenticated(reason, basic);
        // Secret methods are interchangeable (post and basic carry the same secret); a client on
        // Private Key JWT or `none` cannot use its secret at all.
        if !client
            .client
            .token_endpoint_auth_method
            .is_some_and(|m| m.uses_secret())
        {
            return Err(caller.refused(fail(AuthFailure::AuthMethodNotAllowed)));
        }
        if !client.client.secret.matches(secret) {
            return Err(caller.refused(fail(AuthFailure::BadClientSecret)));
        }
        Ok(Authenticated {
            client,
            caller,
            proof: None,
        })
    }

    /// Shape and algorithm first, then the client and its keys, then the signature, then the
    /// claims (BEHAVIOUR A.6, B.1–B.5). The `jti` is handed back to be consumed last.
    async fn authenticate_assertion(
        &self,
        text: &str,
        body_client_id: Option<&str>,
        now: i64,
        mut caller: Caller,
    ) -> Result<Authenticated, Refused> {
        let rejected = |r: Rejection| {
            (
                r.credential_id().map(str::to_owned),
                OAuthError::unauthenticated(AuthFailure::Assertion(r.reason()), false),
            )
        };
        let inspected = assertion::inspect(text);
        // A token whose `iss` is not the named client may be a workload platform's, for a
        // client that trusts platforms (BEHAVIOUR B.13); a Private Key JWT assertion never
        // takes this turn, so its path costs nothing more.
        let own = match &inspected {
            Ok(u) => body_client_id.is_none_or(|id| id == u.issuer_claim()),
            // A Private Key JWT assertion that broke a rule is still refused as one.
            Err(_) => {
                body_client_id.is_none()
                    || assertion::claimed_issuer_for_log(text).as_deref() == body_client_id
            }
        };
        if !own
            && let Some(id) = body_client_id
            && let Ok(Some(client)) = self.known_client(id).await
            && !client.federated.is_empty()
        {
            return self.authenticate_federated(text, client, now, caller).await;
        }
        let unverified = match inspected {
            Ok(unverified) => unverified,
            Err(r) => {
                // Nothing in it can be trusted yet; the names are only for filing the refusal
                // where the application's owner will look for it.
                caller.client_id = body_client_id
                    .map(str::to_owned)
                    .or_else(|| assertion::claimed_issuer_for_log(text));
                let (credential_id, error) = rejected(r);
                caller.credential_id = credential_id;
                return Err(caller.refused(error));
            }
        };
        let claimed = unverified.issuer_claim();
        // The event belongs to the application whose key the assertion claims to be signed with.
        caller.client_id = Some(claimed.to_owned());
        let unauthenticated = |reason| OAuthError::unauthenticated(reason, false);
        if body_client_id.is_some_and(|id| id != claimed) {
            return Err(caller.refused(unauthenticated(AuthFailure::ClientIdMismatch)));
        }
        let client = match self.known_client(claimed).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(caller.refused(unauthenticated(AuthFailure::UnknownClient))),
            Err(e) => return Err(caller.refused(e)),
        };
        if let Err(e) = self.admit_client(claimed) {
            return Err(caller.refused(e));
        }
        caller.client_name = Some(client.client.name.clone());
        if !client.client.uses_private_key_jwt() {
            return Err(caller.refused(unauthenticated(AuthFailure::PrivateKeyJwtNotEnabled)));
        }
        let published = self.published_keys(&client, unverified.kid()).await;
        caller.key_set_warning = published.warning.clone();
        let mut candidates: Vec<CandidateKey<'_>> = client
            .keys
            .iter()
            .map(|k| CandidateKey {
                credential_id: &k.credential_id,
                kid: &k.kid,
                alg: k.alg,
                key: &k.key,
                expires_at: k.expires_at,
                enabled: k.enabled,
            })
            .collect();
        published.add_candidates(&client, &unverified, &mut candidates);
        let verified = assertion::verify(
            &unverified,
            &candidates,
            &Expectations {
                client_id: &client.client.client_id,
                issuer: self.issuer.as_str(),
                token_endpoint: &self.token_endpoint,
                accept_legacy_audience: self.accept_legacy_audience,
                now,
            },
        );
        drop(candidates);
        match verified {
            Ok(verified) => {
                caller.credential_id = Some(verified.credential_id.clone());
                caller.legacy_audience = verified.legacy_audience;
                Ok(Authenticated {
                    client,
                    caller,
                    proof: Some(Proof {
                        credential_id: verified.credential_id,
                        once: Some((verified.jti, verified.exp)),
                    }),
                })
            }
            Err(r) => {
                let (credential_id, error) = match published.explain(&client, &r) {
                    Some((credential_id, failure)) => {
                        (credential_id, OAuthError::unauthenticated(failure, false))
                    }
                    None => rejected(r),
                };
                caller.credential_id = credential_id;
                Err(caller.refused(error))
            }
        }
    }

    /// The keys of the client's `jwks_uri` credentials (BEHAVIOUR B.12). A `kid` that neither
    /// an uploaded key nor a held set knows makes each set be fetched again, within the
    /// fetcher's once-a-minute limit.
    async fn published_keys(&self, client: &CachedClient, kid: Option<&str>) -> PublishedKeys {
        let mut published = PublishedKeys::default();
        for (i, url) in client.key_urls.iter().enumerate() {
            let found = self
                .cache
                .key_sets
                .lookup(&url.credential_id, &url.uri)
                .await;
            published.take(i, &url.credential_id, found);
        }
        let unknown = kid.is_some_and(|kid| {
            !client.keys.iter().any(|k| k.kid == kid)
                && !published.sets.iter().any(|(_, set)| set.has_kid(kid))
        });
        if unknown && !client.key_urls.is_empty() {
            published = PublishedKeys::default();
            for (i, url) in client.key_urls.iter().enumerate() {
                let found = self
                    .cache
                    .key_sets
                    .refetch_for_unknown_kid(&url.credential_id, &url.uri)
                    .await;
                published.take(i, &url.credential_id, found);
            }
        }
        published
    }

    /// The client named by a request, or `None`. A name that is not a client id at all is never
    /// looked up: it cannot exist, and as a lookup key it could hold anything.
    pub(super) async fn known_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<CachedClient>>, OAuthError> {
        if crate::domain::client::validate_client_id(client_id).is_err() {
            return Ok(None);
        }
        self.cache
            .client(client_id)
            .await
            .map_err(|e| server_error(&e))
    }

    /// The per-client request limit (BEHAVIOUR C.1). Counted for clients that exist only:
    /// made-up ids can get nothing anyway (the address limits bound them), and a state per
    /// made-up id would let a flood of them fill memory.
    pub(super) fn admit_client(&self, client_id: &str) -> Result<(), OAuthError> {
        self.limits
            .token_per_client
            .check(&client_id.to_owned())
            .map(|_| ())
            .map_err(OAuthError::TooManyRequests)
    }
}

/// What the client's `jwks_uri` credentials offer one assertion.
#[derive(Default)]
struct PublishedKeys {
    /// Usable sets, by index into the client's `key_urls`.
    sets: Vec<(usize, Arc<KeySet>)>,
    /// A set was used although its last fetch failed, or none could be used: why.
    warning: Option<String>,
    /// The first credential without a usable set.
    unavailable: Option<String>,
}

impl PublishedKeys {
    fn take(&mut self, index: usize, credential_id: &str, found: Lookup) {
        match found {
            Lookup::Usable { set, warning } => {
                self.sets.push((index, set));
                if warning.is_some() {
                    self.warning = warning;
                }
            }
            Lookup::Unavailable(why) => {
                self.unavailable
                    .get_or_insert_with(|| credential_id.to_owned());
                self.warning = Some(format!("no usable key set: {why}"));
            }
        }
    }

    /// Each usable set's keys for the assertion ([`KeySet::keys_for`]).
    fn add_candidates<'k>(
        &'k self,
        client: &'k CachedClient,
        unverified: &assertion::Unverified<'_>,
        candidates: &mut Vec<CandidateKey<'k>>,
    ) {
        for (index, set) in &self.sets {
            let url = &client.key_urls[*index];
            let candidate = |k: &'k crate::jwks_uri::SetKey| CandidateKey {
                credential_id: &url.credential_id,
                kid: &k.kid,
                alg: k.alg,
                key: &k.key,
                expires_at: url.expires_at,
                enabled: true,
            };
            candidates.extend(
                set.keys_for(unverified.kid(), unverified.alg())
                    .into_iter()
                    .map(candidate),
            );
        }
    }

    /// The key-source failure behind a refusal that only says no key was found.
    fn explain(
        &self,
        client: &CachedClient,
        rejection: &Rejection,
    ) -> Option<(Option<String>, AuthFailure)> {
        if client.key_urls.is_empty() {
            return None;
        }
        let failure =
            AuthFailure::of_published_keys(rejection.reason(), self.unavailable.is_some())?;
        let credential_id = match failure {
            AuthFailure::JwksUnavailable => self.unavailable.clone(),
            _ => match client.key_urls.as_slice() {
                [only] => Some(only.credential_id.clone()),
                _ => None,
            },
        };
        Some((credential_id, failure))
    }
}
