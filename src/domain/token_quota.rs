//! Token quotas (Auth0's fine-grained machine-to-machine quotas): at most so many access tokens
//! per UTC hour and per UTC day for one application, `token_quota.client_credentials` on the
//! application, or the tenant's `default_token_quota.clients.client_credentials` for
//! applications without one of their own (the application's quota replaces the default as a
//! whole; the two are never merged). With `enforce: false` nothing is refused: the counts are
//! kept and reported (headers, consumption warnings) so limits can be chosen before they bite.

use serde::{Deserialize, Serialize};

use super::Invalid;
use crate::time_util::Millis;

/// Auth0's bounds for `per_hour` and `per_day`.
pub const MAX_QUOTA: i64 = 2_147_483_647;

/// `{"per_hour", "per_day", "enforce"}` as stored and as Auth0 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenQuota {
    /// `null` is taken as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    pub per_hour: Option<i64>,
    /// `null` is taken as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    pub per_day: Option<i64>,
    /// Auth0's default is `true`.
    #[serde(default = "enforce_by_default")]
    pub enforce: bool,
}

fn enforce_by_default() -> bool {
    true
}

impl TokenQuota {
    /// `field` names the object in messages (`token_quota.client_credentials`).
    pub fn validate(&self, field: &str) -> Result<(), Invalid> {
        for (name, value) in [("per_hour", self.per_hour), ("per_day", self.per_day)] {
            if let Some(v) = value
                && !(1..=MAX_QUOTA).contains(&v)
            {
                return Err(Invalid::field(
                    format!("{field}.{name}"),
                    format!("must be 1 to {MAX_QUOTA} (got {v})"),
                ));
            }
        }
        if self.per_hour.is_none() && self.per_day.is_none() {
            return Err(Invalid::field(field, "must set per_hour, per_day or both"));
        }
        Ok(())
    }

    /// The buckets this quota counts, with their limits.
    pub fn buckets(&self) -> impl Iterator<Item = (Bucket, i64)> {
        [
            self.per_hour.map(|q| (Bucket::PerHour, q)),
            self.per_day.map(|q| (Bucket::PerDay, q)),
        ]
        .into_iter()
        .flatten()
    }
}

/// The quota that applies to an application: its own, else the tenant's default.
pub fn effective(
    own: Option<TokenQuota>,
    tenant_default: Option<TokenQuota>,
) -> Option<TokenQuota> {
    own.or(tenant_default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    PerHour,
    PerDay,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerHour => "per_hour",
            Self::PerDay => "per_day",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "per_hour" => Some(Self::PerHour),
            "per_day" => Some(Self::PerDay),
            _ => None,
        }
    }

    fn length(self) -> Millis {
        match self {
            Self::PerHour => 3_600_000,
            Self::PerDay => 86_400_000,
        }
    }

    /// The start of the UTC hour or day that `now` falls in (the Unix epoch starts a UTC day,
    /// and UTC has no leap seconds in Unix time, so plain division finds it).
    pub fn window_start(self, now: Millis) -> Millis {
        now - now.rem_euclid(self.length())
    }

    pub fn window_end(self, now: Millis) -> Millis {
        self.window_start(now) + self.length()
    }
}

/// One bucket's state for one request: what the `Auth0-Client-Quota-Limit` header reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketState {
    pub bucket: Bucket,
    pub quota: i64,
    /// Tokens issued in the window so far.
    pub used: i64,
    /// When the window ends.
    pub resets_at: Millis,
}

impl BucketState {
    pub fn remaining(&self) -> i64 {
        (self.quota - self.used).max(0)
    }

    pub fn exhausted(&self) -> bool {
        self.used >= self.quota
    }
}

