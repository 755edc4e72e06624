//! Applications: the list, creating one, its Settings tab (name, description, secret, delete)
//! and its Logs tab.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::views::{AppLogsPage, AppSettingsPage, AppView, ApplicationsPage, Ctx, LogRow, page};
use super::{Admin, DashError};
use crate::dashboard::forms::FieldErrors;
use crate::domain::client::{AppType, Client};
use crate::domain::paging::Page;
use crate::http::AppState;
use crate::management::clients::{self, CreateClient, UpdateClient};
use crate::management::{every_page, logs};
use crate::store::logs::Filter;
use crate::time_util::now_millis;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/applications", get(list).post(create))
        .route(
            "/dashboard/applications/{id}",
            get(settings).post(save_settings),
        )
        .route("/dashboard/applications/{id}/delete", post(delete))
        .route(
            "/dashboard/applications/{id}/rotate-secret",
            post(rotate_secret),
        )
        .route("/dashboard/applications/{id}/logs", get(log_tab))
}

/// Every application, in pages of 100 (the Management API's largest page).
async fn all_apps(state: &AppState) -> Result<Vec<AppView>, DashError> {
    let apps = every_page(|page| clients::list(&state.tenant, page, false)).await?;
    Ok(apps.iter().map(AppView::of).collect())
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Done(done): Done,
) -> Result<Response, DashError> {
    page(
        StatusCode::OK,
        &ApplicationsPage {
            ctx: Ctx::new(&admin, "applications", done.as_deref()),
            apps: all_apps(&state).await?,
            form_name: String::new(),
            form_type: "non_interactive".into(),
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
    let app_type = form.get("app_type").to_owned();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("name", "Enter a name for the application.");
    }
    let parsed_type = AppType::parse(&app_type);
    if parsed_type.is_none() {
        errors.add("app_type", "Choose an application type.");
    }
    if errors.is_empty() {
        let req = CreateClient {
            name: name.clone(),
            description: None,
            app_type: parsed_type,
            is_first_party: None,
            token_endpoint_auth_method: None,
            grant_types: None,
            jwt_configuration: None,
            client_metadata: None,
            client_secret: None,
            client_authentication_methods: None,
        };
        match clients::create(&state.tenant, req, now_millis()).await {
            Ok((c, _)) => {
                return Ok(Redirect::to(&format!(
                    "/dashboard/applications/{}/credentials?done=app-created",
                    c.client_id
                ))
                .into_response());
            }
            Err(e) => match FieldErrors::from_management(&e, &[("name", "name")]) {
                Some(placed) => errors = placed,
                None => return Err(e.into()),
            },
        }
    }
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ApplicationsPage {
            ctx: Ctx::new(&admin, "applications", None),
            apps: all_apps(&state).await?,
            form_name: name,
            form_type: app_type,
            errors,
        },
    )
}

async fn settings(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Done(done): Done,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, &id).await?;
    let stored = (c.name.clone(), c.description.clone());
    settings_page(
        &admin,
        &c,
        done.as_deref(),
        StatusCode::OK,
        stored,
        FieldErrors::default(),
    )
}

/// The Settings tab; `typed` is what the name and description fields show.
fn settings_page(
    admin: &Admin,
    c: &Client,
    done: Option<&str>,
    status: StatusCode,
    (form_name, form_description): (String, String),
    errors: FieldErrors,
) -> Result<Response, DashError> {
    page(
        status,
        &AppSettingsPage {
            ctx: Ctx::new(admin, "applications", done),
            app: AppView::of(c),
            tab: "settings",
            form_name,
            form_description,
            errors,
        },
    )
}

async fn save_settings(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let name = form.get("name").trim().to_owned();
    let description = form.get("description").to_owned();
    let errors = if name.is_empty() {
        FieldErrors::one("name", "Enter a name for the application.")
    } else {
        let req = UpdateClient {
            name: Some(name.clone()),
            description: Some(description.clone()),
            ..UpdateClient::default()
        };
        match clients::update(&state.tenant, &id, req, now_millis()).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/dashboard/applications/{id}?done=saved"))
                        .into_response(),
                );
            }
            Err(e) => FieldErrors::from_management(
                &e,
                &[("name", "name"), ("description", "description")],
            )
            .filter(|_| !matches!(e, crate::management::ManagementError::NotFound { .. }))
            .ok_or(e)?,
        }
    };
    let c = clients::get(&state.tenant, &id).await?;
    let typed = (name, description);
    settings_page(
        &admin,
        &c,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        typed,
        errors,
    )
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let c = clients::get(&state.tenant, &id).await?;
    // Deleting cannot be undone and stops the application's tokens at once: the name must be
    // typed, so a stray click or a mistaken tab does nothing.
    if form.get("confirm").trim() != c.name {
        let message = format!(
            "Type the name of the application, {}, to delete it.",
            c.name
        );
        let stored = (c.name.clone(), c.description.clone());
        let errors = FieldErrors::one("confirm", message);
        return settings_page(
            &admin,
            &c,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            stored,
            errors,
        );
    }
    clients::delete(&state.tenant, &id).await?;
    Ok(Redirect::to("/dashboard/applications?done=app-deleted").into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    clients::rotate_secret(&state.tenant, &id, now_millis()).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/applications/{id}/credentials?done=secret-rotated"
    ))
    .into_response())
}

/// Recent token requests of this application, newest first, with the reason of each failure.
async fn log_tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, &id).await?;
    let filter = Filter {
        kind: None,
        client_id: Some(id),
    };
    let events = logs::list(
        &state.tenant,
        &filter,
        Page {
            page: 0,
            per_page: 50,
        },
        false,
    )
    .await?;
    page(
        StatusCode::OK,
        &AppLogsPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "logs",
            events: events.items.iter().map(LogRow::of).collect(),
        },
    )
}
