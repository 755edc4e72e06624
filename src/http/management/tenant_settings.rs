//! `/api/v2/tenants/settings`: the tenant's default token quota (Auth0's shape).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::dto::TenantSettingsBody;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Principal};
use crate::tenant::tenant_settings::{self, TenantSettings, TenantSettingsPatch};

pub fn router() -> axum::Router<AppState> {
    Router::new().route("/tenants/settings", get(read).patch(update))
}

/// Auth0 leaves unset settings out.
fn view(s: &TenantSettings) -> Value {
    let mut v = json!({});
    if let Some(q) = &s.default_client_quota {
        v["default_token_quota"] = json!({"clients": {"client_credentials": q}});
    }
    v
}

async fn read(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:tenant_settings"])?;
    Ok(Json(view(&tenant_settings::get(&state.tenant).await?)))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<TenantSettingsBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:tenant_settings"])?;
    let patch = TenantSettingsPatch::try_from(body)?;
    Ok(Json(view(
        &tenant_settings::update(&state.tenant, patch).await?,
    )))
}
