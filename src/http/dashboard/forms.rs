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
fn sentence(problem: &str, subject: Option<&str>) -> String {
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
    pub set_expiry: bool,
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
        if !self.set_expiry {
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

/// How the credential form's refusals map to its fields.
pub const CREDENTIAL_FIELDS: &[(&str, &str)] = &[
    ("jwks_uri", "jwks_uri"),
    ("pem", "pem"),
    ("name", "name"),
    ("expires_at", "expiry_date"),
    ("alg", "alg"),
];

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
        f.set_expiry = true;
        f.expiry_date = "2001-01-01".into();
        assert!(f.to_request(NOW).unwrap_err().get("expiry_date").is_some());
    }

    #[test]
    fn a_complete_form_becomes_a_credential_request() {
        let mut f = form();
        f.alg = "PS256".into();
        f.set_expiry = true;
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
