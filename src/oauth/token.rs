//! `POST /oauth/token` for the client credentials grant: authenticate the client (secret or
//! Private Key JWT), check its grant for the audience, consume the assertion's `jti` last, sign
//! the access token, and record the outcome in the audit log.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::OAuthError;
use super::access_token::AccessClaims;
use super::assertion::{self, CandidateKey, Expectations, Rejection};
use super::cache::{CachedClient, TokenCache};
use super::quota::{Admitted, QuotaCounter};
use super::replay::{ReplayGuard, used_jti};
use super::request::TokenParams;
use crate::audit::{self, AuditLog, Entry};
use crate::crypto::random;
use crate::crypto::signing::KeyRing;
use crate::domain::grant::token_scopes;
use crate::domain::issuer::Issuer;
use crate::domain::token_quota::{self, BucketState};
use crate::rate_limit::{AddressKey, RateLimiters};
use crate::store::{self, Store};
use crate::time_util::Millis;

pub const ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token request as the HTTP layer hands it over.
#[derive(Debug)]
pub struct TokenRequest {
    pub params: TokenParams,
    /// Client id and secret from an HTTP Basic header.
    pub basic: Option<(String, String)>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// An issued token, and the state of the application's token quota if one applies (for
/// Auth0's `Auth0-Client-Quota-Limit` header).
#[derive(Debug, PartialEq, Eq)]
pub struct Issued {
    pub response: TokenResponse,
    pub quota: Vec<BucketState>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub token_type: &'static str,
}

/// How the client proved who it is (shape only; nothing verified yet).
enum ClientAuth {
    Secret {
        client_id: String,
        secret: String,
        basic: bool,
    },
    Assertion {
        assertion: String,
        client_id: Option<String>,
    },
}

/// What is known about an attempt, for its audit event.
#[derive(Default)]
struct Attempt {
    client_id: Option<String>,
    client_name: Option<String>,
    method: Option<&'static str>,
    credential_id: Option<String>,
    legacy_audience: bool,
    /// Shares of the application's token quota this token reached (for warning events).
    quota_warnings: Vec<(BucketState, u8)>,
}

pub struct TokenIssuer {
    pub issuer: Issuer,
    pub token_endpoint: String,
    pub accept_legacy_audience: bool,
    pub keys: Arc<KeyRing>,
    pub store: Store,
    pub cache: TokenCache,
    pub audit: Arc<AuditLog>,
    pub replay: ReplayGuard,
    pub limits: Arc<RateLimiters>,
    pub quotas: QuotaCounter,
    /// Credentials whose `last_used_at` was written within the last minute.
    pub recently_used: moka::sync::Cache<String, ()>,
}

impl TokenIssuer {
    pub fn new(
        issuer: Issuer,
        accept_legacy_audience: bool,
        keys: Arc<KeyRing>,
        store: Store,
        cache: TokenCache,
        audit: Arc<AuditLog>,
        limits: Arc<RateLimiters>,
    ) -> Self {
        Self {
            quotas: QuotaCounter::new(store.clone()),
            limits,
            token_endpoint: issuer.token_endpoint(),
            issuer,
            accept_legacy_audience,
            keys,
            // The writer stops by itself once the issuer (its only handle) is dropped.
            replay: ReplayGuard::spawn(store.clone()).0,
            store,
            cache,
            audit,
            recently_used: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// The first step of every token request, before its body is read: a source address over
    /// its request limit, or one that has spent its failure budget, is refused at once.
    pub fn admit_source(
        &self,
        ip: IpAddr,
        user_agent: Option<&str>,
        now_ms: Millis,
    ) -> Result<(), OAuthError> {
        let key = AddressKey::from(ip);
        let refused = self
            .limits
            .token_failures_per_address
            .check(&key)
            .and_then(|()| self.limits.token_per_address.check(&key).map(|_| ()));
        let Err(exceeded) = refused else {
            return Ok(());
        };
        // Identical refusals from one address are counted into one event a window.
        self.audit.record(
            Entry {
                kind: audit::RATE_LIMITED,
                description: "Too many requests to the token endpoint from this address".into(),
                ip: Some(ip.to_string()),
                user_agent: user_agent.map(str::to_owned),
                details: json!({"limit": exceeded.limit, "endpoint": "/oauth/token"}),
                ..Entry::default()
            },
            now_ms,
        );
        Err(OAuthError::TooManyRequests(exceeded))
    }

    /// Spends one failure of the source address's budget when `e` is the caller's fault (a
    /// refusal by a limit is not: it spent nothing).
    pub fn note_outcome(&self, ip: IpAddr, e: &OAuthError) {
        if e.is_callers_failure() {
            self.limits
                .token_failures_per_address
                .failed(&AddressKey::from(ip));
        }
    }

    pub async fn issue(&self, req: TokenRequest, now_ms: Millis) -> Result<Issued, OAuthError> {
        let mut attempt = Attempt::default();
        let audience = req.params.audience.clone();
        let (ip, user_agent) = (req.ip.map(|ip| ip.to_string()), req.user_agent.clone());
        let result = self.run(req, now_ms, &mut attempt).await;
        let details = match &result {
            Ok(_) => json!({"auth_method": attempt.method, "credential_id": attempt.credential_id,
                            "legacy_assertion_audience": attempt.legacy_audience}),
            Err(e) => failure_details(e, &attempt),
        };
        let (kind, description, scope) = match &result {
            Ok(r) => (
                audit::SUCCESS,
                "Client Credentials for Access Token".to_owned(),
                r.response.scope.clone(),
            ),
            Err(e) => (audit::FAILURE, public_description(e), None),
        };
        if attempt.legacy_audience {
            tracing::warn!(client_id = ?attempt.client_id, "assertion accepted with a legacy audience");
        }
        for (state, pct) in &attempt.quota_warnings {
            self.audit.record(
                Entry {
                    kind: audit::QUOTA_WARNING,
                    description: format!(
                        "{pct}% of client {} quota consumed",
                        state.bucket.as_str()
                    ),
                    client_id: attempt.client_id.clone(),
                    client_name: attempt.client_name.clone(),
                    details: json!({
                        "bucket": state.bucket.as_str(),
                        "entity_type": "client",
                        "entity_id": attempt.client_id,
                        "quota": state.quota,
                        "quota_consumption_percentage": pct,
                        "quota_consumption": state.used,
                    }),
                    ..Entry::default()
                },
                now_ms,
            );
        }
        self.audit.record(
            Entry {
                kind,
                description,
                client_id: attempt.client_id,
                client_name: attempt.client_name,
                audience,
                scope,
                ip,
                user_agent,
                details,
            },
            now_ms,
        );
        result
    }

    async fn run(
        &self,
        req: TokenRequest,
        now_ms: Millis,
        attempt: &mut Attempt,
    ) -> Result<Issued, OAuthError> {
        let now = now_ms.div_euclid(1000);
        let TokenRequest { params, basic, .. } = req;
        let grant_type = params
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: grant_type"))?;
        if grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "Unsupported grant type: {grant_type}"
            )));
        }
        let auth = client_auth(&params, basic)?;
        let audience = params
            .audience
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: audience"))?;

