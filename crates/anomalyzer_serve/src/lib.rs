//! The HTTP layer of `anomalyzer serve`: many series in one process, fed
//! by JSON pushes or Prometheus remote_write and read through `/metrics`.
//!
//! This crate holds everything of the service that does not depend on how
//! series are stored: series identity and its stable hash, the JSON push
//! and remote_write codecs, the out-of-order rule, the exposition, the
//! configuration file, bearer-token auth and the axum [`router`]. The
//! router drives any [`SeriesStore`]; the durable multi-series store
//! implements that trait. The HTTP interface is described in
//! `docs/serve.md`.
//!
//! ```
//! use anomalyzer_serve::{parse_push, IdentityLimits};
//!
//! let body = br#"{"series": "cpu", "labels": {"host": "a"}, "timestamp": "2024-03-04T04:10:00Z", "value": 0.5}"#;
//! let request = parse_push(body, &IdentityLimits::default())?;
//! let point = &request.batch.points()[0];
//! assert_eq!(point.key.to_string(), r#"cpu{host="a"}"#);
//! // The partition of a series is a documented stable hash of its key.
//! assert!(point.key.partition(64).unwrap() < 64);
//! # Ok::<(), anomalyzer_serve::Error>(())
//! ```
#![forbid(unsafe_code)]

mod auth;
mod batch;
mod config;
mod durable_store;
mod error;
mod exposition;
mod http_server;
mod out_of_order;
mod push_answer;
mod push_json;
mod remote_write;
mod remote_write_options;
mod remote_write_output;
mod router;
mod score_sink;
mod series_key;
mod starting;
mod store;
mod timestamp;

pub use auth::AuthToken;
pub use batch::{Batch, Point, PointOutcome, RejectReason};
pub use config::{Resolved, ServeConfig, MAX_CONFIG_BYTES};
pub use durable_store::{DurableOptions, DurableStore, RecoverySummary, MAX_LISTED_CHANGED};
pub use error::{Error, Result};
pub use exposition::{
    openmetrics_to_text_004, render as render_metrics, wants_openmetrics, DropReason,
    RemoteWriteMetrics, ServiceMetrics, CONTENT_TYPE as METRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE as METRICS_TEXT_CONTENT_TYPE,
};
pub use http_server::{serve, ConnectionOptions, Drained, DEFAULT_HEADER_TIMEOUT};
pub use out_of_order::{admits, plan_order};
pub use push_json::{error_response, parse_push, push_response, PushRequest};
pub use remote_write::{
    decode_write_request, encode_write_request, score_write_request, Label, Sample, TimeSeries,
    WriteRequest, NAME_LABEL, SCORE_METRIC,
};
pub use remote_write_options::{RemoteWriteOptions, MAX_SHARDS as REMOTE_WRITE_MAX_SHARDS};
pub use remote_write_output::{FlushReport, RemoteWriter, USER_AGENT as REMOTE_WRITE_USER_AGENT};
pub use router::{
    router, ServeOptions, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_DECODED_BYTES,
};
pub use score_sink::ScoreSink;
pub use series_key::{IdentityLimits, SeriesKey, SERIES_LABEL};
pub use starting::Starting;
pub use store::{LastPoint, SeriesStatus, SeriesStore, StoreStats};
pub use timestamp::Timestamp;
