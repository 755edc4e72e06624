//! `POST /oauth/token` for the client credentials grant (BEHAVIOUR A.5). [`TokenIssuer::issue`]
//! reads top to bottom as the rules apply: the request's shape, who the client is, its grant for
//! the audience, its token quota, the assertion's `jti` consumed last, the token signed while
//! the `jti` commits; then one audit event says how it went, naming whoever the request turned
//! out to be.

mod authenticate;
mod event;
mod federated;

/// The explain route's answer for federated tokens.
pub mod federated_explain {
    pub use super::federated::{Check, ExplainedCredential, Explanation};
}
mod metrics;
mod shape;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

pub use metrics::counted_refusal;
pub use shape::ASSERTION_TYPE_JWT_BEARER;

use super::OAuthError;
use super::access_token::{IssuedClaims, TokenFacts};
use super::cache::{CachedClient, TokenCache};
use super::error::AuthFailure;
use super::quota::{Admitted, QuotaCounter};
use super::replay::{Consuming, ReplayGuard, used_jti};
use super::request::TokenParams;
use crate::audit::{self, AuditLog, Entry};
use crate::crypto::random;
use crate::crypto::secret::Secret;
use crate::crypto::signing::{RsaScheme, TokenTyp, hs256_key, sign_hs256};
use crate::domain::grant::token_scopes;
use crate::domain::issuer::Issuer;
use crate::domain::resource_server::{AccessTokenAlg, TokenDialect};
use crate::domain::token_quota::{self, BucketState};
use crate::rate_limit::{AddressKey, RateLimiters};
use crate::store::{self, Store};
use crate::tenant::signing_keys::LiveKeys;
use crate::time_util::Millis;
use authenticate::Authenticated;
use shape::Shape;

