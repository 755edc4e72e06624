//! `/api/v2/tenants/settings`: the tenant's default token quota (Auth0's shape).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::TenantSettingsBody;
use crate::domain::token_quota::TokenQuota;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Principal};
use crate::http::openapi::ManagementErrors;
use crate::tenant::tenant_settings::{self, TenantSettings, TenantSettingsPatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, update))
}

/// The settings signet has; Auth0 leaves unset settings out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TenantSettings)]
struct SettingsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    default_token_quota: Option<DefaultQuotaView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DefaultTokenQuota)]
struct DefaultQuotaView {
    /// The quota of every application without one of its own.
    clients: ClientsQuotaView,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DefaultClientsTokenQuota)]
struct ClientsQuotaView {
    client_credentials: TokenQuota,
}

fn view(s: &TenantSettings) -> SettingsView {
    SettingsView {
        default_token_quota: s.default_client_quota.map(|q| DefaultQuotaView {
            clients: ClientsQuotaView {
                client_credentials: q,
            },
        }),
    }
}

#[utoipa::path(get, path = "/tenants/settings", tag = "tenant-settings",
    responses((status = 200, body = SettingsView), ManagementErrors),
    security(("management_token" = ["read:tenant_settings"])))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<SettingsView>> {
    principal.require_any(&["read:tenant_settings"])?;
    Ok(Json(view(&tenant_settings::get(&state.tenant).await?)))
}

#[utoipa::path(patch, path = "/tenants/settings", tag = "tenant-settings",
    request_body = TenantSettingsBody,
    responses((status = 200, body = SettingsView), ManagementErrors),
    security(("management_token" = ["update:tenant_settings"])))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<TenantSettingsBody>,
) -> ApiResult<Json<SettingsView>> {
    principal.require_any(&["update:tenant_settings"])?;
    let patch = TenantSettingsPatch::try_from(body)?;
    Ok(Json(view(
        &tenant_settings::update(&state.tenant, patch).await?,
    )))
}
