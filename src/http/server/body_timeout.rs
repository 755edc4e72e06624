//! Request bodies that stall or drip are cut off, and the request is answered 408 in the shape
//! of the endpoint it was for (the token endpoint's, or the Management API's elsewhere).
//!
//! Two clocks run on every body: a stall timer, reset by every piece of data (tower-http's
//! `TimeoutBody`), and a deadline counted from the complete headers (`DeadlineBody`), so that a
//! byte every few seconds cannot hold a connection either.
//!
//! Chunked bodies need no cap on the announced chunk size: hyper parses the size into a `u64`
//! (refusing overflow) and hands on data as it arrives, never reserving what was announced. A
//! chunk of `ffffffffffffffff` bytes is thus a body like any other: the body limits
//! (`DefaultBodyLimit`) count the bytes actually received, and these clocks end it when they stop
//! coming.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower_http::timeout::{DeadlineBody, TimeoutBody, TimeoutError};

use crate::http::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// The longest wait for the next piece of a body.
    pub stall: Duration,
    /// The longest wait from the headers to the end of the body.
    pub deadline: Duration,
}

/// Middleware (`axum::middleware::from_fn_with_state`).
pub async fn cut_off_slow_bodies(
    State(timeouts): State<BodyTimeouts>,
    req: Request,
    next: Next,
) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let token_endpoint = req.uri().path() == "/oauth/token";
    let http1 = matches!(
        req.version(),
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    );
    let req = req.map(|body| {
        let flag = Arc::clone(&timed_out);
        let timed = DeadlineBody::new(timeouts.deadline, TimeoutBody::new(timeouts.stall, body))
            .map_err(move |e| {
                if e.is::<TimeoutError>() {
                    flag.store(true, Ordering::Release);
                }
                e
            });
        Body::new(timed)
    });
    let res = next.run(req).await;
    if !timed_out.load(Ordering::Acquire) {
        return res;
    }
    // The handler saw an unreadable body and answered 400; the cause was the client's pace.
    let mut res = if token_endpoint {
        crate::http::token::request_timeout()
    } else {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body was not received in time.",
        )
        .into_response()
    };
    if http1 {
        // The rest of the body is still on its way: the connection cannot carry another request.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
