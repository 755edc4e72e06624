//! `/api/v2/clients/{id}/credentials`: an application's Private Key JWT credentials (BEHAVIOUR A.1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::dto::{CredentialBody, CredentialPatchBody};
use crate::domain::credential::{CREDENTIAL_TYPE, Credential, CredentialPatch};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Principal};
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

/// Auth0's credential object; never the key material.
pub fn view(c: &Credential) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "kid": c.kid,
        "alg": c.alg.as_str(),
        "credential_type": CREDENTIAL_TYPE,
        "created_at": format_millis(c.created_at),
        "updated_at": format_millis(c.updated_at),
        "expires_at": c.expires_at.map(format_millis),
        // An extra field (Auth0's SDKs ignore unknown ones), updated at most once a minute.
        "last_used_at": c.last_used_at.map(format_millis),
    })
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:client_credentials"])?;
    let c = credentials::create(&state.tenant, &id, body.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&c))))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    let found = credentials::list(&state.tenant, &id).await?;
    Ok(Json(Value::Array(found.iter().map(view).collect())))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    Ok(Json(view(
        &credentials::get(&state.tenant, &id, &credential_id).await?,
    )))
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
    Ok(Json(view(&c)))
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
