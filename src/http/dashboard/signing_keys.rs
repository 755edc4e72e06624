//! Settings → Signing Keys: the tenant's access-token signing keys, with rotation and
//! revocation behind confirmations that say what each one breaks (BEHAVIOUR A.10).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::views::{Ctx, SigningKeyView, SigningKeysPage, page};
use super::{Admin, DashError};
use crate::domain::signing_key::KeyState;
use crate::http::AppState;
use crate::http::dashboard::forms::FieldErrors;
use crate::tenant::{ManagementError, signing_keys};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/settings/signing-keys", get(show))
        .route("/dashboard/settings/signing-keys/rotate", post(rotate))
        .route(
            "/dashboard/settings/signing-keys/rotate-and-revoke",
            post(rotate_and_revoke),
        )
        .route(
            "/dashboard/settings/signing-keys/{kid}/revoke",
            post(revoke),
        )
}

async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Done(done): Done,
) -> Result<Response, DashError> {
    let errors = FieldErrors::default();
    keys_page(&state, &admin, done.as_deref(), StatusCode::OK, errors, "").await
}

/// `refused_kid`: the key whose Revoke form `errors` speak of.
async fn keys_page(
    state: &AppState,
    admin: &Admin,
    done: Option<&str>,
    status: StatusCode,
    errors: FieldErrors,
    refused_kid: &str,
) -> Result<Response, DashError> {
    let keys = signing_keys::list(&state.tenant).await?;
    let (revoked, valid): (Vec<_>, Vec<_>) = keys
        .iter()
        .map(SigningKeyView::of)
        .partition(|k| k.state == "Revoked");
    page(
        status,
        &SigningKeysPage {
            ctx: Ctx::new(admin, "settings", done),
            current_kid: keys
                .iter()
                .find(|k| k.state == KeyState::Current)
                .map(|k| k.kid.clone())
                .unwrap_or_default(),
            valid,
            revoked,
            errors,
            refused_kid: refused_kid.to_owned(),
        },
    )
}

/// Each action needs its box ticked: the box's label says what the action breaks.
async fn unconfirmed(
    state: &AppState,
    admin: &Admin,
    field: &'static str,
    message: &str,
    kid: &str,
) -> Result<Response, DashError> {
    let errors = FieldErrors::one(field, message.to_owned());
    keys_page(
        state,
        admin,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        errors,
        kid,
    )
    .await
}

async fn rotate(
    State(state): State<AppState>,
    admin: Admin,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    if form.get("confirm") != "yes" {
        let message = "Tick the box to confirm the rotation.";
        return unconfirmed(&state, &admin, "rotate", message, "").await;
    }
    signing_keys::rotate(&state.tenant, state.clock.now()).await?;
    Ok(Redirect::to("/dashboard/settings/signing-keys?done=keys-rotated").into_response())
}

/// For a key that leaked: the current key stops signing and is revoked at once.
async fn rotate_and_revoke(
    State(state): State<AppState>,
    admin: Admin,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    if form.get("confirm") != "yes" {
        let message =
            "Tick the box to confirm: every token the current key signed stops verifying.";
        return unconfirmed(&state, &admin, "rotate-and-revoke", message, "").await;
    }
    let keys = signing_keys::list(&state.tenant).await?;
    let Some(current) = keys.iter().find(|k| k.state == KeyState::Current) else {
        return Err(DashError::Internal("no current signing key".into()));
    };
    // Only the key the page showed as current is revoked: if someone rotated meanwhile, the
    // admin confirmed revoking that key, not the one now current.
    if form.get("kid") != current.kid {
        let message = "The keys changed since this page was shown; check them and try again.";
        return unconfirmed(&state, &admin, "rotate-and-revoke", message, "").await;
    }
    let now = state.clock.now();
    signing_keys::rotate(&state.tenant, now).await?;
    signing_keys::revoke(&state.tenant, &current.kid, state.clock.now()).await?;
    Ok(Redirect::to("/dashboard/settings/signing-keys?done=keys-rotated-revoked").into_response())
}

async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(kid): Path<String>,
    form: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(form.csrf())?;
    if form.get("confirm") != "yes" {
        let message = "Tick the box to confirm: tokens this key signed stop verifying.";
        return unconfirmed(&state, &admin, "revoke", message, &kid).await;
    }
    match signing_keys::revoke(&state.tenant, &kid, state.clock.now()).await {
        Ok(_) => {
            Ok(Redirect::to("/dashboard/settings/signing-keys?done=key-revoked").into_response())
        }
        Err(ManagementError::NotAllowed(message)) => {
            unconfirmed(&state, &admin, "revoke", &message, &kid).await
        }
        Err(e) => Err(e.into()),
    }
}
