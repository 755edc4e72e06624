//! The HTTP side of rate limits (`crate::rate_limit`): Auth0's `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds), and `Retry-After` on a 429.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::rate_limit::{Allowed, Exceeded};
use crate::time_util::Millis;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

fn reset_at(now: Millis, wait_ms: u128) -> u64 {
    let at = u128::try_from(now.max(0)).unwrap_or(0) + wait_ms;
    u64::try_from(at.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// A refused request: how long to wait, and the limit it ran into.
pub fn insert_exceeded_headers(headers: &mut HeaderMap, e: &Exceeded, now: Millis) {
    headers.insert(header::RETRY_AFTER, HeaderValue::from(e.retry_after_secs()));
    headers.insert(LIMIT, HeaderValue::from(e.limit));
    headers.insert(REMAINING, HeaderValue::from(0u32));
    headers.insert(
        RESET,
        HeaderValue::from(reset_at(now, e.retry_after.as_millis())),
    );
}

/// A request within its limit: what is left of it.
pub fn insert_allowed_headers(headers: &mut HeaderMap, a: &Allowed, now: Millis) {
    headers.insert(LIMIT, HeaderValue::from(a.limit));
    headers.insert(REMAINING, HeaderValue::from(a.remaining));
    headers.insert(
        RESET,
        HeaderValue::from(reset_at(now, a.full_in.as_millis())),
    );
}

/// Where the Management API's caller check leaves the state of the caller's limit, for
/// [`management_rate_headers`] to put on the answer (an extractor cannot set headers).
#[derive(Clone, Default)]
pub struct LimitSlot(Arc<Mutex<Option<Allowed>>>);

impl LimitSlot {
    pub fn fill(&self, allowed: Allowed) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(allowed);
    }

    fn take(&self) -> Option<Allowed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Auth0 sends `X-RateLimit-*` on every Management API answer, not only on a 429.
pub async fn management_rate_headers(mut req: Request, next: Next) -> Response {
    let slot = LimitSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(allowed) = slot.take() {
        insert_allowed_headers(res.headers_mut(), &allowed, crate::time_util::now_millis());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_refusal_says_when_to_come_back_in_whole_seconds() {
        let mut h = HeaderMap::new();
        let e = Exceeded {
            limit: 30,
            retry_after: Duration::from_millis(1500),
        };
        insert_exceeded_headers(&mut h, &e, 1_000_000);
        assert_eq!(h["retry-after"], "2");
        assert_eq!(h["x-ratelimit-limit"], "30");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-reset"], "1002");
    }
}
