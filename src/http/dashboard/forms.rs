//! What people type into the dashboard's forms, turned into the domain's commands, and the
//! refusals turned back into a message next to the right field (by the field the refusal names
//! as data), in plain words.

use std::collections::BTreeMap;

use time::macros::format_description;
use time::{Date, Time};

use crate::domain::credential::{AssertionAlg, CredentialUpload, ExpiresAt, JWKS_URI_TYPE};
use crate::tenant::ManagementError;
use crate::time_util::{Millis, from_datetime, parse_iso8601};

/// Messages by field name; `FORM` holds what belongs to no single field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

pub const FORM: &str = "form";

/// One line of a form's error summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLink {
    pub message: String,
    /// The input it is about, linked from the summary; `None` for the whole form.
    pub field_id: Option<&'static str>,
}

impl FieldErrors {
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The summary at the top of the form `form` (a name in `inputs_of`), for the templates.
    /// Only the fields of that form: a page with two forms shows each its own problems.
    pub fn links(&self, form: &str) -> Vec<ErrorLink> {
        let ids = inputs_of(form);
        let mut own = Self::default();
        for (field, message) in &self.0 {
            if *field == FORM || ids.iter().any(|(f, _)| f == field) {
                own.0.insert(field, message.clone());
            }
        }
        own.summary(ids)
    }

    /// The form's problems for the summary at its top, each linking to its field: `ids` maps
    /// a field name to the id of its input. Problems of the whole form come first, unlinked.
    pub fn summary(&self, ids: &[(&str, &'static str)]) -> Vec<ErrorLink> {
        let id_of = |field: &str| ids.iter().find(|(f, _)| *f == field).map(|(_, id)| *id);
        let mut links: Vec<ErrorLink> = self
            .0
            .iter()
            .map(|(field, message)| ErrorLink {
                message: message.clone(),
                field_id: id_of(field),
            })
            .collect();
        // Fields in the order the form shows them; unknown ones (the whole form's) first.
        links.sort_by_key(|l| {
            l.field_id
                .and_then(|id| ids.iter().position(|(_, i)| *i == id))
                .map_or(0, |p| p + 1)
        });
        links
    }

    /// Places a Management refusal next to the field it concerns: `fields` maps the request's
    /// field names (`Invalid::field_name`) to the form's. A conflict on a form with a key is about
    /// that key. Internal failures are not shown.
    pub fn from_management(e: &ManagementError, fields: &[(&str, &'static str)]) -> Option<Self> {
        let form_field = |name: &str| {
            fields
                .iter()
                .find(|(request, _)| *request == name)
                .map(|(_, form)| *form)
        };
        Some(match e {
            ManagementError::Invalid(i) => match i.field_root().and_then(form_field) {
                // The field itself: its problem, with the field's name as its subject if the
                // problem reads that way.
                Some(field) if i.field_root() == i.field_name() => {
                    let subject = i.field_name().filter(|_| i.field_is_subject());
                    Self::one(field, sentence(i.problem(), subject))
                }
                // A part of it (`scopes[2].value`): the whole message says which part.
                Some(field) => Self::one(field, sentence(&i.to_string(), None)),
                None => Self::one(FORM, sentence(&i.to_string(), None)),
            },
            ManagementError::Conflict(m) => {
                Self::one(form_field("pem").unwrap_or(FORM), sentence(m, None))
            }
            ManagementError::NotAllowed(m) | ManagementError::NotFound { message: m, .. } => {
                Self::one(FORM, sentence(m, None))
            }
            ManagementError::Internal(_) => return None,
        })
    }
}

/// Starts with a capital letter and ends with a full stop; a field that is the problem's
/// subject ("must be …") leads it, in words.
pub(super) fn sentence(problem: &str, subject: Option<&str>) -> String {
    let text = match subject {
        Some(field) => format!("{} {problem}", field.replace(['_', '.'], " ")),
        None => problem.to_owned(),
    };
    let mut chars = text.chars();
    let mut out = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The Add Credential form as submitted (the file's text, or the pasted text).
#[derive(Debug, Clone, Default)]
pub struct CredentialForm {
    pub name: String,
    pub pem: String,
    /// A signet extension: the URL the application publishes its keys at, instead of a key.
    pub jwks_uri: String,
    pub alg: String,
    /// One control for the expiry: a date, or empty for none (a certificate's own notAfter).
    pub expiry_date: String,
    pub enable: bool,
}

/// `YYYY-MM-DD` (what a date picker sends) means the end of that day, UTC: a credential set to
/// expire "on 1 March" still works on 1 March. A full ISO 8601 instant is taken as it is.
pub fn parse_expiry_date(text: &str, now: Millis) -> Result<Millis, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Choose the date the credential expires.".into());
    }
    let at = if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        from_datetime(
            date.with_time(Time::from_hms_milli(23, 59, 59, 999).expect("a valid time"))
                .assume_utc(),
        )
    } else {
        parse_iso8601(text)
            .ok_or_else(|| "The expiry date must be a date such as 2027-03-01.".to_owned())?
    };
    if at <= now {
        return Err("The expiry date must be in the future.".into());
    }
    Ok(at)
}

impl CredentialForm {
    /// The upload, or the problems found before the key is even looked at.
    pub fn to_request(&self, now: Millis) -> Result<CredentialUpload, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add("name", "Enter a name for the credential.");
        }
        let jwks_uri = self.jwks_uri.trim();
        if !jwks_uri.is_empty() {
            return self.key_url_request(name, jwks_uri, now, errors);
        }
        if self.pem.trim().is_empty() {
            errors.add(
                "pem",
                "Choose a PEM file (public key or X.509 certificate) or paste one, or give the \
                 URL of the application's key set.",
            );
        }
        let alg = AssertionAlg::parse(&self.alg);
        if alg.is_none() {
            errors.add(
                "alg",
                "Choose RS256, RS384 or PS256. For a P-256, P-384 or Ed25519 key choose ES256, \
                 ES384 or EdDSA.",
            );
        }
        let expires_at = self.expiry(now, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CredentialUpload {
            name: Some(name.to_owned()),
            alg,
            // No date: a certificate expires when it does, as `signet keygen --cert` and the
            // Management API's `parse_expiry_from_cert` make it; a bare public key never does.
            parse_expiry_from_cert: expires_at.is_none() && is_certificate(&self.pem),
            expires_at,
            ..CredentialUpload::of_pem(self.pem.clone())
        })
    }
}

impl CredentialForm {
    /// A `jwks_uri` credential: the keys, and so their algorithms, come from the set.
    fn key_url_request(
        &self,
        name: &str,
        jwks_uri: &str,
        now: Millis,
        mut errors: FieldErrors,
    ) -> Result<CredentialUpload, FieldErrors> {
        if !self.pem.trim().is_empty() {
            errors.add(
                "jwks_uri",
                "Give either a public key or a key set URL, not both.",
            );
        }
        let expires_at = self.expiry(now, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CredentialUpload {
            credential_type: JWKS_URI_TYPE.into(),
            name: Some(name.to_owned()),
            jwks_uri: Some(jwks_uri.to_owned()),
            expires_at,
            ..CredentialUpload::of_pem(String::new())
        })
    }

