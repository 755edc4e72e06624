//! The application's Federation tab (BEHAVIOUR B.13): its federated credentials (issuer, match
//! rule, last use), a form per preset that asks for exactly the preset's fields and explains
//! each, and "test a token against this application", which runs every check and uses nothing.
//! The pasted token is never echoed into the page, stored or logged.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::form::{Done, FormFields};
use super::forms::{FORM, FieldErrors, sentence};
use super::views::{AppView, Ctx, credential_state, date, page};
use super::{Admin, DashError};
use crate::domain::credential::{Credential, CredentialUpload, FEDERATED_TYPE, MAX_PER_CLIENT};
use crate::domain::federated::{FederatedKeys, FederatedUpload, Preset};
use crate::http::AppState;
use crate::oauth::federated::MAX_TOKEN_LEN;
use crate::oauth::token::federated_explain::Explanation;
use crate::tenant::ManagementError;
use crate::tenant::{auth_methods, clients, credentials};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/applications/{id}/federation",
            get(tab).post(add),
        )
        .route(
            "/dashboard/applications/{id}/federation/test",
            post(test_token),
        )
}

/// A field of a preset's form.
struct Spec {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    required: bool,
    multiline: bool,
}

const fn spec(name: &'static str, label: &'static str, hint: &'static str) -> Spec {
    Spec {
        name,
        label,
        hint,
        required: false,
        multiline: false,
    }
}

const fn required(s: Spec) -> Spec {
    Spec {
        required: true,
        ..s
    }
}

const fn multiline(s: Spec) -> Spec {
    Spec {
        multiline: true,
        ..s
    }
}

const AUDIENCE: Spec = spec(
    "audience",
    "Audience (optional)",
    "The aud the platform token must carry. Left empty: this server's issuer URL, which is what signet token --federated asks the platform for.",
);
const JWKS: Spec = multiline(spec(
    "jwks",
    "Keys (JWK Set, optional)",
    "Paste the issuer's public keys when this server cannot reach the issuer (an air-gapped cluster). Left empty, the keys come from the issuer's OpenID discovery document.",
));

/// The preset's own fields, in the order the form asks for them; `None` is a custom issuer.
fn specs(preset: Option<Preset>) -> Vec<Spec> {
    match preset {
        Some(Preset::GithubActions) => vec![
            required(spec(
                "repository_id",
                "Repository ID",
                "The repository's numeric id (gh api repos/OWNER/REPO --jq .id). Ids survive renames; a name could be taken over by a new repository.",
            )),
            required(spec(
                "repository_owner_id",
                "Owner ID",
                "The numeric id of the organisation or user that owns the repository (gh api repos/OWNER/REPO --jq .owner.id).",
            )),
            spec(
                "ref",
                "Branch or tag (ref)",
                "The full ref, e.g. refs/heads/main. Give this or an environment: without either, every branch could deploy.",
            ),
            spec(
                "environment",
                "Environment",
                "A GitHub environment name (its protection rules then guard the token), instead of or besides the ref.",
            ),
            spec(
                "issuer",
                "Issuer (optional)",
                "Left empty: https://token.actions.githubusercontent.com. For GitHub Enterprise Server: https://HOSTNAME/_services/token.",
            ),
            AUDIENCE,
        ],
        Some(Preset::GitlabCi) => vec![
            required(spec(
                "project_id",
                "Project ID",
                "The project's numeric id (Settings › General). Ids survive renames and transfers.",
            )),
            required(spec(
                "namespace_id",
                "Namespace ID",
                "The numeric id of the group or user that owns the project.",
            )),
            spec(
                "ref",
                "Branch or tag (ref)",
                "The branch or tag name, e.g. main. Give this or an environment: without either, every branch could authenticate.",
            ),
            spec(
                "environment",
                "Environment",
                "A GitLab environment name, instead of or besides the ref.",
            ),
            spec(
                "issuer",
                "Issuer (optional)",
                "Left empty: https://gitlab.com. For a self-managed instance: its URL.",
            ),
            AUDIENCE,
        ],
        Some(Preset::Kubernetes) => vec![
            required(spec(
                "issuer",
                "Cluster issuer",
                "The cluster's service-account issuer: kubectl get --raw /.well-known/openid-configuration | jq -r .issuer",
            )),
            required(spec(
                "namespace",
                "Namespace",
                "The namespace of the service account.",
            )),
            required(spec(
                "service_account",
                "Service account",
                "Its name; tokens must have sub system:serviceaccount:NAMESPACE:NAME.",
            )),
            multiline(spec(
                "jwks",
                "Keys (JWK Set, optional)",
                "For a cluster whose issuer this server cannot reach: paste kubectl get --raw /openid/v1/jwks. Left empty, the keys come from the issuer's discovery document.",
            )),
            AUDIENCE,
        ],
        Some(Preset::Spiffe) => vec![
            required(spec(
                "spiffe_id",
                "SPIFFE ID",
                "The workload's SPIFFE ID, e.g. spiffe://prod.example.org/ns/payments/sa/api: the JWT-SVID's sub.",
            )),
            spec(
                "jwks_uri",
                "Trust bundle endpoint",
                "Where the trust domain's JWT keys are published (a SPIFFE bundle endpoint or JWKS URL); or paste the keys below.",
            ),
            multiline(spec(
                "jwks",
                "Keys (JWK Set)",
                "The trust bundle's JWT keys, when there is no endpoint this server can reach.",
            )),
            spec(
                "issuer",
                "Issuer (optional)",
                "JWT-SVIDs may carry no iss; give it to require one.",
            ),
            AUDIENCE,
        ],
        None => vec![
            required(spec(
                "issuer",
                "Issuer",
                "The token's iss, exactly (an https URL).",
            )),
            spec("subject", "Subject", "The token's sub, exactly."),
            multiline(spec(
                "claims",
                "Other claims",
                "One per line as name=value; each must match exactly (as text). Pin the subject or at least one claim.",
            )),
            spec(
                "jwks_uri",
                "Keys URL (optional)",
                "Where the issuer publishes its keys, if not in its OpenID discovery document.",
            ),
            JWKS,
            AUDIENCE,
        ],
    }
}

