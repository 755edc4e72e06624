//! Instants as the product stores and shows them: milliseconds since the Unix epoch in storage,
//! Auth0's `2026-11-28T10:00:00.000Z` form on the wire.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC with milliseconds, as Auth0 writes instants.
pub fn format_millis(ms: Millis) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("a valid instant formats")
}

/// Parses an ISO 8601 / RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`).
pub fn parse_iso8601(text: &str) -> Option<Millis> {
    if text.len() > 64 {
        return None;
    }
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// `1 minute`, `5 minutes`: a count and its unit, in words a person would write.
pub fn count_of(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

pub fn from_datetime(t: OffsetDateTime) -> Millis {
    (t.unix_timestamp_nanos() / 1_000_000) as Millis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count_of(1, "minute"), "1 minute");
        assert_eq!(count_of(5, "minute"), "5 minutes");
        assert_eq!(count_of(0, "second"), "0 seconds");
    }

    #[test]
    fn formats_with_milliseconds_and_z() {
        assert_eq!(format_millis(1_597_950_606_299), "2020-08-20T19:10:06.299Z");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_auth0_example_and_offsets() {
        assert_eq!(
            parse_iso8601("2020-08-20T19:10:06.299Z"),
            Some(1_597_950_606_299)
        );
        assert_eq!(
            parse_iso8601("2020-08-20T21:10:06.299+02:00"),
            Some(1_597_950_606_299)
        );
        assert_eq!(parse_iso8601("2020-08-20"), None);
        assert_eq!(parse_iso8601("tomorrow"), None);
    }
}
