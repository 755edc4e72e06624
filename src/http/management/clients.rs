//! `/api/v2/clients`: applications.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::collections::BTreeMap;

use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::credentials::CredentialView;
use super::dto::{ClientBody, ClientPatchBody};
use super::{listing, parse_page, refuse_unsupported, select_fields};
use crate::domain::client::{AppType, Client, ClientFilter, JwtConfigAlg, TokenEndpointAuthMethod};
use crate::domain::client_change::{ClientPatch, NewClient};
use crate::domain::credential::Credential;
use crate::domain::token_quota::TokenQuota;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, Principal};
use crate::http::openapi::ManagementErrors;
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(rotate_secret))
}

/// What a response may reveal of a client's authentication (BEHAVIOUR A.2: only with the key scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    Nothing,
    /// `client_secret` (unless Private Key JWT is on) and `client_authentication_methods`.
    Keys,
}

/// Auth0's client object, as every route answers it. Fields filtered out by `fields` are
/// left out, so none is required.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    #[schema(required = false)]
    client_id: String,
    #[schema(required = false)]
    name: String,
    #[schema(required = false)]
    description: String,
    #[schema(required = false)]
    app_type: AppType,
    #[schema(required = false)]
    is_first_party: bool,
    /// `null` while Private Key JWT is the application's method.
    #[schema(required = false)]
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[schema(required = false)]
    grant_types: Vec<String>,
    #[schema(required = false)]
    jwt_configuration: JwtConfigurationView,
    #[schema(required = false)]
    client_metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    token_quota: Option<QuotaView>,
    /// Only with `read:client_keys` or `read:client_credentials`, and only while a secret
    /// method is in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    client_secret: Option<String>,
    /// Only with `read:client_keys` or `read:client_credentials`, and only while Private Key
    /// JWT is in use: the credentials as `[{"id"}]`, or whole where they were just created.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    client_authentication_methods: Option<AuthMethodsView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientJwtConfiguration)]
struct JwtConfigurationView {
    alg: JwtConfigAlg,
    lifetime_in_seconds: i64,
    secret_encoded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientTokenQuota)]
struct QuotaView {
    client_credentials: TokenQuota,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientAuthenticationMethods)]
struct AuthMethodsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    private_key_jwt: Option<PrivateKeyJwtView>,
    /// A signet extension: the enabled federated credentials (BEHAVIOUR B.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, extensions(("x-signet-extension" = json!(true))))]
    federated: Option<PrivateKeyJwtView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientPrivateKeyJwt)]
struct PrivateKeyJwtView {
    credentials: Vec<CredentialEntry>,
}

/// A credential reference (`{"id"}`), or the whole credential in a creation's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = ClientCredentialEntry)]
enum CredentialEntry {
    Whole(Box<CredentialView>),
    Reference(CredentialRefView),
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CredentialReference)]
struct CredentialRefView {
    id: String,
}

