//! Auth0's log search (`GET /api/v2/logs?q=…`): the subset of its Lucene-like syntax that
//! signet implements, parsed into a typed filter. Whatever falls outside the subset is refused
//! with a message that says what is supported: a filter the server silently dropped would
//! answer with events the caller did not ask for.
//!
//! Supported (every term needs a field; terms are joined by `AND` or by spaces, which Lucene
//! also reads as "all of these" when, as here, no term is optional):
//! - `field:value` and `field:"quoted value"`: the field equals the value, case-sensitively
//!   (Auth0: "All search fields are case sensitive");
//! - `field:(a OR b OR c)`: the field equals one of the values;
//! - `date:[A TO B]`, with `{` / `}` for an exclusive end and `*` for an open one; `date:A`.
//!   `A` is `YYYY-MM-DD` (a whole UTC day) or an RFC 3339 instant.

use crate::time_util::{Millis, parse_iso8601};

/// Longest `q` accepted, in bytes: parsing is linear, but a cap keeps the SQL small too.
pub const MAX_QUERY_BYTES: usize = 1024;
/// Most values (each one bound parameter) in one query.
pub const MAX_VALUES: usize = 20;

const DAY: Millis = 24 * 60 * 60 * 1000;

const SUPPORTED: &str = "signet supports terms field:value, field:\"quoted value\", \
     field:(a OR b) and date:[2026-01-01 TO 2026-02-01] (use * for an open end, { } to exclude \
     an end), joined by AND or spaces, on the fields type, client_id, client_name, audience, \
     ip, user_agent, description, log_id and date";

/// Auth0's searchable fields that signet's events never carry (it records client-credentials
/// exchanges, which have no user, connection or organization).
const ABSENT_FIELDS: &[&str] = &[
    "connection",
    "connection_id",
    "hostname",
    "organization_id",
    "strategy",
    "strategy_type",
    "user_id",
    "user_name",
];

/// A text field of an event, compared for equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Type,
    ClientId,
    ClientName,
    Audience,
    Ip,
    UserAgent,
    Description,
    LogId,
}

impl TextField {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "type" => Self::Type,
            "client_id" => Self::ClientId,
            "client_name" => Self::ClientName,
            "audience" => Self::Audience,
            "ip" => Self::Ip,
            "user_agent" => Self::UserAgent,
            "description" => Self::Description,
            "log_id" => Self::LogId,
            _ => return None,
        })
    }

    /// The `logs` column that holds it.
    pub fn column(self) -> &'static str {
        match self {
            Self::Type => "type",
            Self::ClientId => "client_id",
            Self::ClientName => "client_name",
            Self::Audience => "audience",
            Self::Ip => "ip",
            Self::UserAgent => "user_agent",
            Self::Description => "description",
            Self::LogId => "id",
        }
    }
}

/// One condition of a query; a query holds when all of its conditions do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The field equals one of the values.
    Text {
        field: TextField,
        any_of: Vec<String>,
    },
    /// `since <= date < before`, in milliseconds; `None` is an open end.
    Date {
        since: Option<Millis>,
        before: Option<Millis>,
    },
}

/// A parsed `q`: conditions that must all hold (none: every event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("q: {problem}. {SUPPORTED}")]
pub struct LogQueryError {
    problem: String,
}

fn fail<T>(problem: impl Into<String>) -> Result<T, LogQueryError> {
    Err(LogQueryError {
        problem: problem.into(),
    })
}

impl LogQuery {
    pub fn parse(q: &str) -> Result<Self, LogQueryError> {
        if q.len() > MAX_QUERY_BYTES {
            return fail(format!("longer than {MAX_QUERY_BYTES} bytes"));
        }
        let mut parser = Parser { rest: q };
        let mut conditions = Vec::new();
        let mut values = 0;
        let mut joined = true;
        loop {
            parser.skip_space();
            if parser.rest.is_empty() {
                break;
            }
            if parser.keyword("AND") || parser.keyword("&&") {
                if joined {
                    return fail("AND must stand between two terms");
                }
                joined = true;
                continue;
            }
            if parser.keyword("OR") || parser.keyword("||") {
                return fail(
                    "OR is supported only between the values of one field, as in \
                     type:(seccft OR feccft)",
                );
            }
            if parser.keyword("NOT") || parser.rest.starts_with(['!', '-', '+']) {
                return fail("NOT, !, - and + are not supported");
            }
            let condition = parser.term()?;
            values += match &condition {
                Condition::Text { any_of, .. } => any_of.len(),
                Condition::Date { .. } => 1,
            };
            if values > MAX_VALUES {
                return fail(format!("more than {MAX_VALUES} values"));
            }
            conditions.push(condition);
            joined = false;
        }
        if joined && !conditions.is_empty() {
            return fail("AND must stand between two terms");
        }
        Ok(Self { conditions })
    }
}

struct Parser<'a> {
    rest: &'a str,
}

