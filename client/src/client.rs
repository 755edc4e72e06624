//! [`Client`]: access tokens on demand, cached per (audience, scope) and renewed before they
//! expire, shared safely between tasks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OnceCell};
use tokio::time::Instant;

use crate::assertion::{Alg, AssertionSigner, Kid, Typ};
use crate::endpoint::{self, TokenResponse};
use crate::error::Error;
use crate::key::PrivateKey;
use crate::platform::PlatformToken;

/// A token is renewed once less than this much of its lifetime is left (or 10 % of it, if that
/// is more), so callers never hold one that expires while their request is in flight.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// An access token with its expiry. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    token: Arc<str>,
    token_type: Arc<str>,
    scope: Option<Arc<str>>,
    expires_at: Option<Instant>,
}

impl AccessToken {
    /// The token, for an `Authorization: Bearer …` header.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// `Bearer` for every server this crate has been used with.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The scopes the server granted, space-separated, when it said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Time left until the token expires (`None` when the server gave no `expires_in`).
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in())
            .finish()
    }
}

/// Builds a [`Client`]. Only the issuer, the client id and the private key are required.
pub struct ClientBuilder {
    issuer: String,
    client_id: String,
    key_pem: String,
    alg: Option<Alg>,
    kid: Kid,
    typ: Typ,
    assertion_lifetime: Option<Duration>,
    token_endpoint: Option<String>,
    refresh_margin: Duration,
    http: Option<reqwest::Client>,
    platform: Option<PlatformToken>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("typ", &self.typ)
            .field("token_endpoint", &self.token_endpoint)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// `issuer`: the server's issuer exactly as it publishes it (`https://tenant.example.com/`
    /// for Auth0 and signet, trailing slash included). `private_key_pem`: the application's
    /// private key (RSA, EC P-256, EC P-384 or Ed25519), as [`PrivateKey::from_pem`] reads it.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            key_pem: private_key_pem.into(),
            alg: None,
            kid: Kid::Thumbprint,
            typ: Typ::Jwt,
            assertion_lifetime: None,
            token_endpoint: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            http: None,
            platform: None,
        }
    }

    /// An application that authenticates with a workload platform's token (a signet
    /// federated credential): no key; `source` is read for every token request.
    pub fn federated(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        source: PlatformToken,
    ) -> Self {
        Self {
            platform: Some(source),
            ..Self::new(issuer, client_id, String::new())
        }
    }

    /// The credential's algorithm (default: the key's, [`PrivateKey::default_alg`]: RS256 for
    /// RSA keys). [`ClientBuilder::build`] refuses one the key does not sign.
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Sends this `kid` in the assertion header, for a credential uploaded with its own kid
    /// (default: the key's RFC 7638 thumbprint, the kid the server gives a credential uploaded
    /// without one).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Kid::Explicit(kid.into());
        self
    }

    /// Sends no `kid`: the server then tries each of the application's credentials.
    pub fn without_kid(mut self) -> Self {
        self.kid = Kid::Omit;
        self
    }

    /// The assertion header's `typ` (default `JWT`). [`Typ::ClientAuthentication`] sends
    /// `client-authentication+jwt` (draft-ietf-oauth-rfc7523bis), which signet accepts; Auth0
    /// may not, so it is off by default.
    pub fn typ(mut self, typ: Typ) -> Self {
        self.typ = typ;
        self
    }

    /// Assertion lifetime, 1 to 300 s (default 60 s).
    pub fn assertion_lifetime(mut self, lifetime: Duration) -> Self {
        self.assertion_lifetime = Some(lifetime);
        self
    }

    /// Uses this token endpoint and skips discovery — for a server reached at another address
    /// than its issuer, e.g. plain http behind a TLS proxy.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// Renew a cached token once less than `max(margin, 10 % of its lifetime)` is left, capped at
    /// half its lifetime (default margin: 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Uses this HTTP client (proxies, timeouts, extra root certificates).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Parses the key and checks the settings; makes no network request.
    pub fn build(self) -> Result<Client, Error> {
        let proof = match self.platform {
            Some(source) => {
                check_issuer(&self.issuer)?;
                if self.client_id.is_empty() || self.client_id.chars().any(char::is_control) {
                    return Err(Error::InvalidClientId);
                }
                Proof::Platform {
                    source,
                    client_id: self.client_id.clone(),
                    issuer: self.issuer.clone(),
                }
            }
            None => {
                let key = PrivateKey::from_pem(&self.key_pem)?;
                let mut signer = AssertionSigner::new(key, &self.client_id, &self.issuer)?
                    .with_kid(self.kid)
                    .with_typ(self.typ);
                if let Some(alg) = self.alg {
                    signer = signer.with_alg(alg)?;
                }
                if let Some(lifetime) = self.assertion_lifetime {
                    signer = signer.with_lifetime(lifetime)?;
                }
                Proof::Key(signer)
            }
        };
        if let Some(url) = &self.token_endpoint {
            url::Url::parse(url).map_err(|e| Error::Discovery {
                url: url.clone(),
                reason: format!("the token endpoint is not a URL ({e})"),
            })?;
        }
        let token_endpoint = OnceCell::new_with(self.token_endpoint);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|source| Error::Http {
                    url: self.issuer.clone(),
                    source,
                })?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                proof,
                http,
                token_endpoint,
                refresh_margin: self.refresh_margin,
                slots: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// Fetches access tokens with Private Key JWT client authentication and caches them.
