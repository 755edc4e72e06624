//! Rate limits, kept in memory per server instance: the token endpoint per source address and
//! per client id, the Management API per calling application, and dashboard sign-in per address
//! and per email. Each limit is a token bucket (GCRA, from `governor`): `COUNT/PERIOD` allows a
//! burst of COUNT and refills one request every PERIOD / COUNT.
//!
//! Failed token requests are limited much harder than successes, and by source address only:
//! once an address has used its failure budget, every request from it is refused until the
//! budget refills one request at a time. A failure budget per client id would let anyone who
//! knows a client id lock that application out (its requests cannot be told from the
//! attacker's before they are checked); client secrets and keys are too strong to be guessed
//! in any case, so the per-client limit counts all requests instead, as a guard against a
//! runaway application.
//!
//! Memory stays bounded under a flood from many addresses: state is kept per address (IPv6 per
//! /64, the smallest block a site is given), idle entries are dropped every few seconds by
//! [`RateLimiters::housekeeping`], and the blocked-address list has a fixed capacity.

use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, QuantaInstant, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// `COUNT/PERIOD`, e.g. `30/min`: a burst of COUNT, refilled evenly over PERIOD. `off` means no
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Off,
    Limit { count: NonZeroU32, period: Period },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "min",
            Self::Hour => "h",
        }
    }
}

impl Rate {
    pub const fn per(count: u32, period: Period) -> Self {
        match NonZeroU32::new(count) {
            Some(count) => Self::Limit { count, period },
            None => Self::Off,
        }
    }

    fn quota(self) -> Option<Quota> {
        match self {
            Self::Off => None,
            Self::Limit { count, period } => {
                let interval = period.duration() / count.get();
                Quota::with_period(interval.max(Duration::from_nanos(1)))
                    .map(|q| q.allow_burst(count))
            }
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Limit { count, period } => write!(f, "{count}/{}", period.name()),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        let bad = || format!("{s:?} is not a rate: write COUNT/s, COUNT/min, COUNT/h or off");
        let (count, period) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = match period.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return Err(bad()),
        };
        match Self::per(count, period) {
            Self::Off => Err(format!(
                "{s:?}: the count must be at least 1 (or write off)"
            )),
            rate => Ok(rate),
        }
    }
}

/// A request over a limit: what the 429 answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// The bucket's size (`X-RateLimit-Limit`).
    pub limit: u32,
    /// When the next request is allowed (`Retry-After`, `X-RateLimit-Reset`).
    pub retry_after: Duration,
}

impl Exceeded {
    /// Whole seconds to wait, at least one (`Retry-After` takes integers).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
    }
}

/// A request within a limit: what the `X-RateLimit-*` headers of its answer say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub limit: u32,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub full_in: Duration,
}

type Bucket<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One limit applied per key.
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    bucket: Option<Bucket<K>>,
    /// The bucket's size, for answers that are not about one key's state.
    burst: u32,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    pub fn new(rate: Rate) -> Self {
        let quota = rate.quota();
        Self {
            bucket: quota
                .map(|q| RateLimiter::keyed(q).with_middleware::<StateInformationMiddleware>()),
            burst: quota.map_or(0, |q| q.burst_size().get()),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request for `key`. `Ok(None)` when the limit is off.
    pub fn check(&self, key: &K) -> Result<Option<Allowed>, Exceeded> {
        let Some(bucket) = &self.bucket else {
            return Ok(None);
        };
        match bucket.check_key(key) {
            Ok(state) => {
                let quota = state.quota();
                let used = quota.burst_size().get() - state.remaining_burst_capacity();
                Ok(Some(Allowed {
                    limit: quota.burst_size().get(),
                    remaining: state.remaining_burst_capacity(),
                    full_in: quota.replenish_interval() * used,
                }))
            }
            Err(not_until) => Err(Exceeded {
                limit: not_until.quota().burst_size().get(),
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
        }
    }

    fn housekeeping(&self) {
        if let Some(bucket) = &self.bucket {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
    }

    pub fn len(&self) -> usize {
        self.bucket.as_ref().map_or(0, |b| b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A failure budget per key: failures spend it, and while it is spent every request from the
/// key is refused, without being looked at, until it refills.
pub struct FailureBudget<K: Hash + Eq + Clone + Send + Sync + 'static> {
    failures: KeyedLimit<K>,
    blocked: moka::sync::Cache<K, QuantaInstant>,
    clock: DefaultClock,
}

/// Addresses blocked at once; past this the oldest entries go first (moka evicts).
const MAX_BLOCKED: u64 = 100_000;

impl<K: Hash + Eq + Clone + Send + Sync + 'static> FailureBudget<K> {
    pub fn new(rate: Rate) -> Self {
        // A block lasts until one request has refilled; never longer than one refill interval.
        let longest = match rate {
            Rate::Off => Duration::from_secs(1),
            Rate::Limit { count, period } => period.duration() / count.get(),
        };
        Self {
            failures: KeyedLimit::new(rate),
            blocked: moka::sync::Cache::builder()
                .max_capacity(MAX_BLOCKED)
                .time_to_live(longest.max(Duration::from_millis(1)))
                .build(),
            clock: DefaultClock::default(),
        }
    }

    /// `Err` while `key` has spent its budget.
    pub fn check(&self, key: &K) -> Result<(), Exceeded> {
        let Some(until) = self.blocked.get(key) else {
            return Ok(());
        };
        let now = self.clock.now();
        if until <= now {
            return Ok(());
        }
        Err(Exceeded {
            limit: self.failures.burst,
            retry_after: Duration::from(until.duration_since(now)),
        })
    }

    /// Spends one failure of `key`'s budget; the failure that finds it spent blocks the key.
    pub fn failed(&self, key: &K) {
        if let Err(exceeded) = self.failures.check(key) {
            let until = self.clock.now() + exceeded.retry_after.into();
            self.blocked.insert(key.clone(), until);
        }
    }

    fn housekeeping(&self) {
        self.failures.housekeeping();
        self.blocked.run_pending_tasks();
    }
}

/// The source of a request as limits count it: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(bits.into()))
                }
            },
        }
    }
}