    fn expiry(&self, now: Millis, errors: &mut FieldErrors) -> Option<ExpiresAt> {
        if self.expiry_date.trim().is_empty() {
            return None;
        }
        match parse_expiry_date(&self.expiry_date, now) {
            Ok(at) => Some(ExpiresAt::At(at)),
            Err(m) => {
                errors.add("expiry_date", m);
                None
            }
        }
    }
}

/// Whether the uploaded PEM is an X.509 certificate (which carries its own expiry).
pub fn is_certificate(pem: &str) -> bool {
    pem.contains("-----BEGIN CERTIFICATE-----")
}

/// How the credential form's refusals map to its fields.
pub const CREDENTIAL_FIELDS: &[(&str, &str)] = &[
    ("jwks_uri", "jwks_uri"),
    ("pem", "pem"),
    ("name", "name"),
    ("expires_at", "expiry_date"),
    ("alg", "alg"),
];

/// The Add Credential form's inputs, in the order it shows them, for its error summary.
pub const CREDENTIAL_INPUTS: &[(&str, &str)] = &[
    ("name", "credential-name"),
    ("pem", "pem-file"),
    ("jwks_uri", "jwks-uri"),
    ("alg", "credential-alg"),
    ("expiry_date", "expiry-date"),
];

/// Each form's inputs (field name, input id) in the order it shows them.
fn inputs_of(form: &str) -> &'static [(&'static str, &'static str)] {
    match form {
        "credential" => CREDENTIAL_INPUTS,
        "credential-edit" => &[("expiry_date", "expiry-date")],
        "create-app" => &[("name", "app-name-input"), ("app_type", "app-type")],
        "settings" => &[
            ("name", "settings-name"),
            ("description", "settings-description"),
        ],
        "delete-app" => &[("confirm", "delete-confirm")],
        "create-api" => &[
            ("name", "api-name"),
            ("identifier", "api-identifier"),
            ("scopes", "api-scopes"),
        ],
        "api" => &[
            ("name", "api-name"),
            ("scopes", "api-scopes"),
            ("signing_alg", "api-alg"),
            ("token_dialect", "api-dialect"),
            ("token_lifetime", "api-lifetime"),
        ],
        _ => &[],
    }
}

