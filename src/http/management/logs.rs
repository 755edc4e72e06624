//! `/api/v2/logs`: token endpoint events (`seccft`, `feccft`): searched (Auth0's `q`, `sort`,
//! pages; newest first by default) or read by checkpoint (`from`/`take`, oldest first).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{listing, parse_page, select_fields};
use crate::domain::log::{LogEvent, LogFilter as Filter, LogOrder};
use crate::domain::log_query::LogQuery;
use crate::domain::paging::parse_take;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
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
    /// Auth0's log search syntax, the subset in `crate::domain::log_query`.
    q: Option<String>,
    sort: Option<String>,
    fields: Option<String>,
    include_fields: Option<bool>,
    /// Checkpoint paging: events after this log id, oldest first.
    from: Option<String>,
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

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:logs"])?;
    Ok(Json(view(&logs::get(&state.tenant, &id).await?)))
}
