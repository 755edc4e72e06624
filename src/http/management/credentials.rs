//! `/api/v2/clients/{id}/credentials`: an application's Private Key JWT credentials (BEHAVIOUR A.1).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{CredentialBody, CredentialPatchBody};
use crate::crypto::alg::AssertionAlg;
use crate::domain::credential::{Credential, CredentialKey, CredentialPatch};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, Principal};
use crate::http::openapi::ManagementErrors;
use crate::store::key_sets::StoredKeySet;
use crate::tenant::credentials;
use crate::time_util::format_millis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// Auth0's credential object; never the key material. A `jwks_uri` credential (a signet
/// extension) shows its URL and how its set was last fetched instead of a kid and alg.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Credential)]
pub struct CredentialView {
    id: String,
    name: String,
    /// `public_key`, `x509_cert`, or (a signet extension) `jwks_uri`.
    credential_type: &'static str,
    created_at: String,
    updated_at: String,
    expires_at: Option<String>,
    /// When the credential last signed an accepted assertion, to the minute.
    #[schema(extensions(("x-signet-extension" = json!(true))))]
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    alg: Option<AssertionAlg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    jwks: Option<KeySetView>,
}

/// How a `jwks_uri` credential's set was last fetched: when, the kids it held, and the last
/// error if the last fetch failed.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = CredentialKeySet)]
struct KeySetView {
    fetched_at: Option<String>,
    fresh_until: Option<String>,
    kids: Vec<String>,
    last_error: Option<String>,
    last_error_at: Option<String>,
}

pub fn typed_view(c: &Credential, key_sets: &[StoredKeySet]) -> CredentialView {
    let mut v = CredentialView {
        id: c.id.clone(),
        name: c.name.clone(),
        credential_type: c.key.credential_type(),
        created_at: format_millis(c.created_at),
        updated_at: format_millis(c.updated_at),
        expires_at: c.expires_at.map(format_millis),
        last_used_at: c.last_used_at.map(format_millis),
        kid: None,
        alg: None,
        jwks_uri: None,
        jwks: None,
    };
    match &c.key {
        CredentialKey::Uploaded(key) => {
            v.kid = Some(key.kid.clone());
            v.alg = Some(key.alg);
        }
        CredentialKey::JwksUri(uri) => {
            v.jwks_uri = Some(uri.clone());
            v.jwks = Some(key_set_view(
                key_sets.iter().find(|s| s.credential_id == c.id),
            ));
        }
    }
    v
}

fn view(c: &Credential, key_sets: &[StoredKeySet]) -> Value {
    super::to_json(&typed_view(c, key_sets))
}

fn key_set_view(state: Option<&StoredKeySet>) -> KeySetView {
    match state {
        None => KeySetView::default(),
        Some(s) => KeySetView {
            fetched_at: s.fetched_at.map(format_millis),
            fresh_until: s.fresh_until.map(format_millis),
            kids: s.kids.clone(),
            last_error: s.last_error.clone(),
            last_error_at: s.last_error_at.map(format_millis),
        },
    }
}

/// The fetch states a view of `shown` needs: read only when one is a `jwks_uri` credential.
async fn key_sets_for(
    state: &AppState,
    client_id: &str,
    shown: &[&Credential],
) -> ApiResult<Vec<StoredKeySet>> {
    if shown.iter().any(|c| c.key.jwks_uri().is_some()) {
        Ok(credentials::key_set_states(&state.tenant, client_id).await?)
    } else {
        Ok(Vec::new())
    }
}

#[utoipa::path(post, path = "/clients/{id}/credentials", tag = "credentials",
    description = "Adds a credential to the application. It is not used until associated through \
                   the application's `client_authentication_methods`.",
    params(("id" = String, Path, description = "The application's client_id")),
    request_body = CredentialBody,
    responses((status = 201, body = CredentialView), ManagementErrors),
    security(("management_token" = ["create:client_credentials"])))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:client_credentials"])?;
    let c = credentials::create(&state.tenant, &id, body.into(), state.clock.now()).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok((StatusCode::CREATED, Json(view(&c, &key_sets))))
}

#[utoipa::path(get, path = "/clients/{id}/credentials", tag = "credentials",
    params(("id" = String, Path, description = "The application's client_id")),
    responses((status = 200, body = Vec<CredentialView>), ManagementErrors),
    security(("management_token" = ["read:client_credentials"])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    let found = credentials::list(&state.tenant, &id).await?;
    let key_sets = key_sets_for(&state, &id, &found.iter().collect::<Vec<_>>()).await?;
    Ok(Json(Value::Array(
        found.iter().map(|c| view(c, &key_sets)).collect(),
    )))
}

#[utoipa::path(get, path = "/clients/{id}/credentials/{credential_id}", tag = "credentials",
    params(("id" = String, Path, description = "The application's client_id"), ("credential_id" = String, Path, description = "The credential's id")),
    responses((status = 200, body = CredentialView), ManagementErrors),
    security(("management_token" = ["read:client_credentials"])))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["read:client_credentials"])?;
    let c = credentials::get(&state.tenant, &id, &credential_id).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok(Json(view(&c, &key_sets)))
}

#[utoipa::path(patch, path = "/clients/{id}/credentials/{credential_id}", tag = "credentials",
    description = "Changes a credential's `expires_at`, the only field that can change.",
    params(("id" = String, Path, description = "The application's client_id"), ("credential_id" = String, Path, description = "The credential's id")),
    request_body = CredentialPatchBody,
    responses((status = 200, body = CredentialView), ManagementErrors),
    security(("management_token" = ["update:client_credentials"])))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CredentialPatchBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:client_credentials"])?;
    let body = CredentialPatch::try_from(body)?;
    let c =
        credentials::update(&state.tenant, &id, &credential_id, body, state.clock.now()).await?;
    let key_sets = key_sets_for(&state, &id, &[&c]).await?;
    Ok(Json(view(&c, &key_sets)))
}

#[utoipa::path(delete, path = "/clients/{id}/credentials/{credential_id}", tag = "credentials",
    params(("id" = String, Path, description = "The application's client_id"), ("credential_id" = String, Path, description = "The credential's id")),
    responses((status = 204, description = "Deleted"), ManagementErrors),
    security(("management_token" = ["delete:client_credentials"])))]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, credential_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:client_credentials"])?;
    credentials::delete(&state.tenant, &id, &credential_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
