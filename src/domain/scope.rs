//! Scope values and the Management API's own scopes.

use super::Invalid;

/// Every scope of the built-in Management API resource server.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_keys",
    "update:client_keys",
    "read:client_summary",
    "read:client_credentials",
    "create:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:logs",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
];

pub const MAX_SCOPE_LEN: usize = 280;

/// A scope value: printable ASCII without spaces or quotes (RFC 6749 §3.3 `scope-token`).
pub fn validate_scope_value(field: &str, value: &str) -> Result<(), Invalid> {
    if value.is_empty() || value.len() > MAX_SCOPE_LEN {
        return Err(Invalid::field(
            field,
            format!("must be 1 to {MAX_SCOPE_LEN} characters long"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        return Err(Invalid::field(
            field,
            format!(
                "{value:?} may only contain printable ASCII characters other than space, '\"' and '\\'"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_values_have_no_spaces() {
        assert!(validate_scope_value("scope", "read:things").is_ok());
        assert!(validate_scope_value("scope", "read things").is_err());
        assert!(validate_scope_value("scope", "").is_err());
        assert!(validate_scope_value("scope", &"a".repeat(281)).is_err());
    }
}