        let (client, pending_jti) = match auth {
            ClientAuth::Secret {
                client_id,
                secret,
                basic,
            } => {
                attempt.method = Some(if basic {
                    "client_secret_basic"
                } else {
                    "client_secret_post"
                });
                attempt.client_id = Some(client_id.clone());
                (
                    self.authenticate_secret(&client_id, &secret, basic, attempt)
                        .await?,
                    None,
                )
            }
            ClientAuth::Assertion {
                assertion,
                client_id,
            } => {
                attempt.method = Some("private_key_jwt");
                let (client, verified) = self
                    .authenticate_assertion(&assertion, client_id.as_deref(), now, attempt)
                    .await?;
                (client, Some(verified))
            }
        };
        attempt.client_name = Some(client.client.name.clone());
        if !client.client.may_use_client_credentials() {
            return Err(OAuthError::UnauthorizedClient(
                "Grant type 'client_credentials' not allowed for the client.".into(),
            ));
        }
        let grant = self
            .cache
            .grant(&client.client.client_id, audience)
            .await
            .map_err(|e| server_error(&e))?;
        let grant = grant
            .as_ref()
            .as_ref()
            .ok_or_else(|| OAuthError::AccessDenied(format!("Service not found: {audience}")))?;
        let granted = grant.granted.as_ref().ok_or_else(|| {
            OAuthError::AccessDenied(format!(
                "Client is not authorized to access \"{audience}\". You need to create a \
                 \"client-grant\" associated to this API."
            ))
        })?;
        let scopes = token_scopes(&grant.api_scopes, granted, params.scope.as_deref()).map_err(
            |missing| {
                OAuthError::AccessDenied(format!(
                    "Client has not been granted scopes: {}",
                    missing.join(", ")
                ))
            },
        )?;

        // The token quota counts only tokens that would otherwise be issued.
        let admitted = self.admit_quota(&client, now_ms).await?;
        attempt.quota_warnings = admitted
            .as_ref()
            .map(|a| a.warnings.clone())
            .unwrap_or_default();

