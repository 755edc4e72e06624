//! APIs (resource servers) and, on an application's APIs tab, which of them it may get tokens
//! for, with which scopes (client grants).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::paging::{Pager, page_and_more, page_in};
use super::views::{
    ApiGrantView, ApiPage, ApiView, ApisPage, AppApisPage, AppView, Ctx, SIGNING_ALGS, ScopeChoice,
    TOKEN_DIALECTS, page,
};
use super::{Admin, DashError};
use crate::domain::grant::ClientGrant;
use crate::domain::grant::GrantFilter as Filter;
use crate::domain::grant::{GrantPatch, NewGrant};
use crate::domain::resource_server::{NewResourceServer, ResourceServerPatch, ScopeDefinition};
use crate::domain::resource_server::{ResourceServer, ResourceServerFilter};
use crate::domain::scope::validate_scope_value;
use crate::http::AppState;
use crate::http::dashboard::forms::{FieldErrors, split_scopes};
use crate::tenant::resource_servers;
use crate::tenant::{ManagementError, clients, every_page, grants};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/apis", get(list).post(create))
        .route("/dashboard/apis/{api_id}", get(show).post(save))
        .route("/dashboard/apis/{api_id}/delete", post(delete))
        .route("/dashboard/applications/{id}/apis", get(app_tab))
        .route(
            "/dashboard/applications/{id}/apis/{api_id}",
            post(save_grant),
        )
        .route(
            "/dashboard/applications/{id}/apis/{api_id}/revoke",
            post(revoke_grant),
        )
}

async fn all_apis(state: &AppState) -> Result<Vec<ResourceServer>, DashError> {
    let every = ResourceServerFilter::default();
    Ok(every_page(|page| resource_servers::list(&state.tenant, &every, page, false)).await?)
}

/// One page of the APIs, oldest first (as the Management API lists them).
async fn apis_page(state: &AppState, page: i64) -> Result<(Vec<ApiView>, Pager), DashError> {
    let every = ResourceServerFilter::default();
    let (apis, more) = page_and_more(page, |p| {
        resource_servers::list(&state.tenant, &every, p, false)
    })
    .await?;
    let pager = Pager::new(page, apis.len(), more, "/dashboard/apis".into());
    Ok((apis.iter().map(ApiView::of).collect(), pager))
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Done(done): Done,
    RawQuery(query): RawQuery,
) -> Result<Response, DashError> {
    let (apis, pager) = apis_page(&state, page_in(query.as_deref())?).await?;
    page(
        StatusCode::OK,
        &ApisPage {
            ctx: Ctx::new(&admin, "apis", done.as_deref()),
            apis,
            pager,
            form_name: String::new(),
            form_identifier: String::new(),
            form_scopes: String::new(),
            errors: FieldErrors::default(),
        },
    )
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let name = form.get("name").trim().to_owned();
    let identifier = form.get("identifier").trim().to_owned();
    let scopes_text = form.get("scopes").to_owned();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("name", "Enter a name for the API.");
    }
    if identifier.is_empty() {
        errors.add(
            "identifier",
            "Enter an identifier, such as https://billing.example.com/ (the audience of tokens).",
        );
    }
    let scopes = parse_scopes(&scopes_text).unwrap_or_else(|m| {
        errors.add("scopes", m);
        Vec::new()
    });
    if errors.is_empty() {
        let req = NewResourceServer {
            identifier: identifier.clone(),
            name: Some(name.clone()),
            scopes: scope_definitions(scopes),
            ..NewResourceServer::default()
        };
        match resource_servers::create(&state.tenant, req, state.clock.now()).await {
            Ok(_) => return Ok(Redirect::to("/dashboard/apis?done=api-created").into_response()),
            Err(ManagementError::Conflict(_)) => {
                errors.add("identifier", "An API with this identifier already exists.");
            }
            Err(e) => {
                errors = FieldErrors::from_management(
                    &e,
                    &[
                        ("identifier", "identifier"),
                        ("name", "name"),
                        ("scopes", "scopes"),
                    ],
                )
                .ok_or(e)?;
            }
        }
    }
    let (apis, pager) = apis_page(&state, 0).await?;
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ApisPage {
            ctx: Ctx::new(&admin, "apis", None),
            apis,
            pager,
            form_name: name,
            form_identifier: identifier,
            form_scopes: scopes_text,
            errors,
        },
    )
}

