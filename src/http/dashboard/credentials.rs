//! The application's Credentials tab: the authentication method, the client secret, and the
//! Private Key JWT credentials (add, edit expiry, enable/disable, delete), as the seed's
//! "Auth0 Dashboard" steps do them.

use axum::Router;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::confirm::{Question, ask, confirmed};
use super::form::{Done, FormFields};
use super::views::{
    AppCredentialsPage, AppView, CredentialEditPage, CredentialFormView, CredentialRow, Ctx, page,
};
use super::{Admin, DashError};
use crate::crypto::public_key::MAX_PEM_LEN;
use crate::domain::client::{Client, TokenEndpointAuthMethod};
use crate::domain::credential::Credential;
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

/// Back to the tab after a change. The fragment takes the page to its notice: a form's own
/// address carries one (`#add-credential`), which a redirect without one would inherit.
fn back(id: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/dashboard/applications/{id}/credentials?done={done}#notice"
    ))
    .into_response()
}

/// `YYYY-MM-DD` of `now`, UTC: the earliest day an expiry can be (the end of today).
fn today(now: crate::time_util::Millis) -> String {
    format_millis(now)[..10].to_owned()
}

/// How a person recognises a credential: its name, its id (which the logs show) and its key.
fn described(c: &Credential) -> String {
    match (c.key.uploaded(), c.key.jwks_uri()) {
        (Some(k), _) => format!("\"{}\" ({}, kid {})", c.name, c.id, k.kid),
        (None, Some(uri)) => format!("\"{}\" ({}, keys from {uri})", c.name, c.id),
        (None, None) if c.key.federated().is_some() => {
            format!("\"{}\" ({}, a federated credential)", c.name, c.id)
        }
        (None, None) => format!("\"{}\" ({})", c.name, c.id),
    }
}

fn secret_way(m: TokenEndpointAuthMethod) -> &'static str {
    match m {
        TokenEndpointAuthMethod::ClientSecretBasic => {
            "in the Authorization header (Client Secret (Basic))"
        }
        _ => "in the request body (Client Secret (Post))",
    }
}

/// What stops working when the application's method goes from `from` to `to`; `keys` are the
/// credentials that will then be accepted.
fn switch_consequences(from: Option<AuthChoice>, to: AuthChoice, keys: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    match from {
        Some(AuthChoice::Secret(m)) => out.push(format!(
            "Callers that send the client secret {} get invalid_client from the moment you \
             confirm.",
            secret_way(m)
        )),
        Some(AuthChoice::PrivateKeyJwt) => out.push(
            "Assertions signed with the application's keys are refused (invalid_client) from the \
             moment you confirm; its credentials stay, disabled."
                .into(),
        ),
        None => out.push(
            "Callers that send no client authentication are refused from the moment you confirm."
                .into(),
        ),
    }
    match to {
        AuthChoice::PrivateKeyJwt => {
            out.push(format!(
                "Only assertions signed with {} are accepted.",
                keys.join(" or ")
            ));
            out.push(
                "The client secret is hidden while Private Key JWT is on: save it first if a \
                 caller may need to switch back."
                    .into(),
            );
        }
        AuthChoice::Secret(m) => out.push(format!(
            "Callers must send the client secret {}.",
            secret_way(m)
        )),
    }
    out
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
    let no_usable_credential =
        c.uses_private_key_jwt() && !list.iter().any(|cr| cr.associated && !cr.is_expired(now));
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
            no_usable_credential,
            form,
            method_error,
            row_error,
            min_date: today(now),
        },
    )
}