/// The fields every form ends with.
const COMMON: [&str; 3] = ["name", "max_token_lifetime", "replay"];

/// Which preset's form is shown: `custom` is any other OpenID Connect issuer.
fn preset_of(key: &str) -> Option<Option<Preset>> {
    match key {
        "custom" => Some(None),
        other => Preset::parse(other).map(Some),
    }
}

fn preset_key(preset: Option<Preset>) -> &'static str {
    preset.map_or("custom", Preset::as_str)
}

/// The upload the form describes; problems that need no rule (JSON that does not parse, a
/// number that is not one) are found here.
fn upload_of(preset: Option<Preset>, f: &FormFields) -> Result<CredentialUpload, FieldErrors> {
    let text = |name: &str| {
        let v = f.get(name).trim();
        (!v.is_empty()).then(|| v.to_owned())
    };
    let mut claims: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut subject = text("subject");
    let names: &[&str] = match preset {
        Some(Preset::GithubActions) => {
            &["repository_id", "repository_owner_id", "ref", "environment"]
        }
        Some(Preset::GitlabCi) => &["project_id", "namespace_id", "ref", "environment"],
        _ => &[],
    };
    for name in names {
        if let Some(v) = text(name) {
            claims.insert((*name).to_owned(), v.into());
        }
    }
    match preset {
        Some(Preset::Kubernetes) => {
            subject = Some(format!(
                "system:serviceaccount:{}:{}",
                f.get("namespace").trim(),
                f.get("service_account").trim()
            ));
        }
        Some(Preset::Spiffe) => subject = text("spiffe_id"),
        None => {
            for line in f
                .get("claims")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                let Some((name, value)) = line.split_once('=') else {
                    return Err(FieldErrors::one(
                        "claims",
                        format!(
                            "Write each claim as name=value (\"{}\" has no =).",
                            line.chars().take(64).collect::<String>()
                        ),
                    ));
                };
                claims.insert(name.trim().to_owned(), value.trim().into());
            }
        }
        _ => {}
    }
    let jwks = match text("jwks") {
        Some(json) => Some(serde_json::from_str(&json).map_err(|_| {
            FieldErrors::one(
                "jwks",
                "The keys are not JSON: paste the JWK Set as it is, {\"keys\": [...]}.",
            )
        })?),
        None => None,
    };
    let max_token_lifetime = match text("max_token_lifetime") {
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            FieldErrors::one(
                "max_token_lifetime",
                "The longest token lifetime must be a whole number of seconds.",
            )
        })?),
        None => None,
    };
    let mut upload = CredentialUpload::of_pem(String::new());
    upload.credential_type = FEDERATED_TYPE.into();
    upload.name = text("name");
    upload.jwks_uri = text("jwks_uri");
    upload.federated = Some(FederatedUpload {
        issuer: text("issuer"),
        subject,
        claims: (!claims.is_empty()).then_some(claims),
        audience: text("audience"),
        jwks,
        preset: preset.map(|p| p.as_str().to_owned()),
        max_token_lifetime,
        replay: text("replay"),
    });
    Ok(upload)
}