/// The Auth0 client object. `client_secret` is left out while Private Key JWT is on; the
/// associated credentials appear as `[{"id"}]` unless `full` carries the created objects.
pub fn view(c: &Client, reveal: Reveal, full: Option<(&[Credential], &[StoredKeySet])>) -> Value {
    let keys = reveal == Reveal::Keys;
    // The enabled credentials under the method each is for; `None` for a method with none.
    let credentials = |federated: bool| -> Option<PrivateKeyJwtView> {
        let credentials: Vec<CredentialEntry> = match full {
            Some((list, key_sets)) => list
                .iter()
                .filter(|cred| cred.key.federated().is_some() == federated)
                .map(|cred| {
                    CredentialEntry::Whole(Box::new(super::credentials::typed_view(cred, key_sets)))
                })
                .collect(),
            None => c
                .credential_ids
                .iter()
                .filter(|id| c.federated_credential_ids.contains(id) == federated)
                .map(|id| CredentialEntry::Reference(CredentialRefView { id: id.clone() }))
                .collect(),
        };
        (!credentials.is_empty()).then_some(PrivateKeyJwtView { credentials })
    };
    let typed = ClientView {
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        app_type: c.app_type,
        is_first_party: c.is_first_party,
        token_endpoint_auth_method: c.token_endpoint_auth_method,
        grant_types: c.grant_types.clone(),
        jwt_configuration: JwtConfigurationView {
            alg: c.jwt_configuration.alg,
            lifetime_in_seconds: c.jwt_configuration.lifetime_in_seconds,
            secret_encoded: false,
        },
        client_metadata: c.client_metadata.clone(),
        token_quota: c.token_quota.map(|q| QuotaView {
            client_credentials: q,
        }),
        client_secret: (keys && !c.uses_private_key_jwt()).then(|| c.secret.expose().to_owned()),
        client_authentication_methods: (keys && c.uses_private_key_jwt()).then(|| {
            AuthMethodsView {
                private_key_jwt: credentials(false),
                federated: credentials(true),
            }
        }),
    };
    super::to_json(&typed)
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
    /// Comma-separated properties to include (or, with `include_fields=false`, to leave out).
    fields: Option<String>,
    /// Whether `fields` lists the properties to include (default) or to leave out.
    include_fields: Option<bool>,
    /// Comma-separated Auth0 application types (`non_interactive,regular_web`).
    app_type: Option<String>,
    /// `true` matches nothing: signet has no global client.
    is_global: Option<bool>,
    /// Only first-party (or, with `false`, third-party) applications.
    is_first_party: Option<bool>,
    /// Refused: Auth0's `q` here searches organizations, which signet does not have.
    q: Option<String>,
    /// Refused: Auth0 uses `from`/`take` here only with `q`.
    from: Option<String>,
    /// Refused, with `from`.
    take: Option<i64>,
    /// Refused: not supported by signet.
    client_ids: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FieldsQuery {
    /// Comma-separated properties to include (or, with `include_fields=false`, to leave out).
    fields: Option<String>,
    /// Whether `fields` lists the properties to include (default) or to leave out.
    include_fields: Option<bool>,
}

list_schema!(ClientList, ClientPage, clients, ClientView);

#[utoipa::path(get, path = "/clients", tag = "clients",
    description = "Lists applications, a page at a time.",
    params(ListQuery),
    responses((status = 200, description = "A plain array, or with `include_totals` a page object",
               body = ClientList), ManagementErrors),
    security(("management_token" = ["read:clients"]), ("management_token" = ["read:client_keys"]),
             ("management_token" = ["read:client_credentials"]), ("management_token" = ["read:client_summary"])))]
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

#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The application's client_id"), FieldsQuery),
    responses((status = 200, body = ClientView), ManagementErrors),
    security(("management_token" = ["read:clients"]), ("management_token" = ["read:client_keys"]),
             ("management_token" = ["read:client_credentials"]), ("management_token" = ["read:client_summary"])))]
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

#[utoipa::path(post, path = "/clients", tag = "clients",
    description = "Creates an application. Credentials in `client_authentication_methods` also \
                   need `create:client_credentials`. The answer carries the secret or the created \
                   credentials once.",
    request_body = ClientBody,
    responses((status = 201, body = ClientView), ManagementErrors),
    security(("management_token" = ["create:clients"])))]
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
    let key_sets = if created
        .iter()
        .any(|cred| cred.key.jwks_uri().is_some() || cred.key.federated().is_some())
    {
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

#[utoipa::path(patch, path = "/clients/{id}", tag = "clients",
    description = "Changes an application. Setting `client_secret` needs `update:client_keys`; \
                   changing `client_authentication_methods` needs `update:client_credentials`.",
    params(("id" = String, Path, description = "The application's client_id")),
    request_body = ClientPatchBody,
    responses((status = 200, body = ClientView), ManagementErrors),
    security(("management_token" = ["update:clients"]), ("management_token" = ["update:client_keys"])))]
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

#[utoipa::path(delete, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The application's client_id")),
    responses((status = 204, description = "Deleted"), ManagementErrors),
    security(("management_token" = ["delete:clients"])))]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_any(&["delete:clients"])?;
    clients::delete(&state.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/clients/{id}/rotate-secret", tag = "clients",
    description = "Replaces the application's secret; callers using the old one start failing.",
    params(("id" = String, Path, description = "The application's client_id")),
    responses((status = 200, body = ClientView), ManagementErrors),
    security(("management_token" = ["update:client_keys"])))]
async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require_any(&["update:client_keys"])?;
    let c = clients::rotate_secret(&state.tenant, &id, state.clock.now()).await?;
    Ok(Json(view(&c, Reveal::Keys, None)))
}
