//! Where an OpenID Connect issuer publishes its keys (OpenID Connect Discovery 1.0 §4): its
//! configuration document, fetched under the key-URL rules of [`super::fetch`], must name the
//! issuer exactly and a `jwks_uri` the same rules allow. The answer is kept per issuer in
//! memory, refreshed once a day, fetched again at most once per [`super::REFETCH_INTERVAL`]
//! after a failure, by one request while the others wait; the last good answer outlives a
//! failed refresh (the key set it leads to has its own age limit).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::address::KeyUrlPolicy;
use super::{KeySets, REFETCH_INTERVAL, fetch, millis};
use crate::time_util::Millis;

/// How long a discovered `jwks_uri` is used before the document is read again.
const REFRESH: Duration = Duration::from_secs(24 * 3600);

/// The issuer's configuration URL: the issuer, without a trailing slash, and the well-known
/// path (OpenID Connect Discovery §4).
pub fn configuration_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

#[derive(Default)]
pub(super) struct Discovered {
    state: Mutex<State>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    jwks_uri: Option<String>,
    resolved_at: Option<Millis>,
    attempted_at: Option<Millis>,
    attempts: u64,
    last_error: Option<String>,
}

#[derive(Deserialize)]
struct Configuration {
    issuer: String,
    jwks_uri: String,
}

/// Reads a configuration document: it must be for `issuer` exactly (OpenID Connect Discovery
/// §4.3) and name a `jwks_uri` the key-URL rules allow.
pub fn read_configuration(
    body: &[u8],
    issuer: &str,
    policy: KeyUrlPolicy,
) -> Result<String, String> {
    let config: Configuration = serde_json::from_slice(body)
        .map_err(|_| "the discovery document is not JSON with issuer and jwks_uri".to_owned())?;
    if config.issuer != issuer {
        return Err(format!(
            "the discovery document is for issuer {:?}, not {issuer:?}",
            config.issuer.chars().take(255).collect::<String>()
        ));
    }
    policy
        .check_url(&config.jwks_uri)
        .map_err(|e| format!("the discovery document's jwks_uri is refused: {e}"))?;
    Ok(config.jwks_uri)
}

impl KeySets {
    /// The `jwks_uri` of `issuer`, from its discovery document.
    pub async fn issuer_jwks_uri(&self, issuer: &str) -> Result<String, String> {
        let entry = self
            .discovered
            .get_with(issuer.to_owned(), || Arc::new(Discovered::default()));
        let now = self.clock.now();
        let seen = {
            let s = lock(&entry.state);
            match &s.jwks_uri {
                Some(uri) if s.resolved_at.is_some_and(|at| now < at + millis(REFRESH)) => {
                    return Ok(uri.clone());
                }
                _ if s
                    .attempted_at
                    .is_some_and(|at| now < at + millis(REFETCH_INTERVAL)) =>
                {
                    return answer(&s);
                }
                _ => s.attempts,
            }
        };
        let Ok(_guard) =
            tokio::time::timeout(fetch::FETCH_TIMEOUT * 2, entry.fetching.lock()).await
        else {
            return answer(&lock(&entry.state));
        };
        if lock(&entry.state).attempts != seen {
            return answer(&lock(&entry.state));
        }
        let outcome = match fetch::fetch(&self.http, self.policy, &configuration_url(issuer)).await
        {
            Ok(fetched) => read_configuration(&fetched.body, issuer, self.policy),
            Err(e) => Err(format!("the discovery document could not be fetched: {e}")),
        };
        crate::metrics::jwks_fetch(if outcome.is_ok() {
            "discovery_ok"
        } else {
            "discovery_failed"
        });
        let now = self.clock.now();
        let mut s = lock(&entry.state);
        s.attempts += 1;
        s.attempted_at = Some(now);
        match outcome {
            Ok(uri) => {
                s.jwks_uri = Some(uri);
                s.resolved_at = Some(now);
                s.last_error = None;
            }
            Err(e) => {
                tracing::warn!(issuer, error = %e, "OpenID discovery failed");
                s.last_error = Some(e);
            }
        }
        answer(&s)
    }
}

fn answer(s: &State) -> Result<String, String> {
    s.jwks_uri.clone().ok_or_else(|| {
        s.last_error
            .clone()
            .unwrap_or_else(|| "the discovery document has not been fetched yet".into())
    })
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_must_be_for_the_issuer_and_name_an_allowed_jwks_uri() {
        let strict = KeyUrlPolicy {
            allow_insecure: false,
        };
        let issuer = "https://token.actions.githubusercontent.com";
        let good = br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://token.actions.githubusercontent.com/.well-known/jwks"}"#;
        assert_eq!(
            read_configuration(good, issuer, strict).unwrap(),
            "https://token.actions.githubusercontent.com/.well-known/jwks"
        );
        let other = br#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}"#;
        assert!(
            read_configuration(other, issuer, strict)
                .unwrap_err()
                .contains("evil.example")
        );
        let internal = br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://127.0.0.1/jwks"}"#;
        assert!(
            read_configuration(internal, issuer, strict)
                .unwrap_err()
                .contains("refused")
        );
        assert!(read_configuration(b"[]", issuer, strict).is_err());
        assert_eq!(
            configuration_url("https://gitlab.com/"),
            "https://gitlab.com/.well-known/openid-configuration"
        );
    }
}