/// Places a refusal next to the input it concerns: `claims.repository_id` next to the
/// repository id, the subject next to whatever makes it up in this preset.
fn placed(e: &ManagementError, preset: Option<Preset>) -> Option<FieldErrors> {
    let ManagementError::Invalid(invalid) = e else {
        return FieldErrors::from_management(e, &[]);
    };
    let name = invalid.field_name().unwrap_or_default();
    let target = match name.strip_prefix("claims.").unwrap_or(name) {
        "subject" => match preset {
            Some(Preset::Kubernetes) => "service_account",
            Some(Preset::Spiffe) => "spiffe_id",
            _ => "subject",
        },
        "claims" if preset.is_some() => "ref",
        other => other,
    };
    let field = specs(preset)
        .iter()
        .map(|s| s.name)
        .chain(COMMON)
        .find(|f| *f == target)
        .unwrap_or(FORM);
    Some(FieldErrors::one(
        field,
        sentence(&invalid.to_string(), None),
    ))
}

/// A field as the template shows it.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    required: bool,
    multiline: bool,
    value: String,
    error: Option<String>,
}

struct PresetForm {
    key: &'static str,
    title: &'static str,
    fields: Vec<FieldView>,
    name: String,
    max_token_lifetime: String,
    replay: String,
    enable: bool,
    errors: FieldErrors,
    /// The preset's defaults, said in words.
    defaults: &'static str,
}

impl PresetForm {
    fn of(preset: Option<Preset>, f: Option<&FormFields>, errors: FieldErrors) -> Self {
        let value = |name: &str| f.map(|f| f.get(name).to_owned()).unwrap_or_default();
        Self {
            key: preset_key(preset),
            title: title(preset),
            fields: specs(preset)
                .into_iter()
                .map(|s| FieldView {
                    value: value(s.name),
                    error: errors.get(s.name).map(str::to_owned),
                    name: s.name,
                    label: s.label,
                    hint: s.hint,
                    required: s.required,
                    multiline: s.multiline,
                })
                .collect(),
            name: value("name"),
            max_token_lifetime: value("max_token_lifetime"),
            replay: value("replay"),
            enable: f.is_none_or(|f| f.get("enable") == "1"),
            errors,
            defaults: match preset {
                Some(Preset::GithubActions) => {
                    "Tokens may live up to 6 hours (GitHub's own lifetime) and are used once."
                }
                Some(Preset::GitlabCi) => {
                    "Tokens may live up to 1 hour (the default job timeout) and are used once."
                }
                Some(Preset::Kubernetes) => {
                    "Tokens may live up to 3,607 s (the kubelet's default) and are reused until they expire, as pods do; a token the API server extended to a year is refused."
                }
                Some(Preset::Spiffe) => {
                    "Tokens may live up to 5 minutes (SPIRE's default) and are reused until they expire."
                }
                None => "Tokens may live up to 1 hour and are used once (their jti is required).",
            },
        }
    }

    fn error(&self, name: &str) -> Option<&str> {
        self.errors.get(name)
    }
}

fn title(preset: Option<Preset>) -> &'static str {
    match preset {
        Some(Preset::GithubActions) => "GitHub Actions",
        Some(Preset::GitlabCi) => "GitLab CI",
        Some(Preset::Kubernetes) => "Kubernetes service account",
        Some(Preset::Spiffe) => "SPIFFE workload",
        None => "Another OpenID Connect issuer",
    }
}

struct Row {
    id: String,
    name: String,
    issuer: String,
    rule: String,
    keys: String,
    replay: &'static str,
    state: &'static str,
    state_class: &'static str,
    last_used: String,
}

