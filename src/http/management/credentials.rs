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
use crate::domain::federated::{FederatedKeys, FederatedRule, Preset, ReplayMode};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Principal};
use crate::http::openapi::ManagementErrors;
use crate::oauth::token::federated_explain::Explanation;
use crate::store::key_sets::StoredKeySet;
use crate::tenant::ManagementError;
use crate::tenant::credentials;
use crate::time_util::format_millis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(explain_federated))
}

/// A workload platform's token to test against an application's federated credentials.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FederatedTokenTest)]
struct FederatedTokenBody {
    /// The platform token, exactly as the workload would send it as `client_assertion`.
    #[schema(min_length = 1, max_length = 8192)]
    token: String,
}

#[utoipa::path(post, path = "/clients/{id}/federated/explain", tag = "credentials",
    description = "A signet extension: runs every check the token endpoint would run on a \
                   workload platform's token for this application's federated credentials and \
                   reports each one. Nothing is consumed or recorded: the token still works \
                   afterwards.",
    params(("id" = String, Path, description = "The application's client_id")),
    request_body = FederatedTokenBody,
    responses((status = 200, body = Explanation), ManagementErrors),
    security(("management_token" = ["read:client_credentials"])))]
async fn explain_federated(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FederatedTokenBody>,
) -> ApiResult<Json<Explanation>> {
    principal.require_any(&["read:client_credentials"])?;
    if body.token.is_empty() || body.token.len() > crate::oauth::federated::MAX_TOKEN_LEN {
        return Err(ApiError::invalid_body(format!(
            "token must be 1 to {} bytes",
            crate::oauth::federated::MAX_TOKEN_LEN
        )));
    }
    let now = state.clock.now().div_euclid(1000);
    match state
        .token_issuer
        .explain_federated(&id, &body.token, now)
        .await
    {
        Ok(Some(explanation)) => Ok(Json(explanation)),
        Ok(None) => Err(ManagementError::client_not_found().into()),
        Err(_) => Err(ApiError::internal()),
    }
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
    /// A federated credential's rule (a signet extension, BEHAVIOUR B.13).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    federated: Option<FederatedView>,
}

/// What a federated credential trusts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CredentialFederation)]
pub struct FederatedView {
    issuer: Option<String>,
    subject: Option<String>,
    #[schema(value_type = Object)]
    claims: serde_json::Map<String, Value>,
    /// The audience tokens must name; `null`: this server's issuer URL.
    audience: Option<String>,
    preset: Option<Preset>,
    /// `discovery` (the issuer's OpenID configuration), `jwks_uri` or `static`.
    key_source: &'static str,
    max_token_lifetime: i64,
    replay: ReplayMode,
}

fn federated_view(rule: &FederatedRule) -> FederatedView {
    FederatedView {
        issuer: rule.issuer.clone(),
        subject: rule.subject.clone(),
        claims: rule
            .claims
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
        audience: rule.audience.clone(),
        preset: rule.preset,
        key_source: match rule.keys {
            FederatedKeys::Discovery => "discovery",
            FederatedKeys::JwksUri(_) => "jwks_uri",
            FederatedKeys::Static(_) => "static",
        },
        max_token_lifetime: rule.max_token_lifetime,
        replay: rule.replay,
    }
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
        federated: None,
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
        CredentialKey::Federated(rule) => {
            if let FederatedKeys::JwksUri(uri) = &rule.keys {
                v.jwks_uri = Some(uri.clone());
            }
            // Fetched sets only: a static set is the credential's own.
            v.jwks = key_sets
                .iter()
                .find(|s| s.credential_id == c.id)
                .map(|s| key_set_view(Some(s)));
            v.federated = Some(federated_view(rule));
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
    if shown
        .iter()
        .any(|c| c.key.jwks_uri().is_some() || c.key.federated().is_some())
    {
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
