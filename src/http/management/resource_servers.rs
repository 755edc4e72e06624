//! `/api/v2/resource-servers`: APIs.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::{ResourceServerBody, ResourceServerPatchBody};
use super::{listing, parse_page};
use crate::domain::resource_server::{ResourceServer, ResourceServerFilter};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Principal};
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
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
