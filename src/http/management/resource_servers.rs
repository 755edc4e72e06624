//! `/api/v2/resource-servers`: APIs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::dto::{ResourceServerBody, ResourceServerPatchBody};
use super::{PageQuery, listing};
use crate::domain::resource_server::ResourceServer;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiQuery, Principal};
use crate::tenant::resource_servers;

pub fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/resource-servers", get(list).post(create))
        .route(
            "/resource-servers/{id}",
            get(read).patch(update).delete(remove),
        )
}

/// Who may see an API's HS256 `signing_secret` (BEHAVIOUR A.10): the caller that created it or
/// just set it, and otherwise only a token that may read secrets.
const READ_SECRETS: &str = "read:client_keys";

fn view(rs: &ResourceServer, show_secret: bool) -> Value {
    let mut v = json!({
        "id": rs.id,
        "name": rs.name,
        "identifier": rs.identifier,
        "scopes": rs.scopes,
        "signing_alg": rs.signing_alg.as_str(),
        "token_dialect": rs.token_dialect.as_str(),
        "token_lifetime": rs.token_lifetime,
        "is_system": rs.is_system,
    });
    if show_secret && let Some(secret) = &rs.signing_secret {
        v["signing_secret"] = secret.expose().into();
    }
    v
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:resource_servers"])?;
    let page = q.page()?;
    let found =
        resource_servers::list(&state.tenant, page, q.include_totals.unwrap_or(false)).await?;
    let show = principal.has(READ_SECRETS);
    Ok(Json(listing(found, page, "resource_servers", |rs| {
        view(rs, show)
    })))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:resource_servers"])?;
    Ok(Json(view(
        &resource_servers::get(&state.tenant, &id).await?,
        principal.has(READ_SECRETS),
    )))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ResourceServerBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:resource_servers"])?;
    let rs = resource_servers::create(&state.tenant, body.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&rs, true))))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResourceServerPatchBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:resource_servers"])?;
    let sets_secret = body.signing_secret.is_some();
    let rs = resource_servers::update(&state.tenant, &id, body.into(), state.clock.now()).await?;
    Ok(Json(view(&rs, sets_secret || principal.has(READ_SECRETS))))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:resource_servers"])?;
    resource_servers::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
