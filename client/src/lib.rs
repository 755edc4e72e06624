//! Access tokens for machine-to-machine applications that authenticate with **Private Key JWT**
//! (RFC 7523): instead of a shared secret, the application signs a short-lived assertion with its
//! private key for every token request.
//!
//! Works with signet, Auth0 and any OAuth 2.0 server that takes `client_credentials` with a
//! client assertion whose `aud` is the issuer.
//!
//! ```no_run
//! # async fn run() -> Result<(), signet_client::Error> {
//! let pem = std::fs::read_to_string("private_key.pem").expect("key file");
//! let client = signet_client::Client::builder(
//!     "https://tenant.example.com/", // the issuer, exactly as the server publishes it
//!     "my-client-id",
//!     pem,
//! )
//! .build()?;
//!
//! // Cached and renewed before it expires; call it before every API request.
//! let token = client.token("https://api.example.com/").await?;
//! println!("Authorization: Bearer {}", token.as_str());
//! # Ok(())
//! # }
//! ```
//!
//! - Keys: unencrypted RSA, EC P-256, EC P-384 or Ed25519 keys as PKCS#8 (`BEGIN PRIVATE KEY`),
//!   PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`); anything else is refused
//!   with a [`KeyError`] that names what was found. The key decides the algorithm ([`KeyType`]):
//!   RS256 (or RS384 / PS256) for RSA, ES256, ES384, EdDSA for the others ([`Alg`]; the last
//!   three are signet extensions: Auth0 takes only RSA keys).
//! - Assertions: `iss` = `sub` = client id, `aud` = issuer, `exp` 60 s (at most 300 s) after
//!   `iat`, a random `jti`; header `kid` = the key's RFC 7638 thumbprint unless another or none
//!   is asked for ([`Kid`]), `typ` = `JWT` or `client-authentication+jwt` ([`Typ`]); see
//!   [`AssertionSigner`].
//! - The token endpoint is found through OpenID discovery unless set with
//!   [`ClientBuilder::token_endpoint`].
//! - [`Client`] is `Clone + Send + Sync`; concurrent calls for one audience share one request.
//! - Without any key: [`ClientBuilder::federated`] sends a workload platform's token (GitHub
//!   Actions, GitLab CI, Kubernetes, SPIFFE; [`PlatformToken`]) for an application with a
//!   signet federated credential, read again for each token request and cached the same way.
//!
//! # On the resource server's side
//!
//! This crate gets tokens; the API that receives them verifies them against the issuer's JWKS
//! (`<issuer>.well-known/jwks.json`). signet rotates its signing keys: the key that will sign
//! next is published before it signs, and a previous key stays published until it is revoked.
//! So a verifier picks the key named by the token's `kid`, caches the set for the minute its
//! `Cache-Control` allows, and fetches it again (at most once a minute) when a `kid` is unknown.
//! The README's "Signing keys" section shows this with the `jsonwebtoken` crate.

mod alg;
mod assertion;
mod client;
mod endpoint;
mod error;
mod key;
mod platform;

pub use alg::{Alg, KeyType, Typ};
pub use assertion::{AssertionSigner, DEFAULT_LIFETIME, Kid, MAX_LIFETIME};
pub use client::{AccessToken, Client, ClientBuilder, DEFAULT_REFRESH_MARGIN};
pub use endpoint::TokenResponse;
pub use error::{Error, Rejection};
pub use key::{KeyError, MAX_PEM_LEN, PrivateKey};
pub use platform::{GITLAB_TOKEN_VARIABLE, KUBERNETES_TOKEN_PATH, PlatformToken};
