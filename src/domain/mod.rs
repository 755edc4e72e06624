//! Pure types and rules: what a client, an API, a grant and a scope may be. No I/O, no clock
//! (time is a parameter).

pub mod client;
pub mod credential;
pub mod grant;
pub mod issuer;
pub mod paging;
pub mod resource_server;
pub mod scope;
pub mod text;
pub mod token_quota;

/// A request value broke a rule; the message names the field and the problem in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Checks a free-text field's length in characters (not bytes).
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Invalid(if min == 0 {
            format!("{field} must be at most {max} characters long (got {n})")
        } else {
            format!("{field} must be {min} to {max} characters long (got {n})")
        }));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}