impl Row {
    fn of(c: &Credential, now: crate::time_util::Millis) -> Option<Self> {
        let rule = c.key.federated()?;
        let (state, state_class) = credential_state(c, now);
        Some(Self {
            id: c.id.clone(),
            name: if c.name.is_empty() {
                "(unnamed)".into()
            } else {
                c.name.clone()
            },
            issuer: rule.issuer.clone().unwrap_or_else(|| "any (SPIFFE)".into()),
            rule: rule.match_summary(),
            keys: match &rule.keys {
                FederatedKeys::Discovery => "from the issuer's discovery".into(),
                FederatedKeys::JwksUri(uri) => format!("from {uri}"),
                FederatedKeys::Static(_) => "given with the credential".into(),
            },
            replay: rule.replay.as_str(),
            state,
            state_class,
            last_used: c.last_used_at.map_or_else(|| "Never".into(), date),
        })
    }
}

struct CheckView {
    check: &'static str,
    passed: bool,
    note: String,
}

struct TestResult {
    summary: String,
    summary_class: &'static str,
    code: Option<&'static str>,
    credentials: Vec<(String, Vec<CheckView>)>,
    warning: Option<String>,
}

impl TestResult {
    fn of(e: Explanation) -> Self {
        let summary = match (e.accepted, e.reason, &e.claim, &e.expected) {
            (true, _, _, _) => format!(
                "Accepted: the token endpoint would issue a token with credential {}.",
                e.credential_id.as_deref().unwrap_or("?")
            ),
            (false, Some(code), Some(claim), Some(expected)) => {
                format!("Refused ({code}): {claim} must be {expected}.")
            }
            (false, Some(code), _, _) => format!("Refused ({code})."),
            (false, None, _, _) => "Refused.".into(),
        };
        Self {
            summary,
            summary_class: if e.accepted {
                "state good"
            } else {
                "state bad"
            },
            code: e.reason,
            credentials: e
                .credentials
                .into_iter()
                .map(|c| {
                    (
                        c.credential_id,
                        c.checks
                            .into_iter()
                            .map(|k| CheckView {
                                check: k.check,
                                passed: k.passed,
                                note: k.note,
                            })
                            .collect(),
                    )
                })
                .collect(),
            warning: e.key_set_warning,
        }
    }
}

#[derive(Template)]
#[template(path = "app_federation.html")]
struct FederationPage {
    ctx: Ctx,
    app: AppView,
    tab: &'static str,
    rows: Vec<Row>,
    presets: Vec<(&'static str, &'static str)>,
    form: Option<PresetForm>,
    can_add: bool,
    max_len: usize,
    test_error: Option<&'static str>,
    result: Option<TestResult>,
}

async fn render(
    state: &AppState,
    admin: &Admin,
    id: &str,
    done: Option<&str>,
    form: Option<PresetForm>,
) -> Result<FederationPage, DashError> {
    let c = clients::get(&state.tenant, id).await?;
    let list = credentials::list(&state.tenant, id).await?;
    let now = state.clock.now();
    Ok(FederationPage {
        ctx: Ctx::new(admin, "applications", done),
        app: AppView::of(&c),
        tab: "federation",
        rows: list.iter().filter_map(|c| Row::of(c, now)).collect(),
        presets: [
            Some(Preset::GithubActions),
            Some(Preset::GitlabCi),
            Some(Preset::Kubernetes),
            Some(Preset::Spiffe),
            None,
        ]
        .into_iter()
        .map(|p| (preset_key(p), title(p)))
        .collect(),
        form,
        can_add: list.len() < MAX_PER_CLIENT,
        max_len: MAX_TOKEN_LEN,
        test_error: None,
        result: None,
    })
}

async fn tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    Done(done): Done,
) -> Result<Response, DashError> {
    let preset = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "preset")
            .map(|(_, v)| v.into_owned())
    });
    let form = match preset.as_deref().map(preset_of) {
        Some(Some(p)) => Some(PresetForm::of(p, None, FieldErrors::default())),
        Some(None) => return Err(DashError::BadRequest("No such preset.".into())),
        None => None,
    };
    let shown = render(&state, &admin, &id, done.as_deref(), form).await?;
    page(StatusCode::OK, &shown)
}

