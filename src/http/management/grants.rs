//! `/api/v2/client-grants`: which application may get tokens for which API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::{GrantBody, GrantPatchBody};
use super::{listing, parse_page};
use crate::domain::grant::ClientGrant;
use crate::domain::grant::GrantFilter as Filter;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiQuery, Principal};
use crate::tenant::grants;

pub fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/client-grants", get(list).post(create))
        .route(
            "/client-grants/{id}",
            get(read).patch(update).delete(remove),
        )
}

fn view(g: &ClientGrant) -> Value {
    json!({
        "id": g.id,
        "client_id": g.client_id,
        "audience": g.audience,
        "scope": g.scope,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    include_totals: Option<bool>,
    audience: Option<String>,
    client_id: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_grants"])?;
    let page = parse_page(q.page, q.per_page)?;
    let filter = Filter {
        audience: q.audience,
        client_id: q.client_id,
    };
    let found = grants::list(
        &state.tenant,
        &filter,
        page,
        q.include_totals.unwrap_or(false),
    )
    .await?;
    Ok(Json(listing(found, page, "client_grants", view)))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_grants"])?;
    Ok(Json(view(&grants::get(&state.tenant, &id).await?)))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<GrantBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:client_grants"])?;
    let g = grants::create(&state.tenant, body.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&g))))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantPatchBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:client_grants"])?;
    Ok(Json(view(
        &grants::update(&state.tenant, &id, body.into()).await?,
    )))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:client_grants"])?;
    grants::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
