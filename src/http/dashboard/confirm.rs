//! The question asked before a change that breaks callers (rotating the secret, switching the
//! authentication method, disabling or deleting a credential): a page that says what will stop
//! working, and a button that sends the same request again with `confirm=yes`. It works without
//! JavaScript, and nothing changes until the button is pressed.

use axum::http::StatusCode;
use axum::response::Response;

use super::form::FormFields;
use super::views::{AppView, ConfirmPage, Ctx, page};
use super::{Admin, DashError};
use crate::domain::client::Client;

/// Whether the request carries the confirmation the question page adds.
pub fn confirmed(form: &FormFields) -> bool {
    form.get("confirm") == "yes"
}

pub struct Question {
    pub title: String,
    pub consequences: Vec<String>,
    /// Where the confirmed request goes: the address the unconfirmed one went to.
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
    pub button: &'static str,
}

/// The question page, on the application's Credentials tab. 200: nothing failed, a step is
/// still missing.
pub fn ask(admin: &Admin, client: &Client, question: Question) -> Result<Response, DashError> {
    let Question {
        title,
        consequences,
        action,
        fields,
        button,
    } = question;
    page(
        StatusCode::OK,
        &ConfirmPage {
            ctx: Ctx::new(admin, "applications", None),
            app: AppView::of(client),
            tab: "credentials",
            title,
            consequences,
            action,
            fields,
            button,
            cancel: format!("/dashboard/applications/{}/credentials", client.client_id),
        },
    )
}
