//! `/api/v2/keys/signing`: the tenant's access-token signing keys (BEHAVIOUR A.10).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::crypto::pkcs7;
use crate::crypto::signing::Certificate;
use crate::domain::signing_key::{KeyState, SigningKeyInfo};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::Principal;
use crate::http::openapi::ManagementErrors;
use crate::tenant::signing_keys;
use crate::time_util::format_millis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(rotate))
        .routes(routes!(read))
        .routes(routes!(revoke))
}

/// Auth0's signing key object. Certificates use CRLF line ends, as Auth0's do.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SigningKey)]
struct SigningKeyView {
    kid: String,
    /// The key's self-signed certificate (PEM).
    cert: String,
    /// The certificate as PKCS#7 (PEM).
    pkcs7: Option<String>,
    /// SHA-1 of the certificate, as `AA:BB:…`.
    fingerprint: Option<String>,
    /// SHA-1 of the certificate, hex.
    thumbprint: Option<String>,
    current: bool,
    next: bool,
    previous: bool,
    revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    current_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    current_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    revoked_at: Option<String>,
}

fn view(key: &SigningKeyInfo) -> SigningKeyView {
    let cert = Certificate::from_pem(&key.cert_pem);
    SigningKeyView {
        kid: key.kid.clone(),
        cert: crlf(&key.cert_pem),
        pkcs7: cert.as_ref().map(|c| crlf(&pkcs7::certs_only_pem(&c.der))),
        fingerprint: cert.as_ref().map(Certificate::fingerprint),
        thumbprint: cert.as_ref().map(Certificate::thumbprint),
        current: key.state == KeyState::Current,
        next: key.state == KeyState::Next,
        previous: key.state == KeyState::Previous,
        revoked: key.state == KeyState::Revoked,
        current_since: key.current_since.map(format_millis),
        current_until: key.current_until.map(format_millis),
        revoked_at: key.revoked_at.map(format_millis),
    }
}

/// The `{cert, kid}` that rotation and revocation answer with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SigningKeyBrief)]
struct KeyBrief {
    cert: String,
    kid: String,
}

fn brief(key: &SigningKeyInfo) -> KeyBrief {
    KeyBrief {
        cert: crlf(&key.cert_pem),
        kid: key.kid.clone(),
    }
}

fn crlf(pem_text: &str) -> String {
    pem_text
        .trim_end()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

#[utoipa::path(get, path = "/keys/signing", tag = "signing-keys",
    responses((status = 200, body = Vec<SigningKeyView>), ManagementErrors),
    security(("management_token" = ["read:signing_keys"])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<SigningKeyView>>> {
    principal.require_any(&["read:signing_keys"])?;
    let keys = signing_keys::list(&state.tenant).await?;
    Ok(Json(keys.iter().map(view).collect()))
}

#[utoipa::path(get, path = "/keys/signing/{kid}", tag = "signing-keys",
    params(("kid" = String, Path, description = "The key's id")),
    responses((status = 200, body = SigningKeyView), ManagementErrors),
    security(("management_token" = ["read:signing_keys"])))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(kid): Path<String>,
) -> ApiResult<Json<SigningKeyView>> {
    principal.require_any(&["read:signing_keys"])?;
    Ok(Json(view(&signing_keys::get(&state.tenant, &kid).await?)))
}

#[utoipa::path(post, path = "/keys/signing/rotate", tag = "signing-keys",
    description = "Makes the next key current and creates a new next key; answers with the new \
                   next key. Needs both scopes.",
    responses((status = 200, body = KeyBrief), ManagementErrors),
    security(("management_token" = ["create:signing_keys", "update:signing_keys"])))]
async fn rotate(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<KeyBrief>> {
    principal.require_all(&["create:signing_keys", "update:signing_keys"])?;
    let next = signing_keys::rotate(&state.tenant, state.clock.now()).await?;
    tracing::info!(next_kid = %next.kid, by = %principal.client_id, "signing keys rotated");
    Ok(Json(brief(&next)))
}

#[utoipa::path(put, path = "/keys/signing/{kid}/revoke", tag = "signing-keys",
    description = "Revokes a previous key: tokens it signed stop verifying.",
    params(("kid" = String, Path, description = "The key's id")),
    responses((status = 200, body = KeyBrief), ManagementErrors),
    security(("management_token" = ["update:signing_keys"])))]
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(kid): Path<String>,
) -> ApiResult<Json<KeyBrief>> {
    principal.require_any(&["update:signing_keys"])?;
    let key = signing_keys::revoke(&state.tenant, &kid, state.clock.now()).await?;
    tracing::info!(kid = %key.kid, by = %principal.client_id, "signing key revoked");
    Ok(Json(brief(&key)))
}
