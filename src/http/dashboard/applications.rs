//! Applications: the list, creating one, its Settings tab (name, description, secret, delete).
//! Its Logs tab is in `logs.rs`, beside the tenant-wide Logs page.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::paging::{Pager, page_and_more, page_in};
use super::views::{AppSettingsPage, AppView, ApplicationsPage, Ctx, page};
use super::{Admin, DashError};
use crate::domain::client::ClientFilter;
use crate::domain::client::{AppType, Client};
use crate::domain::client_change::{ClientPatch, NewClient};
use crate::http::AppState;
use crate::http::dashboard::forms::FieldErrors;
use crate::tenant::clients;

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
}

/// One page of the applications, oldest first (as the Management API lists them).
async fn apps_page(state: &AppState, page: i64) -> Result<(Vec<AppView>, Pager), DashError> {
    let every = ClientFilter::default();
    let (apps, more) =
        page_and_more(page, |p| clients::list(&state.tenant, &every, p, false)).await?;
    let pager = Pager::new(page, apps.len(), more, "/dashboard/applications".into());
    Ok((apps.iter().map(AppView::of).collect(), pager))
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Done(done): Done,
    RawQuery(query): RawQuery,
) -> Result<Response, DashError> {
    let (apps, pager) = apps_page(&state, page_in(query.as_deref())?).await?;
    page(
        StatusCode::OK,
        &ApplicationsPage {
            ctx: Ctx::new(&admin, "applications", done.as_deref()),
            apps,
            pager,
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
        let req = NewClient {
            name: name.clone(),
            app_type: parsed_type,
            ..NewClient::default()
        };
        match clients::create(&state.tenant, req, state.clock.now()).await {
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
    let (apps, pager) = apps_page(&state, 0).await?;
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ApplicationsPage {
            ctx: Ctx::new(&admin, "applications", None),
            apps,
            pager,
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
        let req = ClientPatch {
            name: Some(name.clone()),
            description: Some(description.clone()),
            ..ClientPatch::default()
        };
        match clients::update(&state.tenant, &id, req, state.clock.now()).await {
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
            .filter(|_| !matches!(e, crate::tenant::ManagementError::NotFound { .. }))
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
    if !super::confirm::confirmed(&form) {
        let c = clients::get(&state.tenant, &id).await?;
        return super::confirm::ask(
            &admin,
            &c,
            super::confirm::Question {
                title: format!("Rotate the client secret of {}?", c.name),
                consequences: vec![
                    "A new secret is generated and the current one stops working at once: every \
                     caller that sends it gets invalid_client until it is given the new one."
                        .into(),
                    "There is no grace period and no way back to the old secret.".into(),
                ],
                action: format!("/dashboard/applications/{id}/rotate-secret"),
                fields: Vec::new(),
                button: "Rotate secret",
            },
        );
    }
    clients::rotate_secret(&state.tenant, &id, state.clock.now()).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/applications/{id}/credentials?done=secret-rotated#notice"
    ))
    .into_response())
}
