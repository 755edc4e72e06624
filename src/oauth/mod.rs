//! The token endpoint's logic, free of HTTP: parse the request, authenticate the client, check
//! the grant, issue the access token; and verification of our own access tokens.

pub mod access_token;
pub mod assertion;
pub mod cache;
pub mod error;
pub mod federated;
pub mod quota;
pub mod replay;
pub mod request;
pub mod token;

pub use error::OAuthError;
