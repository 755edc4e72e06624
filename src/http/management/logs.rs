//! `/api/v2/logs`: token endpoint events (`seccft`, `feccft`): searched (Auth0's `q`, `sort`,
//! pages; newest first by default) or read by checkpoint (`from`/`take`, oldest first).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{listing, parse_page, select_fields};
use crate::domain::log::{LogEvent, LogFilter as Filter, LogOrder};
use crate::domain::log_query::LogQuery;
use crate::domain::paging::parse_take;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
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
    /// Auth0's log search syntax, the subset in the README ("Lists: filters, log search and
    /// checkpoints"): `type:feccft`, `client_id:"…"`, `date:[2026-01-01 TO *]`, `AND`.
    #[param(max_length = 1024)]
    q: Option<String>,
    /// `date:-1` (newest first, the default) or `date:1`.
    sort: Option<String>,
    /// Comma-separated properties to include (or, with `include_fields=false`, to leave out).
    fields: Option<String>,
    /// Whether `fields` lists the properties to include (default) or to leave out.
    include_fields: Option<bool>,
    /// Checkpoint paging: events after this log id, oldest first (a plain array, and a `Link`
    /// header to the next page). Not combined with the search parameters.
    from: Option<String>,
    /// Checkpoint page size (1–100, default 50).
    take: Option<i64>,
}

impl ListQuery {
    /// The search parameters present, which checkpoint paging does not combine with. Auth0
    /// ignores them next to `from`/`take`; signet refuses them, so that no filter or order
    /// the caller asked for is silently dropped.
    fn search_parameters(&self) -> Vec<&'static str> {
        [
            ("q", self.q.is_some()),
            ("sort", self.sort.is_some()),
            ("page", self.page.is_some()),
            ("per_page", self.per_page.is_some()),
            ("include_totals", self.include_totals.is_some()),
            ("type", self.kind.is_some()),
            ("client_id", self.client_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

#[utoipa::path(get, path = "/logs", tag = "logs",
    description = "Token endpoint events: searched and paged (newest first by default), or \
                   read by checkpoint with `from`/`take` (oldest first).",
    params(ListQuery),
    responses((status = 200, body = LogList), ManagementErrors),
    security(("management_token" = ["read:logs"])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    principal.require_any(&["read:logs"])?;
    let include = q.include_fields.unwrap_or(true);
    let shown = |e: &LogEvent| select_fields(view(e), q.fields.as_deref(), include);
    if q.from.is_some() || q.take.is_some() {
        let refused = q.search_parameters();
        if !refused.is_empty() {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: from and take (checkpoint paging) cannot be combined \
                 with {}; page through everything with from/take and filter on your side, or \
                 search without from/take",
                refused.join(", ")
            )));
        }
        let take = parse_take(q.take).map_err(|e| ApiError::invalid_query(e.to_string()))?;
        let from = q.from.as_deref().filter(|f| !f.is_empty());
        let Some(events) = logs::after(&state.tenant, from, take).await? else {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: from names no kept log event ({:?}); it may have \
                 been pruned. Leave out from to read from the oldest kept event",
                from.unwrap_or_default()
            )));
        };
        // Auth0 answers checkpoint pages with the next page's URL; with nothing new, it is the
        // same URL again.
        let next = events.last().map(|e| e.id.as_str()).or(from);
        let mut link = format!("{}api/v2/logs?", state.tenant.issuer.as_str());
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        if let Some(next) = next {
            params.append_pair("from", next);
        }
        params.append_pair("take", &take.to_string());
        link.push_str(&params.finish());
        let body: Vec<Value> = events.iter().map(shown).collect();
        let mut response = Json(Value::Array(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&format!("<{link}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, value);
        }
        return Ok(response);
    }
    let page = parse_page(q.page, q.per_page)?;
    let order = match q.sort.as_deref() {
        None => LogOrder::default(),
        Some(sort) => LogOrder::parse(sort).map_err(|e| ApiError::invalid_query(e.to_string()))?,
    };
    let query = match q.q.as_deref() {
        None => LogQuery::default(),
        Some(text) => LogQuery::parse(text).map_err(|e| ApiError::invalid_query(e.to_string()))?,
    };
    let filter = Filter {
        kind: q.kind.clone(),
        client_id: q.client_id.clone(),
        query,
        ..Filter::default()
    };
    let found = logs::list(
        &state.tenant,
        &filter,
        order,
        page,
        q.include_totals.unwrap_or(false),
    )
    .await?;
    Ok(Json(listing(found, page, "logs", shown)).into_response())
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
