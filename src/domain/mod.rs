//! Pure types and rules: what a client, an API, a grant and a scope may be. No I/O, no clock
//! (time is a parameter).

pub mod client;
pub mod client_change;
pub mod credential;
pub mod federated;
pub mod grant;
pub mod issuer;
pub mod log;
pub mod log_query;
pub mod paging;
pub mod resource_server;
pub mod scope;
pub mod signing_key;
pub mod text;
pub mod token_quota;

/// A request value broke a rule. The field it concerns is data (`field_path`), so that each
/// surface places the problem where it belongs without reading the message; the message
/// (`Display`) names the field and the problem in plain words, as the Management API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{prefix}{}", self.body())]
pub struct Invalid {
    /// Where the field sits in a larger request (`…credentials[1].`), if anywhere.
    prefix: String,
    field: Option<String>,
    problem: String,
    joint: Joint,
}

/// How a field and its problem read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joint {
    /// `expires_at must be in the future`: the field is the subject.
    Subject,
    /// `pem: malformed PEM`: the problem is what was found in the field.
    Colon,
}

impl Invalid {
    /// A problem with the request as a whole.
    pub fn new(problem: impl Into<String>) -> Self {
        Self {
            prefix: String::new(),
            field: None,
            problem: problem.into(),
            joint: Joint::Subject,
        }
    }

    /// A field and what is wrong with it, the field as the sentence's subject:
    /// `Invalid::field("expires_at", "must be in the future")`.
    pub fn field(field: impl Into<String>, predicate: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(predicate)
        }
    }

    /// A field and what was found in it: `Invalid::found_in("pem", "malformed PEM")` reads
    /// `pem: malformed PEM`.
    pub fn found_in(field: impl Into<String>, finding: impl Into<String>) -> Self {
        Self {
            joint: Joint::Colon,
            ..Self::field(field, finding)
        }
    }

    /// The same problem, for a field nested in a larger request at `prefix`
    /// (`client_authentication_methods.private_key_jwt.credentials[0].`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.prefix.insert_str(0, prefix);
        self
    }

    /// The field's name in the request it was sent in, without any nesting prefix.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The top-level field the problem lies in: `scopes` for `scopes[2].value`.
    pub fn field_root(&self) -> Option<&str> {
        self.field
            .as_deref()
            .and_then(|f| f.split(['.', '[']).next())
    }

    /// What is wrong, without the field's name.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// Whether the field's name is the subject of the problem (`must be …`), rather than
    /// the place where the problem was found.
    pub fn field_is_subject(&self) -> bool {
        self.joint == Joint::Subject
    }

    fn body(&self) -> String {
        match (&self.field, self.joint) {
            (None, _) => self.problem.clone(),
            (Some(f), Joint::Subject) => format!("{f} {}", self.problem),
            (Some(f), Joint::Colon) => format!("{f}: {}", self.problem),
        }
    }
}

/// Checks a free-text field's length in characters (not bytes).
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Invalid::field(
            field,
            if min == 0 {
                format!("must be at most {max} characters long (got {n})")
            } else {
                format!("must be {min} to {max} characters long (got {n})")
            },
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid::field(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_its_field_as_data_and_in_words() {
        let e = Invalid::field("expires_at", "must be in the future");
        assert_eq!(e.to_string(), "expires_at must be in the future");
        assert_eq!(e.field_name(), Some("expires_at"));
        let e = Invalid::found_in("pem", "malformed PEM").within("credentials[1].");
        assert_eq!(e.to_string(), "credentials[1].pem: malformed PEM");
        assert_eq!(
            (e.field_name(), e.problem()),
            (Some("pem"), "malformed PEM")
        );
        assert!(!e.field_is_subject());
        assert_eq!(Invalid::new("too many").to_string(), "too many");
    }
}