async fn tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Done(done): Done,
) -> Result<Response, DashError> {
    // Private Key JWT was just chosen and waits for its first key: adding one is the switch.
    let form = CredentialFormView {
        enable: done.as_deref() == Some("needs-credential"),
        ..CredentialFormView::default()
    };
    render(
        &state,
        &admin,
        &id,
        StatusCode::OK,
        Shown {
            done: done.as_deref(),
            form,
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
    let now = state.clock.now();
    let client = clients::get(&state.tenant, &id).await?;
    let current = AuthChoice::of(&client);
    if current != Some(choice) && !confirmed(&form) {
        let usable: Vec<String> = credentials::list(&state.tenant, &id)
            .await?
            .iter()
            .filter(|cr| !cr.is_expired(now))
            .map(described)
            .collect();
        // Private Key JWT without a usable key changes nothing yet: the tab asks for a key.
        let takes_effect = !(choice == AuthChoice::PrivateKeyJwt && usable.is_empty());
        if takes_effect {
            return ask(
                &admin,
                &client,
                Question {
                    title: format!("Switch {} to {}?", client.name, choice_label(choice)),
                    consequences: switch_consequences(current, choice, &usable),
                    action: format!("/dashboard/applications/{id}/method"),
                    fields: vec![("method", choice.as_str().to_owned())],
                    button: "Switch method",
                },
            );
        }
    }
    match auth_methods::set_method(&state.tenant, &id, choice, now).await {
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

fn choice_label(choice: AuthChoice) -> &'static str {
    match choice {
        AuthChoice::PrivateKeyJwt => "Private Key JWT",
        AuthChoice::Secret(TokenEndpointAuthMethod::ClientSecretBasic) => "Client Secret (Basic)",
        AuthChoice::Secret(_) => "Client Secret (Post)",
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
                    Ok(_) if up.form.enable => return Ok(back(&id, "credential-added")),
                    Ok(_) => return Ok(back(&id, "credential-added-disabled")),
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
    let now = state.clock.now();
    page(
        StatusCode::OK,
        &CredentialEditPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "credentials",
            expiry_date: cred
                .expires_at
                .map(|t| format_millis(t)[..10].to_owned())
                .unwrap_or_default(),
            credential: CredentialRow::of(&cred, now, &[]),
            errors: FieldErrors::default(),
            min_date: today(now),
        },
    )
}

/// One control: a date sets the expiry, an empty field removes it.
async fn save_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let now = state.clock.now();
    let expiry_date = form.get("expiry_date").trim().to_owned();
    let expires_at = if expiry_date.is_empty() {
        Ok(None)
    } else {
        forms::parse_expiry_date(&expiry_date, now).map(|t| Some(ExpiresAt::At(t)))
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
            expiry_date,
            errors,
            min_date: today(now),
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

/// The application and the credential a row action is about.
async fn row_subject(
    state: &AppState,
    id: &str,
    cid: &str,
) -> Result<(Client, Credential, Vec<Credential>), DashError> {
    let client = clients::get(&state.tenant, id).await?;
    let all = credentials::list(&state.tenant, id).await?;
    let Some(target) = all.iter().find(|c| c.id == cid).cloned() else {
        // The same answer as the Management API's for a credential of another application.
        credentials::get(&state.tenant, id, cid).await?;
        return Err(DashError::NotFound("There is no such credential.".into()));
    };
    Ok((client, target, all))
}

async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let now = state.clock.now();
    let (client, target, _) = row_subject(&state, &id, &cid).await?;
    // Enabling a key of an application on a client secret switches it to Private Key JWT.
    if !client.uses_private_key_jwt() && !target.is_expired(now) && !confirmed(&form) {
        return ask(
            &admin,
            &client,
            Question {
                title: format!(
                    "Enable this key and switch {} to Private Key JWT?",
                    client.name
                ),
                consequences: switch_consequences(
                    AuthChoice::of(&client),
                    AuthChoice::PrivateKeyJwt,
                    &[described(&target)],
                ),
                action: format!("/dashboard/applications/{id}/credentials/{cid}/enable"),
                fields: Vec::new(),
                button: "Enable and switch",
            },
        );
    }
    let r = auth_methods::enable_credential(&state.tenant, &id, &cid, now).await;
    row_action(&state, &admin, &id, r, "credential-enabled").await
}

async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, cid)): Path<(String, String)>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    let (client, target, all) = row_subject(&state, &id, &cid).await?;
    // The only enabled key cannot be disabled: the rule says so without a question first.
    let only_one = all.iter().filter(|c| c.associated).count() <= 1;
    if target.associated && !only_one && !confirmed(&form) {
        return ask(
            &admin,
            &client,
            Question {
                title: format!("Disable {}?", target.name),
                consequences: vec![
                    format!(
                        "Assertions signed with {} are refused (invalid_client) from the moment \
                         you confirm.",
                        described(&target)
                    ),
                    "The credential stays: enable it again to accept its key.".into(),
                ],
                action: format!("/dashboard/applications/{id}/credentials/{cid}/disable"),
                fields: Vec::new(),
                button: "Disable credential",
            },
        );
    }
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
    let (client, target, _) = row_subject(&state, &id, &cid).await?;
    // An enabled credential cannot be deleted: the refusal comes without a question first.
    if !target.associated && !confirmed(&form) {
        return ask(
            &admin,
            &client,
            Question {
                title: format!("Delete {}?", target.name),
                consequences: vec![
                    format!("{} is deleted; this cannot be undone.", described(&target)),
                    "To accept its key again, the public key must be uploaded again.".into(),
                ],
                action: format!("/dashboard/applications/{id}/credentials/{cid}/delete"),
                fields: Vec::new(),
                button: "Delete credential",
            },
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_says_who_breaks_and_what_is_accepted_next() {
        let post = AuthChoice::Secret(TokenEndpointAuthMethod::ClientSecretPost);
        let basic = AuthChoice::Secret(TokenEndpointAuthMethod::ClientSecretBasic);
        let keys = ["\"k\" (cred_1, kid abc)".to_owned()];
        let to_jwt = switch_consequences(Some(post), AuthChoice::PrivateKeyJwt, &keys);
        assert!(to_jwt[0].contains("in the request body"));
        assert!(to_jwt[0].contains("invalid_client"));
        assert!(to_jwt[1].contains("cred_1, kid abc"));
        assert!(to_jwt[2].contains("save it first"));
        let to_secret = switch_consequences(Some(AuthChoice::PrivateKeyJwt), basic, &[]);
        assert!(to_secret[0].contains("Assertions"));
        assert!(to_secret[1].contains("Authorization header"));
        let between = switch_consequences(Some(basic), post, &[]);
        assert!(between[0].contains("Authorization header"));
        assert!(between[1].contains("request body"));
    }
}