/// Scopes as typed: separated by spaces, commas or new lines; each becomes one scope.
pub fn split_scopes(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in text.split(|c: char| c.is_whitespace() || c == ',') {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Invalid;

    const NOW: Millis = 1_800_000_000_000; // 2027-01-15

    fn form() -> CredentialForm {
        CredentialForm {
            name: "key-2027".into(),
            pem: "-----BEGIN PUBLIC KEY-----".into(),
            alg: "RS256".into(),
            ..CredentialForm::default()
        }
    }

    #[test]
    fn a_date_means_the_end_of_that_day_utc() {
        let at = parse_expiry_date("2030-03-01", NOW).unwrap();
        assert_eq!(
            crate::time_util::format_millis(at),
            "2030-03-01T23:59:59.999Z"
        );
    }

    #[test]
    fn past_and_malformed_dates_are_refused_in_plain_words() {
        assert!(
            parse_expiry_date("2020-03-01", NOW)
                .unwrap_err()
                .contains("future")
        );
        assert!(
            parse_expiry_date("next week", NOW)
                .unwrap_err()
                .contains("such as")
        );
        assert!(parse_expiry_date("", NOW).unwrap_err().contains("Choose"));
    }

    #[test]
    fn every_missing_field_is_named() {
        let empty = CredentialForm::default();
        let errors = empty.to_request(NOW).unwrap_err();
        assert!(errors.get("name").is_some());
        assert!(errors.get("pem").is_some());
        assert!(errors.get("alg").is_some());
        let mut f = form();
        f.expiry_date = "2001-01-01".into();
        assert!(f.to_request(NOW).unwrap_err().get("expiry_date").is_some());
    }

    #[test]
    fn a_complete_form_becomes_a_credential_request() {
        let mut f = form();
        f.alg = "PS256".into();
        f.expiry_date = "2031-12-31".into();
        let req = f.to_request(NOW).unwrap();
        assert_eq!(req.alg, Some(AssertionAlg::PS256));
        assert_eq!(
            req.expires_at
                .map(|at| crate::time_util::format_millis(at.resolve(NOW).unwrap())),
            Some("2031-12-31T23:59:59.999Z".to_owned())
        );
        assert_eq!(req.name.as_deref(), Some("key-2027"));
    }

    #[test]
    fn one_expiry_control_a_date_or_nothing_and_certificates_bring_their_own() {
        let key = form().to_request(NOW).unwrap();
        assert!(key.expires_at.is_none());
        assert!(
            !key.parse_expiry_from_cert,
            "a bare public key never expires"
        );

        let mut cert = form();
        cert.pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".into();
        let req = cert.to_request(NOW).unwrap();
        assert!(req.expires_at.is_none());
        assert!(
            req.parse_expiry_from_cert,
            "a certificate expires with its notAfter"
        );

        cert.expiry_date = "2030-01-31".into();
        let req = cert.to_request(NOW).unwrap();
        assert!(req.expires_at.is_some());
        assert!(
            !req.parse_expiry_from_cert,
            "a picked date wins, never both"
        );
    }

    #[test]
    fn the_summary_lists_problems_in_form_order_and_links_each_field() {
        let mut errors = FieldErrors::one("alg", "Choose an algorithm.");
        errors.add("name", "Enter a name.");
        errors.add(FORM, "At most two.");
        let summary = errors.summary(CREDENTIAL_INPUTS);
        let shown: Vec<(Option<&str>, &str)> = summary
            .iter()
            .map(|l| (l.field_id, l.message.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![
                (None, "At most two."),
                (Some("credential-name"), "Enter a name."),
                (Some("credential-alg"), "Choose an algorithm."),
            ]
        );
    }

    #[test]
    fn management_refusals_land_next_to_their_field() {
        let e = ManagementError::Invalid(Invalid::found_in("pem", "malformed PEM: no BEGIN line"));
        let placed = FieldErrors::from_management(&e, CREDENTIAL_FIELDS).unwrap();
        assert_eq!(placed.get("pem"), Some("Malformed PEM: no BEGIN line."));
        let e = ManagementError::Invalid(Invalid::field("expires_at", "must be in the future"));
        let placed = FieldErrors::from_management(&e, CREDENTIAL_FIELDS).unwrap();
        assert_eq!(
            placed.get("expiry_date"),
            Some("Expires at must be in the future.")
        );
        let e = ManagementError::Invalid(Invalid::new("An application can have at most 2"));
        let placed = FieldErrors::from_management(&e, CREDENTIAL_FIELDS).unwrap();
        assert!(placed.get(FORM).is_some());
        let e = ManagementError::Conflict("This public key is already registered".into());
        let placed = FieldErrors::from_management(&e, CREDENTIAL_FIELDS).unwrap();
        assert!(placed.get("pem").unwrap().contains("already registered"));
    }

    #[test]
    fn scopes_split_on_spaces_commas_and_lines() {
        assert_eq!(
            split_scopes("read:a, write:a\nread:a  delete:a"),
            vec!["read:a", "write:a", "delete:a"]
        );
        assert!(split_scopes("  ").is_empty());
    }
}
