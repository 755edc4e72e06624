//! The application's Credentials tab: the authentication method, the client secret, and the
//! Private Key JWT credentials (add, edit expiry, enable/disable, delete), as the seed's
//! "Auth0 Dashboard" steps do them.

use axum::Router;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::views::{
    AppCredentialsPage, AppView, CredentialEditPage, CredentialFormView, CredentialRow, Ctx, page,
};
use super::{Admin, DashError};
use crate::crypto::public_key::MAX_PEM_LEN;
use crate::domain::credential::MAX_PER_CLIENT;
use crate::domain::credential::{CredentialPatch, ExpiresAt};
use crate::http::AppState;
use crate::http::dashboard::forms::{self, CREDENTIAL_FIELDS, CredentialForm, FieldErrors};
use crate::jwks_uri::address::MAX_URL_LEN;
use crate::tenant::ManagementError;
use crate::tenant::auth_methods::{self, AuthChoice, MethodOutcome};
use crate::tenant::clients;
use crate::tenant::credentials;
use crate::time_util::format_millis;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/applications/{id}/credentials",
            get(tab).post(add),
        )
        .route("/dashboard/applications/{id}/method", post(set_method))
        .route(
            "/dashboard/applications/{id}/credentials/{cid}/edit",
            get(edit).post(save_edit),
        )
        .route(
            "/dashboard/applications/{id}/credentials/{cid}/enable",
            post(enable),
        )
        .route(
            "/dashboard/applications/{id}/credentials/{cid}/disable",
            post(disable),
        )
        .route(
            "/dashboard/applications/{id}/credentials/{cid}/delete",
            post(delete),
        )
}

fn back(id: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/dashboard/applications/{id}/credentials?done={done}"
    ))
    .into_response()
}

/// What the tab shows besides the stored data: a notice, or a refused form with its problems.
#[derive(Default)]
struct Shown<'a> {
    done: Option<&'a str>,
    form: CredentialFormView,
    method_error: Option<String>,
    row_error: Option<String>,
}

/// Renders the tab; the problems of a form that was just refused go next to their fields.
async fn render(
    state: &AppState,
    admin: &Admin,
    id: &str,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<Response, DashError> {
    let Shown {
        done,
        form,
        method_error,
        row_error,
    } = shown;
    let c = clients::get(&state.tenant, id).await?;
    let list = credentials::list(&state.tenant, id).await?;
    // Fetch states are read only for an application that has a key-set URL.
    let key_sets = if list.iter().any(|cr| cr.key.jwks_uri().is_some()) {
        credentials::key_set_states(&state.tenant, id).await?
    } else {
        Vec::new()
    };
    let now = state.clock.now();
    let app = AppView::of(&c);
    let waiting = done == Some("needs-credential");
    page(
        status,
        &AppCredentialsPage {
            ctx: Ctx::new(admin, "applications", done),
            chosen: if waiting {
                "private_key_jwt"
            } else {
                app.method_key
            },
            app,
            tab: "credentials",
            can_add: list.len() < MAX_PER_CLIENT,
            credentials: list
                .iter()
                .map(|cr| CredentialRow::of(cr, now, &key_sets))
                .collect(),
            form,
            method_error,
            row_error,
        },
    )
}

async fn tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Done(done): Done,
) -> Result<Response, DashError> {
    render(
        &state,
        &admin,
        &id,
        StatusCode::OK,
        Shown {
            done: done.as_deref(),
            ..Shown::default()
        },
    )
    .await
}

