//! Form bodies as name/value lists: repeated names (scope checkboxes) are kept, a missing field
//! is an empty string, and an unreadable body is an error page, never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::DashError;
use crate::crypto::secret::Secret;

pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn csrf(&self) -> &str {
        self.get("csrf")
    }

    /// Takes `name` out of the form as a secret (a password): the form keeps no copy of it.
    pub fn take_secret(&mut self, name: &str) -> Secret {
        match self.0.iter().position(|(k, _)| k == name) {
            Some(i) => Secret::new(self.0.swap_remove(i).1),
            None => Secret::new(String::new()),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = DashError;

    async fn from_request(req: Request, state: &S) -> Result<Self, DashError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                DashError::TooLarge
            } else {
                DashError::BadRequest("The form could not be read.".into())
            }
        })?;
        let fields = Self::parse(&bytes);
        // Every field may reach the database (the sign-in email is a lookup key).
        if fields.0.iter().any(|(k, v)| {
            !crate::domain::text::is_storable(k) || !crate::domain::text::is_storable(v)
        }) {
            return Err(DashError::BadRequest(
                "The form contains a NUL character, which no field can hold.".into(),
            ));
        }
        Ok(fields)
    }
}

/// `?done=…` after a redirect: which fixed notice to show. Any other query is ignored, so an odd
/// URL never turns into an error.
pub struct Done(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Done {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "done")
                .map(|(_, v)| v.into_owned())
        })))
    }
}