async fn add(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    fields: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(fields.csrf())?;
    let preset = preset_of(fields.get("preset"))
        .ok_or_else(|| DashError::BadRequest("No such preset.".into()))?;
    let now = state.clock.now();
    let enable = fields.get("enable") == "1";
    let errors = match upload_of(preset, &fields) {
        Err(errors) => errors,
        Ok(upload) => {
            match auth_methods::add_credential(&state.tenant, &id, upload, enable, now).await {
                Ok(_) => {
                    let done = if enable {
                        "credential-added"
                    } else {
                        "credential-added-disabled"
                    };
                    return Ok(Redirect::to(&format!(
                        "/dashboard/applications/{id}/federation?done={done}#notice"
                    ))
                    .into_response());
                }
                Err(e @ ManagementError::NotFound { .. }) => return Err(e.into()),
                Err(e) => placed(&e, preset).ok_or(e)?,
            }
        }
    };
    let form = PresetForm::of(preset, Some(&fields), errors);
    let shown = render(&state, &admin, &id, None, Some(form)).await?;
    page(StatusCode::UNPROCESSABLE_ENTITY, &shown)
}

async fn test_token(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    mut fields: FormFields,
) -> Result<Response, DashError> {
    admin.check_csrf(fields.csrf())?;
    // Taken out of the form as a secret: no copy of it outlives this request.
    let token = fields.take_secret("token");
    let token = token.expose().trim();
    let mut shown = render(&state, &admin, &id, None, None).await?;
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        shown.test_error = Some("Paste a platform token of at most 8192 bytes to test it.");
        return page(StatusCode::UNPROCESSABLE_ENTITY, &shown);
    }
    let now = state.clock.now().div_euclid(1000);
    let explained = state
        .token_issuer
        .explain_federated(&id, token, now)
        .await
        .map_err(|_| DashError::Internal("the token could not be tested".into()))?
        .ok_or_else(ManagementError::client_not_found)?;
    shown.result = Some(TestResult::of(explained));
    page(StatusCode::OK, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        FormFields::parse(body.as_bytes())
    }

    #[test]
    fn each_preset_asks_for_its_own_fields_and_builds_its_rule() {
        let f = form(&[
            ("repository_id", "123456"),
            ("repository_owner_id", " 654321 "),
            ("ref", "refs/heads/main"),
            ("environment", ""),
        ]);
        let upload = upload_of(Some(Preset::GithubActions), &f).unwrap();
        let rule = upload.accept(0, "").unwrap();
        let rule = rule.key.federated().unwrap();
        assert_eq!(
            rule.match_summary(),
            "ref = \"refs/heads/main\", repository_id = \"123456\", repository_owner_id = \"654321\""
        );
        let k8s = form(&[
            ("issuer", "https://k8s.example"),
            ("namespace", "payments"),
            ("service_account", "api"),
        ]);
        let upload = upload_of(Some(Preset::Kubernetes), &k8s).unwrap();
        assert_eq!(
            upload.federated.unwrap().subject.as_deref(),
            Some("system:serviceaccount:payments:api")
        );
        let names: Vec<&str> = specs(Some(Preset::GitlabCi))
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "project_id",
                "namespace_id",
                "ref",
                "environment",
                "issuer",
                "audience"
            ]
        );
    }

    #[test]
    fn form_problems_land_next_to_their_inputs() {
        let bad_json = form(&[("issuer", "https://i.example"), ("jwks", "{keys")]);
        assert!(
            upload_of(None, &bad_json)
                .unwrap_err()
                .get("jwks")
                .is_some()
        );
        let bad_line = form(&[
            ("issuer", "https://i.example"),
            ("claims", "no equals sign"),
        ]);
        assert!(
            upload_of(None, &bad_line)
                .unwrap_err()
                .get("claims")
                .is_some()
        );
        let missing = form(&[("repository_id", "1"), ("ref", "refs/heads/main")]);
        let e = upload_of(Some(Preset::GithubActions), &missing)
            .unwrap()
            .accept(0, "")
            .unwrap_err();
        let github = placed(&ManagementError::Invalid(e), Some(Preset::GithubActions)).unwrap();
        assert!(github.get("repository_owner_id").is_some(), "{github:?}");
        let k8s = form(&[
            ("issuer", "https://k8s.example"),
            ("namespace", "Bad_NS"),
            ("service_account", "api"),
        ]);
        let e = upload_of(Some(Preset::Kubernetes), &k8s)
            .unwrap()
            .accept(0, "")
            .unwrap_err();
        let k8s = placed(&ManagementError::Invalid(e), Some(Preset::Kubernetes)).unwrap();
        assert!(k8s.get("service_account").is_some(), "{k8s:?}");
    }
}
