//! The shape of a token request, before anything is looked up: the grant, the audience, and
//! exactly one way for the client to prove who it is (BEHAVIOUR A.5, B.3).

use super::super::OAuthError;
use super::super::error::AuthFailure;
use super::super::request::TokenParams;
use crate::crypto::secret::Secret;

pub const ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client claims to prove who it is (nothing verified yet).
pub(super) enum ClientAuth {
    Secret {
        client_id: String,
        secret: Secret,
        /// Sent over HTTP Basic (`client_secret_basic`) rather than in the body.
        basic: bool,
    },
    Assertion {
        assertion: Secret,
        /// A `client_id` sent beside the assertion, which must then be its `iss`.
        client_id: Option<String>,
    },
}

/// A client credentials request in its parts.
pub(super) struct Shape {
    pub audience: String,
    pub scope: Option<String>,
    pub auth: ClientAuth,
}

impl Shape {
    /// The grant type first, then the client authentication, then the audience: the order in
    /// which a caller learns what is missing.
    pub fn of(params: TokenParams, basic: Option<(String, Secret)>) -> Result<Self, OAuthError> {
        let grant_type = params
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: grant_type"))?;
        if grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "Unsupported grant type: {grant_type}"
            )));
        }
        let TokenParams {
            audience,
            resource,
            scope,
            client_id,
            client_secret,
            client_assertion,
            client_assertion_type,
            ..
        } = params;
        let auth = client_auth(
            client_id,
            client_secret,
            client_assertion,
            client_assertion_type,
            basic,
        )?;
        let audience = match (audience, resource) {
            (Some(audience), Some(resource)) if audience != resource => {
                return Err(OAuthError::invalid_request(
                    "Parameters audience and resource name different APIs: send one of them, \
                     or the same value in both",
                ));
            }
            (Some(audience), _) => audience,
            (None, Some(resource)) => resource,
            (None, None) => {
                return Err(OAuthError::invalid_request(
                    "Missing required parameter: audience",
                ));
            }
        };
        Ok(Self {
            audience,
            scope,
            auth,
        })
    }
}

/// Exactly one client authentication method per request (BEHAVIOUR B.3).
fn client_auth(
    client_id: Option<String>,
    client_secret: Option<Secret>,
    client_assertion: Option<Secret>,
    client_assertion_type: Option<String>,
    basic: Option<(String, Secret)>,
) -> Result<ClientAuth, OAuthError> {
    let uses_assertion = client_assertion.is_some() || client_assertion_type.is_some();
    let methods = usize::from(basic.is_some())
        + usize::from(client_secret.is_some())
        + usize::from(uses_assertion);
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "Only one client authentication method may be used per request",
        ));
    }
    if let Some((basic_id, secret)) = basic {
        if client_id.as_ref().is_some_and(|id| *id != basic_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body does not match the Authorization header",
            ));
        }
        return Ok(ClientAuth::Secret {
            client_id: basic_id,
            secret,
            basic: true,
        });
    }
    if uses_assertion {
        match client_assertion_type.as_deref() {
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
        let assertion = client_assertion.ok_or_else(|| {
            OAuthError::invalid_request("Missing required parameter: client_assertion")
        })?;
        return Ok(ClientAuth::Assertion {
            assertion,
            client_id,
        });
    }
    let client_id = client_id
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
    let secret = client_secret.ok_or(OAuthError::unauthenticated(
        AuthFailure::NoClientAuthentication,
        false,
    ))?;
    Ok(ClientAuth::Secret {
        client_id,
        secret,
        basic: false,
    })
}
