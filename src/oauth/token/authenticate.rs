//! Who the client is: a secret checked in constant time, or a Private Key JWT checked against
//! the application's enabled credentials (BEHAVIOUR A.6, B.1–B.5). Each refusal says who the
//! request claimed to be, so that its audit event lands where the application's owner looks.

use std::sync::Arc;

use super::super::OAuthError;
use super::super::assertion::{self, CandidateKey, Expectations, Rejection};
use super::super::cache::CachedClient;
use super::super::error::AuthFailure;
use super::shape::ClientAuth;
use super::{Caller, Refused, TokenIssuer, server_error};

/// A client that proved who it is.
pub(super) struct Authenticated {
    pub client: Arc<CachedClient>,
    pub caller: Caller,
    /// The assertion's `jti` and `exp`, consumed last (BEHAVIOUR B.6); `None` for a secret.
    pub assertion: Option<assertion::Verified>,
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
            assertion: None,
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
        let unverified = match assertion::inspect(text) {
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
        let candidates: Vec<CandidateKey<'_>> = client
            .keys
            .iter()
            .map(|k| CandidateKey {
                credential_id: &k.credential_id,
                kid: &k.kid,
                alg: k.alg,
                key: &k.key,
                expires_at: k.expires_at,
            })
            .collect();
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
                    assertion: Some(verified),
                })
            }
            Err(r) => {
                let (credential_id, error) = rejected(r);
                caller.credential_id = credential_id;
                Err(caller.refused(error))
            }
        }
    }

    /// The client named by a request, or `None`. A name that is not a client id at all is never
    /// looked up: it cannot exist, and as a lookup key it could hold anything.
    async fn known_client(&self, client_id: &str) -> Result<Option<Arc<CachedClient>>, OAuthError> {
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
    fn admit_client(&self, client_id: &str) -> Result<(), OAuthError> {
        self.limits
            .token_per_client
            .check(&client_id.to_owned())
            .map(|_| ())
            .map_err(OAuthError::TooManyRequests)
    }
}