/// Characters that end a bare (unquoted) value.
fn ends_bare(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"')
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// Consumes `word` when it stands alone (followed by a space, a parenthesis or the end).
    fn keyword(&mut self, word: &str) -> bool {
        let Some(after) = self.rest.strip_prefix(word) else {
            return false;
        };
        if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '(') {
            self.rest = after;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(after) => {
                self.rest = after;
                true
            }
            None => false,
        }
    }

    /// `field:value`.
    fn term(&mut self) -> Result<Condition, LogQueryError> {
        let name_len = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let name = &self.rest[..name_len];
        let after = &self.rest[name_len..];
        if name.is_empty() || !after.starts_with(':') {
            let word: String = self
                .rest
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            return fail(format!(
                "{word:?} has no field; write field:value, e.g. type:feccft"
            ));
        }
        self.rest = &after[1..];
        if name == "date" {
            return self.date();
        }
        let Some(field) = TextField::parse(name) else {
            if ABSENT_FIELDS.contains(&name) {
                return fail(format!(
                    "signet's events have no {name} (it records client-credentials exchanges)"
                ));
            }
            return fail(format!("{name} is not a searchable field"));
        };
        let any_of = if self.eat('(') {
            let mut values = vec![self.value()?];
            loop {
                self.skip_space();
                if self.eat(')') {
                    break;
                }
                if !(self.keyword("OR") || self.keyword("||")) {
                    return fail(format!(
                        "{name}:( … ) takes values separated by OR and ends with )"
                    ));
                }
                values.push(self.value()?);
                if values.len() > MAX_VALUES {
                    return fail(format!("more than {MAX_VALUES} values"));
                }
            }
            values
        } else {
            if self.rest.starts_with(char::is_whitespace) || self.rest.is_empty() {
                return fail(format!("{name}: has no value"));
            }
            vec![self.value()?]
        };
        Ok(Condition::Text { field, any_of })
    }

    /// A quoted or bare value.
    fn value(&mut self) -> Result<String, LogQueryError> {
        self.skip_space();
        if self.eat('"') {
            return self.quoted();
        }
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        let mut end = self.rest.len();
        while let Some((i, c)) = chars.next() {
            if ends_bare(c) {
                end = i;
                break;
            }
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => return fail("a value ends with a lone \\"),
                },
                '*' | '?' => return fail("wildcards (* and ?) are not supported"),
                '~' | '^' => return fail("fuzzy and boosted terms (~, ^) are not supported"),
                _ => out.push(c),
            }
        }
        self.rest = &self.rest[end..];
        if out.is_empty() {
            return fail("a value is missing");
        }
        Ok(out)
    }

    /// The rest of a value opened by `"`: `\"` and `\\` stand for themselves.
    fn quoted(&mut self) -> Result<String, LogQueryError> {
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                _ => out.push(c),
            }
        }
        fail("a quoted value is not closed")
    }

    /// After `date:`: a range or one date.
    fn date(&mut self) -> Result<Condition, LogQueryError> {
        let open = if self.eat('[') {
            Some(true)
        } else if self.eat('{') {
            Some(false)
        } else {
            None
        };
        let Some(low_inclusive) = open else {
            let at = Instant::parse(&self.value()?)?;
            return Ok(Condition::Date {
                since: Some(at.start()),
                before: Some(at.end()),
            });
        };
        let low = self.bound()?;
        self.skip_space();
        if !self.keyword("TO") {
            return fail("a date range reads date:[A TO B]");
        }
        let high = self.bound()?;
        self.skip_space();
        let high_inclusive = if self.eat(']') {
            true
        } else if self.eat('}') {
            false
        } else {
            return fail("a date range ends with ] or }");
        };
        let since = low.map(|at| if low_inclusive { at.start() } else { at.end() });
        let before = high.map(|at| if high_inclusive { at.end() } else { at.start() });
        Ok(Condition::Date { since, before })
    }

    /// One end of a range: a date, an instant, or `*`.
    fn bound(&mut self) -> Result<Option<Instant>, LogQueryError> {
        self.skip_space();
        if let Some(after) = self.rest.strip_prefix('*')
            && (after.is_empty()
                || after.starts_with(|c: char| c.is_whitespace() || c == ']' || c == '}'))
        {
            self.rest = after;
            return Ok(None);
        }
        if self.eat('"') {
            return Instant::parse(&self.quoted()?).map(Some);
        }
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || c == ']' || c == '}')
            .unwrap_or(self.rest.len());
        let text = &self.rest[..end];
        self.rest = &self.rest[end..];
        Instant::parse(text).map(Some)
    }
}

/// A date bound as written: a whole UTC day, or one millisecond.
#[derive(Debug, Clone, Copy)]
enum Instant {
    Day(Millis),
    At(Millis),
}

impl Instant {
    fn parse(text: &str) -> Result<Self, LogQueryError> {
        if let Some(day) = parse_day(text) {
            return Ok(Self::Day(day));
        }
        match parse_iso8601(text) {
            Some(at) => Ok(Self::At(at)),
            None => fail(format!(
                "{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant \
                 (2026-01-01T10:00:00Z)"
            )),
        }
    }

