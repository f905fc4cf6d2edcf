//! The HTTP interface (axum), driven against any [`SeriesStore`].
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /api/v1/push` | 200 `{"accepted", "results"}`; 400 `{"error", "line"}` |
//! | `POST /api/v1/write` | 204; 400 with the reason as text |
//! | `GET /metrics` | the exposition ([`render_metrics`](crate::render_metrics)), OpenMetrics or text 0.0.4 by `Accept` |
//! | `GET /api/v1/series?match=GLOB` | 200 `{"series": [...]}` |
//! | `GET /api/v1/series/{name}/explain?label=value...` | 200 the last point explained; 404 |
//! | `GET /healthz` | 200 `ok` (never needs the token) |
//! | `GET /readyz` | 200 `ready`, or 503 while the store recovers |
//!
//! Every failure of the store maps through [`Error::status`]: 429 for the
//! series limit, 503 when it cannot make points durable. A body over the
//! limit is answered 413 before it is read in full; one not received within
//! [`ServeOptions::body_timeout`] is answered 408, so a stalled client holds
//! neither memory nor a task for long.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use globset::Glob;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::AuthToken;
use crate::batch::{Batch, PointOutcome, RejectReason};
use crate::error::{Error, Result};
use crate::exposition::{self, ServiceMetrics};
use crate::push_answer::PushAnswer;
use crate::push_json::{error_response, parse_push};
use crate::remote_write::decode_write_request;
use crate::score_sink::ScoreSink;
use crate::series_key::{IdentityLimits, SeriesKey};
use crate::store::SeriesStore;

/// Default request body limit: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 << 20;

/// Default limit on a remote_write body once decompressed: 64 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 << 20;

/// Default time a client has to send a whole request body: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the router is told by the command line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest request body, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Largest remote_write body once decompressed, in bytes.
    pub max_decoded_bytes: usize,
    /// Limits on series names and labels.
    pub limits: IdentityLimits,
    /// `--metrics-min-score`: only series at or above it are exported.
    pub metrics_min_score: f64,
    /// `--auth-token-file`: when set, every route but `/healthz` needs it.
    pub auth: Option<AuthToken>,
    /// The longest a client may take to send a request body, counted from
    /// the end of its headers; past it the answer is 408.
    pub body_timeout: Duration,
    /// Where every scored point goes once durable, e.g. the
    /// `--remote-write` output ([`RemoteWriter`](crate::RemoteWriter)).
    pub score_sink: Option<Arc<dyn ScoreSink>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            limits: IdentityLimits::default(),
            metrics_min_score: 0.0,
            auth: None,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            score_sink: None,
        }
    }
}

impl ServeOptions {
    /// Checks the options: `metrics_min_score` in [0, 1], limits non-zero.
    pub fn check(&self) -> Result<()> {
        let fail = |reason: String| Error::InvalidConfig {
            origin: "options".into(),
            reason,
        };
        if !(0.0..=1.0).contains(&self.metrics_min_score) {
            return Err(fail(format!(
                "--metrics-min-score {} is not a probability in [0, 1]",
                self.metrics_min_score
            )));
        }
        if self.body_limit == 0 || self.max_decoded_bytes == 0 {
            return Err(fail("body size limits must be at least 1 byte".into()));
        }
        if self.body_timeout.is_zero() {
            return Err(fail("the body timeout must be longer than 0".into()));
        }
        Ok(())
    }
}

struct AppState<S> {
    store: Arc<S>,
    metrics: ServiceMetrics,
    options: Arc<ServeOptions>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: Arc::clone(&self.store),
            metrics: self.metrics.clone(),
            options: Arc::clone(&self.options),
        }
    }
}

/// The service's routes over `store`. `metrics` are the counters the
/// handlers update and `/metrics` exports (give the store its
/// [`fsync_seconds`](ServiceMetrics::fsync_seconds) histogram).
pub fn router<S: SeriesStore>(
    store: Arc<S>,
    metrics: ServiceMetrics,
    options: ServeOptions,
) -> Result<Router> {
    options.check()?;
    let body_limit = options.body_limit;
    let body_timeout = options.body_timeout;
    let auth = options.auth.clone();
    let state = AppState {
        store,
        metrics,
        options: Arc::new(options),
    };
    let mut guarded = Router::new()
        .route("/api/v1/push", post(push::<S>))
        .route("/api/v1/write", post(write::<S>))
        .route("/metrics", get(metrics_text::<S>))
        .route("/api/v1/series", get(series::<S>))
        .route("/api/v1/series/{name}/explain", get(explain::<S>))
        .route("/readyz", get(readyz::<S>))
        .with_state(state)
        .route_layer(middleware::from_fn_with_state(
            (body_limit, body_timeout),
            read_body_in_time,
        ));
    // Added last, so it runs first: no body is read for a refused token.
    if let Some(token) = auth {
        guarded = guarded.route_layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        ));
    }
    Ok(Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(guarded)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            body_limit,
            refuse_declared_oversize,
        )))
}

/// Answers 413 at once when `Content-Length` already says the body is over
/// the limit, so a client is not made to upload it first. Bodies without a
/// declared length are still cut at the limit while they are read.
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            let message = too_large(limit);
            if request.uri().path() == "/api/v1/write" {
                (StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
            } else {
                json_message(StatusCode::PAYLOAD_TOO_LARGE, &message)
            }
        }
        _ => next.run(request).await,
    }
}

/// Reads the whole body within the deadline (and the size limit) before
/// the handler runs; the handler then gets it from memory.
async fn read_body_in_time(
    State((limit, deadline)): State<(usize, Duration)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let as_json = parts.uri.path() != "/api/v1/write";
    let answer = |status: StatusCode, message: &str| {
        if as_json {
            json_message(status, message)
        } else {
            (status, message.to_owned()).into_response()
        }
    };
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if is_length_limit(&e) => {
            answer(StatusCode::PAYLOAD_TOO_LARGE, &too_large(limit))
        }
        Ok(Err(e)) => answer(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the request body: {e}"),
        ),
        Err(_) => answer(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "request body not received within {} s",
                deadline.as_secs_f64()
            ),
        ),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

fn too_large(limit: usize) -> String {
    format!("request body is larger than the limit of {limit} bytes")
}

async fn require_token(
    State(token): State<Arc<AuthToken>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if token.allows(given) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            json_body(&json!({"error": "missing or wrong bearer token"})),
        )
            .into_response()
    }
}

async fn push<S: SeriesStore>(
    State(state): State<AppState<S>>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection, state.options.body_limit, true),
    };
    if !state.store.is_ready() {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, &not_ready());
    }
    let limits = state.options.limits;
    let parsed = off_the_runtime_if_large(body.len(), move || parse_push(&body, &limits)).await;
    let request = match parsed {
        Ok(request) => request,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    match apply(&state, &request.batch).await {
        Ok(outcomes) => {
            let answer = PushAnswer {
                request: &request,
                outcomes: &outcomes,
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                answer.to_bytes(),
            )
                .into_response()
        }
        Err(e) => json_error(status_of(&e), &e),
    }
}

async fn write<S: SeriesStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection, state.options.body_limit, false),
    };
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        if !encoding.as_bytes().eq_ignore_ascii_case(b"snappy") {
            let reason = format!(
                "remote_write: Content-Encoding {:?} is not snappy",
                String::from_utf8_lossy(encoding.as_bytes())
            );
            return (StatusCode::BAD_REQUEST, reason).into_response();
        }
    }
    if !state.store.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, not_ready().to_string()).into_response();
    }
    let limits = state.options.limits;
    let max_decoded = state.options.max_decoded_bytes;
    let decoded = off_the_runtime_if_large(body.len(), move || {
        decode_write_request(&body, &limits, max_decoded)
    })
    .await;
    let batch = match decoded {
        Ok(batch) => batch,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match apply(&state, &batch).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (status_of(&e), e.to_string()).into_response(),
    }
}

/// Bodies at least this large are decoded on a blocking thread: a 16 MiB
/// body takes a good part of a second to parse, which would stall every
/// other request sharing the runtime's worker.
const BLOCKING_DECODE_BYTES: usize = 1 << 20;

/// Runs `decode` inline for a small body, on tokio's blocking pool for a
/// large one.
async fn off_the_runtime_if_large<T: Send + 'static>(
    body_len: usize,
    decode: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    if body_len < BLOCKING_DECODE_BYTES {
        return decode();
    }
    match tokio::task::spawn_blocking(decode).await {
        Ok(decoded) => decoded,
        // The task is never cancelled, so this is a panic of the decoder:
        // carried on as if it had happened inline.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Applies a batch, counts what became of its points and hands the scores
/// of a successful (so durable) apply to the score sink.
async fn apply<S: SeriesStore>(state: &AppState<S>, batch: &Batch) -> Result<Vec<PointOutcome>> {
    for &(reason, n) in batch.skipped() {
        state.metrics.count_rejected(reason, n);
    }
    let result = state.store.apply(batch).await;
    match &result {
        Ok(outcomes) => {
            let mut scored = 0;
            for outcome in outcomes {
                match outcome {
                    PointOutcome::Scored(_) => scored += 1,
                    PointOutcome::Rejected(reason) => state.metrics.count_rejected(*reason, 1),
                }
            }
            state.metrics.count_scored(scored);
            if let Some(sink) = &state.options.score_sink {
                sink.scored(batch.points(), outcomes);
            }
        }
        Err(Error::TooManySeries { .. }) => {
            state
                .metrics
                .count_rejected(RejectReason::TooManySeries, batch.len() as u64);
        }
        Err(_) => {}
    }
    result
}

async fn metrics_text<S: SeriesStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match exposition::render(
        &state.store,
        &state.metrics,
        state.options.metrics_min_score,
    ) {
        Ok(text) if exposition::wants_openmetrics(accept) => {
            ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], text).into_response()
        }
        Ok(text) => (
            [(header::CONTENT_TYPE, exposition::TEXT_CONTENT_TYPE)],
            exposition::openmetrics_to_text_004(&text),
        )
            .into_response(),
        // Writing into a String does not fail; answered anyway.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Deserialize)]
struct SeriesQuery {
    #[serde(rename = "match")]
    pattern: Option<String>,
}

async fn series<S: SeriesStore>(
    State(state): State<AppState<S>>,
    query: std::result::Result<Query<SeriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let pattern = match query {
        Ok(Query(q)) => q.pattern.unwrap_or_else(|| "*".into()),
        Err(e) => return json_message(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let glob = match Glob::new(&pattern) {
        Ok(glob) => glob.compile_matcher(),
        Err(e) => return json_message(StatusCode::BAD_REQUEST, &format!("match {pattern:?}: {e}")),
    };
    let found: Vec<Value> = state
        .store
        .find(&glob)
        .iter()
        .map(|s| s.to_json())
        .collect();
    (StatusCode::OK, json_body(&json!({ "series": found }))).into_response()
}

async fn explain<S: SeriesStore>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    labels: std::result::Result<
        Query<Vec<(String, String)>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let labels = match labels {
        Ok(Query(labels)) => labels,
        Err(e) => return json_message(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let key = match SeriesKey::new(name, labels, &state.options.limits) {
        Ok(key) => key,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    match state.store.explain(&key) {
        Some(last) => (StatusCode::OK, json_body(&last.to_json(&key))).into_response(),
        None => json_message(
            StatusCode::NOT_FOUND,
            &format!("no scored point for series {key}"),
        ),
    }
}

async fn readyz<S: SeriesStore>(State(state): State<AppState<S>>) -> Response {
    if state.store.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "recovering\n").into_response()
    }
}

fn not_ready() -> Error {
    Error::Unavailable("recovering: not ready for writes yet".into())
}

fn status_of(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn body_rejected(rejection: &BytesRejection, limit: usize, as_json: bool) -> Response {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        rejection.body_text()
    };
    if as_json {
        json_message(status, &message)
    } else {
        (status, message).into_response()
    }
}

fn json_error(status: StatusCode, e: &Error) -> Response {
    (status, json_body(&error_response(e))).into_response()
}

fn json_message(status: StatusCode, message: &str) -> Response {
    (status, json_body(&json!({ "error": message }))).into_response()
}

fn json_body(value: &Value) -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        assert!(ServeOptions::default().check().is_ok());
        for bad in [-0.1, 1.5, f64::NAN] {
            let options = ServeOptions {
                metrics_min_score: bad,
                ..ServeOptions::default()
            };
            let err = options.check().unwrap_err().to_string();
            assert!(err.contains("--metrics-min-score"), "{err}");
        }
        let zero = ServeOptions {
            body_limit: 0,
            ..ServeOptions::default()
        };
        assert!(zero.check().is_err());
        assert_eq!(DEFAULT_BODY_LIMIT, 16 * 1024 * 1024);
    }

    #[test]
    fn store_errors_map_to_their_statuses() {
        let limit = Error::TooManySeries {
            limit: 1,
            series: "cpu".into(),
        };
        assert_eq!(status_of(&limit), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            status_of(&Error::Unavailable("fsync failed".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(&not_ready()), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            too_large(10),
            "request body is larger than the limit of 10 bytes"
        );
    }
}
