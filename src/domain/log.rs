//! Audit events (Auth0's logs, BEHAVIOUR A.8) as the rest of the product sees them.

use super::Invalid;
use super::log_query::LogQuery;
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
    /// Auth0's `q`, parsed: conditions that must hold as well.
    pub query: LogQuery,
}

/// Auth0's `sort` of a log search: by date only (`date:-1`, the default, or `date:1`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum LogOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

impl LogOrder {
    pub fn parse(sort: &str) -> Result<Self, Invalid> {
        match sort {
            "date:-1" => Ok(Self::NewestFirst),
            "date:1" => Ok(Self::OldestFirst),
            other => Err(Invalid::field(
                "sort",
                format!(
                    "{other:?} is not supported; signet sorts logs by date only: date:-1 or date:1"
                ),
            )),
        }
    }
}