    /// The first millisecond it covers.
    fn start(self) -> Millis {
        match self {
            Self::Day(day) | Self::At(day) => day,
        }
    }

    /// The first millisecond after it.
    fn end(self) -> Millis {
        match self {
            Self::Day(day) => day + DAY,
            Self::At(at) => at + 1,
        }
    }
}

/// `YYYY-MM-DD` as the millisecond its UTC day starts.
fn parse_day(text: &str) -> Option<Millis> {
    if text.len() != 10 {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(field: TextField, values: &[&str]) -> Condition {
        Condition::Text {
            field,
            any_of: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn parse(q: &str) -> Vec<Condition> {
        LogQuery::parse(q).unwrap().conditions
    }

    fn refusal(q: &str) -> String {
        LogQuery::parse(q).unwrap_err().to_string()
    }

    const JAN_1: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn a_field_takes_a_bare_or_quoted_value() {
        assert_eq!(parse("type:feccft"), [text(TextField::Type, &["feccft"])]);
        assert_eq!(
            parse("type:\"feccft\""),
            [text(TextField::Type, &["feccft"])]
        );
        assert_eq!(
            parse(r#"description:"Client authentication failed""#),
            [text(
                TextField::Description,
                &["Client authentication failed"]
            )]
        );
        assert_eq!(
            parse(r#"client_name:"say \"hi\"""#),
            [text(TextField::ClientName, &["say \"hi\""])]
        );
        assert_eq!(parse("log_id:log_1"), [text(TextField::LogId, &["log_1"])]);
    }

    #[test]
    fn terms_join_by_and_or_by_spaces() {
        let both = [
            text(TextField::Type, &["seccft"]),
            text(TextField::ClientId, &["abc"]),
        ];
        assert_eq!(parse("type:seccft AND client_id:abc"), both);
        assert_eq!(parse("type:seccft client_id:abc"), both);
        assert_eq!(parse("  type:seccft   &&  client_id:\"abc\" "), both);
        assert!(parse("").is_empty());
    }

    #[test]
    fn or_lists_values_of_one_field() {
        assert_eq!(
            parse("type:(seccft OR feccft)"),
            [text(TextField::Type, &["seccft", "feccft"])]
        );
        assert_eq!(
            parse("type:( \"seccft\" OR feccft ) AND client_id:x"),
            [
                text(TextField::Type, &["seccft", "feccft"]),
                text(TextField::ClientId, &["x"])
            ]
        );
    }

    #[test]
    fn date_ranges_cover_whole_days_and_exact_instants() {
        assert_eq!(
            parse("date:[2026-01-01 TO 2026-01-31]"),
            [Condition::Date {
                since: Some(JAN_1),
                before: Some(JAN_1 + 31 * DAY)
            }]
        );
        assert_eq!(
            parse("date:{2026-01-01 TO 2026-01-31}"),
            [Condition::Date {
                since: Some(JAN_1 + DAY),
                before: Some(JAN_1 + 30 * DAY)
            }]
        );
        assert_eq!(
            parse("date:[2026-01-01T00:00:00.500Z TO *]"),
            [Condition::Date {
                since: Some(JAN_1 + 500),
                before: None
            }]
        );
        assert_eq!(
            parse("date:[* TO \"2026-01-01T00:00:00Z\"}"),
            [Condition::Date {
                since: None,
                before: Some(JAN_1)
            }]
        );
        assert_eq!(
            parse("date:2026-01-01"),
            [Condition::Date {
                since: Some(JAN_1),
                before: Some(JAN_1 + DAY)
            }]
        );
    }

    #[test]
    fn what_is_outside_the_subset_is_refused_with_what_is_supported() {
        for (q, says) in [
            ("feccft", "has no field"),
            ("type:seccft OR type:feccft", "OR is supported only"),
            ("NOT type:seccft", "NOT"),
            ("-type:seccft", "NOT"),
            ("type:fec*", "wildcards"),
            ("user_id:auth0|1", "have no user_id"),
            ("color:red", "color is not a searchable field"),
            ("type:", "has no value"),
            ("type:\"open", "not closed"),
            ("date:[2026-01-01 2026-02-01]", "A TO B"),
            ("date:[2026-13-01 TO *]", "is not a date"),
            ("date:[2026-01-01 TO *", "ends with ]"),
            ("type:a AND", "AND must stand between"),
            ("AND type:a", "AND must stand between"),
            ("type:(a b)", "separated by OR"),
        ] {
            let message = refusal(q);
            assert!(message.contains(says), "{q}: {message}");
            assert!(message.contains("signet supports"), "{q}: {message}");
        }
    }

    #[test]
    fn length_and_value_count_are_capped() {
        assert!(refusal(&format!("type:{}", "a".repeat(MAX_QUERY_BYTES))).contains("longer"));
        let many = (0..=MAX_VALUES)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        assert!(refusal(&format!("type:({many})")).contains("more than"));
        let terms = (0..=MAX_VALUES)
            .map(|i| format!("type:v{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(refusal(&terms).contains("more than"));
    }
}