///
/// Clone it freely: clones share the key, the HTTP connection pool and the cache. Concurrent
/// callers asking for the same audience and scope wait for one request instead of each sending
/// their own.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

type SlotKey = (String, Option<String>);
type Slot = Arc<AsyncMutex<Option<Cached>>>;

/// How the client proves who it is.
enum Proof {
    /// A private key signs each assertion.
    Key(AssertionSigner),
    /// A workload platform's token is sent as it is.
    Platform {
        source: PlatformToken,
        client_id: String,
        issuer: String,
    },
}

impl Proof {
    fn issuer(&self) -> &str {
        match self {
            Self::Key(signer) => signer.issuer(),
            Self::Platform { issuer, .. } => issuer,
        }
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(signer) => signer.fmt(f),
            Self::Platform {
                source, client_id, ..
            } => f
                .debug_struct("Platform")
                .field("source", source)
                .field("client_id", client_id)
                .finish(),
        }
    }
}

/// An issuer the token endpoint can be discovered from.
fn check_issuer(issuer: &str) -> Result<(), Error> {
    let url = url::Url::parse(issuer).map_err(|e| Error::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::InvalidIssuer {
            issuer: issuer.to_owned(),
            reason: "it must be an http(s) URL".into(),
        });
    }
    Ok(())
}

struct Inner {
    proof: Proof,
    http: reqwest::Client,
    token_endpoint: OnceCell<String>,
    refresh_margin: Duration,
    slots: Mutex<HashMap<SlotKey, Slot>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("proof", &self.proof)
            .field("token_endpoint", &self.token_endpoint.get())
            .finish_non_exhaustive()
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

impl Client {
    /// Shorthand for [`ClientBuilder::new`].
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder::new(issuer, client_id, private_key_pem)
    }

    /// An access token for `audience` with the scopes the application is granted; from the cache
    /// while it has enough life left. Failures are not cached (the next call tries again), nor
    /// is a token whose response carries no `expires_in`.
    pub async fn token(&self, audience: &str) -> Result<AccessToken, Error> {
        self.token_with_scope(audience, None).await
    }

