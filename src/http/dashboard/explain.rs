//! The application's "Explain an assertion" tab: paste an assertion (or a decoded header and
//! claims) and see every check of the token endpoint with its verdict, what it found and what
//! it expected. Read-only (`crate::tenant::explain`): the `jti` stays unused and no log event is
//! written. The pasted assertion is never echoed into the page, stored or logged.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::form::FormFields;
use super::views::{AppView, Ctx, page};
use super::{Admin, DashError};
use crate::http::AppState;
use crate::oauth::assertion::MAX_ASSERTION_LEN;
use crate::oauth::assertion::explain::{Explanation, Input, Verdict};
use crate::tenant::explain::KeySetState;
use crate::tenant::{clients, explain};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/dashboard/applications/{id}/explain",
        get(form).post(explain_it),
    )
}

#[derive(Template)]
#[template(path = "app_explain.html")]
struct AppExplainPage {
    ctx: Ctx,
    app: AppView,
    tab: &'static str,
    max_len: usize,
    /// The decoded header and claims as pasted (they hold no signature); never the assertion.
    header: String,
    claims: String,
    decoded_open: bool,
    form_error: Option<&'static str>,
    result: Option<ResultView>,
}

/// The checks and the overall answer.
struct ResultView {
    summary: String,
    summary_class: &'static str,
    /// The reason the token endpoint would log, when it would refuse.
    code: Option<&'static str>,
    /// One per `jwks_uri` credential: which of its sets the checks used, or why none.
    key_url_notes: Vec<KeySetNote>,
    rows: Vec<CheckRow>,
}

struct KeySetNote {
    credential_id: String,
    text: String,
    /// No set could be used: the checks could not try this credential's keys.
    missing: bool,
}

impl KeySetNote {
    fn of(used: &explain::KeySetUsed) -> Self {
        let id = &used.credential_id;
        let (text, missing) = match &used.state {
            KeySetState::Held {
                fetched_at,
                warning,
            } => (
                format!(
                    "Keys of jwks_uri credential {id}: the set this server holds, fetched at \
                     {}{}. Explaining fetches nothing; for a kid that set lacks, the token \
                     endpoint would fetch it again.",
                    crate::time_util::format_millis(*fetched_at),
                    warning
                        .as_deref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ),
                false,
            ),
            KeySetState::Unavailable(why) => (
                format!(
                    "Keys of jwks_uri credential {id} were not checked: this server holds no \
                     usable set for it ({why})."
                ),
                true,
            ),
            KeySetState::Disabled => (
                format!(
                    "jwks_uri credential {id} is disabled: its keys are not tried, here or at \
                     the token endpoint."
                ),
                false,
            ),
        };
        Self {
            credential_id: id.clone(),
            text,
            missing,
        }
    }
}

struct CheckRow {
    name: &'static str,
    title: &'static str,
    verdict: &'static str,
    /// `pass`, `fail`, `not-run`, `not-applicable`: for tests and the row's style.
    verdict_key: &'static str,
    state_class: &'static str,
    found: String,
    expected: String,
    code: &'static str,
}

impl ResultView {
    fn of(explained: &explain::Explained, decoded: bool) -> Self {
        let e: &Explanation = &explained.explanation;
        let (summary, summary_class, code) = match e.first_failure() {
            Some(f) => (
                format!(
                    "The token endpoint would refuse this assertion (401 invalid_client) and log \
                     the reason {} at the check \"{}\".",
                    f.code.unwrap_or("unknown"),
                    f.check.title()
                ),
                "form-error",
                f.code,
            ),
            None if decoded => (
                "Every check that can run without a signature passes. Signed with the key of the \
                 credential shown, the assertion would be accepted (given a grant for the \
                 audience it asks a token for)."
                    .to_owned(),
                "notice",
                None,
            ),
            None => (
                "Every check passes: the token endpoint would accept this assertion (given a \
                 grant for the audience it asks a token for)."
                    .to_owned(),
                "notice",
                None,
            ),
        };
        let key_url_notes = explained.key_sets.iter().map(KeySetNote::of).collect();
        Self {
            summary,
            summary_class,
            code,
            key_url_notes,
            rows: e.findings().iter().map(CheckRow::of).collect(),
        }
    }
}

