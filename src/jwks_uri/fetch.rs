//! One bounded HTTP fetch of a key set (BEHAVIOUR B.12): the address rules applied to every
//! address the host resolves to, on every fetch and every redirect; 5 s for the whole exchange;
//! at most 64 KiB read; redirects only within the same host; no proxy, no cookies.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH};
use reqwest::redirect;

use super::address::{KeyUrlPolicy, UrlRefused};

/// Time for the whole exchange: connect, TLS, headers and body.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest key set read; a set of 16 RSA-4096 keys is about 12 KiB.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a fetched set counts as fresh: the response's `Cache-Control: max-age`, held within
/// these bounds, or the default when the response says nothing usable.
pub const MIN_FRESH: Duration = Duration::from_secs(5 * 60);
pub const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_FRESH: Duration = Duration::from_secs(10 * 60);
const MAX_REDIRECTS: usize = 3;

/// A response body that may be a key set, and how long to trust it.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub fresh_for: Duration,
}

/// Why a fetch produced nothing. Messages are stored on the credential and shown to its
/// managers, so they name the problem without echoing the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Refused(#[from] UrlRefused),
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("redirect refused: {0}")]
    Redirect(String),
    #[error("answered HTTP {0}; expected 200")]
    Status(u16),
    #[error("the response is larger than {} KiB", MAX_BODY / 1024)]
    TooLarge,
    #[error("the response could not be read: {0}")]
    Body(String),
}

impl FetchError {
    /// The failure's kind, as `signet_jwks_fetches_total` counts it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Refused(_) => "refused",
            Self::Timeout => "timeout",
            Self::Connect(_) => "connect",
            Self::Redirect(_) => "redirect",
            Self::Status(_) => "status",
            Self::TooLarge => "too_large",
            Self::Body(_) => "body",
        }
    }
}

/// Builds the one HTTP client all key-set fetches share.
pub fn client(policy: KeyUrlPolicy) -> reqwest::Client {
    let redirects = redirect::Policy::custom(move |attempt| {
        let first_host = attempt.previous().first().and_then(|u| u.host_str());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RedirectRefused("more than 3 redirects"))
        } else if attempt.url().host_str() != first_host {
            attempt.error(RedirectRefused("to another host"))
        } else if let Err(e) = policy.check_url(attempt.url().as_str()) {
            attempt.error(e)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(redirects)
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .no_proxy()
        .https_only(!policy.allow_insecure)
        .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION"), " (jwks_uri)"))
        .build()
        // Only a TLS backend that fails to initialise makes this fail: a broken build.
        .expect("the HTTP client for key sets can be built")
}

/// Fetches `url` once. The URL rules run first, the address rules at connection time.
pub async fn fetch(
    client: &reqwest::Client,
    policy: KeyUrlPolicy,
    url: &str,
) -> Result<Fetched, FetchError> {
    let url = policy.check_url(url)?;
    let mut response = client
        .get(url)
        .header(
            reqwest::header::ACCEPT,
            "application/jwk-set+json, application/json",
        )
        .send()
        .await
        .map_err(describe)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        return Err(FetchError::TooLarge);
    }
    let fresh_for = freshness(
        response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
    );
    let mut body = Vec::with_capacity(declared.unwrap_or(4096).min(MAX_BODY));
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, fresh_for })
}

/// `Cache-Control` read as a cache lifetime: `max-age` held within [`MIN_FRESH`, `MAX_FRESH`];
/// `no-cache`/`no-store` mean the shortest; nothing usable means [`DEFAULT_FRESH`].
pub fn freshness(cache_control: Option<&str>) -> Duration {
    let Some(value) = cache_control else {
        return DEFAULT_FRESH;
    };
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        match name.to_ascii_lowercase().as_str() {
            "no-cache" | "no-store" => return MIN_FRESH,
            "max-age" => max_age = arg.trim_matches('"').parse::<u64>().ok(),
            _ => {}
        }
    }
    max_age.map_or(DEFAULT_FRESH, |secs| {
        Duration::from_secs(secs).clamp(MIN_FRESH, MAX_FRESH)
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(&'static str);

/// Names the cause of a failed exchange from reqwest's error chain, where the address and
/// redirect rules leave their own errors.
fn describe(e: reqwest::Error) -> FetchError {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<UrlRefused>() {
            return if e.is_redirect() {
                FetchError::Redirect(refused.to_string())
            } else {
                FetchError::Refused(refused.clone())
            };
        }
        if let Some(redirect) = cause.downcast_ref::<RedirectRefused>() {
            return FetchError::Redirect(redirect.to_string());
        }
        source = cause.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_redirect() {
        FetchError::Redirect("too many redirects".into())
    } else if e.is_connect() || e.is_request() {
        FetchError::Connect(short_cause(&e))
    } else {
        FetchError::Body(short_cause(&e))
    }
}

/// The innermost cause, which is the one that names the problem ("connection refused").
fn short_cause(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let mut text = last.to_string();
    text.truncate(200);
    text
}

/// Resolves with the system resolver, then keeps only the addresses the policy allows, so the
/// connection can only go where the rules say — whatever DNS answers this time.
struct GuardedResolver {
    policy: KeyUrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check_address(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(refused.unwrap_or(UrlRefused::NoPublicAddress))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_held_within_bounds() {
        assert_eq!(freshness(None), DEFAULT_FRESH);
        assert_eq!(freshness(Some("max-age=60")), MIN_FRESH);
        assert_eq!(
            freshness(Some("public, max-age=3600")),
            Duration::from_secs(3600)
        );
        assert_eq!(freshness(Some("max-age=99999999")), MAX_FRESH);
        assert_eq!(freshness(Some("no-store")), MIN_FRESH);
        assert_eq!(freshness(Some("max-age=abc")), DEFAULT_FRESH);
        assert_eq!(freshness(Some("private")), DEFAULT_FRESH);
    }
}
