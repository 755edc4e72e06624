//! `/api/v2/resource-servers`: APIs.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{ResourceServerBody, ResourceServerPatchBody};
use super::{listing, parse_page};
use crate::domain::resource_server::{ResourceServer, ResourceServerFilter};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Principal};
use crate::http::openapi::ManagementErrors;
use crate::tenant::resource_servers;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// Who may see an API's HS256 `signing_secret` (BEHAVIOUR A.10): the caller that created it or
/// just set it, and otherwise only a token that may read secrets.
const READ_SECRETS: &str = "read:client_keys";

/// Auth0's resource server (API) object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResourceServer)]
struct ResourceServerView {
    id: String,
    name: String,
    /// The audience tokens for this API carry.
    identifier: String,
    scopes: Vec<ScopeView>,
    /// `RS256`, `PS256` or `HS256`.
    signing_alg: &'static str,
    /// `access_token` or `access_token_authz`.
    token_dialect: &'static str,
    token_lifetime: i64,
    /// The built-in Management API: not deletable, identifier and scopes fixed.
    is_system: bool,
    /// HS256's key: shown to the caller that set it, and otherwise only with `read:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    signing_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResourceServerScope)]
struct ScopeView {
    value: String,
    description: String,
}

list_schema!(
    ResourceServerList,
    ResourceServerPage,
    resource_servers,
    ResourceServerView
);

fn view(rs: &ResourceServer, show_secret: bool) -> Value {
    super::to_json(&ResourceServerView {
        id: rs.id.clone(),
        name: rs.name.clone(),
        identifier: rs.identifier.clone(),
        scopes: rs
            .scopes
            .iter()
            .map(|s| ScopeView {
                value: s.value.clone(),
                description: s.description.clone(),
            })
            .collect(),
        signing_alg: rs.signing_alg.as_str(),
        token_dialect: rs.token_dialect.as_str(),
        token_lifetime: rs.token_lifetime,
        is_system: rs.is_system,
        signing_secret: rs
            .signing_secret
            .as_ref()
            .filter(|_| show_secret)
            .map(|s| s.expose().to_owned()),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
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
    /// Auth0 documents it for this call, without a `fields` to apply it to: accepted, and
    /// nothing to do.
    #[serde(rename = "include_fields")]
    _include_fields: Option<bool>,
    /// Repeatable (`identifiers=a&identifiers=b`), which serde_urlencoded cannot collect:
    /// gathered by [`ListQuery::parse`].
    #[serde(skip)]
    identifiers: Vec<String>,
}

impl ListQuery {
    fn parse(query: &str) -> Result<Self, ApiError> {
        let mut identifiers = Vec::new();
        let mut others = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if key == "identifiers" {
                identifiers.push(value.into_owned());
            } else {
                others.append_pair(&key, &value);
            }
        }
        let mut q: Self = serde_urlencoded::from_str(&others.finish())
            .map_err(|e| ApiError::invalid_query(format!("Query validation error: {e}")))?;
        q.identifiers = identifiers;
        Ok(q)
    }
}

#[utoipa::path(get, path = "/resource-servers", tag = "resource-servers",
    params(ListQuery,
           ("identifiers" = Option<Vec<String>>, Query, explode,
            description = "Only these API identifiers; repeat the parameter for each (at most 10)")),
    responses((status = 200, body = ResourceServerList), ManagementErrors),
    security(("management_token" = ["read:resource_servers"])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:resource_servers"])?;
    let q = ListQuery::parse(raw.as_deref().unwrap_or_default())?;
    let page = parse_page(q.page, q.per_page)?;
    let filter = ResourceServerFilter::parse(q.identifiers)
        .map_err(|e| ApiError::invalid_query(format!("Query validation error: {e}")))?;
    let found = resource_servers::list(
        &state.tenant,
        &filter,
        page,
        q.include_totals.unwrap_or(false),
    )
    .await?;
    let show = principal.has(READ_SECRETS);
    Ok(Json(listing(found, page, "resource_servers", |rs| {
        view(rs, show)
    })))
}

#[utoipa::path(get, path = "/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The API's id")),
    responses((status = 200, body = ResourceServerView), ManagementErrors),
    security(("management_token" = ["read:resource_servers"])))]
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

#[utoipa::path(post, path = "/resource-servers", tag = "resource-servers",
    request_body = ResourceServerBody,
    responses((status = 201, body = ResourceServerView), ManagementErrors),
    security(("management_token" = ["create:resource_servers"])))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ResourceServerBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:resource_servers"])?;
    let rs = resource_servers::create(&state.tenant, body.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&rs, true))))
}

#[utoipa::path(patch, path = "/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The API's id")),
    request_body = ResourceServerPatchBody,
    responses((status = 200, body = ResourceServerView), ManagementErrors),
    security(("management_token" = ["update:resource_servers"])))]
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

#[utoipa::path(delete, path = "/resource-servers/{id}", tag = "resource-servers",
    params(("id" = String, Path, description = "The API's id")),
    responses((status = 204, description = "Deleted"), ManagementErrors),
    security(("management_token" = ["delete:resource_servers"])))]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:resource_servers"])?;
    resource_servers::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