/// Every limit of the server, configured once at start (`crate::config::LimitArgs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token_per_address: Rate,
    pub token_failures_per_address: Rate,
    pub token_per_client: Rate,
    pub management_per_client: Rate,
    pub signin_per_address: Rate,
    pub signin_per_email: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            token_per_address: Rate::per(3000, Period::Second),
            token_failures_per_address: Rate::per(30, Period::Minute),
            token_per_client: Rate::per(1000, Period::Second),
            management_per_client: Rate::per(50, Period::Second),
            signin_per_address: Rate::per(20, Period::Minute),
            signin_per_email: Rate::per(10, Period::Minute),
        }
    }
}

pub struct RateLimiters {
    pub token_per_address: KeyedLimit<AddressKey>,
    pub token_failures_per_address: FailureBudget<AddressKey>,
    pub token_per_client: KeyedLimit<String>,
    pub management_per_client: KeyedLimit<String>,
    pub signin_per_address: KeyedLimit<AddressKey>,
    pub signin_per_email: KeyedLimit<String>,
}

impl RateLimiters {
    pub fn new(limits: &Limits) -> Self {
        Self {
            token_per_address: KeyedLimit::new(limits.token_per_address),
            token_failures_per_address: FailureBudget::new(limits.token_failures_per_address),
            token_per_client: KeyedLimit::new(limits.token_per_client),
            management_per_client: KeyedLimit::new(limits.management_per_client),
            signin_per_address: KeyedLimit::new(limits.signin_per_address),
            signin_per_email: KeyedLimit::new(limits.signin_per_email),
        }
    }

    /// Drops the state of keys that have been idle long enough to be full again.
    pub fn housekeeping(&self) {
        self.token_per_address.housekeeping();
        self.token_failures_per_address.housekeeping();
        self.token_per_client.housekeeping();
        self.management_per_client.housekeeping();
        self.signin_per_address.housekeeping();
        self.signin_per_email.housekeeping();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_print_as_configured() {
        for text in ["30/min", "3000/s", "5/h", "off"] {
            assert_eq!(text.parse::<Rate>().unwrap().to_string(), text);
        }
        assert_eq!(
            "20/minute".parse::<Rate>(),
            Ok(Rate::per(20, Period::Minute))
        );
        for bad in ["", "30", "0/s", "x/s", "5/day", "-1/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_limit_allows_its_burst_then_says_how_long_to_wait() {
        let limit = KeyedLimit::new(Rate::per(3, Period::Minute));
        let key = "a".to_owned();
        for remaining in [2, 1, 0] {
            let allowed = limit.check(&key).unwrap().unwrap();
            assert_eq!((allowed.limit, allowed.remaining), (3, remaining));
        }
        let refused = limit.check(&key).unwrap_err();
        assert_eq!(refused.limit, 3);
        // One request refills every 20 s.
        assert!(refused.retry_after <= Duration::from_secs(20));
        assert!(refused.retry_after > Duration::from_secs(19));
        assert_eq!(refused.retry_after_secs(), 20);
        // Keys are counted apart.
        assert!(limit.check(&"b".to_owned()).is_ok());
        assert_eq!(KeyedLimit::<String>::new(Rate::Off).check(&key), Ok(None));
    }

    #[test]
    fn a_spent_failure_budget_blocks_every_request_from_the_key() {
        let budget = FailureBudget::new(Rate::per(2, Period::Minute));
        let key = AddressKey::from(IpAddr::from([10, 0, 0, 1]));
        let other = AddressKey::from(IpAddr::from([10, 0, 0, 2]));
        assert!(budget.check(&key).is_ok());
        budget.failed(&key);
        budget.failed(&key);
        assert!(
            budget.check(&key).is_ok(),
            "the budget itself is not a block"
        );
        budget.failed(&key);
        let blocked = budget.check(&key).unwrap_err();
        assert_eq!(blocked.limit, 2);
        assert!(blocked.retry_after <= Duration::from_secs(30));
        assert!(budget.check(&other).is_ok());
    }

    #[test]
    fn ipv6_sources_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(AddressKey::from(a), AddressKey::from(b));
        assert_ne!(AddressKey::from(a), AddressKey::from(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            AddressKey::from(mapped),
            AddressKey::from(IpAddr::from([192, 0, 2, 7]))
        );
    }
}