/// A token request as the HTTP layer hands it over.
#[derive(Debug)]
pub struct TokenRequest {
    pub params: TokenParams,
    /// Client id and secret from an HTTP Basic header.
    pub basic: Option<(String, Secret)>,
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

impl TokenResponse {
    /// The answer's JSON, as `serde_json` writes it. A signed token is base64url and dots, which
    /// JSON takes as they are, so it is copied whole instead of going through `serde_json`'s
    /// escaping, which reads a string a byte at a time: about 4,000 instructions for a token of
    /// 800 bytes. Anything else goes through `serde_json`.
    pub fn to_json(&self) -> Vec<u8> {
        if needs_json_escape(&self.access_token) {
            return serde_json::to_vec(self).expect("a token response serialises to JSON");
        }
        let mut out = Vec::with_capacity(self.access_token.len() + 128);
        out.extend_from_slice(b"{\"access_token\":\"");
        out.extend_from_slice(self.access_token.as_bytes());
        out.extend_from_slice(b"\"");
        if let Some(scope) = &self.scope {
            out.extend_from_slice(b",\"scope\":");
            serde_json::to_writer(&mut out, scope).expect("a string serialises to JSON");
        }
        out.extend_from_slice(b",\"expires_in\":");
        serde_json::to_writer(&mut out, &self.expires_in).expect("a number serialises to JSON");
        out.extend_from_slice(b",\"token_type\":");
        serde_json::to_writer(&mut out, self.token_type).expect("a string serialises to JSON");
        out.push(b'}');
        out
    }
}

/// Whether JSON needs any of `text` escaped inside quotes: a `"`, `\` or control character.
/// Every byte is looked at without stopping early, which the compiler turns into vector code.
fn needs_json_escape(text: &str) -> bool {
    text.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Who a request turned out to be, as far as the rules got: what its audit event names.
#[derive(Debug, Clone, Default)]
struct Caller {
    client_id: Option<String>,
    client_name: Option<String>,
    method: Option<&'static str>,
    credential_id: Option<String>,
    legacy_audience: bool,
    /// Set when a `jwks_uri` set older than its last failed fetch was used (BEHAVIOUR B.12).
    key_set_warning: Option<String>,
    /// A federated token: its credential's replay mode, and the claim that did not match
    /// with the value expected (BEHAVIOUR B.13).
    replay_mode: Option<&'static str>,
    claim_mismatch: Option<(String, String)>,
}

impl Caller {
    fn refused(self, error: OAuthError) -> Refused {
        Refused {
            error,
            caller: self,
        }
    }
}

/// A refusal, and who it refused.
struct Refused {
    error: OAuthError,
    caller: Caller,
}

/// A token issued, and what its audit events say.
struct Granted {
    issued: Issued,
    caller: Caller,
    /// Shares of the application's token quota this token reached (BEHAVIOUR C.2).
    quota_warnings: Vec<(BucketState, u8)>,
}

pub struct TokenIssuer {
    pub issuer: Issuer,
    pub token_endpoint: String,
    pub accept_legacy_audience: bool,
    pub keys: Arc<LiveKeys>,
    pub store: Store,
    pub cache: TokenCache,
    pub audit: Arc<AuditLog>,
    pub replay: ReplayGuard,
    pub limits: Arc<RateLimiters>,
    pub quotas: QuotaCounter,
    /// Credentials whose `last_used_at` was written within the last minute.
    pub recently_used: moka::sync::Cache<String, ()>,
}

/// The background writers of the two durable records every token leaves: its audit event and
/// its assertion's used `jti`.
pub struct Recorders {
    pub audit: Arc<AuditLog>,
    pub replay: ReplayGuard,
}

impl TokenIssuer {
    pub fn new(
        issuer: Issuer,
        accept_legacy_audience: bool,
        keys: Arc<LiveKeys>,
        store: Store,
        cache: TokenCache,
        Recorders { audit, replay }: Recorders,
        limits: Arc<RateLimiters>,
    ) -> Self {
        Self {
            quotas: QuotaCounter::new(store.clone()),
            limits,
            token_endpoint: issuer.token_endpoint(),
            issuer,
            accept_legacy_audience,
            keys,
            replay,
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
    /// its request limit, or one that has spent its failure budget, is refused at once
    /// (BEHAVIOUR C.1).
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
        let refused = OAuthError::TooManyRequests(exceeded);
        metrics::count_refused(None, &refused);
        Err(refused)
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
        let context = event::Context {
            audience: req
                .params
                .audience
                .clone()
                .or_else(|| req.params.resource.clone()),
            ip: req.ip.map(|ip| ip.to_string()),
            user_agent: req.user_agent.clone(),
        };
        let outcome = self.run(req, now_ms).await;
        metrics::count(&outcome);
        self.record(&outcome, context, now_ms);
        outcome
            .map(|granted| granted.issued)
            .map_err(|refused| refused.error)
    }

    /// The rules, in the order they apply.
    async fn run(&self, req: TokenRequest, now_ms: Millis) -> Result<Granted, Refused> {
        let now = now_ms.div_euclid(1000);
        let shape =
            Shape::of(req.params, req.basic).map_err(|error| Caller::default().refused(error))?;
        let Authenticated {
            client,
            caller,
            proof,
        } = self.authenticate(shape.auth, now).await?;
        let grant = match self
            .authorize(&client, &shape.audience, shape.scope.as_deref())
            .await
        {
            Ok(grant) => grant,
            Err(e) => return Err(caller.refused(e)),
        };
        // The quota counts only tokens that would otherwise be issued.
        let admitted = match self.admit_quota(&client, now_ms).await {
            Ok(admitted) => admitted,
            Err(e) => return Err(caller.refused(e)),
        };
        // BEHAVIOUR B.6: the jti is consumed only after every other check passed, so a forged
        // or misdirected assertion cannot spend a legitimate one.
        let consuming = match proof.as_ref().and_then(|p| p.once.as_ref()) {
            Some((jti, exp)) => Some(self.hand_over_jti(&client, jti, *exp, now_ms).await),
            None => None,
        };
        // The token is signed while the writer commits the jti with others: the cores sign
        // instead of waiting on the database. Only a replay wastes the signature, and each one
        // spends the sender's failure budget (`rate_limit`), so a captured assertion buys at
        // most that many discarded signatures from an address.
        let signed = self.sign(&client, &shape.audience, &grant, now).await;
        if let Some(consuming) = consuming
            && let Err(e) = Self::fresh(consuming).await
        {
            if let Some(a) = &admitted {
                self.quotas.release(&client.client.client_id, a, now_ms);
            }
            return Err(caller.refused(e));
        }
        if let Some(proof) = &proof {
            self.note_use(&proof.credential_id, now_ms);
        }
        let (quota, quota_warnings) = admitted.map(|a| (a.states, a.warnings)).unwrap_or_default();
        let response = match signed {
            Ok(response) => response,
            Err(e) => return Err(caller.refused(e)),
        };
        Ok(Granted {
            issued: Issued { response, quota },
            caller,
            quota_warnings,
        })
    }

    /// The client may use this grant type, has a grant for the audience, and every scope it
    /// asks for is granted (BEHAVIOUR A.5).
    async fn authorize(
        &self,
        client: &CachedClient,
        audience: &str,
        requested: Option<&str>,
    ) -> Result<Authorized, OAuthError> {
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
        let scopes = token_scopes(&grant.api_scopes, granted, requested).map_err(|missing| {
            OAuthError::AccessDenied(format!(
                "Client has not been granted scopes: {}",
                missing.join(", ")
            ))
        })?;
        Ok(Authorized {
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            token_lifetime: grant.token_lifetime,
            signing: match grant.signing_alg {
                AccessTokenAlg::RS256 => Signing::Rsa(RsaScheme::Rs256),
                AccessTokenAlg::PS256 => Signing::Rsa(RsaScheme::Ps256),
                AccessTokenAlg::HS256 => Signing::Hs256(
                    grant
                        .signing_secret
                        .clone()
                        .ok_or_else(|| server_error(&"an HS256 API has no signing secret"))?,
                ),
            },
            dialect: grant.token_dialect,
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

    /// Hands the assertion's `jti` to the replay guard to be recorded (BEHAVIOUR B.6).
    async fn hand_over_jti(
        &self,
        client: &CachedClient,
        jti: &str,
        exp: i64,
        now_ms: Millis,
    ) -> Result<Consuming, OAuthError> {
        let used = used_jti(client.client.client_id.clone(), jti.to_owned(), exp, now_ms);
        self.replay
            .hand_over(used)
            .await
            .map_err(|e| server_error(&e))
    }

    /// The guard's answer for a handed-over `jti`: a second use is a replay.
    async fn fresh(consuming: Result<Consuming, OAuthError>) -> Result<(), OAuthError> {
        match consuming?.fresh().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(OAuthError::unauthenticated(AuthFailure::Replayed, false)),
            Err(e) => Err(server_error(&e)),
        }
    }

    /// The access token (BEHAVIOUR A.5, A.10) in the API's dialect, signed with the tenant's
    /// current key as this instance sees it now, or with the API's HS256 secret.
    async fn sign(
        &self,
        client: &CachedClient,
        audience: &str,
        authorized: &Authorized,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let client_id = client.client.client_id.as_str();
        let subject = format!("{client_id}@clients");
        let jti = random::id_base64url(16);
        let claims = IssuedClaims::new(
            authorized.dialect,
            &TokenFacts {
                issuer: self.issuer.as_str(),
                client_id,
                subject: &subject,
                audience,
                issued_at: now,
                expires_at: now + authorized.token_lifetime,
                jti: &jti,
                scope: authorized.scope.as_deref(),
            },
        );
        let typ = if authorized.dialect.is_rfc9068() {
            TokenTyp::AtJwt
        } else {
            TokenTyp::Jwt
        };
        let access_token = match &authorized.signing {
            Signing::Rsa(scheme) => {
                let view = self.keys.view().await.map_err(|e| server_error(&e))?;
                view.ring.current().sign(*scheme, typ, &claims)
            }
            Signing::Hs256(secret) => sign_hs256(&hs256_key(secret.expose()), typ, &claims),
        };
        Ok(TokenResponse {
            access_token,
            scope: authorized.scope.clone(),
            expires_in: authorized.token_lifetime,
            token_type: "Bearer",
        })
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

/// What the grant allows this token, and how its API wants it made.
struct Authorized {
    scope: Option<String>,
    token_lifetime: i64,
    signing: Signing,
    dialect: TokenDialect,
}

enum Signing {
    Rsa(RsaScheme),
    Hs256(Secret),
}

fn server_error(e: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint storage failure");
    OAuthError::ServerError
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(access_token: &str, scope: Option<&str>, expires_in: i64) -> TokenResponse {
        TokenResponse {
            access_token: access_token.into(),
            scope: scope.map(str::to_owned),
            expires_in,
            token_type: "Bearer",
        }
    }

    #[test]
    fn the_answer_reads_byte_for_byte_as_serde_json_writes_it() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhQGNsaWVudHMifQ.c2ln-_";
        for r in [
            response(jwt, Some("read:load write:load"), 86_400),
            response(jwt, None, 1),
            response(jwt, Some("quote\" back\\slash \u{1} é"), -5),
            response("", Some(""), i64::MAX),
            // Not a JWT: escaped as serde_json escapes it.
            response("a\"b\\c\nd\u{7f}é", Some("s"), 60),
        ] {
            assert_eq!(
                String::from_utf8(r.to_json()).unwrap(),
                serde_json::to_string(&r).unwrap()
            );
        }
    }

    #[test]
    fn only_quotes_backslashes_and_control_characters_need_escaping() {
        assert!(!needs_json_escape("eyJ.abc-_.xyz é \u{7f}"));
        for bad in [
            "\"",
            "\\",
            "\n",
            "\u{0}",
            "\u{1f}",
            &format!("{}\"", "a".repeat(700)),
        ] {
            assert!(needs_json_escape(bad), "{bad:?}");
        }
    }
}
