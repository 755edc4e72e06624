//! `/api/v2/client-grants`: which application may get tokens for which API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::{GrantBody, GrantPatchBody};
use super::{listing, parse_page, refuse_unsupported};
use crate::domain::grant::GrantFilter as Filter;
use crate::domain::grant::{ClientGrant, subject_type_matches};
use crate::domain::paging::parse_take;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
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
    /// Only `client` matches: every signet grant lets an application act as itself.
    subject_type: Option<String>,
    /// Checkpoint paging: grants after this grant id (Auth0's opaque `next`).
    from: Option<String>,
    take: Option<i64>,
    /// Auth0 parameters signet refuses (see `list`).
    allow_any_organization: Option<String>,
    default_for: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_grants"])?;
    refuse_unsupported(
        "allow_any_organization",
        q.allow_any_organization.is_some(),
        "signet has no organizations",
    )?;
    refuse_unsupported(
        "default_for",
        q.default_for.is_some(),
        "signet has no default grants; every grant names its application",
    )?;
    let matches = match q.subject_type.as_deref() {
        None => true,
        Some(t) => subject_type_matches(t)
            .map_err(|e| ApiError::invalid_query(format!("Query validation error: {e}")))?,
    };
    let filter = Filter {
        audience: q.audience,
        client_id: q.client_id,
        nothing: !matches,
    };
    if q.from.is_some() || q.take.is_some() {
        let paged = [
            ("page", q.page.is_some()),
            ("per_page", q.per_page.is_some()),
            ("include_totals", q.include_totals.is_some()),
        ];
        if let Some((name, _)) = paged.iter().find(|(_, present)| *present) {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: from and take (checkpoint paging) cannot be combined \
                 with {name}"
            )));
        }
        let take = parse_take(q.take).map_err(|e| ApiError::invalid_query(e.to_string()))?;
        let from = q.from.as_deref().filter(|f| !f.is_empty());
        let Some((items, next)) = grants::list_after(&state.tenant, &filter, from, take).await?
        else {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: from names no client grant ({:?})",
                from.unwrap_or_default()
            )));
        };
        let mut body = json!({"client_grants": items.iter().map(view).collect::<Vec<_>>()});
        if let Some(next) = next {
            body["next"] = next.into();
        }
        return Ok(Json(body));
    }
    let page = parse_page(q.page, q.per_page)?;
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
