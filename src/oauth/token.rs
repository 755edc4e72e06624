//! `POST /oauth/token` for the client credentials grant: authenticate the client, check its
//! grant for the audience, sign the access token.

use std::sync::Arc;

use serde::Serialize;

use super::OAuthError;
use super::access_token::AccessClaims;
use super::request::TokenParams;
use crate::crypto::random;
use crate::crypto::signing::KeyRing;
use crate::domain::client::Client;
use crate::domain::grant::token_scopes;
use crate::management::Tenant;
use crate::store;

pub const ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token request as the HTTP layer hands it over.
#[derive(Debug)]
pub struct TokenRequest {
    pub params: TokenParams,
    /// Client id and secret from an HTTP Basic header.
    pub basic: Option<(String, String)>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub token_type: &'static str,
}

/// How the client proved who it is.
enum ClientAuth {
    SecretPost { client_id: String, secret: String },
    SecretBasic { client_id: String, secret: String },
}

pub struct TokenIssuer {
    pub tenant: Tenant,
    pub keys: Arc<KeyRing>,
}

impl TokenIssuer {
    pub async fn issue(&self, req: TokenRequest, now: i64) -> Result<TokenResponse, OAuthError> {
        let TokenRequest { params, basic } = req;
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

        let mut conn = self
            .tenant
            .store
            .acquire()
            .await
            .map_err(|e| server_error(&e))?;
        let client = authenticate(&self.tenant, &mut conn, auth).await?;
        if !client.may_use_client_credentials() {
            return Err(OAuthError::UnauthorizedClient(
                "Grant type 'client_credentials' not allowed for the client.".into(),
            ));
        }
        let grant = store::grants::for_token(&mut conn, &client.client_id, audience)
            .await
            .map_err(|e| server_error(&e))?
            .ok_or_else(|| OAuthError::AccessDenied(format!("Service not found: {audience}")))?;
        let granted = grant.granted.ok_or_else(|| {
            OAuthError::AccessDenied(format!(
                "Client is not authorized to access \"{audience}\". You need to create a \
                 \"client-grant\" associated to this API."
            ))
        })?;
        let scopes = token_scopes(&grant.api_scopes, &granted, params.scope.as_deref()).map_err(
            |missing| {
                OAuthError::AccessDenied(format!(
                    "Client has not been granted scopes: {}",
                    missing.join(", ")
                ))
            },
        )?;
        drop(conn);

        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        let claims = AccessClaims {
            iss: self.tenant.issuer.as_str().to_owned(),
            sub: format!("{}@clients", client.client_id),
            aud: audience.to_owned(),
            iat: now,
            exp: now + grant.token_lifetime,
            jti: random::base64url(16),
            scope: scope.clone(),
            gty: "client-credentials".into(),
            azp: client.client_id,
        };
        Ok(TokenResponse {
            access_token: self.keys.current().sign_jwt(&claims),
            scope,
            expires_in: grant.token_lifetime,
            token_type: "Bearer",
        })
    }
}

fn server_error(e: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint storage failure");
    OAuthError::ServerError
}

/// Exactly one client authentication method per request (SPEC B.3).
fn client_auth(
    params: &TokenParams,
    basic: Option<(String, String)>,
) -> Result<ClientAuth, OAuthError> {
    let methods = usize::from(basic.is_some())
        + usize::from(params.client_secret.is_some())
        + usize::from(params.client_assertion.is_some() || params.client_assertion_type.is_some());
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
        return Ok(ClientAuth::SecretBasic { client_id, secret });
    }
    if let Some(assertion_type) = &params.client_assertion_type {
        if assertion_type != ASSERTION_TYPE_JWT_BEARER {
            return Err(OAuthError::invalid_request(
                "Unsupported client_assertion_type",
            ));
        }
        // Private Key JWT at the token endpoint is not available yet: refuse it as a failed
        // client authentication rather than pretend.
        return Err(OAuthError::InvalidClient {
            reason: "private_key_jwt_unavailable",
            basic: false,
        });
    }
    if params.client_assertion.is_some() {
        return Err(OAuthError::invalid_request(
            "Missing required parameter: client_assertion_type",
        ));
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
    Ok(ClientAuth::SecretPost { client_id, secret })
}

async fn authenticate(
    tenant: &Tenant,
    conn: &mut store::Conn,
    auth: ClientAuth,
) -> Result<Client, OAuthError> {
    let (client_id, secret, basic) = match auth {
        ClientAuth::SecretPost { client_id, secret } => (client_id, secret, false),
        ClientAuth::SecretBasic { client_id, secret } => (client_id, secret, true),
    };
    let fail = |reason: &'static str| {
        tracing::info!(client_id = %client_id, reason, "client authentication failed");
        OAuthError::InvalidClient { reason, basic }
    };
    let Some(client) = store::clients::get(conn, &tenant.master_key, &client_id)
        .await
        .map_err(|e| server_error(&e))?
    else {
        return Err(fail("unknown_client"));
    };
    // Secret methods are interchangeable (post and basic carry the same secret); a client on
    // Private Key JWT or `none` cannot use its secret at all.
    if !client
        .token_endpoint_auth_method
        .is_some_and(|m| m.uses_secret())
    {
        return Err(fail("auth_method_not_allowed"));
    }
    if !client.secret.matches(&secret) {
        return Err(fail("bad_client_secret"));
    }
    Ok(client)
}
