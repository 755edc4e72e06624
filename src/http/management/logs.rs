//! `/api/v2/logs`: token endpoint events (`seccft`, `feccft`), newest first.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{listing, parse_page};
use crate::domain::log::{LogEvent, LogFilter as Filter};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiQuery, Principal};
use crate::http::openapi::ManagementErrors;
use crate::tenant::logs;
use crate::time_util::format_millis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
}

/// Auth0's log event. Fields filtered out by `fields` are left out, so none is required.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LogEvent)]
struct LogView {
    #[schema(required = false)]
    log_id: String,
    #[schema(required = false)]
    date: String,
    /// `seccft` (a token was issued) or `feccft` (a token request was refused).
    #[serde(rename = "type")]
    #[schema(required = false)]
    kind: String,
    #[schema(required = false)]
    description: String,
    #[schema(required = false)]
    client_id: Option<String>,
    #[schema(required = false)]
    client_name: Option<String>,
    #[schema(required = false)]
    audience: Option<String>,
    #[schema(required = false)]
    scope: Option<String>,
    #[schema(required = false)]
    ip: Option<String>,
    #[schema(required = false)]
    user_agent: Option<String>,
    /// The refusal's reason code and the credential used, when known.
    #[schema(required = false, value_type = Object)]
    details: serde_json::Value,
}

list_schema!(LogList, LogPage, logs, LogView);

fn view(e: &LogEvent) -> Value {
    super::to_json(&LogView {
        log_id: e.id.clone(),
        date: format_millis(e.date),
        kind: e.kind.clone(),
        description: e.description.clone(),
        client_id: e.client_id.clone(),
        client_name: e.client_name.clone(),
        audience: e.audience.clone(),
        scope: e.scope.clone(),
        ip: e.ip.clone(),
        user_agent: e.user_agent.clone(),
        details: e.details.clone(),
    })
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
    /// Only events of this type (`seccft`, `feccft`).
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Only events of this application.
    client_id: Option<String>,
}

#[utoipa::path(get, path = "/logs", tag = "logs",
    description = "Token endpoint events, newest first.",
    params(ListQuery),
    responses((status = 200, body = LogList), ManagementErrors),
    security(("management_token" = ["read:logs"])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:logs"])?;
    let page = parse_page(q.page, q.per_page)?;
    let filter = Filter {
        kind: q.kind,
        client_id: q.client_id,
    };
    let found = logs::list(
        &state.tenant,
        &filter,
        page,
        q.include_totals.unwrap_or(false),
    )
    .await?;
    Ok(Json(listing(found, page, "logs", view)))
}

#[utoipa::path(get, path = "/logs/{id}", tag = "logs",
    params(("id" = String, Path, description = "The event's log_id")),
    responses((status = 200, body = LogView), ManagementErrors),
    security(("management_token" = ["read:logs"])))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:logs"])?;
    Ok(Json(view(&logs::get(&state.tenant, &id).await?)))
}
