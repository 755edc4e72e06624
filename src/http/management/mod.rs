//! The Management API (`/api/v2/…`): Auth0's routes, shapes, status codes and scopes.

// Before the modules: they use it.
/// Documents a list answer: a plain array, or with `include_totals=true` Auth0's page object
/// `{"total","start","limit","<name>":[…]}` ([`listing`] writes both).
macro_rules! list_schema {
    ($list:ident, $page:ident, $name:ident, $item:ty) => {
        /// A plain array, or with `include_totals=true` a page object.
        #[derive(serde::Serialize, utoipa::ToSchema)]
        #[serde(untagged)]
        #[allow(dead_code, reason = "documentation only: `listing` writes the answer")]
        enum $list {
            Plain(Vec<$item>),
            Paged($page),
        }

        #[derive(serde::Serialize, utoipa::ToSchema)]
        #[allow(dead_code, reason = "documentation only: `listing` writes the answer")]
        struct $page {
            /// How many items match, over all pages.
            total: i64,
            /// The offset of the first item shown.
            start: i64,
            /// The page size.
            limit: i64,
            $name: Vec<$item>,
        }
    };
}

mod clients;
mod credentials;
mod dto;
mod grants;
mod logs;
mod resource_servers;
mod signing_keys;
mod tenant_settings;

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::error::ApiError;
use crate::domain::paging::Page;
use crate::tenant::Listing;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(clients::router())
        .merge(credentials::router())
        .merge(resource_servers::router())
        .merge(signing_keys::router())
        .merge(grants::router())
        .merge(logs::router())
        .merge(tenant_settings::router())
}

// Query structs list these fields themselves: `#[serde(flatten)]` would turn numbers into
// strings under serde_urlencoded and cannot be combined with `deny_unknown_fields`.
fn parse_page(page: Option<i64>, per_page: Option<i64>) -> Result<Page, ApiError> {
    Page::parse(page, per_page).map_err(|e| ApiError::invalid_query(e.to_string()))
}

/// Refuses an Auth0 parameter signet does not implement, naming it and saying why, rather than
/// answering as if it had been applied (or with serde's "unknown field").
fn refuse_unsupported(parameter: &str, present: bool, why: &str) -> Result<(), ApiError> {
    if present {
        return Err(ApiError::invalid_query(format!(
            "Query validation error: signet does not support the parameter {parameter}: {why}"
        )));
    }
    Ok(())
}

/// A list answer: a plain array, or Auth0's `{"total","start","limit","<name>":[…]}`.
fn listing<T>(listing: Listing<T>, page: Page, name: &str, view: impl Fn(&T) -> Value) -> Value {
    let items: Vec<Value> = listing.items.iter().map(view).collect();
    match listing.total {
        None => Value::Array(items),
        Some(total) => json!({
            "total": total,
            "start": page.offset(),
            "limit": page.per_page,
            name: items,
        }),
    }
}

/// A typed view as JSON, for `fields` to filter and `listing` to wrap.
fn to_json(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("views hold only strings, numbers, booleans and maps")
}

/// Auth0's `fields` + `include_fields`: keep (or drop) the named top-level properties.
fn select_fields(value: Value, fields: Option<&str>, include: bool) -> Value {
    let Some(fields) = fields.filter(|f| !f.is_empty()) else {
        return value;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| wanted.contains(&k.as_str()) == include)
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_kept_or_dropped() {
        let v = json!({"a": 1, "b": 2, "c": 3});
        assert_eq!(
            select_fields(v.clone(), Some("a,c"), true),
            json!({"a": 1, "c": 3})
        );
        assert_eq!(
            select_fields(v.clone(), Some("a"), false),
            json!({"b": 2, "c": 3})
        );
        assert_eq!(select_fields(v.clone(), None, true), v);
    }
}