fn scope_definitions(values: Vec<String>) -> Vec<ScopeDefinition> {
    values
        .into_iter()
        .map(|value| ScopeDefinition {
            value,
            description: String::new(),
        })
        .collect()
}

/// The scopes typed into a form, or the message for the first one that cannot be a scope.
fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let scopes = split_scopes(text);
    match scopes
        .iter()
        .find_map(|v| validate_scope_value("The scope", v).err())
    {
        Some(bad) => Err(format!("{bad}.")),
        None => Ok(scopes),
    }
}

async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(api_id): Path<String>,
    Done(done): Done,
) -> Result<Response, DashError> {
    let api = resource_servers::get(&state.tenant, &api_id).await?;
    api_page(
        &admin,
        &api,
        done.as_deref(),
        StatusCode::OK,
        FieldErrors::default(),
    )
}

/// The API's page with its stored values in the forms.
fn api_page(
    admin: &Admin,
    api: &ResourceServer,
    done: Option<&str>,
    status: StatusCode,
    errors: FieldErrors,
) -> Result<Response, DashError> {
    let view = ApiView::of(api);
    page(
        status,
        &ApiPage {
            ctx: Ctx::new(admin, "apis", done),
            id: api.id.clone(),
            form_name: view.name.clone(),
            form_scopes: view.scopes.replace(' ', "\n"),
            form_lifetime: view.token_lifetime.to_string(),
            form_alg: view.signing_alg.to_owned(),
            form_dialect: view.token_dialect.to_owned(),
            algs: &SIGNING_ALGS,
            dialects: &TOKEN_DIALECTS,
            api: view,
            errors,
        },
    )
}

/// Renames the API, replaces its scopes, changes its token lifetime (the Management API's own
/// entry only takes a new lifetime).
async fn save(
    State(state): State<AppState>,
    admin: Admin,
    Path(api_id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let api = resource_servers::get(&state.tenant, &api_id).await?;
    let name = form.get("name").trim().to_owned();
    let scopes_text = form.get("scopes").to_owned();
    let lifetime_text = form.get("token_lifetime").trim().to_owned();
    let alg_text = form.get("signing_alg").to_owned();
    let dialect_text = form.get("token_dialect").to_owned();
    let mut errors = FieldErrors::default();
    let lifetime = match lifetime_text.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(
                "token_lifetime",
                "Enter the token lifetime in seconds, e.g. 86400.",
            );
            None
        }
    };
    let mut req = ResourceServerPatch {
        token_lifetime: lifetime,
        ..ResourceServerPatch::default()
    };
    if !api.is_system {
        if name.is_empty() {
            errors.add("name", "Enter a name for the API.");
        }
        match parse_scopes(&scopes_text) {
            Ok(scopes) => req.scopes = Some(scope_definitions(scopes)),
            Err(m) => errors.add("scopes", m),
        }
        req.name = Some(name.clone());
        // Absent from a form rendered before these fields existed: left as they are.
        req.signing_alg = (!alg_text.is_empty()).then(|| alg_text.clone());
        req.token_dialect = (!dialect_text.is_empty()).then(|| dialect_text.clone());
    }
    if errors.is_empty() {
        match resource_servers::update(&state.tenant, &api_id, req, state.clock.now()).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/dashboard/apis/{api_id}?done=saved")).into_response(),
                );
            }
            Err(e @ ManagementError::NotFound { .. }) => return Err(e.into()),
            Err(e) => {
                errors = FieldErrors::from_management(
                    &e,
                    &[
                        ("name", "name"),
                        ("scopes", "scopes"),
                        ("token_lifetime", "token_lifetime"),
                        ("signing_alg", "signing_alg"),
                        ("token_dialect", "token_dialect"),
                    ],
                )
                .ok_or(e)?;
            }
        }
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ApiPage {
            ctx: Ctx::new(&admin, "apis", None),
            id: api.id.clone(),
            api: ApiView::of(&api),
            form_name: name,
            form_scopes: scopes_text,
            form_lifetime: lifetime_text,
            form_alg: alg_text,
            form_dialect: dialect_text,
            algs: &SIGNING_ALGS,
            dialects: &TOKEN_DIALECTS,
            errors,
        },
    )
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(api_id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let api = resource_servers::get(&state.tenant, &api_id).await?;
    // As for applications: the identifier must be typed, so a stray click deletes nothing.
    if !api.is_system && form.get("confirm").trim() != api.identifier {
        let message = format!(
            "Type the identifier of the API, {}, to delete it.",
            api.identifier
        );
        let errors = FieldErrors::one("confirm", message);
        return api_page(&admin, &api, None, StatusCode::UNPROCESSABLE_ENTITY, errors);
    }
    resource_servers::delete(&state.tenant, &api_id).await?;
    Ok(Redirect::to("/dashboard/apis?done=api-deleted").into_response())
}

