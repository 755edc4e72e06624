//! The one error type of this crate. Messages name the problem and never contain the private
//! key, an assertion or an access token.

use std::fmt;

use crate::alg::{Alg, KeyType};
use crate::key::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("private key: {0}")]
    Key(#[from] KeyError),

    #[error("unsupported algorithm \"{alg}\"; use RS256, RS384, PS256, ES256, ES384 or EdDSA")]
    UnsupportedAlg { alg: String },

    /// The algorithm asked for is not one this key signs (an ES256 assertion needs a P-256 key).
    #[error(
        "{alg} needs an {} key, but this key is {key}; with this key use {}",
        alg.key_type(),
        list(key.algs())
    )]
    AlgKeyMismatch { alg: Alg, key: KeyType },

    #[error("unsupported typ \"{typ}\"; use JWT or client-authentication+jwt")]
    UnsupportedTyp { typ: String },

    #[error("the client id must be a non-empty string without control characters")]
    InvalidClientId,

    #[error("issuer \"{issuer}\" is not usable: {reason}")]
    InvalidIssuer { issuer: String, reason: String },

    #[error("assertion lifetime of {seconds} s refused; it must be 1 to 300 seconds")]
    Lifetime { seconds: u64 },

    #[error("the system clock is before 1970")]
    Clock,

    #[error("signing the assertion failed")]
    Signing,

    /// The server could not be reached, or the connection failed mid-way.
    #[error("request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The discovery document was missing or unusable.
    #[error("discovery at {url} failed: {reason}")]
    Discovery { url: String, reason: String },

    /// The server publishes another issuer than the one assertions are addressed to; every
    /// assertion would be refused for its `aud`.
    #[error(
        "the server's issuer is \"{discovered}\" but the configured issuer is \"{configured}\"; \
         they must be equal, character for character (the assertion's aud is the issuer)"
    )]
    IssuerMismatch {
        configured: String,
        discovered: String,
    },

    /// The token endpoint answered with an OAuth error.
    #[error("{0}")]
    Rejected(Rejection),

    /// The workload platform's token could not be had.
    #[error("platform token from {origin}: {reason}")]
    PlatformToken { origin: String, reason: String },

    /// The token endpoint answered 2xx with a body that is not a token response.
    #[error("the token endpoint's answer is not a token response: {reason}")]
    InvalidResponse { reason: String },
}

fn list(algs: &[Alg]) -> String {
    let names: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// An error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: u16,
    /// The OAuth `error` code, e.g. `invalid_client`; empty when the body had none.
    pub error: String,
    pub error_description: Option<String>,
    /// The whole body as sent (cut to 4 KiB), for printing.
    pub body: String,
    /// The server's `Date` header, for telling clock skew apart from other causes.
    pub server_date: Option<String>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the token endpoint answered {}", self.status)?;
        if !self.error.is_empty() {
            write!(f, " {}", self.error)?;
        }
        if let Some(d) = &self.error_description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}
