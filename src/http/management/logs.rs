//! `/api/v2/logs`: token endpoint events (`seccft`, `feccft`), newest first.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{listing, parse_page};
use crate::domain::log::{LogEvent, LogFilter as Filter};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiQuery, Principal};
use crate::tenant::logs;
use crate::time_util::format_millis;

pub fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/logs", get(list))
        .route("/logs/{id}", get(read))
}

fn view(e: &LogEvent) -> Value {
    json!({
        "log_id": e.id,
        "date": format_millis(e.date),
        "type": e.kind,
        "description": e.description,
        "client_id": e.client_id,
        "client_name": e.client_name,
        "audience": e.audience,
        "scope": e.scope,
        "ip": e.ip,
        "user_agent": e.user_agent,
        "details": e.details,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    include_totals: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    client_id: Option<String>,
}

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

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:logs"])?;
    Ok(Json(view(&logs::get(&state.tenant, &id).await?)))
}
