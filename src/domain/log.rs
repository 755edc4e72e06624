//! Audit events (Auth0's logs, BEHAVIOUR A.8) as the rest of the product sees them.

use crate::time_util::Millis;

/// One event: a token request's outcome, a rate limit's refusals, a quota warning, a count of
/// dropped events.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub id: String,
    /// Orders events of one instance that share a millisecond.
    pub seq: i64,
    pub date: Millis,
    pub kind: String,
    pub description: String,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

/// Which events a listing shows; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub kind: Option<String>,
    pub client_id: Option<String>,
}
