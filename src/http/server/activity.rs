//! When a connection has waited too long for its client, and must be closed.
//!
//! hyper's own HTTP/1 `header_read_timeout` cannot do this alone: it is started whenever a
//! connection goes idle (hyper 1.12 `proto/h1/conn.rs`, `State::idle`: "Next read will start and
//! poll the header read timeout, so we can close the connection if another header isn't
//! received in a timely manner"), so a kept-alive connection could never wait longer for its
//! next request than a slow client gets to finish its headers. It also does not run while
//! hyper's automatic protocol detection waits for the first 24 bytes, nor for HTTP/2. This module
//! keeps one rule for all of those:
//!
//! - a new connection must deliver a complete first request within the header timeout;
//! - a kept-alive connection may stay silent for the idle timeout;
//! - once the first byte of its next request arrives, the headers must be complete within the
//!   header timeout of that byte (HTTP/1; an HTTP/2 connection also sends pings and settings
//!   between requests, so only the idle timeout applies to it);
//! - while a request is being handled, the body timeouts (`body_timeout`) apply instead.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::Version;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct WaitLimits {
    pub header: Duration,
    pub idle: Duration,
}

/// What a connection has done so far, as far as its deadline is concerned.
#[derive(Debug, Clone)]
pub struct Timeline {
    in_flight: usize,
    served: bool,
    multiplexed: bool,
    quiet_since: Instant,
    first_byte: Option<Instant>,
}

impl Timeline {
    pub fn new(accepted: Instant) -> Self {
        Self {
            in_flight: 0,
            served: false,
            multiplexed: false,
            quiet_since: accepted,
            first_byte: None,
        }
    }

    /// Returns whether this byte starts a new request's header clock (the deadline moved).
    pub fn bytes_received(&mut self, now: Instant) -> bool {
        if self.in_flight > 0 || self.first_byte.is_some() {
            return false;
        }
        self.first_byte = Some(now);
        true
    }

    pub fn request_started(&mut self, version: Version) {
        self.in_flight += 1;
        self.served = true;
        self.multiplexed |= version == Version::HTTP_2;
    }

    pub fn request_finished(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.quiet_since = now;
            self.first_byte = None;
        }
    }

    /// When the connection is to be closed if nothing changes; `None` while a request is in
    /// progress.
    pub fn deadline(&self, limits: WaitLimits) -> Option<Instant> {
        if self.in_flight > 0 {
            None
        } else if !self.served {
            Some(self.quiet_since + limits.header)
        } else if let (false, Some(first)) = (self.multiplexed, self.first_byte) {
            Some(first + limits.header)
        } else {
            Some(self.quiet_since + limits.idle)
        }
    }
}

/// A connection's [`Timeline`], shared by its reads, its requests and its watchdog.
pub struct Activity {
    timeline: Mutex<Timeline>,
    limits: WaitLimits,
    changed: Notify,
}

impl Activity {
    pub fn new(limits: WaitLimits) -> Arc<Self> {
        Arc::new(Self {
            timeline: Mutex::new(Timeline::new(Instant::now())),
            limits,
            changed: Notify::new(),
        })
    }

    fn timeline(&self) -> MutexGuard<'_, Timeline> {
        self.timeline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn bytes_received(&self) {
        if self.timeline().bytes_received(Instant::now()) {
            // The header clock may end before the idle one the watchdog sleeps on.
            self.changed.notify_one();
        }
    }

    /// Marks a request as in progress until the returned guard is dropped.
    pub fn request_started(self: &Arc<Self>, version: Version) -> RequestInProgress {
        self.timeline().request_started(version);
        RequestInProgress(Arc::clone(self))
    }

    /// Completes when the connection has waited past its deadline.
    pub async fn expired(&self) {
        loop {
            let deadline = self.timeline().deadline(self.limits);
            match deadline {
                None => self.changed.notified().await,
                Some(at) if at <= Instant::now() => return,
                Some(at) => {
                    tokio::select! {
                        () = self.changed.notified() => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }
}

/// Held from the moment a request's headers are complete until its handler has answered.
/// Writing the answer out is not counted: a client that does not read it is, to the
/// connection, a client that sends nothing, and the idle timeout ends it.
pub struct RequestInProgress(Arc<Activity>);

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        self.0.timeline().request_finished(Instant::now());
        self.0.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: WaitLimits = WaitLimits {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(75),
    };

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_new_connection_has_the_header_timeout_for_its_first_request() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(10)));
        // Dripping bytes does not move it.
        timeline.bytes_received(t0 + secs(5));
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(10)));
    }

    #[test]
    fn a_request_in_progress_has_no_connection_deadline() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        timeline.request_started(Version::HTTP_11);
        assert_eq!(timeline.deadline(LIMITS), None);
        timeline.bytes_received(t0 + secs(1));
        assert_eq!(timeline.deadline(LIMITS), None);
    }

    #[test]
    fn a_silent_kept_alive_connection_has_the_idle_timeout_from_its_last_answer() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        timeline.request_started(Version::HTTP_11);
        timeline.request_finished(t0 + secs(2));
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(77)));
    }

    #[test]
    fn the_next_request_has_the_header_timeout_from_its_first_byte() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        timeline.request_started(Version::HTTP_11);
        timeline.request_finished(t0 + secs(2));
        assert!(timeline.bytes_received(t0 + secs(30)));
        assert!(!timeline.bytes_received(t0 + secs(35)));
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(40)));
    }

    #[test]
    fn an_http2_connection_between_requests_has_the_idle_timeout_despite_its_pings() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        timeline.request_started(Version::HTTP_2);
        timeline.request_finished(t0 + secs(2));
        timeline.bytes_received(t0 + secs(30));
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(77)));
    }

    #[test]
    fn overlapping_requests_keep_the_connection_busy_until_the_last_one_ends() {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(t0);
        timeline.request_started(Version::HTTP_2);
        timeline.request_started(Version::HTTP_2);
        timeline.request_finished(t0 + secs(1));
        assert_eq!(timeline.deadline(LIMITS), None);
        timeline.request_finished(t0 + secs(3));
        assert_eq!(timeline.deadline(LIMITS), Some(t0 + secs(78)));
    }

    #[tokio::test]
    async fn the_watchdog_wakes_for_a_header_deadline_earlier_than_the_idle_one() {
        let activity = Activity::new(WaitLimits {
            header: Duration::from_millis(50),
            idle: secs(3600),
        });
        drop(activity.request_started(Version::HTTP_11));
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.expired().await }
        });
        // Let the watchdog go to sleep on the idle deadline first.
        tokio::time::sleep(Duration::from_millis(20)).await;
        activity.bytes_received();
        tokio::time::timeout(secs(30), watchdog)
            .await
            .expect("the watchdog fires at the header deadline, not the idle one")
            .unwrap();
    }
}