pub(super) async fn grants_of(
    state: &AppState,
    client_id: &str,
) -> Result<Vec<ClientGrant>, DashError> {
    let filter = Filter {
        client_id: Some(client_id.to_owned()),
        ..Filter::default()
    };
    Ok(every_page(|page| grants::list(&state.tenant, &filter, page, false)).await?)
}

async fn render_tab(
    state: &AppState,
    admin: &Admin,
    id: &str,
    status: StatusCode,
    done: Option<&str>,
    error: Option<(String, String)>,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, id).await?;
    let granted = grants_of(state, id).await?;
    let apis = all_apis(state)
        .await?
        .into_iter()
        .map(|api| {
            let grant = granted.iter().find(|g| g.audience == api.identifier);
            ApiGrantView {
                error: error
                    .as_ref()
                    .filter(|(api_id, _)| *api_id == api.id)
                    .map(|(_, m)| m.clone()),
                id: api.id.clone(),
                name: api.name.clone(),
                identifier: api.identifier.clone(),
                authorised: grant.is_some(),
                scopes: api
                    .scopes
                    .iter()
                    .map(|s| ScopeChoice {
                        value: s.value.clone(),
                        description: s.description.clone(),
                        granted: grant.is_some_and(|g| g.scope.contains(&s.value)),
                    })
                    .collect(),
            }
        })
        .collect();
    page(
        status,
        &AppApisPage {
            ctx: Ctx::new(admin, "applications", done),
            app: AppView::of(&c),
            tab: "apis",
            apis,
        },
    )
}

async fn app_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Done(done): Done,
) -> Result<Response, DashError> {
    render_tab(&state, &admin, &id, StatusCode::OK, done.as_deref(), None).await
}

/// Authorises the application for the API with the ticked scopes, or changes the scopes of an
/// existing authorisation.
async fn save_grant(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, api_id)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let api = resource_servers::get(&state.tenant, &api_id).await?;
    // "Grant all scopes" is a second submit button: it works without JavaScript.
    let scope = if form.get("all_scopes") == "yes" {
        api.scopes.iter().map(|s| s.value.clone()).collect()
    } else {
        form.all("scope")
    };
    let done = if scope.is_empty() && !api.scopes.is_empty() {
        "grant-saved-no-scopes"
    } else {
        "grant-saved"
    };
    let existing = grants_of(&state, &id)
        .await?
        .into_iter()
        .find(|g| g.audience == api.identifier);
    let result = match existing {
        Some(g) => grants::update(&state.tenant, &g.id, GrantPatch { scope })
            .await
            .map(|_| ()),
        None => grants::create(
            &state.tenant,
            NewGrant {
                client_id: id.clone(),
                audience: api.identifier.clone(),
                scope,
            },
            state.clock.now(),
        )
        .await
        .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/dashboard/applications/{id}/apis?done={done}#notice"
        ))
        .into_response()),
        Err(e @ (ManagementError::Invalid(_) | ManagementError::Conflict(_))) => {
            render_tab(
                &state,
                &admin,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some((api_id, e.to_string())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke_grant(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, api_id)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let api = resource_servers::get(&state.tenant, &api_id).await?;
    if let Some(g) = grants_of(&state, &id)
        .await?
        .into_iter()
        .find(|g| g.audience == api.identifier)
    {
        grants::delete(&state.tenant, &g.id).await?;
    }
    Ok(Redirect::to(&format!(
        "/dashboard/applications/{id}/apis?done=grant-revoked"
    ))
    .into_response())
}
