//! The audit events of a token request (BEHAVIOUR A.8, B.7): `seccft` or `feccft`, with the
//! reason for a failed authentication, and the token quota's consumption warnings.

use serde_json::json;

use super::{Granted, Refused, TokenIssuer};
use crate::audit::{self, Entry};
use crate::time_util::Millis;

/// What the request itself said, whatever came of it.
pub(super) struct Context {
    pub audience: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl TokenIssuer {
    pub(super) fn record(
        &self,
        outcome: &Result<Granted, Refused>,
        context: Context,
        now_ms: Millis,
    ) {
        let (kind, description, scope, caller, details) = match outcome {
            Ok(granted) => {
                let c = &granted.caller;
                if c.legacy_audience {
                    tracing::warn!(client_id = ?c.client_id, "assertion accepted with a legacy audience");
                }
                for (state, pct) in &granted.quota_warnings {
                    self.audit.record(
                        Entry {
                            kind: audit::QUOTA_WARNING,
                            description: format!(
                                "{pct}% of client {} quota consumed",
                                state.bucket.as_str()
                            ),
                            client_id: c.client_id.clone(),
                            client_name: c.client_name.clone(),
                            details: json!({
                                "bucket": state.bucket.as_str(),
                                "entity_type": "client",
                                "entity_id": c.client_id,
                                "quota": state.quota,
                                "quota_consumption_percentage": pct,
                                "quota_consumption": state.used,
                            }),
                            ..Entry::default()
                        },
                        now_ms,
                    );
                }
                (
                    audit::SUCCESS,
                    "Client Credentials for Access Token".to_owned(),
                    granted.issued.response.scope.clone(),
                    c,
                    with_key_set_warning(
                        json!({"auth_method": c.method, "credential_id": c.credential_id,
                               "legacy_assertion_audience": c.legacy_audience}),
                        c,
                    ),
                )
            }
            Err(Refused { error, caller }) => {
                let mut details = json!({"error": error.code(), "auth_method": caller.method});
                if let Some(reason) = error.auth_failure() {
                    details["client_authentication_error"] = json!({
                        "code": reason.code(),
                        "credential_id": caller.credential_id,
                    });
                    // The credential's own expectation, never the token's value.
                    if let Some((claim, expected)) = &caller.claim_mismatch {
                        details["client_authentication_error"]["claim"] = json!(claim);
                        details["client_authentication_error"]["expected"] = json!(expected);
                    }
                }
                (
                    audit::FAILURE,
                    error.description().into_owned(),
                    None,
                    caller,
                    with_key_set_warning(details, caller),
                )
            }
        };
        self.audit.record(
            Entry {
                kind,
                description,
                client_id: caller.client_id.clone(),
                client_name: caller.client_name.clone(),
                audience: context.audience,
                scope,
                ip: context.ip,
                user_agent: context.user_agent,
                details,
            },
            now_ms,
        );
    }
}

/// Says when a `jwks_uri` set was used although its last fetch failed, or why none could be
/// (BEHAVIOUR B.12).
fn with_key_set_warning(
    mut details: serde_json::Value,
    caller: &super::Caller,
) -> serde_json::Value {
    if let Some(warning) = &caller.key_set_warning {
        details["key_set_warning"] = json!(warning);
    }
    // A federated token that may be used again says so (BEHAVIOUR B.13).
    if let Some(mode) = caller.replay_mode {
        details["replay"] = json!(mode);
    }
    details
}