        // SPEC B.6: the jti is consumed only after every other check passed, so a forged or
        // misdirected assertion cannot burn a legitimate one.
        if let Some(v) = &pending_jti {
            let consumed = self
                .replay
                .consume(used_jti(
                    client.client.client_id.clone(),
                    v.jti.clone(),
                    v.exp,
                    now_ms,
                ))
                .await;
            let refusal = match consumed {
                Ok(true) => None,
                Ok(false) => Some(OAuthError::InvalidClient {
                    reason: "replayed",
                    basic: false,
                }),
                Err(e) => Some(server_error(&e)),
            };
            if let Some(refusal) = refusal {
                if let Some(a) = &admitted {
                    self.quotas.release(&client.client.client_id, a, now_ms);
                    attempt.quota_warnings.clear();
                }
                return Err(refusal);
            }
            self.note_use(&v.credential_id, now_ms);
        }

        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        let claims = AccessClaims {
            iss: self.issuer.as_str().to_owned(),
            sub: format!("{}@clients", client.client.client_id),
            aud: audience.to_owned(),
            iat: now,
            exp: now + grant.token_lifetime,
            jti: random::base64url(16),
            scope: scope.clone(),
            gty: "client-credentials".into(),
            azp: client.client.client_id.clone(),
        };
        Ok(Issued {
            response: TokenResponse {
                access_token: self.keys.current().sign_jwt(&claims),
                scope,
                expires_in: grant.token_lifetime,
                token_type: "Bearer",
            },
            quota: admitted.map(|a| a.states).unwrap_or_default(),
        })
    }

    /// Counts the token against the application's quota (its own, or the tenant's default).
    async fn admit_quota(
        &self,
        client: &CachedClient,
        now_ms: Millis,
    ) -> Result<Option<Admitted>, OAuthError> {
        let default = self
            .cache
            .default_token_quota()
            .await
            .map_err(|e| server_error(&e))?;
        let Some(quota) = token_quota::effective(client.client.token_quota, default) else {
            return Ok(None);
        };
        match self
            .quotas
            .admit(&client.client.client_id, &quota, now_ms)
            .await
            .map_err(|e| server_error(&e))?
        {
            Ok(admitted) => Ok(Some(admitted)),
            Err(exceeded) => Err(OAuthError::QuotaExceeded(exceeded)),
        }
    }

    /// The per-client request limit. Counted for clients that exist only: made-up ids can get
    /// nothing anyway (the address limits bound them), and a state per made-up id would let a
    /// flood of them fill memory.
    fn admit_client(&self, client_id: &str) -> Result<(), OAuthError> {
        self.limits
            .token_per_client
            .check(&client_id.to_owned())
            .map(|_| ())
            .map_err(OAuthError::TooManyRequests)
    }

    async fn authenticate_secret(
        &self,
        client_id: &str,
        secret: &str,
        basic: bool,
        attempt: &mut Attempt,
    ) -> Result<Arc<CachedClient>, OAuthError> {
        let fail = |reason: &'static str| OAuthError::InvalidClient { reason, basic };
        let client = self
            .known_client(client_id)
            .await?
            .ok_or_else(|| fail("unknown_client"))?;
        self.admit_client(client_id)?;
        attempt.client_name = Some(client.client.name.clone());
        // Secret methods are interchangeable (post and basic carry the same secret); a client on
        // Private Key JWT or `none` cannot use its secret at all.
        if !client
            .client
            .token_endpoint_auth_method
            .is_some_and(|m| m.uses_secret())
        {
            return Err(fail("auth_method_not_allowed"));
        }
        if !client.client.secret.matches(secret) {
            return Err(fail("bad_client_secret"));
        }
        Ok(client)
    }

    /// SPEC A.6, B.1–B.5: shape and algorithm first, then the client and its keys, then the
    /// signature, then the claims. The jti is returned for the caller to consume last.
    async fn authenticate_assertion(
        &self,
        assertion: &str,
        body_client_id: Option<&str>,
        now: i64,
        attempt: &mut Attempt,
    ) -> Result<(Arc<CachedClient>, assertion::Verified), OAuthError> {
        let reject = |r: Rejection, attempt: &mut Attempt| {
            attempt.credential_id = r.credential_id().map(str::to_owned);
            OAuthError::InvalidClient {
                reason: r.reason().code(),
                basic: false,
            }
        };
        let unverified = assertion::inspect(assertion).map_err(|r| {
            // Nothing in it can be trusted yet; the names are only for filing the refusal
            // where the application's owner will look for it.
            attempt.client_id = body_client_id
                .map(str::to_owned)
                .or_else(|| assertion::claimed_issuer_for_log(assertion));
            reject(r, attempt)
        })?;
        let claimed = unverified.issuer_claim();
        // The event belongs to the application whose key the assertion claims to be signed with.
        attempt.client_id = Some(claimed.to_owned());
        if body_client_id.is_some_and(|id| id != claimed) {
            return Err(OAuthError::InvalidClient {
                reason: "client_id_mismatch",
                basic: false,
            });
        }
        let client = self
            .known_client(claimed)
            .await?
            .ok_or(OAuthError::InvalidClient {
                reason: "unknown_client",
                basic: false,
            })?;
        self.admit_client(claimed)?;
        attempt.client_name = Some(client.client.name.clone());
        if !client.client.uses_private_key_jwt() {
            return Err(OAuthError::InvalidClient {
                reason: "private_key_jwt_not_enabled",
                basic: false,
            });
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
        )
        .map_err(|r| reject(r, attempt))?;
        attempt.credential_id = Some(verified.credential_id.clone());
        attempt.legacy_audience = verified.legacy_audience;
        drop(candidates);
        Ok((client, verified))
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

    /// `last_used_at` is written at most once a minute per credential, off the request path.
    fn note_use(&self, credential_id: &str, now_ms: Millis) {
        if self.recently_used.contains_key(credential_id) {
            return;
        }
        self.recently_used.insert(credential_id.to_owned(), ());
        let store = self.store.clone();
        let id = credential_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store::credentials::set_last_used(store.pool(), &id, now_ms).await {
                tracing::warn!(error = %e, credential_id = %id, "could not record credential use");
            }
        });
    }
}

