//! Client grants: which application may get tokens for which API, with which scopes.

use super::Invalid;
use super::resource_server::ResourceServer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

/// A new grant of `scope` on the API `audience` to the application `client_id`.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

/// A grant's new scopes.
#[derive(Debug, Clone)]
pub struct GrantPatch {
    pub scope: Vec<String>,
}

/// Filters for listing; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct GrantFilter {
    pub audience: Option<String>,
    pub client_id: Option<String>,
    /// Auth0's `subject_type` other than `client`: every signet grant lets an application act
    /// as itself (`client`), so nothing matches.
    pub nothing: bool,
}

/// Auth0's `subject_type` values.
const SUBJECT_TYPES: &[&str] = &["client", "user", "anonymous_user"];

/// Whether Auth0's `subject_type` filter leaves signet's grants (all of type `client`) in.
pub fn subject_type_matches(subject_type: &str) -> Result<bool, Invalid> {
    if !SUBJECT_TYPES.contains(&subject_type) {
        return Err(Invalid::found_in(
            "subject_type",
            format!(
                "{subject_type:?} is not a subject type (one of {})",
                SUBJECT_TYPES.join(", ")
            ),
        ));
    }
    Ok(subject_type == "client")
}

/// Every granted scope must be defined by the API; duplicates collapse (order kept).
pub fn normalise_granted_scopes(
    api: &ResourceServer,
    requested: &[String],
) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::with_capacity(requested.len());
    for s in requested {
        if !api.defines_scope(s) {
            return Err(Invalid::field(
                "scope",
                format!("{s:?} is not defined by the API {:?}", api.identifier),
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// What a token carries: the granted scopes the API still defines, narrowed to `requested`
/// when the request names scopes. Requested scopes that were not granted are an error listing
/// them (Auth0: "Client has not been granted scopes: …").
pub fn token_scopes(
    api_scopes: &[String],
    granted: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, Vec<String>> {
    let effective: Vec<&String> = granted.iter().filter(|g| api_scopes.contains(g)).collect();
    match requested {
        None => Ok(effective.into_iter().cloned().collect()),
        Some(req) => {
            let mut out = Vec::new();
            let mut missing = Vec::new();
            for r in req.split(' ').filter(|s| !s.is_empty()) {
                if effective.iter().any(|g| *g == r) {
                    if !out.iter().any(|o: &String| o == r) {
                        out.push(r.to_owned());
                    }
                } else if !missing.iter().any(|m: &String| m == r) {
                    missing.push(r.to_owned());
                }
            }
            if missing.is_empty() {
                Ok(out)
            } else {
                Err(missing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn token_carries_granted_scopes_still_defined_by_the_api() {
        let api = v(&["read", "write"]);
        assert_eq!(
            token_scopes(&api, &v(&["read", "gone"]), None).unwrap(),
            v(&["read"])
        );
    }

    #[test]
    fn requested_scopes_narrow_the_token_and_ungranted_ones_are_named() {
        let api = v(&["read", "write"]);
        let granted = v(&["read", "write"]);
        assert_eq!(
            token_scopes(&api, &granted, Some("write")).unwrap(),
            v(&["write"])
        );
        assert_eq!(
            token_scopes(&api, &v(&["read"]), Some("read write")).unwrap_err(),
            v(&["write"])
        );
    }

    #[test]
    fn every_grant_is_a_client_grant() {
        assert!(subject_type_matches("client").unwrap());
        assert!(!subject_type_matches("user").unwrap());
        assert!(!subject_type_matches("anonymous_user").unwrap());
        assert!(subject_type_matches("robot").is_err());
    }
}
