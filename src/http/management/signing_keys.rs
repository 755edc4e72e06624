//! `/api/v2/keys/signing`: the tenant's access-token signing keys (BEHAVIOUR A.10).

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::crypto::pkcs7;
use crate::crypto::signing::Certificate;
use crate::domain::signing_key::{KeyState, SigningKeyInfo};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::Principal;
use crate::tenant::signing_keys;
use crate::time_util::format_millis;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys/signing", get(list))
        .route("/keys/signing/rotate", post(rotate))
        .route("/keys/signing/{kid}", get(read))
        .route("/keys/signing/{kid}/revoke", put(revoke))
}

/// Auth0's key object. Certificates use CRLF line ends, as Auth0's do.
fn view(key: &SigningKeyInfo) -> Value {
    let cert = Certificate::from_pem(&key.cert_pem);
    let mut v = json!({
        "kid": key.kid,
        "cert": crlf(&key.cert_pem),
        "pkcs7": cert.as_ref().map(|c| crlf(&pkcs7::certs_only_pem(&c.der))),
        "fingerprint": cert.as_ref().map(Certificate::fingerprint),
        "thumbprint": cert.as_ref().map(Certificate::thumbprint),
        "current": key.state == KeyState::Current,
        "next": key.state == KeyState::Next,
        "previous": key.state == KeyState::Previous,
        "revoked": key.state == KeyState::Revoked,
    });
    for (name, at) in [
        ("current_since", key.current_since),
        ("current_until", key.current_until),
        ("revoked_at", key.revoked_at),
    ] {
        if let Some(at) = at {
            v[name] = format_millis(at).into();
        }
    }
    v
}

/// The `{cert, kid}` that rotation and revocation answer with.
fn brief(key: &SigningKeyInfo) -> Value {
    json!({"cert": crlf(&key.cert_pem), "kid": key.kid})
}

fn crlf(pem_text: &str) -> String {
    pem_text
        .trim_end()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:signing_keys"])?;
    let keys = signing_keys::list(&state.tenant).await?;
    Ok(Json(Value::Array(keys.iter().map(view).collect())))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(kid): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:signing_keys"])?;
    Ok(Json(view(&signing_keys::get(&state.tenant, &kid).await?)))
}

async fn rotate(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    principal.require_all(&["create:signing_keys", "update:signing_keys"])?;
    let next = signing_keys::rotate(&state.tenant, state.clock.now()).await?;
    tracing::info!(next_kid = %next.kid, by = %principal.client_id, "signing keys rotated");
    Ok(Json(brief(&next)))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(kid): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:signing_keys"])?;
    let key = signing_keys::revoke(&state.tenant, &kid, state.clock.now()).await?;
    tracing::info!(kid = %key.kid, by = %principal.client_id, "signing key revoked");
    Ok(Json(brief(&key)))
}