/// Auth0's header value: `b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200` (bucket,
/// quota, remaining, seconds until the window resets).
pub fn header_value(states: &[BucketState], now: Millis) -> String {
    states
        .iter()
        .map(|s| {
            let secs = ((s.resets_at - now).max(0) + 999) / 1000;
            format!(
                "b={};q={};r={};t={secs}",
                s.bucket.as_str(),
                s.quota,
                s.remaining()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The share of a quota (60, 80, 100 %) whose crossing Auth0 reports with a
/// `token_quota_consumption_warning` event, if issuing the `used`-th token crossed one.
pub fn warning_crossed(quota: i64, used: i64) -> Option<u8> {
    [100u8, 80, 60].into_iter().find(|&pct| {
        let threshold = (quota * i64::from(pct) + 99) / 100;
        used == threshold
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;

    #[test]
    fn windows_are_utc_hours_and_days() {
        // 2026-11-30T10:15:00Z
        let now: Millis = 1_796_033_700_000;
        assert_eq!(Bucket::PerHour.window_start(now) % HOUR, 0);
        assert_eq!(now - Bucket::PerHour.window_start(now), 15 * 60 * 1000);
        assert_eq!(
            now - Bucket::PerDay.window_start(now),
            (10 * 60 + 15) * 60 * 1000
        );
        assert_eq!(
            Bucket::PerDay.window_end(now) - now,
            (13 * 60 + 45) * 60 * 1000
        );
        // The first millisecond of a window starts it.
        let start = Bucket::PerHour.window_start(now);
        assert_eq!(Bucket::PerHour.window_start(start), start);
        assert_eq!(Bucket::PerHour.window_start(start - 1), start - HOUR);
    }

    #[test]
    fn quotas_follow_auth0s_bounds() {
        let q = |h, d| TokenQuota {
            per_hour: h,
            per_day: d,
            enforce: true,
        };
        assert!(q(Some(1), None).validate("q").is_ok());
        assert!(q(None, Some(MAX_QUOTA)).validate("q").is_ok());
        assert!(q(Some(0), None).validate("q").is_err());
        assert!(q(None, Some(MAX_QUOTA + 1)).validate("q").is_err());
        assert_eq!(
            q(None, None)
                .validate("token_quota.client_credentials")
                .unwrap_err()
                .to_string(),
            "token_quota.client_credentials must set per_hour, per_day or both"
        );
        let parsed: TokenQuota = serde_json::from_str(r#"{"per_hour":10}"#).unwrap();
        assert!(parsed.enforce, "enforce defaults to true");
        assert!(serde_json::from_str::<TokenQuota>(r#"{"per_minute":1}"#).is_err());
    }

    #[test]
    fn an_applications_quota_replaces_the_default_whole() {
        let own = TokenQuota {
            per_hour: Some(5),
            per_day: None,
            enforce: false,
        };
        let default = TokenQuota {
            per_hour: None,
            per_day: Some(100),
            enforce: true,
        };
        assert_eq!(effective(Some(own), Some(default)), Some(own));
        assert_eq!(effective(None, Some(default)), Some(default));
        assert_eq!(effective(None, None), None);
    }

    #[test]
    fn the_header_reads_like_auth0s() {
        let now: Millis = 1_796_033_700_000;
        let states = [
            BucketState {
                bucket: Bucket::PerHour,
                quota: 10,
                used: 3,
                resets_at: now + 3_540_000,
            },
            BucketState {
                bucket: Bucket::PerDay,
                quota: 50,
                used: 60,
                resets_at: now + 43_199_001,
            },
        ];
        assert_eq!(
            header_value(&states, now),
            "b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=0;t=43200"
        );
    }

    #[test]
    fn warnings_mark_60_80_and_100_percent_once_each() {
        let crossed: Vec<(i64, u8)> = (1..=12)
            .filter_map(|used| warning_crossed(10, used).map(|p| (used, p)))
            .collect();
        assert_eq!(crossed, [(6, 60), (8, 80), (10, 100)]);
        // Thresholds round up: 60 % of 7 is 4.2, reached by the 5th token.
        assert_eq!(warning_crossed(7, 5), Some(60));
        assert_eq!(warning_crossed(1, 1), Some(100));
    }
}
