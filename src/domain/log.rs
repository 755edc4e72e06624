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

/// An event's id: `log_`, the event's date as 13 digits, then `unique` (16 random base62
/// characters). Time first, so ids follow the order of events; and the storage finds an event
/// by the date its id carries, with no index of ids of its own ([`LogIdForm`]).
pub fn event_id(date: Millis, unique: &str) -> String {
    format!("log_{date:0width$}{unique}", width = DATE_DIGITS)
}

/// Digits of the date in an id made by [`event_id`]: Unix milliseconds until the year 2286.
const DATE_DIGITS: usize = 13;

/// Length of the random part of an id made by [`event_id`].
pub const EVENT_ID_UNIQUE_LEN: usize = 16;

/// Length of the ids written before they carried their date: `log_` and 24 random base62
/// characters. Both databases keep an index of those alone (migrations 0013).
pub const UNDATED_ID_LEN: usize = 28;

/// What an event id says about where its event is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogIdForm {
    /// Made by [`event_id`]: its event's `date`.
    Dated(Millis),
    /// Made before ids carried their date ([`UNDATED_ID_LEN`]).
    Undated,
    /// Neither: no event has this id.
    Foreign,
}

impl LogIdForm {
    pub fn of(id: &str) -> Self {
        let Some(rest) = id.strip_prefix("log_") else {
            return Self::Foreign;
        };
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Self::Foreign;
        }
        if id.len() == UNDATED_ID_LEN {
            return Self::Undated;
        }
        match rest.split_at_checked(DATE_DIGITS) {
            Some((date, unique))
                if unique.len() == EVENT_ID_UNIQUE_LEN
                    && date.bytes().all(|b| b.is_ascii_digit()) =>
            {
                date.parse().map_or(Self::Foreign, Self::Dated)
            }
            _ => Self::Foreign,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_carries_its_events_date_and_nothing_else_passes_for_one() {
        let id = event_id(1_796_083_200_123, "aB3dE5gH7jK9mN1p");
        assert_eq!(id, "log_1796083200123aB3dE5gH7jK9mN1p");
        assert_eq!(LogIdForm::of(&id), LogIdForm::Dated(1_796_083_200_123));
        assert_eq!(
            LogIdForm::of(&event_id(5, "0000000000000000")),
            LogIdForm::Dated(5)
        );
        assert_eq!(
            LogIdForm::of("log_Zx9aB3dE5gH7jK9mN1pQr2sT"),
            LogIdForm::Undated
        );
        for foreign in [
            "",
            "log_",
            "log_1",
            "log_0000000000000000",
            "log_1796083200123aB3dE5gH7jK9mN1",
            "log_1796083200123aB3dE5gH7jK9mN1pq",
            "log_17960832001x3aB3dE5gH7jK9mN1p",
            "log_1796083200123aB3dE5gH7jK9mN-p",
            "LOG_1796083200123aB3dE5gH7jK9mN1p",
            "log_Zx9aB3dE5gH7jK9mN1pQr2s-",
            "log_Zx9aB3dE5gH7jK9mN1pQr2\u{e9}",
            "xlog_1796083200123aB3dE5gH7jK9mN1p",
        ] {
            assert_eq!(LogIdForm::of(foreign), LogIdForm::Foreign, "{foreign:?}");
        }
    }
}