impl CheckRow {
    fn of(f: &crate::oauth::assertion::explain::Finding) -> Self {
        let (verdict_key, state_class) = match f.verdict {
            Verdict::Pass => ("pass", "good"),
            Verdict::Fail => ("fail", "bad"),
            Verdict::NotRun => ("not-run", "muted"),
            Verdict::NotApplicable => ("not-applicable", "muted"),
        };
        Self {
            name: f.check.name(),
            title: f.check.title(),
            verdict: f.verdict.label(),
            verdict_key,
            state_class,
            found: f.found.clone(),
            expected: f.expected.clone(),
            code: f.code.unwrap_or(""),
        }
    }
}

fn empty_page(admin: &Admin, app: AppView) -> AppExplainPage {
    AppExplainPage {
        ctx: Ctx::new(admin, "applications", None),
        app,
        tab: "explain",
        max_len: MAX_ASSERTION_LEN,
        header: String::new(),
        claims: String::new(),
        decoded_open: false,
        form_error: None,
        result: None,
    }
}

async fn form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, &id).await?;
    page(StatusCode::OK, &empty_page(&admin, AppView::of(&c)))
}

/// The body is read here rather than by the dashboard's form extractor, which refuses a NUL
/// anywhere: a pasted assertion holding one deserves a verdict, and it reaches no storage.
async fn explain_it(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DashError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            DashError::TooLarge
        } else {
            DashError::BadRequest("The form could not be read.".into())
        }
    })?;
    let mut fields = FormFields::parse(&body);
    drop(body);
    admin.check_csrf(fields.csrf())?;
    let c = clients::get(&state.tenant, &id).await?;
    let mut shown = empty_page(&admin, AppView::of(&c));
    // Taken out of the form as a secret: no copy of it outlives this request.
    let assertion = fields.take_secret("assertion");
    let assertion = assertion.expose().trim();
    let header = fields.get("header").trim();
    let claims = fields.get("claims").trim();
    let input = if !assertion.is_empty() {
        Input::Compact(assertion)
    } else if !header.is_empty() || !claims.is_empty() {
        shown.decoded_open = true;
        shown.header = header.to_owned();
        shown.claims = claims.to_owned();
        Input::Decoded { header, claims }
    } else {
        shown.form_error =
            Some("Paste an assertion, or a decoded header and claims, to have it explained.");
        return page(StatusCode::UNPROCESSABLE_ENTITY, &shown);
    };
    let decoded = matches!(input, Input::Decoded { .. });
    let context = explain::Context {
        accept_legacy_audience: state.token_issuer.accept_legacy_audience,
        replay: &state.token_issuer.replay,
    };
    let explained =
        explain::explain(&state.tenant, &id, input, &context, state.clock.now()).await?;
    shown.result = Some(ResultView::of(&explained, decoded));
    page(StatusCode::OK, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::assertion::explain::{Check, Finding};

    #[test]
    fn a_refusal_names_the_logged_reason_and_every_check_gets_a_row() {
        let findings = Check::ORDER.map(|check| Finding {
            check,
            verdict: if check == Check::Aud {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            found: "f".into(),
            expected: "e".into(),
            code: (check == Check::Aud).then_some("aud_mismatch"),
        });
        let row = CheckRow::of(&findings[0]);
        assert_eq!(
            (row.verdict, row.verdict_key, row.state_class),
            ("pass", "pass", "good")
        );
        let failed =
            CheckRow::of(&findings[Check::ORDER.iter().position(|c| *c == Check::Aud).unwrap()]);
        assert_eq!(
            (failed.verdict, failed.state_class, failed.code),
            ("fail", "bad", "aud_mismatch")
        );
    }
}
