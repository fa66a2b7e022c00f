//! Request limits enforced before any handler reads a body: an early 413 on a
//! declared `Content-Length` over the limit, and a deadline on the whole body.
//!
//! Connection-level limits (header read timeout, idle timeout, the bound on
//! open connections) are the transport's; `caveat serve` sets them.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::error::{ErrorBody, ErrorCode};
use crate::{ApiError, AppState};

/// Answers 413 at once when the declared body is over `max_body_bytes`, and
/// gives the body `body_timeout` from the end of the headers to arrive whole:
/// a body still incomplete then fails the handler's read, and the answer is
/// replaced by 408, whatever the handler made of the failed read.
pub(crate) async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.limits.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        // The body is never read, so the connection cannot be reused.
        return closing(ApiError::PayloadTooLarge { limit }.into_response());
    }
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let body = Body::from_stream(Deadline {
        inner: body.into_data_stream(),
        sleep: Box::pin(tokio::time::sleep_until(Instant::now() + state.limits.body_timeout)),
        expired: expired.clone(),
        done: false,
    });
    let res = next.run(Request::from_parts(parts, body)).await;
    if expired.load(Ordering::Acquire) {
        return closing(timed_out(state.limits.body_timeout.as_secs()));
    }
    res
}

/// 408 in the API's error envelope. Not an [`ApiError`] variant: only this
/// layer can tell that a failed read was a slow client.
fn timed_out(secs: u64) -> Response {
    ErrorBody::response(ErrorCode::RequestTimeout, format!("the request body did not arrive within {secs} s"))
}

fn closing(mut res: Response) -> Response {
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// The body read past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// A body stream that fails once its deadline passes.
struct Deadline {
    inner: BodyDataStream,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => {
                if self.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.done = true;
                self.expired.store(true, Ordering::Release);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;
    use crate::Limits;

    async fn state(limits: Limits) -> AppState {
        let store = caveat_store::SqliteStore::open_in_memory().unwrap();
        let key = caveat_audit::SigningKey::from_seed("caveat.example/audit", [1; 32]).unwrap();
        AppState::open(Arc::new(store), key).await.unwrap().with_limits(limits)
    }

    /// A body that sends `first` and then stalls while the sender lives.
    fn stalled(first: &'static [u8]) -> (Body, tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tx.try_send(Ok(Bytes::from_static(first))).unwrap();
        (Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)), tx)
    }

    async fn answer(app: axum::Router, req: Request<Body>) -> (StatusCode, String, Option<HeaderValue>) {
        let res = tokio::time::timeout(Duration::from_secs(5), app.oneshot(req)).await.unwrap().unwrap();
        let status = res.status();
        let connection = res.headers().get(header::CONNECTION).cloned();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        (status, v["error"]["code"].as_str().unwrap().to_owned(), connection)
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
        let app = crate::app(state(Limits { max_body_bytes: 100, ..Limits::default() }).await);
        let (body, _sender) = stalled(b"");
        let req = Request::post("/v1/reports").header("content-length", "101").body(body).unwrap();
        let (status, code, connection) = answer(app, req).await;
        assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
        assert_eq!(connection.unwrap(), "close");
    }

    #[tokio::test]
    async fn a_stalled_body_is_answered_408_after_the_body_timeout() {
        let state = state(Limits { body_timeout: Duration::from_millis(200), ..Limits::default() }).await;
        // Handlers map a failed read as they please (here to 400); the layer overrides it.
        let echo = post(|body: Body| async move {
            match axum::body::to_bytes(body, 1 << 20).await {
                Ok(_) => (StatusCode::OK, axum::Json(json!({ "error": { "code": "none" } }))),
                Err(_) => (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": { "code": "bad_request" } }))),
            }
        });
        let app = axum::Router::new()
            .route("/echo", echo)
            .layer(axum::middleware::from_fn_with_state(state.clone(), enforce))
            .with_state(state);
        let (body, _sender) = stalled(b"{\"id\"");
        let req = Request::post("/echo").header("content-length", "1000").body(body).unwrap();
        let started = std::time::Instant::now();
        let (status, code, connection) = answer(app.clone(), req).await;
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!((status, code.as_str()), (StatusCode::REQUEST_TIMEOUT, "request_timeout"));
        assert_eq!(connection.unwrap(), "close");
        // A body that completes in time is untouched.
        let req = Request::post("/echo").body(Body::from("{}")).unwrap();
        assert_eq!(answer(app, req).await.1, "none");
    }
}