async fn set_method(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let Some(choice) = AuthChoice::parse(form.get("method")) else {
        return render(
            &state,
            &admin,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                method_error: Some("Choose one of the three authentication methods.".into()),
                ..Shown::default()
            },
        )
        .await;
    };
    match auth_methods::set_method(&state.tenant, &id, choice, state.clock.now()).await {
        Ok(MethodOutcome::NeedsCredential) => Ok(back(&id, "needs-credential")),
        Ok(_) => Ok(back(&id, "method-saved")),
        Err(e @ ManagementError::Invalid(_)) => {
            render(
                &state,
                &admin,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Shown {
                    method_error: Some(e.to_string()),
                    ..Shown::default()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads one text field of at most `cap` bytes; `Ok(None)` when it is larger.
async fn read_capped(mut field: Field<'_>, cap: usize) -> Result<Option<String>, DashError> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > cap {
                    return Ok(None);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(DashError::TooLarge);
            }
            Err(_) => {
                return Err(DashError::BadRequest(
                    "The upload could not be read.".into(),
                ));
            }
        }
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

struct Upload {
    csrf: String,
    form: CredentialForm,
    file_problem: Option<String>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, DashError> {
    let mut up = Upload {
        csrf: String::new(),
        form: CredentialForm::default(),
        file_problem: None,
    };
    let mut file_text = String::new();
    let mut pasted = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(DashError::TooLarge);
            }
            Err(_) => {
                return Err(DashError::BadRequest(
                    "The upload could not be read.".into(),
                ));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let is_file = name == "pem_file";
        let cap = match name.as_str() {
            "pem_file" | "pem" => MAX_PEM_LEN,
            "jwks_uri" => 2 * MAX_URL_LEN,
            _ => 1024,
        };
        let Some(value) = read_capped(field, cap).await? else {
            if is_file || name == "pem" {
                up.file_problem = Some(format!(
                    "The key is larger than {} KB; a public key or certificate is much smaller. \
                     Upload the public key (.pub.pem) or the certificate, not a bundle.",
                    MAX_PEM_LEN / 1024
                ));
            }
            continue;
        };
        match name.as_str() {
            "csrf" => up.csrf = value,
            "name" => up.form.name = value,
            "alg" => up.form.alg = value,
            "jwks_uri" => up.form.jwks_uri = value,
            "set_expiry" => up.form.set_expiry = !value.is_empty(),
            "expiry_date" => up.form.expiry_date = value,
            "enable" => up.form.enable = !value.is_empty(),
            "pem_file" => file_text = value,
            "pem" => pasted = value,
            _ => {}
        }
    }
    // A chosen file wins over pasted text.
    up.form.pem = if file_text.trim().is_empty() {
        pasted
    } else {
        file_text
    };
    Ok(up)
}

/// What goes back into the form: everything typed, except key material that is a private key
/// (it must not be echoed into a page) and the file itself (browsers cannot refill it).
fn keep(form: &CredentialForm, errors: FieldErrors, pasted_shown: bool) -> CredentialFormView {
    CredentialFormView {
        name: form.name.clone(),
        pem: if pasted_shown && !form.pem.contains("PRIVATE KEY") {
            form.pem.clone()
        } else {
            String::new()
        },
        jwks_uri: form.jwks_uri.clone(),
        alg: form.alg.clone(),
        set_expiry: form.set_expiry,
        expiry_date: form.expiry_date.clone(),
        enable: form.enable,
        errors,
    }
}

async fn add(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, DashError> {
    let multipart = multipart.map_err(|_| {
        DashError::BadRequest(
            "The form could not be read: credentials are added with the Add Credential form."
                .into(),
        )
    })?;
    let up = read_upload(multipart).await?;
    admin.check_csrf(&up.csrf)?;
    let now = state.clock.now();
    let errors = if let Some(problem) = up.file_problem.clone() {
        FieldErrors::one("pem", problem)
    } else {
        match up.form.to_request(now) {
            Err(errors) => errors,
            Ok(req) => {
                match auth_methods::add_credential(&state.tenant, &id, req, up.form.enable, now)
                    .await
                {
                    Ok(_) => return Ok(back(&id, "credential-added")),
                    Err(e @ ManagementError::NotFound { .. }) => return Err(e.into()),
                    Err(e) => FieldErrors::from_management(&e, CREDENTIAL_FIELDS).ok_or(e)?,
                }
            }
        }
    };
    let view = keep(&up.form, errors, true);
    render(
        &state,
        &admin,
        &id,
        StatusCode::UNPROCESSABLE_ENTITY,
        Shown {
            form: view,
            ..Shown::default()
        },
    )
    .await
}

async fn edit(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, &id).await?;
    let cred = credentials::get(&state.tenant, &id, &cid).await?;
    page(
        StatusCode::OK,
        &CredentialEditPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "credentials",
            set_expiry: cred.expires_at.is_some(),
            expiry_date: cred
                .expires_at
                .map(|t| format_millis(t)[..10].to_owned())
                .unwrap_or_default(),
            credential: CredentialRow::of(&cred, state.clock.now(), &[]),
            errors: FieldErrors::default(),
        },
    )
}

async fn save_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let now = state.clock.now();
    let set_expiry = !form.get("set_expiry").is_empty();
    let expiry_date = form.get("expiry_date").to_owned();
    let expires_at = if set_expiry {
        forms::parse_expiry_date(&expiry_date, now).map(|t| Some(ExpiresAt::At(t)))
    } else {
        Ok(None)
    };
    let errors = match expires_at {
        Err(m) => FieldErrors::one("expiry_date", m),
        Ok(expires_at) => {
            let req = CredentialPatch { expires_at };
            match credentials::update(&state.tenant, &id, &cid, req, now).await {
                Ok(_) => return Ok(back(&id, "credential-updated")),
                Err(e @ ManagementError::NotFound { .. }) => return Err(e.into()),
                Err(e) => FieldErrors::from_management(&e, CREDENTIAL_FIELDS).ok_or(e)?,
            }
        }
    };
    let c = clients::get(&state.tenant, &id).await?;
    let cred = credentials::get(&state.tenant, &id, &cid).await?;
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &CredentialEditPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "credentials",
            credential: CredentialRow::of(&cred, now, &[]),
            set_expiry,
            expiry_date,
            errors,
        },
    )
}

/// Enable, disable and delete answer a refusal on the tab itself, above the list.
async fn row_action(
    state: &AppState,
    admin: &Admin,
    id: &str,
    result: Result<(), ManagementError>,
    done: &str,
) -> Result<Response, DashError> {
    match result {
        Ok(()) => Ok(back(id, done)),
        Err(e @ (ManagementError::Invalid(_) | ManagementError::Conflict(_))) => {
            render(
                state,
                admin,
                id,
                StatusCode::CONFLICT,
                Shown {
                    row_error: Some(e.to_string()),
                    ..Shown::default()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let r = auth_methods::enable_credential(&state.tenant, &id, &cid, state.clock.now()).await;
    row_action(&state, &admin, &id, r, "credential-enabled").await
}

async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let r = auth_methods::disable_credential(&state.tenant, &id, &cid, state.clock.now()).await;
    row_action(&state, &admin, &id, r, "credential-disabled").await
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let r = match credentials::delete(&state.tenant, &id, &cid, state.clock.now()).await {
        // The Management API's wording names its JSON field; say it the dashboard's way.
        Err(ManagementError::Conflict(_)) => Err(ManagementError::Conflict(
            "This credential is enabled for the application and cannot be deleted. Disable it \
             first (or switch the application to a Client Secret method), then delete it."
                .into(),
        )),
        other => other,
    };
    row_action(&state, &admin, &id, r, "credential-deleted").await
}
