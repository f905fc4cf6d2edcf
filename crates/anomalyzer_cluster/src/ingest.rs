//! The ingest node's HTTP routes: the single-process service's
//! `POST /api/v1/push` and `POST /api/v1/write`, published into the
//! cluster instead of applied locally (docs/cluster.md, "Ingest").

use std::sync::Arc;

use anomalyzer_serve::{
    decode_write_request, error_response, parse_push, AuthToken, IdentityLimits,
    DEFAULT_BODY_LIMIT, DEFAULT_MAX_DECODED_BYTES,
};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::publisher::Publisher;

/// Limits of the ingest routes (the single-process service's defaults).
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Largest decompressed remote_write body, in bytes.
    pub max_decoded_bytes: usize,
    /// Series name and label limits.
    pub limits: IdentityLimits,
    /// When set, every route but `/healthz` needs this bearer token.
    pub auth: Option<AuthToken>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            limits: IdentityLimits::default(),
            auth: None,
        }
    }
}

#[derive(Clone)]
struct IngestState {
    publisher: Publisher,
    options: Arc<IngestOptions>,
}

/// The ingest routes over `publisher`: `/api/v1/push`, `/api/v1/write`,
/// `/healthz` and `/readyz`.
pub fn ingest_router(publisher: Publisher, options: IngestOptions) -> Router {
    let body_limit = options.body_limit;
    let auth = options.auth.clone();
    let state = IngestState {
        publisher,
        options: Arc::new(options),
    };
    let mut guarded = Router::new()
        .route("/api/v1/push", post(push))
        .route("/api/v1/write", post(write))
        .route("/readyz", get(|| async { "ready\n" }))
        .with_state(state);
    if let Some(token) = auth {
        guarded = guarded.route_layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        ));
    }
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(guarded)
        .layer(DefaultBodyLimit::max(body_limit))
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
            json_text(&json!({"error": "missing or wrong bearer token"})),
        )
            .into_response()
    }
}

fn json_text(value: &Value) -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
}

fn too_large(limit: usize) -> String {
    format!("request body is larger than the limit of {limit} bytes")
}

async fn push(
    State(state): State<IngestState>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(state.options.body_limit)
            } else {
                rejection.body_text()
            };
            return (status, json_text(&json!({ "error": message }))).into_response();
        }
    };
    let request = match parse_push(&body, &state.options.limits) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, json_text(&error_response(&e))).into_response(),
    };
    match state.publisher.publish(&request.batch).await {
        Ok(placements) => {
            let results: Vec<Value> = request
                .batch
                .points()
                .iter()
                .zip(&request.sent_timestamps)
                .zip(&placements)
                .map(|((point, sent), place)| {
                    let labels: serde_json::Map<String, Value> = point
                        .key
                        .labels()
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    json!({
                        "series": point.key.name(),
                        "labels": labels,
                        "timestamp": sent,
                        "probability": null,
                        "partition": place.partition,
                        "sequence": place.sequence,
                    })
                })
                .collect();
            let answer = json!({ "accepted": results.len(), "results": results });
            (StatusCode::OK, json_text(&answer)).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json_text(&json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

async fn write(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                return (status, too_large(state.options.body_limit)).into_response();
            }
            return (status, rejection.body_text()).into_response();
        }
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
    let batch = match decode_write_request(
        &body,
        &state.options.limits,
        state.options.max_decoded_bytes,
    ) {
        Ok(batch) => batch,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match state.publisher.publish(&batch).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