    /// Like [`Client::token`], asking for `scope` (space-separated); cached separately per scope.
    pub async fn token_with_scope(
        &self,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let slot = self.slot(audience, scope);
        // Held across the request: the callers that queue here get the token it brings.
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let sent_at = Instant::now();
        let response = self.request_token(audience, scope).await?;
        let lifetime = response.expires_in.map(Duration::from_secs);
        let token = AccessToken {
            token: response.access_token.into(),
            token_type: response.token_type.into(),
            scope: response.scope.map(Into::into),
            // Counted from when the request left: the server's clock started no earlier.
            expires_at: lifetime.map(|l| sent_at + l),
        };
        *cached = lifetime.map(|l| Cached {
            token: token.clone(),
            renew_at: sent_at + l - renewal_margin(l, self.inner.refresh_margin),
        });
        Ok(token)
    }

    /// Drops the cached token for `audience`/`scope`, e.g. after an API refused it.
    pub fn forget(&self, audience: &str, scope: Option<&str>) {
        let key = (audience.to_owned(), scope.map(str::to_owned));
        self.lock_slots().remove(&key);
    }

    /// One uncached token request, with its raw response.
    pub async fn request_token(
        &self,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, Error> {
        let endpoint = self.token_endpoint().await?;
        let (client_id, assertion) = match &self.inner.proof {
            Proof::Key(signer) => (signer.client_id(), signer.sign()?),
            Proof::Platform {
                source, client_id, ..
            } => (client_id.as_str(), source.read(&self.inner.http).await?),
        };
        endpoint::request_token(
            &self.inner.http,
            endpoint,
            client_id,
            &assertion,
            audience,
            scope,
        )
        .await
    }

    /// The token endpoint: as configured, or found once through discovery.
    pub async fn token_endpoint(&self) -> Result<&str, Error> {
        self.inner
            .token_endpoint
            .get_or_try_init(|| endpoint::discover(&self.inner.http, self.inner.proof.issuer()))
            .await
            .map(String::as_str)
    }

    /// The algorithm assertions are signed with; `None` for a platform token.
    pub fn alg(&self) -> Option<Alg> {
        match &self.inner.proof {
            Proof::Key(signer) => Some(signer.alg()),
            Proof::Platform { .. } => None,
        }
    }

    /// The `kid` assertions carry, if any.
    pub fn kid(&self) -> Option<&str> {
        match &self.inner.proof {
            Proof::Key(signer) => signer.kid(),
            Proof::Platform { .. } => None,
        }
    }

    /// Whether the client sends a workload platform's token instead of signing.
    pub fn is_federated(&self) -> bool {
        matches!(self.inner.proof, Proof::Platform { .. })
    }

    /// A fresh client assertion, for servers or tools this crate does not talk to itself. A
    /// federated client signs nothing: its assertion is the platform's token.
    pub fn assertion(&self) -> Result<String, Error> {
        match &self.inner.proof {
            Proof::Key(signer) => signer.sign(),
            Proof::Platform { source, .. } => Err(Error::PlatformToken {
                origin: format!("{source:?}"),
                reason: "a federated client signs no assertion; it sends the platform's token"
                    .into(),
            }),
        }
    }

    fn slot(&self, audience: &str, scope: Option<&str>) -> Slot {
        let key = (audience.to_owned(), scope.map(str::to_owned));
        self.lock_slots().entry(key).or_default().clone()
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<SlotKey, Slot>> {
        // The map is only touched for O(1) operations that cannot panic midway; a poisoned lock
        // still holds a consistent map.
        self.inner
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How long before expiry a token of `lifetime` is renewed.
fn renewal_margin(lifetime: Duration, margin: Duration) -> Duration {
    margin.max(lifetime / 10).min(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");

    #[test]
    fn renews_a_day_long_token_with_the_larger_of_60_s_and_10_percent_left() {
        let day = Duration::from_secs(86_400);
        assert_eq!(
            renewal_margin(day, DEFAULT_REFRESH_MARGIN),
            Duration::from_secs(8_640)
        );
        let ten_minutes = Duration::from_secs(600);
        assert_eq!(
            renewal_margin(ten_minutes, DEFAULT_REFRESH_MARGIN),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn never_renews_before_half_the_lifetime() {
        let short = Duration::from_secs(4);
        assert_eq!(
            renewal_margin(short, DEFAULT_REFRESH_MARGIN),
            Duration::from_secs(2)
        );
        assert_eq!(
            renewal_margin(Duration::ZERO, DEFAULT_REFRESH_MARGIN),
            Duration::ZERO
        );
    }

    #[test]
    fn build_checks_key_issuer_lifetime_and_endpoint_without_network() {
        let ok = Client::builder("https://tenant.example.com/", "app", KEY).build();
        assert!(ok.is_ok());
        let public = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem");
        assert!(matches!(
            Client::builder("https://tenant.example.com/", "app", public).build(),
            Err(Error::Key(_))
        ));
        assert!(matches!(
            Client::builder("tenant.example.com", "app", KEY).build(),
            Err(Error::InvalidIssuer { .. })
        ));
        assert!(matches!(
            Client::builder("https://tenant.example.com/", "app", KEY)
                .assertion_lifetime(Duration::from_secs(301))
                .build(),
            Err(Error::Lifetime { seconds: 301 })
        ));
        assert!(matches!(
            Client::builder("https://tenant.example.com/", "app", KEY)
                .token_endpoint("not a url")
                .build(),
            Err(Error::Discovery { .. })
        ));
    }

    #[test]
    fn build_infers_the_alg_from_the_key_and_refuses_one_it_does_not_sign() {
        let issuer = "https://tenant.example.com/";
        let ec = include_str!("../../tests/fixtures/keys/ec-p256.key.pem");
        let client = Client::builder(issuer, "app", ec).build().unwrap();
        assert_eq!(client.alg(), Some(Alg::ES256));
        assert!(matches!(
            Client::builder(issuer, "app", ec).alg(Alg::RS256).build(),
            Err(Error::AlgKeyMismatch {
                alg: Alg::RS256,
                key: crate::KeyType::EcP256
            })
        ));
        let rsa = Client::builder(issuer, "app", KEY)
            .alg(Alg::PS256)
            .build()
            .unwrap();
        assert_eq!(rsa.alg(), Some(Alg::PS256));
    }

    #[test]
    fn sends_the_thumbprint_as_kid_unless_told_otherwise_and_the_typ_asked_for() {
        let issuer = "https://tenant.example.com/";
        let header = |client: &Client| -> serde_json::Value {
            use base64::Engine;
            let jwt = client.assertion().unwrap();
            let part = jwt.split('.').next().unwrap();
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap();
            serde_json::from_slice(&json).unwrap()
        };
        let thumbprint = PrivateKey::from_pem(KEY).unwrap().thumbprint();
        let default = Client::builder(issuer, "app", KEY).build().unwrap();
        assert_eq!(default.kid(), Some(thumbprint.as_str()));
        assert_eq!(
            header(&default),
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": thumbprint})
        );
        let own = Client::builder(issuer, "app", KEY)
            .kid("my-key-0001")
            .build()
            .unwrap();
        assert_eq!(header(&own)["kid"], "my-key-0001");
        let none = Client::builder(issuer, "app", KEY)
            .without_kid()
            .typ(Typ::ClientAuthentication)
            .build()
            .unwrap();
        assert_eq!(none.kid(), None);
        assert_eq!(
            header(&none),
            serde_json::json!({"alg": "RS256", "typ": "client-authentication+jwt"})
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let token = AccessToken {
            token: "eyJhbGciOi.secret.token".into(),
            token_type: "Bearer".into(),
            scope: None,
            expires_at: None,
        };
        assert!(!format!("{token:?}").contains("secret"));
        let client = Client::builder("https://tenant.example.com/", "app", KEY)
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("PRIVATE"));
    }
}
