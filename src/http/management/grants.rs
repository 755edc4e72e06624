//! `/api/v2/client-grants`: which application may get tokens for which API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{GrantBody, GrantPatchBody};
use super::{listing, parse_page, refuse_unsupported};
use crate::domain::grant::GrantFilter as Filter;
use crate::domain::grant::{ClientGrant, subject_type_matches};
use crate::domain::paging::parse_take;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, Principal};
use crate::http::openapi::ManagementErrors;
use crate::tenant::grants;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// Auth0's client grant: an application may get tokens for an API, with these scopes.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientGrant)]
struct GrantView {
    id: String,
    client_id: String,
    audience: String,
    scope: Vec<String>,
}

list_schema!(GrantList, GrantPage, client_grants, GrantView);

/// What `GET /client-grants` answers: a list, or with `from`/`take` a checkpoint page.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "documentation only: `list` writes the answer")]
enum GrantListAnswer {
    Listed(GrantList),
    Checkpoint(GrantCheckpoint),
}

/// A checkpoint page: the grants after `from`, and where the next page starts.
#[derive(Serialize, ToSchema)]
// Only for the schema: it says that a page holds these members and no other.
#[serde(deny_unknown_fields)]
struct GrantCheckpoint {
    client_grants: Vec<GrantView>,
    /// Pass as `from` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next: Option<String>,
}

fn grant_view(g: &ClientGrant) -> GrantView {
    GrantView {
        id: g.id.clone(),
        client_id: g.client_id.clone(),
        audience: g.audience.clone(),
        scope: g.scope.clone(),
    }
}

fn view(g: &ClientGrant) -> Value {
    super::to_json(&grant_view(g))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The page, from 0.
    #[param(minimum = 0, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
    /// Answer with a page object holding the total instead of a plain array.
    include_totals: Option<bool>,
    /// Only grants for this API identifier.
    audience: Option<String>,
    /// Only grants of this application.
    client_id: Option<String>,
    /// Only `client` matches: every signet grant lets an application act as itself.
    subject_type: Option<String>,
    /// Checkpoint paging: grants after this grant id (Auth0's opaque `next`).
    from: Option<String>,
    /// Checkpoint page size (1–100, default 50).
    take: Option<i64>,
    /// Refused: signet has no organizations.
    allow_any_organization: Option<String>,
    /// Refused: signet has no default grants.
    default_for: Option<String>,
}

#[utoipa::path(get, path = "/client-grants", tag = "client-grants",
    params(ListQuery),
    responses((status = 200, body = GrantListAnswer), ManagementErrors),
    security(("management_token" = ["read:client_grants"])))]
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
        return Ok(Json(super::to_json(&GrantCheckpoint {
            client_grants: items.iter().map(grant_view).collect(),
            next,
        })));
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

#[utoipa::path(get, path = "/client-grants/{id}", tag = "client-grants",
    params(("id" = String, Path, description = "The grant's id")),
    responses((status = 200, body = GrantView), ManagementErrors),
    security(("management_token" = ["read:client_grants"])))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_grants"])?;
    Ok(Json(view(&grants::get(&state.tenant, &id).await?)))
}

#[utoipa::path(post, path = "/client-grants", tag = "client-grants",
    request_body = GrantBody,
    responses((status = 201, body = GrantView), ManagementErrors),
    security(("management_token" = ["create:client_grants"])))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<GrantBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:client_grants"])?;
    let g = grants::create(&state.tenant, body.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&g))))
}

#[utoipa::path(patch, path = "/client-grants/{id}", tag = "client-grants",
    params(("id" = String, Path, description = "The grant's id")),
    request_body = GrantPatchBody,
    responses((status = 200, body = GrantView), ManagementErrors),
    security(("management_token" = ["update:client_grants"])))]
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

#[utoipa::path(delete, path = "/client-grants/{id}", tag = "client-grants",
    params(("id" = String, Path, description = "The grant's id")),
    responses((status = 204, description = "Deleted"), ManagementErrors),
    security(("management_token" = ["delete:client_grants"])))]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:client_grants"])?;
    grants::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
