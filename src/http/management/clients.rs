//! `/api/v2/clients`: applications.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::{ClientBody, ClientPatchBody};
use super::{listing, parse_page, refuse_unsupported, select_fields};
use crate::domain::client::{Client, ClientFilter};
use crate::domain::client_change::{ClientPatch, NewClient};
use crate::domain::credential::Credential;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, Principal};
use crate::store::key_sets::StoredKeySet;
use crate::tenant::{clients, credentials};

const READ: &[&str] = &[
    "read:clients",
    "read:client_keys",
    "read:client_credentials",
    "read:client_summary",
];
/// Scopes that reveal `client_secret` and `client_authentication_methods` (BEHAVIOUR A.2).
const READ_KEYS: &[&str] = &["read:client_keys", "read:client_credentials"];
fn reveal_for(principal: &Principal, scopes: &[&str]) -> Reveal {
    if principal.has_any(scopes) {
        Reveal::Keys
    } else {
        Reveal::Nothing
    }
}

pub fn router() -> axum::Router<AppState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/{id}", get(read).patch(update).delete(remove))
        .route("/clients/{id}/rotate-secret", post(rotate_secret))
}

/// What a response may reveal of a client's authentication (BEHAVIOUR A.2: only with the key scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    Nothing,
    /// `client_secret` (unless Private Key JWT is on) and `client_authentication_methods`.
    Keys,
}

/// The Auth0 client object. `client_secret` is left out while Private Key JWT is on; the
/// associated credentials appear as `[{"id"}]` unless `full` carries the created objects.
pub fn view(c: &Client, reveal: Reveal, full: Option<(&[Credential], &[StoredKeySet])>) -> Value {
    let mut v = json!({
        "client_id": c.client_id,
        "name": c.name,
        "description": c.description,
        "app_type": c.app_type.as_str(),
        "is_first_party": c.is_first_party,
        "token_endpoint_auth_method": c.token_endpoint_auth_method.map(|m| m.as_str()),
        "grant_types": c.grant_types,
        "jwt_configuration": {
            "alg": c.jwt_configuration.alg,
            "lifetime_in_seconds": c.jwt_configuration.lifetime_in_seconds,
            "secret_encoded": false,
        },
        "client_metadata": c.client_metadata,
    });
    if let Some(q) = &c.token_quota {
        v["token_quota"] = json!({"client_credentials": q});
    }
    if reveal == Reveal::Keys {
        if c.uses_private_key_jwt() {
            let credentials: Vec<Value> = match full {
                Some((list, key_sets)) => list
                    .iter()
                    .map(|cred| super::credentials::view(cred, key_sets))
                    .collect(),
                None => c
                    .credential_ids
                    .iter()
                    .map(|id| json!({"id": id}))
                    .collect(),
            };
            v["client_authentication_methods"] =
                json!({"private_key_jwt": {"credentials": credentials}});
        } else {
            v["client_secret"] = json!(c.secret.expose());
        }
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    include_totals: Option<bool>,
    fields: Option<String>,
    include_fields: Option<bool>,
    /// Comma-separated Auth0 application types.
    app_type: Option<String>,
    is_global: Option<bool>,
    is_first_party: Option<bool>,
    /// Auth0 parameters signet refuses (see `list`).
    q: Option<String>,
    from: Option<String>,
    take: Option<i64>,
    client_ids: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsQuery {
    fields: Option<String>,
    include_fields: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(READ)?;
    // Auth0's `q` only searches client grants' organizations, and its `from`/`take` page that
    // search: signet has no organizations.
    let no_organizations = "it searches applications by organization (client_grant.organization_id, \
         client_grant.allow_any_organization), and signet has no organizations";
    refuse_unsupported("q", q.q.is_some(), no_organizations)?;
    let checkpoint =
        "Auth0 pages applications by checkpoint only together with q; use page and per_page";
    refuse_unsupported("from", q.from.is_some(), checkpoint)?;
    refuse_unsupported("take", q.take.is_some(), checkpoint)?;
    refuse_unsupported(
        "client_ids",
        q.client_ids.is_some(),
        "read applications one by one with GET /api/v2/clients/{id}",
    )?;
    let page = parse_page(q.page, q.per_page)?;
    let filter = ClientFilter::parse(q.app_type.as_deref(), q.is_global, q.is_first_party)
        .map_err(|e| ApiError::invalid_query(format!("Query validation error: {e}")))?;
    let found = clients::list(
        &state.tenant,
        &filter,
        page,
        q.include_totals.unwrap_or(false),
    )
    .await?;
    let reveal = reveal_for(&principal, READ_KEYS);
    let include = q.include_fields.unwrap_or(true);
    Ok(Json(listing(found, page, "clients", |c| {
        select_fields(view(c, reveal, None), q.fields.as_deref(), include)
    })))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FieldsQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_any(READ)?;
    let c = clients::get(&state.tenant, &id).await?;
    let v = view(&c, reveal_for(&principal, READ_KEYS), None);
    Ok(Json(select_fields(
        v,
        q.fields.as_deref(),
        q.include_fields.unwrap_or(true),
    )))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ClientBody>,
) -> ApiResult<impl IntoResponse> {
    principal.require_any(&["create:clients"])?;
    let body = NewClient::try_from(body)?;
    if body.carries_credentials() {
        principal.require_any(&["create:client_credentials"])?;
    }
    let (c, created) = clients::create(&state.tenant, body, state.clock.now()).await?;
    let key_sets = if created.iter().any(|cred| cred.key.jwks_uri().is_some()) {
        credentials::key_set_states(&state.tenant, &c.client_id).await?
    } else {
        Vec::new()
    };
    // The creator needs the generated secret (or the created credentials) once, as with Auth0.
    Ok((
        StatusCode::CREATED,
        Json(view(&c, Reveal::Keys, Some((&created, &key_sets)))),
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ClientPatchBody>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:clients", "update:client_keys"])?;
    let body = ClientPatch::try_from(body)?;
    if body.changes_secret() {
        principal.require_any(&["update:client_keys"])?;
    }
    if body.changes_auth_methods() {
        principal.require_any(&["update:client_credentials"])?;
    }
    let c = clients::update(&state.tenant, &id, body, state.clock.now()).await?;
    // BEHAVIOUR A.2: only the read scopes reveal the secret, in a PATCH answer as anywhere else; a
    // caller that may change it but not read it learns nothing it did not send.
    Ok(Json(view(&c, reveal_for(&principal, READ_KEYS), None)))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:clients"])?;
    clients::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:client_keys"])?;
    let c = clients::rotate_secret(&state.tenant, &id, state.clock.now()).await?;
    Ok(Json(view(&c, Reveal::Keys, None)))
}
