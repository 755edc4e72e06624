//! `/api/v2/clients/{id}/credentials`: an application's Private Key JWT credentials (BEHAVIOUR A.1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::dto::{CredentialBody, CredentialPatchBody};
use crate::domain::credential::{Credential, CredentialKey, CredentialPatch};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Principal};
use crate::store::key_sets::StoredKeySet;
use crate::tenant::credentials;
use crate::time_util::format_millis;

pub fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/clients/{id}/credentials", get(list).post(create))
        .route(
            "/clients/{id}/credentials/{credential_id}",
            get(read).patch(update).delete(remove),
        )
}

/// Auth0's credential object; never the key material. A `jwks_uri` credential (a signet
/// extension) shows its URL and how its set was last fetched instead of a kid and alg.
pub fn view(c: &Credential, key_sets: &[StoredKeySet]) -> Value {
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "credential_type": c.key.credential_type(),
        "created_at": format_millis(c.created_at),
        "updated_at": format_millis(c.updated_at),
        "expires_at": c.expires_at.map(format_millis),
        // An extra field (Auth0's SDKs ignore unknown ones), updated at most once a minute.
        "last_used_at": c.last_used_at.map(format_millis),
    });
    match &c.key {
        CredentialKey::Uploaded(key) => {
            v["kid"] = json!(key.kid);
            v["alg"] = json!(key.alg.as_str());
        }
        CredentialKey::JwksUri(uri) => {
            v["jwks_uri"] = json!(uri);
            v["jwks"] = key_set_view(key_sets.iter().find(|s| s.credential_id == c.id));
        }
    }
    v
}

/// How the set was last fetched: when, the kids it held, and the last error if the last fetch
/// failed.
fn key_set_view(state: Option<&StoredKeySet>) -> Value {
    match state {
        None => json!({"fetched_at": null, "fresh_until": null, "kids": [],
                       "last_error": null, "last_error_at": null}),
        Some(s) => json!({
            "fetched_at": s.fetched_at.map(format_millis),
            "fresh_until": s.fresh_until.map(format_millis),
            "kids": s.kids,
            "last_error": s.last_error,
            "last_error_at": s.last_error_at.map(format_millis),
        }),
    }
}

/// The fetch states a view of `shown` needs: read only when one is a `jwks_uri` credential.
async fn key_sets_for(
    state: &AppState,
    client_id: &str,
    shown: &[&Credential],
) -> ApiResult<Vec<StoredKeySet>> {
    if shown.iter().any(|c| c.key.jwks_uri().is_some()) {
        Ok(credentials::key_set_states(&state.tenant, client_id).await?)
    } else {
        Ok(Vec::new())
    }
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:client_credentials"])?;
    let c = credentials::create(&state.tenant, &id, body.into(), state.clock.now()).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok((StatusCode::CREATED, Json(view(&c, &key_sets))))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    let found = credentials::list(&state.tenant, &id).await?;
    let key_sets = key_sets_for(&state, &id, &found.iter().collect::<Vec<_>>()).await?;
    Ok(Json(Value::Array(
        found.iter().map(|c| view(c, &key_sets)).collect(),
    )))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    let c = credentials::get(&state.tenant, &id, &credential_id).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok(Json(view(&c, &key_sets)))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CredentialPatchBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:client_credentials"])?;
    let body = CredentialPatch::try_from(body)?;
    let c =
        credentials::update(&state.tenant, &id, &credential_id, body, state.clock.now()).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok(Json(view(&c, &key_sets)))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:client_credentials"])?;
    credentials::delete(&state.tenant, &id, &credential_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