fn server_error(e: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint storage failure");
    OAuthError::ServerError
}

/// The description the caller also saw; authentication failures carry no detail (SPEC B.7).
fn public_description(e: &OAuthError) -> String {
    match e {
        OAuthError::InvalidClient { .. } => "Client authentication failed".into(),
        OAuthError::InvalidRequest(m)
        | OAuthError::UnsupportedGrantType(m)
        | OAuthError::UnauthorizedClient(m)
        | OAuthError::AccessDenied(m) => m.clone(),
        OAuthError::PayloadTooLarge => "The request body is too large".into(),
        OAuthError::TooManyRequests(_) => "Too many requests".into(),
        OAuthError::QuotaExceeded(_) => "Client quota exceeded".into(),
        OAuthError::ServerError => "Internal error".into(),
    }
}

fn failure_details(e: &OAuthError, attempt: &Attempt) -> serde_json::Value {
    let error = match e {
        OAuthError::InvalidRequest(_) | OAuthError::PayloadTooLarge => "invalid_request",
        OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
        OAuthError::InvalidClient { .. } => "invalid_client",
        OAuthError::UnauthorizedClient(_) => "unauthorized_client",
        OAuthError::AccessDenied(_) => "access_denied",
        OAuthError::TooManyRequests(_) | OAuthError::QuotaExceeded(_) => "too_many_requests",
        OAuthError::ServerError => "server_error",
    };
    let mut details = json!({"error": error, "auth_method": attempt.method});
    if let OAuthError::InvalidClient { reason, .. } = e {
        details["client_authentication_error"] = json!({
            "code": reason,
            "credential_id": attempt.credential_id,
        });
    }
    details
}

/// Exactly one client authentication method per request (SPEC B.3).
fn client_auth(
    params: &TokenParams,
    basic: Option<(String, String)>,
) -> Result<ClientAuth, OAuthError> {
    let uses_assertion =
        params.client_assertion.is_some() || params.client_assertion_type.is_some();
    let methods = usize::from(basic.is_some())
        + usize::from(params.client_secret.is_some())
        + usize::from(uses_assertion);
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "Only one client authentication method may be used per request",
        ));
    }
    if let Some((client_id, secret)) = basic {
        if params.client_id.as_ref().is_some_and(|id| *id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body does not match the Authorization header",
            ));
        }
        return Ok(ClientAuth::Secret {
            client_id,
            secret,
            basic: true,
        });
    }
    if uses_assertion {
        match params.client_assertion_type.as_deref() {
            Some(ASSERTION_TYPE_JWT_BEARER) => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "Unsupported client_assertion_type",
                ));
            }
            None => {
                return Err(OAuthError::invalid_request(
                    "Missing required parameter: client_assertion_type",
                ));
            }
        }
        let assertion = params.client_assertion.clone().ok_or_else(|| {
            OAuthError::invalid_request("Missing required parameter: client_assertion")
        })?;
        return Ok(ClientAuth::Assertion {
            assertion,
            client_id: params.client_id.clone(),
        });
    }
    let client_id = params
        .client_id
        .clone()
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
    let secret = params
        .client_secret
        .clone()
        .ok_or(OAuthError::InvalidClient {
            reason: "no_client_authentication",
            basic: false,
        })?;
    Ok(ClientAuth::Secret {
        client_id,
        secret,
        basic: false,
    })
}
