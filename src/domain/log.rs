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

impl LogEvent {
    /// `details` as stored: JSON text.
    pub fn details_json(&self) -> String {
        details_json(&self.details)
    }

    /// Why a failed request failed: the authentication failure's code, else the OAuth `error`
    /// (BEHAVIOUR B.7). Stored in a column of its own for filtering and counting.
    pub fn reason(&self) -> Option<&str> {
        self.details["client_authentication_error"]["code"]
            .as_str()
            .or_else(|| self.details["error"].as_str())
    }
}

/// An event's `details` as JSON text. `serde_json::to_string` writes into one buffer, where
/// `Value`'s `Display` goes through the formatter a piece at a time: about 3,500 instructions
/// for a token's event. A `Value` always serialises (its keys are strings); should it not, the
/// event keeps an empty object rather than failing.
pub fn details_json(details: &serde_json::Value) -> String {
    serde_json::to_string(details).unwrap_or_else(|_| "{}".to_owned())
}

/// Which events a listing shows; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub kind: Option<String>,
    pub client_id: Option<String>,
    /// The failure's reason code (see [`LogEvent::reason`]).
    pub reason: Option<String>,
    /// `since <= date < until`, in milliseconds.
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Auth0's `q`, parsed: conditions that must hold as well.
    pub query: LogQuery,
}

/// How many events of one kind an hour (`date / 3_600_000`, UTC) held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    pub hour: i64,
    pub kind: String,
    pub count: i64,
}

/// How many events of one kind had one reason (`None`: events without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    pub kind: String,
    pub reason: Option<String>,
    pub count: i64,
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
